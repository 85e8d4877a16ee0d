//! Builds the C skel libraries shipped with the virtual DSP into
//! `$OUT_DIR/dsp/lib<name>_skel.so`, the built-in skel directory.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("dsp");
    std::fs::create_dir_all(&out).expect("create skel dir");
    let compiler = cc::Build::new().get_compiler();
    const SKELS: &[&str] = &["calculator"];
    for name in SKELS {
        let src = format!("skels/{name}_skel.c");
        println!("cargo:rerun-if-changed={src}");
        let lib = out.join(format!("lib{name}_skel.so"));
        let status = compiler
            .to_command()
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wl,-Bsymbolic", "-o"])
            .arg(&lib)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| panic!("running the C compiler for {src}: {e}"));
        assert!(status.success(), "compiling {src} failed");
    }
    println!("cargo:rustc-env=QDA_BUILTIN_SKEL_DIR={}", out.display());

    // The PD host program: std only, compiled with the same rustc.
    println!("cargo:rerun-if-changed=pd-host/main.rs");
    println!("cargo:rerun-if-changed=src/workers.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let host = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("qda-pd-host");
    let status = std::process::Command::new(rustc)
        .args(["--edition", "2024", "-O", "--crate-name", "qda_pd_host", "-o"])
        .arg(&host)
        .arg("pd-host/main.rs")
        .status()
        .expect("running rustc for pd-host");
    assert!(status.success(), "compiling pd-host/main.rs failed");
    println!("cargo:rustc-env=QDA_BUILTIN_PD_HOST={}", host.display());
}

//! Builds the C skel libraries shipped with the virtual DSP into
//! `$OUT_DIR/dsp/lib<name>_skel.so`, the built-in skel directory, and the
//! DSP runtime skels link against (`$OUT_DIR/libqda_dsp_runtime.so`).

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("dsp");
    std::fs::create_dir_all(&out).expect("create skel dir");
    let compiler = cc::Build::new().get_compiler();
    const SKELS: &[&str] = &["calculator", "revtest"];
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

    // The DSP runtime (HAP_* for skels): embedded in the crate and loaded
    // from a memfd (`src/runtime.rs`), so it is never looked up on disk.
    let src = "runtime/qda_dsp_runtime.c";
    println!("cargo:rerun-if-changed={src}");
    let lib = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("libqda_dsp_runtime.so");
    let status = compiler
        .to_command()
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,-Bsymbolic",
            "-o",
        ])
        .arg(&lib)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler for {src}: {e}"));
    assert!(status.success(), "compiling {src} failed");
}

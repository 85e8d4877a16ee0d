//! Building what `cargo test` does not: the cdylibs (the C libraries, the
//! preload shim) and binaries of other packages a test runs, into the
//! running test's own profile directory.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// `target/<profile>` of the running test binary (which lives in its
/// `deps/`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("a test binary in target/<profile>/deps")
        .to_path_buf()
}

/// `cargo build --offline -p P…` into [`profile_dir`] (same target
/// directory and profile as the running tests; a nested cargo works from
/// inside `cargo test`). Panics naming the command if the build fails;
/// returns the profile directory.
pub fn build(packages: &[&str]) -> PathBuf {
    let dir = profile_dir();
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args(["build", "--offline", "--quiet"]);
    for p in packages {
        c.args(["-p", p]);
    }
    c.arg("--target-dir").arg(dir.parent().expect("a target directory"));
    if dir.file_name().is_some_and(|n| n == "release") {
        c.arg("--release");
    }
    let t = Instant::now();
    let st = c.status().unwrap_or_else(|e| panic!("running {c:?}: {e}"));
    assert!(st.success(), "{c:?} failed");
    eprintln!("built {} in {:.1?}", packages.join(", "), t.elapsed());
    dir
}

//! libqda_preload.so preloaded by hand (no `qda exec`): the environment a
//! user would set, the backend found from `QDA_BACKEND`, the probe files and
//! bad input (`tests/c/probes.c`), `QDA_PRELOAD_UAPI`, and a program that
//! never names the board never starts a platform. `qda exec` end to end is
//! `crates/qda-cli/tests/exec.rs`.
//!
//! Needs `cc`; without it each test says so and checks nothing. The
//! library is built first (a nested `cargo build` into this profile's
//! target directory: `cargo test` does not build a cdylib).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The library, built once; `None` (said) without `cc`.
fn library() -> Option<PathBuf> {
    static LIB: OnceLock<Option<PathBuf>> = OnceLock::new();
    LIB.get_or_init(|| {
        let cc = Command::new("cc")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !cc {
            eprintln!("skipped: no working `cc` to build the C programs");
            return None;
        }
        let dir = qda_test::cargo::build(&["qda-preload"]);
        let lib = dir.join("libqda_preload.so");
        assert!(lib.is_file(), "{} was not built", lib.display());
        Some(lib)
    })
    .clone()
}

fn program(name: &str) -> PathBuf {
    let dir = qda_test::cargo::profile_dir().join("qda-preload-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/{name}.c"));
    let o = Command::new("cc")
        .args(["-O0", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Run `prog` with the library preloaded and `env`.
fn preloaded(lib: &Path, prog: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(prog[0]);
    c.args(&prog[1..])
        .env("LD_PRELOAD", lib)
        .env_remove("QDA_PRELOAD_BACKEND")
        .env_remove("QDA_PRELOAD_UAPI")
        .env_remove("QDA_SOCKET")
        .env("QDA_BACKEND", "embedded");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn probes_and_bad_input_with_the_library_preloaded_by_hand() {
    let Some(lib) = library() else { return };
    let prog = program("probes");
    let o = preloaded(&lib, &[prog.to_str().unwrap()], &[]);
    let out = text(&o.stdout);
    assert!(
        o.status.success() && !out.lines().any(|l| l.starts_with("BAD:")),
        "{}: {out}\n{}",
        o.status,
        text(&o.stderr)
    );
    assert!(out.lines().filter(|l| l.starts_with("ok: ")).count() >= 26, "{out}");
}

#[test]
fn the_legacy_and_accel_uapis_hide_the_accel_nodes() {
    let Some(lib) = library() else { return };
    let o = preloaded(
        &lib,
        &["ls", "/dev/accel", "/dev/dma_heap"],
        &[("QDA_PRELOAD_UAPI", "legacy")],
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(out.contains("system") && !out.contains("accel0"), "{out}\n{err}");
    // `accel`: the legacy names (translated onto the accel nodes), no
    // accel node of their own.
    let o = preloaded(&lib, &["ls", "/dev/accel", "/dev"], &[("QDA_PRELOAD_UAPI", "accel")]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(
        out.contains("fastrpc-cdsp") && !out.contains("accel0") && err.contains("/dev/accel"),
        "{out}\n{err}"
    );
}

#[test]
fn a_program_that_never_names_the_board_starts_no_platform() {
    let Some(lib) = library() else { return };
    let o = preloaded(
        &lib,
        &[
            "sh",
            "-c",
            "cat /proc/self/status >/dev/null; ls / >/dev/null; echo done",
        ],
        &[("QDA_PRELOAD_TRACE", "1")],
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success() && out.trim() == "done", "{out}\n{err}");
    assert!(!err.contains("platform:"), "a platform was started: {err}");
}

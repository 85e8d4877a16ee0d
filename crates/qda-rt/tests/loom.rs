//! The ring's model checks (`src/ring.rs`, `loom_tests`) need the crate
//! built with `--cfg loom`, which `cargo test` cannot do for one test.
//! This test runs them with a nested cargo into a target directory of their
//! own (`target/loom`), so the workspace's build is not invalidated, and
//! fails with their output if any interleaving breaks the ring.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_ring_passes_its_loom_model_checks() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = manifest.join("../../target/loom");
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "test",
            "--release",
            "--quiet",
            "-p",
            "qda-rt",
            "--lib",
            "ring::loom_tests",
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&manifest)
        .env("RUSTFLAGS", "--cfg loom")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("running cargo for the loom build");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the loom model checks failed:\n{text}");
    // Three model checks ran (a filter that matched nothing would pass).
    assert!(text.contains("3 passed"), "expected 3 loom tests:\n{text}");
}

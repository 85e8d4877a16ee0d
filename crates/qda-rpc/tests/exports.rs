//! Every function the headers declare is exported by the C libraries, and
//! has a row in `docs/C-API.md`; nothing else is exported.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The directory cargo put this test in is `target/<profile>/deps`; the
/// library is built there by `cargo build`, which `cargo test` does not do
/// for a cdylib: build it (same profile, same target directory) if missing.
fn library(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir.join(name);
    if !path.exists() {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--offline", "--quiet", "-p", "qda-rpc", "--target-dir"])
            .arg(profile_dir.parent()?);
        if profile_dir.file_name()? == "release" {
            cmd.arg("--release");
        }
        let st = cmd.status().ok()?;
        assert!(st.success(), "cargo build -p qda-rpc failed");
    }
    path.exists().then_some(path)
}

fn declared() -> BTreeSet<&'static str> {
    qda_sdk::FUNCTIONS.iter().map(|(_, f)| *f).collect()
}

#[test]
fn the_library_exports_exactly_the_declared_functions() {
    let Some(lib) = library("libqda_rpc.so") else {
        panic!("libqda_rpc.so was not built next to this test");
    };
    let out = match Command::new("nm").args(["-D", "--defined-only"]).arg(&lib).output() {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("skipped: no working `nm` (binutils) to list {}", lib.display());
            return;
        }
    };
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (_, kind, name) = (w.next()?, w.next()?, w.next()?);
            (kind == "T").then(|| name.to_string())
        })
        .collect();
    let declared: BTreeSet<String> = declared().into_iter().map(String::from).collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    let extra: Vec<_> = exported.difference(&declared).collect();
    assert!(missing.is_empty(), "declared in the headers, not exported: {missing:?}");
    assert!(extra.is_empty(), "exported, not declared in any header: {extra:?}");
}

#[test]
fn every_function_has_a_row_in_the_api_table() {
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/C-API.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let rows: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let missing: Vec<_> = declared().into_iter().filter(|f| !rows.contains(f)).collect();
    assert!(missing.is_empty(), "no row in docs/C-API.md for {missing:?}");
}

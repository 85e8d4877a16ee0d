//! Every function the headers declare is exported by the C libraries, and
//! has a row in `docs/C-API.md`; nothing else is exported.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The library, built into this test's profile directory (`cargo test`
/// does not build a cdylib).
fn library(name: &str) -> Option<PathBuf> {
    let path = qda_test::cargo::profile_dir().join(name);
    if !path.exists() {
        qda_test::cargo::build(&["qda-rpc"]);
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

//! The workspace's shape: in no crate a module cycle, and no source file
//! over 800 lines outside tests.

use std::path::{Path, PathBuf};

fn crates() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 10, "the workspace's crates: {v:?}");
    v
}

#[test]
fn no_crate_has_a_module_cycle() {
    for src in crates() {
        if let Some(c) = qda_test::layout::module_cycle(&src) {
            panic!("{}: module cycle {}", src.display(), c.join(" → "));
        }
    }
}

#[test]
fn no_source_file_over_800_lines_outside_tests() {
    let long: Vec<String> = crates()
        .iter()
        .flat_map(|s| qda_test::layout::long_files(s, 800))
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}

#[test]
fn no_two_crates_define_a_public_type_of_one_name() {
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for src in crates() {
        let krate = src
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for t in qda_test::layout::public_types(&src) {
            seen.entry(t).or_default().push(krate.clone());
        }
    }
    // `Result` aliases are the idiom of every crate that has an error type.
    let twice: Vec<String> = seen
        .into_iter()
        .filter(|(t, cs)| cs.len() > 1 && t != "Result")
        .map(|(t, cs)| format!("{t}: {}", cs.join(", ")))
        .collect();
    assert!(twice.is_empty(), "public types named twice: {twice:#?}");
}

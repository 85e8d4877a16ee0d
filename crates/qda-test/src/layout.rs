//! The shape of a crate, checked: no module cycles (a top-level module,
//! with its submodules, never uses a module that uses it back, directly or
//! through others) and no long source files outside tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    sources(root, &mut files);
    files.sort();
    files
}

/// The top-level module a file belongs to (`dmadebug/tests.rs` → `dmadebug`).
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a source names through `crate::` (comments aside).
pub fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// A module cycle among the top-level modules of the crate whose sources
/// are under `root` (a module with its submodules, `crate::` paths outside
/// comments and test code), as the modules that close it.
pub fn module_cycle(root: &Path) -> Option<Vec<String>> {
    let files = src(root);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        // Test code is not a dependency: `tests.rs` files, and the inline
        // test module that ends a file, are left out.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let m = module_of(root, f);
        if m == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("\n#[cfg(test)]\n").next().unwrap_or_default();
        let deps = graph.entry(m.clone()).or_default();
        deps.extend(uses(code).into_iter().filter(|d| *d != m));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in &graph[m] {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// Source files under `root` longer than `max` lines, `tests.rs` files
/// (test modules) aside, with their lengths.
pub fn long_files(root: &Path, max: usize) -> Vec<String> {
    src(root)
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs"))
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > max).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect()
}

/// The public types a crate under `root` defines (`pub struct`, `enum`,
/// `trait`, `type` at the start of a line; test code aside).
pub fn public_types(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in src(root) {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("\n#[cfg(test)]\n").next().unwrap_or_default();
        for line in code.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [first, kind, name, ..] = words[..]
                && first == "pub"
                && ["struct", "enum", "trait", "type"].contains(&kind)
            {
                let name: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_sees_uses() {
        let u = uses(
            "use crate::gem::{GemKind};\nuse crate::{file, rpc::Ctx};\n/// [`crate::driver`]\nlet x = crate::sys::memfd(); // crate::invoke",
        );
        let want: BTreeSet<String> = ["gem", "file", "rpc", "sys"].iter().map(|s| s.to_string()).collect();
        assert_eq!(u, want);
    }

    #[test]
    fn a_cycle_is_found() {
        let d = crate::TempDir::new("layout");
        std::fs::write(d.join("lib.rs"), "mod a;\nmod b;\nmod c;").unwrap();
        std::fs::write(d.join("a.rs"), "use crate::b::X;").unwrap();
        std::fs::write(d.join("b.rs"), "use crate::c::Y;").unwrap();
        std::fs::write(d.join("c.rs"), "// crate::a in a comment\nuse crate::a::Z;").unwrap();
        assert_eq!(module_cycle(&d).unwrap(), ["a", "b", "c", "a"]);
        std::fs::write(d.join("c.rs"), "// crate::a in a comment only").unwrap();
        assert_eq!(module_cycle(&d), None);
        std::fs::write(
            d.join("c.rs"),
            "fn f() {}\n#[cfg(test)]\nmod tests { use crate::a::Z; }",
        )
        .unwrap();
        assert_eq!(module_cycle(&d), None, "test code is no dependency");
    }
}

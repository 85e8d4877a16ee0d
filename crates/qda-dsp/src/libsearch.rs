//! Where a module URI may lead: a regular file **inside** one of the DSP's
//! library search directories, nothing else.
//!
//! A client names a skel library in a URI it controls (and through qdad a
//! client is another user): `file:///../../lib/libc.so.6` or
//! `file:////any/dir/libevil.so` must not load anything. A name is refused
//! before the file system is asked unless it is a relative path of plain
//! components (`[A-Za-z0-9._+-]`, no `.` or `..`, no empty component); a
//! name that passes is joined onto each search directory and kept only if
//! its canonical path (every symlink resolved) still lies under that
//! directory's canonical path and is a regular file. The canonical path is
//! what gets loaded. Callers answer a refusal exactly as a missing library.

use std::path::{Path, PathBuf};

/// The longest library name a URI may give, and the longest component.
const NAME_MAX: usize = 1024;
const COMPONENT_MAX: usize = 255;

/// Whether `name` may name a file inside a search directory at all: a
/// relative path of plain components.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.len() <= COMPONENT_MAX
                && c != "."
                && c != ".."
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        })
}

/// `name` inside `dir`: its canonical path, if that is a regular file
/// under `dir`'s canonical path.
fn inside(dir: &Path, name: &str) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let file = dir.join(name).canonicalize().ok()?;
    (file.starts_with(&dir) && file != dir && file.is_file()).then_some(file)
}

/// The library `name` in the first search directory that holds it (see the
/// [module documentation](self)); `None` for a missing or refused name.
pub(crate) fn resolve(search: &[PathBuf], name: &str) -> Option<PathBuf> {
    if !valid_name(name) {
        return None;
    }
    search.iter().find_map(|d| inside(d, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_relative_paths() {
        for ok in ["libcalculator_skel.so", "sub/libx_skel.so", "libx-1.2+r_skel.so.1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/libc.so.6",
            "//etc/x",
            "../x.so",
            "a/../../x.so",
            "./x.so",
            "a/./x.so",
            ".",
            "..",
            "a//x.so",
            "a/",
            "%2e%2e/x.so",
            "x\0.so",
            "x .so",
            "x\n.so",
            "x\\..\\y.so",
            "libé.so",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(!valid_name(&"a".repeat(256)));
        assert!(!valid_name(&"a/".repeat(600)));
    }

    #[test]
    fn a_symlink_out_of_the_search_directory_is_refused() {
        let search = qda_test::TempDir::new("libsearch");
        let outside = qda_test::TempDir::new("libsearch-outside");
        std::fs::write(outside.join("libevil_skel.so"), b"x").unwrap();
        std::fs::write(search.join("libgood_skel.so.1"), b"x").unwrap();
        std::fs::create_dir(search.join("sub")).unwrap();
        std::fs::write(search.join("sub/libnested_skel.so"), b"x").unwrap();
        let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, search.join(name)).unwrap();
        link(&outside.join("libevil_skel.so"), "libevil_skel.so");
        link(outside.path(), "out");
        link(Path::new("libgood_skel.so.1"), "libgood_skel.so");
        link(Path::new("."), "self");
        link(Path::new("/"), "root");
        let dirs = [search.to_path_buf()];
        let canon = search.canonicalize().unwrap();

        assert_eq!(resolve(&dirs, "libevil_skel.so"), None, "a file link out");
        assert_eq!(resolve(&dirs, "out/libevil_skel.so"), None, "a directory link out");
        assert_eq!(resolve(&dirs, "root/etc/passwd"), None, "a link to /");
        assert_eq!(resolve(&dirs, "self"), None, "the directory itself");
        assert_eq!(resolve(&dirs, "sub"), None, "a directory");
        assert_eq!(resolve(&dirs, "libnosuch_skel.so"), None);
        assert_eq!(
            resolve(&dirs, "libgood_skel.so"),
            Some(canon.join("libgood_skel.so.1")),
            "a link inside is followed"
        );
        assert_eq!(
            resolve(&dirs, "self/libgood_skel.so.1"),
            Some(canon.join("libgood_skel.so.1"))
        );
        assert_eq!(
            resolve(&dirs, "sub/libnested_skel.so"),
            Some(canon.join("sub/libnested_skel.so"))
        );
        // A search directory that is itself a link is fine: both sides are
        // compared canonical.
        let dirs = [search.join("self")];
        assert_eq!(resolve(&dirs, "libgood_skel.so"), Some(canon.join("libgood_skel.so.1")));
        // The first directory that holds the name wins; missing ones are
        // skipped.
        let dirs = [search.join("nosuch"), outside.to_path_buf(), search.to_path_buf()];
        assert_eq!(
            resolve(&dirs, "libevil_skel.so"),
            Some(outside.canonicalize().unwrap().join("libevil_skel.so")),
            "inside a search directory of its own, it is a library like any other"
        );
    }
}

//! Paths as the program names them (relative to a directory fd or the
//! working directory, with `.`, `..` and repeated slashes) turned into the
//! absolute names the board's entries have. Symbolic links are not
//! followed: the board's paths contain none.

/// `path` resolved against `base` (the directory it is relative to, when it
/// is relative), normalized; `None` when it is not UTF-8.
pub fn resolve(base: Option<&str>, path: &[u8]) -> Option<String> {
    let path = std::str::from_utf8(path).ok()?;
    let joined;
    let full = if path.starts_with('/') {
        path
    } else {
        joined = format!("{}/{path}", base?);
        &joined
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// A quick test on the raw bytes: could this absolute or relative path be
/// the board's at all? (Absolute paths outside `/dev` and `/sys` are not.)
pub fn maybe(path: &[u8]) -> bool {
    !path.starts_with(b"/") || path.starts_with(b"/dev") || path.starts_with(b"/sys")
}

/// The directory `dirfd` names (`AT_FDCWD`: the working directory).
pub fn base_of(dirfd: i32) -> Option<String> {
    let p = if dirfd == libc::AT_FDCWD {
        std::env::current_dir().ok()?
    } else {
        std::fs::read_link(format!("/proc/self/fd/{dirfd}")).ok()?
    };
    p.into_os_string().into_string().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_as_the_kernel_walks_without_links() {
        assert_eq!(resolve(None, b"/dev//fastrpc-cdsp").unwrap(), "/dev/fastrpc-cdsp");
        assert_eq!(
            resolve(None, b"/dev/./accel/../accel/accel1/").unwrap(),
            "/dev/accel/accel1"
        );
        assert_eq!(
            resolve(Some("/dev"), b"dma_heap/system").unwrap(),
            "/dev/dma_heap/system"
        );
        assert_eq!(resolve(Some("/tmp"), b"../dev/udmabuf").unwrap(), "/dev/udmabuf");
        assert_eq!(resolve(None, b"/../..").unwrap(), "/");
        assert!(resolve(None, b"relative").is_none());
        assert!(resolve(None, b"/dev/\xff").is_none());
    }

    #[test]
    fn only_dev_sys_and_relative_paths_may_be_the_boards() {
        assert!(maybe(b"/dev/fastrpc-cdsp") && maybe(b"/sys/class/remoteproc") && maybe(b"fastrpc-cdsp"));
        assert!(!maybe(b"/etc/ld.so.cache") && !maybe(b"/usr/lib/libc.so.6"));
    }
}

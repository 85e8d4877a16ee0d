//! The PD host's Landlock domain: what a skel may open, and that it cannot
//! reach into any process outside its PD.
//!
//! Entered before any skel is loaded, from the host's only thread (Landlock
//! confines the calling thread and what it starts; the host's pool threads
//! come later). The rules:
//! * **read** (files and directory listings) beneath the DSP's library
//!   search directories (given by the DSP), the dynamic loader's
//!   directories ([`loader_dirs`]: `/lib`, `/usr/lib` and the like,
//!   `/etc/ld.so.conf`'s directories, `LD_LIBRARY_PATH`, and the directory of
//!   every library already mapped in the host) and files
//!   (`/etc/ld.so.cache`, `/etc/ld.so.preload`), `/dev/zero`, `/dev/urandom`,
//!   `/dev/random` and `/sys/devices/system/cpu` (what `sysconf` reads for
//!   the number of CPUs);
//! * **read and write** `/dev/null` only: no temporary files (a skel on a
//!   DSP has no file system of its host; a writable `/tmp` would be a way
//!   between PDs and to other processes of the daemon's user);
//! * nothing else: not `/proc` (not even `/proc/self`), not the user's
//!   files, no executing programs, no TCP `bind` or `connect` (ABI 4), no
//!   connecting to path UNIX sockets (ABI 9), no UDP (ABI 10);
//! * scopes (ABI 6): no signals to, and no connecting to abstract UNIX
//!   sockets of, processes outside the PD.
//!
//! Landlock also denies a confined process `ptrace` access to any process
//! outside its domain, whatever the file rules: `/proc/<dsp pid>/fd/*`,
//! `/mem`, `/environ` are refused (`EACCES`) even to a host running as the
//! DSP's user or as root. Descriptors the host already has or receives
//! (its socket, the buffers' files, passed by `SCM_RIGHTS`) are not subject
//! to the rules: they keep working, mapping included.
//!
//! Best effort: on a kernel without Landlock the host runs without it and
//! says so ([`super::Sandbox::landlock`] false, the reason in `missing`); on
//! an older ABI the rights it lacks are left out ([`super::Sandbox::landlock_abi`]).

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

/// The newest ABI whose rights are asked for (older kernels get a subset).
const ABI_WANTED: ABI = ABI::V10;

/// Directories the dynamic loader may read libraries from, conservatively:
/// the usual system ones, `/etc/ld.so.conf`'s (with its `include`s),
/// `LD_LIBRARY_PATH` and the directories of the libraries mapped now.
/// Only existing paths.
pub(crate) fn loader_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/usr/lib",
        "/usr/lib32",
        "/usr/lib64",
        "/usr/libx32",
        "/usr/local/lib",
        "/usr/local/lib64",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    ld_so_conf(Path::new("/etc/ld.so.conf"), &mut v, 0);
    if let Some(p) = std::env::var_os("LD_LIBRARY_PATH") {
        v.extend(std::env::split_paths(&p).filter(|p| p.is_absolute()));
    }
    if let Ok(maps) = std::fs::read_to_string("/proc/self/maps") {
        v.extend(mapped_dirs(&maps));
    }
    v.retain(|p| p.exists());
    v.sort();
    v.dedup();
    v
}

/// The directories of the files mapped in a `/proc/<pid>/maps` text.
fn mapped_dirs(maps: &str) -> Vec<PathBuf> {
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && p.contains(".so"))
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect()
}

/// The directories an `ld.so.conf` names, following `include` lines (a
/// `*` in the last component of their pattern) a few levels deep.
fn ld_so_conf(file: &Path, out: &mut Vec<PathBuf>, depth: u32) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line
            .strip_prefix("include")
            .filter(|r| r.starts_with(char::is_whitespace))
        {
            if depth >= 4 {
                continue;
            }
            for p in pattern.split_whitespace() {
                let p = if p.starts_with('/') {
                    PathBuf::from(p)
                } else {
                    file.parent().unwrap_or(Path::new("/")).join(p)
                };
                for f in glob_last(&p) {
                    ld_so_conf(&f, out, depth + 1);
                }
            }
        } else if line.starts_with('/') {
            // `dir` or the old `dir=TYPE` form.
            out.push(PathBuf::from(line.split('=').next().unwrap_or(line).trim()));
        }
    }
}

/// The files matching `p`, whose last component may hold one `*`.
fn glob_last(p: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Some((pre, post)) = name.split_once('*') else {
        return vec![p.to_path_buf()];
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post))
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// What [`restrict`] put in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Confined {
    /// The ABI the kernel enforces (0: none).
    pub abi: u8,
    /// Every right asked for is enforced.
    pub full: bool,
}

/// Confine this thread, and every thread and process it starts from now
/// on, to the rules of the [module documentation](self); `search` is the
/// DSP's library search path. `Err` says why there is no Landlock domain.
pub(crate) fn restrict(search: &[PathBuf]) -> Result<Confined, String> {
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let read_write: BitFlags<AccessFs> = read | AccessFs::WriteFile | AccessFs::Truncate;
    let mut dirs: Vec<PathBuf> = search.to_vec();
    dirs.extend(loader_dirs());
    dirs.push("/sys/devices/system/cpu".into());
    let files = [
        "/etc/ld.so.cache",
        "/etc/ld.so.preload",
        "/dev/zero",
        "/dev/urandom",
        "/dev/random",
    ];

    let mut rules: Vec<(PathFd, BitFlags<AccessFs>)> = Vec::new();
    for d in &dirs {
        if let Ok(fd) = PathFd::new(d) {
            rules.push((fd, read));
        }
    }
    for f in files {
        if let Ok(fd) = PathFd::new(f) {
            rules.push((fd, AccessFs::ReadFile.into()));
        }
    }
    if let Ok(fd) = PathFd::new("/dev/null") {
        rules.push((fd, read_write & AccessFs::from_file(ABI_WANTED)));
    }

    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI_WANTED))
        .and_then(|r| r.handle_access(AccessNet::from_all(ABI_WANTED)))
        .and_then(|r| r.scope(Scope::from_all(ABI_WANTED)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(rules.into_iter().map(|(fd, a)| Ok(PathBeneath::new(fd, a)))))
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("landlock: {e}"))?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u8,
        _ => 0,
    };
    match status.ruleset {
        RulesetStatus::NotEnforced => Err(match status.landlock {
            LandlockStatus::NotEnabled => "landlock: not enabled at boot".into(),
            LandlockStatus::NotImplemented => "landlock: not in this kernel".into(),
            _ => "landlock: not enforced".into(),
        }),
        RulesetStatus::PartiallyEnforced => Ok(Confined { abi, full: false }),
        _ => Ok(Confined { abi, full: true }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_directories_from_maps_and_ld_so_conf() {
        let maps = "7f00-7f01 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
                    7f02-7f03 rw-p 00000000 00:00 0 [heap]\n\
                    7f04-7f05 r--p 00000000 08:01 13 /opt/x/lib/libfoo.so.1\n\
                    7f06-7f07 r--p 00000000 08:01 14 /usr/bin/qdad\n";
        assert_eq!(
            mapped_dirs(maps),
            [PathBuf::from("/usr/lib/x86_64-linux-gnu"), PathBuf::from("/opt/x/lib")]
        );
        let tmp = std::env::temp_dir().join(format!("qda-ldconf-{}", std::process::id()));
        let d = tmp.join("ld.so.conf.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            tmp.join("ld.so.conf"),
            "# comment\ninclude ld.so.conf.d/*.conf\n/opt/a # trailing\n",
        )
        .unwrap();
        std::fs::write(d.join("x.conf"), "/opt/b\n/opt/c=libc6\ninclude /nonexistent/*.conf\n").unwrap();
        std::fs::write(d.join("y.notconf"), "/opt/no\n").unwrap();
        let mut out = Vec::new();
        ld_so_conf(&tmp.join("ld.so.conf"), &mut out, 0);
        assert_eq!(out, ["/opt/b", "/opt/c", "/opt/a"].map(PathBuf::from));
        std::fs::remove_dir_all(&tmp).unwrap();
        // What the loader of this very process needs is among them.
        let dirs = loader_dirs();
        assert!(dirs.iter().all(|d| d.is_absolute() && d.exists()), "{dirs:?}");
    }
}

//! The PD host: one user protection domain of the virtual DSP as a process
//! of its own, and how the DSP finds the program to run as one.
//!
//! The DSP starts a PD host per user PD with [`HOST_FLAG`], the wire
//! version, its own process id and its library search directories as its
//! arguments and a socket as its standard input; the host enters its
//! sandbox ([`Sandbox`]: a session of its own, death with its parent, no
//! new privileges, a seccomp filter against signalling, tracing or reading
//! other processes, a Landlock domain: libraries read only, no way into
//! the DSP's process) and serves the
//! DSP's requests on that socket (`crate::pd_wire`), and on the
//! shared-memory ring the DSP sends it (`crate::pd_wire::ring`), until the
//! socket closes. A skel
//! that crashes takes down its PD host and nothing else; a hostile one
//! cannot kill or trace the DSP's process.
//!
//! # Which program
//!
//! [`pd_host_path`] looks, in this order, at:
//! 1. `QDA_PD_HOST`, the path of a host program;
//! 2. the running executable, if it called [`run_if_requested`] (then it
//!    runs itself as the host: `qda` and `qdad` do this first thing in
//!    `main`, so they need no other file);
//! 3. `qda-pd-host` (this crate's binary) next to the running executable,
//!    in its parent directory (test binaries live in `target/*/deps/`), or
//!    in `../lib/qda/` beside it (an installed layout);
//! 4. `qda-pd-host` next to the shared object this crate is linked into (a
//!    C application linking `libqda-rpc.so`: found with `dladdr`), or in
//!    `../libexec/qda/` beside it (`PREFIX/lib/libqda-rpc.so` +
//!    `PREFIX/libexec/qda/qda-pd-host`).
//!
//! Without any of them, user PDs cannot be processes: the DSP runs them as
//! threads (as `QDA_PD_MODE=thread` asks) and says so once on stderr.

mod confine;
mod filter;
mod rlimits;
mod sandbox;
mod serve;
mod user;

pub use rlimits::{PdLimits, pd_limits, set_pd_limits};
pub use sandbox::Sandbox;
pub use user::{PdUser, pd_user, run_pd_hosts_as};

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use crate::pd_wire::WIRE_VERSION;

/// The first argument that makes a program a PD host (see
/// [`run_if_requested`]); the second is the version of the DSP↔PD messages.
pub const HOST_FLAG: &str = "--qda-pd-host";

/// The file name of this crate's PD host binary.
pub const HOST_BIN: &str = "qda-pd-host";

/// The running executable, once it has offered itself as the PD host.
static SELF_HOST: OnceLock<PathBuf> = OnceLock::new();

/// Call this first thing in `main` of any program that may start virtual
/// DSPs: when the program was started as a PD host (by the DSP, with
/// [`HOST_FLAG`]), it serves that PD and exits, never returning; otherwise
/// it records the running executable as the PD host program, so the DSP
/// starts PDs as copies of it and needs no `qda-pd-host` file, and returns.
pub fn run_if_requested() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(OsStr::new(HOST_FLAG)) {
        let version = args.next();
        if version.as_deref() != Some(OsStr::new(WIRE_VERSION)) {
            eprintln!(
                "qda PD host: this program speaks version {WIRE_VERSION} of the DSP's PD messages, \
                 the DSP asked for {version:?} (a stale binary? rebuild it)"
            );
            std::process::exit(2);
        }
        // The DSP's process id (absent when started by hand), then its
        // library search directories.
        let parent = args.next().and_then(|p| p.to_str()?.parse().ok());
        let search: Vec<PathBuf> = args.map(PathBuf::from).filter(|p| p.is_absolute()).collect();
        serve::serve(parent, &search)
    }
    if let Ok(exe) = std::env::current_exe() {
        let _ = SELF_HOST.set(exe);
    }
}

/// No PD host program was found (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the PD host program was not found (looked at {looked:?}): set QDA_PD_HOST to a qda-pd-host binary, \
     call qda_dsp::pd_host::run_if_requested() first in main, or put qda-pd-host next to the executable \
     (`cargo build -p qda-dsp --bin qda-pd-host`); QDA_PD_MODE=thread runs user PDs as threads instead"
)]
pub struct HostNotFound {
    /// The files looked at.
    pub looked: Vec<PathBuf>,
}

/// The PD host program (see the [module documentation](self) for the
/// search order).
pub fn pd_host_path() -> Result<PathBuf, HostNotFound> {
    if let Some(p) = std::env::var_os("QDA_PD_HOST") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = SELF_HOST.get() {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().ok();
    let object = crate::runtime::this_object();
    let looked = host_candidates(exe.as_deref(), object.as_deref());
    match looked.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(HostNotFound { looked }),
    }
}

/// Where to look for `qda-pd-host` (in order), given the running
/// executable and the shared object this crate is linked into (the same
/// file when it is linked statically).
fn host_candidates(exe: Option<&Path>, object: Option<&Path>) -> Vec<PathBuf> {
    let mut looked = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        looked.push(dir.join(HOST_BIN));
        if let Some(up) = dir.parent() {
            looked.push(up.join(HOST_BIN));
        }
        looked.push(dir.join("../lib/qda").join(HOST_BIN));
    }
    if let Some(dir) = object.filter(|o| Some(*o) != exe).and_then(Path::parent) {
        looked.push(dir.join(HOST_BIN));
        looked.push(dir.join("../libexec/qda").join(HOST_BIN));
    }
    looked
}

/// The command that starts `host` as a PD host of this process, whose
/// skels come from the directories `search` (what the host may read).
pub(crate) fn host_command(host: &Path, search: &[PathBuf]) -> Command {
    let mut c = Command::new(host);
    c.args([HOST_FLAG, WIRE_VERSION]).arg(std::process::id().to_string());
    // Absolute, so the host's working directory does not matter.
    c.args(search.iter().filter_map(|d| std::path::absolute(d).ok()));
    if let Some(u) = pd_user() {
        u.apply(&mut c);
    }
    c.env(rlimits::ENV, pd_limits().to_env());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_looked_for_beside_the_executable_then_beside_the_library() {
        let exe = Path::new("/tmp/x/app");
        let lib = Path::new("/opt/qda/lib/libqda-rpc.so");
        assert_eq!(
            host_candidates(Some(exe), Some(lib)),
            [
                "/tmp/x/qda-pd-host",
                "/tmp/qda-pd-host",
                "/tmp/x/../lib/qda/qda-pd-host",
                "/opt/qda/lib/qda-pd-host",
                "/opt/qda/lib/../libexec/qda/qda-pd-host",
            ]
            .map(PathBuf::from)
        );
        // Linked into the executable itself: nothing more than beside it.
        assert_eq!(host_candidates(Some(exe), Some(exe)).len(), 3);
        assert_eq!(host_candidates(None, Some(lib)).len(), 2);
        assert!(host_candidates(None, None).is_empty());
    }

    #[test]
    fn an_installed_tree_finds_its_host_in_libexec() {
        let t = std::env::temp_dir().join(format!("qda-host-search-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("lib")).unwrap();
        std::fs::create_dir_all(t.join("libexec/qda")).unwrap();
        std::fs::write(t.join("libexec/qda").join(HOST_BIN), b"").unwrap();
        let found = host_candidates(Some(Path::new("/nonexistent/app")), Some(&t.join("lib/libqda-rpc.so")))
            .into_iter()
            .find(|p| p.is_file());
        assert_eq!(
            found.map(|p| std::fs::canonicalize(p).unwrap()),
            Some(std::fs::canonicalize(t.join("libexec/qda").join(HOST_BIN)).unwrap())
        );
        let _ = std::fs::remove_dir_all(&t);
    }
}

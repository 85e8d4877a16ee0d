//! `qda exec -- PROG ARGS…`: run an unmodified program with the board's
//! device nodes, through `libqda_preload.so` (the `qda-preload` crate).
//!
//! The library is found beside this binary (`target/<profile>/`, where
//! `cargo build -p qda-preload` leaves it) or in an installed tree
//! (`PREFIX/lib/libqda-preload.so` beside `PREFIX/bin/qda`), or named by
//! `QDA_PRELOAD_LIB`. The program is exec'd in place of `qda`, so its exit
//! status, signals and process id are its own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file name cargo gives the library.
pub const BUILT_NAME: &str = "libqda_preload.so";
/// Its name in an installed tree (`qda sdk install`).
pub const INSTALLED_NAME: &str = "libqda-preload.so";

/// Which node kinds the program sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShownUapi {
    /// Only the legacy /dev/fastrpc-* nodes (with the heaps and udmabuf).
    Legacy,
    /// Only legacy nodes, each translated onto its domain's QDA accel node
    /// (a legacy-only program on a QDA-only system; `--trace` shows what
    /// reaches the platform below the translation).
    Accel,
    /// The board's accel and legacy nodes, each served natively.
    Both,
}

/// What `qda exec` was asked.
#[derive(Debug)]
pub struct ExecRequest {
    /// `--backend`, if given.
    pub backend: Option<qda::Backend>,
    /// `--uapi`.
    pub uapi: ShownUapi,
    /// `--dtb`.
    pub dtb: Option<PathBuf>,
    /// `--trace`.
    pub trace: bool,
    /// The program and its arguments.
    pub command: Vec<OsString>,
}

/// Where the library is looked for, in order.
fn candidates(exe: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("QDA_PRELOAD_LIB").filter(|p| !p.is_empty()) {
        v.push(PathBuf::from(p));
        return v;
    }
    if let Some(dir) = exe.parent() {
        v.push(dir.join(BUILT_NAME));
        // `cargo test` runs binaries from target/<profile>/ too, but a
        // binary under deps/ has the library one level up.
        if let Some(up) = dir.parent() {
            v.push(up.join(BUILT_NAME));
            v.push(up.join("lib").join(INSTALLED_NAME));
        }
    }
    v
}

/// The library, or the one error that says how to build it.
pub fn find_library() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the running qda binary: {e}"))?;
    let looked = candidates(&exe);
    if let Some(p) = looked.iter().find(|p| p.is_file()) {
        return std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()));
    }
    let release = if exe.parent().and_then(Path::file_name).is_some_and(|n| n == "release") {
        " --release"
    } else {
        ""
    };
    Err(format!(
        "{BUILT_NAME} was not found (looked at {}); build it with `cargo build{release} -p qda-preload` \
         (it is left beside qda), or set QDA_PRELOAD_LIB to it",
        looked
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn env_backend() -> Option<String> {
    ["QDA_PRELOAD_BACKEND", "QDA_BACKEND"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty() && v != "kernel")
}

/// The backend the program's board is served from: `--backend`, else the
/// environment (`QDA_PRELOAD_BACKEND`, `QDA_BACKEND` unless it says
/// kernel), else the embedded platform when `--dtb` is given, else a qdad
/// that answers at `QDA_SOCKET` (or its default socket), else embedded.
fn backend(req: &ExecRequest) -> Result<qda::Backend, String> {
    let chosen = match (req.backend, env_backend()) {
        (Some(b), _) => Some(b),
        (None, Some(v)) => Some(v.parse::<qda::Backend>().map_err(|e| e.to_string())?),
        (None, None) => None,
    };
    let socket = qdad::client::socket_path();
    let answers = || qdad::client::Client::connect(&socket).is_ok();
    match chosen {
        Some(qda::Backend::Kernel) => Err(
            "--backend kernel: qda exec emulates a board; on a machine with the devices run the program directly"
                .into(),
        ),
        Some(qda::Backend::Daemon) if req.dtb.is_some() => Err(
            "--dtb describes a board for the embedded platform; a daemon serves the board it was started with \
             (qda daemon --dtb FILE)"
                .into(),
        ),
        Some(qda::Backend::Daemon) => {
            if answers() {
                Ok(qda::Backend::Daemon)
            } else {
                Err(format!(
                    "no qdad answers at {} (start one: qda daemon --socket {0}; or set QDA_SOCKET)",
                    socket.display()
                ))
            }
        }
        Some(b) => Ok(b),
        None if req.dtb.is_some() => Ok(qda::Backend::Embedded),
        None if answers() => Ok(qda::Backend::Daemon),
        None => Ok(qda::Backend::Embedded),
    }
}

/// Run the program under the shim; returns only on failure.
pub fn exec(req: ExecRequest) -> Result<(), String> {
    let Some((prog, args)) = req.command.split_first() else {
        return Err("no program given: qda exec [OPTIONS] -- PROG [ARGS...]".into());
    };
    let lib = find_library()?;
    let backend = backend(&req)?;
    let mut c = Command::new(prog);
    c.args(args);
    let preload = match std::env::var_os("LD_PRELOAD").filter(|p| !p.is_empty()) {
        Some(mut p) => {
            p.push(":");
            p.push(&lib);
            p
        }
        None => lib.clone().into_os_string(),
    };
    c.env("LD_PRELOAD", preload)
        .env("QDA_PRELOAD_BACKEND", backend.to_string())
        .env(
            "QDA_PRELOAD_UAPI",
            match req.uapi {
                ShownUapi::Legacy => "legacy",
                ShownUapi::Accel => "accel",
                ShownUapi::Both => "both",
            },
        )
        // A program built on qda (the C API, a Rust application) makes real
        // system calls, which the shim serves.
        .env("QDA_BACKEND", "kernel");
    if backend == qda::Backend::Daemon {
        let socket = std::path::absolute(qdad::client::socket_path()).map_err(|e| e.to_string())?;
        c.env("QDA_SOCKET", socket);
    }
    match &req.dtb {
        Some(d) => {
            let d = std::path::absolute(d).map_err(|e| format!("--dtb {}: {e}", d.display()))?;
            if !d.is_file() {
                return Err(format!("--dtb {}: no such file", d.display()));
            }
            c.env("QDA_PRELOAD_DTB", d);
        }
        None => {
            c.env_remove("QDA_PRELOAD_DTB");
        }
    }
    if req.trace {
        c.env("QDA_PRELOAD_TRACE", "1");
    }
    // User PDs of the program's embedded platform run in copies of this
    // binary (it serves as a PD host), unless told otherwise.
    if backend == qda::Backend::Embedded
        && std::env::var_os("QDA_PD_HOST").is_none()
        && let Ok(me) = std::env::current_exe()
    {
        c.env("QDA_PD_HOST", me);
    }
    let e = c.exec();
    Err(format!("cannot run {}: {e}", Path::new(prog).display()))
}

//! Which backend a set of system calls reaches, and what it says of itself.

use std::fmt;
use std::path::PathBuf;

/// Which implementation serves the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A real kernel's `/dev/accel/accelN` (QDA driver) or `/dev/fastrpc-*`.
    Kernel,
    /// A running `qdad`, through its socket.
    Daemon,
    /// The embedded platform: driver model and virtual DSPs in this process.
    Embedded,
}

impl Backend {
    /// Every backend, in the order automatic selection tries them.
    pub const ALL: [Backend; 3] = [Backend::Kernel, Backend::Daemon, Backend::Embedded];
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Kernel => "kernel",
            Backend::Daemon => "daemon",
            Backend::Embedded => "embedded",
        })
    }
}

/// A running qdad, as it describes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    /// Its pid.
    pub pid: u32,
    /// Its socket.
    pub socket: PathBuf,
    /// True when its user PDs are threads.
    pub thread_pds: bool,
}

/// What a backend can say about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendInfo {
    /// Which backend.
    pub backend: Backend,
    /// Whether user PDs are processes (unknown on a kernel).
    pub process_pds: Option<bool>,
    /// The daemon, for the daemon backend.
    pub daemon: Option<DaemonInfo>,
}

impl BackendInfo {
    /// Only the kind.
    pub fn new(backend: Backend) -> BackendInfo {
        BackendInfo {
            backend,
            process_pds: None,
            daemon: None,
        }
    }
}

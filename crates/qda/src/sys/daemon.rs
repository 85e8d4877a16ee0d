//! System calls sent to a running qdad: the daemon backend.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use qda_rt::lock;
use qdad_client::{Client, DaemonFile};

use super::Syscalls;
use super::{Backend, BackendInfo, DaemonInfo};
use crate::os::{Errno, Loan, Mapping, OsError};

/// A running qdad: every device file is a connection to its socket; the fd
/// the library holds for it is a duplicate of that connection's socket.
#[derive(Debug)]
pub struct DaemonCalls {
    socket: PathBuf,
    nodes: Vec<(String, String)>,
    files: Mutex<HashMap<i32, Arc<DaemonFile>>>,
}

impl DaemonCalls {
    /// Connect to the daemon at `socket` and learn its nodes.
    pub fn connect(socket: &Path) -> Result<DaemonCalls, OsError> {
        let nodes = Client::connect(socket)?.nodes()?;
        Ok(DaemonCalls {
            socket: socket.to_path_buf(),
            nodes,
            files: Mutex::new(HashMap::new()),
        })
    }

    /// The socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A control connection (info, stats, dma-buf ioctls).
    pub fn client(&self) -> Result<Client, OsError> {
        Client::connect(&self.socket)
    }

    fn nodes_of(&self, kind: &str) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, k)| k == kind)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The file, cloned out of the table so calls on one device run
    /// concurrently.
    fn file(&self, fd: BorrowedFd<'_>) -> Result<Arc<DaemonFile>, OsError> {
        lock(&self.files)
            .get(&fd.as_raw_fd())
            .cloned()
            .ok_or_else(|| OsError::new(Errno::EBADF, "device not open"))
    }
}

impl Syscalls for DaemonCalls {
    fn backend(&self) -> Backend {
        Backend::Daemon
    }
    fn info(&self) -> BackendInfo {
        let daemon = self.client().and_then(|c| c.info()).ok().map(|i| DaemonInfo {
            pid: i.pid,
            socket: self.socket.clone(),
            thread_pds: i.thread_pds,
        });
        BackendInfo {
            process_pds: daemon.as_ref().map(|d| !d.thread_pds),
            daemon,
            ..BackendInfo::new(Backend::Daemon)
        }
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.nodes_of("accel")
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.nodes_of("fastrpc")
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        let f = DaemonFile::open(&self.socket, path)?;
        let fd = rustix::io::fcntl_dupfd_cloexec(f.connection().socket(), 0)
            .map_err(|e| OsError::new(Errno(e.raw_os_error()), "duplicating the daemon connection"))?;
        lock(&self.files).insert(fd.as_raw_fd(), Arc::new(f));
        Ok(fd)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        self.file(fd)?.ioctl(cmd, arg)
    }
    fn ioctl_lent(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64, lent: &Loan<'_>) -> Result<i64, OsError> {
        self.file(fd)?.ioctl_lent(cmd, arg, lent)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        self.file(fd)?.mmap(offset, len, true)
    }
    fn close(&self, fd: OwnedFd) {
        // Dropping the file closes its connection: the daemon's release.
        let f = lock(&self.files).remove(&fd.as_raw_fd());
        drop(f);
        drop(fd);
    }
}

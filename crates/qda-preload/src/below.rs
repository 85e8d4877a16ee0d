//! With `--uapi accel --trace`: what reaches the platform below the
//! legacy-to-QDA translation, one line per open and ioctl, so a trace shows
//! the program's legacy calls above and only accel ioctls below.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use qda::sys::Syscalls;
use qda_ioctl::Target;
use qda_os::OsError;
use qda_os::sys::Mapping;

use crate::trace;

/// The system calls under the translation, each traced.
#[derive(Debug)]
pub(crate) struct Below {
    inner: Arc<dyn Syscalls>,
    /// The node each of its fds is a file of (to name the ioctl).
    paths: Mutex<HashMap<i32, String>>,
}

impl Below {
    pub(crate) fn new(inner: Arc<dyn Syscalls>) -> Below {
        Below {
            inner,
            paths: Mutex::default(),
        }
    }
}

impl Syscalls for Below {
    fn backend(&self) -> qda::Backend {
        self.inner.backend()
    }
    fn info(&self) -> qda::BackendInfo {
        self.inner.info()
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.inner.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.inner.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        let r = self.inner.open(path);
        trace!(
            "  below: open {path} = {}",
            r.as_ref().map_or_else(|e| e.to_string(), |_| "ok".into())
        );
        if let Ok(fd) = &r {
            qda_rt::lock(&self.paths).insert(fd.as_raw_fd(), path.to_string());
        }
        r
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        let r = self.inner.ioctl(fd, cmd, arg);
        let path = qda_rt::lock(&self.paths)
            .get(&fd.as_raw_fd())
            .cloned()
            .unwrap_or_default();
        let name = Target::of_path(&path)
            .and_then(|t| qda_ioctl::lookup(t, Default::default(), cmd).ok())
            .map_or_else(|| format!("{cmd:#010x}"), |d| d.name.to_string());
        trace!(
            "  below: ioctl {path} {name} = {}",
            r.as_ref().map_or_else(|e| e.to_string(), |v| v.to_string())
        );
        r
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        self.inner.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        qda_rt::lock(&self.paths).remove(&fd.as_raw_fd());
        self.inner.close(fd)
    }
}

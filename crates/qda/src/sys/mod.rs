//! The syscall layer under the library: open, ioctl, mmap and close on
//! device nodes, behind one trait, [`Syscalls`]. [`Libc`] issues real
//! system calls (the kernel backend); `Routed` delivers the very same ioctl
//! numbers and argument structs to an embedded driver's raw UAPI entry (the
//! embedded backend, feature `embedded`); `DaemonCalls` sends them to a
//! running qdad (feature `daemon`); [`LegacyOnAccel`] wraps any of them
//! and carries the legacy FastRPC UAPI out as QDA accel ioctls.
//! [`DeviceFile`] is an open device file over any of them.

mod kind;
mod libc;
mod translate;
pub use self::libc::Libc;
pub use kind::{Backend, BackendInfo, DaemonInfo};
pub use translate::{DspInfo, LegacyOnAccel};
#[cfg(feature = "daemon")]
mod daemon;
#[cfg(feature = "daemon")]
pub use daemon::DaemonCalls;
#[cfg(feature = "embedded")]
mod routed;
#[cfg(feature = "embedded")]
pub use routed::Routed;

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use qda_ioctl::Ioctl;

use crate::os::{Lent, Loan, Mapping, OsError};
use zerocopy::IntoBytes;

/// The system calls the library makes on device nodes.
pub trait Syscalls: Send + Sync + fmt::Debug {
    /// Which backend these calls reach.
    fn backend(&self) -> Backend;
    /// What the backend can say about itself (a daemon's pid, how user PDs
    /// run); by default just its kind.
    fn info(&self) -> BackendInfo {
        BackendInfo::new(self.backend())
    }
    /// Accel node paths to probe.
    fn accel_nodes(&self) -> Vec<String>;
    /// Legacy `/dev/fastrpc-*` node paths (the fallback when no accel node
    /// answers for a domain).
    fn fastrpc_nodes(&self) -> Vec<String>;
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &str) -> Result<OwnedFd, OsError>;
    /// `ioctl(fd, cmd, arg)`: the value it returns, or the errno of a -1.
    /// `arg` points into this process's memory.
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError>;
    /// [`Syscalls::ioctl`] with the slices of this process's memory the
    /// call names lent as Rust slices ([`Lent`]): a backend that emulates
    /// the driver in this process copies them directly instead of through
    /// the checked copies a raw pointer needs. The same call and result;
    /// by default the plain `ioctl` (a kernel reads the memory itself).
    fn ioctl_lent(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64, lent: &Loan<'_>) -> Result<i64, OsError> {
        let _ = lent;
        self.ioctl(fd, cmd, arg)
    }
    /// `mmap(NULL, len, RW, MAP_SHARED, fd, offset)`.
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError>;
    /// `close(fd)`: the last close of a device file is its release.
    fn close(&self, fd: OwnedFd) {
        drop(fd);
    }
}

/// An open device file of this process, closed through its system calls
/// when dropped (the last close of the file is the driver's release).
#[derive(Debug)]
pub struct DeviceFile {
    calls: Arc<dyn Syscalls>,
    fd: Option<OwnedFd>,
    path: String,
}

impl DeviceFile {
    /// `open(path)` through `calls`.
    pub fn open(calls: &Arc<dyn Syscalls>, path: &str) -> Result<DeviceFile, OsError> {
        let fd = calls.open(path)?;
        Ok(DeviceFile {
            calls: calls.clone(),
            fd: Some(fd),
            path: path.to_string(),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The system calls it is reached through.
    pub fn syscalls(&self) -> &Arc<dyn Syscalls> {
        &self.calls
    }

    /// `ioctl(fd, cmd, arg)` with `arg` in this process's memory.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, OsError> {
        self.calls.ioctl(self.as_fd(), cmd, arg)
    }

    /// Ioctl `I`: its number and argument type come together from its one
    /// description.
    pub fn call<I: Ioctl>(&self, arg: &mut I::Arg) -> Result<i64, OsError> {
        self.ioctl(I::DESC.cmd, arg as *mut I::Arg as u64)
    }

    /// [`DeviceFile::call`] with the memory the struct points to lent as
    /// `lent` ([`Syscalls::ioctl_lent`]); the struct itself is lent too.
    pub fn call_lent<'a, I: Ioctl>(&self, arg: &'a mut I::Arg, mut lent: Lent<'a>) -> Result<i64, OsError> {
        let addr = arg as *mut I::Arg as u64;
        lent.read_write(arg.as_mut_bytes());
        self.calls.ioctl_lent(self.as_fd(), I::DESC.cmd, addr, &lent.loan())
    }

    /// `mmap` of the file at `offset`.
    pub fn mmap(&self, offset: u64, len: usize) -> Result<Mapping, OsError> {
        self.calls.mmap(self.as_fd(), offset, len)
    }
}

impl AsFd for DeviceFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_ref().expect("open until dropped").as_fd()
    }
}

impl Drop for DeviceFile {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            self.calls.close(fd);
        }
    }
}

/// Take ownership of an fd number an ioctl installed for this process.
pub fn adopt(fd: i32) -> Result<OwnedFd, OsError> {
    self::libc::adopt(fd)
}

/// Device paths in `dir` whose names start with `prefix`, sorted.
pub(crate) fn list_dev(dir: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

//! System calls delivered to an embedded driver: the embedded backend.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;

use qda_driver::{Creds, LentMemory, LocalMemory, UserMemory};
use qda_dsp::{Embedded, PdMode};
use qda_ioctl::Target;
use qda_rt::lock;

use super::Syscalls;
use super::{Backend, BackendInfo};
use crate::os::{Errno, Loan, Mapping, OsError};

/// System calls delivered to an embedded driver: `open` gives a real fd (a
/// placeholder memfd standing for the device file) and the calls on it
/// reach the driver's raw entry with this process's memory, exactly the
/// bytes a kernel would see.
#[derive(Debug)]
pub struct Routed {
    emb: Embedded,
    /// Placeholder fd number → the driver's file (an entry lives exactly
    /// as long as its fd: both go in [`Syscalls::close`]).
    files: Mutex<HashMap<i32, qda_driver::File>>,
}

impl Routed {
    /// Over a started embedded platform.
    pub fn new(emb: Embedded) -> Routed {
        Routed {
            emb,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The embedded platform.
    pub fn embedded(&self) -> &Embedded {
        &self.emb
    }

    fn file(&self, fd: BorrowedFd<'_>) -> Result<qda_driver::File, OsError> {
        lock(&self.files)
            .get(&fd.as_raw_fd())
            .cloned()
            .ok_or_else(|| OsError::new(Errno::ENOTTY, "not a device file of this platform"))
    }

    /// An ioctl on `fd` reaching user memory through `um`.
    fn ioctl_in(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64, OsError> {
        // The kernel's long result reaches the caller as libc's int.
        let f = self.file(fd)?;
        let r = f.ioctl(cmd, arg, um);
        if let Err(e) = &r {
            // A refusal and the driver's reason, on the call trace (what
            // `QDA_LOG=qda::trace=info` shows; qdad logs its own).
            let name = qda_ioctl::lookup(f.target(), f.driver().qda_revision(), cmd)
                .ok()
                .map(|d| d.name);
            tracing::info!(target: "qda::trace", "{} -> {}", qda_ioctl::ioctl_label(name, cmd), e);
        }
        r.map(|v| v as i32 as i64)
    }

    fn nodes(&self, node: Target) -> Vec<String> {
        let drv = &self.emb.driver;
        drv.nodes()
            .iter()
            .filter(|n| Target::of_path(&n.path) == Some(node))
            .map(|n| n.path.clone())
            .collect()
    }
}

impl Syscalls for Routed {
    fn backend(&self) -> Backend {
        Backend::Embedded
    }
    fn info(&self) -> BackendInfo {
        BackendInfo {
            // As the platform's DSPs run them (a platform may be started
            // with a mode of its own, not the environment's).
            process_pds: self.emb.dsps.first().map(|d| d.mode() == PdMode::Process),
            ..BackendInfo::new(Backend::Embedded)
        }
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.nodes(Target::Accel)
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.nodes(Target::Fastrpc)
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        let f = self.emb.driver.open(path, Creds::current())?;
        let fd = qda_os::memfd(&format!("qda-dev:{path}"), 0)?;
        lock(&self.files).insert(fd.as_raw_fd(), f);
        Ok(fd)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        self.ioctl_in(fd, cmd, arg, &LocalMemory)
    }
    fn ioctl_lent(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64, lent: &Loan<'_>) -> Result<i64, OsError> {
        self.ioctl_in(fd, cmd, arg, &LentMemory(lent))
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        self.file(fd)?.mmap(offset, len as u64, true)
    }
    fn close(&self, fd: OwnedFd) {
        // The last close of the device file: the driver's release.
        let f = lock(&self.files).remove(&fd.as_raw_fd());
        drop(f);
        drop(fd);
    }
}

//! The driver's OS edge: the generic pieces are [`qda_os`]'s, re-exported
//! at their old paths (`qda_driver::sys::Mapping`, ...); what is the
//! driver's own lives here: the fds it keeps for itself ([`InternalFd`]) and
//! the export lock that tells when a dma-buf's last user reference is gone
//! ([`mark_export`], [`exports_alive`]).
//!
//! The driver has no `unsafe` of its own; `qda_os::sys` holds all of it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub use qda_os::sys::{LockKind, Mapping, borrow_raw, copy_from_self, copy_to_self, ofd_conflicts, ofd_setlk};
pub use qda_os::vma::{MapInfo, find_mapping};
pub use qda_os::{PAGE_SIZE, file_id, file_size, into_raw, is_memfd, memfd, page_align, reopen};

use crate::errno::{Error, Result};

/// An fd the driver keeps for itself (backings, dma-buf identity files,
/// udmabuf segments). It never holds an export lock, so it does not keep a
/// dma-buf alive.
#[derive(Debug)]
pub struct InternalFd(OwnedFd);

impl InternalFd {
    /// Wrap `fd`.
    pub fn new(fd: OwnedFd) -> InternalFd {
        InternalFd(fd)
    }
    /// An internal close-on-exec duplicate of `fd` (the same open file
    /// description).
    pub fn dup(fd: BorrowedFd<'_>) -> Result<InternalFd> {
        Ok(InternalFd::new(rustix::io::fcntl_dupfd_cloexec(fd, 0)?))
    }
    /// An internal new open file description of the user's file `fd`, so
    /// that keeping it does not keep the user's description (and whatever
    /// export lock it holds) alive.
    pub fn reopen(fd: BorrowedFd<'_>) -> Result<InternalFd> {
        let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC;
        match reopen(fd, flags) {
            Ok(f) => Ok(InternalFd::new(f)),
            // A read-only file (sealed against writes): share the description.
            Err(_) => InternalFd::dup(fd),
        }
    }
}

impl AsFd for InternalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The byte of a dma-buf's file that every export description read-locks.
/// Far beyond any buffer, so it never meets a lock an application takes.
const EXPORT_LOCK_BYTE: i64 = i64::MAX - 1;

fn on_a_dmabuf(e: Error) -> Error {
    Error::new(e.errno, "open-file-description lock on a dma-buf")
}

/// Mark `fd` (a fresh open file description) as an export of its dma-buf:
/// it takes a shared open-file-description lock on one byte far past any
/// buffer (`EXPORT_LOCK_BYTE`).
/// The kernel drops that lock when the description is released, that is
/// when the last fd of it (in any process, in flight in a socket, or held
/// by a mapping) is gone: exactly when a dma-buf file's last reference
/// goes.
pub fn mark_export(fd: BorrowedFd<'_>) -> Result<()> {
    ofd_setlk(fd, LockKind::Read, EXPORT_LOCK_BYTE, 1).map_err(on_a_dmabuf)
}

/// Whether any export description of `fd`'s file is still alive anywhere
/// (one `F_OFD_GETLK` probe; `fd` must not itself be an export).
pub fn exports_alive(fd: BorrowedFd<'_>) -> Result<bool> {
    ofd_conflicts(fd, LockKind::Write, EXPORT_LOCK_BYTE, 1).map_err(on_a_dmabuf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_lock_lives_with_its_description() {
        let fd = memfd("e", 4096).unwrap();
        let keep = InternalFd::dup(fd.as_fd()).unwrap();
        let export = reopen(fd.as_fd(), rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC).unwrap();
        assert!(!exports_alive(keep.as_fd()).unwrap());
        mark_export(export.as_fd()).unwrap();
        assert!(exports_alive(keep.as_fd()).unwrap());
        drop(export);
        assert!(!exports_alive(keep.as_fd()).unwrap());
    }
}

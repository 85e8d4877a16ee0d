//! The real system calls: the kernel backend. The library's only `unsafe`.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::Backend;
use super::{Syscalls, list_dev};
use crate::os::{Errno, Mapping, OsError, borrow_raw};

/// The real system calls, on a kernel's `/dev/accel/*` and `/dev/fastrpc-*`.
#[derive(Debug, Default)]
pub struct Libc;

impl Syscalls for Libc {
    fn backend(&self) -> Backend {
        Backend::Kernel
    }
    fn accel_nodes(&self) -> Vec<String> {
        list_dev("/dev/accel", "accel")
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        list_dev("/dev", "fastrpc-")
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        // Through libc's `open` (not a raw syscall) so an LD_PRELOAD shim
        // (libqda_preload.so under `qda exec`) sees it, as it sees `ioctl`.
        let c = std::ffi::CString::new(path).map_err(|_| OsError::new(Errno::EINVAL, format!("open {path}: a NUL")))?;
        // SAFETY: `c` is a NUL-terminated string that outlives the call;
        // the flags take no mode argument.
        let fd = unsafe { ::libc::open(c.as_ptr(), ::libc::O_RDWR | ::libc::O_CLOEXEC) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(OsError::new(
                Errno(e.raw_os_error().unwrap_or(::libc::EIO)),
                format!("open {path}"),
            ));
        }
        // SAFETY: `open` just returned this fd for this process; nothing
        // else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        // SAFETY: `arg` points to a live argument struct of the size the
        // command encodes (the caller's contract, as for C callers); the
        // kernel validates everything else.
        let r = unsafe { ::libc::ioctl(fd.as_raw_fd(), cmd as ::libc::c_ulong, arg as *mut ::libc::c_void) };
        // -1 with errno is a kernel error; any other value (a DSP's AEE code
        // such as 0x80000414 is negative as an int) is the call's result.
        if r == -1 {
            let e = std::io::Error::last_os_error();
            return Err(OsError::new(
                Errno(e.raw_os_error().unwrap_or(::libc::EIO)),
                format!("ioctl 0x{cmd:08x}"),
            ));
        }
        Ok(r as i64)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        // libc's mmap, which a preload shim sees (see `open`).
        Mapping::map_via_libc(fd, offset, len, true)
    }
}

/// Take ownership of an fd number an ioctl installed for this process.
pub(super) fn adopt(fd: i32) -> Result<OwnedFd, OsError> {
    borrow_raw(fd)?;
    // SAFETY: the number was just returned by an ioctl that installed it
    // for this process (PRIME export, ALLOC_DMA_BUFF, heap ALLOC); nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

//! File descriptors: memfds, file identity, new open file descriptions.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use rustix::fs::{MemfdFlags, SealFlags};

use crate::errno::{Errno, OsError as Error, Result};

/// A fresh sealable memfd of `size` bytes (sparse: no page is touched), with
/// its size sealed so nobody can shrink it under a mapping.
pub fn memfd(name: &str, size: u64) -> Result<OwnedFd> {
    let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    rustix::fs::ftruncate(&fd, size)?;
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
    Ok(fd)
}

/// `(st_dev, st_ino)` of an fd: the identity of the file it refers to.
pub fn file_id(fd: BorrowedFd<'_>) -> Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd).map_err(|e| {
        if e == rustix::io::Errno::BADF {
            Error::new(Errno::EBADF, "not an open file descriptor")
        } else {
            e.into()
        }
    })?;
    Ok((st.st_dev, st.st_ino))
}

/// Size of the file an fd refers to.
pub fn file_size(fd: BorrowedFd<'_>) -> Result<u64> {
    Ok(rustix::fs::fstat(fd)?.st_size as u64)
}

/// A new open file description of the same file (`open("/proc/self/fd/N")`),
/// as distinct from `dup`, which shares one. `flags` carries O_RDWR/O_RDONLY
/// and O_CLOEXEC.
pub fn reopen(fd: BorrowedFd<'_>, flags: rustix::fs::OFlags) -> Result<OwnedFd> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    Ok(rustix::fs::open(path.as_str(), flags, rustix::fs::Mode::empty())?)
}

/// Keep `fd` open past this value's life: hand its number to the caller (the
/// new owner is the application, as with an fd installed by the kernel).
pub fn into_raw(fd: OwnedFd) -> i32 {
    fd.into_raw_fd()
}

/// True if `fd` refers to a memfd/shmem file (sealing works on those only).
pub fn is_memfd(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fcntl_get_seals(fd.as_fd()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_is_a_new_description_of_the_same_file() {
        let fd = memfd("r", 4096).unwrap();
        let r = reopen(fd.as_fd(), rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC).unwrap();
        assert_eq!(file_id(fd.as_fd()).unwrap(), file_id(r.as_fd()).unwrap());
        assert!(is_memfd(r.as_fd()));
    }
}

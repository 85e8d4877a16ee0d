//! The few syscalls the driver model needs that have no safe wrapper:
//! `mmap`/`munmap` of shared memory and `process_vm_readv`/`writev` on the
//! own process (the in-process `copy_from_user` / `copy_to_user`).
//!
//! Every `unsafe` block of the crate lives here, each with its justification.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Mutex;

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::mm::{MapFlags, ProtFlags};

use crate::errno::{Errno, Error, Result};

/// Page size of the host (4 KiB on the machines qda targets; checked at
/// driver start).
pub const PAGE_SIZE: u64 = 4096;

/// Round up to a page, `None` on overflow.
pub fn page_align(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

/// A fresh sealable memfd of `size` bytes (sparse: no page is touched), with
/// its size sealed so nobody can shrink it under a mapping.
pub fn memfd(name: &str, size: u64) -> Result<OwnedFd> {
    let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    rustix::fs::ftruncate(&fd, size)?;
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
    Ok(fd)
}

/// Where a user address lies in a file mapping: `(start, len, file id, file
/// offset of start)`.
pub type MapInfo = (u64, u64, (u64, u64), u64);

/// Mappings made through [`Mapping`], by start address: the fast path of
/// `find_vma` for dma-buf arguments (the maps file is the fallback, for
/// mappings made some other way).
static MAPPINGS: Mutex<std::collections::BTreeMap<u64, MapInfo>> = Mutex::new(std::collections::BTreeMap::new());

fn register_mapping(start: u64, len: u64, fd: BorrowedFd<'_>, offset: u64) {
    if let Ok(id) = file_id(fd) {
        qda_rt::lock(&MAPPINGS).insert(start, (start, len, id, offset));
    }
}

/// The file mapping that contains `addr` in this process (`find_vma` +
/// `vma_lookup`): our own registry first, then `/proc/self/maps`.
pub fn find_mapping(addr: u64) -> Option<MapInfo> {
    {
        let m = qda_rt::lock(&MAPPINGS);
        if let Some((_, info)) = m.range(..=addr).next_back()
            && addr < info.0 + info.1
        {
            return Some(*info);
        }
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(range), Some(_), Some(off), Some(dev), Some(ino)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let (a, b) = range.split_once('-')?;
        let (a, b) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
        if addr < a || addr >= b {
            continue;
        }
        let (ma, mi) = dev.split_once(':')?;
        let id = (
            makedev(u64::from_str_radix(ma, 16).ok()?, u64::from_str_radix(mi, 16).ok()?),
            ino.parse().ok()?,
        );
        return Some((a, b - a, id, u64::from_str_radix(off, 16).ok()?));
    }
    None
}

/// A shared mapping, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes to unmap: `len` plus a trailing marker page, if any.
    map_len: usize,
    writable: bool,
}

// SAFETY: the mapping is plain shared memory owned by this value; access goes
// through raw copies (`read_at`/`write_at`), never through references that
// could alias across threads.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only permits raw copies.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub fn map(fd: BorrowedFd<'_>, offset: u64, len: usize, writable: bool) -> Result<Mapping> {
        let m = Mapping::map_internal(fd, offset, len, writable)?;
        // What /proc/self/maps would say of it, without reading that file on
        // every by-fd invoke (it was one open and ~10 reads per call).
        register_mapping(m.addr(), len as u64, fd, offset);
        Ok(m)
    }

    /// A mapping the driver (or an in-process DSP) makes for itself: not a
    /// user's VMA, so `find_vma` ([`find_mapping`]) does not list it.
    pub fn map_internal(fd: BorrowedFd<'_>, offset: u64, len: usize, writable: bool) -> Result<Mapping> {
        if len == 0 {
            return Err(Error::new(Errno::EINVAL, "mmap of zero bytes"));
        }
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a new mapping at an address the kernel chooses cannot alias
        // any Rust object; the fd and bounds are checked by the kernel.
        let p = unsafe { rustix::mm::mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, fd, offset)? };
        Ok(Mapping {
            ptr: NonNull::new(p.cast()).expect("mmap never returns NULL on success"),
            len,
            map_len: len,
            writable,
        })
    }

    /// [`Mapping::assemble`] as an internal mapping (see [`Mapping::map_internal`]).
    pub fn assemble_internal(segments: &[(BorrowedFd<'_>, u64, u64)], writable: bool) -> Result<Mapping> {
        Mapping::assemble_inner(segments, writable, None, false)
    }

    /// A raw pointer to byte `offset` (for handing to C skels, which read and
    /// write the shared memory directly).
    pub fn ptr_at(&self, offset: usize) -> *mut u8 {
        self.ptr.as_ptr().wrapping_add(offset.min(self.len))
    }

    /// One contiguous mapping assembled from several fd ranges (a udmabuf over
    /// several memfds): a reserved range, then each segment `MAP_FIXED` over
    /// its part. Offsets and lengths must be page multiples. `marker`, if
    /// given, is mapped as one inaccessible page after the segments: the
    /// mapping then holds that open file (a dma-buf export description), as
    /// a mapping of a dma-buf holds the dma-buf.
    pub fn assemble(
        segments: &[(BorrowedFd<'_>, u64, u64)],
        writable: bool,
        marker: Option<BorrowedFd<'_>>,
    ) -> Result<Mapping> {
        Mapping::assemble_inner(segments, writable, marker, true)
    }

    fn assemble_inner(
        segments: &[(BorrowedFd<'_>, u64, u64)],
        writable: bool,
        marker: Option<BorrowedFd<'_>>,
        user: bool,
    ) -> Result<Mapping> {
        let total: u64 = segments.iter().map(|s| s.2).sum();
        if total == 0 || segments.iter().any(|s| s.1 % PAGE_SIZE != 0 || s.2 % PAGE_SIZE != 0) {
            return Err(Error::new(Errno::EINVAL, "segments must be non-empty whole pages"));
        }
        let len = usize::try_from(total).map_err(|_| Error::new(Errno::ENOMEM, "mapping too large"))?;
        let map_len = len + if marker.is_some() { PAGE_SIZE as usize } else { 0 };
        // SAFETY: reserves fresh address space the kernel chooses; nothing else refers to it.
        let base = unsafe {
            rustix::mm::mmap_anonymous(std::ptr::null_mut(), map_len, ProtFlags::empty(), MapFlags::PRIVATE)?
        };
        let map = Mapping {
            ptr: NonNull::new(base.cast()).expect("mmap never returns NULL"),
            len,
            map_len,
            writable,
        };
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        let mut at = 0usize;
        for (fd, off, l) in segments {
            // SAFETY: the target range lies inside the reservation owned by
            // `map` (at + l <= total), so MAP_FIXED replaces only our own pages.
            unsafe {
                rustix::mm::mmap(
                    map.ptr.as_ptr().wrapping_add(at).cast(),
                    *l as usize,
                    prot,
                    MapFlags::SHARED | MapFlags::FIXED,
                    fd,
                    *off,
                )?;
            }
            if user {
                register_mapping(map.addr() + at as u64, *l, *fd, *off);
            }
            at += *l as usize;
        }
        if let Some(m) = marker {
            // SAFETY: the marker page lies inside the reservation, right after
            // the segments (at == len < map_len).
            unsafe {
                rustix::mm::mmap(
                    map.ptr.as_ptr().wrapping_add(at).cast(),
                    PAGE_SIZE as usize,
                    ProtFlags::empty(),
                    MapFlags::SHARED | MapFlags::FIXED,
                    m,
                    0,
                )?;
            }
        }
        Ok(map)
    }

    /// Start address in this process.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Never true: zero-length mappings are refused.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether the mapping allows writes.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// The mapping as a mutable byte slice. Exclusive borrow of the mapping;
    /// the caller must own the protocol-level right to the bytes (another
    /// process mapping the same file must not write them meanwhile), as for
    /// a payload buffer before it is sent.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        assert!(self.writable, "as_mut_slice on a read-only mapping");
        // SAFETY: [ptr, ptr+len) is mapped readable and writable for the life
        // of `self`, and `&mut self` makes this the only Rust reference to it.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The mapping as a byte slice (see [`Mapping::as_mut_slice`]).
    pub fn as_slice(&mut self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`; the exclusive borrow keeps writers
        // through this value away while the slice lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Copy `dst.len()` bytes at `offset` out of the mapping.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        self.check(offset, dst.len())?;
        // SAFETY: bounds checked above; the source is mapped readable memory we
        // own; the destination is a distinct Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().wrapping_add(offset), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copy `src` into the mapping at `offset`.
    pub fn write_at(&self, offset: usize, src: &[u8]) -> Result<()> {
        if !self.writable {
            return Err(Error::new(Errno::EACCES, "mapping is read-only"));
        }
        self.check(offset, src.len())?;
        // SAFETY: bounds checked, the mapping is writable shared memory we own,
        // and `src` is a distinct Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().wrapping_add(offset), src.len()) };
        Ok(())
    }

    fn check(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Error::new(
                Errno::EFAULT,
                format!("access {offset}+{len} outside a {}-byte mapping", self.len),
            )),
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        {
            let start = self.addr();
            let mut m = qda_rt::lock(&MAPPINGS);
            let keys: Vec<u64> = m.range(start..start + self.map_len as u64).map(|(k, _)| *k).collect();
            for k in keys {
                m.remove(&k);
            }
        }
        // SAFETY: we own the range [ptr, ptr+map_len) since creation; after this
        // call nothing refers to it (accessors take &self).
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.map_len) };
    }
}

/// Read `dst.len()` bytes at `addr` of this process's memory; an unmapped or
/// unreadable address gives `EFAULT` (the kernel's `copy_from_user`), never a
/// crash.
pub fn copy_from_self(addr: u64, dst: &mut [u8]) -> Result<()> {
    if dst.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: dst.as_mut_ptr().cast(),
        iov_len: dst.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: dst.len(),
    };
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    // SAFETY: the local iovec describes `dst`, which we exclusively borrow; the
    // kernel validates the remote range and reports EFAULT instead of faulting.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    check_copy(n, dst.len(), addr)
}

/// Write `src` to `addr` of this process's memory (`copy_to_user`).
pub fn copy_to_self(addr: u64, src: &[u8]) -> Result<()> {
    if src.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: src.as_ptr() as *mut libc::c_void,
        iov_len: src.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: src.len(),
    };
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    // SAFETY: the local iovec is only read; the kernel validates the remote
    // range (EFAULT for unmapped or read-only pages).
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    check_copy(n, src.len(), addr)
}

fn check_copy(n: isize, want: usize, addr: u64) -> Result<()> {
    if n == want as isize {
        return Ok(());
    }
    let why = if n < 0 {
        std::io::Error::last_os_error().to_string()
    } else {
        format!("only {n} of {want} bytes")
    };
    Err(Error::new(Errno::EFAULT, format!("user address 0x{addr:x}: {why}")))
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

/// Borrow a raw fd number the caller vouches for only for the duration of a
/// call; `EBADF` if it is not open (checked with `fcntl(F_GETFD)`).
pub fn borrow_raw(fd: i32) -> Result<BorrowedFd<'static>> {
    if fd < 0 {
        return Err(Error::new(Errno::EBADF, format!("fd {fd} is negative")));
    }
    // SAFETY: F_GETFD on an arbitrary integer is harmless; it only tells
    // whether the number is an open descriptor.
    let ok = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    if !ok {
        return Err(Error::new(Errno::EBADF, format!("fd {fd} is not open")));
    }
    // SAFETY: the descriptor is open now; callers use the borrow only within
    // the ioctl that named it, as the kernel's fdget/fdput pair does. A
    // concurrent close by the application is the application's race, as in C.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Keep `fd` open past this value's life: hand its number to the caller (the
/// new owner is the application, as with an fd installed by the kernel).
pub fn into_raw(fd: OwnedFd) -> i32 {
    use std::os::fd::IntoRawFd;
    fd.into_raw_fd()
}

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

fn ofd_lock(fd: BorrowedFd<'_>, cmd: i32, ty: i32) -> Result<libc::flock> {
    let mut fl = libc::flock {
        l_type: ty as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: EXPORT_LOCK_BYTE,
        l_len: 1,
        l_pid: 0,
    };
    // SAFETY: `fl` is a valid, initialised `struct flock` that lives across
    // the call; F_OFD_SETLK/F_OFD_GETLK read and write only that struct.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::new(
            Errno(e.raw_os_error().unwrap_or(5)),
            "open-file-description lock on a dma-buf",
        ));
    }
    Ok(fl)
}

/// Mark `fd` (a fresh open file description) as an export of its dma-buf:
/// it takes a shared open-file-description lock on [`EXPORT_LOCK_BYTE`].
/// The kernel drops that lock when the description is released, that is
/// when the last fd of it (in any process, in flight in a socket, or held
/// by a mapping) is gone: exactly when a dma-buf file's last reference
/// goes.
pub fn mark_export(fd: BorrowedFd<'_>) -> Result<()> {
    ofd_lock(fd, libc::F_OFD_SETLK, libc::F_RDLCK).map(|_| ())
}

/// Whether any export description of `fd`'s file is still alive anywhere
/// (one `F_OFD_GETLK` probe; `fd` must not itself be an export).
pub fn exports_alive(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(ofd_lock(fd, libc::F_OFD_GETLK, libc::F_WRLCK)?.l_type != libc::F_UNLCK as libc::c_short)
}

/// glibc's `makedev`, to compare `/proc/self/maps` devices with `st_dev`.
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

/// True if `fd` refers to a memfd/shmem file (sealing works on those only).
pub fn is_memfd(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fcntl_get_seals(fd.as_fd()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_from_self_faults_cleanly() {
        let v = [1u8, 2, 3, 4];
        let mut d = [0u8; 4];
        copy_from_self(v.as_ptr() as u64, &mut d).unwrap();
        assert_eq!(d, v);
        assert_eq!(copy_from_self(0x10, &mut d).unwrap_err().errno, Errno::EFAULT);
        assert_eq!(copy_to_self(0x10, &v).unwrap_err().errno, Errno::EFAULT);
        let mut dst = [0u8; 4];
        copy_to_self(dst.as_mut_ptr() as u64, &v).unwrap();
        assert_eq!(dst, v);
    }

    #[test]
    fn mappings_share_pages() {
        let fd = memfd("t", 8192).unwrap();
        let a = Mapping::map(fd.as_fd(), 0, 8192, true).unwrap();
        let b = Mapping::map(fd.as_fd(), 4096, 4096, true).unwrap();
        a.write_at(4096 + 10, b"hello").unwrap();
        let mut got = [0u8; 5];
        b.read_at(10, &mut got).unwrap();
        assert_eq!(&got, b"hello");
        assert_eq!(b.read_at(4095, &mut got).unwrap_err().errno, Errno::EFAULT);
    }

    #[test]
    fn assemble_joins_segments() {
        let x = memfd("x", 8192).unwrap();
        let y = memfd("y", 4096).unwrap();
        let m = Mapping::assemble(&[(x.as_fd(), 4096, 4096), (y.as_fd(), 0, 4096)], true, None).unwrap();
        m.write_at(0, b"xx").unwrap();
        m.write_at(4096, b"yy").unwrap();
        let mx = Mapping::map(x.as_fd(), 0, 8192, false).unwrap();
        let my = Mapping::map(y.as_fd(), 0, 4096, false).unwrap();
        let mut g = [0u8; 2];
        mx.read_at(4096, &mut g).unwrap();
        assert_eq!(&g, b"xx");
        my.read_at(0, &mut g).unwrap();
        assert_eq!(&g, b"yy");
    }

    #[test]
    fn reopen_is_a_new_description_of_the_same_file() {
        let fd = memfd("r", 4096).unwrap();
        let r = reopen(fd.as_fd(), rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC).unwrap();
        assert_eq!(file_id(fd.as_fd()).unwrap(), file_id(r.as_fd()).unwrap());
        assert!(is_memfd(r.as_fd()));
        assert_eq!(borrow_raw(-3).unwrap_err().errno, Errno::EBADF);
        assert_eq!(borrow_raw(1_000_000).unwrap_err().errno, Errno::EBADF);
    }
}

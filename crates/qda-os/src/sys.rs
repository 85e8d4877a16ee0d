//! The few syscalls qda needs that have no safe wrapper: `mmap`/`munmap` of
//! shared memory, `process_vm_readv`/`writev` on the own process (the
//! in-process `copy_from_user` / `copy_to_user`), borrowing a raw fd number,
//! and open-file-description record locks.
//!
//! Every `unsafe` block of the crate lives here, each with its justification.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::mm::{MapFlags, ProtFlags};

use crate::PAGE_SIZE;
use crate::errno::{Errno, OsError as Error, Result};
use crate::vma;

/// A shared mapping, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// Bytes to unmap: `len` plus a trailing marker page, if any.
    map_len: usize,
    writable: bool,
    /// Made with libc's `mmap` (see [`Mapping::map_via_libc`]): unmapped
    /// with libc's `munmap`.
    via_libc: bool,
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
        vma::register(m.addr(), len as u64, fd, offset);
        Ok(m)
    }

    /// A mapping the driver (or an in-process DSP) makes for itself: not a
    /// user's VMA, so the registry of [`find_mapping`](crate::find_mapping)
    /// does not list it.
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
            via_libc: false,
        })
    }

    /// [`Mapping::map`] through libc's `mmap` and `munmap` rather than raw
    /// system calls, so an LD_PRELOAD shim (`libqda_preload.so`) sees them:
    /// the kernel backend's mappings of device nodes.
    pub fn map_via_libc(fd: BorrowedFd<'_>, offset: u64, len: usize, writable: bool) -> Result<Mapping> {
        use std::os::fd::AsRawFd as _;
        if len == 0 {
            return Err(Error::new(Errno::EINVAL, "mmap of zero bytes"));
        }
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        let off = libc::off_t::try_from(offset).map_err(|_| Error::new(Errno::EINVAL, "mmap offset"))?;
        // SAFETY: a new mapping at an address the kernel chooses cannot alias
        // any Rust object; the fd and bounds are checked by the kernel.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), off) };
        if p == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            return Err(Error::new(Errno(e.raw_os_error().unwrap_or(libc::EIO)), "mmap"));
        }
        let m = Mapping {
            ptr: NonNull::new(p.cast()).expect("mmap never returns NULL on success"),
            len,
            map_len: len,
            writable,
            via_libc: true,
        };
        vma::register(m.addr(), len as u64, fd, offset);
        Ok(m)
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
        let too_large = || Error::new(Errno::ENOMEM, "mapping too large");
        let total = segments
            .iter()
            .try_fold(0u64, |t, s| t.checked_add(s.2))
            .ok_or_else(too_large)?;
        if total == 0 || segments.iter().any(|s| s.1 % PAGE_SIZE != 0 || s.2 % PAGE_SIZE != 0) {
            return Err(Error::new(Errno::EINVAL, "segments must be non-empty whole pages"));
        }
        let len = usize::try_from(total).map_err(|_| too_large())?;
        let map_len = len
            .checked_add(if marker.is_some() { PAGE_SIZE as usize } else { 0 })
            .ok_or_else(too_large)?;
        // SAFETY: reserves fresh address space the kernel chooses; nothing else refers to it.
        let base = unsafe {
            rustix::mm::mmap_anonymous(std::ptr::null_mut(), map_len, ProtFlags::empty(), MapFlags::PRIVATE)?
        };
        let map = Mapping {
            via_libc: false,
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
                vma::register(map.addr() + at as u64, *l, *fd, *off);
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

    /// `len` bytes of the mapping at `offset`, in a new vector (one pass:
    /// no zeroing before the copy, as `read_at` into `vec![0; len]` does).
    pub fn read_vec(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        self.check(offset, len)?;
        let mut v = Vec::<u8>::with_capacity(len);
        // SAFETY: bounds checked above; the source is mapped readable memory
        // we own; the destination is the vector's own capacity of `len`
        // bytes, distinct from the mapping.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().wrapping_add(offset), v.as_mut_ptr(), len) };
        // SAFETY: the copy above initialised all `len` bytes.
        unsafe { v.set_len(len) };
        Ok(v)
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

/// Shared memory seen as 32-bit atomic words: the words of a ring
/// (`qda_rt::ring`) that two processes map. The first `words` × 4 bytes
/// are only ever accessed as atomics (by this type and, in the peer, by
/// the same type); bytes after them are a data area for raw copies
/// ([`SharedWords::mapping`]'s `read_at`/`write_at`), which the ring's
/// protocol hands from one side to the other.
#[derive(Debug)]
pub struct SharedWords {
    map: Mapping,
    words: usize,
}

impl SharedWords {
    /// The first `words` words of a writable shared mapping.
    pub fn new(map: Mapping, words: usize) -> Result<SharedWords> {
        if !map.writable() || words.checked_mul(4).is_none_or(|b| b > map.len()) {
            return Err(Error::new(
                Errno::EINVAL,
                format!("{words} words do not fit a {}-byte writable mapping", map.len()),
            ));
        }
        Ok(SharedWords { map, words })
    }

    /// The mapping: its address, and the data area after the words.
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }
}

impl AsRef<[std::sync::atomic::AtomicU32]> for SharedWords {
    fn as_ref(&self) -> &[std::sync::atomic::AtomicU32] {
        // SAFETY: the mapping is page-aligned (so aligned for AtomicU32),
        // readable and writable, and `words * 4 <= len` (checked in `new`);
        // it stays mapped while `self` lives, which bounds the slice's
        // lifetime. AtomicU32 has u32's size and accepts every bit pattern,
        // so whatever a peer process stores is a valid value; this process
        // never makes a non-atomic reference to these bytes (`SharedWords`
        // owns the mapping and hands out only `&Mapping`, whose raw copies
        // its users keep to the data area after the words).
        unsafe { std::slice::from_raw_parts(self.map.ptr.as_ptr().cast::<std::sync::atomic::AtomicU32>(), self.words) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        vma::unregister(self.addr(), self.map_len as u64);
        if self.via_libc {
            // SAFETY: as below, through libc's munmap.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.map_len) };
            return;
        }
        // SAFETY: we own the range [ptr, ptr+map_len) since creation; after this
        // call nothing refers to it (accessors take &self).
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.map_len) };
    }
}

/// Forks seen by this process image: a `pthread_atfork` child handler
/// counts them, so cached ids know when they are stale.
static FORKS: AtomicU32 = AtomicU32::new(0);
/// `(forks << 32) | pid`, or 0 before the first look-up.
static PID: AtomicU64 = AtomicU64::new(0);

extern "C" fn forked_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn fork_generation() -> u32 {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic
        // (async-signal-safe, valid in a forked child); no pointers passed
        // but a function with the C ABI that lives for the whole program.
        let r = unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
        if r != 0 {
            // Without the hook a cached id could outlive a fork: never cache.
            FORKS.store(u32::MAX, Ordering::Relaxed);
        }
    });
    FORKS.load(Ordering::Relaxed)
}

/// This process's id, from a cache (a `getpid` syscall costs 0.3 µs here
/// and every `copy_from_self` needs it). A fork through libc (`fork`,
/// `posix_spawn`, `system`) refreshes it; a raw `clone` syscall would not,
/// and is not something the library does.
pub fn self_pid() -> i32 {
    let g = fork_generation();
    let v = PID.load(Ordering::Relaxed);
    if g != u32::MAX && v != 0 && (v >> 32) as u32 == g {
        return v as u32 as i32;
    }
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    PID.store((u64::from(g) << 32) | u64::from(pid as u32), Ordering::Relaxed);
    pid
}

/// The calling thread's id, cached per thread (see [`self_pid`]).
pub fn self_tid() -> i32 {
    thread_local! {
        static TID: std::cell::Cell<(u32, i32)> = const { std::cell::Cell::new((0, 0)) };
    }
    let g = fork_generation();
    TID.with(|c| {
        let (seen, tid) = c.get();
        if g != u32::MAX && tid != 0 && seen == g {
            return tid;
        }
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        c.set((g, tid));
        tid
    })
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
    let pid = self_pid();
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
    let pid = self_pid();
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

/// The kind of an open-file-description record lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Shared (`F_RDLCK`).
    Read,
    /// Exclusive (`F_WRLCK`).
    Write,
}

impl LockKind {
    fn raw(self) -> libc::c_short {
        match self {
            LockKind::Read => libc::F_RDLCK as libc::c_short,
            LockKind::Write => libc::F_WRLCK as libc::c_short,
        }
    }
}

fn ofd_lock(fd: BorrowedFd<'_>, cmd: i32, kind: LockKind, start: i64, len: i64) -> Result<libc::flock> {
    let mut fl = libc::flock {
        l_type: kind.raw(),
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: start,
        l_len: len,
        l_pid: 0,
    };
    // SAFETY: `fl` is a valid, initialised `struct flock` that lives across
    // the call; F_OFD_SETLK/F_OFD_GETLK read and write only that struct.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::new(
            Errno(e.raw_os_error().unwrap_or(Errno::EIO.0)),
            "open-file-description lock",
        ));
    }
    Ok(fl)
}

/// `fcntl(F_OFD_SETLK)`: take a `kind` lock on `len` bytes at `start`
/// through `fd`'s open file description (`EAGAIN` if another description
/// holds a conflicting one). The kernel drops it when the description is
/// released: the last close of any `dup` of it, in any process, the last
/// `munmap` of a mapping of it, or the drop of an fd in flight in a socket.
pub fn ofd_setlk(fd: BorrowedFd<'_>, kind: LockKind, start: i64, len: i64) -> Result<()> {
    ofd_lock(fd, libc::F_OFD_SETLK, kind, start, len).map(|_| ())
}

/// `fcntl(F_OFD_GETLK)`: whether a `kind` lock on `len` bytes at `start`
/// would conflict with a lock another open file description holds.
pub fn ofd_conflicts(fd: BorrowedFd<'_>, kind: LockKind, start: i64, len: i64) -> Result<bool> {
    Ok(ofd_lock(fd, libc::F_OFD_GETLK, kind, start, len)?.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memfd;
    use std::os::fd::AsFd;

    /// The cached ids are the real ones, and a forked child sees its own
    /// (a stale cache would make `copy_from_self` read the parent).
    #[test]
    fn cached_ids_follow_a_fork() {
        assert_eq!(self_pid(), rustix::process::getpid().as_raw_nonzero().get());
        assert_eq!(self_tid(), rustix::thread::gettid().as_raw_nonzero().get());
        let parent = self_pid();
        // SAFETY: the child only makes syscalls and touches atomics and a
        // thread-local of its own before `_exit`.
        let child = unsafe { libc::fork() };
        if child == 0 {
            let ok = self_pid() != parent
                && self_pid() == rustix::process::getpid().as_raw_nonzero().get()
                && self_tid() == rustix::thread::gettid().as_raw_nonzero().get();
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(child > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waits for the child just created; `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(r, child);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child saw its parent's ids"
        );
        assert_eq!(self_pid(), parent);
    }

    #[test]
    fn read_vec_copies_in_bounds_and_refuses_past_the_end() {
        let fd = memfd("read-vec", 8192).unwrap();
        let m = Mapping::map(fd.as_fd(), 0, 8192, true).unwrap();
        m.write_at(4090, &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(m.read_vec(4090, 6).unwrap(), [1, 2, 3, 4, 5, 6]);
        assert!(m.read_vec(0, 0).unwrap().is_empty());
        assert_eq!(m.read_vec(8190, 3).unwrap_err().errno, Errno::EFAULT);
        assert!(m.read_vec(usize::MAX, 2).is_err());
    }

    #[test]
    fn numbers_not_open_are_ebadf() {
        assert_eq!(borrow_raw(-3).unwrap_err().errno, Errno::EBADF);
        assert_eq!(borrow_raw(1_000_000).unwrap_err().errno, Errno::EBADF);
    }

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
    fn an_ofd_read_lock_lives_as_long_as_its_description() {
        let fd = memfd("l", 4096).unwrap();
        let probe = crate::reopen(fd.as_fd(), rustix::fs::OFlags::RDWR).unwrap();
        let held = crate::reopen(fd.as_fd(), rustix::fs::OFlags::RDWR).unwrap();
        assert!(!ofd_conflicts(probe.as_fd(), LockKind::Write, 1 << 40, 1).unwrap());
        ofd_setlk(held.as_fd(), LockKind::Read, 1 << 40, 1).unwrap();
        assert!(ofd_conflicts(probe.as_fd(), LockKind::Write, 1 << 40, 1).unwrap());
        assert!(!ofd_conflicts(probe.as_fd(), LockKind::Read, 1 << 40, 1).unwrap());
        drop(held);
        assert!(!ofd_conflicts(probe.as_fd(), LockKind::Write, 1 << 40, 1).unwrap());
    }

    #[test]
    fn assemble_refuses_lengths_that_overflow_together() {
        let fd = crate::memfd("a", 4096).unwrap();
        let half = 1u64 << 63;
        let segs = [(fd.as_fd(), 0, half), (fd.as_fd(), 0, half)];
        assert_eq!(
            Mapping::assemble_internal(&segs, false).unwrap_err().errno,
            Errno::ENOMEM
        );
        let segs = [(fd.as_fd(), 0, (u64::MAX >> 12) << 12)];
        assert!(Mapping::assemble(&segs, false, Some(fd.as_fd())).is_err());
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
}

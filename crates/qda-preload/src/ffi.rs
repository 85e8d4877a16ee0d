//! The functions `src/shim.c` calls: C types in, the safe modules' answers
//! out. The crate's only `unsafe`: writing the answer struct the C side
//! passes, building C structs (`stat`, `statx`), and calling libc's `fork`
//! and `mprotect`. The program's own pointers (paths, `stat` buffers) are
//! read and written with `process_vm_readv`/`writev`, so a bad pointer is
//! `EFAULT` (or libc's own answer), never a crash. A panic is caught and
//! answered `EIO`.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::files::{self, Answer, Meta};
use crate::{dirs, paths};

/// What the C side gets back (see `struct qda_res` in `shim.c`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct QdaRes {
    value: c_long,
    err: c_int,
}

/// Write `a` into `*r`; 1 (handled).
fn answer(r: *mut QdaRes, a: Answer) -> c_int {
    let (value, err) = match a {
        Ok(v) => (v as c_long, 0),
        Err(e) => (-1, e),
    };
    if !r.is_null() {
        // SAFETY: `r` is the address of a `struct qda_res` on the stack of
        // the calling function in shim.c, live for this call.
        unsafe { r.write(QdaRes { value, err }) };
    }
    1
}

/// `f`, with a panic answered EIO (when `r` is given) instead of unwinding
/// into C.
fn guarded(r: *mut QdaRes, f: impl FnOnce() -> Option<Answer>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(None) => 0,
        Ok(Some(a)) => answer(r, a),
        Err(_) => answer(r, Err(libc::EIO)),
    }
}

/// The NUL-terminated string at `p`, read without trusting it: `None` when
/// it is unreadable or longer than `PATH_MAX` (libc then gives its answer).
fn cstr(p: *const c_char) -> Option<Vec<u8>> {
    const PAGE: u64 = 4096;
    let mut addr = p as u64;
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    while out.len() < libc::PATH_MAX as usize {
        // Never across a page boundary: each read is all there or EFAULT.
        let n = (PAGE - addr % PAGE).min(256) as usize;
        let mut buf = vec![0u8; n];
        qda_os::copy_from_self(addr, &mut buf).ok()?;
        if let Some(end) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..end]);
            return Some(out);
        }
        out.extend_from_slice(&buf);
        addr += n as u64;
    }
    None
}

/// The board path `path` names relative to `dirfd`, if it may be one.
fn board_path(dirfd: c_int, path: *const c_char) -> Option<String> {
    let bytes = cstr(path)?;
    if !paths::maybe(&bytes) {
        return None;
    }
    let base = if bytes.starts_with(b"/") {
        None
    } else {
        Some(paths::base_of(dirfd)?)
    };
    paths::resolve(base.as_deref(), &bytes)
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    _mode: c_uint,
    r: *mut QdaRes,
) -> c_int {
    guarded(r, || files::open(&board_path(dirfd, path)?, flags))
}

fn major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Copy a C struct's bytes to the program's `buf`.
fn put<T>(buf: *mut c_void, v: &T) -> Answer {
    // SAFETY: `v` is a live, fully initialized (zeroed, then set) C struct;
    // its bytes are read for its size only.
    let bytes = unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) };
    qda_os::copy_to_self(buf as u64, bytes)
        .map(|_| 0)
        .map_err(|_| libc::EFAULT)
}

fn stat_struct(m: Meta) -> libc::stat64 {
    // SAFETY: `stat64` is plain C data; all zeroes is a valid value.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    st.st_dev = 5;
    st.st_ino = m.ino;
    st.st_mode = m.mode;
    st.st_nlink = m.nlink as _;
    st.st_rdev = m.rdev;
    st.st_size = m.size as i64;
    st.st_blksize = 4096;
    st
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_stat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    buf: *mut c_void,
    r: *mut QdaRes,
) -> c_int {
    guarded(r, || {
        let empty = cstr(path).is_some_and(|p| p.is_empty());
        let m = if empty && flags & libc::AT_EMPTY_PATH != 0 {
            files::fstat(dirfd)?
        } else {
            files::stat(&board_path(dirfd, path)?)?
        };
        Some(put(buf, &stat_struct(m)))
    })
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_fstat(fd: c_int, buf: *mut c_void, r: *mut QdaRes) -> c_int {
    guarded(r, || Some(put(buf, &stat_struct(files::fstat(fd)?))))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    _mask: c_uint,
    buf: *mut c_void,
    r: *mut QdaRes,
) -> c_int {
    guarded(r, || {
        let empty = cstr(path).is_some_and(|p| p.is_empty());
        let m = if empty && flags & libc::AT_EMPTY_PATH != 0 {
            files::fstat(dirfd)?
        } else {
            files::stat(&board_path(dirfd, path)?)?
        };
        // SAFETY: `statx` is plain C data; all zeroes is a valid value.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        st.stx_mask = libc::STATX_BASIC_STATS;
        st.stx_blksize = 4096;
        st.stx_mode = m.mode as u16;
        st.stx_nlink = m.nlink as u32;
        st.stx_ino = m.ino;
        st.stx_size = m.size;
        (st.stx_rdev_major, st.stx_rdev_minor) = major_minor(m.rdev);
        st.stx_dev_minor = 5;
        Some(put(buf, &st))
    })
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_access(
    dirfd: c_int,
    path: *const c_char,
    mode: c_int,
    _flags: c_int,
    r: *mut QdaRes,
) -> c_int {
    guarded(r, || files::access(&board_path(dirfd, path)?, mode))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_opendir(path: *const c_char, r: *mut QdaRes) -> c_int {
    guarded(r, || dirs::opendir(&board_path(libc::AT_FDCWD, path)?))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_is_dir(dir: *const c_void) -> c_int {
    catch_unwind(|| dirs::is_ours(dir as usize) as c_int).unwrap_or(0)
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_readdir(dir: *mut c_void) -> *mut c_void {
    catch_unwind(|| dirs::readdir(dir as usize)).unwrap_or(0) as *mut c_void
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_closedir(dir: *mut c_void) -> c_int {
    catch_unwind(|| dirs::close(dir as usize)).unwrap_or(-1)
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_rewinddir(dir: *mut c_void) {
    let _ = catch_unwind(|| dirs::rewind(dir as usize));
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_ioctl(fd: c_int, cmd: c_ulong, arg: c_ulong, r: *mut QdaRes) -> c_int {
    // `unsigned long` is 64 bits on the targets qda builds for; the casts
    // keep 32-bit ones honest.
    #[allow(clippy::unnecessary_cast)]
    let (cmd, arg) = (cmd as u64, arg as u64);
    guarded(r, || files::ioctl(fd, cmd, arg))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_close(fd: c_int, r: *mut QdaRes) -> c_int {
    guarded(r, || files::close(fd))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_dup(oldfd: c_int, newfd: c_int) {
    let _ = catch_unwind(|| files::dup(oldfd, newfd));
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_mmap(
    _addr: *mut c_void,
    len: usize,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: c_long,
    r: *mut QdaRes,
) -> c_int {
    guarded(r, || {
        let m = match files::mmap(len, prot, flags, fd, off)? {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        if prot & libc::PROT_WRITE == 0 {
            let p = rustix::mm::MprotectFlags::from_bits_truncate(prot as u32);
            // SAFETY: the range is the mapping just made, which nothing
            // else refers to yet; only its protection changes.
            if let Err(e) = unsafe { rustix::mm::mprotect(m.addr() as *mut c_void, m.len(), p) } {
                return Some(Err(e.raw_os_error()));
            }
        }
        Some(Ok(files::keep(m) as i64))
    })
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_munmap(addr: *mut c_void, len: usize, r: *mut QdaRes) -> c_int {
    guarded(r, || files::munmap(addr as usize, len))
}

#[unsafe(no_mangle)]
extern "C" fn qda_preload_fork(real: extern "C" fn() -> c_int) -> c_int {
    crate::fork(|| real())
}

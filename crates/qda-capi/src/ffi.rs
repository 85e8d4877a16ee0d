//! The C side of the boundary: `remote.h`'s argument layouts (LP64) and the
//! only `unsafe` of the crate — reading what C callers pass by pointer.
//! Every function returns an error code for a null or oversized pointer
//! instead of touching it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_void};

use crate::errors::EBADPARM;

pub use qda_uapi::remote::{RemoteArgC as CArg, RemoteBufC as CBuf, RemoteDmaHandle as CDma};

/// The argument as a buffer.
pub fn buf_of(a: &CArg) -> CBuf {
    // SAFETY: every bit pattern is a valid buffer (two integers); the union
    // is plain data.
    unsafe { a.buf }
}

/// The argument as a 64-bit handle.
pub fn h64_of(a: &CArg) -> u64 {
    // SAFETY: every bit pattern is a valid u64; the union is plain data.
    unsafe { a.h64 }
}

/// The argument as a dma handle.
pub fn dma_of(a: &CArg) -> CDma {
    // SAFETY: as above, two integers.
    unsafe { a.dma }
}

/// A pointer field of a control struct (a `u64` on LP64) as a C pointer.
pub fn ptr<T>(v: u64) -> *mut T {
    v as usize as *mut T
}

/// The `n` arguments at `pra` (none if `n` is 0, whatever `pra` is).
///
/// # Safety
/// A non-null `pra` must point to `n` readable `remote_arg`s, as the C API
/// requires of its caller.
pub unsafe fn args<'a>(pra: *const CArg, n: usize) -> Result<&'a [CArg], i32> {
    if n == 0 {
        return Ok(&[]);
    }
    if pra.is_null() {
        return Err(EBADPARM);
    }
    // SAFETY: non-null, and the caller promises `n` elements.
    Ok(unsafe { std::slice::from_raw_parts(pra, n) })
}

/// A C string argument as UTF-8.
///
/// # Safety
/// A non-null `s` must point to a NUL-terminated string.
pub unsafe fn str<'a>(s: *const c_char) -> Result<&'a str, i32> {
    if s.is_null() {
        return Err(EBADPARM);
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(s) };
    c.to_str().map_err(|_| EBADPARM)
}

/// `len` bytes at `s` as UTF-8 (a name with its length, as the session
/// control structs pass them; a NUL inside ends it).
///
/// # Safety
/// A non-null `s` must point to `len` readable bytes.
pub unsafe fn str_n<'a>(s: *const c_char, len: u32) -> Result<&'a str, i32> {
    if s.is_null() || len == 0 {
        return Err(EBADPARM);
    }
    // SAFETY: non-null, `len` bytes by the caller's contract.
    let b = unsafe { std::slice::from_raw_parts(s.cast::<u8>(), len as usize) };
    let b = b.split(|c| *c == 0).next().unwrap_or(b);
    std::str::from_utf8(b).map_err(|_| EBADPARM)
}

/// Write `v` through an out pointer.
///
/// # Safety
/// A non-null `p` must be valid for a write of `T`.
pub unsafe fn put<T>(p: *mut T, v: T) -> Result<(), i32> {
    if p.is_null() {
        return Err(EBADPARM);
    }
    // SAFETY: non-null and writable by the caller's contract; unaligned
    // writes are allowed.
    unsafe { p.write_unaligned(v) };
    Ok(())
}

/// The control struct `T` a `(data, datalen)` pair passes, if `datalen` is
/// exactly its size (libadsprpc checks `len == sizeof`).
///
/// # Safety
/// A non-null `data` must point to `datalen` readable and writable bytes.
pub unsafe fn control<'a, T>(data: *mut c_void, datalen: u32) -> Result<&'a mut T, i32> {
    if data.is_null() || datalen as usize != size_of::<T>() || !(data as usize).is_multiple_of(align_of::<T>()) {
        return Err(EBADPARM);
    }
    // SAFETY: non-null, aligned, of T's size, and T is a plain C struct of
    // integers and pointers (any bit pattern valid).
    Ok(unsafe { &mut *data.cast::<T>() })
}

/// Copy `s` and a NUL into `dst` (`cap` bytes); `false` if it does not fit
/// (then as much as fits is written, NUL-terminated, as `snprintf` does).
///
/// # Safety
/// A non-null `dst` must be valid for `cap` bytes of writes.
pub unsafe fn write_str(dst: *mut c_char, cap: usize, s: &str) -> Result<bool, i32> {
    if dst.is_null() || cap == 0 {
        return Err(EBADPARM);
    }
    let n = s.len().min(cap - 1);
    // SAFETY: `dst` has `cap` > n bytes by the caller's contract.
    let out = unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), cap) };
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out[n] = 0;
    Ok(n == s.len())
}

/// A C caller's fd number, borrowed for a call (`None` if negative).
pub fn borrow_fd<'a>(fd: i32) -> Option<std::os::fd::BorrowedFd<'a>> {
    // SAFETY: the fd is the caller's and stays open during the call (the C
    // API's contract); a closed number makes the syscall fail with EBADF.
    (fd >= 0).then(|| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// A CPU-side skel the DSP opened through `apps_remotectl` (`dlopen`ed by
/// the listener, as libadsprpc's `mod_table` does): its entry point.
#[derive(Debug)]
pub(crate) struct CpuSkel {
    lib: *mut c_void,
    entry: *mut c_void,
    handle_style: bool,
}

// SAFETY: the library handle and entry are process-wide addresses; the
// listener thread is the only user, and dlclose is thread-safe.
unsafe impl Send for CpuSkel {}

type HandleInvoke = unsafe extern "C" fn(u64, u32, *mut CArg) -> i32;
type Invoke = unsafe extern "C" fn(u32, *mut CArg) -> i32;

impl CpuSkel {
    /// `dlopen(file)` (the dynamic loader's search) and look up `symbol`:
    /// `(handle, sc, pra)` when `handle_style`, else `(sc, pra)`. The
    /// caller checked both names (a plain `lib*_skel.so`, a skel entry).
    pub(crate) fn open(file: &str, symbol: &str, handle_style: bool) -> Result<CpuSkel, String> {
        let f = std::ffi::CString::new(file).map_err(|_| "bad name".to_string())?;
        let s = std::ffi::CString::new(symbol).map_err(|_| "bad symbol".to_string())?;
        // SAFETY: a NUL-terminated name; the library's constructors run as
        // they would under libadsprpc's listener.
        let lib = unsafe { libc::dlopen(f.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if lib.is_null() {
            return Err(format!("{file}: cannot be loaded"));
        }
        // SAFETY: a live handle and a NUL-terminated symbol name.
        let entry = unsafe { libc::dlsym(lib, s.as_ptr()) };
        if entry.is_null() {
            // SAFETY: the handle dlopen returned, closed once.
            unsafe { libc::dlclose(lib) };
            return Err(format!("{file}: undefined symbol: {symbol}"));
        }
        Ok(CpuSkel {
            lib,
            entry,
            handle_style,
        })
    }

    /// Whether the entry takes a handle (`_modver=1.0`).
    pub(crate) fn handle_style(&self) -> bool {
        self.handle_style
    }

    /// Call the entry with `pra` (one `remote_arg` per argument of `sc`,
    /// buffers valid for their lengths).
    pub(crate) fn call(&self, h: u64, sc: u32, pra: &mut [CArg]) -> i32 {
        let p = pra.as_mut_ptr();
        if self.handle_style {
            // SAFETY: `entry` is the skel's `<x>_skel_handle_invoke` (the
            // name was checked), with the qaic signature.
            let f = unsafe { std::mem::transmute::<*mut c_void, HandleInvoke>(self.entry) };
            // SAFETY: `pra` holds `sc`'s arguments, each buffer live.
            unsafe { f(h, sc, p) }
        } else {
            // SAFETY: as above, `<x>_skel_invoke`.
            let f = unsafe { std::mem::transmute::<*mut c_void, Invoke>(self.entry) };
            // SAFETY: as above.
            unsafe { f(sc, p) }
        }
    }
}

impl Drop for CpuSkel {
    fn drop(&mut self) {
        // SAFETY: the handle dlopen returned, closed once.
        unsafe { libc::dlclose(self.lib) };
    }
}

/// Run `f` in the child after every `fork` of this process.
pub fn on_fork_child(f: extern "C" fn()) {
    // SAFETY: registers a handler that only stores to an atomic (async-signal
    // safe, as a child handler must be); the function lives for the process.
    let r = unsafe { libc::pthread_atfork(None, None, Some(f)) };
    if r != 0 {
        tracing::warn!(target: "qda_capi", "pthread_atfork: {r}; a forked child would share this state");
    }
}

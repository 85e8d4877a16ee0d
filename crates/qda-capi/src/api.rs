//! The C API, one Rust function per C function, each taking the library's
//! default domain first. [`crate::export_c_api!`] exports them under their C
//! names. Pointers are checked for null; a panic is caught and answered
//! `AEE_EFAILED` (nothing unwinds into C).
#![allow(unsafe_code, clippy::missing_safety_doc)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use qda::FdMap;
use qda_proto::Scalars;

use crate::domains::{self, Effective, ITRANSPORT_PREFIX};
use crate::errors::{EBADPARM, EFAILED, ERPC, EUNSUPPORTED, aee, ret};
use crate::ffi::{self, CArg};
use crate::state::{Lib, lib};

thread_local! {
    /// The domain this thread last opened or called a module on.
    static CURRENT: Cell<Option<Effective>> = const { Cell::new(None) };
}

fn current(l: &Lib) -> Effective {
    CURRENT.get().unwrap_or(Effective(l.default))
}

/// Run `f`, answering a panic with `fail`.
fn guard<T>(fail: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::error!(target: "qda_capi", "a panic inside the library; the call fails");
        fail
    })
}

fn guard_aee(f: impl FnOnce() -> Result<(), i32>) -> c_int {
    guard(EFAILED, || ret(f()))
}

unsafe fn open(dom: u32, name: *const c_char) -> Result<u64, i32> {
    // SAFETY: the caller passes a NUL-terminated name.
    let uri = unsafe { ffi::str(name) }?;
    if uri.starts_with(ITRANSPORT_PREFIX) {
        // The library's pseudo-handles (static PDs, attach, event fds).
        tracing::debug!(target: "qda_capi", "pseudo-URI {uri:?} is not supported");
        return Err(EUNSUPPORTED);
    }
    let eff = domains::of_uri(uri, dom).ok_or(EBADPARM)?;
    let l = lib(dom);
    let h = l.open(eff, uri)?;
    CURRENT.set(Some(eff));
    Ok(h)
}

pub unsafe fn remote_handle64_open(dom: u32, name: *const c_char, ph: *mut u64) -> c_int {
    guard_aee(|| {
        if ph.is_null() {
            return Err(EBADPARM);
        }
        // SAFETY: forwarded caller contract.
        let h = unsafe { open(dom, name) }?;
        // SAFETY: checked non-null; the caller's out pointer.
        unsafe { ffi::put(ph, h) }
    })
}

pub unsafe fn remote_handle_open(dom: u32, name: *const c_char, ph: *mut u32) -> c_int {
    guard_aee(|| {
        if ph.is_null() {
            return Err(EBADPARM);
        }
        // SAFETY: forwarded caller contract.
        let h = unsafe { open(dom, name) }?;
        let Ok(h32) = u32::try_from(h) else {
            let _ = lib(dom).close(h);
            return Err(EFAILED);
        };
        // SAFETY: checked non-null; the caller's out pointer.
        unsafe { ffi::put(ph, h32) }
    })
}

pub unsafe fn remote_handle64_invoke(dom: u32, h: u64, sc: u32, pra: *mut CArg) -> c_int {
    guard(EFAILED, || {
        let l = lib(dom);
        let open = match l.get(h) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let sc = Scalars(sc);
        // SAFETY: the caller passes one remote_arg per argument of `sc`.
        let pra = match unsafe { ffi::args(pra, sc.len()) } {
            Ok(p) => p,
            Err(e) => return e,
        };
        let mut d = match l.reg.descriptors(sc, pra) {
            Ok(d) => d,
            Err(e) => return e,
        };
        CURRENT.set(Some(open.dom.eff));
        match open.module.invoke_raw(sc.0, &mut d) {
            Ok(r) => r as c_int,
            Err(e) => aee(&e),
        }
    })
}

pub unsafe fn remote_handle_invoke(dom: u32, h: u32, sc: u32, pra: *mut CArg) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { remote_handle64_invoke(dom, u64::from(h), sc, pra) }
}

pub unsafe fn remote_handle64_close(dom: u32, h: u64) -> c_int {
    guard_aee(|| lib(dom).close(h))
}

pub unsafe fn remote_handle_close(dom: u32, h: u32) -> c_int {
    guard_aee(|| lib(dom).close(u64::from(h)))
}

pub unsafe fn remote_handle_control(dom: u32, req: u32, data: *mut c_void, len: u32) -> c_int {
    guard_aee(|| {
        let l = lib(dom);
        // SAFETY: forwarded caller contract on (data, len).
        unsafe { l.handle_control(current(&l), req, data, len) }
    })
}

pub unsafe fn remote_handle64_control(dom: u32, h: u64, req: u32, data: *mut c_void, len: u32) -> c_int {
    guard_aee(|| {
        let l = lib(dom);
        let eff = l.get(h)?.dom.eff;
        // SAFETY: forwarded caller contract on (data, len).
        unsafe { l.handle_control(eff, req, data, len) }
    })
}

pub unsafe fn remote_session_control(dom: u32, req: u32, data: *mut c_void, len: u32) -> c_int {
    // SAFETY: forwarded caller contract on (data, len).
    guard_aee(|| unsafe { lib(dom).session_control(req, data, len) })
}

/// Asynchronous invokes and their jobs: not offered (the DSPs report no
/// `ASYNC_FASTRPC_SUPPORT`).
pub fn unsupported() -> c_int {
    EUNSUPPORTED
}

pub unsafe fn remote_mmap64(dom: u32, fd: c_int, flags: u32, vaddrin: u64, size: i64, out: *mut u64) -> c_int {
    guard_aee(|| {
        if flags != 0 || size < 0 || fd < 0 || out.is_null() {
            return Err(EBADPARM);
        }
        let l = lib(dom);
        let v = l.addr_map(current(&l), fd, vaddrin, size as u64)?;
        // SAFETY: checked non-null; the caller's out pointer.
        unsafe { ffi::put(out, v) }
    })
}

pub unsafe fn remote_mmap(dom: u32, fd: c_int, flags: u32, vaddrin: u32, size: c_int, out: *mut u32) -> c_int {
    guard_aee(|| {
        if out.is_null() {
            return Err(EBADPARM);
        }
        let mut v = 0u64;
        // SAFETY: `v` is ours.
        let r = unsafe { remote_mmap64(dom, fd, flags, u64::from(vaddrin), i64::from(size), &mut v) };
        // SAFETY: checked non-null; the caller's out pointer.
        unsafe { ffi::put(out, v as u32) }?;
        if r == 0 { Ok(()) } else { Err(r) }
    })
}

pub unsafe fn remote_munmap64(dom: u32, vaddrout: u64, size: i64) -> c_int {
    guard_aee(|| {
        let l = lib(dom);
        if size < 0 {
            return Err(ERPC);
        }
        l.addr_unmap(current(&l), vaddrout, size as u64)
    })
}

pub unsafe fn remote_munmap(dom: u32, vaddrout: u32, size: c_int) -> c_int {
    // SAFETY: no pointers.
    unsafe { remote_munmap64(dom, u64::from(vaddrout), i64::from(size)) }
}

fn effective(l: &Lib, domain: c_int) -> Result<Effective, i32> {
    if domain == -1 {
        return Ok(current(l));
    }
    Effective::from_id(domain).ok_or(EBADPARM)
}

pub unsafe fn remote_mem_map(
    dom: u32,
    domain: c_int,
    fd: c_int,
    flags: c_int,
    vaddr: u64,
    size: usize,
    raddr: *mut u64,
) -> c_int {
    guard_aee(|| {
        // `REMOTE_MAP_MEM_STATIC` is the only flag.
        if fd < 0 || flags != 0 || raddr.is_null() {
            return Err(EBADPARM);
        }
        let l = lib(dom);
        let eff = effective(&l, domain)?;
        let d = l.session_or_open(eff)?;
        let v = d
            .session
            .mmap_legacy(fd, flags as u32, vaddr, size as u64)
            .map_err(|e| aee(&e))?;
        // SAFETY: checked non-null; the caller's out pointer.
        unsafe { ffi::put(raddr, v) }
    })
}

pub unsafe fn remote_mem_unmap(dom: u32, domain: c_int, raddr: u64, size: usize) -> c_int {
    guard_aee(|| {
        if raddr == 0 {
            return Err(EBADPARM);
        }
        let l = lib(dom);
        let eff = effective(&l, domain)?;
        let d = l.session_or_open(eff)?;
        d.session.munmap_legacy(raddr, size as u64).map_err(|e| aee(&e))
    })
}

/// `FASTRPC_MAP_*` values a map may have (`FASTRPC_MAP_MAX` is 17;
/// `FASTRPC_MAP_RESERVED` is refused).
const FASTRPC_MAP_FLAGS_MASK: c_int = 0xffff;

pub unsafe fn fastrpc_mmap(
    dom: u32,
    domain: c_int,
    fd: c_int,
    addr: *mut c_void,
    offset: c_int,
    length: usize,
    flags: c_int,
) -> c_int {
    guard_aee(|| {
        let attrs = flags & !FASTRPC_MAP_FLAGS_MASK;
        let flags = flags & FASTRPC_MAP_FLAGS_MASK;
        if fd < 0 || offset != 0 || attrs != 0 || !(0..17).contains(&flags) || flags == 1 {
            return Err(EBADPARM);
        }
        let l = lib(dom);
        let eff = effective(&l, domain)?;
        l.fd_map(
            eff,
            FdMap {
                fd,
                offset: 0,
                flags: flags as u32,
                attrs: 0,
                vaddrin: addr as u64,
                len: length as u64,
            },
        )
    })
}

pub unsafe fn fastrpc_munmap(dom: u32, domain: c_int, fd: c_int, _addr: *mut c_void, _length: usize) -> c_int {
    guard_aee(|| {
        if fd < 0 {
            return Err(EBADPARM);
        }
        let l = lib(dom);
        let eff = effective(&l, domain)?;
        l.fd_unmap(eff, fd)
    })
}

pub unsafe fn remote_register_buf_attr2(dom: u32, buf: *mut c_void, size: usize, fd: c_int, attr: c_int) {
    guard((), || {
        if buf.is_null() {
            return;
        }
        lib(dom).reg.register(buf as usize, size, fd, attr as u32);
    })
}

pub unsafe fn remote_register_buf_attr(dom: u32, buf: *mut c_void, size: c_int, fd: c_int, attr: c_int) {
    if size < 0 {
        return;
    }
    // SAFETY: no pointer is dereferenced.
    unsafe { remote_register_buf_attr2(dom, buf, size as usize, fd, attr) }
}

pub unsafe fn remote_register_buf(dom: u32, buf: *mut c_void, size: c_int, fd: c_int) {
    // SAFETY: no pointer is dereferenced.
    unsafe { remote_register_buf_attr(dom, buf, size, fd, 0) }
}

pub unsafe fn remote_register_dma_handle_attr(dom: u32, fd: c_int, len: u32, attr: u32) -> c_int {
    guard_aee(|| {
        if fd < 0 {
            return Err(EBADPARM);
        }
        lib(dom).reg.register_dma(fd, len, attr);
        Ok(())
    })
}

pub unsafe fn remote_register_dma_handle(dom: u32, fd: c_int, len: u32) -> c_int {
    // SAFETY: no pointers.
    unsafe { remote_register_dma_handle_attr(dom, fd, len, 0) }
}

pub unsafe fn remote_register_fd2(dom: u32, fd: c_int, size: usize) -> *mut c_void {
    const FAILED: *mut c_void = usize::MAX as *mut c_void;
    guard(FAILED, || {
        if fd < 0 || size == 0 {
            return FAILED;
        }
        let l = lib(dom);
        match l.map_fd_here(fd, size) {
            Ok(addr) => {
                l.reg.register(addr, size, fd, 0);
                addr as *mut c_void
            }
            Err(_) => FAILED,
        }
    })
}

pub unsafe fn remote_register_fd(dom: u32, fd: c_int, size: c_int) -> *mut c_void {
    if size < 0 {
        return usize::MAX as *mut c_void;
    }
    // SAFETY: forwarded.
    unsafe { remote_register_fd2(dom, fd, size as usize) }
}

pub fn rpcmem_init(_dom: u32) {}

pub fn rpcmem_deinit(_dom: u32) {}

pub unsafe fn rpcmem_alloc2(dom: u32, _heapid: c_int, flags: u32, size: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || match lib(dom).rpcmem_alloc(flags, size) {
        Ok(a) => a as *mut c_void,
        Err(e) => {
            tracing::debug!(target: "qda_capi", "rpcmem_alloc of {size} bytes: {e:#x}");
            std::ptr::null_mut()
        }
    })
}

pub unsafe fn rpcmem_alloc(dom: u32, heapid: c_int, flags: u32, size: c_int) -> *mut c_void {
    if size <= 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: forwarded.
    unsafe { rpcmem_alloc2(dom, heapid, flags, size as usize) }
}

pub unsafe fn rpcmem_free(dom: u32, po: *mut c_void) {
    guard((), || lib(dom).rpcmem_free(po as usize))
}

pub unsafe fn rpcmem_to_fd(dom: u32, po: *mut c_void) -> c_int {
    guard(-1, || lib(dom).rpcmem_to_fd(po as usize))
}

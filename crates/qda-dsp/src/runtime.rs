//! The DSP runtime skels link against: `HAP_debug_v2` (FARF), `HAP_perf_*`,
//! `HAP_malloc`/`HAP_free`, `HAP_mmap_get`/`HAP_mmap_put`,
//! `HAP_mmap`/`HAP_munmap` (and their `2` forms), `adsp_mmap_fd_getinfo`
//! (`runtime/qda_dsp_runtime.c`), and `qda_dsp_reverse_invoke` (a call to
//! the client's listener, `crate::reverse`).
//!
//! The library is built with the crate and embedded in it: before the first
//! skel loads in a process, [`ensure_loaded`] writes it to a memfd and
//! `dlopen`s `/proc/self/fd/N` with `RTLD_GLOBAL`, so a skel's undefined
//! `HAP_*` symbols resolve against it when the skel is loaded (skels are
//! loaded `RTLD_DEEPBIND | RTLD_LOCAL`: DEEPBIND puts the skel's own
//! symbols first, the global scope is still searched). Nothing is looked up
//! on disk: an application linking qda from an installed tree needs no
//! file of ours. A PD host loads it before its sandbox hides `/proc`.
//!
//! The C file only formats and forwards; it is handed the callbacks below
//! once (`qda_dsp_runtime_bind`). They never unwind into C and answer an
//! AEE code for bad input (null pointers, unknown fds).
//!
//! The one other thing here that needs `unsafe`: which shared object this
//! crate was linked into ([`this_object`], `dladdr`), for finding the PD
//! host beside it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW, Symbol};

use crate::aee;
use crate::farf::{self, Farf};
use crate::fdtable;
use crate::reverse;

/// The runtime library, as built by `build.rs`.
static RUNTIME_SO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libqda_dsp_runtime.so"));

/// The callback table's version (`QDA_DSP_RUNTIME_VERSION` in the C file).
const OPS_VERSION: u32 = 2;

/// A `remote_arg` holding a buffer (LP64: `{void *pv; size_t nLen;}`, the
/// union's 16 bytes), as `qda_dsp_reverse_invoke` receives it.
#[repr(C)]
#[derive(Clone, Copy)]
struct BufArg {
    pv: *mut c_void,
    n_len: usize,
}
const _: () = assert!(size_of::<BufArg>() == 16, "remote_arg is 16 bytes on LP64");

/// `struct qda_dsp_runtime_ops` (the C file's layout).
#[repr(C)]
struct Ops {
    version: u32,
    size: u32,
    log: extern "C" fn(c_int, *const c_char, c_int, *const c_char),
    mmap_get: extern "C" fn(c_int, *mut *mut c_void, *mut u64) -> c_int,
    mmap_put: extern "C" fn(c_int) -> c_int,
    fd_getinfo: extern "C" fn(c_int, *mut u32) -> c_int,
    put_addr: extern "C" fn(*const c_void) -> c_int,
    reverse_invoke: extern "C" fn(u32, u32, *mut BufArg) -> c_int,
}

static OPS: Ops = Ops {
    version: OPS_VERSION,
    size: size_of::<Ops>() as u32,
    log: ops_log,
    mmap_get: ops_mmap_get,
    mmap_put: ops_mmap_put,
    fd_getinfo: ops_fd_getinfo,
    put_addr: ops_put_addr,
    reverse_invoke: ops_reverse_invoke,
};

/// A C string the runtime passed, or `None` for null.
fn c_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the runtime passes NUL-terminated strings (its own formatted
    // buffer, or `__FILE__`/a message from the skel) valid for the call.
    let s = unsafe { CStr::from_ptr(p) };
    Some(s.to_string_lossy().into_owned())
}

extern "C" fn ops_log(level: c_int, file: *const c_char, line: c_int, msg: *const c_char) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let f = Farf {
            level,
            file: c_str(file).unwrap_or_else(|| "?".into()),
            line,
            // One line each: a skel's trailing newline is not a line more.
            msg: c_str(msg)
                .unwrap_or_default()
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        };
        // To the client's listener when the PD's client runs one.
        if farf::wanted(&f) && reverse::print_string(&format!("{}\n", f.text())) {
            farf::trace(None, &f);
            return;
        }
        farf::log(&f);
    }));
}

/// Run `f` against the calling PD's fd table; an AEE code when there is
/// none, or when `f` panics.
fn with_table(f: impl FnOnce(&fdtable::FdTable) -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(|| match fdtable::current() {
        Some(t) => f(&t),
        None => aee::ENOSUCHMAP,
    }))
    .unwrap_or(aee::EFAILED)
}

extern "C" fn ops_mmap_get(fd: c_int, vaddr: *mut *mut c_void, paddr: *mut u64) -> c_int {
    if vaddr.is_null() {
        return aee::EBADPARM;
    }
    with_table(|t| match t.get(fd) {
        Ok((addr, dsp)) => {
            // SAFETY: `vaddr` is non-null and the skel passes a pointer to
            // its `void *` (HAP_mmap_get's contract).
            unsafe { vaddr.write(addr as *mut c_void) };
            if !paddr.is_null() {
                // SAFETY: non-null, the skel's `uint64` (optional out).
                unsafe { paddr.write(dsp) };
            }
            0
        }
        Err(e) => e,
    })
}

extern "C" fn ops_mmap_put(fd: c_int) -> c_int {
    with_table(|t| t.put(fd).map_or_else(|e| e, |()| 0))
}

extern "C" fn ops_fd_getinfo(fd: c_int, len: *mut u32) -> c_int {
    if len.is_null() {
        return aee::EBADPARM;
    }
    with_table(|t| match t.len(fd) {
        Ok(n) => {
            // SAFETY: non-null, the skel's `uint32` out.
            unsafe { len.write(n) };
            0
        }
        Err(e) => e,
    })
}

extern "C" fn ops_put_addr(addr: *const c_void) -> c_int {
    // Only compared with the table's ranges, never dereferenced.
    with_table(|t| t.put_addr(addr as usize).map_or_else(|e| e, |()| 0))
}

extern "C" fn ops_reverse_invoke(handle: u32, sc: u32, pra: *mut BufArg) -> c_int {
    catch_unwind(AssertUnwindSafe(|| reverse_invoke(handle, sc, pra))).unwrap_or(aee::EFAILED)
}

fn reverse_invoke(handle: u32, sc: u32, pra: *mut BufArg) -> c_int {
    let sc = qda_proto::Scalars(sc);
    if sc.nhandles() != 0 {
        return aee::EBADPARM;
    }
    if pra.is_null() && sc.nbufs() != 0 {
        return aee::EBADPARM;
    }
    let (nin, nbufs) = (sc.inbufs() as usize, sc.nbufs());
    let pra: &mut [BufArg] = if nbufs == 0 {
        &mut []
    } else {
        // SAFETY: `pra` is non-null and holds one remote_arg per buffer of
        // `sc` (the caller's contract, as for any FastRPC call), not used
        // elsewhere during the call.
        unsafe { std::slice::from_raw_parts_mut(pra, nbufs) }
    };
    let mut bufs = Vec::with_capacity(nbufs);
    for b in pra.iter().copied() {
        if b.pv.is_null() && b.n_len != 0 {
            return aee::EBADPARM;
        }
        bufs.push(b);
    }
    let mut ins: Vec<&[u8]> = Vec::with_capacity(nin);
    for b in &bufs[..nin] {
        ins.push(if b.n_len == 0 {
            &[]
        } else {
            // SAFETY: a non-null input buffer of `n_len` bytes the skel owns
            // for the call.
            unsafe { std::slice::from_raw_parts(b.pv.cast_const().cast::<u8>(), b.n_len) }
        });
    }
    let mut out_lens = Vec::with_capacity(nbufs - nin);
    for b in &bufs[nin..] {
        let Ok(n) = u32::try_from(b.n_len) else {
            return aee::EBADPARM;
        };
        out_lens.push(n);
    }
    match reverse::call_current(handle, sc, &ins, &out_lens) {
        Ok(outs) => {
            for (i, (o, b)) in outs.iter().zip(&bufs[nin..]).enumerate() {
                // The reverse layer refused anything longer than asked.
                let n = o.len().min(b.n_len);
                if n > 0 {
                    // SAFETY: the skel's output buffer of `n_len` ≥ `n`
                    // bytes; the source is our own vector.
                    unsafe { std::ptr::copy_nonoverlapping(o.as_ptr(), b.pv.cast::<u8>(), n) };
                }
                // The output's length becomes what came.
                pra[nin + i].n_len = n;
            }
            0
        }
        Err(e) => e.retval(),
    }
}

/// Load the runtime into this process (once) and bind its callbacks;
/// why not, if it could not be.
pub(crate) fn ensure_loaded() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let r = load();
            if let Err(e) = &r {
                eprintln!("qda-dsp: the DSP runtime (HAP_*) is not available to skels: {e}");
            }
            r
        })
        .clone()
}

fn load() -> Result<(), String> {
    let fd = qda_os::fd::memfd("qda-dsp-runtime", RUNTIME_SO.len() as u64).map_err(|e| format!("memfd: {e}"))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(RUNTIME_SO)
        .map_err(|e| format!("writing the runtime: {e}"))?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    // SAFETY: the library is ours (built by build.rs, embedded above); its
    // only constructor-time work is the C runtime's own.
    let lib = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_GLOBAL) }.map_err(|e| e.to_string())?;
    type Bind = unsafe extern "C" fn(*const Ops) -> c_int;
    // SAFETY: the symbol is defined by our C file with this signature.
    let bind: Symbol<Bind> = unsafe { lib.get(b"qda_dsp_runtime_bind\0") }.map_err(|e| e.to_string())?;
    // SAFETY: `OPS` is a static with the layout the C file expects and
    // lives as long as the process.
    let r = unsafe { bind(&OPS) };
    if r != 0 {
        return Err(format!("the runtime refused callbacks of version {OPS_VERSION}"));
    }
    // Stays loaded for the life of the process: skels bind to it. Its
    // memfd stays open too: the loader knows the runtime by the name
    // `/proc/self/fd/N`, and a later dlopen of that name with N reused for
    // another file would be handed the runtime instead.
    std::mem::forget(lib);
    std::mem::forget(file);
    Ok(())
}

/// The file of the shared object (or executable) this crate is linked into.
pub(crate) fn this_object() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let addr = this_object as *const c_void;
    // SAFETY: dladdr only reads the loader's tables and fills `info`.
    let r = unsafe { libc::dladdr(addr, info.as_mut_ptr()) };
    if r == 0 {
        return None;
    }
    // SAFETY: dladdr succeeded, so `info` is filled in.
    let name = unsafe { info.assume_init() }.dli_fname;
    c_str(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_loads_and_binds() {
        ensure_loaded().unwrap();
        // The symbols skels need are global now.
        // SAFETY: dlopen(NULL) is the global scope; nothing runs.
        let this = libloading::os::unix::Library::this();
        // Every function the SDK's skel headers declare, and the one qaic's
        // skels declare themselves.
        let declared = qda_sdk::DSP_FUNCTIONS.iter().map(|(_, f)| *f);
        for sym in declared.chain(["adsp_mmap_fd_getinfo"]) {
            // SAFETY: only the address is looked up, never called.
            let s = unsafe { this.get::<*const c_void>(sym.as_bytes()) };
            assert!(s.is_ok(), "{sym} is not global");
        }
    }

    #[test]
    fn callbacks_refuse_bad_input() {
        let mut len = 0u32;
        assert_eq!(ops_fd_getinfo(3, std::ptr::null_mut()), aee::EBADPARM);
        assert_eq!(ops_fd_getinfo(3, &mut len), aee::ENOSUCHMAP, "no PD on this thread");
        assert_eq!(
            ops_mmap_get(3, std::ptr::null_mut(), std::ptr::null_mut()),
            aee::EBADPARM
        );
        assert_eq!(ops_mmap_put(3), aee::ENOSUCHMAP);
        assert_eq!(ops_put_addr(std::ptr::null()), aee::ENOSUCHMAP);
        ops_log(2, std::ptr::null(), 1, std::ptr::null());
    }

    #[test]
    fn this_object_is_a_file() {
        let p = this_object().unwrap();
        assert!(p.is_file(), "{}", p.display());
    }
}

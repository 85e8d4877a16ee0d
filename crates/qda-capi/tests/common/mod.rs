//! What the C API tests share: calls through `qda_capi::api` exactly as the
//! exported C functions make them (default domain CDSP, as libcdsprpc).
#![allow(unsafe_code, dead_code)]

use std::ffi::CString;

use qda_capi::api;
use qda_capi::ffi::{CArg, CBuf, CDma};

pub const CDSP: u32 = 3;
pub const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";
pub const SUM: u32 = 0x0202_0100;
pub const MAX: u32 = 0x0302_0100;
pub const AEE_EBADPARM: i32 = 0x0e;
pub const AEE_EBADHANDLE: i32 = 0x2c;
pub const AEE_EUNSUPPORTED: i32 = 0x14;

pub fn open(uri: &str) -> Result<u64, i32> {
    let c = CString::new(uri).unwrap();
    let mut h = 0u64;
    // SAFETY: a valid C string and out pointer.
    match unsafe { api::remote_handle64_open(CDSP, c.as_ptr(), &mut h) } {
        0 => Ok(h),
        e => Err(e),
    }
}

pub fn close(h: u64) -> i32 {
    // SAFETY: no pointers.
    unsafe { api::remote_handle64_close(CDSP, h) }
}

pub fn buf(p: *const u8, n: usize) -> CArg {
    CArg {
        buf: CBuf {
            pv: p as u64,
            n_len: n as u64,
        },
    }
}

pub fn dma(fd: i32, offset: u32) -> CArg {
    CArg {
        dma: CDma { fd, offset },
    }
}

pub fn invoke(h: u64, sc: u32, args: &mut [CArg]) -> i32 {
    // SAFETY: `args` holds one remote_arg per argument of `sc`, each buffer
    // valid for its length (or deliberately bad, which the library must
    // answer with an error).
    unsafe { api::remote_handle64_invoke(CDSP, h, sc, args.as_mut_ptr()) }
}

/// `calculator_sum(h, v)` the way its stub marshals it.
pub fn sum(h: u64, v: &[i32]) -> Result<i64, i32> {
    let n = v.len() as u32;
    let mut out = 0i64;
    let mut a = [
        buf((&n as *const u32).cast(), 4),
        buf(v.as_ptr().cast(), v.len() * 4),
        buf((&mut out as *mut i64).cast(), 8),
    ];
    match invoke(h, SUM, &mut a) {
        0 => Ok(out),
        e => Err(e),
    }
}

/// `calculator_max(h, v)`.
pub fn max(h: u64, v: &[i32]) -> Result<i32, i32> {
    let n = v.len() as u32;
    let mut out = 0i32;
    let mut a = [
        buf((&n as *const u32).cast(), 4),
        buf(v.as_ptr().cast(), v.len() * 4),
        buf((&mut out as *mut i32).cast(), 4),
    ];
    match invoke(h, MAX, &mut a) {
        0 => Ok(out),
        e => Err(e),
    }
}

/// An rpcmem buffer of `n` i32, freed on drop.
pub struct Rpcmem {
    pub ptr: *mut i32,
    pub n: usize,
}

impl Rpcmem {
    pub fn new(n: usize) -> Rpcmem {
        // SAFETY: no pointers in.
        let p = unsafe { api::rpcmem_alloc(CDSP, 25, 1, (n * 4) as i32) };
        assert!(!p.is_null(), "rpcmem_alloc failed");
        Rpcmem { ptr: p.cast(), n }
    }
    pub fn slice(&self) -> &[i32] {
        // SAFETY: the library mapped `n` i32 for us.
        unsafe { std::slice::from_raw_parts(self.ptr, self.n) }
    }
    pub fn fill(&mut self, f: impl Fn(usize) -> i32) {
        // SAFETY: as above; `&mut self` makes this the only view.
        let s = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.n) };
        s.iter_mut().enumerate().for_each(|(i, v)| *v = f(i));
    }
    pub fn fd(&self) -> i32 {
        // SAFETY: a pointer rpcmem_alloc returned.
        unsafe { api::rpcmem_to_fd(CDSP, self.ptr.cast()) }
    }
}

impl Drop for Rpcmem {
    fn drop(&mut self) {
        // SAFETY: a pointer rpcmem_alloc returned, freed once.
        unsafe { api::rpcmem_free(CDSP, self.ptr.cast()) }
    }
}

/// Set the backend for this test process before the library's first use.
pub fn backend(name: &str, socket: Option<&std::path::Path>) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: every test calls this first; the Once makes the others wait
        // until the environment is written, before any of them reads it.
        unsafe { std::env::set_var("QDA_BACKEND", name) };
        if let Some(s) = socket {
            // SAFETY: as above.
            unsafe { std::env::set_var("QDA_SOCKET", s) };
        }
    });
}

/// The test skel that calls back into this process (`revtest_skel.c`).
pub const REVTEST: &str = "file:///librevtest_skel.so?revtest_skel_handle_invoke&_modver=1.0&_dom=cdsp";

/// A NUL-terminated copy of `s`.
pub fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// revtest method 2: `getenv(name)` on the CPU through the listener:
/// (apps_std's result, valLenReq, the value bytes).
pub fn rev_getenv(h: u64, name: &str, cap: usize) -> Result<(i32, u32, Vec<u8>), i32> {
    let n = z(name);
    let mut val = vec![0u8; cap];
    let mut res = [0u32; 2];
    let mut a = [
        buf(n.as_ptr(), n.len()),
        buf(val.as_mut_ptr(), cap),
        buf(res.as_mut_ptr().cast(), 8),
    ];
    match invoke(h, 0x0201_0200, &mut a) {
        0 => Ok((res[0] as i32, res[1], val)),
        e => Err(e),
    }
}

/// revtest method 3: read up to `cap` bytes of file `path` on the CPU
/// through the listener (fopen, fread, fclose): (result, the bytes).
pub fn rev_readfile(h: u64, path: &str, cap: usize) -> Result<(i32, Vec<u8>), i32> {
    let p = z(path);
    let mut data = vec![0u8; cap];
    let mut res = [0u32; 2];
    let mut a = [
        buf(p.as_ptr(), p.len()),
        buf(data.as_mut_ptr(), cap),
        buf(res.as_mut_ptr().cast(), 8),
    ];
    match invoke(h, 0x0301_0200, &mut a) {
        0 => {
            data.truncate(res[1] as usize);
            Ok((res[0] as i32, data))
        }
        e => Err(e),
    }
}

/// revtest method 4: one FARF(HIGH) line "revtest: <msg>".
pub fn rev_farf(h: u64, msg: &str) -> i32 {
    let m = z(msg);
    let mut a = [buf(m.as_ptr(), m.len())];
    invoke(h, 0x0401_0000, &mut a)
}

/// The threads of this process named `name`.
pub fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
                .count()
        })
        .unwrap_or(0)
}

/// Wait up to 5 s for no thread named `name`.
pub fn no_threads_named(name: &str) -> bool {
    for _ in 0..500 {
        if threads_named(name) == 0 {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// revtest method 6: open CPU-side skel `uri` through the listener and call
/// its sum with `v`: (nErr of the open, the sum's result, the sum).
pub fn rev_cpu_sum(h: u64, uri: &str, v: &[i32]) -> Result<(i32, i32, i64), i32> {
    let u = z(uri);
    let mut out = 0i64;
    let mut res = [0u32; 2];
    let mut a = [
        buf(u.as_ptr(), u.len()),
        buf(v.as_ptr().cast(), v.len() * 4),
        buf((&mut out as *mut i64).cast(), 8),
        buf(res.as_mut_ptr().cast(), 8),
    ];
    match invoke(h, 0x0602_0200, &mut a) {
        0 => Ok((res[0] as i32, res[1] as i32, out)),
        e => Err(e),
    }
}

//! What the C API tests share: calls through `qda_capi::api` exactly as the
//! exported C functions make them (default domain CDSP, as libcdsprpc).
#![allow(unsafe_code, dead_code)]

use std::ffi::CString;

use qda_capi::api;
use qda_capi::ffi::{CArg, CBuf, CDma};
use qda_uapi::fastrpc::FastrpcInvokeArgs;

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

pub fn raw(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd: -1,
        attr: 0,
    }
}

pub const DSP_EBADSTATE: i32 = 0x8000_040d_u32 as i32;
pub const DSP_EBADSIZE: i32 = 0x8000_044d_u32 as i32;
pub const DSP_EBADPARM: i32 = 0x8000_040e_u32 as i32;
pub const DSP_ENOTINITIALIZED: i32 = 0x8000_046b_u32 as i32;

/// revtest method 2 (getenv PATH) through the qda library: the skel's
/// return value.
pub fn lib_getenv(m: &qda::RemoteHandle) -> i32 {
    let n = z("PATH");
    let mut val = [0u8; 16];
    let mut res = [0u32; 2];
    let mut a = [
        raw(n.as_ptr(), n.len()),
        raw(val.as_mut_ptr(), 16),
        raw(res.as_mut_ptr().cast(), 8),
    ];
    m.invoke_raw(0x0201_0200, &mut a).unwrap() as i32
}

/// A listener's next2 on `s`: (the DSP's answer, ctx, handle, sc).
pub fn next2(s: &qda::Session, prev_ctx: u32, result: i32, reply: &[u8]) -> (i32, [u32; 4]) {
    let inp = [prev_ctx, result as u32, reply.len() as u32, 4096];
    let mut out = [0u32; 4];
    let mut buf = vec![0u8; 4096];
    let mut a = [
        raw(inp.as_ptr().cast(), 16),
        raw(reply.as_ptr(), reply.len()),
        raw(out.as_mut_ptr().cast(), 16),
        raw(buf.as_mut_ptr(), 4096),
    ];
    let r = s.invoke_raw(7, 0x0602_0200, &mut a).unwrap() as i32;
    (r, out)
}

pub fn lib_session() -> (qda::Device, qda::Session, qda::RemoteHandle) {
    let dev = qda::Device::open(qda::Domain::Cdsp).unwrap();
    let s = dev.session().unwrap();
    let m = s.open(REVTEST).unwrap();
    (dev, s, m)
}

/// A session with no listener: a skel's reverse call fails at once.
pub fn no_listener_fails_at_once() {
    let (_dev, _s, m) = lib_session();
    let t = std::time::Instant::now();
    assert_eq!(lib_getenv(&m), DSP_ENOTINITIALIZED);
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "it did not wait");
}

/// This thread is the listener of a session and answers a skel's reverse
/// calls with replies that are too long or do not decode: the skel gets
/// AEE_EBADSIZE / AEE_EBADPARM; the exit ends the listener's next2.
pub fn hostile_replies_refused() {
    let (_dev, s, m) = lib_session();
    // This thread is the listener.
    assert_eq!(s.invoke_raw(7, 0x0500_0000, &mut []).unwrap(), 0, "init2");
    let len4 = |n: u32| n.to_le_bytes().to_vec();
    let replies: Vec<(Vec<u8>, i32)> = vec![
        // The open's output 0 is 8 bytes; 100 come back.
        ([len4(100), vec![0; 4], vec![7; 100], len4(0)].concat(), DSP_EBADSIZE),
        // A length past the end of the reply.
        ([len4(8), vec![0; 4], vec![1; 3]].concat(), DSP_EBADPARM),
        // No outputs at all.
        (vec![], DSP_EBADPARM),
    ];
    std::thread::scope(|sc| {
        let caller = sc.spawn(|| replies.iter().map(|_| lib_getenv(&m)).collect::<Vec<i32>>());
        let (mut ctx, mut result, mut reply) = (0u32, -1i32, Vec::new());
        for (bad, _) in &replies {
            let (r, out) = next2(&s, ctx, result, &reply);
            assert_eq!(r, 0);
            // apps_remotectl open of apps_std: handle 0, method 0, 2 in 2 out.
            assert_eq!((out[1], out[2]), (0, 0x0002_0200));
            (ctx, result, reply) = (out[0], 0, bad.clone());
        }
        // The last reply goes with a next2 that then blocks: send it from a
        // thread, and end that next2 with the process's exit.
        let s2 = s.clone();
        let reply2 = reply.clone();
        let l = sc.spawn(move || next2(&s2, ctx, result, &reply2).0);
        let got = caller.join().unwrap();
        assert_eq!(s.invoke_raw(4, 0x0200_0000, &mut []).unwrap(), 0, "exit");
        assert_eq!(l.join().unwrap(), DSP_EBADSTATE, "exit ends next2");
        let want: Vec<i32> = replies.iter().map(|(_, c)| *c).collect();
        assert_eq!(got, want);
    });
}

/// A qdad in this test process, started once, that the library's backend
/// is set to (each test file is its own process).
pub struct Daemon {
    pub server: qdad::server::Server,
    _dir: qda_test::TempDir,
}

pub fn daemon(tag: &str) -> &'static Daemon {
    static D: std::sync::OnceLock<Daemon> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let dir = qda_test::TempDir::new(tag);
        let socket = dir.path().join("qdad.sock");
        let server = qdad::server::Server::start(qdad::server::Config {
            socket: socket.clone(),
            ..Default::default()
        })
        .expect("start qdad");
        backend("daemon", Some(&socket));
        Daemon { server, _dir: dir }
    })
}

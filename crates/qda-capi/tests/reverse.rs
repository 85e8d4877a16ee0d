//! Reverse RPC through the C API on the embedded backend: a skel on the
//! virtual DSP calls `apps_std` in this process through the session's
//! listener thread (getenv, a file read); FARF goes the same way; a hostile
//! listener's replies are refused; a session with no listener gets a clear
//! error; the listener ends with the session.
#![allow(unsafe_code)]

mod common;

use common::*;
use qda_uapi::fastrpc::FastrpcInvokeArgs;

fn setup() {
    backend("embedded", None);
}

#[test]
fn a_reverse_call_reads_the_environment() {
    setup();
    let h = open(REVTEST).unwrap();
    let want = std::env::var("PATH").unwrap();
    let (r, req, val) = rev_getenv(h, "PATH", want.len() + 1).unwrap();
    assert_eq!(r, 0);
    assert_eq!(req as usize, want.len() + 1);
    assert_eq!(&val[..want.len()], want.as_bytes());
    assert_eq!(val[want.len()], 0);
    // A missing variable is apps_std's error, passed back to the skel.
    let (r, _, _) = rev_getenv(h, "QDA_SURELY_NOT_SET_ANYWHERE", 16).unwrap();
    assert_eq!(r, 39, "AEE_ENOSUCH");
    assert_eq!(close(h), 0);
}

#[test]
fn a_reverse_call_reads_a_file() {
    setup();
    let dir = qda_test::TempDir::new("capi-reverse");
    let path = dir.path().join("data.bin");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let h = open(REVTEST).unwrap();
    // Larger than the listener's first buffer: get_in_bufs2 is not needed
    // for the request, but the reply is 10 kB.
    let (r, got) = rev_readfile(h, path.to_str().unwrap(), 16_384).unwrap();
    assert_eq!(r, 0);
    assert_eq!(got, bytes);
    // A long name: the request is longer than the listener's 4 kB buffer,
    // so it comes in two pieces (get_in_bufs2); the file does not exist.
    let long = format!("{}/{}", dir.path().display(), "x".repeat(5000));
    let (r, _) = rev_readfile(h, &long, 16).unwrap();
    assert_ne!(r, 0, "no such file");
    assert_eq!(close(h), 0);
}

#[test]
fn a_farf_line_is_served_by_the_listener() {
    setup();
    let h = open(REVTEST).unwrap();
    assert_eq!(rev_farf(h, "hello from the DSP"), 0);
    assert_eq!(close(h), 0);
}

#[test]
fn the_listener_ends_with_the_session() {
    setup();
    for _ in 0..3 {
        let h = open(REVTEST).unwrap();
        assert_eq!(rev_getenv(h, "PATH", 4).unwrap().0, 0);
        assert!(threads_named("qda-listener") >= 1, "the listener served the call");
        assert_eq!(close(h), 0);
    }
    // Other tests of this binary may hold sessions: wait for all of them.
    let _guard = serial();
    assert!(no_threads_named("qda-listener"), "a listener thread was left behind");
}

/// The tests that need every session of this process closed run alone.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static M: std::sync::Mutex<()> = std::sync::Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

fn raw(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd: -1,
        attr: 0,
    }
}

const DSP_EBADSTATE: i32 = 0x8000_040d_u32 as i32;
const DSP_EBADSIZE: i32 = 0x8000_044d_u32 as i32;
const DSP_EBADPARM: i32 = 0x8000_040e_u32 as i32;
const DSP_ENOTINITIALIZED: i32 = 0x8000_046b_u32 as i32;

/// revtest method 2 (getenv PATH) through the qda library: the skel's
/// return value.
fn lib_getenv(m: &qda::RemoteHandle) -> i32 {
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
fn next2(s: &qda::Session, prev_ctx: u32, result: i32, reply: &[u8]) -> (i32, [u32; 4]) {
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

fn lib_session() -> (qda::Device, qda::Session, qda::RemoteHandle) {
    let dev = qda::Device::open(qda::Domain::Cdsp).unwrap();
    let s = dev.session().unwrap();
    let m = s.open(REVTEST).unwrap();
    (dev, s, m)
}

#[test]
fn a_session_without_a_listener_fails_reverse_calls_at_once() {
    setup();
    let (_dev, _s, m) = lib_session();
    let t = std::time::Instant::now();
    assert_eq!(lib_getenv(&m), DSP_ENOTINITIALIZED);
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "it did not wait");
}

#[test]
fn hostile_replies_are_refused() {
    setup();
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
        // Answer the last one; then the process exits and next2 ends.
        let ender = sc.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        let got = {
            // The last reply goes with a next2 that then blocks: answer it
            // from a thread, and end it with the process's exit.
            let s2 = s.clone();
            let reply2 = reply.clone();
            let l = sc.spawn(move || next2(&s2, ctx, result, &reply2).0);
            let got = caller.join().unwrap();
            assert_eq!(s.invoke_raw(4, 0x0200_0000, &mut []).unwrap(), 0, "exit");
            assert_eq!(l.join().unwrap(), DSP_EBADSTATE, "exit ends next2");
            got
        };
        ender.join().unwrap();
        let want: Vec<i32> = replies.iter().map(|(_, c)| *c).collect();
        assert_eq!(got, want);
    });
}

//! Reverse RPC through the C API on the embedded backend: a skel on the
//! virtual DSP calls `apps_std` in this process through the session's
//! listener thread (getenv, a file read); FARF goes the same way; a hostile
//! listener's replies are refused; a session with no listener gets a clear
//! error; the listener ends with the session.
#![allow(unsafe_code)]

mod common;

use common::*;

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

#[test]
fn a_session_without_a_listener_fails_reverse_calls_at_once() {
    setup();
    no_listener_fails_at_once();
}

#[test]
fn hostile_replies_are_refused() {
    setup();
    hostile_replies_refused();
}

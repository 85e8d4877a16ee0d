//! The C API through qdad (a daemon in this test process): the calculator,
//! many threads, and rpcmem buffers passed by fd, not copied (the daemon's
//! byte counter says so).
#![allow(unsafe_code)]

mod common;

use common::*;

fn daemon() -> &'static Daemon {
    common::daemon("capi-daemon")
}

fn stat(name: &str) -> u64 {
    daemon()
        .server
        .stats()
        .into_iter()
        .find(|(k, _)| k == name)
        .map_or(0, |(_, v)| v)
}

#[test]
fn calculator_through_qdad() {
    daemon();
    let mut m = Rpcmem::new(1000);
    m.fill(|i| i as i32);
    let h = open(CALC).unwrap();
    assert_eq!(sum(h, m.slice()), Ok(499_500));
    assert_eq!(max(h, m.slice()), Ok(999));
    assert_eq!(close(h), 0);
}

#[test]
fn rpcmem_buffers_go_by_fd_not_by_copy() {
    daemon();
    const N: usize = 256 * 1024; // 1 MiB of i32
    let mut m = Rpcmem::new(N);
    m.fill(|_| 1);
    let h = open(CALC).unwrap();
    assert_eq!(sum(h, m.slice()), Ok(N as i64));
    let before = stat("bytes_in");
    for _ in 0..8 {
        assert_eq!(sum(h, m.slice()), Ok(N as i64));
    }
    let per_call = (stat("bytes_in") - before) / 8;
    assert!(
        per_call < 64 * 1024,
        "{per_call} bytes reached the daemon per call for a 1 MiB rpcmem buffer: it was copied"
    );
    // A plain heap buffer of the same size is copied: the counter sees it
    // (so the check above can fail).
    let heap = vec![1i32; N];
    let before = stat("bytes_in");
    assert_eq!(sum(h, &heap), Ok(N as i64));
    assert!(stat("bytes_in") - before >= (N * 4) as u64);
    assert_eq!(close(h), 0);
}

#[test]
fn eight_threads_a_thousand_invokes_each_through_qdad() {
    daemon();
    let h = open(CALC).unwrap();
    std::thread::scope(|s| {
        for t in 0..8i32 {
            s.spawn(move || {
                let own: Vec<i32> = (0..64).map(|i| i + t).collect();
                let want = 2016 + 64 * i64::from(t);
                for k in 0..1000 {
                    assert_eq!(sum(h, &own), Ok(want), "thread {t} call {k}");
                }
            });
        }
    });
    assert_eq!(close(h), 0);
}

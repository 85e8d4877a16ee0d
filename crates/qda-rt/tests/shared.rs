//! A ring in shared memory: one memfd mapped twice (as two processes map
//! it: the same pages at different addresses), a producer on one mapping
//! and a sleeping consumer on the other. The bell's futex must be a shared
//! one: a private futex is keyed by address, so a wake on one mapping would
//! not reach a sleeper on the other (the consumer below would only see its
//! message at its timeout, and the test checks it saw it before).

use std::sync::Arc;
use std::time::{Duration, Instant};

use qda_os::{Mapping, SharedWords, memfd};
use qda_rt::ring::{Futex, Ring, ring_words};

const SLOTS: usize = 4;
const WIDTH: usize = 10;

fn two_views() -> (Ring<SharedWords>, Ring<SharedWords>) {
    let n = ring_words(SLOTS, WIDTH);
    let fd = memfd("ring", (n * 4) as u64).unwrap();
    let a = SharedWords::new(Mapping::map(std::os::fd::AsFd::as_fd(&fd), 0, n * 4, true).unwrap(), n).unwrap();
    let b = SharedWords::new(Mapping::map(std::os::fd::AsFd::as_fd(&fd), 0, n * 4, true).unwrap(), n).unwrap();
    assert_ne!(a.mapping().addr(), b.mapping().addr());
    let a = Ring::create(a, SLOTS, WIDTH).unwrap();
    let b = Ring::attach(b, SLOTS, WIDTH).unwrap();
    (a, b)
}

#[test]
fn a_shared_futex_wakes_a_sleeper_on_another_mapping() {
    const F: Futex = Futex { shared: true };
    let (a, b) = two_views();
    let b = Arc::new(b);
    let consumer = {
        let b = b.clone();
        std::thread::spawn(move || {
            let mut out = [0u32; WIDTH];
            let mut got = Vec::new();
            while got.len() < 10 {
                if b.pop(&mut out).unwrap() {
                    got.push(out[0]);
                } else {
                    // A long timeout: a lost or misdirected wake-up shows
                    // as a slow test, caught by the elapsed-time check.
                    b.bell().wait(&F, Some(Duration::from_secs(5)), || b.ready());
                }
            }
            got
        })
    };
    let t = Instant::now();
    let mut woken = 0;
    for i in 0..10u32 {
        // Wait for the consumer to be asleep, so each message needs a wake-up.
        while b.bell().sleepers() == 0 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(5));
        while a.push(&[i; WIDTH]).is_err() {
            std::thread::yield_now();
        }
        // The consumer may see the message before it sleeps: no wake then.
        woken += usize::from(a.bell().ring(&F));
    }
    assert!(woken > 0, "no message needed a wake-up");
    assert_eq!(consumer.join().unwrap(), (0..10).collect::<Vec<_>>());
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "wake-ups crossed mappings only by timeout ({:?})",
        t.elapsed()
    );
}

#[test]
fn shared_words_refuse_what_does_not_fit() {
    let fd = memfd("small", 4096).unwrap();
    let m = Mapping::map(std::os::fd::AsFd::as_fd(&fd), 0, 4096, true).unwrap();
    assert!(SharedWords::new(m, 1025).is_err());
    let ro = Mapping::map(std::os::fd::AsFd::as_fd(&fd), 0, 4096, false).unwrap();
    assert!(SharedWords::new(ro, 16).is_err());
}

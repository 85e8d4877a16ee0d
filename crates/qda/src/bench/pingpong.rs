//! Ping-pong chains: the cheapest hand-offs a path of N hops could make, the
//! baselines of issue 13's ratios. A chain of N hops has N + 1 threads (the
//! caller and N parties); each pair of neighbours shares one word. The
//! caller posts a request on the first word, each party passes it on to the
//! next word and, once the answer is back, answers on its own; the last
//! party answers at once. One round trip therefore crosses every hop twice,
//! as an invoke does (caller → DSP thread → PD host and back).
//!
//! - [`Handoff::Spin`]: the word is an `AtomicU64` and every waiter spins
//!   on it (`std::hint::spin_loop`), yielding its CPU every 256 checks so a
//!   chain of more threads than CPUs still moves. It never sleeps: the cost
//!   of a cache-line hand-off, what a poll mode's completion word aims at.
//! - [`Handoff::Futex`]: the word is an `AtomicU32`; a waiter sleeps in
//!   `futex(FUTEX_WAIT_PRIVATE)` (rustix's safe `futex::wait`) until the
//!   value changes, and a poster stores then calls `futex(FUTEX_WAKE)`,
//!   every time, with no spinning first: the plain sleeping hand-off an
//!   invoke in sleep mode pays per hop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;

use rustix::thread::futex;

/// How the parties of a [`PingPongChain`] wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// Spin on an `AtomicU64` (yielding every 256 checks), never sleep.
    Spin,
    /// Sleep on an `AtomicU32` with `FUTEX_WAIT`; `FUTEX_WAKE` after each store.
    Futex,
}

impl std::fmt::Display for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handoff::Spin => "spin",
            Handoff::Futex => "futex",
        })
    }
}

/// Posted instead of a request: the party passes it on and ends.
const STOP: u32 = u32::MAX;

/// One word shared by two neighbours. Requests are odd, answers the next
/// even number; [`STOP`] ends the party below.
#[derive(Debug)]
struct Word {
    how: Handoff,
    spin: AtomicU64,
    futex: AtomicU32,
}

impl Word {
    fn new(how: Handoff) -> Word {
        Word {
            how,
            spin: AtomicU64::new(0),
            futex: AtomicU32::new(0),
        }
    }

    fn post(&self, v: u32) {
        match self.how {
            Handoff::Spin => self.spin.store(u64::from(v), Ordering::Release),
            Handoff::Futex => {
                self.futex.store(v, Ordering::Release);
                let _ = futex::wake(&self.futex, futex::Flags::PRIVATE, 1);
            }
        }
    }

    /// Wait until the word holds `want` (true) or [`STOP`] (false).
    fn wait_for(&self, want: u32) -> bool {
        match self.how {
            Handoff::Spin => {
                let mut checks = 0u32;
                loop {
                    let v = self.spin.load(Ordering::Acquire);
                    if v == u64::from(want) || v == u64::from(STOP) {
                        return v == u64::from(want);
                    }
                    checks = checks.wrapping_add(1);
                    if checks.is_multiple_of(256) {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
            Handoff::Futex => loop {
                let v = self.futex.load(Ordering::Acquire);
                if v == want || v == STOP {
                    return v == want;
                }
                // EAGAIN (the value changed meanwhile) and EINTR: look again.
                let _ = futex::wait(&self.futex, futex::Flags::PRIVATE, v, None);
            },
        }
    }
}

/// A chain of `hops` hand-offs by spinning or by futex (see the module's
/// documentation): [`PingPongChain::round_trip`] passes a message to the
/// last party and back.
#[derive(Debug)]
pub struct PingPongChain {
    how: Handoff,
    words: Vec<Arc<Word>>,
    seq: u32,
    threads: Vec<JoinHandle<()>>,
}

impl PingPongChain {
    /// Start the `hops` parties (at least one).
    pub fn new(how: Handoff, hops: usize) -> PingPongChain {
        let hops = hops.max(1);
        let words: Vec<Arc<Word>> = (0..hops).map(|_| Arc::new(Word::new(how))).collect();
        let threads = (0..hops)
            .map(|i| {
                let up = words[i].clone();
                let down = words.get(i + 1).cloned();
                std::thread::spawn(move || party(&up, down.as_deref()))
            })
            .collect();
        PingPongChain {
            how,
            words,
            seq: 0,
            threads,
        }
    }

    /// How the parties wait.
    pub fn handoff(&self) -> Handoff {
        self.how
    }

    /// The number of hops (threads besides the caller).
    pub fn hops(&self) -> usize {
        self.words.len()
    }

    /// One message down the chain and the answer back.
    pub fn round_trip(&mut self) {
        let req = next_request(self.seq);
        self.seq = req;
        self.words[0].post(req);
        self.words[0].wait_for(req + 1);
    }
}

/// The request after `seq`: odd, never [`STOP`], with room for its answer.
fn next_request(seq: u32) -> u32 {
    let r = (seq | 1).wrapping_add(2);
    if r >= STOP - 2 { 1 } else { r }
}

fn party(up: &Word, down: Option<&Word>) {
    let mut seq = 0;
    loop {
        let req = next_request(seq);
        seq = req;
        if !up.wait_for(req) {
            break;
        }
        if let Some(d) = down {
            d.post(req);
            d.wait_for(req + 1);
        }
        up.post(req + 1);
    }
    if let Some(d) = down {
        d.post(STOP);
    }
}

impl Drop for PingPongChain {
    fn drop(&mut self) {
        self.words[0].post(STOP);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_answer_and_end() {
        for how in [Handoff::Spin, Handoff::Futex] {
            for hops in [1, 2, 3] {
                let mut c = PingPongChain::new(how, hops);
                assert_eq!((c.hops(), c.handoff()), (hops, how));
                for _ in 0..200 {
                    c.round_trip();
                }
                drop(c); // joins every party: a hang here fails the test run
            }
        }
    }

    #[test]
    fn requests_stay_odd_and_clear_of_stop() {
        let mut s = 0;
        for _ in 0..5 {
            s = next_request(s);
            assert_eq!(s % 2, 1);
        }
        assert_eq!(next_request(STOP - 4), 1);
        assert!(next_request(STOP - 6) + 1 < STOP);
    }
}

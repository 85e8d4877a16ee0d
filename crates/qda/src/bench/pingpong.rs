//! Ping-pong chains: the cheapest hand-offs a path of N hops could make, the
//! baselines of issue 13's ratios. A chain of N hops has N + 1 threads (the
//! caller and N parties); each pair of neighbours shares one word. The
//! caller posts a request on the first word, each party passes it on to the
//! next word and, once the answer is back, answers on its own; the last
//! party answers at once. One round trip therefore crosses every hop twice,
//! as an invoke does (caller → DSP thread → PD host and back).
//!
//! Both kinds share one `AtomicU32` per pair of neighbours (a futex word):
//!
//! - [`PingPongKind::Spin`]: a waiter spins on the word (`std::hint::spin_loop`);
//!   after 1 µs without the message it yields its CPU between checks, so a
//!   chain of more threads than free CPUs still moves (a hand-off then
//!   costs about 1 µs plus a context switch, not a time slice). It only sleeps after 2 ms without a message, so the idle
//!   chain does not take CPUs from the workloads measured between its
//!   blocks; a round trip in a block never waits that long unless its
//!   threads are off the CPUs. The cost of a cache-line hand-off: what a
//!   poll mode's completion word aims at.
//! - [`PingPongKind::Futex`]: a waiter that does not find the message at once
//!   sleeps in `futex(FUTEX_WAIT_PRIVATE)` (rustix's safe `futex::wait`); a
//!   poster stores the message and, when the waiter said it sleeps (a flag
//!   bit in the word), calls `futex(FUTEX_WAKE)`. No spinning: the sleeping
//!   hand-off an invoke in sleep mode pays per hop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::thread::futex;

/// How the parties of a [`PingPongChain`] wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingPongKind {
    /// Spin on the word (yielding between checks after 1 µs; asleep after 2 ms idle).
    Spin,
    /// Sleep on the word with `FUTEX_WAIT`; the poster wakes the sleeper.
    Futex,
}

impl std::fmt::Display for PingPongKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PingPongKind::Spin => "spin",
            PingPongKind::Futex => "futex",
        })
    }
}

/// Set in the word by a waiter about to sleep: the poster must wake it.
const SLEEPER: u32 = 1 << 31;
/// Posted instead of a request: the party passes it on and ends.
const STOP: u32 = SLEEPER - 1;
/// How long a spinning waiter spins on its own before it yields its CPU
/// between checks (its peer may be waiting for that CPU).
const SPIN_ALONE: Duration = Duration::from_micros(1);
/// How long a spinning waiter spins before it sleeps.
const IDLE_SPIN: Duration = Duration::from_millis(2);

/// One word shared by two neighbours. Requests are odd, answers the next
/// even number; [`STOP`] ends the party below.
#[derive(Debug)]
struct Word {
    how: PingPongKind,
    word: AtomicU32,
}

impl Word {
    fn new(how: PingPongKind) -> Word {
        Word {
            how,
            word: AtomicU32::new(0),
        }
    }

    fn post(&self, v: u32) {
        if self.word.swap(v, Ordering::AcqRel) & SLEEPER != 0 {
            let _ = futex::wake(&self.word, futex::Flags::PRIVATE, 1);
        }
    }

    /// Wait until the word holds `want` (true) or [`STOP`] (false).
    fn wait_for(&self, want: u32) -> bool {
        let mut checks = 0u32;
        let mut yielding = false;
        let mut since: Option<Instant> = None;
        loop {
            let v = self.word.load(Ordering::Acquire);
            let value = v & !SLEEPER;
            if value == want || value == STOP {
                return value == want;
            }
            let sleep = match self.how {
                PingPongKind::Futex => true,
                PingPongKind::Spin => {
                    checks = checks.wrapping_add(1);
                    if !yielding && !checks.is_multiple_of(64) {
                        std::hint::spin_loop();
                        false
                    } else {
                        let spun = since.get_or_insert_with(Instant::now).elapsed();
                        yielding = spun >= SPIN_ALONE;
                        if spun >= IDLE_SPIN {
                            true
                        } else {
                            if yielding {
                                std::thread::yield_now();
                            }
                            false
                        }
                    }
                }
            };
            if sleep {
                // Say we sleep, unless the message came meanwhile; then sleep
                // while the word still says so (EAGAIN, EINTR: look again).
                if v & SLEEPER != 0
                    || self
                        .word
                        .compare_exchange(v, v | SLEEPER, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    let _ = futex::wait(&self.word, futex::Flags::PRIVATE, v | SLEEPER, None);
                }
            }
        }
    }
}

/// A chain of `hops` hand-offs by spinning or by futex (see the module's
/// documentation): [`PingPongChain::round_trip`] passes a message to the
/// last party and back.
#[derive(Debug)]
pub struct PingPongChain {
    how: PingPongKind,
    words: Vec<Arc<Word>>,
    seq: u32,
    threads: Vec<JoinHandle<()>>,
}

impl PingPongChain {
    /// Start the `hops` parties (at least one), where the scheduler puts
    /// them.
    pub fn new(how: PingPongKind, hops: usize) -> PingPongChain {
        Self::start(how, hops, None)
    }

    /// Start the `hops` parties pinned so that every hop crosses CPUs: the
    /// caller's side belongs on `cpus[0]` ([`pin_self`] it there while it
    /// calls), the first party on `cpus[1]`, the next on `cpus[0]`, and so
    /// on. Left where the scheduler puts them, two threads that wake each
    /// other may end up taking turns on one CPU (a context switch, no
    /// wake-up of another CPU), which is not the hand-off between
    /// processors an invoke makes.
    pub fn pinned(how: PingPongKind, hops: usize, cpus: [usize; 2]) -> PingPongChain {
        Self::start(how, hops, Some(cpus))
    }

    fn start(how: PingPongKind, hops: usize, cpus: Option<[usize; 2]>) -> PingPongChain {
        let hops = hops.max(1);
        let words: Vec<Arc<Word>> = (0..hops).map(|_| Arc::new(Word::new(how))).collect();
        let threads = (0..hops)
            .map(|i| {
                let up = words[i].clone();
                let down = words.get(i + 1).cloned();
                let cpu = cpus.map(|c| c[(i + 1) % 2]);
                std::thread::spawn(move || {
                    if let Some(cpu) = cpu {
                        // Unpinned if refused (a container's cpuset): the
                        // row then measures what the scheduler does.
                        let _ = pin_self(cpu);
                    }
                    party(&up, down.as_deref())
                })
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
    pub fn handoff(&self) -> PingPongKind {
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

/// The first two CPUs this thread may run on (its affinity), if it may run
/// on two.
pub fn two_cpus() -> Option<[usize; 2]> {
    let mask = rustix::thread::sched_getaffinity(None).ok()?;
    let mut cpus = (0..rustix::thread::CpuSet::MAX_CPU).filter(|&c| mask.is_set(c));
    Some([cpus.next()?, cpus.next()?])
}

/// Pin the calling thread to `cpu`; returns the affinity it had, for
/// [`restore_affinity`].
pub fn pin_self(cpu: usize) -> std::io::Result<rustix::thread::CpuSet> {
    let old = rustix::thread::sched_getaffinity(None)?;
    let mut one = rustix::thread::CpuSet::new();
    one.set(cpu);
    rustix::thread::sched_setaffinity(None, &one)?;
    Ok(old)
}

/// Give the calling thread back the affinity [`pin_self`] returned.
pub fn restore_affinity(mask: &rustix::thread::CpuSet) {
    let _ = rustix::thread::sched_setaffinity(None, mask);
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
        for how in [PingPongKind::Spin, PingPongKind::Futex] {
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

    /// A pinned chain runs its parties on alternate CPUs and answers; the
    /// caller's pin is undone.
    #[test]
    fn pinned_chains_cross_cpus() {
        let Some(cpus) = two_cpus() else {
            return; // one CPU: nothing to cross
        };
        let before = rustix::thread::sched_getaffinity(None).unwrap();
        for how in [PingPongKind::Spin, PingPongKind::Futex] {
            let mut c = PingPongChain::pinned(how, 2, cpus);
            let old = pin_self(cpus[0]).unwrap();
            for _ in 0..200 {
                c.round_trip();
            }
            assert_eq!(rustix::thread::sched_getcpu(), cpus[0]);
            restore_affinity(&old);
            drop(c);
        }
        let after = rustix::thread::sched_getaffinity(None).unwrap();
        assert!((0..rustix::thread::CpuSet::MAX_CPU).all(|c| before.is_set(c) == after.is_set(c)));
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

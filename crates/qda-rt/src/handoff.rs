//! A hand-off that skips the wake-up: threads that have just finished a job
//! in poll mode spin on a [`Ring`] for a bounded budget, and a producer that
//! sees one spinning puts its message there instead of waking a sleeping
//! thread. With nobody spinning the producer takes its usual path (a pool's
//! queue and condvar), so sleep mode costs nothing extra.
//!
//! The handshake is a Dekker pair on two words, each side with a `SeqCst`
//! fence between its write and its read: a producer pushes, fences, and
//! reads the spinner count; a spinner that stops decrements the count,
//! fences, and looks at the ring once more. Either the spinner's last look
//! sees the message or the producer sees nobody spinning and takes a
//! message back out to its slow path. Every message is popped exactly once
//! (the ring's guarantee), so none is lost and none runs twice. A spinner
//! that takes a message stops counting as spinning while it runs it (a
//! message may block for as long as a skel likes; others must not queue
//! behind it) and hands whatever else it finds to the slow path.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
use std::time::{Duration, Instant};

use crate::ring::{Ring, RingError, words};

/// Iterations between two reads of the clock while spinning.
const SPINS_PER_CLOCK_READ: u32 = 64;

/// A gap this long between two looks (a yield that gave the CPU away, a
/// preemption) means the CPUs are contended.
pub const PREEMPTED: Duration = Duration::from_micros(50);

/// Spinning pays only while the spinner keeps its CPU. When a spin is
/// preempted (a gap of [`PREEMPTED`] between two looks) the CPUs are
/// oversubscribed, and spinning threads, having used their share, wait a
/// whole time slice (a 4 ms tick here) for the CPU the answer needs, where
/// a woken thread would run at once. A second preemption soon after a
/// first (within [`GATE_FORGET`]) then closes spinning for a while: 1 ms,
/// doubling up to 128 ms while preemptions keep coming soon after it
/// reopens (within [`GATE_FORGET`]), so that poll mode behaves as sleep
/// mode on a busy machine and tries spinning again now and then. One that
/// comes later, but within the last pause's length after it reopened,
/// closes it for half the last pause (spinning mostly went well); later
/// still starts a new burst. A lone preemption (a VM's lost tick, a call that
/// took longer than its budget once) only arms the gate: closed, the next
/// millisecond of calls (about 300 here) would each pay sleep mode's
/// wake-ups for one slow call.
#[derive(Debug, Default)]
pub struct SpinGate {
    /// Nanoseconds since [`epoch`] until which spinning is off.
    until: AtomicU64,
    /// When the last preemption was seen (nanoseconds since [`epoch`]).
    last: AtomicU64,
    /// Preemptions in the current burst (see [`SpinGate::preempted`]).
    level: AtomicU32,
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
}

/// A preemption later than twice the last pause plus this after the one
/// before starts a new burst (it only arms the gate again).
pub const GATE_FORGET: Duration = Duration::from_millis(10);

/// The longest pause, as a power of two of milliseconds.
const GATE_MAX_LEVEL: u32 = 7;

impl SpinGate {
    /// An open gate (for a `static`).
    pub const fn new() -> SpinGate {
        SpinGate {
            until: AtomicU64::new(0),
            last: AtomicU64::new(0),
            level: AtomicU32::new(0),
        }
    }

    /// Spin until `ready()` for up to `budget` if the gate is open; a
    /// preempted spin closes it. True when `ready()` held.
    pub fn spin(&self, budget: Duration, ready: impl Fn() -> bool) -> bool {
        self.spin_inner(budget, ready, false)
    }

    /// [`SpinGate::spin`] for an answer that is on its way: a budget spent
    /// without it closes the gate too (the thread that must answer did not
    /// get a CPU while this one spun: with more spinners than CPUs, as when
    /// a qdad client, the daemon's thread, a DSP thread and a PD host all
    /// spin on two CPUs, every spin runs out and only delays the sleep).
    pub fn spin_for_answer(&self, budget: Duration, ready: impl Fn() -> bool) -> bool {
        self.spin_inner(budget, ready, true)
    }

    fn spin_inner(&self, budget: Duration, ready: impl Fn() -> bool, budget_closes: bool) -> bool {
        if !self.open() {
            return ready();
        }
        match spin_until(budget, ready) {
            SpinEnd::Done => true,
            SpinEnd::Budget => {
                if budget_closes {
                    self.preempted();
                }
                false
            }
            SpinEnd::Preempted => {
                self.preempted();
                false
            }
        }
    }

    /// Whether spinning is allowed now.
    pub fn open(&self) -> bool {
        let until = self.until.load(Ordering::Relaxed);
        if until == 0 {
            return true;
        }
        if now_ns() >= until {
            // Open again: later looks need no clock read (unless a
            // preemption closed it meanwhile, which this leaves alone).
            let _ = self
                .until
                .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// A spin was preempted (or wasted): close the gate for a while.
    pub fn preempted(&self) {
        self.preempted_at(now_ns());
    }

    /// [`SpinGate::preempted`] at `now` (nanoseconds since [`epoch`]).
    /// Threads that race here may lose a count or store an older end; the
    /// gate stays a hint either way.
    fn preempted_at(&self, now: u64) {
        let last = self.last.swap(now, Ordering::Relaxed);
        // Preemptions in this burst so far: the first only arms the gate,
        // the n-th (n ≥ 2) closes it for 2^(n-2) ms.
        let strikes = self.level.load(Ordering::Relaxed);
        let last_pause_ms = if strikes >= 2 {
            1u64 << (strikes - 2).min(GATE_MAX_LEVEL)
        } else {
            0
        };
        // How long spinning went well since the gate reopened after the
        // last preemption (or since that preemption, if it only armed).
        let forget = GATE_FORGET.as_nanos() as u64;
        let pause = last_pause_ms * 1_000_000;
        let since_open = now.saturating_sub(last).saturating_sub(pause);
        let strikes = if last == 0 || since_open > pause + forget {
            // A quiet stretch: a new burst (this one only arms).
            0
        } else if since_open <= forget || strikes < 2 {
            // Soon after it reopened: the machine is still busy.
            strikes
        } else {
            // Later, but within the last pause: spinning mostly went well;
            // close again for half the last pause (at least 1 ms).
            (strikes - 2).max(1)
        };
        self.level
            .store((strikes + 1).min(GATE_MAX_LEVEL + 2), Ordering::Relaxed);
        if strikes == 0 {
            return;
        }
        let pause_ns = (1u64 << (strikes - 1).min(GATE_MAX_LEVEL)) * 1_000_000;
        self.until.store(now.saturating_add(pause_ns), Ordering::Relaxed);
    }

    /// When the gate opens again (nanoseconds since [`epoch`]; 0: open).
    #[cfg(test)]
    fn until(&self) -> u64 {
        self.until.load(Ordering::Relaxed)
    }
}

/// How a bounded spin ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinEnd {
    /// The condition held.
    Done,
    /// The budget ran out.
    Budget,
    /// The spinner lost its CPU (see [`SpinGate`]).
    Preempted,
}

/// Spin until `ready()` or `budget` is spent; a preemption ends it. No
/// yields: on a CPU shared with busy threads a yield gives the CPU away
/// for a whole tick, which is what the gate's sleep avoids.
pub fn spin_until(budget: Duration, ready: impl Fn() -> bool) -> SpinEnd {
    // Most waits end within the first looks: the clock is read after them
    // (the budget starts less than a microsecond late).
    if looks(&ready) {
        return SpinEnd::Done;
    }
    let start = Instant::now();
    let mut last = start;
    loop {
        if looks(&ready) {
            return SpinEnd::Done;
        }
        let now = Instant::now();
        if now - last >= PREEMPTED {
            return if ready() { SpinEnd::Done } else { SpinEnd::Preempted };
        }
        if now - start >= budget {
            return if ready() { SpinEnd::Done } else { SpinEnd::Budget };
        }
        last = now;
    }
}

/// Up to [`SPINS_PER_CLOCK_READ`] looks at `ready`, a pause between two;
/// whether it held.
fn looks(ready: &impl Fn() -> bool) -> bool {
    for _ in 0..SPINS_PER_CLOCK_READ {
        if ready() {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}

/// The widest message a hand-off carries, in words: its buffers live on
/// the stack (a spinner that takes a message drains the ring once more, on
/// every call; no allocation there).
pub const MAX_WIDTH: usize = 16;

/// The ring and the count of threads spinning on it.
#[derive(Debug)]
pub struct Handoff {
    ring: Ring<Vec<AtomicU32>>,
    spinning: AtomicUsize,
    gate: SpinGate,
    /// Tests turn the gate off: on a loaded test machine it would close.
    #[cfg(test)]
    ungated: std::sync::atomic::AtomicBool,
}

impl Handoff {
    /// A hand-off of up to `slots` (a power of two ≥ 2) messages of
    /// `width` (at most [`MAX_WIDTH`]) words in flight.
    pub fn new(slots: usize, width: usize) -> Result<Handoff, RingError> {
        if width > MAX_WIDTH {
            return Err(RingError::Corrupt);
        }
        Ok(Handoff {
            ring: Ring::create(words(slots, width), slots, width)?,
            spinning: AtomicUsize::new(0),
            gate: SpinGate::default(),
            #[cfg(test)]
            ungated: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Message width in words.
    pub fn width(&self) -> usize {
        self.ring.width()
    }

    /// Threads spinning now (a hint).
    pub fn spinning(&self) -> usize {
        self.spinning.load(Ordering::Relaxed)
    }

    /// Give `msg` to a spinning thread. Returns false when none spins (or
    /// the ring is full): the caller runs its slow path with `msg`. When the
    /// spinner left meanwhile, a message (perhaps another producer's) is
    /// taken back out and given to `slow`.
    pub fn offer(&self, msg: &[u32], mut slow: impl FnMut(&[u32])) -> bool {
        if self.spinning.load(Ordering::Relaxed) == 0 || self.ring.push(msg).is_err() {
            return false;
        }
        fence(Ordering::SeqCst);
        if self.spinning.load(Ordering::Relaxed) == 0 {
            self.drain(&mut slow);
        }
        true
    }

    /// After a successful [`Handoff::offer`]: wait up to `grace` for the
    /// ring to be emptied by a spinner; if it is not (the spinner was
    /// preempted, as on a CPU shared with busy threads, where it could hold
    /// the message for a whole time slice), take a message back out and
    /// give it to `slow`. Returns whether the ring emptied in time.
    pub fn settle(&self, grace: Duration, mut slow: impl FnMut(&[u32])) -> bool {
        let start = Instant::now();
        // Look at the ring every 8 pauses (about 0.1 µs: a spinner takes a
        // message sooner, and the caller's own wait for the answer starts
        // only after this), at the clock every 64.
        loop {
            for _ in 0..SPINS_PER_CLOCK_READ / 8 {
                for _ in 0..8 {
                    std::hint::spin_loop();
                }
                if !self.ring.ready() {
                    return true;
                }
            }
            if start.elapsed() >= grace {
                let mut buf = [0u32; MAX_WIDTH];
                let buf = &mut buf[..self.ring.width()];
                if let Ok(true) = self.ring.pop(buf) {
                    slow(buf);
                }
                return false;
            }
        }
    }

    fn drain(&self, slow: &mut impl FnMut(&[u32])) {
        let mut buf = [0u32; MAX_WIDTH];
        let buf = &mut buf[..self.ring.width()];
        while let Ok(true) = self.ring.pop(buf) {
            slow(buf);
        }
    }

    /// Spin for up to `budget` taking messages: `run` each one taken (the
    /// budget restarts after it; `run` returns the budget for the next
    /// wait), hand the others found while this thread stops spinning to
    /// `slow`. Returns when a budget ran out with nothing to take.
    pub fn spin(&self, mut budget: Duration, mut run: impl FnMut(&[u32]) -> Duration, mut slow: impl FnMut(&[u32])) {
        let mut buf = [0u32; MAX_WIDTH];
        let buf = &mut buf[..self.ring.width()];
        while self.may_spin() && !budget.is_zero() {
            self.spinning.fetch_add(1, Ordering::Relaxed);
            let end = spin_until(budget, || self.ring.ready());
            if end == SpinEnd::Preempted {
                self.gate.preempted();
            }
            // `ready` is a hint: another spinner may take the message first.
            let got = end == SpinEnd::Done && matches!(self.ring.pop(buf), Ok(true));
            // Not spinning while it runs a call (which may block).
            self.stop(&mut slow);
            if !got {
                if end == SpinEnd::Done {
                    continue;
                }
                return;
            }
            budget = run(buf);
        }
    }

    fn may_spin(&self) -> bool {
        #[cfg(test)]
        if self.ungated.load(Ordering::Relaxed) {
            return true;
        }
        self.gate.open()
    }

    /// Stop counting as spinning, then hand what is left to `slow`.
    fn stop(&self, slow: &mut impl FnMut(&[u32])) {
        self.spinning.fetch_sub(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.drain(slow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex, mpsc};

    /// One spinner at a time with a budget about as long as the producer
    /// takes to offer, so the offer often lands while it leaves; the
    /// producer waits for each message as a caller waits for its answer. A
    /// message stranded in the ring (pushed after the spinner's last look,
    /// while the producer believed it taken) is never run: the wait times
    /// out.
    #[test]
    fn no_message_is_stranded_when_the_spinner_leaves() {
        let h = Arc::new(Handoff::new(4, 1).unwrap());
        h.ungated.store(true, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel::<u32>();
        for round in 0..800u32 {
            let spinner = {
                let (h, tx) = (h.clone(), tx.clone());
                std::thread::spawn(move || {
                    let tx2 = tx.clone();
                    h.spin(
                        Duration::from_nanos(u64::from(round % 7) * 300),
                        |w| {
                            tx.send(w[0]).unwrap();
                            Duration::ZERO
                        },
                        |w| tx2.send(w[0]).unwrap(),
                    );
                })
            };
            while h.spinning() == 0 && !spinner.is_finished() {
                std::hint::spin_loop();
            }
            if !h.offer(&[round], |w| tx.send(w[0]).unwrap()) {
                tx.send(round).unwrap();
            }
            match rx.recv_timeout(Duration::from_secs(2)) {
                Ok(v) => assert_eq!(v, round),
                Err(_) => panic!("round {round}: the message was stranded in the ring"),
            }
            spinner.join().unwrap();
        }
    }

    #[test]
    fn the_gate_closes_after_a_preemption_and_reopens() {
        let g = SpinGate::default();
        assert!(g.open());
        g.preempted();
        assert!(g.open(), "one preemption arms the gate");
        g.preempted();
        assert!(!g.open(), "a second closes it for 1 ms");
        std::thread::sleep(Duration::from_millis(3));
        assert!(g.open(), "open again after the pause");
        g.preempted();
        let closed = Instant::now();
        while !g.open() {
            std::thread::sleep(Duration::from_micros(200));
        }
        assert!(closed.elapsed() >= Duration::from_millis(2), "the second pause doubles");
        // A spin that cannot see its condition ends (at its budget, or
        // preempted on a loaded machine).
        assert_ne!(spin_until(Duration::from_micros(20), || false), SpinEnd::Done);
        assert_eq!(spin_until(Duration::from_secs(1), || true), SpinEnd::Done);
    }

    const MS: u64 = 1_000_000;

    /// A VM loses a tick now and then (every 100 ms or so on these
    /// machines), and a DSP thread now and then takes longer than a
    /// budget: such a lone preemption only arms the gate. Closing it cost
    /// about 300 calls in sleep mode (1 ms of them, each paying wake-ups)
    /// for one slow call.
    #[test]
    fn a_lone_preemption_does_not_close_the_gate() {
        let g = SpinGate::default();
        for i in 1..=20u64 {
            let now = i * 100 * MS;
            g.preempted_at(now);
            assert!(
                g.until() <= now,
                "preemption {i}, 100 ms after the one before, closed the gate"
            );
        }
    }

    /// Preemptions that come soon after each other (busy neighbours on
    /// every CPU) close the gate from the second one, doubling the pause up
    /// to 128 ms, and it stays there while they keep coming.
    #[test]
    fn frequent_preemptions_escalate_and_hold() {
        let g = SpinGate::default();
        let mut now = 5 * MS;
        let mut pauses = Vec::new();
        for _ in 0..12 {
            g.preempted_at(now);
            let until = g.until().max(now);
            pauses.push((until - now) / MS);
            // Preempted again 3 ms after it reopened.
            now = until + 3 * MS;
        }
        assert_eq!(pauses, [0, 1, 2, 4, 8, 16, 32, 64, 128, 128, 128, 128]);
        // A quiet stretch after the longest pause starts the count again:
        // one preemption arms, the next soon after closes for 1 ms.
        let later = now + 400 * MS;
        g.preempted_at(later);
        assert!(g.until() <= later);
        g.preempted_at(later + 3 * MS);
        assert_eq!(g.until(), later + 4 * MS);
    }

    /// After a burst, a preemption that comes well after the gate reopened
    /// (spinning went well for a while) halves the pause instead of
    /// holding it: the gate had stayed at 128 ms after a stretch of 255
    /// callers, and two busy neighbours, preempting a spin now and then,
    /// held it there, so poll mode waited as sleep mode for the rest of the
    /// run (poll p50 8–11 µs beside the neighbours, against 2.6–3 µs with a
    /// fresh gate).
    #[test]
    fn preemptions_long_after_reopening_halve_the_pause() {
        let g = SpinGate::default();
        let mut now = 5 * MS;
        for _ in 0..9 {
            g.preempted_at(now);
            now = g.until().max(now) + 3 * MS;
        }
        let mut pauses = Vec::new();
        // Preempted this long after the gate reopened, each time.
        for after in [60, 40, 3, 25, 200] {
            let reopened = g.until().max(now);
            now = reopened + after * MS;
            g.preempted_at(now);
            pauses.push((g.until().max(now) - now) / MS);
        }
        assert_eq!(pauses, [64, 32, 64, 32, 0]);
    }

    #[test]
    fn messages_wider_than_the_stack_buffers_are_refused() {
        assert!(Handoff::new(4, MAX_WIDTH).is_ok());
        assert_eq!(Handoff::new(4, MAX_WIDTH + 1).unwrap_err(), RingError::Corrupt);
    }

    #[test]
    fn nobody_spinning_declines() {
        let h = Handoff::new(4, 2).unwrap();
        assert!(!h.offer(&[1, 2], |_| panic!("nothing was pushed")));
    }

    /// Producers offer while spinners come and go with tiny budgets, so the
    /// race between a push and a spinner leaving is taken often: every
    /// message runs exactly once, on a spinner or on the slow path.
    #[test]
    fn every_message_runs_exactly_once() {
        const PRODUCERS: u32 = 3;
        const N: u32 = 20_000;
        let h = Arc::new(Handoff::new(256, 2).unwrap());
        h.ungated.store(true, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel::<(u32, u32)>();
        let slow_tx = Arc::new(Mutex::new(tx.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let spinners: Vec<_> = (0..2)
            .map(|i| {
                let (h, tx, stop, slow_tx) = (h.clone(), tx.clone(), stop.clone(), slow_tx.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let budget = Duration::from_micros(if i == 0 { 1 } else { 50 });
                        h.spin(
                            budget,
                            |w| {
                                tx.send((w[0], w[1])).unwrap();
                                budget
                            },
                            |w| slow_tx.lock().unwrap().send((w[0], w[1])).unwrap(),
                        );
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (h, tx, slow_tx) = (h.clone(), tx.clone(), slow_tx.clone());
                std::thread::spawn(move || {
                    let mut taken = 0;
                    for i in 0..N {
                        // Now and then wait for a spinner (bounded), so some
                        // offers meet one even on a loaded machine.
                        if i % 64 == 0 {
                            let t = std::time::Instant::now();
                            while h.spinning() == 0 && t.elapsed() < Duration::from_millis(100) {
                                std::thread::yield_now();
                            }
                        }
                        if h.offer(&[p, i], |w| slow_tx.lock().unwrap().send((w[0], w[1])).unwrap()) {
                            taken += 1;
                        } else {
                            tx.send((p, i)).unwrap();
                        }
                    }
                    taken
                })
            })
            .collect();
        drop(tx);
        let taken: u32 = producers.into_iter().map(|p| p.join().unwrap()).sum();
        stop.store(true, Ordering::Relaxed);
        for s in spinners {
            s.join().unwrap();
        }
        drop(slow_tx);
        let mut seen = vec![vec![0u8; N as usize]; PRODUCERS as usize];
        for (p, i) in rx.iter() {
            seen[p as usize][i as usize] += 1;
        }
        for (p, v) in seen.iter().enumerate() {
            for (i, &c) in v.iter().enumerate() {
                assert_eq!(c, 1, "message ({p}, {i}) ran {c} times");
            }
        }
        assert!(taken > 0, "no message went through the ring");
    }
}

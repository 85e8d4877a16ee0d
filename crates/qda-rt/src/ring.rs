//! Rings: a bounded queue of fixed-size messages in an array of 32-bit
//! atomic words, and a doorbell that costs a wake-up only when the peer
//! sleeps. The same code runs on a `Vec` in one process (the driver's
//! hand-off to DSP threads) and on a shared mapping between two processes
//! (a PD host, a qdad connection): every word is an atomic, so a peer that
//! writes garbage can make the ring return garbage (which the caller
//! validates, as it would a socket's bytes) but never undefined behaviour
//! or an endless loop: every retry loop is bounded.
//!
//! **The queue** is the bounded multi-producer multi-consumer array queue
//! of D. Vyukov: each slot has a sequence word; a producer claims position
//! `p` by a compare-and-swap on the enqueue counter when the slot's
//! sequence equals `p`, writes the message words and publishes by storing
//! `p + 1` (release); a consumer claims `p` when the sequence is `p + 1`,
//! reads the words and frees the slot for the next lap by storing
//! `p + slots`. Positions are `u32` and wrap.
//!
//! **The doorbell** ([`Bell`]): a futex word and a count of sleepers. A
//! waiter reads the word, registers as a sleeper, issues a `SeqCst` fence,
//! checks its condition once more and only then sleeps on the word; a
//! notifier publishes, changes the word, issues a `SeqCst` fence and calls
//! `futex_wake` only when it sees a sleeper. The two fences make it a
//! Dekker handshake: either the waiter sees the message or the notifier
//! sees the sleeper (and if the wake-up comes before the sleep, the word
//! has changed, so `futex_wait` returns at once). No wake-up is lost, and
//! none is paid while the peer spins. (Fences rather than `SeqCst`
//! accesses: the handshake needs the fences' guarantee, and `loom` models
//! fences exactly but `SeqCst` accesses only as acquire/release.)
//!
//! Layout, in 32-bit words (a cache line is 16 words):
//!
//! | words | what |
//! |---|---|
//! | 0 | [`MAGIC`] |
//! | 1, 2 | slot count (a power of two), message width in words |
//! | 16 | enqueue position (producers) |
//! | 32 | dequeue position (consumers) |
//! | 48, 49 | [`Bell`] of the consumers: futex word, sleepers |
//! | 64, 65 | a second bell, free for the user (the producers' side: "space", "answer") |
//! | 80 + i·stride | slot `i`: sequence word, then `width` message words |
//!
//! `stride` is `1 + width` rounded up to a cache line.
//!
//! The ordering of the queue and of the bell is model-checked with `loom`
//! (`RUSTFLAGS="--cfg loom" cargo test -p qda-rt --lib ring`, run by
//! `crates/qda-rt/tests/loom.rs`).

#[cfg(all(loom, test))]
use loom::sync::atomic::{AtomicU32, Ordering, fence};
#[cfg(not(all(loom, test)))]
use std::sync::atomic::{AtomicU32, Ordering, fence};

/// Identifies an initialised ring ("QDAR").
pub const MAGIC: u32 = 0x5144_4152;
const W_SLOTS: usize = 1;
const W_WIDTH: usize = 2;
const W_HEAD: usize = 16;
const W_TAIL: usize = 32;
const W_BELL: usize = 48;
const W_BELL2: usize = 64;
const W_SLOT0: usize = 80;
const LINE: usize = 16;
/// Attempts of a claim before the ring is declared corrupt (a sane ring
/// needs one more attempt per competing thread).
const MAX_ATTEMPTS: u32 = 1 << 16;

/// Words of a ring of `slots` slots of `width` words.
pub const fn ring_words(slots: usize, width: usize) -> usize {
    W_SLOT0 + slots * stride(width)
}

const fn stride(width: usize) -> usize {
    (1 + width).div_ceil(LINE) * LINE
}

/// Why a ring operation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// Every slot is taken (push).
    Full,
    /// The words do not form a ring of this shape, or a claim kept failing
    /// (a peer is writing garbage).
    Corrupt,
}

impl std::fmt::Display for RingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RingError::Full => "the ring is full",
            RingError::Corrupt => "the ring's words are corrupt",
        })
    }
}

impl std::error::Error for RingError {}

/// A ring over words `W` (a `Vec<AtomicU32>`, a shared mapping's words).
#[derive(Debug)]
pub struct Ring<W> {
    words: W,
    mask: u32,
    width: usize,
    stride: usize,
}

impl<W: AsRef<[AtomicU32]>> Ring<W> {
    /// Lay a new ring of `slots` (a power of two, 2..=2^16: with one slot
    /// "published at lap p" and "free for lap p + 1" are the same sequence) messages of
    /// `width` words into `words`, which must hold [`ring_words`] words.
    pub fn create(words: W, slots: usize, width: usize) -> Result<Ring<W>, RingError> {
        let r = Ring::shape(words, slots, width)?;
        let w = r.words.as_ref();
        for i in 0..slots {
            w[r.seq(i)].store(i as u32, Ordering::Relaxed);
        }
        for i in [W_HEAD, W_TAIL, W_BELL, W_BELL + 1, W_BELL2, W_BELL2 + 1] {
            w[i].store(0, Ordering::Relaxed);
        }
        w[W_SLOTS].store(slots as u32, Ordering::Relaxed);
        w[W_WIDTH].store(width as u32, Ordering::Relaxed);
        w[0].store(MAGIC, Ordering::Release);
        Ok(r)
    }

    /// Use a ring another party laid out: its header must say `slots` and
    /// `width` (the shape both sides agreed on, never the header's word).
    pub fn attach(words: W, slots: usize, width: usize) -> Result<Ring<W>, RingError> {
        let r = Ring::shape(words, slots, width)?;
        let w = r.words.as_ref();
        if w[0].load(Ordering::Acquire) != MAGIC
            || w[W_SLOTS].load(Ordering::Relaxed) != slots as u32
            || w[W_WIDTH].load(Ordering::Relaxed) != width as u32
        {
            return Err(RingError::Corrupt);
        }
        Ok(r)
    }

    fn shape(words: W, slots: usize, width: usize) -> Result<Ring<W>, RingError> {
        if !slots.is_power_of_two()
            || !(2..=1 << 16).contains(&slots)
            || width == 0
            || words.as_ref().len() < ring_words(slots, width)
        {
            return Err(RingError::Corrupt);
        }
        Ok(Ring {
            words,
            mask: slots as u32 - 1,
            width,
            stride: stride(width),
        })
    }

    fn seq(&self, slot: usize) -> usize {
        W_SLOT0 + slot * self.stride
    }

    /// Message width in words.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The words (to hand to another party).
    pub fn words(&self) -> &W {
        &self.words
    }

    /// Queue `msg` (`width` words; shorter is padded with zeros, longer is
    /// cut). Publishing does not ring the bell: see [`Ring::bell`].
    pub fn push(&self, msg: &[u32]) -> Result<(), RingError> {
        let w = self.words.as_ref();
        let mut pos = w[W_HEAD].load(Ordering::Relaxed);
        for _ in 0..MAX_ATTEMPTS {
            let s = self.seq((pos & self.mask) as usize);
            let seq = w[s].load(Ordering::Acquire);
            let dif = seq.wrapping_sub(pos) as i32;
            if dif == 0 {
                match w[W_HEAD].compare_exchange(pos, pos.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        for (i, word) in w[s + 1..s + 1 + self.width].iter().enumerate() {
                            word.store(msg.get(i).copied().unwrap_or(0), Ordering::Relaxed);
                        }
                        w[s].store(pos.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(now) => pos = now,
                }
            } else if dif < 0 {
                return Err(RingError::Full);
            } else {
                pos = latest(&w[W_HEAD]);
            }
            #[cfg(all(loom, test))]
            loom::thread::yield_now();
        }
        Err(RingError::Corrupt)
    }

    /// Take the oldest message into `out` (`width` words), if there is one.
    pub fn pop(&self, out: &mut [u32]) -> Result<bool, RingError> {
        let w = self.words.as_ref();
        let mut pos = w[W_TAIL].load(Ordering::Relaxed);
        for _ in 0..MAX_ATTEMPTS {
            let s = self.seq((pos & self.mask) as usize);
            let seq = w[s].load(Ordering::Acquire);
            let dif = seq.wrapping_sub(pos.wrapping_add(1)) as i32;
            if dif == 0 {
                match w[W_TAIL].compare_exchange(pos, pos.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        for (i, word) in w[s + 1..s + 1 + self.width].iter().enumerate() {
                            if let Some(o) = out.get_mut(i) {
                                *o = word.load(Ordering::Relaxed);
                            }
                        }
                        w[s].store(pos.wrapping_add(self.mask).wrapping_add(1), Ordering::Release);
                        return Ok(true);
                    }
                    Err(now) => pos = now,
                }
            } else if dif < 0 {
                return Ok(false);
            } else {
                pos = latest(&w[W_TAIL]);
            }
            #[cfg(all(loom, test))]
            loom::thread::yield_now();
        }
        Err(RingError::Corrupt)
    }

    /// Whether a message waits (a hint: another consumer may take it first).
    pub fn ready(&self) -> bool {
        let w = self.words.as_ref();
        let pos = w[W_TAIL].load(Ordering::Relaxed);
        let s = self.seq((pos & self.mask) as usize);
        w[s].load(Ordering::Acquire) == pos.wrapping_add(1)
    }

    /// The consumers' doorbell: ring it after [`Ring::push`]; consumers
    /// wait on it when the ring is empty.
    pub fn bell(&self) -> Bell<'_> {
        let w = self.words.as_ref();
        Bell::new(&w[W_BELL], &w[W_BELL + 1])
    }

    /// The second doorbell, for the user's own condition (the producers'
    /// side).
    pub fn bell2(&self) -> Bell<'_> {
        let w = self.words.as_ref();
        Bell::new(&w[W_BELL2], &w[W_BELL2 + 1])
    }
}

/// A position read again after a lost race. Under loom an RMW, which
/// always reads the latest value: loom lets a relaxed load return the same
/// stale value for ever, which no CPU does, and its search would not end.
#[cfg(not(all(loom, test)))]
fn latest(a: &AtomicU32) -> u32 {
    a.load(Ordering::Relaxed)
}

#[cfg(all(loom, test))]
fn latest(a: &AtomicU32) -> u32 {
    a.fetch_add(0, Ordering::Relaxed)
}

/// Words for an in-process ring.
pub fn words(slots: usize, width: usize) -> Vec<AtomicU32> {
    (0..ring_words(slots, width)).map(|_| AtomicU32::new(0)).collect()
}

/// How a [`Bell`] sleeps: the futex (`shared` across processes, or
/// private to this one), or a model of it for tests.
pub trait Sleep {
    /// Sleep while `word` holds `seen` (or until `timeout`; may return early).
    fn wait(&self, word: &AtomicU32, seen: u32, timeout: Option<std::time::Duration>);
    /// Wake every sleeper on `word`.
    fn wake(&self, word: &AtomicU32);
}

/// The futex.
#[cfg(not(all(loom, test)))]
#[derive(Debug, Clone, Copy)]
pub struct Futex {
    /// The word is in memory shared with another process (no
    /// `FUTEX_PRIVATE_FLAG`).
    pub shared: bool,
}

#[cfg(not(all(loom, test)))]
impl Futex {
    fn flags(self) -> rustix::thread::futex::Flags {
        if self.shared {
            rustix::thread::futex::Flags::empty()
        } else {
            rustix::thread::futex::Flags::PRIVATE
        }
    }
}

#[cfg(not(all(loom, test)))]
impl Sleep for Futex {
    fn wait(&self, word: &AtomicU32, seen: u32, timeout: Option<std::time::Duration>) {
        let ts = timeout.map(|d| rustix::time::Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: d.subsec_nanos().into(),
        });
        // EAGAIN (the word changed), EINTR and ETIMEDOUT all mean: look again.
        let _ = rustix::thread::futex::wait(word, self.flags(), seen, ts.as_ref());
    }

    fn wake(&self, word: &AtomicU32) {
        let _ = rustix::thread::futex::wake(word, self.flags(), i32::MAX as u32);
    }
}

/// A doorbell: a futex word and the number of parties asleep on it.
#[derive(Debug, Clone, Copy)]
pub struct Bell<'a> {
    word: &'a AtomicU32,
    sleepers: &'a AtomicU32,
}

impl<'a> Bell<'a> {
    /// A bell over two words.
    pub fn new(word: &'a AtomicU32, sleepers: &'a AtomicU32) -> Bell<'a> {
        Bell { word, sleepers }
    }

    /// After publishing: change the word, and wake sleepers if there are
    /// any. Returns whether a wake-up was sent.
    pub fn ring(&self, how: &impl Sleep) -> bool {
        self.word.fetch_add(1, Ordering::Release);
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            how.wake(self.word);
            return true;
        }
        false
    }

    /// Sleep until `ready()` holds, a wake-up, or `timeout`; returns
    /// `ready()`. Spurious returns are possible: call it in a loop.
    pub fn wait(&self, how: &impl Sleep, timeout: Option<std::time::Duration>, ready: impl Fn() -> bool) -> bool {
        let seen = self.word.load(Ordering::Acquire);
        if ready() {
            return true;
        }
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !ready() {
            how.wait(self.word, seen, timeout);
        }
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        ready()
    }

    /// Parties asleep now (a hint).
    pub fn sleepers(&self) -> u32 {
        self.sleepers.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    const F: Futex = Futex { shared: false };

    #[test]
    fn shape_checks() {
        assert_eq!(ring_words(4, 10), 80 + 4 * 16);
        assert_eq!(ring_words(2, 15), 80 + 2 * 16);
        assert_eq!(ring_words(2, 16), 80 + 2 * 32);
        assert_eq!(Ring::create(words(3, 4), 3, 4).unwrap_err(), RingError::Corrupt);
        assert_eq!(
            Ring::create(words(1, 4), 1, 4).unwrap_err(),
            RingError::Corrupt,
            "found by loom"
        );
        assert_eq!(Ring::create(words(4, 4), 8, 4).unwrap_err(), RingError::Corrupt);
        assert_eq!(Ring::create(words(4, 0), 4, 0).unwrap_err(), RingError::Corrupt);
        assert_eq!(
            Ring::attach(words(4, 4), 4, 4).unwrap_err(),
            RingError::Corrupt,
            "not laid out"
        );
        let r = Ring::create(words(4, 4), 4, 4).unwrap();
        assert_eq!(
            Ring::attach(r.words(), 4, 5).unwrap_err(),
            RingError::Corrupt,
            "other width"
        );
        assert_eq!(
            Ring::attach(r.words(), 2, 4).unwrap_err(),
            RingError::Corrupt,
            "other count"
        );
        Ring::attach(r.words(), 4, 4).unwrap();
    }

    #[test]
    fn fifo_full_and_wrap() {
        let r = Ring::create(words(4, 3), 4, 3).unwrap();
        let mut out = [0u32; 3];
        assert!(!r.pop(&mut out).unwrap());
        for lap in 0..5u32 {
            for i in 0..4 {
                r.push(&[lap, i, 7]).unwrap();
            }
            assert_eq!(r.push(&[9, 9, 9]), Err(RingError::Full));
            for i in 0..4 {
                assert!(r.ready());
                assert!(r.pop(&mut out).unwrap());
                assert_eq!(out, [lap, i, 7]);
            }
            assert!(!r.pop(&mut out).unwrap());
        }
        // Short messages are padded, long ones cut, short outputs filled.
        r.push(&[1]).unwrap();
        r.push(&[1, 2, 3, 4]).unwrap();
        r.pop(&mut out).unwrap();
        assert_eq!(out, [1, 0, 0]);
        let mut short = [0u32; 2];
        r.pop(&mut short).unwrap();
        assert_eq!(short, [1, 2]);
    }

    /// Positions near the top of `u32` wrap like any other.
    #[test]
    fn positions_wrap_around_u32() {
        let r = Ring::create(words(2, 1), 2, 1).unwrap();
        let w = r.words();
        let start = u32::MAX - 2;
        w[W_HEAD].store(start, Ordering::Relaxed);
        w[W_TAIL].store(start, Ordering::Relaxed);
        for i in 0..2u32 {
            w[r.seq(((start.wrapping_add(i)) & 1) as usize)].store(start.wrapping_add(i), Ordering::Relaxed);
        }
        let mut out = [0u32];
        for v in 0..10u32 {
            r.push(&[v]).unwrap();
            r.pop(&mut out).unwrap();
            assert_eq!(out, [v]);
        }
    }

    /// A peer that scribbles over the words: every call returns (an error,
    /// garbage, or nothing), none hangs or panics.
    #[test]
    fn garbage_words_never_hang_or_panic() {
        let r = Ring::create(words(8, 10), 8, 10).unwrap();
        let mut x = 0x9e37_79b9u32;
        let mut out = [0u32; 10];
        for round in 0..2000 {
            for w in r.words().iter() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(3) {
                    w.store(x, Ordering::Relaxed);
                }
            }
            let _ = r.push(&[round; 10]);
            let _ = r.pop(&mut out);
            let _ = r.ready();
        }
    }

    /// Producers and consumers on threads: every message arrives exactly
    /// once, whole, and each producer's messages in its order.
    #[test]
    fn many_threads_exactly_once_in_order() {
        const P: u32 = 3;
        const C: usize = 3;
        const N: u32 = 20_000;
        let r = Arc::new(Ring::create(words(8, 4), 8, 4).unwrap());
        let producers: Vec<_> = (0..P)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        while r.push(&[p, i, p ^ i, !i]).is_err() {
                            std::thread::yield_now();
                        }
                        r.bell().ring(&F);
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..C)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut out = [0u32; 4];
                    loop {
                        if r.pop(&mut out).unwrap() {
                            if out[0] == u32::MAX {
                                break;
                            }
                            assert_eq!([out[2], out[3]], [out[0] ^ out[1], !out[1]], "torn message {out:?}");
                            got.push((out[0], out[1]));
                        } else {
                            r.bell().wait(&F, Some(Duration::from_millis(50)), || r.ready());
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        for _ in 0..C {
            while r.push(&[u32::MAX; 4]).is_err() {
                std::thread::yield_now();
            }
            r.bell().ring(&F);
        }
        let mut all = vec![Vec::new(); P as usize];
        for c in consumers {
            let got = c.join().unwrap();
            // Within one consumer, a producer's messages keep their order.
            let mut last = vec![None; P as usize];
            for (p, i) in got {
                assert!(last[p as usize] < Some(i), "out of order");
                last[p as usize] = Some(i);
                all[p as usize].push(i);
            }
        }
        for mut v in all {
            v.sort_unstable();
            assert_eq!(v, (0..N).collect::<Vec<_>>(), "lost or doubled");
        }
    }

    /// A bell rung with nobody asleep sends no wake-up; with a sleeper it
    /// does, and the sleeper sees the message.
    #[test]
    fn the_bell_wakes_only_sleepers() {
        let r = Arc::new(Ring::create(words(2, 1), 2, 1).unwrap());
        r.push(&[1]).unwrap();
        assert!(!r.bell().ring(&F), "nobody sleeps");
        let mut out = [0];
        r.pop(&mut out).unwrap();
        let t = {
            let r = r.clone();
            std::thread::spawn(move || {
                let mut out = [0];
                loop {
                    if r.pop(&mut out).unwrap() {
                        return out[0];
                    }
                    r.bell().wait(&F, None, || r.ready());
                }
            })
        };
        while r.bell().sleepers() == 0 {
            std::thread::yield_now();
        }
        r.push(&[42]).unwrap();
        assert!(r.bell().ring(&F), "the sleeper is woken");
        assert_eq!(t.join().unwrap(), 42);
    }
}

/// Model checks of the queue and the bell under `loom` (every
/// interleaving up to the preemption bound; `tests/loom.rs` runs them).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::{Arc, Condvar, Mutex};

    /// A futex as the kernel keeps it: the value check and the sleep are
    /// atomic with respect to wake (both under the bucket's lock).
    #[derive(Default)]
    struct ModelFutex {
        m: Mutex<()>,
        cv: Condvar,
    }

    impl Sleep for ModelFutex {
        fn wait(&self, word: &AtomicU32, seen: u32, _timeout: Option<std::time::Duration>) {
            let g = self.m.lock().unwrap();
            if word.load(Ordering::SeqCst) == seen {
                drop(self.cv.wait(g).unwrap());
            }
        }
        fn wake(&self, _word: &AtomicU32) {
            let _g = self.m.lock().unwrap();
            self.cv.notify_all();
        }
    }

    fn ring(slots: usize, width: usize) -> Arc<Ring<Vec<AtomicU32>>> {
        Arc::new(Ring::create(words(slots, width), slots, width).unwrap())
    }

    /// Every interleaving with at most `n` preemptions (the spin loops of
    /// the full-ring and empty-ring cases make the unbounded search endless).
    fn bounded(n: usize) -> loom::model::Builder {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(n);
        b.max_branches = 10_000;
        b
    }

    /// Two producers, one consumer, a two-slot ring so it fills and
    /// wraps (a one-slot ring failed here: a second push overwrote an
    /// unread message; `create` refuses one slot since). No thread spins (loom needs finite runs): a producer tries
    /// each push twice and keeps what went in; the consumer pops twice
    /// concurrently, the rest is popped after the joins. Every pushed
    /// message comes out once, whole, in each producer's order; nothing
    /// else comes out.
    #[test]
    fn two_producers_one_consumer() {
        bounded(4).check(|| {
            let r = ring(2, 2);
            let ps: Vec<_> = (0..2u32)
                .map(|p| {
                    let r = r.clone();
                    loom::thread::spawn(move || {
                        let mut pushed = Vec::new();
                        for i in 0..3u32 {
                            let v = i + 10 * p;
                            if r.push(&[p, v]).is_ok() || r.push(&[p, v]).is_ok() {
                                pushed.push(v);
                            }
                        }
                        pushed
                    })
                })
                .collect();
            let mut seen = [Vec::new(), Vec::new()];
            let mut out = [0u32; 2];
            let mut take = |r: &Ring<Vec<AtomicU32>>, seen: &mut [Vec<u32>; 2]| {
                if r.pop(&mut out).unwrap() {
                    assert_eq!(out[1] - 10 * out[0], out[1] % 10, "torn: {out:?}");
                    seen[out[0] as usize].push(out[1]);
                }
            };
            take(&r, &mut seen);
            take(&r, &mut seen);
            let pushed: Vec<Vec<u32>> = ps.into_iter().map(|p| p.join().unwrap()).collect();
            for _ in 0..6 {
                take(&r, &mut seen);
            }
            assert_eq!(seen.to_vec(), pushed);
        });
    }

    /// One producer, two consumers: each message taken exactly once.
    #[test]
    fn one_producer_two_consumers() {
        loom::model(|| {
            let r = ring(2, 1);
            let cs: Vec<_> = (0..2)
                .map(|_| {
                    let r = r.clone();
                    loom::thread::spawn(move || {
                        let mut out = [0u32];
                        r.pop(&mut out).unwrap().then_some(out[0])
                    })
                })
                .collect();
            r.push(&[1]).unwrap();
            r.push(&[2]).unwrap();
            let mut got: Vec<u32> = cs.into_iter().filter_map(|c| c.join().unwrap()).collect();
            let mut out = [0u32];
            while r.pop(&mut out).unwrap() {
                got.push(out[0]);
            }
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }

    /// The bell: a consumer that sleeps when the ring is empty is always
    /// woken by the producer's ring (a lost wake-up is a deadlock loom
    /// reports), and sees the message.
    #[test]
    fn the_bell_loses_no_wakeup() {
        loom::model(|| {
            let r = ring(2, 1);
            let f = Arc::new(ModelFutex::default());
            let c = {
                let (r, f) = (r.clone(), f.clone());
                loom::thread::spawn(move || {
                    let mut out = [0u32];
                    loop {
                        if r.pop(&mut out).unwrap() {
                            return out[0];
                        }
                        r.bell().wait(&*f, None, || r.ready());
                    }
                })
            };
            r.push(&[7]).unwrap();
            r.bell().ring(&*f);
            assert_eq!(c.join().unwrap(), 7);
        });
    }
}

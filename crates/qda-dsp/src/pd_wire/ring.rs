//! The shared memory of a PD process: a memfd the DSP creates and passes
//! to the host once (`KIND_RING`), holding the hot path of an invoke.
//!
//! | bytes / words | what |
//! |---|---|
//! | words `0..RING` | the request ring (DSP → host, [`qda_rt::ring`]): messages of [`WIDTH`] words `tag, id lo, id hi, slot, body length, poll µs, caller's CPU + 1`; its first bell wakes the host's ring thread, its second the host's overflow thread |
//! | words `HOST`, `HOST + 1` | the host's ring thread is running a call (a hint for which bell to ring); the CPU it last ran on + 1 (a hint: a caller on the same CPU does not spin) |
//! | words `COMP + 16 i` | completion slot `i` ([`SLOTS`]): futex word, sleepers, done tag, status, retval, handle lo, handle hi |
//! | bytes `DATA + BODY_MAX i` | the request body of slot `i` (a `pd_wire` request, as on the socket, without its length) |
//!
//! A call takes a free completion slot (the DSP's own list), writes its
//! request body in the slot's data area, clears the slot's done word and
//! pushes the message; the host reads the body, runs it, writes the
//! status, the skel's return value and handle, then the tag into the done
//! word (release), and rings the slot's bell (a wake-up only if the DSP's
//! caller sleeps). The host is not trusted: the DSP reads a completion's
//! words once, after seeing its tag, and never reads the data area.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use qda_os::{Mapping, SharedWords};
use qda_rt::ring::{Bell, Futex, Ring, RingError, ring_words};

/// Requests in flight through the ring (completion slots; the ring has as
/// many, so a push never finds it full while the host is sane).
pub(crate) const SLOTS: usize = 64;
/// Words of a ring message.
pub(crate) const WIDTH: usize = 7;
/// The longest request body a slot carries; a longer one goes on the socket.
pub(crate) const BODY_MAX: usize = 4096;

const RING: usize = ring_words(SLOTS, WIDTH);
const HOST: usize = RING;
const COMP: usize = RING + 16;
const COMP_STRIDE: usize = 16;
/// Words of the shared memory.
const WORDS: usize = COMP + SLOTS * COMP_STRIDE;
/// Where the data area starts (a page after the words).
const DATA: usize = (WORDS * 4).div_ceil(4096) * 4096;
/// Size of the memfd.
pub(crate) const BYTES: usize = DATA + SLOTS * BODY_MAX;

// Completion slot words.
const C_BELL: usize = 0;
const C_SLEEPERS: usize = 1;
const C_DONE: usize = 2;
const C_STATUS: usize = 3;
const C_RETVAL: usize = 4;
const C_HANDLE_LO: usize = 5;
const C_HANDLE_HI: usize = 6;

/// The CPU this thread runs on, + 1 (for [`RingMsg::cpu`] and
/// [`PdRing::host_cpu`]): two parties on one CPU must not spin for each
/// other (the one spinning holds the CPU the other needs; giving it up
/// with `sched_yield` does not help once the spinner has run less than
/// its share).
pub(crate) fn this_cpu() -> u32 {
    rustix::thread::sched_getcpu() as u32 + 1
}

/// The futex of memory shared across processes.
pub(crate) const SHARED: Futex = Futex { shared: true };

/// A request as the ring carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RingMsg {
    /// What the done word says when the call is answered (never 0).
    pub tag: u32,
    /// The request's id.
    pub id: u64,
    /// The completion slot.
    pub slot: u32,
    /// Bytes of the body in the slot's data area.
    pub len: u32,
    /// The caller's poll budget in µs (0: it sleeps at once): after
    /// answering, the host's ring thread looks for the next request that
    /// long before it sleeps, so a caller in poll mode costs no wake-up
    /// on either side.
    pub poll_us: u32,
    /// The CPU the caller ran on when it sent the call, + 1 (0: unknown):
    /// the host does not spin for the next request on the caller's CPU.
    pub cpu: u32,
}

impl RingMsg {
    fn words(&self) -> [u32; WIDTH] {
        [
            self.tag,
            self.id as u32,
            (self.id >> 32) as u32,
            self.slot,
            self.len,
            self.poll_us,
            self.cpu,
        ]
    }

    fn from_words(w: &[u32; WIDTH]) -> RingMsg {
        RingMsg {
            tag: w[0],
            id: u64::from(w[1]) | (u64::from(w[2]) << 32),
            slot: w[3],
            len: w[4],
            poll_us: w[5],
            cpu: w[6],
        }
    }
}

/// What a completion slot said, read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// 0, or the status the request failed with (as a reply's).
    pub status: u32,
    /// The skel's return value.
    pub retval: i32,
    /// The value of argument 2 after the call.
    pub handle: u64,
}

/// One side's view of a PD's shared memory.
#[derive(Debug)]
pub(crate) struct PdRing {
    ring: Ring<SharedWords>,
}

impl PdRing {
    /// The DSP's side: a new memfd laid out empty, and the descriptor to
    /// pass to the host.
    pub(crate) fn create() -> Result<(PdRing, OwnedFd), String> {
        let fd = qda_os::memfd("qda-pd-ring", BYTES as u64).map_err(|e| format!("ring memfd: {e}"))?;
        let words = PdRing::map(fd.as_fd())?;
        let ring = Ring::create(words, SLOTS, WIDTH).map_err(|e| format!("ring: {e}"))?;
        Ok((PdRing { ring }, fd))
    }

    /// The host's side: the DSP's memfd `fd`, which must be at least
    /// [`BYTES`] long and hold a ring of this shape.
    pub(crate) fn attach(fd: BorrowedFd<'_>) -> Result<PdRing, String> {
        let st = rustix::fs::fstat(fd).map_err(|e| format!("ring fstat: {e}"))?;
        if (st.st_size as u64) < BYTES as u64 {
            return Err(format!("a ring of {} bytes, not {BYTES}", st.st_size));
        }
        let ring = Ring::attach(PdRing::map(fd)?, SLOTS, WIDTH).map_err(|e| format!("ring: {e}"))?;
        Ok(PdRing { ring })
    }

    fn map(fd: BorrowedFd<'_>) -> Result<SharedWords, String> {
        let m = Mapping::map_internal(fd, 0, BYTES, true).map_err(|e| format!("ring mmap: {e}"))?;
        SharedWords::new(m, WORDS).map_err(|e| format!("ring: {e}"))
    }

    fn w(&self) -> &[AtomicU32] {
        self.ring.words().as_ref()
    }

    /// The request ring.
    pub(crate) fn ring(&self) -> &Ring<SharedWords> {
        &self.ring
    }

    /// The host's "running a call" word.
    pub(crate) fn busy(&self) -> &AtomicU32 {
        &self.w()[HOST]
    }

    fn comp(&self, slot: u32) -> &[AtomicU32] {
        let at = COMP + (slot as usize % SLOTS) * COMP_STRIDE;
        &self.w()[at..at + COMP_STRIDE]
    }

    /// The CPU the host's ring thread last ran on, + 1 (0: unknown).
    pub(crate) fn host_cpu(&self) -> &AtomicU32 {
        &self.w()[HOST + 1]
    }

    /// The bell of completion slot `slot` (the DSP's caller waits on it).
    pub(crate) fn bell(&self, slot: u32) -> Bell<'_> {
        let c = self.comp(slot);
        Bell::new(&c[C_BELL], &c[C_SLEEPERS])
    }

    /// The done word of `slot`: 0 while pending, the tag when answered.
    pub(crate) fn done(&self, slot: u32) -> u32 {
        self.comp(slot)[C_DONE].load(Ordering::Acquire)
    }

    /// DSP: queue request `m` whose body is `body` (at most
    /// [`BODY_MAX`] bytes) in slot `m.slot`.
    pub(crate) fn push(&self, m: &RingMsg, body: &[u8]) -> Result<(), RingError> {
        if body.len() > BODY_MAX || m.slot as usize >= SLOTS {
            return Err(RingError::Full);
        }
        self.comp(m.slot)[C_DONE].store(0, Ordering::Relaxed);
        self.ring
            .words()
            .mapping()
            .write_at(DATA + m.slot as usize * BODY_MAX, body)
            .map_err(|_| RingError::Corrupt)?;
        self.ring.push(&m.words())
    }

    /// DSP: the answer in `slot`, each word read once (after its done
    /// word said the tag).
    pub(crate) fn answer(&self, slot: u32) -> Answer {
        let c = self.comp(slot);
        let lo = c[C_HANDLE_LO].load(Ordering::Relaxed);
        let hi = c[C_HANDLE_HI].load(Ordering::Relaxed);
        Answer {
            status: c[C_STATUS].load(Ordering::Relaxed),
            retval: c[C_RETVAL].load(Ordering::Relaxed) as i32,
            handle: u64::from(lo) | (u64::from(hi) << 32),
        }
    }

    /// Host: the next request and its body, if one waits; `Err` for a
    /// ring the DSP never writes (corrupt).
    pub(crate) fn pop(&self) -> Result<Option<(RingMsg, Vec<u8>)>, RingError> {
        let mut w = [0u32; WIDTH];
        if !self.ring.pop(&mut w)? {
            return Ok(None);
        }
        let m = RingMsg::from_words(&w);
        let len = (m.len as usize).min(BODY_MAX);
        let mut body = vec![0u8; len];
        let slot = m.slot as usize % SLOTS;
        self.ring
            .words()
            .mapping()
            .read_at(DATA + slot * BODY_MAX, &mut body)
            .map_err(|_| RingError::Corrupt)?;
        Ok(Some((m, body)))
    }

    /// Host: answer request `m` and wake its caller if it sleeps.
    pub(crate) fn complete(&self, m: &RingMsg, a: Answer) {
        let c = self.comp(m.slot);
        c[C_STATUS].store(a.status, Ordering::Relaxed);
        c[C_RETVAL].store(a.retval as u32, Ordering::Relaxed);
        c[C_HANDLE_LO].store(a.handle as u32, Ordering::Relaxed);
        c[C_HANDLE_HI].store((a.handle >> 32) as u32, Ordering::Relaxed);
        c[C_DONE].store(m.tag, Ordering::Release);
        self.bell(m.slot).ring(&SHARED);
    }

    /// DSP: wake whoever sleeps on `slot`'s bell, whatever its sleepers
    /// word says (the host may have scribbled on it).
    pub(crate) fn wake(&self, slot: u32) {
        let c = self.comp(slot);
        c[C_BELL].fetch_add(1, Ordering::Release);
        qda_rt::ring::Sleep::wake(&SHARED, &c[C_BELL]);
    }

    /// The raw words (tests scribble on them).
    #[cfg(test)]
    pub(crate) fn raw(&self) -> &[AtomicU32] {
        self.w()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_crosses_two_mappings_and_its_answer_comes_back() {
        let (dsp, fd) = PdRing::create().unwrap();
        let host = PdRing::attach(fd.as_fd()).unwrap();
        let m = RingMsg {
            tag: 7,
            id: 0x1_0000_0002,
            slot: 3,
            len: 5,
            poll_us: 9,
            cpu: 2,
        };
        dsp.push(&m, b"hello").unwrap();
        let (got, body) = host.pop().unwrap().unwrap();
        assert_eq!((got, body.as_slice()), (m, &b"hello"[..]));
        assert_eq!(host.pop().unwrap(), None);
        assert_eq!(dsp.done(3), 0);
        let a = Answer {
            status: 0,
            retval: -5,
            handle: 0xdead_beef_0000_0001,
        };
        host.complete(&got, a);
        assert_eq!(dsp.done(3), 7);
        assert_eq!(dsp.answer(3), a);
    }

    #[test]
    fn a_short_or_foreign_memfd_is_refused() {
        let fd = qda_os::memfd("short", 4096).unwrap();
        assert!(PdRing::attach(fd.as_fd()).is_err());
        let fd = qda_os::memfd("blank", BYTES as u64).unwrap();
        assert!(PdRing::attach(fd.as_fd()).is_err(), "not laid out");
    }

    #[test]
    fn a_body_too_long_for_a_slot_is_not_queued() {
        let (dsp, _fd) = PdRing::create().unwrap();
        let m = RingMsg {
            tag: 1,
            id: 1,
            slot: 0,
            len: 0,
            poll_us: 0,
            cpu: 0,
        };
        assert_eq!(dsp.push(&m, &vec![0; BODY_MAX + 1]), Err(RingError::Full));
    }
}

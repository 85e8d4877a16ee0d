//! A connection's shared memory ([`FEATURE_RING`](crate::wire::FEATURE_RING)):
//! one sealed memfd the daemon creates and passes once in its reply to
//! [`Op::Setup`](crate::wire::Op::Setup), mapped by both sides. It holds a
//! request ring (`qda_rt::ring`, messages of [`RING_WIDTH`] words), a word of
//! control, and `slots` call slots: each a few words (state, a doorbell,
//! the reply's status, value and length) and a data region of `region`
//! bytes that carries the request body in and the reply body out.
//!
//! Layout (32-bit words, then bytes):
//!
//! | where | what |
//! |---|---|
//! | word 0 | the ring: `ring_words(slots, RING_WIDTH)` words |
//! | word `C` = the ring's end rounded up to 16 | `free_servers`: daemon threads ready to take a request (the daemon's to write) |
//! | word `C + 16 + 16·i` | slot `i`: `state`, bell word, bell sleepers, `status`, `value` low, `value` high, `len`, `seq` |
//! | byte `D` = the words' end rounded up to 4096 | slot `i`'s region at `D + i·region` |
//!
//! A ring message is `[slot, len, seq, 0]`. The client owns a slot from
//! when it takes it from its free list until it has read the reply: it
//! writes the request body (the [`Op::Ioctl`](crate::wire::Op::Ioctl) body)
//! into the region, sets `state` to [`POSTED`], pushes the message and
//! rings the ring's bell. The daemon copies the body out of the region once,
//! runs it, writes the reply body back into the region, then `status`,
//! `value`, `len`, and `state` = [`DONE`] (release), and rings the slot's
//! bell. Either bell costs a `futex_wake` only when the other side sleeps.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use qda_os::{Errno, Mapping, OsError as Error, SharedWords};
use qda_rt::ring::{Bell, Futex, Ring, ring_words};

/// Words of a ring message: slot, body length, sequence number, zero.
pub const RING_WIDTH: usize = 4;
/// Call slots a client asks for by default.
pub const DEFAULT_SLOTS: u32 = 8;
/// Bytes of each slot's region by default: a 64 KiB inline input and
/// output and their bookkeeping fit.
pub const DEFAULT_REGION: u32 = 192 << 10;
/// Fewest and most call slots.
pub const SLOTS: std::ops::RangeInclusive<u32> = 2..=64;
/// Smallest and largest region.
pub const REGION: std::ops::RangeInclusive<u32> = (16 << 10)..=(1 << 20);
/// The bells are futexes in memory two processes share.
pub const FUTEX: Futex = Futex { shared: true };

/// Slot state: the client's.
pub const FREE: u32 = 0;
/// Slot state: a request is in the region.
pub const POSTED: u32 = 1;
/// Slot state: the reply is in the region.
pub const DONE: u32 = 2;

const SLOT_WORDS: usize = 16;
const S_STATE: usize = 0;
const S_BELL: usize = 1;
const S_STATUS: usize = 3;
const S_VALUE_LO: usize = 4;
const S_VALUE_HI: usize = 5;
const S_LEN: usize = 6;
const S_SEQ: usize = 7;

/// The shape both sides agreed on (from [`SetupReq`](crate::wire::SetupReq)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Call slots (also the ring's slots).
    pub slots: u32,
    /// Bytes of each slot's region.
    pub region: u32,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape {
            slots: DEFAULT_SLOTS,
            region: DEFAULT_REGION,
        }
    }
}

impl Shape {
    /// `EINVAL` unless the shape is one both sides accept.
    pub fn check(self) -> Result<Shape, Error> {
        if !self.slots.is_power_of_two()
            || !SLOTS.contains(&self.slots)
            || !REGION.contains(&self.region)
            || !self.region.is_multiple_of(4096)
        {
            return Err(Error::new(
                Errno::EINVAL,
                format!(
                    "ring shape: {} slots of {} bytes (slots a power of two in {SLOTS:?}, regions a multiple of 4096 in {REGION:?})",
                    self.slots, self.region
                ),
            ));
        }
        Ok(self)
    }
    fn ctrl(self) -> usize {
        ring_words(self.slots as usize, RING_WIDTH).next_multiple_of(16)
    }
    fn slot_word(self, i: u32) -> usize {
        self.ctrl() + 16 + i as usize * SLOT_WORDS
    }
    /// Words before the data.
    pub fn words(self) -> usize {
        self.slot_word(self.slots)
    }
    /// Byte offset of the first region.
    pub fn data(self) -> usize {
        (self.words() * 4).next_multiple_of(4096)
    }
    /// Bytes of the whole memfd.
    pub fn bytes(self) -> usize {
        self.data() + self.slots as usize * self.region as usize
    }
}

/// One side's view of the shared memory.
#[derive(Debug)]
pub struct Shm {
    ring: Ring<SharedWords>,
    shape: Shape,
}

impl Shm {
    /// A new sealed memfd of `shape`, mapped, the ring laid out: the
    /// daemon's side. Returns the fd to pass.
    pub fn create(shape: Shape) -> Result<(Shm, OwnedFd), Error> {
        let shape = shape.check()?;
        let fd = qda_os::memfd("qdad-ring", shape.bytes() as u64)?;
        let map = Mapping::map(fd.as_fd(), 0, shape.bytes(), true)?;
        let words = SharedWords::new(map, shape.words())?;
        let ring = Ring::create(words, shape.slots as usize, RING_WIDTH)
            .map_err(|e| Error::new(Errno::EINVAL, format!("laying out the ring: {e}")))?;
        Ok((Shm { ring, shape }, fd))
    }

    /// Map a memfd the other side passed: the client's side. Refused (`EINVAL`)
    /// unless it is a memfd sealed against shrinking (a peer that shrinks a
    /// file under a mapping makes its reader fault) of at least the shape's
    /// size, and its ring is laid out in the agreed shape.
    pub fn attach(fd: BorrowedFd<'_>, shape: Shape) -> Result<Shm, Error> {
        let shape = shape.check()?;
        let seals =
            rustix::fs::fcntl_get_seals(fd).map_err(|_| Error::new(Errno::EINVAL, "the ring's file is not a memfd"))?;
        if !seals.contains(rustix::fs::SealFlags::SHRINK) {
            return Err(Error::new(
                Errno::EINVAL,
                "the ring's memfd is not sealed against shrinking",
            ));
        }
        let size = qda_os::file_size(fd)?;
        if size < shape.bytes() as u64 {
            return Err(Error::new(
                Errno::EINVAL,
                format!("the ring's memfd has {size} bytes, its shape needs {}", shape.bytes()),
            ));
        }
        let map = Mapping::map(fd, 0, shape.bytes(), true)?;
        let words = SharedWords::new(map, shape.words())?;
        let ring = Ring::attach(words, shape.slots as usize, RING_WIDTH)
            .map_err(|e| Error::new(Errno::EINVAL, format!("the ring: {e}")))?;
        Ok(Shm { ring, shape })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The request ring.
    pub fn ring(&self) -> &Ring<SharedWords> {
        &self.ring
    }

    fn words(&self) -> &[AtomicU32] {
        self.ring.words().as_ref()
    }

    /// Daemon threads ready to take a request (a hint the daemon keeps).
    pub fn free_servers(&self) -> &AtomicU32 {
        &self.words()[self.shape.ctrl()]
    }

    /// Slot `i` (`None` past the last).
    pub fn slot(&self, i: u32) -> Option<Slot<'_>> {
        if i >= self.shape.slots {
            return None;
        }
        let at = self.shape.slot_word(i);
        Some(Slot {
            w: &self.words()[at..at + SLOT_WORDS],
        })
    }

    fn region(&self, i: u32, len: usize) -> Result<usize, Error> {
        if i >= self.shape.slots || len > self.shape.region as usize {
            return Err(Error::new(
                Errno::EINVAL,
                format!(
                    "{len} bytes in slot {i} do not fit {} slots of {} bytes",
                    self.shape.slots, self.shape.region
                ),
            ));
        }
        Ok(self.shape.data() + i as usize * self.shape.region as usize)
    }

    /// Copy `len` bytes out of slot `i`'s region (once: the copy is what
    /// the reader validates and uses).
    pub fn read(&self, i: u32, len: usize) -> Result<Vec<u8>, Error> {
        let at = self.region(i, len)?;
        self.ring.words().mapping().read_vec(at, len)
    }

    /// Copy `dst.len()` bytes at `off` in slot `i`'s region into `dst`
    /// (`EINVAL` past the region's end).
    pub fn read_into(&self, i: u32, off: usize, dst: &mut [u8]) -> Result<(), Error> {
        let end = off
            .checked_add(dst.len())
            .ok_or_else(|| Error::new(Errno::EINVAL, "offset overflows"))?;
        let at = self.region(i, end)?;
        self.ring.words().mapping().read_at(at + off, dst)
    }

    /// Copy `src` to `off` in slot `i`'s region (`EINVAL` past its end).
    pub fn write_at(&self, i: u32, off: usize, src: &[u8]) -> Result<(), Error> {
        let end = off
            .checked_add(src.len())
            .ok_or_else(|| Error::new(Errno::EINVAL, "offset overflows"))?;
        let at = self.region(i, end)?;
        self.ring.words().mapping().write_at(at + off, src)
    }

    /// Copy `parts` one after the other into slot `i`'s region.
    pub fn write(&self, i: u32, parts: &[&[u8]]) -> Result<usize, Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut at = self.region(i, len)?;
        for p in parts {
            self.ring.words().mapping().write_at(at, p)?;
            at += p.len();
        }
        Ok(len)
    }
}

/// A call slot's words.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    w: &'a [AtomicU32],
}

/// A reply as a slot's words state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotReply {
    /// 0 or a negative errno.
    pub status: i32,
    /// The syscall's return value.
    pub value: i64,
    /// Reply body bytes in the region.
    pub len: u32,
    /// The request's sequence number.
    pub seq: u32,
}

impl<'a> Slot<'a> {
    /// Its state ([`FREE`], [`POSTED`], [`DONE`], or garbage).
    pub fn state(&self) -> u32 {
        self.w[S_STATE].load(Ordering::Acquire)
    }
    /// Set the state (release: what was written before is seen with it).
    pub fn set_state(&self, s: u32) {
        self.w[S_STATE].store(s, Ordering::Release);
    }
    /// The slot's doorbell (the client sleeps on it for the reply).
    pub fn bell(&self) -> Bell<'a> {
        Bell::new(&self.w[S_BELL], &self.w[S_BELL + 1])
    }
    /// The daemon: the reply's words, then [`DONE`], then the bell.
    pub fn complete(&self, r: SlotReply) {
        self.w[S_STATUS].store(r.status as u32, Ordering::Relaxed);
        self.w[S_VALUE_LO].store(r.value as u32, Ordering::Relaxed);
        self.w[S_VALUE_HI].store((r.value >> 32) as u32, Ordering::Relaxed);
        self.w[S_LEN].store(r.len, Ordering::Relaxed);
        self.w[S_SEQ].store(r.seq, Ordering::Relaxed);
        self.set_state(DONE);
        self.bell().ring(&FUTEX);
    }
    /// The client, after seeing [`DONE`]: the reply's words.
    pub fn reply(&self) -> SlotReply {
        let lo = self.w[S_VALUE_LO].load(Ordering::Relaxed) as u64;
        let hi = self.w[S_VALUE_HI].load(Ordering::Relaxed) as u64;
        SlotReply {
            status: self.w[S_STATUS].load(Ordering::Relaxed) as i32,
            value: (lo | hi << 32) as i64,
            len: self.w[S_LEN].load(Ordering::Relaxed),
            seq: self.w[S_SEQ].load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = Shape::default().check().unwrap();
        assert_eq!(s.data() % 4096, 0);
        assert!(s.words() * 4 <= s.data());
        assert_eq!(s.bytes(), s.data() + 8 * (192 << 10));
        for bad in [(3, 65536), (128, 65536), (8, 1000), (8, 4096), (8, 2 << 20)] {
            assert!(
                Shape {
                    slots: bad.0,
                    region: bad.1
                }
                .check()
                .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn two_sides_of_one_memfd() {
        let shape = Shape {
            slots: 2,
            region: 16 << 10,
        };
        let (c, fd) = Shm::create(shape).unwrap();
        let d = Shm::attach(fd.as_fd(), shape).unwrap();
        c.write(1, &[b"abc", b"def"]).unwrap();
        assert_eq!(d.read(1, 6).unwrap(), b"abcdef");
        assert!(d.read(2, 1).is_err() && d.read(0, (16 << 10) + 1).is_err());
        let mut two = [0u8; 2];
        d.read_into(1, 2, &mut two).unwrap();
        assert_eq!(&two, b"cd");
        assert!(d.read_into(1, (16 << 10) - 1, &mut two).is_err(), "past the region");
        assert!(d.read_into(1, usize::MAX, &mut two).is_err());
        assert!(d.read_into(2, 0, &mut two).is_err(), "no such slot");
        d.write_at(1, 4, b"xy").unwrap();
        assert_eq!(c.read(1, 6).unwrap(), b"abcdxy");
        assert!(d.write_at(1, (16 << 10) - 1, b"xy").is_err(), "past the region");
        c.ring().push(&[1, 6, 9, 0]).unwrap();
        let mut m = [0u32; RING_WIDTH];
        assert!(d.ring().pop(&mut m).unwrap());
        assert_eq!(m, [1, 6, 9, 0]);
        d.slot(1).unwrap().complete(SlotReply {
            status: -22,
            value: -5,
            len: 3,
            seq: 9,
        });
        let s = c.slot(1).unwrap();
        assert_eq!(s.state(), DONE);
        assert_eq!(
            s.reply(),
            SlotReply {
                status: -22,
                value: -5,
                len: 3,
                seq: 9
            }
        );
        assert!(c.slot(2).is_none());
        // Another shape, an unsealed file, a short file: refused.
        assert!(
            Shm::attach(
                fd.as_fd(),
                Shape {
                    slots: 4,
                    region: 16 << 10
                }
            )
            .is_err()
        );
        let plain = rustix::fs::memfd_create("plain", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&plain, shape.bytes() as u64).unwrap();
        assert!(Shm::attach(plain.as_fd(), shape).is_err());
        let short = qda_os::memfd("short", 4096).unwrap();
        assert!(Shm::attach(short.as_fd(), shape).is_err());
    }
}

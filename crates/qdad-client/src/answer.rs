//! An ioctl's reply as the client reads it: a message from the socket, or
//! a reply read in place in a ring slot, whose written bytes go straight
//! from the slot to the caller's memory.

use std::os::fd::OwnedFd;

use qda_os::{self as sys, Loan};

use crate::conn::RingReply;
use crate::wire::{self, IoctlRsp, Message, Reader, Seg};

/// Write `src` at `addr`: into a slice lent writable, else the checked copy.
pub(crate) fn write_mem(loan: Option<&Loan<'_>>, addr: u64, src: &[u8]) -> bool {
    loan.is_some_and(|l| l.write(addr, src)) || sys::copy_to_self(addr, src).is_ok()
}

/// An ioctl's reply: a message from the socket, or a reply read in place
/// in a ring slot (its bytes go straight from the slot to the caller's
/// memory).
pub(crate) enum Answer<'c> {
    Socket(Message),
    Ring(RingReply<'c>),
}

impl Answer<'_> {
    pub(crate) fn status(&self) -> i32 {
        match self {
            Answer::Socket(m) => m.hdr.status,
            Answer::Ring(r) => r.status(),
        }
    }

    pub(crate) fn value(&self) -> i64 {
        match self {
            Answer::Socket(m) => m.hdr.value,
            Answer::Ring(r) => r.value(),
        }
    }

    /// The fds attached (none through the ring).
    pub(crate) fn take_fds(&mut self) -> Vec<OwnedFd> {
        match self {
            Answer::Socket(m) => std::mem::take(&mut m.fds),
            Answer::Ring(_) => Vec::new(),
        }
    }

    /// `len` body bytes at `off`, copied (None past the end).
    pub(crate) fn bytes(&self, off: usize, len: usize) -> Option<Vec<u8>> {
        match self {
            Answer::Socket(m) => m.body.get(off..off.checked_add(len)?).map(<[u8]>::to_vec),
            Answer::Ring(r) => {
                // Bounded by the reply's length before anything is allocated.
                if off.checked_add(len)? > r.len() {
                    return None;
                }
                let mut v = vec![0u8; len];
                r.read(off, &mut v).then_some(v)
            }
        }
    }

    pub(crate) fn whole(&self) -> Vec<u8> {
        let len = match self {
            Answer::Socket(m) => m.body.len(),
            Answer::Ring(r) => r.len(),
        };
        self.bytes(0, len).unwrap_or_default()
    }

    /// The flags of an ioctl reply (0 if it has no [`IoctlRsp`]).
    pub(crate) fn rsp_flags(&self) -> u32 {
        self.bytes(0, size_of::<IoctlRsp>())
            .and_then(|b| Reader::new(&b).get::<IoctlRsp>().ok())
            .map_or(0, |r| r.flags)
    }

    /// The written ranges, each with where its bytes lie in the body, and
    /// the error text.
    pub(crate) fn written_back(&self) -> Result<WrittenBack, wire::WireError> {
        let short = || wire::WireError::Protocol("ioctl reply shorter than it says".into());
        let head = self.bytes(0, size_of::<IoctlRsp>()).ok_or_else(short)?;
        let rsp: IoctlRsp = Reader::new(&head).get()?;
        if rsp.nsegs > wire::MAX_SEGS {
            return Err(wire::WireError::Protocol("too many written ranges".into()));
        }
        let mut at = size_of::<IoctlRsp>();
        let table_len = rsp.nsegs as usize * size_of::<Seg>();
        let table = self.bytes(at, table_len).ok_or_else(short)?;
        let written: Vec<Seg> = Reader::new(&table).array(rsp.nsegs as usize)?;
        at += table_len;
        let mut segs = Vec::with_capacity(written.len());
        for s in written {
            segs.push((s, at));
            at = at.checked_add(s.len as usize).ok_or_else(short)?;
        }
        let msg = self.bytes(at, rsp.msg_len as usize).ok_or_else(short)?;
        Ok(WrittenBack {
            segs,
            msg: String::from_utf8_lossy(&msg).into_owned(),
        })
    }

    /// Write the `len` body bytes at `off` to the caller's `addr`: straight
    /// into a slice lent writable, else with the checked copy.
    pub(crate) fn write_back(&self, loan: Option<&Loan<'_>>, addr: u64, off: usize, len: usize) -> bool {
        match self {
            Answer::Socket(m) => off
                .checked_add(len)
                .and_then(|end| m.body.get(off..end))
                .is_some_and(|b| write_mem(loan, addr, b)),
            Answer::Ring(r) => {
                loan.is_some_and(|l| l.write_with(addr, len, |dst| r.read(off, dst)))
                    || self
                        .bytes(off, len)
                        .is_some_and(|b| sys::copy_to_self(addr, &b).is_ok())
            }
        }
    }
}

/// What an ioctl reply carries back: the ranges the driver wrote, with
/// where their bytes lie in the body, and the error text.
pub(crate) struct WrittenBack {
    pub(crate) segs: Vec<(Seg, usize)>,
    pub(crate) msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    /// A reply that says more than it carries (written ranges or text past
    /// its end, too many ranges) is a protocol error, not a panic or a
    /// short write-back; one that adds up gives each range's place.
    #[test]
    fn replies_that_do_not_add_up_are_protocol_errors() {
        let answer = |rsp: IoctlRsp, segs: &[Seg], tail: usize| {
            let mut body = rsp.as_bytes().to_vec();
            body.extend_from_slice(segs.as_bytes());
            body.resize(body.len() + tail, 7);
            Answer::Socket(Message {
                hdr: wire::Header::default(),
                body,
                fds: Vec::new(),
            })
        };
        let rsp = |nsegs, msg_len| IoctlRsp {
            nsegs,
            nfds: 0,
            msg_len,
            flags: 0,
        };
        let seg = Seg {
            addr: 0x1000,
            len: 8,
            flags: 0,
        };
        let ok = answer(rsp(1, 2), &[seg], 10).written_back().unwrap();
        assert_eq!((ok.segs[0].1, ok.msg.len()), (32, 2));
        for (a, what) in [
            (answer(rsp(1, 0), &[seg], 7), "range past the end"),
            (answer(rsp(1, 3), &[seg], 10), "text past the end"),
            (answer(rsp(2, 0), &[seg], 8), "table past the end"),
            (answer(rsp(wire::MAX_SEGS + 1, 0), &[], 0), "too many ranges"),
        ] {
            assert!(matches!(a.written_back(), Err(wire::WireError::Protocol(_))), "{what}");
        }
        let empty = Answer::Socket(Message {
            hdr: wire::Header::default(),
            body: vec![1, 2],
            fds: Vec::new(),
        });
        assert!(empty.written_back().is_err() && empty.rsp_flags() == 0, "no head");
    }
}

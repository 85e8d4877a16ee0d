//! The reverse-RPC buffer format of the listener (`listener_buf.h`).
//!
//! A reverse request (DSP → host, returned by `next2`/`get_in_bufs2`) holds,
//! for each input buffer, a `u32` length and, if the length is not zero,
//! padding to an 8-byte boundary and the bytes; then, for each output buffer,
//! its `u32` length. The reply (the `prevbufs` of the next `next2`) holds, for
//! each output buffer, a `u32` length and, if not zero, padding to 8 and the
//! bytes. Lengths are little-endian; alignment is from the buffer's start.

use alloc::vec::Vec;

use crate::ProtoError;

fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}

fn put_bufs(v: &mut Vec<u8>, bufs: &[&[u8]]) -> Result<(), ProtoError> {
    for b in bufs {
        let len = u32::try_from(b.len()).map_err(|_| ProtoError::Malformed {
            what: "reverse buffer",
            detail: "a buffer is longer than 4 GiB",
        })?;
        v.extend_from_slice(&len.to_le_bytes());
        if len != 0 {
            pad8(v);
            v.extend_from_slice(b);
        }
    }
    Ok(())
}

/// Build a reverse request: input buffers, then the output buffer lengths.
pub fn encode_request(in_bufs: &[&[u8]], out_lens: &[u32]) -> Result<Vec<u8>, ProtoError> {
    let mut v = Vec::new();
    put_bufs(&mut v, in_bufs)?;
    for l in out_lens {
        v.extend_from_slice(&l.to_le_bytes());
    }
    Ok(v)
}

/// Build a reply: the output buffers.
pub fn encode_reply(out_bufs: &[&[u8]]) -> Result<Vec<u8>, ProtoError> {
    let mut v = Vec::new();
    put_bufs(&mut v, out_bufs)?;
    Ok(v)
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

const TRUNC: ProtoError = ProtoError::Malformed {
    what: "reverse buffer",
    detail: "truncated",
};

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, ProtoError> {
        let s = self.b.get(self.pos..self.pos + 4).ok_or(TRUNC)?;
        self.pos += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn bytes(&mut self, len: u32) -> Result<&'a [u8], ProtoError> {
        if len == 0 {
            return Ok(&[]);
        }
        let start = self.pos.checked_next_multiple_of(8).ok_or(TRUNC)?;
        let end = start.checked_add(len as usize).ok_or(TRUNC)?;
        let s = self.b.get(start..end).ok_or(TRUNC)?;
        self.pos = end;
        Ok(s)
    }
}

/// A decoded reverse request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The input buffers.
    pub in_bufs: Vec<&'a [u8]>,
    /// The output buffer lengths the caller expects.
    pub out_lens: Vec<u32>,
}

/// Parse a reverse request with `n_in` inputs and `n_out` outputs.
pub fn decode_request(b: &[u8], n_in: usize, n_out: usize) -> Result<Request<'_>, ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let mut in_bufs = Vec::with_capacity(n_in.min(256));
    for _ in 0..n_in {
        let len = r.u32()?;
        in_bufs.push(r.bytes(len)?);
    }
    let mut out_lens = Vec::with_capacity(n_out.min(256));
    for _ in 0..n_out {
        out_lens.push(r.u32()?);
    }
    Ok(Request { in_bufs, out_lens })
}

/// Parse a reply with `n_out` output buffers.
pub fn decode_reply(b: &[u8], n_out: usize) -> Result<Vec<&[u8]>, ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let mut out = Vec::with_capacity(n_out.min(256));
    for _ in 0..n_out {
        let len = r.u32()?;
        out.push(r.bytes(len)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let v = encode_request(&[b"abc", b"", b"0123456789"], &[5, 0]).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&3u32.to_le_bytes()); // 0..4
        want.extend_from_slice(&[0; 4]); // pad to 8
        want.extend_from_slice(b"abc"); // 8..11
        want.extend_from_slice(&0u32.to_le_bytes()); // 11..15, empty: no pad, no bytes
        want.extend_from_slice(&10u32.to_le_bytes()); // 15..19
        want.extend_from_slice(&[0; 5]); // pad to 24
        want.extend_from_slice(b"0123456789"); // 24..34
        want.extend_from_slice(&5u32.to_le_bytes());
        want.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(v, want);
        let r = decode_request(&v, 3, 2).unwrap();
        assert_eq!(r.in_bufs, [&b"abc"[..], b"", b"0123456789"]);
        assert_eq!(r.out_lens, [5, 0]);
    }

    #[test]
    fn reply_round_trip() {
        let v = encode_reply(&[b"x", b"hello world"]).unwrap();
        assert_eq!(decode_reply(&v, 2).unwrap(), [&b"x"[..], b"hello world"]);
    }

    #[test]
    fn truncation_is_an_error() {
        let v = encode_request(&[b"abcdef"], &[1]).unwrap();
        for cut in 0..v.len() {
            assert!(decode_request(&v[..cut], 1, 1).is_err(), "cut at {cut}");
        }
        // A huge length must not panic or allocate.
        let mut bad = 0xffff_fff0u32.to_le_bytes().to_vec();
        bad.extend_from_slice(&[0; 12]);
        assert!(decode_request(&bad, 1, 0).is_err());
        assert!(decode_reply(&bad, 1).is_err());
    }
}

//! Errors of the wire codec. Each carries the errno the kernel driver returns
//! for the same condition, so the driver can hand it to userspace unchanged.

use thiserror::Error;

/// `EFAULT`.
pub const EFAULT: i32 = 14;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ENOSPC`.
pub const ENOSPC: i32 = 28;
/// `EOVERFLOW`.
pub const EOVERFLOW: i32 = 75;
/// `EPROTO`: the peer sent bytes that do not follow the protocol.
pub const EPROTO: i32 = 71;

/// Everything that can go wrong packing, decoding or unpacking a call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The argument list does not have `REMOTE_SCALARS_LENGTH(sc)` entries.
    #[error("scalars 0x{sc:08x} describe {expected} arguments but {got} were given")]
    ArgCount { sc: u32, expected: usize, got: usize },
    /// A handle descriptor in a buffer slot or a buffer in a handle slot.
    #[error("argument {index}: expected a {expected} descriptor")]
    ArgKind { index: usize, expected: &'static str },
    /// `ptr + length` wraps around the address space.
    #[error("argument {index}: pointer 0x{ptr:x} + length 0x{len:x} overflows")]
    RangeOverflow { index: usize, ptr: u64, len: u64 },
    /// Inline input data does not have the declared length.
    #[error("argument {index}: {got} bytes of input data for a {expected}-byte buffer")]
    InputLength { index: usize, expected: u64, got: usize },
    /// A dma-buf argument's pointer and its offset in the buffer disagree on
    /// the in-page offset, so no page descriptor can describe it.
    #[error("argument {index}: pointer 0x{ptr:x} and buffer offset 0x{offset:x} differ in page offset")]
    DmaPageOffset { index: usize, ptr: u64, offset: u64 },
    /// A dma-buf argument reaches past the end of its buffer.
    #[error("argument {index}: bytes 0x{offset:x}..+0x{len:x} lie outside the 0x{size:x}-byte buffer")]
    DmaOutOfBounds {
        index: usize,
        offset: u64,
        len: u64,
        size: u64,
    },
    /// The payload would not fit the address space or the caller's limit.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { size: u64, limit: u64 },
    /// The destination buffer for packing is smaller than the plan's size.
    #[error("payload buffer of {have} bytes, {need} needed")]
    PayloadBuffer { need: u64, have: usize },
    /// The payload is too short for the metadata its scalars announce.
    #[error("payload of {have} bytes is shorter than the {need} bytes of metadata for {nscalars} arguments")]
    ShortPayload { need: u64, have: usize, nscalars: usize },
    /// An invoke-buffer entry names pages outside the page list.
    #[error("argument {index}: page list entry {pgidx}+{num} is outside the {nscalars}-entry page list")]
    PageIndex {
        index: usize,
        pgidx: u32,
        num: u32,
        nscalars: usize,
    },
    /// An argument's bytes do not lie inside the page range that describes it.
    #[error(
        "argument {index}: 0x{len:x} bytes at in-page offset 0x{offset:x} exceed the 0x{page_size:x}-byte page range"
    )]
    OutsidePages {
        index: usize,
        offset: u64,
        len: u64,
        page_size: u64,
    },
    /// The DSP claims to have written more bytes than the caller's buffer holds.
    #[error("output argument {index}: DSP returned {dsp_len} bytes for a {caller_len}-byte buffer")]
    OutputOverflow {
        index: usize,
        dsp_len: u64,
        caller_len: u64,
    },
    /// Copying from or to the caller's memory failed (bad user pointer).
    #[error("argument {index}: bad address")]
    Fault { index: usize },
    /// A fixed-size body or message is malformed (length or content).
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: &'static str },
}

impl ProtoError {
    /// The errno the kernel driver returns for this condition.
    pub fn errno(&self) -> i32 {
        match self {
            ProtoError::RangeOverflow { .. } | ProtoError::PayloadTooLarge { .. } => EOVERFLOW,
            ProtoError::Fault { .. } => EFAULT,
            ProtoError::PayloadBuffer { .. } => ENOSPC,
            ProtoError::ShortPayload { .. }
            | ProtoError::PageIndex { .. }
            | ProtoError::OutsidePages { .. }
            | ProtoError::OutputOverflow { .. } => EPROTO,
            _ => EINVAL,
        }
    }
}

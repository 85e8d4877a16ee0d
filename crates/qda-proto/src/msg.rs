//! The rpmsg messages and the context id.
//!
//! The host sends one 40-byte [`FastrpcMsg`] per call (`rpmsg_send(ept, msg,
//! 40)`); the DSP answers with a [`InvokeRsp`] of at least 16 bytes that echoes
//! the `ctx` word. The `ctx` word carries the context index (which call) and,
//! in its low four bits, the PD type (which queue on the DSP).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ProtoError;

/// `struct fastrpc_msg`: host → DSP, 40 bytes, field order fixed by the DSP.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcMsg {
    /// Process on the DSP: the file's client id (legacy: session index + 1;
    /// QDA: the per-file remote session id). 0 for kernel-originated calls.
    pub client_id: i32,
    /// Calling thread id.
    pub tid: i32,
    /// Context word: `index << shift | pd`, see [`CtxLayout`].
    pub ctx: u64,
    /// Remote handle.
    pub handle: u32,
    /// Scalars word.
    pub sc: u32,
    /// DSP address (SID-prefixed IOVA) of the payload buffer; 0 if none.
    pub addr: u64,
    /// Payload size rounded up to a whole page.
    pub size: u64,
}

/// `struct fastrpc_invoke_rsp` (QDA: `qda_invoke_rsp`): DSP → host, 16 bytes
/// (12 used, 4 of tail padding). The host rejects anything shorter.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct InvokeRsp {
    /// The `ctx` word of the request, echoed verbatim.
    pub ctx: u64,
    /// The remote return value: 0, or an AEE code (DSP offset 0x80000400).
    pub retval: i32,
    /// Tail padding of the C struct.
    pub pad: u32,
}

impl FastrpcMsg {
    /// Wire size.
    pub const SIZE: usize = 40;

    /// Parse a message as the DSP receives it: exactly 40 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtoError> {
        Self::read_from_bytes(bytes).map_err(|_| ProtoError::Malformed {
            what: "fastrpc_msg",
            detail: "length is not 40 bytes",
        })
    }
}

impl InvokeRsp {
    /// Wire size.
    pub const SIZE: usize = 16;

    /// Parse a response as the host receives it: at least 16 bytes (the
    /// kernel's check), extra bytes ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtoError> {
        Self::read_from_prefix(bytes)
            .map(|(r, _)| r)
            .map_err(|_| ProtoError::Malformed {
                what: "invoke response",
                detail: "shorter than 16 bytes",
            })
    }
}

/// The PD type in the low four bits of `ctx`: which process class on the DSP
/// the call is queued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PdType {
    /// `ROOT_PD` (older kernels: `AUDIO_PD`): the guest OS / root process.
    Root = 0,
    /// `USER_PD`: a dynamically created user process.
    User = 1,
    /// `SENSORS_PD`: the sensors static PD (`INIT_ATTACH_SNS`).
    Sensors = 2,
}

impl PdType {
    /// From the 4-bit field; values 3..15 are not assigned.
    pub const fn from_bits(v: u8) -> Option<Self> {
        match v {
            0 => Some(PdType::Root),
            1 => Some(PdType::User),
            2 => Some(PdType::Sensors),
            _ => None,
        }
    }
}

/// Where the 8-bit context index sits in the `ctx` word.
///
/// Mainline uses bits 11..4 (`FASTRPC_CTXID_MASK = GENMASK(11, 4)`); the
/// proposed poll-mode series moves the index to bits 15..8 because the DSP
/// reads bit 4 as "async"; its v1 used bits 23..16. The PD type always sits in
/// bits 3..0. A DSP should parse with the layout its host uses and echo `ctx`
/// verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtxLayout {
    shift: u8,
}

impl CtxLayout {
    /// Mainline kernel and QDA: `[11:4]` index, `[3:0]` PD.
    pub const KERNEL: CtxLayout = CtxLayout { shift: 4 };
    /// Poll-mode series: `[15:8]` index, `[4]` async, `[3:0]` PD.
    pub const POLL_MODE: CtxLayout = CtxLayout { shift: 8 };
    /// Poll-mode series v1: `[23:16]` index.
    pub const POLL_MODE_V1: CtxLayout = CtxLayout { shift: 16 };
    /// Bit the poll-mode DSP reads as "async call" (only free when shift ≥ 5).
    pub const ASYNC_BIT: u64 = 1 << 4;

    /// A layout with the index at `shift` (4..=56).
    pub const fn with_shift(shift: u8) -> Option<Self> {
        if shift >= 4 && shift <= 56 {
            Some(CtxLayout { shift })
        } else {
            None
        }
    }
    /// Bit position of the index.
    pub const fn shift(self) -> u8 {
        self.shift
    }
    /// Mask of the index field (`0xFF0` for [`CtxLayout::KERNEL`]).
    pub const fn mask(self) -> u64 {
        0xff << self.shift
    }
    /// Build `ctx` from an index (1..=255 in practice) and a PD type.
    pub const fn encode(self, index: u8, pd: PdType) -> u64 {
        ((index as u64) << self.shift) | pd as u64
    }
    /// Context index of a `ctx` word.
    pub const fn index(self, ctx: u64) -> u8 {
        ((ctx & self.mask()) >> self.shift) as u8
    }
    /// PD bits (3..0) of a `ctx` word.
    pub const fn pd_bits(ctx: u64) -> u8 {
        (ctx & 0xf) as u8
    }
}

impl Default for CtxLayout {
    fn default() -> Self {
        CtxLayout::KERNEL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn msg_layout() {
        assert_eq!(size_of::<FastrpcMsg>(), 40);
        assert_eq!(offset_of!(FastrpcMsg, client_id), 0);
        assert_eq!(offset_of!(FastrpcMsg, tid), 4);
        assert_eq!(offset_of!(FastrpcMsg, ctx), 8);
        assert_eq!(offset_of!(FastrpcMsg, handle), 16);
        assert_eq!(offset_of!(FastrpcMsg, sc), 20);
        assert_eq!(offset_of!(FastrpcMsg, addr), 24);
        assert_eq!(offset_of!(FastrpcMsg, size), 32);
    }

    #[test]
    fn rsp_layout() {
        assert_eq!(size_of::<InvokeRsp>(), 16);
        assert_eq!(offset_of!(InvokeRsp, ctx), 0);
        assert_eq!(offset_of!(InvokeRsp, retval), 8);
    }

    #[test]
    fn parse_lengths() {
        assert!(FastrpcMsg::parse(&[0; 39]).is_err());
        assert!(FastrpcMsg::parse(&[0; 41]).is_err());
        assert!(FastrpcMsg::parse(&[0; 40]).is_ok());
        assert!(InvokeRsp::parse(&[0; 15]).is_err());
        let mut b = [0u8; 20];
        b[0] = 0x11;
        b[8] = 0x14;
        b[9] = 0x04;
        b[11] = 0x80;
        let r = InvokeRsp::parse(&b).unwrap();
        assert_eq!(r.ctx, 0x11);
        assert_eq!(r.retval as u32, 0x8000_0414);
    }

    #[test]
    fn ctx_kernel_layout() {
        let l = CtxLayout::KERNEL;
        assert_eq!(l.mask(), 0xff0);
        let ctx = l.encode(0xab, PdType::User);
        assert_eq!(ctx, 0xab1);
        assert_eq!(l.index(ctx), 0xab);
        assert_eq!(CtxLayout::pd_bits(ctx), 1);
        assert_eq!(l.encode(255, PdType::Sensors), 0xff2);
    }

    #[test]
    fn ctx_poll_layouts() {
        assert_eq!(CtxLayout::POLL_MODE.mask(), 0xff00);
        assert_eq!(CtxLayout::POLL_MODE.encode(3, PdType::User), 0x301);
        assert_eq!(CtxLayout::POLL_MODE_V1.mask(), 0xff_0000);
        // The poll layout leaves the async bit free.
        assert_eq!(CtxLayout::POLL_MODE.encode(255, PdType::User) & CtxLayout::ASYNC_BIT, 0);
        assert!(CtxLayout::with_shift(3).is_none());
        assert!(CtxLayout::with_shift(57).is_none());
    }

    #[test]
    fn pd_bits() {
        assert_eq!(PdType::from_bits(0), Some(PdType::Root));
        assert_eq!(PdType::from_bits(2), Some(PdType::Sensors));
        assert_eq!(PdType::from_bits(3), None);
    }
}

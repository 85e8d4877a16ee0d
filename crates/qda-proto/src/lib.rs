//! The FastRPC wire protocol, as the host driver and the DSP firmware speak it.
//!
//! This crate is pure: no I/O, no `unsafe`, `no_std` with `alloc`. It owns
//! every byte that crosses the rpmsg channel between the driver and a DSP:
//!
//! * [`scalars`]: the 32-bit "scalars" word (`sc`) that describes a call's
//!   method and argument counts;
//! * [`msg`]: the 40-byte invoke message, the 16-byte response and the context
//!   id encoding (`index << shift | pd`);
//! * [`handles`]: static handle numbers and method ids (process management,
//!   capabilities, remotectl, listener, current process);
//! * [`bodies`]: the request/response structs carried as arguments of the
//!   kernel-originated calls, and [`bodies::KernelCall`] to build them;
//! * [`payload`]: the payload buffer (metadata + inline arguments): [`payload::Plan`]
//!   packs it exactly as the kernel does, [`payload::decode`] is the DSP's view,
//!   [`payload::Plan::unpack`] copies outputs back refusing DSP overflows;
//! * [`revbuf`]: the reverse-RPC (listener) buffer format.
//!
//! Where the upstream driver has a known defect that would corrupt data, this
//! crate implements the fixed behaviour and says so at the place it differs
//! (see `docs/PROTOCOL.md` in the repository).
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod bodies;
pub mod error;
pub mod handles;
pub mod msg;
pub mod payload;
pub mod revbuf;
pub mod scalars;

pub use error::ProtoError;
pub use msg::{CtxLayout, FastrpcMsg, InvokeRsp, PdType};
pub use payload::{ArgDesc, Decoded, DecodedArg, PhyPage, Plan, decode};
pub use scalars::Scalars;

/// Page size the wire format is defined in (Hexagon and the host driver both
/// use 4 KiB pages for payload page descriptors).
pub const PAGE_SIZE: u64 = 4096;
/// Mask clearing the in-page offset.
pub const PAGE_MASK: u64 = !(PAGE_SIZE - 1);

/// Number of 4 KiB pages `[addr, addr + len)` touches (`len > 0`): the
/// kernel's `pg_end - pg_start + 1`. `None` if the range wraps.
#[inline]
pub(crate) fn pages_spanned(addr: u64, len: u64) -> Option<u64> {
    debug_assert!(len > 0);
    let last = addr.checked_add(len - 1)?;
    Some((last >> 12) - (addr >> 12) + 1)
}

/// Round `v` up to a multiple of `a` (a power of two), `None` on overflow.
#[inline]
pub(crate) fn align_up(v: u64, a: u64) -> Option<u64> {
    debug_assert!(a.is_power_of_two());
    Some(v.checked_add(a - 1)? & !(a - 1))
}

//! Byte-exact Rust definitions of the Linux UAPIs the QDA project speaks.
//!
//! # Scope
//!
//! | module | UAPI | device |
//! |---|---|---|
//! | [`qda`] | QDA accel driver (`drm/qda_accel.h`), May 2026 posting by default, Feb 2026 RFC in [`qda::rfc2026`] | `/dev/accel/accelN` |
//! | [`drm`] | DRM core subset: VERSION, GET_CAP, GEM_CLOSE, PRIME | `/dev/accel/accelN` |
//! | [`fastrpc`] | legacy FastRPC misc driver (`misc/fastrpc.h`) + driver/userspace constants | `/dev/fastrpc-*` |
//! | [`dma_heap`] | dma-heap allocation (`linux/dma-heap.h`) | `/dev/dma_heap/*` |
//! | [`dma_buf`] | dma-buf fd ioctls (`linux/dma-buf.h`) | any dma-buf fd |
//! | [`udmabuf`] | memfd → dma-buf (`linux/udmabuf.h`) | `/dev/udmabuf` |
//! | [`aee`] | AEE status codes exchanged with the DSP (libfastrpc `AEEStdErr.h`) | — |
//! | [`ioctl`] | `const fn` `_IOC` encoder/decoders (x86_64/arm64 layout) | — |
//!
//! Every argument struct is `#[repr(C)]` and derives zerocopy's `FromBytes`,
//! `IntoBytes`, `KnownLayout` and `Immutable`, so it can be read from / written to
//! a byte buffer without `unsafe`. zerocopy's `IntoBytes` derive rejects implicit
//! padding, so every hole a C compiler would insert is an explicit field here
//! (`pad`, documented "write 0"; "must be zero" where the kernel checks it).
//! Every ioctl number is a `pub const u32` computed with [`ioctl`] from the
//! struct's `size_of`, so a layout mistake would also change the number.
//!
//! Only LP64 targets (x86_64, aarch64) are meant; the ioctl encoding and
//! pointer-sized fields (`drm_version`) assume them.
//!
//! # Verification
//!
//! 1. Unit tests beside each module assert `size_of`, `align_of` and every field
//!    offset against literal numbers, and every ioctl number against a literal
//!    hex value plus an `_IOC_NR`/`_IOC_SIZE` round trip.
//! 2. A throw-away C probe compiled with gcc printed `sizeof`/`offsetof` and ioctl
//!    numbers from the real installed headers (Debian `linux-libc-dev` 6.1:
//!    `misc/fastrpc.h`, `linux/dma-heap.h`, `linux/dma-buf.h`,
//!    `linux/udmabuf.h`), from libdrm 2.4.114 `drm.h`, and from hand-written
//!    declarations for items with no installed header (QDA, FastRPC additions
//!    newer than 6.1). The comparison, and the upstream file, commit or mail each
//!    hand-written item was read from, is recorded in `VERIFIED.md` in this crate.
//! 3. The QDA UAPI is not merged upstream; its definitions can only be checked
//!    against the posted patches (`VERIFIED.md` gives their message ids), not
//!    against a header.
#![no_std]

pub mod aee;
pub mod dma_buf;
pub mod dma_heap;
pub mod drm;
pub mod fastrpc;
pub mod ioctl;
pub mod qda;
pub mod remote;
pub mod udmabuf;

//! The QDA driver model in userspace.
//!
//! What the kernel would be for one board: devices from a device tree
//! ([`platform`]), context banks with an SMMU model ([`smmu`]), memory
//! backends ([`mem`]), GEM objects ([`gem`]), dma-bufs that are real file
//! descriptors ([`dmabuf`]), a DMA-API debug checker ([`dmadebug`]), and the
//! raw UAPI entry ([`ioctl`]) that answers every ioctl as the kernel does,
//! errno for errno.
//!
//! The driver instance is [`driver`] (board, heaps, nodes, counts) with
//! its domains in [`domain`]; an open file is [`file`](mod@file); the operations on a
//! file live by subsystem: [`gem_ops`], [`prime`], [`heap`], [`udmabuf`],
//! and [`invoke`] over the FastRPC call path of [`rpc`] and the channel of
//! [`fastrpc`]. A module only uses the modules below it (`tests/layout.rs`
//! checks that there are no cycles). The OS edge (errors, mappings, fds) is
//! the `qda-os` crate, re-exported at [`errno`] and [`sys`].
#![warn(missing_docs)]

pub mod dmabuf;
pub mod dmadebug;
pub mod domain;
pub mod driver;
pub mod errno;
pub mod fastrpc;
pub mod file;
pub mod gem;
pub mod gem_ops;
pub mod heap;
pub mod invoke;
pub mod ioctl;
pub mod mem;
pub mod platform;
mod poll;
pub mod prime;
mod quota;
pub mod rpc;
pub mod smmu;
mod sync;
pub mod sys;
pub mod udmabuf;
pub mod usermem;

pub use domain::DspDomain;
pub use driver::{Creds, Driver, DriverConfig, Heap, Node, NodeRole, Stats};
pub use errno::{Errno, OsError, Result};
pub use file::{AccelState, FastrpcState, File, FileKind};
pub use platform::Platform;
pub use usermem::{LentMemory, LocalMemory, Place, SegmentMemory, SharedBytes, UserMemory};

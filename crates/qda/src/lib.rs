//! The qda client library: FastRPC offload to Hexagon DSPs with one API,
//! whether the DSP is real (a kernel's QDA accel node) or emulated (the
//! embedded platform in this process).
//!
//! ```no_run
//! use qda::{Arg, Device, Domain};
//! let dev = Device::open(Domain::Cdsp)?;
//! let session = dev.session()?;
//! let calc = session.open("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0")?;
//! let buf = dev.alloc(4000)?;
//! buf.write(0, &(0..1000i32).flat_map(i32::to_le_bytes).collect::<Vec<_>>())?;
//! let mut sum = [0u8; 8];
//! calc.invoke(2, &mut [Arg::In(&1000u32.to_le_bytes()), Arg::buf_in(&buf, 0, 4000), Arg::Out(&mut sum)])?;
//! assert_eq!(i64::from_le_bytes(sum), 499_500);
//! # Ok::<(), qda::Error>(())
//! ```
//!
//! On a domain with no accel node the library falls back to the legacy
//! `/dev/fastrpc-<domain>[-secure]` node ([`Uapi::Fastrpc`]): sessions by
//! `INIT_CREATE`, buffers from `ALLOC_DMA_BUFF`, invokes by
//! `FASTRPC_IOCTL_INVOKE`, persistent maps by `MEM_MAP`.
//!
//! The library speaks only the raw UAPI (ioctls on the device node), through
//! [`sys::Syscalls`]: real syscalls for the kernel backend, the embedded
//! driver's raw entry point for the embedded backend, or a qdad connection. Backends are chosen
//! automatically (a kernel node that answers QUERY with the domain's name,
//! else a running `qdad` found through `QDA_SOCKET` or its default socket,
//! else the embedded platform) or forced with
//! `QDA_BACKEND=kernel|daemon|embedded` or [`Device::open_on`].

pub mod backend;
pub mod bench;
mod buffer;
mod device;
mod domain;
#[cfg(feature = "embedded")]
mod embedded;
mod error;
mod os;
mod raw;
mod session;
mod shared;
pub mod sys;

pub use backend::{Backend, BackendInfo, Board, DaemonInfo, select};
pub use buffer::Buffer;
pub use device::Device;
pub use domain::{Domain, UnknownDomain};
#[cfg(feature = "embedded")]
pub use embedded::{embedded_platform, embedded_platform_with};
pub use error::Error;
pub use os::{Errno, OsError};
pub use raw::FdMap;
pub use session::{Arg, RemoteHandle, RemoteMap, Session, SessionOptions};
pub use shared::Uapi;

//! A virtual Hexagon DSP for one domain of a [`qda_driver::Driver`].
//!
//! It receives the 40-byte FastRPC messages of its domain's channel, reads
//! each payload **only through the SMMU translation** of the context bank the
//! payload address names (a bad address is a reported SMMU fault and an error
//! for that call; the DSP goes on), decodes it with `qda_proto`, and serves:
//!
//! | handle | interface | what |
//! |---|---|---|
//! | 1 | process management | attach, create (shell must be an ELF), release |
//! | 2 | DSP utilities | capability query |
//! | 0, 8 | remotectl, remotectl1 | open / close of skel modules by URI |
//! | 4 | current process | exit (wakes the listener) |
//! | 3, 7 | listener | init2; next2 blocks until the process exits, then `AEE_EBADSTATE` |
//! | others | the process's open modules | `<X>_skel_handle_invoke(h, sc, remote_arg *)` |
//!
//! User PDs are child processes by default, one PD host per PD ([`pd_host`]:
//! a crashing skel takes down its PD only); `QDA_PD_MODE=thread`
//! ([`PdMode::Thread`]) runs them as threads of this process instead. In
//! both, skels are loaded with `RTLD_DEEPBIND` and get pointers into shared
//! mappings of the client's buffers, so nothing is copied. Skels can also be
//! written in Rust ([`skel`]); those run in this process.
//!
//! Layout: `dsp` (the message path), `handles` (a file per static handle,
//! one table), `module` (open modules behind one trait), `process`,
//! `state`, `memory` (arguments as the DSP's MMU sees them), `pd` and
//! `pd_host` (the two ends of a PD process; `pd_wire` their messages),
//! `libsearch` (where a URI's library name may lead: inside the search
//! path only), `loader` (`unsafe`: dlopen and calls into C skels; the
//! other `unsafe` modules are `pd_host::sandbox`, the PD host's syscalls,
//! and `runtime`, the DSP runtime skels link against), `fdtable` (a PD's
//! buffers by fd: the handle arguments of its calls, for `HAP_mmap_get`),
//! [`farf`] (where a skel's FARF lines go).
//!
//! A skel's handle arguments (`dmahandle`) arrive as `remote_arg.dma`
//! `{fd, offset, len}`, the client's values; the skel reaches the buffer
//! with `HAP_mmap_get(fd)` (see `docs/FASTRPC.md`, "What a skel sees").

pub mod aee;
mod config;
mod dsp;
mod embedded;
mod error;
pub mod farf;
mod fdtable;
mod handles;
mod libsearch;
pub mod loader;
mod memory;
mod module;
pub mod pd;
pub mod pd_host;
mod pd_wire;
mod process;
mod reverse;
mod runtime;
pub mod skel;
mod state;
mod uri;

pub use config::{PdMode, builtin_skel_dir, capabilities, library_path};
pub use dsp::{ErrorTracer, VirtualDsp};
pub use embedded::Embedded;
pub use error::{DspError, DspResult};
pub use pd_host::pd_host_path;
pub use uri::ModuleUri;

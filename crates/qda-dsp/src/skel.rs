//! Skels written in Rust.
//!
//! Implement [`Skel`] and register it with [`crate::VirtualDsp::register_skel`]
//! under a library name; a remotectl open of a URI naming that library then
//! reaches it instead of `dlopen`. Rust skels run inside the DSP's own
//! process (like modules built into the DSP image), in every PD mode.

use qda_proto::Scalars;

/// The arguments of one call: input buffers, output buffers and handles,
/// in scalars order.
#[derive(Debug)]
pub struct Args {
    /// Input buffers.
    pub inputs: Vec<Vec<u8>>,
    /// Output buffers, sized as the caller declared them.
    pub outputs: Vec<Vec<u8>>,
    /// Handle arguments (`in dmahandle`, then `out dmahandle`).
    pub handles: Vec<Handle>,
}

/// A handle argument (`dmahandle`) as a Rust skel gets it: what a C skel's
/// `remote_arg.dma` says, and a copy of the whole buffer (written back
/// after the call for an output handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    /// The client's fd, as it sent it.
    pub fd: i32,
    /// The offset the client gave.
    pub offset: u32,
    /// The length the client gave.
    pub len: u32,
    /// The whole buffer (empty when the client attached none).
    pub data: Vec<u8>,
}

/// A module implemented in Rust.
pub trait Skel: Send + Sync + std::fmt::Debug {
    /// Method 0: open the module for `uri`; returns the module's handle.
    fn open(&self, _uri: &str) -> Result<u64, i32> {
        Ok(0)
    }
    /// Method 1: close.
    fn close(&self, _handle: u64) -> i32 {
        0
    }
    /// Methods from 2: return 0 or an AEE code.
    fn invoke(&self, handle: u64, sc: Scalars, args: &mut Args) -> i32;
}

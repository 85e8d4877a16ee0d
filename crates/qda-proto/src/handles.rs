//! Static remote handles and their method ids.
//!
//! Handles 0..=9 are served by the DSP's root side without a remotectl open;
//! handle 1 is reserved to the kernel (a user INVOKE on it is refused with
//! `EPERM`). The `…1` interfaces are the "domain" variants whose methods 0
//! and 1 are open/close, so their real methods start at 2.

use crate::Scalars;

/// `remotectl`: open/close of modules by URI (non-domain form).
pub const REMOTECTL: u32 = 0;
/// `FASTRPC_INIT_HANDLE`: process management, kernel-originated only.
pub const INIT: u32 = 1;
/// `FASTRPC_DSP_UTILITIES_HANDLE`: capability query.
pub const DSP_UTILITIES: u32 = 2;
/// `adsp_listener`: reverse-RPC listener (non-domain form).
pub const LISTENER: u32 = 3;
/// `adsp_current_process1`: the calling process (exit, logging, …).
pub const CURRENT_PROCESS: u32 = 4;
/// `adspmsgd_adsp1`: DSP log forwarding.
pub const ADSPMSGD: u32 = 5;
/// `adsp_perf`.
pub const PERF: u32 = 6;
/// `adsp_listener1`: reverse-RPC listener (domain form).
pub const LISTENER1: u32 = 7;
/// `remotectl1`: open/close of modules by URI (domain form).
pub const REMOTECTL1: u32 = 8;
/// `adsp_perf1`.
pub const PERF1: u32 = 9;
/// libfastrpc's `IS_STATIC_HANDLE`: handles 0..=10 are static.
pub const MAX_LIB_STATIC_HANDLE: u32 = 10;
/// The kernel's `FASTRPC_MAX_STATIC_HANDLE` (poll mode applies above it).
pub const MAX_KERNEL_STATIC_HANDLE: u32 = 20;

/// Method ids on [`INIT`] (`FASTRPC_RMID_INIT_*`).
pub mod init {
    /// Attach to the root / sensors PD.
    pub const ATTACH: u8 = 0;
    /// Release the process of a client id.
    pub const RELEASE: u8 = 1;
    /// Map kernel-allocated pages into the process (legacy MMAP).
    pub const MMAP: u8 = 4;
    /// Undo [`MMAP`].
    pub const MUNMAP: u8 = 5;
    /// Create a user PD.
    pub const CREATE: u8 = 6;
    /// Create a user PD with process attributes.
    pub const CREATE_ATTR: u8 = 7;
    /// Create (attach to) a static PD by name.
    pub const CREATE_STATIC: u8 = 8;
    /// Map a dma-buf into the process (fd-based).
    pub const MEM_MAP: u8 = 10;
    /// Undo [`MEM_MAP`].
    pub const MEM_UNMAP: u8 = 11;
}

/// Method ids on [`DSP_UTILITIES`].
pub mod dsp_utilities {
    /// Query the DSP attribute table: in `u32 len` (255), out `u32[len]`.
    pub const CAPABILITY: u8 = 0;
}

/// Method ids on [`REMOTECTL`] (handle 0).
pub mod remotectl {
    /// Open a module by URI.
    pub const OPEN: u8 = 0;
    /// Close a module handle.
    pub const CLOSE: u8 = 1;
}

/// Method ids on [`REMOTECTL1`] (handle 8).
pub mod remotectl1 {
    /// Open a module by URI.
    pub const OPEN1: u8 = 2;
    /// Close a module handle.
    pub const CLOSE1: u8 = 3;
    /// Grow the process heap.
    pub const GROW_HEAP: u8 = 4;
    /// Set a parameter.
    pub const SET_PARAM: u8 = 5;
}

/// Method ids on [`CURRENT_PROCESS`] (handle 4).
pub mod current_process {
    /// The process is going away: the DSP releases a blocked listener.
    pub const EXIT: u8 = 2;
    /// A thread exits.
    pub const THREAD_EXIT: u8 = 3;
    /// Set logging parameters.
    pub const SET_LOGGING_PARAMS: u8 = 4;
    /// Report an exception.
    pub const EXCEPTION: u8 = 7;
    /// Set logging parameters (v2).
    pub const SET_LOGGING_PARAMS2: u8 = 8;
    /// Poll-mode control.
    pub const POLL_MODE: u8 = 9;
    /// Enable status notifications.
    pub const ENABLE_NOTIFICATIONS: u8 = 10;
    /// Configure panic error codes.
    pub const PANIC_ERR_CODES: u8 = 11;
}

/// Method ids on [`LISTENER1`] (handle 7).
pub mod listener1 {
    /// Fetch the next reverse request (v1).
    pub const NEXT_INVOKE: u8 = 2;
    /// Fetch the rest of a request's input buffers (v1).
    pub const INVOKE_GET_IN_BUFS: u8 = 3;
    /// Register the listener (v1).
    pub const INIT: u8 = 4;
    /// Register the listener.
    pub const INIT2: u8 = 5;
    /// Return the previous reply and block for the next request.
    pub const NEXT2: u8 = 6;
    /// Fetch the rest of a request's input buffers.
    pub const GET_IN_BUFS2: u8 = 7;
}

/// Method ids on [`LISTENER`] (handle 3, non-domain form).
pub mod listener {
    /// Fetch the next reverse request (v1).
    pub const NEXT_INVOKE: u8 = 0;
    /// Fetch the rest of a request's input buffers (v1).
    pub const INVOKE_GET_IN_BUFS: u8 = 1;
    /// Register the listener (v1).
    pub const INIT: u8 = 2;
    /// Register the listener.
    pub const INIT2: u8 = 3;
    /// Return the previous reply and block for the next request.
    pub const NEXT2: u8 = 4;
    /// Fetch the rest of a request's input buffers.
    pub const GET_IN_BUFS2: u8 = 5;
}

/// The scalars of every fixed-shape call, as the kernel and libfastrpc send them.
pub mod sc {
    use super::*;

    /// INIT ATTACH: in `client_id`.
    pub const INIT_ATTACH: Scalars = Scalars::make(init::ATTACH, 1, 0);
    /// INIT RELEASE: in `client_id`.
    pub const INIT_RELEASE: Scalars = Scalars::make(init::RELEASE, 1, 0);
    /// INIT MMAP: in request, in page; out response.
    pub const INIT_MMAP: Scalars = Scalars::make(init::MMAP, 2, 1);
    /// INIT MUNMAP: in request.
    pub const INIT_MUNMAP: Scalars = Scalars::make(init::MUNMAP, 1, 0);
    /// INIT CREATE: in inbuf, name, file, pages.
    pub const INIT_CREATE: Scalars = Scalars::make(init::CREATE, 4, 0);
    /// INIT CREATE_ATTR as current kernels send it (4 inbufs).
    pub const INIT_CREATE_ATTR: Scalars = Scalars::make(init::CREATE_ATTR, 4, 0);
    /// INIT CREATE_ATTR as older kernels sent it (6 inbufs: + attrs, siglen).
    pub const INIT_CREATE_ATTR_OLD: Scalars = Scalars::make(init::CREATE_ATTR, 6, 0);
    /// INIT CREATE_STATIC: in inbuf, name, pages.
    pub const INIT_CREATE_STATIC: Scalars = Scalars::make(init::CREATE_STATIC, 3, 0);
    /// INIT MEM_MAP: in request, page, empty; out response.
    pub const INIT_MEM_MAP: Scalars = Scalars::make(init::MEM_MAP, 3, 1);
    /// INIT MEM_UNMAP: in request.
    pub const INIT_MEM_UNMAP: Scalars = Scalars::make(init::MEM_UNMAP, 1, 0);
    /// DSP utilities capability query: in `u32 len`, out `u32[len]`.
    pub const DSP_CAPABILITY: Scalars = Scalars::make(dsp_utilities::CAPABILITY, 1, 1);
    /// remotectl1 open1: in `{name_len, dlerr_len}`, URI; out `{handle, dlerr}`, error text.
    pub const REMOTECTL1_OPEN1: Scalars = Scalars::make(remotectl1::OPEN1, 2, 2);
    /// remotectl1 close1: in `{handle, dlerr_len}`; out `dlerr`, error text.
    pub const REMOTECTL1_CLOSE1: Scalars = Scalars::make(remotectl1::CLOSE1, 1, 2);
    /// remotectl open (handle 0), same shape as open1.
    pub const REMOTECTL_OPEN: Scalars = Scalars::make(remotectl::OPEN, 2, 2);
    /// remotectl close (handle 0), same shape as close1.
    pub const REMOTECTL_CLOSE: Scalars = Scalars::make(remotectl::CLOSE, 1, 2);
    /// current_process1 exit.
    pub const CURRENT_PROCESS_EXIT: Scalars = Scalars::make(current_process::EXIT, 0, 0);
    /// listener1 init2.
    pub const LISTENER1_INIT2: Scalars = Scalars::make(listener1::INIT2, 0, 0);
    /// listener1 next2.
    pub const LISTENER1_NEXT2: Scalars = Scalars::make(listener1::NEXT2, 2, 2);
    /// listener1 get_in_bufs2.
    pub const LISTENER1_GET_IN_BUFS2: Scalars = Scalars::make(listener1::GET_IN_BUFS2, 1, 2);
    /// listener (handle 3) init2.
    pub const LISTENER_INIT2: Scalars = Scalars::make(listener::INIT2, 0, 0);
    /// listener (handle 3) next2.
    pub const LISTENER_NEXT2: Scalars = Scalars::make(listener::NEXT2, 2, 2);
    /// listener (handle 3) get_in_bufs2.
    pub const LISTENER_GET_IN_BUFS2: Scalars = Scalars::make(listener::GET_IN_BUFS2, 1, 2);
}

#[cfg(test)]
mod tests {
    use super::sc::*;

    #[test]
    fn kernel_scalars_match_the_reference() {
        // The values the kernel puts on the wire: FASTRPC_SCALARS() of the
        // remote method ids in Linux drivers/misc/fastrpc.c (7.0-cycle mainline;
        // fastrpc_init_attach(), fastrpc_init_create_process(),
        // fastrpc_req_mmap(), fastrpc_req_mem_map(), fastrpc_get_info_from_dsp()
        // ...). CREATE_ATTR used 6 in-buffers before commit 0b4e32df3e09
        // ("misc: fastrpc: Create fastrpc scalar with correct buffer count").
        assert_eq!(INIT_ATTACH.0, 0x0001_0000);
        assert_eq!(INIT_RELEASE.0, 0x0101_0000);
        assert_eq!(INIT_MMAP.0, 0x0402_0100);
        assert_eq!(INIT_MUNMAP.0, 0x0501_0000);
        assert_eq!(INIT_CREATE.0, 0x0604_0000);
        assert_eq!(INIT_CREATE_ATTR.0, 0x0704_0000);
        assert_eq!(INIT_CREATE_ATTR_OLD.0, 0x0706_0000);
        assert_eq!(INIT_CREATE_STATIC.0, 0x0803_0000);
        assert_eq!(INIT_MEM_MAP.0, 0x0a03_0100);
        assert_eq!(INIT_MEM_UNMAP.0, 0x0b01_0000);
        assert_eq!(DSP_CAPABILITY.0, 0x0001_0100);
    }

    #[test]
    fn library_scalars_match_the_reference() {
        // libfastrpc (qualcomm/fastrpc 29851fde11d4) generated stubs: method ids
        // in src/remotectl1_stub.c (open1 2, close1 3),
        // src/adsp_current_process1_stub.c (exit 2) and src/adsp_listener1_stub.c
        // (init2 5, next2 6, get_in_bufs2 7), with their in/out buffer counts.
        assert_eq!(REMOTECTL1_OPEN1.0, 0x0202_0200);
        assert_eq!(REMOTECTL1_CLOSE1.0, 0x0301_0200);
        assert_eq!(CURRENT_PROCESS_EXIT.0, 0x0200_0000);
        assert_eq!(LISTENER1_INIT2.0, 0x0500_0000);
        assert_eq!(LISTENER1_NEXT2.0, 0x0602_0200);
        assert_eq!(LISTENER1_GET_IN_BUFS2.0, 0x0701_0200);
    }
}

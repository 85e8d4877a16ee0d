//! libadsprpc's C API (`remote.h`, `rpcmem.h`) over the qda client library,
//! so FastRPC C code builds and runs on qda unchanged.
//!
//! This crate is the implementation; the C libraries are four small crates
//! that export it with [`export_c_api!`], each with its default domain as
//! the originals have: `qda-rpc` (`libqda_rpc.so`/`.a`, installed as
//! `libqda-rpc.so`; CDSP), `adsprpc` (ADSP), `cdsprpc` (CDSP), `sdsprpc`
//! (SDSP). The backend is the library's: `QDA_BACKEND`, else a kernel node,
//! else a running qdad, else the embedded platform.
//!
//! Layout: `api` (one function per C function), `state` (sessions opened
//! with the first module of a domain and closed with its last; handles;
//! fork), `args` (`remote_arg` → driver descriptors; registered buffers and
//! dma handles), `mem` (rpcmem, maps), `control` (handle and session
//! control requests), `domains` (domain and session ids, URI parameters),
//! `errors` (AEE codes, errno translation), `listener` (the session's
//! listener thread and its CPU-side modules), `apps_std` (the file and
//! environment service the DSP calls through it), `ffi` (the C layouts and the
//! crate's pointer reads: its only `unsafe`, with `api` and `control`, which
//! read C structs).
//! See `docs/C-API.md` for the API table and what differs from libadsprpc.

pub mod api;
mod apps_std;
mod args;
mod control;
pub mod domains;
mod errors;
pub mod ffi;
mod listener;
mod mem;
mod state;

pub use errors::Aee;

/// Export the C API from a `cdylib`/`staticlib` crate, with `$default` as
/// the library's default domain id (ADSP 0, SDSP 2, CDSP 3).
#[macro_export]
macro_rules! export_c_api {
    ($default:expr) => {
        const _QDA_DEFAULT_DOMAIN: u32 = $default;
        $crate::export_c_api!(@fns
            remote_handle_open(name: *const ::std::ffi::c_char, ph: *mut u32) -> ::std::ffi::c_int;
            remote_handle64_open(name: *const ::std::ffi::c_char, ph: *mut u64) -> ::std::ffi::c_int;
            remote_handle_invoke(h: u32, sc: u32, pra: *mut $crate::ffi::CArg) -> ::std::ffi::c_int;
            remote_handle64_invoke(h: u64, sc: u32, pra: *mut $crate::ffi::CArg) -> ::std::ffi::c_int;
            remote_handle_close(h: u32) -> ::std::ffi::c_int;
            remote_handle64_close(h: u64) -> ::std::ffi::c_int;
            remote_handle_control(req: u32, data: *mut ::std::ffi::c_void, len: u32) -> ::std::ffi::c_int;
            remote_handle64_control(h: u64, req: u32, data: *mut ::std::ffi::c_void, len: u32) -> ::std::ffi::c_int;
            remote_session_control(req: u32, data: *mut ::std::ffi::c_void, len: u32) -> ::std::ffi::c_int;
            remote_mmap(fd: ::std::ffi::c_int, flags: u32, vaddrin: u32, size: ::std::ffi::c_int, out: *mut u32) -> ::std::ffi::c_int;
            remote_munmap(vaddrout: u32, size: ::std::ffi::c_int) -> ::std::ffi::c_int;
            remote_mmap64(fd: ::std::ffi::c_int, flags: u32, vaddrin: u64, size: i64, out: *mut u64) -> ::std::ffi::c_int;
            remote_munmap64(vaddrout: u64, size: i64) -> ::std::ffi::c_int;
            remote_mem_map(domain: ::std::ffi::c_int, fd: ::std::ffi::c_int, flags: ::std::ffi::c_int, vaddr: u64, size: usize, raddr: *mut u64) -> ::std::ffi::c_int;
            remote_mem_unmap(domain: ::std::ffi::c_int, raddr: u64, size: usize) -> ::std::ffi::c_int;
            fastrpc_mmap(domain: ::std::ffi::c_int, fd: ::std::ffi::c_int, addr: *mut ::std::ffi::c_void, offset: ::std::ffi::c_int, length: usize, flags: ::std::ffi::c_int) -> ::std::ffi::c_int;
            fastrpc_munmap(domain: ::std::ffi::c_int, fd: ::std::ffi::c_int, addr: *mut ::std::ffi::c_void, length: usize) -> ::std::ffi::c_int;
            remote_register_buf(buf: *mut ::std::ffi::c_void, size: ::std::ffi::c_int, fd: ::std::ffi::c_int) -> ();
            remote_register_buf_attr(buf: *mut ::std::ffi::c_void, size: ::std::ffi::c_int, fd: ::std::ffi::c_int, attr: ::std::ffi::c_int) -> ();
            remote_register_buf_attr2(buf: *mut ::std::ffi::c_void, size: usize, fd: ::std::ffi::c_int, attr: ::std::ffi::c_int) -> ();
            remote_register_dma_handle(fd: ::std::ffi::c_int, len: u32) -> ::std::ffi::c_int;
            remote_register_dma_handle_attr(fd: ::std::ffi::c_int, len: u32, attr: u32) -> ::std::ffi::c_int;
            remote_register_fd(fd: ::std::ffi::c_int, size: ::std::ffi::c_int) -> *mut ::std::ffi::c_void;
            remote_register_fd2(fd: ::std::ffi::c_int, size: usize) -> *mut ::std::ffi::c_void;
            rpcmem_alloc(heapid: ::std::ffi::c_int, flags: u32, size: ::std::ffi::c_int) -> *mut ::std::ffi::c_void;
            rpcmem_alloc2(heapid: ::std::ffi::c_int, flags: u32, size: usize) -> *mut ::std::ffi::c_void;
            rpcmem_free(po: *mut ::std::ffi::c_void) -> ();
            rpcmem_to_fd(po: *mut ::std::ffi::c_void) -> ::std::ffi::c_int;
        );

        /// `rpcmem_init`: nothing to do (the allocator starts on first use).
        #[unsafe(no_mangle)]
        pub extern "C" fn rpcmem_init() {
            $crate::api::rpcmem_init(_QDA_DEFAULT_DOMAIN)
        }
        /// `rpcmem_deinit`: nothing to do.
        #[unsafe(no_mangle)]
        pub extern "C" fn rpcmem_deinit() {
            $crate::api::rpcmem_deinit(_QDA_DEFAULT_DOMAIN)
        }
        /// Asynchronous invokes are not offered: `AEE_EUNSUPPORTED`.
        #[unsafe(no_mangle)]
        pub extern "C" fn remote_handle_invoke_async(_h: u32, _desc: *mut ::std::ffi::c_void, _sc: u32, _pra: *mut $crate::ffi::CArg) -> ::std::ffi::c_int {
            $crate::api::unsupported()
        }
        /// Asynchronous invokes are not offered: `AEE_EUNSUPPORTED`.
        #[unsafe(no_mangle)]
        pub extern "C" fn remote_handle64_invoke_async(_h: u64, _desc: *mut ::std::ffi::c_void, _sc: u32, _pra: *mut $crate::ffi::CArg) -> ::std::ffi::c_int {
            $crate::api::unsupported()
        }
        /// No asynchronous jobs exist: `AEE_EUNSUPPORTED`.
        #[unsafe(no_mangle)]
        pub extern "C" fn fastrpc_async_get_status(_job: u64, _timeout_us: ::std::ffi::c_int, _result: *mut ::std::ffi::c_int) -> ::std::ffi::c_int {
            $crate::api::unsupported()
        }
        /// No asynchronous jobs exist: `AEE_EUNSUPPORTED`.
        #[unsafe(no_mangle)]
        pub extern "C" fn fastrpc_release_async_job(_job: u64) -> ::std::ffi::c_int {
            $crate::api::unsupported()
        }
    };
    (@fns $( $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        $(
            #[doc = concat!("`", stringify!($name), "` of `remote.h`/`rpcmem.h` (see `docs/C-API.md`).")]
            ///
            /// # Safety
            /// As the C API documents: pointers valid for what they describe.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
                // SAFETY: the C caller's contract, forwarded unchanged.
                unsafe { $crate::api::$name(_QDA_DEFAULT_DOMAIN, $($arg),*) }
            }
        )*
    };
}

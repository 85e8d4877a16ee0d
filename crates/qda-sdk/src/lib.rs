//! The C SDK of qda: the headers a C application, a qaic-generated stub or a
//! skel compiles against.
//!
//! The files live in `include/` of this crate:
//!
//! | header | what |
//! |---|---|
//! | `remote.h` | the FastRPC application API: handles, invoke, control requests, mappings, domains |
//! | `rpcmem.h` | shared-memory allocation (`rpcmem_alloc` …) |
//! | `AEEStdErr.h` | the AEE status codes |
//! | `AEEStdDef.h` | the basic types generated code is written in |
//!
//! Other headers (the DSP-side `HAP_*.h`) are added by dropping them into
//! `include/`: the build script lists every `include/*.h` into [`HEADERS`].
//!
//! Names, values, layouts and prototypes are facts of upstream libfastrpc
//! (`qualcomm/fastrpc`, commit 29851fde11d4; each header says where its facts
//! come from); the text is ours. `qda_uapi::remote` mirrors every struct and
//! constant of the application headers in Rust, and `tests/abi.rs` compiles a
//! C file that checks the headers against that mirror (sizes, field offsets,
//! constants, AEE codes, string macros, the scalars macros), and fails when a
//! struct or constant of a header is not in the mirror, or when a function
//! of a header is not in [`FUNCTIONS`].
//!
//! The C library that implements these functions is `qda-rpc`.
#![forbid(unsafe_code)]

use std::path::Path;

/// Every `include/*.h` as (file name, text), sorted by name.
pub const HEADERS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/headers.rs"));

/// Every function the application headers declare, as (header, name): what
/// a library implementing the SDK must export (`rpcmem_alloc_def` is a
/// `static inline` in the header, not a symbol). `tests/abi.rs` checks the
/// list against the headers both ways.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("remote.h", "remote_handle_open"),
    ("remote.h", "remote_handle64_open"),
    ("remote.h", "remote_handle_invoke"),
    ("remote.h", "remote_handle64_invoke"),
    ("remote.h", "remote_handle_close"),
    ("remote.h", "remote_handle64_close"),
    ("remote.h", "remote_handle_control"),
    ("remote.h", "remote_handle64_control"),
    ("remote.h", "remote_session_control"),
    ("remote.h", "remote_handle_invoke_async"),
    ("remote.h", "remote_handle64_invoke_async"),
    ("remote.h", "fastrpc_async_get_status"),
    ("remote.h", "fastrpc_release_async_job"),
    ("remote.h", "remote_mmap"),
    ("remote.h", "remote_munmap"),
    ("remote.h", "remote_mem_map"),
    ("remote.h", "remote_mem_unmap"),
    ("remote.h", "remote_mmap64"),
    ("remote.h", "remote_munmap64"),
    ("remote.h", "fastrpc_mmap"),
    ("remote.h", "fastrpc_munmap"),
    ("remote.h", "remote_register_buf"),
    ("remote.h", "remote_register_buf_attr"),
    ("remote.h", "remote_register_buf_attr2"),
    ("remote.h", "remote_register_dma_handle"),
    ("remote.h", "remote_register_dma_handle_attr"),
    ("remote.h", "remote_register_fd"),
    ("remote.h", "remote_register_fd2"),
    ("rpcmem.h", "rpcmem_init"),
    ("rpcmem.h", "rpcmem_deinit"),
    ("rpcmem.h", "rpcmem_alloc"),
    ("rpcmem.h", "rpcmem_alloc2"),
    ("rpcmem.h", "rpcmem_free"),
    ("rpcmem.h", "rpcmem_to_fd"),
];

/// Every function the skel-side headers declare, as (header, name): what
/// the virtual DSP's runtime provides to skels (`qda-dsp`'s runtime test
/// checks each resolves once the runtime is loaded; `tests/abi.rs` checks
/// the list against the headers both ways).
pub const DSP_FUNCTIONS: &[(&str, &str)] = &[
    ("HAP_debug.h", "HAP_debug_v2"),
    ("HAP_debug.h", "HAP_debug_runtime"),
    ("HAP_debug.h", "HAP_debug"),
    ("HAP_perf.h", "HAP_perf_get_time_us"),
    ("HAP_perf.h", "HAP_perf_get_qtimer_count"),
    ("HAP_perf.h", "HAP_perf_qtimer_count_to_us"),
    ("HAP_perf.h", "HAP_perf_get_pcycles"),
    ("HAP_perf.h", "HAP_timer_sleep"),
    ("HAP_mem.h", "HAP_malloc"),
    ("HAP_mem.h", "HAP_free"),
    ("HAP_mem.h", "HAP_mmap_get"),
    ("HAP_mem.h", "HAP_mmap_put"),
    ("HAP_mem.h", "HAP_mmap"),
    ("HAP_mem.h", "HAP_mmap2"),
    ("HAP_mem.h", "HAP_munmap"),
    ("HAP_mem.h", "HAP_munmap2"),
];

/// Functions the headers define inline (no symbol to export).
pub const INLINE_FUNCTIONS: &[(&str, &str)] = &[("rpcmem.h", "rpcmem_alloc_def")];

/// The directory holding the headers (this crate's `include/`), for `-I`.
pub fn include_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/include"))
}

/// The text of one header, by file name.
pub fn header(name: &str) -> Option<&'static str> {
    HEADERS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_the_files_of_the_include_dir() {
        let mut on_disk: Vec<String> = std::fs::read_dir(include_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".h"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(listed, on_disk);
        for (name, text) in HEADERS {
            assert_eq!(
                *text,
                std::fs::read_to_string(include_dir().join(name)).unwrap(),
                "{name}"
            );
        }
        for name in ["remote.h", "rpcmem.h", "AEEStdErr.h", "AEEStdDef.h"] {
            assert!(header(name).is_some(), "{name} missing");
        }
    }
}

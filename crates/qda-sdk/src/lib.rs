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
//! struct or constant of a header is not in the mirror.
//!
//! The C library that implements these functions is `qda-rpc`.
#![forbid(unsafe_code)]

use std::path::Path;

/// Every `include/*.h` as (file name, text), sorted by name.
pub const HEADERS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/headers.rs"));

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

//! The application-side C SDK of FastRPC (libfastrpc's `remote.h`, `rpcmem.h`,
//! `AEEStdDef.h`, and the non-code constants of `AEEStdErr.h`) in Rust: every
//! struct as a `#[repr(C)]` type, every enum member and numeric `#define` as a
//! `pub const` of the C name, every string macro as a `&str`.
//!
//! Facts (names, values, layouts) from `qualcomm/fastrpc` at commit
//! 29851fde11d4 (`inc/remote.h`, `inc/rpcmem.h`, `inc/AEEStdDef.h`,
//! `inc/AEEStdErr.h`; `GDSP*_DOMAIN_ID` from `inc/fastrpc_common.h`, where
//! that commit moved them from `remote.h`; the short integer names, `TRUE`,
//! `FALSE` and the `MIN_*`/`MAX_*` bounds from `inc/AEEStdDef.h` before commit
//! c5bc6b80b2ca removed them). The AEE codes themselves are in
//! [`crate::aee`]. `VERIFIED.md` records the check.
//!
//! # Layouts
//!
//! The C headers are in `crates/qda-sdk/include`. Pointer fields are `u64`
//! and `size_t` is `u64`: the layouts are those of LP64 Linux targets
//! (x86_64, aarch64), which the assertion below holds the build to. Type
//! names are the C names in Rust style; three would collide with public types
//! of other crates and take a suffix: [`DomainT`] (`domain_t`),
//! [`RemoteBufC`] (`remote_buf`), [`RemoteArgC`] (`remote_arg`).
//!
//! # Tables
//!
//! [`STRUCTS`], [`TYPES`], [`CONSTANTS`] and [`STRINGS`] list what the C
//! headers define, built from the Rust items themselves (`size_of`,
//! `offset_of!`, the constants' values), so they cannot drift from them.
//! `crates/qda-sdk/tests/abi.rs` turns them into `_Static_assert`s and
//! string comparisons compiled against the headers, and fails on any struct
//! or constant of a header that the tables lack.

mod consts;
mod types;

#[cfg(test)]
mod tests;

use core::mem::{align_of, offset_of, size_of};

pub use consts::*;
pub use types::*;

const _: () = assert!(size_of::<usize>() == 8, "qda_uapi::remote describes LP64 layouts only");

/// One C struct or union: every name it goes by, its size and alignment, and
/// its named fields (padding fields of the Rust type are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructLayout {
    /// The header that defines it.
    pub header: &'static str,
    /// Its C spellings: `struct tag` and/or the typedef name.
    pub c_names: &'static [&'static str],
    /// The Rust type's name.
    pub rust_name: &'static str,
    /// `sizeof`.
    pub size: usize,
    /// `_Alignof`.
    pub align: usize,
    /// The C fields.
    pub fields: &'static [FieldLayout],
}

/// One field of a [`StructLayout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    /// The C field name.
    pub name: &'static str,
    /// `offsetof`.
    pub offset: usize,
    /// `sizeof` the field.
    pub size: usize,
}

/// A C scalar type (a typedef of an integer or pointer, or an enum type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeLayout {
    /// The header that defines it.
    pub header: &'static str,
    /// Its C spelling (`remote_handle`, `enum fastrpc_map_flags`).
    pub c_name: &'static str,
    /// `sizeof`.
    pub size: usize,
    /// Whether it is a signed integer; `None` for pointers and enum types
    /// (an enum's signedness is the compiler's choice).
    pub signed: Option<bool>,
}

/// A numeric constant: an enum member or a `#define`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constant {
    /// The header that defines it.
    pub header: &'static str,
    /// The C name.
    pub name: &'static str,
    /// Its value as a C expression evaluates (wide enough for `MAX_UINT64`).
    pub value: i128,
}

/// A string-literal `#define`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringMacro {
    /// The header that defines it.
    pub header: &'static str,
    /// The C name.
    pub name: &'static str,
    /// Its text, without the quotes and with escapes resolved.
    pub value: &'static str,
}

const fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! layout {
    // A struct: field sizes from the fields themselves.
    ($header:literal, $ty:ident, [$($c:literal),+], { $($f:ident => $cf:literal),+ $(,)? }) => {
        StructLayout {
            header: $header,
            c_names: &[$($c),+],
            rust_name: stringify!($ty),
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            fields: &[$(FieldLayout { name: $cf, offset: offset_of!($ty, $f), size: field_size(|s: &$ty| &s.$f) }),+],
        }
    };
    // A union: reading a member is `unsafe`, so each member names its type.
    (union $header:literal, $ty:ident, [$($c:literal),+], { $($f:ident: $ft:ty => $cf:literal),+ $(,)? }) => {
        StructLayout {
            header: $header,
            c_names: &[$($c),+],
            rust_name: stringify!($ty),
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            fields: &[$(FieldLayout { name: $cf, offset: offset_of!($ty, $f), size: size_of::<$ft>() }),+],
        }
    };
}

/// Every struct and union of the application headers.
pub const STRUCTS: &[StructLayout] = &[
    layout!("remote.h", DomainT, ["struct domain", "domain_t"], { id => "id", uri => "uri" }),
    layout!("remote.h", RemoteBufC, ["remote_buf"], { pv => "pv", n_len => "nLen" }),
    layout!("remote.h", RemoteBuf64, ["remote_buf64"], { pv => "pv", n_len => "nLen" }),
    layout!("remote.h", RemoteDmaHandle, ["remote_dma_handle"], { fd => "fd", offset => "offset" }),
    layout!("remote.h", RemoteDmaHandle64, ["remote_dma_handle64"], { fd => "fd", offset => "offset", len => "len" }),
    layout!(union "remote.h", RemoteArgC, ["remote_arg"], {
        buf: RemoteBufC => "buf", h: u32 => "h", h64: u64 => "h64", dma: RemoteDmaHandle => "dma",
    }),
    layout!(union "remote.h", RemoteArg64, ["remote_arg64"], {
        buf: RemoteBuf64 => "buf", h: u32 => "h", h64: u64 => "h64", dma: RemoteDmaHandle64 => "dma",
    }),
    layout!("remote.h", FastrpcAsyncCallback, ["struct fastrpc_async_callback", "fastrpc_async_callback_t"], {
        func => "fn", context => "context",
    }),
    layout!("remote.h", FastrpcAsyncDescriptor, ["struct fastrpc_async_descriptor", "fastrpc_async_descriptor_t"], {
        kind => "type", jobid => "jobid", cb => "cb",
    }),
    layout!("remote.h", RemoteRpcControlLatency, ["struct remote_rpc_control_latency"], {
        enable => "enable", latency => "latency",
    }),
    layout!("remote.h", RemoteDspCapability, ["struct remote_dsp_capability", "fastrpc_capability"], {
        domain => "domain", attribute_id => "attribute_ID", capability => "capability",
    }),
    layout!("remote.h", RemoteRpcControlWakelock, ["struct remote_rpc_control_wakelock"], { enable => "enable" }),
    layout!("remote.h", RemoteRpcGetDomain, ["struct remote_rpc_get_domain", "remote_rpc_get_domain_t"], {
        domain => "domain",
    }),
    layout!("remote.h", RemoteControlCustomPath, ["struct remote_control_custom_path"], {
        value_size => "value_size", path => "path", value => "value",
    }),
    layout!("remote.h", RemoteRpcThreadParams, ["struct remote_rpc_thread_params"], {
        domain => "domain", prio => "prio", stack_size => "stack_size",
    }),
    layout!("remote.h", RemoteRpcControlUnsignedModule, ["struct remote_rpc_control_unsigned_module"], {
        domain => "domain", enable => "enable",
    }),
    layout!("remote.h", RemoteRpcRelativeThreadPriority, ["struct remote_rpc_relative_thread_priority"], {
        domain => "domain", relative_thread_priority => "relative_thread_priority",
    }),
    layout!(
        "remote.h",
        RemoteRpcProcessCleanParams,
        ["struct remote_rpc_process_clean_params", "remote_rpc_process_exception"],
        { domain => "domain" }
    ),
    layout!("remote.h", RemoteRpcSessionClose, ["struct remote_rpc_session_close"], { domain => "domain" }),
    layout!("remote.h", RemoteRpcControlPdDump, ["struct remote_rpc_control_pd_dump"], {
        domain => "domain", enable => "enable",
    }),
    layout!("remote.h", RemoteProcessType, ["struct remote_process_type"], {
        domain => "domain", process_type => "process_type",
    }),
    layout!("remote.h", RemoteRpcNotifRegister, ["struct remote_rpc_notif_register", "remote_rpc_notif_register_t"], {
        context => "context", domain => "domain", notifier_fn => "notifier_fn",
    }),
    layout!("remote.h", RemoteRpcPdInitmemSize, ["struct remote_rpc_pd_initmem_size"], {
        domain => "domain", pd_initmem_size => "pd_initmem_size",
    }),
    layout!(
        "remote.h",
        RemoteRpcReserveNewSession,
        ["struct remote_rpc_reserve_new_session", "remote_rpc_reserve_new_session_t"],
        {
            domain_name => "domain_name", domain_name_len => "domain_name_len",
            session_name => "session_name", session_name_len => "session_name_len",
            effective_domain_id => "effective_domain_id", session_id => "session_id",
        }
    ),
    layout!(
        "remote.h",
        RemoteRpcEffectiveDomainId,
        ["struct remote_rpc_effective_domain_id", "remote_rpc_effective_domain_id_t"],
        {
            domain_name => "domain_name", domain_name_len => "domain_name_len",
            session_id => "session_id", effective_domain_id => "effective_domain_id",
        }
    ),
    layout!("remote.h", RemoteRpcGetUri, ["struct remote_rpc_get_uri", "remote_rpc_get_uri_t"], {
        domain_name => "domain_name", domain_name_len => "domain_name_len", session_id => "session_id",
        module_uri => "module_uri", module_uri_len => "module_uri_len", uri => "uri", uri_len => "uri_len",
    }),
    layout!("remote.h", FastrpcContextCreate, ["struct fastrpc_context_create", "fastrpc_context_create"], {
        effec_domain_ids => "effec_domain_ids", num_domain_ids => "num_domain_ids", flags => "flags", ctx => "ctx",
    }),
    layout!("remote.h", FastrpcContextDestroy, ["struct fastrpc_context_destroy", "fastrpc_context_destroy"], {
        ctx => "ctx", flags => "flags",
    }),
    layout!("AEEStdDef.h", QaicCstring, ["struct _cstring_s", "_cstring_t"], {
        data => "data", data_len => "dataLen", data_len_req => "dataLenReq",
    }),
    layout!("AEEStdDef.h", QaicWstring, ["struct _wstring_s", "_wstring_t"], {
        data => "data", data_len => "dataLen", data_len_req => "dataLenReq",
    }),
];

macro_rules! int {
    ($header:literal, $c:literal, $t:ty) => {
        TypeLayout {
            header: $header,
            c_name: $c,
            size: size_of::<$t>(),
            signed: Some(<$t>::MIN != 0),
        }
    };
}

macro_rules! opaque {
    ($header:literal, $c:literal, $size:expr) => {
        TypeLayout {
            header: $header,
            c_name: $c,
            size: $size,
            signed: None,
        }
    };
}

/// Every scalar typedef and enum type of the application headers.
pub const TYPES: &[TypeLayout] = &[
    int!("remote.h", "remote_handle", u32),
    int!("remote.h", "remote_handle64", u64),
    int!("remote.h", "fastrpc_async_jobid", u64),
    opaque!("remote.h", "fastrpc_notif_fn_t", size_of::<u64>()),
    opaque!("remote.h", "remote_rpc_status_flags_t", size_of::<u32>()),
    opaque!("remote.h", "enum remote_rpc_status_flags", size_of::<u32>()),
    opaque!("remote.h", "enum fastrpc_async_notify_type", size_of::<u32>()),
    opaque!("remote.h", "enum handle_control_req_id", size_of::<u32>()),
    opaque!("remote.h", "enum remote_rpc_latency_flags", size_of::<u32>()),
    opaque!("remote.h", "enum remote_dsp_attributes", size_of::<u32>()),
    opaque!("remote.h", "enum session_control_req_id", size_of::<u32>()),
    opaque!("remote.h", "enum fastrpc_process_type", size_of::<u32>()),
    opaque!("remote.h", "enum remote_mem_map_flags", size_of::<u32>()),
    opaque!("remote.h", "enum fastrpc_map_flags", size_of::<u32>()),
    opaque!("rpcmem.h", "enum rpc_heap_ids", size_of::<u32>()),
    int!("AEEStdDef.h", "boolean", u8),
    int!("AEEStdDef.h", "byte", u8),
    int!("AEEStdDef.h", "uint8", u8),
    int!("AEEStdDef.h", "int8", i8),
    int!("AEEStdDef.h", "uint16", u16),
    int!("AEEStdDef.h", "int16", i16),
    int!("AEEStdDef.h", "uint32", u32),
    int!("AEEStdDef.h", "int32", i32),
    int!("AEEStdDef.h", "uint64", u64),
    int!("AEEStdDef.h", "int64", i64),
    int!("AEEStdDef.h", "AEEUID", u32),
    int!("AEEStdDef.h", "AEEIID", u32),
    int!("AEEStdDef.h", "AEECLSID", u32),
    int!("AEEStdDef.h", "AEEPRIVID", u32),
    int!("AEEStdDef.h", "AECHAR", u16),
    int!("AEEStdDef.h", "AEEResult", i32),
    int!("AEEStdDef.h", "_wchar_t", u16),
];

//! The structs and unions of `remote.h` and `AEEStdDef.h`, `#[repr(C)]`.
//!
//! A C pointer (data or function) is a `u64` holding the address; a C enum
//! member is a `u32` (every enum of these headers fits in an `int`-sized
//! unsigned); a C `int` is `i32`. Where a C compiler inserts padding, the
//! struct has an explicit `pad*` field (write 0), so zerocopy can check that
//! nothing is left implicit. Sizes and offsets are those of LP64 Linux
//! (x86_64, aarch64).

use core::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `domain_t` / `struct domain` — a domain id with its URI suffix.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DomainT {
    /// A `*_DOMAIN_ID`.
    pub id: i32,
    /// `&_dom=<name>` (NUL-terminated; [`super::MAX_DOMAIN_URI_SIZE`] bytes).
    pub uri: [u8; 12],
}

/// `remote_buf` — a buffer argument: address and length.
///
/// Named `RemoteBufC` because `qda_proto` has a `RemoteBuf` (its wire form).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteBufC {
    /// `pv`: CPU address of the bytes (`void *`).
    pub pv: u64,
    /// `nLen`: length in bytes (`size_t`).
    pub n_len: u64,
}

/// `remote_buf64` — a buffer argument with fixed-width fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteBuf64 {
    /// `pv`: CPU address of the bytes.
    pub pv: u64,
    /// `nLen`: length in bytes (`int64_t`).
    pub n_len: i64,
}

/// `remote_dma_handle` — a buffer passed as a dma-buf fd and an offset.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteDmaHandle {
    /// dma-buf fd.
    pub fd: i32,
    /// Offset into it.
    pub offset: u32,
}

/// `remote_dma_handle64` — [`RemoteDmaHandle`] with the buffer's length.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteDmaHandle64 {
    /// dma-buf fd.
    pub fd: i32,
    /// Offset into it.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

/// `remote_arg` — one invocation argument; which member is meant follows
/// from its position in the array (the scalars word).
///
/// Named `RemoteArgC` because `qda-dsp`'s loader has a `RemoteArg`.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, KnownLayout, Immutable)]
pub union RemoteArgC {
    /// A buffer.
    pub buf: RemoteBufC,
    /// A single-domain handle (`remote_handle`).
    pub h: u32,
    /// A multi-domain handle (`remote_handle64`).
    pub h64: u64,
    /// A dma handle.
    pub dma: RemoteDmaHandle,
}

impl fmt::Debug for RemoteArgC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteArgC").finish_non_exhaustive()
    }
}

/// `remote_arg64` — [`RemoteArgC`] with the 64-bit buffer and dma forms.
#[repr(C)]
#[derive(Clone, Copy, FromBytes, KnownLayout, Immutable)]
pub union RemoteArg64 {
    /// A buffer.
    pub buf: RemoteBuf64,
    /// A single-domain handle.
    pub h: u32,
    /// A multi-domain handle.
    pub h64: u64,
    /// A dma handle with length.
    pub dma: RemoteDmaHandle64,
}

impl fmt::Debug for RemoteArg64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteArg64").finish_non_exhaustive()
    }
}

/// `fastrpc_async_callback_t` — the function run when an asynchronous call
/// ends, and its context.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcAsyncCallback {
    /// `fn`: `void (*)(fastrpc_async_jobid, void *context, int result)`.
    pub func: u64,
    /// `context`: passed back to `fn`.
    pub context: u64,
}

/// `fastrpc_async_descriptor_t` — how an asynchronous call reports its end.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcAsyncDescriptor {
    /// `type`: a `FASTRPC_ASYNC_*` value.
    pub kind: u32,
    /// Write 0.
    pub pad: u32,
    /// Filled in by the library.
    pub jobid: u64,
    /// Used with `FASTRPC_ASYNC_CALLBACK`.
    pub cb: FastrpcAsyncCallback,
}

/// `struct remote_rpc_control_latency` — `DSPRPC_CONTROL_LATENCY`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcControlLatency {
    /// A `RPC_*_QOS` value.
    pub enable: u32,
    /// Microseconds.
    pub latency: u32,
}

/// `struct remote_dsp_capability` / `fastrpc_capability` —
/// `DSPRPC_GET_DSP_INFO`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteDspCapability {
    /// In: a `*_DOMAIN_ID`.
    pub domain: u32,
    /// In: `attribute_ID`, an `enum remote_dsp_attributes` value.
    pub attribute_id: u32,
    /// Out: the answer.
    pub capability: u32,
}

/// `struct remote_rpc_control_wakelock` — `DSPRPC_CONTROL_WAKELOCK`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcControlWakelock {
    /// Non-zero: hold a wake lock.
    pub enable: u32,
}

/// `remote_rpc_get_domain_t` — `DSPRPC_GET_DOMAIN`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcGetDomain {
    /// Out: the domain id.
    pub domain: i32,
}

/// `struct remote_control_custom_path` — `DSPRPC_SET_PATH` / `DSPRPC_GET_PATH`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteControlCustomPath {
    /// Bytes of `value`, NUL included.
    pub value_size: i32,
    /// Write 0.
    pub pad: u32,
    /// `const char *`: the key.
    pub path: u64,
    /// `char *`: the path.
    pub value: u64,
}

/// `struct remote_rpc_thread_params` — `FASTRPC_THREAD_PARAMS`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcThreadParams {
    /// Domain id, -1 for all.
    pub domain: i32,
    /// 1..=255, -1 for the default.
    pub prio: i32,
    /// Bytes, -1 for the default.
    pub stack_size: i32,
}

/// `struct remote_rpc_control_unsigned_module` — `DSPRPC_CONTROL_UNSIGNED_MODULE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcControlUnsignedModule {
    /// Domain id, -1 for all.
    pub domain: i32,
    /// Non-zero: run unsigned.
    pub enable: i32,
}

/// `struct remote_rpc_relative_thread_priority` — `FASTRPC_RELATIVE_THREAD_PRIORITY`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcRelativeThreadPriority {
    /// Domain id, -1 for all.
    pub domain: i32,
    /// Added to the default priority (negative is higher).
    pub relative_thread_priority: i32,
}

/// `struct remote_rpc_process_clean_params` (also `remote_rpc_process_exception`)
/// — `FASTRPC_REMOTE_PROCESS_KILL`, `FASTRPC_REMOTE_PROCESS_EXCEPTION`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcProcessCleanParams {
    /// Domain id.
    pub domain: i32,
}

/// `struct remote_rpc_session_close` — `FASTRPC_SESSION_CLOSE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcSessionClose {
    /// Domain id, -1 for all.
    pub domain: i32,
}

/// `struct remote_rpc_control_pd_dump` — `FASTRPC_CONTROL_PD_DUMP`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcControlPdDump {
    /// Domain id.
    pub domain: i32,
    /// Non-zero: dump on a crash.
    pub enable: i32,
}

/// `struct remote_process_type` — `FASTRPC_REMOTE_PROCESS_TYPE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteProcessType {
    /// Domain id.
    pub domain: i32,
    /// Out: a `PROCESS_TYPE_*` value.
    pub process_type: i32,
}

/// `remote_rpc_notif_register_t` — `FASTRPC_REGISTER_STATUS_NOTIFICATIONS`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcNotifRegister {
    /// `void *`, passed back to `notifier_fn`.
    pub context: u64,
    /// Domain id.
    pub domain: i32,
    /// Write 0.
    pub pad: u32,
    /// `fastrpc_notif_fn_t`: `int (*)(void *, int domain, int session, status)`.
    pub notifier_fn: u64,
}

/// `struct remote_rpc_pd_initmem_size` — `FASTRPC_PD_INITMEM_SIZE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcPdInitmemSize {
    /// Domain id.
    pub domain: i32,
    /// Bytes.
    pub pd_initmem_size: u32,
}

/// `remote_rpc_reserve_new_session_t` — `FASTRPC_RESERVE_NEW_SESSION`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcReserveNewSession {
    /// `char *`.
    pub domain_name: u64,
    /// Bytes of `domain_name`.
    pub domain_name_len: u32,
    /// Write 0.
    pub pad0: u32,
    /// `char *`.
    pub session_name: u64,
    /// Bytes of `session_name`.
    pub session_name_len: u32,
    /// Out.
    pub effective_domain_id: u32,
    /// Out.
    pub session_id: u32,
    /// Write 0.
    pub pad1: u32,
}

/// `remote_rpc_effective_domain_id_t` — `FASTRPC_GET_EFFECTIVE_DOMAIN_ID`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcEffectiveDomainId {
    /// `char *`.
    pub domain_name: u64,
    /// Bytes of `domain_name`.
    pub domain_name_len: u32,
    /// Session of that domain.
    pub session_id: u32,
    /// Out.
    pub effective_domain_id: u32,
    /// Write 0.
    pub pad: u32,
}

/// `remote_rpc_get_uri_t` — `FASTRPC_GET_URI`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteRpcGetUri {
    /// `char *`.
    pub domain_name: u64,
    /// Bytes of `domain_name`.
    pub domain_name_len: u32,
    /// Session of that domain.
    pub session_id: u32,
    /// `char *`: the module URI.
    pub module_uri: u64,
    /// Bytes of `module_uri`.
    pub module_uri_len: u32,
    /// Write 0.
    pub pad0: u32,
    /// `char *`, out: the URI with the session suffix.
    pub uri: u64,
    /// Bytes of `uri`.
    pub uri_len: u32,
    /// Write 0.
    pub pad1: u32,
}

/// `fastrpc_context_create` — `FASTRPC_CONTEXT_CREATE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcContextCreate {
    /// `uint32_t *`: the effective domain ids.
    pub effec_domain_ids: u64,
    /// Their number.
    pub num_domain_ids: u32,
    /// Write 0.
    pub pad: u32,
    /// Flags.
    pub flags: u64,
    /// Out: the context.
    pub ctx: u64,
}

/// `fastrpc_context_destroy` — `FASTRPC_CONTEXT_DESTROY`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcContextDestroy {
    /// From `FASTRPC_CONTEXT_CREATE`.
    pub ctx: u64,
    /// Flags.
    pub flags: u64,
}

/// `_cstring_t` (`AEEStdDef.h`) — an element of a qaic `sequence<string>`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct QaicCstring {
    /// `char *`.
    pub data: u64,
    /// `dataLen`: capacity in chars, NUL included.
    pub data_len: i32,
    /// `dataLenReq`: what the callee needed.
    pub data_len_req: i32,
}

/// `_wstring_t` (`AEEStdDef.h`) — an element of a qaic `sequence<wstring>`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct QaicWstring {
    /// `_wchar_t *`.
    pub data: u64,
    /// `dataLen`: capacity in `_wchar_t`, NUL included.
    pub data_len: i32,
    /// `dataLenReq`: what the callee needed.
    pub data_len_req: i32,
}

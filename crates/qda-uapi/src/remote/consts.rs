//! The numeric constants and string macros of the application headers, each
//! a `pub const` of its C name, listed in [`CONSTANTS`] / [`STRINGS`] by the
//! same macro that defines it.

use super::{Constant, StringMacro};

macro_rules! constants {
    ($( $header:literal { $( $(#[$m:meta])* $name:ident: $t:ty = $v:expr; )* } )*) => {
        $( $( $(#[$m])* pub const $name: $t = $v; )* )*

        /// Every numeric constant of the application headers (enum members
        /// and `#define`s), with its header.
        pub const CONSTANTS: &[Constant] = &[
            $( $( Constant { header: $header, name: stringify!($name), value: $name as i128 }, )* )*
        ];
    };
}

macro_rules! strings {
    ($( $header:literal { $( $(#[$m:meta])* $name:ident = $v:literal; )* } )*) => {
        $( $( $(#[$m])* pub const $name: &str = $v; )* )*

        /// Every string-literal `#define` of the application headers.
        pub const STRINGS: &[StringMacro] = &[
            $( $( StringMacro { header: $header, name: stringify!($name), value: $name }, )* )*
        ];
    };
}

constants! {
    "remote.h" {
        /// Audio DSP.
        ADSP_DOMAIN_ID: u32 = 0;
        /// Modem DSP.
        MDSP_DOMAIN_ID: u32 = 1;
        /// Sensors DSP.
        SDSP_DOMAIN_ID: u32 = 2;
        /// Compute DSP.
        CDSP_DOMAIN_ID: u32 = 3;
        /// Second compute DSP.
        CDSP1_DOMAIN_ID: u32 = 4;
        /// General-purpose DSP 0 (upstream: `fastrpc_common.h` since 29851fde11d4).
        GDSP0_DOMAIN_ID: u32 = 5;
        /// General-purpose DSP 1 (upstream: `fastrpc_common.h` since 29851fde11d4).
        GDSP1_DOMAIN_ID: u32 = 6;
        /// Bytes of [`super::DomainT::uri`].
        MAX_DOMAIN_URI_SIZE: usize = 12;

        /// `enum fastrpc_async_notify_type`: no completion report.
        FASTRPC_ASYNC_NO_SYNC: u32 = 0;
        /// Completion runs the descriptor's callback.
        FASTRPC_ASYNC_CALLBACK: u32 = 1;
        /// The caller polls with `fastrpc_async_get_status`.
        FASTRPC_ASYNC_POLL: u32 = 2;

        /// `enum handle_control_req_id`: reserved.
        DSPRPC_RESERVED: u32 = 0;
        /// [`super::RemoteRpcControlLatency`].
        DSPRPC_CONTROL_LATENCY: u32 = 1;
        /// [`super::RemoteDspCapability`].
        DSPRPC_GET_DSP_INFO: u32 = 2;
        /// [`super::RemoteRpcControlWakelock`].
        DSPRPC_CONTROL_WAKELOCK: u32 = 3;
        /// [`super::RemoteRpcGetDomain`].
        DSPRPC_GET_DOMAIN: u32 = 4;
        /// [`super::RemoteControlCustomPath`] (store).
        DSPRPC_SET_PATH: u32 = 5;
        /// [`super::RemoteControlCustomPath`] (read).
        DSPRPC_GET_PATH: u32 = 6;
        /// Kernel SMMU support.
        DSPRPC_SMMU_SUPPORT: u32 = 7;
        /// Kernel allocation support.
        DSPRPC_KALLOC_SUPPORT: u32 = 8;
        /// Keep the CPU awake.
        DSPRPC_PM: u32 = 9;
        /// Kernel polling mode.
        DSPRPC_RPC_POLL: u32 = 10;
        /// Stop the asynchronous-response thread.
        DSPRPC_ASYNC_WAKE: u32 = 11;
        /// Stop the notification thread.
        DSPRPC_NOTIF_WAKE: u32 = 12;
        /// Kill the DSP process.
        DSPRPC_REMOTE_PROCESS_KILL: u32 = 13;
        /// Set a `REMOTE_MODE_*`.
        DSPRPC_SET_MODE: u32 = 14;

        /// `enum remote_rpc_latency_flags`: no latency control.
        RPC_DISABLE_QOS: u32 = 0;
        /// PM QoS while calls run.
        RPC_PM_QOS: u32 = 1;
        /// Predicted wake-up.
        RPC_ADAPTIVE_QOS: u32 = 2;
        /// Poll for synchronous replies.
        RPC_POLL_QOS: u32 = 3;

        /// `enum remote_dsp_attributes`: the domain exists.
        DOMAIN_SUPPORT: u32 = 0;
        /// Unsigned processes may run.
        UNSIGNED_PD_SUPPORT: u32 = 1;
        /// HVX units, 64-byte mode.
        HVX_SUPPORT_64B: u32 = 2;
        /// HVX units, 128-byte mode.
        HVX_SUPPORT_128B: u32 = 3;
        /// Largest VTCM page.
        VTCM_PAGE: u32 = 4;
        /// VTCM pages.
        VTCM_COUNT: u32 = 5;
        /// Hexagon architecture version.
        ARCH_VER: u32 = 6;
        /// HMX depth.
        HMX_SUPPORT_DEPTH: u32 = 7;
        /// HMX spatial size.
        HMX_SUPPORT_SPATIAL: u32 = 8;
        /// Asynchronous calls.
        ASYNC_FASTRPC_SUPPORT: u32 = 9;
        /// Status notifications.
        STATUS_NOTIFICATION_SUPPORT: u32 = 10;
        /// Multicast widget programming.
        MCID_MULTICAST: u32 = 11;

        /// Defined when `DSPRPC_CONTROL_WAKELOCK` exists.
        FASTRPC_WAKELOCK_CONTROL_SUPPORTED: u32 = 1;

        /// `enum session_control_req_id`: reserved.
        FASTRPC_RESERVED_1: u32 = 0;
        /// [`super::RemoteRpcThreadParams`].
        FASTRPC_THREAD_PARAMS: u32 = 1;
        /// [`super::RemoteRpcControlUnsignedModule`].
        DSPRPC_CONTROL_UNSIGNED_MODULE: u32 = 2;
        /// Reserved.
        FASTRPC_RESERVED_2: u32 = 3;
        /// [`super::RemoteRpcRelativeThreadPriority`].
        FASTRPC_RELATIVE_THREAD_PRIORITY: u32 = 4;
        /// Reserved.
        FASTRPC_RESERVED_3: u32 = 5;
        /// [`super::RemoteRpcProcessCleanParams`].
        FASTRPC_REMOTE_PROCESS_KILL: u32 = 6;
        /// [`super::RemoteRpcSessionClose`].
        FASTRPC_SESSION_CLOSE: u32 = 7;
        /// [`super::RemoteRpcControlPdDump`].
        FASTRPC_CONTROL_PD_DUMP: u32 = 8;
        /// [`super::RemoteRpcProcessCleanParams`] (`remote_rpc_process_exception`).
        FASTRPC_REMOTE_PROCESS_EXCEPTION: u32 = 9;
        /// [`super::RemoteProcessType`].
        FASTRPC_REMOTE_PROCESS_TYPE: u32 = 10;
        /// [`super::RemoteRpcNotifRegister`].
        FASTRPC_REGISTER_STATUS_NOTIFICATIONS: u32 = 11;
        /// [`super::RemoteRpcPdInitmemSize`].
        FASTRPC_PD_INITMEM_SIZE: u32 = 12;
        /// [`super::RemoteRpcReserveNewSession`].
        FASTRPC_RESERVE_NEW_SESSION: u32 = 13;
        /// [`super::RemoteRpcEffectiveDomainId`].
        FASTRPC_GET_EFFECTIVE_DOMAIN_ID: u32 = 14;
        /// [`super::RemoteRpcGetUri`].
        FASTRPC_GET_URI: u32 = 15;
        /// One past the thread-parameter requests.
        FASTRPC_MAX_THREAD_PARAM: u32 = 16;
        /// [`super::FastrpcContextCreate`].
        FASTRPC_CONTEXT_CREATE: u32 = 17;
        /// [`super::FastrpcContextDestroy`].
        FASTRPC_CONTEXT_DESTROY: u32 = 18;

        /// `enum fastrpc_process_type`: signed process.
        PROCESS_TYPE_SIGNED: u32 = 0;
        /// Unsigned process.
        PROCESS_TYPE_UNSIGNED: u32 = 1;

        /// `enum remote_rpc_status_flags`: the process runs.
        FASTRPC_USER_PD_UP: u32 = 0;
        /// It exited.
        FASTRPC_USER_PD_EXIT: u32 = 1;
        /// It was killed.
        FASTRPC_USER_PD_FORCE_KILL: u32 = 2;
        /// It crashed.
        FASTRPC_USER_PD_EXCEPTION: u32 = 3;
        /// The DSP restarted.
        FASTRPC_DSP_SSR: u32 = 4;

        /// `enum remote_mem_map_flags`: mapped until `remote_mem_unmap`.
        REMOTE_MAP_MEM_STATIC: u32 = 0;

        /// `enum fastrpc_map_flags`: one DSP address for all calls.
        FASTRPC_MAP_STATIC: u32 = 0;
        /// Reserved.
        FASTRPC_MAP_RESERVED: u32 = 1;
        /// Mapped now; the caller keeps caches coherent.
        FASTRPC_MAP_FD: u32 = 2;
        /// The DSP side maps it (`HAP_mmap`).
        FASTRPC_MAP_FD_DELAYED: u32 = 3;
        /// Reserved.
        FASTRPC_MAP_RESERVED_4: u32 = 4;
        /// Reserved.
        FASTRPC_MAP_RESERVED_5: u32 = 5;
        /// Reserved.
        FASTRPC_MAP_RESERVED_6: u32 = 6;
        /// Reserved.
        FASTRPC_MAP_RESERVED_7: u32 = 7;
        /// Reserved.
        FASTRPC_MAP_RESERVED_8: u32 = 8;
        /// Reserved.
        FASTRPC_MAP_RESERVED_9: u32 = 9;
        /// Reserved.
        FASTRPC_MAP_RESERVED_10: u32 = 10;
        /// Reserved.
        FASTRPC_MAP_RESERVED_11: u32 = 11;
        /// Reserved.
        FASTRPC_MAP_RESERVED_12: u32 = 12;
        /// Reserved.
        FASTRPC_MAP_RESERVED_13: u32 = 13;
        /// Reserved.
        FASTRPC_MAP_RESERVED_14: u32 = 14;
        /// Reserved.
        FASTRPC_MAP_RESERVED_15: u32 = 15;
        /// As `FASTRPC_MAP_FD_DELAYED`, without a CPU mapping.
        FASTRPC_MAP_FD_NOMAP: u32 = 16;

        /// Buffer attribute bits: none.
        FASTRPC_ATTR_NONE: u32 = 0;
        /// Non-coherent; the driver maintains caches.
        FASTRPC_ATTR_NON_COHERENT: u32 = 2;
        /// Coherent; no cache maintenance.
        FASTRPC_ATTR_COHERENT: u32 = 4;
        /// Keep the mapping until unmapped.
        FASTRPC_ATTR_KEEP_MAP: u32 = 8;
        /// No SMMU mapping (secure buffers).
        FASTRPC_ATTR_NOMAP: u32 = 16;
        /// Never clean the cache.
        FASTRPC_ATTR_FORCE_NOFLUSH: u32 = 32;
        /// Never invalidate the cache.
        FASTRPC_ATTR_FORCE_NOINVALIDATE: u32 = 64;
        /// Try a persistent mapping.
        FASTRPC_ATTR_TRY_MAP_STATIC: u32 = 128;

        /// `DSPRPC_SET_MODE`: calls may run in parallel.
        REMOTE_MODE_PARALLEL: u32 = 0;
        /// Calls run one at a time.
        REMOTE_MODE_SERIAL: u32 = 1;
    }
    "rpcmem.h" {
        /// `enum rpc_heap_ids`: content-protected memory.
        RPCMEM_HEAP_ID_SECURE: u32 = 9;
        /// Physically contiguous memory.
        RPCMEM_HEAP_ID_CONTIG: u32 = 22;
        /// System memory.
        RPCMEM_HEAP_ID_SYSTEM: u32 = 25;
        /// Any heap.
        RPCMEM_DEFAULT_HEAP: i32 = -1;
        /// Cached CPU mapping (without an ION header in scope).
        RPCMEM_DEFAULT_FLAGS: u32 = 1;
        /// Uncached.
        RPCMEM_FLAG_UNCACHED: u32 = 0;
        /// Cached (= `RPCMEM_DEFAULT_FLAGS`).
        RPCMEM_FLAG_CACHED: u32 = RPCMEM_DEFAULT_FLAGS;
        /// Pre-map into every session.
        RPCMEM_TRY_MAP_STATIC: u32 = 0x0400_0000;
        /// Legacy flag bit.
        RPCMEM_HEAP_DEFAULT: u32 = 0x8000_0000;
        /// Legacy flag bit.
        RPCMEM_HEAP_NOREG: u32 = 0x4000_0000;
        /// Legacy flag bit.
        RPCMEM_HEAP_UNCACHED: u32 = 0x2000_0000;
        /// Legacy flag bit.
        RPCMEM_HEAP_NOVA: u32 = 0x1000_0000;
        /// Legacy flag bit.
        RPCMEM_HEAP_NONCOHERENT: u32 = 0x0800_0000;
        /// Legacy flag bit.
        RPCMEM_FORCE_NOFLUSH: u32 = 0x0100_0000;
        /// Legacy flag bit.
        RPCMEM_FORCE_NOINVALIDATE: u32 = 0x0200_0000;
        /// ION secure flags, bits 31 and 19, as a C `int`.
        ION_SECURE_FLAGS: i32 = 0x8008_0000_u32 as i32;
    }
    "AEEStdErr.h" {
        /// Offset of DSP-made AEE codes (= [`crate::aee::AEE_EOFFSET_DSP`]).
        DSP_AEE_EOFFSET: u32 = 0x8000_0400;
        /// Start of the range of passed-through kernel errnos.
        KERNEL_ERRNO_START: i32 = -1024;
        /// End of the range of host OS errors.
        HLOS_ERR_END: i32 = 1024;
    }
    "AEEStdDef.h" {
        /// True.
        TRUE: u32 = 1;
        /// False.
        FALSE: u32 = 0;
        /// `int8` minimum.
        MIN_INT8: i8 = i8::MIN;
        /// `int8` maximum.
        MAX_INT8: i8 = i8::MAX;
        /// `uint8` maximum.
        MAX_UINT8: u8 = u8::MAX;
        /// `int16` minimum.
        MIN_INT16: i16 = i16::MIN;
        /// `int16` maximum.
        MAX_INT16: i16 = i16::MAX;
        /// `uint16` maximum.
        MAX_UINT16: u16 = u16::MAX;
        /// `int32` minimum.
        MIN_INT32: i32 = i32::MIN;
        /// `int32` maximum.
        MAX_INT32: i32 = i32::MAX;
        /// `uint32` maximum.
        MAX_UINT32: u32 = u32::MAX;
        /// `int64` minimum.
        MIN_INT64: i64 = i64::MIN;
        /// `int64` maximum.
        MAX_INT64: i64 = i64::MAX;
        /// `uint64` maximum.
        MAX_UINT64: u64 = u64::MAX;
        /// `AECHAR` minimum.
        MIN_AECHAR: u16 = 0;
        /// `AECHAR` maximum.
        MAX_AECHAR: u16 = u16::MAX;
    }
    "HAP_debug.h" {
        /// FARF level: low (facts: the Hexagon SDK's `HAP_debug.h`).
        HAP_LEVEL_LOW: u32 = 0;
        /// FARF level: medium.
        HAP_LEVEL_MEDIUM: u32 = 1;
        /// FARF level: high.
        HAP_LEVEL_HIGH: u32 = 2;
        /// FARF level: error.
        HAP_LEVEL_ERROR: u32 = 3;
        /// FARF level: fatal.
        HAP_LEVEL_FATAL: u32 = 4;
        /// Flag of run-time FARF levels.
        HAP_LEVEL_RUNTIME: u32 = 1 << 5;
    }
    "HAP_farf.h" {
        /// `FARF(ALWAYS, …)` logs at high.
        FARF_ALWAYS_LEVEL: u32 = 2;
        /// Level of `FARF(LOW, …)`.
        FARF_LOW_LEVEL: u32 = 0;
        /// Level of `FARF(MEDIUM, …)`.
        FARF_MEDIUM_LEVEL: u32 = 1;
        /// Level of `FARF(HIGH, …)`.
        FARF_HIGH_LEVEL: u32 = 2;
        /// Level of `FARF(ERROR, …)`.
        FARF_ERROR_LEVEL: u32 = 3;
        /// Level of `FARF(FATAL, …)`.
        FARF_FATAL_LEVEL: u32 = 4;
        /// Level of `FARF(RUNTIME_LOW, …)`.
        FARF_RUNTIME_LOW_LEVEL: u32 = 1 << 5;
        /// Level of `FARF(RUNTIME_MEDIUM, …)`.
        FARF_RUNTIME_MEDIUM_LEVEL: u32 = (1 << 5) | 1;
        /// Level of `FARF(RUNTIME_HIGH, …)`.
        FARF_RUNTIME_HIGH_LEVEL: u32 = (1 << 5) | 2;
        /// Level of `FARF(RUNTIME_ERROR, …)`.
        FARF_RUNTIME_ERROR_LEVEL: u32 = (1 << 5) | 3;
        /// Level of `FARF(RUNTIME_FATAL, …)`.
        FARF_RUNTIME_FATAL_LEVEL: u32 = (1 << 5) | 4;
    }
    "HAP_mem.h" {
        /// `HAP_mmap` protection: none (facts: the Hexagon SDK's `HAP_mem.h`).
        HAP_PROT_NONE: u32 = 0x00;
        /// Readable.
        HAP_PROT_READ: u32 = 0x01;
        /// Writable.
        HAP_PROT_WRITE: u32 = 0x02;
        /// Executable.
        HAP_PROT_EXEC: u32 = 0x04;
        /// Cache policy: write-back.
        HAP_MEM_CACHE_WRITEBACK: u32 = 0x10;
        /// Cache policy: non-shared.
        HAP_MEM_CACHE_NON_SHARED: u32 = 0x20;
        /// Cache policy: write-through.
        HAP_MEM_CACHE_WRITETHROUGH: u32 = 0x40;
    }
}

strings! {
    "remote.h" {
        /// Audio DSP name.
        ADSP_DOMAIN_NAME = "adsp";
        /// Modem DSP name.
        MDSP_DOMAIN_NAME = "mdsp";
        /// Sensors DSP name.
        SDSP_DOMAIN_NAME = "sdsp";
        /// Compute DSP name.
        CDSP_DOMAIN_NAME = "cdsp";
        /// Second compute DSP name.
        CDSP1_DOMAIN_NAME = "cdsp1";
        /// General-purpose DSP 0 name.
        GDSP0_DOMAIN_NAME = "gdsp0";
        /// General-purpose DSP 1 name.
        GDSP1_DOMAIN_NAME = "gdsp1";
        /// URI suffix for the audio DSP.
        ADSP_DOMAIN = "&_dom=adsp";
        /// URI suffix for the modem DSP.
        MDSP_DOMAIN = "&_dom=mdsp";
        /// URI suffix for the sensors DSP.
        SDSP_DOMAIN = "&_dom=sdsp";
        /// URI suffix for the compute DSP.
        CDSP_DOMAIN = "&_dom=cdsp";
        /// URI suffix for the second compute DSP.
        CDSP1_DOMAIN = "&_dom=cdsp1";
        /// URI suffix for general-purpose DSP 0.
        GDSP0_DOMAIN = "&_dom=gdsp0";
        /// URI suffix for general-purpose DSP 1.
        GDSP1_DOMAIN = "&_dom=gdsp1";
        /// Prefix of the library's internal pseudo-URIs.
        ITRANSPORT_PREFIX = "'\":;./\\";
    }
}

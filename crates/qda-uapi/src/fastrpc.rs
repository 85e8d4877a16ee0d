//! Legacy FastRPC misc-device UAPI (`include/uapi/misc/fastrpc.h`), spoken on
//! `/dev/fastrpc-<label>[-secure]`.
//!
//! Ioctl type `'R'` ([`FASTRPC_IOCTL_MAGIC`]). Sources:
//! - layouts, ioctl numbers and UAPI enums: Linux `include/uapi/misc/fastrpc.h`,
//!   checked against the v6.1 copy installed by Debian `linux-libc-dev` 6.1.187
//!   (`/usr/include/misc/fastrpc.h`) where that header has the item;
//! - driver constants and behaviour: Linux `drivers/misc/fastrpc.c` (mainline of
//!   the 7.0 cycle, read at ceph/ceph-client commit 464c6ad2aa16);
//! - `SET_OPTION`: the unmerged poll-mode series (latest seen: v13,
//!   `<20260713052236.3033744-1-ekansh.gupta@oss.qualcomm.com>`);
//! - domain and attribute ids: libfastrpc (qualcomm/fastrpc, commit 29851fde11d4)
//!   `inc/remote.h` and `inc/fastrpc_common.h`.
//!
//! `VERIFIED.md` lists what was checked against which of these.
//!
//! Items that are driver-internal in the kernel (`ADSP_MMAP_*`, `INIT_FILELEN_MAX`,
//! `FASTRPC_MAX_SESSIONS`, the attribute-cache bound) or userspace-only
//! (domain ids, [`DspAttribute`]) are included because a faithful re-implementation
//! must agree with them; their docs say where they come from.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ioctl::{io, iowr};

/// Ioctl type byte of all FastRPC ioctls (`'R'` = 0x52).
pub const FASTRPC_IOCTL_MAGIC: u8 = b'R';

// ---------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------

/// `struct fastrpc_invoke_args` (24 bytes) — one element of the array that
/// [`FastrpcInvoke::args`] points to, one per scalar of `sc`.
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1). The first version of
/// the header (the driver's initial merge, v5.1) called `attr` `reserved`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcInvokeArgs {
    /// User virtual address of the buffer (for a handle argument: the offset).
    pub ptr: u64,
    /// Length in bytes.
    pub length: u64,
    /// dma-buf fd backing the buffer, or `-1` for an inline (copied) buffer.
    pub fd: i32,
    /// Per-argument attribute bits, e.g. [`FASTRPC_ATTR_SECUREMAP`].
    pub attr: u32,
}

/// `struct fastrpc_invoke` (16 bytes) — argument of [`FASTRPC_IOCTL_INVOKE`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); handle 1 refused for
/// user calls in `fastrpc_internal_invoke()` (`drivers/misc/fastrpc.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcInvoke {
    /// 32-bit DSP-side remote handle (user calls on handle 1 → `EPERM`).
    pub handle: u32,
    /// Scalars word (method id and buffer/handle counts).
    pub sc: u32,
    /// User pointer to `REMOTE_SCALARS_LENGTH(sc)` × [`FastrpcInvokeArgs`].
    pub args: u64,
}

/// `struct fastrpc_init_create` (24 bytes) — argument of
/// [`FASTRPC_IOCTL_INIT_CREATE`] (spawn a dynamic user PD).
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); checks and method choice
/// in `fastrpc_init_create_process()` (`drivers/misc/fastrpc.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcInitCreate {
    /// ELF length; > [`INIT_FILELEN_MAX`] → `EINVAL`.
    pub filelen: u32,
    /// dma-buf fd holding the ELF, or `-1` to copy from `file`.
    pub filefd: i32,
    /// Process attribute bits (`FASTRPC_MODE_*`); non-zero selects remote method 7.
    pub attrs: u32,
    /// Signature length.
    pub siglen: u32,
    /// User pointer to the ELF bytes.
    pub file: u64,
}

/// `struct fastrpc_init_create_static` (16 bytes) — argument of
/// [`FASTRPC_IOCTL_INIT_CREATE_STATIC`] (attach to a named static PD).
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (not in the v6.1 header; newer
/// mainline has it) and `fastrpc_init_create_static_process()`
/// (`drivers/misc/fastrpc.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcInitCreateStatic {
    /// Length of the PD name; > [`INIT_FILE_NAMELEN_MAX`] → `EINVAL`.
    pub namelen: u32,
    /// Bytes of remote heap to allocate if the channel has none yet.
    pub memlen: u32,
    /// User pointer to the PD name (e.g. `"audiopd"`).
    pub name: u64,
}

/// `struct fastrpc_alloc_dma_buf` (16 bytes) — argument of
/// [`FASTRPC_IOCTL_ALLOC_DMA_BUFF`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); `fastrpc_dmabuf_alloc()`
/// (`drivers/misc/fastrpc.c`) never reads `flags`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcAllocDmaBuf {
    /// Out: dma-buf fd of the new buffer.
    pub fd: i32,
    /// Mapping flags; ignored by the driver.
    pub flags: u32,
    /// In: size in bytes.
    pub size: u64,
}

/// `struct fastrpc_req_mmap` (32 bytes) — argument of [`FASTRPC_IOCTL_MMAP`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); checks in
/// `fastrpc_req_mmap()` (`drivers/misc/fastrpc.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcReqMmap {
    /// Ignored by the driver (it allocates the memory itself).
    pub fd: i32,
    /// Only [`ADSP_MMAP_ADD_PAGES`] or [`ADSP_MMAP_REMOTE_HEAP_ADDR`] are accepted.
    pub flags: u32,
    /// Must be 0 ("user allocated pages not supported"), else `EINVAL`.
    pub vaddrin: u64,
    /// Bytes to allocate and map.
    pub size: u64,
    /// Out: DSP virtual address.
    pub vaddrout: u64,
}

/// `struct fastrpc_req_munmap` (16 bytes) — argument of [`FASTRPC_IOCTL_MUNMAP`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); `fastrpc_req_munmap()`
/// (`drivers/misc/fastrpc.c`) looks the buffer up by an exact `(vaddrout, size)`
/// match.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcReqMunmap {
    /// DSP virtual address previously returned by `MMAP`.
    pub vaddrout: u64,
    /// Size as passed to `MMAP`.
    pub size: u64,
}

/// `struct fastrpc_mem_map` (64 bytes) — argument of [`FASTRPC_IOCTL_MEM_MAP`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1). C has 4 bytes of
/// implicit tail padding after `reserved`; it is the explicit [`pad`](Self::pad)
/// field here. `version`, `attrs` and `reserved` are not checked by the driver
/// (`fastrpc_req_mem_map()`, `drivers/misc/fastrpc.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcMemMap {
    /// Structure version; libfastrpc writes 0.
    pub version: i32,
    /// dma-buf fd to map.
    pub fd: i32,
    /// Byte offset into the buffer (forwarded to the DSP).
    pub offset: i32,
    /// Map flags (`FASTRPC_MAP_*`).
    pub flags: u32,
    /// CPU virtual address of the buffer.
    pub vaddrin: u64,
    /// Length in bytes.
    pub length: u64,
    /// Out: DSP virtual address.
    pub vaddrout: u64,
    /// SMMU mapping attributes (e.g. [`FASTRPC_ATTR_SECUREMAP`]).
    pub attrs: i32,
    /// Reserved; write 0.
    pub reserved: [i32; 4],
    /// Explicit form of C's implicit 4-byte tail padding; write 0.
    pub pad: u32,
}

/// `struct fastrpc_mem_unmap` (48 bytes) — argument of [`FASTRPC_IOCTL_MEM_UNMAP`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h` (v6.1); lookup rules in
/// `fastrpc_req_mem_unmap_impl()` (`drivers/misc/fastrpc.c`). C has 4 bytes of
/// implicit tail padding after `reserved`; it is the explicit [`pad`](Self::pad)
/// field here.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcMemUnmap {
    /// Structure version; libfastrpc writes 0. The kernel header misspells this
    /// field `vesion`.
    pub version: i32,
    /// dma-buf fd of the mapping, or negative to match any fd.
    pub fd: i32,
    /// DSP virtual address of the mapping.
    pub vaddr: u64,
    /// Length in bytes.
    pub length: u64,
    /// Reserved; write 0.
    pub reserved: [i32; 5],
    /// Explicit form of C's implicit 4-byte tail padding; write 0.
    pub pad: u32,
}

/// `struct fastrpc_ioctl_set_option` (32 bytes) — argument of
/// [`FASTRPC_IOCTL_SET_OPTION`]. **Proposed (poll-mode series), not settled ABI.**
///
/// Source: the poll-mode series "misc: fastrpc: Add polling mode support"
/// (Ekansh Gupta; v13 of 2026-07-13, cover letter
/// `<20260713052236.3033744-1-ekansh.gupta@oss.qualcomm.com>`), not merged in the
/// mainline driver checked (its ioctl switch has no `SET_OPTION`). The layout
/// (32 bytes) is the same in every revision seen, but the field names moved: an
/// early one called `value` `enable`, and `req` became `request_id` after review
/// of v6 (v9 and v13 use it). Not present in the Debian 6.1 header.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcIoctlSetOption {
    /// Option id; only [`FASTRPC_POLL_MODE`] is defined (others → `EINVAL`).
    pub req: u32,
    /// Option value (poll mode: 0 = off, 1 = on).
    pub value: u32,
    /// Must be zero (checked: non-zero → `EINVAL`).
    pub reserved: [i32; 6],
}

/// `struct fastrpc_ioctl_capability` (28 bytes, align 4) — argument of
/// [`FASTRPC_IOCTL_GET_DSP_INFO`].
///
/// Source: Linux `include/uapi/misc/fastrpc.h`; `fastrpc_get_dsp_info()`
/// (`drivers/misc/fastrpc.c`). The first field was `domain`, as still in the
/// Debian 6.1 header and libfastrpc's copy; the kernel ignores it since v6.18
/// (Ling Xu, "misc: fastrpc: Remove kernel-side domain checks from capability
/// ioctl" and "misc: fastrpc: Cleanup the domain names", merged through
/// `char-misc-6.18-rc1`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FastrpcIoctlCapability {
    /// Formerly `domain` (domain id); ignored by current kernels.
    pub unused: u32,
    /// In: attribute id ([`DspAttribute`]); ≥ [`FASTRPC_MAX_DSP_ATTRIBUTES`] →
    /// `EOVERFLOW`.
    pub attribute_id: u32,
    /// Out: attribute value.
    pub capability: u32,
    /// Reserved; write 0.
    pub reserved: [u32; 4],
}

// ---------------------------------------------------------------------------
// Ioctl numbers
// ---------------------------------------------------------------------------

/// `FASTRPC_IOCTL_ALLOC_DMA_BUFF` = `_IOWR('R', 1, struct fastrpc_alloc_dma_buf)`
/// (0xc0105201): allocate a session buffer and export it as a dma-buf.
pub const FASTRPC_IOCTL_ALLOC_DMA_BUFF: u32 = iowr(FASTRPC_IOCTL_MAGIC, 1, size_of::<FastrpcAllocDmaBuf>());
/// `FASTRPC_IOCTL_FREE_DMA_BUFF` = `_IOWR('R', 2, __u32)` (0xc0045202): declared
/// but **not handled** by the driver (→ `ENOTTY`).
pub const FASTRPC_IOCTL_FREE_DMA_BUFF: u32 = iowr(FASTRPC_IOCTL_MAGIC, 2, size_of::<u32>());
/// `FASTRPC_IOCTL_INVOKE` = `_IOWR('R', 3, struct fastrpc_invoke)` (0xc0105203):
/// synchronous remote call.
pub const FASTRPC_IOCTL_INVOKE: u32 = iowr(FASTRPC_IOCTL_MAGIC, 3, size_of::<FastrpcInvoke>());
/// `FASTRPC_IOCTL_INIT_ATTACH` = `_IO('R', 4)` (0x00005204): attach to the root
/// (guest OS) PD.
pub const FASTRPC_IOCTL_INIT_ATTACH: u32 = io(FASTRPC_IOCTL_MAGIC, 4);
/// `FASTRPC_IOCTL_INIT_CREATE` = `_IOWR('R', 5, struct fastrpc_init_create)`
/// (0xc0185205): create a dynamic user PD.
pub const FASTRPC_IOCTL_INIT_CREATE: u32 = iowr(FASTRPC_IOCTL_MAGIC, 5, size_of::<FastrpcInitCreate>());
/// `FASTRPC_IOCTL_MMAP` = `_IOWR('R', 6, struct fastrpc_req_mmap)` (0xc0205206):
/// allocate kernel memory and map it on the DSP.
pub const FASTRPC_IOCTL_MMAP: u32 = iowr(FASTRPC_IOCTL_MAGIC, 6, size_of::<FastrpcReqMmap>());
/// `FASTRPC_IOCTL_MUNMAP` = `_IOWR('R', 7, struct fastrpc_req_munmap)` (0xc0105207):
/// undo an `MMAP`.
pub const FASTRPC_IOCTL_MUNMAP: u32 = iowr(FASTRPC_IOCTL_MAGIC, 7, size_of::<FastrpcReqMunmap>());
/// `FASTRPC_IOCTL_INIT_ATTACH_SNS` = `_IO('R', 8)` (0x00005208): attach to the
/// sensors PD.
pub const FASTRPC_IOCTL_INIT_ATTACH_SNS: u32 = io(FASTRPC_IOCTL_MAGIC, 8);
/// `FASTRPC_IOCTL_INIT_CREATE_STATIC` =
/// `_IOWR('R', 9, struct fastrpc_init_create_static)` (0xc0105209): attach to a
/// named static PD (not in the Debian 6.1 header).
pub const FASTRPC_IOCTL_INIT_CREATE_STATIC: u32 = iowr(FASTRPC_IOCTL_MAGIC, 9, size_of::<FastrpcInitCreateStatic>());
/// `FASTRPC_IOCTL_MEM_MAP` = `_IOWR('R', 10, struct fastrpc_mem_map)` (0xc040520a):
/// map a user dma-buf on the DSP.
pub const FASTRPC_IOCTL_MEM_MAP: u32 = iowr(FASTRPC_IOCTL_MAGIC, 10, size_of::<FastrpcMemMap>());
/// `FASTRPC_IOCTL_MEM_UNMAP` = `_IOWR('R', 11, struct fastrpc_mem_unmap)`
/// (0xc030520b): undo a `MEM_MAP`.
pub const FASTRPC_IOCTL_MEM_UNMAP: u32 = iowr(FASTRPC_IOCTL_MAGIC, 11, size_of::<FastrpcMemUnmap>());
/// `FASTRPC_IOCTL_SET_OPTION` = `_IOWR('R', 12, struct fastrpc_ioctl_set_option)`
/// (0xc020520c): set a per-file option (poll mode). **Proposed, NOT settled ABI**:
/// declared in one kernel tree's UAPI header but not handled by the matching
/// driver; the poll-mode series is still under review (see
/// [`FastrpcIoctlSetOption`]).
pub const FASTRPC_IOCTL_SET_OPTION: u32 = iowr(FASTRPC_IOCTL_MAGIC, 12, size_of::<FastrpcIoctlSetOption>());
/// `FASTRPC_IOCTL_GET_DSP_INFO` = `_IOWR('R', 13, struct fastrpc_ioctl_capability)`
/// (0xc01c520d): read one DSP capability attribute.
pub const FASTRPC_IOCTL_GET_DSP_INFO: u32 = iowr(FASTRPC_IOCTL_MAGIC, 13, size_of::<FastrpcIoctlCapability>());

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// `enum fastrpc_map_flags`: RW mapping, write-back cached; driver does cache
/// maintenance; same DSP VA for later calls.
pub const FASTRPC_MAP_STATIC: u32 = 0;
/// `enum fastrpc_map_flags`: reserved value.
pub const FASTRPC_MAP_RESERVED: u32 = 1;
/// `enum fastrpc_map_flags`: RW write-back mapping tagged with the fd; user does
/// cache maintenance.
pub const FASTRPC_MAP_FD: u32 = 2;
/// `enum fastrpc_map_flags`: mapping deferred until the DSP side maps it itself.
pub const FASTRPC_MAP_FD_DELAYED: u32 = 3;
/// `enum fastrpc_map_flags`: like `FD_DELAYED` but without a CPU-side mapping.
pub const FASTRPC_MAP_FD_NOMAP: u32 = 16;
/// `enum fastrpc_map_flags`: one past the last defined flag.
pub const FASTRPC_MAP_MAX: u32 = 17;

/// `enum fastrpc_proc_attr`: debug process.
pub const FASTRPC_MODE_DEBUG: u32 = 1 << 0;
/// `enum fastrpc_proc_attr`: ptrace support.
pub const FASTRPC_MODE_PTRACE: u32 = 1 << 1;
/// `enum fastrpc_proc_attr`: CRC checking of buffers.
pub const FASTRPC_MODE_CRC: u32 = 1 << 2;
/// `enum fastrpc_proc_attr`: unsigned PD (the only kind a non-secure node may
/// create on a secure channel).
pub const FASTRPC_MODE_UNSIGNED_MODULE: u32 = 1 << 3;
/// `enum fastrpc_proc_attr`: adaptive QoS.
pub const FASTRPC_MODE_ADAPTIVE_QOS: u32 = 1 << 4;
/// `enum fastrpc_proc_attr`: system process.
pub const FASTRPC_MODE_SYSTEM_PROCESS: u32 = 1 << 5;
/// `enum fastrpc_proc_attr`: privileged process.
pub const FASTRPC_MODE_PRIVILEGED: u32 = 1 << 6;

/// `FASTRPC_ATTR_SECUREMAP`: per-argument / per-map attribute bit requesting a
/// secure (protected) SMMU mapping.
pub const FASTRPC_ATTR_SECUREMAP: u32 = 1;
/// `FASTRPC_POLL_MODE`: [`FastrpcIoctlSetOption::req`] value enabling poll mode
/// (proposed).
pub const FASTRPC_POLL_MODE: u32 = 1;

/// Driver constant `ADSP_MMAP_HEAP_ADDR` (`fastrpc.c`): map flag for heap memory.
pub const ADSP_MMAP_HEAP_ADDR: u32 = 4;
/// Driver constant `ADSP_MMAP_DMA_BUFFER` (`fastrpc.c`).
pub const ADSP_MMAP_DMA_BUFFER: u32 = 6;
/// Driver constant `ADSP_MMAP_REMOTE_HEAP_ADDR` (`fastrpc.c`): one of the two
/// [`FastrpcReqMmap::flags`] values `MMAP` accepts (memory from the channel's
/// remote heap).
pub const ADSP_MMAP_REMOTE_HEAP_ADDR: u32 = 8;
/// Driver constant `ADSP_MMAP_ADD_PAGES` (`fastrpc.c`): the other accepted
/// [`FastrpcReqMmap::flags`] value (grow the DSP process heap).
pub const ADSP_MMAP_ADD_PAGES: u32 = 0x1000;
/// Driver constant `ADSP_MMAP_ADD_PAGES_LLC` (`fastrpc.c`).
pub const ADSP_MMAP_ADD_PAGES_LLC: u32 = 0x3000;

/// Driver constant `INIT_FILELEN_MAX`: largest [`FastrpcInitCreate::filelen`]
/// (2 MiB; larger → `EINVAL`). The QDA driver uses 4 MiB
/// ([`crate::qda::FASTRPC_INIT_FILELEN_MAX`]).
pub const INIT_FILELEN_MAX: u32 = 2 * 1024 * 1024;
/// Driver constant `INIT_FILE_NAMELEN_MAX`: largest
/// [`FastrpcInitCreateStatic::namelen`] (larger → `EINVAL`).
pub const INIT_FILE_NAMELEN_MAX: u32 = 128;
/// Driver constant `FASTRPC_MAX_SESSIONS`: maximum compute context banks
/// (sessions) per channel.
pub const FASTRPC_MAX_SESSIONS: u32 = 14;
/// Size of the driver's per-channel DSP attribute cache (`dsp_attributes[256]`):
/// [`FastrpcIoctlCapability::attribute_id`] must be below this, else `EOVERFLOW`.
pub const FASTRPC_MAX_DSP_ATTRIBUTES: u32 = 256;

/// libfastrpc domain id of the audio DSP (`ADSP_DOMAIN_ID`, userspace only).
pub const ADSP_DOMAIN_ID: u32 = 0;
/// libfastrpc domain id of the modem DSP (`MDSP_DOMAIN_ID`).
pub const MDSP_DOMAIN_ID: u32 = 1;
/// libfastrpc domain id of the sensors DSP (`SDSP_DOMAIN_ID`).
pub const SDSP_DOMAIN_ID: u32 = 2;
/// libfastrpc domain id of the compute DSP (`CDSP_DOMAIN_ID`).
pub const CDSP_DOMAIN_ID: u32 = 3;
/// libfastrpc domain id of the second compute DSP (`CDSP1_DOMAIN_ID`).
pub const CDSP1_DOMAIN_ID: u32 = 4;
/// libfastrpc domain id of general-purpose DSP 0 (`GDSP0_DOMAIN_ID`).
pub const GDSP0_DOMAIN_ID: u32 = 5;
/// libfastrpc domain id of general-purpose DSP 1 (`GDSP1_DOMAIN_ID`).
pub const GDSP1_DOMAIN_ID: u32 = 6;

/// DSP capability attribute ids, used as [`FastrpcIoctlCapability::attribute_id`]:
/// 0–11 are libfastrpc's `enum remote_dsp_attributes` (`inc/remote.h`), 128–259
/// its internal ids in `inc/fastrpc_common.h` (qualcomm/fastrpc commit
/// 29851fde11d4).
///
/// Ids `< 256` are answered from the kernel's cached DSP attribute table (id 0,
/// `DomainSupport`, is always 0 from the kernel; userspace answers it itself);
/// ids `>= 256` describe driver/userspace features and libfastrpc answers them
/// locally — the kernel would return `EOVERFLOW`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DspAttribute {
    /// `DOMAIN_SUPPORT`: the domain exists.
    DomainSupport = 0,
    /// `UNSIGNED_PD_SUPPORT`: unsigned PDs can be created.
    UnsignedPdSupport = 1,
    /// `HVX_SUPPORT_64B`: number of 64-byte HVX units.
    HvxSupport64B = 2,
    /// `HVX_SUPPORT_128B`: number of 128-byte HVX units.
    HvxSupport128B = 3,
    /// `VTCM_PAGE`: VTCM page size.
    VtcmPage = 4,
    /// `VTCM_COUNT`: number of VTCM pages.
    VtcmCount = 5,
    /// `ARCH_VER`: Hexagon architecture version.
    ArchVer = 6,
    /// `HMX_SUPPORT_DEPTH`: HMX depth support.
    HmxSupportDepth = 7,
    /// `HMX_SUPPORT_SPATIAL`: HMX spatial support.
    HmxSupportSpatial = 8,
    /// `ASYNC_FASTRPC_SUPPORT`: asynchronous FastRPC supported.
    AsyncFastrpcSupport = 9,
    /// `STATUS_NOTIFICATION_SUPPORT`: PD status notifications supported.
    StatusNotificationSupport = 10,
    /// `MCID_MULTICAST`: MCID multicast supported.
    McidMulticast = 11,
    /// `PERF_V2_DSP_SUPPORT` (internal): DSP-side perf v2.
    PerfV2Dsp = 128,
    /// `MAP_DMA_HANDLE_REVERSERPC` (internal): dma handles in reverse RPC.
    MapDmaHandleReverseRpc = 129,
    /// `DSPSIGNAL_DSP_SUPPORT` (internal): DSP-side signals.
    DspSignalDsp = 130,
    /// `PROC_SHARED_BUFFER_SUPPORT` (internal): process shared buffer.
    ProcSharedBuffer = 131,
    /// `PERF_V2_DRIVER_SUPPORT` (driver-side, ≥ 256).
    PerfV2Driver = 256,
    /// `DRIVER_ERROR_CODE_CHANGE` (driver-side, ≥ 256).
    DriverErrorCodeChange = 257,
    /// `USERSPACE_ALLOCATION_SUPPORT` (driver-side, ≥ 256).
    UserspaceAllocation = 258,
    /// `DSPSIGNAL_DRIVER_SUPPORT` (driver-side, ≥ 256).
    DspSignalDriver = 259,
}

impl DspAttribute {
    /// Every defined attribute, in id order.
    pub const ALL: [Self; 20] = [
        Self::DomainSupport,
        Self::UnsignedPdSupport,
        Self::HvxSupport64B,
        Self::HvxSupport128B,
        Self::VtcmPage,
        Self::VtcmCount,
        Self::ArchVer,
        Self::HmxSupportDepth,
        Self::HmxSupportSpatial,
        Self::AsyncFastrpcSupport,
        Self::StatusNotificationSupport,
        Self::McidMulticast,
        Self::PerfV2Dsp,
        Self::MapDmaHandleReverseRpc,
        Self::DspSignalDsp,
        Self::ProcSharedBuffer,
        Self::PerfV2Driver,
        Self::DriverErrorCodeChange,
        Self::UserspaceAllocation,
        Self::DspSignalDriver,
    ];

    /// Map a raw attribute id to the enum, `None` if undefined.
    #[must_use]
    pub const fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::DomainSupport,
            1 => Self::UnsignedPdSupport,
            2 => Self::HvxSupport64B,
            3 => Self::HvxSupport128B,
            4 => Self::VtcmPage,
            5 => Self::VtcmCount,
            6 => Self::ArchVer,
            7 => Self::HmxSupportDepth,
            8 => Self::HmxSupportSpatial,
            9 => Self::AsyncFastrpcSupport,
            10 => Self::StatusNotificationSupport,
            11 => Self::McidMulticast,
            128 => Self::PerfV2Dsp,
            129 => Self::MapDmaHandleReverseRpc,
            130 => Self::DspSignalDsp,
            131 => Self::ProcSharedBuffer,
            256 => Self::PerfV2Driver,
            257 => Self::DriverErrorCodeChange,
            258 => Self::UserspaceAllocation,
            259 => Self::DspSignalDriver,
            _ => return None,
        })
    }

    /// The raw attribute id.
    #[must_use]
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Whether the kernel can answer this id (`< FASTRPC_MAX_DSP_ATTRIBUTES`).
    #[must_use]
    pub const fn is_kernel_queryable(self) -> bool {
        (self as u32) < FASTRPC_MAX_DSP_ATTRIBUTES
    }
}

impl From<DspAttribute> for u32 {
    fn from(a: DspAttribute) -> Self {
        a as Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn invoke_args_layout() {
        assert_eq!(size_of::<FastrpcInvokeArgs>(), 24);
        assert_eq!(align_of::<FastrpcInvokeArgs>(), 8);
        assert_eq!(offset_of!(FastrpcInvokeArgs, ptr), 0);
        assert_eq!(offset_of!(FastrpcInvokeArgs, length), 8);
        assert_eq!(offset_of!(FastrpcInvokeArgs, fd), 16);
        assert_eq!(offset_of!(FastrpcInvokeArgs, attr), 20);
    }

    #[test]
    fn invoke_layout() {
        assert_eq!(size_of::<FastrpcInvoke>(), 16);
        assert_eq!(align_of::<FastrpcInvoke>(), 8);
        assert_eq!(offset_of!(FastrpcInvoke, handle), 0);
        assert_eq!(offset_of!(FastrpcInvoke, sc), 4);
        assert_eq!(offset_of!(FastrpcInvoke, args), 8);
    }

    #[test]
    fn init_create_layout() {
        assert_eq!(size_of::<FastrpcInitCreate>(), 24);
        assert_eq!(align_of::<FastrpcInitCreate>(), 8);
        assert_eq!(offset_of!(FastrpcInitCreate, filelen), 0);
        assert_eq!(offset_of!(FastrpcInitCreate, filefd), 4);
        assert_eq!(offset_of!(FastrpcInitCreate, attrs), 8);
        assert_eq!(offset_of!(FastrpcInitCreate, siglen), 12);
        assert_eq!(offset_of!(FastrpcInitCreate, file), 16);
    }

    #[test]
    fn init_create_static_layout() {
        assert_eq!(size_of::<FastrpcInitCreateStatic>(), 16);
        assert_eq!(align_of::<FastrpcInitCreateStatic>(), 8);
        assert_eq!(offset_of!(FastrpcInitCreateStatic, namelen), 0);
        assert_eq!(offset_of!(FastrpcInitCreateStatic, memlen), 4);
        assert_eq!(offset_of!(FastrpcInitCreateStatic, name), 8);
    }

    #[test]
    fn alloc_dma_buf_layout() {
        assert_eq!(size_of::<FastrpcAllocDmaBuf>(), 16);
        assert_eq!(align_of::<FastrpcAllocDmaBuf>(), 8);
        assert_eq!(offset_of!(FastrpcAllocDmaBuf, fd), 0);
        assert_eq!(offset_of!(FastrpcAllocDmaBuf, flags), 4);
        assert_eq!(offset_of!(FastrpcAllocDmaBuf, size), 8);
    }

    #[test]
    fn req_mmap_layout() {
        assert_eq!(size_of::<FastrpcReqMmap>(), 32);
        assert_eq!(align_of::<FastrpcReqMmap>(), 8);
        assert_eq!(offset_of!(FastrpcReqMmap, fd), 0);
        assert_eq!(offset_of!(FastrpcReqMmap, flags), 4);
        assert_eq!(offset_of!(FastrpcReqMmap, vaddrin), 8);
        assert_eq!(offset_of!(FastrpcReqMmap, size), 16);
        assert_eq!(offset_of!(FastrpcReqMmap, vaddrout), 24);
    }

    #[test]
    fn req_munmap_layout() {
        assert_eq!(size_of::<FastrpcReqMunmap>(), 16);
        assert_eq!(align_of::<FastrpcReqMunmap>(), 8);
        assert_eq!(offset_of!(FastrpcReqMunmap, vaddrout), 0);
        assert_eq!(offset_of!(FastrpcReqMunmap, size), 8);
    }

    #[test]
    fn mem_map_layout() {
        assert_eq!(size_of::<FastrpcMemMap>(), 64);
        assert_eq!(align_of::<FastrpcMemMap>(), 8);
        assert_eq!(offset_of!(FastrpcMemMap, version), 0);
        assert_eq!(offset_of!(FastrpcMemMap, fd), 4);
        assert_eq!(offset_of!(FastrpcMemMap, offset), 8);
        assert_eq!(offset_of!(FastrpcMemMap, flags), 12);
        assert_eq!(offset_of!(FastrpcMemMap, vaddrin), 16);
        assert_eq!(offset_of!(FastrpcMemMap, length), 24);
        assert_eq!(offset_of!(FastrpcMemMap, vaddrout), 32);
        assert_eq!(offset_of!(FastrpcMemMap, attrs), 40);
        assert_eq!(offset_of!(FastrpcMemMap, reserved), 44);
        assert_eq!(offset_of!(FastrpcMemMap, pad), 60);
    }

    #[test]
    fn mem_unmap_layout() {
        assert_eq!(size_of::<FastrpcMemUnmap>(), 48);
        assert_eq!(align_of::<FastrpcMemUnmap>(), 8);
        assert_eq!(offset_of!(FastrpcMemUnmap, version), 0);
        assert_eq!(offset_of!(FastrpcMemUnmap, fd), 4);
        assert_eq!(offset_of!(FastrpcMemUnmap, vaddr), 8);
        assert_eq!(offset_of!(FastrpcMemUnmap, length), 16);
        assert_eq!(offset_of!(FastrpcMemUnmap, reserved), 24);
        assert_eq!(offset_of!(FastrpcMemUnmap, pad), 44);
    }

    #[test]
    fn set_option_layout() {
        assert_eq!(size_of::<FastrpcIoctlSetOption>(), 32);
        assert_eq!(align_of::<FastrpcIoctlSetOption>(), 4);
        assert_eq!(offset_of!(FastrpcIoctlSetOption, req), 0);
        assert_eq!(offset_of!(FastrpcIoctlSetOption, value), 4);
        assert_eq!(offset_of!(FastrpcIoctlSetOption, reserved), 8);
    }

    #[test]
    fn capability_layout() {
        assert_eq!(size_of::<FastrpcIoctlCapability>(), 28);
        assert_eq!(align_of::<FastrpcIoctlCapability>(), 4);
        assert_eq!(offset_of!(FastrpcIoctlCapability, unused), 0);
        assert_eq!(offset_of!(FastrpcIoctlCapability, attribute_id), 4);
        assert_eq!(offset_of!(FastrpcIoctlCapability, capability), 8);
        assert_eq!(offset_of!(FastrpcIoctlCapability, reserved), 12);
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(FASTRPC_IOCTL_ALLOC_DMA_BUFF, 0xc010_5201);
        assert_eq!(FASTRPC_IOCTL_FREE_DMA_BUFF, 0xc004_5202);
        assert_eq!(FASTRPC_IOCTL_INVOKE, 0xc010_5203);
        assert_eq!(FASTRPC_IOCTL_INIT_ATTACH, 0x0000_5204);
        assert_eq!(FASTRPC_IOCTL_INIT_CREATE, 0xc018_5205);
        assert_eq!(FASTRPC_IOCTL_MMAP, 0xc020_5206);
        assert_eq!(FASTRPC_IOCTL_MUNMAP, 0xc010_5207);
        assert_eq!(FASTRPC_IOCTL_INIT_ATTACH_SNS, 0x0000_5208);
        assert_eq!(FASTRPC_IOCTL_INIT_CREATE_STATIC, 0xc010_5209);
        assert_eq!(FASTRPC_IOCTL_MEM_MAP, 0xc040_520a);
        assert_eq!(FASTRPC_IOCTL_MEM_UNMAP, 0xc030_520b);
        assert_eq!(FASTRPC_IOCTL_SET_OPTION, 0xc020_520c);
        assert_eq!(FASTRPC_IOCTL_GET_DSP_INFO, 0xc01c_520d);
    }

    #[test]
    fn ioctl_round_trip() {
        for &(cmd, nr, size, dir) in &[
            (FASTRPC_IOCTL_ALLOC_DMA_BUFF, 1u8, 16usize, 3u32),
            (FASTRPC_IOCTL_FREE_DMA_BUFF, 2, 4, 3),
            (FASTRPC_IOCTL_INVOKE, 3, 16, 3),
            (FASTRPC_IOCTL_INIT_ATTACH, 4, 0, 0),
            (FASTRPC_IOCTL_INIT_CREATE, 5, 24, 3),
            (FASTRPC_IOCTL_MMAP, 6, 32, 3),
            (FASTRPC_IOCTL_MUNMAP, 7, 16, 3),
            (FASTRPC_IOCTL_INIT_ATTACH_SNS, 8, 0, 0),
            (FASTRPC_IOCTL_INIT_CREATE_STATIC, 9, 16, 3),
            (FASTRPC_IOCTL_MEM_MAP, 10, 64, 3),
            (FASTRPC_IOCTL_MEM_UNMAP, 11, 48, 3),
            (FASTRPC_IOCTL_SET_OPTION, 12, 32, 3),
            (FASTRPC_IOCTL_GET_DSP_INFO, 13, 28, 3),
        ] {
            assert_eq!(ioc_type(cmd), b'R');
            assert_eq!(ioc_nr(cmd), nr);
            assert_eq!(ioc_size(cmd), size);
            assert_eq!(ioc_dir(cmd), dir);
        }
    }

    #[test]
    fn constants() {
        assert_eq!(FASTRPC_MAP_STATIC, 0);
        assert_eq!(FASTRPC_MAP_RESERVED, 1);
        assert_eq!(FASTRPC_MAP_FD, 2);
        assert_eq!(FASTRPC_MAP_FD_DELAYED, 3);
        assert_eq!(FASTRPC_MAP_FD_NOMAP, 16);
        assert_eq!(FASTRPC_MAP_MAX, 17);
        assert_eq!(FASTRPC_MODE_DEBUG, 1);
        assert_eq!(FASTRPC_MODE_PTRACE, 2);
        assert_eq!(FASTRPC_MODE_CRC, 4);
        assert_eq!(FASTRPC_MODE_UNSIGNED_MODULE, 8);
        assert_eq!(FASTRPC_MODE_ADAPTIVE_QOS, 16);
        assert_eq!(FASTRPC_MODE_SYSTEM_PROCESS, 32);
        assert_eq!(FASTRPC_MODE_PRIVILEGED, 64);
        assert_eq!(FASTRPC_ATTR_SECUREMAP, 1);
        assert_eq!(FASTRPC_POLL_MODE, 1);
        assert_eq!(ADSP_MMAP_HEAP_ADDR, 4);
        assert_eq!(ADSP_MMAP_DMA_BUFFER, 6);
        assert_eq!(ADSP_MMAP_REMOTE_HEAP_ADDR, 8);
        assert_eq!(ADSP_MMAP_ADD_PAGES, 0x1000);
        assert_eq!(ADSP_MMAP_ADD_PAGES_LLC, 0x3000);
        assert_eq!(INIT_FILELEN_MAX, 0x20_0000);
        assert_eq!(INIT_FILE_NAMELEN_MAX, 128);
        assert_eq!(FASTRPC_MAX_SESSIONS, 14);
        assert_eq!(FASTRPC_MAX_DSP_ATTRIBUTES, 256);
        assert_eq!(
            [
                ADSP_DOMAIN_ID,
                MDSP_DOMAIN_ID,
                SDSP_DOMAIN_ID,
                CDSP_DOMAIN_ID,
                CDSP1_DOMAIN_ID,
                GDSP0_DOMAIN_ID,
                GDSP1_DOMAIN_ID
            ],
            [0, 1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn dsp_attribute_ids() {
        let expected: [(u32, DspAttribute); 20] = [
            (0, DspAttribute::DomainSupport),
            (1, DspAttribute::UnsignedPdSupport),
            (2, DspAttribute::HvxSupport64B),
            (3, DspAttribute::HvxSupport128B),
            (4, DspAttribute::VtcmPage),
            (5, DspAttribute::VtcmCount),
            (6, DspAttribute::ArchVer),
            (7, DspAttribute::HmxSupportDepth),
            (8, DspAttribute::HmxSupportSpatial),
            (9, DspAttribute::AsyncFastrpcSupport),
            (10, DspAttribute::StatusNotificationSupport),
            (11, DspAttribute::McidMulticast),
            (128, DspAttribute::PerfV2Dsp),
            (129, DspAttribute::MapDmaHandleReverseRpc),
            (130, DspAttribute::DspSignalDsp),
            (131, DspAttribute::ProcSharedBuffer),
            (256, DspAttribute::PerfV2Driver),
            (257, DspAttribute::DriverErrorCodeChange),
            (258, DspAttribute::UserspaceAllocation),
            (259, DspAttribute::DspSignalDriver),
        ];
        for (i, &(id, attr)) in expected.iter().enumerate() {
            assert_eq!(attr.as_u32(), id);
            assert_eq!(u32::from(attr), id);
            assert_eq!(DspAttribute::from_u32(id), Some(attr));
            assert_eq!(DspAttribute::ALL[i], attr);
            assert_eq!(attr.is_kernel_queryable(), id < 256);
        }
        for bad in [12u32, 127, 132, 255, 260, u32::MAX] {
            assert_eq!(DspAttribute::from_u32(bad), None);
        }
    }
}

//! QDA accel driver UAPI (`include/uapi/drm/qda_accel.h`, `drm_qda_*`).
//!
//! The default definitions in this module are the **May 2026** posting
//! (`[PATCH 00/15] accel/qda`, 2026-05-19), the latest revision whose text is
//! available. The Feb 2026 RFC differs in a few places; those definitions live in
//! [`rfc2026`], and [`Revision`] summarises the differences.
//!
//! All QDA ioctls are DRM driver ioctls: type `'d'` ([`crate::drm::DRM_IOCTL_BASE`]),
//! `nr = DRM_COMMAND_BASE (0x40) + DRM_QDA_*`. They are issued on
//! `/dev/accel/accelN` (one node per DSP domain). None of them is flagged
//! `DRM_AUTH`/`DRM_ROOT_ONLY`/`DRM_RENDER_ALLOW`.
//!
//! Source of every layout, number and field meaning: the posted patches (Ekansh
//! Gupta). May 2026 series: cover letter
//! `<20260519-qda-series-v1-0-b2d984c297f8@oss.qualcomm.com>`; patch N has the
//! message id `<20260519-qda-series-v1-N-b2d984c297f8@oss.qualcomm.com>` — 08
//! (QUERY and the UAPI header), 10 (GEM_CREATE, GEM_MMAP_OFFSET), 12 (invoke),
//! 13 (session create/release), 14 (remote map), 15 (remote unmap). Feb 2026 RFC:
//! cover letter `<20260224-qda-firstpost-v1-0-fe46a9c1a046@oss.qualcomm.com>`,
//! patches `…-v1-N-fe46a9c1a046@…` in the same scheme. There is no installed
//! header to compare against; see `VERIFIED.md`.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::drm::{DRM_COMMAND_BASE, drm_ior, drm_iow, drm_iowr};

/// `nr` offset of `DRM_IOCTL_QDA_QUERY` (relative to `DRM_COMMAND_BASE`).
pub const DRM_QDA_QUERY: u8 = 0x00;
/// `nr` offset of `DRM_IOCTL_QDA_GEM_CREATE`.
pub const DRM_QDA_GEM_CREATE: u8 = 0x01;
/// `nr` offset of `DRM_IOCTL_QDA_GEM_MMAP_OFFSET`.
pub const DRM_QDA_GEM_MMAP_OFFSET: u8 = 0x02;
/// `nr` offset 0x03: **reserved** in May 2026 (was `INIT_ATTACH` in the RFC, see
/// [`rfc2026::DRM_IOCTL_QDA_INIT_ATTACH`]). There is no handler; the DRM core
/// answers `EINVAL`.
pub const DRM_QDA_RESERVED_03: u8 = 0x03;
/// `nr` offset of `DRM_IOCTL_QDA_REMOTE_SESSION_CREATE`.
pub const DRM_QDA_REMOTE_SESSION_CREATE: u8 = 0x04;
/// `nr` offset of `DRM_IOCTL_QDA_REMOTE_MAP`.
pub const DRM_QDA_REMOTE_MAP: u8 = 0x05;
/// `nr` offset of `DRM_IOCTL_QDA_REMOTE_MUNMAP`.
pub const DRM_QDA_REMOTE_MUNMAP: u8 = 0x06;
/// `nr` offset of `DRM_IOCTL_QDA_REMOTE_INVOKE`.
pub const DRM_QDA_REMOTE_INVOKE: u8 = 0x07;

/// [`DrmQdaMemMap::request`]: legacy MMAP (remote method id 4).
pub const QDA_MAP_REQUEST_LEGACY: u32 = 1;
/// [`DrmQdaMemMap::request`]: fd-based MEM_MAP with attributes (remote method id 10).
pub const QDA_MAP_REQUEST_ATTR: u32 = 2;
/// [`DrmQdaMemUnmap::request`]: legacy MUNMAP (remote method id 5).
pub const QDA_MUNMAP_REQUEST_LEGACY: u32 = 1;
/// [`DrmQdaMemUnmap::request`]: MEM_UNMAP (remote method id 11).
pub const QDA_MUNMAP_REQUEST_ATTR: u32 = 2;

/// [`DrmQdaInitCreate::attrs`] bit: debug process. Defined by the userspace header
/// (`qualcomm/fastrpc` branch `accel/staging`, commit 759d6f864d68,
/// `inc/fastrpc_ioctl_drm.h`), **not** by the kernel UAPI, which defines no
/// process-attribute bits.
pub const QDA_PROC_MODE_DEBUG: u32 = 1 << 0;
/// [`DrmQdaInitCreate::attrs`] bit: privileged process. Userspace-only definition,
/// like [`QDA_PROC_MODE_DEBUG`].
pub const QDA_PROC_MODE_PRIVILEGED: u32 = 1 << 6;

/// Largest accepted [`DrmQdaInitCreate::filelen`] in the QDA driver: 4 MiB
/// (the QDA driver's `FASTRPC_INIT_FILELEN_MAX`; the legacy misc driver uses 2 MiB,
/// see [`crate::fastrpc::INIT_FILELEN_MAX`]).
pub const FASTRPC_INIT_FILELEN_MAX: u32 = 4 * 1024 * 1024;

/// Length of [`DrmQdaQuery::dsp_name`].
pub const QDA_DSP_NAME_LEN: usize = 16;

/// `struct drm_qda_query` (16 bytes) — output of [`DRM_IOCTL_QDA_QUERY`].
///
/// Source: May 2026 patch 08 (`qda_ioctl_query()` copies the DT label with
/// `strscpy`); same struct in the RFC.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaQuery {
    /// Out: NUL-terminated DSP name copied from the device-tree `label` of the
    /// fastrpc node, e.g. `"adsp"`, `"cdsp"`, `"cdsp1"`, `"gdsp0"`.
    pub dsp_name: [u8; QDA_DSP_NAME_LEN],
}

impl DrmQdaQuery {
    /// The name bytes up to (not including) the first NUL, or all 16 bytes if there
    /// is none.
    #[must_use]
    pub fn name_bytes(&self) -> &[u8] {
        let end = self.dsp_name.iter().position(|&b| b == 0).unwrap_or(QDA_DSP_NAME_LEN);
        &self.dsp_name[..end]
    }
}

/// `struct drm_qda_gem_create` (16 bytes, May 2026 layout) — argument of
/// [`DRM_IOCTL_QDA_GEM_CREATE`]. The RFC had a different field order, see
/// [`rfc2026::GemCreate`].
///
/// Source: May 2026 patch 10 (`qda_ioctl_gem_create()` rejects a non-zero `pad`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaGemCreate {
    /// In: requested size in bytes; 0 → `EINVAL`; rounded up to the page size.
    pub size: u64,
    /// Out: new GEM handle.
    pub handle: u32,
    /// Must be zero (checked: non-zero → `EINVAL`).
    pub pad: u32,
}

/// `struct drm_qda_gem_mmap_offset` (16 bytes, May 2026 layout) — argument of
/// [`DRM_IOCTL_QDA_GEM_MMAP_OFFSET`]. The RFC had a different field order, see
/// [`rfc2026::GemMmapOffset`].
///
/// Source: May 2026 patch 10 (`qda_ioctl_gem_mmap_offset()` uses
/// `drm_gem_dumb_map_offset()`, which rejects imported objects).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaGemMmapOffset {
    /// Out: fake offset to pass to `mmap()` on the accel fd.
    pub offset: u64,
    /// In: GEM handle.
    pub handle: u32,
    /// Must be zero (checked: non-zero → `EINVAL`).
    pub pad: u32,
}

/// `struct drm_qda_fastrpc_invoke_args` (24 bytes) — one element of the argument
/// array that [`DrmQdaInvokeArgs::args`] points to (not an ioctl argument itself).
/// RFC name: `struct fastrpc_invoke_args` (same layout).
///
/// Source: May 2026 patch 12 (UAPI hunk); identical layout to the legacy
/// [`crate::fastrpc::FastrpcInvokeArgs`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaFastrpcInvokeArgs {
    /// User virtual address of the argument data.
    pub ptr: u64,
    /// Length in bytes.
    pub length: u64,
    /// May 2026: DMA-BUF fd of a buffer argument, `-1`/`0` for an inline (copied)
    /// buffer. RFC: a **GEM handle** looked up in the file's handle table.
    pub fd: i32,
    /// Argument attributes (not interpreted by the May 2026 kernel).
    pub attr: u32,
}

/// `struct drm_qda_invoke_args` (16 bytes) — argument of
/// [`DRM_IOCTL_QDA_REMOTE_INVOKE`]. RFC name: `struct qda_invoke_args`.
///
/// Source: May 2026 patch 12 (UAPI hunk; the `sc` word is the FastRPC scalars
/// encoding, described in `docs/PROTOCOL.md`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaInvokeArgs {
    /// Remote (DSP-side) handle of the object/method table.
    pub handle: u32,
    /// FastRPC "scalars" word (method id and in/out buffer/handle counts).
    pub sc: u32,
    /// User pointer to `REMOTE_SCALARS_LENGTH(sc)` ×
    /// [`DrmQdaFastrpcInvokeArgs`].
    pub args: u64,
}

/// `struct drm_qda_init_create` (24 bytes) — argument of
/// [`DRM_IOCTL_QDA_REMOTE_SESSION_CREATE`]. RFC name: `struct qda_init_create`
/// (ioctl `DRM_IOCTL_QDA_INIT_CREATE`, same number).
///
/// Source: May 2026 patch 13 (UAPI hunk and `qda_ioctl_init_create()`; the driver
/// limit is its 4 MiB `FASTRPC_INIT_FILELEN_MAX`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaInitCreate {
    /// Length of the process ELF ("shell"); must be ≤ [`FASTRPC_INIT_FILELEN_MAX`].
    pub filelen: u32,
    /// May 2026: DMA-BUF fd holding the ELF (forwarded to the DSP), or ≤ 0 to use
    /// `file`. RFC: a **GEM handle**.
    pub filefd: i32,
    /// Process attributes; non-zero selects remote method 7 (CREATE_ATTR) instead
    /// of 6. Userspace bits: [`QDA_PROC_MODE_DEBUG`], [`QDA_PROC_MODE_PRIVILEGED`].
    pub attrs: u32,
    /// Signature length.
    pub siglen: u32,
    /// User pointer to the ELF bytes when `filefd` is not used.
    pub file: u64,
}

/// `struct drm_qda_mem_map` (48 bytes) — argument of [`DRM_IOCTL_QDA_REMOTE_MAP`].
/// RFC name: `struct qda_mem_map` (6th word named `reserved` instead of `pad`).
///
/// Source: May 2026 patch 14 (UAPI hunk).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaMemMap {
    /// [`QDA_MAP_REQUEST_LEGACY`] or [`QDA_MAP_REQUEST_ATTR`]; anything else →
    /// `EINVAL`.
    pub request: u32,
    /// DSP mapping flags, forwarded to the DSP.
    pub flags: u32,
    /// DMA-BUF fd of the buffer (imported via PRIME to find its IOVA; also
    /// forwarded to the DSP in ATTR mode).
    pub fd: i32,
    /// "SMMU attributes" (ATTR mode); not used by the May 2026 kernel code.
    pub attrs: u32,
    /// Byte offset into the buffer (ATTR mode only, forwarded).
    pub offset: u32,
    /// Must be zero (checked: non-zero → `EINVAL`). RFC name: `reserved`.
    pub pad: u32,
    /// Optional DSP virtual-address hint, forwarded.
    pub vaddrin: u64,
    /// Documented as the size; not used by the May 2026 kernel (the whole GEM
    /// object is described to the DSP).
    pub size: u64,
    /// Out: DSP virtual address returned by the DSP.
    pub vaddrout: u64,
}

/// `struct drm_qda_mem_unmap` (32 bytes) — argument of
/// [`DRM_IOCTL_QDA_REMOTE_MUNMAP`]. RFC name: `struct qda_mem_unmap`.
///
/// Source: May 2026 patch 15 (UAPI hunk).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaMemUnmap {
    /// [`QDA_MUNMAP_REQUEST_LEGACY`] or [`QDA_MUNMAP_REQUEST_ATTR`].
    pub request: u32,
    /// ATTR mode: fd forwarded to the DSP (not imported or validated).
    pub fd: i32,
    /// ATTR mode: DSP virtual address.
    pub vaddr: u64,
    /// LEGACY mode: DSP virtual address (the `vaddrout` a previous map returned).
    pub vaddrout: u64,
    /// Size in bytes.
    pub size: u64,
}

/// `DRM_IOCTL_QDA_QUERY` = `DRM_IOR(0x40, struct drm_qda_query)` (0x80106440):
/// read the DSP name of this accel node.
pub const DRM_IOCTL_QDA_QUERY: u32 = drm_ior(DRM_COMMAND_BASE + DRM_QDA_QUERY, size_of::<DrmQdaQuery>());
/// `DRM_IOCTL_QDA_GEM_CREATE` = `DRM_IOWR(0x41, struct drm_qda_gem_create)`
/// (0xC0106441): allocate a GEM buffer.
pub const DRM_IOCTL_QDA_GEM_CREATE: u32 = drm_iowr(DRM_COMMAND_BASE + DRM_QDA_GEM_CREATE, size_of::<DrmQdaGemCreate>());
/// `DRM_IOCTL_QDA_GEM_MMAP_OFFSET` = `DRM_IOWR(0x42, struct drm_qda_gem_mmap_offset)`
/// (0xC0106442): get the fake mmap offset of a GEM buffer.
pub const DRM_IOCTL_QDA_GEM_MMAP_OFFSET: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_QDA_GEM_MMAP_OFFSET,
    size_of::<DrmQdaGemMmapOffset>(),
);
/// `DRM_IOCTL_QDA_REMOTE_SESSION_CREATE` = `DRM_IOWR(0x44, struct drm_qda_init_create)`
/// (0xC0186444): spawn the user process (PD) on the DSP.
pub const DRM_IOCTL_QDA_REMOTE_SESSION_CREATE: u32 = drm_iowr(
    DRM_COMMAND_BASE + DRM_QDA_REMOTE_SESSION_CREATE,
    size_of::<DrmQdaInitCreate>(),
);
/// `DRM_IOCTL_QDA_REMOTE_MAP` = `DRM_IOWR(0x45, struct drm_qda_mem_map)`
/// (0xC0306445): map a buffer into the DSP process.
pub const DRM_IOCTL_QDA_REMOTE_MAP: u32 = drm_iowr(DRM_COMMAND_BASE + DRM_QDA_REMOTE_MAP, size_of::<DrmQdaMemMap>());
/// `DRM_IOCTL_QDA_REMOTE_MUNMAP` = `DRM_IOWR(0x46, struct drm_qda_mem_unmap)`
/// (0xC0206446): unmap a buffer from the DSP process.
pub const DRM_IOCTL_QDA_REMOTE_MUNMAP: u32 =
    drm_iowr(DRM_COMMAND_BASE + DRM_QDA_REMOTE_MUNMAP, size_of::<DrmQdaMemUnmap>());
/// `DRM_IOCTL_QDA_REMOTE_INVOKE` = `DRM_IOWR(0x47, struct drm_qda_invoke_args)`
/// (0xC0106447): synchronous remote procedure call.
pub const DRM_IOCTL_QDA_REMOTE_INVOKE: u32 =
    drm_iowr(DRM_COMMAND_BASE + DRM_QDA_REMOTE_INVOKE, size_of::<DrmQdaInvokeArgs>());

/// `nr` offset of [`DRM_IOCTL_QDA_SET_POLL`]: **a qda extension**, not in any
/// posting. The last driver-private `nr` (0x9f), far from where the posted
/// table (0x40..=0x47) grows, so upstream numbers keep their meaning.
pub const DRM_QDA_SET_POLL: u8 = 0x5f;
/// The spin budget qda's driver gives a file whose poll mode is turned on
/// without a time (the legacy `SET_OPTION`; the proposal's kernel spins up
/// to 10 ms, qda less because its DSP threads share the caller's cores).
pub const QDA_POLL_BUDGET_DEFAULT_US: u32 = 100;
/// The largest [`DrmQdaSetPoll::budget_us`] (libfastrpc's `latency` maximum).
pub const QDA_POLL_BUDGET_MAX_US: u32 = 10_000;

/// `struct drm_qda_set_poll` (8 bytes) — argument of [`DRM_IOCTL_QDA_SET_POLL`].
/// **A qda extension** (the accel node's counterpart of the proposed legacy
/// `FASTRPC_IOCTL_SET_OPTION` poll option, until upstream has one; see
/// `docs/DRIVER.md`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmQdaSetPoll {
    /// Spin budget in µs of the file's calls to dynamic handles; 0 = sleep
    /// mode; above [`QDA_POLL_BUDGET_MAX_US`] → `EINVAL`.
    pub budget_us: u32,
    /// Must be zero (non-zero → `EINVAL`).
    pub flags: u32,
}

/// `DRM_IOCTL_QDA_SET_POLL` = `DRM_IOW(0x9f, struct drm_qda_set_poll)`
/// (0x4008649f): set the file's poll mode. **A qda extension**; a kernel
/// answers `EINVAL` (past its driver table).
pub const DRM_IOCTL_QDA_SET_POLL: u32 = drm_iow(DRM_COMMAND_BASE + DRM_QDA_SET_POLL, size_of::<DrmQdaSetPoll>());

/// Which posting of the QDA UAPI a peer speaks.
///
/// Differences (RFC patches 09, 11, 13, 14, 16, 17 against May 2026 patches 08,
/// 10, 12–15; message ids in the module documentation):
///
/// | Item | [`Rfc2026Feb`](Revision::Rfc2026Feb) | [`May2026`](Revision::May2026) |
/// |---|---|---|
/// | nr 0x03 | `DRM_IOCTL_QDA_INIT_ATTACH` (`DRM_IO`, 0x00006443) | reserved (`EINVAL`) |
/// | ioctl names 0x04–0x07 | `INIT_CREATE`, `MAP`, `MUNMAP`, `INVOKE` | `REMOTE_SESSION_CREATE`, `REMOTE_MAP`, `REMOTE_MUNMAP`, `REMOTE_INVOKE` (same numbers) |
/// | struct names | `fastrpc_invoke_args`, `qda_*` | `drm_qda_*` (same layouts) |
/// | `gem_create` | `{u32 handle; u32 pad; u64 size}` | `{u64 size; u32 handle; u32 pad}` |
/// | `gem_mmap_offset` | `{u32 handle; u32 pad; u64 offset}` | `{u64 offset; u32 handle; u32 pad}` |
/// | pad checks | none | GEM_CREATE, GEM_MMAP_OFFSET, REMOTE_MAP reject non-zero `pad` |
/// | `mem_map` 6th word | `reserved` | `pad` |
/// | invoke-arg `fd`, `filefd` | GEM handle | DMA-BUF fd (PRIME-imported per use) |
/// | MMAP_OFFSET of imported BO | allowed | rejected (`drm_gem_dumb_map_offset`) |
/// | QUERY | 16-byte `DRM_IOR` | same |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Revision {
    /// `[PATCH RFC 00/18]`, 2026-02-24.
    Rfc2026Feb,
    /// `[PATCH 00/15]`, 2026-05-19 (default).
    #[default]
    May2026,
}

impl Revision {
    /// Both revisions, oldest first.
    pub const ALL: [Revision; 2] = [Self::Rfc2026Feb, Self::May2026];

    /// The name a user gives it (`QDA_UAPI_REVISION`, `qdad --uapi-revision`,
    /// the DTB property `qda,uapi-revision`): `"2026-02"` or `"2026-05"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rfc2026Feb => "2026-02",
            Self::May2026 => "2026-05",
        }
    }

    /// The revision named `s` (see [`Revision::name`]), if any.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Revision> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether nr 0x03 is the `INIT_ATTACH` ioctl (RFC) rather than reserved.
    #[must_use]
    pub const fn has_init_attach(self) -> bool {
        matches!(self, Self::Rfc2026Feb)
    }

    /// Whether invoke-argument `fd` and init-create `filefd` carry GEM handles (RFC)
    /// rather than DMA-BUF fds (May 2026).
    #[must_use]
    pub const fn buffer_refs_are_gem_handles(self) -> bool {
        matches!(self, Self::Rfc2026Feb)
    }

    /// Whether the kernel rejects non-zero `pad` in GEM_CREATE, GEM_MMAP_OFFSET and
    /// REMOTE_MAP.
    #[must_use]
    pub const fn checks_pad(self) -> bool {
        matches!(self, Self::May2026)
    }

    /// Byte offsets `(handle, size)` inside the 16-byte `gem_create` struct.
    #[must_use]
    pub const fn gem_create_offsets(self) -> (usize, usize) {
        match self {
            Self::Rfc2026Feb => (0, 8),
            Self::May2026 => (8, 0),
        }
    }

    /// Byte offsets `(handle, offset)` inside the 16-byte `gem_mmap_offset` struct.
    #[must_use]
    pub const fn gem_mmap_offset_offsets(self) -> (usize, usize) {
        match self {
            Self::Rfc2026Feb => (0, 8),
            Self::May2026 => (8, 0),
        }
    }
}

/// Feb 2026 RFC (`[PATCH RFC 00/18] accel/qda`) definitions, where they differ
/// from the May 2026 default.
///
/// Source: RFC patches 09, 11, 13, 14, 16 and 17
/// (`<20260224-qda-firstpost-v1-N-fe46a9c1a046@oss.qualcomm.com>`). Unchanged
/// layouts are re-exported under their RFC names as type aliases.
///
/// Semantic difference that is not visible in the layouts: in the RFC the
/// [`DrmQdaFastrpcInvokeArgs::fd`](crate::qda::DrmQdaFastrpcInvokeArgs::fd) and
/// [`DrmQdaInitCreate::filefd`](crate::qda::DrmQdaInitCreate::filefd) fields are **GEM handles**
/// (looked up with `drm_gem_object_lookup` in the caller's handle table), not
/// DMA-BUF fds. The RFC also performs no `pad` checks.
pub mod rfc2026 {
    use core::mem::size_of;

    use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

    use crate::drm::{DRM_COMMAND_BASE, drm_io, drm_iowr};

    /// RFC `struct fastrpc_invoke_args` — same layout as
    /// [`super::DrmQdaFastrpcInvokeArgs`], but `fd` is a GEM handle.
    pub type FastrpcInvokeArgs = super::DrmQdaFastrpcInvokeArgs;
    /// RFC `struct qda_invoke_args` — same layout as [`super::DrmQdaInvokeArgs`].
    pub type InvokeArgs = super::DrmQdaInvokeArgs;
    /// RFC `struct qda_init_create` — same layout as [`super::DrmQdaInitCreate`],
    /// but `filefd` is a GEM handle.
    pub type InitCreate = super::DrmQdaInitCreate;
    /// RFC `struct qda_mem_map` — same layout as [`super::DrmQdaMemMap`] (the
    /// `pad` field is called `reserved` and is not checked).
    pub type MemMap = super::DrmQdaMemMap;
    /// RFC `struct qda_mem_unmap` — same layout as [`super::DrmQdaMemUnmap`].
    pub type MemUnmap = super::DrmQdaMemUnmap;
    /// RFC `struct drm_qda_query` — unchanged.
    pub type Query = super::DrmQdaQuery;

    /// RFC `struct drm_qda_gem_create` (16 bytes): handle first, size last.
    ///
    /// Source: RFC patch 11 (`…-v1-11-fe46a9c1a046@…`).
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
    pub struct GemCreate {
        /// Out: new GEM handle.
        pub handle: u32,
        /// Padding; write 0 (the RFC kernel does not check it).
        pub pad: u32,
        /// In: requested size in bytes.
        pub size: u64,
    }

    /// RFC `struct drm_qda_gem_mmap_offset` (16 bytes): handle first, offset last.
    ///
    /// Source: RFC patch 11 (`…-v1-11-fe46a9c1a046@…`).
    #[repr(C)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
    pub struct GemMmapOffset {
        /// In: GEM handle.
        pub handle: u32,
        /// Padding; write 0 (the RFC kernel does not check it).
        pub pad: u32,
        /// Out: fake mmap offset.
        pub offset: u64,
    }

    /// `nr` offset of RFC `DRM_IOCTL_QDA_INIT_ATTACH` (reserved in May 2026).
    pub const DRM_QDA_INIT_ATTACH: u8 = 0x03;

    /// RFC `DRM_IOCTL_QDA_INIT_ATTACH` = `DRM_IO(0x43)` (0x00006443): attach to the
    /// DSP's root/guest-OS process. Removed in May 2026.
    pub const DRM_IOCTL_QDA_INIT_ATTACH: u32 = drm_io(DRM_COMMAND_BASE + DRM_QDA_INIT_ATTACH);
    /// RFC `DRM_IOCTL_QDA_GEM_CREATE` (0xC0106441) — same number as May 2026,
    /// different field order ([`GemCreate`]).
    pub const DRM_IOCTL_QDA_GEM_CREATE: u32 =
        drm_iowr(DRM_COMMAND_BASE + super::DRM_QDA_GEM_CREATE, size_of::<GemCreate>());
    /// RFC `DRM_IOCTL_QDA_GEM_MMAP_OFFSET` (0xC0106442) — same number as May 2026,
    /// different field order ([`GemMmapOffset`]).
    pub const DRM_IOCTL_QDA_GEM_MMAP_OFFSET: u32 = drm_iowr(
        DRM_COMMAND_BASE + super::DRM_QDA_GEM_MMAP_OFFSET,
        size_of::<GemMmapOffset>(),
    );
    /// RFC `DRM_IOCTL_QDA_QUERY` (0x80106440) — unchanged.
    pub const DRM_IOCTL_QDA_QUERY: u32 = super::DRM_IOCTL_QDA_QUERY;
    /// RFC `DRM_IOCTL_QDA_INIT_CREATE` (0xC0186444) — renamed
    /// `REMOTE_SESSION_CREATE` in May 2026.
    pub const DRM_IOCTL_QDA_INIT_CREATE: u32 = super::DRM_IOCTL_QDA_REMOTE_SESSION_CREATE;
    /// RFC `DRM_IOCTL_QDA_MAP` (0xC0306445) — renamed `REMOTE_MAP` in May 2026.
    pub const DRM_IOCTL_QDA_MAP: u32 = super::DRM_IOCTL_QDA_REMOTE_MAP;
    /// RFC `DRM_IOCTL_QDA_MUNMAP` (0xC0206446) — renamed `REMOTE_MUNMAP` in May 2026.
    pub const DRM_IOCTL_QDA_MUNMAP: u32 = super::DRM_IOCTL_QDA_REMOTE_MUNMAP;
    /// RFC `DRM_IOCTL_QDA_INVOKE` (0xC0106447) — renamed `REMOTE_INVOKE` in May 2026.
    pub const DRM_IOCTL_QDA_INVOKE: u32 = super::DRM_IOCTL_QDA_REMOTE_INVOKE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn constants() {
        assert_eq!(DRM_QDA_QUERY, 0x00);
        assert_eq!(DRM_QDA_GEM_CREATE, 0x01);
        assert_eq!(DRM_QDA_GEM_MMAP_OFFSET, 0x02);
        assert_eq!(DRM_QDA_RESERVED_03, 0x03);
        assert_eq!(DRM_QDA_REMOTE_SESSION_CREATE, 0x04);
        assert_eq!(DRM_QDA_REMOTE_MAP, 0x05);
        assert_eq!(DRM_QDA_REMOTE_MUNMAP, 0x06);
        assert_eq!(DRM_QDA_REMOTE_INVOKE, 0x07);
        assert_eq!(QDA_MAP_REQUEST_LEGACY, 1);
        assert_eq!(QDA_MAP_REQUEST_ATTR, 2);
        assert_eq!(QDA_MUNMAP_REQUEST_LEGACY, 1);
        assert_eq!(QDA_MUNMAP_REQUEST_ATTR, 2);
        assert_eq!(QDA_PROC_MODE_DEBUG, 0x1);
        assert_eq!(QDA_PROC_MODE_PRIVILEGED, 0x40);
        assert_eq!(FASTRPC_INIT_FILELEN_MAX, 0x40_0000);
    }

    #[test]
    fn query_layout() {
        assert_eq!(size_of::<DrmQdaQuery>(), 16);
        assert_eq!(align_of::<DrmQdaQuery>(), 1);
        assert_eq!(offset_of!(DrmQdaQuery, dsp_name), 0);
        let mut q = DrmQdaQuery::default();
        q.dsp_name[..4].copy_from_slice(b"cdsp");
        assert_eq!(q.name_bytes(), b"cdsp");
        let full = DrmQdaQuery { dsp_name: [b'x'; 16] };
        assert_eq!(full.name_bytes().len(), 16);
    }

    #[test]
    fn gem_create_layout() {
        assert_eq!(size_of::<DrmQdaGemCreate>(), 16);
        assert_eq!(align_of::<DrmQdaGemCreate>(), 8);
        assert_eq!(offset_of!(DrmQdaGemCreate, size), 0);
        assert_eq!(offset_of!(DrmQdaGemCreate, handle), 8);
        assert_eq!(offset_of!(DrmQdaGemCreate, pad), 12);
    }

    #[test]
    fn gem_mmap_offset_layout() {
        assert_eq!(size_of::<DrmQdaGemMmapOffset>(), 16);
        assert_eq!(align_of::<DrmQdaGemMmapOffset>(), 8);
        assert_eq!(offset_of!(DrmQdaGemMmapOffset, offset), 0);
        assert_eq!(offset_of!(DrmQdaGemMmapOffset, handle), 8);
        assert_eq!(offset_of!(DrmQdaGemMmapOffset, pad), 12);
    }

    #[test]
    fn fastrpc_invoke_args_layout() {
        assert_eq!(size_of::<DrmQdaFastrpcInvokeArgs>(), 24);
        assert_eq!(align_of::<DrmQdaFastrpcInvokeArgs>(), 8);
        assert_eq!(offset_of!(DrmQdaFastrpcInvokeArgs, ptr), 0);
        assert_eq!(offset_of!(DrmQdaFastrpcInvokeArgs, length), 8);
        assert_eq!(offset_of!(DrmQdaFastrpcInvokeArgs, fd), 16);
        assert_eq!(offset_of!(DrmQdaFastrpcInvokeArgs, attr), 20);
    }

    #[test]
    fn invoke_args_layout() {
        assert_eq!(size_of::<DrmQdaInvokeArgs>(), 16);
        assert_eq!(align_of::<DrmQdaInvokeArgs>(), 8);
        assert_eq!(offset_of!(DrmQdaInvokeArgs, handle), 0);
        assert_eq!(offset_of!(DrmQdaInvokeArgs, sc), 4);
        assert_eq!(offset_of!(DrmQdaInvokeArgs, args), 8);
    }

    #[test]
    fn init_create_layout() {
        assert_eq!(size_of::<DrmQdaInitCreate>(), 24);
        assert_eq!(align_of::<DrmQdaInitCreate>(), 8);
        assert_eq!(offset_of!(DrmQdaInitCreate, filelen), 0);
        assert_eq!(offset_of!(DrmQdaInitCreate, filefd), 4);
        assert_eq!(offset_of!(DrmQdaInitCreate, attrs), 8);
        assert_eq!(offset_of!(DrmQdaInitCreate, siglen), 12);
        assert_eq!(offset_of!(DrmQdaInitCreate, file), 16);
    }

    #[test]
    fn mem_map_layout() {
        assert_eq!(size_of::<DrmQdaMemMap>(), 48);
        assert_eq!(align_of::<DrmQdaMemMap>(), 8);
        assert_eq!(offset_of!(DrmQdaMemMap, request), 0);
        assert_eq!(offset_of!(DrmQdaMemMap, flags), 4);
        assert_eq!(offset_of!(DrmQdaMemMap, fd), 8);
        assert_eq!(offset_of!(DrmQdaMemMap, attrs), 12);
        assert_eq!(offset_of!(DrmQdaMemMap, offset), 16);
        assert_eq!(offset_of!(DrmQdaMemMap, pad), 20);
        assert_eq!(offset_of!(DrmQdaMemMap, vaddrin), 24);
        assert_eq!(offset_of!(DrmQdaMemMap, size), 32);
        assert_eq!(offset_of!(DrmQdaMemMap, vaddrout), 40);
    }

    #[test]
    fn mem_unmap_layout() {
        assert_eq!(size_of::<DrmQdaMemUnmap>(), 32);
        assert_eq!(align_of::<DrmQdaMemUnmap>(), 8);
        assert_eq!(offset_of!(DrmQdaMemUnmap, request), 0);
        assert_eq!(offset_of!(DrmQdaMemUnmap, fd), 4);
        assert_eq!(offset_of!(DrmQdaMemUnmap, vaddr), 8);
        assert_eq!(offset_of!(DrmQdaMemUnmap, vaddrout), 16);
        assert_eq!(offset_of!(DrmQdaMemUnmap, size), 24);
    }

    #[test]
    fn rfc_gem_layouts() {
        use rfc2026::{GemCreate, GemMmapOffset};
        assert_eq!(size_of::<GemCreate>(), 16);
        assert_eq!(align_of::<GemCreate>(), 8);
        assert_eq!(offset_of!(GemCreate, handle), 0);
        assert_eq!(offset_of!(GemCreate, pad), 4);
        assert_eq!(offset_of!(GemCreate, size), 8);
        assert_eq!(size_of::<GemMmapOffset>(), 16);
        assert_eq!(align_of::<GemMmapOffset>(), 8);
        assert_eq!(offset_of!(GemMmapOffset, handle), 0);
        assert_eq!(offset_of!(GemMmapOffset, pad), 4);
        assert_eq!(offset_of!(GemMmapOffset, offset), 8);
    }

    #[test]
    fn revision_offsets_match_structs() {
        assert_eq!(
            Revision::May2026.gem_create_offsets(),
            (offset_of!(DrmQdaGemCreate, handle), offset_of!(DrmQdaGemCreate, size))
        );
        assert_eq!(
            Revision::Rfc2026Feb.gem_create_offsets(),
            (
                offset_of!(rfc2026::GemCreate, handle),
                offset_of!(rfc2026::GemCreate, size)
            )
        );
        assert_eq!(
            Revision::May2026.gem_mmap_offset_offsets(),
            (
                offset_of!(DrmQdaGemMmapOffset, handle),
                offset_of!(DrmQdaGemMmapOffset, offset)
            )
        );
        assert_eq!(
            Revision::Rfc2026Feb.gem_mmap_offset_offsets(),
            (
                offset_of!(rfc2026::GemMmapOffset, handle),
                offset_of!(rfc2026::GemMmapOffset, offset)
            )
        );
        assert_eq!(Revision::default(), Revision::May2026);
        assert_eq!(Revision::from_name("2026-02"), Some(Revision::Rfc2026Feb));
        assert_eq!(Revision::from_name("2026-05"), Some(Revision::May2026));
        assert_eq!(Revision::from_name("2026-5"), None);
        for r in Revision::ALL {
            assert_eq!(Revision::from_name(r.name()), Some(r));
        }
        assert!(Revision::Rfc2026Feb.has_init_attach());
        assert!(!Revision::May2026.has_init_attach());
        assert!(Revision::Rfc2026Feb.buffer_refs_are_gem_handles());
        assert!(!Revision::May2026.buffer_refs_are_gem_handles());
        assert!(Revision::May2026.checks_pad());
        assert!(!Revision::Rfc2026Feb.checks_pad());
    }

    #[test]
    fn set_poll_layout() {
        assert_eq!(size_of::<DrmQdaSetPoll>(), 8);
        assert_eq!(align_of::<DrmQdaSetPoll>(), 4);
        assert_eq!(offset_of!(DrmQdaSetPoll, budget_us), 0);
        assert_eq!(offset_of!(DrmQdaSetPoll, flags), 4);
        assert_eq!(DRM_IOCTL_QDA_SET_POLL, 0x4008_649f);
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(DRM_IOCTL_QDA_QUERY, 0x8010_6440);
        assert_eq!(DRM_IOCTL_QDA_GEM_CREATE, 0xc010_6441);
        assert_eq!(DRM_IOCTL_QDA_GEM_MMAP_OFFSET, 0xc010_6442);
        assert_eq!(DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, 0xc018_6444);
        assert_eq!(DRM_IOCTL_QDA_REMOTE_MAP, 0xc030_6445);
        assert_eq!(DRM_IOCTL_QDA_REMOTE_MUNMAP, 0xc020_6446);
        assert_eq!(DRM_IOCTL_QDA_REMOTE_INVOKE, 0xc010_6447);

        assert_eq!(rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, 0x0000_6443);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_GEM_CREATE, 0xc010_6441);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_GEM_MMAP_OFFSET, 0xc010_6442);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_QUERY, 0x8010_6440);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_INIT_CREATE, 0xc018_6444);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_MAP, 0xc030_6445);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_MUNMAP, 0xc020_6446);
        assert_eq!(rfc2026::DRM_IOCTL_QDA_INVOKE, 0xc010_6447);
    }

    #[test]
    fn ioctl_round_trip() {
        for &(cmd, nr, size, dir) in &[
            (DRM_IOCTL_QDA_QUERY, 0x40u8, 16usize, 2u32),
            (DRM_IOCTL_QDA_GEM_CREATE, 0x41, 16, 3),
            (DRM_IOCTL_QDA_GEM_MMAP_OFFSET, 0x42, 16, 3),
            (rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, 0x43, 0, 0),
            (DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, 0x44, 24, 3),
            (DRM_IOCTL_QDA_REMOTE_MAP, 0x45, 48, 3),
            (DRM_IOCTL_QDA_REMOTE_MUNMAP, 0x46, 32, 3),
            (DRM_IOCTL_QDA_REMOTE_INVOKE, 0x47, 16, 3),
        ] {
            assert_eq!(ioc_type(cmd), b'd');
            assert_eq!(ioc_nr(cmd), nr);
            assert_eq!(ioc_size(cmd), size);
            assert_eq!(ioc_dir(cmd), dir);
        }
    }

    #[test]
    fn rfc_and_may_gem_create_bytes_differ() {
        use zerocopy::IntoBytes;
        let may = DrmQdaGemCreate {
            size: 0x1000,
            handle: 7,
            pad: 0,
        };
        let rfc = rfc2026::GemCreate {
            handle: 7,
            pad: 0,
            size: 0x1000,
        };
        assert_ne!(may.as_bytes(), rfc.as_bytes());
        assert_eq!(&may.as_bytes()[8..12], &7u32.to_ne_bytes());
        assert_eq!(&rfc.as_bytes()[0..4], &7u32.to_ne_bytes());
    }
}

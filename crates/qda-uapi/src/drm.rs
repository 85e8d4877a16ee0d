//! DRM core UAPI (`include/uapi/drm/drm.h`) — the subset the QDA stack uses on an
//! accel node (`/dev/accel/accelN`, char major [`ACCEL_MAJOR`]).
//!
//! All DRM ioctls use type [`DRM_IOCTL_BASE`] (`'d'`). Core ioctls live at
//! `nr < DRM_COMMAND_BASE`; driver-private ones (such as QDA's, see
//! [`crate::qda`]) at `DRM_COMMAND_BASE ..= DRM_COMMAND_END - 1`.
//!
//! Source of the layouts and numbers: Linux `include/uapi/drm/drm.h` (the same
//! definitions ship as libdrm's `drm.h`; checked with a C probe against libdrm
//! 2.4.114, see `VERIFIED.md`) and, for the accel node numbers, Linux
//! `include/drm/drm_accel.h`.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ioctl::{io, ior, iow, iowr};

/// The ioctl type byte of every DRM ioctl (`DRM_IOCTL_BASE`, `'d'` = 0x64).
pub const DRM_IOCTL_BASE: u8 = b'd';
/// First `nr` available to driver-private ioctls (`DRM_COMMAND_BASE`).
pub const DRM_COMMAND_BASE: u8 = 0x40;
/// One past the last driver-private `nr` (`DRM_COMMAND_END`).
pub const DRM_COMMAND_END: u8 = 0xA0;

/// Character-device major number of `/dev/accel/accel*` nodes (`ACCEL_MAJOR`).
pub const ACCEL_MAJOR: u32 = 261;
/// Maximum number of accel minors (`ACCEL_MAX_MINORS`).
pub const ACCEL_MAX_MINORS: u32 = 256;

/// `DRM_CLOEXEC`: equals `O_CLOEXEC` (octal 02000000) on x86_64/arm64. Valid in
/// [`DrmPrimeHandle::flags`] for `PRIME_HANDLE_TO_FD`.
pub const DRM_CLOEXEC: u32 = 0o2_000_000;
/// `DRM_RDWR`: equals `O_RDWR` (2). Valid in [`DrmPrimeHandle::flags`] for
/// `PRIME_HANDLE_TO_FD`; it fixes the dma-buf's access mode on its *first* export.
pub const DRM_RDWR: u32 = 2;

/// `DRM_CAP_PRIME`: [`DrmGetCap::capability`] value asking which PRIME directions work.
pub const DRM_CAP_PRIME: u64 = 5;
/// `DRM_PRIME_CAP_IMPORT`: bit in the `DRM_CAP_PRIME` answer — dma-buf import supported.
pub const DRM_PRIME_CAP_IMPORT: u64 = 1;
/// `DRM_PRIME_CAP_EXPORT`: bit in the `DRM_CAP_PRIME` answer — dma-buf export supported.
pub const DRM_PRIME_CAP_EXPORT: u64 = 2;

/// `DRM_IO(nr)`.
#[must_use]
pub const fn drm_io(nr: u8) -> u32 {
    io(DRM_IOCTL_BASE, nr)
}
/// `DRM_IOR(nr, size)`.
#[must_use]
pub const fn drm_ior(nr: u8, size: usize) -> u32 {
    ior(DRM_IOCTL_BASE, nr, size)
}
/// `DRM_IOW(nr, size)`.
#[must_use]
pub const fn drm_iow(nr: u8, size: usize) -> u32 {
    iow(DRM_IOCTL_BASE, nr, size)
}
/// `DRM_IOWR(nr, size)`.
#[must_use]
pub const fn drm_iowr(nr: u8, size: usize) -> u32 {
    iowr(DRM_IOCTL_BASE, nr, size)
}

/// `struct drm_version` (LP64 layout, 64 bytes) — argument of [`DRM_IOCTL_VERSION`].
///
/// Field meanings (Linux `include/uapi/drm/drm.h`, `drm_version()` in
/// `drivers/gpu/drm/drm_ioctl.c`): the kernel fills the three
/// version numbers and, for each of `name`/`date`/`desc`, writes the full string
/// length back into the `*_len` field and copies at most the caller-supplied
/// `*_len` bytes to the user pointer. Callers use the usual two-call protocol
/// (first with zero lengths/null pointers, then with buffers).
///
/// In C the lengths are `__kernel_size_t` and the strings `char *`; on LP64 both are
/// 8 bytes, so they are `u64` here. C has an implicit 4-byte hole after
/// `version_patchlevel`; it is the explicit [`pad`](Self::pad) field here (ignored
/// by the kernel; write 0).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmVersion {
    /// Out: driver major version.
    pub version_major: i32,
    /// Out: driver minor version.
    pub version_minor: i32,
    /// Out: driver patch level.
    pub version_patchlevel: i32,
    /// Explicit form of C's implicit alignment hole before `name_len`; write 0.
    pub pad: u32,
    /// In: size of the `name` buffer; out: full length of the driver name.
    pub name_len: u64,
    /// In: user pointer to a buffer for the driver name (e.g. `"qda"`), may be 0.
    pub name: u64,
    /// In: size of the `date` buffer; out: full length of the date string.
    pub date_len: u64,
    /// In: user pointer to a buffer for the driver date string (placeholder on
    /// newer kernels), may be 0.
    pub date: u64,
    /// In: size of the `desc` buffer; out: full length of the description.
    pub desc_len: u64,
    /// In: user pointer to a buffer for the driver description, may be 0.
    pub desc: u64,
}

/// `struct drm_get_cap` (16 bytes) — argument of [`DRM_IOCTL_GET_CAP`].
///
/// Source: Linux `include/uapi/drm/drm.h`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmGetCap {
    /// In: capability id, e.g. [`DRM_CAP_PRIME`].
    pub capability: u64,
    /// Out: capability value; for `DRM_CAP_PRIME` a mask of
    /// [`DRM_PRIME_CAP_IMPORT`] | [`DRM_PRIME_CAP_EXPORT`].
    pub value: u64,
}

/// `struct drm_gem_close` (8 bytes) — argument of [`DRM_IOCTL_GEM_CLOSE`].
///
/// Source: Linux `include/uapi/drm/drm.h`; `drm_gem_close_ioctl()` and
/// `drm_gem_handle_delete()` in `drivers/gpu/drm/drm_gem.c` (unknown handle →
/// `EINVAL`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmGemClose {
    /// In: GEM handle to release from this file's handle table.
    pub handle: u32,
    /// Padding; write 0 (`drm_gem_close_ioctl()` does not check it).
    pub pad: u32,
}

/// `struct drm_prime_handle` (12 bytes, align 4 — note: **not** 16) — argument of
/// [`DRM_IOCTL_PRIME_HANDLE_TO_FD`] and [`DRM_IOCTL_PRIME_FD_TO_HANDLE`].
///
/// Source: Linux `include/uapi/drm/drm.h`; flag check in
/// `drm_prime_handle_to_fd_ioctl()` (`drivers/gpu/drm/drm_prime.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DrmPrimeHandle {
    /// GEM handle: in for `HANDLE_TO_FD`, out for `FD_TO_HANDLE`.
    pub handle: u32,
    /// In (`HANDLE_TO_FD` only): [`DRM_CLOEXEC`] | [`DRM_RDWR`]; other bits →
    /// `EINVAL`. Ignored by `FD_TO_HANDLE`.
    pub flags: u32,
    /// dma-buf fd: out for `HANDLE_TO_FD`, in for `FD_TO_HANDLE`.
    pub fd: i32,
}

/// `nr` of `DRM_IOCTL_VERSION`.
pub const DRM_VERSION_NR: u8 = 0x00;
/// `nr` of `DRM_IOCTL_GEM_CLOSE`.
pub const DRM_GEM_CLOSE_NR: u8 = 0x09;
/// `nr` of `DRM_IOCTL_GET_CAP`.
pub const DRM_GET_CAP_NR: u8 = 0x0c;
/// `nr` of `DRM_IOCTL_PRIME_HANDLE_TO_FD`.
pub const DRM_PRIME_HANDLE_TO_FD_NR: u8 = 0x2d;
/// `nr` of `DRM_IOCTL_PRIME_FD_TO_HANDLE`.
pub const DRM_PRIME_FD_TO_HANDLE_NR: u8 = 0x2e;

/// `DRM_IOCTL_VERSION` = `DRM_IOWR(0x00, struct drm_version)` (0xC0406400):
/// query driver name/date/description and version.
pub const DRM_IOCTL_VERSION: u32 = drm_iowr(DRM_VERSION_NR, size_of::<DrmVersion>());
/// `DRM_IOCTL_GEM_CLOSE` = `DRM_IOW(0x09, struct drm_gem_close)` (0x40086409):
/// drop a GEM handle.
pub const DRM_IOCTL_GEM_CLOSE: u32 = drm_iow(DRM_GEM_CLOSE_NR, size_of::<DrmGemClose>());
/// `DRM_IOCTL_GET_CAP` = `DRM_IOWR(0x0c, struct drm_get_cap)` (0xC010640C):
/// query a device capability.
pub const DRM_IOCTL_GET_CAP: u32 = drm_iowr(DRM_GET_CAP_NR, size_of::<DrmGetCap>());
/// `DRM_IOCTL_PRIME_HANDLE_TO_FD` = `DRM_IOWR(0x2d, struct drm_prime_handle)`
/// (0xC00C642D): export a GEM handle as a dma-buf fd.
pub const DRM_IOCTL_PRIME_HANDLE_TO_FD: u32 = drm_iowr(DRM_PRIME_HANDLE_TO_FD_NR, size_of::<DrmPrimeHandle>());
/// `DRM_IOCTL_PRIME_FD_TO_HANDLE` = `DRM_IOWR(0x2e, struct drm_prime_handle)`
/// (0xC00C642E): import a dma-buf fd as a GEM handle (same handle on re-import in
/// the same file).
pub const DRM_IOCTL_PRIME_FD_TO_HANDLE: u32 = drm_iowr(DRM_PRIME_FD_TO_HANDLE_NR, size_of::<DrmPrimeHandle>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn constants() {
        assert_eq!(DRM_IOCTL_BASE, 0x64);
        assert_eq!(DRM_COMMAND_BASE, 0x40);
        assert_eq!(DRM_COMMAND_END, 0xA0);
        assert_eq!(ACCEL_MAJOR, 261);
        assert_eq!(DRM_CLOEXEC, 0x80000);
        assert_eq!(DRM_RDWR, 2);
        assert_eq!(DRM_CAP_PRIME, 5);
        assert_eq!(DRM_PRIME_CAP_IMPORT, 1);
        assert_eq!(DRM_PRIME_CAP_EXPORT, 2);
    }

    #[test]
    fn drm_version_layout() {
        assert_eq!(size_of::<DrmVersion>(), 64);
        assert_eq!(align_of::<DrmVersion>(), 8);
        assert_eq!(offset_of!(DrmVersion, version_major), 0);
        assert_eq!(offset_of!(DrmVersion, version_minor), 4);
        assert_eq!(offset_of!(DrmVersion, version_patchlevel), 8);
        assert_eq!(offset_of!(DrmVersion, pad), 12);
        assert_eq!(offset_of!(DrmVersion, name_len), 16);
        assert_eq!(offset_of!(DrmVersion, name), 24);
        assert_eq!(offset_of!(DrmVersion, date_len), 32);
        assert_eq!(offset_of!(DrmVersion, date), 40);
        assert_eq!(offset_of!(DrmVersion, desc_len), 48);
        assert_eq!(offset_of!(DrmVersion, desc), 56);
    }

    #[test]
    fn drm_get_cap_layout() {
        assert_eq!(size_of::<DrmGetCap>(), 16);
        assert_eq!(align_of::<DrmGetCap>(), 8);
        assert_eq!(offset_of!(DrmGetCap, capability), 0);
        assert_eq!(offset_of!(DrmGetCap, value), 8);
    }

    #[test]
    fn drm_gem_close_layout() {
        assert_eq!(size_of::<DrmGemClose>(), 8);
        assert_eq!(align_of::<DrmGemClose>(), 4);
        assert_eq!(offset_of!(DrmGemClose, handle), 0);
        assert_eq!(offset_of!(DrmGemClose, pad), 4);
    }

    #[test]
    fn drm_prime_handle_layout() {
        assert_eq!(size_of::<DrmPrimeHandle>(), 12);
        assert_eq!(align_of::<DrmPrimeHandle>(), 4);
        assert_eq!(offset_of!(DrmPrimeHandle, handle), 0);
        assert_eq!(offset_of!(DrmPrimeHandle, flags), 4);
        assert_eq!(offset_of!(DrmPrimeHandle, fd), 8);
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(DRM_IOCTL_VERSION, 0xc040_6400);
        assert_eq!(DRM_IOCTL_GET_CAP, 0xc010_640c);
        assert_eq!(DRM_IOCTL_GEM_CLOSE, 0x4008_6409);
        assert_eq!(DRM_IOCTL_PRIME_HANDLE_TO_FD, 0xc00c_642d);
        assert_eq!(DRM_IOCTL_PRIME_FD_TO_HANDLE, 0xc00c_642e);
        assert_eq!(drm_io(0x43), 0x0000_6443);
        assert_eq!(drm_ior(0x40, 16), 0x8010_6440);
    }

    #[test]
    fn ioctl_round_trip() {
        for &(cmd, nr, size, dir) in &[
            (DRM_IOCTL_VERSION, 0x00u8, 64usize, 3u32),
            (DRM_IOCTL_GET_CAP, 0x0c, 16, 3),
            (DRM_IOCTL_GEM_CLOSE, 0x09, 8, 1),
            (DRM_IOCTL_PRIME_HANDLE_TO_FD, 0x2d, 12, 3),
            (DRM_IOCTL_PRIME_FD_TO_HANDLE, 0x2e, 12, 3),
        ] {
            assert_eq!(ioc_type(cmd), b'd');
            assert_eq!(ioc_nr(cmd), nr);
            assert_eq!(ioc_size(cmd), size);
            assert_eq!(ioc_dir(cmd), dir);
        }
    }

    #[test]
    fn bytes_round_trip() {
        use zerocopy::{FromBytes, IntoBytes};
        let p = DrmPrimeHandle {
            handle: 1,
            flags: DRM_CLOEXEC | DRM_RDWR,
            fd: -1,
        };
        let b = p.as_bytes();
        assert_eq!(b.len(), 12);
        assert_eq!(&b[..4], &1u32.to_ne_bytes());
        assert_eq!(&b[8..], &(-1i32).to_ne_bytes());
        assert_eq!(DrmPrimeHandle::read_from_bytes(b).unwrap(), p);
    }
}

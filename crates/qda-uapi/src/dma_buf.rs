//! dma-buf UAPI (`include/uapi/linux/dma-buf.h`), ioctls issued on a dma-buf fd.
//!
//! Source: Linux `include/uapi/linux/dma-buf.h`, checked against Debian's 6.1
//! copy `/usr/include/linux/dma-buf.h` (see `VERIFIED.md`); flag checks and error
//! codes from `dma_buf_ioctl()` in Linux `drivers/dma-buf/dma-buf.c`.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ioctl::{iow, iowr};

/// Ioctl type byte of dma-buf ioctls (`DMA_BUF_BASE`, `'b'` = 0x62).
pub const DMA_BUF_BASE: u8 = b'b';

/// [`DmaBufSync::flags`] (and sync-file `flags`): CPU reads.
pub const DMA_BUF_SYNC_READ: u64 = 1;
/// [`DmaBufSync::flags`] (and sync-file `flags`): CPU writes.
pub const DMA_BUF_SYNC_WRITE: u64 = 2;
/// `DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE`.
pub const DMA_BUF_SYNC_RW: u64 = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
/// [`DmaBufSync::flags`]: begin a CPU access window (value 0).
pub const DMA_BUF_SYNC_START: u64 = 0;
/// [`DmaBufSync::flags`]: end a CPU access window.
pub const DMA_BUF_SYNC_END: u64 = 1 << 2;
/// All valid [`DmaBufSync::flags`] bits; others → `EINVAL`. At least one of
/// READ/WRITE must also be set.
pub const DMA_BUF_SYNC_VALID_FLAGS_MASK: u64 = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;

/// Maximum dma-buf name length including the NUL (`DMA_BUF_NAME_LEN`).
pub const DMA_BUF_NAME_LEN: usize = 32;

/// `struct dma_buf_sync` (8 bytes) — argument of [`DMA_BUF_IOCTL_SYNC`].
///
/// Source: Linux `include/uapi/linux/dma-buf.h`; `dma_buf_ioctl()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DmaBufSync {
    /// `DMA_BUF_SYNC_{START,END}` | `DMA_BUF_SYNC_{READ,WRITE,RW}`; valid values are
    /// exactly 1, 2, 3 (start) and 5, 6, 7 (end).
    pub flags: u64,
}

/// `struct dma_buf_export_sync_file` (8 bytes) — argument of
/// [`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`].
///
/// Source: Linux `include/uapi/linux/dma-buf.h`; `dma_buf_ioctl()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DmaBufExportSyncFile {
    /// In: `DMA_BUF_SYNC_READ`/`WRITE` (at least one; others → `EINVAL`).
    pub flags: u32,
    /// Out: new sync_file fd (always close-on-exec).
    pub fd: i32,
}

/// `struct dma_buf_import_sync_file` (8 bytes) — argument of
/// [`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`].
///
/// Source: Linux `include/uapi/linux/dma-buf.h`; `dma_buf_ioctl()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DmaBufImportSyncFile {
    /// In: `DMA_BUF_SYNC_READ`/`WRITE` (WRITE → fences added as write usage).
    pub flags: u32,
    /// In: sync_file fd whose fences are added to the buffer's reservation object.
    pub fd: i32,
}

/// `DMA_BUF_IOCTL_SYNC` = `_IOW('b', 0, struct dma_buf_sync)` (0x40086200):
/// bracket CPU access for cache coherency.
pub const DMA_BUF_IOCTL_SYNC: u32 = iow(DMA_BUF_BASE, 0, size_of::<DmaBufSync>());
/// `DMA_BUF_SET_NAME_A` = `_IOW('b', 1, __u32)` (0x40046201): set the debug name
/// (argument: user pointer to a NUL-terminated string); 32-bit-pointer variant,
/// accepted by the kernel on every ABI.
pub const DMA_BUF_SET_NAME_A: u32 = iow(DMA_BUF_BASE, 1, size_of::<u32>());
/// `DMA_BUF_SET_NAME_B` = `_IOW('b', 1, __u64)` (0x40086201): 64-bit-pointer
/// variant of [`DMA_BUF_SET_NAME_A`].
pub const DMA_BUF_SET_NAME_B: u32 = iow(DMA_BUF_BASE, 1, size_of::<u64>());
/// `DMA_BUF_SET_NAME` = `_IOW('b', 1, const char *)`: equals
/// [`DMA_BUF_SET_NAME_B`] on LP64 targets and [`DMA_BUF_SET_NAME_A`] on 32-bit ones.
pub const DMA_BUF_SET_NAME: u32 = iow(DMA_BUF_BASE, 1, size_of::<usize>());
/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` = `_IOWR('b', 2, struct dma_buf_export_sync_file)`
/// (0xC0086202): snapshot the buffer's implicit fences as a sync_file.
pub const DMA_BUF_IOCTL_EXPORT_SYNC_FILE: u32 = iowr(DMA_BUF_BASE, 2, size_of::<DmaBufExportSyncFile>());
/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE` = `_IOW('b', 3, struct dma_buf_import_sync_file)`
/// (0x40086203): add a sync_file's fences to the buffer's implicit fences.
pub const DMA_BUF_IOCTL_IMPORT_SYNC_FILE: u32 = iow(DMA_BUF_BASE, 3, size_of::<DmaBufImportSyncFile>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn sync_layout() {
        assert_eq!(size_of::<DmaBufSync>(), 8);
        assert_eq!(align_of::<DmaBufSync>(), 8);
        assert_eq!(offset_of!(DmaBufSync, flags), 0);
    }

    #[test]
    fn export_sync_file_layout() {
        assert_eq!(size_of::<DmaBufExportSyncFile>(), 8);
        assert_eq!(align_of::<DmaBufExportSyncFile>(), 4);
        assert_eq!(offset_of!(DmaBufExportSyncFile, flags), 0);
        assert_eq!(offset_of!(DmaBufExportSyncFile, fd), 4);
    }

    #[test]
    fn import_sync_file_layout() {
        assert_eq!(size_of::<DmaBufImportSyncFile>(), 8);
        assert_eq!(align_of::<DmaBufImportSyncFile>(), 4);
        assert_eq!(offset_of!(DmaBufImportSyncFile, flags), 0);
        assert_eq!(offset_of!(DmaBufImportSyncFile, fd), 4);
    }

    #[test]
    fn constants() {
        assert_eq!(DMA_BUF_BASE, 0x62);
        assert_eq!(DMA_BUF_SYNC_READ, 1);
        assert_eq!(DMA_BUF_SYNC_WRITE, 2);
        assert_eq!(DMA_BUF_SYNC_RW, 3);
        assert_eq!(DMA_BUF_SYNC_START, 0);
        assert_eq!(DMA_BUF_SYNC_END, 4);
        assert_eq!(DMA_BUF_SYNC_VALID_FLAGS_MASK, 7);
        assert_eq!(DMA_BUF_NAME_LEN, 32);
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(DMA_BUF_IOCTL_SYNC, 0x4008_6200);
        assert_eq!(DMA_BUF_SET_NAME_A, 0x4004_6201);
        assert_eq!(DMA_BUF_SET_NAME_B, 0x4008_6201);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(DMA_BUF_SET_NAME, 0x4008_6201);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(DMA_BUF_SET_NAME, 0x4004_6201);
        assert_eq!(DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 0xc008_6202);
        assert_eq!(DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 0x4008_6203);
    }

    #[test]
    fn ioctl_round_trip() {
        for &(cmd, nr, size, dir) in &[
            (DMA_BUF_IOCTL_SYNC, 0u8, 8usize, 1u32),
            (DMA_BUF_SET_NAME_A, 1, 4, 1),
            (DMA_BUF_SET_NAME_B, 1, 8, 1),
            (DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 2, 8, 3),
            (DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 3, 8, 1),
        ] {
            assert_eq!(ioc_type(cmd), b'b');
            assert_eq!(ioc_nr(cmd), nr);
            assert_eq!(ioc_size(cmd), size);
            assert_eq!(ioc_dir(cmd), dir);
        }
    }
}

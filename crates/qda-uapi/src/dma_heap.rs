//! dma-heap UAPI (`include/uapi/linux/dma-heap.h`), spoken on
//! `/dev/dma_heap/<heap-name>` (e.g. `system`).
//!
//! Source: Linux `include/uapi/linux/dma-heap.h`, checked against Debian's 6.1
//! copy `/usr/include/linux/dma-heap.h` (see `VERIFIED.md`); checks and error
//! codes from `dma_heap_ioctl()`, `dma_heap_ioctl_allocate()` and
//! `dma_heap_buffer_alloc()` in Linux `drivers/dma-buf/dma-heap.c`.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ioctl::iowr;

/// Ioctl type byte of dma-heap ioctls (`DMA_HEAP_IOC_MAGIC`, `'H'` = 0x48).
pub const DMA_HEAP_IOC_MAGIC: u8 = b'H';

/// `O_CLOEXEC` on x86_64/arm64 (octal 02000000).
pub const O_CLOEXEC: u32 = 0o2_000_000;
/// `O_ACCMODE` (`O_RDONLY | O_WRONLY | O_RDWR` mask).
pub const O_ACCMODE: u32 = 0o3;

/// `DMA_HEAP_VALID_FD_FLAGS` = `O_CLOEXEC | O_ACCMODE` (0x80003): the only bits
/// allowed in [`DmaHeapAllocationData::fd_flags`]; others → `EINVAL`.
pub const DMA_HEAP_VALID_FD_FLAGS: u32 = O_CLOEXEC | O_ACCMODE;
/// `DMA_HEAP_VALID_HEAP_FLAGS` = 0: no heap flags are defined, so
/// [`DmaHeapAllocationData::heap_flags`] must be zero.
pub const DMA_HEAP_VALID_HEAP_FLAGS: u64 = 0;

/// `struct dma_heap_allocation_data` (24 bytes) — argument of
/// [`DMA_HEAP_IOCTL_ALLOC`].
///
/// Source: Linux `include/uapi/linux/dma-heap.h`; `dma_heap_ioctl_allocate()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DmaHeapAllocationData {
    /// In: bytes requested (page-aligned up by the kernel; 0 → `EINVAL`).
    pub len: u64,
    /// Out: new dma-buf fd. Must be zero on input (checked: non-zero → `EINVAL`).
    pub fd: u32,
    /// In: flags for the new fd and the dma-buf file; only
    /// [`DMA_HEAP_VALID_FD_FLAGS`] bits (checked).
    pub fd_flags: u32,
    /// In: heap flags; must be zero ([`DMA_HEAP_VALID_HEAP_FLAGS`], checked).
    pub heap_flags: u64,
}

/// `DMA_HEAP_IOCTL_ALLOC` = `_IOWR('H', 0x0, struct dma_heap_allocation_data)`
/// (0xC0184800): allocate a buffer from the heap and return it as a dma-buf fd.
/// Any other `nr` gives `EINVAL` (not `ENOTTY`).
pub const DMA_HEAP_IOCTL_ALLOC: u32 = iowr(DMA_HEAP_IOC_MAGIC, 0x0, size_of::<DmaHeapAllocationData>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn allocation_data_layout() {
        assert_eq!(size_of::<DmaHeapAllocationData>(), 24);
        assert_eq!(align_of::<DmaHeapAllocationData>(), 8);
        assert_eq!(offset_of!(DmaHeapAllocationData, len), 0);
        assert_eq!(offset_of!(DmaHeapAllocationData, fd), 8);
        assert_eq!(offset_of!(DmaHeapAllocationData, fd_flags), 12);
        assert_eq!(offset_of!(DmaHeapAllocationData, heap_flags), 16);
    }

    #[test]
    fn constants_and_ioctl() {
        assert_eq!(DMA_HEAP_IOC_MAGIC, 0x48);
        assert_eq!(O_CLOEXEC, 0x80000);
        assert_eq!(DMA_HEAP_VALID_FD_FLAGS, 0x0008_0003);
        assert_eq!(DMA_HEAP_VALID_HEAP_FLAGS, 0);
        assert_eq!(DMA_HEAP_IOCTL_ALLOC, 0xc018_4800);
        assert_eq!(ioc_type(DMA_HEAP_IOCTL_ALLOC), b'H');
        assert_eq!(ioc_nr(DMA_HEAP_IOCTL_ALLOC), 0);
        assert_eq!(ioc_size(DMA_HEAP_IOCTL_ALLOC), 24);
        assert_eq!(ioc_dir(DMA_HEAP_IOCTL_ALLOC), 3);
    }
}

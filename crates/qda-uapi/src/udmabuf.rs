//! udmabuf UAPI (`include/uapi/linux/udmabuf.h`), spoken on `/dev/udmabuf`:
//! turn sealed memfd ranges into a dma-buf. Both ioctls return the new dma-buf fd
//! as the ioctl **return value** (not through the struct).
//!
//! Source: Linux `include/uapi/linux/udmabuf.h`, checked against Debian's 6.1
//! copy `/usr/include/linux/udmabuf.h` (see `VERIFIED.md`); limits, seal rules and
//! error codes from Linux `drivers/dma-buf/udmabuf.c` (module parameters
//! `list_limit` and `size_limit_mb`, `udmabuf_create()`,
//! `udmabuf_ioctl_create_list()`).

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ioctl::iow;

/// Ioctl type byte of udmabuf ioctls (`'u'` = 0x75).
pub const UDMABUF_IOCTL_MAGIC: u8 = b'u';

/// `UDMABUF_FLAGS_CLOEXEC`: give the returned dma-buf fd `O_CLOEXEC`. The only
/// interpreted flag; unknown flag bits are silently ignored by the driver.
pub const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;

/// Default of the udmabuf module parameter `size_limit_mb`: total size of one
/// udmabuf, in MiB (larger → `EINVAL`).
pub const UDMABUF_SIZE_LIMIT_MB_DEFAULT: u32 = 64;
/// Default of the udmabuf module parameter `list_limit`: maximum
/// [`UdmabufCreateList::count`] (larger → `EINVAL`).
pub const UDMABUF_LIST_LIMIT_DEFAULT: u32 = 1024;

/// `struct udmabuf_create` (24 bytes) — argument of [`UDMABUF_CREATE`].
///
/// Source: Linux `include/uapi/linux/udmabuf.h`; `udmabuf_create()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct UdmabufCreate {
    /// memfd (shmem or hugetlbfs) with `F_SEAL_SHRINK` and without `F_SEAL_WRITE`.
    pub memfd: u32,
    /// [`UDMABUF_FLAGS_CLOEXEC`] or 0.
    pub flags: u32,
    /// Page-aligned byte offset into the memfd.
    pub offset: u64,
    /// Page-aligned size in bytes.
    pub size: u64,
}

/// `struct udmabuf_create_item` (24 bytes) — one element of the flexible array
/// that follows a [`UdmabufCreateList`] header.
///
/// Source: Linux `include/uapi/linux/udmabuf.h`; `udmabuf_create()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct UdmabufCreateItem {
    /// memfd, same rules as [`UdmabufCreate::memfd`].
    pub memfd: u32,
    /// Kernel name `__pad`; write 0 (the driver ignores it rather than rejecting
    /// non-zero values).
    pub pad: u32,
    /// Page-aligned byte offset into the memfd.
    pub offset: u64,
    /// Page-aligned size in bytes.
    pub size: u64,
}

/// `struct udmabuf_create_list` header (8 bytes) — argument of
/// [`UDMABUF_CREATE_LIST`].
///
/// In C the header is followed by a flexible array member
/// `struct udmabuf_create_item list[]`; the ioctl number encodes only the 8-byte
/// header. Callers must place `count` × [`UdmabufCreateItem`] immediately after
/// the header, at byte offset [`UdmabufCreateList::items_offset`] (8, which is
/// also the 8-byte alignment the items need).
///
/// Alignment is 8, not 4: in C the flexible array of 8-aligned items raises the
/// header's alignment to 8 (checked with gcc, see `VERIFIED.md`), so this type is
/// `#[repr(C, align(8))]`. The size stays 8 and there is no padding.
///
/// Source: Linux `include/uapi/linux/udmabuf.h`; `udmabuf_create()`.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct UdmabufCreateList {
    /// [`UDMABUF_FLAGS_CLOEXEC`] or 0.
    pub flags: u32,
    /// Number of items that follow; `> list_limit` (default
    /// [`UDMABUF_LIST_LIMIT_DEFAULT`]) → `EINVAL`.
    pub count: u32,
}

impl UdmabufCreateList {
    /// Byte offset of the first [`UdmabufCreateItem`] after the header (8).
    #[must_use]
    pub const fn items_offset() -> usize {
        size_of::<Self>()
    }

    /// Total bytes of a header plus `count` items.
    #[must_use]
    pub const fn total_len(count: usize) -> usize {
        Self::items_offset() + count * size_of::<UdmabufCreateItem>()
    }
}

/// `UDMABUF_CREATE` = `_IOW('u', 0x42, struct udmabuf_create)` (0x40187542):
/// create a dma-buf from one memfd range.
pub const UDMABUF_CREATE: u32 = iow(UDMABUF_IOCTL_MAGIC, 0x42, size_of::<UdmabufCreate>());
/// `UDMABUF_CREATE_LIST` = `_IOW('u', 0x43, struct udmabuf_create_list)`
/// (0x40087543): create a dma-buf from several memfd ranges (header + items).
pub const UDMABUF_CREATE_LIST: u32 = iow(UDMABUF_IOCTL_MAGIC, 0x43, size_of::<UdmabufCreateList>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{ioc_dir, ioc_nr, ioc_size, ioc_type};
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn create_layout() {
        assert_eq!(size_of::<UdmabufCreate>(), 24);
        assert_eq!(align_of::<UdmabufCreate>(), 8);
        assert_eq!(offset_of!(UdmabufCreate, memfd), 0);
        assert_eq!(offset_of!(UdmabufCreate, flags), 4);
        assert_eq!(offset_of!(UdmabufCreate, offset), 8);
        assert_eq!(offset_of!(UdmabufCreate, size), 16);
    }

    #[test]
    fn create_item_layout() {
        assert_eq!(size_of::<UdmabufCreateItem>(), 24);
        assert_eq!(align_of::<UdmabufCreateItem>(), 8);
        assert_eq!(offset_of!(UdmabufCreateItem, memfd), 0);
        assert_eq!(offset_of!(UdmabufCreateItem, pad), 4);
        assert_eq!(offset_of!(UdmabufCreateItem, offset), 8);
        assert_eq!(offset_of!(UdmabufCreateItem, size), 16);
    }

    #[test]
    fn create_list_layout() {
        assert_eq!(size_of::<UdmabufCreateList>(), 8);
        assert_eq!(align_of::<UdmabufCreateList>(), 8);
        assert_eq!(offset_of!(UdmabufCreateList, flags), 0);
        assert_eq!(offset_of!(UdmabufCreateList, count), 4);
        assert_eq!(UdmabufCreateList::items_offset(), 8);
        assert_eq!(UdmabufCreateList::total_len(0), 8);
        assert_eq!(UdmabufCreateList::total_len(2), 56);
    }

    #[test]
    fn constants_and_ioctls() {
        assert_eq!(UDMABUF_FLAGS_CLOEXEC, 1);
        assert_eq!(UDMABUF_SIZE_LIMIT_MB_DEFAULT, 64);
        assert_eq!(UDMABUF_LIST_LIMIT_DEFAULT, 1024);
        assert_eq!(UDMABUF_CREATE, 0x4018_7542);
        assert_eq!(UDMABUF_CREATE_LIST, 0x4008_7543);
        for &(cmd, nr, size) in &[(UDMABUF_CREATE, 0x42u8, 24usize), (UDMABUF_CREATE_LIST, 0x43, 8)] {
            assert_eq!(ioc_type(cmd), b'u');
            assert_eq!(ioc_nr(cmd), nr);
            assert_eq!(ioc_size(cmd), size);
            assert_eq!(ioc_dir(cmd), 1);
        }
    }
}

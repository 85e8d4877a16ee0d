//! `/dev/udmabuf`: a dma-buf over ranges of the user's memfds
//! (`UDMABUF_CREATE`, `UDMABUF_CREATE_LIST`).

use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::fs::SealFlags;

use crate::dmabuf::{DmaBuf, Exporter, NewDmaBuf};
use crate::errno::{Errno, Error, Result, ebadfd, einval};
use crate::file::{File, FileKind};
use crate::smmu::{SegFile, Segment};
use crate::sys::{self, PAGE_SIZE};
use crate::usermem::UserMemory;

/// One range of a udmabuf (`struct udmabuf_create_item`): `size` bytes at
/// `offset` of the memfd `memfd` (an fd number of the caller's process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdmabufItem {
    /// The memfd, as the caller numbers it.
    pub memfd: i32,
    /// Offset in the memfd (page aligned).
    pub offset: u64,
    /// Bytes (page aligned).
    pub size: u64,
}

impl From<(i32, u64, u64)> for UdmabufItem {
    /// `(memfd, offset, size)`, the order of the UAPI struct.
    fn from((memfd, offset, size): (i32, u64, u64)) -> Self {
        UdmabufItem { memfd, offset, size }
    }
}

impl File {
    /// `UDMABUF_CREATE_LIST` (and `UDMABUF_CREATE`, a one-item list), with
    /// the kernel's checks and errnos. Returns the new dma-buf fd. `items`
    /// are [`UdmabufItem`]s or `(memfd, offset, size)` tuples.
    pub fn udmabuf_create<I>(&self, flags: u32, items: &[I], um: &dyn UserMemory) -> Result<OwnedFd>
    where
        I: Copy + Into<UdmabufItem>,
    {
        let items: Vec<UdmabufItem> = items.iter().map(|&i| i.into()).collect();
        let FileKind::Udmabuf = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not /dev/udmabuf"));
        };
        let cfg = &self.driver().inner.cfg;
        let limit_pages = cfg.udmabuf_size_limit_mb.saturating_mul(1 << 20) / PAGE_SIZE;
        let mut pages = 0u64;
        for (i, &UdmabufItem { offset: off, size, .. }) in items.iter().enumerate() {
            if off % PAGE_SIZE != 0 {
                return Err(einval(format!(
                    "udmabuf item {i}: offset 0x{off:x} is not page aligned"
                )));
            }
            if size % PAGE_SIZE != 0 {
                return Err(einval(format!("udmabuf item {i}: size 0x{size:x} is not page aligned")));
            }
            pages = pages.saturating_add(size / PAGE_SIZE);
            if pages > limit_pages {
                return Err(einval(format!(
                    "udmabuf: more than size_limit_mb = {} MiB",
                    cfg.udmabuf_size_limit_mb
                )));
            }
        }
        if pages == 0 {
            return Err(einval("udmabuf: no pages"));
        }
        let mut segments = Vec::with_capacity(items.len());
        for (
            i,
            &UdmabufItem {
                memfd: fd,
                offset: off,
                size,
            },
        ) in items.iter().enumerate()
        {
            let bfd = um
                .fd(fd)
                .map_err(|_| ebadfd(format!("udmabuf item {i}: fd {fd} is not open")))?;
            let seals = rustix::fs::fcntl_get_seals(bfd)
                .map_err(|_| ebadfd(format!("udmabuf item {i}: fd {fd} is not a memfd")))?;
            if !seals.contains(SealFlags::SHRINK) {
                return Err(einval(format!("udmabuf item {i}: memfd lacks F_SEAL_SHRINK")));
            }
            if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
                return Err(einval(format!("udmabuf item {i}: memfd is sealed against writes")));
            }
            let fsize = sys::file_size(bfd)?;
            if off.checked_add(size).is_none_or(|end| end > fsize) {
                return Err(einval(format!(
                    "udmabuf item {i}: range beyond the memfd's {fsize} bytes"
                )));
            }
            if size == 0 {
                continue;
            }
            let dup = Arc::new(sys::InternalFd::reopen(bfd)?);
            segments.push(Segment {
                file: SegFile::Fd(dup),
                offset: off,
                len: size,
            });
        }
        let total = pages * PAGE_SIZE;
        let file = Arc::new(sys::InternalFd::new(sys::memfd("udmabuf", total)?));
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments,
                file,
                exporter: Exporter::Udmabuf,
                writable: true,
                cpu_mappable: true,
                private: None,
            },
        )?;
        buf.export(flags & qda_uapi::udmabuf::UDMABUF_FLAGS_CLOEXEC != 0)
    }
}

//! The dma-heap operation of a heap file: `DMA_HEAP_IOCTL_ALLOC`.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::dmabuf::{DmaBuf, Exporter, NewDmaBuf};
use crate::errno::{Errno, Error, Result, einval};
use crate::file::{File, FileKind};
use crate::smmu::{SegFile, Segment};
use crate::sys;

impl File {
    /// `DMA_HEAP_IOCTL_ALLOC` with the kernel's checks (`fd` must be 0,
    /// `fd_flags` within `O_CLOEXEC | O_ACCMODE`, `heap_flags` 0, page-aligned
    /// length not 0).
    pub fn heap_alloc(&self, len: u64, fd_in: u32, fd_flags: u32, heap_flags: u64) -> Result<OwnedFd> {
        use qda_uapi::dma_heap::{DMA_HEAP_VALID_FD_FLAGS, DMA_HEAP_VALID_HEAP_FLAGS, O_ACCMODE, O_CLOEXEC};
        let FileKind::Heap(heap) = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not a dma-heap"));
        };
        if fd_in != 0 {
            return Err(einval("DMA_HEAP_IOCTL_ALLOC: fd must be 0 on input"));
        }
        if fd_flags & !DMA_HEAP_VALID_FD_FLAGS != 0 {
            return Err(einval(format!(
                "DMA_HEAP_IOCTL_ALLOC: fd_flags 0x{fd_flags:x} outside O_CLOEXEC|O_ACCMODE"
            )));
        }
        if heap_flags & !DMA_HEAP_VALID_HEAP_FLAGS != 0 {
            return Err(einval(format!(
                "DMA_HEAP_IOCTL_ALLOC: heap_flags 0x{heap_flags:x} (none are defined)"
            )));
        }
        let size = sys::page_align(len)
            .filter(|s| *s != 0)
            .ok_or_else(|| einval("DMA_HEAP_IOCTL_ALLOC: length is 0 after page alignment"))?;
        let backing = heap.backend.allocate(size)?;
        self.driver()
            .inner
            .quotas
            .charge(self.inner.creds.uid, &backing, "DMA_HEAP_IOCTL_ALLOC")?;
        let file = Arc::new(sys::InternalFd::dup(backing.fd())?);
        let cpu_mappable = backing.cpu_mappable();
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments: vec![Segment {
                    file: SegFile::Backing(backing),
                    offset: 0,
                    len: size,
                }],
                file,
                exporter: Exporter::Heap(heap.name.clone()),
                writable: fd_flags & O_ACCMODE == 2,
                cpu_mappable,
                private: None,
            },
        )?;
        buf.export(fd_flags & O_CLOEXEC != 0)
    }
}

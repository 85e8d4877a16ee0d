//! PRIME on an accel file: export a GEM object as a dma-buf fd, import a
//! dma-buf fd as a GEM handle.

use std::any::Any;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::dmabuf::{self, Exporter};
use crate::dmadebug::{Direction, MapKind};
use crate::domain::DspDomain;
use crate::errno::{Result, einval};
use crate::file::File;
use crate::gem::{GemKind, GemObject};
use crate::smmu::{DmaRecord, Perm};

impl File {
    /// `PRIME_HANDLE_TO_FD`.
    pub fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        use qda_uapi::drm::{DRM_CLOEXEC, DRM_RDWR};
        let a = self.accel()?;
        if flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
            return Err(einval(format!("PRIME_HANDLE_TO_FD: unknown flags 0x{flags:x}")));
        }
        let obj = self.gem_object(handle)?;
        let buf = obj.dmabuf(self.driver().shared(), flags & DRM_RDWR != 0)?;
        qda_rt::lock(&a.handles).cache_prime(buf.id(), handle);
        buf.export(flags & DRM_CLOEXEC != 0)
    }

    /// `PRIME_FD_TO_HANDLE`: our own export gives back the original object;
    /// a repeated import the same handle; a foreign dma-buf is attached to
    /// this file's CB and mapped over all of its segments.
    pub fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32> {
        self.prime_import(fd).map(|(h, _)| h)
    }

    /// [`File::prime_fd_to_handle`], with the dma-buf the fd was resolved
    /// to: an invoke needs both, and resolving the fd again costs another
    /// `fstat` per buffer argument.
    pub(crate) fn prime_import(&self, fd: BorrowedFd<'_>) -> Result<(u32, Arc<dmabuf::DmaBuf>)> {
        let a = self.accel()?;
        let buf = self.driver().dmabuf(fd)?;
        if let Some(h) = qda_rt::lock(&a.handles).prime_lookup(buf.id()) {
            return Ok((h, buf));
        }
        let obj = match buf.exporter() {
            Exporter::Gem(o) if let Some(o) = own_object(&a.domain, o) => o,
            _ => {
                let cb = self.context_bank()?;
                let rec = DmaRecord {
                    kind: MapKind::Sg,
                    dir: Direction::Bidirectional,
                    nents: buf.segments().len() as u32,
                };
                let map = cb.map(buf.segments().to_vec(), Perm::RW, rec, None)?;
                buf.attach(dmabuf::Attachment {
                    cb: Arc::downgrade(&cb),
                    iova: map.iova(),
                    len: map.len(),
                });
                let drv = self.driver();
                GemObject::new(
                    drv.next_id(),
                    buf.size(),
                    GemKind::Imported {
                        dmabuf: buf.clone(),
                        map,
                    },
                    None,
                    drv.inner.gems.clone(),
                )
            }
        };
        let mut h = qda_rt::lock(&a.handles);
        let handle = h.insert(obj);
        h.cache_prime(buf.id(), handle);
        Ok((handle, buf))
    }
}

/// The GEM object behind a PRIME export of ours, if it is a native object
/// of `domain` (`drm_gem_prime_import_dev()`'s "own export" case).
fn own_object(domain: &DspDomain, exported: &Arc<dyn Any + Send + Sync>) -> Option<Arc<GemObject>> {
    let obj = exported.clone().downcast::<GemObject>().ok()?;
    (!obj.is_imported() && obj.iova_mapping().cb().domain() == domain.desc.label).then_some(obj)
}

//! The GEM operations of an accel file: `GEM_CREATE`, handles,
//! `GEM_MMAP_OFFSET`, `GEM_CLOSE`, and `mmap` at a fake offset.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::errno::{Errno, Error, Result, einval, enoent};
use crate::file::{File, FileKind};
use crate::gem::{GemKind, GemObject};
use crate::mem::Backing;
use crate::sys::{self, Mapping};

impl File {
    /// `GEM_CREATE`: `size` rounded up to pages, in this file's CB.
    pub fn gem_create(&self, size: u64) -> Result<u32> {
        let a = self.accel()?;
        if size == 0 {
            return Err(einval("GEM_CREATE: size is 0"));
        }
        let size = sys::page_align(size).ok_or_else(|| einval("GEM_CREATE: size overflows when page-aligned"))?;
        let cb = self.context_bank()?;
        let (backing, map) = cb.alloc_coherent(a.domain.backend.as_ref(), size)?;
        self.driver()
            .inner
            .quotas
            .charge(self.inner.creds.uid, &backing, "GEM_CREATE")?;
        // drm_vma_offset_add answers ENOSPC when the offset space is full.
        let offset = qda_rt::lock(&a.domain.offsets)
            .reserve(size)
            .ok_or_else(|| Error::new(Errno::ENOSPC, "GEM_CREATE: the fake mmap offset space is used up"))?;
        let drv = self.driver();
        let obj = GemObject::new(
            drv.next_id(),
            size,
            GemKind::Native { backing, map },
            Some(offset),
            drv.inner.gems.clone(),
        );
        qda_rt::lock(&a.domain.offsets).insert(offset, size, &obj);
        Ok(qda_rt::lock(&a.handles).insert(obj))
    }

    /// The object behind a handle (`ENOENT` if none).
    pub fn gem_object(&self, handle: u32) -> Result<Arc<GemObject>> {
        let a = self.accel()?;
        qda_rt::lock(&a.handles)
            .get(handle)
            .cloned()
            .ok_or_else(|| enoent(format!("GEM handle {handle} does not exist")))
    }

    /// `GEM_MMAP_OFFSET`: the fake offset to `mmap` the object at.
    pub fn gem_mmap_offset(&self, handle: u32) -> Result<u64> {
        let obj = self.gem_object(handle)?;
        obj.mmap_offset()
            .ok_or_else(|| einval(format!("GEM handle {handle} is an imported buffer: no mmap offset")))
    }

    /// `DRM_IOCTL_GEM_CLOSE`.
    pub fn gem_close(&self, handle: u32) -> Result<()> {
        let a = self.accel()?;
        let obj = qda_rt::lock(&a.handles).remove(handle)?;
        drop(obj);
        Ok(())
    }

    /// Number of GEM handles.
    pub fn handle_count(&self) -> usize {
        match &self.inner.kind {
            FileKind::Accel(a) => qda_rt::lock(&a.handles).len(),
            _ => 0,
        }
    }

    /// `mmap(file, len, offset)` on an accel file: the object at that fake
    /// offset, if this file holds a handle to it.
    pub fn mmap(&self, offset: u64, len: u64, writable: bool) -> Result<Mapping> {
        let (backing, delta, len) = self.mmap_target(offset, len)?;
        Mapping::map(backing.fd(), delta, len, writable)
    }

    /// What [`File::mmap`] would map, for a process elsewhere to map itself
    /// (the daemon's clients): a new open file description of the object's
    /// memory (read-only unless `writable`) and the offset in it.
    pub fn mmap_file(&self, offset: u64, len: u64, writable: bool) -> Result<(OwnedFd, u64)> {
        let (backing, delta, _) = self.mmap_target(offset, len)?;
        let mode = if writable {
            rustix::fs::OFlags::RDWR
        } else {
            rustix::fs::OFlags::RDONLY
        };
        Ok((sys::reopen(backing.fd(), mode | rustix::fs::OFlags::CLOEXEC)?, delta))
    }

    fn mmap_target(&self, offset: u64, len: u64) -> Result<(Arc<Backing>, u64, usize)> {
        let a = self.accel()?;
        let obj = qda_rt::lock(&a.domain.offsets).lookup(offset, len);
        let (delta, obj) =
            obj.ok_or_else(|| einval(format!("mmap: no object at offset 0x{offset:x} for {len} bytes")))?;
        if !qda_rt::lock(&a.handles).holds(&obj) {
            return Err(Error::new(Errno::EACCES, "mmap: this file has no handle to the object"));
        }
        let GemKind::Native { backing, .. } = obj.kind() else {
            return Err(einval("mmap: imported objects cannot be mapped through the importer"));
        };
        if !backing.cpu_mappable() {
            return Err(Error::new(Errno::ENXIO, "mmap: object lives in a no-map region"));
        }
        let len = usize::try_from(len).map_err(|_| einval("mmap: length too large"))?;
        Ok((backing.clone(), delta, len))
    }
}

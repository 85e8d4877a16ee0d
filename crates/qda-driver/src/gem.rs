//! GEM objects and per-file handle tables.
//!
//! A native object is memory from the domain's memory manager mapped into
//! the owner's context bank (QDA's `dma_alloc_coherent` on the CB device); an
//! imported object is a foreign dma-buf attached to the importer's CB and
//! mapped over **all** of its segments (the posted driver used only the first
//! scatterlist entry, which reviewers rejected). An object lives while a
//! handle, its dma-buf, or an in-flight use holds an `Arc` to it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, Weak};

use crate::dmabuf::{DmaBuf, Exporter, NewDmaBuf, Shared};
use crate::errno::{Result, einval};
use crate::mem::{Backing, Counter};
use crate::smmu::{IovaMapping, SegFile, Segment};

/// Start of the fake mmap offsets (`DRM_FILE_PAGE_OFFSET_START` pages).
pub const MMAP_OFFSET_START: u64 = 0x10_0000 << 12;

/// What backs an object.
#[derive(Debug)]
pub enum GemKind {
    /// Allocated by this driver.
    Native {
        /// Its memory.
        backing: Arc<Backing>,
        /// Its mapping in the owner's CB.
        map: IovaMapping,
    },
    /// A foreign dma-buf imported with PRIME.
    Imported {
        /// The dma-buf (held).
        dmabuf: Arc<DmaBuf>,
        /// Its mapping in the importer's CB.
        map: IovaMapping,
    },
}

/// One GEM object.
pub struct GemObject {
    id: u64,
    size: u64,
    kind: GemKind,
    mmap_offset: Option<u64>,
    dma_buf: Mutex<Weak<DmaBuf>>,
    live: Arc<Counter>,
}

impl fmt::Debug for GemObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GemObject")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("imported", &self.is_imported())
            .field("dma_addr", &format_args!("0x{:x}", self.dma_addr()))
            .finish()
    }
}

impl GemObject {
    /// Wrap a kind; `mmap_offset` is given to native objects only.
    pub fn new(id: u64, size: u64, kind: GemKind, mmap_offset: Option<u64>, live: Arc<Counter>) -> Arc<Self> {
        live.inc();
        Arc::new(GemObject {
            id,
            size,
            kind,
            mmap_offset,
            dma_buf: Mutex::new(Weak::new()),
            live,
        })
    }
    /// Driver-wide id.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Size in bytes (page multiple).
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The object's kind.
    pub fn kind(&self) -> &GemKind {
        &self.kind
    }
    /// True for PRIME imports.
    pub fn is_imported(&self) -> bool {
        matches!(self.kind, GemKind::Imported { .. })
    }
    /// The CB mapping.
    pub fn iova_mapping(&self) -> &IovaMapping {
        match &self.kind {
            GemKind::Native { map, .. } | GemKind::Imported { map, .. } => map,
        }
    }
    /// DSP address: `iova | sid << 32`.
    pub fn dma_addr(&self) -> u64 {
        self.iova_mapping().dsp_addr()
    }
    /// The fake offset for `mmap` (native objects only).
    pub fn mmap_offset(&self) -> Option<u64> {
        self.mmap_offset
    }
    /// Memory segments.
    pub fn segments(&self) -> Vec<Segment> {
        match &self.kind {
            GemKind::Native { backing, .. } => {
                vec![Segment {
                    file: SegFile::Backing(backing.clone()),
                    offset: 0,
                    len: backing.size(),
                }]
            }
            GemKind::Imported { dmabuf, .. } => dmabuf.segments().to_vec(),
        }
    }

    /// The object's one dma-buf (created on first export; an import's is the
    /// original). `writable` fixes the access mode if this call creates it.
    pub fn dmabuf(self: &Arc<Self>, ctx: &Arc<Shared>, writable: bool) -> Result<Arc<DmaBuf>> {
        if let GemKind::Imported { dmabuf, .. } = &self.kind {
            return Ok(dmabuf.clone());
        }
        let mut slot = qda_rt::lock(&self.dma_buf);
        if let Some(b) = slot.upgrade() {
            return Ok(b);
        }
        let GemKind::Native { backing, .. } = &self.kind else {
            unreachable!()
        };
        let file = Arc::new(crate::sys::InternalFd::dup(backing.fd().as_fd())?);
        let b = DmaBuf::create(
            ctx,
            NewDmaBuf {
                segments: self.segments(),
                file,
                exporter: Exporter::Gem(self.clone()),
                writable,
                cpu_mappable: backing.cpu_mappable(),
                private: None,
            },
        )?;
        *slot = Arc::downgrade(&b);
        Ok(b)
    }
}

impl Drop for GemObject {
    fn drop(&mut self) {
        if let GemKind::Imported { dmabuf, map } = &self.kind {
            dmabuf.detach(map.cb(), map.iova());
        }
        self.live.dec();
    }
}

/// A file's GEM handles and PRIME import cache.
#[derive(Debug, Default)]
pub struct Handles {
    objects: BTreeMap<u32, Arc<GemObject>>,
    /// dma-buf id → handle (`drm_prime_file_private`).
    prime: HashMap<u64, u32>,
}

impl Handles {
    /// Add a handle: the lowest free id from 1 (IDR semantics).
    pub fn insert(&mut self, obj: Arc<GemObject>) -> u32 {
        let mut h = 1u32;
        for &k in self.objects.keys() {
            if k != h {
                break;
            }
            h += 1;
        }
        self.objects.insert(h, obj);
        h
    }
    /// The object behind a handle.
    pub fn get(&self, h: u32) -> Option<&Arc<GemObject>> {
        self.objects.get(&h)
    }
    /// `GEM_CLOSE`: drop the handle and its PRIME cache entries; `EINVAL` if unknown.
    pub fn remove(&mut self, h: u32) -> Result<Arc<GemObject>> {
        let obj = self
            .objects
            .remove(&h)
            .ok_or_else(|| einval(format!("GEM handle {h} does not exist")))?;
        self.prime.retain(|_, v| *v != h);
        Ok(obj)
    }
    /// Record that `handle` refers to dma-buf `buf_id` in this file.
    pub fn cache_prime(&mut self, buf_id: u64, handle: u32) {
        self.prime.insert(buf_id, handle);
    }
    /// The handle a dma-buf already has in this file.
    pub fn prime_lookup(&self, buf_id: u64) -> Option<u32> {
        self.prime.get(&buf_id).copied()
    }
    /// True if this file holds a handle to `obj` (mmap permission).
    pub fn holds(&self, obj: &GemObject) -> bool {
        self.objects.values().any(|o| o.id == obj.id)
    }
    /// Number of handles.
    pub fn len(&self) -> usize {
        self.objects.len()
    }
    /// No handles.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
    /// Drop every handle (file close).
    pub fn clear(&mut self) -> Vec<Arc<GemObject>> {
        self.prime.clear();
        std::mem::take(&mut self.objects).into_values().collect()
    }
}

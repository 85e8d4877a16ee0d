//! One DSP domain (one `qcom,fastrpc` node): its context banks, legacy
//! sessions, memory, rpmsg channel and the fake mmap offsets of its GEM
//! objects.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::errno::{Result, enodev};
use crate::fastrpc::Channel;
use crate::gem::{GemObject, MMAP_OFFSET_START};
use crate::mem::{Backing, Counter, MemoryBackend};
use crate::platform::DomainDesc;
use crate::smmu::{ContextBank, IovaMapping};

/// One DSP domain (one `qcom,fastrpc` node / rpmsg channel).
pub struct DspDomain {
    /// DT description.
    pub desc: DomainDesc,
    /// Accel minor (`/dev/accel/accel<minor>`).
    pub minor: u32,
    /// Context banks, one per compute-cb node (QDA's view).
    pub cbs: Vec<Arc<ContextBank>>,
    /// Legacy sessions: each CB repeated `nsessions` times (misc/fastrpc's view).
    pub(crate) sessions: Vec<Session>,
    /// Memory for GEM objects and legacy buffers.
    pub backend: Arc<dyn MemoryBackend>,
    /// The `memory-region` pool, if the node names one (legacy remote heap).
    pub remote_heap: Option<Arc<dyn MemoryBackend>>,
    /// The rpmsg channel to the DSP.
    pub channel: Arc<Channel>,
    /// The remote heap given to static PDs (`cctx->remote_heap`), once allocated.
    pub(crate) static_heap: Mutex<Option<(Arc<Backing>, IovaMapping)>>,
    /// Payload buffers allocated so far (a running total; most calls reuse one).
    pub(crate) payload_allocs: Counter,
    /// Serialises CB assignment and release (the kernel's per-device lock).
    pub(crate) mm_lock: Mutex<()>,
    /// Set by [`Driver::remove_domain`](crate::Driver::remove_domain).
    pub(crate) removed: AtomicBool,
    /// The per-device counter `remote_session_id` is drawn from.
    pub(crate) session_ids: AtomicI32,
    /// Fake mmap offsets of the domain's GEM objects.
    pub(crate) offsets: Mutex<MmapOffsets>,
}

/// A legacy fastrpc session: a CB (shared by the `qcom,nsessions`
/// duplicates of one compute-cb node) and whether a file holds it.
#[derive(Debug)]
pub(crate) struct Session {
    /// The session's CB.
    pub(crate) cb: Arc<ContextBank>,
    /// Taken by an open file.
    pub(crate) in_use: AtomicBool,
}

/// The fake mmap offsets of a domain's GEM objects (the DRM core's
/// `drm_vma_offset_manager`): each object gets a range of its size, never
/// reused.
#[derive(Debug)]
pub(crate) struct MmapOffsets {
    /// Where the next object's range starts.
    next: u64,
    /// Ranges by start offset.
    objects: BTreeMap<u64, MmapOffset>,
}

/// One object's fake mmap offset range.
#[derive(Debug)]
struct MmapOffset {
    /// Length of the range: the object's size.
    size: u64,
    /// The object, while it lives.
    obj: Weak<GemObject>,
}

impl Default for MmapOffsets {
    fn default() -> Self {
        MmapOffsets {
            next: MMAP_OFFSET_START,
            objects: BTreeMap::new(),
        }
    }
}

impl MmapOffsets {
    /// Reserve a range of `size` bytes (forgetting the ranges of objects
    /// that are gone); `None` once the offset space is used up (ranges are
    /// never reused, so a long-lived domain could in principle get there).
    pub(crate) fn reserve(&mut self, size: u64) -> Option<u64> {
        self.objects.retain(|_, o| o.obj.strong_count() > 0);
        let off = self.next;
        self.next = off.checked_add(size)?;
        Some(off)
    }

    /// Record `obj` at the range reserved at `offset`.
    pub(crate) fn insert(&mut self, offset: u64, size: u64, obj: &Arc<GemObject>) {
        self.objects.insert(
            offset,
            MmapOffset {
                size,
                obj: Arc::downgrade(obj),
            },
        );
    }

    /// The live object whose range holds `[offset, offset + len)`, and
    /// `offset`'s distance from the range start.
    pub(crate) fn lookup(&self, offset: u64, len: u64) -> Option<(u64, Arc<GemObject>)> {
        self.objects
            .range(..=offset)
            .next_back()
            .filter(|(start, o)| (offset - **start).checked_add(len).is_some_and(|end| end <= o.size))
            .and_then(|(start, o)| o.obj.upgrade().map(|obj| (offset - start, obj)))
    }
}

impl fmt::Debug for DspDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DspDomain")
            .field("label", &self.desc.label)
            .field("minor", &self.minor)
            .finish()
    }
}

impl DspDomain {
    /// Label (`"cdsp"`).
    pub fn label(&self) -> &str {
        &self.desc.label
    }
    /// True after [`Driver::remove_domain`](crate::Driver::remove_domain).
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
    pub(crate) fn enter(&self) -> Result<()> {
        if self.is_removed() {
            return Err(enodev(format!("{}: device was removed", self.desc.label)));
        }
        Ok(())
    }
    /// Number of legacy sessions in use.
    pub fn sessions_in_use(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.in_use.load(Ordering::Acquire))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_offsets_run_out_instead_of_wrapping() {
        let mut o = MmapOffsets {
            next: u64::MAX - 8191,
            objects: BTreeMap::new(),
        };
        assert_eq!(o.reserve(4096), Some(u64::MAX - 8191));
        assert_eq!(o.reserve(8192), None, "past the end of the offset space");
        assert_eq!(o.reserve(4096), None, "a range must end below u64::MAX");
        assert_eq!(o.reserve(4095), Some(u64::MAX - 4095));
        assert!(o.lookup(u64::MAX, u64::MAX).is_none());
    }
}

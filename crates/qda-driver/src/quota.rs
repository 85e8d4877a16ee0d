//! Memory quotas per uid: the bytes of buffers a uid's files allocate
//! (`GEM_CREATE`, `DMA_HEAP_IOCTL_ALLOC`, `ALLOC_DMA_BUFF`) count against
//! its quota until the memory is freed (the backing's last reference goes,
//! wherever the buffer travelled), as a memory cgroup charges the
//! allocating task. A uid without a quota is not counted. qdad sets the
//! quotas from its policy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use qda_rt::lock;

use crate::errno::{Errno, Error, Result};
use crate::mem::Backing;

#[derive(Debug)]
struct UidMemory {
    limit: AtomicU64,
    used: AtomicU64,
}

/// The quotas of one driver.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    by_uid: Mutex<HashMap<u32, Arc<UidMemory>>>,
}

/// A charge, given back when dropped (it lives with the backing).
#[derive(Debug)]
struct Charge {
    to: Arc<UidMemory>,
    bytes: u64,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.to.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

impl Quotas {
    /// Bound what `uid` holds to `limit` bytes (`None`: no bound). What it
    /// holds already stays counted (its charges keep their counter).
    pub(crate) fn set(&self, uid: u32, limit: Option<u64>) {
        let mut m = lock(&self.by_uid);
        match limit {
            None => {
                m.remove(&uid);
            }
            Some(limit) => {
                m.entry(uid)
                    .or_insert_with(|| {
                        Arc::new(UidMemory {
                            limit: AtomicU64::new(limit),
                            used: AtomicU64::new(0),
                        })
                    })
                    .limit
                    .store(limit, Ordering::SeqCst);
            }
        }
    }

    /// Bytes `uid` holds, if it has a quota.
    pub(crate) fn used(&self, uid: u32) -> Option<u64> {
        lock(&self.by_uid).get(&uid).map(|u| u.used.load(Ordering::SeqCst))
    }

    /// Charge `backing` to `uid` (`what` names the request in the error);
    /// `ENOMEM` past its quota.
    pub(crate) fn charge(&self, uid: u32, backing: &Backing, what: &str) -> Result<()> {
        let Some(to) = lock(&self.by_uid).get(&uid).cloned() else {
            return Ok(());
        };
        let bytes = backing.size();
        let limit = to.limit.load(Ordering::SeqCst);
        to.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                u.checked_add(bytes).filter(|t| *t <= limit)
            })
            .map_err(|used| {
                Error::new(
                    Errno::ENOMEM,
                    format!(
                        "{what}: {bytes} bytes would pass uid {uid}'s memory quota of {limit} bytes ({used} in use)"
                    ),
                )
            })?;
        backing.hold(Box::new(Charge { to, bytes }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::{MemoryBackend, SystemBackend};

    #[test]
    fn charges_hold_until_the_memory_goes() {
        let q = Quotas::default();
        let sys = SystemBackend::new("system", None, Default::default());
        let a = sys.allocate(8192).unwrap();
        q.charge(5, &a, "x").unwrap();
        assert_eq!(q.used(5), None, "no quota, not counted");
        q.set(5, Some(12288));
        let b = sys.allocate(8192).unwrap();
        q.charge(5, &b, "x").unwrap();
        // Setting the quota again (each connection of the uid does) keeps
        // the charges made so far on the same counter.
        q.set(5, Some(12288));
        let c = sys.allocate(8192).unwrap();
        let e = q.charge(5, &c, "GEM_CREATE").unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
        assert!(e.to_string().contains("quota"), "{e}");
        assert_eq!(q.used(5), Some(8192));
        drop(b);
        assert_eq!(q.used(5), Some(0));
        q.charge(5, &c, "x").unwrap();
        assert_eq!(q.used(5), Some(8192));
        drop(a);
    }
}

//! A connection's fd cache ([`FEATURE_FD_CACHE`](qdad_client::wire::FEATURE_FD_CACHE)):
//! a reopened description of each file the client attached, keyed by the
//! client's number and the file's identity, so a by-fd call names its
//! dma-buf instead of passing it again.
//!
//! Reopened (`/proc/self/fd/N`, the client's access mode), never the
//! description the client sent: that one is an export description, whose
//! open-file-description lock keeps the driver's buffer pinned; a reopened
//! one holds no lock, so the driver's `settle` still sees only the
//! client's exports and frees the buffer when the client lets go of it.
//! The entry keeps the memfd's pages until the daemon's next sweep
//! (each second, and at every `Stats`) finds that no export description of
//! the file is left anywhere, at a reused number, at eviction (least
//! recently used past the bound), or at disconnect.
//!
//! A call that names a cached fd shares the entry's description
//! (an `Arc`), neither a `dup` nor a `close` per call; an entry dropped
//! meanwhile (evicted, replaced, swept) is closed when the call ends.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use qdad_client::wire::CachedFd;

use super::charge::FdCharge;

#[derive(Debug)]
struct Entry {
    num: i32,
    id: (u64, u64),
    fd: Arc<OwnedFd>,
    used: u64,
    /// Counted against the uid's fd quota and the daemon's budget.
    _charge: FdCharge,
}

/// The cache of one connection.
#[derive(Debug, Default)]
pub(super) struct FdCache {
    entries: Vec<Entry>,
    tick: u64,
}

impl FdCache {
    /// The reopened description of the file `c` names, if the cache holds
    /// that number for that file (the identity the client saw on its fd
    /// now): shared, still no export lock.
    pub(super) fn get(&mut self, c: &CachedFd) -> Option<Arc<OwnedFd>> {
        self.tick += 1;
        let e = self.entries.iter_mut().find(|e| e.num == c.num)?;
        if e.id != (c.dev, c.ino) {
            return None;
        }
        e.used = self.tick;
        Some(e.fd.clone())
    }

    /// Hold `fd` (a reopened description) under `num`, replacing what the
    /// number held, evicting the least recently used past `cap`.
    pub(super) fn insert(&mut self, num: i32, id: (u64, u64), fd: OwnedFd, charge: FdCharge, cap: usize) {
        self.tick += 1;
        self.entries.retain(|e| e.num != num);
        while !self.entries.is_empty() && self.entries.len() >= cap {
            if let Some(i) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
            {
                self.entries.swap_remove(i);
            }
        }
        if cap == 0 {
            return;
        }
        self.entries.push(Entry {
            num,
            id,
            fd: Arc::new(fd),
            used: self.tick,
            _charge: charge,
        });
    }

    /// Drop the entries whose file no export description holds any more
    /// (the client and everyone else let go of the buffer; files that never
    /// were exports go too: a client sends them again).
    pub(super) fn sweep(&mut self) {
        self.entries
            .retain(|e| matches!(qda_driver::sys::exports_alive(e.fd.as_fd()), Ok(true)));
    }

    /// Drop everything.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }
}

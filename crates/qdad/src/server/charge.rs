//! What a request holds from the moment its header arrives: its fds
//! (against the daemon's fd budget and its uid's fd quota) and its body's
//! bytes (against the cap on buffered bodies), given back when it ends.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Conn, Shared, UidUse};

/// What a request holds from the moment its header arrives until it ends:
/// its fds (against the fd budget) and its body's bytes (against the cap
/// on buffered bodies).
#[derive(Debug)]
pub(super) struct FdCharge {
    sh: Arc<Shared>,
    uid: Option<Arc<UidUse>>,
    n: usize,
    bytes: u64,
    /// An fd cache entry (counted in `fds_cached` too).
    cached: bool,
}

/// Why a request was refused before its body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Its fds would pass the fd budget.
    Fds,
    /// Its fds would pass its uid's fd quota.
    UidFds,
    /// Its body would pass the cap on buffered bodies.
    Bytes,
}

impl FdCharge {
    /// Charge `n` fds and `bytes` of body if both fit with what is held;
    /// the counts never pass their bounds.
    pub(super) fn try_new(sh: &Arc<Shared>, conn: &Conn, n: usize, bytes: u64) -> Result<FdCharge, Refusal> {
        let c = &sh.counters;
        let quota = conn.rights.max_fds;
        conn.uid_use
            .fds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(n).filter(|t| *t <= quota)
            })
            .map_err(|_| Refusal::UidFds)?;
        let give_back = || {
            conn.uid_use.fds.fetch_sub(n, Ordering::SeqCst);
        };
        c.fds_held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(n).filter(|t| *t <= sh.fd_budget)
            })
            .map_err(|_| {
                give_back();
                Refusal::Fds
            })?;
        let cap = sh.limits.buffered_bytes;
        if c.bytes_held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(bytes).filter(|t| *t <= cap)
            })
            .is_err()
        {
            c.fds_held.fetch_sub(n, Ordering::SeqCst);
            give_back();
            return Err(Refusal::Bytes);
        }
        Ok(FdCharge {
            sh: sh.clone(),
            uid: Some(conn.uid_use.clone()),
            n,
            bytes,
            cached: false,
        })
    }

    /// Charge one fd an fd cache keeps, against the uid's quota and the
    /// daemon's budget like any fd held. Cached fds may take at most half
    /// of either, so a uid's caches never make its own requests (or
    /// others') fail for want of fds: past that, an fd is not cached.
    pub(super) fn try_cache(sh: &Arc<Shared>, conn: &Conn) -> Option<FdCharge> {
        let u = &conn.uid_use;
        u.cached
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < conn.rights.max_fds / 2).then_some(n + 1)
            })
            .ok()?;
        if sh
            .counters
            .fds_cached
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < sh.fd_budget / 2).then_some(n + 1)
            })
            .is_err()
        {
            u.cached.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let undo = || {
            u.cached.fetch_sub(1, Ordering::SeqCst);
            sh.counters.fds_cached.fetch_sub(1, Ordering::SeqCst);
        };
        if u.fds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(1).filter(|t| *t <= conn.rights.max_fds)
            })
            .is_err()
        {
            undo();
            return None;
        }
        if sh
            .counters
            .fds_held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(1).filter(|t| *t <= sh.fd_budget)
            })
            .is_err()
        {
            u.fds.fetch_sub(1, Ordering::SeqCst);
            undo();
            return None;
        }
        Some(FdCharge {
            sh: sh.clone(),
            uid: Some(conn.uid_use.clone()),
            n: 1,
            bytes: 0,
            cached: true,
        })
    }

    pub(super) fn none(sh: &Arc<Shared>) -> FdCharge {
        FdCharge {
            sh: sh.clone(),
            uid: None,
            n: 0,
            bytes: 0,
            cached: false,
        }
    }
}

impl Drop for FdCharge {
    fn drop(&mut self) {
        self.sh.counters.fds_held.fetch_sub(self.n, Ordering::SeqCst);
        if let Some(u) = &self.uid {
            u.fds.fetch_sub(self.n, Ordering::SeqCst);
        }
        self.sh.counters.bytes_held.fetch_sub(self.bytes, Ordering::SeqCst);
        if self.cached {
            self.sh.counters.fds_cached.fetch_sub(1, Ordering::SeqCst);
            if let Some(u) = &self.uid {
                u.cached.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

//! The poison policy of `qda_rt::lock` for the lock shapes `qda_rt` does not
//! cover yet (`RwLock`, and a `Mutex` reached through `&mut` or by value),
//! and settings read without a lock ([`OptDuration`]). Candidates to move
//! into `qda_rt`.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Read-lock `l`, ignoring poison (as `qda_rt::lock`).
pub(crate) fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// Write-lock `l`, ignoring poison (as `qda_rt::lock`).
pub(crate) fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// The data of a mutex held exclusively, ignoring poison.
pub(crate) fn get_mut<T: ?Sized>(m: &mut Mutex<T>) -> &mut T {
    m.get_mut().unwrap_or_else(|e| e.into_inner())
}

/// The data of a mutex being consumed, ignoring poison.
pub(crate) fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// An optional duration read on every call without a lock (a mutex here
/// was a locked instruction and, on a line the caller shares, a cache miss
/// per call).
#[derive(Debug)]
pub struct OptDuration(std::sync::atomic::AtomicU64);

impl OptDuration {
    const NONE: u64 = u64::MAX;

    /// The value.
    pub fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            Self::NONE => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Set it (a duration of `u64::MAX - 1` ns or more saturates there).
    pub fn set(&self, v: Option<Duration>) {
        let ns = v.map_or(Self::NONE, |d| d.as_nanos().min(u128::from(Self::NONE - 1)) as u64);
        self.0.store(ns, Ordering::Relaxed);
    }
}

impl Default for OptDuration {
    fn default() -> Self {
        OptDuration(std::sync::atomic::AtomicU64::new(Self::NONE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_some_and_saturation() {
        let d = OptDuration::default();
        assert_eq!(d.get(), None);
        d.set(Some(Duration::from_micros(7)));
        assert_eq!(d.get(), Some(Duration::from_micros(7)));
        d.set(Some(Duration::MAX));
        assert_eq!(
            d.get(),
            Some(Duration::from_nanos(u64::MAX - 1)),
            "saturates short of None"
        );
        d.set(None);
        assert_eq!(d.get(), None);
    }
}

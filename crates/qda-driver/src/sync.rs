//! The poison policy of `qda_rt::lock` for the lock shapes `qda_rt` does not
//! cover yet (`RwLock`, and a `Mutex` reached through `&mut` or by value).
//! Candidates to move into `qda_rt`.

use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

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

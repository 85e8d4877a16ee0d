//! `find_vma` for this process: which file mapping an address lies in.
//!
//! Every user mapping made through [`Mapping`](crate::Mapping) is
//! registered here (by start address) when it is made and removed when it
//! is unmapped, so the lookup for a dma-buf argument needs no syscall; a
//! mapping made some other way is found in `/proc/self/maps`. Both sides of
//! qda need this: the driver to resolve a pointer argument to its buffer,
//! a client to send a daemon the mappings its pointers lie in.

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::sync::Mutex;

use crate::fd::file_id;

/// Where a user address lies in a file mapping: one VMA as `find_vma`
/// would give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapInfo {
    /// Start address of the mapping.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// `st_dev` of the mapped file.
    pub dev: u64,
    /// `st_ino` of the mapped file.
    pub ino: u64,
    /// Offset in the file of `start`.
    pub file_offset: u64,
}

impl MapInfo {
    /// `(st_dev, st_ino)` of the mapped file, as [`file_id`] gives it.
    pub fn file_id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
    /// Whether `addr` lies in the mapping.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr - self.start < self.len
    }
}

/// Mappings made through [`Mapping`](crate::Mapping), by start address: the
/// fast path of `find_vma` for dma-buf arguments.
static MAPPINGS: Mutex<BTreeMap<u64, MapInfo>> = Mutex::new(BTreeMap::new());

/// Record a user mapping of `fd` at `start` (what `/proc/self/maps` would
/// say of it, without reading that file on every by-fd invoke: it was one
/// open and ~10 reads per call).
pub(crate) fn register(start: u64, len: u64, fd: BorrowedFd<'_>, offset: u64) {
    if let Ok((dev, ino)) = file_id(fd) {
        lock().insert(
            start,
            MapInfo {
                start,
                len,
                dev,
                ino,
                file_offset: offset,
            },
        );
    }
}

/// Forget the mappings that start in `[start, start + len)` (an unmap).
pub(crate) fn unregister(start: u64, len: u64) {
    let mut m = lock();
    let keys: Vec<u64> = m.range(start..start.saturating_add(len)).map(|(k, _)| *k).collect();
    for k in keys {
        m.remove(&k);
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<u64, MapInfo>> {
    qda_rt::lock(&MAPPINGS)
}

/// The file mapping that contains `addr` in this process (`find_vma` +
/// `vma_lookup`): the registry first, then `/proc/self/maps`.
pub fn find_mapping(addr: u64) -> Option<MapInfo> {
    {
        let m = lock();
        if let Some((_, info)) = m.range(..=addr).next_back()
            && info.contains(addr)
        {
            return Some(*info);
        }
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(range), Some(_), Some(off), Some(dev), Some(ino)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let (a, b) = range.split_once('-')?;
        let (a, b) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
        if addr < a || addr >= b {
            continue;
        }
        let (ma, mi) = dev.split_once(':')?;
        return Some(MapInfo {
            start: a,
            len: b - a,
            dev: makedev(u64::from_str_radix(ma, 16).ok()?, u64::from_str_radix(mi, 16).ok()?),
            ino: ino.parse().ok()?,
            file_offset: u64::from_str_radix(off, 16).ok()?,
        });
    }
    None
}

/// glibc's `makedev`, to compare `/proc/self/maps` devices with `st_dev`.
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mapping, memfd};
    use std::os::fd::AsFd;

    #[test]
    fn ranges_at_the_top_of_memory_do_not_overflow() {
        unregister(u64::MAX - 10, 100);
        unregister(u64::MAX, u64::MAX);
        let top = MapInfo {
            start: u64::MAX - 4095,
            len: u64::MAX,
            dev: 0,
            ino: 0,
            file_offset: 0,
        };
        assert!(top.contains(u64::MAX) && !top.contains(0));
    }

    #[test]
    fn a_mapping_is_found_while_it_lives() {
        let fd = memfd("v", 3 * 4096).unwrap();
        let m = Mapping::map(fd.as_fd(), 4096, 8192, true).unwrap();
        let (dev, ino) = file_id(fd.as_fd()).unwrap();
        let want = MapInfo {
            start: m.addr(),
            len: 8192,
            dev,
            ino,
            file_offset: 4096,
        };
        assert_eq!(find_mapping(m.addr() + 100), Some(want));
        assert_eq!(find_mapping(m.addr() + 8191), Some(want));
        let internal = Mapping::map_internal(fd.as_fd(), 0, 4096, false).unwrap();
        // Not registered, but /proc/self/maps still lists it (as the kernel would).
        assert_eq!(find_mapping(internal.addr()).map(|v| v.file_id()), Some((dev, ino)));
        let at = m.addr();
        drop(m);
        assert_ne!(find_mapping(at).map(|v| v.file_id()), Some((dev, ino)));
    }
}

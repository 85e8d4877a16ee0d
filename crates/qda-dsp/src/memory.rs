//! Buffer arguments and payloads as the DSP's MMU sees them: translated
//! runs of files, mapped into this process when the DSP itself reads them.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, OnceLock};

use qda_driver::Errno;
use qda_driver::smmu::{Access, ContextBank, Run};
use qda_driver::sys::{Mapping, PAGE_SIZE};
use qda_os::OsError as Error;
use qda_proto::payload::PhyPage;
use qda_rt::lock;

use crate::aee;
use crate::error::{DspError, DspResult};

/// One buffer argument as the DSP's MMU sees it: translated runs, mapped
/// in this process on first use (thread PDs and static handles) or handed to
/// a PD process as they are.
#[derive(Debug)]
pub(crate) struct ArgMap {
    /// The translated runs.
    pub(crate) runs: Vec<Run>,
    /// Its length.
    pub(crate) len: usize,
    /// Written by the DSP (an output).
    pub(crate) writable: bool,
    /// The mapping and the argument's offset in it, once mapped.
    pub(crate) map: OnceLock<Option<(Arc<Mapping>, usize)>>,
    /// For a handle argument: what the skel is given (the runs, if any,
    /// cover the whole buffer).
    pub(crate) dma: Option<DmaArg>,
}

/// A handle argument (`in`/`out dmahandle`) as the payload carries it:
/// `remote_dma_handle64` plus the buffer's SMMU address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DmaArg {
    /// The client's fd, as sent (a key only).
    pub fd: i32,
    /// The offset the client gave.
    pub offset: u32,
    /// The length the client gave.
    pub len: u32,
    /// The DSP (SMMU) address of the buffer's first byte; 0 if unmapped.
    pub dsp_addr: u64,
}

impl ArgMap {
    /// An argument with nothing to map (a handle, an empty buffer).
    pub(crate) fn empty() -> ArgMap {
        ArgMap {
            runs: Vec::new(),
            len: 0,
            writable: false,
            map: OnceLock::new(),
            dma: None,
        }
    }
    /// A handle argument: the client's fd, offset and length as sent and,
    /// when the driver attached the buffer (its page), the whole buffer
    /// through the SMMU, mapped writable where the context bank allows it.
    pub(crate) fn handle(cb: &ContextBank, fd: i32, offset: u32, len: u32, page: PhyPage) -> DspResult<ArgMap> {
        let mut a = ArgMap::empty();
        a.dma = Some(DmaArg {
            fd,
            offset,
            len,
            dsp_addr: page.addr,
        });
        if page.size == 0 {
            return Ok(a);
        }
        let (runs, writable) = match cb.translate(page.addr, page.size, Access::Write) {
            Ok(r) => (r, true),
            Err(_) => (
                cb.translate(page.addr, page.size, Access::Read).map_err(|_| {
                    DspError::new(
                        aee::EBADVA,
                        format!("the buffer of fd {fd} at {:#x} does not translate", page.addr),
                    )
                })?,
                false,
            ),
        };
        a.runs = runs;
        a.len = page.size as usize;
        a.writable = writable;
        Ok(a)
    }

    /// The mapping the argument lies in, once mapped (to keep it alive).
    pub(crate) fn keep(&self) -> Option<Arc<Mapping>> {
        self.mapping().map(|(m, _)| m.clone())
    }
    fn mapping(&self) -> Option<&(Arc<Mapping>, usize)> {
        self.map
            .get_or_init(|| {
                if self.runs.is_empty() {
                    None
                } else {
                    arg_maps().map(&self.runs, self.writable).ok()
                }
            })
            .as_ref()
    }
    /// Where the argument is mapped in this process (null when empty).
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.mapping().map_or(std::ptr::null_mut(), |(m, off)| m.ptr_at(*off))
    }
    /// The argument's bytes.
    pub(crate) fn read(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.len];
        if let Some((m, off)) = self.mapping() {
            let _ = m.read_at(*off, &mut v);
        }
        v
    }
    /// Write `b` (at most the argument's length) to the argument.
    pub(crate) fn write(&self, b: &[u8]) {
        if let Some((m, off)) = self.mapping() {
            let _ = m.write_at(*off, &b[..b.len().min(self.len)]);
        }
    }
}

/// Page-aligned cover of translated runs: `(fd, offset, length)` pieces and
/// the in-page offset of the first byte.
pub(crate) fn aligned_runs(runs: &[Run]) -> (Vec<(BorrowedFd<'_>, u64, u64)>, usize) {
    let lead = runs.first().map_or(0, |r| (r.offset % PAGE_SIZE) as usize);
    let segs = runs
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let start = if k == 0 { r.offset - lead as u64 } else { r.offset };
            let end = (r.offset + r.len).next_multiple_of(PAGE_SIZE);
            (r.file.fd(), start, end - start)
        })
        .collect();
    (segs, lead)
}

/// The DSP's mappings of payloads, kept between calls: the driver reuses its
/// payload buffers, and mapping one afresh for every call cost a page fault
/// per 16 pages touched (10 per 64 KiB-inline call). Keyed
/// by file identity, offset and length, so a hit maps exactly the memory a
/// fresh translation names (shared mappings of the same file range). A
/// cached mapping keeps its file's memory until evicted: at most
/// [`MAP_CACHE_ENTRIES`] ranges of at most [`MAP_CACHE_LARGEST`] bytes.
#[derive(Debug)]
pub(crate) struct MapCache {
    entries: Mutex<VecDeque<(MapKey, Arc<Mapping>)>>,
    /// Most mappings kept.
    max_entries: usize,
    /// The largest range kept.
    largest: u64,
    /// Most bytes kept in all.
    max_total: u64,
}

impl Default for MapCache {
    /// The payload cache: 32 ranges of at most 1 MiB.
    fn default() -> Self {
        MapCache::with_limits(
            MAP_CACHE_ENTRIES,
            MAP_CACHE_LARGEST,
            MAP_CACHE_ENTRIES as u64 * MAP_CACHE_LARGEST,
        )
    }
}

/// The cache of buffer arguments' mappings (by-fd buffers a thread PD's
/// skel or a static handle reads): mapping a 64 MiB buffer for each call and
/// unmapping it after cost page-table set-up and tear-down on every call
/// (1.18× a 4 KiB buffer's call). Keyed, like the payload cache, by file
/// identity and range, so a hit is the same memory a fresh translation
/// names (the SMMU translation itself still runs on every call). A kept
/// mapping holds its buffer's memory after the client frees it until
/// evicted: at most 16 ranges and 256 MiB in all per process.
pub(crate) fn arg_maps() -> &'static MapCache {
    static ARGS: OnceLock<MapCache> = OnceLock::new();
    ARGS.get_or_init(|| MapCache::with_limits(16, 256 << 20, 256 << 20))
}

/// What a cached mapping maps: its pieces and writability.
#[derive(Debug, PartialEq, Eq)]
struct MapKey {
    pieces: Vec<MapPiece>,
    writable: bool,
}

/// One piece of a cached mapping: a range of a file.
#[derive(Debug, PartialEq, Eq)]
struct MapPiece {
    /// `(st_dev, st_ino)` of the file.
    file: (u64, u64),
    offset: u64,
    len: u64,
}
const MAP_CACHE_ENTRIES: usize = 32;
const MAP_CACHE_LARGEST: u64 = 1 << 20;

impl MapCache {
    /// A cache keeping at most `max_entries` mappings, none over `largest`
    /// bytes, `max_total` bytes in all.
    pub(crate) fn with_limits(max_entries: usize, largest: u64, max_total: u64) -> MapCache {
        MapCache {
            entries: Mutex::new(VecDeque::new()),
            max_entries,
            largest,
            max_total,
        }
    }

    /// A mapping of `runs` and the offset of their first byte in it.
    pub(crate) fn map(&self, runs: &[Run], writable: bool) -> qda_driver::Result<(Arc<Mapping>, usize)> {
        let (segs, lead) = aligned_runs(runs);
        if segs.is_empty() {
            return Err(Error::new(Errno::EINVAL, "empty translation"));
        }
        if segs.iter().map(|s| s.2).sum::<u64>() > self.largest {
            return Ok((Arc::new(Mapping::assemble_internal(&segs, writable)?), lead));
        }
        // A payload is a driver backing: its identity is known, no fstat.
        let key = MapKey {
            pieces: runs
                .iter()
                .zip(&segs)
                .map(|(r, (_, off, len))| {
                    Ok(MapPiece {
                        file: r.file.file_id()?,
                        offset: *off,
                        len: *len,
                    })
                })
                .collect::<qda_driver::Result<_>>()?,
            writable,
        };
        {
            let mut e = lock(&self.entries);
            if let Some(i) = e.iter().position(|(k, _)| *k == key) {
                let hit = e.remove(i).expect("index from position");
                let m = hit.1.clone();
                e.push_back(hit);
                return Ok((m, lead));
            }
        }
        let m = Arc::new(Mapping::assemble_internal(&segs, writable)?);
        let mut e = lock(&self.entries);
        e.push_back((key, m.clone()));
        let mut total: u64 = e.iter().map(|(_, m)| m.len() as u64).sum();
        while e.len() > self.max_entries || (total > self.max_total && e.len() > 1) {
            if let Some((_, old)) = e.pop_front() {
                total -= old.len() as u64;
            }
        }
        Ok((m, lead))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_driver::smmu::SegFile;
    use qda_driver::sys::InternalFd;

    fn file(pages: u64) -> SegFile {
        SegFile::Fd(Arc::new(InternalFd::new(
            qda_driver::sys::memfd("t", pages * PAGE_SIZE).unwrap(),
        )))
    }

    fn run(f: &SegFile, offset: u64, len: u64) -> Run {
        Run {
            file: f.clone(),
            offset,
            len,
        }
    }

    #[test]
    fn the_payload_map_cache_hits_only_the_same_range() {
        let c = MapCache::default();
        let (a, b) = (file(4), file(4));
        let (m1, lead) = c.map(&[run(&a, 100, 50)], true).unwrap();
        assert_eq!(lead, 100);
        m1.write_at(lead, b"payload").unwrap();
        // The same range: the same mapping.
        let (m2, _) = c.map(&[run(&a, 100, 50)], true).unwrap();
        assert!(Arc::ptr_eq(&m1, &m2));
        // Another file, another page, or read-only: new mappings.
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&b, 100, 50)], true).unwrap().0));
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&a, PAGE_SIZE, 50)], true).unwrap().0));
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&a, 100, 50)], false).unwrap().0));
        // A fresh mapping of the range sees the same memory.
        let mut got = [0u8; 7];
        c.map(&[run(&a, 100, 50)], false)
            .unwrap()
            .0
            .read_at(lead, &mut got)
            .unwrap();
        assert_eq!(&got, b"payload");
    }

    /// The argument cache keeps big ranges, within its byte total.
    #[test]
    fn the_argument_map_cache_keeps_big_ranges_within_its_total() {
        let c = MapCache::with_limits(16, 64 * PAGE_SIZE, 96 * PAGE_SIZE);
        let (a, b) = (file(64), file(64));
        let m1 = c.map(&[run(&a, 0, 64 * PAGE_SIZE)], false).unwrap().0;
        assert!(Arc::ptr_eq(
            &m1,
            &c.map(&[run(&a, 0, 64 * PAGE_SIZE)], false).unwrap().0
        ));
        // A second 64-page range passes the 96-page total: the first goes.
        c.map(&[run(&b, 0, 64 * PAGE_SIZE)], false).unwrap();
        assert_eq!(c.entries.lock().unwrap().len(), 1);
        assert!(!Arc::ptr_eq(
            &m1,
            &c.map(&[run(&a, 0, 64 * PAGE_SIZE)], false).unwrap().0
        ));
    }

    #[test]
    fn the_payload_map_cache_is_bounded() {
        let c = MapCache::default();
        let f = file(64);
        let first = c.map(&[run(&f, 0, 8)], true).unwrap().0;
        for p in 1..=MAP_CACHE_ENTRIES as u64 {
            c.map(&[run(&f, p * PAGE_SIZE, 8)], true).unwrap();
        }
        assert_eq!(c.entries.lock().unwrap().len(), MAP_CACHE_ENTRIES);
        // The oldest was evicted: mapping it again makes a new mapping.
        assert!(!Arc::ptr_eq(&first, &c.map(&[run(&f, 0, 8)], true).unwrap().0));
        // Nothing to map is an error, not a cached empty mapping.
        assert_eq!(c.map(&[], true).unwrap_err().errno, Errno::EINVAL);
        // Ranges above the limit are mapped but never kept.
        let big = file(MAP_CACHE_LARGEST / PAGE_SIZE + 1);
        let m = c.map(&[run(&big, 0, MAP_CACHE_LARGEST + 1)], true).unwrap().0;
        assert!(!Arc::ptr_eq(
            &m,
            &c.map(&[run(&big, 0, MAP_CACHE_LARGEST + 1)], true).unwrap().0
        ));
    }
}

//! Context banks on the compute bus, each with its own IOMMU address space.
//!
//! A context bank (CB) is one `qcom,fastrpc-compute-cb` node: a stream id
//! (SID) and a 32-bit IOVA space. Mapping a buffer into a CB allocates a
//! contiguous IOVA range (top-down, as iommu-dma allocates) and records page
//! table entries from IOVA to the buffer's memory segments with read/write
//! permission. The DSP sees `iova | sid << 32` and reaches memory only
//! through [`ContextBank::translate`], which reports a fault (SID, IOVA,
//! access) instead of crashing, as an SMMU does.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, RwLock};

use crate::dmadebug::{DeviceName, Direction, DmaDebug, DmaEntry, MapKind};
use crate::errno::{Errno, Error, Result};
use crate::mem::{Backing, Counter};
use crate::sys::PAGE_SIZE;

/// Bit position of the SID in a DSP address (`sid_pos` = 32 on all but kaanapali).
pub const SID_SHIFT: u32 = 32;
/// Top of the 32-bit IOVA space (`DMA_BIT_MASK(32)` + 1).
pub const IOVA_LIMIT: u64 = 1 << 32;
/// Lowest IOVA handed out (page 0 stays unmapped so a null DSP pointer faults).
pub const IOVA_FLOOR: u64 = PAGE_SIZE;

/// The file behind a segment: a buffer's own backing, or a user memfd (udmabuf).
#[derive(Debug, Clone)]
pub enum SegFile {
    /// A driver-allocated backing.
    Backing(Arc<Backing>),
    /// A user's memfd (kept open by the dma-buf).
    Fd(Arc<crate::sys::InternalFd>),
}

impl SegFile {
    /// The fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            SegFile::Backing(b) => b.fd(),
            SegFile::Fd(f) => f.as_fd(),
        }
    }

    /// `(st_dev, st_ino)` of the file: a backing's is known, a user memfd's
    /// is asked with `fstat`.
    pub fn file_id(&self) -> Result<(u64, u64)> {
        match self {
            SegFile::Backing(b) => Ok(b.file_id()),
            SegFile::Fd(f) => crate::sys::file_id(f.as_fd()),
        }
    }
}

/// A run of a file: `len` bytes at `offset`.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The file.
    pub file: SegFile,
    /// Byte offset (page multiple).
    pub offset: u64,
    /// Length (page multiple).
    pub len: u64,
}

/// Access permission of a mapping or an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    /// Readable by the DSP.
    pub read: bool,
    /// Writable by the DSP.
    pub write: bool,
}

impl Perm {
    /// Read and write.
    pub const RW: Perm = Perm {
        read: true,
        write: true,
    };
    /// Read only.
    pub const RO: Perm = Perm {
        read: true,
        write: false,
    };
}

/// Direction of a DSP access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The DSP reads.
    Read,
    /// The DSP writes.
    Write,
}

/// Why a translation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// No page table entry (translation fault).
    Unmapped,
    /// The entry forbids the access (permission fault).
    Permission,
    /// The address carries another CB's SID.
    WrongSid,
}

/// An SMMU context fault, as the DSP side observes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SMMU context fault on {cb} (SID {sid}): {kind:?} {access:?} at IOVA 0x{iova:08x} (DSP address 0x{addr:x}, {len} bytes)"
)]
pub struct SmmuFault {
    /// CB device name.
    pub cb: String,
    /// Stream id.
    pub sid: u32,
    /// Faulting IOVA.
    pub iova: u64,
    /// The full DSP address used.
    pub addr: u64,
    /// Access length.
    pub len: u64,
    /// Read or write.
    pub access: Access,
    /// Cause.
    pub kind: FaultKind,
}

/// A piece of a translated range.
#[derive(Debug, Clone)]
pub struct Run {
    /// The file.
    pub file: SegFile,
    /// Offset in the file.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

#[derive(Debug)]
struct Pte {
    len: u64,
    segs: Vec<Segment>,
    perm: Perm,
}

/// How a mapping is recorded with the DMA-API debug checker (and unmapped).
#[derive(Debug, Clone, Copy)]
pub struct DmaRecord {
    /// Streaming sg map, single, or coherent allocation.
    pub kind: MapKind,
    /// DMA direction.
    pub dir: Direction,
    /// Number of sg entries.
    pub nents: u32,
}

/// Which opener a CB is assigned to (QDA memory manager).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// Opener's thread id (QDA records `current->pid`, a thread id); 0 = free.
    pub pid: i32,
    /// Files holding it.
    pub refs: u32,
}

/// One context bank device.
pub struct ContextBank {
    name: String,
    sid: u32,
    domain: String,
    free: Mutex<BTreeMap<u64, u64>>, // start → len, free IOVA ranges
    pt: RwLock<BTreeMap<u64, Pte>>,
    faults: Mutex<Vec<SmmuFault>>,
    debug: Arc<DmaDebug>,
    live: Arc<Counter>,
    /// QDA memory-manager assignment.
    pub(crate) assign: Mutex<Assignment>,
}

impl fmt::Debug for ContextBank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextBank")
            .field("name", &self.name)
            .field("sid", &self.sid)
            .finish()
    }
}

impl ContextBank {
    /// A CB named as QDA names it: `qda-cb-<dsp>-<sid>`.
    pub fn new(domain: &str, sid: u32, debug: Arc<DmaDebug>, live: Arc<Counter>) -> Self {
        let mut free = BTreeMap::new();
        free.insert(IOVA_FLOOR, IOVA_LIMIT - IOVA_FLOOR);
        ContextBank {
            name: format!("qda-cb-{domain}-{sid}"),
            sid,
            domain: domain.to_string(),
            free: Mutex::new(free),
            pt: RwLock::new(BTreeMap::new()),
            faults: Mutex::new(Vec::new()),
            debug,
            live,
            assign: Mutex::new(Assignment::default()),
        }
    }
    /// Device name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Stream id.
    pub fn sid(&self) -> u32 {
        self.sid
    }
    /// Domain label.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// `iova | sid << 32`.
    pub fn dsp_addr(&self, iova: u64) -> u64 {
        iova | (self.sid as u64) << SID_SHIFT
    }
    /// The current QDA assignment.
    pub fn assignment(&self) -> Assignment {
        *qda_rt::lock(&self.assign)
    }
    /// Bytes of IOVA space in use.
    pub fn mapped_bytes(&self) -> u64 {
        crate::sync::read(&self.pt).values().map(|p| p.len).sum()
    }
    /// Faults recorded so far.
    pub fn faults(&self) -> Vec<SmmuFault> {
        qda_rt::lock(&self.faults).clone()
    }

    fn alloc_iova(&self, len: u64) -> Option<u64> {
        let mut free = qda_rt::lock(&self.free);
        // Top-down: the highest free range that fits, carved from its top.
        let (&start, &flen) = free.iter().rev().find(|(_, l)| **l >= len)?;
        let iova = start + flen - len;
        if flen == len {
            free.remove(&start);
        } else {
            free.insert(start, flen - len);
        }
        Some(iova)
    }

    fn free_iova(&self, iova: u64, len: u64) {
        let mut free = qda_rt::lock(&self.free);
        let (mut s, mut l) = (iova, len);
        if let Some((&ps, &pl)) = free.range(..s).next_back()
            && ps + pl == s
        {
            free.remove(&ps);
            s = ps;
            l += pl;
        }
        if let Some(&nl) = free.get(&(iova + len)) {
            free.remove(&(iova + len));
            l += nl;
        }
        free.insert(s, l);
    }

    /// Map `segs` contiguously in IOVA space. The returned guard unmaps (and
    /// tells the debug checker, with the same kind and direction) on drop.
    pub fn map(
        self: &Arc<Self>,
        segs: Vec<Segment>,
        perm: Perm,
        rec: DmaRecord,
        owner: Option<u64>,
    ) -> Result<IovaMapping> {
        // Lengths that overflow together cannot fit the 32-bit IOVA space
        // either: ENOMEM, as an IOVA allocation of that size would answer.
        let len = segs.iter().try_fold(0u64, |t, s| t.checked_add(s.len)).ok_or_else(|| {
            Error::new(
                Errno::ENOMEM,
                format!("{}: segment lengths overflow the IOVA space", self.name),
            )
        })?;
        if len == 0 || segs.iter().any(|s| s.len % PAGE_SIZE != 0 || s.offset % PAGE_SIZE != 0) {
            return Err(Error::new(
                Errno::EINVAL,
                "IOMMU map: segments must be non-empty whole pages",
            ));
        }
        let iova = self.alloc_iova(len).ok_or_else(|| {
            Error::new(
                Errno::ENOMEM,
                format!("{}: no {len}-byte range left in the 32-bit IOVA space", self.name),
            )
        })?;
        crate::sync::write(&self.pt).insert(iova, Pte { len, segs, perm });
        self.debug.map(DmaEntry {
            dev: DeviceName(self.name.clone()),
            kind: rec.kind,
            addr: iova,
            size: len,
            dir: rec.dir,
            nents: rec.nents,
            owner,
            cpu_addr: None,
        });
        self.live.inc();
        Ok(IovaMapping {
            cb: self.clone(),
            iova,
            len,
            rec,
        })
    }

    fn unmap(&self, iova: u64, len: u64, rec: DmaRecord) {
        // Tell the checker first: once the range is free another mapping may
        // get the same IOVA at once.
        let dev = DeviceName(self.name.clone());
        match rec.kind {
            MapKind::Coherent => self.debug.free_coherent(&dev, iova, len, None),
            k => self.debug.unmap(&dev, k, iova, len, rec.dir, rec.nents),
        }
        crate::sync::write(&self.pt).remove(&iova);
        self.free_iova(iova, len);
        self.live.dec();
    }

    /// Translate a DSP access of `len` bytes at `addr` into file runs, or
    /// report the fault (it is also recorded in [`ContextBank::faults`]).
    pub fn translate(&self, addr: u64, len: u64, access: Access) -> Result<Vec<Run>, SmmuFault> {
        let fault = |iova: u64, kind| {
            let f = SmmuFault {
                cb: self.name.clone(),
                sid: self.sid,
                iova,
                addr,
                len,
                access,
                kind,
            };
            qda_rt::lock(&self.faults).push(f.clone());
            f
        };
        if addr >> SID_SHIFT != self.sid as u64 {
            return Err(fault(addr & (IOVA_LIMIT - 1), FaultKind::WrongSid));
        }
        let iova = addr & (IOVA_LIMIT - 1);
        let pt = crate::sync::read(&self.pt);
        let mut runs = Vec::new();
        let (mut at, end) = (iova, iova.saturating_add(len));
        while at < end || (len == 0 && runs.is_empty() && at == iova) {
            let Some((&base, pte)) = pt.range(..=at).next_back().filter(|(b, p)| at < **b + p.len) else {
                return Err(fault(at, FaultKind::Unmapped));
            };
            let allowed = match access {
                Access::Read => pte.perm.read,
                Access::Write => pte.perm.write,
            };
            if !allowed {
                return Err(fault(at, FaultKind::Permission));
            }
            if len == 0 {
                break;
            }
            // Walk the segments of this entry from `at`.
            let mut off = at - base;
            for s in &pte.segs {
                if off >= s.len {
                    off -= s.len;
                    continue;
                }
                let n = (s.len - off).min(end - at);
                runs.push(Run {
                    file: s.file.clone(),
                    offset: s.offset + off,
                    len: n,
                });
                at += n;
                off = 0;
                if at >= end {
                    break;
                }
            }
        }
        Ok(runs)
    }
}

impl ContextBank {
    /// `dma_alloc_coherent` on this CB: `size` bytes from `backend`, mapped
    /// read/write at a fresh IOVA and recorded as a coherent allocation.
    pub fn alloc_coherent(
        self: &Arc<Self>,
        backend: &dyn crate::mem::MemoryBackend,
        size: u64,
    ) -> Result<(Arc<Backing>, IovaMapping)> {
        let backing = backend.allocate(size)?;
        let seg = vec![Segment {
            file: SegFile::Backing(backing.clone()),
            offset: 0,
            len: size,
        }];
        let rec = DmaRecord {
            kind: MapKind::Coherent,
            dir: Direction::Bidirectional,
            nents: 1,
        };
        let map = self.map(seg, Perm::RW, rec, None)?;
        Ok((backing, map))
    }
}

/// A live IOVA mapping; unmapped on drop.
#[derive(Debug)]
pub struct IovaMapping {
    cb: Arc<ContextBank>,
    iova: u64,
    len: u64,
    rec: DmaRecord,
}

impl IovaMapping {
    /// The CB.
    pub fn cb(&self) -> &Arc<ContextBank> {
        &self.cb
    }
    /// IOVA.
    pub fn iova(&self) -> u64 {
        self.iova
    }
    /// Length.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// `iova | sid << 32`.
    pub fn dsp_addr(&self) -> u64 {
        self.cb.dsp_addr(self.iova)
    }
}

impl Drop for IovaMapping {
    fn drop(&mut self) {
        self.cb.unmap(self.iova, self.len, self.rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::{MemoryBackend, SystemBackend};

    fn cb() -> (Arc<ContextBank>, Arc<DmaDebug>) {
        let dbg = Arc::new(DmaDebug::new());
        (
            Arc::new(ContextBank::new("cdsp", 3, dbg.clone(), Arc::new(Counter::default()))),
            dbg,
        )
    }
    const SG: DmaRecord = DmaRecord {
        kind: MapKind::Sg,
        dir: Direction::Bidirectional,
        nents: 1,
    };

    #[test]
    fn map_translate_unmap() {
        let (cb, dbg) = cb();
        let sys = SystemBackend::new("system", None, Arc::new(Counter::default()));
        let a = sys.allocate(8192).unwrap();
        let b = sys.allocate(4096).unwrap();
        let segs = vec![
            Segment {
                file: SegFile::Backing(a.clone()),
                offset: 4096,
                len: 4096,
            },
            Segment {
                file: SegFile::Backing(b.clone()),
                offset: 0,
                len: 4096,
            },
        ];
        let m = cb.map(segs, Perm::RW, SG, None).unwrap();
        assert_eq!(m.iova(), IOVA_LIMIT - 8192, "top-down");
        assert_eq!(m.dsp_addr(), 3 << 32 | (IOVA_LIMIT - 8192));
        let runs = cb.translate(m.dsp_addr() + 4000, 200, Access::Read).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (runs[0].offset, runs[0].len, runs[1].offset, runs[1].len),
            (8096, 96, 0, 104)
        );
        let f = cb.translate(m.dsp_addr() + 8190, 4, Access::Read).unwrap_err();
        assert_eq!((f.kind, f.iova, f.sid), (FaultKind::Unmapped, IOVA_LIMIT, 3));
        let f = cb.translate(4 << 32 | m.iova(), 4, Access::Read).unwrap_err();
        assert_eq!(f.kind, FaultKind::WrongSid);
        assert_eq!(cb.faults().len(), 2);
        drop(m);
        assert_eq!(cb.mapped_bytes(), 0);
        assert!(cb.translate(3 << 32 | (IOVA_LIMIT - 8192), 4, Access::Read).is_err());
        assert!(dbg.reports().is_empty(), "{:?}", dbg.reports());
        assert_eq!(dbg.live(), 0);
    }

    #[test]
    fn permissions_and_iova_reuse() {
        let (cb, _) = cb();
        let sys = SystemBackend::new("system", None, Arc::new(Counter::default()));
        let a = sys.allocate(4096).unwrap();
        let seg = || {
            vec![Segment {
                file: SegFile::Backing(a.clone()),
                offset: 0,
                len: 4096,
            }]
        };
        let m1 = cb.map(seg(), Perm::RO, SG, None).unwrap();
        assert_eq!(
            cb.translate(m1.dsp_addr(), 4, Access::Write).unwrap_err().kind,
            FaultKind::Permission
        );
        let m2 = cb.map(seg(), Perm::RW, SG, None).unwrap();
        let (i1, i2) = (m1.iova(), m2.iova());
        drop(m1);
        drop(m2);
        // Freed ranges coalesce: the next mapping lands at the top again.
        let m3 = cb.map(seg(), Perm::RW, SG, None).unwrap();
        assert_eq!(m3.iova(), i1.max(i2));
    }

    #[test]
    fn segment_lengths_that_overflow_together_are_enomem() {
        let (cb, dbg) = cb();
        let sys = SystemBackend::new("system", None, Arc::new(Counter::default()));
        let a = sys.allocate(4096).unwrap();
        let huge = |len| Segment {
            file: SegFile::Backing(a.clone()),
            offset: 0,
            len,
        };
        let half = 1u64 << 63;
        for segs in [vec![huge(half), huge(half)], vec![huge(u64::MAX - 4095), huge(4096)]] {
            let e = cb.map(segs, Perm::RW, SG, None).unwrap_err();
            assert_eq!(e.errno, Errno::ENOMEM);
        }
        assert_eq!(dbg.live(), 0);
    }

    #[test]
    fn iova_space_exhaustion_is_enomem() {
        let (cb, _) = cb();
        let sys = SystemBackend::new("system", None, Arc::new(Counter::default()));
        let a = sys.allocate(4096).unwrap();
        // Pretend-map the same page over nearly the whole space in 1 GiB steps.
        let big = |n| {
            (0..n)
                .map(|_| Segment {
                    file: SegFile::Backing(a.clone()),
                    offset: 0,
                    len: 4096,
                })
                .collect::<Vec<_>>()
        };
        let _m = cb.map(big(1), Perm::RW, SG, None).unwrap();
        let mut hold = Vec::new();
        for _ in 0..3 {
            hold.push(cb.map(big(262_144), Perm::RW, SG, None).unwrap()); // 1 GiB each
        }
        let e = cb.map(big(262_144), Perm::RW, SG, None).unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
    }
}

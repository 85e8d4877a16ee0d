//! A DMA-API debug checker, modelled on `CONFIG_DMA_API_DEBUG`
//! (`kernel/dma/debug.c`).
//!
//! Every DMA map, unmap, coherent allocation and free, and sync the emulated
//! drivers do goes through one [`DmaDebug`]. It keeps the live entries per
//! device, keyed by DMA address, and reports what the kernel reports:
//!
//! - unmap/free of something never mapped, and unmaps whose size, function
//!   (mapping kind), CPU address (coherent), sg entry count or direction
//!   differ from the map — checked in the kernel's order, the entry being
//!   forgotten even when a mismatch is reported;
//! - syncs of unmapped memory, past the end of a mapping, against the mapped
//!   direction, or in the direction the device cannot have used;
//! - overlapping live mappings of one device ("cacheline tracking EEXIST"),
//!   except that `DMA_TO_DEVICE` mappings are not tracked, as in the kernel;
//! - leaks: a device removed with entries left ("pending DMA allocations
//!   while released from device"), and — beyond the kernel — an owner (an
//!   open file) closed while mappings it owns are still live.
//!
//! Reports are kept and counted (like debugfs `dma-api/error_count`) and
//! worded like the kernel's messages. Nothing is printed: callers decide.
//! Differences from the kernel, on purpose: entries are tracked per device
//! and address range rather than per physical cacheline; the out-of-range
//! sync check is on `offset + size` within the containing entry; there is no
//! `dma_mapping_error()` tracking.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// `enum dma_data_direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// `DMA_BIDIRECTIONAL`.
    Bidirectional = 0,
    /// `DMA_TO_DEVICE`: the device only reads.
    ToDevice = 1,
    /// `DMA_FROM_DEVICE`: the device only writes.
    FromDevice = 2,
    /// `DMA_NONE`.
    None = 3,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Bidirectional => "DMA_BIDIRECTIONAL",
            Direction::ToDevice => "DMA_TO_DEVICE",
            Direction::FromDevice => "DMA_FROM_DEVICE",
            Direction::None => "DMA_NONE",
        })
    }
}

/// How a mapping was made (the kernel's entry type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `dma_map_single`.
    Single,
    /// `dma_map_page`.
    Page,
    /// `dma_map_sg` / `dma_map_sgtable`.
    Sg,
    /// `dma_alloc_coherent`.
    Coherent,
    /// `dma_map_resource`.
    Resource,
}

impl fmt::Display for MapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapKind::Single => "single",
            MapKind::Page => "page",
            MapKind::Sg => "scatter-gather",
            MapKind::Coherent => "coherent",
            MapKind::Resource => "resource",
        })
    }
}

/// A device, by name (`"qda-cb-cdsp-3"`, `"udmabuf"`, `"dma_heap/system"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceName(pub String);

impl DeviceName {
    /// A device name.
    pub fn new(name: impl Into<String>) -> Self {
        DeviceName(name.into())
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One mapping (or coherent allocation), as recorded by [`DmaDebug::map`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Device the mapping is for.
    pub dev: DeviceName,
    /// How it was made.
    pub kind: MapKind,
    /// DMA (device) address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Direction (`Bidirectional` for coherent allocations).
    pub dir: Direction,
    /// Scatterlist entries passed to the map call (compared for sg only).
    pub nents: u32,
    /// Owner (an open file) for leak reports on close.
    pub owner: Option<u64>,
    /// CPU address of a coherent allocation, if known.
    pub cpu_addr: Option<u64>,
}

impl Mapping {
    fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    /// Unmap/free of an address that is not mapped for the device.
    FreeNotAllocated,
    /// Unmapped with another size.
    WrongSize {
        /// Mapped size.
        mapped: u64,
        /// Unmapped size.
        unmapped: u64,
    },
    /// Unmapped with a function of another kind.
    WrongFunction {
        /// How it was mapped.
        mapped: MapKind,
        /// How it was unmapped.
        unmapped: MapKind,
    },
    /// Coherent free with another CPU address.
    WrongCpuAddress,
    /// Sg unmap with another entry count.
    WrongNents {
        /// At map.
        mapped: u32,
        /// At unmap.
        unmapped: u32,
    },
    /// Unmapped with another direction.
    WrongDirection {
        /// At map.
        mapped: Direction,
        /// At unmap.
        unmapped: Direction,
    },
    /// Sync of memory that is not mapped.
    SyncNotAllocated,
    /// Sync running past the end of the mapping it starts in.
    SyncOutOfRange,
    /// Sync with another direction than the (non-bidirectional) mapping.
    SyncWrongDirection {
        /// At map.
        mapped: Direction,
        /// At sync.
        synced: Direction,
    },
    /// Sync for the CPU of memory the device only reads (`DMA_TO_DEVICE`).
    SyncDeviceReadOnlyForCpu,
    /// Sync for the device of memory the device only writes (`DMA_FROM_DEVICE`).
    SyncDeviceWriteOnlyToDevice,
    /// A new mapping overlaps a live one of the same device.
    Overlap,
    /// An owner closed with mappings left.
    LeakOnClose {
        /// The owner.
        owner: u64,
        /// Mappings left.
        count: usize,
    },
    /// A device went away with mappings left.
    LeakOnRemove {
        /// Mappings left.
        count: usize,
    },
}

/// One report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What.
    pub kind: ReportKind,
    /// Device.
    pub dev: DeviceName,
    /// Address concerned (the caller's, or the leaked entry's for leaks).
    pub addr: u64,
    /// Size concerned (likewise).
    pub size: u64,
    /// The kernel-style message, `DMA-API: <dev>: ...`.
    pub message: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The live entries of one device.
#[derive(Debug, Default)]
struct DevTable {
    /// By DMA address; several entries may share one (the same memory
    /// mapped twice without an IOMMU).
    entries: BTreeMap<u64, Vec<Mapping>>,
    count: usize,
    /// No entry is larger: bounds the backward search for containing or
    /// overlapping entries.
    max_size: u64,
}

impl DevTable {
    /// Entries starting at or before `last` that could reach `addr` (the
    /// caller filters on their actual ends).
    fn reaching(&self, addr: u64, last: u64) -> impl Iterator<Item = &Mapping> {
        self.entries
            .range(addr.saturating_sub(self.max_size)..=last.max(addr))
            .flat_map(|(_, v)| v.iter())
    }
}

#[derive(Debug, Default)]
struct State {
    devices: HashMap<DeviceName, DevTable>,
    /// Live entries per owner.
    owners: HashMap<u64, usize>,
    reports: Vec<Report>,
    errors: usize,
}

impl State {
    fn report(&mut self, kind: ReportKind, dev: &DeviceName, addr: u64, size: u64, what: String) {
        self.errors += 1;
        self.reports.push(Report {
            kind,
            dev: dev.clone(),
            addr,
            size,
            message: format!("DMA-API: {dev}: {what}"),
        });
    }

    fn owner_dec(&mut self, owner: Option<u64>) {
        if let Some(o) = owner
            && let Some(n) = self.owners.get_mut(&o)
        {
            *n -= 1;
            if *n == 0 {
                self.owners.remove(&o);
            }
        }
    }
}

/// The scatterlist entry count the kernel records: only sg calls have one.
fn call_ents(kind: MapKind, nents: u32) -> u32 {
    if kind == MapKind::Sg { nents } else { 0 }
}

fn at(addr: u64, size: u64) -> String {
    format!("[device address=0x{addr:016x}] [size={size} bytes]")
}

/// The checker. Thread-safe (`Send + Sync`); share it in an `Arc`.
#[derive(Debug, Default)]
pub struct DmaDebug {
    state: Mutex<State>,
}

impl DmaDebug {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        qda_rt::lock(&self.state)
    }

    /// Record a mapping or coherent allocation. Reports [`ReportKind::Overlap`]
    /// when it overlaps a live entry of the same device, unless either is
    /// `DMA_TO_DEVICE` (the kernel does not track those). Recorded either way.
    pub fn map(&self, m: Mapping) {
        let mut s = self.lock();
        let table = s.devices.entry(m.dev.clone()).or_default();
        let clash = (m.dir != Direction::ToDevice && m.size > 0)
            .then(|| {
                table
                    .reaching(m.addr, m.end().saturating_sub(1))
                    .find(|e| e.dir != Direction::ToDevice && e.size > 0 && e.addr < m.end() && e.end() > m.addr)
                    .map(|e| (e.addr, e.size))
            })
            .flatten();
        table.max_size = table.max_size.max(m.size);
        table.count += 1;
        let (dev, addr, size, owner) = (m.dev.clone(), m.addr, m.size, m.owner);
        table.entries.entry(m.addr).or_default().push(m);
        if let Some(o) = owner {
            *s.owners.entry(o).or_default() += 1;
        }
        if let Some((oaddr, osize)) = clash {
            let what = format!(
                "cacheline tracking EEXIST, overlapping mappings aren't supported {} overlaps live mapping {}",
                at(addr, size),
                at(oaddr, osize)
            );
            s.report(ReportKind::Overlap, &dev, addr, size, what);
        }
    }

    /// Record an unmap (`dma_unmap_*`). Finds the entry by `(dev, addr)` and
    /// checks, in the kernel's order: not found, size, function (kind), sg
    /// entry count (sg unmaps with `nents != 0`), direction. The entry is
    /// forgotten even when a mismatch is reported.
    pub fn unmap(&self, dev: &DeviceName, kind: MapKind, addr: u64, size: u64, dir: Direction, nents: u32) {
        self.release(dev, kind, addr, size, dir, nents, None);
    }

    /// Record `dma_free_coherent`: as [`unmap`](Self::unmap) for a
    /// [`MapKind::Coherent`], `DMA_BIDIRECTIONAL` entry, plus the CPU-address
    /// check (made when both the allocation's and this CPU address are known).
    pub fn free_coherent(&self, dev: &DeviceName, addr: u64, size: u64, cpu_addr: Option<u64>) {
        self.release(
            dev,
            MapKind::Coherent,
            addr,
            size,
            Direction::Bidirectional,
            0,
            cpu_addr,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn release(
        &self,
        dev: &DeviceName,
        kind: MapKind,
        addr: u64,
        size: u64,
        dir: Direction,
        nents: u32,
        cpu: Option<u64>,
    ) {
        let mut s = self.lock();
        let Some(e) = Self::take_entry(&mut s, dev, kind, addr, size, dir, nents) else {
            let what = format!(
                "device driver tries to free DMA memory it has not allocated {}",
                at(addr, size)
            );
            s.report(ReportKind::FreeNotAllocated, dev, addr, size, what);
            return;
        };
        s.owner_dec(e.owner);
        if e.size != size {
            let what = format!(
                "device driver frees DMA memory with different size [device address=0x{addr:016x}] [map size={} bytes] [unmap size={size} bytes]",
                e.size
            );
            let kind = ReportKind::WrongSize {
                mapped: e.size,
                unmapped: size,
            };
            s.report(kind, dev, addr, size, what);
        }
        if e.kind != kind {
            let what = format!(
                "device driver frees DMA memory with wrong function {} [mapped as {}] [unmapped as {kind}]",
                at(addr, size),
                e.kind
            );
            let kind = ReportKind::WrongFunction {
                mapped: e.kind,
                unmapped: kind,
            };
            s.report(kind, dev, addr, size, what);
        } else if kind == MapKind::Coherent
            && let (Some(mapped), Some(freed)) = (e.cpu_addr, cpu)
            && mapped != freed
        {
            let what = format!(
                "device driver frees DMA memory with different CPU address {} [cpu alloc address=0x{mapped:016x}] [cpu free address=0x{freed:016x}]",
                at(addr, size)
            );
            s.report(ReportKind::WrongCpuAddress, dev, addr, size, what);
        }
        let mapped_ents = call_ents(e.kind, e.nents);
        if kind == MapKind::Sg && nents != 0 && mapped_ents != nents {
            let what = format!(
                "device driver frees DMA sg list with different entry count [map count={mapped_ents}] [unmap count={nents}]"
            );
            let kind = ReportKind::WrongNents {
                mapped: mapped_ents,
                unmapped: nents,
            };
            s.report(kind, dev, addr, size, what);
        }
        if e.dir != dir {
            let what = format!(
                "device driver frees DMA memory with different direction {} [mapped with {}] [unmapped with {dir}]",
                at(addr, size),
                e.dir
            );
            let kind = ReportKind::WrongDirection {
                mapped: e.dir,
                unmapped: dir,
            };
            s.report(kind, dev, addr, size, what);
        }
    }

    /// Remove and return the entry an unmap refers to, choosing among entries
    /// at the same address as the kernel does: a perfect fit (size, kind,
    /// direction, sg count) wins; otherwise a sole candidate is taken;
    /// several candidates and no perfect fit count as not found.
    fn take_entry(
        s: &mut State,
        dev: &DeviceName,
        kind: MapKind,
        addr: u64,
        size: u64,
        dir: Direction,
        nents: u32,
    ) -> Option<Mapping> {
        let table = s.devices.get_mut(dev)?;
        let list = table.entries.get_mut(&addr)?;
        let perfect = |e: &Mapping| {
            e.size == size && e.kind == kind && e.dir == dir && call_ents(e.kind, e.nents) == call_ents(kind, nents)
        };
        let i = match list.iter().position(perfect) {
            Some(i) => i,
            None if list.len() == 1 => 0,
            None => return None,
        };
        let e = list.remove(i);
        if list.is_empty() {
            table.entries.remove(&addr);
        }
        table.count -= 1;
        if table.count == 0 {
            s.devices.remove(dev);
        }
        Some(e)
    }

    /// Record a sync of `[addr, addr + size)`: `for_cpu` is
    /// `dma_sync_*_for_cpu`, else `dma_sync_*_for_device`.
    ///
    /// The entry is the device's live entry containing `addr` (preferring one
    /// that covers the whole range with a compatible direction). None →
    /// [`ReportKind::SyncNotAllocated`]; running past its end →
    /// [`ReportKind::SyncOutOfRange`]. For a non-bidirectional entry: another
    /// direction → [`ReportKind::SyncWrongDirection`]; for the CPU, unless
    /// the entry is `FROM_DEVICE` or the sync `TO_DEVICE` →
    /// [`ReportKind::SyncDeviceReadOnlyForCpu`]; for the device, unless the
    /// entry is `TO_DEVICE` or the sync `FROM_DEVICE` →
    /// [`ReportKind::SyncDeviceWriteOnlyToDevice`].
    pub fn sync(&self, dev: &DeviceName, addr: u64, size: u64, dir: Direction, for_cpu: bool) {
        let mut s = self.lock();
        let end = addr.saturating_add(size);
        let found = s.devices.get(dev).and_then(|t| {
            t.reaching(addr, addr)
                .filter(|e| e.addr <= addr && addr < e.end())
                .max_by_key(|e| {
                    let covers = end <= e.end();
                    let dir_ok = e.dir == Direction::Bidirectional || e.dir == dir;
                    (covers, dir_ok)
                })
                .map(|e| (e.addr, e.size, e.dir))
        });
        let Some((e_addr, e_size, e_dir)) = found else {
            let what = format!(
                "device driver tries to sync DMA memory it has not allocated {}",
                at(addr, size)
            );
            s.report(ReportKind::SyncNotAllocated, dev, addr, size, what);
            return;
        };
        if end > e_addr.saturating_add(e_size) {
            let what = format!(
                "device driver syncs DMA memory outside allocated range [device address=0x{e_addr:016x}] [allocation size={e_size} bytes] [sync offset+size={}]",
                (addr - e_addr).saturating_add(size)
            );
            s.report(ReportKind::SyncOutOfRange, dev, addr, size, what);
        }
        if e_dir == Direction::Bidirectional {
            return;
        }
        let dirs = format!("{} [mapped with {e_dir}] [synced with {dir}]", at(addr, e_size));
        if dir != e_dir {
            let what = format!("device driver syncs DMA memory with different direction {dirs}");
            let kind = ReportKind::SyncWrongDirection {
                mapped: e_dir,
                synced: dir,
            };
            s.report(kind, dev, addr, size, what);
        }
        if for_cpu && e_dir != Direction::FromDevice && dir != Direction::ToDevice {
            let what = format!("device driver syncs device read-only DMA memory for cpu {dirs}");
            s.report(ReportKind::SyncDeviceReadOnlyForCpu, dev, addr, size, what);
        }
        if !for_cpu && e_dir != Direction::ToDevice && dir != Direction::FromDevice {
            let what = format!("device driver syncs device write-only DMA memory to device {dirs}");
            s.report(ReportKind::SyncDeviceWriteOnlyToDevice, dev, addr, size, what);
        }
    }

    /// An owner (open file) closed: if it still owns live entries, one
    /// [`ReportKind::LeakOnClose`] with their count (the details name the
    /// lowest `(device, address)` one). The entries stay recorded: they are
    /// still leaked, and a later unmap of them is still checked.
    pub fn owner_closed(&self, owner: u64) {
        let mut s = self.lock();
        let Some(&count) = s.owners.get(&owner) else {
            return;
        };
        let first = s
            .devices
            .values()
            .flat_map(|t| t.entries.values().flatten())
            .filter(|m| m.owner == Some(owner))
            .min_by(|a, b| (&a.dev, a.addr).cmp(&(&b.dev, b.addr)))
            .cloned();
        let Some(m) = first else {
            return;
        };
        let what = format!(
            "file (owner {owner}) released with pending DMA mappings [count={count}] One of leaked entries details: {} [mapped with {}] [mapped as {}]",
            at(m.addr, m.size),
            m.dir,
            m.kind
        );
        s.report(ReportKind::LeakOnClose { owner, count }, &m.dev, m.addr, m.size, what);
    }

    /// A device went away (driver unbind): if it has live entries, one
    /// [`ReportKind::LeakOnRemove`] with their count (the details name the
    /// lowest-address one); then its entries are forgotten.
    pub fn device_removed(&self, dev: &DeviceName) {
        let mut s = self.lock();
        let Some(table) = s.devices.remove(dev) else {
            return;
        };
        for m in table.entries.values().flatten() {
            s.owner_dec(m.owner);
        }
        let Some(m) = table.entries.values().flatten().next() else {
            return;
        };
        let what = format!(
            "device driver has pending DMA allocations while released from device [count={}] One of leaked entries details: {} [mapped with {}] [mapped as {}]",
            table.count,
            at(m.addr, m.size),
            m.dir,
            m.kind
        );
        s.report(
            ReportKind::LeakOnRemove { count: table.count },
            dev,
            m.addr,
            m.size,
            what,
        );
    }

    /// Live entries, all devices.
    pub fn live(&self) -> usize {
        self.lock().devices.values().map(|t| t.count).sum()
    }

    /// Live entries of one device.
    pub fn live_for(&self, dev: &DeviceName) -> usize {
        self.lock().devices.get(dev).map_or(0, |t| t.count)
    }

    /// Live entries of one owner.
    pub fn live_for_owner(&self, owner: u64) -> usize {
        self.lock().owners.get(&owner).copied().unwrap_or(0)
    }

    /// Every report not yet taken, oldest first.
    pub fn reports(&self) -> Vec<Report> {
        self.lock().reports.clone()
    }

    /// Take the reports; [`error_count`](Self::error_count) keeps counting.
    pub fn take_reports(&self) -> Vec<Report> {
        std::mem::take(&mut self.lock().reports)
    }

    /// Errors ever reported (debugfs `dma-api/error_count`); not reset by
    /// [`take_reports`](Self::take_reports).
    pub fn error_count(&self) -> usize {
        self.lock().errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const OWNER: u64 = 7;

    fn dev() -> DeviceName {
        DeviceName::new("qda-cb-cdsp-3")
    }

    fn m(addr: u64, size: u64, kind: MapKind, dir: Direction) -> Mapping {
        Mapping {
            dev: dev(),
            kind,
            addr,
            size,
            dir,
            nents: 2,
            owner: Some(OWNER),
            cpu_addr: (kind == MapKind::Coherent).then_some(0xffff_8000_0000_0000 | addr),
        }
    }

    fn sg(addr: u64, size: u64, dir: Direction) -> Mapping {
        m(addr, size, MapKind::Sg, dir)
    }

    /// The kinds of the reports made since the last take, in order.
    fn kinds(d: &DmaDebug) -> Vec<ReportKind> {
        d.take_reports().into_iter().map(|r| r.kind).collect()
    }

    /// Exactly one report; returned whole.
    fn one(d: &DmaDebug) -> Report {
        let mut r = d.take_reports();
        assert_eq!(r.len(), 1, "{r:#?}");
        r.remove(0)
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<DmaDebug>();
    }

    #[test]
    fn displays() {
        let dirs = [
            Direction::Bidirectional,
            Direction::ToDevice,
            Direction::FromDevice,
            Direction::None,
        ];
        let names: Vec<_> = dirs.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            names,
            ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE"]
        );
        assert_eq!(dirs.map(|d| d as u8), [0, 1, 2, 3]);
        let kinds = [
            MapKind::Single,
            MapKind::Page,
            MapKind::Sg,
            MapKind::Coherent,
            MapKind::Resource,
        ];
        let names: Vec<_> = kinds.iter().map(|k| k.to_string()).collect();
        assert_eq!(names, ["single", "page", "scatter-gather", "coherent", "resource"]);
        assert_eq!(DeviceName::new("udmabuf").to_string(), "udmabuf");
    }

    #[test]
    fn clean_sequence_reports_nothing() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 8192, Direction::Bidirectional));
        d.map(m(0x10_0000, 4096, MapKind::Coherent, Direction::Bidirectional));
        d.map(m(0x20_0000, 4096, MapKind::Single, Direction::ToDevice));
        d.map(m(0x30_0000, 4096, MapKind::Page, Direction::FromDevice));
        d.sync(&dev(), 0x1000, 4096, Direction::FromDevice, true);
        d.sync(&dev(), 0x2000, 4096, Direction::ToDevice, false);
        d.sync(&dev(), 0x1000, 8192, Direction::Bidirectional, true);
        d.sync(&dev(), 0x20_0000, 4096, Direction::ToDevice, false);
        d.sync(&dev(), 0x20_0000, 4096, Direction::ToDevice, true);
        d.sync(&dev(), 0x30_0800, 16, Direction::FromDevice, true);
        d.sync(&dev(), 0x30_0000, 4096, Direction::FromDevice, false);
        assert_eq!(d.live(), 4);
        assert_eq!(d.live_for(&dev()), 4);
        assert_eq!(d.live_for_owner(OWNER), 4);
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::Bidirectional, 2);
        d.free_coherent(&dev(), 0x10_0000, 4096, Some(0xffff_8000_0010_0000));
        d.unmap(&dev(), MapKind::Single, 0x20_0000, 4096, Direction::ToDevice, 0);
        d.unmap(&dev(), MapKind::Page, 0x30_0000, 4096, Direction::FromDevice, 0);
        d.owner_closed(OWNER);
        d.device_removed(&dev());
        assert_eq!(d.reports(), []);
        assert_eq!(d.error_count(), 0);
        assert_eq!((d.live(), d.live_for(&dev()), d.live_for_owner(OWNER)), (0, 0, 0));
    }

    #[test]
    fn free_not_allocated() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x5000, 4096, Direction::ToDevice, 1);
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::FreeNotAllocated);
        assert_eq!((r.dev.clone(), r.addr, r.size), (dev(), 0x5000, 4096));
        assert_eq!(
            r.message,
            "DMA-API: qda-cb-cdsp-3: device driver tries to free DMA memory it has not allocated \
             [device address=0x0000000000005000] [size=4096 bytes]"
        );
        // Another device's entry at the same address does not count.
        d.unmap(
            &DeviceName::new("other"),
            MapKind::Sg,
            0x1000,
            4096,
            Direction::Bidirectional,
            2,
        );
        assert_eq!(one(&d).kind, ReportKind::FreeNotAllocated);
        // Nor does a second unmap of the same entry.
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 2);
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 2);
        assert_eq!(kinds(&d), [ReportKind::FreeNotAllocated]);
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn wrong_size() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::Bidirectional, 2);
        let r = one(&d);
        assert_eq!(
            r.kind,
            ReportKind::WrongSize {
                mapped: 4096,
                unmapped: 8192
            }
        );
        assert!(
            r.message.ends_with(
                "frees DMA memory with different size [device address=0x0000000000001000] \
                 [map size=4096 bytes] [unmap size=8192 bytes]"
            ),
            "{}",
            r.message
        );
        assert_eq!(d.live(), 0, "forgotten despite the mismatch");
    }

    #[test]
    fn wrong_function() {
        let d = DmaDebug::new();
        d.map(m(0x1000, 4096, MapKind::Single, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Page, 0x1000, 4096, Direction::Bidirectional, 0);
        let r = one(&d);
        assert_eq!(
            r.kind,
            ReportKind::WrongFunction {
                mapped: MapKind::Single,
                unmapped: MapKind::Page
            }
        );
        assert!(
            r.message.contains("frees DMA memory with wrong function")
                && r.message.contains("[mapped as single] [unmapped as page]"),
            "{}",
            r.message
        );
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn wrong_cpu_address() {
        let d = DmaDebug::new();
        d.map(m(0x1000, 4096, MapKind::Coherent, Direction::Bidirectional));
        d.free_coherent(&dev(), 0x1000, 4096, Some(0x1234_0000));
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::WrongCpuAddress);
        assert!(
            r.message.contains("frees DMA memory with different CPU address")
                && r.message.contains("[cpu free address=0x0000000012340000]"),
            "{}",
            r.message
        );
        // An unknown CPU address on either side is not checked.
        d.map(m(0x1000, 4096, MapKind::Coherent, Direction::Bidirectional));
        d.free_coherent(&dev(), 0x1000, 4096, None);
        assert_eq!(d.reports(), []);
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn wrong_nents() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 3);
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::WrongNents { mapped: 2, unmapped: 3 });
        assert!(
            r.message
                .ends_with("frees DMA sg list with different entry count [map count=2] [unmap count=3]"),
            "{}",
            r.message
        );
        // Entry counts are compared for sg only.
        d.map(m(0x1000, 4096, MapKind::Single, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Single, 0x1000, 4096, Direction::Bidirectional, 9);
        assert_eq!(d.reports(), []);
    }

    #[test]
    fn wrong_direction() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::FromDevice));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 2);
        let r = one(&d);
        assert_eq!(
            r.kind,
            ReportKind::WrongDirection {
                mapped: Direction::FromDevice,
                unmapped: Direction::ToDevice
            }
        );
        assert_eq!(d.live(), 0);
    }

    /// Several mismatches at once are all reported, in the kernel's order.
    #[test]
    fn unmap_checks_in_kernel_order() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::ToDevice));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::FromDevice, 5);
        assert_eq!(
            kinds(&d),
            [
                ReportKind::WrongSize {
                    mapped: 4096,
                    unmapped: 8192
                },
                ReportKind::WrongNents { mapped: 2, unmapped: 5 },
                ReportKind::WrongDirection {
                    mapped: Direction::ToDevice,
                    unmapped: Direction::FromDevice
                },
            ]
        );
        // Wrong function: no CPU-address check (kernel's `else if`), but an sg
        // unmap of a non-sg entry has a count mismatch (the entry has none).
        d.map(m(0x1000, 4096, MapKind::Coherent, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 1);
        assert_eq!(
            kinds(&d),
            [
                ReportKind::WrongFunction {
                    mapped: MapKind::Coherent,
                    unmapped: MapKind::Sg
                },
                ReportKind::WrongNents { mapped: 0, unmapped: 1 },
            ]
        );
        assert_eq!(d.error_count(), 5);
        assert_eq!(d.live(), 0);
    }

    /// The udmabuf release regression fixed by "udmabuf: fix DMA direction
    /// mismatch in release_udmabuf()" (March 2026;
    /// `drivers/dma-buf/udmabuf.c: begin_cpu_udmabuf()`/`release_udmabuf()`):
    /// a write-only begin_cpu_access maps the cached table `DMA_TO_DEVICE`;
    /// the fixed release unmaps with the same direction, the old one
    /// `BIDIRECTIONAL`.
    #[test]
    fn udmabuf_release_direction_regression() {
        let d = DmaDebug::new();
        let u = DeviceName::new("udmabuf");
        let begin_write = |d: &DmaDebug| {
            d.map(Mapping {
                dev: u.clone(),
                kind: MapKind::Sg,
                addr: 0x1000,
                size: 4096,
                dir: Direction::ToDevice,
                nents: 1,
                owner: None,
                cpu_addr: None,
            })
        };
        begin_write(&d);
        d.sync(&u, 0x1000, 4096, Direction::ToDevice, false); // end_cpu_access(WRITE)
        d.unmap(&u, MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 1); // fixed release
        assert_eq!(d.reports(), []);
        assert_eq!(d.live(), 0);

        begin_write(&d);
        d.unmap(&u, MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 1); // pre-fix release
        let r = one(&d);
        assert_eq!(
            r.kind,
            ReportKind::WrongDirection {
                mapped: Direction::ToDevice,
                unmapped: Direction::Bidirectional
            }
        );
        assert!(r.message.contains("different direction"), "{}", r.message);
        assert_eq!(
            r.message,
            "DMA-API: udmabuf: device driver frees DMA memory with different direction \
             [device address=0x0000000000001000] [size=4096 bytes] \
             [mapped with DMA_TO_DEVICE] [unmapped with DMA_BIDIRECTIONAL]"
        );
        assert_eq!((r.dev, r.addr, r.size), (u, 0x1000, 4096));
        assert_eq!(d.error_count(), 1);
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn sync_not_allocated() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        for addr in [0x0fff, 0x2000, 0x9000] {
            d.sync(&dev(), addr, 16, Direction::Bidirectional, true);
            let r = one(&d);
            assert_eq!(r.kind, ReportKind::SyncNotAllocated, "0x{addr:x}");
            assert!(r.message.contains("tries to sync DMA memory it has not allocated"));
        }
        d.sync(&DeviceName::new("other"), 0x1000, 16, Direction::Bidirectional, true);
        assert_eq!(one(&d).kind, ReportKind::SyncNotAllocated);
    }

    #[test]
    fn sync_out_of_range() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        d.sync(&dev(), 0x1800, 4096, Direction::Bidirectional, false);
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::SyncOutOfRange);
        assert!(
            r.message.ends_with(
                "syncs DMA memory outside allocated range [device address=0x0000000000001000] \
                 [allocation size=4096 bytes] [sync offset+size=6144]"
            ),
            "{}",
            r.message
        );
        d.sync(&dev(), 0x1800, 2048, Direction::Bidirectional, false);
        assert_eq!(d.reports(), [], "exactly to the end is inside");
    }

    #[test]
    fn sync_wrong_direction() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::ToDevice));
        // For the device, TO_DEVICE memory synced FROM_DEVICE: only the
        // direction differs (the device may read it).
        d.sync(&dev(), 0x1000, 16, Direction::FromDevice, false);
        let r = one(&d);
        assert_eq!(
            r.kind,
            ReportKind::SyncWrongDirection {
                mapped: Direction::ToDevice,
                synced: Direction::FromDevice
            }
        );
        assert!(r.message.contains("syncs DMA memory with different direction"));
        assert!(
            r.message
                .contains("[mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]")
        );
        // Bidirectional mappings skip the direction checks.
        d.map(sg(0x8000, 4096, Direction::Bidirectional));
        d.sync(&dev(), 0x8000, 16, Direction::ToDevice, true);
        d.sync(&dev(), 0x8000, 16, Direction::FromDevice, false);
        assert_eq!(d.reports(), []);
    }

    /// The kernel's read-only check fires only with a non-bidirectional entry
    /// synced in another direction, so the direction report comes with it.
    #[test]
    fn sync_device_read_only_for_cpu() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::ToDevice));
        d.sync(&dev(), 0x1000, 16, Direction::FromDevice, true);
        let r = d.take_reports();
        assert_eq!(
            r.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
            [
                ReportKind::SyncWrongDirection {
                    mapped: Direction::ToDevice,
                    synced: Direction::FromDevice
                },
                ReportKind::SyncDeviceReadOnlyForCpu,
            ]
        );
        assert!(
            r[1].message.contains("syncs device read-only DMA memory for cpu"),
            "{}",
            r[1].message
        );
        // Syncing it for the CPU with its own direction is fine.
        d.sync(&dev(), 0x1000, 16, Direction::ToDevice, true);
        assert_eq!(d.reports(), []);
    }

    #[test]
    fn sync_device_write_only_to_device() {
        let d = DmaDebug::new();
        d.map(sg(0x3000, 4096, Direction::FromDevice));
        d.sync(&dev(), 0x3000, 16, Direction::Bidirectional, false);
        let r = d.take_reports();
        assert_eq!(
            r.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
            [
                ReportKind::SyncWrongDirection {
                    mapped: Direction::FromDevice,
                    synced: Direction::Bidirectional
                },
                ReportKind::SyncDeviceWriteOnlyToDevice,
            ]
        );
        assert!(
            r[1].message.contains("syncs device write-only DMA memory to device"),
            "{}",
            r[1].message
        );
        d.sync(&dev(), 0x3000, 16, Direction::FromDevice, false);
        d.sync(&dev(), 0x3000, 16, Direction::FromDevice, true);
        assert_eq!(d.reports(), []);
    }

    /// Sync finds the containing entry even with other entries in between,
    /// and prefers the one covering the range.
    #[test]
    fn sync_finds_the_containing_entry() {
        let d = DmaDebug::new();
        d.map(sg(0x10_0000, 0x10_0000, Direction::ToDevice)); // 1 MiB
        d.map(sg(0x10_1000, 0x1000, Direction::ToDevice)); // inside it
        d.map(sg(0x18_0000, 0x1000, Direction::ToDevice));
        d.sync(&dev(), 0x1f_f000, 0x1000, Direction::ToDevice, false);
        d.sync(&dev(), 0x10_1800, 0x2000, Direction::ToDevice, false);
        assert_eq!(d.reports(), []);
        d.sync(&dev(), 0x1f_f000, 0x2000, Direction::ToDevice, false);
        assert_eq!(one(&d).kind, ReportKind::SyncOutOfRange);
    }

    #[test]
    fn overlap() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 8192, Direction::Bidirectional));
        d.map(sg(0x2000, 4096, Direction::FromDevice));
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::Overlap);
        assert_eq!((r.addr, r.size), (0x2000, 4096));
        assert!(
            r.message
                .contains("cacheline tracking EEXIST, overlapping mappings aren't supported"),
            "{}",
            r.message
        );
        assert_eq!(d.live(), 2, "recorded anyway");
        // A live TO_DEVICE entry is not tracked: mapping over it is quiet,
        // as is a new TO_DEVICE mapping over a tracked one.
        d.map(sg(0x40_0000, 4096, Direction::ToDevice));
        d.map(sg(0x40_0000, 4096, Direction::Bidirectional));
        d.map(sg(0x1000, 4096, Direction::ToDevice));
        assert_eq!(d.reports(), []);
        assert_eq!(d.live(), 5);
    }

    #[test]
    fn overlap_rules() {
        let d = DmaDebug::new();
        let other = DeviceName::new("qda-cb-cdsp-4");
        d.map(sg(0x10_0000, 0x10_0000, Direction::Bidirectional)); // long entry
        d.map(sg(0x20_0000, 0x1000, Direction::Bidirectional)); // adjacent
        d.map(sg(0x0f_f000, 0x1000, Direction::Bidirectional)); // adjacent below
        d.map(sg(0x15_0000, 0x1000, Direction::ToDevice)); // TO_DEVICE: untracked
        d.map(Mapping {
            dev: other.clone(),
            ..sg(0x15_0000, 0x1000, Direction::Bidirectional)
        }); // other device
        d.map(sg(0x30_0000, 0, Direction::Bidirectional)); // empty
        assert_eq!(d.reports(), []);
        // An entry after the TO_DEVICE one is still inside the long entry.
        d.map(sg(0x16_0000, 0x1000, Direction::FromDevice));
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::Overlap);
        assert!(
            r.message
                .contains("overlaps live mapping [device address=0x0000000000100000] [size=1048576 bytes]"),
            "{}",
            r.message
        );
        assert_eq!(d.live(), 7);
        assert_eq!(d.live_for(&other), 1);
    }

    /// The same address mapped twice (same memory, no IOMMU): both entries
    /// live, the unmap picks the perfect fit, as the kernel's best fit does.
    #[test]
    fn duplicate_addresses_best_fit() {
        let d = DmaDebug::new();
        d.map(sg(0x1000, 4096, Direction::ToDevice));
        d.map(sg(0x1000, 8192, Direction::ToDevice));
        assert_eq!(d.live(), 2);
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::ToDevice, 2);
        assert_eq!(d.reports(), []);
        d.map(sg(0x1000, 16384, Direction::ToDevice));
        // Two candidates, neither a perfect fit: not found, both kept.
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::FromDevice, 2);
        assert_eq!(kinds(&d), [ReportKind::FreeNotAllocated]);
        assert_eq!(d.live(), 2);
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 2);
        // One candidate left: taken, mismatch reported.
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 2);
        assert_eq!(
            kinds(&d),
            [ReportKind::WrongSize {
                mapped: 16384,
                unmapped: 4096
            }]
        );
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn leak_on_close() {
        let d = DmaDebug::new();
        let other = DeviceName::new("dma_heap/system");
        d.map(sg(0x1000, 4096, Direction::Bidirectional));
        d.map(sg(0x3000, 4096, Direction::Bidirectional));
        d.map(Mapping {
            dev: other.clone(),
            ..sg(0x1000, 4096, Direction::ToDevice)
        });
        d.map(Mapping {
            owner: Some(8),
            ..sg(0x9000, 4096, Direction::Bidirectional)
        });
        d.map(Mapping {
            owner: None,
            ..sg(0xa000, 4096, Direction::Bidirectional)
        });
        assert_eq!(
            (d.live_for_owner(OWNER), d.live_for_owner(8), d.live_for_owner(9)),
            (3, 1, 0)
        );
        d.unmap(&dev(), MapKind::Sg, 0x3000, 4096, Direction::Bidirectional, 2);
        assert_eq!(d.live_for_owner(OWNER), 2);
        d.owner_closed(9);
        assert_eq!(d.reports(), [], "nothing owned, nothing reported");
        d.owner_closed(OWNER);
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::LeakOnClose { owner: OWNER, count: 2 });
        assert_eq!(
            (r.dev.clone(), r.addr),
            (other.clone(), 0x1000),
            "lowest (device, address)"
        );
        assert!(
            r.message.contains("released with pending DMA mappings [count=2]"),
            "{}",
            r.message
        );
        assert_eq!(d.live(), 4, "leaked entries stay recorded");
        assert_eq!(d.live_for_owner(OWNER), 2);
        // Cleaning up later is checked as usual and clears the owner.
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 2);
        d.unmap(&other, MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 2);
        d.owner_closed(OWNER);
        assert_eq!(d.reports(), []);
        assert_eq!(d.live_for_owner(OWNER), 0);
        d.owner_closed(8);
        assert_eq!(one(&d).kind, ReportKind::LeakOnClose { owner: 8, count: 1 });
    }

    #[test]
    fn leak_on_remove_forgets_the_device() {
        let d = DmaDebug::new();
        let other = DeviceName::new("udmabuf");
        d.map(sg(0x5000, 4096, Direction::FromDevice));
        d.map(m(0x2000, 8192, MapKind::Coherent, Direction::Bidirectional));
        d.map(sg(0x9000, 4096, Direction::Bidirectional));
        d.map(Mapping {
            dev: other.clone(),
            owner: None,
            ..sg(0x5000, 4096, Direction::ToDevice)
        });
        d.device_removed(&dev());
        let r = one(&d);
        assert_eq!(r.kind, ReportKind::LeakOnRemove { count: 3 });
        assert_eq!((r.dev.clone(), r.addr, r.size), (dev(), 0x2000, 8192), "lowest address");
        assert_eq!(
            r.message,
            "DMA-API: qda-cb-cdsp-3: device driver has pending DMA allocations while released from device \
             [count=3] One of leaked entries details: [device address=0x0000000000002000] [size=8192 bytes] \
             [mapped with DMA_BIDIRECTIONAL] [mapped as coherent]"
        );
        assert_eq!((d.live_for(&dev()), d.live_for(&other), d.live()), (0, 1, 1));
        assert_eq!(d.live_for_owner(OWNER), 0, "forgotten entries leave their owner");
        // Forgotten: unmapping now is "not allocated"; removing again is quiet.
        d.unmap(&dev(), MapKind::Sg, 0x5000, 4096, Direction::FromDevice, 2);
        assert_eq!(one(&d).kind, ReportKind::FreeNotAllocated);
        d.device_removed(&dev());
        d.owner_closed(OWNER);
        assert_eq!(d.reports(), []);
        // A device whose mappings were all undone leaves quietly.
        d.unmap(&other, MapKind::Sg, 0x5000, 4096, Direction::ToDevice, 2);
        d.device_removed(&other);
        assert_eq!(d.reports(), []);
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn error_count_survives_take() {
        let d = DmaDebug::new();
        d.unmap(&dev(), MapKind::Sg, 0x1000, 1, Direction::Bidirectional, 1);
        d.sync(&dev(), 0x1000, 1, Direction::Bidirectional, true);
        assert_eq!(d.reports().len(), 2);
        assert_eq!(d.reports().len(), 2, "reports() does not take");
        assert_eq!(d.take_reports().len(), 2);
        assert_eq!(d.reports(), []);
        assert_eq!(d.error_count(), 2);
        d.free_coherent(&dev(), 0, 1, None);
        assert_eq!(d.error_count(), 3);
        assert_eq!(format!("{}", d.reports()[0]), d.reports()[0].message);
    }

    #[test]
    fn extreme_addresses_do_not_panic() {
        let d = DmaDebug::new();
        d.map(sg(u64::MAX - 10, u64::MAX, Direction::Bidirectional));
        d.map(sg(u64::MAX, 1, Direction::Bidirectional));
        d.map(sg(0, u64::MAX, Direction::Bidirectional));
        d.sync(&dev(), u64::MAX, u64::MAX, Direction::FromDevice, false);
        d.sync(&dev(), u64::MAX - 1, 2, Direction::None, true);
        d.unmap(&dev(), MapKind::Sg, u64::MAX, u64::MAX, Direction::None, u32::MAX);
        d.unmap(&dev(), MapKind::Sg, 0, 0, Direction::None, 0);
        d.unmap(
            &dev(),
            MapKind::Sg,
            u64::MAX - 10,
            u64::MAX,
            Direction::Bidirectional,
            2,
        );
        assert_eq!(d.live(), 0);
        assert!(d.error_count() > 0);
    }

    #[test]
    fn concurrent_map_unmap_pairs() {
        let d = Arc::new(DmaDebug::new());
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let d = d.clone();
                std::thread::spawn(move || {
                    let dev = DeviceName::new(format!("qda-cb-cdsp-{}", t % 3));
                    for i in 0..1000u64 {
                        let addr = (t << 32) | (i << 12);
                        d.map(Mapping {
                            dev: dev.clone(),
                            owner: Some(t),
                            ..sg(addr, 4096, Direction::Bidirectional)
                        });
                        d.sync(&dev, addr, 4096, Direction::FromDevice, true);
                        d.unmap(&dev, MapKind::Sg, addr, 4096, Direction::Bidirectional, 2);
                    }
                    d.owner_closed(t);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(d.reports(), []);
        assert_eq!(d.error_count(), 0);
        assert_eq!(d.live(), 0);
    }
}

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

/// One mapping (or coherent allocation), as recorded by [`DmaDebug::map`]
/// (the kernel's `struct dma_debug_entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaEntry {
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

impl DmaEntry {
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
    entries: BTreeMap<u64, Vec<DmaEntry>>,
    count: usize,
    /// No entry is larger: bounds the backward search for containing or
    /// overlapping entries.
    max_size: u64,
}

impl DevTable {
    /// Entries starting at or before `last` that could reach `addr` (the
    /// caller filters on their actual ends).
    fn reaching(&self, addr: u64, last: u64) -> impl Iterator<Item = &DmaEntry> {
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
    pub fn map(&self, m: DmaEntry) {
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
    ) -> Option<DmaEntry> {
        let table = s.devices.get_mut(dev)?;
        let list = table.entries.get_mut(&addr)?;
        let perfect = |e: &DmaEntry| {
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
mod tests;

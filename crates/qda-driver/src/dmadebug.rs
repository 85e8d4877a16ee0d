//! A DMA-API debug checker, modelled on `CONFIG_DMA_API_DEBUG`.
//!
//! Every DMA map, unmap, coherent allocation and sync the emulated drivers do
//! goes through it. It reports what `kernel/dma/debug.c` reports (an unmap of
//! something never mapped, a size, function, entry-count or direction
//! mismatch, syncs outside a mapping or against its direction, overlapping
//! mappings) and, beyond the kernel, leaks when an owner (an open file)
//! closes while its mappings remain. Reports are kept, counted, and worded
//! like the kernel's messages; tests assert there are none.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

/// `enum dma_data_direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// `DMA_BIDIRECTIONAL`.
    Bidirectional = 0,
    /// `DMA_TO_DEVICE`.
    ToDevice = 1,
    /// `DMA_FROM_DEVICE`.
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

/// A device, by name (`"qda-cb-cdsp-3"`, `"udmabuf"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceName(pub String);

/// One live mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Device.
    pub dev: DeviceName,
    /// Kind.
    pub kind: MapKind,
    /// DMA address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Direction.
    pub dir: Direction,
    /// Scatterlist entries passed (sg only).
    pub nents: u32,
    /// Owner (an open file) for leak reports on close.
    pub owner: Option<u64>,
    /// CPU address of a coherent allocation.
    pub cpu_addr: Option<u64>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    /// Unmap/free of an address that is not mapped.
    FreeNotAllocated,
    /// Unmap size differs.
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
    /// Sync past the end of the mapping.
    SyncOutOfRange,
    /// Sync with another direction.
    SyncWrongDirection {
        /// At map.
        mapped: Direction,
        /// At sync.
        synced: Direction,
    },
    /// Sync for the CPU of memory mapped `DMA_TO_DEVICE`.
    SyncDeviceReadOnlyForCpu,
    /// Sync for the device of memory mapped `DMA_FROM_DEVICE`.
    SyncDeviceWriteOnlyToDevice,
    /// A new mapping overlaps a live one on the same device.
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
    /// Address concerned.
    pub addr: u64,
    /// Size concerned.
    pub size: u64,
    /// The kernel-style message.
    pub message: String,
}

#[derive(Debug, Default)]
struct State {
    devices: HashMap<DeviceName, BTreeMap<u64, Mapping>>,
    reports: Vec<Report>,
    errors: usize,
}

impl State {
    fn report(&mut self, kind: ReportKind, dev: &DeviceName, addr: u64, size: u64, what: String) {
        let message = format!("DMA-API: {}: {what}", dev.0);
        self.errors += 1;
        self.reports.push(Report {
            kind,
            dev: dev.clone(),
            addr,
            size,
            message,
        });
    }
}

/// The checker. Thread-safe.
#[derive(Debug, Default)]
pub struct DmaDebug {
    state: Mutex<State>,
}

fn at(addr: u64, size: u64) -> String {
    format!("[device address=0x{addr:016x}] [size={size} bytes]")
}

impl DmaDebug {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record a mapping (or coherent allocation).
    pub fn map(&self, m: Mapping) {
        let mut s = self.lock();
        let end = m.addr.saturating_add(m.size);
        let overlap = m.dir != Direction::ToDevice
            && s.devices.get(&m.dev).is_some_and(|t| {
                t.range(..end)
                    .next_back()
                    .is_some_and(|(_, o)| o.addr.saturating_add(o.size) > m.addr && o.dir != Direction::ToDevice)
            });
        if overlap {
            let what = format!(
                "cacheline tracking EEXIST, overlapping mappings aren't supported {}",
                at(m.addr, m.size)
            );
            s.report(ReportKind::Overlap, &m.dev.clone(), m.addr, m.size, what);
        }
        s.devices.entry(m.dev.clone()).or_default().insert(m.addr, m);
    }

    /// Record an unmap; checks in the kernel's order and forgets the entry
    /// even when a mismatch is reported.
    pub fn unmap(&self, dev: &DeviceName, kind: MapKind, addr: u64, size: u64, dir: Direction, nents: u32) {
        self.release(dev, kind, addr, size, dir, nents, None);
    }

    /// Record `dma_free_coherent`.
    pub fn free_coherent(&self, dev: &DeviceName, addr: u64, size: u64, cpu_addr: Option<u64>) {
        self.release(
            dev,
            MapKind::Coherent,
            addr,
            size,
            Direction::Bidirectional,
            1,
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
        let Some(e) = s.devices.get_mut(dev).and_then(|t| t.remove(&addr)) else {
            let what = format!(
                "device driver tries to free DMA memory it has not allocated {}",
                at(addr, size)
            );
            s.report(ReportKind::FreeNotAllocated, dev, addr, size, what);
            return;
        };
        if e.size != size {
            let what = format!(
                "device driver frees DMA memory with different size [device address=0x{addr:016x}] [map size={} bytes] [unmap size={size} bytes]",
                e.size
            );
            s.report(
                ReportKind::WrongSize {
                    mapped: e.size,
                    unmapped: size,
                },
                dev,
                addr,
                size,
                what,
            );
        }
        if e.kind != kind {
            let what = format!(
                "device driver frees DMA memory with wrong function {} [mapped as {}] [unmapped as {}]",
                at(addr, size),
                e.kind,
                kind
            );
            s.report(
                ReportKind::WrongFunction {
                    mapped: e.kind,
                    unmapped: kind,
                },
                dev,
                addr,
                size,
                what,
            );
        }
        if kind == MapKind::Coherent && cpu.is_some() && e.cpu_addr.is_some() && cpu != e.cpu_addr {
            let what = format!(
                "device driver frees DMA memory with different CPU address {}",
                at(addr, size)
            );
            s.report(ReportKind::WrongCpuAddress, dev, addr, size, what);
        }
        if e.kind == MapKind::Sg && kind == MapKind::Sg && e.nents != nents {
            let what = format!(
                "device driver frees DMA sg list with different entry count [map count={}] [unmap count={nents}]",
                e.nents
            );
            s.report(
                ReportKind::WrongNents {
                    mapped: e.nents,
                    unmapped: nents,
                },
                dev,
                addr,
                size,
                what,
            );
        }
        if e.dir != dir {
            let what = format!(
                "device driver frees DMA memory with different direction {} [mapped with {}] [unmapped with {dir}]",
                at(addr, size),
                e.dir
            );
            s.report(
                ReportKind::WrongDirection {
                    mapped: e.dir,
                    unmapped: dir,
                },
                dev,
                addr,
                size,
                what,
            );
        }
    }

    /// Record a sync of `[addr, addr+size)`: `for_cpu` is
    /// `dma_sync_*_for_cpu`, else `_for_device`.
    pub fn sync(&self, dev: &DeviceName, addr: u64, size: u64, dir: Direction, for_cpu: bool) {
        let mut s = self.lock();
        let e = s
            .devices
            .get(dev)
            .and_then(|t| t.range(..=addr).next_back())
            .map(|(_, e)| e.clone())
            .filter(|e| addr < e.addr.saturating_add(e.size.max(1)));
        let Some(e) = e else {
            let what = format!(
                "device driver tries to sync DMA memory it has not allocated {}",
                at(addr, size)
            );
            s.report(ReportKind::SyncNotAllocated, dev, addr, size, what);
            return;
        };
        if addr.saturating_add(size) > e.addr + e.size {
            let what = format!(
                "device driver syncs DMA memory outside allocated range [device address=0x{addr:016x}] [allocation size={} bytes] [sync offset+size={}]",
                e.size,
                addr - e.addr + size
            );
            s.report(ReportKind::SyncOutOfRange, dev, addr, size, what);
        }
        if e.dir != Direction::Bidirectional && e.dir != dir {
            let what = format!(
                "device driver syncs DMA memory with different direction {} [mapped with {}] [synced with {dir}]",
                at(addr, size),
                e.dir
            );
            s.report(
                ReportKind::SyncWrongDirection {
                    mapped: e.dir,
                    synced: dir,
                },
                dev,
                addr,
                size,
                what,
            );
        }
        if for_cpu && e.dir == Direction::ToDevice && dir != Direction::ToDevice {
            let what = format!(
                "device driver syncs device read-only DMA memory for cpu {} [mapped with {}] [synced with {dir}]",
                at(addr, size),
                e.dir
            );
            s.report(ReportKind::SyncDeviceReadOnlyForCpu, dev, addr, size, what);
        }
        if !for_cpu && e.dir == Direction::FromDevice && dir != Direction::FromDevice {
            let what = format!(
                "device driver syncs device write-only DMA memory to device {} [mapped with {}] [synced with {dir}]",
                at(addr, size),
                e.dir
            );
            s.report(ReportKind::SyncDeviceWriteOnlyToDevice, dev, addr, size, what);
        }
    }

    /// An owner (open file) closed: one report if it still owns mappings.
    pub fn owner_closed(&self, owner: u64) {
        let mut s = self.lock();
        let left: Vec<(DeviceName, u64, u64)> = s
            .devices
            .values()
            .flat_map(|t| t.values())
            .filter(|m| m.owner == Some(owner))
            .map(|m| (m.dev.clone(), m.addr, m.size))
            .collect();
        if let Some((dev, addr, size)) = left.first().cloned() {
            let what = format!(
                "file {owner} closed with {} pending DMA mappings (first {})",
                left.len(),
                at(addr, size)
            );
            s.report(
                ReportKind::LeakOnClose {
                    owner,
                    count: left.len(),
                },
                &dev,
                addr,
                size,
                what,
            );
        }
    }

    /// A device went away: leaks are reported and its entries forgotten.
    pub fn device_removed(&self, dev: &DeviceName) {
        let mut s = self.lock();
        let Some(t) = s.devices.remove(dev) else { return };
        if let Some(m) = t.values().next() {
            let what = format!(
                "device driver has pending DMA allocations while released from device [count={}] One of leaked entries details: {} [mapped with {}] [mapped as {}]",
                t.len(),
                at(m.addr, m.size),
                m.dir,
                m.kind
            );
            let (addr, size) = (m.addr, m.size);
            s.report(ReportKind::LeakOnRemove { count: t.len() }, dev, addr, size, what);
        }
    }

    /// Live entries.
    pub fn live(&self) -> usize {
        self.lock().devices.values().map(|t| t.len()).sum()
    }
    /// Live entries of one device.
    pub fn live_for(&self, dev: &DeviceName) -> usize {
        self.lock().devices.get(dev).map_or(0, |t| t.len())
    }
    /// Live entries of one owner.
    pub fn live_for_owner(&self, owner: u64) -> usize {
        self.lock()
            .devices
            .values()
            .flat_map(|t| t.values())
            .filter(|m| m.owner == Some(owner))
            .count()
    }
    /// Every report so far.
    pub fn reports(&self) -> Vec<Report> {
        self.lock().reports.clone()
    }
    /// Take the reports (the error count is kept).
    pub fn take_reports(&self) -> Vec<Report> {
        std::mem::take(&mut self.lock().reports)
    }
    /// Errors ever reported (debugfs `dma-api/error_count`).
    pub fn error_count(&self) -> usize {
        self.lock().errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn dev() -> DeviceName {
        DeviceName("qda-cb-cdsp-3".into())
    }
    fn m(addr: u64, size: u64, kind: MapKind, dir: Direction) -> Mapping {
        Mapping {
            dev: dev(),
            kind,
            addr,
            size,
            dir,
            nents: 2,
            owner: Some(7),
            cpu_addr: Some(0xffff_0000),
        }
    }
    fn one(d: &DmaDebug) -> ReportKind {
        let r = d.take_reports();
        assert_eq!(r.len(), 1, "{r:?}");
        r[0].kind.clone()
    }

    #[test]
    fn clean_sequence_reports_nothing() {
        let d = DmaDebug::new();
        d.map(m(0x1000, 8192, MapKind::Sg, Direction::Bidirectional));
        d.sync(&dev(), 0x1000, 4096, Direction::FromDevice, true);
        d.sync(&dev(), 0x2000, 4096, Direction::ToDevice, false);
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::Bidirectional, 2);
        assert!(d.reports().is_empty());
        assert_eq!(d.live(), 0);
    }

    #[test]
    fn each_unmap_mismatch() {
        let d = DmaDebug::new();
        d.unmap(&dev(), MapKind::Sg, 0x5000, 4096, Direction::ToDevice, 1);
        assert_eq!(one(&d), ReportKind::FreeNotAllocated);
        d.map(m(0x1000, 4096, MapKind::Sg, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 8192, Direction::Bidirectional, 2);
        assert_eq!(
            one(&d),
            ReportKind::WrongSize {
                mapped: 4096,
                unmapped: 8192
            }
        );
        d.map(m(0x1000, 4096, MapKind::Sg, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Single, 0x1000, 4096, Direction::Bidirectional, 2);
        assert_eq!(
            one(&d),
            ReportKind::WrongFunction {
                mapped: MapKind::Sg,
                unmapped: MapKind::Single
            }
        );
        d.map(m(0x1000, 4096, MapKind::Sg, Direction::Bidirectional));
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::Bidirectional, 3);
        assert_eq!(one(&d), ReportKind::WrongNents { mapped: 2, unmapped: 3 });
        d.map(m(0x1000, 4096, MapKind::Coherent, Direction::Bidirectional));
        d.free_coherent(&dev(), 0x1000, 4096, Some(0x1234));
        assert_eq!(one(&d), ReportKind::WrongCpuAddress);
        assert_eq!(d.live(), 0, "entries are forgotten even after a mismatch");
        assert_eq!(d.error_count(), 5);
    }

    /// The udmabuf release regression: mapped TO_DEVICE by a write-only
    /// begin_cpu_access, released with the same direction (fixed) or with
    /// BIDIRECTIONAL (before the fix).
    #[test]
    fn udmabuf_direction_regression() {
        let d = DmaDebug::new();
        let u = DeviceName("udmabuf".into());
        let map = |d: &DmaDebug| {
            d.map(Mapping {
                dev: u.clone(),
                kind: MapKind::Sg,
                addr: 1 << 32,
                size: 4096,
                dir: Direction::ToDevice,
                nents: 1,
                owner: None,
                cpu_addr: None,
            })
        };
        map(&d);
        d.unmap(&u, MapKind::Sg, 1 << 32, 4096, Direction::ToDevice, 1);
        assert!(d.reports().is_empty());
        map(&d);
        d.unmap(&u, MapKind::Sg, 1 << 32, 4096, Direction::Bidirectional, 1);
        let r = d.take_reports();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].kind,
            ReportKind::WrongDirection {
                mapped: Direction::ToDevice,
                unmapped: Direction::Bidirectional
            }
        );
        assert!(
            r[0].message.contains("frees DMA memory with different direction"),
            "{}",
            r[0].message
        );
        assert!(
            r[0].message
                .contains("[mapped with DMA_TO_DEVICE] [unmapped with DMA_BIDIRECTIONAL]"),
            "{}",
            r[0].message
        );
    }

    #[test]
    fn each_sync_problem() {
        let d = DmaDebug::new();
        d.sync(&dev(), 0x9000, 16, Direction::ToDevice, true);
        assert_eq!(one(&d), ReportKind::SyncNotAllocated);
        d.map(m(0x1000, 4096, MapKind::Sg, Direction::ToDevice));
        d.sync(&dev(), 0x1800, 4096, Direction::ToDevice, false);
        assert_eq!(one(&d), ReportKind::SyncOutOfRange);
        d.sync(&dev(), 0x1000, 16, Direction::FromDevice, false);
        assert_eq!(
            one(&d),
            ReportKind::SyncWrongDirection {
                mapped: Direction::ToDevice,
                synced: Direction::FromDevice
            }
        );
        let r = {
            d.sync(&dev(), 0x1000, 16, Direction::Bidirectional, true);
            d.take_reports()
        };
        assert!(
            r.iter().any(|r| r.kind == ReportKind::SyncDeviceReadOnlyForCpu),
            "{r:?}"
        );
        d.unmap(&dev(), MapKind::Sg, 0x1000, 4096, Direction::ToDevice, 2);
        d.map(m(0x3000, 4096, MapKind::Sg, Direction::FromDevice));
        d.sync(&dev(), 0x3000, 16, Direction::Bidirectional, false);
        assert!(
            d.take_reports()
                .iter()
                .any(|r| r.kind == ReportKind::SyncDeviceWriteOnlyToDevice)
        );
    }

    #[test]
    fn overlap_leaks_and_removal() {
        let d = DmaDebug::new();
        d.map(m(0x1000, 8192, MapKind::Sg, Direction::Bidirectional));
        d.map(m(0x2000, 4096, MapKind::Sg, Direction::Bidirectional));
        assert_eq!(one(&d), ReportKind::Overlap);
        d.map(m(0x8000, 4096, MapKind::Sg, Direction::ToDevice));
        assert!(d.reports().is_empty(), "TO_DEVICE mappings are not tracked for overlap");
        assert_eq!(d.live_for_owner(7), 3);
        d.owner_closed(7);
        assert_eq!(one(&d), ReportKind::LeakOnClose { owner: 7, count: 3 });
        assert_eq!(d.live(), 3, "leaked entries stay recorded");
        d.device_removed(&dev());
        let r = d.take_reports();
        assert_eq!(r[0].kind, ReportKind::LeakOnRemove { count: 3 });
        assert!(
            r[0].message
                .contains("pending DMA allocations while released from device [count=3]")
        );
        assert_eq!(d.live_for(&dev()), 0);
    }

    #[test]
    fn concurrent_maps_are_consistent() {
        let d = Arc::new(DmaDebug::new());
        let ts: Vec<_> = (0..8u64)
            .map(|t| {
                let d = d.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        let addr = (t << 32) | (i << 12);
                        d.map(m(addr, 4096, MapKind::Sg, Direction::Bidirectional));
                        d.unmap(&dev(), MapKind::Sg, addr, 4096, Direction::Bidirectional, 2);
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert!(d.reports().is_empty());
        assert_eq!(d.live(), 0);
    }
}

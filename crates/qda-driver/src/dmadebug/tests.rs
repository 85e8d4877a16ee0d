use super::*;
use std::sync::Arc;

const OWNER: u64 = 7;

fn dev() -> DeviceName {
    DeviceName::new("qda-cb-cdsp-3")
}

fn m(addr: u64, size: u64, kind: MapKind, dir: Direction) -> DmaEntry {
    DmaEntry {
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

fn sg(addr: u64, size: u64, dir: Direction) -> DmaEntry {
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
        d.map(DmaEntry {
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
    d.map(DmaEntry {
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
    d.map(DmaEntry {
        dev: other.clone(),
        ..sg(0x1000, 4096, Direction::ToDevice)
    });
    d.map(DmaEntry {
        owner: Some(8),
        ..sg(0x9000, 4096, Direction::Bidirectional)
    });
    d.map(DmaEntry {
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
    d.map(DmaEntry {
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
                    d.map(DmaEntry {
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

/// Ranges at the top of the address space (sizes near u64::MAX, entries
/// that would end past it): the checker's arithmetic saturates, it reports
/// what it would report and never panics.
#[test]
fn ranges_at_the_top_of_memory_never_overflow() {
    let d = DmaDebug::new();
    let top = sg(u64::MAX - 0xfff, u64::MAX, Direction::Bidirectional);
    d.map(top.clone());
    d.map(sg(u64::MAX - 0x7ff, 0x100, Direction::Bidirectional));
    assert_eq!(kinds(&d).len(), 1, "the second overlaps the first");
    d.sync(&dev(), u64::MAX, u64::MAX, Direction::FromDevice, true);
    d.sync(&dev(), u64::MAX - 0xfff, 1, Direction::FromDevice, true);
    d.sync(&dev(), 0, u64::MAX, Direction::ToDevice, false);
    let _ = d.take_reports();
    d.unmap(
        &dev(),
        MapKind::Sg,
        u64::MAX - 0xfff,
        u64::MAX,
        Direction::Bidirectional,
        2,
    );
    d.unmap(
        &dev(),
        MapKind::Sg,
        u64::MAX - 0x7ff,
        0x100,
        Direction::Bidirectional,
        2,
    );
    d.unmap(&dev(), MapKind::Sg, u64::MAX, u64::MAX, Direction::Bidirectional, 2);
    d.free_coherent(&dev(), u64::MAX, u64::MAX, Some(u64::MAX));
    d.owner_closed(OWNER);
    d.device_removed(&dev());
    assert_eq!(d.live(), 0);
}

//! udmabuf through the raw UAPI, dma-buf SYNC / SET_NAME, and the DMA-API
//! debug regression for the udmabuf release direction.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use qda_driver::dmabuf::Quirks;
use qda_driver::dmadebug::{Direction, ReportKind};
use qda_driver::{DriverConfig, Errno, LocalMemory, Platform};
use qda_test::*;
use qda_uapi::dma_buf::*;
use qda_uapi::udmabuf::*;
use rustix::fs::{MemfdFlags, SealFlags};

fn memfd(size: u64, seals: SealFlags) -> OwnedFd {
    let fd = rustix::fs::memfd_create("u", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, size).unwrap();
    if !seals.is_empty() {
        rustix::fs::fcntl_add_seals(&fd, seals).unwrap();
    }
    fd
}

fn create(u: &qda_driver::File, memfd: i32, offset: u64, size: u64) -> Result<OwnedFd, Errno> {
    let mut c = UdmabufCreate {
        memfd: memfd as u32,
        flags: UDMABUF_FLAGS_CLOEXEC,
        offset,
        size,
    };
    ioctl(u, UDMABUF_CREATE, &mut c).map(|fd| own(fd as i32))
}

#[test]
fn udmabuf_pages_are_the_memfds_pages() {
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let m = memfd(4 * 4096, SealFlags::SHRINK);
    let ub = create(&u, m.as_raw_fd(), 4096, 2 * 4096).unwrap();
    assert_eq!(rustix::fs::fstat(&ub).unwrap().st_size, 8192);
    let via_ub = drv.map_dmabuf(ub.as_fd(), true).unwrap();
    let via_memfd = qda_driver::sys::Mapping::map(m.as_fd(), 0, 4 * 4096, true).unwrap();
    via_memfd.write_at(4096 + 1, b"from memfd").unwrap();
    let mut got = [0u8; 10];
    via_ub.read_at(1, &mut got).unwrap();
    assert_eq!(&got, b"from memfd");
    via_ub.write_at(4096 + 2, b"from udmabuf").unwrap();
    let mut got = [0u8; 12];
    via_memfd.read_at(2 * 4096 + 2, &mut got).unwrap();
    assert_eq!(&got, b"from udmabuf");
}

#[test]
fn create_list_joins_memfds() {
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let (a, b) = (memfd(8192, SealFlags::SHRINK), memfd(4096, SealFlags::SHRINK));
    #[repr(C)]
    struct List {
        head: UdmabufCreateList,
        items: [UdmabufCreateItem; 2],
    }
    let mut l = List {
        head: UdmabufCreateList {
            flags: UDMABUF_FLAGS_CLOEXEC,
            count: 2,
        },
        items: [
            UdmabufCreateItem {
                memfd: a.as_raw_fd() as u32,
                pad: 0,
                offset: 4096,
                size: 4096,
            },
            UdmabufCreateItem {
                memfd: b.as_raw_fd() as u32,
                pad: 0,
                offset: 0,
                size: 4096,
            },
        ],
    };
    let fd = own(ioctl(&u, UDMABUF_CREATE_LIST, &mut l).unwrap() as i32);
    let buf = drv.dmabuf(fd.as_fd()).unwrap();
    assert_eq!(buf.size(), 8192);
    assert_eq!(buf.segments().len(), 2);
    l.head.count = 1025;
    assert_eq!(
        ioctl(&u, UDMABUF_CREATE_LIST, &mut l).map(|_| ()),
        Err(Errno::EINVAL),
        "list_limit"
    );
    l.head.count = 0;
    assert_eq!(
        ioctl(&u, UDMABUF_CREATE_LIST, &mut l).map(|_| ()),
        Err(Errno::EINVAL),
        "no pages"
    );
}

#[test]
fn create_validation_matches_the_kernel() {
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let ok = memfd(8192, SealFlags::SHRINK);
    assert_eq!(
        create(&u, ok.as_raw_fd(), 100, 4096).unwrap_err(),
        Errno::EINVAL,
        "unaligned offset"
    );
    assert_eq!(
        create(&u, ok.as_raw_fd(), 0, 100).unwrap_err(),
        Errno::EINVAL,
        "unaligned size"
    );
    assert_eq!(create(&u, ok.as_raw_fd(), 0, 0).unwrap_err(), Errno::EINVAL, "empty");
    assert_eq!(
        create(&u, ok.as_raw_fd(), 4096, 8192).unwrap_err(),
        Errno::EINVAL,
        "past the memfd"
    );
    assert_eq!(
        create(&u, ok.as_raw_fd(), 0, 65 << 20).unwrap_err(),
        Errno::EINVAL,
        "size_limit_mb"
    );
    let unsealed = memfd(8192, SealFlags::empty());
    assert_eq!(
        create(&u, unsealed.as_raw_fd(), 0, 4096).unwrap_err(),
        Errno::EINVAL,
        "needs F_SEAL_SHRINK"
    );
    let wsealed = memfd(8192, SealFlags::SHRINK | SealFlags::WRITE);
    assert_eq!(
        create(&u, wsealed.as_raw_fd(), 0, 4096).unwrap_err(),
        Errno::EINVAL,
        "F_SEAL_WRITE"
    );
    let (r, _w) = rustix::pipe::pipe().unwrap();
    assert_eq!(
        create(&u, r.as_raw_fd(), 0, 4096).unwrap_err(),
        Errno::EBADFD,
        "not a memfd"
    );
    assert_eq!(create(&u, 999_999, 0, 4096).unwrap_err(), Errno::EBADFD, "closed fd");
    assert_eq!(
        u.ioctl(UDMABUF_CREATE, 0x30, &LocalMemory).unwrap_err().errno,
        Errno::EFAULT
    );
    let mut junk = 0u64;
    assert_eq!(ioctl(&u, 0x4018_7544, &mut junk), Err(Errno::ENOTTY));
    // Unknown flag bits are ignored, as the kernel ignores them.
    let mut c = UdmabufCreate {
        memfd: ok.as_raw_fd() as u32,
        flags: 0xfe | UDMABUF_FLAGS_CLOEXEC,
        offset: 0,
        size: 4096,
    };
    let fd = own(ioctl(&u, UDMABUF_CREATE, &mut c).unwrap() as i32);
    drop(fd);
}

#[test]
fn dma_buf_sync_and_set_name() {
    let drv = driver();
    let h = open(&drv, "/dev/dma_heap/system");
    let fd = h.heap_alloc(4096, 0, 2, 0).unwrap();
    let sync = |flags: u64| {
        let mut s = DmaBufSync { flags };
        drv.dmabuf_ioctl(
            fd.as_raw_fd(),
            DMA_BUF_IOCTL_SYNC,
            &mut s as *mut _ as u64,
            &LocalMemory,
        )
        .map_err(|e| e.errno)
    };
    for ok in [1, 2, 3, 5, 6, 7] {
        assert_eq!(sync(ok), Ok(0), "flags {ok}");
    }
    for bad in [0, 4, 8, 0xf] {
        assert_eq!(sync(bad), Err(Errno::EINVAL), "flags {bad}");
    }
    let name = b"preview\0";
    for cmd in [DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B] {
        assert_eq!(
            drv.dmabuf_ioctl(fd.as_raw_fd(), cmd, name.as_ptr() as u64, &LocalMemory)
                .map_err(|e| e.errno),
            Ok(0)
        );
    }
    assert_eq!(drv.dmabuf(fd.as_fd()).unwrap().name(), "preview");
    let long = [b'n'; 40];
    assert_eq!(
        drv.dmabuf_ioctl(fd.as_raw_fd(), DMA_BUF_SET_NAME_B, long.as_ptr() as u64, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::EINVAL
    );
    assert_eq!(
        drv.dmabuf_ioctl(fd.as_raw_fd(), DMA_BUF_SET_NAME_B, 0x10, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::EFAULT
    );
    assert_eq!(
        drv.dmabuf_ioctl(fd.as_raw_fd(), DMA_BUF_IOCTL_SYNC, 0x10, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::EFAULT
    );
    let mut e = DmaBufExportSyncFile { flags: 1, fd: -1 };
    assert_eq!(
        drv.dmabuf_ioctl(
            fd.as_raw_fd(),
            DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
            &mut e as *mut _ as u64,
            &LocalMemory
        )
        .unwrap_err()
        .errno,
        Errno::ENOTTY
    );
    let (r, _w) = rustix::pipe::pipe().unwrap();
    assert_eq!(
        drv.dmabuf_ioctl(r.as_raw_fd(), DMA_BUF_IOCTL_SYNC, 0, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::ENOTTY
    );
}

/// The scenario of "udmabuf: fix DMA direction mismatch in release_udmabuf()":
/// memfd → udmabuf → write-only SYNC → close. Fixed: no report.
#[test]
fn udmabuf_release_unmaps_with_the_mapping_direction() {
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let m = memfd(4096, SealFlags::SHRINK);
    let ub = create(&u, m.as_raw_fd(), 0, 4096).unwrap();
    let mut s = DmaBufSync {
        flags: DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_START,
    };
    drv.dmabuf_ioctl(
        ub.as_raw_fd(),
        DMA_BUF_IOCTL_SYNC,
        &mut s as *mut _ as u64,
        &LocalMemory,
    )
    .unwrap();
    s.flags = DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END;
    drv.dmabuf_ioctl(
        ub.as_raw_fd(),
        DMA_BUF_IOCTL_SYNC,
        &mut s as *mut _ as u64,
        &LocalMemory,
    )
    .unwrap();
    assert_eq!(drv.dma_debug().live(), 1, "the cached CPU-access mapping exists");
    drop(ub);
    drv.settle();
    assert!(drv.dma_debug().reports().is_empty(), "{:?}", drv.dma_debug().reports());
}

/// The same scenario with the pre-fix behaviour: the checker reports it.
#[test]
fn udmabuf_release_with_the_old_direction_is_reported() {
    let mut cfg = DriverConfig::new(Platform::builtin());
    cfg.quirks = Quirks {
        udmabuf_release_bidirectional: true,
    };
    let drv = qda_driver::Driver::new(cfg).unwrap();
    let u = drv.open("/dev/udmabuf", me()).unwrap();
    let m = memfd(4096, SealFlags::SHRINK);
    let ub = create(&u, m.as_raw_fd(), 0, 4096).unwrap();
    let mut s = DmaBufSync {
        flags: DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_START,
    };
    drv.dmabuf_ioctl(
        ub.as_raw_fd(),
        DMA_BUF_IOCTL_SYNC,
        &mut s as *mut _ as u64,
        &LocalMemory,
    )
    .unwrap();
    drop(ub);
    drv.settle();
    let r = drv.dma_debug().take_reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        r[0].kind,
        ReportKind::WrongDirection {
            mapped: Direction::ToDevice,
            unmapped: Direction::Bidirectional
        }
    );
    assert!(r[0].message.contains("different direction"), "{}", r[0].message);
}

#[test]
fn udmabuf_end_without_begin_is_einval() {
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let m = memfd(4096, SealFlags::SHRINK);
    let ub = create(&u, m.as_raw_fd(), 0, 4096).unwrap();
    let mut s = DmaBufSync {
        flags: DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END,
    };
    assert_eq!(
        drv.dmabuf_ioctl(
            ub.as_raw_fd(),
            DMA_BUF_IOCTL_SYNC,
            &mut s as *mut _ as u64,
            &LocalMemory
        )
        .unwrap_err()
        .errno,
        Errno::EINVAL
    );
}

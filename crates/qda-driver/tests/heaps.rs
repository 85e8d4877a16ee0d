//! dma-heaps through the raw UAPI: every heap kind, sharing with a second
//! file through PRIME, the kernel's validation, exhaustion, no-map regions.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use qda_driver::mem::MemoryKind;
use qda_driver::{Errno, LocalMemory};
use qda_test::*;
use qda_uapi::dma_heap::*;
use qda_uapi::drm::*;
use qda_uapi::ioctl::iowr;

fn heap_path(drv: &qda_driver::Driver, kind: MemoryKind, cpu: bool) -> String {
    let h = drv
        .heaps()
        .iter()
        .find(|h| {
            h.backend.kind() == kind && {
                // probe mappability with a tiny allocation
                let b = h.backend.allocate(4096).unwrap();
                b.cpu_mappable() == cpu
            }
        })
        .unwrap_or_else(|| panic!("no {kind} heap (cpu mappable: {cpu})"));
    format!("/dev/dma_heap/{}", h.name)
}

fn alloc(f: &qda_driver::File, len: u64) -> Result<OwnedFd, Errno> {
    let mut a = DmaHeapAllocationData {
        len,
        fd: 0,
        fd_flags: O_RDWR | O_CLOEXEC,
        heap_flags: 0,
    };
    ioctl(f, DMA_HEAP_IOCTL_ALLOC, &mut a).map(|_| own(a.fd as i32))
}
const O_RDWR: u32 = 2;

#[test]
fn every_heap_kind_shares_bytes_through_prime() {
    let drv = driver();
    for (kind, name) in [
        (MemoryKind::System, "system"),
        (MemoryKind::Coherent, "coherent"),
        (MemoryKind::Cma, "cma"),
    ] {
        let heap = open(&drv, &heap_path(&drv, kind, true));
        let fd = alloc(&heap, 10_000).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            rustix::fs::fstat(&fd).unwrap().st_size,
            12288,
            "{name}: page-aligned size"
        );
        // A second file imports it; writes through the fd mapping are seen
        // through the importer's DSP-side translation and vice versa.
        let f = accel(&drv, "cdsp");
        let mut p = DrmPrimeHandle {
            handle: 0,
            flags: 0,
            fd: fd.as_raw_fd(),
        };
        ioctl(&f, DRM_IOCTL_PRIME_FD_TO_HANDLE, &mut p).unwrap();
        let obj = f.gem_object(p.handle).unwrap();
        let m = drv.map_dmabuf(fd.as_fd(), true).unwrap();
        m.write_at(5000, name.as_bytes()).unwrap();
        let runs = f
            .context_bank()
            .unwrap()
            .translate(obj.dma_addr() + 5000, name.len() as u64, qda_driver::smmu::Access::Read)
            .unwrap();
        let m2 = qda_driver::sys::Mapping::map(runs[0].file.fd(), runs[0].offset & !4095, 4096, true).unwrap();
        let mut got = vec![0u8; name.len()];
        m2.read_at((runs[0].offset % 4096) as usize, &mut got).unwrap();
        assert_eq!(got, name.as_bytes(), "{name}");
        m2.write_at(0, b"back").unwrap();
        let mut back = [0u8; 4];
        m.read_at(4096, &mut back).unwrap();
        assert_eq!(&back, b"back", "{name}");
        drop(runs);
    }
}

#[test]
fn alloc_validation_matches_the_kernel() {
    let drv = driver();
    let h = open(&drv, "/dev/dma_heap/system");
    let mut a = DmaHeapAllocationData {
        len: 4096,
        fd: 3,
        fd_flags: O_RDWR,
        heap_flags: 0,
    };
    assert_eq!(
        ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a),
        Err(Errno::EINVAL),
        "fd must be 0"
    );
    let mut a = DmaHeapAllocationData {
        len: 4096,
        fd: 0,
        fd_flags: 0x40, /* O_CREAT */
        heap_flags: 0,
    };
    assert_eq!(ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a), Err(Errno::EINVAL), "fd_flags");
    let mut a = DmaHeapAllocationData {
        len: 4096,
        fd: 0,
        fd_flags: O_RDWR,
        heap_flags: 1,
    };
    assert_eq!(
        ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a),
        Err(Errno::EINVAL),
        "heap_flags"
    );
    let mut a = DmaHeapAllocationData {
        len: 0,
        fd: 0,
        fd_flags: O_RDWR,
        heap_flags: 0,
    };
    assert_eq!(ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a), Err(Errno::EINVAL), "len 0");
    let mut a = DmaHeapAllocationData {
        len: u64::MAX - 100,
        fd: 0,
        fd_flags: O_RDWR,
        heap_flags: 0,
    };
    assert_eq!(
        ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a),
        Err(Errno::EINVAL),
        "len overflows to 0"
    );
    let mut x = [0u8; 24];
    assert_eq!(
        ioctl(&h, iowr(b'H', 1, 24), &mut x),
        Err(Errno::EINVAL),
        "nr 1 does not exist"
    );
    assert_eq!(
        h.ioctl(DMA_HEAP_IOCTL_ALLOC, 0x18, &LocalMemory).unwrap_err().errno,
        Errno::EFAULT
    );
    // Any nr-0 command is ALLOC, whatever its type byte.
    let mut a = DmaHeapAllocationData {
        len: 4096,
        fd: 0,
        fd_flags: O_RDWR,
        heap_flags: 0,
    };
    assert_eq!(ioctl(&h, iowr(b'Z', 0, 24), &mut a), Ok(0));
    drop(own(a.fd as i32));
    // Read-only allocations cannot be mapped writable.
    let mut a = DmaHeapAllocationData {
        len: 4096,
        fd: 0,
        fd_flags: 0,
        heap_flags: 0,
    };
    ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a).unwrap();
    let ro = own(a.fd as i32);
    assert_eq!(drv.map_dmabuf(ro.as_fd(), true).unwrap_err().errno, Errno::EACCES);
}

#[test]
fn coherent_pool_exhaustion_is_enomem_and_recovers() {
    let drv = driver();
    let path = heap_path(&drv, MemoryKind::Coherent, true);
    let h = open(&drv, &path);
    let heap = drv.heaps().iter().find(|x| path.ends_with(&x.name)).unwrap();
    let total = heap.backend.usage().total.unwrap();
    let big = alloc(&h, total / 2).unwrap();
    let _second = alloc(&h, total / 2).unwrap();
    assert_eq!(alloc(&h, 4096).unwrap_err(), Errno::ENOMEM);
    drop(big);
    drv.settle();
    assert!(alloc(&h, 4096).is_ok(), "freeing the fd returns its pages");
}

#[test]
fn no_map_region_refuses_cpu_mappings() {
    let drv = driver();
    let h = open(&drv, &heap_path(&drv, MemoryKind::Coherent, false));
    let fd = alloc(&h, 4096).unwrap();
    assert_eq!(drv.map_dmabuf(fd.as_fd(), false).unwrap_err().errno, Errno::ENXIO);
    // The DSP side can still reach it through a CB.
    let f = accel(&drv, "adsp");
    let mut p = DrmPrimeHandle {
        handle: 0,
        flags: 0,
        fd: fd.as_raw_fd(),
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_PRIME_FD_TO_HANDLE, &mut p), Ok(0));
}

#[test]
fn heaps_are_named_as_the_kernel_names_them() {
    let drv = driver();
    let names: Vec<&str> = drv.heaps().iter().map(|h| h.name.as_str()).collect();
    assert!(names.contains(&"system"));
    assert!(names.contains(&"default_cma_region"), "{names:?}");
    for r in drv
        .platform()
        .reserved
        .iter()
        .filter(|r| r.is_shared_dma_pool() && !r.reusable)
    {
        assert!(
            names.contains(&r.name.as_str()),
            "coherent heap named by the full node name {}",
            r.name
        );
    }
    for r in drv.platform().reserved.iter().filter(|r| !r.is_shared_dma_pool()) {
        assert!(!names.contains(&r.name.as_str()), "{} is not a dma pool", r.name);
    }
}

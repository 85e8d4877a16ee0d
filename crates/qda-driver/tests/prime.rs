//! PRIME through the raw UAPI: one dma-buf per object, self-import gives the
//! original object, repeated imports the same handle, foreign dma-bufs are
//! attached to the importer's CB over all their segments.

use std::os::fd::{AsFd, AsRawFd};

use qda_driver::smmu::Access;
use qda_driver::udmabuf::UdmabufItem;
use qda_driver::{Errno, LocalMemory};
use qda_test::*;
use qda_uapi::drm::*;

fn import(f: &qda_driver::File, fd: i32) -> Result<u32, Errno> {
    let mut p = DrmPrimeHandle {
        handle: 0,
        flags: 0,
        fd,
    };
    ioctl(f, DRM_IOCTL_PRIME_FD_TO_HANDLE, &mut p).map(|_| p.handle)
}

#[test]
fn self_import_returns_the_original_object() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let fd = export(&f, h);
    assert_eq!(import(&f, fd.as_raw_fd()), Ok(h), "same file: the exporting handle");
    let g = accel(&drv, "cdsp");
    let h2 = import(&g, fd.as_raw_fd()).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&f.gem_object(h).unwrap(), &g.gem_object(h2).unwrap()),
        "same object"
    );
    assert_eq!(import(&g, fd.as_raw_fd()), Ok(h2), "repeated import: same handle");
    // A second export is the same dma-buf (same file), a new fd.
    let fd2 = export(&f, h);
    assert_eq!(
        rustix::fs::fstat(&fd).unwrap().st_ino,
        rustix::fs::fstat(&fd2).unwrap().st_ino
    );
    // The exported fd maps the object's pages with plain mmap.
    let m = qda_driver::sys::Mapping::map(fd.as_fd(), 0, 8192, true).unwrap();
    m.write_at(100, b"x").unwrap();
    let off = f.gem_mmap_offset(h).unwrap();
    let m2 = f.mmap(off, 8192, false).unwrap();
    let mut b = [0u8; 1];
    m2.read_at(100, &mut b).unwrap();
    assert_eq!(&b, b"x");
}

#[test]
fn export_keeps_the_object_alive_after_gem_close() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(4096).unwrap();
    let fd = export(&f, h);
    f.gem_close(h).unwrap();
    assert_eq!(drv.stats().gem_objects, 1, "the dma-buf holds the object");
    let h2 = import(&f, fd.as_raw_fd()).unwrap();
    assert!(!f.gem_object(h2).unwrap().is_imported(), "still our own object");
    f.gem_close(h2).unwrap();
    drop(fd);
    assert_eq!(drv.stats().gem_objects, 0, "released with the last fd");
}

#[test]
fn foreign_import_maps_every_segment() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    // A udmabuf over two memfds: three pages from one, two from the other.
    let a = memfd_sealed(5 * 4096);
    let b = memfd_sealed(2 * 4096);
    let u = open(&drv, "/dev/udmabuf");
    let ub = u
        .udmabuf_create(
            0,
            &[
                UdmabufItem {
                    memfd: a.as_raw_fd(),
                    offset: 4096,
                    size: 3 * 4096,
                },
                UdmabufItem {
                    memfd: b.as_raw_fd(),
                    offset: 0,
                    size: 2 * 4096,
                },
            ],
            &qda_driver::LocalMemory,
        )
        .unwrap();
    let h = import(&f, ub.as_raw_fd()).unwrap();
    let obj = f.gem_object(h).unwrap();
    assert!(obj.is_imported());
    assert_eq!(obj.size(), 5 * 4096);
    let cb = f.context_bank().unwrap();
    // Every page translates to the right memfd page, through the importer's SID.
    let runs = cb.translate(obj.dma_addr(), 5 * 4096, Access::Read).unwrap();
    let got: Vec<(u64, u64)> = runs.iter().map(|r| (r.offset, r.len)).collect();
    assert_eq!(got, [(4096, 3 * 4096), (0, 2 * 4096)]);
    assert_eq!(
        rustix::fs::fstat(runs[1].file.fd()).unwrap().st_ino,
        rustix::fs::fstat(&b).unwrap().st_ino
    );
    drop((runs, obj));
    f.gem_close(h).unwrap();
    assert_eq!(cb.mapped_bytes(), 0);
}

#[test]
fn import_errors() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    assert_eq!(import(&f, 987_654), Err(Errno::EBADF));
    assert_eq!(import(&f, -1), Err(Errno::EBADF));
    let (r, _w) = rustix::pipe::pipe().unwrap();
    assert_eq!(import(&f, r.as_raw_fd()), Err(Errno::EINVAL), "a pipe is not a dma-buf");
    let mut p = DrmPrimeHandle {
        handle: 1,
        flags: 0x4,
        fd: -1,
    };
    assert_eq!(
        ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p),
        Err(Errno::EINVAL),
        "bad flags"
    );
    let mut p = DrmPrimeHandle {
        handle: 42,
        flags: 0,
        fd: -1,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p), Err(Errno::ENOENT));
    assert_eq!(
        f.ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, 0x8, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::EFAULT
    );
}

#[test]
fn read_only_export_cannot_be_mapped_writable() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(4096).unwrap();
    let mut p = DrmPrimeHandle {
        handle: h,
        flags: DRM_CLOEXEC,
        fd: -1,
    };
    ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p).unwrap();
    let fd = own(p.fd);
    assert_eq!(drv.map_dmabuf(fd.as_fd(), true).unwrap_err().errno, Errno::EACCES);
    assert!(drv.map_dmabuf(fd.as_fd(), false).is_ok());
    // The first export fixed the mode: a later DRM_RDWR export stays read-only.
    let fd2 = export(&f, h);
    assert_eq!(drv.map_dmabuf(fd2.as_fd(), true).unwrap_err().errno, Errno::EACCES);
}

#[test]
fn cross_domain_export_is_a_foreign_import() {
    let drv = driver();
    let c = accel(&drv, "cdsp");
    let a = accel(&drv, "adsp");
    let h = c.gem_create(4096).unwrap();
    let fd = export(&c, h);
    let ha = import(&a, fd.as_raw_fd()).unwrap();
    let oa = a.gem_object(ha).unwrap();
    assert!(oa.is_imported());
    assert_eq!(oa.dma_addr() >> 32, a.context_bank().unwrap().sid() as u64);
}

pub fn memfd_sealed(size: u64) -> std::os::fd::OwnedFd {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, size).unwrap();
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK).unwrap();
    fd
}

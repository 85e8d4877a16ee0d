//! Shared helpers: a driver whose DMA-API checker and live-object counts are
//! checked when the test ends.
#![allow(dead_code)]

use std::os::fd::OwnedFd;

use qda_driver::{Creds, Driver, DriverConfig, Errno, File, LocalMemory};

/// A driver that, when dropped at the end of a test, asserts that nothing
/// leaked and the DMA-API debug checker reported nothing.
pub struct Checked {
    pub drv: Driver,
}

impl std::ops::Deref for Checked {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.drv
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let s = self.drv.stats();
        let reports = self.drv.dma_debug().reports();
        assert!(reports.is_empty(), "DMA-API debug reports: {reports:#?}");
        assert!(s.is_idle(), "objects still alive at the end of the test: {s:?}");
    }
}

pub fn driver() -> Checked {
    Checked {
        drv: Driver::builtin().expect("builtin driver"),
    }
}

pub fn driver_with(cfg: DriverConfig) -> Checked {
    Checked {
        drv: Driver::new(cfg).expect("driver"),
    }
}

pub fn me() -> Creds {
    Creds::current()
}

/// Another thread id, as if another thread/process opened the node.
pub fn other(tid: i32) -> Creds {
    Creds {
        pid: tid,
        tid,
        uid: 1000,
    }
}

pub fn open(drv: &Driver, path: &str) -> File {
    drv.open(path, me()).unwrap_or_else(|e| panic!("open {path}: {e}"))
}

pub fn accel(drv: &Driver, label: &str) -> File {
    let d = drv.domain(label).unwrap_or_else(|| panic!("no domain {label}"));
    open(drv, &format!("/dev/accel/accel{}", d.minor))
}

/// `ioctl(file, cmd, &mut arg)` through the raw entry with local memory.
pub fn ioctl<T>(f: &File, cmd: u32, arg: &mut T) -> Result<i64, Errno> {
    f.ioctl(cmd, arg as *mut T as u64, &LocalMemory).map_err(|e| e.errno)
}

/// Take ownership of an fd number the raw UAPI installed for "userspace"
/// (these tests are that userspace).
#[allow(unsafe_code)]
pub fn own(fd: i32) -> OwnedFd {
    use std::os::fd::FromRawFd;
    assert!(fd >= 0, "fd {fd}");
    // SAFETY: the driver installed `fd` for the caller and kept no copy; the
    // test is its only owner from here on, as a C program would be.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

//! The raw UAPI as a test makes it: files opened as this process, ioctls
//! through the driver's raw entry with this process's memory.

use qda_driver::{Creds, Driver, File, LocalMemory};
use qda_ioctl::Ioctl;
use qda_os::Errno;

/// The test process's credentials.
pub fn me() -> Creds {
    Creds::current()
}

/// Another thread id, as if another thread or process opened the node.
pub fn other(tid: i32) -> Creds {
    Creds {
        pid: tid,
        tid,
        uid: 1000,
    }
}

/// Open `path` as this process.
pub fn open(drv: &Driver, path: &str) -> File {
    drv.open(path, me()).unwrap_or_else(|e| panic!("open {path}: {e}"))
}

/// Open the accel node of domain `label`.
pub fn accel(drv: &Driver, label: &str) -> File {
    let d = drv.domain(label).unwrap_or_else(|| panic!("no domain {label}"));
    open(drv, &format!("/dev/accel/accel{}", d.minor))
}

/// Ioctl `I` on `f` with `arg`: its number and argument type from its one
/// description.
pub fn call<I: Ioctl>(f: &File, arg: &mut I::Arg) -> Result<i64, Errno> {
    ioctl(f, I::DESC.cmd, arg)
}

/// `ioctl(f, cmd, &mut arg)` with any number, as a C program makes it: for
/// the tests of numbers, sizes and structs the driver must refuse.
pub fn ioctl<T>(f: &File, cmd: u32, arg: &mut T) -> Result<i64, Errno> {
    f.ioctl(cmd, arg as *mut T as u64, &LocalMemory).map_err(|e| e.errno)
}

/// The built-in board's driver, checked clean when dropped.
pub fn driver() -> crate::Checked {
    crate::Checked::builtin()
}

/// A driver with `cfg`, checked clean when dropped.
pub fn driver_with(cfg: qda_driver::DriverConfig) -> crate::Checked {
    crate::Checked::with(cfg)
}

//! The syscall layer under the library: open, ioctl, mmap, close on device
//! nodes. [`Kernel`] issues real syscalls on `/dev/accel/*`; [`Emulated`]
//! routes the very same ioctl numbers and argument structs into the embedded
//! driver's raw UAPI entry, so the library's marshalling is exercised byte
//! for byte with no hardware; [`Daemon`] sends them to a running qdad.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use qda_driver::sys::Mapping;
use qda_driver::{Creds, Errno, LocalMemory};
use qda_dsp::Embedded;

/// Which implementation serves the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// A real kernel's `/dev/accel/accelN` (QDA driver).
    Kernel,
    /// The embedded platform: driver model and virtual DSPs in this process.
    Embedded,
    /// A running `qdad`, through its socket.
    Daemon,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Kernel => "kernel",
            BackendKind::Embedded => "embedded",
            BackendKind::Daemon => "daemon",
        })
    }
}

/// A handle on an open device node, as the backend numbers it.
pub type Dev = i32;

/// The syscalls the library needs.
pub trait Sys: Send + Sync + fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
    /// Accel device node paths to probe.
    fn accel_nodes(&self) -> Vec<String>;
    /// Legacy `/dev/fastrpc-*` node paths (the fallback when no accel node
    /// answers for a domain).
    fn fastrpc_nodes(&self) -> Vec<String>;
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error>;
    /// `ioctl(dev, cmd, arg)`; `arg` points into this process's memory.
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error>;
    /// `mmap(NULL, len, RW, MAP_SHARED, dev, offset)`.
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error>;
    /// `close(dev)`.
    fn close(&self, dev: Dev);
}

/// The system calls the kernel backend makes on device nodes. [`Libc`]
/// issues them; [`Routed`] delivers the same calls, with the same numbers
/// and argument structs, to an embedded driver's raw UAPI entry, so the
/// kernel backend runs (and is tested) with no hardware.
pub trait Syscalls: Send + Sync + fmt::Debug {
    /// Accel node paths to probe.
    fn accel_nodes(&self) -> Vec<String>;
    /// Legacy fastrpc node paths.
    fn fastrpc_nodes(&self) -> Vec<String>;
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &str) -> Result<OwnedFd, qda_driver::Error>;
    /// `ioctl(fd, cmd, arg)`: the value it returns, or the errno of a -1.
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error>;
    /// `mmap(NULL, len, RW, MAP_SHARED, fd, offset)`.
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error>;
    /// `close(fd)`.
    fn close(&self, fd: OwnedFd) {
        drop(fd);
    }
}

/// The real system calls.
#[derive(Debug, Default)]
pub struct Libc;

fn list_dev(dir: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

impl Syscalls for Libc {
    fn accel_nodes(&self) -> Vec<String> {
        list_dev("/dev/accel", "accel")
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        list_dev("/dev", "fastrpc-")
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda_driver::Error> {
        rustix::fs::open(
            path,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| qda_driver::Error::new(Errno(e.raw_os_error()), format!("open {path}")))
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        // SAFETY: `arg` points to a live argument struct of the size the
        // command encodes (the caller's contract, as for C callers); the
        // kernel validates everything else.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as libc::c_ulong, arg as *mut libc::c_void) };
        // -1 with errno is a kernel error; any other value (a DSP's AEE code
        // such as 0x80000414 is negative as an int) is the call's result.
        if r == -1 {
            let e = std::io::Error::last_os_error();
            return Err(qda_driver::Error::new(
                Errno(e.raw_os_error().unwrap_or(5)),
                format!("ioctl 0x{cmd:08x}"),
            ));
        }
        Ok(r as i64)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        Mapping::map(fd, offset, len, true)
    }
}

/// System calls delivered to an embedded driver: `open` gives a real fd
/// (a placeholder memfd standing for the device file) and the calls on it
/// reach the driver's raw entry with this process's memory, exactly the
/// bytes a kernel would see. What the preload shim will do for unmodified
/// programs.
#[derive(Debug)]
pub struct Routed {
    emb: Embedded,
    /// Placeholder fd number → the driver's file (an entry lives exactly
    /// as long as its fd: both go in [`Syscalls::close`]).
    files: Mutex<HashMap<i32, qda_driver::File>>,
}

impl Routed {
    /// Over a started embedded platform.
    pub fn new(emb: Embedded) -> Routed {
        Routed {
            emb,
            files: Mutex::new(HashMap::new()),
        }
    }
    /// The embedded platform.
    pub fn embedded(&self) -> &Embedded {
        &self.emb
    }
    fn file(&self, fd: BorrowedFd<'_>) -> Result<qda_driver::File, qda_driver::Error> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fd.as_raw_fd())
            .cloned()
            .ok_or_else(|| qda_driver::Error::new(Errno::ENOTTY, "not a device file of this platform"))
    }
}

impl Routed {
    fn nodes(&self, f: impl Fn(&qda_driver::NodeRole) -> bool) -> Vec<String> {
        self.emb
            .driver
            .nodes()
            .iter()
            .filter(|n| f(&n.kind))
            .map(|n| n.path.clone())
            .collect()
    }
}

impl Syscalls for Routed {
    fn accel_nodes(&self) -> Vec<String> {
        self.nodes(|k| matches!(k, qda_driver::NodeRole::Accel { .. }))
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.nodes(|k| matches!(k, qda_driver::NodeRole::Fastrpc { .. }))
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda_driver::Error> {
        let f = self.emb.driver.open(path, Creds::current())?;
        let fd = qda_driver::sys::memfd(&format!("qda-dev:{path}"), 0)?;
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fd.as_raw_fd(), f);
        Ok(fd)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        // The kernel's long result reaches the caller as libc's int.
        self.file(fd)?.ioctl(cmd, arg, &LocalMemory).map(|v| v as i32 as i64)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        self.file(fd)?.mmap(offset, len as u64, true)
    }
    fn close(&self, fd: OwnedFd) {
        // The last close of the device file: the driver's release.
        let f = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fd.as_raw_fd());
        drop(f);
        drop(fd);
    }
}

/// An open device fd; the last holder closes it through the syscalls.
#[derive(Debug)]
struct DevFd<S: Syscalls> {
    fd: Option<OwnedFd>,
    calls: Arc<S>,
}

impl<S: Syscalls> AsFd for DevFd<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_ref().expect("open until dropped").as_fd()
    }
}

impl<S: Syscalls> Drop for DevFd<S> {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            self.calls.close(fd);
        }
    }
}

/// The kernel backend: device nodes are fds of this process and every call
/// is a system call, made through `S` (real ones by default).
#[derive(Debug)]
pub struct Kernel<S: Syscalls = Libc> {
    calls: Arc<S>,
    fds: Mutex<HashMap<Dev, Arc<DevFd<S>>>>,
}

impl Default for Kernel<Libc> {
    fn default() -> Self {
        Kernel::with(Libc)
    }
}

impl<S: Syscalls> Kernel<S> {
    /// Through the given system calls.
    pub fn with(calls: S) -> Kernel<S> {
        Kernel {
            calls: Arc::new(calls),
            fds: Mutex::new(HashMap::new()),
        }
    }
    /// The system calls it makes.
    pub fn calls(&self) -> &S {
        &self.calls
    }
    /// The fd, held for the call so a concurrent close cannot pull the
    /// number away from under it (the kernel's fdget).
    fn fd(&self, dev: Dev) -> Result<Arc<DevFd<S>>, qda_driver::Error> {
        self.fds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dev)
            .cloned()
            .ok_or_else(|| qda_driver::Error::new(Errno::EBADF, "device not open"))
    }
}

impl<S: Syscalls> Sys for Kernel<S> {
    fn kind(&self) -> BackendKind {
        BackendKind::Kernel
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.calls.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.calls.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error> {
        let fd = self.calls.open(path)?;
        let n = fd.as_raw_fd();
        let d = Arc::new(DevFd {
            fd: Some(fd),
            calls: self.calls.clone(),
        });
        self.fds.lock().unwrap_or_else(|e| e.into_inner()).insert(n, d);
        Ok(n)
    }
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        let fd = self.fd(dev)?;
        self.calls.ioctl(fd.as_fd(), cmd, arg)
    }
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        let fd = self.fd(dev)?;
        self.calls.mmap(fd.as_fd(), offset, len)
    }
    fn close(&self, dev: Dev) {
        // The last holder closes: a call in flight keeps the file open, as
        // the kernel's fdget does.
        let fd = self.fds.lock().unwrap_or_else(|e| e.into_inner()).remove(&dev);
        drop(fd);
    }
}

/// The embedded platform behind the same calls: the kernel backend over
/// [`Routed`] system calls, reported as the embedded backend.
#[derive(Debug)]
pub struct Emulated {
    kernel: Kernel<Routed>,
}

impl Emulated {
    /// Over a started embedded platform.
    pub fn new(emb: Embedded) -> Self {
        Emulated {
            kernel: Kernel::with(Routed::new(emb)),
        }
    }
    /// The embedded platform.
    pub fn embedded(&self) -> &Embedded {
        self.kernel.calls().embedded()
    }
}

impl Sys for Emulated {
    fn kind(&self) -> BackendKind {
        BackendKind::Embedded
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.kernel.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.kernel.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error> {
        self.kernel.open(path)
    }
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        self.kernel.ioctl(dev, cmd, arg)
    }
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        self.kernel.mmap(dev, offset, len)
    }
    fn close(&self, dev: Dev) {
        self.kernel.close(dev)
    }
}

/// A running qdad: every device file is a connection to its socket (a real
/// fd of this process, whose number is the [`Dev`]).
#[derive(Debug)]
pub struct Daemon {
    socket: std::path::PathBuf,
    nodes: Vec<(String, String)>,
    files: Mutex<HashMap<Dev, std::sync::Arc<qdad::client::DaemonFile>>>,
}

impl Daemon {
    /// Connect to the daemon at `socket` and learn its nodes.
    pub fn connect(socket: &std::path::Path) -> Result<Daemon, qda_driver::Error> {
        let nodes = qdad::client::Client::connect(socket)?.nodes()?;
        Ok(Daemon {
            socket: socket.to_path_buf(),
            nodes,
            files: Mutex::new(HashMap::new()),
        })
    }

    /// The socket.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// A control connection (info, stats, dma-buf ioctls).
    pub fn client(&self) -> Result<qdad::client::Client, qda_driver::Error> {
        qdad::client::Client::connect(&self.socket)
    }

    fn nodes_of(&self, kind: &str) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, k)| k == kind)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The file, cloned out of the table so calls on one device run
    /// concurrently.
    fn file(&self, dev: Dev) -> Result<std::sync::Arc<qdad::client::DaemonFile>, qda_driver::Error> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dev)
            .cloned()
            .ok_or_else(|| qda_driver::Error::new(Errno::EBADF, "device not open"))
    }
}

impl Sys for Daemon {
    fn kind(&self) -> BackendKind {
        BackendKind::Daemon
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.nodes_of("accel")
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.nodes_of("fastrpc")
    }
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error> {
        let f = qdad::client::DaemonFile::open(&self.socket, path)?;
        let n = f.connection().socket().as_raw_fd();
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(n, std::sync::Arc::new(f));
        Ok(n)
    }
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        self.file(dev)?.ioctl(cmd, arg)
    }
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        self.file(dev)?.mmap(offset, len, true)
    }
    fn close(&self, dev: Dev) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).remove(&dev);
    }
}

/// Take ownership of an fd number an ioctl installed for this process.
pub fn adopt(fd: i32) -> Result<OwnedFd, qda_driver::Error> {
    use std::os::fd::FromRawFd;
    qda_driver::sys::borrow_raw(fd)?;
    // SAFETY: the number was just returned by PRIME_HANDLE_TO_FD, which
    // installed it for this process; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

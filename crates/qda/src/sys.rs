//! The syscall layer under the library: open, ioctl, mmap, close on device
//! nodes. [`Kernel`] issues real syscalls on `/dev/accel/*`; [`Emulated`]
//! routes the very same ioctl numbers and argument structs into the embedded
//! driver's raw UAPI entry, so the library's marshalling is exercised byte
//! for byte with no hardware; [`Daemon`] sends them to a running qdad.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

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
    /// `open(path, O_RDWR | O_CLOEXEC)`.
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error>;
    /// `ioctl(dev, cmd, arg)`; `arg` points into this process's memory.
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error>;
    /// `mmap(NULL, len, RW, MAP_SHARED, dev, offset)`.
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error>;
    /// `close(dev)`.
    fn close(&self, dev: Dev);
}

/// Real syscalls.
#[derive(Debug, Default)]
pub struct Kernel {
    fds: Mutex<HashMap<Dev, OwnedFd>>,
}

impl Sys for Kernel {
    fn kind(&self) -> BackendKind {
        BackendKind::Kernel
    }
    fn accel_nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir("/dev/accel")
            .map(|d| {
                d.flatten()
                    .map(|e| e.path().display().to_string())
                    .filter(|p| p.contains("/accel"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error> {
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| qda_driver::Error::new(Errno(e.raw_os_error()), format!("open {path}")))?;
        let n = fd.as_raw_fd();
        self.fds.lock().unwrap_or_else(|e| e.into_inner()).insert(n, fd);
        Ok(n)
    }
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        let fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        let fd = fds
            .get(&dev)
            .ok_or_else(|| qda_driver::Error::new(Errno::EBADF, "device not open"))?
            .as_raw_fd();
        drop(fds);
        // SAFETY: `arg` points to a live argument struct of the size the
        // command encodes (the caller's contract, as for C callers); the
        // kernel validates everything else.
        let r = unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg as *mut libc::c_void) };
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
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        let fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        let fd = fds
            .get(&dev)
            .ok_or_else(|| qda_driver::Error::new(Errno::EBADF, "device not open"))?;
        Mapping::map(fd.as_fd(), offset, len, true)
    }
    fn close(&self, dev: Dev) {
        self.fds.lock().unwrap_or_else(|e| e.into_inner()).remove(&dev);
    }
}

/// The embedded platform behind the same calls.
#[derive(Debug)]
pub struct Emulated {
    emb: Embedded,
    files: Mutex<HashMap<Dev, qda_driver::File>>,
    next: AtomicI32,
}

impl Emulated {
    /// Over a started embedded platform.
    pub fn new(emb: Embedded) -> Self {
        Emulated {
            emb,
            files: Mutex::new(HashMap::new()),
            next: AtomicI32::new(1000),
        }
    }
    /// The embedded platform.
    pub fn embedded(&self) -> &Embedded {
        &self.emb
    }
    fn file(&self, dev: Dev) -> Result<qda_driver::File, qda_driver::Error> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dev)
            .cloned()
            .ok_or_else(|| qda_driver::Error::new(Errno::EBADF, "device not open"))
    }
}

impl Sys for Emulated {
    fn kind(&self) -> BackendKind {
        BackendKind::Embedded
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.emb
            .driver
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind, qda_driver::NodeKind::Accel { .. }))
            .map(|n| n.path.clone())
            .collect()
    }
    fn open(&self, path: &str) -> Result<Dev, qda_driver::Error> {
        let f = self.emb.driver.open(path, Creds::current())?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(n, f);
        Ok(n)
    }
    fn ioctl(&self, dev: Dev, cmd: u32, arg: u64) -> Result<i64, qda_driver::Error> {
        self.file(dev)?.ioctl(cmd, arg, &LocalMemory)
    }
    fn mmap(&self, dev: Dev, offset: u64, len: usize) -> Result<Mapping, qda_driver::Error> {
        self.file(dev)?.mmap(offset, len as u64, true)
    }
    fn close(&self, dev: Dev) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).remove(&dev);
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
        self.nodes
            .iter()
            .filter(|(_, k)| k == "accel")
            .map(|(p, _)| p.clone())
            .collect()
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

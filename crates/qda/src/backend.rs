//! Which implementation serves the calls, chosen by one rule for every
//! caller (the library's `Device::open`, `qda info`, `qda heap`, `qda bench`).

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, os};
pub use crate::sys::{Backend, BackendInfo, DaemonInfo};
use crate::sys::{DeviceFile, Syscalls};

impl Backend {
    /// The backend `QDA_BACKEND` forces, if it is set.
    pub fn from_env() -> Result<Option<Backend>, Error> {
        match std::env::var("QDA_BACKEND") {
            Ok(v) if !v.is_empty() => v
                .parse()
                .map(Some)
                .map_err(|e: Error| Error::Usage(format!("QDA_BACKEND={v}: {e}"))),
            _ => Ok(None),
        }
    }

    /// The system calls of this backend: real ones, a daemon at
    /// `QDA_SOCKET` (or its default socket), or the process's embedded
    /// platform (started on first use).
    pub fn syscalls(self) -> Result<Arc<dyn Syscalls>, Error> {
        match self {
            Backend::Kernel => Ok(Arc::new(crate::sys::Libc)),
            #[cfg(feature = "daemon")]
            Backend::Daemon => {
                let socket = qdad_client::socket_path();
                let d = crate::sys::DaemonCalls::connect(&socket).map_err(os("connecting to qdad"))?;
                Ok(Arc::new(d))
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded => Ok(crate::embedded::embedded_platform()?),
            #[allow(unreachable_patterns)]
            b => Err(Error::Usage(format!(
                "the {b} backend is not built into this program (the qda library's `{b}` feature)"
            ))),
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend, Error> {
        Backend::ALL
            .into_iter()
            .find(|b| b.to_string() == s)
            .ok_or_else(|| Error::Usage(format!("unknown backend '{s}' (expected kernel, daemon or embedded)")))
    }
}

/// The one backend-selection rule: `forced` if given, else `QDA_BACKEND`,
/// else the first of kernel, daemon, embedded for which `open` succeeds
/// (the last failure is returned when none does).
pub fn select<T>(forced: Option<Backend>, mut open: impl FnMut(Backend) -> Result<T, Error>) -> Result<T, Error> {
    if let Some(b) = forced.map_or_else(Backend::from_env, |b| Ok(Some(b)))? {
        return open(b);
    }
    let mut last = None;
    for b in Backend::ALL {
        match open(b) {
            Ok(v) => return Ok(v),
            Err(e) => {
                // A daemon that is there but refuses this client (socket
                // permissions, a policy, a failure) is said, not passed over.
                #[cfg(feature = "daemon")]
                if b == Backend::Daemon {
                    let socket = qdad_client::socket_path();
                    if socket.exists() {
                        tracing::warn!(
                            "qda: the qdad at {} did not serve this client ({e}); trying the next backend",
                            socket.display()
                        );
                    }
                }
                last = Some(e);
            }
        }
    }
    Err(last.expect("at least one backend was tried"))
}

/// The board a backend serves: its device tree and where it came from.
#[derive(Debug, Clone)]
pub struct Board {
    /// The device tree blob.
    pub dtb: Vec<u8>,
    /// Where it came from: a file, "built-in", or what a daemon was started with.
    pub source: String,
    /// The backend that serves it.
    pub info: BackendInfo,
    calls: Arc<dyn Syscalls>,
    #[cfg(feature = "embedded")]
    routed: Option<Arc<crate::sys::Routed>>,
}

impl Board {
    /// The board of the backend [`select`] picks. `dtb` describes a board
    /// for an embedded platform of its own (a daemon serves the board it
    /// was started with; a kernel's board is the machine's).
    pub fn open(forced: Option<Backend>, dtb: Option<&Path>) -> Result<Board, Error> {
        let forced = match (forced, dtb) {
            (None, Some(_)) => Some(Backend::from_env()?.unwrap_or(Backend::Embedded)),
            (f, _) => f,
        };
        select(forced, |b| Board::open_on(b, dtb))
    }

    fn open_on(b: Backend, dtb: Option<&Path>) -> Result<Board, Error> {
        match b {
            Backend::Kernel => Err(Error::Usage(
                "the board is read from the embedded platform or qdad; a kernel's board is in \
                 /sys/class/accel and /proc/device-tree"
                    .into(),
            )),
            #[cfg(feature = "daemon")]
            Backend::Daemon => {
                if dtb.is_some() {
                    return Err(Error::Usage(
                        "--dtb describes a board for the embedded platform; a daemon serves the board \
                         it was started with (qda daemon --dtb FILE)"
                            .into(),
                    ));
                }
                let socket = qdad_client::socket_path();
                let calls = crate::sys::DaemonCalls::connect(&socket).map_err(os("connecting to qdad"))?;
                let i = calls.client().and_then(|c| c.info()).map_err(os("qdad info"))?;
                let calls: Arc<dyn Syscalls> = Arc::new(calls);
                Ok(Board {
                    dtb: i.dtb,
                    source: i.source,
                    info: calls.info(),
                    calls,
                    #[cfg(feature = "embedded")]
                    routed: None,
                })
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded => {
                let (bytes, source) = match dtb {
                    None => (crate::embedded::BUILTIN_DTB.to_vec(), "built-in".to_string()),
                    Some(p) => (
                        std::fs::read(p).map_err(|e| Error::Usage(format!("reading {}: {e}", p.display())))?,
                        p.display().to_string(),
                    ),
                };
                let routed = if dtb.is_none() {
                    crate::embedded::embedded_platform()?
                } else {
                    crate::embedded::platform_for(&bytes, &source, None)?
                };
                Ok(Board {
                    dtb: bytes,
                    source,
                    info: routed.info(),
                    calls: routed.clone(),
                    routed: Some(routed),
                })
            }
            #[allow(unreachable_patterns)]
            b => {
                let _ = dtb;
                b.syscalls()
                    .map(|_| unreachable!("a backend not built in has no syscalls"))
            }
        }
    }

    /// The system calls that reach the board's device nodes.
    pub fn syscalls(&self) -> &Arc<dyn Syscalls> {
        &self.calls
    }

    /// The embedded platform behind the board, when it is one.
    #[cfg(feature = "embedded")]
    pub fn embedded(&self) -> Option<&qda_dsp::Embedded> {
        self.routed.as_deref().map(|r| r.embedded())
    }

    /// Attribute `attr` of a domain's DSP, asked through `GET_DSP_INFO` on
    /// its legacy node `node`.
    pub fn dsp_info(&self, node: &str, attr: u32) -> Result<u32, Error> {
        let f = DeviceFile::open(&self.calls, node).map_err(os(format!("open {node}")))?;
        let mut c = qda_uapi::fastrpc::FastrpcIoctlCapability {
            attribute_id: attr,
            ..Default::default()
        };
        let op = format!("GET_DSP_INFO {attr} on {node}");
        let r = f
            .call::<qda_ioctl::FastrpcIoctlGetDspInfo>(&mut c)
            .map_err(os(op.clone()))?;
        // A value other than 0 is the DSP's code for a failed query.
        crate::error::dsp_result(&op, r)?;
        Ok(c.capability)
    }

    /// Allocate `len` bytes from heap `/dev/dma_heap/<name>`: the dma-buf.
    pub fn heap_alloc(&self, name: &str, len: u64) -> Result<std::os::fd::OwnedFd, Error> {
        let path = format!("/dev/dma_heap/{name}");
        let f = DeviceFile::open(&self.calls, &path).map_err(os(format!("open {path}")))?;
        let mut a = qda_uapi::dma_heap::DmaHeapAllocationData {
            len,
            fd_flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
            ..Default::default()
        };
        f.call::<qda_ioctl::DmaHeapIoctlAlloc>(&mut a)
            .map_err(os(format!("allocating {len} bytes from {path}")))?;
        crate::sys::adopt(a.fd as i32).map_err(os("DMA_HEAP_IOCTL_ALLOC"))
    }
}

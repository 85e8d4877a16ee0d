//! The qda client library: FastRPC offload to Hexagon DSPs with one API,
//! whether the DSP is real (a kernel's QDA accel node) or emulated (the
//! embedded platform in this process).
//!
//! ```no_run
//! use qda::{Arg, Device, Domain};
//! let dev = Device::open(Domain::Cdsp)?;
//! let session = dev.session()?;
//! let calc = session.open("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0")?;
//! let buf = dev.alloc(4000)?;
//! buf.write(0, &(0..1000i32).flat_map(i32::to_le_bytes).collect::<Vec<_>>())?;
//! let mut sum = [0u8; 8];
//! calc.invoke(2, &mut [Arg::In(&1000u32.to_le_bytes()), Arg::buf_in(&buf, 0, 4000), Arg::Out(&mut sum)])?;
//! assert_eq!(i64::from_le_bytes(sum), 499_500);
//! # Ok::<(), qda::Error>(())
//! ```
//!
//! On a domain with no accel node the library falls back to the legacy
//! `/dev/fastrpc-<domain>[-secure]` node ([`Uapi::Fastrpc`]): sessions by
//! `INIT_CREATE`, buffers from `ALLOC_DMA_BUFF`, invokes by
//! `FASTRPC_IOCTL_INVOKE`, persistent maps by `MEM_MAP`.
//!
//! The library speaks only the raw UAPI (ioctls on the device node), through
//! [`sys::Sys`]: real syscalls for the kernel backend, or the embedded
//! driver's raw entry point for the embedded backend. Backends are chosen
//! automatically (a kernel node that answers QUERY with the domain's name,
//! else a running `qdad` found through `QDA_SOCKET` or its default socket,
//! else the embedded platform) or forced with
//! `QDA_BACKEND=kernel|daemon|embedded` or [`Device::open_on`].

pub mod bench;
pub mod sys;

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use qda_driver::sys::Mapping;
use qda_ioctl::{self as spec, Ioctl};
use qda_proto::bodies::{RemotectlCloseIn, RemotectlOpenIn, RemotectlOpenOut};
use qda_uapi::aee::AeeCode;
use qda_uapi::drm::{DRM_CLOEXEC, DRM_RDWR, DrmGemClose, DrmPrimeHandle};
use qda_uapi::fastrpc::{self as uf, FastrpcInvokeArgs};
use qda_uapi::qda::*;
use zerocopy::IntoBytes;

pub use sys::BackendKind;

/// A DSP domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// Application DSP (audio).
    Adsp,
    /// Modem DSP.
    Mdsp,
    /// Sensors DSP.
    Sdsp,
    /// Compute DSP.
    Cdsp,
    /// Second compute DSP.
    Cdsp1,
    /// General-purpose DSP 0.
    Gdsp0,
    /// General-purpose DSP 1.
    Gdsp1,
}

impl Domain {
    /// Every domain, in libfastrpc's id order.
    pub const ALL: [Domain; 7] = [
        Domain::Adsp,
        Domain::Mdsp,
        Domain::Sdsp,
        Domain::Cdsp,
        Domain::Cdsp1,
        Domain::Gdsp0,
        Domain::Gdsp1,
    ];
    /// The name QUERY answers and URIs use (`"cdsp"`).
    pub fn name(self) -> &'static str {
        ["adsp", "mdsp", "sdsp", "cdsp", "cdsp1", "gdsp0", "gdsp1"][self.id() as usize]
    }
    /// libfastrpc's domain id (ADSP 0 … GDSP1 6).
    pub fn id(self) -> u32 {
        Domain::ALL.iter().position(|d| *d == self).expect("listed") as u32
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Domain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Domain, Error> {
        Domain::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| {
            Error::Usage(format!(
                "unknown domain '{s}' (expected adsp, mdsp, sdsp, cdsp, cdsp1, gdsp0 or gdsp1)"
            ))
        })
    }
}

/// What went wrong, naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; carries the errno.
    #[error("{op}: {source}")]
    Os {
        /// What was being done.
        op: String,
        /// The driver's error (errno and cause).
        #[source]
        source: qda_driver::Error,
    },
    /// The DSP answered with an error code.
    #[error("{op}: the DSP returned {code}")]
    Dsp {
        /// What was being done.
        op: String,
        /// The AEE code.
        code: AeeCode,
    },
    /// A module could not be opened on the DSP.
    #[error("opening {uri} on the DSP: {code}: {text}")]
    Module {
        /// The URI.
        uri: String,
        /// The loader's AEE code.
        code: AeeCode,
        /// The loader's text.
        text: String,
    },
    /// An argument is wrong.
    #[error("argument {index}: {why}")]
    Arg {
        /// Which argument.
        index: usize,
        /// Why.
        why: String,
    },
    /// No device for the domain.
    #[error("no {domain} DSP: {why}")]
    NoDevice {
        /// The domain.
        domain: Domain,
        /// Why.
        why: String,
    },
    /// The request itself is wrong.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The errno, when a system call failed.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => Some(source.errno.0),
            _ => None,
        }
    }
}

fn os(op: impl Into<String>) -> impl FnOnce(qda_driver::Error) -> Error {
    let op = op.into();
    move |source| Error::Os { op, source }
}

fn dsp_result(op: &str, r: i64) -> Result<(), Error> {
    if r == 0 {
        Ok(())
    } else {
        Err(Error::Dsp {
            op: op.into(),
            code: AeeCode(r as u32),
        })
    }
}

static EMBEDDED: OnceLock<Arc<sys::Emulated>> = OnceLock::new();

fn embedded() -> Result<Arc<sys::Emulated>, Error> {
    if let Some(e) = EMBEDDED.get() {
        return Ok(e.clone());
    }
    let emb = qda_dsp::Embedded::start().map_err(os("starting the embedded platform"))?;
    Ok(EMBEDDED.get_or_init(|| Arc::new(sys::Emulated::new(emb))).clone())
}

/// The embedded platform this process uses (started on first use).
pub fn embedded_platform() -> Result<Arc<sys::Emulated>, Error> {
    embedded()
}

/// Which UAPI a device speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uapi {
    /// The QDA accel node (`/dev/accel/accelN`): GEM buffers, PRIME.
    Qda,
    /// The legacy fastrpc node (`/dev/fastrpc-*`): buffers are dma-bufs
    /// from `ALLOC_DMA_BUFF` (no GEM handles), imports are plain fds.
    Fastrpc,
}

#[derive(Debug)]
struct Inner {
    sys: Arc<dyn sys::Sys>,
    dev: sys::Dev,
    domain: Domain,
    path: String,
    uapi: Uapi,
    /// GEM handle → number of `Buffer`s using it. PRIME gives one handle per
    /// dma-buf per file, so two imports share a handle; it is closed when
    /// the last user goes (what Mesa does on top of the same UAPI).
    handles: std::sync::Mutex<std::collections::HashMap<u32, usize>>,
}

impl Inner {
    fn hold(&self, handle: u32) {
        if self.uapi == Uapi::Fastrpc {
            return;
        }
        *self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(handle)
            .or_insert(0) += 1;
    }
    fn release(&self, handle: u32) {
        if self.uapi == Uapi::Fastrpc {
            return;
        }
        let mut h = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        let n = h.get_mut(&handle).map(|n| {
            *n -= 1;
            *n
        });
        if n == Some(0) {
            h.remove(&handle);
            drop(h);
            let mut c = DrmGemClose { handle, pad: 0 };
            let _ = self.call::<spec::DrmGemClose>(&mut c);
        }
    }
}

impl Inner {
    /// Make ioctl `I` on this device file; its number and argument type
    /// come together from the one description of `I`.
    fn call<I: Ioctl>(&self, arg: &mut I::Arg) -> Result<i64, Error> {
        self.call_as::<I>(I::DESC.name, arg)
    }

    /// [`Inner::call`], naming the operation `op` in an error.
    fn call_as<I: Ioctl>(&self, op: &str, arg: &mut I::Arg) -> Result<i64, Error> {
        self.sys
            .ioctl(self.dev, I::DESC.cmd, arg as *mut I::Arg as u64)
            .map_err(os(op))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.sys.close(self.dev);
    }
}

/// An open DSP device (one accel node file).
#[derive(Debug, Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

impl Device {
    /// Open `domain` on the best backend: `QDA_BACKEND` if set, else a real
    /// kernel node if one answers for the domain, else a running qdad (its
    /// socket: `QDA_SOCKET`, else the default), else the embedded platform.
    pub fn open(domain: Domain) -> Result<Device, Error> {
        match std::env::var("QDA_BACKEND").as_deref() {
            Ok("kernel") => Device::open_on(domain, BackendKind::Kernel),
            Ok("embedded") => Device::open_on(domain, BackendKind::Embedded),
            Ok("daemon") => Device::open_on(domain, BackendKind::Daemon),
            Ok(other) => Err(Error::Usage(format!(
                "QDA_BACKEND={other}: expected kernel, daemon or embedded"
            ))),
            Err(_) => Device::open_on(domain, BackendKind::Kernel)
                .or_else(|_| Device::open_on(domain, BackendKind::Daemon))
                .or_else(|_| Device::open_on(domain, BackendKind::Embedded)),
        }
    }

    /// Open `domain` on a given backend.
    pub fn open_on(domain: Domain, backend: BackendKind) -> Result<Device, Error> {
        let sys: Arc<dyn sys::Sys> = match backend {
            BackendKind::Kernel => Arc::new(sys::Kernel::<sys::Libc>::default()),
            BackendKind::Embedded => embedded()?,
            BackendKind::Daemon => {
                let socket = qdad_client::socket_path();
                Arc::new(sys::Daemon::connect(&socket).map_err(|e| Error::NoDevice {
                    domain,
                    why: e.to_string(),
                })?)
            }
        };
        Device::open_with(domain, sys)
    }

    /// Open `domain` through a given syscall layer (e.g. an embedded
    /// platform of one's own, as the conformance tests do).
    pub fn open_with(domain: Domain, sys: Arc<dyn sys::Sys>) -> Result<Device, Error> {
        let backend = sys.kind();
        let nodes = sys.accel_nodes();
        if nodes.is_empty() && sys.fastrpc_nodes().is_empty() {
            return Err(Error::NoDevice {
                domain,
                why: format!("the {backend} backend has no accel or fastrpc nodes"),
            });
        }
        let inner = |dev, path, uapi| {
            Arc::new(Inner {
                sys: sys.clone(),
                dev,
                domain,
                path,
                uapi,
                handles: Default::default(),
            })
        };
        for path in nodes {
            let Ok(dev) = sys.open(&path) else { continue };
            let inner = inner(dev, path, Uapi::Qda);
            let mut q = DrmQdaQuery::default();
            if inner.call::<spec::QdaQuery>(&mut q).is_ok()
                && q.dsp_name.split(|b| *b == 0).next() == Some(domain.name().as_bytes())
            {
                return Ok(Device { inner });
            }
        }
        // No accel node for the domain: the legacy node, secure first (it
        // may create signed PDs).
        let legacy = sys.fastrpc_nodes();
        for path in [
            format!("/dev/fastrpc-{domain}-secure"),
            format!("/dev/fastrpc-{domain}"),
        ] {
            if !legacy.contains(&path) {
                continue;
            }
            if let Ok(dev) = sys.open(&path) {
                return Ok(Device {
                    inner: inner(dev, path, Uapi::Fastrpc),
                });
            }
        }
        Err(Error::NoDevice {
            domain,
            why: format!("no {backend} accel node answers QUERY with '{domain}', and no /dev/fastrpc-{domain} node"),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> BackendKind {
        self.inner.sys.kind()
    }
    /// The domain.
    pub fn domain(&self) -> Domain {
        self.inner.domain
    }
    /// The device node.
    pub fn path(&self) -> &str {
        &self.inner.path
    }
    /// The UAPI the node speaks.
    pub fn uapi(&self) -> Uapi {
        self.inner.uapi
    }

    /// Start a user PD for this device file (`REMOTE_SESSION_CREATE`).
    pub fn session(&self) -> Result<Session, Error> {
        self.session_with(SessionOptions::default())
    }

    /// Start a user PD with options.
    pub fn session_with(&self, opts: SessionOptions) -> Result<Session, Error> {
        let attrs = if opts.unsigned {
            qda_uapi::fastrpc::FASTRPC_MODE_UNSIGNED_MODULE
        } else {
            0
        };
        let r = match self.inner.uapi {
            Uapi::Qda => {
                let mut c = DrmQdaInitCreate {
                    filelen: 0,
                    filefd: -1,
                    attrs,
                    siglen: 0,
                    file: 0,
                };
                self.inner.call::<spec::QdaRemoteSessionCreate>(&mut c)?
            }
            Uapi::Fastrpc => {
                let mut c = uf::FastrpcInitCreate {
                    filelen: 0,
                    filefd: -1,
                    attrs,
                    siglen: 0,
                    file: 0,
                };
                self.inner.call::<spec::FastrpcInitCreate>(&mut c)?
            }
        };
        dsp_result("session create", r)?;
        Ok(Session {
            inner: self.inner.clone(),
        })
    }

    /// Allocate a buffer of `size` bytes (GEM; on a legacy node a dma-buf
    /// from `ALLOC_DMA_BUFF`), mapped into this process.
    pub fn alloc(&self, size: usize) -> Result<Buffer, Error> {
        if self.inner.uapi == Uapi::Fastrpc {
            let mut a = uf::FastrpcAllocDmaBuf {
                fd: -1,
                flags: 0,
                size: size as u64,
            };
            self.inner.call::<spec::FastrpcAllocDmaBuff>(&mut a)?;
            let fd = sys::adopt(a.fd).map_err(os("ALLOC_DMA_BUFF"))?;
            return self.legacy_buffer(fd, size);
        }
        let mut g = DrmQdaGemCreate {
            size: size as u64,
            handle: 0,
            pad: 0,
        };
        self.inner.call::<spec::QdaGemCreate>(&mut g)?;
        let mut o = DrmQdaGemMmapOffset {
            offset: 0,
            handle: g.handle,
            pad: 0,
        };
        let map = self.inner.call::<spec::QdaGemMmapOffset>(&mut o).and_then(|_| {
            self.inner
                .sys
                .mmap(self.inner.dev, o.offset, size.max(1))
                .map_err(os("mmap"))
        });
        let map = match map {
            Ok(m) => m,
            Err(e) => {
                let mut c = DrmGemClose {
                    handle: g.handle,
                    pad: 0,
                };
                let _ = self.inner.call::<spec::DrmGemClose>(&mut c);
                return Err(e);
            }
        };
        self.inner.hold(g.handle);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle: g.handle,
            size,
            map,
            fd: OnceLock::new(),
        })
    }

    /// Import a dma-buf (from a heap, udmabuf, another process…) as a buffer
    /// of this device, mapped into this process.
    pub fn import(&self, fd: BorrowedFd<'_>) -> Result<Buffer, Error> {
        if self.inner.uapi == Uapi::Fastrpc {
            // A legacy node has no import: the fd goes with each call. Refuse
            // what cannot be a dma-buf now, with the errno PRIME would give.
            let st = rustix::fs::fstat(fd).map_err(|e| Error::Os {
                op: "fstat".into(),
                source: e.into(),
            })?;
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
                return Err(Error::Os {
                    op: "import".into(),
                    source: qda_driver::Error::new(qda_driver::Errno::EINVAL, "file descriptor is not a dma-buf"),
                });
            }
            let own = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::Os {
                op: "dup".into(),
                source: e.into(),
            })?;
            return self.legacy_buffer(own, st.st_size as usize);
        }
        let mut p = DrmPrimeHandle {
            handle: 0,
            flags: 0,
            fd: fd.as_raw_fd(),
        };
        self.inner.call::<spec::DrmPrimeFdToHandle>(&mut p)?;
        let size = rustix::fs::fstat(fd)
            .map_err(|e| Error::Os {
                op: "fstat".into(),
                source: e.into(),
            })?
            .st_size as usize;
        let map = Mapping::map(fd, 0, size, true).map_err(os("mmap of the dma-buf"))?;
        let own = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::Os {
            op: "dup".into(),
            source: e.into(),
        })?;
        let cell = OnceLock::new();
        let _ = cell.set(own);
        self.inner.hold(p.handle);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle: p.handle,
            size,
            map,
            fd: cell,
        })
    }
}

impl Device {
    fn legacy_buffer(&self, fd: OwnedFd, size: usize) -> Result<Buffer, Error> {
        let map = Mapping::map(fd.as_fd(), 0, size.max(1), true).map_err(os("mmap of the dma-buf"))?;
        let cell = OnceLock::new();
        let _ = cell.set(fd);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle: 0,
            size,
            map,
            fd: cell,
        })
    }
}

/// Session options.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOptions {
    /// Run unsigned modules (`FASTRPC_MODE_UNSIGNED_MODULE`).
    pub unsigned: bool,
}

/// A user PD on the DSP.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    /// Open a module by URI (`remotectl1 open1`).
    pub fn open(&self, uri: &str) -> Result<RemoteHandle, Error> {
        let mut name = uri.as_bytes().to_vec();
        name.push(0);
        let inp = RemotectlOpenIn {
            name_len: name.len() as u32,
            dlerr_len: 255,
        };
        let mut out = RemotectlOpenOut::default();
        let mut err = [0u8; 255];
        let mut args = [
            raw_arg(inp.as_bytes().as_ptr(), 8),
            raw_arg(name.as_ptr(), name.len()),
            raw_arg(out.as_mut_bytes().as_mut_ptr(), 8),
            raw_arg(err.as_mut_ptr(), err.len()),
        ];
        let r = invoke_raw(&self.inner, 8, 0x0202_0200, &mut args, "remotectl open")?;
        dsp_result("remotectl open", r)?;
        if out.dlerr != 0 {
            let text = String::from_utf8_lossy(err.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
            return Err(Error::Module {
                uri: uri.into(),
                code: AeeCode(out.dlerr),
                text,
            });
        }
        Ok(RemoteHandle {
            inner: self.inner.clone(),
            handle: out.handle,
        })
    }
}

impl Session {
    /// Map a buffer into the PD persistently (`REMOTE_MAP`, ATTR request);
    /// unmapped when the returned value drops.
    pub fn map<'b>(&self, buf: &'b Buffer) -> Result<RemoteMap<'b>, Error> {
        let fd = buf.export()?.as_raw_fd();
        let vaddr = match self.inner.uapi {
            Uapi::Qda => {
                let mut m = DrmQdaMemMap {
                    request: QDA_MAP_REQUEST_ATTR,
                    fd,
                    size: buf.size as u64,
                    ..Default::default()
                };
                self.inner.call::<spec::QdaRemoteMap>(&mut m)?;
                m.vaddrout
            }
            Uapi::Fastrpc => {
                // No address hint: the DSP picks the address, as for QDA.
                let mut m = uf::FastrpcMemMap {
                    fd,
                    length: buf.size as u64,
                    ..Default::default()
                };
                self.inner.call::<spec::FastrpcMemMap>(&mut m)?;
                m.vaddrout
            }
        };
        Ok(RemoteMap {
            inner: self.inner.clone(),
            buf,
            vaddr,
        })
    }
}

/// A buffer mapped into the PD; unmapped on drop.
#[derive(Debug)]
pub struct RemoteMap<'b> {
    inner: Arc<Inner>,
    buf: &'b Buffer,
    vaddr: u64,
}

impl RemoteMap<'_> {
    /// The DSP virtual address.
    pub fn vaddr(&self) -> u64 {
        self.vaddr
    }
}

impl Drop for RemoteMap<'_> {
    fn drop(&mut self) {
        if let Ok(fd) = self.buf.export() {
            match self.inner.uapi {
                Uapi::Qda => {
                    let mut u = DrmQdaMemUnmap {
                        request: QDA_MUNMAP_REQUEST_ATTR,
                        fd: fd.as_raw_fd(),
                        vaddr: self.vaddr,
                        vaddrout: 0,
                        size: self.buf.size as u64,
                    };
                    let _ = self.inner.call::<spec::QdaRemoteMunmap>(&mut u);
                }
                Uapi::Fastrpc => {
                    let mut u = uf::FastrpcMemUnmap {
                        fd: fd.as_raw_fd(),
                        vaddr: self.vaddr,
                        length: self.buf.size as u64,
                        ..Default::default()
                    };
                    let _ = self.inner.call::<spec::FastrpcMemUnmap>(&mut u);
                }
            }
        }
    }
}

fn raw_arg(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd: -1,
        attr: 0,
    }
}

fn invoke_raw(inner: &Inner, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs], op: &str) -> Result<i64, Error> {
    match inner.uapi {
        Uapi::Qda => {
            let mut inv = DrmQdaInvokeArgs {
                handle,
                sc,
                args: args.as_mut_ptr() as u64,
            };
            inner.call_as::<spec::QdaRemoteInvoke>(op, &mut inv)
        }
        Uapi::Fastrpc => {
            let mut inv = uf::FastrpcInvoke {
                handle,
                sc,
                args: args.as_mut_ptr() as u64,
            };
            inner.call_as::<spec::FastrpcInvoke>(op, &mut inv)
        }
    }
}

/// A module opened on the DSP.
#[derive(Debug)]
pub struct RemoteHandle {
    inner: Arc<Inner>,
    handle: u32,
}

/// One invoke argument. Buffers come first (inputs, then outputs), as
/// FastRPC orders them.
#[derive(Debug)]
pub enum Arg<'a> {
    /// Input bytes, copied through the payload.
    In(&'a [u8]),
    /// Output bytes, copied back.
    Out(&'a mut [u8]),
    /// Input from a buffer, by reference (no copy).
    BufIn(&'a Buffer, usize, usize),
    /// Output into a buffer, by reference (no copy).
    BufOut(&'a Buffer, usize, usize),
}

impl<'a> Arg<'a> {
    /// Bytes `offset..offset+len` of `buf` as an input.
    pub fn buf_in(buf: &'a Buffer, offset: usize, len: usize) -> Arg<'a> {
        Arg::BufIn(buf, offset, len)
    }
    /// Bytes `offset..offset+len` of `buf` as an output.
    pub fn buf_out(buf: &'a Buffer, offset: usize, len: usize) -> Arg<'a> {
        Arg::BufOut(buf, offset, len)
    }
    fn is_input(&self) -> bool {
        matches!(self, Arg::In(_) | Arg::BufIn(..))
    }
}

impl RemoteHandle {
    /// The DSP's handle.
    pub fn raw(&self) -> u32 {
        self.handle
    }

    /// Call method `method` (2..=31) with `args`.
    pub fn invoke(&self, method: u8, args: &mut [Arg<'_>]) -> Result<(), Error> {
        if !(2..=31).contains(&method) {
            return Err(Error::Usage(format!(
                "method {method}: methods 0 and 1 are open and close; user methods are 2..=31"
            )));
        }
        let nin = args.iter().take_while(|a| a.is_input()).count();
        if let Some(i) = args[nin..].iter().position(|a| a.is_input()) {
            return Err(Error::Arg {
                index: nin + i,
                why: "an input after an output: inputs come first".into(),
            });
        }
        let nout = args.len() - nin;
        if nin > 255 || nout > 255 {
            return Err(Error::Usage(format!(
                "{nin} inputs and {nout} outputs: at most 255 of each"
            )));
        }
        let mut raw = Vec::with_capacity(args.len());
        for (i, a) in args.iter_mut().enumerate() {
            raw.push(match a {
                Arg::In(b) => raw_arg(b.as_ptr(), b.len()),
                Arg::Out(b) => raw_arg(b.as_mut_ptr(), b.len()),
                Arg::BufIn(buf, off, len) | Arg::BufOut(buf, off, len) => {
                    if off.checked_add(*len).is_none_or(|e| e > buf.size) {
                        return Err(Error::Arg {
                            index: i,
                            why: format!("{len} bytes at {off} exceed the {}-byte buffer", buf.size),
                        });
                    }
                    let fd = buf.export()?.as_raw_fd();
                    FastrpcInvokeArgs {
                        ptr: buf.map.addr() + *off as u64,
                        length: *len as u64,
                        fd,
                        attr: 0,
                    }
                }
            });
        }
        let sc = qda_proto::Scalars::make(method, nin as u8, nout as u8).0;
        let r = invoke_raw(&self.inner, self.handle, sc, &mut raw, "REMOTE_INVOKE")?;
        dsp_result(&format!("method {method}"), r)
    }
}

impl Drop for RemoteHandle {
    fn drop(&mut self) {
        let inp = RemotectlCloseIn {
            handle: self.handle,
            dlerr_len: 64,
        };
        let mut dlerr = 0u32;
        let mut text = [0u8; 64];
        let mut args = [
            raw_arg(inp.as_bytes().as_ptr(), 8),
            raw_arg(dlerr.as_mut_bytes().as_mut_ptr(), 4),
            raw_arg(text.as_mut_ptr(), 64),
        ];
        let _ = invoke_raw(&self.inner, 8, 0x0301_0200, &mut args, "remotectl close");
    }
}

/// A buffer the DSP reaches directly: a GEM object (or an imported
/// dma-buf), mapped into this process.
#[derive(Debug)]
pub struct Buffer {
    inner: Arc<Inner>,
    handle: u32,
    size: usize,
    map: Mapping,
    fd: OnceLock<OwnedFd>,
}

impl Buffer {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
    /// The GEM handle (0 on a legacy node, which has no GEM).
    pub fn handle(&self) -> u32 {
        self.handle
    }
    /// Copy bytes in at `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result<(), Error> {
        self.map.write_at(offset, src).map_err(os("buffer write"))
    }
    /// Copy bytes out from `offset`.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result<(), Error> {
        self.map.read_at(offset, dst).map_err(os("buffer read"))
    }
    /// The whole buffer as a vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.size];
        let _ = self.map.read_at(0, &mut v);
        v
    }
    /// The buffer's dma-buf fd (exported once, shared by later calls):
    /// give it to another process or device.
    pub fn export(&self) -> Result<BorrowedFd<'_>, Error> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.as_fd());
        }
        let mut p = DrmPrimeHandle {
            handle: self.handle,
            flags: DRM_CLOEXEC | DRM_RDWR,
            fd: -1,
        };
        self.inner.call::<spec::DrmPrimeHandleToFd>(&mut p)?;
        // SAFETY-free adoption: the ioctl installed a new fd for us.
        let fd = adopt(p.fd)?;
        Ok(self.fd.get_or_init(|| fd).as_fd())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.inner.release(self.handle);
    }
}

fn adopt(fd: i32) -> Result<OwnedFd, Error> {
    sys::adopt(fd).map_err(os("PRIME_HANDLE_TO_FD"))
}

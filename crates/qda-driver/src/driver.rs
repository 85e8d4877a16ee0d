//! The driver instance: domains with their devices, heaps, udmabuf, open files.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rustix::fs::SealFlags;

use crate::dmabuf::{self, DmaBuf, Exporter, NewDmaBuf, Quirks, Shared};
use crate::dmadebug::{DeviceName, Direction, DmaDebug, MapKind};
use crate::errno::{Errno, Error, Result, ebadfd, ebusy, einval, enodev, enoent, enomem};
use crate::fastrpc::{Channel, Transport};
use crate::gem::{GemKind, GemObject, Handles, MMAP_OFFSET_START};
use crate::invoke::RpcState;
use crate::mem::{CmaBackend, CoherentBackend, Counter, MemoryBackend, SystemBackend};
use crate::platform::{DomainDesc, Platform};
use crate::smmu::{ContextBank, DmaRecord, IovaMapping, Perm, SegFile, Segment};
use crate::sys::{self, Mapping, PAGE_SIZE};
use crate::usermem::UserMemory;

/// Who opened a file (the kernel's `current` at open time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creds {
    /// Process id (TGID).
    pub pid: i32,
    /// Thread id (what QDA records as `pid`).
    pub tid: i32,
    /// User id.
    pub uid: u32,
}

impl Creds {
    /// The calling thread.
    pub fn current() -> Creds {
        Creds {
            pid: rustix::process::getpid().as_raw_nonzero().get(),
            tid: rustix::thread::gettid().as_raw_nonzero().get(),
            uid: rustix::process::getuid().as_raw(),
        }
    }
}

/// Configuration of a driver instance.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The board.
    pub platform: Platform,
    /// Bound on system memory handed out (models memory pressure), bytes.
    pub system_limit: Option<u64>,
    /// Upstream-behaviour switches.
    pub quirks: Quirks,
    /// udmabuf `size_limit_mb` module parameter.
    pub udmabuf_size_limit_mb: u64,
    /// udmabuf `list_limit` module parameter.
    pub udmabuf_list_limit: u32,
    /// Where the reusable default CMA area is placed when the DT gives only a size.
    pub cma_default_base: u64,
    /// Which posted revision of the QDA UAPI the accel nodes answer.
    pub qda_revision: qda_uapi::qda::Revision,
}

impl DriverConfig {
    /// Defaults for a platform.
    pub fn new(platform: Platform) -> Self {
        DriverConfig {
            platform,
            system_limit: None,
            quirks: Quirks::default(),
            udmabuf_size_limit_mb: qda_uapi::udmabuf::UDMABUF_SIZE_LIMIT_MB_DEFAULT as u64,
            udmabuf_list_limit: qda_uapi::udmabuf::UDMABUF_LIST_LIMIT_DEFAULT,
            cma_default_base: 0xf000_0000,
            qda_revision: qda_uapi::qda::Revision::May2026,
        }
    }
}

/// Kinds of device node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRole {
    /// `/dev/accel/accelN` of a domain.
    Accel {
        /// Domain label.
        domain: String,
    },
    /// `/dev/fastrpc-<label>[-secure]`.
    Fastrpc {
        /// Domain label.
        domain: String,
        /// The `-secure` node.
        secure: bool,
    },
    /// `/dev/dma_heap/<name>`.
    Heap {
        /// Heap name.
        name: String,
    },
    /// `/dev/udmabuf`.
    Udmabuf,
}

/// A device node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Path as userspace sees it.
    pub path: String,
    /// What it is.
    pub kind: NodeRole,
}

/// A dma-heap.
#[derive(Debug)]
pub struct Heap {
    /// `/dev/dma_heap/<name>`.
    pub name: String,
    /// Its memory.
    pub backend: Arc<dyn MemoryBackend>,
}

/// One DSP domain (one `qcom,fastrpc` node / rpmsg channel).
pub struct DspDomain {
    /// DT description.
    pub desc: DomainDesc,
    /// Accel minor (`/dev/accel/accel<minor>`).
    pub minor: u32,
    /// Context banks, one per compute-cb node (QDA's view).
    pub cbs: Vec<Arc<ContextBank>>,
    /// Legacy sessions: each CB repeated `nsessions` times (misc/fastrpc's view).
    sessions: Vec<(Arc<ContextBank>, AtomicBool)>,
    /// Memory for GEM objects and legacy buffers.
    pub backend: Arc<dyn MemoryBackend>,
    /// The `memory-region` pool, if the node names one (legacy remote heap).
    pub remote_heap: Option<Arc<dyn MemoryBackend>>,
    /// The rpmsg channel to the DSP.
    pub channel: Arc<Channel>,
    /// The remote heap given to static PDs (`cctx->remote_heap`), once allocated.
    pub(crate) static_heap: Mutex<Option<(Arc<crate::mem::Backing>, IovaMapping)>>,
    /// Payload buffers allocated so far (a running total; most calls reuse one).
    pub(crate) payload_allocs: crate::mem::Counter,
    mm_lock: Mutex<()>,
    removed: AtomicBool,
    session_ids: AtomicI32,
    offsets: Mutex<(u64, OffsetMap)>,
}

/// Fake mmap offset → (object size, object).
type OffsetMap = BTreeMap<u64, (u64, Weak<GemObject>)>;

impl fmt::Debug for DspDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DspDomain")
            .field("label", &self.desc.label)
            .field("minor", &self.minor)
            .finish()
    }
}

impl DspDomain {
    /// Label (`"cdsp"`).
    pub fn label(&self) -> &str {
        &self.desc.label
    }
    /// True after [`Driver::remove_domain`].
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
    pub(crate) fn enter(&self) -> Result<()> {
        if self.is_removed() {
            return Err(enodev(format!("{}: device was removed", self.desc.label)));
        }
        Ok(())
    }
    /// Number of legacy sessions in use.
    pub fn sessions_in_use(&self) -> usize {
        self.sessions.iter().filter(|s| s.1.load(Ordering::Acquire)).count()
    }
}

/// Live-object counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Open files.
    pub files: u64,
    /// GEM objects.
    pub gem_objects: u64,
    /// dma-buf objects.
    pub dmabufs: u64,
    /// Backing memfds.
    pub backings: u64,
    /// IOVA mappings in all CBs.
    pub iova_mappings: u64,
    /// dma-bufs kept alive only by user fds or mappings.
    pub pinned_exports: usize,
    /// Live DMA-API debug entries.
    pub dma_debug_live: usize,
    /// DMA-API debug errors so far.
    pub dma_debug_errors: usize,
    /// Invoke payload buffers allocated so far, all domains (a running
    /// total, not a live count: files keep a few for reuse).
    pub payloads_allocated: u64,
}

impl Stats {
    /// True when nothing is alive.
    pub fn is_idle(&self) -> bool {
        self.files == 0
            && self.gem_objects == 0
            && self.dmabufs == 0
            && self.backings == 0
            && self.iova_mappings == 0
            && self.pinned_exports == 0
            && self.dma_debug_live == 0
    }
}

pub(crate) struct Inner {
    pub(crate) platform: Platform,
    pub(crate) cfg: DriverConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) debug: Arc<DmaDebug>,
    pub(crate) domains: Vec<Arc<DspDomain>>,
    pub(crate) heaps: Vec<Arc<Heap>>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) files: Arc<Counter>,
    pub(crate) gems: Arc<Counter>,
    pub(crate) backings: Arc<Counter>,
    pub(crate) iovas: Arc<Counter>,
    next_id: AtomicU64,
}

/// A driver instance: what the kernel would be for one board.
#[derive(Clone)]
pub struct Driver {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("model", &self.inner.platform.model)
            .field("nodes", &self.inner.nodes.len())
            .finish()
    }
}

impl Driver {
    /// A driver for the built-in board.
    pub fn builtin() -> Result<Driver> {
        Driver::new(DriverConfig::new(Platform::builtin()))
    }

    /// Probe a board: CBs, sessions, heaps, device nodes.
    pub fn new(cfg: DriverConfig) -> Result<Driver> {
        if rustix::param::page_size() as u64 != PAGE_SIZE {
            return Err(Error::new(
                Errno::EINVAL,
                "qda models 4 KiB pages; this host uses another page size",
            ));
        }
        let debug = Arc::new(DmaDebug::new());
        let shared = Shared::new(debug.clone(), cfg.quirks)?;
        let backings = Arc::new(Counter::default());
        let iovas = Arc::new(Counter::default());
        let platform = cfg.platform.clone();
        let system: Arc<dyn MemoryBackend> = Arc::new(SystemBackend::new("system", cfg.system_limit, backings.clone()));

        // Heaps: system; one coherent heap per named non-reusable
        // shared-dma-pool region; CMA for reusable regions (the default one
        // under its stable name).
        let mut heaps = vec![Arc::new(Heap {
            name: "system".into(),
            backend: system.clone(),
        })];
        let mut region_backends: BTreeMap<String, Arc<dyn MemoryBackend>> = BTreeMap::new();
        let mut coherent = 0;
        for r in &platform.reserved {
            if !r.is_shared_dma_pool() {
                continue;
            }
            let (name, backend): (String, Arc<dyn MemoryBackend>) = if r.reusable {
                let base = r.base().unwrap_or(cfg.cma_default_base);
                let name = if r.cma_default {
                    "default_cma_region".to_string()
                } else {
                    r.name.clone()
                };
                (
                    name.clone(),
                    Arc::new(CmaBackend::new(name, base, r.size, backings.clone())),
                )
            } else {
                coherent += 1;
                if coherent > 64 {
                    continue; // MAX_COHERENT_REGIONS: the kernel warns and drops the rest
                }
                let base = r.base().unwrap_or(0);
                (
                    r.name.clone(),
                    Arc::new(CoherentBackend::new(
                        r.name.clone(),
                        base,
                        r.size,
                        r.no_map,
                        backings.clone(),
                    )),
                )
            };
            region_backends.insert(r.name.clone(), backend.clone());
            if heaps.len() < 128 && !heaps.iter().any(|h| h.name == name) {
                heaps.push(Arc::new(Heap { name, backend }));
            }
        }

        let mut domains = Vec::new();
        let mut nodes = Vec::new();
        for (minor, d) in platform.domains.iter().enumerate() {
            let cbs: Vec<Arc<ContextBank>> = d
                .cbs
                .iter()
                .map(|c| Arc::new(ContextBank::new(&d.label, c.sid, debug.clone(), iovas.clone())))
                .collect();
            let sessions = d
                .cbs
                .iter()
                .zip(&cbs)
                .flat_map(|(c, cb)| (0..c.nsessions).map(move |_| (cb.clone(), AtomicBool::new(false))))
                .collect();
            let remote_heap = d.memory_region.as_ref().and_then(|n| region_backends.get(n).cloned());
            nodes.push(Node {
                path: format!("/dev/accel/accel{minor}"),
                kind: NodeRole::Accel {
                    domain: d.label.clone(),
                },
            });
            for n in d.legacy_node_names() {
                let secure = n.ends_with("-secure");
                nodes.push(Node {
                    path: format!("/dev/{n}"),
                    kind: NodeRole::Fastrpc {
                        domain: d.label.clone(),
                        secure,
                    },
                });
            }
            domains.push(Arc::new(DspDomain {
                desc: d.clone(),
                minor: minor as u32,
                cbs,
                sessions,
                backend: system.clone(),
                remote_heap,
                channel: Arc::new(Channel::new(&d.label)),
                static_heap: Mutex::new(None),
                payload_allocs: Default::default(),
                mm_lock: Mutex::new(()),
                removed: AtomicBool::new(false),
                session_ids: AtomicI32::new(0),
                offsets: Mutex::new((MMAP_OFFSET_START, BTreeMap::new())),
            }));
        }
        for h in &heaps {
            nodes.push(Node {
                path: format!("/dev/dma_heap/{}", h.name),
                kind: NodeRole::Heap { name: h.name.clone() },
            });
        }
        nodes.push(Node {
            path: "/dev/udmabuf".into(),
            kind: NodeRole::Udmabuf,
        });

        Ok(Driver {
            inner: Arc::new(Inner {
                platform,
                cfg,
                shared,
                debug,
                domains,
                heaps,
                nodes,
                files: Arc::new(Counter::default()),
                gems: Arc::new(Counter::default()),
                backings,
                iovas,
                next_id: AtomicU64::new(1),
            }),
        })
    }

    /// The board.
    pub fn platform(&self) -> &Platform {
        &self.inner.platform
    }
    /// Device nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.inner.nodes
    }
    /// Domains.
    pub fn domains(&self) -> &[Arc<DspDomain>] {
        &self.inner.domains
    }
    /// A domain by label.
    pub fn domain(&self, label: &str) -> Option<&Arc<DspDomain>> {
        self.inner.domains.iter().find(|d| d.desc.label == label)
    }
    /// Heaps.
    pub fn heaps(&self) -> &[Arc<Heap>] {
        &self.inner.heaps
    }
    /// The DMA-API debug checker.
    pub fn dma_debug(&self) -> &Arc<DmaDebug> {
        &self.inner.debug
    }

    /// Release dma-bufs whose last user fd and mapping are gone (see
    /// [`crate::dmabuf`]); returns how many were released.
    pub fn settle(&self) -> usize {
        let mut n = 0;
        loop {
            let k = self.inner.shared.registry.settle();
            if k == 0 {
                return n;
            }
            n += k;
        }
    }

    /// Observe every FastRPC call on every domain (`None` stops).
    pub fn set_tracer(&self, t: Option<crate::fastrpc::Tracer>) {
        for d in self.domains() {
            d.channel.set_tracer(t.clone());
        }
    }

    /// Live-object counts (after [`Driver::settle`]).
    pub fn stats(&self) -> Stats {
        self.settle();
        let i = &self.inner;
        Stats {
            files: i.files.get(),
            gem_objects: i.gems.get(),
            dmabufs: i.shared.live.get(),
            backings: i.backings.get(),
            iova_mappings: i.iovas.get(),
            pinned_exports: i.shared.registry.pinned(),
            dma_debug_live: i.debug.live(),
            dma_debug_errors: i.debug.error_count(),
            payloads_allocated: i.domains.iter().map(|d| d.payload_allocs.get()).sum(),
        }
    }

    /// Attach a DSP to a domain's channel (rpmsg probe).
    pub fn attach_dsp(&self, label: &str, t: Arc<dyn Transport>) -> Result<()> {
        self.domain(label)
            .ok_or_else(|| enoent(format!("no domain '{label}'")))?
            .channel
            .attach(t);
        Ok(())
    }

    /// Subsystem restart of a domain: pending calls fail with `EPIPE`, the
    /// DSP is detached until [`Driver::attach_dsp`] runs again.
    pub fn restart_domain(&self, label: &str) -> Result<()> {
        self.domain(label)
            .ok_or_else(|| enoent(format!("no domain '{label}'")))?
            .channel
            .restart();
        Ok(())
    }

    /// Unplug a domain (subsystem removal): its files stay open but every
    /// ioctl on them fails with `ENODEV`; new opens fail with `ENODEV`.
    pub fn remove_domain(&self, label: &str) -> Result<()> {
        let d = self
            .domain(label)
            .ok_or_else(|| enoent(format!("no domain '{label}'")))?;
        d.removed.store(true, Ordering::Release);
        Ok(())
    }

    /// Open a device node as the thread `creds` describes.
    pub fn open(&self, path: &str, creds: Creds) -> Result<File> {
        let node = self
            .inner
            .nodes
            .iter()
            .find(|n| n.path == path)
            .ok_or_else(|| enoent(format!("{path}: no such device node")))?;
        let kind = match &node.kind {
            NodeRole::Accel { domain } => {
                let d = self.domain(domain).expect("node of a known domain").clone();
                d.enter()?;
                let session_id = d.session_ids.fetch_add(1, Ordering::Relaxed) + 1;
                FileKind::Accel(AccelState {
                    domain: d,
                    handles: Mutex::new(Handles::default()),
                    cb: Mutex::new(None),
                    session_id,
                    rpc: RpcState::default(),
                })
            }
            NodeRole::Fastrpc { domain, secure } => {
                let d = self.domain(domain).expect("node of a known domain").clone();
                d.enter()?;
                let slot = d
                    .sessions
                    .iter()
                    .position(|(_, used)| {
                        used.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                    })
                    .ok_or_else(|| ebusy(format!("{path}: all {} sessions are in use", d.sessions.len())))?;
                FileKind::Fastrpc(FastrpcState {
                    domain: d,
                    secure_node: *secure,
                    slot,
                    client_id: slot as i32 + 1,
                    rpc: RpcState::default(),
                })
            }
            NodeRole::Heap { name } => FileKind::Heap(
                self.inner
                    .heaps
                    .iter()
                    .find(|h| &h.name == name)
                    .expect("node of a known heap")
                    .clone(),
            ),
            NodeRole::Udmabuf => FileKind::Udmabuf,
        };
        self.inner.files.inc();
        Ok(File {
            inner: Arc::new(FileInner {
                id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
                path: path.to_string(),
                creds,
                kind,
                driver: self.clone(),
            }),
        })
    }

    /// The dma-buf an fd refers to: one of ours, or a memfd accepted as a
    /// foreign dma-buf. `EBADF` for a closed fd, `EINVAL` for a file that is
    /// not a dma-buf.
    pub fn dmabuf(&self, fd: BorrowedFd<'_>) -> Result<Arc<DmaBuf>> {
        if let Some(b) = self.inner.shared.registry.lookup(fd)? {
            return Ok(b);
        }
        if !sys::is_memfd(fd) {
            return Err(einval("file descriptor is not a dma-buf"));
        }
        let size = sys::file_size(fd)?;
        if size == 0 || size % PAGE_SIZE != 0 {
            return Err(einval(format!("memfd of {size} bytes is not a whole number of pages")));
        }
        let file = Arc::new(sys::InternalFd::reopen(fd)?);
        DmaBuf::create(
            &self.inner.shared,
            NewDmaBuf {
                segments: vec![Segment {
                    file: SegFile::Fd(file.clone()),
                    offset: 0,
                    len: size,
                }],
                file,
                exporter: Exporter::Foreign,
                writable: true,
                cpu_mappable: true,
                private: None,
            },
        )
    }

    /// Map a dma-buf fd into this process (`mmap` of the fd; segments
    /// assembled for udmabufs).
    pub fn map_dmabuf(&self, fd: BorrowedFd<'_>, writable: bool) -> Result<Mapping> {
        self.dmabuf(fd)?.map(writable)
    }

    /// The QDA UAPI revision the accel nodes answer.
    pub fn qda_revision(&self) -> qda_uapi::qda::Revision {
        self.inner.cfg.qda_revision
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Device removal: channel resources go first, then anything still
        // recorded on a CB is a leak.
        for d in &self.domains {
            *qda_rt::lock(&d.static_heap) = None;
        }
        for d in &self.domains {
            for cb in &d.cbs {
                self.debug.device_removed(&DeviceName(cb.name().to_string()));
            }
        }
        self.debug.device_removed(&DeviceName("udmabuf".into()));
    }
}

/// State of a file on an accel node.
#[derive(Debug)]
pub struct AccelState {
    /// The domain.
    pub domain: Arc<DspDomain>,
    handles: Mutex<Handles>,
    cb: Mutex<Option<Arc<ContextBank>>>,
    /// `remote_session_id`: per-device counter from 1.
    pub session_id: i32,
    /// FastRPC state.
    pub rpc: RpcState,
}

impl AccelState {
    /// The CB assigned to this file, if any yet.
    pub fn current_cb(&self) -> Option<Arc<ContextBank>> {
        qda_rt::lock(&self.cb).clone()
    }
}

/// State of a file on a legacy fastrpc node.
#[derive(Debug)]
pub struct FastrpcState {
    /// The domain.
    pub domain: Arc<DspDomain>,
    /// Opened through the `-secure` node.
    pub secure_node: bool,
    slot: usize,
    /// `client_id`: session index + 1.
    pub client_id: i32,
    /// FastRPC state.
    pub rpc: RpcState,
}

impl FastrpcState {
    /// The session's CB.
    pub fn cb(&self) -> &Arc<ContextBank> {
        &self.domain.sessions[self.slot].0
    }
}

/// What kind of file.
#[derive(Debug)]
pub enum FileKind {
    /// An accel device file.
    Accel(AccelState),
    /// A legacy fastrpc device file.
    Fastrpc(FastrpcState),
    /// A dma-heap.
    Heap(Arc<Heap>),
    /// `/dev/udmabuf`.
    Udmabuf,
}

pub(crate) struct FileInner {
    pub(crate) id: u64,
    pub(crate) path: String,
    pub(crate) creds: Creds,
    pub(crate) kind: FileKind,
    pub(crate) driver: Driver,
}

/// An open device file. Clones share the open file description (like
/// `dup`); the file is released when the last clone drops.
#[derive(Clone)]
pub struct File {
    pub(crate) inner: Arc<FileInner>,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("id", &self.inner.id)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Drop for FileInner {
    fn drop(&mut self) {
        crate::invoke::release_session(&self.kind);
        if let FileKind::Accel(AccelState { rpc, .. }) | FileKind::Fastrpc(FastrpcState { rpc, .. }) = &self.kind {
            rpc.clear();
        }
        match &self.kind {
            FileKind::Accel(a) => {
                let objs = qda_rt::lock(&a.handles).clear();
                drop(objs);
                let _g = qda_rt::lock(&a.domain.mm_lock);
                if let Some(cb) = qda_rt::lock(&a.cb).take() {
                    let mut asg = qda_rt::lock(&cb.assign);
                    asg.refs = asg.refs.saturating_sub(1);
                    if asg.refs == 0 {
                        asg.pid = 0;
                    }
                }
            }
            FileKind::Fastrpc(f) => f.domain.sessions[f.slot].1.store(false, Ordering::Release),
            FileKind::Heap(_) | FileKind::Udmabuf => {}
        }
        self.driver.inner.debug.owner_closed(self.id);
        self.driver.inner.files.dec();
    }
}

impl File {
    /// Interrupt the calls thread `tid` is waiting in on this file's DSP
    /// channel, as a signal to that thread would (see
    /// [`Channel::interrupt`]). Returns how many were interrupted.
    pub fn interrupt(&self, tid: i32) -> usize {
        match &self.inner.kind {
            FileKind::Accel(a) => a.domain.channel.interrupt(tid),
            FileKind::Fastrpc(f) => f.domain.channel.interrupt(tid),
            FileKind::Heap(_) | FileKind::Udmabuf => 0,
        }
    }

    /// Unique id (used as the owner in DMA-debug records).
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// The node path it was opened at.
    pub fn path(&self) -> &str {
        &self.inner.path
    }
    /// Opener credentials.
    pub fn creds(&self) -> Creds {
        self.inner.creds
    }
    /// The driver.
    pub fn driver(&self) -> &Driver {
        &self.inner.driver
    }
    /// What kind of file.
    pub fn kind(&self) -> &FileKind {
        &self.inner.kind
    }

    pub(crate) fn accel(&self) -> Result<&AccelState> {
        match &self.inner.kind {
            FileKind::Accel(a) => {
                a.domain.enter()?;
                Ok(a)
            }
            _ => Err(Error::new(
                Errno::ENOTTY,
                format!("{}: not an accel device", self.inner.path),
            )),
        }
    }

    /// The CB this file's memory lives in (QDA's lazy assignment): the
    /// file's own; else one already assigned to the same opener thread
    /// (shared, refcounted); else the first free one; else `ENOMEM`.
    pub fn context_bank(&self) -> Result<Arc<ContextBank>> {
        let a = self.accel()?;
        let _g = qda_rt::lock(&a.domain.mm_lock);
        let mut mine = qda_rt::lock(&a.cb);
        if let Some(cb) = &*mine {
            return Ok(cb.clone());
        }
        let tid = self.inner.creds.tid;
        let pick = a
            .domain
            .cbs
            .iter()
            .find(|cb| cb.assignment().pid == tid)
            .or_else(|| a.domain.cbs.iter().find(|cb| cb.assignment().pid == 0))
            .ok_or_else(|| {
                enomem(format!(
                    "{}: no free context bank ({} assigned to other openers)",
                    a.domain.desc.label,
                    a.domain.cbs.len()
                ))
            })?;
        {
            let mut asg = qda_rt::lock(&pick.assign);
            asg.pid = tid;
            asg.refs += 1;
        }
        *mine = Some(pick.clone());
        Ok(pick.clone())
    }

    /// `DRM_IOCTL_QDA_QUERY`: the DSP name.
    pub fn query(&self) -> Result<qda_uapi::qda::DrmQdaQuery> {
        let a = self.accel()?;
        let mut q = qda_uapi::qda::DrmQdaQuery::default();
        let n = a.domain.desc.label.as_bytes();
        let len = n.len().min(q.dsp_name.len() - 1); // strscpy keeps the NUL
        q.dsp_name[..len].copy_from_slice(&n[..len]);
        Ok(q)
    }

    /// `GEM_CREATE`: `size` rounded up to pages, in this file's CB.
    pub fn gem_create(&self, size: u64) -> Result<u32> {
        let a = self.accel()?;
        if size == 0 {
            return Err(einval("GEM_CREATE: size is 0"));
        }
        let size = sys::page_align(size).ok_or_else(|| einval("GEM_CREATE: size overflows when page-aligned"))?;
        let cb = self.context_bank()?;
        let (backing, map) = cb.alloc_coherent(a.domain.backend.as_ref(), size)?;
        let offset = {
            let mut o = qda_rt::lock(&a.domain.offsets);
            o.1.retain(|_, (_, w)| w.strong_count() > 0);
            let off = o.0;
            o.0 += size;
            off
        };
        let drv = self.driver();
        let obj = GemObject::new(
            drv.next_id(),
            size,
            GemKind::Native { backing, map },
            Some(offset),
            drv.inner.gems.clone(),
        );
        qda_rt::lock(&a.domain.offsets)
            .1
            .insert(offset, (size, Arc::downgrade(&obj)));
        Ok(qda_rt::lock(&a.handles).insert(obj))
    }

    /// The object behind a handle (`ENOENT` if none).
    pub fn gem_object(&self, handle: u32) -> Result<Arc<GemObject>> {
        let a = self.accel()?;
        qda_rt::lock(&a.handles)
            .get(handle)
            .cloned()
            .ok_or_else(|| enoent(format!("GEM handle {handle} does not exist")))
    }

    /// `GEM_MMAP_OFFSET`: the fake offset to `mmap` the object at.
    pub fn gem_mmap_offset(&self, handle: u32) -> Result<u64> {
        let obj = self.gem_object(handle)?;
        obj.mmap_offset()
            .ok_or_else(|| einval(format!("GEM handle {handle} is an imported buffer: no mmap offset")))
    }

    /// `DRM_IOCTL_GEM_CLOSE`.
    pub fn gem_close(&self, handle: u32) -> Result<()> {
        let a = self.accel()?;
        let obj = qda_rt::lock(&a.handles).remove(handle)?;
        drop(obj);
        Ok(())
    }

    /// Number of GEM handles.
    pub fn handle_count(&self) -> usize {
        match &self.inner.kind {
            FileKind::Accel(a) => qda_rt::lock(&a.handles).len(),
            _ => 0,
        }
    }

    /// `mmap(file, len, offset)` on an accel file: the object at that fake
    /// offset, if this file holds a handle to it.
    pub fn mmap(&self, offset: u64, len: u64, writable: bool) -> Result<Mapping> {
        let (backing, delta, len) = self.mmap_target(offset, len)?;
        Mapping::map(backing.fd(), delta, len, writable)
    }

    /// What [`File::mmap`] would map, for a process elsewhere to map itself
    /// (the daemon's clients): a new open file description of the object's
    /// memory (read-only unless `writable`) and the offset in it.
    pub fn mmap_file(&self, offset: u64, len: u64, writable: bool) -> Result<(OwnedFd, u64)> {
        let (backing, delta, _) = self.mmap_target(offset, len)?;
        let mode = if writable {
            rustix::fs::OFlags::RDWR
        } else {
            rustix::fs::OFlags::RDONLY
        };
        Ok((sys::reopen(backing.fd(), mode | rustix::fs::OFlags::CLOEXEC)?, delta))
    }

    fn mmap_target(&self, offset: u64, len: u64) -> Result<(Arc<crate::mem::Backing>, u64, usize)> {
        let a = self.accel()?;
        let obj = {
            let o = qda_rt::lock(&a.domain.offsets);
            o.1.range(..=offset)
                .next_back()
                .filter(|(start, (size, _))| (offset - **start).checked_add(len).is_some_and(|end| end <= *size))
                .and_then(|(start, (_, w))| w.upgrade().map(|obj| (offset - start, obj)))
        };
        let (delta, obj) =
            obj.ok_or_else(|| einval(format!("mmap: no object at offset 0x{offset:x} for {len} bytes")))?;
        if !qda_rt::lock(&a.handles).holds(&obj) {
            return Err(Error::new(Errno::EACCES, "mmap: this file has no handle to the object"));
        }
        let GemKind::Native { backing, .. } = obj.kind() else {
            return Err(einval("mmap: imported objects cannot be mapped through the importer"));
        };
        if !backing.cpu_mappable() {
            return Err(Error::new(Errno::ENXIO, "mmap: object lives in a no-map region"));
        }
        let len = usize::try_from(len).map_err(|_| einval("mmap: length too large"))?;
        Ok((backing.clone(), delta, len))
    }

    /// `PRIME_HANDLE_TO_FD`.
    pub fn prime_handle_to_fd(&self, handle: u32, flags: u32) -> Result<OwnedFd> {
        use qda_uapi::drm::{DRM_CLOEXEC, DRM_RDWR};
        let a = self.accel()?;
        if flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
            return Err(einval(format!("PRIME_HANDLE_TO_FD: unknown flags 0x{flags:x}")));
        }
        let obj = self.gem_object(handle)?;
        let buf = obj.dmabuf(self.driver().shared(), flags & DRM_RDWR != 0)?;
        qda_rt::lock(&a.handles).cache_prime(buf.id(), handle);
        buf.export(flags & DRM_CLOEXEC != 0)
    }

    /// `PRIME_FD_TO_HANDLE`: our own export gives back the original object;
    /// a repeated import the same handle; a foreign dma-buf is attached to
    /// this file's CB and mapped over all of its segments.
    pub fn prime_fd_to_handle(&self, fd: BorrowedFd<'_>) -> Result<u32> {
        let a = self.accel()?;
        let buf = self.driver().dmabuf(fd)?;
        if let Some(h) = qda_rt::lock(&a.handles).prime_lookup(buf.id()) {
            return Ok(h);
        }
        let obj = match buf.exporter() {
            Exporter::Gem(o) if self.owns_object(&a.domain, o) => o.clone(),
            _ => {
                let cb = self.context_bank()?;
                let rec = DmaRecord {
                    kind: MapKind::Sg,
                    dir: Direction::Bidirectional,
                    nents: buf.segments().len() as u32,
                };
                let map = cb.map(buf.segments().to_vec(), Perm::RW, rec, None)?;
                buf.attach(dmabuf::Attachment {
                    cb: Arc::downgrade(&cb),
                    iova: map.iova(),
                    len: map.len(),
                });
                let drv = self.driver();
                GemObject::new(
                    drv.next_id(),
                    buf.size(),
                    GemKind::Imported {
                        dmabuf: buf.clone(),
                        map,
                    },
                    None,
                    drv.inner.gems.clone(),
                )
            }
        };
        let mut h = qda_rt::lock(&a.handles);
        let handle = h.insert(obj);
        h.cache_prime(buf.id(), handle);
        Ok(handle)
    }

    fn owns_object(&self, domain: &Arc<DspDomain>, obj: &Arc<GemObject>) -> bool {
        !obj.is_imported() && obj.iova_mapping().cb().domain() == domain.desc.label
    }

    // ---- dma-heap ----

    /// `DMA_HEAP_IOCTL_ALLOC` with the kernel's checks (`fd` must be 0,
    /// `fd_flags` within `O_CLOEXEC | O_ACCMODE`, `heap_flags` 0, page-aligned
    /// length not 0).
    pub fn heap_alloc(&self, len: u64, fd_in: u32, fd_flags: u32, heap_flags: u64) -> Result<OwnedFd> {
        use qda_uapi::dma_heap::{DMA_HEAP_VALID_FD_FLAGS, DMA_HEAP_VALID_HEAP_FLAGS, O_ACCMODE, O_CLOEXEC};
        let FileKind::Heap(heap) = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not a dma-heap"));
        };
        if fd_in != 0 {
            return Err(einval("DMA_HEAP_IOCTL_ALLOC: fd must be 0 on input"));
        }
        if fd_flags & !DMA_HEAP_VALID_FD_FLAGS != 0 {
            return Err(einval(format!(
                "DMA_HEAP_IOCTL_ALLOC: fd_flags 0x{fd_flags:x} outside O_CLOEXEC|O_ACCMODE"
            )));
        }
        if heap_flags & !DMA_HEAP_VALID_HEAP_FLAGS != 0 {
            return Err(einval(format!(
                "DMA_HEAP_IOCTL_ALLOC: heap_flags 0x{heap_flags:x} (none are defined)"
            )));
        }
        let size = sys::page_align(len)
            .filter(|s| *s != 0)
            .ok_or_else(|| einval("DMA_HEAP_IOCTL_ALLOC: length is 0 after page alignment"))?;
        let backing = heap.backend.allocate(size)?;
        let file = Arc::new(sys::InternalFd::dup(backing.fd())?);
        let cpu_mappable = backing.cpu_mappable();
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments: vec![Segment {
                    file: SegFile::Backing(backing),
                    offset: 0,
                    len: size,
                }],
                file,
                exporter: Exporter::Heap(heap.name.clone()),
                writable: fd_flags & O_ACCMODE == 2,
                cpu_mappable,
                private: None,
            },
        )?;
        buf.export(fd_flags & O_CLOEXEC != 0)
    }

    // ---- udmabuf ----

    /// `UDMABUF_CREATE_LIST` (and `UDMABUF_CREATE`, a one-item list), with
    /// the kernel's checks and errnos. Returns the new dma-buf fd.
    pub fn udmabuf_create(&self, flags: u32, items: &[(i32, u64, u64)], um: &dyn UserMemory) -> Result<OwnedFd> {
        let FileKind::Udmabuf = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not /dev/udmabuf"));
        };
        let cfg = &self.driver().inner.cfg;
        let limit_pages = cfg.udmabuf_size_limit_mb * (1 << 20) / PAGE_SIZE;
        let mut pages = 0u64;
        for (i, &(_, off, size)) in items.iter().enumerate() {
            if off % PAGE_SIZE != 0 {
                return Err(einval(format!(
                    "udmabuf item {i}: offset 0x{off:x} is not page aligned"
                )));
            }
            if size % PAGE_SIZE != 0 {
                return Err(einval(format!("udmabuf item {i}: size 0x{size:x} is not page aligned")));
            }
            pages = pages.saturating_add(size / PAGE_SIZE);
            if pages > limit_pages {
                return Err(einval(format!(
                    "udmabuf: more than size_limit_mb = {} MiB",
                    cfg.udmabuf_size_limit_mb
                )));
            }
        }
        if pages == 0 {
            return Err(einval("udmabuf: no pages"));
        }
        let mut segments = Vec::with_capacity(items.len());
        for (i, &(fd, off, size)) in items.iter().enumerate() {
            let bfd = um
                .fd(fd)
                .map_err(|_| ebadfd(format!("udmabuf item {i}: fd {fd} is not open")))?;
            let seals = rustix::fs::fcntl_get_seals(bfd)
                .map_err(|_| ebadfd(format!("udmabuf item {i}: fd {fd} is not a memfd")))?;
            if !seals.contains(SealFlags::SHRINK) {
                return Err(einval(format!("udmabuf item {i}: memfd lacks F_SEAL_SHRINK")));
            }
            if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
                return Err(einval(format!("udmabuf item {i}: memfd is sealed against writes")));
            }
            let fsize = sys::file_size(bfd)?;
            if off.checked_add(size).is_none_or(|end| end > fsize) {
                return Err(einval(format!(
                    "udmabuf item {i}: range beyond the memfd's {fsize} bytes"
                )));
            }
            if size == 0 {
                continue;
            }
            let dup = Arc::new(sys::InternalFd::reopen(bfd)?);
            segments.push(Segment {
                file: SegFile::Fd(dup),
                offset: off,
                len: size,
            });
        }
        let total = pages * PAGE_SIZE;
        let file = Arc::new(sys::InternalFd::new(sys::memfd("udmabuf", total)?));
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments,
                file,
                exporter: Exporter::Udmabuf,
                writable: true,
                cpu_mappable: true,
                private: None,
            },
        )?;
        buf.export(flags & qda_uapi::udmabuf::UDMABUF_FLAGS_CLOEXEC != 0)
    }

    // ---- legacy fastrpc ----

    /// `FASTRPC_IOCTL_ALLOC_DMA_BUFF`: coherent memory in the session's CB,
    /// exported `O_RDWR`.
    pub fn fastrpc_alloc_dma_buf(&self, size: u64) -> Result<OwnedFd> {
        let FileKind::Fastrpc(f) = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not a fastrpc device"));
        };
        f.domain.enter()?;
        let size = sys::page_align(size)
            .filter(|s| *s != 0)
            .ok_or_else(|| einval("ALLOC_DMA_BUFF: size is 0"))?;
        let (backing, map) = f.cb().alloc_coherent(f.domain.backend.as_ref(), size)?;
        let segs = vec![Segment {
            file: SegFile::Backing(backing.clone()),
            offset: 0,
            len: size,
        }];
        let file = Arc::new(sys::InternalFd::dup(backing.fd())?);
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments: segs,
                file,
                exporter: Exporter::Fastrpc(f.domain.desc.label.clone()),
                writable: true,
                cpu_mappable: true,
                private: Some(Box::new(map)),
            },
        )?;
        // dma_buf_fd(buf, O_ACCMODE): no O_CLOEXEC.
        buf.export(false)
    }
}

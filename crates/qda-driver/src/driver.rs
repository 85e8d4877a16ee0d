//! The driver instance: the board probed into domains, heaps and device
//! nodes; configuration, opener credentials, live-object counts. Opening a
//! node is in [`crate::file`].

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::dmabuf::{DmaBuf, Exporter, NewDmaBuf, Quirks, Shared};
use crate::dmadebug::{DeviceName, DmaDebug};
use crate::domain::{DspDomain, MmapOffsets, Session};
use crate::errno::{Errno, Error, Result, einval, enoent};
use crate::fastrpc::{Channel, Transport};
use crate::mem::{CmaBackend, CoherentBackend, Counter, MemoryBackend, SystemBackend};
use crate::platform::Platform;
use crate::smmu::{ContextBank, SegFile, Segment};
use crate::sys::{self, Mapping, PAGE_SIZE};

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
            pid: qda_os::self_pid(),
            tid: qda_os::self_tid(),
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
            system_limit: None,
            quirks: Quirks::default(),
            udmabuf_size_limit_mb: qda_uapi::udmabuf::UDMABUF_SIZE_LIMIT_MB_DEFAULT as u64,
            udmabuf_list_limit: qda_uapi::udmabuf::UDMABUF_LIST_LIMIT_DEFAULT,
            cma_default_base: 0xf000_0000,
            qda_revision: platform.uapi_revision.unwrap_or_default(),
            platform,
        }
    }

    /// `QDA_UAPI_REVISION` (`2026-02` or `2026-05`), if set, chooses the
    /// QDA UAPI revision over the board's `qda,uapi-revision`. What the
    /// embedded platform and qdad apply when they build their driver (a
    /// `qdad --uapi-revision` is applied after it); a bad value is
    /// `EINVAL` naming the variable.
    pub fn with_env(mut self) -> Result<Self> {
        if let Some(r) = uapi_revision_from_env()? {
            self.qda_revision = r;
        }
        Ok(self)
    }
}

/// The environment variable that chooses the QDA UAPI revision.
pub const UAPI_REVISION_ENV: &str = "QDA_UAPI_REVISION";

/// `QDA_UAPI_REVISION`, if set: the revision it names, or `EINVAL`.
pub fn uapi_revision_from_env() -> Result<Option<qda_uapi::qda::Revision>> {
    match std::env::var(UAPI_REVISION_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) => parse_uapi_revision(&v, UAPI_REVISION_ENV).map(Some),
        Err(std::env::VarError::NotUnicode(v)) => Err(Error::new(
            Errno::EINVAL,
            format!("{UAPI_REVISION_ENV}={v:?}: not UTF-8; expected 2026-02 or 2026-05"),
        )),
    }
}

/// The QDA UAPI revision `v` names (`2026-02`, `2026-05`); `EINVAL`
/// naming `source` (a variable, a flag) otherwise.
pub fn parse_uapi_revision(v: &str, source: &str) -> Result<qda_uapi::qda::Revision> {
    qda_uapi::qda::Revision::from_name(v).ok_or_else(|| {
        Error::new(
            Errno::EINVAL,
            format!(
                "{source}={v:?}: not a QDA UAPI revision; expected 2026-02 (the Feb 2026 RFC) or 2026-05 (May 2026)"
            ),
        )
    })
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
    /// Poll-mode calls answered while their caller spun (running total).
    pub poll_answered_spinning: u64,
    /// Poll-mode calls whose spin budget ran out, then slept (running total).
    pub poll_spin_timeouts: u64,
    /// Sleep-mode calls a proxy's spin saw answered (qdad's, running total).
    pub proxy_answered_spinning: u64,
    /// Proxy spins that ended without the answer, then slept (running total).
    pub proxy_spin_timeouts: u64,
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
    pub(crate) next_id: AtomicU64,
    pub(crate) quotas: crate::quota::Quotas,
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

    /// Bound the memory `uid`'s files may hold in buffers (`GEM_CREATE`,
    /// dma-heap and `ALLOC_DMA_BUFF` allocations) to `bytes` (`None`: no
    /// bound); past it an allocation is `ENOMEM`, naming the quota.
    pub fn set_memory_quota(&self, uid: u32, bytes: Option<u64>) {
        self.inner.quotas.set(uid, bytes);
    }

    /// Charge `backing` to `uid`'s memory quota; past it, dma-bufs whose
    /// last fd is gone are released first ([`Driver::settle`]) and the
    /// charge tried again, so memory nobody holds does not count.
    pub(crate) fn charge(&self, uid: u32, backing: &crate::mem::Backing, what: &str) -> Result<()> {
        match self.inner.quotas.charge(uid, backing, what) {
            Err(e) if e.errno == Errno::ENOMEM && self.settle() > 0 => self.inner.quotas.charge(uid, backing, what),
            r => r,
        }
    }

    /// Bytes of buffers `uid` holds, if it has a memory quota.
    pub fn memory_used(&self, uid: u32) -> Option<u64> {
        self.inner.quotas.used(uid)
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
            let sessions: Vec<Session> = d
                .cbs
                .iter()
                .zip(&cbs)
                .flat_map(|(c, cb)| {
                    (0..c.nsessions).map(move |_| Session {
                        cb: cb.clone(),
                        in_use: AtomicBool::new(false),
                    })
                })
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
            // The DSP knows a client by its number alone: the accel node's
            // sessions are numbered after the legacy node's slots (whose
            // clients are slot + 1), so closing a file of one node never
            // releases a session of the other.
            let first_accel_id = sessions.len() as i32;
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
                session_ids: AtomicI32::new(first_accel_id),
                offsets: Mutex::new(MmapOffsets::default()),
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
                quotas: Default::default(),
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
            poll_answered_spinning: i.domains.iter().map(|d| d.channel.poll_stats().answered_spinning).sum(),
            poll_spin_timeouts: i.domains.iter().map(|d| d.channel.poll_stats().spin_timeouts).sum(),
            proxy_answered_spinning: i
                .domains
                .iter()
                .map(|d| d.channel.poll_stats().proxy_answered_spinning)
                .sum(),
            proxy_spin_timeouts: i
                .domains
                .iter()
                .map(|d| d.channel.poll_stats().proxy_spin_timeouts)
                .sum(),
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

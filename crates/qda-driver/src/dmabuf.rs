//! dma-buf objects: every export is a real file descriptor.
//!
//! A dma-buf is identified by the file its fds refer to (`st_dev`,
//! `st_ino`). GEM and heap buffers use their backing memfd, so a plain
//! `mmap` of the exported fd shows the buffer; a udmabuf gets a descriptor
//! memfd of its size (its pages live in the user's memfds and are reached
//! through the segment list; `docs/DRIVER.md`, "dma-bufs are real file
//! descriptors").
//!
//! **Lifetime.** The kernel keeps a dma-buf alive while any file reference
//! to it exists: an fd in any process, an fd in flight in a Unix socket, or
//! a mapping. qda does the same with open-file-description (OFD) locks:
//! every export is a fresh open file description
//! (`open("/proc/self/fd/N")`) that takes a shared OFD lock on one byte far
//! past the buffer ([`sys::mark_export`]). The kernel releases such a lock
//! only when the description itself is released, i.e. on the last close,
//! munmap or in-flight drop, in whatever process. The registry pins an
//! exported object until [`Registry::settle`] probes (`F_OFD_GETLK`, one
//! syscall per pinned buffer) and finds no export lock left. This works
//! across processes, so a daemon serving many clients settles exactly.
//! (Tried before: inotify close events, which the kernel merges when two are
//! identical and consecutive; then a scan of `/proc/self/fd` and `maps`,
//! which sees one process only.)

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use sys::InternalFd;

use rustix::fs::OFlags;

use crate::dmadebug::{DeviceName, Direction, DmaDebug, DmaEntry, MapKind};
use crate::errno::{Errno, Error, Result, einval};
use crate::mem::Counter;
use crate::smmu::{ContextBank, Segment};
use crate::sys::{self, Mapping};

/// Who exported a dma-buf.
#[derive(Debug)]
pub enum Exporter {
    /// A QDA GEM object (DRM PRIME export); holds the object alive. The
    /// object is the exporter's private data, opaque to the dma-buf layer
    /// (the kernel's `dma_buf->priv`); PRIME import recognises its own
    /// exports by downcasting it (`drm_gem_prime_import_dev()` compares
    /// `dma_buf->ops` for the same purpose).
    Gem(Arc<dyn std::any::Any + Send + Sync>),
    /// A dma-heap (`/dev/dma_heap/<name>`).
    Heap(String),
    /// `/dev/udmabuf`.
    Udmabuf,
    /// Legacy `FASTRPC_IOCTL_ALLOC_DMA_BUFF` on a fastrpc node.
    Fastrpc(String),
    /// A memfd qda did not create, accepted as a dma-buf.
    Foreign,
}

impl Exporter {
    /// The `exp_name` the kernel would show in fdinfo.
    pub fn exp_name(&self) -> String {
        match self {
            Exporter::Gem(_) => "qda".into(),
            Exporter::Heap(h) => h.clone(),
            Exporter::Udmabuf => "udmabuf".into(),
            Exporter::Fastrpc(n) => n.clone(),
            Exporter::Foreign => "memfd".into(),
        }
    }
}

/// An attachment of the buffer to a device (a CB), for CPU-access syncs.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The CB.
    pub cb: Weak<ContextBank>,
    /// IOVA of the mapping.
    pub iova: u64,
    /// Length.
    pub len: u64,
}

/// udmabuf's cached CPU-access mapping (made on the first begin_cpu_access).
#[derive(Debug, Clone, Copy)]
struct CachedSg {
    dir: Direction,
    addr: u64,
}

/// Driver-wide switches that reproduce upstream behaviour for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quirks {
    /// Unmap udmabuf's cached CPU mapping with `DMA_BIDIRECTIONAL` on
    /// release, as kernels before "udmabuf: fix DMA direction mismatch in
    /// release_udmabuf()" did (the checker then reports it).
    pub udmabuf_release_bidirectional: bool,
}

/// One dma-buf.
pub struct DmaBuf {
    id: u64,
    size: u64,
    segments: Vec<Segment>,
    /// `(st_dev, st_ino)` of each segment's file, asked once at creation:
    /// the buffer holds those files open, so their identities cannot change
    /// (`None`: the `fstat` failed then, and no mapping matches it).
    segment_ids: Vec<Option<(u64, u64)>>,
    file: Arc<InternalFd>,
    ino: (u64, u64),
    exporter: Exporter,
    writable: bool,
    cpu_mappable: bool,
    name: Mutex<String>,
    attachments: Mutex<Vec<Attachment>>,
    cached_sg: Mutex<Option<CachedSg>>,
    private: Option<Box<dyn std::any::Any + Send + Sync>>,
    ctx: Arc<Shared>,
}

impl fmt::Debug for DmaBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaBuf")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("ino", &self.ino.1)
            .field("exporter", &self.exporter.exp_name())
            .finish()
    }
}

/// What every dma-buf of one driver shares: the registry, the debug checker,
/// counters and quirks.
#[derive(Debug)]
pub struct Shared {
    /// The registry.
    pub registry: Registry,
    /// The DMA-API debug checker.
    pub debug: Arc<DmaDebug>,
    /// Live dma-buf objects.
    pub live: Arc<Counter>,
    /// Behaviour switches.
    pub quirks: Quirks,
    next_id: AtomicU64,
}

impl Shared {
    /// Shared state for one driver instance.
    pub fn new(debug: Arc<DmaDebug>, quirks: Quirks) -> Result<Arc<Shared>> {
        Ok(Arc::new(Shared {
            registry: Registry::new()?,
            debug,
            live: Arc::new(Counter::default()),
            quirks,
            next_id: AtomicU64::new(1),
        }))
    }
}

/// How to build a dma-buf.
#[derive(Debug)]
pub struct NewDmaBuf {
    /// Its memory.
    pub segments: Vec<Segment>,
    /// The identity file (backing memfd, or a descriptor memfd).
    pub file: Arc<InternalFd>,
    /// Exporter.
    pub exporter: Exporter,
    /// Access mode fixed at export (`O_RDWR` vs `O_RDONLY`).
    pub writable: bool,
    /// False for `no-map` memory.
    pub cpu_mappable: bool,
    /// Exporter-private state kept alive with the buffer (`dma_buf->priv`),
    /// e.g. the CB mapping of a legacy `ALLOC_DMA_BUFF` buffer.
    pub private: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl DmaBuf {
    /// Create and register a dma-buf.
    pub fn create(ctx: &Arc<Shared>, n: NewDmaBuf) -> Result<Arc<DmaBuf>> {
        let size = n.segments.iter().map(|s| s.len).sum();
        let ino = sys::file_id(n.file.as_fd())?;
        let segment_ids = n.segments.iter().map(|s| s.file.file_id().ok()).collect();
        let buf = Arc::new(DmaBuf {
            id: ctx.next_id.fetch_add(1, Ordering::Relaxed),
            size,
            segments: n.segments,
            segment_ids,
            file: n.file,
            ino,
            exporter: n.exporter,
            writable: n.writable,
            cpu_mappable: n.cpu_mappable,
            name: Mutex::new(String::new()),
            attachments: Mutex::new(Vec::new()),
            cached_sg: Mutex::new(None),
            private: n.private,
            ctx: ctx.clone(),
        });
        ctx.registry.insert(&buf);
        ctx.live.inc();
        Ok(buf)
    }

    /// Unique id within the driver.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Memory segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// `(st_dev, st_ino)` of each segment's file, in segment order, as
    /// `fstat` gave them when the buffer was made (what `find_vma`'s file
    /// is compared with, without an `fstat` per segment on every call).
    pub fn segment_ids(&self) -> &[Option<(u64, u64)>] {
        &self.segment_ids
    }
    /// The exporter.
    pub fn exporter(&self) -> &Exporter {
        &self.exporter
    }
    /// Whether exports are `O_RDWR`.
    pub fn writable(&self) -> bool {
        self.writable
    }
    /// The identity file.
    pub fn file(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
    /// Exporter-private state.
    pub fn private(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        self.private.as_deref()
    }
    /// The name set with `DMA_BUF_SET_NAME`.
    pub fn name(&self) -> String {
        qda_rt::lock(&self.name).clone()
    }
    /// Record an attachment (for CPU-access syncs).
    pub fn attach(&self, a: Attachment) {
        qda_rt::lock(&self.attachments).push(a);
    }
    /// Forget an attachment.
    pub fn detach(&self, cb: &Arc<ContextBank>, iova: u64) {
        qda_rt::lock(&self.attachments)
            .retain(|a| !(a.iova == iova && a.cb.upgrade().is_some_and(|c| Arc::ptr_eq(&c, cb))));
    }

    /// A new fd for this buffer (a new open file description), with the
    /// access mode fixed at creation and `O_CLOEXEC` if asked.
    pub fn export(self: &Arc<Self>, cloexec: bool) -> Result<OwnedFd> {
        let mut fl = if self.writable { OFlags::RDWR } else { OFlags::RDONLY };
        if cloexec {
            fl |= OFlags::CLOEXEC;
        }
        self.ctx.registry.export(self, fl)
    }

    /// Map the buffer into this process (what `mmap` of the fd gives, and
    /// for udmabufs the assembled segments).
    pub fn map(self: &Arc<Self>, writable: bool) -> Result<Mapping> {
        if !self.cpu_mappable {
            return Err(Error::new(
                Errno::ENXIO,
                "buffer lives in a no-map region: no CPU mapping",
            ));
        }
        if writable && !self.writable {
            return Err(Error::new(Errno::EACCES, "dma-buf was exported read-only"));
        }
        // The mapping holds an export description, as a mapping of a
        // dma-buf holds the dma-buf's file.
        let desc = self.export(true)?;
        match self.segments.as_slice() {
            [s] if matches!(
                self.exporter,
                Exporter::Gem(_) | Exporter::Heap(_) | Exporter::Fastrpc(_) | Exporter::Foreign
            ) && s.file.file_id()? == self.ino =>
            {
                Mapping::map(desc.as_fd(), s.offset, s.len as usize, writable)
            }
            segs => {
                let parts: Vec<_> = segs.iter().map(|s| (s.file.fd(), s.offset, s.len)).collect();
                Mapping::assemble(&parts, writable, Some(desc.as_fd()))
            }
        }
    }

    /// `DMA_BUF_SET_NAME`: at most 31 bytes (plus the NUL).
    pub fn set_name(&self, name: &[u8]) -> Result<()> {
        let name = name.split(|b| *b == 0).next().unwrap_or_default();
        if name.len() >= qda_uapi::dma_buf::DMA_BUF_NAME_LEN {
            return Err(einval(format!("dma-buf name of {} bytes exceeds 31", name.len())));
        }
        *qda_rt::lock(&self.name) = String::from_utf8_lossy(name).into_owned();
        Ok(())
    }

    /// `DMA_BUF_IOCTL_SYNC` with the kernel's flag validation, then the
    /// exporter's begin/end_cpu_access.
    pub fn sync(&self, flags: u64) -> Result<()> {
        use qda_uapi::dma_buf::{DMA_BUF_SYNC_END, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_VALID_FLAGS_MASK};
        if flags & !DMA_BUF_SYNC_VALID_FLAGS_MASK != 0 {
            return Err(einval(format!("DMA_BUF_IOCTL_SYNC: unknown flags 0x{flags:x}")));
        }
        let dir = match flags & DMA_BUF_SYNC_RW {
            1 => Direction::FromDevice, // READ
            2 => Direction::ToDevice,   // WRITE
            3 => Direction::Bidirectional,
            _ => return Err(einval("DMA_BUF_IOCTL_SYNC: neither READ nor WRITE set")),
        };
        let end = flags & DMA_BUF_SYNC_END != 0;
        match self.exporter {
            Exporter::Udmabuf => self.udmabuf_cpu_access(dir, end),
            Exporter::Heap(_) | Exporter::Fastrpc(_) => {
                let atts = qda_rt::lock(&self.attachments).clone();
                for a in atts {
                    if let Some(cb) = a.cb.upgrade() {
                        self.ctx
                            .debug
                            .sync(&DeviceName(cb.name().to_string()), a.iova, a.len, dir, !end);
                    }
                }
                Ok(())
            }
            // drm_gem_prime's dma_buf_ops have no CPU-access hooks.
            Exporter::Gem(_) | Exporter::Foreign => Ok(()),
        }
    }

    fn udmabuf_cpu_access(&self, dir: Direction, end: bool) -> Result<()> {
        let dev = DeviceName("udmabuf".into());
        let mut c = qda_rt::lock(&self.cached_sg);
        match (*c, end) {
            (None, false) => {
                // First begin: map the cached table for the misc device with
                // this direction (the direction the fix remembers).
                let addr = self.id << 32;
                self.ctx.debug.map(DmaEntry {
                    dev,
                    kind: MapKind::Sg,
                    addr,
                    size: self.size,
                    dir,
                    nents: self.segments.len() as u32,
                    owner: None,
                    cpu_addr: None,
                });
                *c = Some(CachedSg { dir, addr });
                Ok(())
            }
            (None, true) => Err(einval("udmabuf: end_cpu_access without a prior begin")),
            (Some(sg), end) => {
                self.ctx.debug.sync(&dev, sg.addr, self.size, dir, !end);
                Ok(())
            }
        }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        if let Some(sg) = crate::sync::get_mut(&mut self.cached_sg).take() {
            let dir = if self.ctx.quirks.udmabuf_release_bidirectional {
                Direction::Bidirectional
            } else {
                sg.dir
            };
            self.ctx.debug.unmap(
                &DeviceName("udmabuf".into()),
                MapKind::Sg,
                sg.addr,
                self.size,
                dir,
                self.segments.len() as u32,
            );
        }
        self.ctx.registry.remove(self.ino, self.id);
        self.ctx.live.dec();
    }
}

#[derive(Debug)]
struct Entry {
    id: u64,
    buf: Weak<DmaBuf>,
    pin: Option<Arc<DmaBuf>>,
    /// Exports made so far: a settle only unpins if none was made while it
    /// probed.
    exports: u64,
}

/// inode → dma-buf, and the pins that exported fds hold.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<HashMap<(u64, u64), Entry>>,
    /// Exports made since the last settle: every [`SETTLE_EVERY`] exports
    /// settle, so a process that exports and frees buffers in a loop gets
    /// their memory back without anyone calling [`Driver::settle`](crate::Driver::settle).
    since_settle: std::sync::atomic::AtomicU32,
}

/// Exports between two settles made by the registry itself.
const SETTLE_EVERY: u32 = 64;

impl Registry {
    fn new() -> Result<Registry> {
        Ok(Registry::default())
    }

    fn insert(&self, buf: &Arc<DmaBuf>) {
        let mut g = qda_rt::lock(&self.inner);
        g.insert(
            buf.ino,
            Entry {
                id: buf.id,
                buf: Arc::downgrade(buf),
                pin: None,
                exports: 0,
            },
        );
    }

    fn remove(&self, ino: (u64, u64), id: u64) {
        let mut g = qda_rt::lock(&self.inner);
        if g.get(&ino).is_some_and(|e| e.id == id) {
            g.remove(&ino);
        }
    }

    fn export(&self, buf: &Arc<DmaBuf>, flags: OFlags) -> Result<OwnedFd> {
        use std::sync::atomic::Ordering;
        if self.since_settle.fetch_add(1, Ordering::Relaxed) + 1 >= SETTLE_EVERY {
            self.since_settle.store(0, Ordering::Relaxed);
            while self.settle() > 0 {}
        }
        // Pin and count before the fd exists, so a concurrent settle cannot
        // miss it.
        if let Some(e) = qda_rt::lock(&self.inner).get_mut(&buf.ino) {
            e.pin = Some(buf.clone());
            e.exports += 1;
        }
        let fd = sys::reopen(buf.file.as_fd(), flags)?;
        sys::mark_export(fd.as_fd())?;
        Ok(fd)
    }

    /// Unpin every exported dma-buf with no export description left in any
    /// process. Returns how many pins were dropped.
    pub fn settle(&self) -> usize {
        let pinned: Vec<(Arc<DmaBuf>, u64)> = qda_rt::lock(&self.inner)
            .values()
            .filter_map(|e| Some((e.pin.clone()?, e.exports)))
            .collect();
        // Probe outside the lock; a failed probe keeps the pin.
        let dead: Vec<(Arc<DmaBuf>, u64)> = pinned
            .into_iter()
            .filter(|(b, _)| matches!(sys::exports_alive(b.file.as_fd()), Ok(false)))
            .collect();
        let released: Vec<Arc<DmaBuf>> = {
            let mut g = qda_rt::lock(&self.inner);
            dead.iter()
                .filter_map(|(b, n)| {
                    let e = g.get_mut(&b.ino)?;
                    (e.id == b.id && e.exports == *n).then(|| e.pin.take()).flatten()
                })
                .collect()
        };
        // Drop outside the lock: a release re-enters the registry.
        let n = released.len();
        drop(dead);
        drop(released);
        n
    }

    /// The dma-buf an fd refers to, if it is one of ours.
    pub fn lookup(&self, fd: BorrowedFd<'_>) -> Result<Option<Arc<DmaBuf>>> {
        let ino = sys::file_id(fd)?;
        let g = qda_rt::lock(&self.inner);
        Ok(g.get(&ino).and_then(|e| e.buf.upgrade()))
    }

    /// dma-bufs pinned by exports (as of the last settle).
    pub fn pinned(&self) -> usize {
        qda_rt::lock(&self.inner).values().filter(|e| e.pin.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::{MemoryBackend, SystemBackend};
    use crate::smmu::SegFile;

    fn heap_buf(ctx: &Arc<Shared>, size: u64) -> Arc<DmaBuf> {
        let sys = SystemBackend::new("system", None, Arc::new(Counter::default()));
        let b = sys.allocate(size).unwrap();
        let file = Arc::new(InternalFd::dup(b.fd()).unwrap());
        DmaBuf::create(
            ctx,
            NewDmaBuf {
                segments: vec![Segment {
                    file: SegFile::Backing(b),
                    offset: 0,
                    len: size,
                }],
                file,
                exporter: Exporter::Heap("system".into()),
                writable: true,
                cpu_mappable: true,
                private: None,
            },
        )
        .unwrap()
    }

    /// Settle until the buffer is gone (true) or 2 s pass (false). A child
    /// another test spawns holds a copy of every fd until its exec, as with
    /// real dma-bufs, so a release may take a moment.
    fn released(ctx: &Shared, weak: &std::sync::Weak<DmaBuf>) -> bool {
        for _ in 0..200 {
            ctx.registry.settle();
            if weak.upgrade().is_none() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    /// A process exporting and freeing buffers in a loop, with nobody
    /// calling settle, holds a bounded number of them: the registry settles
    /// every SETTLE_EVERY exports.
    #[test]
    fn freed_exports_do_not_pile_up_without_a_settle() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let mut weaks = Vec::new();
        for _ in 0..(4 * SETTLE_EVERY) {
            let buf = heap_buf(&ctx, 4096);
            drop(buf.export(true).unwrap());
            weaks.push(Arc::downgrade(&buf));
        }
        let alive = weaks.iter().filter(|w| w.upgrade().is_some()).count();
        assert!(
            alive <= SETTLE_EVERY as usize + 8,
            "{alive} of {} freed exports still pinned",
            weaks.len()
        );
    }

    #[test]
    fn exported_fd_keeps_the_buffer_alive_until_closed() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        let fd = buf.export(true).unwrap();
        let weak = Arc::downgrade(&buf);
        drop(buf);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some(), "an open export pins the buffer");
        assert_eq!(
            ctx.registry.lookup(fd.as_fd()).unwrap().unwrap().id(),
            weak.upgrade().unwrap().id()
        );
        let dup = rustix::io::dup(&fd).unwrap();
        drop(fd);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some(), "a dup of the export still pins it");
        // A mapping of the fd keeps the file open too, as with a dma-buf.
        let m = Mapping::map(dup.as_fd(), 0, 4096, true).unwrap();
        drop(dup);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some(), "a mapping pins it");
        drop(m);
        assert!(released(&ctx, &weak), "released after the last close");
        assert_eq!(ctx.live.get(), 0);
    }

    #[test]
    fn an_export_held_by_another_process_keeps_the_buffer_alive() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        // Not close-on-exec: the child inherits it.
        let fd = buf.export(false).unwrap();
        let weak = Arc::downgrade(&buf);
        drop(buf);
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        drop(fd);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some(), "the child still holds the export");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(released(&ctx, &weak), "released when the child is gone");
        assert_eq!(ctx.live.get(), 0);
    }

    #[test]
    fn a_mapping_made_by_the_driver_holds_the_buffer() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        let m = buf.map(true).unwrap();
        let weak = Arc::downgrade(&buf);
        drop(buf);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some());
        drop(m);
        assert!(released(&ctx, &weak));
    }

    #[test]
    fn two_exports_both_count() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        let a = buf.export(false).unwrap();
        let b = buf.export(true).unwrap();
        let weak = Arc::downgrade(&buf);
        drop(buf);
        drop(a);
        ctx.registry.settle();
        assert!(weak.upgrade().is_some());
        assert_eq!(ctx.registry.pinned(), 1);
        drop(b);
        assert!(released(&ctx, &weak));
    }

    /// The identities `dma_offset` compares a pointer's mapping with are
    /// the segments' files', one per segment (a udmabuf-like buffer of two
    /// user memfds: neither is the identity file).
    #[test]
    fn segment_ids_are_the_segments_files() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let (a, b) = (sys::memfd("a", 8192).unwrap(), sys::memfd("b", 4096).unwrap());
        let seg = |f: &OwnedFd, offset, len| Segment {
            file: SegFile::Fd(Arc::new(InternalFd::dup(f.as_fd()).unwrap())),
            offset,
            len,
        };
        let desc = sys::memfd("d", 12288).unwrap();
        let buf = DmaBuf::create(
            &ctx,
            NewDmaBuf {
                segments: vec![seg(&a, 4096, 4096), seg(&b, 0, 4096)],
                file: Arc::new(InternalFd::dup(desc.as_fd()).unwrap()),
                exporter: Exporter::Udmabuf,
                writable: true,
                cpu_mappable: true,
                private: None,
            },
        )
        .unwrap();
        let want = [
            Some(sys::file_id(a.as_fd()).unwrap()),
            Some(sys::file_id(b.as_fd()).unwrap()),
        ];
        assert_eq!(buf.segment_ids(), want);
        assert_ne!(want[0], Some(buf.ino));
        let heap = heap_buf(&ctx, 4096);
        assert_eq!(heap.segment_ids(), [Some(heap.segments()[0].file.file_id().unwrap())]);
    }

    #[test]
    fn sync_flag_validation_matches_the_kernel() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        for ok in [1, 2, 3, 5, 6, 7] {
            buf.sync(ok).unwrap();
        }
        for bad in [0, 4, 8, 0x10, 1 << 63] {
            assert_eq!(buf.sync(bad).unwrap_err().errno, Errno::EINVAL, "flags {bad:#x}");
        }
    }

    #[test]
    fn set_name_limits() {
        let ctx = Shared::new(Arc::new(DmaDebug::new()), Quirks::default()).unwrap();
        let buf = heap_buf(&ctx, 4096);
        buf.set_name(b"camera-preview\0junk").unwrap();
        assert_eq!(buf.name(), "camera-preview");
        buf.set_name(&[b'x'; 31]).unwrap();
        assert_eq!(buf.set_name(&[b'x'; 32]).unwrap_err().errno, Errno::EINVAL);
    }
}

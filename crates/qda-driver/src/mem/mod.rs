//! The memory manager: backing memory for buffers, from pluggable backends.
//!
//! Every buffer gets a memfd of its own, so any buffer can be mapped by
//! another process (a PD, a daemon client) with no copy. A backend decides
//! *placement*: the system backend models scattered pages (no physical
//! address), the coherent backend models a `shared-dma-pool` carve-out with
//! the kernel's power-of-two first-fit allocator, the CMA backend a
//! contiguous area. Exhaustion is `ENOMEM`, exactly where the kernel's would be.

pub mod cma;
pub mod pool;

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::errno::{Errno, Error, Result};
use crate::sys::{self, PAGE_SIZE};

/// What kind of memory a backend hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Ordinary pages (the system heap; the QDA GEM default).
    System,
    /// A non-reusable `shared-dma-pool` region (coherent pool allocator).
    Coherent,
    /// A reusable (CMA) region: physically contiguous allocations.
    Cma,
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryKind::System => "system",
            MemoryKind::Coherent => "coherent",
            MemoryKind::Cma => "cma",
        })
    }
}

/// Live-object counter shared by every backing of one driver instance.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The memory of one buffer: a sealed memfd of a whole number of pages, plus
/// where the backend placed it.
pub struct Backing {
    fd: sys::InternalFd,
    size: u64,
    id: (u64, u64),
    phys: Option<u64>,
    cpu_mappable: bool,
    kind: MemoryKind,
    release: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// What lives as long as the memory (a quota charge).
    held: Mutex<Vec<Box<dyn Send + fmt::Debug>>>,
    live: Arc<Counter>,
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backing")
            .field("size", &self.size)
            .field("ino", &self.id.1)
            .field("phys", &self.phys)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Backing {
    fn new(name: &str, size: u64, kind: MemoryKind, live: &Arc<Counter>) -> Result<Backing> {
        let fd = sys::InternalFd::new(sys::memfd(name, size)?);
        let id = sys::file_id(fd.as_fd())?;
        live.inc();
        Ok(Backing {
            fd,
            size,
            id,
            phys: None,
            cpu_mappable: true,
            kind,
            release: Mutex::new(None),
            held: Mutex::new(Vec::new()),
            live: live.clone(),
        })
    }
    /// Keep `x` until the memory goes.
    pub(crate) fn hold(&self, x: Box<dyn Send + fmt::Debug>) {
        qda_rt::lock(&self.held).push(x);
    }
    /// The memfd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    /// Size in bytes (page multiple).
    pub fn size(&self) -> u64 {
        self.size
    }
    /// `(st_dev, st_ino)` of the memfd.
    pub fn file_id(&self) -> (u64, u64) {
        self.id
    }
    /// Modelled physical address (pool and CMA placements).
    pub fn phys(&self) -> Option<u64> {
        self.phys
    }
    /// False for `no-map` regions: the CPU must not map them.
    pub fn cpu_mappable(&self) -> bool {
        self.cpu_mappable
    }
    /// The backend kind that placed it.
    pub fn kind(&self) -> MemoryKind {
        self.kind
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if let Some(f) = qda_rt::lock(&self.release).take() {
            f();
        }
        self.live.dec();
    }
}

/// Usage of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes in use (including power-of-two rounding in pools).
    pub used: u64,
    /// Capacity, if bounded.
    pub total: Option<u64>,
}

/// A source of buffer memory.
pub trait MemoryBackend: Send + Sync + fmt::Debug {
    /// Kind of memory.
    fn kind(&self) -> MemoryKind;
    /// Name (the heap name or region node name).
    fn name(&self) -> &str;
    /// Allocate `size` bytes (`size` is a non-zero page multiple; callers
    /// validate and round). Exhaustion is `ENOMEM`.
    fn allocate(&self, size: u64) -> Result<Arc<Backing>>;
    /// Current usage.
    fn usage(&self) -> Usage;
}

/// `MemTotal` of this machine in bytes (read once), if `/proc/meminfo` says.
fn total_ram() -> Option<u64> {
    static RAM: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *RAM.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        kib.checked_mul(1024)
    })
}

fn check_size(size: u64) -> Result<()> {
    if size == 0 || !size.is_multiple_of(PAGE_SIZE) {
        return Err(Error::new(
            Errno::EINVAL,
            format!("allocation size {size} is not a non-zero page multiple"),
        ));
    }
    Ok(())
}

/// Ordinary pages. An optional cap models memory pressure for tests.
#[derive(Debug)]
pub struct SystemBackend {
    name: String,
    cap: Option<u64>,
    used: Arc<AtomicU64>,
    live: Arc<Counter>,
}

impl SystemBackend {
    /// A system backend; `cap` bounds the bytes it hands out at once.
    pub fn new(name: impl Into<String>, cap: Option<u64>, live: Arc<Counter>) -> Self {
        SystemBackend {
            name: name.into(),
            cap,
            used: Arc::new(AtomicU64::new(0)),
            live,
        }
    }
}

impl MemoryBackend for SystemBackend {
    fn kind(&self) -> MemoryKind {
        MemoryKind::System
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn allocate(&self, size: u64) -> Result<Arc<Backing>> {
        check_size(size)?;
        if let Some(ram) = total_ram()
            && size > ram
        {
            // The kernel's system heap would run out of pages; a sparse
            // memfd would not, and would hand out a buffer no one can back.
            return Err(Error::new(
                Errno::ENOMEM,
                format!("{}: {size} bytes requested, the machine has {ram}", self.name),
            ));
        }
        // Reserve `size` only if it fits: a size near u64::MAX (a hostile
        // length rounded up to pages) must neither overflow `used + size`
        // nor wrap the counter that concurrent allocations read.
        let cap = self.cap.unwrap_or(u64::MAX);
        if let Err(prev) = self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            used.checked_add(size).filter(|total| *total <= cap)
        }) {
            return Err(Error::new(
                Errno::ENOMEM,
                format!("{}: {size} bytes requested, {prev} of {cap} in use", self.name),
            ));
        }
        let mut b = match Backing::new(&self.name, size, MemoryKind::System, &self.live) {
            Ok(b) => b,
            Err(e) => {
                self.used.fetch_sub(size, Ordering::Relaxed);
                return Err(e);
            }
        };
        let used = self.used.clone();
        *crate::sync::get_mut(&mut b.release) = Some(Box::new(move || {
            used.fetch_sub(size, Ordering::Relaxed);
        }));
        Ok(Arc::new(b))
    }
    fn usage(&self) -> Usage {
        Usage {
            used: self.used.load(Ordering::Relaxed),
            total: self.cap,
        }
    }
}

/// A non-reusable `shared-dma-pool` region with the kernel's per-device
/// coherent allocator (power-of-two pages, naturally aligned first fit).
#[derive(Debug)]
pub struct CoherentBackend {
    name: String,
    pool: Arc<Mutex<pool::CoherentPool>>,
    no_map: bool,
    live: Arc<Counter>,
}

impl CoherentBackend {
    /// The pool over `[base, base + size)`; `no_map` regions refuse CPU mappings.
    pub fn new(name: impl Into<String>, base: u64, size: u64, no_map: bool, live: Arc<Counter>) -> Self {
        let pool = Arc::new(Mutex::new(pool::CoherentPool::new(base, size)));
        CoherentBackend {
            name: name.into(),
            pool,
            no_map,
            live,
        }
    }
}

impl MemoryBackend for CoherentBackend {
    fn kind(&self) -> MemoryKind {
        MemoryKind::Coherent
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn allocate(&self, size: u64) -> Result<Arc<Backing>> {
        check_size(size)?;
        let a = {
            let mut p = qda_rt::lock(&self.pool);
            p.alloc(size).ok_or_else(|| {
                let largest = p
                    .largest_free_order()
                    .map_or("none".to_string(), |o| format!("{} pages", 1u64 << o));
                Error::new(
                    Errno::ENOMEM,
                    format!(
                        "coherent pool {}: no free 2^{} page block for {size} bytes (largest free block: {largest})",
                        self.name,
                        pool::get_order(size)
                    ),
                )
            })?
        };
        let mut b = match Backing::new(&self.name, size, MemoryKind::Coherent, &self.live) {
            Ok(b) => b,
            Err(e) => {
                let _ = qda_rt::lock(&self.pool).free(&a);
                return Err(e);
            }
        };
        b.phys = Some(a.addr);
        b.cpu_mappable = !self.no_map;
        let pool = self.pool.clone();
        *crate::sync::get_mut(&mut b.release) = Some(Box::new(move || {
            let _ = qda_rt::lock(&pool).free(&a);
        }));
        Ok(Arc::new(b))
    }
    fn usage(&self) -> Usage {
        let p = qda_rt::lock(&self.pool);
        Usage {
            used: p.used_pages() as u64 * PAGE_SIZE,
            total: Some(p.size()),
        }
    }
}

/// A reusable region used as contiguous memory (the CMA heap).
#[derive(Debug)]
pub struct CmaBackend {
    name: String,
    area: Arc<Mutex<cma::CmaArea>>,
    live: Arc<Counter>,
}

impl CmaBackend {
    /// The area `[base, base + size)`.
    pub fn new(name: impl Into<String>, base: u64, size: u64, live: Arc<Counter>) -> Self {
        CmaBackend {
            name: name.into(),
            area: Arc::new(Mutex::new(cma::CmaArea::new(base, size))),
            live,
        }
    }
}

impl MemoryBackend for CmaBackend {
    fn kind(&self) -> MemoryKind {
        MemoryKind::Cma
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn allocate(&self, size: u64) -> Result<Arc<Backing>> {
        check_size(size)?;
        let run = qda_rt::lock(&self.area).alloc(size).ok_or_else(|| {
            Error::new(
                Errno::ENOMEM,
                format!("CMA area {}: no contiguous run of {size} bytes", self.name),
            )
        })?;
        let mut b = match Backing::new(&self.name, size, MemoryKind::Cma, &self.live) {
            Ok(b) => b,
            Err(e) => {
                qda_rt::lock(&self.area).free(run);
                return Err(e);
            }
        };
        b.phys = Some(run.addr);
        let area = self.area.clone();
        *crate::sync::get_mut(&mut b.release) = Some(Box::new(move || {
            qda_rt::lock(&area).free(run);
        }));
        Ok(Arc::new(b))
    }
    fn usage(&self) -> Usage {
        let a = qda_rt::lock(&self.area);
        Usage {
            used: a.used_bytes(),
            total: Some(a.size()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_cap_gives_enomem_and_frees() {
        let live = Arc::new(Counter::default());
        let s = SystemBackend::new("system", Some(8192), live.clone());
        let a = s.allocate(4096).unwrap();
        let b = s.allocate(4096).unwrap();
        assert_eq!(s.allocate(4096).unwrap_err().errno, Errno::ENOMEM);
        assert_eq!(live.get(), 2);
        drop(a);
        let _c = s.allocate(4096).unwrap();
        drop(b);
        assert_eq!(s.usage().used, 4096);
        assert_eq!(s.allocate(100).unwrap_err().errno, Errno::EINVAL);
    }

    #[test]
    fn coherent_places_like_the_kernel_and_frees() {
        let live = Arc::new(Counter::default());
        let c = CoherentBackend::new("dsp-pool@8b000000", 0x8b00_0000, 1 << 20, false, live.clone());
        let a = c.allocate(12288).unwrap(); // order 2 → pages 0..3
        let b = c.allocate(4096).unwrap(); // page 4
        let d = c.allocate(20480).unwrap(); // order 3 → pages 8..15
        assert_eq!(
            (a.phys(), b.phys(), d.phys()),
            (Some(0x8b00_0000), Some(0x8b00_4000), Some(0x8b00_8000))
        );
        assert_eq!(c.usage().used, (4 + 1 + 8) * 4096);
        drop((a, b, d));
        assert_eq!(c.usage().used, 0);
        assert_eq!(live.get(), 0);
        let e = c.allocate(2 << 20).unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
        assert!(e.what.contains("dsp-pool@8b000000"), "{e}");
    }

    #[test]
    fn no_map_regions_are_not_cpu_mappable() {
        let live = Arc::new(Counter::default());
        let c = CoherentBackend::new("heap@9cb80000", 0x9cb8_0000, 1 << 20, true, live);
        assert!(!c.allocate(4096).unwrap().cpu_mappable());
    }
}

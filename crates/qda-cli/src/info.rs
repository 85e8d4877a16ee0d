//! `qda info` and `qda heap`: what a platform has, from the backend in use:
//! the embedded platform (the built-in board or `--dtb`), or a running qdad
//! (the board it was started with, read back from it).

use std::os::fd::AsFd;
use std::path::Path;

use qda_driver::mem::MemoryKind;
use qda_driver::{Creds, Driver, DriverConfig, Platform};
use qda_dsp::Embedded;

fn platform(dtb: Option<&Path>) -> Result<(Platform, String), String> {
    match dtb {
        None => Ok((Platform::builtin(), "built-in".into())),
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            let plat = Platform::from_dtb(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok((plat, p.display().to_string()))
        }
    }
}

fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// Start the embedded platform for a board.
fn start(dtb: Option<&Path>) -> Result<(Embedded, String), String> {
    let (plat, src) = platform(dtb)?;
    let drv = Driver::new(DriverConfig::new(plat)).map_err(|e| format!("starting the driver: {e}"))?;
    let emb = Embedded::with_driver(drv).map_err(|e| format!("starting the DSPs: {e}"))?;
    Ok((emb, src))
}

/// Where the board comes from.
enum Source {
    Embedded(Embedded, String),
    Daemon {
        socket: std::path::PathBuf,
        info: qdad::client::Info,
        /// The daemon's board, laid out by a driver of our own (no DSPs):
        /// the same node names and CBs the daemon has.
        layout: Driver,
    },
}

impl Source {
    fn open(dtb: Option<&Path>, backend: Option<qda::BackendKind>) -> Result<Source, String> {
        use qda::BackendKind as B;
        let daemon = |why_forced: bool| -> Result<Source, String> {
            if why_forced && dtb.is_some() {
                return Err(
                    "--dtb describes a board for the embedded platform; a daemon serves the board \
                            it was started with (qda daemon --dtb FILE)"
                        .into(),
                );
            }
            let socket = qdad::client::socket_path();
            let info = qdad::client::Client::connect(&socket)
                .and_then(|c| c.info())
                .map_err(|e| e.to_string())?;
            let plat = Platform::from_dtb(&info.dtb).map_err(|e| format!("the daemon's board: {e}"))?;
            let layout = Driver::new(DriverConfig::new(plat)).map_err(|e| format!("laying out the board: {e}"))?;
            Ok(Source::Daemon { socket, info, layout })
        };
        match backend {
            Some(B::Daemon) => daemon(true),
            Some(B::Embedded) => start(dtb).map(|(e, s)| Source::Embedded(e, s)),
            Some(B::Kernel) => Err(
                "qda info and qda heap read the board from the embedded platform or qdad; \
                                    a kernel's board is in /sys/class/accel"
                    .into(),
            ),
            None if dtb.is_none() => daemon(false).or_else(|_| start(None).map(|(e, s)| Source::Embedded(e, s))),
            None => start(dtb).map(|(e, s)| Source::Embedded(e, s)),
        }
    }

    fn driver(&self) -> &Driver {
        match self {
            Source::Embedded(e, _) => &e.driver,
            Source::Daemon { layout, .. } => layout,
        }
    }

    /// Attributes 1..=6 of a domain's DSP, through its legacy node.
    fn caps(&self, node: &str) -> Option<[u32; 7]> {
        let mut out = [0u32; 7];
        match self {
            Source::Embedded(e, _) => {
                let f = e.driver.open(node, Creds::current()).ok()?;
                for (id, v) in out.iter_mut().enumerate().skip(1) {
                    *v = f.dsp_info(id as u32).unwrap_or(0);
                }
            }
            Source::Daemon { socket, .. } => {
                let f = qdad::client::DaemonFile::open(socket, node).ok()?;
                for (id, v) in out.iter_mut().enumerate().skip(1) {
                    let mut c = qda_uapi::fastrpc::FastrpcIoctlCapability {
                        attribute_id: id as u32,
                        ..Default::default()
                    };
                    if f.ioctl(qda_uapi::fastrpc::FASTRPC_IOCTL_GET_DSP_INFO, &mut c as *mut _ as u64)
                        .is_ok()
                    {
                        *v = c.capability;
                    }
                }
            }
        }
        Some(out)
    }
}

pub fn info(dtb: Option<&Path>, backend: Option<qda::BackendKind>) -> Result<(), String> {
    let src = Source::open(dtb, backend)?;
    let drv = src.driver();
    let p = drv.platform();
    match &src {
        Source::Embedded(_, from) => {
            crate::out!("backend   embedded (driver model and virtual DSPs in this process)");
            crate::out!("board     {} ({from})", p.model);
        }
        Source::Daemon { socket, info, .. } => {
            crate::out!(
                "backend   daemon: qdad pid {} on {}, user PDs as {}",
                info.pid,
                socket.display(),
                if info.thread_pds { "threads" } else { "processes" }
            );
            crate::out!("board     {} ({})", p.model, info.source);
        }
    }
    crate::out!();
    crate::out!("domains");
    for d in drv.domains() {
        let desc = &d.desc;
        let nodes: Vec<String> = drv
            .nodes()
            .iter()
            .filter(|n| match &n.kind {
                qda_driver::NodeRole::Accel { domain } | qda_driver::NodeRole::Fastrpc { domain, .. } => {
                    domain == d.label()
                }
                _ => false,
            })
            .map(|n| n.path.clone())
            .collect();
        crate::out!(
            "  {:<6} {}  channel {}  {} session{}",
            d.label(),
            nodes.join(" "),
            if desc.non_secure { "non-secure" } else { "secure" },
            desc.sessions(),
            if desc.sessions() == 1 { "" } else { "s" }
        );
        let cbs: Vec<String> = desc
            .cbs
            .iter()
            .map(|c| {
                if c.nsessions > 1 {
                    format!("{}×{}", c.sid, c.nsessions)
                } else {
                    c.sid.to_string()
                }
            })
            .collect();
        crate::out!("         context banks (SID×sessions): {}", cbs.join(", "));
        if let Some(r) = &desc.memory_region {
            crate::out!("         memory-region: {r}");
        }
        // Capabilities, asked of the DSP through GET_DSP_INFO on the legacy node.
        if let Some(node) = nodes.iter().find(|n| n.starts_with("/dev/fastrpc-"))
            && let Some(cap) = src.caps(node)
        {
            crate::out!(
                "         capabilities: arch v{:x}, HVX 64B×{} 128B×{}, VTCM {}, unsigned PD {}",
                cap[6],
                cap[2],
                cap[3],
                if cap[5] > 0 {
                    size(cap[4] as u64 * cap[5] as u64)
                } else {
                    "none".into()
                },
                if cap[1] != 0 { "yes" } else { "no" }
            );
        }
    }
    crate::out!();
    crate::out!("heaps");
    heaps(drv);
    Ok(())
}

fn heaps(drv: &Driver) {
    for h in drv.heaps() {
        let u = h.backend.usage();
        let kind = match h.backend.kind() {
            MemoryKind::System => "system".to_string(),
            MemoryKind::Coherent => "coherent pool".to_string(),
            MemoryKind::Cma => "CMA".to_string(),
        };
        let region = drv
            .platform()
            .reserved
            .iter()
            .find(|r| r.name == h.name || (r.cma_default && h.name == "default_cma_region"));
        let at = region
            .and_then(|r| r.base())
            .map_or(String::new(), |b| format!(" at 0x{b:x}"));
        let nomap = if region.is_some_and(|r| r.no_map) {
            ", no-map (no CPU mapping)"
        } else {
            ""
        };
        let total = u.total.map_or("unbounded".to_string(), size);
        crate::out!("  /dev/dma_heap/{:<32} {kind}, {total}{at}{nomap}", h.name);
    }
}

pub fn heap_list(dtb: Option<&Path>, backend: Option<qda::BackendKind>) -> Result<(), String> {
    heaps(Source::open(dtb, backend)?.driver());
    Ok(())
}

/// Parse `4096`, `64K`, `16M`, `1G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mul) = match s.trim().chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 4096, 64K, 16M)"))?;
    n.checked_mul(mul).ok_or_else(|| format!("'{s}' is too large"))
}

pub fn heap_alloc(dtb: Option<&Path>, backend: Option<qda::BackendKind>, name: &str, bytes: u64) -> Result<(), String> {
    let src = Source::open(dtb, backend)?;
    let drv = src.driver();
    let path = format!("/dev/dma_heap/{name}");
    let have = || {
        drv.heaps()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let emb = match &src {
        Source::Embedded(e, _) => e,
        Source::Daemon { socket, .. } => {
            let f = qdad::client::DaemonFile::open(socket, &path)
                .map_err(|e| format!("{path}: {e} (heaps: {})", have()))?;
            let mut a = qda_uapi::dma_heap::DmaHeapAllocationData {
                len: bytes,
                fd_flags: 2 | 0x80000,
                ..Default::default()
            };
            f.ioctl(qda_uapi::dma_heap::DMA_HEAP_IOCTL_ALLOC, &mut a as *mut _ as u64)
                .map_err(|e| format!("allocating {bytes} bytes from {name}: {e}"))?;
            let fd = qda::sys::adopt(a.fd as i32).map_err(|e| e.to_string())?;
            let got = qda_driver::sys::file_size(fd.as_fd()).map_err(|e| e.to_string())?;
            crate::out!(
                "allocated {} from {path} through qdad (dma-buf fd {} of {} bytes, freed when this command exits)",
                size(bytes),
                a.fd,
                got
            );
            return Ok(());
        }
    };
    let drv = &emb.driver;
    let heap = drv
        .open(&path, Creds::current())
        .map_err(|e| format!("{path}: {e} (heaps: {})", have()))?;
    let fd = heap
        .heap_alloc(bytes, 0, 2 | 0x80000, 0)
        .map_err(|e| format!("allocating {bytes} bytes from {name}: {e}"))?;
    let buf = drv.dmabuf(fd.as_fd()).map_err(|e| e.to_string())?;
    let h = drv.heaps().iter().find(|h| h.name == name).expect("opened");
    crate::out!(
        "allocated {} from {path} (dma-buf of {} bytes)",
        size(bytes),
        buf.size()
    );
    if let Some(phys) = buf.segments().first().and_then(|s| match &s.file {
        qda_driver::smmu::SegFile::Backing(b) => b.phys(),
        _ => None,
    }) {
        crate::out!("  placed at physical 0x{phys:x}");
    }
    let u = h.backend.usage();
    crate::out!(
        "  heap usage now {} of {}",
        size(u.used),
        u.total.map_or("unbounded".into(), size)
    );
    Ok(())
}

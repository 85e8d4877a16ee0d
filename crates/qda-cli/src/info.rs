//! `qda info` and `qda heap`: what a platform has, from the backend in use:
//! the embedded platform (the built-in board or `--dtb`), or a running qdad
//! (the board it was started with, read back from it).

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use qda_driver::mem::MemoryKind;
use qda_driver::{Driver, DriverConfig, Platform};

fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// The board of the backend in use, asked of the library, and its layout
/// by a driver model of our own (no DSPs): the same node names, CBs and
/// heaps the backend has.
struct Source {
    board: qda::Board,
    layout: Driver,
}

impl Source {
    fn open(dtb: Option<&Path>, backend: Option<qda::Backend>) -> Result<Source, String> {
        let board = qda::Board::open(backend, dtb).map_err(|e| e.to_string())?;
        let layout = match board.embedded() {
            Some(e) => e.driver.clone(),
            None => {
                let plat = Platform::from_dtb(&board.dtb).map_err(|e| format!("{}: {e}", board.source))?;
                Driver::new(DriverConfig::new(plat)).map_err(|e| format!("laying out the board: {e}"))?
            }
        };
        Ok(Source { board, layout })
    }

    fn driver(&self) -> &Driver {
        &self.layout
    }

    /// Attributes 1..=6 of a domain's DSP, through its legacy node.
    fn caps(&self, node: &str) -> Option<[u32; 7]> {
        let mut out = [0u32; 7];
        for (id, v) in out.iter_mut().enumerate().skip(1) {
            *v = self.board.dsp_info(node, id as u32).unwrap_or(0);
        }
        Some(out)
    }
}

pub fn info(dtb: Option<&Path>, backend: Option<qda::Backend>) -> Result<(), String> {
    let src = Source::open(dtb, backend)?;
    let drv = src.driver();
    let p = drv.platform();
    match &src.board.info.daemon {
        None => crate::out!("backend   embedded (driver model and virtual DSPs in this process)"),
        Some(d) => crate::out!(
            "backend   daemon: qdad pid {} on {}, user PDs as {}",
            d.pid,
            d.socket.display(),
            if d.thread_pds { "threads" } else { "processes" }
        ),
    }
    crate::out!("board     {} ({})", p.model, src.board.source);
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
    if let Some(line) = pd_sandbox(&src) {
        crate::out!();
        crate::out!("user PDs  {line}");
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

pub fn heap_list(dtb: Option<&Path>, backend: Option<qda::Backend>) -> Result<(), String> {
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

pub fn heap_alloc(dtb: Option<&Path>, backend: Option<qda::Backend>, name: &str, bytes: u64) -> Result<(), String> {
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
    if !drv.heaps().iter().any(|h| h.name == name) {
        return Err(format!("{path}: no such heap (heaps: {})", have()));
    }
    let fd = src.board.heap_alloc(name, bytes).map_err(|e| e.to_string())?;
    let Some(emb) = src.board.embedded() else {
        let got = qda_driver::sys::file_size(fd.as_fd()).map_err(|e| e.to_string())?;
        crate::out!(
            "allocated {} from {path} through qdad (dma-buf fd {} of {got} bytes, freed when this command exits)",
            size(bytes),
            fd.as_raw_fd(),
        );
        return Ok(());
    };
    let drv = &emb.driver;
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

/// How a process PD is confined on this kernel, asked of one started for
/// the purpose (embedded platform only: a daemon's PDs are its own).
fn pd_sandbox(src: &Source) -> Option<String> {
    let emb = src.board.embedded()?;
    if !emb.dsps.iter().any(|d| d.mode() == qda_dsp::PdMode::Process) {
        return Some("threads (QDA_PD_MODE=thread): unconfined, in this process".into());
    }
    let dev = qda::Device::open_with(qda::Domain::Cdsp, src.board.syscalls().clone()).ok()?;
    let _session = dev.session().ok()?;
    let (_, sb) = emb.dsps.iter().find_map(|d| d.pd_sandboxes().into_iter().next())?;
    let mut parts = Vec::new();
    for (on, what) in [
        (sb.own_session, "own session".to_string()),
        (sb.parent_death_signal, "dies with the DSP".to_string()),
        (sb.no_new_privs, "no_new_privs".to_string()),
        (sb.seccomp, "seccomp".to_string()),
        (sb.landlock, format!("Landlock ABI {}", sb.landlock_abi)),
        (sb.rlimits, "rlimits".to_string()),
    ] {
        if on {
            parts.push(what);
        }
    }
    let how = if sb.complete() {
        "sandbox complete".to_string()
    } else {
        format!("sandbox partial: {}", sb.missing)
    };
    Some(format!(
        "processes: {} ({how}); thread PDs (QDA_PD_MODE=thread) run unconfined",
        parts.join(", ")
    ))
}

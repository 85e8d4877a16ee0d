//! The emulated board as the program sees it: which device nodes, probe
//! files and directories exist, and what `stat` says of them. Started on
//! the first call that names one of its paths, from the environment `qda
//! exec` sets (so a new image after `exec` finds the same platform).

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

use qda::sys::Syscalls;
use qda::{Backend, Board};
use qda_ioctl::Target;

use crate::trace;

/// Which node kinds the program is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uapi {
    /// Only `/dev/fastrpc-*` (plus heaps and udmabuf).
    Legacy,
    /// The board's accel and legacy nodes as they are.
    Both,
    /// Legacy nodes only, each carried out as QDA accel ioctls on its
    /// domain's accel node (`qda::sys::LegacyOnAccel`): a legacy-only
    /// program on a QDA-only system.
    Accel,
}

/// One device node of the board.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Its path.
    pub path: String,
    /// What kind of file it is.
    pub target: Target,
    /// Device number `stat` reports.
    pub rdev: u64,
}

/// What a path names on the emulated board.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    /// A device node.
    Node(&'a Node),
    /// `/dev/subsys_<domain>`: a character device that only needs to exist.
    Subsys(u64),
    /// A read-only file (sysfs, device tree) with these contents.
    File(Vec<u8>),
    /// A directory of the board (not a real one).
    Dir,
}

/// The started platform.
#[derive(Debug)]
pub(crate) struct Plat {
    /// The process that started it (a forked child cannot use it).
    pub pid: u32,
    /// Embedded or daemon.
    pub backend: Backend,
    /// The board.
    pub board: Board,
    /// The system calls that reach the nodes shown: the board's, or the
    /// translation over them (`Uapi::Accel`).
    pub calls: Arc<dyn Syscalls>,
    /// The nodes shown.
    pub nodes: Vec<Node>,
    /// Domain labels, in device-tree order (remoteproc0, 1, …).
    pub domains: Vec<String>,
    /// The device tree's root `model`.
    pub model: String,
}

fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

impl Plat {
    /// The system calls that reach the nodes.
    pub fn calls(&self) -> &Arc<dyn Syscalls> {
        &self.calls
    }

    fn subsys_names(&self) -> Vec<(String, u64)> {
        let mut v = Vec::new();
        for (i, d) in self.domains.iter().enumerate() {
            v.push((format!("subsys_{d}"), makedev(240, i as u64)));
            // libfastrpc stats the sensors DSP as "slpi".
            if d == "sdsp" {
                v.push(("subsys_slpi".to_string(), makedev(240, 64 + i as u64)));
            }
        }
        v
    }

    /// What `path` (absolute, normalized) names, if it is the board's.
    pub fn lookup(&self, path: &str) -> Option<Entry<'_>> {
        if let Some(n) = self.nodes.iter().find(|n| n.path == path) {
            return Some(Entry::Node(n));
        }
        if let Some(name) = path.strip_prefix("/dev/")
            && let Some((_, rdev)) = self.subsys_names().into_iter().find(|(n, _)| n == name)
        {
            return Some(Entry::Subsys(rdev));
        }
        if path == "/sys/firmware/devicetree/base/model" {
            let mut m = self.model.clone().into_bytes();
            m.push(0);
            return Some(Entry::File(m));
        }
        if let Some(rest) = path.strip_prefix("/sys/class/remoteproc/remoteproc") {
            let (num, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let i: usize = num.parse().ok().filter(|_| !num.starts_with('+'))?;
            let label = self.domains.get(i)?;
            return match tail {
                "" => Some(Entry::Dir),
                "name" => Some(Entry::File(format!("{label}\n").into_bytes())),
                _ => None,
            };
        }
        self.children(path).map(|_| Entry::Dir)
    }

    /// The entries of a directory of the board (`/dev` lists only what the
    /// board adds to it), with their `d_type`.
    pub fn children(&self, path: &str) -> Option<Vec<(String, u8)>> {
        let under = |dir: &str| -> Vec<(String, u8)> {
            self.nodes
                .iter()
                .filter_map(|n| n.path.strip_prefix(dir)?.strip_prefix('/'))
                .filter(|rest| !rest.contains('/'))
                .map(|rest| (rest.to_string(), libc::DT_CHR))
                .collect()
        };
        let v = match path {
            "/dev" => {
                let mut v = under("/dev");
                for sub in ["accel", "dma_heap"] {
                    if self.nodes.iter().any(|n| n.path.starts_with(&format!("/dev/{sub}/"))) {
                        v.push((sub.to_string(), libc::DT_DIR));
                    }
                }
                v.extend(self.subsys_names().into_iter().map(|(n, _)| (n, libc::DT_CHR)));
                v
            }
            "/dev/accel" | "/dev/dma_heap" => {
                let v = under(path);
                if v.is_empty() {
                    return None;
                }
                v
            }
            "/sys/class/remoteproc" => (0..self.domains.len())
                .map(|i| (format!("remoteproc{i}"), libc::DT_DIR))
                .collect(),
            "/sys/firmware/devicetree" => vec![("base".to_string(), libc::DT_DIR)],
            "/sys/firmware/devicetree/base" => vec![("model".to_string(), libc::DT_REG)],
            p if p.starts_with("/sys/class/remoteproc/remoteproc") => {
                let i: usize = p["/sys/class/remoteproc/remoteproc".len()..].parse().ok()?;
                self.domains.get(i)?;
                vec![("name".to_string(), libc::DT_REG)]
            }
            _ => return None,
        };
        Some(v)
    }
}

/// Whether a normalized absolute path could be the board's (checked before
/// the platform is started, so unrelated files never start it).
pub fn candidate(path: &str) -> bool {
    const DEV: &[&str] = &[
        "/dev/fastrpc-",
        "/dev/accel",
        "/dev/dma_heap",
        "/dev/udmabuf",
        "/dev/subsys_",
    ];
    DEV.iter().any(|p| path.starts_with(p))
        || path.starts_with("/sys/class/remoteproc")
        || path.starts_with("/sys/firmware/devicetree")
}

/// The platform's state in this process.
#[derive(Debug)]
enum State {
    Uninit,
    Ready(Arc<Plat>),
    Failed(String),
}

static STATE: Mutex<State> = Mutex::new(State::Uninit);

thread_local! {
    /// Set while this thread starts the platform: what the start itself
    /// opens is never the board's.
    static STARTING: Cell<bool> = const { Cell::new(false) };
}

/// Lock the state (held across `fork` by [`crate::fork`]).
pub(crate) fn lock_state() -> MutexGuard<'static, impl Sized> {
    qda_rt::lock(&STATE)
}

/// The platform, started on first use; `None` when it cannot be started
/// (said once on stderr) or while it is being started by this thread.
pub fn get() -> Option<Arc<Plat>> {
    if STARTING.with(Cell::get) {
        return None;
    }
    let mut st = qda_rt::lock(&STATE);
    if let State::Ready(p) = &*st {
        if p.pid == crate::pid() {
            return Some(p.clone());
        }
        // A forked child: the parent's platform is the parent's. Its memory
        // is copied here but its threads (embedded) are not, and its daemon
        // connections are the parent's streams: leave it untouched, forever.
        let p = match std::mem::replace(&mut *st, State::Uninit) {
            State::Ready(p) => p,
            _ => unreachable!(),
        };
        let backend = p.backend;
        std::mem::forget(p);
        if backend == Backend::Embedded {
            let e = "a forked child cannot reach its parent's embedded platform (it lives in the parent's \
                     memory and threads): the child's device nodes are gone until it execs; run with \
                     --backend daemon to share one platform between processes";
            eprintln!("qda-preload[{}]: {e}", crate::pid());
            *st = State::Failed(e.into());
        }
    }
    match &*st {
        State::Ready(p) => Some(p.clone()),
        State::Failed(e) => {
            trace!("no platform: {e}");
            None
        }
        State::Uninit => {
            STARTING.with(|s| s.set(true));
            let r = start();
            STARTING.with(|s| s.set(false));
            match r {
                Ok(p) => {
                    trace!(
                        "platform: {} ({}), nodes {:?}",
                        p.backend,
                        p.board.source,
                        p.nodes.iter().map(|n| n.path.as_str()).collect::<Vec<_>>()
                    );
                    let p = Arc::new(p);
                    *st = State::Ready(p.clone());
                    Some(p)
                }
                Err(e) => {
                    eprintln!("qda-preload: the board's device nodes are not shown: {e}");
                    *st = State::Failed(e);
                    None
                }
            }
        }
    }
}

/// The platform if it was already started (never starts it).
pub fn started() -> Option<Arc<Plat>> {
    match &*qda_rt::lock(&STATE) {
        State::Ready(p) if p.pid == crate::pid() => Some(p.clone()),
        _ => None,
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The node kinds shown (`QDA_PRELOAD_UAPI`).
pub fn uapi() -> Result<Uapi, String> {
    match env("QDA_PRELOAD_UAPI").as_deref() {
        None | Some("both") => Ok(Uapi::Both),
        Some("legacy") => Ok(Uapi::Legacy),
        Some("accel") => Ok(Uapi::Accel),
        Some(v) => Err(format!("QDA_PRELOAD_UAPI={v}: expected legacy, accel or both")),
    }
}

/// The backend: `QDA_PRELOAD_BACKEND`, else `QDA_BACKEND` unless it says
/// kernel (under the shim a program's own library is told to make real
/// system calls), else a qdad that answers, else the embedded platform.
fn start() -> Result<Plat, String> {
    let uapi = uapi()?;
    let forced = match env("QDA_PRELOAD_BACKEND").or_else(|| env("QDA_BACKEND").filter(|b| b != "kernel")) {
        None => None,
        Some(b) => match b.parse::<Backend>().map_err(|e| e.to_string())? {
            Backend::Kernel => {
                return Err(
                    "QDA_PRELOAD_BACKEND=kernel: the shim emulates a board; on a kernel with \
                 the devices run the program directly"
                        .into(),
                );
            }
            b => Some(b),
        },
    };
    let dtb = env("QDA_PRELOAD_DTB").map(std::path::PathBuf::from);
    let board = match forced {
        Some(b) => Board::open(Some(b), dtb.as_deref()),
        None if dtb.is_some() => Board::open(Some(Backend::Embedded), dtb.as_deref()),
        None => Board::open(Some(Backend::Daemon), None).or_else(|_| Board::open(Some(Backend::Embedded), None)),
    }
    .map_err(|e| e.to_string())?;
    let backend = board.info.backend;
    if let Some(emb) = board.embedded().filter(|_| crate::tracing()) {
        // What reaches the DSP, below the program's ioctls (through qdad:
        // `qda daemon --trace`).
        emb.driver
            .set_tracer(Some(Arc::new(|c: &qda_driver::fastrpc::CallTrace<'_>| {
                let lens: Vec<String> = c
                    .lens
                    .iter()
                    .zip(c.by_fd.iter().chain(std::iter::repeat(&false)))
                    .map(|(l, fd)| if *fd { format!("{l} fd") } else { l.to_string() })
                    .collect();
                let result = match c.result {
                    Ok(v) => format!("{:#x}", v as u32),
                    Err(e) => format!("errno {}", e.0),
                };
                trace!(
                    "  dsp {} {} handle {:#x} sc {:#010x} [{}] = {result} in {:.0?}",
                    c.domain,
                    if c.kernel { "kernel call" } else { "invoke" },
                    c.msg.handle,
                    c.msg.sc,
                    lens.join(", "),
                    c.elapsed
                );
            })));
    }
    let calls: Arc<dyn Syscalls> = match uapi {
        Uapi::Accel if crate::tracing() => Arc::new(qda::sys::LegacyOnAccel::new(Arc::new(crate::below::Below::new(
            board.syscalls().clone(),
        )))),
        Uapi::Accel => Arc::new(qda::sys::LegacyOnAccel::new(board.syscalls().clone())),
        Uapi::Legacy | Uapi::Both => board.syscalls().clone(),
    };
    let mut paths: Vec<String> = match board.embedded() {
        Some(emb) => emb.driver.nodes().iter().map(|n| n.path.clone()).collect(),
        None => qdad_client::Client::connect(&qdad_client::socket_path())
            .and_then(|c| c.nodes())
            .map_err(|e| format!("asking qdad for its nodes: {e}"))?
            .into_iter()
            .map(|(p, _)| p)
            .collect(),
    };
    if uapi == Uapi::Accel {
        // The legacy names come from the translation; the board's own
        // legacy and accel nodes are not shown.
        paths.retain(|p| !matches!(Target::of_path(p), Some(Target::Fastrpc | Target::Accel)));
        paths.extend(calls.fastrpc_nodes());
    }
    let platform = qda_driver::Platform::from_dtb(&board.dtb).map_err(|e| format!("{}: {e}", board.source))?;
    let mut nodes = Vec::new();
    let (mut accel, mut misc, mut heap) = (0u64, 0u64, 0u64);
    for path in paths {
        let Some(target) = Target::of_path(&path) else { continue };
        let rdev = match target {
            Target::Accel if uapi != Uapi::Both => continue,
            Target::Accel => {
                accel += 1;
                makedev(261, accel - 1)
            }
            Target::Fastrpc => {
                misc += 1;
                makedev(10, 100 + misc)
            }
            Target::DmaHeap => {
                heap += 1;
                makedev(250, heap - 1)
            }
            Target::Udmabuf => makedev(10, 125),
            Target::DmaBuf => continue,
        };
        nodes.push(Node { path, target, rdev });
    }
    Ok(Plat {
        pid: crate::pid(),
        backend,
        domains: platform.domains.iter().map(|d| d.label.clone()).collect(),
        model: platform.model,
        nodes,
        board,
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_only_the_boards_trees() {
        for p in [
            "/dev/fastrpc-cdsp",
            "/dev/accel/accel0",
            "/dev/dma_heap/system",
            "/dev/subsys_cdsp",
        ] {
            assert!(candidate(p), "{p}");
        }
        for p in ["/dev/null", "/etc/passwd", "/sys/class/net", "/devx/fastrpc-cdsp"] {
            assert!(!candidate(p), "{p}");
        }
    }

    #[test]
    fn device_numbers_encode_as_glibc_makedev() {
        assert_eq!(makedev(10, 101), (10 << 8) | 101);
        assert_eq!(makedev(261, 3), (261 << 8) | 3);
        assert_eq!(
            makedev(250, 300),
            (250 << 8) | (300 & 0xff) | ((300 & 0xffff_ff00) << 12)
        );
    }
}

//! How a daemon is run: its board, socket, group and bounds.

use super::*;
use crate::policy::Policy;

/// [`Config::answer_spin`] by default: about a 64 KiB inline call's time
/// on the DSP side here, far short of a futex wake-up's worst.
pub const DEFAULT_ANSWER_SPIN: Duration = Duration::from_micros(50);

/// How to run a daemon.
#[derive(Debug, Clone)]
pub struct Config {
    /// A device tree blob (default: the built-in board).
    pub dtb: Option<PathBuf>,
    /// Where to listen.
    pub socket: PathBuf,
    /// Log every FastRPC call, decoded, on stderr.
    pub trace: bool,
    /// How user PDs run (default: `QDA_PD_MODE`, else processes).
    pub pd_mode: Option<PdMode>,
    /// The group that may connect besides the daemon's user: the socket is
    /// made 0660 with this group, its directory 0750 (default: the user only).
    pub group: Option<u32>,
    /// Bounds on what clients can make the daemon hold.
    pub limits: Limits,
    /// Who may do what (default: [`Policy::default_for_daemon`]).
    pub policy: Option<Policy>,
    /// The QDA UAPI revision the accel nodes answer (`--uapi-revision`);
    /// default: `QDA_UAPI_REVISION`, else the board's `qda,uapi-revision`,
    /// else May 2026.
    pub uapi_revision: Option<qda_uapi::qda::Revision>,
    /// How long a daemon thread making a client's sleep-mode call spins for
    /// the DSP's answer before it sleeps (`--answer-spin-us`; `None`: not
    /// at all). The client sleeps on its own; without the spin the
    /// daemon's thread would sleep too, and each call would pay its
    /// wake-up on top of the client's. Gated as poll mode's spins are
    /// (`qda_rt::handoff::SpinGate`): off for a while on a busy machine.
    pub answer_spin: Option<Duration>,
    /// Test hook: a request with this ioctl number panics in its handler.
    #[doc(hidden)]
    pub panic_on_cmd: Option<u32>,
}

/// `--uapi-revision V`: the QDA UAPI revision `V` names, or one line
/// saying what is expected.
pub fn parse_uapi_revision(v: &str) -> Result<qda_uapi::qda::Revision, String> {
    qda_driver::driver::parse_uapi_revision(v, "--uapi-revision").map_err(|e| e.what.into_owned())
}

/// A group by name (looked up in `/etc/group`) or by number.
pub fn group_id(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let groups = std::fs::read_to_string("/etc/group").map_err(|e| format!("reading /etc/group: {e}"))?;
    groups
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let gid = f.nth(1)?.parse().ok()?;
            Some((n, gid))
        })
        .find(|(n, _)| *n == name)
        .map(|(_, g)| g)
        .ok_or_else(|| format!("no group '{name}' in /etc/group"))
}

/// Bounds on what clients can make the daemon hold (`docs/DAEMON.md`,
/// "Limits").
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Fds received and not yet released, for all clients (default: half
    /// the raised `RLIMIT_NOFILE`).
    pub fd_budget: Option<usize>,
    /// Calls that may block on a DSP running at once for one connection;
    /// past it the connection is not read until one ends (backpressure).
    pub calls_per_connection: usize,
    /// The same, for all connections together.
    pub calls_total: usize,
    /// How long a message's body may take to arrive after its header.
    pub body_deadline: Duration,
    /// Request bodies held at once, all clients together (each is at most
    /// 128 MiB); past it a request is refused with `ENOMEM`.
    pub buffered_bytes: u64,
    /// How long a reply may wait for a client that does not read; then the
    /// connection is closed.
    pub send_timeout: Duration,
    /// Features offered at open ([`qdad_client::wire::FEATURES`] by
    /// default; 0 answers as a daemon from before them).
    pub features: u32,
    /// Fds each connection's fd cache holds at most (least recently used
    /// go first).
    pub fd_cache: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fd_budget: None,
            calls_per_connection: 16,
            calls_total: 48,
            body_deadline: Duration::from_secs(2),
            buffered_bytes: 512 << 20,
            send_timeout: Duration::from_secs(10),
            features: qdad_client::wire::FEATURES,
            fd_cache: 64,
        }
    }
}

impl Config {
    /// The defaults: built-in board, [`qdad_client::default_socket`].
    pub fn new() -> Config {
        Config {
            dtb: None,
            socket: qdad_client::default_socket(),
            trace: false,
            pd_mode: None,
            group: None,
            limits: Limits::default(),
            policy: None,
            uapi_revision: None,
            answer_spin: Some(DEFAULT_ANSWER_SPIN),
            panic_on_cmd: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

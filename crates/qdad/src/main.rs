//! `qdad`: the qda daemon. See `qdad --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// qdad — one emulated QDA platform (driver model and a virtual DSP per
/// domain) shared by many processes, as a kernel driver is.
///
/// Every device node of the platform (/dev/accel/accelN, /dev/fastrpc-*,
/// /dev/dma_heap/*, /dev/udmabuf) is served on one Unix socket. A
/// connection is an open file: a client that exits or crashes closes it,
/// and everything it held is freed. Clients (the qda library, `qda` itself)
/// find the daemon through QDA_SOCKET or the default socket.
///
/// Examples:
///   qdad                                   built-in board, default socket
///   qdad --socket /tmp/q.sock --trace      log every FastRPC call
///   QDA_SOCKET=/tmp/q.sock qda run calculator
///
/// SIGTERM, SIGINT or SIGHUP shut it down in order: no new clients, every
/// client's file closed (calls in flight interrupted), DSPs stopped, socket
/// removed.
#[derive(Debug, Parser)]
#[command(name = "qdad", version, about, long_about, verbatim_doc_comment)]
struct Args {
    /// A device tree blob describing the board (default: the built-in board).
    #[arg(long)]
    dtb: Option<PathBuf>,
    /// The socket to listen on (default: $XDG_RUNTIME_DIR/qda/qdad.sock,
    /// else /run/qda/qdad.sock).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Log every FastRPC call on stderr, decoded: domain, client, handle,
    /// method, scalars, argument sizes, result and time (the `qda::trace`
    /// target; QDA_LOG or RUST_LOG filter everything else, e.g.
    /// QDA_LOG=debug).
    #[arg(long)]
    trace: bool,
    /// A group (name or number) whose members may connect too: the socket
    /// is made 0660 with that group and its directory 0750. Without it only
    /// the daemon's user (and root) can connect (0600).
    #[arg(long)]
    group: Option<String>,
    /// A policy file (TOML): trusted uids, what other uids may do (secure
    /// nodes, root/sensors/static PDs, unsigned PDs) and their quotas.
    /// Default: the daemon's user and root are trusted; others may run
    /// user PDs on non-secure nodes, 8 files and 16 calls each.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Run PD hosts (clients' skels) as this user (`NAME` or `UID:GID`),
    /// not as the daemon's: for a daemon started as root. Never root.
    #[arg(long)]
    pd_user: Option<String>,
    /// The QDA UAPI revision the accel nodes answer: 2026-05 (the May 2026
    /// posting: buffers by dma-buf fd) or 2026-02 (the Feb 2026 RFC:
    /// buffers by GEM handle, as libfastrpc's accel backend passes them).
    /// Default: QDA_UAPI_REVISION, else the board's `qda,uapi-revision`,
    /// else 2026-05.
    #[arg(long, value_name = "2026-02|2026-05")]
    uapi_revision: Option<String>,
    /// How long a daemon thread that makes a client's sleep-mode call
    /// spins for the DSP's answer before it sleeps, in µs (0: never). The
    /// client sleeps either way; the spin spares it the daemon thread's
    /// wake-up on top of its own (a 64 KiB inline call: about a fifth
    /// faster here). Spins stop for a while when the machine is busy.
    #[arg(long, value_name = "US", default_value_t = qdad::server::DEFAULT_ANSWER_SPIN.as_micros() as u64)]
    answer_spin_us: u64,
}

fn main() -> ExitCode {
    // A PD host started from this binary serves its PD and never returns.
    qda_dsp::pd_host::run_if_requested();
    let a = Args::parse();
    qdad::log::init(a.trace);
    let group = match a.group.as_deref().map(qdad::server::group_id).transpose() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("qdad: --group: {e}");
            return ExitCode::FAILURE;
        }
    };
    match a.pd_user.as_deref().map(qda_dsp::pd_host::PdUser::parse).transpose() {
        Ok(u) => qda_dsp::pd_host::run_pd_hosts_as(u),
        Err(e) => {
            eprintln!("qdad: --pd-user: {e}");
            return ExitCode::FAILURE;
        }
    }
    let policy = match a.policy.as_deref().map(qdad::policy::Policy::from_file).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("qdad: --policy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let uapi_revision = match a
        .uapi_revision
        .as_deref()
        .map(qdad::server::parse_uapi_revision)
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qdad: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = qdad::server::Config {
        policy,
        uapi_revision,
        dtb: a.dtb,
        socket: a.socket.unwrap_or_else(qdad::client::default_socket),
        trace: a.trace,
        group,
        answer_spin: (a.answer_spin_us > 0).then(|| std::time::Duration::from_micros(a.answer_spin_us)),
        ..qdad::server::Config::new()
    };
    match qdad::server::run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qdad: {e}");
            ExitCode::FAILURE
        }
    }
}

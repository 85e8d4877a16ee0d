//! The daemon: hosts one platform (driver model and a virtual DSP per
//! domain) and serves its device nodes on a Unix socket. A connection is an
//! open file, read by a thread of an elastic pool; a call that may wait for
//! a DSP runs on the thread that read it, which first hands the reading on. A client that goes away is a file that
//! closes: its calls are interrupted, its file released, its dma-bufs
//! settled.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use qda_driver::fastrpc::CallTrace;
use qda_driver::sys::MapInfo;
use qda_driver::{Creds, Driver, DriverConfig, File, Place, Platform, SegmentMemory, SharedBytes, UserMemory};
use qda_dsp::{Embedded, PdMode};
use qda_rt::{Workers, lock, wait_timeout};

use crate::policy::Policy;

use crate::log::TRACE_TARGET;
use zerocopy::IntoBytes;

use qdad_client::wire::{
    self, CachedFd, FEATURE_FD_CACHE, FEATURE_RING, Header, InfoRsp, IoctlReq, IoctlRsp, MAX_FDS, MAX_PATH, MAX_SEGS,
    MAX_VMAS, Message, MmapFileReq, Op, OpenRsp, RSP_FDS_CACHED, RSP_RESEND_FDS, Reader, SEG_IN, SEG_OUT, Seg, Vma,
    WireError,
};

/// The built-in board as a device tree blob (what `qda info` reads back).
const BUILTIN_DTB: &[u8] = qda_driver::platform::BUILTIN_DTB;

/// Traffic counters.
#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    fds_in: AtomicU64,
    fds_out: AtomicU64,
    /// Fds received for requests still running (the budget's use).
    fds_held: AtomicUsize,
    /// Body bytes of requests still running (the buffered-bytes cap's use).
    bytes_held: AtomicU64,
    /// Fds held in connections' fd caches.
    fds_cached: AtomicUsize,
    /// Requests taken from shared-memory rings.
    ring_requests: AtomicU64,
}

struct Shared {
    emb: Embedded,
    dtb: Vec<u8>,
    source: String,
    pd_mode: PdMode,
    socket: PathBuf,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Signalled when a connection ends.
    gone: Condvar,
    next_conn: AtomicU64,
    pool: Workers<Box<dyn FnOnce() + Send>>,
    counters: Counters,
    fd_budget: usize,
    limits: Limits,
    /// Blocking calls running, all connections.
    calls: AtomicUsize,
    panic_on_cmd: Option<u32>,
    trace: bool,
    stopping: AtomicBool,
    /// Idle connections wait here, costing no thread: one thread waits on
    /// all of them and hands a connection to the pool when it has data.
    epoll: OwnedFd,
    events_stop: AtomicBool,
    /// The socket file is the daemon's to remove (not systemd's).
    owns_socket: bool,
    policy: Policy,
    /// Per uid: device files open, calls in flight (the policy's quotas).
    uids: Mutex<HashMap<u32, Arc<UidUse>>>,
}

/// What one uid holds.
#[derive(Debug, Default)]
struct UidUse {
    files: AtomicUsize,
    calls: AtomicUsize,
    fds: AtomicUsize,
    /// Of `fds`, those held in its connections' fd caches.
    cached: AtomicUsize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("socket", &self.socket)
            .field("source", &self.source)
            .finish()
    }
}

#[derive(Debug)]
struct Conn {
    id: u64,
    sock: UnixStream,
    send: Mutex<()>,
    creds: Creds,
    file: Mutex<Option<File>>,
    /// Threads running this connection's calls (to interrupt on close).
    inflight: Mutex<HashSet<i32>>,
    /// Blocking calls of this connection running.
    calls: AtomicUsize,
    closed: AtomicBool,
    /// Its open file counts against its uid's quota.
    counted: AtomicBool,
    /// What its uid may do (the policy, read once at accept).
    rights: crate::policy::Rights,
    /// What its uid holds, shared by all the uid's connections.
    uid_use: Arc<UidUse>,
    /// Features turned on ([`Op::Setup`]).
    features: AtomicU32,
    /// Reopened descriptions of the fds it passed (with the fd cache).
    fd_cache: Mutex<FdCache>,
    /// Its shared-memory ring (with the ring).
    ring: OnceLock<ConnRing>,
    /// Its file's poll budget in µs, as its last poll-mode ioctl set it.
    poll_us: AtomicU32,
}

/// A blocking call running, counted for its connection and in total until
/// its reply is sent.
#[derive(Debug)]
struct CallSlot {
    sh: Arc<Shared>,
    conn: Arc<Conn>,
}

impl CallSlot {
    fn new(sh: &Arc<Shared>, conn: &Arc<Conn>) -> CallSlot {
        conn.calls.fetch_add(1, Ordering::SeqCst);
        sh.calls.fetch_add(1, Ordering::SeqCst);
        conn.uid_use.calls.fetch_add(1, Ordering::SeqCst);
        CallSlot {
            sh: sh.clone(),
            conn: conn.clone(),
        }
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.conn.calls.fetch_sub(1, Ordering::SeqCst);
        self.sh.calls.fetch_sub(1, Ordering::SeqCst);
        self.conn.uid_use.calls.fetch_sub(1, Ordering::SeqCst);
    }
}

thread_local! {
    /// The client a pool thread works for (for the trace).
    static CLIENT: std::cell::Cell<(u64, i32)> = const { std::cell::Cell::new((0, 0)) };
}

/// A running daemon.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    /// The listening socket, to wake the accept loop at stop (shutting it
    /// down fails a blocked `accept`, whether or not the path still exists).
    listener: Option<OwnedFd>,
    accept: Option<std::thread::JoinHandle<()>>,
    events: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Boot the platform and listen. Fails if another daemon answers on the
    /// socket; a stale socket file is replaced.
    pub fn start(cfg: Config) -> Result<Server, String> {
        let (platform, dtb, source) = match &cfg.dtb {
            None => (Platform::builtin(), BUILTIN_DTB.to_vec(), "built-in".to_string()),
            Some(p) => {
                let bytes = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
                let plat = Platform::from_dtb(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
                (plat, bytes, p.display().to_string())
            }
        };
        let policy = cfg.policy.clone().unwrap_or_else(Policy::default_for_daemon);
        // The PD hosts this daemon starts get the policy's limits.
        qda_dsp::pd_host::set_pd_limits(policy.pd_limits);
        // The QDA UAPI revision: --uapi-revision, else QDA_UAPI_REVISION,
        // else the board's `qda,uapi-revision`, else the default.
        let mut dcfg = DriverConfig::new(platform);
        match cfg.uapi_revision {
            Some(r) => dcfg.qda_revision = r,
            None => dcfg = dcfg.with_env().map_err(|e| e.to_string())?,
        }
        let driver = Driver::new(dcfg).map_err(|e| format!("starting the driver: {e}"))?;
        let pd_mode = cfg.pd_mode.unwrap_or_else(PdMode::from_env);
        let emb = Embedded::with_mode(driver, pd_mode).map_err(|e| format!("starting the DSPs: {e}"))?;
        for d in emb.driver.domains() {
            d.channel.set_proxy_spin(cfg.answer_spin);
        }
        // Socket activation: systemd made the socket and owns its file.
        let (listener, owns_socket) = match crate::sys::activation_listener() {
            Some(l) => (l, false),
            None => (bind(&cfg.socket, cfg.group)?, true),
        };
        let fd_budget = cfg.limits.fd_budget.unwrap_or_else(|| raise_fd_limit() / 2);
        let shared = Arc::new(Shared {
            pd_mode: emb.dsps.first().map_or(pd_mode, |d| d.mode()),
            emb,
            dtb,
            source,
            socket: cfg.socket.clone(),
            conns: Mutex::new(HashMap::new()),
            gone: Condvar::new(),
            next_conn: AtomicU64::new(1),
            pool: Workers::new("qdad-call".into(), |job: Box<dyn FnOnce() + Send>| job()),
            counters: Counters::default(),
            fd_budget,
            limits: cfg.limits,
            calls: AtomicUsize::new(0),
            panic_on_cmd: cfg.panic_on_cmd,
            trace: cfg.trace || crate::log::tracing_calls(),
            stopping: AtomicBool::new(false),
            epoll: rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC)
                .map_err(|e| format!("creating an epoll instance: {e}"))?,
            events_stop: AtomicBool::new(false),
            owns_socket,
            policy,
            uids: Mutex::new(HashMap::new()),
        });
        if shared.trace {
            shared
                .emb
                .driver
                .set_tracer(Some(Arc::new(move |c: &CallTrace<'_>| trace_call(c))));
        }
        let sh = shared.clone();
        let events = std::thread::Builder::new()
            .name("qdad-events".into())
            .spawn(move || event_loop(&sh))
            .map_err(|e| format!("starting the event thread: {e}"))?;
        let wake =
            rustix::io::fcntl_dupfd_cloexec(&listener, 0).map_err(|e| format!("keeping the listening socket: {e}"))?;
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("qdad-accept".into())
            .spawn(move || accept_loop(&sh, listener))
            .map_err(|e| format!("starting the accept thread: {e}"))?;
        Ok(Server {
            shared,
            listener: Some(wake),
            accept: Some(accept),
            events: Some(events),
        })
    }

    /// The socket it listens on.
    pub fn socket(&self) -> &Path {
        &self.shared.socket
    }

    /// The platform it hosts.
    pub fn embedded(&self) -> &Embedded {
        &self.shared.emb
    }

    /// Live-object counts and traffic counters (settles dma-bufs first).
    pub fn stats(&self) -> Vec<(String, u64)> {
        stats(&self.shared)
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// Ordered shutdown: stop accepting, close every client's file
    /// (interrupting its calls), wait for running calls (at most `grace`),
    /// stop the DSPs, remove the socket. Returns the final counts.
    pub fn shutdown(mut self, grace: Duration) -> Vec<(String, u64)> {
        self.stop(grace)
    }

    fn stop(&mut self, grace: Duration) -> Vec<(String, u64)> {
        let sh = &self.shared;
        if sh.stopping.swap(true, Ordering::SeqCst) {
            return stats(sh);
        }
        // 1. No new clients: wake the accept loop. Our own socket is shut
        //    down (its path may be gone); one systemd passed us is not ours
        //    to shut (it serves the next start): a connection wakes it.
        if let Some(l) = self.listener.take() {
            if sh.owns_socket {
                let _ = rustix::net::shutdown(&l, rustix::net::Shutdown::Both);
            } else {
                let _ = UnixStream::connect(&sh.socket);
            }
        }
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        // 2. Close every client's connection: its reader sees the end and
        //    releases the file, interrupting calls in flight.
        let conns: Vec<Arc<Conn>> = sh
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for c in &conns {
            let _ = rustix::net::shutdown(c.sock.as_fd(), rustix::net::Shutdown::Both);
        }
        drop(conns);
        // 3. Wait for the readers and calls to finish.
        let deadline = Instant::now() + grace;
        let mut g = lock(&sh.conns);
        while !g.is_empty() && Instant::now() < deadline {
            g = wait_timeout(&sh.gone, g, Duration::from_millis(50)).0;
        }
        drop(g);
        sh.events_stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.events.take() {
            let _ = t.join();
        }
        // 4. Stop the DSPs (every PD process exits), settle, count.
        let st = stats(sh);
        for d in sh.emb.driver.domains() {
            d.channel.restart();
        }
        sh.emb.driver.set_tracer(None);
        // 5. The socket file goes last: until now a client got a clear refusal.
        if sh.owns_socket {
            let _ = std::fs::remove_file(&sh.socket);
        }
        st
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Run a daemon until SIGTERM, SIGINT or SIGHUP, then shut down in order.
/// Prints where it listens and, at the end, the final counts.
pub fn run(cfg: Config) -> Result<(), String> {
    // Before any thread starts, so every thread inherits the mask and the
    // signals are taken by sigwait only.
    crate::sys::block_shutdown_signals().map_err(|e| format!("blocking signals: {e}"))?;
    crate::sys::keep_freed_memory();
    let server = Server::start(cfg)?;
    let sh = &server.shared;
    eprintln!(
        "qdad: serving {} ({} domains, user PDs as {}) on {}",
        sh.source,
        sh.emb.driver.domains().len(),
        match sh.pd_mode {
            PdMode::Process => "processes",
            PdMode::Thread => "threads",
        },
        sh.socket.display()
    );
    eprintln!("qdad: clients use it with QDA_SOCKET={}", sh.socket.display());
    notify_ready();
    let sig = crate::sys::wait_shutdown_signal();
    let n = server.connections();
    eprintln!("qdad: signal {sig}: shutting down ({n} client connection(s) open)");
    let st = server.shutdown(Duration::from_secs(5));
    let line: Vec<String> = st.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!("qdad: stopped; {}", line.join(" "));
    Ok(())
}

/// Tell systemd the daemon is ready (`sd_notify(READY=1)`), when it asked
/// (`NOTIFY_SOCKET`, a path or an abstract name after `@`).
fn notify_ready() {
    let Some(to) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(s) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let to = to.to_string_lossy().into_owned();
    let sent = match to.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .and_then(|a| s.send_to_addr(b"READY=1", &a))
        }
        None => s.send_to(b"READY=1", &to),
    };
    if let Err(e) = sent {
        tracing::warn!("qdad: telling {to} it is ready: {e}");
    }
}

fn bind(socket: &Path, group: Option<u32>) -> Result<UnixListener, String> {
    if let Some(dir) = socket.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(if group.is_some() { 0o750 } else { 0o700 })
            .create(dir)
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        if let Some(g) = group {
            std::os::unix::fs::chown(dir, None, Some(g))
                .map_err(|e| format!("giving {} to group {g}: {e}", dir.display()))?;
        }
    }
    if socket.exists() {
        match UnixStream::connect(socket) {
            Ok(_) => return Err(format!("another qdad is already listening on {}", socket.display())),
            Err(_) => {
                std::fs::remove_file(socket).map_err(|e| format!("removing stale {}: {e}", socket.display()))?;
            }
        }
    }
    let l = UnixListener::bind(socket).map_err(|e| format!("listening on {}: {e}", socket.display()))?;
    // The daemon's user, and the group given: connecting takes write
    // permission on the socket, which the kernel checks.
    if let Some(g) = group {
        std::os::unix::fs::chown(socket, None, Some(g))
            .map_err(|e| format!("giving {} to group {g}: {e}", socket.display()))?;
    }
    let mode = if group.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("setting the mode of {}: {e}", socket.display()))?;
    Ok(l)
}

/// Raise the soft fd limit to the hard one; returns the limit in force.
fn raise_fd_limit() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    if l.current != l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
    getrlimit(Resource::Nofile)
        .current
        .map_or(1 << 20, |c| c.min(1 << 20) as usize)
}

/// Receive a request: the header and its fds (counted against the budget
/// at once), then the body within the body deadline. Over the budget, the
/// fds are closed before the body is read and the request is refused.
fn recv_request(sh: &Arc<Shared>, conn: &Conn) -> Result<(Message, FdCharge, Option<Refusal>), WireError> {
    let (hdr, fds) = wire::recv_header(&conn.sock)?;
    sh.counters.requests.fetch_add(1, Ordering::Relaxed);
    sh.counters.fds_in.fetch_add(fds.len() as u64, Ordering::Relaxed);
    let (fds, charge, refused) = match FdCharge::try_new(sh, conn, fds.len(), hdr.len as u64) {
        Ok(c) => (fds, c, None),
        Err(r) => {
            drop(fds);
            (Vec::new(), FdCharge::none(sh), Some(r))
        }
    };
    // The socket's receive timeout is the body deadline.
    let deadline = sh.limits.body_deadline;
    let body = if refused.is_some() {
        wire::skip_body(&conn.sock, &hdr).map(|_| Vec::new())
    } else {
        wire::recv_body(&conn.sock, &hdr)
    };
    let body = body.map_err(|e| match e {
        WireError::Io(io) if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
            WireError::Protocol(format!(
                "the body of a {}-byte message did not arrive within {deadline:?}",
                hdr.len
            ))
        }
        e => e,
    })?;
    Ok((Message { hdr, body, fds }, charge, refused))
}

/// Read and serve a connection's requests until it is idle for the body
/// deadline (then it is parked: no thread waits on it). A call that may wait for a DSP
/// runs right here, after handing the reading to a pool thread: the call
/// pays no thread hand-off, and the connection's other threads are still
/// served while it waits. Past the connection's or the daemon's bound on
/// such calls the reading is not handed on: the connection is not read
/// again until this call's reply is sent (backpressure).
fn read_loop(sh: &Arc<Shared>, conn: Arc<Conn>) {
    loop {
        let (m, charge, refused) = match recv_request(sh, &conn) {
            Ok(r) => r,
            Err(WireError::Idle) => return park(sh, &conn, false),
            Err(e) => return close(sh, &conn, &e),
        };
        if let Some(why) = refused {
            let r = match why {
                Refusal::Fds => Reply::ioctl_errno(
                    libc::EMFILE,
                    format!(
                        "qdad: the fds of all clients' requests in flight would exceed its budget of {}; try again",
                        sh.fd_budget
                    ),
                ),
                Refusal::UidFds => Reply::ioctl_errno(
                    libc::EMFILE,
                    format!(
                        "qdad: {} fds would pass uid {}'s quota of {} fds in flight; try again",
                        m.hdr.nfds, conn.creds.uid, conn.rights.max_fds
                    ),
                ),
                Refusal::Bytes => Reply::ioctl_errno(
                    libc::ENOMEM,
                    format!(
                        "qdad: the bodies of all clients' requests in flight would exceed its cap of {} MiB; try again",
                        sh.limits.buffered_bytes >> 20
                    ),
                ),
            };
            send_reply(sh, &conn, &m.hdr, r);
            continue;
        }
        let Some((hdr, call)) = dispatch(sh, &conn, m, charge) else {
            continue;
        };
        let slot = CallSlot::new(sh, &conn);
        let room = conn.calls.load(Ordering::SeqCst) <= sh.limits.calls_per_connection
            && sh.calls.load(Ordering::SeqCst) <= sh.limits.calls_total
            && conn.uid_use.calls.load(Ordering::SeqCst) <= conn.rights.max_calls;
        let (sh2, conn2) = (sh.clone(), conn.clone());
        let handed_off = room && sh.pool.submit(Box::new(move || read_loop(&sh2, conn2))).is_ok();
        let r = run_guarded(sh, &conn, Op::Ioctl, call);
        send_reply(sh, &conn, &hdr, r);
        drop(slot);
        if handed_off {
            return;
        }
        // No thread took over: this one goes on reading.
    }
}

/// Run an ioctl request; a panic in its handler (a bug) is answered with
/// `EIO` and everything the request held is released.
fn run_guarded(sh: &Shared, conn: &Conn, op: Op, call: Call) -> Reply {
    let cmd = call.req.cmd;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if sh.panic_on_cmd == Some(cmd) {
            panic!("qdad: injected panic for ioctl 0x{cmd:08x}");
        }
        run_ioctl(sh, conn, op, call)
    }));
    r.unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        tracing::error!("qdad: ioctl 0x{cmd:08x} of connection #{} panicked: {why}", conn.id);
        Reply::ioctl_errno(
            libc::EIO,
            format!("qdad: an internal error (a bug) ended ioctl 0x{cmd:08x}: {why}"),
        )
    })
}

/// A client is gone: interrupt its calls, release its file, settle.
fn close(sh: &Shared, conn: &Arc<Conn>, why: &WireError) {
    conn.closed.store(true, Ordering::SeqCst);
    let file = lock(&conn.file).take();
    if let Some(f) = &file {
        // As a fatal signal does to a dying process's threads. Under the
        // lock, so a pool thread cannot have moved on to someone else's call.
        let g = lock(&conn.inflight);
        for tid in g.iter() {
            f.interrupt(*tid);
        }
    }
    if conn.counted.swap(false, Ordering::SeqCst) {
        conn.uid_use.files.fetch_sub(1, Ordering::SeqCst);
    }
    lock(&conn.fd_cache).clear();
    if let Some(r) = conn.ring.get() {
        r.wake();
    }
    // The release (INIT_RELEASE to the DSP) is the client's last call.
    CLIENT.set((conn.id, conn.creds.pid));
    drop(file);
    CLIENT.set((0, 0));
    if sh.trace {
        let how = match why {
            WireError::Closed => "closed".to_string(),
            e => e.to_string(),
        };
        tracing::info!(target: TRACE_TARGET, "disconnect #{} pid {}: {how}", conn.id, conn.creds.pid);
    }
    // Exports the client held may be gone with it.
    sh.emb.driver.settle();
    let mut g = lock(&sh.conns);
    g.remove(&conn.id);
    sh.gone.notify_all();
}

/// Serve one request, or give back a call that may wait for a DSP for the
/// reader to run.
fn dispatch(sh: &Arc<Shared>, conn: &Arc<Conn>, m: Message, charge: FdCharge) -> Option<(Header, Call)> {
    let hdr = m.hdr;
    let reply = match Op::from_u16(hdr.op) {
        Some(Op::Open) => open(sh, conn, &m),
        Some(Op::Info) => info(sh),
        Some(Op::Stats) => Reply {
            body: stats(sh)
                .iter()
                .map(|(k, v)| format!("{k} {v}\n"))
                .collect::<String>()
                .into_bytes(),
            ..Default::default()
        },
        Some(Op::Nodes) => Reply {
            body: sh
                .emb
                .driver
                .nodes()
                .iter()
                .map(|n| format!("{} {}\n", n.path, node_kind(&n.kind)))
                .collect::<String>()
                .into_bytes(),
            ..Default::default()
        },
        Some(Op::Mmap) => mmap(conn, &m),
        Some(Op::Setup) => setup(sh, conn, &m),
        Some(Op::Kick) => {
            // No reply: a request waits in the ring for a thread.
            kick(sh, conn);
            return None;
        }
        Some(op @ (Op::Ioctl | Op::DmabufIoctl)) => match prepare_ioctl(sh, conn, op, m, charge, None) {
            Err(r) => r,
            Ok((call, true)) => return Some((hdr, call)),
            Ok((call, false)) => run_guarded(sh, conn, op, call),
        },
        None => Reply::errno(libc::EINVAL, format!("qdad: unknown request {}", hdr.op)),
    };
    send_reply(sh, conn, &hdr, reply);
    None
}

/// An ioctl request parsed (with the connection's fd cache for `Ioctl`),
/// checked against the policy and counted; `true` with it when its
/// description says it may block on a DSP. `Err` is the reply.
fn prepare_ioctl(
    sh: &Arc<Shared>,
    conn: &Arc<Conn>,
    op: Op,
    m: Message,
    charge: FdCharge,
    inplace: Option<InPlace>,
) -> Result<(Call, bool), Reply> {
    let cache = (op == Op::Ioctl).then_some((sh, &**conn));
    let mut call = parse_ioctl_with(m, cache, inplace)?;
    call.charge = Some(charge);
    // One lookup: the policy and the scheduling both read it.
    let desc = (op == Op::Ioctl).then(|| conn_desc(conn, call.req.cmd)).flatten();
    if let Some(d) = desc
        && let Some(refusal) = refused_by_policy(conn, &call, d)
    {
        return Err(refusal);
    }
    sh.counters.bytes_in.fetch_add(call.in_bytes, Ordering::Relaxed);
    Ok((call, desc.is_some_and(|d| d.blocks)))
}

/// The policy's answer to an ioctl that needs a right (attach, static or
/// user PD creation), as `EPERM` with the reason; `None` when allowed.
fn refused_by_policy(conn: &Conn, call: &Call, d: &qda_ioctl::Desc) -> Option<Reply> {
    use crate::policy::Need;
    use qda_ioctl::{self as spec, Ioctl};
    // Every ioctl a right governs waits on the DSP; names are unique.
    if !d.blocks {
        return None;
    }
    fn is<I: Ioctl>(d: &spec::Desc) -> bool {
        d.name == I::DESC.name
    }
    // The struct as the driver's core copies it (one read of the bytes the
    // client's command says it passes, the rest zero), so the policy judges
    // the bytes the driver will act on: a read of the field alone could
    // find another segment that covers it (segments may overlap).
    let copied = {
        use qda_uapi::ioctl::{IOC_WRITE, ioc_dir, ioc_size};
        let cmd = call.req.cmd;
        let n = if ioc_dir(cmd) & ioc_dir(d.cmd) & IOC_WRITE != 0 {
            ioc_size(cmd) as usize
        } else {
            0
        };
        let mut b = vec![0u8; n];
        call.mem.read(call.req.arg, &mut b).ok().map(|_| b)
    };
    // The attrs word of a create's struct, as the driver will see it.
    let attrs = |off: usize| {
        let b = copied.as_ref()?;
        let mut w = [0u8; 4];
        for (i, x) in w.iter_mut().enumerate() {
            *x = b.get(off + i).copied().unwrap_or(0);
        }
        Some(u32::from_ne_bytes(w))
    };
    let unsigned = |a: Option<u32>| a.is_some_and(|a| a & qda_uapi::fastrpc::FASTRPC_MODE_UNSIGNED_MODULE != 0);
    let need = if is::<spec::FastrpcIoctlInitAttach>(d) || is::<spec::RfcDrmIoctlQdaInitAttach>(d) {
        Need::AttachRoot
    } else if is::<spec::FastrpcIoctlInitAttachSns>(d) {
        Need::AttachSensors
    } else if is::<spec::FastrpcIoctlInitCreateStatic>(d) {
        Need::StaticPd
    } else if is::<spec::FastrpcIoctlInitCreate>(d) {
        Need::CreatePd {
            unsigned: unsigned(attrs(std::mem::offset_of!(qda_uapi::fastrpc::FastrpcInitCreate, attrs))),
        }
    } else if is::<spec::DrmIoctlQdaRemoteSessionCreate>(d) {
        Need::CreatePd {
            unsigned: unsigned(attrs(std::mem::offset_of!(qda_uapi::qda::DrmQdaInitCreate, attrs))),
        }
    } else {
        return None;
    };
    let uid = conn.creds.uid;
    if need.allowed(&conn.rights) {
        return None;
    }
    Some(Reply::ioctl_errno(
        libc::EPERM,
        format!("qdad: policy: uid {uid} may not {} ({})", need.what(), d.name),
    ))
}

mod charge;
mod config;
mod events;
mod fdcache;
mod ioctl;
mod reply;
mod requests;
mod ring;
#[cfg(test)]
mod tests;
mod trace;

use charge::{FdCharge, Refusal};
pub use config::{Config, DEFAULT_ANSWER_SPIN, Limits, group_id, parse_uapi_revision};
use events::{accept_loop, event_loop, park};
use fdcache::FdCache;
use ioctl::{Call, InPlace, conn_desc, parse_ioctl_with, run_ioctl};
use reply::{Reply, send_reply};
use requests::{info, mmap, node_kind, open, setup, stats};
use ring::{ConnRing, kick};
use trace::trace_call;

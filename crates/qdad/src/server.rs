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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use qda_driver::fastrpc::CallTrace;
use qda_driver::sys::MapInfo;
use qda_driver::{Creds, Driver, DriverConfig, File, Platform, SegmentMemory, UserMemory};
use qda_dsp::{Embedded, PdMode};
use qda_ioctl::{Revision, Target};
use qda_rt::{Workers, lock, wait_timeout};

use crate::log::TRACE_TARGET;
use zerocopy::IntoBytes;

use qdad_client::wire::{
    self, Header, InfoRsp, IoctlReq, IoctlRsp, MAX_FDS, MAX_PATH, MAX_SEGS, MAX_VMAS, Message, MmapFileReq, Op,
    OpenRsp, Reader, SEG_IN, SEG_OUT, Seg, Vma, WireError,
};

/// The built-in board as a device tree blob (what `qda info` reads back).
const BUILTIN_DTB: &[u8] = qda_driver::platform::BUILTIN_DTB;

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
}

impl Config {
    /// The defaults: built-in board, [`qdad_client::default_socket`].
    pub fn new() -> Config {
        Config {
            dtb: None,
            socket: qdad_client::default_socket(),
            trace: false,
            pd_mode: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

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
    trace: bool,
    stopping: AtomicBool,
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
    closed: AtomicBool,
}

thread_local! {
    /// The client a pool thread works for (for the trace).
    static CLIENT: std::cell::Cell<(u64, i32)> = const { std::cell::Cell::new((0, 0)) };
}

/// A running daemon.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
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
        let driver = Driver::new(DriverConfig::new(platform)).map_err(|e| format!("starting the driver: {e}"))?;
        let pd_mode = cfg.pd_mode.unwrap_or_else(PdMode::from_env);
        let emb = Embedded::with_mode(driver, pd_mode).map_err(|e| format!("starting the DSPs: {e}"))?;
        let listener = bind(&cfg.socket)?;
        let fd_budget = raise_fd_limit() / 2;
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
            trace: cfg.trace || crate::log::tracing_calls(),

            stopping: AtomicBool::new(false),
        });
        if shared.trace {
            shared
                .emb
                .driver
                .set_tracer(Some(Arc::new(move |c: &CallTrace<'_>| trace_call(c))));
        }
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("qdad-accept".into())
            .spawn(move || accept_loop(&sh, listener))
            .map_err(|e| format!("starting the accept thread: {e}"))?;
        Ok(Server {
            shared,
            accept: Some(accept),
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
        // 1. No new clients: wake the accept loop.
        let _ = UnixStream::connect(&sh.socket);
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
        // 4. Stop the DSPs (every PD process exits), settle, count.
        let st = stats(sh);
        for d in sh.emb.driver.domains() {
            d.channel.restart();
        }
        sh.emb.driver.set_tracer(None);
        // 5. The socket file goes last: until now a client got a clear refusal.
        let _ = std::fs::remove_file(&sh.socket);
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
    let sig = crate::sys::wait_shutdown_signal();
    let n = server.connections();
    eprintln!("qdad: signal {sig}: shutting down ({n} client connection(s) open)");
    let st = server.shutdown(Duration::from_secs(5));
    let line: Vec<String> = st.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!("qdad: stopped; {}", line.join(" "));
    Ok(())
}

fn bind(socket: &Path) -> Result<UnixListener, String> {
    if let Some(dir) = socket.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
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
    // Reachable like a device node (0666); the directory limits who sees it.
    let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666));
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

fn accept_loop(sh: &Arc<Shared>, listener: UnixListener) {
    for s in listener.incoming() {
        if sh.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(sock) = s else { continue };
        let cred = rustix::net::sockopt::socket_peercred(&sock);
        let creds = match cred {
            Ok(c) => Creds {
                pid: c.pid.as_raw_nonzero().get(),
                tid: c.pid.as_raw_nonzero().get(),
                uid: c.uid.as_raw(),
            },
            Err(_) => continue,
        };
        let id = sh.next_conn.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            sock,
            send: Mutex::new(()),
            creds,
            file: Mutex::new(None),
            inflight: Mutex::new(HashSet::new()),
            closed: AtomicBool::new(false),
        });
        sh.counters.connections.fetch_add(1, Ordering::Relaxed);
        sh.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn.clone());
        let sh2 = sh.clone();
        if sh.pool.submit(Box::new(move || serve(&sh2, conn))).is_err() {
            lock(&sh.conns).remove(&id);
        }
    }
}

/// A reply to send.
#[derive(Debug, Default)]
struct Reply {
    status: i32,
    value: i64,
    body: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl Reply {
    fn err(e: &qda_driver::Error) -> Reply {
        Reply {
            status: -e.errno.0,
            body: e.to_string().into_bytes(),
            ..Default::default()
        }
    }
    fn errno(errno: i32, what: impl Into<std::borrow::Cow<'static, str>>) -> Reply {
        Reply::err(&qda_driver::Error::new(qda_driver::Errno(errno), what))
    }
}

fn send_reply(sh: &Shared, conn: &Conn, req: &Header, r: Reply) {
    let hdr = Header {
        op: req.op,
        seq: req.seq,
        status: r.status,
        value: r.value,
        ..Default::default()
    };
    let fds: Vec<_> = r.fds.iter().map(|f| f.as_fd()).collect();
    sh.counters.bytes_out.fetch_add(r.body.len() as u64, Ordering::Relaxed);
    sh.counters.fds_out.fetch_add(fds.len() as u64, Ordering::Relaxed);
    let _g = lock(&conn.send);
    // A client that left gets nothing; its reader will see the end.
    let _ = wire::send(&conn.sock, hdr, &[&r.body], &fds);
}

/// A connection's first reader.
fn serve(sh: &Arc<Shared>, conn: Arc<Conn>) {
    if sh.trace {
        tracing::info!(target: TRACE_TARGET, "connect #{} pid {} uid {}", conn.id, conn.creds.pid, conn.creds.uid);
    }
    read_loop(sh, conn);
}

/// Read and serve a connection's requests. A call that may wait for a DSP
/// runs right here, after handing the reading to a pool thread: the call
/// pays no thread hand-off, and the connection's other threads are still
/// served while it waits.
fn read_loop(sh: &Arc<Shared>, conn: Arc<Conn>) {
    loop {
        let m = match wire::recv(&conn.sock) {
            Ok(m) => m,
            Err(e) => return close(sh, &conn, &e),
        };
        sh.counters.requests.fetch_add(1, Ordering::Relaxed);
        sh.counters.fds_in.fetch_add(m.fds.len() as u64, Ordering::Relaxed);
        let Some((hdr, call)) = dispatch(sh, &conn, m) else {
            continue;
        };
        let (sh2, conn2) = (sh.clone(), conn.clone());
        let handed_off = sh.pool.submit(Box::new(move || read_loop(&sh2, conn2))).is_ok();
        let n = call.fds;
        let r = run_ioctl(sh, &conn, Op::Ioctl, call);
        sh.counters.fds_held.fetch_sub(n, Ordering::SeqCst);
        send_reply(sh, &conn, &hdr, r);
        if handed_off {
            return;
        }
        // No thread to take over: this one goes on reading.
    }
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
fn dispatch(sh: &Arc<Shared>, conn: &Arc<Conn>, m: Message) -> Option<(Header, Call)> {
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
        Some(op @ (Op::Ioctl | Op::DmabufIoctl)) => {
            let n = m.fds.len();
            let held = sh.counters.fds_held.fetch_add(n, Ordering::SeqCst) + n;
            if held > sh.fd_budget {
                sh.counters.fds_held.fetch_sub(n, Ordering::SeqCst);
                Reply::errno(
                    libc::EMFILE,
                    format!("qdad: fd budget of {} exhausted; try again", sh.fd_budget),
                )
            } else {
                match parse_ioctl(m) {
                    Err(r) => {
                        sh.counters.fds_held.fetch_sub(n, Ordering::SeqCst);
                        r
                    }
                    Ok(call) => {
                        sh.counters.bytes_in.fetch_add(call.in_bytes, Ordering::Relaxed);
                        if op == Op::Ioctl && conn_may_wait_for_dsp(conn, call.req.cmd) {
                            return Some((hdr, call));
                        }
                        let r = run_ioctl(sh, conn, op, call);
                        sh.counters.fds_held.fetch_sub(n, Ordering::SeqCst);
                        r
                    }
                }
            }
        }
        None => Reply::errno(libc::EINVAL, format!("qdad: unknown request {}", hdr.op)),
    };
    send_reply(sh, conn, &hdr, reply);
    None
}

fn node_kind(k: &qda_driver::NodeRole) -> &'static str {
    match k {
        qda_driver::NodeRole::Accel { .. } => "accel",
        qda_driver::NodeRole::Fastrpc { .. } => "fastrpc",
        qda_driver::NodeRole::Heap { .. } => "heap",
        qda_driver::NodeRole::Udmabuf => "udmabuf",
    }
}

fn open(sh: &Shared, conn: &Conn, m: &Message) -> Reply {
    if m.body.len() > MAX_PATH {
        return Reply::errno(libc::ENAMETOOLONG, "device path too long");
    }
    let Ok(path) = std::str::from_utf8(&m.body) else {
        return Reply::errno(libc::EINVAL, "device path is not UTF-8");
    };
    let mut f = lock(&conn.file);
    if let Some(old) = &*f {
        return Reply::errno(
            libc::EBUSY,
            format!(
                "this connection already has {} open (one file per connection)",
                old.path()
            ),
        );
    }
    match sh.emb.driver.open(path, conn.creds) {
        Ok(file) => {
            *f = Some(file);
            let revision = match sh.emb.driver.qda_revision() {
                qda_uapi::qda::Revision::Rfc2026Feb => 1,
                qda_uapi::qda::Revision::May2026 => 0,
            };
            Reply {
                body: OpenRsp { revision, pad: 0 }.as_bytes().to_vec(),
                ..Default::default()
            }
        }
        Err(e) => Reply::err(&e),
    }
}

fn info(sh: &Shared) -> Reply {
    let i = InfoRsp {
        dtb_len: sh.dtb.len() as u32,
        src_len: sh.source.len() as u32,
        pid: std::process::id(),
        pd_mode: (sh.pd_mode == PdMode::Thread) as u32,
    };
    let mut body = i.as_bytes().to_vec();
    body.extend_from_slice(&sh.dtb);
    body.extend_from_slice(sh.source.as_bytes());
    Reply {
        body,
        ..Default::default()
    }
}

fn stats(sh: &Shared) -> Vec<(String, u64)> {
    let s = sh.emb.driver.stats();
    let c = &sh.counters;
    let conns = lock(&sh.conns).len() as u64;
    let procs: usize = sh.emb.dsps.iter().map(|d| d.processes()).sum();
    vec![
        ("files".into(), s.files),
        ("gem_objects".into(), s.gem_objects),
        ("dmabufs".into(), s.dmabufs),
        ("backings".into(), s.backings),
        ("iova_mappings".into(), s.iova_mappings),
        ("pinned_exports".into(), s.pinned_exports as u64),
        ("dma_debug_live".into(), s.dma_debug_live as u64),
        ("dma_debug_errors".into(), s.dma_debug_errors as u64),
        ("user_pds".into(), procs as u64),
        ("connections".into(), conns),
        ("connections_total".into(), c.connections.load(Ordering::Relaxed)),
        ("requests".into(), c.requests.load(Ordering::Relaxed)),
        ("bytes_in".into(), c.bytes_in.load(Ordering::Relaxed)),
        ("bytes_out".into(), c.bytes_out.load(Ordering::Relaxed)),
        ("fds_in".into(), c.fds_in.load(Ordering::Relaxed)),
        ("fds_out".into(), c.fds_out.load(Ordering::Relaxed)),
    ]
}

fn mmap(conn: &Conn, m: &Message) -> Reply {
    let req: MmapFileReq = match Reader::new(&m.body).get() {
        Ok(r) => r,
        Err(e) => return Reply::errno(libc::EINVAL, e.to_string()),
    };
    if req.pad != 0 || req.writable > 1 {
        return Reply::errno(libc::EINVAL, "mmap request: pad must be zero, writable 0 or 1");
    }
    let Some(f) = lock(&conn.file).clone() else {
        return Reply::errno(libc::EBADF, "mmap before open");
    };
    match f.mmap_file(req.offset, req.len, req.writable == 1) {
        Ok((fd, off)) => Reply {
            body: off.to_le_bytes().to_vec(),
            fds: vec![fd],
            ..Default::default()
        },
        Err(e) => Reply::err(&e),
    }
}

/// A parsed ioctl request.
struct Call {
    req: IoctlReq,
    mem: SegmentMemory,
    in_bytes: u64,
    /// Fds it carries (counted against the budget until it ends).
    fds: usize,
}

fn parse_ioctl(m: Message) -> Result<Call, Reply> {
    let bad = |why: String| Reply::errno(libc::EINVAL, format!("qdad: malformed ioctl request: {why}"));
    let mut r = Reader::new(&m.body);
    let req: IoctlReq = r.get().map_err(|e| bad(e.to_string()))?;
    if req.pad != 0 {
        return Err(bad("pad is not zero".into()));
    }
    if req.nsegs > MAX_SEGS || req.nvmas > MAX_VMAS || req.nfds as usize > MAX_FDS {
        return Err(bad(format!(
            "{} segments, {} VMAs, {} fds exceed {MAX_SEGS}/{MAX_VMAS}/{MAX_FDS}",
            req.nsegs, req.nvmas, req.nfds
        )));
    }
    if req.nfds as usize != m.fds.len() {
        return Err(bad(format!("{} fd numbers for {} fds", req.nfds, m.fds.len())));
    }
    let nums: Vec<i32> = r.array(req.nfds as usize).map_err(|e| bad(e.to_string()))?;
    r.align8().map_err(|e| bad(e.to_string()))?;
    let vmas: Vec<Vma> = r.array(req.nvmas as usize).map_err(|e| bad(e.to_string()))?;
    let segs: Vec<Seg> = r.array(req.nsegs as usize).map_err(|e| bad(e.to_string()))?;
    let mut fds = HashMap::new();
    for (n, fd) in nums.into_iter().zip(m.fds) {
        if fds.insert(n, fd).is_some() {
            return Err(bad(format!("fd number {n} listed twice")));
        }
    }
    let mut mem = Vec::with_capacity(segs.len());
    let mut out_bytes = 0u64;
    let mut in_bytes = 0u64;
    for s in &segs {
        if s.flags & !(SEG_IN | SEG_OUT) != 0 || s.flags == 0 {
            return Err(bad(format!("segment flags 0x{:x}", s.flags)));
        }
        if s.addr.checked_add(s.len as u64).is_none() {
            return Err(bad(format!("segment 0x{:x}+{} wraps", s.addr, s.len)));
        }
        let bytes = if s.flags & SEG_IN != 0 {
            in_bytes += s.len as u64;
            r.bytes(s.len as usize).map_err(|e| bad(e.to_string()))?.to_vec()
        } else {
            out_bytes += s.len as u64;
            if out_bytes > wire::MAX_BODY as u64 {
                return Err(bad("output segments exceed the body limit".into()));
            }
            vec![0u8; s.len as usize]
        };
        mem.push((s.addr, bytes));
    }
    if !r.rest().is_empty() {
        return Err(bad(format!("{} bytes left over", r.rest().len())));
    }
    let vmas = vmas
        .into_iter()
        .map(|v| MapInfo {
            start: v.start,
            len: v.len,
            dev: v.dev,
            ino: v.ino,
            file_offset: v.file_off,
        })
        .collect();
    let nfds = fds.len();
    Ok(Call {
        req,
        mem: SegmentMemory::new(mem).with_fds(fds).with_vmas(vmas),
        in_bytes,
        fds: nfds,
    })
}

/// Ioctls that can wait for a DSP (run on the pool, so one blocked call
/// never holds up the connection's other threads).
/// Whether a call may wait on a DSP (so it runs on its own thread rather
/// than the reader's), from the ioctl's description.
fn may_wait_for_dsp(node: Target, rev: Revision, cmd: u32) -> bool {
    qda_ioctl::lookup(node, rev, cmd).is_ok_and(|d| d.blocks)
}

/// [`may_wait_for_dsp`] for a call on a connection's file.
fn conn_may_wait_for_dsp(conn: &Conn, cmd: u32) -> bool {
    lock(&conn.file)
        .as_ref()
        .is_some_and(|f| may_wait_for_dsp(f.target(), f.driver().qda_revision(), cmd))
}

fn run_ioctl(sh: &Shared, conn: &Conn, op: Op, call: Call) -> Reply {
    let Call { req, mem, .. } = call;
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    let r = match op {
        Op::DmabufIoctl => sh.emb.driver.dmabuf_ioctl(req.target, req.cmd, req.arg, &mem),
        _ => {
            let Some(file) = lock(&conn.file).clone() else {
                return Reply::errno(libc::EBADF, "ioctl before open");
            };
            if conn.closed.load(Ordering::SeqCst) {
                return Reply::errno(libc::EPIPE, "client gone");
            }
            lock(&conn.inflight).insert(tid);
            CLIENT.set((conn.id, conn.creds.pid));
            let r = file.ioctl(req.cmd, req.arg, &mem);
            CLIENT.set((0, 0));
            lock(&conn.inflight).remove(&tid);
            r
        }
    };
    // What the driver wrote, and the fds it installed.
    let written = mem.written();
    let mut segs = Vec::with_capacity(written.len());
    let mut data = Vec::new();
    for (addr, len) in written {
        let at = data.len();
        data.resize(at + len as usize, 0);
        if mem.read(addr, &mut data[at..]).is_ok() {
            segs.push(Seg {
                addr,
                len: len as u32,
                flags: 0,
            });
        } else {
            data.truncate(at);
        }
    }
    let fds = mem.take_installed();
    let (status, value, msg) = match &r {
        Ok(v) => (0, *v, String::new()),
        Err(e) => (-e.errno.0, 0, e.to_string()),
    };
    let rsp = IoctlRsp {
        nsegs: segs.len() as u32,
        nfds: fds.len() as u32,
        msg_len: msg.len() as u32,
        pad: 0,
    };
    let mut body = Vec::with_capacity(16 + segs.len() * 16 + data.len() + msg.len());
    body.extend_from_slice(rsp.as_bytes());
    body.extend_from_slice(segs.as_bytes());
    body.extend_from_slice(&data);
    body.extend_from_slice(msg.as_bytes());
    Reply {
        status,
        value,
        body,
        fds,
    }
}

/// One completed FastRPC call, decoded, as a trace event.
fn trace_call(c: &CallTrace<'_>) {
    let sc = qda_proto::Scalars(c.msg.sc);
    let (conn, pid) = CLIENT.get();
    let arg = |i: usize| {
        let fd = if c.by_fd.get(i).copied().unwrap_or(false) {
            " fd"
        } else {
            ""
        };
        format!("{}{fd}", c.lens.get(i).copied().unwrap_or(0))
    };
    let nin = sc.inbufs() as usize;
    let nb = sc.nbufs();
    let ins: Vec<String> = (0..nin).map(arg).collect();
    let outs: Vec<String> = (nin..nb).map(arg).collect();
    let result = match c.result {
        Ok(0) => "0".to_string(),
        Ok(v) => format!("0x{:08x} {}", v as u32, qda_uapi::aee::AeeCode(v as u32)),
        Err(e) => format!("errno {} ({})", e.0, std::io::Error::from_raw_os_error(e.0)),
    };
    let who = if conn == 0 {
        "kernel".to_string()
    } else {
        format!("#{conn} pid {pid}")
    };
    tracing::info!(
        target: TRACE_TARGET,
        "{}",
        format_args!(
            "{} {who} client {} tid {} {}handle 0x{:x} method {} sc 0x{:08x} in [{}] out [{}] payload {} -> {result} in {} µs",
            c.domain,
            c.msg.client_id,
            c.msg.tid,
            if c.kernel { "kernel-call " } else { "" },
            c.msg.handle,
            sc.method(),
            c.msg.sc,
            ins.join(", "),
            outs.join(", "),
            c.msg.size,
            c.elapsed.as_micros()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: Vec<u8>) -> Message {
        Message {
            hdr: Header::default(),
            body,
            fds: Vec::new(),
        }
    }

    #[test]
    fn random_and_mutated_ioctl_bodies_are_refused_without_panicking() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // A valid request to mutate: one IN segment of 8 bytes.
        let req = IoctlReq {
            cmd: 0xc010_6441,
            nsegs: 1,
            arg: 0x1000,
            ..Default::default()
        };
        let seg = Seg {
            addr: 0x1000,
            len: 8,
            flags: SEG_IN,
        };
        let mut good = req.as_bytes().to_vec();
        good.extend_from_slice(seg.as_bytes());
        good.extend_from_slice(&[7u8; 8]);
        assert!(parse_ioctl(msg(good.clone())).is_ok());
        for i in 0..4000 {
            let body = if i % 2 == 0 {
                let n = (next() % 200) as usize;
                (0..n).map(|_| next() as u8).collect()
            } else {
                let mut b = good.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() as usize) % b.len();
                    b[at] = next() as u8;
                }
                b.truncate(b.len() - (next() % 3) as usize);
                b
            };
            let _ = parse_ioctl(msg(body));
        }
    }

    #[test]
    fn limits_are_enforced_before_allocating() {
        // 4096 OUT segments of 4 GiB - 1 each would be 16 TiB: refused.
        let req = IoctlReq {
            nsegs: 4096,
            ..Default::default()
        };
        let mut b = req.as_bytes().to_vec();
        for _ in 0..4096 {
            b.extend_from_slice(
                Seg {
                    addr: 0,
                    len: u32::MAX,
                    flags: SEG_OUT,
                }
                .as_bytes(),
            );
        }
        let Err(r) = parse_ioctl(msg(b)) else {
            panic!("accepted")
        };
        assert_eq!(r.status, -libc::EINVAL);
        // An fd count that does not match the fds attached.
        let req = IoctlReq {
            nfds: 2,
            ..Default::default()
        };
        let Err(r) = parse_ioctl(msg(req.as_bytes().to_vec())) else {
            panic!("accepted")
        };
        assert_eq!(r.status, -libc::EINVAL);
    }

    #[test]
    fn which_calls_may_wait_for_a_dsp() {
        use qda_uapi::{dma_heap, drm, fastrpc, qda};
        let may = Revision::May2026;
        assert!(may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_REMOTE_INVOKE));
        assert!(may_wait_for_dsp(
            Target::Accel,
            may,
            qda::DRM_IOCTL_QDA_REMOTE_SESSION_CREATE
        ));
        assert!(may_wait_for_dsp(Target::Fastrpc, may, fastrpc::FASTRPC_IOCTL_INVOKE));
        assert!(!may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_GEM_CREATE));
        assert!(!may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_QUERY));
        assert!(!may_wait_for_dsp(Target::Accel, may, drm::DRM_IOCTL_PRIME_FD_TO_HANDLE));
        assert!(!may_wait_for_dsp(
            Target::Fastrpc,
            may,
            fastrpc::FASTRPC_IOCTL_ALLOC_DMA_BUFF
        ));
        assert!(!may_wait_for_dsp(Target::DmaHeap, may, dma_heap::DMA_HEAP_IOCTL_ALLOC));
        // A number the file's node does not serve never blocks the reader.
        assert!(!may_wait_for_dsp(
            Target::Udmabuf,
            may,
            qda::DRM_IOCTL_QDA_REMOTE_INVOKE
        ));
    }

    #[test]
    fn fd_placeholders_mean_the_same_on_both_sides() {
        assert_eq!(
            qdad_client::wire::FD_PLACEHOLDER_BASE,
            qda_driver::usermem::FD_PLACEHOLDER_BASE
        );
    }
}

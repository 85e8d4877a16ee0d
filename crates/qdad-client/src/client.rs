//! The client side of the qdad protocol: a connection per open file, and
//! the marshalling of every ioctl the driver serves. The client copies what
//! the kernel would copy from user memory (the argument struct, an invoke's
//! argument array and inline buffers, a shell or a name), sends the fds the
//! call names under its own numbers, describes the mappings its dma-buf
//! pointers lie in, and afterwards writes back what the driver wrote and
//! installs the fds it returned. Buffer contents passed by fd never cross
//! the socket.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use qda_ioctl::{ArgCopy, FdOut as DescFdOut, Reach, Revision, Target, Visit};
use qda_os::{self as sys, Errno, MapInfo, Mapping, OsError as Error};
use qda_rt::{ReplyMux, lock};
use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc_dir, ioc_size};
use zerocopy::{FromBytes, IntoBytes};

use crate::shm::{self, Shape, Shm};
use crate::wire::{
    self, CachedFd, FD_PLACEHOLDER_BASE, FEATURE_FD_CACHE, FEATURE_RING, FEATURES, Header, IoctlReq, IoctlRsp,
    MAX_BODY, Message, Op, RSP_FDS_CACHED, RSP_RESEND_FDS, Reader, SEG_IN, SEG_OUT, Seg, Vma,
};

/// Fd numbers a client remembers as cached by the daemon (a hint: the
/// daemon's answer decides).
const CACHE_HINTS: usize = 256;

/// How long a thread waiting on the ring sleeps before it looks whether
/// the daemon is still there.
const RING_CHECK: Duration = Duration::from_millis(50);

/// Where a daemon listens by default: `$XDG_RUNTIME_DIR/qda/qdad.sock`,
/// else `/run/qda/qdad.sock`.
pub fn default_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("qda/qdad.sock"),
        _ => PathBuf::from("/run/qda/qdad.sock"),
    }
}

/// The socket clients use: `QDA_SOCKET` if set, else [`default_socket`].
pub fn socket_path() -> PathBuf {
    match std::env::var_os("QDA_SOCKET") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => default_socket(),
    }
}

fn err(errno: i32, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Errno(errno), what)
}

fn wire_err(e: wire::WireError) -> Error {
    err(e.errno(), format!("qdad: {e}"))
}

/// One connection to qdad. Many threads may call at once: whoever waits
/// reads the socket for all (no reader thread, so a lone caller pays no
/// hand-off).
#[derive(Debug)]
pub struct Connection {
    sock: UnixStream,
    send: Mutex<()>,
    /// Replies by sequence number; why the connection died.
    replies: ReplyMux<u32, Message, (i32, String)>,
    seq: AtomicU32,
    /// Features agreed with the daemon ([`Op::Setup`]).
    features: AtomicU32,
    /// Fd numbers the daemon holds, with the identity of the file each
    /// referred to when it was sent.
    cached: Mutex<HashMap<i32, (u64, u64)>>,
    /// The shared-memory ring, when agreed.
    ring: OnceLock<ClientRing>,
    /// The file's poll budget in µs (0: sleep mode), as its last accepted
    /// poll-mode ioctl set it.
    poll_us: AtomicU32,
}

/// The client's side of a connection's ring: the mapping and the call
/// slots no thread is using.
#[derive(Debug)]
struct ClientRing {
    shm: Shm,
    free: Mutex<Vec<u32>>,
}

impl Connection {
    /// Connect to the daemon at `path`.
    pub fn connect(path: &Path) -> Result<Connection, Error> {
        let sock = UnixStream::connect(path).map_err(|e| {
            err(
                e.raw_os_error().unwrap_or(libc::ECONNREFUSED),
                format!("no qdad at {}: {e}", path.display()),
            )
        })?;
        Ok(Connection {
            sock,
            send: Mutex::new(()),
            replies: ReplyMux::new(),
            seq: AtomicU32::new(1),
            features: AtomicU32::new(0),
            cached: Mutex::new(HashMap::new()),
            ring: OnceLock::new(),
            poll_us: AtomicU32::new(0),
        })
    }

    /// Features in use on this connection.
    pub fn features(&self) -> u32 {
        self.features.load(Ordering::Relaxed)
    }

    /// Turn on what the daemon offered and this side wants (`wanted`, a
    /// mask of [`FEATURES`]): one [`Op::Setup`] round trip; the reply
    /// carries the ring's memfd when the ring is on.
    fn setup(&self, offered: u32, wanted: u32) -> Result<(), Error> {
        let want = offered & wanted & FEATURES;
        if want == 0 {
            return Ok(());
        }
        let shape = Shape::default();
        let req = wire::SetupReq {
            features: want,
            slots: shape.slots,
            region: shape.region,
            pad: 0,
        };
        let m = self.call(Op::Setup, &[req.as_bytes()], &[])?;
        status(&m, "setting up the connection")?;
        let rsp: wire::SetupRsp = Reader::new(&m.body).get().map_err(wire_err)?;
        let mut on = rsp.features & want;
        if on & FEATURE_RING != 0 {
            // The daemon's memfd, sealed: mapped here, checked as the
            // daemon would check one.
            match m.fds.first().map(|fd| Shm::attach(fd.as_fd(), shape)) {
                Some(Ok(shm)) => {
                    let free = (0..shape.slots).rev().collect();
                    let _ = self.ring.set(ClientRing {
                        shm,
                        free: Mutex::new(free),
                    });
                }
                _ => on &= !FEATURE_RING,
            }
        }
        self.features.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the daemon has gone (its end shut or closed), without
    /// reading anything.
    fn peer_gone(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut p = [PollFd::new(&self.sock, PollFlags::RDHUP)];
        let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
        match rustix::event::poll(&mut p, Some(&zero)) {
            Ok(n) if n > 0 => p[0]
                .revents()
                .intersects(PollFlags::HUP | PollFlags::RDHUP | PollFlags::ERR | PollFlags::NVAL),
            _ => false,
        }
    }

    /// An [`Op::Ioctl`] request through the ring: `None` when it has no
    /// ring or no free slot (then the socket carries it).
    fn call_ring(&self, parts: &[&[u8]]) -> Option<Result<Message, Error>> {
        let r = self.ring.get()?;
        let i = lock(&r.free).pop()?;
        let give_back = |i| lock(&r.free).push(i);
        let Some(slot) = r.shm.slot(i) else {
            return Some(Err(err(libc::EPROTO, "qdad ring: bad slot")));
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let len = match r.shm.write(i, parts) {
            Ok(n) => n,
            Err(_) => {
                give_back(i);
                return None;
            }
        };
        slot.set_state(shm::POSTED);
        if r.shm.ring().push(&[i, len as u32, seq, 0]).is_err() {
            slot.set_state(shm::FREE);
            give_back(i);
            return None;
        }
        // A wake-up only for a daemon thread asleep on the ring; a kick on
        // the socket only when no daemon thread is free to take it (all
        // busy with calls, or none serving the ring). The bell's fence
        // orders the push before the look at `free_servers`.
        r.shm.ring().bell().ring(&shm::FUTEX);
        if r.shm.free_servers().load(Ordering::Relaxed) == 0 {
            let _g = lock(&self.send);
            let hdr = Header {
                op: Op::Kick as u16,
                seq,
                ..Default::default()
            };
            if let Err(e) = wire::send(&self.sock, hdr, &[], &[]) {
                // The slot may still be read: it is not given back.
                return Some(Err(wire_err(e)));
            }
        }
        let done = || slot.state() == shm::DONE;
        let budget = self.poll_us.load(Ordering::Relaxed);
        if budget > 0 {
            let end = Instant::now() + Duration::from_micros(budget.into());
            // Yielding between looks: on a machine with fewer CPUs than
            // busy threads, the threads that must answer (the daemon's,
            // the DSP's) get this CPU instead of waiting for the budget to
            // run out.
            while !done() && Instant::now() < end {
                std::thread::yield_now();
            }
        }
        while !done() {
            if slot.bell().wait(&shm::FUTEX, Some(RING_CHECK), done) {
                break;
            }
            if self.peer_gone() {
                return Some(Err(err(libc::EPIPE, "qdad connection lost during a call")));
            }
        }
        let rep = slot.reply();
        let body = r.shm.read(i, rep.len as usize);
        slot.set_state(shm::FREE);
        give_back(i);
        let body = match body {
            Ok(b) => b,
            Err(_) => return Some(Err(err(libc::EPROTO, "qdad ring: reply longer than its region"))),
        };
        Some(Ok(Message {
            hdr: Header {
                op: Op::Ioctl as u16,
                seq: rep.seq,
                len: rep.len,
                status: rep.status,
                value: rep.value,
                ..Default::default()
            },
            body,
            fds: Vec::new(),
        }))
    }

    /// The identity the daemon holds under `n`, if any.
    fn cached_id(&self, n: i32) -> Option<(u64, u64)> {
        lock(&self.cached).get(&n).copied()
    }

    /// The ring's region size, when there is a ring.
    fn ring_region(&self) -> Option<usize> {
        self.ring.get().map(|r| r.shm.shape().region as usize)
    }

    /// Send a request and wait for its reply. A reply with a negative
    /// status is returned as is (its body may carry written memory).
    pub fn call(&self, op: Op, parts: &[&[u8]], fds: &[BorrowedFd<'_>]) -> Result<Message, Error> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let hdr = Header {
            op: op as u16,
            seq,
            ..Default::default()
        };
        {
            let _g = lock(&self.send);
            wire::send(&self.sock, hdr, parts, fds).map_err(wire_err)?;
        }
        self.replies
            .wait(seq, || {
                wire::recv(&self.sock)
                    .map(|m| (m.hdr.seq, m))
                    .map_err(|e| (e.errno(), e.to_string()))
            })
            .map_err(|(errno, why)| err(errno, format!("qdad connection lost: {why}")))
    }

    /// The socket (for tests that need to kill it).
    pub fn socket(&self) -> &UnixStream {
        &self.sock
    }
}

fn status(m: &Message, what: &str) -> Result<(), Error> {
    if m.hdr.status < 0 {
        let text = String::from_utf8_lossy(&m.body).into_owned();
        return Err(err(
            -m.hdr.status,
            if text.is_empty() { what.to_string() } else { text },
        ));
    }
    Ok(())
}

/// A device node opened through qdad: one connection.
#[derive(Debug)]
pub struct DaemonFile {
    conn: Connection,
    node: Target,
    rev: Revision,
    path: String,
}

impl DaemonFile {
    /// Open `path` on the daemon at `socket`.
    pub fn open(socket: &Path, path: &str) -> Result<DaemonFile, Error> {
        let node = Target::of_path(path).ok_or_else(|| err(libc::ENOENT, format!("{path}: not a qda device node")))?;
        if path.len() > wire::MAX_PATH {
            return Err(err(libc::ENAMETOOLONG, "device path too long"));
        }
        let conn = Connection::connect(socket)?;
        let m = conn.call(Op::Open, &[path.as_bytes()], &[])?;
        status(&m, &format!("open {path}"))?;
        let rsp: wire::OpenRsp = Reader::new(&m.body).get().map_err(wire_err)?;
        // Features the daemon offers, unless `QDA_DAEMON_FEATURES` (a mask:
        // 1 the fd cache, 2 the ring; 0 none) says otherwise.
        let wanted = std::env::var("QDA_DAEMON_FEATURES")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(FEATURES);
        conn.setup(rsp.features, wanted)?;
        Ok(DaemonFile {
            conn,
            node,
            rev: if rsp.revision == 1 {
                Revision::Rfc2026Feb
            } else {
                Revision::May2026
            },
            path: path.to_string(),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `ioctl(fd, cmd, arg)`, with `arg` in this process's memory.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, Error> {
        let plan = Plan::for_ioctl(self.node, self.rev, cmd, arg)?;
        let v = plan.run(&self.conn, Op::Ioctl, cmd, arg, -1)?;
        self.note_poll(cmd, arg);
        Ok(v)
    }

    /// After an accepted poll-mode ioctl: the file's calls now spin for
    /// its budget before they sleep, on the ring too.
    fn note_poll(&self, cmd: u32, arg: u64) {
        use qda_uapi::{fastrpc as uf, qda as uq};
        let budget = if cmd == uq::DRM_IOCTL_QDA_SET_POLL && self.node == Target::Accel {
            let Some(p) = Plan::peek::<uq::DrmQdaSetPoll>(arg) else {
                return;
            };
            p.budget_us
        } else if cmd == uf::FASTRPC_IOCTL_SET_OPTION && self.node == Target::Fastrpc {
            let Some(o) = Plan::peek::<uf::FastrpcIoctlSetOption>(arg) else {
                return;
            };
            if o.req != uf::FASTRPC_POLL_MODE {
                return;
            }
            if o.value != 0 {
                uq::QDA_POLL_BUDGET_DEFAULT_US
            } else {
                0
            }
        } else {
            return;
        };
        self.conn.poll_us.store(budget, Ordering::Relaxed);
    }

    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub fn mmap(&self, offset: u64, len: usize, writable: bool) -> Result<Mapping, Error> {
        let req = wire::MmapFileReq {
            offset,
            len: len as u64,
            writable: writable as u32,
            pad: 0,
        };
        let m = self.conn.call(Op::Mmap, &[req.as_bytes()], &[])?;
        status(&m, "mmap")?;
        let file_off: u64 = Reader::new(&m.body).get().map_err(wire_err)?;
        let fd = m
            .fds
            .first()
            .ok_or_else(|| err(libc::EPROTO, "qdad: mmap reply without a file"))?;
        Mapping::map(fd.as_fd(), file_off, len, writable)
    }
}

/// A control connection: the daemon's platform, counts and nodes, and
/// ioctls on dma-buf fds.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    conn: Connection,
}

/// What [`Client::info`] returns.
#[derive(Debug, Clone)]
pub struct Info {
    /// The device tree blob the daemon booted.
    pub dtb: Vec<u8>,
    /// Where it came from (a file, or "built-in").
    pub source: String,
    /// The daemon's pid.
    pub pid: u32,
    /// True when user PDs are threads.
    pub thread_pds: bool,
}

impl Client {
    /// Connect to the daemon at `socket`.
    pub fn connect(socket: &Path) -> Result<Client, Error> {
        Ok(Client {
            socket: socket.to_path_buf(),
            conn: Connection::connect(socket)?,
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The platform.
    pub fn info(&self) -> Result<Info, Error> {
        let m = self.conn.call(Op::Info, &[], &[])?;
        status(&m, "info")?;
        let mut r = Reader::new(&m.body);
        let i: wire::InfoRsp = r.get().map_err(wire_err)?;
        let dtb = r.bytes(i.dtb_len as usize).map_err(wire_err)?.to_vec();
        let source = String::from_utf8_lossy(r.bytes(i.src_len as usize).map_err(wire_err)?).into_owned();
        Ok(Info {
            dtb,
            source,
            pid: i.pid,
            thread_pds: i.pd_mode == 1,
        })
    }

    /// Live-object counts and traffic counters, by name.
    pub fn stats(&self) -> Result<Vec<(String, u64)>, Error> {
        let m = self.conn.call(Op::Stats, &[], &[])?;
        status(&m, "stats")?;
        Ok(lines(&m.body).filter_map(|(k, v)| Some((k, v.parse().ok()?))).collect())
    }

    /// Device nodes: `(path, kind)`.
    pub fn nodes(&self) -> Result<Vec<(String, String)>, Error> {
        let m = self.conn.call(Op::Nodes, &[], &[])?;
        status(&m, "nodes")?;
        Ok(lines(&m.body).collect())
    }

    /// `ioctl` on a dma-buf fd of this process (SYNC, SET_NAME).
    pub fn dmabuf_ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, Error> {
        let mut plan = Plan::for_ioctl(Target::DmaBuf, Revision::default(), cmd, arg)?;
        let n = fd.as_raw_fd();
        plan.fd(n);
        plan.run(&self.conn, Op::DmabufIoctl, cmd, arg, n)
    }
}

fn lines(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
}

/// Where an ioctl returns an fd.
#[derive(Debug, Clone, Copy)]
enum FdOut {
    /// The syscall's return value.
    Ret,
    /// An i32 at this client address.
    At(u64),
}

/// What one ioctl sends and expects.
#[derive(Debug, Default)]
struct Plan {
    segs: Vec<Seg>,
    data: Vec<u8>,
    fds: Vec<i32>,
    vmas: Vec<MapInfo>,
    fd_out: Option<FdOut>,
    out_bytes: u64,
    /// The first error a walk ran into.
    err: Option<Error>,
}

impl Visit for Plan {
    fn peek(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        sys::copy_from_self(addr, buf).is_ok()
    }

    fn reach(&mut self, r: Reach) {
        if self.err.is_some() {
            return;
        }
        let res = match r {
            Reach::In { addr, len } => self.seg(addr, len, SEG_IN),
            Reach::Out { addr, len } => self.seg(addr, len, SEG_OUT),
            Reach::CStr { addr, max } => self.cstr(addr, max),
            Reach::Fd(n) => {
                self.fd(n);
                Ok(())
            }
            Reach::Vma(p) => {
                self.vma(p);
                Ok(())
            }
        };
        self.err = res.err();
    }
}

impl Plan {
    /// What `ioctl(fd, cmd, arg)` on a file of kind `node` reaches, from the
    /// ioctl's description: its struct as the core copies it, then what its
    /// walk names. A number the driver refuses reaches nothing.
    fn for_ioctl(node: Target, rev: Revision, cmd: u32, arg: u64) -> Result<Plan, Error> {
        let mut p = Plan::default();
        let Ok(d) = qda_ioctl::lookup(node, rev, cmd) else {
            return Ok(p);
        };
        // The struct, copied once: sent as its segment, and seen by the walk
        // as the driver will see it (the bytes the core copies in, the rest
        // zero), so the walk can follow its pointers.
        let (dir, size, in_size) = match d.copy {
            ArgCopy::Sized => {
                let both = ioc_dir(cmd) & ioc_dir(d.cmd);
                let in_size = if both & IOC_WRITE != 0 { ioc_size(cmd) } else { 0 };
                (ioc_dir(cmd), ioc_size(cmd), in_size)
            }
            ArgCopy::Handler => (ioc_dir(d.cmd), d.arg_size, d.arg_size),
        };
        let at = p.data.len();
        p.arg_struct(dir, arg, size as u64)?;
        let copied = &p.data[at..];
        let view = (copied.len() >= in_size).then(|| {
            let mut v = vec![0u8; size.max(d.arg_size)];
            v[..in_size].copy_from_slice(&copied[..in_size]);
            v
        });
        // Unreadable: the driver faults on the struct and reaches nothing else.
        if let Some(view) = view {
            d.walk(arg, &view, rev, &mut p);
            if let Some(e) = p.err.take() {
                return Err(e);
            }
        }
        p.fd_out = match d.fd_out {
            DescFdOut::None => None,
            DescFdOut::Ret => Some(FdOut::Ret),
            DescFdOut::Field(off) => Some(FdOut::At(arg + off as u64)),
        };
        Ok(p)
    }

    /// A segment; `SEG_IN` bytes are copied now. Unreadable memory is left
    /// out, so the driver faults (`EFAULT`) exactly where it reads it.
    fn seg(&mut self, addr: u64, len: u64, flags: u32) -> Result<(), Error> {
        if len == 0 {
            return Ok(());
        }
        if len > MAX_BODY as u64 {
            return Err(too_big(len));
        }
        if flags & SEG_IN != 0 {
            let at = self.data.len();
            self.data.resize(at + len as usize, 0);
            if sys::copy_from_self(addr, &mut self.data[at..]).is_err() {
                self.data.truncate(at);
                return Ok(());
            }
            if self.data.len() > MAX_BODY as usize {
                return Err(too_big(self.data.len() as u64));
            }
        } else {
            self.out_bytes += len;
            if self.out_bytes > MAX_BODY as u64 {
                return Err(too_big(self.out_bytes));
            }
        }
        self.segs.push(Seg {
            addr,
            len: len as u32,
            flags,
        });
        Ok(())
    }

    /// The ioctl's own struct: `len` bytes in and/or out as `dir` says.
    fn arg_struct(&mut self, dir: u32, arg: u64, len: u64) -> Result<(), Error> {
        let mut flags = 0;
        if dir & IOC_WRITE != 0 {
            flags |= SEG_IN;
        }
        if dir & IOC_READ != 0 {
            flags |= SEG_OUT;
        }
        if flags != 0 {
            self.seg(arg, len, flags)?;
        }
        Ok(())
    }

    /// A local copy of a struct at `addr` (None if unreadable).
    fn peek<T: FromBytes + IntoBytes>(addr: u64) -> Option<T> {
        let mut v = T::new_zeroed();
        sys::copy_from_self(addr, v.as_mut_bytes()).ok()?;
        Some(v)
    }

    /// An fd the call names. Numbers not open here are not sent (the
    /// driver answers `EBADF` where it looks them up).
    fn fd(&mut self, n: i32) {
        if n >= 0 && !self.fds.contains(&n) && sys::borrow_raw(n).is_ok() {
            self.fds.push(n);
        }
    }

    /// The mapping `ptr` lies in, for the driver's `find_vma`.
    fn vma(&mut self, ptr: u64) {
        if let Some(v) = sys::find_mapping(ptr)
            && !self.vmas.contains(&v)
        {
            self.vmas.push(v);
        }
    }

    /// A string: its readable bytes up to and with the NUL, at most
    /// `max + 1`; the driver faults or refuses where the copy ends.
    fn cstr(&mut self, addr: u64, max: usize) -> Result<(), Error> {
        let mut len = 0;
        for i in 0..=max as u64 {
            let mut b = [0u8];
            if sys::copy_from_self(addr + i, &mut b).is_err() {
                break;
            }
            len = i + 1;
            if b[0] == 0 {
                break;
            }
        }
        self.seg(addr, len, SEG_IN)
    }

    /// Send, wait, write back, install fds.
    fn run(self, conn: &Connection, op: Op, cmd: u32, arg: u64, target: i32) -> Result<i64, Error> {
        // With the fd cache, an fd the daemon holds is named, not sent,
        // while this number still refers to the file it held.
        let use_cache = op == Op::Ioctl && conn.features() & FEATURE_FD_CACHE != 0;
        let mut attach: Vec<(i32, Option<(u64, u64)>)> = Vec::with_capacity(self.fds.len());
        let mut cached: Vec<CachedFd> = Vec::new();
        for &n in &self.fds {
            let id = use_cache
                .then(|| sys::borrow_raw(n).ok().and_then(|fd| sys::file_id(fd).ok()))
                .flatten();
            match id {
                Some(id) if conn.cached_id(n) == Some(id) => cached.push(CachedFd {
                    num: n,
                    pad: 0,
                    dev: id.0,
                    ino: id.1,
                }),
                _ => attach.push((n, id)),
            }
        }
        let m = match self.exchange(conn, op, cmd, arg, target, &attach, &cached) {
            Ok(m) if use_cache && !cached.is_empty() && rsp_flags(&m) & RSP_RESEND_FDS != 0 => {
                // The daemon no longer holds one of them: send them all.
                let mut g = lock(&conn.cached);
                for c in cached.drain(..) {
                    g.remove(&c.num);
                    attach.push((c.num, Some((c.dev, c.ino))));
                }
                drop(g);
                self.exchange(conn, op, cmd, arg, target, &attach, &cached)?
            }
            r => r?,
        };
        if use_cache && !attach.is_empty() {
            let mut g = lock(&conn.cached);
            let keep = rsp_flags(&m) & RSP_FDS_CACHED != 0;
            for (n, id) in &attach {
                match id {
                    Some(id) if keep => {
                        if g.len() >= CACHE_HINTS && !g.contains_key(n) {
                            g.clear();
                        }
                        g.insert(*n, *id);
                    }
                    _ => {
                        g.remove(n);
                    }
                }
            }
        }
        // Memory the driver wrote, then the fds it installed. An error the
        // daemon raised itself comes in the same format; a body that is not
        // one (an older daemon's text) still gives the errno it carries.
        let parsed = (|| -> Result<WrittenBack<'_>, wire::WireError> {
            let mut r = Reader::new(&m.body);
            let rsp: IoctlRsp = r.get()?;
            if rsp.nsegs > wire::MAX_SEGS {
                return Err(wire::WireError::Protocol("too many written ranges".into()));
            }
            let written: Vec<Seg> = r.array(rsp.nsegs as usize)?;
            let mut out = Vec::with_capacity(written.len());
            for s in written {
                out.push((s, r.bytes(s.len as usize)?));
            }
            let msg = String::from_utf8_lossy(r.bytes(rsp.msg_len as usize)?).into_owned();
            Ok(WrittenBack { segs: out, msg })
        })();
        let WrittenBack { segs: written, msg } = match parsed {
            Ok(p) => p,
            Err(_) if m.hdr.status < 0 => {
                return Err(err(-m.hdr.status, String::from_utf8_lossy(&m.body).into_owned()));
            }
            Err(e) => return Err(wire_err(e)),
        };
        let mut copy_fault = None;
        for (s, bytes) in &written {
            if sys::copy_to_self(s.addr, bytes).is_err() {
                copy_fault = Some(s.addr);
            }
        }
        let mut installed: Vec<Option<OwnedFd>> = m.fds.into_iter().map(Some).collect();
        let mut take = |v: i64| -> Option<i32> {
            let i = v.checked_sub(FD_PLACEHOLDER_BASE as i64)?;
            let fd = installed.get_mut(usize::try_from(i).ok()?)?.take()?;
            Some(sys::into_raw(fd))
        };
        let mut value = m.hdr.value;
        match self.fd_out {
            Some(FdOut::Ret) if m.hdr.status == 0 => {
                if let Some(n) = take(value) {
                    value = n as i64;
                }
            }
            Some(FdOut::At(addr)) => {
                if let Some(v) = Self::peek::<i32>(addr)
                    && let Some(n) = take(v as i64)
                {
                    let _ = sys::copy_to_self(addr, &n.to_ne_bytes());
                }
            }
            _ => {}
        }
        if m.hdr.status < 0 {
            return Err(err(-m.hdr.status, msg));
        }
        if let Some(a) = copy_fault {
            return Err(err(libc::EFAULT, format!("copying the result back to 0x{a:x}")));
        }
        Ok(value)
    }
}

/// The flags of an ioctl reply (0 if it has no [`IoctlRsp`]).
fn rsp_flags(m: &Message) -> u32 {
    Reader::new(&m.body).get::<IoctlRsp>().map_or(0, |r| r.flags)
}

impl Plan {
    /// One request and its reply: through the ring when the connection has
    /// one, nothing is attached, no fd comes back and both directions fit a
    /// slot's region; else on the socket.
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        conn: &Connection,
        op: Op,
        cmd: u32,
        arg: u64,
        target: i32,
        attach: &[(i32, Option<(u64, u64)>)],
        cached: &[CachedFd],
    ) -> Result<Message, Error> {
        let fds: Vec<BorrowedFd<'_>> = attach.iter().filter_map(|(n, _)| sys::borrow_raw(*n).ok()).collect();
        let nums: Vec<i32> = attach.iter().map(|(n, _)| *n).collect();
        let req = IoctlReq {
            cmd,
            nsegs: self.segs.len() as u32,
            arg,
            nfds: nums.len() as u32,
            nvmas: self.vmas.len() as u32,
            target,
            ncached: cached.len() as u32,
        };
        let mut numbytes = nums.as_bytes().to_vec();
        numbytes.resize(numbytes.len().next_multiple_of(8), 0);
        let vmas: Vec<Vma> = self
            .vmas
            .iter()
            .map(|v| Vma {
                start: v.start,
                len: v.len,
                dev: v.dev,
                ino: v.ino,
                file_off: v.file_offset,
            })
            .collect();
        let parts: [&[u8]; 6] = [
            req.as_bytes(),
            &numbytes,
            cached.as_bytes(),
            vmas.as_bytes(),
            self.segs.as_bytes(),
            &self.data,
        ];
        if op == Op::Ioctl
            && attach.is_empty()
            && self.fd_out.is_none()
            && let Some(region) = conn.ring_region()
        {
            let len: usize = parts.iter().map(|p| p.len()).sum();
            // The reply: its header, the written ranges (a few per
            // segment at most, merged by the daemon), the bytes of every
            // segment the driver may write, an error text.
            let out: u64 = self
                .segs
                .iter()
                .filter(|s| s.flags & SEG_OUT != 0)
                .map(|s| s.len as u64)
                .sum();
            let reply = 16 + 16 * (2 * self.segs.len() as u64 + 4) + out + 1024;
            if len <= region
                && reply <= region as u64
                && let Some(r) = conn.call_ring(&parts)
            {
                return r;
            }
        }
        conn.call(op, &parts, &fds)
    }
}

/// What an ioctl reply carries back: the ranges the driver wrote, with
/// their bytes, and the error text.
struct WrittenBack<'a> {
    segs: Vec<(Seg, &'a [u8])>,
    msg: String,
}

fn too_big(n: u64) -> Error {
    err(
        libc::ENOMEM,
        format!(
            "{n} bytes of inline data exceed qdad's {} MiB per call; pass large buffers by fd",
            MAX_BODY >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_uapi::{fastrpc as uf, qda as uq};

    #[test]
    fn socket_paths() {
        assert!(default_socket().ends_with("qdad.sock"));
    }

    #[test]
    fn an_invoke_plan_copies_inline_buffers_and_names_fds() {
        let inb = [7u8; 12];
        let mut outb = [0u8; 8];
        let f = sys::memfd("t", 4096).unwrap();
        let map = Mapping::map(f.as_fd(), 0, 4096, true).unwrap();
        let args = [
            uf::FastrpcInvokeArgs {
                ptr: inb.as_ptr() as u64,
                length: 12,
                fd: -1,
                attr: 0,
            },
            uf::FastrpcInvokeArgs {
                ptr: map.addr() + 100,
                length: 64,
                fd: f.as_raw_fd(),
                attr: 0,
            },
            uf::FastrpcInvokeArgs {
                ptr: outb.as_mut_ptr() as u64,
                length: 8,
                fd: -1,
                attr: 0,
            },
        ];
        let inv = uq::DrmQdaInvokeArgs {
            handle: 0x10,
            sc: qda_proto::Scalars::make(2, 2, 1).0,
            args: args.as_ptr() as u64,
        };
        let p = Plan::for_ioctl(
            Target::Accel,
            Revision::May2026,
            uq::DRM_IOCTL_QDA_REMOTE_INVOKE,
            &inv as *const _ as u64,
        )
        .unwrap();
        // The struct, the array, the inline input, the inline output.
        assert_eq!(p.segs.len(), 4);
        assert_eq!(p.segs[2].len, 12);
        assert_eq!(p.segs[3].flags, SEG_OUT);
        assert_eq!(p.fds, [f.as_raw_fd()]);
        assert_eq!(p.vmas.len(), 1);
        // The dma-buf's 64 bytes are not in the data: struct + array + 12.
        assert_eq!(p.data.len(), size_of::<uq::DrmQdaInvokeArgs>() + 3 * 24 + 12);
    }

    #[test]
    fn unreadable_memory_is_left_for_the_driver_to_fault_on() {
        let p = Plan::for_ioctl(Target::Accel, Revision::May2026, uq::DRM_IOCTL_QDA_REMOTE_INVOKE, 16).unwrap();
        assert!(p.segs.is_empty());
    }

    #[test]
    fn huge_inline_buffers_are_refused_with_the_reason() {
        let args = [uf::FastrpcInvokeArgs {
            ptr: 0x1000,
            length: 1 << 40,
            fd: -1,
            attr: 0,
        }];
        let inv = uf::FastrpcInvoke {
            handle: 0x10,
            sc: qda_proto::Scalars::make(2, 1, 0).0,
            args: args.as_ptr() as u64,
        };
        let e = Plan::for_ioctl(
            Target::Fastrpc,
            Revision::May2026,
            uf::FASTRPC_IOCTL_INVOKE,
            &inv as *const _ as u64,
        )
        .unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
    }
}

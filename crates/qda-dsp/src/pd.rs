//! User PDs as child processes: the DSP's side of a PD host (see
//! [`crate::pd_host`]), one process per PD.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, Once, OnceLock, mpsc};
use std::time::{Duration, Instant};

use qda_driver::smmu::Run;
use qda_rt::{ReplyMux, lock};

use crate::aee;
use crate::error::DspError;
use crate::memory::aligned_runs;
use crate::pd_host::{Sandbox, host_command};
use crate::pd_wire::ring::{self, PdRing, RingMsg, SHARED};
use crate::pd_wire::{self, DmaHeader, Request, RunRef, WireArg};

pub use crate::pd_host::pd_host_path;

mod ring_wait;
use ring_wait::DspRing;

/// A running PD process. Invokes that pass no descriptor go through the
/// PD's shared-memory ring ([`pd_wire::ring`]), the rest through its
/// socket. Until the ring is up there is no reader thread: a caller
/// waiting for its reply reads the socket for all waiters ([`ReplyMux`]: a
/// lone call pays no thread hand-off); with the ring a thread of the PD
/// reads the socket (FARF lines, reverse calls, replies, the end), as a
/// ring call's caller waits on its completion word and not the socket.
/// Whoever sees the end reaps the PD and wakes the ring's waiters.
#[derive(Debug)]
pub struct PdProcess {
    conn: Arc<Conn>,
    next: AtomicU64,
    /// What confines the host, as it reported when it started.
    sandbox: Sandbox,
    /// The files (`dev`, `ino`) passed to the host before: a run names
    /// them by identity, no descriptor attached (see `crate::pd_wire`).
    sent: Mutex<HashSet<(u64, u64)>>,
    /// The reverse calls of this PD (its skels' calls to the client's
    /// listener, and its FARF lines when there is one).
    pub(crate) rev: Arc<crate::reverse::Reverse>,
}

/// The connection to a PD host: what its socket reader needs.
#[derive(Debug)]
struct Conn {
    tx: Mutex<UnixStream>,
    rx: UnixStream,
    /// Reply frames by request id; dead: why the PD is gone.
    replies: ReplyMux<u64, Vec<u8>, String>,
    child: Mutex<Option<Child>>,
    pid: u32,
    label: String,
    rev: Arc<crate::reverse::Reverse>,
    /// The shared memory, once the host has mapped it.
    ring: OnceLock<DspRing>,
}

/// How many file identities [`PdProcess`] remembers as sent; past it, it
/// forgets them all (and sends the files again as they come).
const SENT_MAX: usize = 4096;

/// One argument for the PD.
#[derive(Debug)]
pub enum PdArg<'a> {
    /// A 64-bit handle value.
    Handle(u64),
    /// Bytes passed by value.
    Bytes(&'a [u8]),
    /// A buffer: translated runs (of this process's fds), length.
    Buffer(&'a [Run], u64),
    /// A dma handle: what the skel is told (`fd`, `offset`, `len`), the
    /// buffer's DSP address, and the whole buffer (`size` bytes; no runs
    /// when the client attached none).
    Dma {
        fd: i32,
        offset: u32,
        len: u32,
        dsp_addr: u64,
        runs: &'a [Run],
        size: u64,
    },
}

/// The files one call passes to the host.
#[derive(Default)]
struct CallFiles<'a> {
    /// Identity -> slot among `fds`.
    slots: HashMap<(u64, u64), u32>,
    /// The descriptors sent with the request.
    fds: Vec<BorrowedFd<'a>>,
    /// Every file the call names.
    named: Vec<(u64, u64)>,
}

impl<'a> CallFiles<'a> {
    /// The runs of one buffer as the host gets them: the in-page lead and
    /// the pieces; `None` when the call has more files than a message
    /// carries. Files sent before go by identity unless `all_files`.
    fn add(
        &mut self,
        runs: &'a [Run],
        all_files: bool,
        sent: &mut HashSet<(u64, u64)>,
    ) -> Result<Option<(u64, Vec<RunRef>)>, String> {
        let (segs, lead) = aligned_runs(runs);
        let mut refs = Vec::with_capacity(segs.len());
        for (fd, off, l) in segs {
            let id = qda_driver::sys::file_id(fd).map_err(|e| e.to_string())?;
            let size = qda_driver::sys::file_size(fd).map_err(|e| e.to_string())?;
            let slot = match self.slots.get(&id) {
                Some(s) => *s,
                None if all_files || !sent.contains(&id) => {
                    if self.fds.len() == pd_wire::MAX_FDS {
                        return Ok(None);
                    }
                    self.fds.push(fd);
                    let s = (self.fds.len() - 1) as u32;
                    self.slots.insert(id, s);
                    // Marked before the host has it: a call racing ahead of
                    // this one may be told to resend, never fail.
                    sent.insert(id);
                    s
                }
                None => pd_wire::NO_SLOT,
            };
            self.named.push(id);
            refs.push(RunRef::new(slot, id, size, off, l));
        }
        Ok(Some((lead as u64, refs)))
    }
}

/// The answer to a call with more files than one message carries.
fn too_many_files() -> PdReturn {
    PdReturn {
        retval: aee::EBADPARM,
        handle: 0,
    }
}

/// What a call into a PD returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdReturn {
    /// The skel's return value (or the AEE code the PD failed the call with).
    pub retval: i32,
    /// The 64-bit value of argument 2 after the call (an open's handle).
    pub handle: u64,
}

impl PdProcess {
    /// Start a PD named `name` (the host from [`pd_host_path`]) whose skels
    /// come from the directories `search` (the host may read only those and
    /// the system's libraries).
    pub fn spawn(name: &str, search: &[PathBuf]) -> Result<Arc<PdProcess>, String> {
        let host = pd_host_path().map_err(|e| e.to_string())?;
        PdProcess::spawn_with(&host, name, search)
    }

    /// Start a PD named `name` running the host program `host`, its skels
    /// from `search`.
    pub fn spawn_with(host: &Path, name: &str, search: &[PathBuf]) -> Result<Arc<PdProcess>, String> {
        let ring = std::env::var_os("QDA_PD_RING").is_none_or(|v| v != "0");
        PdProcess::spawn_with_ring(host, name, search, ring)
    }

    /// [`PdProcess::spawn_with`]; `ring`: give the PD its shared-memory
    /// ring (else it keeps to its socket).
    pub(crate) fn spawn_with_ring(
        host: &Path,
        name: &str,
        search: &[PathBuf],
        ring: bool,
    ) -> Result<Arc<PdProcess>, String> {
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let mut cmd = host_command(host, search);
        cmd.arg0(format!("qda-pd:{name}"))
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null());
        let child = spawn_from_a_lasting_thread(cmd).map_err(|e| format!("starting {}: {e}", host.display()))?;
        let mut pd = PdProcess::over(ours, name, Some(child))?;
        // A host that does not answer fails its first call, as before.
        pd.sandbox = match pd.request(&Request::Sandbox, &[]) {
            Ok((0, payload)) => pd_wire::sandbox_out(&payload)
                .map(|(bits, missing)| Sandbox::from_bits(bits, missing))
                .unwrap_or_default(),
            Ok(_) | Err(_) => Sandbox::default(),
        };
        if pd.dead().is_none() && !pd.sandbox.complete() {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                eprintln!(
                    "qda: PD processes run without part of their sandbox ({}); a skel may signal, trace or \
                     open more than it should (see docs/SECURITY.md)",
                    pd.sandbox.missing
                );
            });
        }
        if ring {
            pd.start_ring();
        }
        Ok(Arc::new(pd))
    }

    /// A PD whose host holds the other end of `sock` (`child`: its process).
    fn over(sock: UnixStream, label: &str, child: Option<Child>) -> Result<PdProcess, String> {
        let rx = sock.try_clone().map_err(|e| format!("socket: {e}"))?;
        let rev: Arc<crate::reverse::Reverse> = Arc::default();
        let conn = Conn {
            tx: Mutex::new(sock),
            rx,
            replies: pd_replies(),
            pid: child.as_ref().map_or(0, Child::id),
            child: Mutex::new(child),
            label: label.to_string(),
            rev: rev.clone(),
            ring: OnceLock::new(),
        };
        Ok(PdProcess {
            conn: Arc::new(conn),
            next: AtomicU64::new(1),
            sandbox: Sandbox::default(),
            sent: Mutex::new(HashSet::new()),
            rev,
        })
    }

    /// Give the host its shared memory and start the socket's reader;
    /// without either the PD keeps to its socket.
    fn start_ring(&self) {
        if self.dead().is_some() {
            return;
        }
        let Ok((shm, fd)) = PdRing::create() else { return };
        if !matches!(self.request(&Request::Ring, &[fd.as_fd()]), Ok((0, _))) {
            return;
        }
        self.use_ring(shm);
    }

    /// Calls go through `shm` from now on; a thread reads the socket.
    fn use_ring(&self, shm: PdRing) {
        let conn = self.conn.clone();
        let reader = std::thread::Builder::new()
            .name(format!("qda-pd-{}", self.conn.pid))
            .spawn(move || conn.read_all());
        if reader.is_ok() {
            let _ = self.conn.ring.set(DspRing::new(shm));
        }
    }

    /// What confines the PD's host process (all `false` if it never said).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The PD's process id.
    pub fn pid(&self) -> u32 {
        self.conn.pid
    }

    /// Why the PD is dead, if it is.
    pub fn dead(&self) -> Option<String> {
        self.conn.replies.dead()
    }

    /// Whether calls go through the PD's shared-memory ring.
    pub fn has_ring(&self) -> bool {
        self.conn.ring.get().is_some()
    }

    /// Send `req` with the files `fds`, wait for its reply: `(status, payload)`.
    fn request(&self, req: &Request<'_>, fds: &[BorrowedFd<'_>]) -> Result<(u32, Vec<u8>), String> {
        if let Some(d) = self.dead() {
            return Err(d);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        // A failed write means the PD is gone: the read finds out why.
        let _ = pd_wire::send_frame(&lock(&self.conn.tx), &req.encode(id), fds);
        let frame = self.conn.replies.wait(id, || self.conn.recv())?;
        let (_, status, payload) = pd_wire::decode_reply(&frame).expect("checked when read");
        Ok((status, payload.to_vec()))
    }

    /// Load a skel: its index in the PD, or the AEE code and the loader's
    /// text (`AEE_ECPUEXCEPTION` when the PD is gone).
    pub fn open(&self, path: &Path, symbol: &str, handle_style: bool) -> Result<u32, DspError> {
        let req = Request::Open {
            path: path.as_os_str().as_encoded_bytes(),
            symbol: symbol.as_bytes(),
            handle_style,
        };
        let (status, payload) = self
            .request(&req, &[])
            .map_err(|e| DspError::new(aee::ECPUEXCEPTION, e))?;
        if status != 0 {
            return Err(DspError::new(status, String::from_utf8_lossy(&payload).into_owned()));
        }
        Ok(pd_wire::open_out(&payload).unwrap_or(0))
    }

    /// Call skel `ix` with `handle`, `sc`, `args`, or the crash text.
    ///
    /// The files behind buffer arguments go to the host with the request,
    /// each the first time only; when the host has let one go since, it
    /// answers [`pd_wire::STATUS_RESEND`] and the call is sent once more
    /// with all of its files.
    pub fn invoke(&self, ix: u32, handle: u64, sc: u32, args: &[PdArg<'_>]) -> Result<PdReturn, String> {
        self.invoke_polled(ix, handle, sc, args, None)
    }

    /// [`PdProcess::invoke`] whose caller, when the call goes through the
    /// ring, spins on its completion for up to `poll` before it sleeps
    /// (poll mode; `None`: it sleeps at once).
    pub fn invoke_polled(
        &self,
        ix: u32,
        handle: u64,
        sc: u32,
        args: &[PdArg<'_>],
        poll: Option<Duration>,
    ) -> Result<PdReturn, String> {
        let mut r = self.invoke_once(ix, handle, sc, args, false, poll)?;
        if r.is_none() {
            r = self.invoke_once(ix, handle, sc, args, true, poll)?;
        }
        Ok(r.unwrap_or(PdReturn {
            retval: aee::EBADPARM,
            handle: 0,
        }))
    }

    /// One try of [`PdProcess::invoke`]: `None` when the host asks for the
    /// files again. `all_files`: attach every file, sent before or not.
    fn invoke_once(
        &self,
        ix: u32,
        handle: u64,
        sc: u32,
        args: &[PdArg<'_>],
        all_files: bool,
        poll: Option<Duration>,
    ) -> Result<Option<PdReturn>, String> {
        // The call's distinct files: identity -> slot among `fds`.
        let mut files = CallFiles::default();
        let mut wire = Vec::with_capacity(args.len());
        {
            let mut sent = lock(&self.sent);
            if sent.len() > SENT_MAX {
                sent.clear();
            }
            for a in args {
                wire.push(match a {
                    PdArg::Handle(h) => WireArg::Handle(*h),
                    PdArg::Bytes(v) => WireArg::Bytes(v),
                    PdArg::Buffer(runs, len) => {
                        let Some((lead, runs)) = files.add(runs, all_files, &mut sent)? else {
                            return Ok(Some(too_many_files()));
                        };
                        WireArg::Buffer { lead, len: *len, runs }
                    }
                    PdArg::Dma {
                        fd,
                        offset,
                        len,
                        dsp_addr,
                        runs,
                        size,
                    } => {
                        let Some((lead, runs)) = files.add(runs, all_files, &mut sent)? else {
                            return Ok(Some(too_many_files()));
                        };
                        WireArg::Dma {
                            dma: DmaHeader::new(*fd, *offset, *len, *dsp_addr),
                            lead,
                            size: *size,
                            runs,
                        }
                    }
                });
            }
        }
        let CallFiles { fds, named, .. } = files;
        let req = Request::Invoke {
            skel: ix,
            handle,
            sc,
            args: wire,
        };
        let ring = self.conn.ring.get().filter(|_| fds.is_empty());
        let (status, payload) = match ring.map(|r| self.ring_request(r, &req, poll)).transpose()? {
            Some(Some(r)) => r,
            // No ring, files to pass, no free slot, a body too long.
            _ => self.request(&req, &fds)?,
        };
        if status == pd_wire::STATUS_RESEND {
            let mut sent = lock(&self.sent);
            for id in &named {
                sent.remove(id);
            }
            return Ok(None);
        }
        if status != 0 {
            return Ok(Some(PdReturn {
                retval: status as i32,
                handle: 0,
            }));
        }
        Ok(Some(pd_wire::invoke_out(&payload).map_or(
            PdReturn {
                retval: aee::EBADPARM,
                handle: 0,
            },
            |o| PdReturn {
                retval: o.retval,
                handle: o.handle,
            },
        )))
    }

    /// Make the buffer `runs` (`size` bytes, DSP address `dsp_addr`) the
    /// PD's under the client's `fd` until [`PdProcess::unmap_fd`] (a
    /// MEM_MAP by fd); the AEE code, or the crash text.
    pub(crate) fn map_fd(&self, fd: i32, dsp_addr: u64, runs: &[Run], size: u64) -> Result<i32, String> {
        for all_files in [false, true] {
            let mut files = CallFiles::default();
            let arg = {
                let mut sent = lock(&self.sent);
                let Some((lead, runs)) = files.add(runs, all_files, &mut sent)? else {
                    return Ok(aee::EBADPARM);
                };
                WireArg::Dma {
                    dma: DmaHeader::new(fd, 0, 0, dsp_addr),
                    lead,
                    size,
                    runs,
                }
            };
            let (status, _) = self.request(&Request::MapFd(arg), &files.fds)?;
            if status != pd_wire::STATUS_RESEND {
                return Ok(status as i32);
            }
            let mut sent = lock(&self.sent);
            for id in &files.named {
                sent.remove(id);
            }
        }
        Ok(aee::EBADPARM)
    }

    /// The PD's persistent map of `fd` goes.
    pub(crate) fn unmap_fd(&self, fd: i32) -> Result<(), String> {
        self.request(&Request::UnmapFd(fd), &[]).map(|_| ())
    }

    /// End the PD now, even with calls inside it (what the DSP does to a
    /// released process): closing our end makes the host's read fail and
    /// the host exit; the caller reading replies reaps it and fails what is
    /// pending.
    pub fn terminate(&self) {
        let _ = lock(&self.conn.tx).shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
impl PdProcess {
    /// A PD whose host is whatever holds the other end of `sock`: no
    /// process, no sandbox asked (the first request is id 1). The fuzzing
    /// of hostile replies plays the host with it.
    pub(crate) fn over_socket(sock: UnixStream, label: &str) -> PdProcess {
        PdProcess::over_socket_with(sock, label, None)
    }

    /// [`PdProcess::over_socket`] whose host process is `child`.
    pub(crate) fn over_socket_with(sock: UnixStream, label: &str, child: Option<Child>) -> PdProcess {
        PdProcess::over(sock, label, child).expect("socket")
    }

    /// [`PdProcess::over_socket_with`] whose calls go through a ring
    /// (no handshake: the test maps the memfd returned and plays the host).
    pub(crate) fn over_socket_with_ring(
        sock: UnixStream,
        label: &str,
        child: Option<Child>,
    ) -> (PdProcess, std::os::fd::OwnedFd) {
        let pd = PdProcess::over_socket_with(sock, label, child);
        let (shm, fd) = PdRing::create().expect("ring");
        pd.use_ring(shm);
        assert!(pd.has_ring());
        (pd, fd)
    }
}

impl Conn {
    /// Read one reply frame: `(id, frame)`; `None` at the end of the PD.
    /// FARF lines the host sends between replies are emitted on the way.
    fn read_reply(&self) -> Option<(u64, Vec<u8>)> {
        loop {
            let body = pd_wire::read_frame(&self.rx).ok()?;
            let (id, status, payload) = pd_wire::decode_reply(&body)?;
            if id == 0 && status == pd_wire::STATUS_FARF {
                if let Some(f) = pd_wire::farf_out(payload) {
                    // To the client's listener if it has one.
                    // To the client's listener if it has one, named as on
                    // the DSP's stderr.
                    let pd = format!("qda-pd:{} pid {}", self.label, self.pid);
                    let _rev = crate::reverse::enter(self.rev.clone());
                    if crate::reverse::print_string(&format!("[{pd}] {}\n", f.text())) {
                        crate::farf::trace(Some(&pd), &f);
                    } else {
                        crate::farf::emit(Some(&pd), &f);
                    }
                }
                continue;
            }
            if status == pd_wire::STATUS_REVERSE {
                // Served here, by the thread reading for all waiters: the
                // listener never calls back into this PD, so nothing waits
                // on this thread but its own bounded call.
                self.serve_reverse(id, payload);
                continue;
            }
            return Some((id, body));
        }
    }

    /// Run the host's reverse call `id` and send its answer.
    fn serve_reverse(&self, id: u64, payload: &[u8]) {
        let r = pd_wire::reverse_out(payload)
            .ok_or_else(|| DspError::new(crate::aee::EBADPARM, "reverse call: malformed"))
            .and_then(|(handle, sc, req)| {
                let sc = qda_proto::Scalars(sc);
                let req = qda_proto::revbuf::decode_request(req, sc.inbufs().into(), sc.outbufs().into())
                    .map_err(|e| DspError::new(crate::aee::EBADPARM, format!("reverse call: {e}")))?;
                self.rev.call(handle, sc, &req.in_bufs, &req.out_lens)
            });
        let (status, reply) = match r {
            Ok(outs) => {
                let outs: Vec<&[u8]> = outs.iter().map(Vec::as_slice).collect();
                match qda_proto::revbuf::encode_reply(&outs) {
                    Ok(b) => (0, b),
                    Err(_) => (crate::reverse::ebadsize(), Vec::new()),
                }
            }
            Err(e) => (e.retval(), Vec::new()),
        };
        let frame = Request::ReverseReply { status, reply: &reply }.encode(id);
        let _ = pd_wire::send_frame(&lock(&self.tx), &frame, &[]);
    }

    /// The PD is gone, or said something that is no reply (then it is
    /// ended: a host still running after its socket closed is killed, so no
    /// caller waits on a hostile host): reap it and say why.
    fn reap(&self) -> String {
        let child = lock(&self.child).take();
        let (pid, label) = (self.pid, &self.label);
        let mut killed = false;
        let child = child.map(|mut c| {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = lock(&self.tx).shutdown(std::net::Shutdown::Both);
                let t = std::time::Instant::now();
                while matches!(c.try_wait(), Ok(None)) && t.elapsed() < std::time::Duration::from_millis(200) {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                if matches!(c.try_wait(), Ok(None)) {
                    killed = c.kill().is_ok();
                }
            }
            c
        });
        if killed {
            if let Some(mut c) = child {
                let _ = c.wait();
            }
            return format!("PD '{label}' (pid {pid}) sent what is no reply and was killed");
        }
        match child.map(|mut c| c.wait()) {
            Some(Ok(st)) => match std::os::unix::process::ExitStatusExt::signal(&st) {
                Some(sig) => format!("PD '{label}' (pid {pid}) crashed with signal {sig}"),
                None => format!("PD '{label}' (pid {pid}) exited ({st})"),
            },
            Some(Err(e)) => format!("PD '{label}' (pid {pid}) is gone: {e}"),
            None => format!("PD '{label}' (pid {pid}) is gone"),
        }
    }

    /// The next reply for a waiter of the [`ReplyMux`]: a ring call's
    /// reply (a call the host answered on the socket) goes to its caller.
    fn recv(&self) -> Result<(u64, Vec<u8>), String> {
        loop {
            // A reason given before (a hostile ring) stays the reason.
            let (id, body) = self.read_reply().ok_or_else(|| {
                let why = self.reap();
                self.replies.dead().unwrap_or(why)
            })?;
            match self.ring.get() {
                Some(r) => match r.take_reply(id, body) {
                    Ok(()) => continue,
                    Err(body) => return Ok((id, body)),
                },
                None => return Ok((id, body)),
            }
        }
    }

    /// The socket's reader (with the ring): reads for every waiter until
    /// the end, then wakes the ring's callers.
    fn read_all(&self) {
        // Nobody waits for id 0 (FARF lines are taken on the way): this
        // reads until the PD is dead, letting a socket caller read when
        // it comes first.
        while self.replies.wait(0, || self.recv()).is_ok() {}
        if let Some(r) = self.ring.get() {
            r.wake_all();
        }
    }

    /// The host wrote what it never would on the ring: it is ended (as a
    /// host sending garbage on its socket) and every call fails with why.
    fn hostile(&self, what: &str) -> String {
        let why = format!("PD '{}' (pid {}) {what} and was killed", self.label, self.pid);
        self.replies.fail(why.clone());
        let _ = self.reap();
        if let Some(r) = self.ring.get() {
            r.wake_all();
        }
        self.replies.dead().unwrap_or(why)
    }
}

/// The reply multiplexer of a PD connection: a host is not trusted, so
/// replies nobody waits for are bounded (more than the calls that can be in
/// flight to one PD: the channel's 255 contexts and the DSP's own requests)
/// and past the bound the PD is dead, not the DSP's memory larger.
fn pd_replies() -> ReplyMux<u64, Vec<u8>, String> {
    ReplyMux::bounded(1024, "the PD host sent more replies than calls wait for".into())
}

/// A spawn request for [`spawn_from_a_lasting_thread`].
type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Start `cmd` from a thread that lives as long as this process. A PD host
/// asks to be killed when its parent goes (`PR_SET_PDEATHSIG`), and for
/// the kernel the parent is the *thread* that forked it: a DSP pool thread
/// that retires after a second idle would take its PDs with it.
fn spawn_from_a_lasting_thread(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Option<Mutex<mpsc::Sender<SpawnJob>>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("qda-pd-spawn".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let Some(spawner) = spawner else {
        return Err(std::io::Error::other("no thread to start PD processes from"));
    };
    let (tx, rx) = mpsc::channel();
    lock(spawner)
        .send((cmd, tx))
        .map_err(|_| std::io::Error::other("the PD spawning thread is gone"))?;
    rx.recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the PD spawning thread is gone")))
}

impl Drop for PdProcess {
    fn drop(&mut self) {
        self.terminate();
        // Reap the host when it has gone (it exits as soon as it sees the
        // socket closed), without holding up whoever dropped us.
        if let Some(mut c) = lock(&self.conn.child).take() {
            let _ = std::thread::Builder::new()
                .name(format!("pd-reap-{}", self.conn.pid))
                .spawn(move || {
                    let _ = c.wait();
                });
        }
    }
}

//! The PD host's loop: requests from the DSP on standard input, run on a
//! pool of threads, replies back on the same socket; once the DSP has sent
//! the PD's shared memory (`crate::pd_wire::ring`), invokes come through
//! its ring, served by a thread of their own that runs each call itself
//! (and, while it runs one, by an overflow thread handing calls to the
//! pool), answered in their completion slots.
//!
//! Buffers are mapped shared, so the skel reads and writes the client's
//! pages directly: each file comes from the DSP with the request that first
//! needs it (`SCM_RIGHTS`, see `crate::pd_wire`), is mapped whole once and
//! kept (a bounded cache, by file identity), so an argument used again
//! costs no system call and no descriptor. The host never opens anything
//! of the DSP's process (`/proc/<dsp pid>/...`): its sandbox shuts that.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{Ordering, fence};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use qda_driver::sys::Mapping;
use qda_rt::{Workers, lock};
use zerocopy::IntoBytes;

use crate::aee;
use crate::fdtable::{FdBuffer, FdTable, Keep};
use crate::loader::{self, LoadError, LoadedSkel};
use crate::pd_wire::ring::{Answer, PdRing, RingMsg, SHARED};
use crate::pd_wire::{self, InvokeOut, NO_SLOT, Request, RunRef, STATUS_RESEND, WireArg};

use super::Sandbox;

/// Bounds of the mapping cache.
const CACHE_FILES: usize = 64;
const CACHE_BYTES: usize = 256 << 20;

/// A client file mapped whole, kept across calls ("mapped once and cached
/// until unmapped"): most arguments are then a pointer into it.
#[derive(Debug)]
struct Cached {
    file: File,
    map: Mapping,
    size: usize,
}

/// A file's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[derive(Debug, Default)]
struct Cache {
    files: HashMap<FileId, Arc<Cached>>,
    order: VecDeque<FileId>,
    bytes: usize,
}

impl Cache {
    /// The whole-file mapping of the file `r` names: cached, or from the
    /// descriptor in `fds` the run points at. `Err(STATUS_RESEND)` when
    /// the run names a file by identity that is no longer cached.
    fn get(&mut self, r: &RunRef, fds: &[OwnedFd]) -> Result<Arc<Cached>, u32> {
        let id = FileId { dev: r.dev, ino: r.ino };
        if let Some(c) = self.files.get(&id) {
            return Ok(c.clone());
        }
        if r.slot == NO_SLOT {
            return Err(STATUS_RESEND);
        }
        let bad = aee::EBADPARM as u32;
        let fd = fds.get(r.slot as usize).ok_or(bad)?;
        // The descriptor must be the file the run says (the cache's key).
        let st = rustix::fs::fstat(fd).map_err(|_| bad)?;
        if (st.st_dev, st.st_ino) != (r.dev, r.ino) {
            return Err(bad);
        }
        let file = File::from(fd.try_clone().map_err(|_| bad)?);
        let size = (r.size as usize).max(1);
        let map = Mapping::map_internal(file.as_fd(), 0, size, true).map_err(|_| aee::EMMAP as u32)?;
        let c = Arc::new(Cached { file, map, size });
        self.files.insert(id, c.clone());
        self.order.push_back(id);
        self.bytes += c.size;
        // Evict the oldest entries no running call uses.
        let mut scan = self.order.len();
        while (self.files.len() > CACHE_FILES || self.bytes > CACHE_BYTES) && scan > 0 {
            scan -= 1;
            let Some(old) = self.order.pop_front() else { break };
            let in_use = self.files.get(&old).is_some_and(|e| Arc::strong_count(e) > 1) || old == id;
            if in_use {
                self.order.push_back(old);
            } else if let Some(e) = self.files.remove(&old) {
                self.bytes -= e.size;
            }
        }
        Ok(c)
    }
}

/// The PD's state shared by its threads.
#[derive(Debug)]
struct Host {
    /// The socket to the DSP (replies and FARF lines share it).
    out: Arc<Mutex<UnixStream>>,
    /// The PD's buffers by fd (`HAP_mmap_get`); the process's default table.
    fds: Arc<FdTable>,
    skels: Mutex<Vec<Arc<LoadedSkel>>>,
    cache: Mutex<Cache>,
    /// What confines this host, for the DSP to ask.
    sandbox: Sandbox,
    /// The shared memory the DSP sent (`KIND_RING`), once it has.
    ring: OnceLock<Arc<PdRing>>,
}

thread_local! {
    /// This thread sent a frame of its own on the socket (a FARF line)
    /// since the flag was last cleared: the call it runs is answered on the
    /// socket too, behind that frame.
    static SENT_FRAME: Cell<bool> = const { Cell::new(false) };
}

/// Turns of the ring thread looking at an empty ring before it sleeps.
const RING_SPINS: u32 = 200;

/// The longest the ring thread looks for a poll-mode caller's next
/// request before it sleeps.
const POLL_MAX: Duration = Duration::from_millis(10);

/// Closes the ring thread's look for a poll-mode caller's next request for
/// a while after one that was preempted or ran out: on a busy machine the
/// look holds a CPU the caller's side needs to send that request.
static LOOK_GATE: qda_rt::handoff::SpinGate = qda_rt::handoff::SpinGate::new();

/// A request failed in the host: the AEE code answered and its text.
struct Failed(i32, String);

impl Failed {
    fn code(code: i32) -> Failed {
        Failed(code, String::new())
    }
}

impl Host {
    fn reply(&self, id: u64, r: Result<Vec<u8>, Failed>) {
        let frame = match r {
            Ok(p) => pd_wire::encode_reply(id, 0, &p),
            // The text cut to fit a reply frame (`pd_wire::MAX_REPLY`).
            Err(Failed(code, text)) => {
                let room = pd_wire::MAX_REPLY - size_of::<pd_wire::RspHeader>();
                pd_wire::encode_reply(id, code as u32, &text.as_bytes()[..text.len().min(room)])
            }
        };
        // A failed write means the DSP is gone: the reader sees it and exits.
        let _ = pd_wire::send_frame(&lock(&self.out), &frame, &[]);
    }

    /// Run the request `frame`; its descriptors (the files its runs name
    /// by slot) are closed when it is done (the cache keeps its own).
    fn run(self: &Arc<Self>, frame: &pd_wire::FdFrame) {
        let Some((id, req)) = pd_wire::decode_request(&frame.body) else {
            return;
        };
        let fds = &frame.fds[..];
        if frame.fds_lost {
            // Out of descriptors: this call fails, the PD goes on (the
            // files it names come again when next used).
            let text = "the PD could not receive the call's files (out of descriptors)";
            return self.reply(id, Err(Failed(aee::EMMAP, text.into())));
        }
        let r = match req {
            Some(Request::Open {
                path,
                symbol,
                handle_style,
            }) => self.open(path, symbol, handle_style),
            Some(Request::Invoke { skel, handle, sc, args }) => self.invoke(skel, handle, sc, &args, fds),
            Some(Request::MapFd(WireArg::Dma { dma, lead, size, runs })) => {
                self.map_whole(lead, &runs, fds).map(|(addr, keep)| {
                    self.fds.map(FdBuffer {
                        fd: dma.fd,
                        addr,
                        len: size as usize,
                        dsp_addr: dma.dsp_addr,
                        keep,
                    });
                    Vec::new()
                })
            }
            Some(Request::UnmapFd(fd)) => {
                self.fds.unmap(fd);
                Ok(Vec::new())
            }
            Some(Request::Sandbox) => {
                let mut p = self.sandbox.bits().as_bytes().to_vec();
                p.extend_from_slice(self.sandbox.missing.as_bytes());
                Ok(p)
            }
            Some(Request::Ring) => self.start_ring(fds),
            Some(Request::ReverseReply { status, reply }) => {
                // The answer to one of this PD's reverse calls: no reply.
                crate::reverse::host_reply(id, status, reply);
                return;
            }
            Some(Request::MapFd(_)) | None => Err(Failed::code(aee::EBADPARM)),
        };
        self.reply(id, r);
    }

    /// Map the DSP's shared memory (the one descriptor of a `KIND_RING`
    /// request) and serve its ring from a thread of its own; a second one
    /// is refused.
    fn start_ring(self: &Arc<Self>, fds: &[OwnedFd]) -> Result<Vec<u8>, Failed> {
        let [fd] = fds else {
            return Err(Failed::code(aee::EBADPARM));
        };
        let ring = Arc::new(PdRing::attach(fd.as_fd()).map_err(|t| Failed(aee::EBADPARM, t))?);
        if self.ring.set(ring.clone()).is_err() {
            return Err(Failed(aee::EBADPARM, "the PD has its ring already".into()));
        }
        for (name, overflow) in [("pd-ring", false), ("pd-ring-overflow", true)] {
            let (host, ring) = (self.clone(), ring.clone());
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    if overflow {
                        host.ring_overflow(&ring)
                    } else {
                        host.serve_ring(&ring)
                    }
                })
                .map_err(|e| Failed(aee::EFAILED, format!("starting a thread: {e}")))?;
        }
        Ok(Vec::new())
    }

    /// The ring thread: takes each request and runs it itself. While it
    /// runs one, its busy word tells the DSP to ring the overflow bell for
    /// the next (a skel may block, and another call must not wait behind
    /// it); the word is cleared before the answer is published, so a lone
    /// caller's next call finds the ring thread and costs no hand-off.
    fn serve_ring(&self, ring: &PdRing) -> ! {
        let r = ring.ring();
        // Until when to look for the next request before sleeping: the
        // last caller's poll budget.
        let mut look_until: Option<(std::time::Instant, u32)> = None;
        loop {
            ring.host_cpu().store(pd_wire::ring::this_cpu(), Ordering::Relaxed);
            ring.busy().store(1, Ordering::Relaxed);
            // Against the DSP's push-fence-read of the busy word: either it
            // sees us busy, or the pop below sees its request.
            fence(Ordering::SeqCst);
            match ring.pop() {
                Ok(Some((m, body))) => {
                    if r.ready() {
                        // More came before the DSP could see us busy.
                        r.bell2().ring(&SHARED);
                    }
                    let poll = Duration::from_micros(u64::from(m.poll_us)).min(POLL_MAX);
                    self.run_ring(ring, m, &body, true);
                    look_until = (!poll.is_zero()).then(|| (std::time::Instant::now() + poll, m.cpu));
                }
                Ok(None) => {
                    ring.busy().store(0, Ordering::Relaxed);
                    match look_until.take() {
                        // Poll mode: look for the caller's next request for
                        // its budget, but not on the caller's CPU, which it
                        // needs; gated (a preempted or fruitless look closes
                        // the gate for a while).
                        Some((t, cpu)) => {
                            let spins = Cell::new(0u32);
                            let left = t.saturating_duration_since(std::time::Instant::now());
                            LOOK_GATE.spin_for_answer(left, || {
                                if r.ready() {
                                    return true;
                                }
                                spins.set(spins.get().wrapping_add(1));
                                if !spins.get().is_multiple_of(32) {
                                    return false;
                                }
                                let here = pd_wire::ring::this_cpu();
                                ring.host_cpu().store(here, Ordering::Relaxed);
                                here == cpu
                            });
                        }
                        None => {
                            let mut spins = 0u32;
                            while !r.ready() && spins < RING_SPINS {
                                std::hint::spin_loop();
                                spins += 1;
                            }
                        }
                    }
                    r.bell().wait(&SHARED, None, || r.ready());
                }
                Err(_) => fail("the DSP's ring is corrupt"),
            }
        }
    }

    /// The overflow thread: woken when a request comes while the ring
    /// thread runs one; hands each to the pool.
    fn ring_overflow(&self, ring: &PdRing) -> ! {
        let r = ring.ring();
        loop {
            match ring.pop() {
                Ok(Some((m, body))) => {
                    if POOL.get().is_none_or(|p| p.submit(Job::Ring(m, body)).is_err()) {
                        let text = "the PD could not start a thread for the call";
                        self.answer_ring(ring, &m, Err(Failed(aee::EFAILED, text.into())));
                    }
                }
                Ok(None) => {
                    r.bell2().wait(&SHARED, None, || r.ready());
                }
                Err(_) => fail("the DSP's ring is corrupt"),
            }
        }
    }

    /// Run a request that came through the ring (an invoke naming no
    /// descriptor) and answer it; `busy`: clear the ring thread's busy
    /// word first.
    fn run_ring(&self, ring: &PdRing, m: RingMsg, body: &[u8], busy: bool) {
        SENT_FRAME.set(false);
        let r = match pd_wire::decode_request(body) {
            Some((id, Some(Request::Invoke { skel, handle, sc, args }))) if id == m.id => {
                self.invoke(skel, handle, sc, &args, &[])
            }
            _ => Err(Failed::code(aee::EBADPARM)),
        };
        if busy {
            ring.busy().store(0, Ordering::Relaxed);
        }
        self.answer_ring(ring, &m, r);
    }

    /// Answer a ring request: in its completion slot, or on the socket
    /// when this thread sent frames during the call (they come first).
    fn answer_ring(&self, ring: &PdRing, m: &RingMsg, r: Result<Vec<u8>, Failed>) {
        if SENT_FRAME.get() {
            return self.reply(m.id, r);
        }
        let a = match r {
            Ok(p) => pd_wire::invoke_out(&p).map_or(
                Answer {
                    status: aee::EBADPARM as u32,
                    retval: 0,
                    handle: 0,
                },
                |o| Answer {
                    status: 0,
                    retval: o.retval,
                    handle: o.handle,
                },
            ),
            Err(Failed(code, _)) => Answer {
                status: code as u32,
                retval: 0,
                handle: 0,
            },
        };
        ring.complete(m, a);
    }

    fn open(&self, path: &[u8], symbol: &[u8], handle_style: bool) -> Result<Vec<u8>, Failed> {
        if path.contains(&0) || symbol.contains(&0) {
            return Err(Failed::code(aee::EBADPARM));
        }
        let path = std::path::Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
        let symbol = std::str::from_utf8(symbol).map_err(|_| Failed::code(aee::EBADPARM))?;
        let skel = LoadedSkel::load(path, symbol, handle_style).map_err(|e| match e {
            LoadError::Library(t) => Failed(aee::ENOSUCHMOD, t),
            LoadError::Symbol(t) => Failed(aee::ENOSUCHSYMBOL, t),
        })?;
        let mut s = lock(&self.skels);
        s.push(Arc::new(skel));
        Ok(((s.len() - 1) as u32).as_bytes().to_vec())
    }

    fn invoke(&self, ix: u32, handle: u64, sc: u32, args: &[WireArg<'_>], fds: &[OwnedFd]) -> Result<Vec<u8>, Failed> {
        // What the arguments point into, held for the call.
        let mut held: Vec<Keep> = Vec::new();
        let mut inline: Vec<Vec<u8>> = Vec::new();
        let mut pra = Vec::with_capacity(args.len());
        let mut bufs: Vec<FdBuffer> = Vec::new();
        for a in args {
            pra.push(match a {
                WireArg::Dma { dma, lead, size, runs } => {
                    if !runs.is_empty() {
                        let (addr, keep) = self.map_whole(*lead, runs, fds)?;
                        bufs.push(FdBuffer {
                            fd: dma.fd,
                            addr,
                            len: *size as usize,
                            dsp_addr: dma.dsp_addr,
                            keep,
                        });
                    }
                    loader::dma(dma.fd, dma.offset, dma.len)
                }
                WireArg::Handle(h) => loader::h64(*h),
                WireArg::Bytes(b) => {
                    // The skel may write through the pointer: a copy of its own.
                    let mut v = b.to_vec();
                    let arg = loader::buf(v.as_mut_ptr(), v.len());
                    inline.push(v);
                    arg
                }
                WireArg::Buffer { runs, .. } if runs.is_empty() => loader::buf(std::ptr::null_mut(), 0),
                WireArg::Buffer { lead, len, runs } => {
                    let (addr, keep) = self.map_whole(*lead, runs, fds)?;
                    held.push(keep);
                    loader::buf(addr, *len as usize)
                }
            });
        }
        let skel = lock(&self.skels)
            .get(ix as usize)
            .cloned()
            .ok_or(Failed::code(aee::ENOSUCHHANDLE))?;
        // The call's handles are the PD's for the call (and past it, for
        // those the skel gets and has not put).
        let call = self.fds.register(bufs);
        let retval = skel.call(handle, sc, &mut pra);
        drop(call);
        // The open method returns a handle in its third argument.
        let out = InvokeOut::new(retval, pra.get(2).map_or(0, loader::get_h64));
        drop((held, inline));
        Ok(out.as_bytes().to_vec())
    }

    /// Where a buffer argument's runs (or a handle's whole buffer) are
    /// mapped and what keeps them so: the cached mapping of its file when
    /// it is one run, else a contiguous mapping of its runs of its own.
    fn map_whole(&self, lead: u64, runs: &[RunRef], fds: &[OwnedFd]) -> Result<(*mut u8, Keep), Failed> {
        let mut files = Vec::with_capacity(runs.len());
        for r in runs {
            files.push(
                lock(&self.cache)
                    .get(r, fds)
                    .map_err(|code| Failed::code(code as i32))?,
            );
        }
        let lead = lead as usize;
        match (runs, files.as_slice()) {
            ([r], [c]) if r.offset + r.len <= c.size as u64 => {
                let keep: Keep = c.clone();
                Ok((c.map.ptr_at(r.offset as usize + lead), keep))
            }
            _ => {
                let segs: Vec<_> = runs
                    .iter()
                    .zip(&files)
                    .map(|(r, c)| (c.file.as_fd(), r.offset, r.len))
                    .collect();
                let m = Mapping::assemble_internal(&segs, true).map_err(|_| Failed::code(aee::EMMAP))?;
                let addr = m.ptr_at(lead);
                Ok((addr, Arc::new(m)))
            }
        }
    }
}

/// Work for the PD's threads.
#[derive(Debug)]
enum Job {
    /// Read the next request on the socket, then run it.
    ReadNext,
    /// Run a request of the ring the ring thread could not take.
    Ring(RingMsg, Vec<u8>),
}

/// The PD's threads; a job reads a request, hands the reading on to
/// another thread, and runs the request itself (no hand-off on the way in).
static POOL: OnceLock<Workers<Job>> = OnceLock::new();

/// Serve the DSP on standard input until it goes away, then exit. `parent`
/// is the DSP's process id when it gave it, `search` its library search
/// path; the host enters its sandbox first (`super::sandbox`), before any
/// skel is loaded.
pub(super) fn serve(parent: Option<u32>, search: &[std::path::PathBuf]) -> ! {
    // The DSP runtime comes from a memfd through /proc/self/fd, which the
    // sandbox hides: load it first (a failure is said on stderr).
    let _ = crate::runtime::ensure_loaded();
    let sandbox = super::sandbox::enter(parent, search);
    let sock = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(UnixStream::from)
        .unwrap_or_else(|e| fail(&format!("standard input: {e}")));
    let input = sock.try_clone().unwrap_or_else(|e| fail(&format!("socket: {e}")));
    let out = Arc::new(Mutex::new(sock));
    // FARF lines go to the DSP, which shows them with the PD's name.
    let farf_out = out.clone();
    crate::farf::set_sink(Box::new(move |f| {
        SENT_FRAME.set(true);
        let _ = pd_wire::send_frame(&lock(&farf_out), &pd_wire::encode_farf(f), &[]);
    }));
    // Reverse calls go to the DSP, which hands them to the listener.
    crate::reverse::set_host(out.clone());
    let fds = Arc::new(FdTable::default());
    crate::fdtable::set_default(fds.clone());
    let host = Arc::new(Host {
        out,
        fds,
        skels: Mutex::new(Vec::new()),
        cache: Mutex::new(Cache::default()),
        sandbox,
        ring: OnceLock::new(),
    });
    // Requests run on a pool of threads: one may block in a skel while
    // others go on, and the steady state spawns no thread per request.
    let pool = POOL.get_or_init(|| {
        Workers::new("pd".into(), move |job| {
            if let Job::Ring(m, body) = job {
                if let Some(ring) = host.ring.get() {
                    host.run_ring(ring, m, &body, false);
                }
                return;
            }
            loop {
                let Ok(frame) = pd_wire::read_frame_fds(&input) else {
                    std::process::exit(0); // the DSP went away
                };
                let handed_off = POOL.get().is_some_and(|p| p.submit(Job::ReadNext).is_ok());
                host.run(&frame);
                if handed_off {
                    return;
                }
                // No thread to take over the reading: this one goes on.
            }
        })
    });
    if let Err(e) = pool.submit(Job::ReadNext) {
        fail(&format!("starting a thread: {e}"));
    }
    loop {
        std::thread::park();
    }
}

fn fail(why: &str) -> ! {
    eprintln!("qda PD host: {why}");
    std::process::exit(1)
}

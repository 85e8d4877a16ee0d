//! The DSP of one domain: its end of the channel, the path of every message
//! (payload through the SMMU, decode, arguments through the SMMU, dispatch
//! to a static handle or an open module, answer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use qda_driver::fastrpc::Transport;
use qda_driver::smmu::{Access, ContextBank};
use qda_driver::{Driver, Errno};
use qda_os::OsError as Error;
use qda_proto::handles;
use qda_proto::payload::{DecodedArg, MetaLayout, decode};
use qda_proto::{FastrpcMsg, InvokeRsp, Scalars};
use qda_rt::{Handoff, Workers, lock};
use zerocopy::{FromBytes, IntoBytes};

use crate::aee;
use crate::config::{PdMode, capabilities, library_path};
use crate::error::{DspError, DspResult};
use crate::handles::{Invocation, StaticHandle, table};
use crate::memory::ArgMap;
use crate::pd_host::pd_host_path;
use crate::skel::Skel;
use crate::state::DspState;

/// Called with every message the DSP fails and why (see
/// [`VirtualDsp::set_error_tracer`]).
pub type ErrorTracer = Arc<dyn Fn(&FastrpcMsg, &DspError) + Send + Sync>;

/// A DSP: its state, its static handles, its tracer.
struct Dsp {
    state: DspState,
    handles: HashMap<u32, Box<dyn StaticHandle>>,
    tracer: Mutex<Option<ErrorTracer>>,
}

impl std::fmt::Debug for Dsp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsp")
            .field("state", &self.state)
            .field("handles", &self.handles)
            .finish_non_exhaustive()
    }
}

/// A virtual DSP attached to one domain.
#[derive(Debug, Clone)]
pub struct VirtualDsp {
    inner: Arc<Dsp>,
}

/// The DSP's end of the channel: messages go to a pool of DSP threads. In
/// poll mode (the driver passes the caller's spin budget with the message)
/// a DSP thread that finished a call spins on a ring for that budget, and
/// the next message is put there without waking anybody
/// ([`qda_rt::Handoff`]); with nobody spinning a message goes to the pool.
#[derive(Debug)]
struct Port {
    inner: Arc<PortInner>,
}

#[derive(Debug)]
struct PortInner {
    dsp: Arc<Dsp>,
    hand: Handoff,
    workers: OnceLock<Workers<Job>>,
    /// When the last sleep-mode call was answered (ns since `epoch`; 0:
    /// none yet).
    last_done: AtomicU64,
    /// The average gap between a sleep-mode call's answer and the next
    /// sleep-mode call (ns).
    gap_ns: AtomicU64,
    epoch: std::time::Instant,
}

/// How long a call offered to a spinning DSP thread may stay in the ring
/// before the caller gives it to the pool instead (a spinner takes it in
/// well under a microsecond unless it lost its CPU).
const HANDOFF_GRACE: Duration = Duration::from_micros(20);

/// How long a DSP thread looks for the next message after a sleep-mode
/// call before it sleeps: a caller's next call then costs one wake-up (the
/// answer's) instead of two. A real DSP's threads idle without the host's
/// scheduler; this is the emulator's stand-in, bounded, and off while the
/// CPUs are contended (`qda_rt::handoff::SpinGate`). It follows how soon
/// the next call usually comes ([`linger_for`]): 20 µs at least (an
/// embedded caller's next call comes within a few), up to 100 µs (through
/// qdad a round trip takes 20–40 µs, and a 20 µs linger missed about half
/// the calls, each then paying a second wake-up).
const LINGER_MIN: Duration = Duration::from_micros(20);
/// The longest linger.
const LINGER_MAX: Duration = Duration::from_micros(100);

/// The linger after a sleep-mode call when calls have come `gap_ns` after
/// the last one ended (an average): half as long again, and 5 µs, within
/// [`LINGER_MIN`, `LINGER_MAX`].
fn linger_for(gap_ns: u64) -> Duration {
    let want = Duration::from_nanos(gap_ns.saturating_mul(3) / 2 + 5_000);
    want.clamp(LINGER_MIN, LINGER_MAX)
}

/// The average gap after feeding one more: the gap itself when a linger
/// could have caught it (at most twice [`LINGER_MAX`]), else 0 (sparse
/// calls bring the linger down to its least, not up).
fn next_gap_average(avg_ns: u64, gap_ns: u64) -> u64 {
    let sample = if gap_ns <= 2 * LINGER_MAX.as_nanos() as u64 {
        gap_ns
    } else {
        0
    };
    avg_ns.saturating_mul(7).saturating_add(sample) / 8
}

/// A message and the caller's poll budget (`None`: sleep mode).
type Job = (FastrpcMsg, Option<Duration>);

/// Words of a message in the hand-off ring: the 40-byte message, then the
/// poll budget in µs.
const JOB_WORDS: usize = 11;

fn job_words(msg: &FastrpcMsg, poll: Option<Duration>) -> [u32; JOB_WORDS] {
    let mut w = [0u32; JOB_WORDS];
    for (i, c) in msg.as_bytes().chunks_exact(4).enumerate() {
        w[i] = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
    }
    w[10] = poll.map_or(0, |d| d.as_micros().clamp(1, u128::from(u32::MAX)) as u32);
    w
}

fn words_job(w: &[u32]) -> Job {
    let mut b = [0u8; 40];
    for (i, c) in b.chunks_exact_mut(4).enumerate() {
        c.copy_from_slice(&w[i].to_ne_bytes());
    }
    let msg = FastrpcMsg::read_from_bytes(&b).unwrap_or_default();
    let poll = (w[10] != 0).then(|| Duration::from_micros(u64::from(w[10])));
    (msg, poll)
}

impl Port {
    fn new(dsp: Arc<Dsp>) -> Port {
        let label = dsp.state.label.clone();
        let inner = Arc::new(PortInner {
            dsp,
            // 256 slots: more than the 255 contexts a channel has in flight.
            hand: Handoff::new(256, JOB_WORDS).expect("a valid ring shape"),
            workers: OnceLock::new(),
            last_done: AtomicU64::new(0),
            gap_ns: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
        });
        let weak = Arc::downgrade(&inner);
        let workers = Workers::new(format!("{label}-dsp"), move |job: Job| {
            if let Some(p) = weak.upgrade() {
                p.run(job);
            }
        });
        let _ = inner.workers.set(workers);
        Port { inner }
    }
}

impl PortInner {
    /// Run a call, then look for the next one (for its poll budget, or
    /// [`LINGER`] after a sleep-mode call).
    fn run(&self, (msg, poll): Job) {
        self.handle(msg, poll);
        self.hand.spin(
            poll.unwrap_or_else(|| self.linger()),
            |w| {
                let (msg, poll) = words_job(w);
                self.handle(msg, poll);
                poll.unwrap_or_else(|| self.linger())
            },
            |w| self.submit(words_job(w)),
        );
    }

    fn handle(&self, msg: FastrpcMsg, poll: Option<Duration>) {
        crate::module::set_current_poll(poll);
        self.dsp.handle(msg);
        crate::module::set_current_poll(None);
        // The linger follows sleep-mode calls only: a polled call's thread
        // spins for its budget, and needs no clock read for the average.
        if poll.is_none() {
            self.last_done.store(self.now_ns().max(1), Ordering::Relaxed);
        }
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
    }

    /// A call arrives: fold its gap since the last answer into the average
    /// (threads race here; it stays an estimate).
    fn note_arrival(&self) {
        let last = self.last_done.load(Ordering::Relaxed);
        if last == 0 {
            return;
        }
        let gap = self.now_ns().saturating_sub(last);
        let avg = self.gap_ns.load(Ordering::Relaxed);
        self.gap_ns.store(next_gap_average(avg, gap), Ordering::Relaxed);
    }

    /// How long to look for the next call after a sleep-mode one.
    fn linger(&self) -> Duration {
        linger_for(self.gap_ns.load(Ordering::Relaxed))
    }

    fn submit(&self, job: Job) {
        let msg = job.0;
        let sent = self.workers.get().map(|w| w.submit(job));
        if !matches!(sent, Some(Ok(()))) {
            // No thread could be started: answer rather than lose the call.
            let rsp = InvokeRsp {
                ctx: msg.ctx,
                retval: aee::ENOMEMORY,
                pad: 0,
            };
            let _ = self.dsp.state.domain.channel.on_response(rsp.as_bytes());
        }
    }
}

impl Transport for Port {
    fn send(&self, msg: &FastrpcMsg) -> qda_driver::Result<()> {
        self.send_polled(msg, None)
    }

    fn send_polled(&self, msg: &FastrpcMsg, poll: Option<Duration>) -> qda_driver::Result<()> {
        let p = &self.inner;
        if poll.is_none() {
            p.note_arrival();
        }
        if p.hand.offer(&job_words(msg, poll), |w| p.submit(words_job(w))) {
            // A preempted spinner must not sit on the call: past the grace
            // the caller (which would spin anyway) hands it to the pool.
            p.hand.settle(HANDOFF_GRACE, |w| p.submit(words_job(w)));
            return Ok(());
        }
        let workers = p
            .workers
            .get()
            .ok_or_else(|| Error::new(Errno::EPIPE, "DSP port not started"))?;
        workers
            .submit((*msg, poll))
            .map_err(|e| Error::new(Errno::ENOMEM, format!("DSP thread: {e}")))
    }

    fn shutdown(&self) {
        // Subsystem restart: every process dies, blocked listeners return.
        let st = &self.inner.dsp.state;
        let procs: Vec<_> = lock(&st.procs).drain().map(|(_, p)| p).collect();
        for p in procs {
            p.exit();
        }
        st.root.exit();
    }
}

/// Says once per process that user PDs run as threads for want of a host.
static NO_HOST: Once = Once::new();

impl VirtualDsp {
    /// Start a DSP for domain `label` and attach it to the driver's channel
    /// (PD mode from `QDA_PD_MODE`, default: processes).
    pub fn start(driver: &Driver, label: &str) -> qda_driver::Result<VirtualDsp> {
        VirtualDsp::start_with(driver, label, PdMode::from_env())
    }

    /// Start a DSP with an explicit PD mode. Process mode needs the PD host
    /// program ([`pd_host_path`]); without it the DSP falls back to threads
    /// (and says why on stderr, once).
    pub fn start_with(driver: &Driver, label: &str, mode: PdMode) -> qda_driver::Result<VirtualDsp> {
        VirtualDsp::start_in(driver, label, mode, library_path())
    }

    /// Start a DSP with an explicit PD mode and library search path (the
    /// directories skels are looked for in, in order; [`library_path`]
    /// is what `DSP_LIBRARY_PATH` gives).
    pub fn start_in(
        driver: &Driver,
        label: &str,
        mode: PdMode,
        search: Vec<std::path::PathBuf>,
    ) -> qda_driver::Result<VirtualDsp> {
        let mode = match (mode, pd_host_path()) {
            (PdMode::Process, Err(e)) => {
                NO_HOST.call_once(|| eprintln!("qda-dsp: user PDs run as threads: {e}"));
                PdMode::Thread
            }
            _ => mode,
        };
        let domain = driver
            .domain(label)
            .ok_or_else(|| Error::new(Errno::ENOENT, format!("no domain '{label}'")))?
            .clone();
        let dsp = Arc::new(Dsp {
            state: DspState::new(driver, domain, capabilities(label), search, mode),
            handles: table(),
            tracer: Mutex::new(None),
        });
        driver.attach_dsp(label, Arc::new(Port::new(dsp.clone())))?;
        Ok(VirtualDsp { inner: dsp })
    }

    /// Start one DSP per domain of the driver.
    pub fn start_all(driver: &Driver) -> qda_driver::Result<Vec<VirtualDsp>> {
        driver
            .domains()
            .iter()
            .map(|d| VirtualDsp::start(driver, d.label()))
            .collect()
    }

    /// Serve library `name` (as a URI names it, e.g. `libreverse_skel.so`)
    /// with a Rust skel.
    pub fn register_skel(&self, name: &str, skel: Arc<dyn Skel>) {
        lock(&self.inner.state.builtins).insert(name.to_string(), skel);
    }

    /// How user PDs run.
    pub fn mode(&self) -> PdMode {
        self.inner.state.mode
    }

    /// The running PD processes: `(pid, process name)`.
    pub fn pd_processes(&self) -> Vec<(u32, String)> {
        lock(&self.inner.state.procs)
            .values()
            .filter_map(|p| p.host.as_ref().map(|h| (h.pid(), p.name.clone())))
            .collect()
    }

    /// What confines each running PD process: `(pid, sandbox)` (see
    /// [`crate::pd_host::Sandbox`]; thread PDs have none and are not listed).
    pub fn pd_sandboxes(&self) -> Vec<(u32, crate::pd_host::Sandbox)> {
        lock(&self.inner.state.procs)
            .values()
            .filter_map(|p| p.host.as_ref().map(|h| (h.pid(), h.sandbox().clone())))
            .collect()
    }

    /// Number of live user processes.
    pub fn processes(&self) -> usize {
        lock(&self.inner.state.procs).len()
    }

    /// Have `t` called with every message the DSP fails and the reason
    /// (the client only sees the AEE code); `None` removes it.
    pub fn set_error_tracer(&self, t: Option<ErrorTracer>) {
        *lock(&self.inner.tracer) = t;
    }
}

impl Dsp {
    fn handle(&self, msg: FastrpcMsg) {
        let retval = match self.serve(&msg) {
            Ok(()) => 0,
            Err(e) => {
                // Called outside the lock: a tracer may take its time.
                let tracer = lock(&self.tracer).clone();
                if let Some(t) = tracer {
                    t(&msg, &e);
                }
                e.retval()
            }
        };
        let rsp = InvokeRsp {
            ctx: msg.ctx,
            retval,
            pad: 0,
        };
        let _ = self.state.domain.channel.on_response(rsp.as_bytes());
    }

    fn serve(&self, msg: &FastrpcMsg) -> DspResult {
        let sc = Scalars(msg.sc);
        let bad_va = |what: &str| DspError::new(aee::EBADVA, format!("{what} at {:#x} does not translate", msg.addr));
        // The payload, through the SMMU.
        let cb = self
            .state
            .cb(msg.addr)
            .ok_or_else(|| bad_va("payload (no such context bank)"))?;
        let meta_len = MetaLayout::new(sc.len()).metalen() as u64;
        if msg.size < meta_len {
            return Err(DspError::new(
                aee::EBADPARM,
                format!("payload of {} bytes, its metadata needs {meta_len}", msg.size),
            ));
        }
        let runs = cb
            .translate(msg.addr, msg.size, Access::Write)
            .map_err(|_| bad_va("payload"))?;
        let (payload, lead) = self
            .state
            .maps
            .map(&runs, true)
            .map_err(|_| bad_va("payload (unmappable)"))?;
        let mut meta = vec![0u8; meta_len as usize];
        payload
            .read_at(lead, &mut meta)
            .map_err(|_| bad_va("payload (unreadable)"))?;
        let decoded = decode(sc, &meta).map_err(|e| DspError::new(aee::EBADPARM, format!("payload: {e}")))?;
        // Every buffer argument, through the SMMU.
        let mut args = Vec::with_capacity(decoded.args.len());
        for (i, a) in decoded.args.iter().enumerate() {
            match *a {
                DecodedArg::Buf { addr, len, .. } if len > 0 => {
                    let access = if sc.is_input(i) { Access::Read } else { Access::Write };
                    let runs = cb.translate(addr, len, access).map_err(|_| {
                        DspError::new(aee::EBADVA, format!("argument {i} at {addr:#x} does not translate"))
                    })?;
                    let map = std::sync::OnceLock::new();
                    // An inline argument lies in the payload: it is a window
                    // of the payload's mapping, not a mapping of its own.
                    if addr >= msg.addr
                        && addr
                            .checked_add(len)
                            .is_some_and(|e| e <= msg.addr.saturating_add(msg.size))
                    {
                        let _ = map.set(Some((payload.clone(), lead + (addr - msg.addr) as usize)));
                    }
                    args.push(ArgMap {
                        runs,
                        len: len as usize,
                        writable: access == Access::Write,
                        map,
                        dma: None,
                    });
                }
                DecodedArg::Handle { fd, offset, len, page } => args.push(
                    ArgMap::handle(cb, fd, offset, len, page)
                        .map_err(|e| DspError::new(e.retval(), format!("argument {i}: {}", e.reason())))?,
                ),
                _ => args.push(ArgMap::empty()),
            }
        }
        // Outputs are written in place; their lengths stay as sent.
        self.dispatch(msg, sc, &args, cb)
    }

    fn dispatch(&self, msg: &FastrpcMsg, sc: Scalars, args: &[ArgMap], cb: &ContextBank) -> DspResult {
        if let Some(h) = self.handles.get(&msg.handle) {
            return h.invoke(&self.state, &Invocation { msg, sc, args, cb });
        }
        if msg.handle <= handles::MAX_LIB_STATIC_HANDLE {
            return Err(DspError::new(
                aee::EUNSUPPORTED,
                format!("static handle {} is not served", msg.handle),
            ));
        }
        let p = self.state.process(msg.client_id);
        let m = p.module(msg.handle).ok_or_else(|| {
            DspError::new(
                aee::ENOSUCHHANDLE,
                format!("no module open under handle {:#x} in '{}'", msg.handle, p.name),
            )
        })?;
        // The module's runtime calls reach this PD's listener.
        let _rev = crate::reverse::enter(p.rev.clone());
        m.invoke(sc, args)
    }
}

#[cfg(test)]
mod linger_tests {
    use super::*;

    const US: u64 = 1_000;

    /// Through qdad a call comes 20–40 µs after the last answer: the linger
    /// grows past that gap (it stayed at 20 µs and missed about half), and
    /// stays within its bounds whatever the gaps.
    #[test]
    fn the_linger_follows_the_gap_between_calls() {
        let settle = |gap: u64| (0..64).fold(0, |avg, _| next_gap_average(avg, gap));
        assert_eq!(linger_for(settle(3 * US)), LINGER_MIN, "an embedded caller");
        let qdad = linger_for(settle(30 * US));
        assert!(qdad > Duration::from_micros(40) && qdad < LINGER_MAX, "{qdad:?}");
        assert_eq!(linger_for(settle(90 * US)), LINGER_MAX);
        assert_eq!(linger_for(u64::MAX), LINGER_MAX);
        // Sparse calls (a linger could not catch them) bring it down.
        let after = (0..64).fold(settle(90 * US), |avg, _| next_gap_average(avg, 10_000 * US));
        assert_eq!(linger_for(after), LINGER_MIN);
        assert!(next_gap_average(u64::MAX, 0) > 0, "no overflow");
    }
}

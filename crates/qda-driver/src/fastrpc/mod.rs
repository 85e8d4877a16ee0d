//! The FastRPC core: per-channel invocation contexts, the transport to the
//! DSP, and the invoke path shared by the QDA and legacy UAPIs.
//!
//! A [`Channel`] (one per domain, the rpmsg endpoint) owns the context ids:
//! at most 255 calls are in flight, ids 1..=255 are reused, and a caller
//! beyond that waits for a free id instead of failing. A call is sent as the
//! 40-byte message through the [`Transport`]; the DSP side answers through
//! [`Channel::on_response`]. Waiting has an optional timeout (kernel calls use
//! 10 s, as the kernel does; user calls wait for ever unless configured) and
//! a subsystem restart ([`Channel::restart`]) fails every pending call with
//! `EPIPE`.
//!
//! **Poll mode** (a file's option: legacy `SET_OPTION`, see `docs/DRIVER.md`):
//! the caller first spins on its context's completion word for a bounded
//! budget ([`Channel::call_polled`]), then sleeps on the condvar as usual. The
//! answering side sets the word and signals the condvar only when the
//! caller has gone to sleep (its `sleeping` flag, read under the context's
//! lock, so no wake-up is lost); an answer that lands while the caller spins
//! costs no wake-up at all. Spins that end in a sleep are counted
//! ([`PollStats`]).

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use qda_rt::handoff::SpinGate;
use rustix::thread::futex;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use qda_proto::{CtxLayout, FastrpcMsg, InvokeRsp, PdType};

use crate::errno::{Errno, Error, Result};

/// The rpmsg side of a channel: sends the 40-byte message to the DSP.
pub trait Transport: Send + Sync + fmt::Debug {
    /// `rpmsg_send(ept, msg, 40)`.
    fn send(&self, msg: &FastrpcMsg) -> Result<()>;
    /// Send a call whose caller waits in poll mode, spinning for up to
    /// `poll` (`None`: sleep mode). A remote side may use the budget to
    /// spin for the next message too. Default: [`Transport::send`].
    fn send_polled(&self, msg: &FastrpcMsg, poll: Option<Duration>) -> Result<()> {
        let _ = poll;
        self.send(msg)
    }
    /// The channel is going away (subsystem restart or removal): the remote
    /// side drops its processes. Default: nothing.
    fn shutdown(&self) {}
}

/// One FastRPC call as the host saw it, for `--trace` and other observers.
#[derive(Debug)]
pub struct CallTrace<'a> {
    /// Domain label (`cdsp`).
    pub domain: &'a str,
    /// The message sent (its `ctx` is the context the call used).
    pub msg: FastrpcMsg,
    /// Argument lengths, in scalars order; `by_fd[i]` when argument `i`
    /// travelled in a dma-buf rather than through the payload.
    pub lens: &'a [u64],
    /// Which arguments were dma-bufs.
    pub by_fd: &'a [bool],
    /// A kernel-originated call (process management) rather than a user invoke.
    pub kernel: bool,
    /// The DSP's return value, or the errno the call failed with.
    pub result: std::result::Result<i32, Errno>,
    /// From send to answer.
    pub elapsed: Duration,
}

/// Receives every completed call of a channel.
pub type Tracer = Arc<dyn Fn(&CallTrace<'_>) + Send + Sync>;

/// Timeout of kernel-originated calls (`wait_for_completion_timeout(10 * HZ)`).
pub const KERNEL_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Context ids per channel: 1..=255 fit the DSP's 8-bit field.
pub const MAX_CONTEXTS: usize = 255;

#[derive(Debug, Default)]
struct State {
    /// The context is allocated to a call (its slot's `Table::used`).
    live: bool,
    /// The caller's thread (for [`Channel::interrupt`]).
    tid: i32,
    result: Option<i32>,
    interrupted: bool,
    /// The caller left (interrupted): the response frees the context.
    abandoned: bool,
    /// The caller waits on the condvar (not spinning): a change must notify.
    sleeping: bool,
}

#[derive(Debug, Default)]
struct Pending {
    done: Mutex<State>,
    /// The completion word: incremented (under `done`'s lock, after the
    /// change) each time the call is answered, failed or interrupted. A
    /// polling caller spins until it moves from the value it had when the
    /// context was allocated; a sleeping one waits on it as a futex, so a
    /// wake-up costs one `FUTEX_WAKE` and the woken caller does not queue
    /// on a mutex the waker still holds (a condvar's would).
    changed: Line,
}

/// A word alone on its cache line: the caller spins on it while the DSP
/// thread takes and releases the `done` lock beside it; sharing a line
/// would make each of those writes pull the line away from the spinner.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line(AtomicU32);

impl std::ops::Deref for Line {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.0
    }
}

impl Pending {
    /// After changing `d` (its lock held): publish the completion word.
    /// Returns whether the caller sleeps: then call [`Pending::wake`]
    /// once the lock is dropped.
    #[must_use]
    fn signal(&self, d: &State) -> bool {
        self.changed.fetch_add(1, Ordering::Release);
        d.sleeping
    }

    /// Wake the sleeping caller.
    fn wake(&self) {
        let _ = futex::wake(&self.changed, futex::Flags::PRIVATE, u32::MAX);
    }
}

/// How a channel's polled waits ended (running totals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollStats {
    /// Polled calls whose answer came within the spin budget (no sleep).
    pub answered_spinning: u64,
    /// Polled calls whose budget ran out: they slept as in sleep mode.
    pub spin_timeouts: u64,
    /// Sleep-mode calls whose proxy spin ([`Channel::set_proxy_spin`]) saw
    /// the answer (not polled calls: not in the two counts above).
    pub proxy_answered_spinning: u64,
    /// Proxy spins that ran out, were preempted or skipped (the proxy's
    /// gate closed), then slept.
    pub proxy_spin_timeouts: u64,
}

/// The spin budget poll mode uses when the caller gives none (the proposed
/// kernel spins up to 10 ms; qda's default is shorter because its DSP
/// threads share the caller's cores; see `docs/DRIVER.md`).
pub const DEFAULT_POLL_BUDGET: Duration = Duration::from_micros(qda_uapi::qda::QDA_POLL_BUDGET_DEFAULT_US as u64);
/// The largest spin budget accepted (libfastrpc's `latency` maximum, 10 000 µs).
pub const MAX_POLL_BUDGET: Duration = Duration::from_micros(qda_uapi::qda::QDA_POLL_BUDGET_MAX_US as u64);

#[derive(Debug)]
struct Table {
    /// Which contexts are allocated (index 0 is never used).
    used: Vec<bool>,
    next: usize,
    in_flight: usize,
    /// Callers waiting for a free context (all 255 in use).
    waiting: usize,
}

impl Table {
    /// Context `i` is free again: wake one caller waiting for one, if any
    /// (std's `notify_one` is a futex syscall even with nobody waiting, and
    /// this runs once per call).
    fn release(&mut self, i: usize, freed: &Condvar) {
        self.used[i] = false;
        self.in_flight -= 1;
        if self.waiting > 0 {
            freed.notify_one();
        }
    }
}

/// One rpmsg channel to a DSP domain.
#[derive(Debug)]
pub struct Channel {
    label: String,
    transport: RwLock<Option<Arc<dyn Transport>>>,
    table: Mutex<Table>,
    /// One per context id, made once and reused: a call allocates no
    /// memory, and the answering side finds its context without the
    /// table's lock (whose line would otherwise move to the DSP thread and
    /// back on every call).
    pending: Box<[Pending]>,
    freed: Condvar,
    layout: CtxLayout,
    /// Cached capability table (attributes 1..=255), per channel.
    pub(crate) caps: Mutex<Option<Vec<u32>>>,
    tracer: RwLock<TraceSlot>,
    answered_spinning: AtomicU64,
    proxy_answered_spinning: AtomicU64,
    proxy_spin_timeouts: AtomicU64,
    /// The proxy spin's own gate: a stream of calls longer than its budget
    /// turns it off for a while, without touching polled callers' gate.
    proxy_gate: SpinGate,
    spin_timeouts: AtomicU64,
    /// Closes spinning for a while after a preempted spin (a busy machine).
    gate: SpinGate,
    /// A sleep-mode call's spin for its answer ([`Channel::set_proxy_spin`]).
    proxy_spin: crate::sync::OptDuration,
    /// Tests turn the gate off to take both ends of a polled wait.
    #[cfg(test)]
    ungated: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct TraceSlot(Option<Tracer>);

impl fmt::Debug for TraceSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "tracing" } else { "off" })
    }
}

impl Channel {
    /// A channel with no DSP attached.
    pub fn new(label: &str) -> Self {
        Channel {
            label: label.to_string(),
            transport: RwLock::new(None),
            table: Mutex::new(Table {
                used: vec![false; MAX_CONTEXTS + 1],
                next: 1,
                in_flight: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
            pending: (0..=MAX_CONTEXTS).map(|_| Pending::default()).collect(),
            layout: CtxLayout::KERNEL,
            caps: Mutex::new(None),
            tracer: RwLock::new(TraceSlot(None)),
            answered_spinning: AtomicU64::new(0),
            proxy_answered_spinning: AtomicU64::new(0),
            proxy_spin_timeouts: AtomicU64::new(0),
            proxy_gate: SpinGate::default(),
            spin_timeouts: AtomicU64::new(0),
            gate: SpinGate::default(),
            proxy_spin: crate::sync::OptDuration::default(),
            #[cfg(test)]
            ungated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Spin for up to `spin` for the answer to a sleep-mode call too,
    /// before sleeping (`None`: sleep at once, the default). For a driver
    /// whose callers are proxies of callers that sleep themselves (qdad:
    /// its thread makes the call while the client waits on the ring), so
    /// the proxy's own wake-up is not added to the client's. The DSP is
    /// not told (the call stays in sleep mode there) and the call is not
    /// counted as a polled one ([`Channel::poll_stats`] counts it apart).
    /// The spin has a gate of its own, closed by a preempted spin or one
    /// that runs out (a stream of calls longer than the budget turns it off
    /// for a while); polled callers' gate is not touched.
    pub fn set_proxy_spin(&self, spin: Option<Duration>) {
        self.proxy_spin.set(spin);
    }

    /// How polled waits ended so far.
    pub fn poll_stats(&self) -> PollStats {
        PollStats {
            answered_spinning: self.answered_spinning.load(Ordering::Relaxed),
            spin_timeouts: self.spin_timeouts.load(Ordering::Relaxed),
            proxy_answered_spinning: self.proxy_answered_spinning.load(Ordering::Relaxed),
            proxy_spin_timeouts: self.proxy_spin_timeouts.load(Ordering::Relaxed),
        }
    }

    /// Observe every completed call (`None` stops).
    pub fn set_tracer(&self, t: Option<Tracer>) {
        crate::sync::write(&self.tracer).0 = t;
    }

    /// The current observer.
    pub fn tracer(&self) -> Option<Tracer> {
        crate::sync::read(&self.tracer).0.clone()
    }

    /// Attach the DSP side (rpmsg probe).
    pub fn attach(&self, t: Arc<dyn Transport>) {
        *crate::sync::write(&self.transport) = Some(t);
    }

    /// True when a DSP is attached.
    pub fn is_up(&self) -> bool {
        crate::sync::read(&self.transport).is_some()
    }

    /// The context-id layout.
    pub fn layout(&self) -> CtxLayout {
        self.layout
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        qda_rt::lock(&self.table).in_flight
    }

    /// Subsystem restart: detach the DSP and fail every pending call with
    /// `EPIPE`; calls made before a new [`Channel::attach`] fail the same way.
    pub fn restart(&self) {
        // Detach first (no new sends), fail what is pending, then stop the
        // DSP. In that order an answer the dying DSP still sends (stopping
        // it wakes calls blocked inside it) finds the call already failed
        // and is dropped, as after the kernel's rpmsg remove.
        let transport = crate::sync::write(&self.transport).take();
        *qda_rt::lock(&self.caps) = None;
        let mut t = qda_rt::lock(&self.table);
        for i in 1..=MAX_CONTEXTS {
            if !t.used[i] {
                continue;
            }
            let p = &self.pending[i];
            let mut d = qda_rt::lock(&p.done);
            d.result = Some(-Errno::EPIPE.0);
            if d.abandoned {
                d.live = false;
                t.release(i, &self.freed);
            }
            let sleeps = p.signal(&d);
            drop(d);
            if sleeps {
                p.wake();
            }
        }
        drop(t);
        if let Some(tr) = transport {
            tr.shutdown();
        }
    }

    /// Interrupt the calls thread `tid` is waiting in (what a signal does
    /// to `wait_for_completion_interruptible`): they return `ERESTARTSYS`,
    /// their contexts stay allocated until the DSP answers. Returns how many
    /// calls were interrupted.
    pub fn interrupt(&self, tid: i32) -> usize {
        let t = qda_rt::lock(&self.table);
        let mut n = 0;
        for i in (1..=MAX_CONTEXTS).filter(|i| t.used[*i]) {
            let p = &self.pending[i];
            let mut d = qda_rt::lock(&p.done);
            if d.live && d.tid == tid && d.result.is_none() && !d.abandoned {
                d.interrupted = true;
                n += 1;
                let sleeps = p.signal(&d);
                drop(d);
                if sleeps {
                    p.wake();
                }
            }
        }
        n
    }

    /// The DSP's response (the rpmsg callback): at least 16 bytes, the
    /// context is found by its index; unknown ids are `ENOENT` (dropped).
    pub fn on_response(&self, bytes: &[u8]) -> Result<()> {
        let rsp = InvokeRsp::parse(bytes).map_err(|e| Error::new(Errno::EINVAL, e.to_string()))?;
        let idx = self.layout.index(rsp.ctx) as usize;
        let unknown = || {
            Error::new(
                Errno::ENOENT,
                format!("{}: response for unknown context 0x{:x}", self.label, rsp.ctx),
            )
        };
        // Index 0 is never allocated.
        let p = self.pending.get(idx).filter(|_| idx != 0).ok_or_else(unknown)?;
        let mut d = qda_rt::lock(&p.done);
        if !d.live {
            return Err(unknown());
        }
        if d.result.is_none() {
            d.result = Some(rsp.retval);
        }
        let abandoned = d.abandoned;
        let sleeps = p.signal(&d);
        drop(d);
        if sleeps {
            p.wake();
        }
        if abandoned {
            // Nobody waits any more: the response releases the context (its
            // `used` mark kept it from being allocated until now). Table
            // first, as everywhere; a restart may have released it
            // meanwhile (then it is not live, or live for another call).
            let mut t = qda_rt::lock(&self.table);
            let mut d = qda_rt::lock(&p.done);
            if d.live && d.abandoned {
                d.live = false;
                drop(d);
                t.release(idx, &self.freed);
            }
        }
        Ok(())
    }

    /// A free context: its index, its state and the completion word's
    /// value before any answer.
    fn alloc(&self) -> (u8, &Pending, u32) {
        let mut t = qda_rt::lock(&self.table);
        while t.in_flight == MAX_CONTEXTS {
            t.waiting += 1;
            t = qda_rt::wait(&self.freed, t);
            t.waiting -= 1;
        }
        // Cyclic allocation from 1, as idr_alloc_cyclic.
        let mut i = t.next;
        while t.used[i] {
            i = if i == MAX_CONTEXTS { 1 } else { i + 1 };
        }
        t.used[i] = true;
        t.in_flight += 1;
        t.next = if i == MAX_CONTEXTS { 1 } else { i + 1 };
        drop(t);
        let p = &self.pending[i];
        *qda_rt::lock(&p.done) = State {
            live: true,
            tid: qda_os::self_tid(),
            ..State::default()
        };
        // Read after the reset: an answer can only come once the message
        // is sent.
        let start = p.changed.load(Ordering::Acquire);
        (i as u8, p, start)
    }

    fn free(&self, idx: u8) {
        let i = idx as usize;
        let mut t = qda_rt::lock(&self.table);
        if t.used[i] {
            qda_rt::lock(&self.pending[i].done).live = false;
            t.release(i, &self.freed);
        }
    }

    /// A polled caller's spin (`polled`, through the channel's gate) or a
    /// proxy's (through its own: its budget is a guess at how long calls
    /// take, and a skel that computes outlasts it every time; that must
    /// not turn polled callers' spinning off). A spin that is preempted,
    /// or runs out with the answer still coming, closes its gate.
    fn spin_for_answer(&self, budget: Duration, ready: impl Fn() -> bool, polled: bool) -> bool {
        #[cfg(test)]
        if self.ungated.load(Ordering::Relaxed) {
            return qda_rt::handoff::spin_until(budget, ready) == qda_rt::handoff::SpinEnd::Done;
        }
        let gate = if polled { &self.gate } else { &self.proxy_gate };
        gate.spin_for_answer(budget, ready)
    }

    /// Send `msg` (its `ctx` is filled in from a fresh context and `pd`) and
    /// wait for the DSP's return value.
    pub fn call(&self, msg: FastrpcMsg, pd: PdType, timeout: Option<Duration>) -> Result<i32> {
        self.call_polled(msg, pd, timeout, None)
    }

    /// [`Channel::call`] in poll mode when `poll` is set: spin on the
    /// completion word for at most that long (capped at
    /// [`MAX_POLL_BUDGET`]), then sleep as in sleep mode.
    pub fn call_polled(
        &self,
        mut msg: FastrpcMsg,
        pd: PdType,
        timeout: Option<Duration>,
        poll: Option<Duration>,
    ) -> Result<i32> {
        let t = crate::sync::read(&self.transport).clone();
        let Some(t) = t else {
            return Err(Error::new(Errno::EPIPE, format!("{}: DSP channel is down", self.label)));
        };
        let (idx, p, start) = self.alloc();
        msg.ctx = self.layout.encode(idx, pd);
        let poll = poll.map(|b| b.min(MAX_POLL_BUDGET));
        if let Err(e) = t.send_polled(&msg, poll) {
            self.free(idx);
            return Err(e);
        }
        let spin = poll.or_else(|| self.proxy_spin.get().map(|b| b.min(MAX_POLL_BUDGET)));
        if let Some(budget) = spin {
            let ready = || p.changed.load(Ordering::Acquire) != start;
            // A spin that is preempted, or a polled one that runs out of
            // budget with the answer still coming, closes the gate; a call
            // that finds it closed skips its spin and leaves the gate as
            // it is.
            let answered = self.spin_for_answer(budget, ready, poll.is_some());
            // Poll mode's own counts (a proxy's spin is not the caller's).
            let (seen, missed) = match poll {
                Some(_) => (&self.answered_spinning, &self.spin_timeouts),
                None => (&self.proxy_answered_spinning, &self.proxy_spin_timeouts),
            };
            if answered { seen } else { missed }.fetch_add(1, Ordering::Relaxed);
        }
        let deadline = timeout.map(|d| Instant::now() + d);
        let mut d = qda_rt::lock(&p.done);
        // From here on every change must wake this thread.
        d.sleeping = true;
        let r = loop {
            if let Some(v) = d.result {
                break Ok(v);
            }
            if d.interrupted {
                d.abandoned = true;
                return Err(Error::new(
                    Errno::ERESTARTSYS,
                    format!(
                        "{}: call interrupted; its context stays until the DSP answers",
                        self.label
                    ),
                ));
            }
            // Read under the lock: a change after this point moves the word,
            // and its signal sees `sleeping` and wakes.
            let seen = p.changed.load(Ordering::Acquire);
            match deadline {
                None => {
                    drop(d);
                    // EAGAIN (the word moved) and EINTR: look again.
                    let _ = futex::wait(&p.changed, futex::Flags::PRIVATE, seen, None);
                    d = qda_rt::lock(&p.done);
                }
                Some(dl) => {
                    let now = Instant::now();
                    if now >= dl {
                        break Err(Error::new(
                            Errno::ETIMEDOUT,
                            format!(
                                "{}: DSP did not answer in {:?}",
                                self.label,
                                timeout.unwrap_or_default()
                            ),
                        ));
                    }
                    drop(d);
                    let left = dl - now;
                    let ts = rustix::time::Timespec {
                        tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                        tv_nsec: left.subsec_nanos().into(),
                    };
                    let _ = futex::wait(&p.changed, futex::Flags::PRIVATE, seen, Some(&ts));
                    d = qda_rt::lock(&p.done);
                }
            }
        };
        drop(d);
        self.free(idx);
        match r {
            Ok(v) if v == -Errno::EPIPE.0 => Err(Error::new(
                Errno::EPIPE,
                format!("{}: DSP restarted during the call", self.label),
            )),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests;

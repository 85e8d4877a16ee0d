//! Serving a connection's shared-memory ring
//! ([`FEATURE_RING`](qdad_client::wire::FEATURE_RING); layout in
//! `qdad_client::shm`).
//!
//! Threads of the pool serve the ring: each pops a request, copies its
//! body out of shared memory once, and runs it itself; the reply goes
//! back into the slot's region and the client's waiting thread is woken
//! only if it sleeps. One thread serves while calls come one at a time: no
//! hand-off. A second thread is started only when a request waits while
//! every serving thread is in a call — seen by the thread that just took
//! a call (more requests queued behind it), or by the client (its push saw
//! `free_servers` at 0: it sends `Kick` on the socket) — so a call that
//! blocks on the DSP never holds up the connection's other calls, up to
//! the same bounds as on the socket. A thread idle for the body deadline
//! leaves; the last to leave is brought back by the next request's kick.
//!
//! The client can write anything into the shared memory at any time: the
//! ring's words are only atomics (a garbage ring gives garbage messages,
//! or `Corrupt`, which closes the connection), a message's slot and length
//! are checked, the body is copied once and parsed from the copy, and the
//! decisions (how many threads serve, how many are free) are taken on the
//! daemon's own counts, never on shared words.

/// Closes the ring threads' poll-mode spinning for a while after a
/// preempted spin.
static SPIN_GATE: qda_rt::handoff::SpinGate = qda_rt::handoff::SpinGate::new();

use std::sync::atomic::fence;

use qdad_client::shm::{FUTEX, RING_WIDTH, Shm, SlotReply};

use super::*;

/// A connection's ring and the threads serving it.
#[derive(Debug)]
pub(super) struct ConnRing {
    shm: Shm,
    /// Threads serving it.
    servers: AtomicUsize,
    /// Of those, threads not in a call (ready to pop).
    free: AtomicUsize,
}

impl ConnRing {
    pub(super) fn new(shm: Shm) -> ConnRing {
        ConnRing {
            shm,
            servers: AtomicUsize::new(0),
            free: AtomicUsize::new(0),
        }
    }

    /// Wake the threads asleep on the ring (the connection is closing).
    pub(super) fn wake(&self) {
        self.shm.ring().bell().ring(&FUTEX);
    }

    /// One more free thread (the shared hint follows the daemon's count).
    fn free_up(&self) {
        self.free.fetch_add(1, Ordering::SeqCst);
        self.shm.free_servers().fetch_add(1, Ordering::SeqCst);
    }

    fn free_down(&self) {
        self.free.fetch_sub(1, Ordering::SeqCst);
        self.shm.free_servers().fetch_sub(1, Ordering::SeqCst);
    }
}

/// A client's `Kick`: a request waits and no thread was free.
pub(super) fn kick(sh: &Arc<Shared>, conn: &Arc<Conn>) {
    if let Some(r) = conn.ring.get()
        && r.free.load(Ordering::SeqCst) == 0
    {
        start_server(sh, conn, r);
    }
}

/// Start a thread on the ring, within the bounds: always when none serves;
/// a further one only while the connection, its uid and the daemon have
/// room for calls that block (as on the socket: past that, requests wait
/// for a thread to finish its call).
fn start_server(sh: &Arc<Shared>, conn: &Arc<Conn>, r: &ConnRing) -> bool {
    if conn.closed.load(Ordering::SeqCst) || sh.stopping.load(Ordering::SeqCst) {
        return false;
    }
    let room = conn.calls.load(Ordering::SeqCst) <= sh.limits.calls_per_connection
        && sh.calls.load(Ordering::SeqCst) <= sh.limits.calls_total
        && conn.uid_use.calls.load(Ordering::SeqCst) <= conn.rights.max_calls;
    let max = (r.shm.shape().slots as usize).min(sh.limits.calls_per_connection.max(1));
    if r.servers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n == 0 || (room && n < max)).then_some(n + 1)
        })
        .is_err()
    {
        return false;
    }
    // Free from now, so further kicks do not start more.
    r.free_up();
    let (sh2, conn2) = (sh.clone(), conn.clone());
    if sh.pool.submit(Box::new(move || serve(&sh2, &conn2))).is_err() {
        r.free_down();
        r.servers.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// A thread serving the ring until it is idle for the body deadline, the
/// connection closes, or the ring is found corrupt.
fn serve(sh: &Arc<Shared>, conn: &Arc<Conn>) {
    let Some(r) = conn.ring.get() else {
        return;
    };
    let ring = r.shm.ring();
    let mut msg = [0u32; RING_WIDTH];
    let mut idle_since = Instant::now();
    loop {
        if conn.closed.load(Ordering::SeqCst) {
            break;
        }
        match ring.pop(&mut msg) {
            Err(e) => {
                tracing::info!(target: TRACE_TARGET, "#{} pid {}: ring: {e}; closing", conn.id, conn.creds.pid);
                let _ = rustix::net::shutdown(conn.sock.as_fd(), rustix::net::Shutdown::Both);
                break;
            }
            Ok(true) => {
                r.free_down();
                // Busy now: if more requests wait and no thread is free,
                // start one (the client sees free_servers at 0 and kicks
                // for requests that come later).
                fence(Ordering::SeqCst);
                if r.free.load(Ordering::SeqCst) == 0 && ring.ready() {
                    start_server(sh, conn, r);
                }
                let done = serve_one(sh, conn, r, msg);
                // Free again before the client can see its reply: its next
                // request then finds a free thread and needs no kick.
                r.free_up();
                let Some((i, seq, reply)) = done else {
                    break;
                };
                complete(r, i, seq, reply);
                // Poll mode: spin for the budget before sleeping, as the
                // client does for its reply.
                let budget = conn.poll_us.load(Ordering::Relaxed);
                if budget > 0 {
                    // Without yields, and not at all after a preempted
                    // spin (a busy machine): `qda_rt::handoff::SpinGate`.
                    SPIN_GATE.spin(Duration::from_micros(budget.into()), || ring.ready());
                }
                idle_since = Instant::now();
            }
            Ok(false) => {
                if idle_since.elapsed() >= sh.limits.body_deadline {
                    // Leave; but a request that came meanwhile is served
                    // (its client saw a free thread and did not kick).
                    r.free_down();
                    r.servers.fetch_sub(1, Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    if ring.ready()
                        && !conn.closed.load(Ordering::SeqCst)
                        && r.servers
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n == 0).then_some(1))
                            .is_ok()
                    {
                        r.free_up();
                        idle_since = Instant::now();
                        continue;
                    }
                    return;
                }
                let left = sh.limits.body_deadline.saturating_sub(idle_since.elapsed());
                ring.bell()
                    .wait(&FUTEX, Some(left.min(Duration::from_millis(250))), || ring.ready());
            }
        }
    }
    r.free_down();
    r.servers.fetch_sub(1, Ordering::SeqCst);
}

/// Run one request from the ring: its slot, sequence number and reply, or
/// `None` when the client broke the protocol (the connection is being
/// closed).
fn serve_one(sh: &Arc<Shared>, conn: &Arc<Conn>, r: &ConnRing, msg: [u32; RING_WIDTH]) -> Option<(u32, u32, Reply)> {
    let [i, len, seq, _] = msg;
    if r.shm.slot(i).is_none() {
        // No slot to answer in: the client broke the protocol.
        tracing::info!(target: TRACE_TARGET, "#{} pid {}: ring: slot {i} does not exist; closing", conn.id, conn.creds.pid);
        let _ = rustix::net::shutdown(conn.sock.as_fd(), rustix::net::Shutdown::Both);
        return None;
    }
    sh.counters.requests.fetch_add(1, Ordering::Relaxed);
    sh.counters.ring_requests.fetch_add(1, Ordering::Relaxed);
    let reply = match r.shm.read(i, len as usize) {
        Err(e) => Reply::ioctl_errno(libc::EINVAL, format!("qdad: malformed ring request: {e}")),
        Ok(body) => run_request(sh, conn, seq, body),
    };
    Some((i, seq, reply))
}

fn run_request(sh: &Arc<Shared>, conn: &Arc<Conn>, seq: u32, body: Vec<u8>) -> Reply {
    let charge = match FdCharge::try_new(sh, conn, 0, body.len() as u64) {
        Ok(c) => c,
        Err(_) => {
            return Reply::ioctl_errno(
                libc::ENOMEM,
                format!(
                    "qdad: the bodies of all clients' requests in flight would exceed its cap of {} MiB; try again",
                    sh.limits.buffered_bytes >> 20
                ),
            );
        }
    };
    let m = Message {
        hdr: Header {
            op: Op::Ioctl as u16,
            seq,
            len: body.len() as u32,
            ..Default::default()
        },
        body,
        fds: Vec::new(),
    };
    let reply = match prepare_ioctl(sh, conn, Op::Ioctl, m, charge) {
        Err(r) => r,
        Ok((call, blocks)) => {
            let _slot = blocks.then(|| CallSlot::new(sh, conn));
            run_guarded(sh, conn, Op::Ioctl, call)
        }
    };
    if !reply.fds.is_empty() {
        // Calls that return fds go on the socket; the client never sends
        // one here. Its fds are closed.
        return Reply::ioctl_errno(libc::EPROTO, "qdad: a call that returns fds came through the ring");
    }
    reply
}

/// Write the reply into slot `i`'s region, shortening its error text if
/// it does not fit (and answering `EMSGSIZE` if it still does not), then
/// mark the slot done and wake the client if it sleeps.
fn complete(r: &ConnRing, i: u32, seq: u32, mut reply: Reply) {
    let region = r.shm.shape().region as usize;
    if reply.body.len() > region {
        shorten_text(&mut reply.body, region);
    }
    if reply.body.len() > region {
        reply = Reply::ioctl_errno(libc::EMSGSIZE, "qdad: the reply does not fit the ring's slot");
    }
    let len = r.shm.write(i, &[&reply.body]).unwrap_or(0);
    if let Some(slot) = r.shm.slot(i) {
        slot.complete(SlotReply {
            status: reply.status,
            value: reply.value,
            len: len as u32,
            seq,
        });
    }
}

/// Cut the error text at the end of an ioctl reply body so the body fits
/// `max` bytes, if the text is long enough for that.
fn shorten_text(body: &mut Vec<u8>, max: usize) {
    let Ok(mut rsp) = Reader::new(body).get::<IoctlRsp>() else {
        return;
    };
    let over = body.len() - max;
    let cut = over.min(rsp.msg_len as usize);
    if cut < over {
        return;
    }
    rsp.msg_len -= cut as u32;
    body.truncate(body.len() - cut);
    body[..size_of::<IoctlRsp>()].copy_from_slice(rsp.as_bytes());
}

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

use std::sync::atomic::fence;

use qdad_client::shm::{FUTEX, RING_WIDTH, Shm, SlotReply};

use super::*;

/// A connection's ring and the threads serving it.
#[derive(Debug)]
pub(super) struct ConnRing {
    shm: Arc<Shm>,
    /// Threads serving it.
    servers: AtomicUsize,
    /// Of those, threads not in a call (ready to pop).
    free: AtomicUsize,
    /// Closes this connection's ring threads' poll-mode spinning for a
    /// while after a spin that was preempted or ran out (one connection's
    /// calls never turn another's spinning off).
    gate: qda_rt::handoff::SpinGate,
}

impl ConnRing {
    pub(super) fn new(shm: Shm) -> ConnRing {
        ConnRing {
            shm: Arc::new(shm),
            servers: AtomicUsize::new(0),
            free: AtomicUsize::new(0),
            gate: qda_rt::handoff::SpinGate::new(),
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
                    // Without yields, and not at all for a while after a
                    // spin that was preempted or ran out: on a busy machine
                    // the spin holds the CPU the client needs to send its
                    // next request, which then comes after the budget
                    // (beside two busy threads every call took the whole
                    // 100 µs; `qda_rt::handoff::SpinGate`).
                    r.gate
                        .spin_for_answer(Duration::from_micros(budget.into()), || ring.ready());
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
    let reply = match read_request(&r.shm, i, len as usize) {
        Err(e) => Reply::ioctl_errno(libc::EINVAL, format!("qdad: malformed ring request: {e}")),
        Ok((body, inplace)) => run_request(sh, conn, seq, body, inplace),
    };
    Some((i, seq, reply))
}

/// Input-only segments at least this long stay in the slot's region
/// ([`InPlace`]); shorter ones, and any holding the ioctl's struct (which
/// the policy and the driver may each read), are copied with the body.
const IN_PLACE_MIN: u32 = 1024;

/// A slot's region as the driver's shared memory.
#[derive(Debug)]
struct SlotBytes {
    shm: Arc<Shm>,
    i: u32,
}

impl SharedBytes for SlotBytes {
    fn size(&self) -> usize {
        self.shm.shape().region as usize
    }
    fn read_at(&self, off: usize, dst: &mut [u8]) -> qda_driver::errno::Result<()> {
        self.shm.read_into(self.i, off, dst)
    }
    fn write_at(&self, off: usize, src: &[u8]) -> qda_driver::errno::Result<()> {
        self.shm.write_at(self.i, off, src)
    }
}

/// Slot `i`'s request of `len` bytes: a copy of its head (what is parsed
/// and checked) and of its short inputs, the long input-only segments left
/// in the region. Whatever does not add up (counts past the limits, a
/// short body) is copied whole, for the parser to refuse with its reason.
fn read_request(shm: &Arc<Shm>, i: u32, len: usize) -> Result<(Vec<u8>, Option<InPlace>), qda_os::OsError> {
    let region = shm.shape().region as usize;
    if len > region {
        return Err(qda_os::OsError::new(
            qda_os::Errno::EINVAL,
            format!("{len} bytes do not fit a {region}-byte slot"),
        ));
    }
    // Every byte of the head is read once, into the body, and everything
    // below is decided on that copy, which is also what is parsed (a
    // second read of the struct could see other counts, another `arg`).
    let fixed = size_of::<IoctlReq>();
    let mut body = shm.read(i, len.min(fixed))?;
    let head = Reader::new(&body)
        .get::<IoctlReq>()
        .ok()
        .and_then(|req| Some((req, req.head_len()?)))
        .filter(|&(req, h)| h <= len && req.nsegs <= wire::MAX_SEGS);
    let Some((req, head_len)) = head else {
        append(shm, i, body.len()..len, &mut body)?;
        return Ok((body, None));
    };
    append(shm, i, fixed..head_len, &mut body)?;
    let table = &body[head_len - req.nsegs as usize * size_of::<Seg>()..];
    let segs: Vec<Seg> = Reader::new(table).array(req.nsegs as usize).unwrap_or_default();
    let mut at = vec![None; segs.len()];
    let mut pos = head_len;
    for (k, s) in segs.iter().enumerate() {
        if s.flags & SEG_IN == 0 {
            continue;
        }
        let n = s.len as usize;
        let Some(end) = pos.checked_add(n).filter(|&e| e <= len) else {
            break;
        };
        let holds_struct = req.arg.wrapping_sub(s.addr) < s.len as u64;
        if s.flags == SEG_IN && s.len >= IN_PLACE_MIN && !holds_struct {
            at[k] = Some(pos);
        } else {
            append(shm, i, pos..end, &mut body)?;
        }
        pos = end;
    }
    // What is left (the parser says what is wrong with it).
    append(shm, i, pos..len, &mut body)?;
    let inplace = at.iter().any(Option::is_some).then(|| InPlace {
        bytes: Box::new(SlotBytes { shm: shm.clone(), i }),
        at,
    });
    Ok((body, inplace))
}

/// Append the bytes of `range` of slot `i`'s region to `body` (`EINVAL`
/// past the region, before anything is allocated).
fn append(shm: &Shm, i: u32, range: std::ops::Range<usize>, body: &mut Vec<u8>) -> Result<(), qda_os::OsError> {
    if range.end > shm.shape().region as usize {
        return Err(qda_os::OsError::new(qda_os::Errno::EINVAL, "past the slot's region"));
    }
    let at = body.len();
    body.resize(at + range.len(), 0);
    shm.read_into(i, range.start, &mut body[at..])
}

fn run_request(sh: &Arc<Shared>, conn: &Arc<Conn>, seq: u32, body: Vec<u8>, inplace: Option<InPlace>) -> Reply {
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
    let reply = match prepare_ioctl(sh, conn, Op::Ioctl, m, charge, inplace) {
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
    if let Some(w) = reply.written.take() {
        let head = reply.body.len();
        if head + w.len() <= region {
            // The head, then the written bytes straight from the call's
            // memory into the slot (one copy).
            let mut ok = true;
            w.put(&reply.body, |at, b| ok &= r.shm.write_at(i, at, b).is_ok());
            if ok {
                done(r, i, seq, &reply, head + w.len());
                return;
            }
        }
        w.append_to(&mut reply.body);
    }
    if reply.body.len() > region {
        shorten_text(&mut reply.body, region);
    }
    if reply.body.len() > region {
        reply = Reply::ioctl_errno(libc::EMSGSIZE, "qdad: the reply does not fit the ring's slot");
    }
    let len = r.shm.write(i, &[&reply.body]).unwrap_or(0);
    done(r, i, seq, &reply, len);
}

/// Mark slot `i` done with `len` bytes of reply (waking the client if it
/// sleeps).
fn done(r: &ConnRing, i: u32, seq: u32, reply: &Reply, len: usize) {
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

#[cfg(test)]
mod tests {
    use super::ioctl::{ioctl_reply, parse_ioctl_with};
    use super::*;
    use qdad_client::shm::{DONE, Shape};

    const STRUCT_AT: u64 = 0x1000;

    /// A request body: the struct (`STRUCT_AT`) and `segs` with their
    /// input bytes.
    fn request(segs: &[(Seg, u8)]) -> Vec<u8> {
        let req = IoctlReq {
            nsegs: segs.len() as u32,
            arg: STRUCT_AT,
            ..Default::default()
        };
        let mut b = req.as_bytes().to_vec();
        for (s, _) in segs {
            b.extend_from_slice(s.as_bytes());
        }
        assert_eq!(b.len(), req.head_len().unwrap(), "head_len follows the layout");
        for (s, fill) in segs {
            if s.flags & SEG_IN != 0 {
                b.extend(std::iter::repeat_n(*fill, s.len as usize));
            }
        }
        b
    }

    fn seg(addr: u64, len: u32, flags: u32) -> Seg {
        Seg { addr, len, flags }
    }

    /// A connection's ring of two slots of `region` bytes.
    fn conn_ring(region: u32) -> ConnRing {
        ConnRing::new(Shm::create(Shape { slots: 2, region }).unwrap().0)
    }

    /// Slot `i`'s request as the ring thread reads and parses it.
    fn parsed(r: &ConnRing, i: u32, len: usize) -> (Call, bool) {
        let (copy, inplace) = read_request(&r.shm, i, len).unwrap();
        let some = inplace.is_some();
        let m = Message {
            hdr: Header::default(),
            body: copy,
            fds: Vec::new(),
        };
        (parse_ioctl_with(m, None, inplace).unwrap(), some)
    }

    /// Slot `i`'s reply body.
    fn reply_body(r: &ConnRing, i: u32) -> Vec<u8> {
        let rep = r.shm.slot(i).unwrap().reply();
        r.shm.read(i, rep.len as usize).unwrap()
    }

    /// Long input-only segments are read where the client wrote them (a
    /// change the client makes shows through: nothing was copied), the
    /// struct and short or written segments are copied; the reply goes
    /// into the slot with the written bytes, including a write into a
    /// segment left in place (read out before the reply covers it).
    #[test]
    fn long_inputs_stay_in_the_slot_and_the_reply_is_written_there() {
        let r = conn_ring(64 << 10);
        let segs = [
            (seg(STRUCT_AT, 2048, SEG_IN), 1),
            (seg(0x4000, 4096, SEG_IN), 2),
            (seg(0x3000, 16, SEG_IN), 3),
            (seg(0x2000, 4096, SEG_OUT), 0),
            (seg(0x5000, 4096, SEG_IN | SEG_OUT), 5),
        ];
        let body = request(&segs);
        let head = IoctlReq::default().as_bytes().len() + 5 * size_of::<Seg>();
        r.shm.write(1, &[&body]).unwrap();
        let (copy, inplace) = read_request(&r.shm, 1, body.len()).unwrap();
        let inplace = inplace.expect("a segment stays in place");
        assert_eq!(inplace.at, [None, Some(head + 2048), None, None, None]);
        assert_eq!(
            copy.len(),
            head + 2048 + 16 + 4096,
            "all but the long input-only segment"
        );
        let (call, _) = parsed(&r, 1, body.len());
        let mem = call.mem;
        let mut b = [0u8; 4];
        mem.read(0x4000 + 8, &mut b).unwrap();
        assert_eq!(b, [2; 4]);
        r.shm.write_at(1, head + 2048 + 8, &[9; 4]).unwrap();
        mem.read(0x4000 + 8, &mut b).unwrap();
        assert_eq!(b, [9; 4], "read in place");
        mem.read(0x5000, &mut b).unwrap();
        assert_eq!(b, [5; 4]);
        // The driver writes the output, and into the in-place input (whose
        // place in the slot the output's bytes in the reply cover).
        mem.write(0x2000, &[7; 4096]).unwrap();
        mem.write(0x4000 + 100, &[8; 8]).unwrap();
        let reply = ioctl_reply(&Ok(3), mem, 0);
        complete(&r, 1, 42, reply);
        let slot = r.shm.slot(1).unwrap();
        assert_eq!(slot.state(), DONE);
        let rep = slot.reply();
        assert_eq!((rep.status, rep.value, rep.seq), (0, 3, 42));
        let out = reply_body(&r, 1);
        let mut rd = Reader::new(&out);
        let rsp: IoctlRsp = rd.get().unwrap();
        let written: Vec<Seg> = rd.array(rsp.nsegs as usize).unwrap();
        let got: Vec<(u64, u32)> = written.iter().map(|s| (s.addr, s.len)).collect();
        assert_eq!(got, [(0x2000, 4096), (0x4064, 8)]);
        assert_eq!(rd.bytes(4096).unwrap(), [7; 4096]);
        assert_eq!(rd.bytes(8).unwrap(), [8; 8], "read out before the reply covered it");
        assert!(rd.rest().is_empty());
    }

    /// The driver writes more separate ranges than the request had
    /// segments, inside a segment left in place: the reply's head is longer
    /// than the request's and covers the segment's first bytes, which must
    /// be read out before it is written (they came back as the head's bytes).
    #[test]
    fn a_reply_head_longer_than_the_request_head_does_not_eat_in_place_bytes() {
        let r = conn_ring(16 << 10);
        let body = request(&[(seg(STRUCT_AT, 16, SEG_IN), 1), (seg(0x4000, 4096, SEG_IN), 2)]);
        r.shm.write(0, &[&body]).unwrap();
        let (call, in_place) = parsed(&r, 0, body.len());
        assert!(in_place);
        for k in 0..8 {
            call.mem.write(0x4000 + 2 * k, &[0xab]).unwrap();
        }
        complete(&r, 0, 1, ioctl_reply(&Ok(0), call.mem, 0));
        let out = reply_body(&r, 0);
        let mut rd = Reader::new(&out);
        let rsp: IoctlRsp = rd.get().unwrap();
        assert_eq!(rsp.nsegs, 8);
        let _: Vec<Seg> = rd.array(8).unwrap();
        assert_eq!(rd.bytes(8).unwrap(), [0xab; 8]);
    }

    /// A ring message may say any length: past the slot's region it is
    /// refused before anything is allocated for it (a client could make
    /// the daemon allocate and zero 4 GiB per request).
    #[test]
    fn a_length_past_the_region_is_refused_before_any_allocation() {
        let shm = conn_ring(16 << 10).shm;
        let body = request(&[(seg(0x2000, 64, SEG_IN), 2)]);
        shm.write(0, &[&body]).unwrap();
        for len in [(16 << 10) + 1, u32::MAX as usize] {
            let e = read_request(&shm, 0, len).unwrap_err();
            assert_eq!(e.errno, qda_os::Errno::EINVAL, "{len}");
        }
    }

    /// Counts past the limits or a body shorter than its head: the whole
    /// body is copied and nothing stays in place (the parser refuses it).
    #[test]
    fn requests_that_do_not_add_up_are_copied_whole() {
        let shm = conn_ring(16 << 10).shm;
        let mut body = request(&[(seg(0x2000, 4096, SEG_IN), 2)]);
        for (nsegs, len) in [(wire::MAX_SEGS + 1, body.len()), (1, 40), (1, 20)] {
            body[4..8].copy_from_slice(&nsegs.to_ne_bytes());
            shm.write(0, &[&body]).unwrap();
            let (copy, inplace) = read_request(&shm, 0, len).unwrap();
            assert_eq!(copy, body[..len], "nsegs {nsegs}, {len} bytes");
            assert!(inplace.is_none());
        }
    }
}

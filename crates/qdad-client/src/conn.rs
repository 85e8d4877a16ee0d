//! One connection to qdad: requests and replies on the socket (many
//! threads at once, replies matched by sequence number, no reader thread),
//! the features agreed at open, and the shared-memory ring.

/// Closes this process's poll-mode spinning on qdad replies for a while
/// after a preempted spin (`qda_rt::handoff::SpinGate`).
static SPIN_GATE: qda_rt::handoff::SpinGate = qda_rt::handoff::SpinGate::new();

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use qda_os::{Errno, OsError as Error};
use qda_rt::{ReplyMux, lock};
use zerocopy::IntoBytes;

use crate::shm::{self, Shape, Shm};
use crate::wire::{self, FEATURE_RING, FEATURES, Header, Message, Op, Reader};

/// How long a thread waiting on the ring sleeps before it looks whether
/// the daemon is still there.
const RING_CHECK: Duration = Duration::from_millis(50);

pub(crate) fn err(errno: i32, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Errno(errno), what)
}

pub(crate) fn wire_err(e: wire::WireError) -> Error {
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
    pub(crate) cached: Mutex<HashMap<i32, (u64, u64)>>,
    /// The shared-memory ring, when agreed.
    ring: OnceLock<ClientRing>,
    /// The file's poll budget in µs (0: sleep mode), as its last accepted
    /// poll-mode ioctl set it.
    pub(crate) poll_us: AtomicU32,
}

/// The client's side of a connection's ring: the mapping and the call
/// slots no thread is using.
#[derive(Debug)]
struct ClientRing {
    shm: Shm,
    free: Mutex<Vec<u32>>,
}

/// A reply in a ring slot's region, read in place: its bytes are copied
/// straight to where they go. The slot is given back when it is dropped.
#[derive(Debug)]
pub(crate) struct RingReply<'c> {
    ring: &'c ClientRing,
    i: u32,
    rep: shm::SlotReply,
}

impl RingReply<'_> {
    /// 0 or a negative errno.
    pub(crate) fn status(&self) -> i32 {
        self.rep.status
    }
    /// The syscall's return value.
    pub(crate) fn value(&self) -> i64 {
        self.rep.value
    }
    /// Bytes of the reply body (at most the region's, checked).
    pub(crate) fn len(&self) -> usize {
        self.rep.len as usize
    }
    /// Copy `dst.len()` bytes of the body at `off` into `dst`; false past
    /// the body's end.
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> bool {
        off.checked_add(dst.len()).is_some_and(|end| end <= self.len())
            && self.ring.shm.read_into(self.i, off, dst).is_ok()
    }
}

impl Drop for RingReply<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.ring.shm.slot(self.i) {
            slot.set_state(shm::FREE);
        }
        lock(&self.ring.free).push(self.i);
    }
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
    pub(crate) fn setup(&self, offered: u32, wanted: u32) -> Result<(), Error> {
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
    /// ring or no free slot (then the socket carries it). The reply is read
    /// where it lies, in the slot's region; the slot is the caller's until
    /// the [`RingReply`] is dropped.
    pub(crate) fn call_ring(&self, parts: &[&[u8]]) -> Option<Result<RingReply<'_>, Error>> {
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
            // No yields (on a CPU shared with a busy thread a yield gives
            // it away for the rest of a tick); after a preempted spin the
            // gate makes poll mode sleep for a while instead.
            SPIN_GATE.spin_for_answer(Duration::from_micros(budget.into()), done);
        }
        while !done() {
            if slot.bell().wait(&shm::FUTEX, Some(RING_CHECK), done) {
                break;
            }
            if self.peer_gone() {
                return Some(Err(err(libc::EPIPE, "qdad connection lost during a call")));
            }
        }
        let reply = RingReply {
            ring: r,
            i,
            rep: slot.reply(),
        };
        if reply.rep.len > r.shm.shape().region {
            return Some(Err(err(libc::EPROTO, "qdad ring: reply longer than its region")));
        }
        Some(Ok(reply))
    }

    /// The identity the daemon holds under `n`, if any.
    pub(crate) fn cached_id(&self, n: i32) -> Option<(u64, u64)> {
        lock(&self.cached).get(&n).copied()
    }

    /// The ring's region size, when there is a ring.
    pub(crate) fn ring_region(&self) -> Option<usize> {
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

pub(crate) fn status(m: &Message, what: &str) -> Result<(), Error> {
    if m.hdr.status < 0 {
        let text = String::from_utf8_lossy(&m.body).into_owned();
        return Err(err(
            -m.hdr.status,
            if text.is_empty() { what.to_string() } else { text },
        ));
    }
    Ok(())
}

//! The DSP's side of a PD's shared-memory ring: the ring's bookkeeping,
//! sending a request through it and waiting for the answer (spinning in
//! poll mode, then sleeping on its completion slot, watching for the PD's
//! end).

use super::*;

/// The DSP's side of a PD's ring.
#[derive(Debug)]
pub(super) struct DspRing {
    shm: PdRing,
    /// Completion slots no call holds.
    free: Mutex<Vec<u32>>,
    /// Per slot: the id of the call holding it (0: none), and its answer
    /// when the host gave it on the socket.
    calls: Vec<(AtomicU64, Mutex<Option<Vec<u8>>>)>,
}

impl DspRing {
    pub(super) fn new(shm: PdRing) -> DspRing {
        DspRing {
            shm,
            free: Mutex::new((0..ring::SLOTS as u32).rev().collect()),
            calls: (0..ring::SLOTS)
                .map(|_| (AtomicU64::new(0), Mutex::new(None)))
                .collect(),
        }
    }

    /// The reply frame `body` of request `id` is a ring call's (the host
    /// answered it on the socket): keep it for its caller and wake it.
    pub(super) fn take_reply(&self, id: u64, body: Vec<u8>) -> Result<(), Vec<u8>> {
        if id == 0 {
            return Err(body);
        }
        match self.calls.iter().position(|(c, _)| c.load(Ordering::Acquire) == id) {
            Some(i) => {
                *lock(&self.calls[i].1) = Some(body);
                self.shm.wake(i as u32);
                Ok(())
            }
            None => Err(body),
        }
    }

    /// Wake every ring call's caller (the PD is gone).
    pub(super) fn wake_all(&self) {
        for (i, (c, _)) in self.calls.iter().enumerate() {
            if c.load(Ordering::Acquire) != 0 {
                self.shm.wake(i as u32);
            }
        }
    }
}

/// Looks of a polling caller between two looks at the host's CPU.
const SPINS_PER_LOOK: u32 = 32;

/// How long a ring caller sleeps before it looks whether the PD is gone
/// (the socket's reader wakes it at once; this bounds a lost wake-up).
const RING_SLICE: Duration = Duration::from_millis(100);

impl PdProcess {
    /// Send `req` through the ring and wait for its answer: `(status,
    /// payload)` as a reply frame carries them; `None` when it does not
    /// fit (no free slot, a body too long), for the socket.
    pub(super) fn ring_request(
        &self,
        ring: &DspRing,
        req: &Request<'_>,
        poll: Option<Duration>,
    ) -> Result<Option<(u32, Vec<u8>)>, String> {
        if let Some(d) = self.dead() {
            return Err(d);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let frame = req.encode(id);
        let body = &frame[4..];
        if body.len() > ring::BODY_MAX {
            return Ok(None);
        }
        let Some(slot) = lock(&ring.free).pop() else {
            return Ok(None);
        };
        let (held, stash) = &ring.calls[slot as usize];
        *lock(stash) = None;
        held.store(id, Ordering::Release);
        let release = || {
            held.store(0, Ordering::Release);
            lock(&ring.free).push(slot);
        };
        let m = RingMsg {
            tag: (id as u32).max(1),
            id,
            slot,
            len: body.len() as u32,
            poll_us: poll.map_or(0, |d| d.as_micros().clamp(1, u128::from(u32::MAX)) as u32),
            cpu: if poll.is_some() { ring::this_cpu() } else { 0 },
        };
        match ring.shm.push(&m, body) {
            Ok(()) => {}
            Err(qda_rt::ring::RingError::Full) => {
                release();
                return Ok(None);
            }
            Err(qda_rt::ring::RingError::Corrupt) => return Err(self.conn.hostile("corrupted its ring")),
        }
        // Against the host's store-fence-pop: either its ring thread sees
        // this request, or this sees it busy and wakes the overflow thread.
        fence(Ordering::SeqCst);
        let r = ring.shm.ring();
        if ring.shm.busy().load(Ordering::Relaxed) != 0 {
            r.bell2().ring(&SHARED);
        } else {
            r.bell().ring(&SHARED);
        }
        let out = self.wait_ring(ring, &m, poll)?;
        // A slot is reused only after its answer (a dead PD keeps its own).
        release();
        Ok(Some(out))
    }

    /// Wait for the answer to ring call `m`: spin up to `poll`, then sleep
    /// on its bell in slices, looking whether the PD died in between.
    fn wait_ring(&self, ring: &DspRing, m: &RingMsg, poll: Option<Duration>) -> Result<(u32, Vec<u8>), String> {
        #[derive(PartialEq)]
        enum Look {
            Pending,
            Done,
            OnSocket,
            Garbage(u32),
        }
        let shm = &ring.shm;
        let stash = &ring.calls[m.slot as usize].1;
        let look = || match shm.done(m.slot) {
            d if d == m.tag => Look::Done,
            0 if lock(stash).is_some() => Look::OnSocket,
            0 => Look::Pending,
            d => Look::Garbage(d),
        };
        if let Some(budget) = poll {
            // The shared bounded spin (it also ends when this thread is
            // preempted); it stops early, too, when this thread is on the
            // host's CPU: the host would wait for this one.
            let looks = std::cell::Cell::new(0u32);
            let apart = || shm.host_cpu().load(Ordering::Relaxed) != ring::this_cpu();
            qda_rt::handoff::spin_until(budget, || {
                looks.set(looks.get().wrapping_add(1));
                look() != Look::Pending || (looks.get().is_multiple_of(SPINS_PER_LOOK) && !apart())
            });
        }
        let mut early = 0u32;
        loop {
            match look() {
                Look::Pending => {}
                Look::Done => {
                    // Each word read once, then judged.
                    let a = shm.answer(m.slot);
                    let payload = if a.status == 0 {
                        zerocopy::IntoBytes::as_bytes(&pd_wire::InvokeOut::new(a.retval, a.handle)).to_vec()
                    } else {
                        Vec::new()
                    };
                    return Ok((a.status, payload));
                }
                Look::OnSocket => {
                    let frame = lock(stash).take().unwrap_or_default();
                    return match pd_wire::decode_reply(&frame) {
                        Some((_, status, payload)) => Ok((status, payload.to_vec())),
                        None => Err(self.conn.hostile("sent what is no reply")),
                    };
                }
                Look::Garbage(d) => {
                    return Err(self.conn.hostile(&format!("wrote {d:#x} where an answer's tag goes")));
                }
            }
            if let Some(d) = self.dead() {
                return Err(d);
            }
            let t = Instant::now();
            let woken = shm
                .bell(m.slot)
                .wait(&SHARED, Some(RING_SLICE), || look() != Look::Pending);
            // Woken early for nothing: the host changes the bell's word.
            // Bounded: past a few, each turn waits a millisecond.
            if !woken && t.elapsed() < Duration::from_millis(1) {
                early += 1;
                if early > 64 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

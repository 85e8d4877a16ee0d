//! The workloads behind `cargo bench` and `qda bench`, in one place so the
//! two measure the same thing: invokes of the test skel through the public
//! API, GEM and PRIME round trips, and the raw baselines they are compared
//! with (a thread ping-pong, a Unix-socket round trip, a memcpy).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Arg, Buffer, Device, Error, RemoteHandle, Session};

/// The test skel: method 5 takes no arguments (a null call), method 3
/// copies its input into its output, method 6 reads 8 bytes of its input
/// and writes 16 (constant work whatever the input's size).
pub const TEST_SKEL: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

/// An open session with the test skel and buffers for the by-fd calls.
#[derive(Debug)]
pub struct Invokes {
    // Field order is drop order: the handle before its session.
    skel: RemoteHandle,
    session: Session,
    small: Buffer,
    large: Option<Buffer>,
    inline_in: Vec<u8>,
    inline_out: Vec<u8>,
}

/// Bytes copied inline each way by [`Invokes::inline`].
pub const INLINE: usize = 64 * 1024;
/// The small by-fd buffer.
pub const SMALL_FD: usize = 4 * 1024;
/// The large by-fd buffer.
pub const LARGE_FD: usize = 64 * 1024 * 1024;

impl Invokes {
    /// Open a session on `dev`, the test skel and a 4 KiB buffer; with
    /// `large`, a 64 MiB buffer too.
    pub fn new(dev: &Device, large: bool) -> Result<Invokes, Error> {
        let session = dev.session()?;
        let skel = session.open(TEST_SKEL)?;
        let small = dev.alloc(SMALL_FD)?;
        small.write(0, &[7u8; 8])?;
        let large = if large {
            let b = dev.alloc(LARGE_FD)?;
            b.write(0, &[7u8; 8])?;
            Some(b)
        } else {
            None
        };
        Ok(Invokes {
            skel,
            session,
            small,
            large,
            inline_in: vec![0x5a; INLINE],
            inline_out: vec![0; INLINE],
        })
    }

    /// Poll mode for the session's calls (`None`: sleep mode), see
    /// [`Session::set_poll`].
    pub fn set_poll(&self, budget: Option<std::time::Duration>) -> Result<(), Error> {
        self.session.set_poll(budget)
    }

    /// A call with no arguments.
    pub fn null(&self) -> Result<(), Error> {
        self.skel.invoke(5, &mut [])
    }

    /// 64 KiB in and 64 KiB out, copied through the payload.
    pub fn inline(&mut self) -> Result<(), Error> {
        self.skel
            .invoke(3, &mut [Arg::In(&self.inline_in), Arg::Out(&mut self.inline_out)])
    }

    /// The whole 4 KiB buffer by fd (the skel reads 8 bytes of it).
    pub fn by_fd_small(&self) -> Result<(), Error> {
        by_fd(&self.skel, &self.small)
    }

    /// The whole 64 MiB buffer by fd (the skel reads 8 bytes of it).
    pub fn by_fd_large(&self) -> Result<(), Error> {
        match &self.large {
            Some(b) => by_fd(&self.skel, b),
            None => Err(Error::Usage("no large buffer: create Invokes with large = true".into())),
        }
    }
}

fn by_fd(skel: &RemoteHandle, buf: &Buffer) -> Result<(), Error> {
    let mut out = [0u8; 16];
    skel.invoke(6, &mut [Arg::buf_in(buf, 0, buf.size()), Arg::Out(&mut out)])?;
    if out[8..] != [7u8; 8] {
        return Err(Error::Usage(format!(
            "the skel read {:?}, not the buffer's bytes",
            &out[8..]
        )));
    }
    Ok(())
}

/// GEM create, map and close of a 4 KiB buffer.
pub fn gem_cycle(dev: &Device) -> Result<(), Error> {
    let b = dev.alloc(SMALL_FD)?;
    b.write(0, &[1])?;
    Ok(())
}

/// PRIME export of `buf` and import on `other` (a second file on the same
/// domain, so the import is a real one, not the exporter's own handle).
pub fn prime_cycle(buf: &Buffer, other: &Device) -> Result<(), Error> {
    let fd = buf.export()?;
    let imported = other.import(fd)?;
    drop(imported);
    Ok(())
}

/// The memcpy baseline: `n` bytes copied in and out, the bytes an inline
/// call moves. The destination sits half a page away from the source
/// modulo 4 KiB: with the two 4K-aliased (what two back-to-back heap
/// allocations often are), `rep movsb` on this host's AMD CPUs runs 10×
/// slower, which would make every ratio against it look better than it is.
#[derive(Debug)]
pub struct CopyBaseline {
    src: Vec<u8>,
    dst: Vec<u8>,
    skew: usize,
    n: usize,
}

impl CopyBaseline {
    /// Buffers for copies of `n` bytes.
    pub fn new(n: usize) -> CopyBaseline {
        let src = vec![0x5a; n];
        let dst = vec![0; n + 4096];
        let (s, d) = (src.as_ptr() as usize % 4096, dst.as_ptr() as usize % 4096);
        let skew = (s + 2048 + 4096 - d) % 4096;
        CopyBaseline { src, dst, skew, n }
    }

    /// Copy the source into the destination twice, in a way the optimiser
    /// cannot drop.
    pub fn run(&mut self) {
        let dst = &mut self.dst[self.skew..self.skew + self.n];
        std::hint::black_box(&mut *dst).copy_from_slice(std::hint::black_box(&self.src));
        std::hint::black_box(&mut *dst).copy_from_slice(std::hint::black_box(&self.src));
    }
}

/// A thread that answers each message on a channel: the raw cost of the
/// hand-off the embedded platform makes between a caller and a DSP thread.
#[derive(Debug)]
pub struct ThreadPingPong {
    tx: Option<mpsc::Sender<u64>>,
    rx: mpsc::Receiver<u64>,
    peer: Option<JoinHandle<()>>,
}

impl ThreadPingPong {
    /// Start the answering thread.
    pub fn new() -> ThreadPingPong {
        let (tx, peer_rx) = mpsc::channel::<u64>();
        let (peer_tx, rx) = mpsc::channel();
        let peer = std::thread::spawn(move || {
            while let Ok(v) = peer_rx.recv() {
                if peer_tx.send(v + 1).is_err() {
                    break;
                }
            }
        });
        ThreadPingPong {
            tx: Some(tx),
            rx,
            peer: Some(peer),
        }
    }

    /// One round trip.
    pub fn round_trip(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(1);
            let _ = self.rx.recv();
        }
    }
}

impl Default for ThreadPingPong {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ThreadPingPong {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(p) = self.peer.take() {
            let _ = p.join();
        }
    }
}

/// An echo over a Unix stream socket pair: the raw cost of one hop to a
/// PD host and back (the process-PD path adds this to the thread hand-off).
#[derive(Debug)]
pub struct SocketPingPong {
    ours: UnixStream,
    peer: Option<JoinHandle<()>>,
}

impl SocketPingPong {
    /// Start the echoing thread.
    pub fn new() -> std::io::Result<SocketPingPong> {
        let (ours, mut theirs) = UnixStream::pair()?;
        let peer = std::thread::spawn(move || {
            let mut b = [0u8; 64];
            while let Ok(n @ 1..) = theirs.read(&mut b) {
                if theirs.write_all(&b[..n]).is_err() {
                    break;
                }
            }
        });
        Ok(SocketPingPong { ours, peer: Some(peer) })
    }

    /// One 64-byte round trip (about a FastRPC message's size).
    pub fn round_trip(&mut self) -> std::io::Result<()> {
        let mut b = [0u8; 64];
        self.ours.write_all(&b)?;
        self.ours.read_exact(&mut b)
    }
}

impl Drop for SocketPingPong {
    fn drop(&mut self) {
        let _ = self.ours.shutdown(std::net::Shutdown::Both);
        if let Some(p) = self.peer.take() {
            let _ = p.join();
        }
    }
}

/// One hand-off between two parties: a Unix-socket write and read (to
/// another process, a PD host, or the daemon), or a channel message to
/// another thread (a DSP thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// A 64-byte message over a Unix stream socket.
    Socket,
    /// A message over a channel to another thread.
    Thread,
}

#[derive(Debug)]
enum Link {
    Socket(UnixStream),
    Thread(mpsc::Sender<u64>, mpsc::Receiver<u64>),
}

impl Link {
    fn call(&mut self, v: u64) -> Option<u64> {
        match self {
            Link::Socket(s) => {
                let mut b = [0u8; 64];
                b[..8].copy_from_slice(&v.to_le_bytes());
                s.write_all(&b).ok()?;
                s.read_exact(&mut b).ok()?;
                Some(u64::from_le_bytes(b[..8].try_into().ok()?))
            }
            Link::Thread(tx, rx) => {
                tx.send(v).ok()?;
                rx.recv().ok()
            }
        }
    }
}

#[derive(Debug)]
enum Endpoint {
    Socket(UnixStream),
    Thread(mpsc::Receiver<u64>, mpsc::Sender<u64>),
}

/// A chain of raw hand-offs, each party a thread that passes a message on
/// and the answer back; the last one answers. The raw cost of the hops an
/// invoke makes, with no work: the baseline its time is compared with.
#[derive(Debug)]
pub struct HopChain {
    first: Option<Link>,
    hops: Vec<Hop>,
    threads: Vec<JoinHandle<()>>,
}

impl HopChain {
    /// A chain of `hops`, in order from the caller.
    pub fn new(hops: &[Hop]) -> std::io::Result<HopChain> {
        let mut next: Option<Link> = None;
        let mut threads = Vec::new();
        for hop in hops.iter().rev() {
            let (link, ep) = match hop {
                Hop::Socket => {
                    let (a, b) = UnixStream::pair()?;
                    (Link::Socket(a), Endpoint::Socket(b))
                }
                Hop::Thread => {
                    let (tx, peer_rx) = mpsc::channel();
                    let (peer_tx, rx) = mpsc::channel();
                    (Link::Thread(tx, rx), Endpoint::Thread(peer_rx, peer_tx))
                }
            };
            let mut down = next.take();
            threads.push(std::thread::spawn(move || {
                let mut ep = ep;
                loop {
                    let v = match &mut ep {
                        Endpoint::Socket(s) => {
                            let mut b = [0u8; 64];
                            if s.read_exact(&mut b).is_err() {
                                break;
                            }
                            u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
                        }
                        Endpoint::Thread(rx, _) => match rx.recv() {
                            Ok(v) => v,
                            Err(_) => break,
                        },
                    };
                    let r = match &mut down {
                        Some(l) => match l.call(v) {
                            Some(r) => r,
                            None => break,
                        },
                        None => v + 1,
                    };
                    let sent = match &mut ep {
                        Endpoint::Socket(s) => {
                            let mut b = [0u8; 64];
                            b[..8].copy_from_slice(&r.to_le_bytes());
                            s.write_all(&b).is_ok()
                        }
                        Endpoint::Thread(_, tx) => tx.send(r).is_ok(),
                    };
                    if !sent {
                        break;
                    }
                }
                // Dropping `down` ends the next party.
            }));
            next = Some(link);
        }
        Ok(HopChain {
            first: next,
            hops: hops.to_vec(),
            threads,
        })
    }

    /// The hops, from the caller.
    pub fn hops(&self) -> &[Hop] {
        &self.hops
    }

    /// One message down the chain and the answer back.
    pub fn round_trip(&mut self) -> std::io::Result<()> {
        let n = self.hops.len() as u64;
        match self.first.as_mut().map(|l| l.call(1)) {
            Some(Some(v)) if v == 2 || n == 0 => Ok(()),
            _ => Err(std::io::Error::other("the hop chain broke")),
        }
    }

    /// What a call through `backend` hands off on its way to the DSP and
    /// back: a DSP thread always; a socket to the PD host for process PDs;
    /// a socket to qdad for the daemon.
    pub fn for_path(daemon: bool, process_pds: bool) -> Vec<Hop> {
        let mut v = Vec::new();
        if daemon {
            v.push(Hop::Socket);
        }
        v.push(Hop::Thread);
        if process_pds {
            v.push(Hop::Socket);
        }
        v
    }
}

impl Drop for HopChain {
    fn drop(&mut self) {
        if let Some(Link::Socket(s)) = &self.first {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.first = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Measure a workload and its baseline in alternating batches (5 of
/// `iters` calls each, after a warm-up), so that both see the same machine
/// state: `(baseline, workload, ratio)`, each the median over the batches
/// (the ratio is the median of the per-batch ratios).
pub fn measure_pair<E>(
    iters: u32,
    mut base: impl FnMut() -> Result<(), E>,
    mut work: impl FnMut() -> Result<(), E>,
) -> Result<(Duration, Duration, f64), E> {
    let iters = iters.max(1);
    for _ in 0..iters / 10 {
        base()?;
        work()?;
    }
    let (mut bs, mut ws, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            base()?;
        }
        let b = t.elapsed() / iters;
        let t = Instant::now();
        for _ in 0..iters {
            work()?;
        }
        let w = t.elapsed() / iters;
        rs.push(w.as_secs_f64() / b.as_secs_f64().max(1e-9));
        bs.push(b);
        ws.push(w);
    }
    bs.sort();
    ws.sort();
    rs.sort_by(f64::total_cmp);
    Ok((bs[2], ws[2], rs[2]))
}

/// Run `f` `iters` times after a warm-up of `iters / 10` and return the
/// median of 5 batches' mean time per call.
pub fn measure<E>(iters: u32, mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    let iters = iters.max(1);
    for _ in 0..iters / 10 {
        f()?;
    }
    let mut batches = Vec::with_capacity(5);
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        batches.push(t.elapsed() / iters);
    }
    batches.sort();
    Ok(batches[2])
}

/// Sleep mode against poll mode (`budget`) for `f`, in `rounds` alternating
/// blocks of `n` calls each (so a busy neighbour meets both alike), every
/// call timed: the sorted latencies of each mode, sleep first.
pub fn sleep_vs_poll<E>(
    rounds: u32,
    n: u32,
    budget: Duration,
    set_poll: impl Fn(Option<Duration>) -> Result<(), E>,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<(Vec<Duration>, Vec<Duration>), E> {
    let mut modes = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, mode) in [None, Some(budget)].into_iter().enumerate() {
            set_poll(mode)?;
            for _ in 0..n / 10 {
                f()?;
            }
            for _ in 0..n {
                let t = std::time::Instant::now();
                f()?;
                modes[i].push(t.elapsed());
            }
        }
    }
    set_poll(None)?;
    let [mut sleep, mut poll] = modes;
    sleep.sort_unstable();
    poll.sort_unstable();
    Ok((sleep, poll))
}

/// The `p`-th percentile (0..=100) of sorted latencies (zero when empty).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_answer() {
        ThreadPingPong::new().round_trip();
        let mut s = SocketPingPong::new().unwrap();
        s.round_trip().unwrap();
        let d = measure(10, || Ok::<(), ()>(())).unwrap();
        assert!(d < Duration::from_secs(1));
    }

    #[test]
    fn the_copy_baseline_is_not_4k_aliased() {
        for n in [4096, 65536, 100_000] {
            let c = CopyBaseline::new(n);
            let d = c.dst[c.skew..].as_ptr() as usize;
            assert_eq!(d.wrapping_sub(c.src.as_ptr() as usize) % 4096, 2048, "{n}");
        }
    }

    #[test]
    fn hop_chains_answer_and_end() {
        for hops in [
            vec![Hop::Thread],
            vec![Hop::Socket, Hop::Thread, Hop::Socket],
            HopChain::for_path(true, false),
        ] {
            let mut c = HopChain::new(&hops).unwrap();
            for _ in 0..3 {
                c.round_trip().unwrap();
            }
            drop(c); // joins every party: a hang here fails the test run
        }
        assert_eq!(HopChain::for_path(true, true), [Hop::Socket, Hop::Thread, Hop::Socket]);
        let (b, w, r) = measure_pair(5, || Ok::<(), ()>(()), || Ok(())).unwrap();
        assert!(b < Duration::from_secs(1) && w < Duration::from_secs(1) && r.is_finite());
    }

    #[test]
    fn measure_stops_at_the_first_error() {
        let mut n = 0;
        assert_eq!(
            measure(10, || {
                n += 1;
                if n == 3 { Err(n) } else { Ok(()) }
            }),
            Err(3)
        );
    }
}

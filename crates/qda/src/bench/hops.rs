//! The raw hand-offs of the older baselines: a thread ping-pong over
//! channels, a Unix-socket round trip, and [`HopChain`], the hops a path
//! makes done with the same kinds of hand-off (channels and sockets).
//! [`super::pingpong`] has the spin and futex chains the issue-13 ratios use.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_answer() {
        ThreadPingPong::new().round_trip();
        let mut s = SocketPingPong::new().unwrap();
        s.round_trip().unwrap();
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
        assert_eq!(HopChain::for_path(false, false).len(), 1);
        assert_eq!(HopChain::for_path(false, true).len(), 2);
        assert_eq!(HopChain::for_path(true, false).len(), 2);
    }
}

//! A reply multiplexer: many threads share one connection (a socket, a
//! pipe) on which replies come back in any order, each tagged with the key
//! (sequence number) of its request. There is no reader thread: whoever
//! waits reads the connection for everyone, so a lone caller pays no thread
//! hand-off. A reply for another thread is parked in a map under its key
//! and that thread woken; a failed read means the connection is dead, and
//! every waiter, present and future, gets the error.
//!
//! ```
//! use qda_rt::ReplyMux;
//! use std::sync::Mutex;
//!
//! // A "connection" that answers requests 2 and 1, in that order.
//! let wire = Mutex::new(vec![(1u32, "one"), (2, "two")]);
//! let mux: ReplyMux<u32, &str, String> = ReplyMux::new();
//! let recv = || wire.lock().unwrap().pop().ok_or_else(|| "closed".to_string());
//! // Waiting for 1 reads 2 first and parks it.
//! assert_eq!(mux.wait(1, recv), Ok("one"));
//! assert_eq!(mux.wait(2, recv), Ok("two"));
//! assert_eq!(mux.wait(3, recv), Err("closed".to_string()));
//! assert_eq!(mux.dead(), Some("closed".to_string()));
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Condvar, Mutex};

use crate::sync::{lock, wait};

/// Replies of one connection, sorted out to the threads that wait for them.
///
/// `K` is the key a reply is matched by (a sequence number), `M` the
/// message, `E` why the connection died (cloned to every waiter).
#[derive(Debug)]
pub struct ReplyMux<K, M, E> {
    state: Mutex<State<K, M, E>>,
    cv: Condvar,
}

#[derive(Debug)]
struct State<K, M, E> {
    /// A thread is reading the connection for everyone.
    reading: bool,
    /// Replies that arrived for other threads.
    parked: HashMap<K, M>,
    /// The connection failed: every waiter gets this.
    dead: Option<E>,
    /// At most this many replies parked, else the connection is dead with
    /// this reason (a peer sending replies nobody waits for).
    bound: Option<(usize, E)>,
}

impl<K: Eq + Hash, M, E: Clone> Default for ReplyMux<K, M, E> {
    fn default() -> Self {
        ReplyMux::new()
    }
}

impl<K: Eq + Hash, M, E: Clone> ReplyMux<K, M, E> {
    /// A multiplexer for a live connection with no reply pending.
    pub fn new() -> Self {
        ReplyMux {
            state: Mutex::new(State {
                reading: false,
                parked: HashMap::new(),
                dead: None,
                bound: None,
            }),
            cv: Condvar::new(),
        }
    }

    /// [`ReplyMux::new`] for a peer that is not trusted: more than `max`
    /// replies parked at once (more than there can be waiters) mark the
    /// connection dead with `why`.
    pub fn bounded(max: usize, why: E) -> Self {
        let m = ReplyMux::new();
        lock(&m.state).bound = Some((max, why));
        m
    }

    /// Wait for the reply keyed `key` (its request already sent). While no
    /// other thread reads, this one calls `recv` (without any lock held) to
    /// read the next reply, `(key, message)`, for whichever thread it is;
    /// an error from `recv` marks the connection dead and is returned to
    /// every waiter. A reply parked for `key` before the connection died is
    /// still delivered.
    pub fn wait(&self, key: K, mut recv: impl FnMut() -> Result<(K, M), E>) -> Result<M, E> {
        let mut st = lock(&self.state);
        loop {
            if let Some(m) = st.parked.remove(&key) {
                return Ok(m);
            }
            if let Some(e) = &st.dead {
                return Err(e.clone());
            }
            if st.reading {
                st = wait(&self.cv, st);
                continue;
            }
            st.reading = true;
            drop(st);
            let r = recv();
            st = lock(&self.state);
            st.reading = false;
            match r {
                Ok((k, m)) => {
                    st.parked.insert(k, m);
                    if let Some((max, why)) = &st.bound
                        && st.parked.len() > *max
                    {
                        let why = why.clone();
                        st.parked.clear();
                        st.dead.get_or_insert(why);
                    }
                }
                Err(e) => st.dead = Some(e),
            }
            self.cv.notify_all();
        }
    }

    /// Why the connection is dead, if it is.
    pub fn dead(&self) -> Option<E> {
        lock(&self.state).dead.clone()
    }

    /// Mark the connection dead from outside (a waiter then returns `why`
    /// once the reader it waits on, if any, is back); the first reason
    /// given is kept.
    pub fn fail(&self, why: E) {
        let mut st = lock(&self.state);
        if st.dead.is_none() {
            st.dead = Some(why);
        }
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A connection: the test feeds replies (or the end) into a channel.
    type Feed = Mutex<mpsc::Receiver<Option<(u32, String)>>>;

    fn recv(feed: &Feed) -> Result<(u32, String), String> {
        match feed.lock().unwrap().recv() {
            Ok(Some(r)) => Ok(r),
            _ => Err("connection closed".into()),
        }
    }

    #[test]
    fn out_of_order_replies_reach_their_threads() {
        let (tx, rx) = mpsc::channel();
        let feed = Arc::new(Mutex::new(rx));
        let mux = Arc::new(ReplyMux::<u32, String, String>::new());
        let threads: Vec<_> = (0..8u32)
            .map(|k| {
                let (mux, feed) = (mux.clone(), feed.clone());
                std::thread::spawn(move || mux.wait(k, || recv(&feed)))
            })
            .collect();
        // Replies in reverse order of the requests.
        for k in (0..8u32).rev() {
            tx.send(Some((k, format!("reply {k}")))).unwrap();
        }
        for (k, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), Ok(format!("reply {k}")));
        }
        assert_eq!(mux.dead(), None);
    }

    #[test]
    fn a_dead_connection_fails_every_waiter() {
        let (tx, rx) = mpsc::channel();
        let feed = Arc::new(Mutex::new(rx));
        let mux = Arc::new(ReplyMux::<u32, String, String>::new());
        let threads: Vec<_> = (0..6u32)
            .map(|k| {
                let (mux, feed) = (mux.clone(), feed.clone());
                std::thread::spawn(move || mux.wait(k, || recv(&feed)))
            })
            .collect();
        // One reply, then the end.
        tx.send(Some((3, "three".into()))).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        tx.send(None).unwrap();
        for (k, t) in threads.into_iter().enumerate() {
            let r = t.join().unwrap();
            if k == 3 {
                assert_eq!(r, Ok("three".into()));
            } else {
                assert_eq!(r, Err("connection closed".into()));
            }
        }
        // Later calls fail at once, without reading.
        assert_eq!(
            mux.wait(9, || panic!("a dead connection is not read")),
            Err("connection closed".into())
        );
    }

    #[test]
    fn a_lone_caller_reads_for_itself() {
        let mux = ReplyMux::<u32, u32, ()>::new();
        let mut next = 0;
        // Replies for others arrive first; they are parked, not lost.
        let r = mux.wait(2, || {
            next += 1;
            Ok((next, next * 10))
        });
        assert_eq!(r, Ok(20));
        assert_eq!(mux.wait(1, || Err(())), Ok(10));
    }

    /// A peer that sends replies nobody waits for (a hostile PD host) can
    /// park at most the bound; past it the connection is dead and the
    /// waiter gets the reason, instead of memory growing for the
    /// connection's life.
    #[test]
    fn replies_nobody_waits_for_are_bounded() {
        let mux = ReplyMux::<u32, Vec<u8>, String>::bounded(16, "too many replies nobody asked for".into());
        let mut next = 100;
        let r = mux.wait(1, || {
            next += 1;
            Ok((next, vec![0u8; 1 << 20]))
        });
        assert_eq!(r, Err("too many replies nobody asked for".into()));
        assert!(next <= 100 + 17, "read {} replies before giving up", next - 100);
        // An unbounded mux (qdad's client: the daemon is trusted) keeps them.
        let mux = ReplyMux::<u32, u32, ()>::new();
        let mut next = 0;
        assert_eq!(
            mux.wait(40, || {
                next += 1;
                Ok((next, next))
            }),
            Ok(40)
        );
    }

    #[test]
    fn fail_wakes_waiters_and_keeps_the_first_reason() {
        let mux = ReplyMux::<u32, (), &str>::new();
        mux.fail("first");
        mux.fail("second");
        assert_eq!(mux.wait(1, || Ok((1, ()))), Err("first"));
    }
}

//! Many callers at once, and busy neighbours: how a call behaves when the
//! machine has more runnable threads than CPUs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::stats::Latencies;

/// One row of a thread-scaling table.
#[derive(Debug, Clone)]
pub struct ScalingRow {
    /// Threads calling at once.
    pub callers: usize,
    /// From the first caller's start until the last caller's end.
    pub wall: Duration,
    /// Every call's latency; the rate is the calls of all callers over `wall`.
    pub latencies: Latencies,
}

/// `callers` threads (each its own thread) call `f` until `run_for` has
/// passed since they were let go together, or each has made `max_calls`
/// calls, every call timed. `f` is shared: give it one `&RemoteHandle`
/// ([`super::null`]) to have every caller use the same session. Stops all
/// callers at the first error and returns it.
pub fn scale<E: Send>(
    callers: usize,
    run_for: Duration,
    max_calls: u64,
    f: &(dyn Fn() -> Result<(), E> + Sync),
) -> Result<ScalingRow, E> {
    let callers = callers.max(1);
    let go = Barrier::new(callers + 1);
    let stop = AtomicBool::new(false);
    let results: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                s.spawn(|| {
                    let mut v = Vec::with_capacity(1024);
                    go.wait();
                    let start = Instant::now();
                    let end = start + run_for;
                    let mut last = start;
                    while (v.len() as u64) < max_calls && !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        if let Err(e) = f() {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        last = Instant::now();
                        v.push(last - t);
                        if last >= end {
                            break;
                        }
                    }
                    Ok((v, start, last))
                })
            })
            .collect();
        go.wait();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    // The wall time: from the first caller's start to the last one's end.
    let mut all = Vec::new();
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    for r in results {
        let (v, s, e) = r?;
        all.extend(v);
        first = Some(first.map_or(s, |f| f.min(s)));
        last = Some(last.map_or(e, |l| l.max(e)));
    }
    let wall = match (first, last) {
        (Some(f), Some(l)) => l - f,
        _ => Duration::ZERO,
    };
    Ok(ScalingRow {
        callers,
        wall,
        latencies: Latencies::concurrent(all, wall),
    })
}

/// Threads that keep a CPU busy (`loop { black_box(…) }`, no syscalls) until
/// dropped: the noisy neighbours of a shared VM.
#[derive(Debug)]
pub struct Neighbours {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Neighbours {
    /// Start `n` busy threads.
    pub fn start(n: usize) -> Neighbours {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = i as u64 | 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                        }
                    }
                    x
                })
            })
            .collect();
        Neighbours { stop, threads }
    }

    /// The number of busy threads.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// No busy threads.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }
}

impl Drop for Neighbours {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_caller_calls_until_the_count_or_the_time() {
        let n = AtomicU64::new(0);
        let f = || {
            n.fetch_add(1, Ordering::Relaxed);
            Ok::<(), ()>(())
        };
        let r = scale(4, Duration::from_secs(10), 25, &f).unwrap();
        assert_eq!((r.callers, r.latencies.len(), n.load(Ordering::Relaxed)), (4, 100, 100));
        assert!(r.latencies.per_sec() > 0.0 && r.latencies.p50() <= r.latencies.p99());
        let r = scale(2, Duration::from_millis(5), u64::MAX, &f).unwrap();
        assert!(!r.latencies.is_empty() && r.wall >= Duration::from_millis(5));
    }

    #[test]
    fn an_error_stops_every_caller() {
        let n = AtomicU64::new(0);
        let f = || {
            if n.fetch_add(1, Ordering::Relaxed) == 10 {
                Err(7)
            } else {
                Ok(())
            }
        };
        assert_eq!(scale(3, Duration::from_secs(30), u64::MAX, &f).unwrap_err(), 7);
    }

    #[test]
    fn neighbours_stop_when_dropped() {
        let b = Neighbours::start(2);
        assert_eq!(b.len(), 2);
        std::thread::sleep(Duration::from_millis(2));
        drop(b);
    }
}

//! An elastic pool of threads. A job is handed to an idle thread when
//! there is one and to a new thread when there is not, so a job that
//! blocks (a call inside a skel, a daemon call waiting on the DSP) never
//! holds up the next one (300 callers may all be inside the DSP at once),
//! while the steady state spawns nothing. Threads beyond a few idle ones
//! exit after a second without work.
//!
//! Every thread runs the one function the pool was made with; a job is the
//! value it is called with (`Box<dyn FnOnce()>` makes it a general pool).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::sync::{lock, wait_timeout};
use std::time::Duration;

/// Idle threads kept without a time limit.
const KEEP_IDLE: usize = 4;
/// How long a thread beyond those waits for work before it exits.
const IDLE_EXIT: Duration = Duration::from_secs(1);

type Job<T> = Arc<dyn Fn(T) + Send + Sync>;

/// An elastic pool of threads running one function on the jobs submitted
/// to it. Dropping the pool lets idle threads exit; busy ones finish their
/// job first.
pub struct Workers<T> {
    shared: Arc<Shared<T>>,
    run: Job<T>,
    name: String,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    cv: Condvar,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Threads waiting on `cv`.
    waiting: usize,
    /// All threads of the pool.
    threads: usize,
    closed: bool,
}

impl<T> std::fmt::Debug for Workers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Workers")
            .field("name", &self.name)
            .field("threads", &s.threads)
            .field("waiting", &s.waiting)
            .field("queued", &s.queue.len())
            .finish()
    }
}

impl<T> Workers<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.shared.state)
    }
}

impl<T: Send + 'static> Workers<T> {
    /// A pool whose threads are named `name` and run `run` on each job.
    /// No thread is started until the first job.
    pub fn new(name: String, run: impl Fn(T) + Send + Sync + 'static) -> Workers<T> {
        Workers {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    waiting: 0,
                    threads: 0,
                    closed: false,
                }),
                cv: Condvar::new(),
            }),
            run: Arc::new(run),
            name,
        }
    }

    /// Queue `job`; it runs on an idle thread or on a new one. The error is
    /// the failure to spawn that thread (the job is then dropped).
    pub fn submit(&self, job: T) -> std::io::Result<()> {
        let mut s = self.lock();
        s.queue.push_back(job);
        // Each queued job beyond the waiting threads gets a thread of its own.
        if s.queue.len() <= s.waiting {
            // Notify after unlocking: the woken thread's first act is to
            // take this lock, and would otherwise sleep on it once more.
            drop(s);
            self.shared.cv.notify_one();
            return Ok(());
        }
        s.threads += 1;
        drop(s);
        let (shared, run) = (self.shared.clone(), self.run.clone());
        let spawned = std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || worker(&shared, &*run));
        if let Err(e) = spawned {
            let mut s = self.lock();
            s.threads -= 1;
            s.queue.pop_back();
            return Err(e);
        }
        Ok(())
    }

    /// Threads in the pool, busy or idle.
    #[cfg(test)]
    fn threads(&self) -> usize {
        self.lock().threads
    }
}

fn worker<T>(shared: &Shared<T>, run: &(dyn Fn(T) + Send + Sync)) {
    let mut s = lock(&shared.state);
    loop {
        if let Some(job) = s.queue.pop_front() {
            drop(s);
            run(job);
            s = lock(&shared.state);
            continue;
        }
        if s.closed {
            break;
        }
        s.waiting += 1;
        let (g, timed_out) = wait_timeout(&shared.cv, s, IDLE_EXIT);
        s = g;
        s.waiting -= 1;
        if timed_out && s.queue.is_empty() && s.waiting >= KEEP_IDLE {
            break;
        }
    }
    s.threads -= 1;
}

impl<T> Drop for Workers<T> {
    /// Idle threads exit; busy ones finish their job first. Nothing is
    /// joined: the last owner may be one of the pool's own threads.
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::mpsc;

    #[test]
    fn sequential_jobs_reuse_one_thread() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let w = Workers::new("t".into(), move |v: u32| tx.lock().unwrap().send(v).unwrap());
        for i in 0..100 {
            // Submit only once every thread is back waiting: then a job
            // must go to a waiting thread, never to a new one.
            while {
                let s = w.lock();
                s.waiting < s.threads
            } {
                std::thread::yield_now();
            }
            w.submit(i).unwrap();
            assert_eq!(rx.recv().unwrap(), i);
        }
        assert_eq!(w.threads(), 1, "{w:?}");
    }

    #[test]
    fn blocking_jobs_each_get_a_thread() {
        // 50 jobs that only finish when all 50 run at once.
        let b = Arc::new(Barrier::new(50));
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let w = Workers::new("t".into(), move |b: Arc<Barrier>| {
            b.wait();
            tx.lock().unwrap().send(()).unwrap();
        });
        for _ in 0..50 {
            w.submit(b.clone()).unwrap();
        }
        // With fewer than 50 threads the barrier never opens.
        for _ in 0..50 {
            rx.recv_timeout(Duration::from_secs(30)).unwrap();
        }
    }

    #[test]
    fn dropping_the_pool_ends_idle_threads() {
        let w = Workers::new("t".into(), |_: ()| {});
        w.submit(()).unwrap();
        let shared = w.shared.clone();
        drop(w);
        for _ in 0..500 {
            if shared.state.lock().unwrap().threads == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the pool's thread did not exit");
    }
}

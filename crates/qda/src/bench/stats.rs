//! Every call timed on its own with `Instant`, and workloads measured in
//! alternating blocks so that a busy neighbour on the machine meets all of
//! them alike: the numbers of one run can be divided by each other.

use std::time::{Duration, Instant};

/// The `p`-th percentile (0..=100) of sorted latencies, nearest rank; zero
/// when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let p = if p.is_nan() { 50.0 } else { p.clamp(0.0, 100.0) };
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `a ÷ b`, or `None` when `b` is zero (nothing was measured).
pub fn ratio(a: Duration, b: Duration) -> Option<f64> {
    (!b.is_zero()).then(|| a.as_secs_f64() / b.as_secs_f64())
}

/// The latencies of one workload's calls, sorted, and its rate.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<Duration>,
    per_sec: f64,
}

impl Latencies {
    /// From calls made one after another: the rate is the calls over the
    /// sum of their times.
    pub fn new(mut samples: Vec<Duration>) -> Latencies {
        samples.sort_unstable();
        let total: Duration = samples.iter().sum();
        let per_sec = if total.is_zero() {
            0.0
        } else {
            samples.len() as f64 / total.as_secs_f64()
        };
        Latencies {
            sorted: samples,
            per_sec,
        }
    }

    /// From calls made by several threads at once in `wall` time: the rate
    /// is the calls over the wall time.
    pub fn concurrent(samples: Vec<Duration>, wall: Duration) -> Latencies {
        let mut l = Latencies::new(samples);
        l.per_sec = if wall.is_zero() {
            0.0
        } else {
            l.sorted.len() as f64 / wall.as_secs_f64()
        };
        l
    }

    /// The `p`-th percentile (zero when empty).
    pub fn p(&self, p: f64) -> Duration {
        percentile(&self.sorted, p)
    }

    /// The median.
    pub fn p50(&self) -> Duration {
        self.p(50.0)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.p(99.0)
    }

    /// The 99.9th percentile.
    pub fn p999(&self) -> Duration {
        self.p(99.9)
    }

    /// Calls per second (zero when none).
    pub fn per_sec(&self) -> f64 {
        self.per_sec
    }

    /// The number of calls.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// No calls measured.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Every latency, sorted.
    pub fn sorted(&self) -> &[Duration] {
        &self.sorted
    }
}

type Step<'a, E> = Box<dyn FnMut() -> Result<(), E> + 'a>;

/// One workload of an [`interleave`]d measurement: a call, the calls per
/// block, and what to do before each block (e.g. switch poll mode on).
pub struct Block<'a, E> {
    name: String,
    calls: u32,
    before: Option<Step<'a, E>>,
    after: Option<Step<'a, E>>,
    call: Step<'a, E>,
}

impl<E> std::fmt::Debug for Block<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("name", &self.name)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl<'a, E> Block<'a, E> {
    /// `calls` calls of `call` per block.
    pub fn new(name: impl Into<String>, calls: u32, call: impl FnMut() -> Result<(), E> + 'a) -> Block<'a, E> {
        Block {
            name: name.into(),
            calls,
            before: None,
            after: None,
            call: Box::new(call),
        }
    }

    /// Run `f` before each block of this workload.
    pub fn before(mut self, f: impl FnMut() -> Result<(), E> + 'a) -> Block<'a, E> {
        self.before = Some(Box::new(f));
        self
    }

    /// Run `f` after each block of this workload (undo what `before` set
    /// up, so the next workload's block runs as it would alone).
    pub fn after(mut self, f: impl FnMut() -> Result<(), E> + 'a) -> Block<'a, E> {
        self.after = Some(Box::new(f));
        self
    }

    /// The workload's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Measure `blocks` in `rounds` rounds; in each, every workload runs one
/// block (its `before`, a warm-up of a tenth of its calls, then its calls,
/// each timed), the order rotated by one each round so none always follows
/// the same neighbour. The latencies of each workload, in `blocks`' order.
/// Stops at the first error.
pub fn interleave<E>(rounds: u32, blocks: &mut [Block<'_, E>]) -> Result<Vec<Latencies>, E> {
    let mut samples: Vec<Vec<Duration>> = blocks
        .iter()
        .map(|b| Vec::with_capacity((b.calls as usize).saturating_mul(rounds as usize).min(1 << 22)))
        .collect();
    let k = blocks.len();
    for r in 0..rounds as usize {
        for j in 0..k {
            let i = (j + r) % k;
            let b = &mut blocks[i];
            if let Some(f) = b.before.as_mut() {
                f()?;
            }
            let ran = (|| {
                for _ in 0..b.calls / 10 {
                    (b.call)()?;
                }
                for _ in 0..b.calls {
                    let t = Instant::now();
                    (b.call)()?;
                    samples[i].push(t.elapsed());
                }
                Ok(())
            })();
            // Undone whether the block ran to the end or not.
            let undone = b.after.as_mut().map_or(Ok(()), |f| f());
            ran?;
            undone?;
        }
    }
    Ok(samples.into_iter().map(Latencies::new).collect())
}

/// Sleep mode against poll mode (`budget`) for `f`, in `rounds` alternating
/// blocks of `n` calls each, every call timed: the sorted latencies of each
/// mode, sleep first. Leaves the file in sleep mode.
pub fn sleep_vs_poll<E>(
    rounds: u32,
    n: u32,
    budget: Duration,
    set_poll: impl Fn(Option<Duration>) -> Result<(), E>,
    f: impl FnMut() -> Result<(), E>,
) -> Result<(Vec<Duration>, Vec<Duration>), E> {
    let f = std::cell::RefCell::new(f);
    let call = || (f.borrow_mut())();
    let mut blocks = [
        Block::new("sleep", n, call).before(|| set_poll(None)),
        Block::new("poll", n, call).before(|| set_poll(Some(budget))),
    ];
    let r = interleave(rounds, &mut blocks);
    drop(blocks);
    set_poll(None)?;
    let mut r = r?.into_iter().map(|l| l.sorted);
    Ok((r.next().unwrap_or_default(), r.next().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_nothing_are_zero() {
        let l = Latencies::new(Vec::new());
        assert_eq!(
            (l.p50(), l.p99(), l.p999(), l.per_sec()),
            (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0.0)
        );
        assert!(l.is_empty());
        assert_eq!(Latencies::concurrent(Vec::new(), Duration::ZERO).per_sec(), 0.0);
        assert_eq!(percentile(&[], f64::NAN), Duration::ZERO);
        assert_eq!(ratio(Duration::from_micros(3), Duration::ZERO), None);
    }

    #[test]
    fn percentiles_are_ordered_and_rates_add_up() {
        let us = Duration::from_micros;
        let l = Latencies::new((1..=1000).rev().map(us).collect());
        assert_eq!(
            (l.p50(), l.p99(), l.p999(), l.p(0.0), l.p(100.0)),
            (us(501), us(990), us(999), us(1), us(1000))
        );
        assert_eq!(l.p(250.0), us(1000));
        // 1000 calls in 500500 µs.
        assert!((l.per_sec() - 1000.0 / 0.5005).abs() < 1e-6);
        let c = Latencies::concurrent(vec![us(5); 10], Duration::from_millis(1));
        assert!((c.per_sec() - 10_000.0).abs() < 1e-6);
        assert_eq!(ratio(us(30), us(10)), Some(3.0));
    }

    #[test]
    fn blocks_alternate_and_stop_at_the_first_error() {
        let order = std::cell::RefCell::new(String::new());
        let mut blocks = [
            Block::new("a", 10, || Ok::<(), u32>(()))
                .before(|| {
                    order.borrow_mut().push('a');
                    Ok(())
                })
                .after(|| {
                    order.borrow_mut().push('.');
                    Ok(())
                }),
            Block::new("b", 20, || Ok(())).before(|| {
                order.borrow_mut().push('b');
                Ok(())
            }),
        ];
        let l = interleave(3, &mut blocks).unwrap();
        assert_eq!((l[0].len(), l[1].len()), (30, 60));
        assert_eq!(blocks[1].name(), "b");
        drop(blocks);
        assert_eq!(order.into_inner(), "a.bba.a.b");
        let mut n = 0;
        let undone = std::cell::Cell::new(false);
        let mut failing = [Block::new("f", 10, || {
            n += 1;
            if n == 3 { Err(n) } else { Ok(()) }
        })
        .after(|| {
            undone.set(true);
            Ok(())
        })];
        assert_eq!(interleave(2, &mut failing).unwrap_err(), 3);
        drop(failing);
        assert!(undone.get(), "after runs when a call fails too");
    }

    #[test]
    fn sleep_and_poll_both_run_and_sleep_is_left_on() {
        let mode = std::cell::Cell::new(None);
        let (s, p) = sleep_vs_poll(
            2,
            5,
            Duration::from_micros(7),
            |b| {
                mode.set(b);
                Ok::<(), ()>(())
            },
            || Ok(()),
        )
        .unwrap();
        assert_eq!((s.len(), p.len(), mode.get()), (10, 10, None));
    }
}

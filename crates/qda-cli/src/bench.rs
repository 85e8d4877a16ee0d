//! `qda bench`: latency tables on the backend in use, beside spin and futex
//! ping-pong baselines of the same hop count measured in the same run, in
//! alternating blocks; the ratios issue 13 sets targets for; a
//! thread-scaling table; a run beside busy neighbours; an SVG plot. The
//! workloads are the library's (`qda::bench`), the ones `cargo bench -p qda`
//! runs.

mod table;

use std::cell::RefCell;
use std::time::Duration;

use qda::bench::{self, Block, HopChain, Invokes, Latencies, PingPongChain, PingPongKind, plot, stats::ratio};
use qda::{Backend, Device, Domain};
use table::{Table, rate, times, us};

/// The options of `qda bench` (the help text is on the subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// DSP domain to target.
    #[arg(long, short, default_value = "cdsp")]
    pub domain: String,
    /// Calls per block (each workload runs one block per round, after a
    /// warm-up of a tenth). Default 1000, with --quick 50.
    #[arg(short = 'n', long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub iters: Option<u32>,
    /// Rounds of alternating blocks. Default 5, with --quick 2.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rounds: Option<u32>,
    /// Time the workload table (inline, by fd, GEM, PRIME) in poll mode
    /// instead of sleep mode. The null invoke and the scaling table are
    /// always timed in both modes.
    #[arg(long)]
    pub poll: bool,
    /// Poll mode's spin budget in µs: a caller spins this long on the
    /// completion word, then sleeps.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub budget_us: u32,
    /// Callers of the thread-scaling table, comma-separated (each caller
    /// its own thread, all on one shared session and handle); "" or "none"
    /// skips the table.
    #[arg(long, value_name = "LIST", default_value = "1,2,4,8,32,255", value_parser = parse_threads)]
    pub threads: Threads,
    /// Wall time of each scaling row, per mode, in ms. Default 400, with
    /// --quick 30.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub scale_ms: Option<u64>,
    /// A short run (fewer calls and rounds, short scaling rows) that checks
    /// the bench works; its numbers are noisy.
    #[arg(long)]
    pub quick: bool,
    /// Skip the 64 MiB buffer.
    #[arg(long)]
    pub no_large: bool,
    /// Write a latency-distribution plot (SVG) of the null invoke in sleep
    /// and poll mode and of the spin and futex baselines to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    /// Print the tables as Markdown (for docs/PERFORMANCE.md).
    #[arg(long)]
    pub markdown: bool,
}

/// A list of caller counts.
#[derive(Debug, Clone)]
pub struct Threads(pub Vec<usize>);

fn parse_threads(s: &str) -> Result<Threads, String> {
    if s.trim().is_empty() || s.trim() == "none" {
        return Ok(Threads(Vec::new()));
    }
    s.split(',')
        .map(|t| match t.trim().parse::<usize>() {
            Ok(n @ 1..=4096) => Ok(n),
            _ => Err(format!("{t:?}: a number of callers from 1 to 4096")),
        })
        .collect::<Result<_, _>>()
        .map(Threads)
}

/// The columns of a latency row.
const LAT_HEAD: [&str; 6] = ["", "p50 µs", "p99 µs", "p99.9 µs", "calls/s", "calls"];

fn lat_row(name: &str, l: &Latencies) -> Vec<String> {
    vec![
        name.to_string(),
        us(l.p50()),
        us(l.p99()),
        us(l.p999()),
        rate(l.per_sec()),
        l.len().to_string(),
    ]
}

/// The footnote of a spin baseline that did not have its CPUs.
fn crowded_spin_note(notes: &mut Vec<String>, crowded: bool) {
    if crowded {
        notes.push(
            "* The spin ping-pong's p50 is above 1 µs per hop: its threads did not each have a CPU \
             (more spinning threads than free CPUs), so it timed yields, not cache-line hand-offs, \
             and this ratio flatters the invoke."
                .into(),
        );
    }
}

fn hop_count(n: usize) -> String {
    if n == 1 { "1 hop".into() } else { format!("{n} hops") }
}

/// A target's verdict: `Some(true)` met.
fn verdict(v: Option<bool>) -> String {
    match v {
        Some(true) => "met".into(),
        Some(false) => "not met".into(),
        None => "—".into(),
    }
}

/// `r ≤ max`, when measured; judged on `r` as printed (two decimals), so
/// a printed "1.10×" is never "not met" against 1.1×.
fn at_most(r: Option<f64>, max: f64) -> Option<bool> {
    r.filter(|r| r.is_finite()).map(|r| (r * 100.0).round() / 100.0 <= max)
}

fn qerr(what: &'static str) -> impl Fn(qda::Error) -> String {
    move |e| format!("{what}: {e}")
}

pub fn bench(a: &BenchArgs, backend: Option<Backend>) -> Result<(), String> {
    let n = a.iters.unwrap_or(if a.quick { 50 } else { 1000 });
    let rounds = a.rounds.unwrap_or(if a.quick { 2 } else { 5 });
    let scale_for = Duration::from_millis(a.scale_ms.unwrap_or(if a.quick { 30 } else { 400 }));
    let budget = Duration::from_micros(u64::from(a.budget_us));
    let md = a.markdown;
    let domain: Domain = a.domain.parse().map_err(|e: qda::UnknownDomain| e.to_string())?;
    let open = || match backend {
        Some(b) => Device::open_on(domain, b),
        None => Device::open(domain),
    };
    let dev = open().map_err(|e| e.to_string())?;
    let other = open().map_err(|e| e.to_string())?;
    // Which hand-offs a call makes: a DSP thread always, a socket to the PD
    // host for process PDs, a socket to qdad for the daemon.
    let info = dev.backend_info();
    let process_pds = info.process_pds.unwrap_or(false);
    let daemon = info.backend == Backend::Daemon;
    let hops = HopChain::for_path(daemon, process_pds);
    let names: Vec<&str> = hops
        .iter()
        .map(|h| match h {
            bench::Hop::Socket => "socket",
            bench::Hop::Thread => "thread",
        })
        .collect();
    let path = match (daemon, process_pds) {
        (false, false) => "embedded, thread PDs",
        (false, true) => "embedded, process PDs",
        (true, false) => "qdad, thread PDs",
        (true, true) => "qdad, process PDs",
    };
    // The command as typed, with the settings from the environment that
    // change what runs, so a pasted table says how to reproduce it.
    let mut command: Vec<String> = ["QDA_PD_MODE", "QDA_BACKEND", "QDA_SOCKET"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .collect();
    for (i, arg) in std::env::args().enumerate() {
        command.push(if i == 0 {
            arg.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            arg
        });
    }
    let command = command.join(" ");
    if let Some(dir) = a
        .plot
        .as_ref()
        .and_then(|f| f.parent())
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        return Err(format!("--plot: {} is not a directory", dir.display()));
    }
    let header = [
        format!("`{command}`, {}", bench::utc_now()),
        format!(
            "{domain} on the {} backend ({}): {path}; {} hop{} ({}); poll budget {} µs",
            dev.backend(),
            dev.path(),
            hops.len(),
            if hops.len() == 1 { "" } else { "s" },
            names.join(" → "),
            budget.as_micros()
        ),
        format!("machine: {}", bench::machine()),
        format!(
            "{rounds} rounds of alternating blocks of {n} calls per workload, every call timed{}",
            if a.quick {
                " (--quick: a check that the bench runs, not a measurement)"
            } else {
                ""
            }
        ),
    ];
    for h in &header {
        crate::out!("{}", if md { format!("{h}  ") } else { h.replace('`', "") });
    }
    crate::out!("");

    // 1. The null invoke in both modes against its baselines.
    let w = RefCell::new(Invokes::new(&dev, !a.no_large).map_err(qerr("opening the test skel"))?);
    let spin = RefCell::new(PingPongChain::new(PingPongKind::Spin, hops.len()));
    let futex = RefCell::new(PingPongChain::new(PingPongKind::Futex, hops.len()));
    // With more hops than one, a spin chain has more spinning threads than
    // two CPUs can run: a 1-hop chain beside it shows a bare cache-line
    // hand-off.
    let spin1 = RefCell::new((hops.len() > 1).then(|| PingPongChain::new(PingPongKind::Spin, 1)));
    // The futex chain again with every hop crossing CPUs (pinned), as an
    // invoke's hand-offs do: left to the scheduler, its two threads often
    // take turns on one CPU, a context switch with no other CPU to wake.
    let cpus = bench::two_cpus();
    let futex_x = RefCell::new(cpus.map(|c| PingPongChain::pinned(PingPongKind::Futex, hops.len(), c)));
    let caller_mask = RefCell::new(None);
    let caller_mask = &caller_mask;
    let mut chain = HopChain::new(&hops).map_err(|e| format!("raw hops: {e}"))?;
    let null = || w.borrow().null().map_err(qerr("null invoke"));
    let mut blocks = vec![
        Block::new(format!("spin ping-pong, {}", hop_count(hops.len())), n, || {
            spin.borrow_mut().round_trip();
            Ok(())
        }),
        Block::new(format!("futex ping-pong, {}", hop_count(hops.len())), n, || {
            futex.borrow_mut().round_trip();
            Ok(())
        }),
        Block::new(format!("raw hops ({})", names.join(" → ")), n, || {
            chain.round_trip().map_err(|e| format!("raw hops: {e}"))
        }),
        Block::new("null invoke, sleep mode", n, null).before(|| w.borrow().set_poll(None).map_err(qerr("sleep mode"))),
        Block::new(format!("null invoke, poll mode ({} µs)", budget.as_micros()), n, null)
            .before(|| w.borrow().set_poll(Some(budget)).map_err(qerr("poll mode"))),
    ];
    if spin1.borrow().is_some() {
        blocks.push(Block::new("spin ping-pong, 1 hop (for scale)", n, || {
            if let Some(c) = spin1.borrow_mut().as_mut() {
                c.round_trip();
            }
            Ok(())
        }));
    }
    let futex_x_at = cpus.map(|[a, b]| {
        blocks.push(
            Block::new(
                format!("futex ping-pong, {}, across CPUs {a} and {b}", hop_count(hops.len())),
                n,
                || {
                    if let Some(c) = futex_x.borrow_mut().as_mut() {
                        c.round_trip();
                    }
                    Ok(())
                },
            )
            .before(move || {
                *caller_mask.borrow_mut() = bench::pin_self(a).ok();
                Ok(())
            })
            .after(|| {
                if let Some(m) = caller_mask.borrow_mut().take() {
                    bench::restore_affinity(&m);
                }
                Ok(())
            }),
        );
        blocks.len() - 1
    });
    let r1 = bench::interleave(rounds, &mut blocks)?;
    let mut t = Table::new("null invoke and its baselines (alternating blocks)", &LAT_HEAD);
    for (b, l) in blocks.iter().zip(&r1) {
        t.row(lat_row(b.name(), l));
    }
    drop(blocks);
    drop(chain);
    crate::out!("{}", t.render(md));
    let l_futex_x = futex_x_at.and_then(|i| r1.get(i).cloned());
    let mut r1 = r1.into_iter();
    let mut next = || r1.next().unwrap_or_default();
    let (l_spin, l_futex, l_hops, l_sleep, l_poll) = (next(), next(), next(), next(), next());
    let l_spin1 = if spin1.borrow().is_some() {
        next()
    } else {
        Latencies::default()
    };
    // The baselines' threads spin: stop them before the next tables.
    drop((spin, futex, spin1, futex_x));

    // 2. The workloads, in one mode, alternating too.
    let mode = a.poll.then_some(budget);
    let mode_name = if a.poll { "poll mode" } else { "sleep mode" };
    w.borrow().set_poll(mode).map_err(qerr("setting the mode"))?;
    // Through qdad, the inline call is compared with the same call on the
    // embedded platform in this process, in the same rounds.
    let emb = if daemon {
        // On the daemon's terms: its PDs' kind, whatever this process's
        // QDA_PD_MODE says.
        let d = match dev.backend_info().process_pds {
            Some(process_pds) => qda::embedded_platform_with(process_pds)
                .and_then(|p| Device::open_with(domain, p))
                .map_err(|e| format!("the embedded comparison: {e}"))?,
            None => Device::open_on(domain, Backend::Embedded).map_err(|e| format!("the embedded comparison: {e}"))?,
        };
        let i = Invokes::new(&d, false).map_err(qerr("the embedded comparison"))?;
        i.set_poll(mode).map_err(qerr("the embedded comparison"))?;
        let pds = if d.backend_info().process_pds.unwrap_or(false) {
            "process"
        } else {
            "thread"
        };
        Some((RefCell::new(i), pds, d))
    } else {
        None
    };
    let buf = dev.alloc(bench::SMALL_FD).map_err(qerr("a buffer to export"))?;
    let mut copy = bench::CopyBaseline::new(bench::INLINE);
    let mut blocks = vec![
        Block::new("null invoke", n, null),
        Block::new("64 KiB inline in and out", n, || {
            w.borrow_mut().inline().map_err(qerr("inline"))
        }),
    ];
    if let Some((e, pds, _)) = &emb {
        blocks.push(Block::new(format!("64 KiB inline, embedded ({pds} PDs)"), n, || {
            e.borrow_mut().inline().map_err(qerr("embedded inline"))
        }));
    }
    blocks.push(Block::new("4 KiB by fd", n, || {
        w.borrow().by_fd_small().map_err(qerr("4 KiB by fd"))
    }));
    if !a.no_large {
        blocks.push(Block::new("64 MiB by fd", n, || {
            w.borrow().by_fd_large().map_err(qerr("64 MiB by fd"))
        }));
    }
    blocks.push(Block::new("GEM create + mmap + close (4 KiB)", n, || {
        bench::gem_cycle(&dev).map_err(qerr("GEM"))
    }));
    blocks.push(Block::new("PRIME export + import (4 KiB)", n, || {
        bench::prime_cycle(&buf, &other).map_err(qerr("PRIME"))
    }));
    blocks.push(Block::new("memcpy 64 KiB, twice", n, || {
        copy.run();
        Ok(())
    }));
    let r2 = bench::interleave(rounds, &mut blocks)?;
    let mut t = Table::new(format!("workloads, {mode_name} (alternating blocks)"), &LAT_HEAD);
    let mut by_name = std::collections::HashMap::new();
    for (b, l) in blocks.iter().zip(&r2) {
        t.row(lat_row(b.name(), l));
        by_name.insert(b.name().split(',').next().unwrap_or_default().to_string(), l.clone());
    }
    drop(blocks);
    crate::out!("{}", t.render(md));
    let get = |k: &str| by_name.get(k).map(Latencies::p50).unwrap_or_default();
    let emb_inline = r2
        .get(2)
        .filter(|_| emb.is_some())
        .map(Latencies::p50)
        .unwrap_or_default();

    // 3. Thread scaling: every caller on the one session and handle.
    let scaled = if a.threads.0.is_empty() {
        Vec::new()
    } else {
        let skel = w.borrow();
        let skel = skel.skel();
        let f = || bench::null(skel);
        let mut t = Table::new(
            format!(
                "thread scaling: null invokes, every caller its own thread on one shared session and handle, {} ms per row and mode",
                scale_for.as_millis()
            ),
            &[
                "callers",
                "sleep calls/s",
                "sleep p50 µs",
                "sleep p99 µs",
                "poll calls/s",
                "poll p50 µs",
                "poll p99 µs",
            ],
        );
        let mut rows = Vec::new();
        for &c in &a.threads.0 {
            let mut pair = Vec::new();
            for m in [None, Some(budget)] {
                w.borrow().set_poll(m).map_err(qerr("setting the mode"))?;
                pair.push(bench::scale(c, scale_for, u64::MAX, &f).map_err(qerr("scaling"))?);
            }
            let (s, p) = (&pair[0].latencies, &pair[1].latencies);
            t.row(vec![
                c.to_string(),
                rate(s.per_sec()),
                us(s.p50()),
                us(s.p99()),
                rate(p.per_sec()),
                us(p.p50()),
                us(p.p99()),
            ]);
            rows.push((c, pair));
        }
        crate::out!("{}", t.render(md));
        rows
    };

    // 4. Two busy neighbours: half the calls, both modes alternating.
    // First a second's rest: the spin gates remember the scaling table's
    // preempted spins (255 callers on 2 CPUs) for up to a few hundred ms,
    // and this table is about two neighbours, not that storm's wake.
    if !scaled.is_empty() && !a.quick {
        std::thread::sleep(Duration::from_secs(1));
    }
    let busy = bench::Neighbours::start(2);
    let mut blocks = [
        Block::new("null invoke, sleep mode", n.div_ceil(2), null)
            .before(|| w.borrow().set_poll(None).map_err(qerr("sleep mode"))),
        Block::new("null invoke, poll mode", n.div_ceil(2), null)
            .before(|| w.borrow().set_poll(Some(budget)).map_err(qerr("poll mode"))),
    ];
    let r4 = bench::interleave(rounds, &mut blocks);
    drop(busy);
    let r4 = r4?;
    let mut t = Table::new(
        "beside two busy neighbour threads (each a loop { black_box(…) })",
        &LAT_HEAD,
    );
    for (b, l) in blocks.iter().zip(&r4) {
        t.row(lat_row(b.name(), l));
    }
    drop(blocks);
    w.borrow().set_poll(None).map_err(qerr("sleep mode"))?;
    crate::out!("{}", t.render(md));

    // 5. The ratios and the targets.
    let mut t = Table::new(
        "ratios (p50 unless said) against issue 13's targets",
        &["ratio", "measured", "target", "verdict"],
    );
    let spin_max = match (daemon, process_pds) {
        (true, _) => 20.0,
        (false, true) => 15.0,
        (false, false) => 10.0,
    };
    let mut notes: Vec<String> = Vec::new();
    let mut target = |what: String, r: Option<f64>, goal: String, ok: Option<bool>| {
        t.row(vec![what, times(r), goal, verdict(ok)]);
    };
    let r = ratio(l_poll.p50(), l_spin.p50());
    // A spin round trip is well under 1 µs per hop when its threads have
    // CPUs of their own; above that they took turns on one (yields).
    let crowded = l_spin.p50() > Duration::from_micros(hops.len() as u64);
    crowded_spin_note(&mut notes, crowded);
    target(
        format!(
            "poll-mode null invoke ÷ spin ping-pong{}",
            if crowded { " *" } else { "" }
        ),
        r,
        format!("≤ {spin_max}×"),
        at_most(r, spin_max),
    );
    if !l_spin1.is_empty() {
        let r = ratio(l_poll.p50(), l_spin1.p50());
        target(
            "poll-mode null invoke ÷ 1-hop spin ping-pong".into(),
            r,
            "— (for scale)".into(),
            None,
        );
    }
    let r = ratio(l_sleep.p50(), l_futex.p50());
    target(
        "sleep-mode null invoke ÷ futex ping-pong (threads where the scheduler put them)".into(),
        r,
        "≤ 1.5×".into(),
        at_most(r, 1.5),
    );
    match &l_futex_x {
        Some(l) => {
            let r = ratio(l_sleep.p50(), l.p50());
            target(
                "sleep-mode null invoke ÷ futex ping-pong (every hop across CPUs)".into(),
                r,
                "≤ 1.5×".into(),
                at_most(r, 1.5),
            );
        }
        None => notes.push("One CPU allowed: no futex ping-pong across CPUs.".into()),
    }
    let r = ratio(l_sleep.p50(), l_hops.p50());
    let old = if daemon { 2.0 } else { 3.0 };
    target(
        "sleep-mode null invoke ÷ raw hops (channels, sockets)".into(),
        r,
        format!("≤ {old}× (earlier target)"),
        at_most(r, old),
    );
    if daemon {
        let r = ratio(get("64 KiB inline in and out"), emb_inline);
        target(
            "64 KiB inline, qdad ÷ embedded".into(),
            r,
            "≤ 2×".into(),
            at_most(r, 2.0),
        );
    }
    let r = ratio(get("4 KiB by fd"), get("null invoke"));
    let (goal, ok) = if daemon {
        ("≤ 1.3×".to_string(), at_most(r, 1.3))
    } else {
        ("≤ 1.3× through qdad".to_string(), None)
    };
    target(format!("4 KiB by fd ÷ null invoke ({mode_name})"), r, goal, ok);
    if !a.no_large {
        let r = ratio(get("64 MiB by fd"), get("4 KiB by fd"));
        target(
            format!("64 MiB by fd ÷ 4 KiB by fd ({mode_name})"),
            r,
            "≤ 1.1×".into(),
            at_most(r, 1.1),
        );
    }
    let r = ratio(r4[1].p99(), r4[0].p99());
    target(
        "two busy neighbours: poll p99 ÷ sleep p99".into(),
        r,
        "≤ 2×".into(),
        at_most(r, 2.0),
    );
    if let Some((_, pair)) = scaled.iter().find(|(c, _)| *c == 2) {
        let v = pair[1].latencies.per_sec();
        t.row(vec![
            "null invokes/s, poll mode, 2 callers".into(),
            rate(v),
            if daemon {
                "≥ 300,000 embedded".into()
            } else {
                "≥ 300,000".into()
            },
            verdict((!daemon).then_some(v >= 300_000.0)),
        ]);
    }
    // The ceiling: the most calls per second any row of the scaling table made.
    let best = scaled
        .iter()
        .flat_map(|(c, pair)| [(*c, "sleep", &pair[0]), (*c, "poll", &pair[1])])
        .max_by(|a, b| a.2.latencies.per_sec().total_cmp(&b.2.latencies.per_sec()));
    if let Some((c, m, row)) = best {
        t.row(vec![
            format!(
                "ceiling: most null invokes/s in the scaling table ({c} caller{}, {m} mode)",
                if c == 1 { "" } else { "s" }
            ),
            rate(row.latencies.per_sec()),
            "—".into(),
            "—".into(),
        ]);
    }
    crate::out!("{}", t.render(md));
    for note in &notes {
        crate::out!("{note}");
    }
    crate::out!(
        "Each ratio divides numbers of this run. The targets are issue 13's; docs/PERFORMANCE.md explains them."
    );

    if let Some(file) = &a.plot {
        let series = [
            plot::Series {
                name: "null invoke, sleep mode",
                sorted: l_sleep.sorted(),
                dashed: false,
            },
            plot::Series {
                name: &format!("null invoke, poll mode ({} µs)", budget.as_micros()),
                sorted: l_poll.sorted(),
                dashed: false,
            },
            plot::Series {
                name: &format!("futex ping-pong, {}", hop_count(hops.len())),
                sorted: l_futex.sorted(),
                dashed: true,
            },
            plot::Series {
                name: &format!("spin ping-pong, {}", hop_count(hops.len())),
                sorted: l_spin.sorted(),
                dashed: true,
            },
        ];
        let caption = header.iter().map(|h| h.replace('`', "")).collect::<Vec<_>>();
        let svg = plot::percentile_plot(&format!("Null invoke latency, {path}"), &caption, &series);
        std::fs::write(file, svg).map_err(|e| format!("{}: {e}", file.display()))?;
        crate::out!("plot: {}", file.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_printed_ratio() {
        assert_eq!(at_most(Some(1.104), 1.1), Some(true));
        assert_eq!(at_most(Some(1.106), 1.1), Some(false));
        assert_eq!(at_most(None, 1.1), None);
        assert_eq!(at_most(Some(f64::INFINITY), 2.0), None);
        assert_eq!(verdict(Some(true)), "met");
        assert_eq!(verdict(Some(false)), "not met");
    }

    #[test]
    fn thread_lists_parse() {
        assert_eq!(parse_threads("1,2, 255").unwrap().0, [1, 2, 255]);
        assert!(parse_threads("").unwrap().0.is_empty());
        assert!(parse_threads("none").unwrap().0.is_empty());
        assert!(parse_threads("0").is_err() && parse_threads("1,x").is_err());
    }
}

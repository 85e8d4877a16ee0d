//! `qda bench`: a quick latency table on the backend in use, beside raw
//! baselines measured in the same run. The workloads are the library's
//! (`qda::bench`), the same ones `cargo bench -p qda` runs.

use std::time::Duration;

use qda::bench::{self, Invokes, SocketPingPong, ThreadPingPong};
use qda::{Backend, Device, Domain};

fn row(what: &str, d: Duration, base: Option<(&str, Duration)>) {
    let us = d.as_secs_f64() * 1e6;
    match base {
        Some((name, b)) if !b.is_zero() => {
            crate::out!(
                "{what:<34} {us:>10.1} µs   {:>6.1}× {name}",
                d.as_secs_f64() / b.as_secs_f64()
            )
        }
        _ => crate::out!("{what:<34} {us:>10.1} µs"),
    }
}

pub fn bench(domain: &str, iters: u32, large: bool, backend: Option<Backend>) -> Result<(), String> {
    let domain: Domain = domain.parse().map_err(|e: qda::UnknownDomain| e.to_string())?;
    let open = || match backend {
        Some(b) => Device::open_on(domain, b),
        None => Device::open(domain),
    };
    let dev = open().map_err(|e| e.to_string())?;
    let other = open().map_err(|e| e.to_string())?;
    let e = |e: qda::Error| e.to_string();
    let io = |e: std::io::Error| format!("baseline: {e}");
    // Which hand-offs a call makes: a DSP thread always, a socket to the PD
    // host for process PDs, a socket to qdad for the daemon.
    let info = dev.backend_info();
    let process_pds = info.process_pds.unwrap_or(false);
    let daemon = info.backend == Backend::Daemon;
    let mode = match (&info.daemon, info.backend) {
        (Some(d), _) => format!(
            ", qdad pid {} with user PDs as {}",
            d.pid,
            if d.thread_pds { "threads" } else { "processes" }
        ),
        (None, Backend::Embedded) if process_pds => {
            ", user PDs as processes (QDA_PD_MODE=thread for threads)".to_string()
        }
        (None, Backend::Embedded) => ", user PDs as threads".to_string(),
        _ => String::new(),
    };
    crate::out!(
        "{domain} on the {} backend ({}){mode}; {iters} calls per batch, median of 5 batches",
        dev.backend(),
        dev.path()
    );
    crate::out!("");
    crate::out!("baselines");
    let ping = ThreadPingPong::new();
    let t_ping = bench::measure(iters, || {
        ping.round_trip();
        Ok::<(), ()>(())
    })
    .map_err(|_| "thread ping-pong".to_string())?;
    drop(ping);
    row("thread ping-pong", t_ping, None);
    let mut sock = SocketPingPong::new().map_err(io)?;
    let t_sock = bench::measure(iters, || sock.round_trip()).map_err(io)?;
    drop(sock);
    row("unix socket round trip (64 B)", t_sock, None);
    let mut copy = bench::CopyBaseline::new(bench::INLINE);
    let t_copy = bench::measure(iters, || {
        copy.run();
        Ok::<(), ()>(())
    })
    .map_err(|_| "memcpy".to_string())?;
    row("memcpy 64 KiB, twice", t_copy, None);

    crate::out!("");
    crate::out!("invokes");
    let mut w = Invokes::new(&dev, large).map_err(e)?;
    let hops = bench::HopChain::for_path(daemon, process_pds);
    let names: Vec<&str> = hops
        .iter()
        .map(|h| match h {
            bench::Hop::Socket => "socket",
            bench::Hop::Thread => "thread",
        })
        .collect();
    let mut chain = bench::HopChain::new(&hops).map_err(io)?;
    // The null invoke and its raw hops in alternating batches.
    let (t_chain, t_null, ratio) = bench::measure_pair(
        iters,
        || chain.round_trip().map_err(|e| qda::Error::Usage(e.to_string())),
        || w.null(),
    )
    .map_err(e)?;
    drop(chain);
    row(&format!("raw hops: {}", names.join(" → ")), t_chain, None);
    crate::out!(
        "{:<34} {:>10.1} µs   {ratio:>6.1}× the raw hops",
        "null invoke",
        t_null.as_secs_f64() * 1e6
    );
    let t_inline = bench::measure(iters, || w.inline()).map_err(e)?;
    row("64 KiB inline in and out", t_inline, Some(("null invoke", t_null)));
    let t_small = bench::measure(iters, || w.by_fd_small()).map_err(e)?;
    row("4 KiB by fd", t_small, Some(("null invoke", t_null)));
    if large {
        // Against the 4 KiB call in alternating batches: a ratio of one run.
        let (_, t_large, r) = bench::measure_pair(iters, || w.by_fd_small(), || w.by_fd_large()).map_err(e)?;
        crate::out!(
            "{:<34} {:>10.1} µs   {r:>6.2}× 4 KiB by fd",
            "64 MiB by fd",
            t_large.as_secs_f64() * 1e6
        );
    }
    // Poll mode, first slice (issue 13): the same null invoke in sleep and
    // poll mode, alternating blocks, each call timed.
    crate::out!("");
    let budget = std::time::Duration::from_micros(100);
    crate::out!(
        "poll mode (first slice): null invoke, 5 alternating blocks of {iters} calls per mode, poll budget {} µs",
        budget.as_micros()
    );
    let (sleep, poll) = bench::sleep_vs_poll(5, iters, budget, |b| w.set_poll(b), || w.null()).map_err(e)?;
    for (name, v) in [("sleep mode", &sleep), ("poll mode", &poll)] {
        crate::out!(
            "{:<34} p50 {:>8.1} µs   p99 {:>8.1} µs   ({} calls)",
            name,
            bench::percentile(v, 50.0).as_secs_f64() * 1e6,
            bench::percentile(v, 99.0).as_secs_f64() * 1e6,
            v.len()
        );
    }
    drop(w);

    crate::out!("");
    crate::out!("buffers");
    let t_gem = bench::measure(iters, || bench::gem_cycle(&dev)).map_err(e)?;
    row("GEM create + mmap + close (4 KiB)", t_gem, None);
    let buf = dev.alloc(bench::SMALL_FD).map_err(e)?;
    let t_prime = bench::measure(iters, || bench::prime_cycle(&buf, &other)).map_err(e)?;
    row("PRIME export + import (4 KiB)", t_prime, None);
    crate::out!("");
    crate::out!(
        "Targets: null invoke ≤ {}× the raw hops; 64 MiB by fd ≤ 1.2× 4 KiB by fd. docs/PERFORMANCE.md explains the numbers.",
        if daemon { 2 } else { 3 }
    );
    Ok(())
}

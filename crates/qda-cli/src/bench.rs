//! `qda bench`: a quick latency table on the backend in use, beside raw
//! baselines measured in the same run. The workloads are the library's
//! (`qda::bench`), the same ones `cargo bench -p qda` runs.

use std::time::Duration;

use qda::bench::{self, Invokes, SocketPingPong, ThreadPingPong};
use qda::{BackendKind, Device, Domain};

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

pub fn bench(domain: &str, iters: u32, large: bool, backend: Option<BackendKind>) -> Result<(), String> {
    let domain: Domain = domain.parse().map_err(|e: qda::Error| e.to_string())?;
    let open = || match backend {
        Some(b) => Device::open_on(domain, b),
        None => Device::open(domain),
    };
    let dev = open().map_err(|e| e.to_string())?;
    let other = open().map_err(|e| e.to_string())?;
    let e = |e: qda::Error| e.to_string();
    let io = |e: std::io::Error| format!("baseline: {e}");
    // The embedded platform runs user PDs as QDA_PD_MODE says.
    let embedded = dev.backend() == BackendKind::Embedded;
    let thread_pds = embedded && qda_dsp::PdMode::from_env() == qda_dsp::PdMode::Thread;
    let mode = match (embedded, thread_pds) {
        (true, true) => ", user PDs as threads",
        (true, false) => ", user PDs as processes (QDA_PD_MODE=thread for threads)",
        _ => "",
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
    // The embedded path hands each call to a DSP thread and back; a process
    // PD adds a socket round trip to the PD host.
    let hops = if thread_pds { t_ping } else { t_ping + t_sock };

    crate::out!("");
    crate::out!("invokes");
    let mut w = Invokes::new(&dev, large).map_err(e)?;
    let t_null = bench::measure(iters, || w.null()).map_err(e)?;
    row("null invoke", t_null, Some(("the raw hops", hops)));
    let t_inline = bench::measure(iters, || w.inline()).map_err(e)?;
    row("64 KiB inline in and out", t_inline, Some(("null invoke", t_null)));
    let t_small = bench::measure(iters, || w.by_fd_small()).map_err(e)?;
    row("4 KiB by fd", t_small, Some(("null invoke", t_null)));
    if large {
        let t_large = bench::measure(iters, || w.by_fd_large()).map_err(e)?;
        row("64 MiB by fd", t_large, Some(("4 KiB by fd", t_small)));
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
        "Targets: null invoke ≤ 3× the raw hops; 64 MiB by fd ≤ 1.2× 4 KiB by fd. docs/PERFORMANCE.md explains the numbers."
    );
    Ok(())
}

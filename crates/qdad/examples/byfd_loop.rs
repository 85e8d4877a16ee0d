//! Null and 4 KiB by-fd invokes through a running qdad, in alternating
//! blocks, for profiling the per-call path (`perf`, `strace -c`):
//! `QDA_SOCKET=… cargo run --release -p qdad --example byfd_loop -- [null|byfd|both] [calls]`.

use std::sync::Arc;
use std::time::Instant;

use qda::bench::Invokes;
use qda::{Device, Domain};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p) as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "both".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let socket = qdad_client::socket_path();
    let calls = Arc::new(qda::sys::DaemonCalls::connect(&socket).expect("connect"));
    let dev = Device::open_with(Domain::Cdsp, calls).expect("open");
    let w = Invokes::new(&dev, false).expect("skel");
    for _ in 0..200 {
        w.null().unwrap();
        w.by_fd_small().unwrap();
    }
    let (mut null, mut byfd) = (Vec::new(), Vec::new());
    let block = 500;
    for _ in 0..n.div_ceil(block) {
        if what != "byfd" {
            for _ in 0..block {
                let t = Instant::now();
                w.null().unwrap();
                null.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        if what != "null" {
            for _ in 0..block {
                let t = Instant::now();
                w.by_fd_small().unwrap();
                byfd.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    let mut out = String::new();
    let mut p50s = [0.0; 2];
    for (i, (name, v)) in [("null", &mut null), ("4 KiB by fd", &mut byfd)]
        .into_iter()
        .enumerate()
    {
        if !v.is_empty() {
            p50s[i] = pct(v, 0.5);
            out += &format!(
                "{name}: p10 {:.1} p25 {:.1} p50 {:.2} p75 {:.1} p90 {:.1} p99 {:.2} µs ({} calls)\n",
                pct(v, 0.10),
                pct(v, 0.25),
                p50s[i],
                pct(v, 0.75),
                pct(v, 0.90),
                pct(v, 0.99),
                v.len()
            );
        }
    }
    if p50s[0] > 0.0 && p50s[1] > 0.0 {
        out += &format!("ratio p50 {:.3}\n", p50s[1] / p50s[0]);
    }
    print!("{out}");
}

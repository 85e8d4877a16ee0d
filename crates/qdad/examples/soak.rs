//! A soak of qdad with mixed clients, for the record in
//! `docs/RELIABILITY.md` (a command, not a CI test):
//!
//! ```text
//! cargo run --release -p qdad --example soak -- --minutes 10
//! ```
//!
//! The daemon runs as a child process (this program in its `daemon` role);
//! clients are threads of this process and child processes (`client` role):
//! calculators with inline and by-reference buffers, sessions opened and
//! closed, buffers allocated and freed, a client that pipelines without
//! reading, and clients killed in the middle of their calls. Every ten
//! seconds the daemon's RSS, threads and live objects are sampled; at the
//! end, with every client gone, its live counts must be zero and its RSS
//! flat (the last third of the run within 10% of the middle third's peak).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qda::{Arg, Device, Domain};

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";

fn main() {
    // The daemon role starts PD processes from this binary, as qdad does.
    qda_dsp::pd_host::run_if_requested();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("daemon") => daemon(Path::new(&args[2])),
        Some("client") => client_loop(Path::new(&args[2])),
        _ => {
            let minutes = args
                .iter()
                .position(|a| a == "--minutes")
                .and_then(|i| args.get(i + 1))
                .and_then(|m| m.parse::<f64>().ok())
                .unwrap_or(10.0);
            std::process::exit(soak(minutes));
        }
    }
}

/// The daemon role: serve on `socket` and print the live counts every
/// second until stdin closes.
fn daemon(socket: &Path) {
    let s = qdad::server::Server::start(qdad::server::Config {
        socket: socket.to_path_buf(),
        ..qdad::server::Config::new()
    })
    .expect("start qdad");
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        s2.store(true, Ordering::SeqCst);
    });
    while !stop.load(Ordering::SeqCst) {
        let st: Vec<String> = s.stats().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("stats {}", st.join(" "));
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(s);
}

fn sum(dev: &Device, calc: &qda::RemoteHandle, n: usize, by_buffer: bool) -> i64 {
    let v: Vec<u8> = (0..n as i32).flat_map(i32::to_le_bytes).collect();
    let mut out = [0u8; 8];
    let count = (n as u32).to_le_bytes();
    if by_buffer {
        let b = dev.alloc(v.len()).expect("alloc");
        b.write(0, &v).unwrap();
        calc.invoke(
            2,
            &mut [Arg::In(&count), Arg::buf_in(&b, 0, v.len()), Arg::Out(&mut out)],
        )
        .expect("invoke");
    } else {
        calc.invoke(2, &mut [Arg::In(&count), Arg::In(&v), Arg::Out(&mut out)])
            .expect("invoke");
    }
    i64::from_le_bytes(out)
}

fn device(socket: &Path) -> Device {
    let calls = Arc::new(qda::sys::DaemonCalls::connect(socket).expect("connect"));
    Device::open_with(Domain::Cdsp, calls).expect("open")
}

/// The client role: calculators until killed.
fn client_loop(socket: &Path) {
    let dev = device(socket);
    let calc = dev.session().unwrap().open(CALC).unwrap();
    loop {
        assert_eq!(sum(&dev, &calc, 1000, true), 499_500);
    }
}

fn rss_kib(pid: u32) -> u64 {
    status(pid, "VmRSS:")
}

fn status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn soak(minutes: f64) -> i32 {
    let dir = std::env::temp_dir().join(format!("qda-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket: PathBuf = dir.join("qdad.sock");
    let me = std::env::current_exe().unwrap();
    let mut daemon = Command::new(&me)
        .args(["daemon", socket.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let dpid = daemon.id();
    let latest = Arc::new(std::sync::Mutex::new(String::new()));
    {
        let out = BufReader::new(daemon.stdout.take().unwrap());
        let latest = latest.clone();
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                *latest.lock().unwrap() = l;
            }
        });
    }
    let t0 = Instant::now();
    while !socket.exists() {
        assert!(t0.elapsed() < Duration::from_secs(30), "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let end = t0 + Duration::from_secs_f64(minutes * 60.0);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    // Long-lived calculators, inline and by buffer.
    for by_buffer in [false, true, false, true] {
        let (socket, stop, calls) = (socket.clone(), stop.clone(), calls.clone());
        threads.push(std::thread::spawn(move || {
            let dev = device(&socket);
            let calc = dev.session().unwrap().open(CALC).unwrap();
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(sum(&dev, &calc, 1000, by_buffer), 499_500);
                calls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Sessions that come and go, with buffers allocated and freed.
    {
        let (socket, stop, calls) = (socket.clone(), stop.clone(), calls.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let dev = device(&socket);
                let calc = dev.session().unwrap().open(CALC).unwrap();
                for n in [1, 100, 4096] {
                    let _ = sum(&dev, &calc, n, true);
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // A client that pipelines requests and reads no replies, reconnecting
    // when the daemon closes it.
    {
        let (socket, stop) = (socket.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            use qdad::wire::{self, Header, IoctlReq, Op};
            use zerocopy::IntoBytes;
            while !stop.load(Ordering::Relaxed) {
                let Ok(c) = std::os::unix::net::UnixStream::connect(&socket) else {
                    continue;
                };
                let _ = wire::send(
                    &c,
                    Header {
                        op: Op::Open as u16,
                        seq: 1,
                        ..Default::default()
                    },
                    &[b"/dev/accel/accel1"],
                    &[],
                );
                let req = IoctlReq {
                    cmd: qda_uapi::qda::DRM_IOCTL_QDA_QUERY,
                    target: -1,
                    ..Default::default()
                };
                for seq in 2..2000u32 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let h = Header {
                        op: Op::Ioctl as u16,
                        seq,
                        ..Default::default()
                    };
                    if wire::send(&c, h, &[req.as_bytes()], &[]).is_err() {
                        break;
                    }
                }
            }
        }));
    }
    // Client processes, killed mid-call and replaced.
    let mut children: Vec<Child> = Vec::new();
    let spawn_client = || {
        Command::new(&me)
            .args(["client", socket.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for _ in 0..3 {
        children.push(spawn_client());
    }
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut kills = 0u64;
    let mut next_sample = Instant::now();
    println!("soak: {minutes} min, daemon pid {dpid}");
    println!(
        "{:>7} {:>9} {:>8} {:>10} {:>7}  live",
        "t(s)", "RSS KiB", "threads", "calls", "kills"
    );
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(700));
        // Kill one client process mid-call and start another.
        let mut c = children.remove(0);
        let _ = c.kill();
        let _ = c.wait();
        kills += 1;
        children.push(spawn_client());
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(10);
            let t = t0.elapsed().as_secs_f64();
            let rss = rss_kib(dpid);
            samples.push((t, rss));
            let live = latest.lock().unwrap().clone();
            let pick: Vec<&str> = live
                .split_whitespace()
                .filter(|kv| {
                    ["files=", "gem_objects=", "user_pds=", "connections="]
                        .iter()
                        .any(|k| kv.starts_with(k))
                })
                .collect();
            println!(
                "{t:7.0} {rss:9} {:>8} {:>10} {kills:>7}  {}",
                status(dpid, "Threads:"),
                calls.load(Ordering::Relaxed),
                pick.join(" ")
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    // Every client gone: the daemon holds nothing.
    let settle = Instant::now();
    let zero = [
        "files",
        "gem_objects",
        "dmabufs",
        "backings",
        "iova_mappings",
        "user_pds",
        "calls_in_flight",
        "fds_held",
        "bytes_held",
        "connections",
    ];
    let mut last;
    let clean = loop {
        last = latest.lock().unwrap().clone();
        let ok = zero
            .iter()
            .all(|k| last.split_whitespace().any(|kv| kv == format!("{k}=0")));
        if ok || settle.elapsed() > Duration::from_secs(30) {
            break ok;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let n = samples.len();
    let (mid, tail) = (&samples[n / 3..2 * n / 3], &samples[2 * n / 3..]);
    let mid_peak = mid.iter().map(|s| s.1).max().unwrap_or(0);
    let tail_peak = tail.iter().map(|s| s.1).max().unwrap_or(0);
    let flat = mid_peak == 0 || tail_peak * 10 <= mid_peak * 11;
    println!(
        "end: {} calls, {kills} client processes killed; RSS KiB first {} middle-third peak {mid_peak} last-third peak {tail_peak} ({}); live counts after the clients left: {}",
        calls.load(Ordering::Relaxed),
        samples.first().map_or(0, |s| s.1),
        if flat { "flat" } else { "GROWING" },
        if clean { "all zero" } else { "NOT ZERO" }
    );
    if !clean {
        println!("last stats: {last}");
    }
    drop(daemon.stdin.take());
    let _ = daemon.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if clean && flat { 0 } else { 1 }
}

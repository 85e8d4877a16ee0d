//! `cargo bench -p qda`: invokes, GEM and PRIME on the embedded platform
//! and through qdad (PDs as threads and as processes), the null invoke and
//! the 4 KiB by-fd call in sleep mode and in poll mode (100 µs budget), beside
//! raw baselines: spin and futex ping-pong chains of each path's hop count,
//! the raw hops done with channels and sockets, a memcpy.
//! `docs/PERFORMANCE.md` has a table and what it means; `qda bench` prints
//! percentiles and the ratios, measured in alternating blocks.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use qda::bench::{self, Invokes, SocketPingPong, ThreadPingPong};
use qda::sys::{Routed, Syscalls};
use qda::{Device, Domain};
use qda_driver::Driver;
use qda_dsp::{Embedded, PdMode};

fn main() {
    // The process-PD paths start their PD hosts as copies of this program;
    // without this they fell back to thread PDs (no qda-pd-host beside it).
    qda_dsp::pd_host::run_if_requested();
    divan::main();
}

fn platform(mode: PdMode) -> Arc<Routed> {
    static THREAD: OnceLock<Arc<Routed>> = OnceLock::new();
    static PROCESS: OnceLock<Arc<Routed>> = OnceLock::new();
    let cell = match mode {
        PdMode::Thread => &THREAD,
        PdMode::Process => &PROCESS,
    };
    cell.get_or_init(|| {
        let drv = Driver::builtin().expect("the built-in platform");
        Arc::new(Routed::new(Embedded::with_mode(drv, mode).expect("starting the DSPs")))
    })
    .clone()
}

/// A qdad in this process, reached only through its socket.
fn daemon(mode: PdMode) -> Arc<dyn Syscalls> {
    static THREAD: OnceLock<qdad::server::Server> = OnceLock::new();
    static PROCESS: OnceLock<qdad::server::Server> = OnceLock::new();
    let cell = match mode {
        PdMode::Thread => &THREAD,
        PdMode::Process => &PROCESS,
    };
    let srv = cell.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("qda-bench-{}-{mode:?}", std::process::id()));
        qdad::server::Server::start(qdad::server::Config {
            socket: dir.join("qdad.sock"),
            pd_mode: Some(mode),
            ..Default::default()
        })
        .expect("starting qdad")
    });
    Arc::new(qda::sys::DaemonCalls::connect(srv.socket()).expect("connecting to qdad"))
}

/// Where a call goes: the embedded platform or qdad, with user PDs as
/// threads or processes.
#[derive(Debug, Clone, Copy)]
enum Path {
    Embedded(PdMode),
    Daemon(PdMode),
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (b, m) = match self {
            Path::Embedded(m) => ("embedded", m),
            Path::Daemon(m) => ("qdad", m),
        };
        write!(
            f,
            "{b}/{}",
            if *m == PdMode::Thread {
                "thread-pd"
            } else {
                "process-pd"
            }
        )
    }
}

impl Path {
    fn hops(self) -> Vec<bench::Hop> {
        match self {
            Path::Embedded(m) => bench::HopChain::for_path(false, m == PdMode::Process),
            Path::Daemon(m) => bench::HopChain::for_path(true, m == PdMode::Process),
        }
    }
}

fn device(path: Path) -> Device {
    let sys: Arc<dyn Syscalls> = match path {
        Path::Embedded(m) => platform(m),
        Path::Daemon(m) => daemon(m),
    };
    Device::open_with(Domain::Cdsp, sys).expect("opening cdsp")
}

const MODES: [Path; 4] = [
    Path::Embedded(PdMode::Thread),
    Path::Embedded(PdMode::Process),
    Path::Daemon(PdMode::Thread),
    Path::Daemon(PdMode::Process),
];

/// Poll mode's spin budget in the `_poll` benches.
const BUDGET: Duration = Duration::from_micros(100);

/// The null invoke in sleep mode (the default).
#[divan::bench(args = MODES)]
fn null_invoke_sleep(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    b.bench_local(|| w.null().unwrap());
}

/// The null invoke in poll mode (a 100 µs spin on the completion, then sleep).
#[divan::bench(args = MODES)]
fn null_invoke_poll(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    w.set_poll(Some(BUDGET)).unwrap();
    b.bench_local(|| w.null().unwrap());
}

#[divan::bench(args = MODES)]
fn inline_64k_in_and_out(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let mut w = Invokes::new(&dev, false).unwrap();
    b.counter(divan::counter::BytesCount::new(2 * bench::INLINE))
        .bench_local(|| w.inline().unwrap());
}

#[divan::bench(args = MODES)]
fn by_fd_4k_sleep(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    b.bench_local(|| w.by_fd_small().unwrap());
}

#[divan::bench(args = MODES)]
fn by_fd_4k_poll(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    w.set_poll(Some(BUDGET)).unwrap();
    b.bench_local(|| w.by_fd_small().unwrap());
}

#[divan::bench(args = MODES)]
fn by_fd_64m(b: divan::Bencher, mode: Path) {
    let dev = device(mode);
    let w = Invokes::new(&dev, true).unwrap();
    b.bench_local(|| w.by_fd_large().unwrap());
}

const BUFFER_PATHS: [Path; 2] = [Path::Embedded(PdMode::Thread), Path::Daemon(PdMode::Thread)];

#[divan::bench(args = BUFFER_PATHS)]
fn gem_create_mmap_close(b: divan::Bencher, path: Path) {
    let dev = device(path);
    b.bench_local(|| bench::gem_cycle(&dev).unwrap());
}

#[divan::bench(args = BUFFER_PATHS)]
fn prime_export_import(b: divan::Bencher, path: Path) {
    let dev = device(path);
    let other = device(path);
    let buf = dev.alloc(bench::SMALL_FD).unwrap();
    b.bench_local(|| bench::prime_cycle(&buf, &other).unwrap());
}

mod baseline {
    use super::*;

    #[divan::bench]
    fn thread_ping_pong(b: divan::Bencher) {
        let p = ThreadPingPong::new();
        b.bench_local(|| p.round_trip());
    }

    #[divan::bench]
    fn unix_socket_round_trip(b: divan::Bencher) {
        let mut p = SocketPingPong::new().unwrap();
        b.bench_local(|| p.round_trip().unwrap());
    }

    /// A spin ping-pong chain of each path's hop count (poll mode's baseline).
    #[divan::bench(args = MODES)]
    fn spin_ping_pong(b: divan::Bencher, path: Path) {
        let mut c = bench::PingPongChain::new(bench::PingPongKind::Spin, path.hops().len());
        b.bench_local(|| c.round_trip());
    }

    /// A futex ping-pong chain of each path's hop count (sleep mode's baseline).
    #[divan::bench(args = MODES)]
    fn futex_ping_pong(b: divan::Bencher, path: Path) {
        let mut c = bench::PingPongChain::new(bench::PingPongKind::Futex, path.hops().len());
        b.bench_local(|| c.round_trip());
    }

    /// The hand-offs each path makes, done with channels and sockets.
    #[divan::bench(args = MODES)]
    fn raw_hops(b: divan::Bencher, path: Path) {
        let mut c = bench::HopChain::new(&path.hops()).unwrap();
        b.bench_local(|| c.round_trip().unwrap());
    }

    #[divan::bench]
    fn memcpy_64k_twice(b: divan::Bencher) {
        let mut copy = bench::CopyBaseline::new(bench::INLINE);
        b.counter(divan::counter::BytesCount::new(2 * bench::INLINE))
            .bench_local(|| copy.run());
    }
}

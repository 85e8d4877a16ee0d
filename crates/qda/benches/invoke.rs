//! `cargo bench -p qda`: invokes, GEM and PRIME on the embedded platform
//! (PDs as threads and as processes), beside raw baselines measured in the
//! same run. `docs/PERFORMANCE.md` has a table and what it means; `qda
//! bench` prints a quicker one.

use std::sync::{Arc, OnceLock};

use qda::bench::{self, Invokes, SocketPingPong, ThreadPingPong};
use qda::sys::{Emulated, Sys};
use qda::{Device, Domain};
use qda_driver::Driver;
use qda_dsp::{Embedded, PdMode};

fn main() {
    divan::main();
}

fn platform(mode: PdMode) -> Arc<Emulated> {
    static THREAD: OnceLock<Arc<Emulated>> = OnceLock::new();
    static PROCESS: OnceLock<Arc<Emulated>> = OnceLock::new();
    let cell = match mode {
        PdMode::Thread => &THREAD,
        PdMode::Process => &PROCESS,
    };
    cell.get_or_init(|| {
        let drv = Driver::builtin().expect("the built-in platform");
        Arc::new(Emulated::new(
            Embedded::with_mode(drv, mode).expect("starting the DSPs"),
        ))
    })
    .clone()
}

fn device(mode: PdMode) -> Device {
    Device::open_with(Domain::Cdsp, platform(mode) as Arc<dyn Sys>).expect("opening cdsp")
}

const MODES: [PdMode; 2] = [PdMode::Thread, PdMode::Process];

#[divan::bench(args = MODES)]
fn null_invoke(b: divan::Bencher, mode: PdMode) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    b.bench_local(|| w.null().unwrap());
}

#[divan::bench(args = MODES)]
fn inline_64k_in_and_out(b: divan::Bencher, mode: PdMode) {
    let dev = device(mode);
    let mut w = Invokes::new(&dev, false).unwrap();
    b.counter(divan::counter::BytesCount::new(2 * bench::INLINE))
        .bench_local(|| w.inline().unwrap());
}

#[divan::bench(args = MODES)]
fn by_fd_4k(b: divan::Bencher, mode: PdMode) {
    let dev = device(mode);
    let w = Invokes::new(&dev, false).unwrap();
    b.bench_local(|| w.by_fd_small().unwrap());
}

#[divan::bench(args = MODES)]
fn by_fd_64m(b: divan::Bencher, mode: PdMode) {
    let dev = device(mode);
    let w = Invokes::new(&dev, true).unwrap();
    b.bench_local(|| w.by_fd_large().unwrap());
}

#[divan::bench]
fn gem_create_mmap_close(b: divan::Bencher) {
    let dev = device(PdMode::Thread);
    b.bench_local(|| bench::gem_cycle(&dev).unwrap());
}

#[divan::bench]
fn prime_export_import(b: divan::Bencher) {
    let dev = device(PdMode::Thread);
    let other = device(PdMode::Thread);
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

    #[divan::bench]
    fn memcpy_64k_twice(b: divan::Bencher) {
        let mut copy = bench::CopyBaseline::new(bench::INLINE);
        b.counter(divan::counter::BytesCount::new(2 * bench::INLINE))
            .bench_local(|| copy.run());
    }
}

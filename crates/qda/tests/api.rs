//! The client library on the embedded backend.

use std::os::fd::AsFd;

use qda::{Arg, Backend, Device, Domain, Error};

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";

fn vector(n: i32) -> Vec<u8> {
    (0..n).flat_map(i32::to_le_bytes).collect()
}

#[test]
fn calculator_through_the_library() {
    let dev = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    assert_eq!(dev.backend(), Backend::Embedded);
    assert_eq!(dev.domain(), Domain::Cdsp);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let buf = dev.alloc(4000).unwrap();
    buf.write(0, &vector(1000)).unwrap();
    let n = 1000u32.to_le_bytes();
    let mut sum = [0u8; 8];
    calc.invoke(2, &mut [Arg::In(&n), Arg::buf_in(&buf, 0, 4000), Arg::Out(&mut sum)])
        .unwrap();
    assert_eq!(i64::from_le_bytes(sum), 499_500);
    let mut max = [0u8; 4];
    calc.invoke(3, &mut [Arg::In(&n), Arg::buf_in(&buf, 0, 4000), Arg::Out(&mut max)])
        .unwrap();
    assert_eq!(i32::from_le_bytes(max), 999);
    // Inline only, every domain that has the calculator.
    for d in [Domain::Adsp, Domain::Sdsp, Domain::Gdsp0, Domain::Gdsp1] {
        let dev = Device::open_on(d, Backend::Embedded).unwrap();
        let calc = dev.session().unwrap().open(CALC).unwrap();
        let v = vector(10);
        let n = 10u32.to_le_bytes();
        let mut sum = [0u8; 8];
        calc.invoke(2, &mut [Arg::In(&n), Arg::In(&v), Arg::Out(&mut sum)])
            .unwrap();
        assert_eq!(i64::from_le_bytes(sum), 45, "{d}");
    }
}

#[test]
fn errors_name_their_cause() {
    let dev = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let session = dev.session().unwrap();
    let e = session
        .open("file:///libnope_skel.so?nope_skel_handle_invoke&_modver=1.0")
        .unwrap_err();
    assert!(
        matches!(&e, Error::Module { text, .. } if text.contains("libnope_skel.so")),
        "{e}"
    );
    assert!(e.to_string().contains("AEE_ENOSUCHMOD"), "{e}");
    let calc = session.open(CALC).unwrap();
    let mut out = [0u8; 8];
    let n = 1u32.to_le_bytes();
    let e = calc.invoke(2, &mut [Arg::Out(&mut out), Arg::In(&n)]).unwrap_err();
    assert!(matches!(e, Error::Arg { index: 1, .. }), "{e}");
    let buf = dev.alloc(16).unwrap();
    let e = calc
        .invoke(2, &mut [Arg::In(&n), Arg::buf_in(&buf, 8, 4096), Arg::Out(&mut out)])
        .unwrap_err();
    assert!(matches!(e, Error::Arg { index: 1, .. }), "{e}");
    // A wrong size: the skel answers AEE_EBADPARM.
    let e = calc
        .invoke(2, &mut [Arg::In(&n), Arg::In(&[0u8; 8]), Arg::Out(&mut out)])
        .unwrap_err();
    assert!(e.to_string().contains("AEE_EBADPARM"), "{e}");
    assert!(calc.invoke(1, &mut []).is_err(), "method 1 is close");
    assert!("xdsp".parse::<Domain>().is_err());
    assert_eq!("gdsp1".parse::<Domain>().unwrap(), Domain::Gdsp1);
}

#[test]
fn a_heap_buffer_imported_and_shared_between_devices() {
    let dev = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let emb = qda::embedded_platform().unwrap();
    let heap = emb
        .embedded()
        .driver
        .open("/dev/dma_heap/system", qda_driver::Creds::current())
        .unwrap();
    let fd = heap.heap_alloc(4096, 0, 2, 0).unwrap();
    let buf = dev.import(fd.as_fd()).unwrap();
    buf.write(0, &vector(100)).unwrap();
    // A second device file imports the exported fd: same pages.
    let other = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let again = other.import(buf.export().unwrap()).unwrap();
    let mut first = [0u8; 8];
    again.read(4, &mut first).unwrap();
    assert_eq!(first, [1, 0, 0, 0, 2, 0, 0, 0]);
    let calc = other.session().unwrap().open(CALC).unwrap();
    let n = 100u32.to_le_bytes();
    let mut sum = [0u8; 8];
    calc.invoke(2, &mut [Arg::In(&n), Arg::buf_in(&again, 0, 400), Arg::Out(&mut sum)])
        .unwrap();
    assert_eq!(i64::from_le_bytes(sum), 4950);
}

/// The benchmark workloads run and check their results (so `cargo bench`
/// and `qda bench` cannot silently measure failing calls).
#[test]
fn the_benchmark_workloads_run() {
    use qda::bench::*;
    use std::time::Duration;
    let dev = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let other = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let mut w = Invokes::new(&dev, true).unwrap();
    w.null().unwrap();
    w.inline().unwrap();
    w.by_fd_small().unwrap();
    w.by_fd_large().unwrap();
    let (sleep, poll) = sleep_vs_poll(2, 20, Duration::from_micros(50), |b| w.set_poll(b), || w.null()).unwrap();
    assert_eq!((sleep.len(), poll.len()), (40, 40));
    assert!(sleep.is_sorted() && percentile(&poll, 50.0) <= percentile(&poll, 99.0));
    assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    gem_cycle(&dev).unwrap();
    let b = dev.alloc(4096).unwrap();
    prime_cycle(&b, &other).unwrap();
    let small = Invokes::new(&dev, false).unwrap();
    assert!(matches!(small.by_fd_large(), Err(Error::Usage(_))));

    // The null invoke beside spin and futex chains of its hop count, in
    // alternating blocks: numbers, ordered percentiles, no targets.
    let hops = HopChain::for_path(false, false).len();
    let mut spin = PingPongChain::new(PingPongKind::Spin, hops);
    let mut futex = PingPongChain::new(PingPongKind::Futex, hops);
    let mut blocks = [
        Block::new("spin", 30, || {
            spin.round_trip();
            Ok(())
        }),
        Block::new("futex", 30, || {
            futex.round_trip();
            Ok(())
        }),
        Block::new("null", 30, || small.null()),
        Block::new("null, poll", 30, || small.null()).before(|| small.set_poll(Some(Duration::from_micros(20)))),
    ];
    let lat = interleave(2, &mut blocks).unwrap();
    drop(blocks);
    small.set_poll(None).unwrap();
    for l in &lat {
        assert_eq!(l.len(), 60);
        assert!(
            Duration::ZERO < l.p50() && l.p50() <= l.p99() && l.p99() <= l.p999(),
            "{l:?}"
        );
        assert!(l.per_sec() > 0.0);
    }

    // Callers on one shared handle, and busy neighbours.
    let busy = Neighbours::start(2);
    let row = scale(3, Duration::from_millis(20), 50, &|| null(small.skel())).unwrap();
    drop(busy);
    assert_eq!(row.callers, 3);
    assert!(row.latencies.len() >= 3 && row.latencies.per_sec() > 0.0);
    assert!(row.latencies.p50() <= row.latencies.p99());

    let svg = plot::percentile_plot(
        "null invoke",
        &["test".into()],
        &[
            plot::Series {
                name: "null invoke",
                sorted: lat[2].sorted(),
                dashed: false,
            },
            plot::Series {
                name: "spin ping-pong",
                sorted: lat[0].sorted(),
                dashed: true,
            },
        ],
    );
    assert!(svg.starts_with("<svg") && svg.contains("spin ping-pong (60 calls)"));
}

/// What a backend says of its PDs is how its DSPs run them, whatever the
/// environment says.
#[test]
fn an_embedded_backend_reports_its_own_pd_mode() {
    use qda::sys::{Routed, Syscalls};
    for mode in [qda_dsp::PdMode::Thread, qda_dsp::PdMode::Process] {
        let emb = qda_dsp::Embedded::with_mode(qda_driver::Driver::builtin().unwrap(), mode).unwrap();
        let running = emb.dsps[0].mode();
        let r = Routed::new(emb);
        assert_eq!(r.info().process_pds, Some(running == qda_dsp::PdMode::Process));
    }
}

/// The DSP answers `adsp_current_process1_poll_mode` (handle 4, method 9,
/// one 8-byte input `{enable, timeout}`) and refuses another shape with
/// `AEE_EBADPARM`.
#[test]
fn the_dsp_answers_current_process_poll_mode() {
    use qda_uapi::fastrpc::FastrpcInvokeArgs;
    let dev = Device::open_on(Domain::Cdsp, Backend::Embedded).unwrap();
    let session = dev.session().unwrap();
    let arg = |b: &[u8]| FastrpcInvokeArgs {
        ptr: b.as_ptr() as u64,
        length: b.len() as u64,
        fd: -1,
        attr: 0,
    };
    let sc = qda_proto::Scalars::make(qda_proto::handles::current_process::POLL_MODE, 1, 0).0;
    let body = [3u32.to_le_bytes(), 50u32.to_le_bytes()].concat();
    assert_eq!(session.invoke_raw(4, sc, &mut [arg(&body)]).unwrap(), 0);
    let short = [0u8; 4];
    let bad = session.invoke_raw(4, sc, &mut [arg(&short)]);
    assert!(!matches!(bad, Ok(0)), "a 4-byte body is refused: {bad:?}");
    // Descriptors that do not match the scalars are refused before any
    // ioctl, naming the count.
    let e = session.invoke_raw(4, sc, &mut []).unwrap_err();
    assert!(
        matches!(e, qda::Error::Usage(_)) && e.to_string().contains("1 arguments, 0 given"),
        "{e}"
    );
}

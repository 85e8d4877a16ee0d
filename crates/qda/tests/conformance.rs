//! One conformance suite, run against every backend this machine can host:
//! the embedded platform with user PDs as processes and as threads, the
//! kernel backend (real fds and its own code, its system calls routed into
//! an embedded driver's raw UAPI entry), and a qdad daemon (a server in
//! this process, reached only through its socket); and, with the accel
//! nodes hidden, the legacy `/dev/fastrpc-*` UAPI the library falls back to
//! (embedded and through qdad).
//! Each run has a platform of its own and ends by checking that the
//! driver's live-object counts are zero and the DMA-API checker is quiet.

use std::os::fd::AsFd;

use qda::{Arg, Domain, Error};
use qda_test::matrix::{BackendUnderTest, check_clean, open};

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";

fn sessions_and_invokes(b: &BackendUnderTest) {
    for d in [Domain::Adsp, Domain::Cdsp, Domain::Sdsp, Domain::Gdsp0] {
        let dev = open(b, d);
        let calc = dev.session().unwrap().open(CALC).unwrap();
        let v: Vec<u8> = (0..100i32).flat_map(i32::to_le_bytes).collect();
        let n = 100u32.to_le_bytes();
        let mut sum = [0u8; 8];
        calc.invoke(2, &mut [Arg::In(&n), Arg::In(&v), Arg::Out(&mut sum)])
            .unwrap();
        assert_eq!(i64::from_le_bytes(sum), 4950, "{d}");
    }
    if b.polled {
        let st = b.driver.stats();
        assert!(
            st.poll_answered_spinning + st.poll_spin_timeouts >= 4,
            "the calls were polled: {st:?}"
        );
    }
    check_clean(b);
}

/// `Session::set_poll`: on, the session's calls to modules are polled
/// (each ends either answered while spinning or slept after its budget);
/// off, none is; through every UAPI and backend (qdad carries the option
/// to its file like any ioctl).
fn poll_mode_through_the_session(b: &BackendUnderTest) {
    let polled = |d: &qda_driver::Driver| {
        let st = d.stats();
        st.poll_answered_spinning + st.poll_spin_timeouts
    };
    let dev = open(b, Domain::Cdsp);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let call = || {
        let mut sum = [0u8; 8];
        calc.invoke(
            2,
            &mut [
                Arg::In(&2u32.to_le_bytes()),
                Arg::In(&[1, 0, 0, 0, 2, 0, 0, 0]),
                Arg::Out(&mut sum),
            ],
        )
        .unwrap();
        assert_eq!(i64::from_le_bytes(sum), 3);
    };
    session.set_poll(None).unwrap();
    let before = polled(&b.driver);
    call();
    assert_eq!(polled(&b.driver), before, "sleep mode: no polled wait");
    session.set_poll(Some(std::time::Duration::from_micros(50))).unwrap();
    for _ in 0..10 {
        call();
    }
    assert_eq!(polled(&b.driver), before + 10, "poll mode: every module call polled");
    session.set_poll(None).unwrap();
    call();
    assert_eq!(polled(&b.driver), before + 10, "off again");
    if !b.legacy {
        // The accel extension bounds its budget (the legacy option has none).
        let e = session
            .set_poll(Some(std::time::Duration::from_millis(11)))
            .unwrap_err();
        assert_eq!(e.errno(), Some(22), "{e}");
    }
    drop((calc, session, dev));
    check_clean(b);
}

fn buffers_by_reference(b: &BackendUnderTest) {
    let dev = open(b, Domain::Cdsp);
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let buf = dev.alloc(64 * 1024).unwrap();
    let v: Vec<u8> = (0..16384i32).flat_map(i32::to_le_bytes).collect();
    buf.write(0, &v).unwrap();
    let n = 1000u32.to_le_bytes();
    let mut max = [0u8; 4];
    // A window in the middle of the buffer: elements 5000..6000.
    calc.invoke(
        3,
        &mut [Arg::In(&n), Arg::buf_in(&buf, 20_000, 4000), Arg::Out(&mut max)],
    )
    .unwrap();
    assert_eq!(i32::from_le_bytes(max), 5999);
    drop((calc, buf, dev));
    check_clean(b);
}

fn prime_dedup(be: &BackendUnderTest) {
    let dev = open(be, Domain::Cdsp);
    let a = dev.alloc(4096).unwrap();
    let b = dev.import(a.export().unwrap()).unwrap();
    assert_eq!(a.handle(), b.handle(), "our own export comes back as the same handle");
    drop(a);
    b.write(0, b"still here").unwrap();
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let n = 1u32.to_le_bytes();
    let mut sum = [0u8; 8];
    calc.invoke(2, &mut [Arg::In(&n), Arg::buf_in(&b, 0, 4), Arg::Out(&mut sum)])
        .unwrap();
    assert_eq!(sum[..4], *b"stil");
    let other = open(be, Domain::Cdsp);
    let c = other.import(b.export().unwrap()).unwrap();
    let mut got = [0u8; 10];
    c.read(0, &mut got).unwrap();
    assert_eq!(&got, b"still here");
    drop((calc, b, c, other, dev));
    check_clean(be);
}

fn persistent_maps(b: &BackendUnderTest) {
    let dev = open(b, Domain::Cdsp);
    let session = dev.session().unwrap();
    let buf = dev.alloc(8192).unwrap();
    let m = session.map(&buf).unwrap();
    assert_ne!(m.vaddr(), 0);
    let m2 = session.map(&buf).unwrap();
    assert_ne!(m.vaddr(), m2.vaddr());
    drop((m, m2));
    drop((buf, session, dev));
    check_clean(b);
}

fn error_paths(b: &BackendUnderTest) {
    let dev = open(b, Domain::Cdsp);
    let session = dev.session().unwrap();
    assert!(matches!(
        session.open("file:///libmissing_skel.so?x&_modver=1.0"),
        Err(Error::Module { .. })
    ));
    let calc = session.open(CALC).unwrap();
    let n = 4u32.to_le_bytes();
    let mut out = [0u8; 8];
    let e = calc
        .invoke(2, &mut [Arg::In(&n), Arg::In(&[0u8; 3]), Arg::Out(&mut out)])
        .unwrap_err();
    assert!(matches!(e, Error::Dsp { .. }), "{e}");
    let heap = b
        .driver
        .open("/dev/dma_heap/system", qda_driver::Creds::current())
        .unwrap();
    let fd = heap.heap_alloc(4096, 0, 2, 0).unwrap();
    let imported = dev.import(fd.as_fd()).unwrap();
    assert_eq!(imported.size(), 4096);
    let (r, _w) = rustix_pipe();
    assert_eq!(
        dev.import(r.as_fd()).unwrap_err().errno(),
        Some(22),
        "a pipe is not a dma-buf: EINVAL"
    );
    drop((imported, fd, heap, calc, session, dev));
    check_clean(b);
}

/// Files of the same domain come and go (a query on the legacy node, a
/// device without a session) while a session is open: the session's PD
/// stays. Found through the C API: the legacy node numbered its clients
/// 1, 2, … as the accel node numbered its sessions, so closing a legacy
/// file released the accel session with the same number.
fn other_files_closing_leave_a_session_alone(b: &BackendUnderTest) {
    let dev = open(b, Domain::Cdsp);
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let call = || {
        let v: Vec<u8> = (0..10i32).flat_map(i32::to_le_bytes).collect();
        let mut sum = [0u8; 8];
        calc.invoke(2, &mut [Arg::In(&10u32.to_le_bytes()), Arg::In(&v), Arg::Out(&mut sum)])
            .map(|_| i64::from_le_bytes(sum))
            .map_err(|e| e.to_string())
    };
    assert_eq!(call(), Ok(45));
    for _ in 0..3 {
        let _ = dev.dsp_info(6);
        drop(open(b, Domain::Cdsp));
        assert_eq!(call(), Ok(45));
    }
    drop(calc);
    drop(dev);
    check_clean(b);
}

fn rustix_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    let (r, w) = std::io::pipe().unwrap();
    (r.into(), w.into())
}

qda_test::matrix_tests!(
    sessions_and_invokes,
    buffers_by_reference,
    prime_dedup,
    persistent_maps,
    error_paths,
    other_files_closing_leave_a_session_alone,
    poll_mode_through_the_session,
);

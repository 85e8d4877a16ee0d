//! Tests of the channel: context ids, answers, restarts, interrupts, poll mode.

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

#[derive(Debug)]
struct Loop(Mutex<mpsc::Sender<FastrpcMsg>>);
impl Transport for Loop {
    fn send(&self, m: &FastrpcMsg) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .send(*m)
            .map_err(|_| Error::new(Errno::EPIPE, "closed"))
    }
}

fn answer(ch: &Channel, m: &FastrpcMsg, retval: i32) {
    let r = InvokeRsp {
        ctx: m.ctx,
        retval,
        pad: 0,
    };
    ch.on_response(zerocopy::IntoBytes::as_bytes(&r)).unwrap();
}

#[test]
fn more_than_255_callers_wait_and_all_complete() {
    let ch = Arc::new(Channel::new("cdsp"));
    let (tx, rx) = mpsc::channel();
    ch.attach(Arc::new(Loop(Mutex::new(tx))));
    let callers: Vec<_> = (0..300)
        .map(|i| {
            let ch = ch.clone();
            std::thread::spawn(move || {
                ch.call(
                    FastrpcMsg {
                        handle: i,
                        ..Default::default()
                    },
                    PdType::User,
                    Some(Duration::from_secs(30)),
                )
            })
        })
        .collect();
    // Hold the first 255 unanswered: the rest must wait, not fail.
    let mut held = Vec::new();
    for _ in 0..255 {
        held.push(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "a 256th context was handed out"
    );
    assert_eq!(ch.in_flight(), 255);
    let ids: std::collections::HashSet<u8> = held.iter().map(|m| CtxLayout::KERNEL.index(m.ctx)).collect();
    assert_eq!(ids.len(), 255, "ids are distinct");
    assert!(!ids.contains(&0));
    for m in &held {
        answer(&ch, m, m.handle as i32);
    }
    for _ in 0..45 {
        let m = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        answer(&ch, &m, m.handle as i32);
    }
    for (i, c) in callers.into_iter().enumerate() {
        assert_eq!(c.join().unwrap().unwrap(), i as i32, "each caller gets its own answer");
    }
    assert_eq!(ch.in_flight(), 0);
}

#[test]
fn restart_fails_pending_calls_with_epipe() {
    let ch = Arc::new(Channel::new("adsp"));
    let (tx, rx) = mpsc::channel();
    ch.attach(Arc::new(Loop(Mutex::new(tx))));
    let c = {
        let ch = ch.clone();
        std::thread::spawn(move || ch.call(FastrpcMsg::default(), PdType::User, None))
    };
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    ch.restart();
    assert_eq!(c.join().unwrap().unwrap_err().errno, Errno::EPIPE);
    assert_eq!(
        ch.call(FastrpcMsg::default(), PdType::User, None).unwrap_err().errno,
        Errno::EPIPE
    );
}

/// A DSP thread answering a channel's messages with `f` until stopped;
/// `busy`: it polls for them without sleeping.
struct DspThread {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl DspThread {
    fn start(ch: &Arc<Channel>, busy: bool, f: impl Fn(&Channel, &FastrpcMsg) + Send + 'static) -> DspThread {
        let (tx, rx) = mpsc::channel::<FastrpcMsg>();
        ch.attach(Arc::new(Loop(Mutex::new(tx))));
        let stop = Arc::new(AtomicBool::new(false));
        let (ch, flag) = (ch.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let m = if busy {
                    rx.try_recv().ok()
                } else {
                    rx.recv_timeout(Duration::from_millis(10)).ok()
                };
                match m {
                    Some(m) => f(&ch, &m),
                    None if busy => std::thread::yield_now(),
                    None => {}
                }
            }
        });
        DspThread { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

/// A channel with one call made on another thread and interrupted there
/// (`ERESTARTSYS`): the message the DSP got and the caller's tid.
fn interrupted_call() -> (Arc<Channel>, FastrpcMsg, i32) {
    let ch = Arc::new(Channel::new("cdsp"));
    let (tx, rx) = mpsc::channel();
    ch.attach(Arc::new(Loop(Mutex::new(tx))));
    let (tid_tx, tid_rx) = mpsc::channel();
    let c = {
        let ch = ch.clone();
        std::thread::spawn(move || {
            tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get()).unwrap();
            ch.call(FastrpcMsg::default(), PdType::User, None)
        })
    };
    let tid = tid_rx.recv().unwrap();
    let m = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(ch.interrupt(tid), 1);
    assert_eq!(c.join().unwrap().unwrap_err().errno, Errno::ERESTARTSYS);
    (ch, m, tid)
}

#[test]
fn an_interrupted_call_keeps_its_context_until_the_dsp_answers() {
    let (ch, m, tid) = interrupted_call();
    assert_eq!(ch.in_flight(), 1, "the DSP still owns the context");
    answer(&ch, &m, 0);
    assert_eq!(ch.in_flight(), 0, "the late answer frees it");
    assert_eq!(ch.interrupt(tid), 0);
}

/// An abandoned context is released once, by whichever of a restart
/// and the late answer comes first: the other finds it gone (a second
/// release would count a call that is not in flight, or free a context
/// a new call holds). A context reused by the next calls keeps no state
/// of the last: an answer to a freed context is refused.
#[test]
fn an_abandoned_context_is_released_once() {
    for answer_first in [true, false] {
        let (ch, m, _) = interrupted_call();
        assert_eq!(ch.in_flight(), 1);
        if answer_first {
            answer(&ch, &m, 0);
            assert_eq!(ch.in_flight(), 0);
            ch.restart();
        } else {
            ch.restart();
            assert_eq!(ch.in_flight(), 0);
            let late = InvokeRsp {
                ctx: m.ctx,
                retval: 0,
                pad: 0,
            };
            assert_eq!(
                ch.on_response(zerocopy::IntoBytes::as_bytes(&late)).unwrap_err().errno,
                Errno::ENOENT
            );
        }
        assert_eq!(ch.in_flight(), 0, "answer first: {answer_first}");
        // New calls on a fresh transport reuse contexts from a clean state.
        let (tx, rx) = mpsc::channel();
        ch.attach(Arc::new(Loop(Mutex::new(tx))));
        for i in 0..(MAX_CONTEXTS as i32 + 3) {
            let c = {
                let ch = ch.clone();
                std::thread::spawn(move || ch.call(FastrpcMsg::default(), PdType::User, None))
            };
            let m = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            answer(&ch, &m, i);
            assert_eq!(c.join().unwrap().unwrap(), i);
            let again = InvokeRsp {
                ctx: m.ctx,
                retval: 1,
                pad: 0,
            };
            assert_eq!(
                ch.on_response(zerocopy::IntoBytes::as_bytes(&again)).unwrap_err().errno,
                Errno::ENOENT,
                "a second answer to a freed context"
            );
        }
        assert_eq!(ch.in_flight(), 0);
    }
}

#[test]
fn timeouts_and_bad_responses() {
    let ch = Channel::new("sdsp");
    let (tx, _rx) = mpsc::channel();
    ch.attach(Arc::new(Loop(Mutex::new(tx))));
    let e = ch
        .call(FastrpcMsg::default(), PdType::Root, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(e.errno, Errno::ETIMEDOUT);
    assert_eq!(ch.in_flight(), 0, "a timed-out context is released");
    assert_eq!(ch.on_response(&[0; 15]).unwrap_err().errno, Errno::EINVAL);
    assert_eq!(
        ch.on_response(&[0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            .unwrap_err()
            .errno,
        Errno::ENOENT
    );
}

/// Many callers, budgets so small or so large that both ends of a polled
/// wait are taken (answered while spinning, and spin spent then sleep),
/// answers racing the caller's move from spinning to sleeping: every
/// caller gets its own answer and none is left asleep (a lost wake-up
/// would hang; the guard turns that into a failure).
#[test]
fn polled_waits_race_answers_without_losing_a_wakeup() {
    const CALLERS: u32 = 4;
    const CALLS: u32 = 600;
    let ch = Arc::new(Channel::new("cdsp"));
    // On a loaded machine preempted spins would close the gate, and
    // this test is about both ends of a polled wait.
    ch.ungated.store(true, Ordering::Relaxed);
    // Answer without sleeping (a busy DSP thread); every third call after
    // a short delay, so the caller's spin runs out.
    let dsp = DspThread::start(&ch, true, |ch, m| {
        if m.handle % 3 == 0 {
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(30) {
                std::thread::yield_now();
            }
        }
        answer(ch, m, m.handle as i32);
    });
    let (done_tx, done_rx) = mpsc::channel();
    for c in 0..CALLERS {
        let (ch, done_tx) = (ch.clone(), done_tx.clone());
        std::thread::spawn(move || {
            for i in 0..CALLS {
                let handle = c * CALLS + i;
                // A budget too short to see any answer, or long enough
                // to see a prompt one.
                let budget = if i % 2 == 0 {
                    Duration::from_nanos(1)
                } else {
                    Duration::from_millis(2)
                };
                let msg = FastrpcMsg {
                    handle,
                    ..Default::default()
                };
                let r = ch.call_polled(msg, PdType::User, None, Some(budget));
                if r != Ok(handle as i32) {
                    done_tx.send(Err(format!("call {handle}: {r:?}"))).unwrap();
                    return;
                }
            }
            done_tx.send(Ok(())).unwrap();
        });
    }
    for _ in 0..CALLERS {
        match done_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(r) => r.unwrap(),
            Err(_) => panic!("a polled caller never returned: a lost wake-up ({:?})", ch.poll_stats()),
        }
    }
    dsp.stop();
    let st = ch.poll_stats();
    assert_eq!(st.answered_spinning + st.spin_timeouts, u64::from(CALLERS * CALLS));
    assert!(st.answered_spinning > 0, "no answer seen while spinning: {st:?}");
    assert!(st.spin_timeouts > 0, "no spin ran out: {st:?}");
    assert_eq!(ch.in_flight(), 0);
}

/// Calls made while the spin gate is closed skip their spin; they must
/// not close it again (the first version did, escalating the pause to
/// its 128 ms cap on every call, so one preemption turned poll mode off
/// for as long as calls kept coming: 97,814 closings in 100,000 calls).
#[test]
fn skipped_spins_do_not_keep_the_gate_closed() {
    let ch = Arc::new(Channel::new("cdsp"));
    let dsp = DspThread::start(&ch, false, |ch, m| answer(ch, m, 0));
    let call = || {
        ch.call_polled(
            FastrpcMsg::default(),
            PdType::User,
            None,
            Some(Duration::from_millis(50)),
        )
        .unwrap()
    };
    // Two preemptions in a row close the gate for 1 ms; calls keep
    // coming.
    ch.gate.preempted();
    ch.gate.preempted();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(20) {
        call();
    }
    // Well past the 1 ms pause (and short of the 128 ms cap): the gate
    // is open again and a call spins.
    std::thread::sleep(Duration::from_millis(10));
    let before = ch.poll_stats().answered_spinning;
    for _ in 0..20 {
        call();
    }
    dsp.stop();
    assert!(
        ch.poll_stats().answered_spinning > before,
        "no call spun after the pause: {:?}",
        ch.poll_stats()
    );
}

#[test]
fn sleep_mode_calls_are_not_counted_as_polled() {
    let ch = Arc::new(Channel::new("cdsp"));
    let (tx, rx) = mpsc::channel();
    ch.attach(Arc::new(Loop(Mutex::new(tx))));
    let c = {
        let ch = ch.clone();
        std::thread::spawn(move || ch.call(FastrpcMsg::default(), PdType::User, Some(Duration::from_secs(30))))
    };
    let m = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    answer(&ch, &m, 7);
    assert_eq!(c.join().unwrap().unwrap(), 7);
    assert_eq!(ch.poll_stats(), PollStats::default());
}

/// A transport that records the poll budget each call was sent with.
#[derive(Debug)]
struct Recording {
    tx: Mutex<mpsc::Sender<FastrpcMsg>>,
    polls: Mutex<Vec<Option<Duration>>>,
}

impl Transport for Recording {
    fn send(&self, m: &FastrpcMsg) -> Result<()> {
        self.send_polled(m, None)
    }
    fn send_polled(&self, m: &FastrpcMsg, poll: Option<Duration>) -> Result<()> {
        self.polls.lock().unwrap().push(poll);
        self.tx
            .lock()
            .unwrap()
            .send(*m)
            .map_err(|_| Error::new(Errno::EPIPE, "closed"))
    }
}

/// With a proxy spin, a sleep-mode call spins for its answer (a prompt
/// answer ends the wait without a sleep) while the DSP is told sleep mode
/// and the call is not counted as polled.
#[test]
fn a_proxy_spin_waits_for_the_answer_spinning_and_the_dsp_sees_sleep_mode() {
    let ch = Arc::new(Channel::new("cdsp"));
    ch.ungated.store(true, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<FastrpcMsg>();
    let t = Arc::new(Recording {
        tx: Mutex::new(tx),
        polls: Mutex::new(Vec::new()),
    });
    ch.attach(t.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let dsp = {
        let (ch, stop) = (ch.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match rx.try_recv() {
                    Ok(m) => answer(&ch, &m, 7),
                    Err(_) => std::thread::yield_now(),
                }
            }
        })
    };
    for _ in 0..20 {
        assert_eq!(ch.call(FastrpcMsg::default(), PdType::User, None), Ok(7));
    }
    assert_eq!(ch.poll_stats(), PollStats::default(), "no spin without a proxy spin");
    ch.set_proxy_spin(Some(Duration::from_millis(50)));
    for _ in 0..20 {
        assert_eq!(ch.call(FastrpcMsg::default(), PdType::User, None), Ok(7));
    }
    stop.store(true, Ordering::Relaxed);
    dsp.join().unwrap();
    let st = ch.poll_stats();
    assert!(
        st.proxy_answered_spinning > 0,
        "no proxied call saw its answer spinning: {st:?}"
    );
    assert_eq!(
        st.answered_spinning + st.spin_timeouts,
        0,
        "not counted as polled: {st:?}"
    );
    let polls = t.polls.lock().unwrap();
    assert_eq!(polls.len(), 40);
    assert!(
        polls.iter().all(Option::is_none),
        "the DSP was told poll mode: {polls:?}"
    );
}

/// A proxy's spin that runs out (a call longer than its budget: a skel
/// that computes) leaves polled callers' gate open: its budget is a guess
/// at how long calls take, not a polled caller's, and it has a gate of its
/// own.
#[test]
fn a_proxy_spin_that_runs_out_leaves_the_gate_open() {
    let ch = Arc::new(Channel::new("cdsp"));
    ch.set_proxy_spin(Some(Duration::from_micros(20)));
    let dsp = DspThread::start(&ch, false, |ch, m| {
        std::thread::sleep(Duration::from_millis(2));
        answer(ch, m, 0);
    });
    // Were a run-out spin a strike, the sixth would close the gate for
    // 16 ms, well past the call's own 2 ms.
    for _ in 0..6 {
        assert_eq!(ch.call(FastrpcMsg::default(), PdType::User, None), Ok(0));
    }
    let open = ch.gate.open();
    dsp.stop();
    assert!(open, "long sleep-mode calls closed the poll gate: {:?}", ch.gate);
    let st = ch.poll_stats();
    assert_eq!((st.proxy_answered_spinning, st.proxy_spin_timeouts), (0, 6), "{st:?}");
}

//! The DSP↔PD messages: round trips, malformed input, descriptors.

use super::*;

fn body(frame: &[u8]) -> &[u8] {
    let (len, rest) = frame.split_at(4);
    assert_eq!(u32::from_ne_bytes(len.try_into().unwrap()) as usize, rest.len());
    rest
}

#[test]
fn requests_round_trip() {
    let open = Request::Open {
        path: b"/lib/libx_skel.so",
        symbol: b"x_skel_handle_invoke",
        handle_style: true,
    };
    let f = open.encode(7);
    assert_eq!(decode_request(body(&f)), Some((7, Some(open))));
    let inv = Request::Invoke {
        skel: 3,
        handle: 0xdead_beef_0000_0001,
        sc: 0x0202_0000,
        args: vec![
            WireArg::Bytes(b"abc"),
            WireArg::Handle(42),
            WireArg::Buffer {
                lead: 100,
                len: 5000,
                runs: vec![
                    RunRef::new(9, (1, 2), 8192, 0, 4096),
                    RunRef::new(10, (1, 3), 4096, 0, 4096),
                ],
            },
            WireArg::Buffer {
                lead: 0,
                len: 0,
                runs: vec![],
            },
            WireArg::Dma {
                dma: DmaHeader::new(17, 64, 128, 0x8_0000_1000),
                lead: 0,
                size: 8192,
                runs: vec![RunRef::new(NO_SLOT, (1, 4), 8192, 0, 8192)],
            },
            WireArg::Dma {
                dma: DmaHeader::new(-1, 0, 0, 0),
                lead: 0,
                size: 0,
                runs: vec![],
            },
        ],
    };
    let f = inv.encode(8);
    assert_eq!(decode_request(body(&f)), Some((8, Some(inv))));
    let f = Request::Sandbox.encode(9);
    assert_eq!(decode_request(body(&f)), Some((9, Some(Request::Sandbox))));
    let f = Request::Ring.encode(10);
    assert_eq!(decode_request(body(&f)), Some((10, Some(Request::Ring))));
    let mut p = 0b1011u32.to_ne_bytes().to_vec();
    p.extend_from_slice(b"PR_SET_NO_NEW_PRIVS: no");
    assert_eq!(sandbox_out(&p), Some((0b1011, "PR_SET_NO_NEW_PRIVS: no".into())));
    assert_eq!(sandbox_out(b"ab"), None);
}

#[test]
fn malformed_requests_keep_their_id() {
    let f = Request::Open {
        path: b"p",
        symbol: b"s",
        handle_style: false,
    }
    .encode(5);
    let b = body(&f);
    // Cut short: the id is still there, the request is not.
    assert_eq!(decode_request(&b[..b.len() - 1]), Some((5, None)));
    let mut bad_kind = b.to_vec();
    bad_kind[8] = 9;
    assert_eq!(decode_request(&bad_kind), Some((5, None)));
    assert_eq!(decode_request(&b[..4]), None);
    // A huge argument count is refused before allocating.
    let mut huge = Request::Invoke {
        skel: 0,
        handle: 0,
        sc: 0,
        args: vec![],
    }
    .encode(6)[4..]
        .to_vec();
    huge[32..36].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(decode_request(&huge), Some((6, None)));
}

#[test]
fn descriptors_travel_with_their_frame() {
    use std::os::fd::AsRawFd;
    let (a, b) = UnixStream::pair().unwrap();
    let file = std::fs::File::open("/dev/null").unwrap();
    let f1 = encode_reply(1, 0, b"with a file");
    let f2 = encode_reply(2, 0, b"without");
    send_frame(&a, &f1, &[file.as_fd(), file.as_fd()]).unwrap();
    send_frame(&a, &f2, &[]).unwrap();
    let FdFrame {
        body: body1,
        fds: fds1,
        fds_lost,
    } = read_frame_fds(&b).unwrap();
    assert_eq!(body1, &f1[4..]);
    assert_eq!((fds1.len(), fds_lost), (2, false));
    let id = |fd: &OwnedFd| rustix::fs::fstat(fd).map(|s| (s.st_dev, s.st_ino)).unwrap();
    assert_eq!(id(&fds1[0]), id(&file.as_fd().try_clone_to_owned().unwrap()));
    assert_ne!(fds1[0].as_raw_fd(), file.as_raw_fd(), "a descriptor of its own");
    let f = read_frame_fds(&b).unwrap();
    assert_eq!((f.body.as_slice(), f.fds.len(), f.fds_lost), (&f2[4..], 0, false));
    let too_many: Vec<_> = (0..=MAX_FDS).map(|_| file.as_fd()).collect();
    assert!(send_frame(&a, &f1, &too_many).is_err());
    drop(a);
    assert!(read_frame_fds(&b).is_err(), "end of stream");
}

#[test]
fn maps_by_fd_round_trip() {
    let map = Request::MapFd(WireArg::Dma {
        dma: DmaHeader::new(9, 0, 0, 0x8_0000_2000),
        lead: 0,
        size: 4096,
        runs: vec![RunRef::new(0, (1, 5), 4096, 0, 4096)],
    });
    assert_eq!(decode_request(body(&map.encode(3))), Some((3, Some(map))));
    let un = Request::UnmapFd(-2);
    assert_eq!(decode_request(body(&un.encode(4))), Some((4, Some(un))));
    // A map of anything but a dma argument is malformed.
    let bad = Request::MapFd(WireArg::Handle(1)).encode(5);
    assert_eq!(decode_request(body(&bad)), Some((5, None)));
}

#[test]
fn farf_lines_round_trip() {
    let f = crate::farf::Farf {
        level: 3,
        file: "x_skel.c".into(),
        line: 9,
        msg: "bad thing 7".into(),
    };
    let fr = encode_farf(&f);
    let (id, status, p) = decode_reply(body(&fr)).unwrap();
    assert_eq!((id, status), (0, STATUS_FARF));
    assert_eq!(farf_out(p), Some(f));
    assert_eq!(farf_out(&p[..p.len() - 1]), None, "cut short");
}

#[test]
fn replies_round_trip() {
    let f = encode_reply(3, 0, InvokeOut::new(-5, 77).as_bytes());
    let (id, status, p) = decode_reply(body(&f)).unwrap();
    assert_eq!((id, status), (3, 0));
    assert_eq!(invoke_out(p), Some(InvokeOut::new(-5, 77)));
    let f = encode_reply(4, 0x8000_043e, b"no such file");
    assert_eq!(decode_reply(body(&f)), Some((4, 0x8000_043e, &b"no such file"[..])));
    let f = encode_reply(5, 0, &9u32.to_ne_bytes());
    assert_eq!(open_out(decode_reply(body(&f)).unwrap().2), Some(9));
    assert_eq!(read_frame(&f[..]).unwrap(), body(&f));
    assert!(read_frame(&f[..f.len() - 1]).is_err());
}

// ---------------------------------------------------------------------------
// A hostile PD: whatever a host process sends back, the DSP's decoders give
// a value or an error, never a panic, and allocate no more than a reply may
// have. `QDA_FUZZ_CASES=n` for a long run (`docs/RELIABILITY.md`).

use std::os::unix::net::UnixStream;

use proptest::prelude::*;

use crate::farf::Farf;
use crate::pd::{PdArg, PdProcess};

/// Found by reading `read_frame` for the hostile-PD fuzzer: a host that
/// sends a length of 4 GiB made the DSP allocate 4 GiB before reading a
/// byte of it. A length over `MAX_REPLY` is refused first.
#[test]
fn a_reply_frame_longer_than_any_reply_is_refused_before_its_body_is_read() {
    let mut f = ((MAX_REPLY + 1) as u32).to_ne_bytes().to_vec();
    f.resize(4 + MAX_REPLY + 1, 0);
    let e = read_frame(&f[..]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
    let e = read_frame(&u32::MAX.to_ne_bytes()[..]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
    // The longest reply is read whole.
    let mut f = (MAX_REPLY as u32).to_ne_bytes().to_vec();
    f.resize(4 + MAX_REPLY, 7);
    assert_eq!(read_frame(&f[..]).unwrap().len(), MAX_REPLY);
}

/// The host's side of the bound: a FARF line or an error text too long
/// for a reply frame is cut to fit, not sent whole for the DSP to refuse.
#[test]
fn a_farf_line_too_long_for_a_reply_is_cut_to_fit() {
    let f = Farf {
        level: 2,
        file: "f".repeat(10_000),
        line: 1,
        msg: "m".repeat(2 * MAX_REPLY),
    };
    let fr = encode_farf(&f);
    let b = read_frame(&fr[..]).unwrap();
    let (id, status, p) = decode_reply(&b).unwrap();
    assert_eq!((id, status), (0, STATUS_FARF));
    let got = farf_out(p).unwrap();
    assert!(got.file.len() < f.file.len() && f.file.starts_with(&got.file));
    assert!(got.msg.len() < f.msg.len() && f.msg.starts_with(&got.msg));
    assert_eq!(b.len(), MAX_REPLY);
}

/// Replies a host sends, framed: to request ids 1 to 3, FARF lines
/// between them.
fn valid_replies() -> Vec<Vec<u8>> {
    let farf = Farf {
        level: 3,
        file: "x_skel.c".into(),
        line: 42,
        msg: "hello".into(),
    };
    let mut sandbox = 0b1011u32.to_ne_bytes().to_vec();
    sandbox.extend_from_slice(b"PR_SET_NO_NEW_PRIVS: no");
    vec![
        encode_reply(1, 0, &9u32.to_ne_bytes()),
        encode_reply(2, 0, InvokeOut::new(-5, 77).as_bytes()),
        encode_reply(3, 0, &sandbox),
        encode_reply(1, 0x8000_043e, b"no such file"),
        encode_reply(2, STATUS_RESEND, b""),
        encode_reply(3, 0, b""),
        encode_farf(&farf),
        encode_farf(&Farf {
            msg: String::new(),
            ..farf
        }),
    ]
}

/// One edit of a host's bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// A byte set.
    Byte(prop::sample::Index, u8),
    /// A native-endian word at a 4-aligned offset set to a value that
    /// matters to a length, an id or a status.
    Word(prop::sample::Index, u32),
    /// The bytes cut there.
    Cut(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let max = MAX_REPLY as u32;
    let words = prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        Just(15),
        Just(16),
        Just(17),
        Just(max - 1),
        Just(max),
        Just(max + 1),
        Just(u32::MAX),
        Just(u32::MAX - 15),
        Just(STATUS_FARF),
        Just(STATUS_RESEND),
        any::<u32>(),
    ];
    prop_oneof![
        3 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Byte(i, b)),
        3 => (any::<prop::sample::Index>(), words).prop_map(|(i, w)| Edit::Word(i, w)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Cut),
    ]
}

/// A piece of what a host sends: a valid reply edited, or random bytes.
#[derive(Debug, Clone)]
enum Piece {
    Mutated(prop::sample::Index, Vec<Edit>),
    Random(Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), proptest::collection::vec(edit(), 0..4))
            .prop_map(|(i, e)| Piece::Mutated(i, e)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Random),
    ]
}

/// What a hostile host sends: some pieces, one after the other.
fn stream() -> impl Strategy<Value = Vec<Piece>> {
    proptest::collection::vec(piece(), 1..6)
}

fn bytes_of(pieces: &[Piece]) -> Vec<u8> {
    let valid = valid_replies();
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Random(b) => out.extend_from_slice(b),
            Piece::Mutated(which, edits) => {
                let mut b = valid[which.index(valid.len())].clone();
                for e in edits {
                    match e {
                        Edit::Byte(i, v) if !b.is_empty() => {
                            let at = i.index(b.len());
                            b[at] = *v;
                        }
                        Edit::Word(i, v) if b.len() >= 4 => {
                            let at = i.index(b.len() / 4) * 4;
                            b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
                        }
                        Edit::Cut(i) => b.truncate(i.index(b.len() + 1)),
                        _ => {}
                    }
                }
                out.extend_from_slice(&b);
            }
        }
    }
    out
}

/// Every decoder the DSP applies to a reply frame's body, with what each
/// must answer; `Err` names the first that answered otherwise.
fn decode_everything(body: &[u8]) -> Result<(), String> {
    let Some((id, status, payload)) = decode_reply(body) else {
        return if body.len() < size_of::<RspHeader>() {
            Ok(())
        } else {
            Err(format!("a {}-byte reply refused", body.len()))
        };
    };
    let n = payload.len();
    if n + size_of::<RspHeader>() != body.len()
        || id.to_ne_bytes()[..] != body[..8]
        || status.to_ne_bytes()[..] != body[8..12]
    {
        return Err("the reply's header or payload misread".into());
    }
    if open_out(payload).is_some() != (n >= 4) || sandbox_out(payload).is_some() != (n >= 4) {
        return Err(format!("an open or sandbox reply of {n} bytes misjudged"));
    }
    match invoke_out(payload) {
        Some(o) if n >= 16 && o.as_bytes() == &payload[..16] => {}
        None if n < 16 => {}
        _ => return Err(format!("an invoke reply of {n} bytes misjudged")),
    }
    let fits = n >= 16 && {
        let h = FarfHeader::read_from_prefix(payload).expect("16 bytes").0;
        16 + u64::from(h.file_len) + u64::from(h.msg_len) <= n as u64
    };
    if farf_out(payload).is_some() != fits {
        return Err(format!("a FARF payload of {n} bytes misjudged"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: qda_test::fuzz_cases(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random and mutated replies, lengths at the extremes, through the
    /// frame reader and every reply decoder: a value or an error, never a
    /// panic, never a frame over `MAX_REPLY`; the stream ends in an error.
    #[test]
    fn hostile_pd_replies_decode_or_are_refused(pieces in stream()) {
        let bytes = bytes_of(&pieces);
        let mut r = &bytes[..];
        let mut frames = 0;
        let end = loop {
            let before = r.len();
            match read_frame(&mut r) {
                Ok(body) => {
                    prop_assert!(body.len() <= MAX_REPLY);
                    prop_assert_eq!(before - r.len(), 4 + body.len());
                    if let Err(e) = decode_everything(&body) {
                        return Err(TestCaseError::fail(e));
                    }
                    // What a host reads, for good measure: the same bytes
                    // as a request.
                    let _ = decode_request(&body);
                    frames += 1;
                    prop_assert!(frames <= bytes.len() / 4, "more frames than bytes");
                }
                Err(e) => break e,
            }
        };
        prop_assert!(
            matches!(end.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData),
            "{}", end
        );
    }

    /// The whole path: a fake host's end of the socket holds the hostile
    /// bytes, then closes; the DSP's `PdProcess` opens, calls and opens
    /// again through its reply reader. Each call answers a value or an
    /// error, never panics or hangs; an open's error is the host's failure
    /// status (never 0) or the PD's death.
    #[test]
    fn a_hostile_pd_host_fails_its_calls_never_the_dsp(pieces in stream()) {
        let bytes = bytes_of(&pieces);
        let (ours, mut host) = UnixStream::pair().unwrap();
        std::io::Write::write_all(&mut host, &bytes).unwrap();
        drop(host);
        let pd = PdProcess::over_socket(ours, "fuzz");
        let path = std::path::Path::new("/lib/libx_skel.so");
        let failed = |r: &Result<u32, crate::DspError>| match r {
            Ok(_) => false,
            Err(e) => e.retval() == 0 || pd.dead().is_none() && e.reason().starts_with("PD 'fuzz' (pid 0)"),
        };
        let open = pd.open(path, "x_skel_handle_invoke", false);
        prop_assert!(!failed(&open), "{:?}", open);
        let call = pd.invoke(0, 0, 0x0201_0000, &[PdArg::Handle(1), PdArg::Bytes(b"abc")]);
        prop_assert!(call.is_ok() || pd.dead().is_some(), "{:?}", call);
        let again = pd.open(path, "x", true);
        prop_assert!(!failed(&again), "{:?}", again);
    }
}

/// A host that sends what is no reply and stays alive is ended, not
/// waited for: the call fails at once with why, and the host process is
/// gone (it was `sleep`, which would have lived 60 s).
#[test]
fn a_host_that_sends_garbage_and_stays_is_killed() {
    let (ours, mut host) = UnixStream::pair().unwrap();
    let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    // A frame header announcing more than any reply may be.
    std::io::Write::write_all(&mut host, &u32::MAX.to_le_bytes()).unwrap();
    let pd = PdProcess::over_socket_with(ours, "garbage", Some(child));
    let t = std::time::Instant::now();
    let r = pd.invoke(0, 0, 0x0201_0000, &[PdArg::Handle(1), PdArg::Bytes(b"abc")]);
    assert!(r.is_err(), "{r:?}");
    assert!(pd.dead().is_some_and(|d| d.contains("was killed")), "{:?}", pd.dead());
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the host lives on"
    );
    drop(host);
}

// The ring (`ring`): a hostile host on the shared memory.

use crate::pd_wire::ring::{Answer, PdRing, RingMsg};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// The host's view of a PD's ring, as the host maps it.
fn host_side(fd: &std::os::fd::OwnedFd) -> PdRing {
    PdRing::attach(fd.as_fd()).expect("the host maps the ring")
}

/// The next request on the ring, waiting up to 10 s for it.
fn next_request(h: &PdRing) -> (RingMsg, Vec<u8>) {
    let t = Instant::now();
    loop {
        if let Some(r) = h.pop().expect("a sane ring") {
            return r;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no request came");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn a_call(pd: &PdProcess) -> Result<crate::pd::PdReturn, String> {
    pd.invoke(0, 7, 0x0201_0000, &[PdArg::Handle(1), PdArg::Bytes(b"abc")])
}

#[test]
fn a_call_goes_through_the_ring_and_its_answer_comes_back() {
    let (ours, _host) = UnixStream::pair().unwrap();
    let (pd, fd) = PdProcess::over_socket_with_ring(ours, "ring", None);
    let h = host_side(&fd);
    std::thread::scope(|s| {
        let host = s.spawn(|| {
            let (m, body) = next_request(&h);
            let (id, req) = decode_request(&body).unwrap();
            assert_eq!(id, m.id);
            assert!(
                matches!(req, Some(Request::Invoke { skel: 0, handle: 7, .. })),
                "{req:?}"
            );
            // Let the caller fall asleep: the answer must wake it.
            std::thread::sleep(Duration::from_millis(20));
            h.complete(
                &m,
                Answer {
                    status: 0,
                    retval: 5,
                    handle: 0x1234_5678_9abc,
                },
            );
        });
        assert_eq!(
            a_call(&pd),
            Ok(crate::pd::PdReturn {
                retval: 5,
                handle: 0x1234_5678_9abc
            })
        );
        host.join().unwrap();
    });
    // Slots are reused: many calls, more than there are slots.
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..3 * ring::SLOTS {
                let (m, _) = next_request(&h);
                h.complete(
                    &m,
                    Answer {
                        status: 0,
                        retval: m.id as i32,
                        handle: 0,
                    },
                );
            }
        });
        for _ in 0..3 * ring::SLOTS {
            let r = pd.invoke_polled(0, 7, 0x0201_0000, &[PdArg::Handle(1)], Some(Duration::from_micros(50)));
            assert!(r.as_ref().is_ok_and(|r| r.retval > 1), "{r:?}");
        }
    });
}

/// A call the host answers on its socket (it sent a FARF line first)
/// reaches its caller through the socket's reader.
#[test]
fn a_ring_call_answered_on_the_socket_reaches_its_caller() {
    let (ours, host) = UnixStream::pair().unwrap();
    let (pd, fd) = PdProcess::over_socket_with_ring(ours, "ring", None);
    let h = host_side(&fd);
    std::thread::scope(|s| {
        s.spawn(|| {
            let (m, _) = next_request(&h);
            let out = InvokeOut::new(9, 3);
            let frame = encode_reply(m.id, 0, out.as_bytes());
            send_frame(&host, &frame, &[]).unwrap();
        });
        assert_eq!(a_call(&pd), Ok(crate::pd::PdReturn { retval: 9, handle: 3 }));
    });
}

/// Make a call, let the host take it and sit on it for `wait` (the call
/// must still be waiting), then `end` the host: the call's result and how
/// long after `end` it came.
fn call_ended_by(
    pd: &PdProcess,
    h: &PdRing,
    wait: Duration,
    end: impl FnOnce(),
) -> (Result<crate::pd::PdReturn, String>, Duration) {
    std::thread::scope(|s| {
        let call = s.spawn(|| {
            let r = a_call(pd);
            (r, Instant::now())
        });
        let _ = next_request(h);
        std::thread::sleep(wait);
        assert!(!call.is_finished(), "the call did not wait");
        let ended = Instant::now();
        end();
        let (r, at) = call.join().unwrap();
        (r, at.duration_since(ended))
    })
}

/// A host that takes a call and never answers: the call waits (a skel may
/// block), and fails as soon as the PD is ended.
#[test]
fn a_ring_host_that_never_answers_fails_its_call_when_ended() {
    let (ours, _host) = UnixStream::pair().unwrap();
    let (pd, fd) = PdProcess::over_socket_with_ring(ours, "mute", None);
    let h = host_side(&fd);
    let (r, after) = call_ended_by(&pd, &h, Duration::from_millis(300), || pd.terminate());
    assert!(r.is_err(), "{r:?}");
    assert!(after < Duration::from_secs(1), "{after:?}");
}

/// A host that dies in the middle of a call: its socket's end wakes the
/// caller at once, with why.
#[test]
fn a_ring_host_that_dies_mid_call_fails_it_promptly() {
    let (ours, host) = UnixStream::pair().unwrap();
    let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let (pd, fd) = PdProcess::over_socket_with_ring(ours, "dying", None);
    let h = host_side(&fd);
    let (r, after) = call_ended_by(&pd, &h, Duration::from_millis(50), || {
        child.kill().unwrap();
        child.wait().unwrap();
        drop(host); // what the kernel does to a dead host's socket
    });
    assert!(r.as_ref().is_err_and(|e| e.contains("'dying'")), "{r:?}");
    assert!(after < Duration::from_millis(500), "{after:?}");
    // And the next call fails at once.
    assert!(a_call(&pd).is_err());
}

/// A host that writes a tag it was never given into an answer is ended
/// like one sending garbage on its socket: killed, the call failed.
#[test]
fn a_ring_host_writing_a_foreign_tag_is_killed() {
    let (ours, _host) = UnixStream::pair().unwrap();
    let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    let (pd, fd) = PdProcess::over_socket_with_ring(ours, "forger", Some(child));
    let h = host_side(&fd);
    std::thread::scope(|s| {
        s.spawn(|| {
            let (mut m, _) = next_request(&h);
            m.tag = m.tag.wrapping_add(1).max(1);
            h.complete(
                &m,
                Answer {
                    status: 0,
                    retval: 0,
                    handle: 0,
                },
            );
        });
        let t = Instant::now();
        let r = a_call(&pd);
        assert!(r.as_ref().is_err_and(|e| e.contains("was killed")), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    });
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the host lives on"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: qda_test::fuzz_cases(200),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A host scribbling random words over the whole ring (headers,
    /// positions, slots, bells, answers) while calls run, then sending
    /// hostile bytes on its socket and closing it: every call ends, with a
    /// value or an error, never a panic or a hang.
    #[test]
    fn a_host_scribbling_on_its_ring_fails_its_calls_never_the_dsp(
        writes in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![
            Just(0u32), Just(1), Just(2), Just(u32::MAX), Just(0x8000_0000), any::<u32>()
        ]), 1..64),
        answer_some in any::<bool>(),
        pieces in stream(),
    ) {
        let (ours, mut host) = UnixStream::pair().unwrap();
        let (pd, fd) = PdProcess::over_socket_with_ring(ours, "scribbler", None);
        let h = host_side(&fd);
        let words = h.raw();
        let t = Instant::now();
        std::thread::scope(|s| {
            let calls: Vec<_> = (0..3)
                .map(|_| s.spawn(|| (0..3).map(|_| a_call(&pd).is_ok()).collect::<Vec<_>>()))
                .collect();
            for (i, (at, v)) in writes.iter().enumerate() {
                if answer_some && i % 8 == 0
                    && let Ok(Some((m, _))) = h.pop() {
                    h.complete(&m, Answer { status: 0, retval: 0, handle: 0 });
                }
                words[at.index(words.len())].store(*v, std::sync::atomic::Ordering::Relaxed);
                if i % 4 == 0 {
                    std::thread::yield_now();
                }
            }
            let _ = std::io::Write::write_all(&mut host, &bytes_of(&pieces));
            let _ = host.shutdown(std::net::Shutdown::Both);
            for c in calls {
                c.join().expect("a call panicked");
            }
        });
        prop_assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
        prop_assert!(a_call(&pd).is_err() || pd.dead().is_none());
    }
}

/// A real PD host maps the ring at start; with `QDA_PD_RING=0`-less
/// defaults every PD process has one.
#[test]
fn a_pd_host_takes_its_ring_at_start() {
    let Ok(host) = crate::pd::pd_host_path() else {
        eprintln!("no PD host program built: skipped");
        return;
    };
    let pd = PdProcess::spawn_with(&host, "ringcheck", &[]).unwrap();
    assert!(pd.dead().is_none(), "{:?}", pd.dead());
    assert!(pd.has_ring());
    // A call to a skel it has not got fails through the ring, cleanly.
    let r = pd.invoke(5, 0, 0x0201_0000, &[PdArg::Handle(1)]);
    assert_eq!(r.map(|r| r.retval), Ok(crate::aee::ENOSUCHHANDLE));
}

/// A real host through its ring: calls answered in sleep and poll mode,
/// a crash inside a call fails it at once with the signal, and the PD
/// after it.
#[test]
fn a_real_host_answers_through_its_ring_and_a_crash_fails_the_call() {
    let Ok(host) = crate::pd::pd_host_path() else {
        eprintln!("no PD host program built: skipped");
        return;
    };
    let dir = crate::builtin_skel_dir();
    let pd = PdProcess::spawn_with(&host, "ringcalls", std::slice::from_ref(&dir)).unwrap();
    assert!(pd.has_ring());
    let ix = pd
        .open(&dir.join("libcalculator_skel.so"), "qdatest_skel_handle_invoke", true)
        .unwrap();
    let sc = |m: u32| m << 24;
    let h = [PdArg::Handle(0), PdArg::Handle(0), PdArg::Handle(0)];
    assert_eq!(
        pd.invoke(ix, 0, sc(0), &h),
        Ok(crate::pd::PdReturn {
            retval: 0,
            handle: 0x2000
        })
    );
    for poll in [None, Some(Duration::from_micros(200))] {
        for _ in 0..200 {
            assert_eq!(pd.invoke_polled(ix, 0x2000, sc(1), &[], poll).map(|r| r.retval), Ok(0));
        }
    }
    let t = Instant::now();
    let r = pd.invoke(ix, 0x2000, sc(2), &[]);
    assert!(r.as_ref().is_err_and(|e| e.contains("crashed with signal 11")), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(pd.invoke(ix, 0x2000, sc(1), &[]).is_err());
}

/// The DSP↔PD hop alone, a null call to a real host: sleep mode, poll
/// mode, and the socket (`QDA_PD_RING=0`'s path). A measurement, not a
/// check: `cargo test --release -p qda-dsp --lib pd_hop -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement"]
fn pd_hop_latency() {
    let host = crate::pd::pd_host_path().unwrap();
    let dir = crate::builtin_skel_dir();
    let ring = PdProcess::spawn_with(&host, "hop", std::slice::from_ref(&dir)).unwrap();
    let socket = PdProcess::spawn_with_ring(&host, "hop-socket", std::slice::from_ref(&dir), false).unwrap();
    assert!(ring.has_ring() && !socket.has_ring());
    let lib = dir.join("libcalculator_skel.so");
    let ix = ring.open(&lib, "qdatest_skel_handle_invoke", true).unwrap();
    let ix2 = socket.open(&lib, "qdatest_skel_handle_invoke", true).unwrap();
    let n = 20_000;
    for (name, pd, ix, poll) in [
        ("ring, sleep mode", &ring, ix, None),
        ("ring, poll 100 µs", &ring, ix, Some(Duration::from_micros(100))),
        ("socket", &socket, ix2, None),
    ] {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..n {
                pd.invoke_polled(ix, 0, 1 << 24, &[], poll).unwrap();
            }
            runs.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
        }
        runs.sort_by(f64::total_cmp);
        eprintln!("{name:20} median {:6.2} µs  (runs {runs:.2?})", runs[2]);
    }
}

/// Found measuring: a poll-mode caller and the host's ring thread
/// spinning on one CPU (two vCPUs, a busy neighbour) took turns at the
/// full budget each, about 2 × 100 µs a call instead of a few µs. Both
/// spins give the CPU up between looks (`sched_yield`), so the other side
/// runs. Here both are pinned to one CPU, with a budget of 2 ms: a call's
/// median was 4 ms before.
#[test]
fn a_poll_mode_caller_and_its_host_on_one_cpu_take_turns() {
    use rustix::thread::{CpuSet, Pid, sched_getaffinity, sched_setaffinity};
    let Ok(host) = crate::pd::pd_host_path() else {
        eprintln!("no PD host program built: skipped");
        return;
    };
    let dir = crate::builtin_skel_dir();
    let pd = PdProcess::spawn_with(&host, "onecpu", std::slice::from_ref(&dir)).unwrap();
    let ix = pd
        .open(&dir.join("libcalculator_skel.so"), "qdatest_skel_handle_invoke", true)
        .unwrap();
    let budget = Some(Duration::from_millis(2));
    // The host's ring thread exists once a call has gone through.
    pd.invoke_polled(ix, 0, 1 << 24, &[], budget).unwrap();
    let mine = sched_getaffinity(None).unwrap();
    let Some(cpu) = (0..1024).find(|&c| mine.is_set(c)) else {
        return;
    };
    let mut one = CpuSet::new();
    one.set(cpu);
    sched_setaffinity(None, &one).unwrap();
    for task in std::fs::read_dir(format!("/proc/{}/task", pd.pid())).unwrap() {
        let tid: i32 = task.unwrap().file_name().to_str().unwrap().parse().unwrap();
        let _ = sched_setaffinity(Pid::from_raw(tid), &one);
    }
    let mut each = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        pd.invoke_polled(ix, 0, 1 << 24, &[], budget).unwrap();
        each.push(t.elapsed());
    }
    sched_setaffinity(None, &mine).unwrap();
    // The median: a neighbour on that CPU may take a few calls' time.
    each.sort();
    assert!(each[25] < Duration::from_micros(500), "{each:?}");
}

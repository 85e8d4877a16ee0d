//! qdad's fast paths: the fd cache (a by-fd call names its dma-buf instead
//! of passing it again), the shared-memory ring per connection, and the
//! ring's threads (one thread while calls come one at a time, more when a
//! call blocks). The daemon runs in this process; the clients are the qda
//! library's daemon backend, or the raw protocol where a well-behaved
//! client would not go.

mod common;
use common::{expect_sum, ints, sum_by_fd, within};

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qda::{Arg, Buffer, Device, Domain};
use qda_test::TempDir;
use qdad::server::{Config, Limits, Server};
use qdad::wire::{self, CachedFd, Header, IoctlReq, IoctlRsp, Op, Reader};
use zerocopy::IntoBytes;

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";
/// The test entry of the same library (method 4: a barrier).
const TEST: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

fn server_with(dir: &TempDir, limits: Limits, policy: Option<qdad::policy::Policy>) -> Server {
    Server::start(Config {
        socket: dir.join("qdad.sock"),
        limits,
        policy,
        ..Config::new()
    })
    .unwrap()
}

fn stat(s: &Server, name: &str) -> u64 {
    s.stats().into_iter().find(|(k, _)| k == name).map_or(0, |(_, v)| v)
}

fn device(s: &Server) -> Device {
    let calls = Arc::new(qda::sys::DaemonCalls::connect(s.socket()).unwrap());
    Device::open_with(Domain::Cdsp, calls).unwrap()
}

/// The daemon never applies a cached file to a request naming another
/// identity under the same number: it asks for the fd (and runs nothing).
#[test]
fn a_cached_number_with_another_identity_is_refused_with_resend() {
    let dir = TempDir::new("ring-identity");
    let s = server_with(&dir, Limits::default(), None);
    let dev = device(&s);
    let path = dev.path().to_string();
    let c = UnixStream::connect(s.socket()).unwrap();
    let send = |op: Op, seq: u32, parts: &[&[u8]], fds: &[std::os::fd::BorrowedFd<'_>]| {
        let h = Header {
            op: op as u16,
            seq,
            ..Default::default()
        };
        wire::send(&c, h, parts, fds).unwrap();
        wire::recv(&c).unwrap()
    };
    let open = send(Op::Open, 1, &[path.as_bytes()], &[]);
    let o: wire::OpenRsp = Reader::new(&open.body).get().unwrap();
    assert_eq!(o.features & wire::FEATURE_FD_CACHE, wire::FEATURE_FD_CACHE);
    let setup = wire::SetupReq {
        features: wire::FEATURE_FD_CACHE,
        ..Default::default()
    };
    let r = send(Op::Setup, 2, &[setup.as_bytes()], &[]);
    assert_eq!(r.hdr.status, 0);
    // PRIME_FD_TO_HANDLE of a buffer's fd, attached: cached.
    let buf = ints(&dev, 1024, 0);
    let fd = buf.export().unwrap();
    let n = fd.as_raw_fd();
    let id = qda_os::file_id(fd).unwrap();
    let cmd = qda_uapi::drm::DRM_IOCTL_PRIME_FD_TO_HANDLE;
    let ioctl = |seq: u32, attach: bool, cached: Option<(u64, u64)>| {
        let mut arg = qda_uapi::drm::DrmPrimeHandle {
            handle: 0,
            flags: 0,
            fd: n,
        };
        let addr = &mut arg as *mut _ as u64;
        let seg = wire::Seg {
            addr,
            len: size_of_val(&arg) as u32,
            flags: wire::SEG_IN | wire::SEG_OUT,
        };
        let req = IoctlReq {
            cmd,
            nsegs: 1,
            arg: addr,
            nfds: attach as u32,
            nvmas: 0,
            target: -1,
            ncached: cached.is_some() as u32,
        };
        let nums = if attach { vec![n, 0] } else { vec![] };
        let cached: Vec<CachedFd> = cached
            .map(|(dev, ino)| CachedFd {
                num: n,
                pad: 0,
                dev,
                ino,
            })
            .into_iter()
            .collect();
        let fds = if attach { vec![fd] } else { vec![] };
        let m = send(
            Op::Ioctl,
            seq,
            &[
                req.as_bytes(),
                nums.as_bytes(),
                cached.as_bytes(),
                seg.as_bytes(),
                arg.as_bytes(),
            ],
            &fds,
        );
        let rsp: IoctlRsp = Reader::new(&m.body).get().unwrap();
        (m.hdr.status, rsp.flags)
    };
    let (st, flags) = ioctl(3, true, None);
    assert_eq!(st, 0);
    assert_eq!(flags & wire::RSP_FDS_CACHED, wire::RSP_FDS_CACHED);
    let (st, flags) = ioctl(4, false, Some(id));
    assert_eq!((st, flags & wire::RSP_RESEND_FDS), (0, 0), "the same identity: served");
    let (st, flags) = ioctl(5, false, Some((id.0, id.1 + 1)));
    assert_eq!(
        (st, flags),
        (-libc::ESTALE, wire::RSP_RESEND_FDS),
        "another identity: resend"
    );
    let (st, flags) = ioctl(6, false, Some((id.0 + 1, id.1)));
    assert_eq!((st, flags), (-libc::ESTALE, wire::RSP_RESEND_FDS));
}

/// The cache holds at most its bound (least recently used go), and calls
/// with evicted fds still work: the client sends them again.
#[test]
fn the_fd_cache_is_bounded() {
    let dir = TempDir::new("ring-bound");
    let s = server_with(
        &dir,
        Limits {
            fd_cache: 3,
            ..Limits::default()
        },
        None,
    );
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let bufs: Vec<Buffer> = (0..6).map(|i| ints(&dev, 256, i * 100)).collect();
    for round in 0..3 {
        for (i, b) in bufs.iter().enumerate() {
            assert_eq!(
                sum_by_fd(&calc, b, 256),
                expect_sum(256, i as i32 * 100),
                "round {round}"
            );
            assert!(stat(&s, "fds_cached") <= 3);
        }
    }
    assert_eq!(stat(&s, "fds_cached"), 3);
}

/// Cached fds count against the uid's fd quota, and take at most half of
/// it: the uid's requests that carry fds still fit.
#[test]
fn cached_fds_take_at_most_half_the_uids_fd_quota() {
    let dir = TempDir::new("ring-quota");
    let s = server_with(
        &dir,
        Limits::default(),
        Some(qdad::policy::Policy::new(
            Vec::new(),
            qdad::policy::Rights {
                max_fds: 4,
                ..qdad::policy::Rights::default()
            },
        )),
    );
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let bufs: Vec<Buffer> = (0..5).map(|i| ints(&dev, 256, i * 10)).collect();
    for _ in 0..2 {
        for (i, b) in bufs.iter().enumerate() {
            assert_eq!(sum_by_fd(&calc, b, 256), expect_sum(256, i as i32 * 10));
        }
    }
    assert_eq!(stat(&s, "fds_cached"), 2, "half of the quota of 4");
    assert_eq!(stat(&s, "fds_held"), 2, "cached fds are counted as held");
    drop(calc);
    drop(bufs);
    drop(dev);
    assert!(within(10, || stat(&s, "fds_cached") == 0 && stat(&s, "fds_held") == 0));
}

/// A cached description is not an export: the buffer is freed when the
/// client lets go of it, with the connection still open, and the cache
/// drops the file at the next sweep.
#[test]
fn a_freed_buffer_settles_while_its_fd_is_cached() {
    let dir = TempDir::new("ring-live");
    let s = server_with(&dir, Limits::default(), None);
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let before = stat(&s, "dmabufs");
    let b = ints(&dev, 1 << 16, 3);
    assert_eq!(sum_by_fd(&calc, &b, 1 << 16), expect_sum(1 << 16, 3));
    assert_eq!(sum_by_fd(&calc, &b, 1 << 16), expect_sum(1 << 16, 3));
    assert_eq!(stat(&s, "fds_cached"), 1);
    assert!(stat(&s, "dmabufs") > before);
    drop(b);
    assert!(
        within(10, || stat(&s, "dmabufs") == before && stat(&s, "fds_cached") == 0),
        "dmabufs {} (before {before}), fds_cached {}",
        stat(&s, "dmabufs"),
        stat(&s, "fds_cached")
    );
    // The connection goes on.
    let b = ints(&dev, 64, 7);
    assert_eq!(sum_by_fd(&calc, &b, 64), expect_sum(64, 7));
}

/// 64 KiB in and out through the ring: the bytes come back right, on the
/// ring (not the socket), and poll mode works on it too.
#[test]
fn inline_calls_go_through_the_ring() {
    let dir = TempDir::new("ring-inline");
    let s = server_with(&dir, Limits::default(), None);
    let dev = device(&s);
    let session = dev.session().unwrap();
    let test = session.open(TEST).unwrap();
    let before = stat(&s, "ring_requests");
    for (round, poll) in [None, Some(Duration::from_micros(200)), None].into_iter().enumerate() {
        session.set_poll(poll).unwrap();
        for i in 0..20u32 {
            let input: Vec<u8> = (0..64 * 1024u32).map(|j| (j ^ i ^ round as u32) as u8).collect();
            let mut out = vec![0u8; 64 * 1024];
            test.invoke(3, &mut [Arg::In(&input), Arg::Out(&mut out)]).unwrap();
            assert!(out == input, "round {round} call {i}");
        }
    }
    assert!(
        stat(&s, "ring_requests") >= before + 60,
        "{}",
        stat(&s, "ring_requests")
    );
}

/// A daemon without the features (an older one) serves the same client on
/// the socket alone.
#[test]
fn a_daemon_without_features_serves_on_the_socket() {
    let dir = TempDir::new("ring-compat");
    let s = server_with(
        &dir,
        Limits {
            features: 0,
            ..Limits::default()
        },
        None,
    );
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let b = ints(&dev, 1024, 5);
    let fds = stat(&s, "fds_in");
    for _ in 0..3 {
        assert_eq!(sum_by_fd(&calc, &b, 1024), expect_sum(1024, 5));
    }
    assert_eq!(stat(&s, "fds_in"), fds + 3, "no cache: the fd goes every time");
    assert_eq!(stat(&s, "ring_requests"), 0);
    assert_eq!(stat(&s, "fds_cached"), 0);
}

/// A call that blocks on the DSP never holds up another call of the same
/// connection on the ring: two threads meet in a barrier of two (each
/// waits up to 30 s for the other).
#[test]
fn a_blocked_call_does_not_hold_up_a_second_one() {
    let dir = TempDir::new("ring-block");
    let s = server_with(&dir, Limits::default(), None);
    let dev = device(&s);
    let session = dev.session().unwrap();
    let test = Arc::new(session.open(TEST).unwrap());
    test.invoke(5, &mut []).unwrap();
    let before = stat(&s, "ring_requests");
    let t = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let test = test.clone();
            std::thread::spawn(move || {
                let mut seen = [0u8; 4];
                let r = test.invoke(4, &mut [Arg::In(&2u32.to_le_bytes()), Arg::Out(&mut seen)]);
                (r.is_ok(), u32::from_le_bytes(seen))
            })
        })
        .collect();
    for th in threads {
        assert_eq!(th.join().unwrap(), (true, 2));
    }
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    assert!(
        stat(&s, "ring_requests") >= before + 2,
        "both calls went through the ring"
    );
}

/// A client that scribbles over its shared memory while its calls run gets
/// errors or a disconnect; the daemon goes on serving everyone else.
#[test]
fn garbage_in_the_shared_memory_hurts_only_its_writer() {
    use qdad_client::shm::{Shape, Shm};
    let dir = TempDir::new("ring-garbage");
    let s = server_with(&dir, Limits::default(), None);
    let path = device(&s).path().to_string();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..6 {
        let c = UnixStream::connect(s.socket()).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let h = |op: Op, seq| Header {
            op: op as u16,
            seq,
            ..Default::default()
        };
        wire::send(&c, h(Op::Open, 1), &[path.as_bytes()], &[]).unwrap();
        assert_eq!(wire::recv(&c).unwrap().hdr.status, 0);
        let shape = Shape::default();
        let req = wire::SetupReq {
            features: wire::FEATURE_RING,
            slots: shape.slots,
            region: shape.region,
            pad: 0,
        };
        wire::send(&c, h(Op::Setup, 2), &[req.as_bytes()], &[]).unwrap();
        let r = wire::recv(&c).unwrap();
        let rsp: wire::SetupRsp = Reader::new(&r.body).get().unwrap();
        assert_eq!(rsp.features, wire::FEATURE_RING);
        let shm = Shm::attach(r.fds[0].as_fd(), shape).unwrap();
        // Requests: garbage bodies, bad slots and lengths, while the words
        // and regions are overwritten with garbage.
        let words = shm.ring().words().as_ref();
        for i in 0..200u32 {
            let slot = (next() % 10) as u32;
            let len = (next() % (shape.region as u64 + 100)) as u32;
            let body: Vec<u8> = (0..(next() % 300)).map(|_| next() as u8).collect();
            let _ = shm.write(slot % shape.slots, &[&body]);
            let _ = shm.ring().push(&[slot, len, i, 0]);
            shm.ring().bell().ring(&qdad_client::shm::FUTEX);
            if round % 2 == 1 {
                for _ in 0..4 {
                    let w = (next() as usize) % words.len();
                    words[w].store(next() as u32, std::sync::atomic::Ordering::Relaxed);
                }
            }
            if i % 50 == 0 {
                let _ = wire::send(&c, h(Op::Kick, 3), &[], &[]);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
        drop(shm);
    }
    // Everyone else is served.
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let b = ints(&dev, 1024, 9);
    assert_eq!(sum_by_fd(&calc, &b, 1024), expect_sum(1024, 9));
    let test = session.open(TEST).unwrap();
    let input = vec![7u8; 1000];
    let mut out = vec![0u8; 1000];
    test.invoke(3, &mut [Arg::In(&input), Arg::Out(&mut out)]).unwrap();
    assert_eq!(out, input);
}

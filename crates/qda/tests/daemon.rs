//! qdad with real client processes: a buffer shared between two clients by
//! fd passing, a client killed in the middle of an invoke, and the wire's
//! limits. The daemon runs in this test process (a `Server` on a socket of
//! its own); the clients are this test binary run again in a role.

use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qda::{Arg, Backend, Device, Domain};
use qda_test::TempDir;
use qdad::server::{Config, Server};
use qdad::wire;

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";
/// The test entry of the same library (method 4: a barrier).
const TEST: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";
/// Elements in the shared buffer (1 MiB of i32).
const N: u32 = 256 * 1024;

/// A fresh directory, removed when the guard goes (after the test's
/// daemon, which is declared later and so dropped first).
fn tmpdir(tag: &str) -> TempDir {
    TempDir::new(&format!("daemon-{tag}"))
}

fn server(dir: &Path) -> Server {
    Server::start(Config {
        socket: dir.join("qdad.sock"),
        ..Default::default()
    })
    .unwrap()
}

fn stat(s: &Server, name: &str) -> u64 {
    s.stats().into_iter().find(|(k, _)| k == name).map_or(0, |(_, v)| v)
}

/// Wait until the daemon holds nothing (files, objects, PDs).
fn wait_idle(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = s.stats();
        let busy: Vec<_> = st
            .iter()
            .filter(|(k, v)| {
                *v != 0
                    && [
                        "files",
                        "gem_objects",
                        "dmabufs",
                        "backings",
                        "iova_mappings",
                        "pinned_exports",
                        "dma_debug_live",
                        "user_pds",
                        "connections",
                    ]
                    .contains(&k.as_str())
            })
            .collect();
        if busy.is_empty() {
            assert_eq!(stat(s, "dma_debug_errors"), 0);
            return;
        }
        assert!(Instant::now() < deadline, "daemon still holds {busy:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run this test binary as a client process in `role`.
fn spawn(role: &str, socket: &Path, extra: &[(&str, &str)]) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "role", "--nocapture", "--test-threads=1"])
        .env("QDA_TEST_ROLE", role)
        .env("QDA_SOCKET", socket)
        .env("QDA_BACKEND", "daemon")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

/// Read the child's stdout until a line starting with `prefix`.
fn expect_line(r: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "child ended before '{prefix}'");
        // libtest may print "test role ... " before the role's own output.
        if let Some(at) = line.find(prefix) {
            return line[at + prefix.len()..].trim_end().to_string();
        }
    }
}

/// The client roles. A no-op unless run by `spawn`.
#[test]
fn role() {
    let Ok(role) = std::env::var("QDA_TEST_ROLE") else {
        return;
    };
    match role.as_str() {
        "owner" => role_owner(),
        "importer" => role_importer(),
        "sleeper" => role_sleeper(),
        r => panic!("unknown role {r}"),
    }
}

/// Process A: allocate and fill a buffer through qdad, send its fd to B.
fn role_owner() {
    let peer = std::env::var("QDA_TEST_PEER").unwrap();
    let dev = Device::open(Domain::Cdsp).unwrap();
    assert_eq!(dev.backend(), Backend::Daemon);
    let buf = dev.alloc(4 * N as usize).unwrap();
    let v: Vec<u8> = (0..N as i32).flat_map(i32::to_le_bytes).collect();
    buf.write(0, &v).unwrap();
    let fd = buf.export().unwrap();
    let s = UnixStream::connect(peer).unwrap();
    wire::send(&s, wire::Header::default(), &[b"buffer"], &[fd.as_fd()]).unwrap();
    // Keep everything until B is done, then exit (closing it all).
    let ack = wire::recv(&s).unwrap();
    assert_eq!(ack.body, b"done");
    println!("owner=ok");
}

/// Process B: receive the fd, import it through qdad, sum it on the DSP.
fn role_importer() {
    let path = std::env::var("QDA_TEST_LISTEN").unwrap();
    let l = UnixListener::bind(&path).unwrap();
    println!("ready=1");
    let (s, _) = l.accept().unwrap();
    let mut m = wire::recv(&s).unwrap();
    let fd = m.fds.pop().unwrap();
    let dev = Device::open(Domain::Cdsp).unwrap();
    let buf = dev.import(fd.as_fd()).unwrap();
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let mut sum = [0u8; 8];
    calc.invoke(
        2,
        &mut [
            Arg::In(&N.to_le_bytes()),
            Arg::buf_in(&buf, 0, 4 * N as usize),
            Arg::Out(&mut sum),
        ],
    )
    .unwrap();
    println!("sum={}", i64::from_le_bytes(sum));
    wire::send(&s, wire::Header::default(), &[b"done"], &[]).unwrap();
}

/// A client that holds objects and blocks in an invoke until killed.
fn role_sleeper() {
    let dev = Device::open(Domain::Cdsp).unwrap();
    let buf = dev.alloc(1 << 20).unwrap();
    let _fd = buf.export().unwrap();
    let session = dev.session().unwrap();
    let test = session.open(TEST).unwrap();
    let _map = session.map(&buf).unwrap();
    println!("calling=1");
    // Method 4 waits (up to 30 s) for 1000 callers that never come.
    let mut seen = [0u8; 4];
    let r = test.invoke(4, &mut [Arg::In(&1000u32.to_le_bytes()), Arg::Out(&mut seen)]);
    println!("returned={r:?}");
}

#[test]
fn a_buffer_passed_between_two_clients_never_crosses_the_daemon_socket() {
    let dir = tmpdir("share");
    let srv = server(&dir);
    let listen = dir.join("b.sock");
    let mut b = spawn(
        "importer",
        srv.socket(),
        &[("QDA_TEST_LISTEN", listen.to_str().unwrap())],
    );
    let mut bout = BufReader::new(b.stdout.take().unwrap());
    expect_line(&mut bout, "ready=");
    let mut a = spawn("owner", srv.socket(), &[("QDA_TEST_PEER", listen.to_str().unwrap())]);
    let sum: i64 = expect_line(&mut bout, "sum=").parse().unwrap();
    assert_eq!(sum, (0..N as i64).sum::<i64>());
    assert!(b.wait().unwrap().success());
    let mut aout = BufReader::new(a.stdout.take().unwrap());
    expect_line(&mut aout, "owner=");
    assert!(a.wait().unwrap().success());
    // 1 MiB was filled by A and read by the DSP for B; the socket carried
    // only structs, names and small inline arguments.
    let (inb, outb) = (stat(&srv, "bytes_in"), stat(&srv, "bytes_out"));
    assert!(inb + outb < 64 * 1024, "{inb} bytes in, {outb} out");
    assert!(stat(&srv, "fds_in") >= 2, "B's import and invoke sent the fd");
    wait_idle(&srv);
}

#[test]
fn a_client_killed_inside_an_invoke_frees_everything_and_others_go_on() {
    let dir = tmpdir("kill");
    let srv = server(&dir);
    let mut c = spawn("sleeper", srv.socket(), &[]);
    let mut out = BufReader::new(c.stdout.take().unwrap());
    expect_line(&mut out, "calling=");
    std::thread::sleep(Duration::from_millis(200));
    assert!(stat(&srv, "gem_objects") >= 1 && stat(&srv, "user_pds") >= 1);
    // Another client is served meanwhile.
    let other = || {
        let sys = Arc::new(qda::sys::DaemonCalls::connect(srv.socket()).unwrap());
        let dev = Device::open_with(Domain::Cdsp, sys).unwrap();
        let calc = dev.session().unwrap().open(CALC).unwrap();
        let mut sum = [0u8; 8];
        calc.invoke(
            2,
            &mut [
                Arg::In(&3u32.to_le_bytes()),
                Arg::In(&[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]),
                Arg::Out(&mut sum),
            ],
        )
        .unwrap();
        assert_eq!(i64::from_le_bytes(sum), 6);
    };
    other();
    let t = Instant::now();
    c.kill().unwrap();
    c.wait().unwrap();
    wait_idle(&srv);
    let freed_in = t.elapsed();
    // Far sooner than the 30 s the blocked skel would have taken.
    assert!(freed_in < Duration::from_secs(15), "took {freed_in:?}");
    other();
    wait_idle(&srv);
}

#[test]
fn the_daemon_refuses_a_second_instance_and_replaces_a_stale_socket() {
    let dir = tmpdir("twice");
    let srv = server(&dir);
    let e = Server::start(Config {
        socket: srv.socket().to_path_buf(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.contains("already listening"), "{e}");
    let sock = srv.socket().to_path_buf();
    drop(srv);
    assert!(!sock.exists(), "an orderly shutdown removes the socket");
    // A stale socket file (nobody listening) is replaced.
    drop(UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let srv = server(&dir);
    drop(
        Device::open_with(
            Domain::Adsp,
            Arc::new(qda::sys::DaemonCalls::connect(srv.socket()).unwrap()),
        )
        .unwrap(),
    );
}

#[test]
fn malformed_requests_get_errors_and_garbage_ends_only_that_connection() {
    let dir = tmpdir("garbage");
    let srv = server(&dir);
    let c = qdad::client::Connection::connect(srv.socket()).unwrap();
    // An ioctl before any open, an unknown request, a truncated ioctl body.
    let m = c.call(wire::Op::Ioctl, &[&[0u8; 32]], &[]).unwrap();
    assert_eq!(m.hdr.status, -libc::EBADF, "{}", String::from_utf8_lossy(&m.body));
    let m = c.call(wire::Op::Open, &[b"/dev/accel/accel1"], &[]).unwrap();
    assert_eq!(m.hdr.status, 0);
    let m = c.call(wire::Op::Open, &[b"/dev/accel/accel1"], &[]).unwrap();
    assert_eq!(m.hdr.status, -libc::EBUSY);
    let m = c.call(wire::Op::Ioctl, &[&[0u8; 7]], &[]).unwrap();
    assert_eq!(m.hdr.status, -libc::EINVAL);
    // 5000 segments: over the limit.
    let req = wire::IoctlReq {
        nsegs: 5000,
        ..Default::default()
    };
    let m = c
        .call(wire::Op::Ioctl, &[zerocopy::IntoBytes::as_bytes(&req)], &[])
        .unwrap();
    assert_eq!(m.hdr.status, -libc::EINVAL);
    let m = c.call(wire::Op::Open, &[b"/dev/nonexistent"], &[]);
    assert!(m.is_ok());
    // Garbage on another connection ends that connection only.
    let mut g = UnixStream::connect(srv.socket()).unwrap();
    std::io::Write::write_all(&mut g, &[0x55; 64]).unwrap();
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut g, &mut sink);
    let m = c.call(wire::Op::Stats, &[], &[]).unwrap();
    assert_eq!(m.hdr.status, 0);
    drop(c);
    wait_idle(&srv);
}

//! qdad's fd cache and a reused fd number: alone in its test binary, so no
//! other test's fds take the number it frees.

mod common;
use common::{Daemon, daemon, expect_sum, ints, sum_by_fd};

use std::os::fd::AsRawFd;
use std::sync::Arc;

use qda::{Device, Domain};
use qda_test::TempDir;

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";
fn stat(d: &Daemon, name: &str) -> u64 {
    let s = qdad::client::Client::connect(&d.socket).unwrap().stats().unwrap();
    s.into_iter().find(|(k, _)| k == name).map_or(0, |(_, v)| v)
}

fn device(d: &Daemon) -> Device {
    let calls = Arc::new(qda::sys::DaemonCalls::connect(&d.socket).unwrap());
    Device::open_with(Domain::Cdsp, calls).unwrap()
}

/// A by-fd call passes its fd once; the next ones name it. A number reused
/// for another buffer is sent again, and the DSP reads the new buffer.
#[test]
fn a_cached_fd_is_not_sent_again_and_a_reused_number_is() {
    let dir = TempDir::new("ring-reuse");
    let s = daemon(&dir);
    let dev = device(&s);
    let session = dev.session().unwrap();
    let calc = session.open(CALC).unwrap();
    let a = ints(&dev, 1024, 1);
    let a_fd = a.export().unwrap().as_raw_fd();
    assert_eq!(sum_by_fd(&calc, &a, 1024), expect_sum(1024, 1));
    let fds = stat(&s, "fds_in");
    for _ in 0..5 {
        assert_eq!(sum_by_fd(&calc, &a, 1024), expect_sum(1024, 1));
    }
    assert_eq!(stat(&s, "fds_in"), fds, "cached: the fd was not sent again");
    assert!(stat(&s, "fds_cached") >= 1);
    drop(a);
    // B's export takes A's number: the lowest free one once the holes
    // below it are filled.
    let b = dev.alloc(4096).unwrap();
    let v: Vec<u8> = (0..1024).flat_map(|i: i32| (1000 + i).to_le_bytes()).collect();
    b.write(0, &v).unwrap();
    let mut fillers = Vec::new();
    loop {
        let f = std::fs::File::open("/dev/null").unwrap();
        let n = f.as_raw_fd();
        assert!(n <= a_fd, "A's number was taken");
        if n == a_fd {
            break;
        }
        fillers.push(f);
    }
    assert_eq!(b.export().unwrap().as_raw_fd(), a_fd, "the number is reused");
    assert_eq!(sum_by_fd(&calc, &b, 1024), expect_sum(1024, 1000));
    assert_eq!(stat(&s, "fds_in"), fds + 1, "the new file was sent");
    assert_eq!(sum_by_fd(&calc, &b, 1024), expect_sum(1024, 1000));
    assert_eq!(stat(&s, "fds_in"), fds + 1);
}

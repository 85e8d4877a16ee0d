//! Helpers the qdad integration tests share: a daemon of their own,
//! buffers of known integers, the calculator's sum of one read by fd, and a
//! bounded wait.
#![allow(dead_code)] // each test file uses some of them

use std::time::{Duration, Instant};

use qda::{Arg, Buffer, Device};

/// A buffer of `n` i32s `base, base + 1, …`, exported.
pub fn ints(dev: &Device, n: u32, base: i32) -> Buffer {
    let buf = dev.alloc(4 * n as usize).unwrap();
    let v: Vec<u8> = (0..n as i32).flat_map(|i| (base + i).to_le_bytes()).collect();
    buf.write(0, &v).unwrap();
    buf.export().unwrap();
    buf
}

/// The calculator's sum of the buffer's `n` i32s, read by the DSP by fd.
pub fn sum_by_fd(calc: &qda::RemoteHandle, buf: &Buffer, n: u32) -> i64 {
    let mut sum = [0u8; 8];
    calc.invoke(
        2,
        &mut [
            Arg::In(&n.to_le_bytes()),
            Arg::buf_in(buf, 0, 4 * n as usize),
            Arg::Out(&mut sum),
        ],
    )
    .unwrap();
    i64::from_le_bytes(sum)
}

pub fn expect_sum(n: u32, base: i32) -> i64 {
    (0..n as i64).map(|i| base as i64 + i).sum()
}

/// Wait up to `secs` for `cond`.
pub fn within(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// The daemon in a process of its own (thread PDs): its fds are not this
/// process's; killed when dropped.
pub struct Daemon {
    pub child: std::process::Child,
    pub socket: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start one with its socket in `dir`, once it answers.
pub fn daemon(dir: &qda_test::TempDir) -> Daemon {
    let socket = dir.join("qdad.sock");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_qdad"))
        .arg("--socket")
        .arg(&socket)
        .env("QDA_PD_MODE", "thread")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while qdad::client::Client::connect(&socket).is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "qdad did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Daemon { child, socket }
}

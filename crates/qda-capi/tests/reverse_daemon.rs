//! Reverse RPC through qdad: a client process (this test binary, run again
//! as a child) talks to a qdad in this process whose DSP runs thread PDs
//! and loads skels through the client's `apps_std` (`QDA_DSP_LOAD`). In the
//! child, a skel reads the child's environment and a file through the
//! child's listener, its FARF line reaches the child's stderr (not the
//! daemon's), and a calculator only the child's `DSP_LIBRARY_PATH` holds
//! runs; the listener ends with the session.
#![allow(unsafe_code)]

mod common;

use std::process::Command;

use common::*;
use qdad::server::{Config, Server};

const FILE_BYTES: &[u8] = b"bytes the DSP read from the client's disk\n";
const CALCREV: &str = "file:///libcalcrev_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";

#[test]
fn through_qdad() {
    if std::env::var_os("QDA_REVCHILD").is_some() {
        return child();
    }
    // SAFETY: the only test of this binary; no other thread exists yet.
    unsafe { std::env::set_var("QDA_DSP_LOAD", "apps_std") };
    let dir = qda_test::TempDir::new("capi-reverse-daemon");
    let socket = dir.path().join("qdad.sock");
    let server = Server::start(Config {
        socket: socket.clone(),
        pd_mode: Some(qda_dsp::PdMode::Thread),
        ..Default::default()
    })
    .expect("start qdad");
    let libs = dir.path().join("libs");
    std::fs::create_dir(&libs).unwrap();
    let built = qda_dsp::builtin_skel_dir();
    std::fs::copy(built.join("librevtest_skel.so"), libs.join("librevtest_skel.so")).unwrap();
    std::fs::copy(built.join("libcalculator_skel.so"), libs.join("libcalcrev_skel.so")).unwrap();
    let file = dir.path().join("data.txt");
    std::fs::write(&file, FILE_BYTES).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "through_qdad", "--nocapture", "--test-threads=1"])
        .env("QDA_REVCHILD", "1")
        .env("QDA_REVCHILD_FILE", &file)
        .env("QDA_BACKEND", "daemon")
        .env("QDA_SOCKET", &socket)
        .env("DSP_LIBRARY_PATH", &libs)
        // The CPU-side skel the DSP opens through apps_remotectl is found
        // by the dynamic loader, as upstream.
        .env("LD_LIBRARY_PATH", &built)
        .env_remove("QDA_DSP_LOAD")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the client failed:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("HIGH revtest_skel.c:") && stderr.contains("revtest: hello through the listener"),
        "the FARF line did not reach the client's stderr:\n{stderr}"
    );
    drop(server);
}

fn child() {
    let h = open(REVTEST).unwrap();
    let (r, req, val) = rev_getenv(h, "QDA_REVCHILD", 8).unwrap();
    assert_eq!((r, req, &val[..2]), (0, 2, &b"1\0"[..]), "the child's environment");
    let file = std::env::var("QDA_REVCHILD_FILE").unwrap();
    let (r, got) = rev_readfile(h, &file, 4096).unwrap();
    assert_eq!((r, got.as_slice()), (0, FILE_BYTES));
    assert_eq!(rev_farf(h, "hello through the listener"), 0);
    // A CPU-side skel opened by the DSP (apps_remotectl → dlopen) and called.
    let v: Vec<i32> = (1..=10).collect();
    let cpu = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";
    assert_eq!(rev_cpu_sum(h, cpu, &v), Ok((0, 0, 55)));
    // Names that are not a plain skel are refused (AEE_ENOSUCHMOD in nErr).
    for bad in [
        "file:///../libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0",
        "file:///libc.so.6?system&_modver=1.0",
        "file:///libnothere_skel.so?nothere_skel_handle_invoke&_modver=1.0",
    ] {
        assert_eq!(rev_cpu_sum(h, bad, &v).unwrap().0, 0x3e, "{bad}");
    }
    let c = open(CALCREV).unwrap();
    let v: Vec<i32> = (1..=100).collect();
    assert_eq!(sum(c, &v), Ok(5050));
    assert_eq!(close(c), 0);
    assert_eq!(close(h), 0);
    assert!(no_threads_named("qda-listener"), "a listener thread was left behind");
}

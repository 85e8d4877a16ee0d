//! `qda exec` and libqda_preload.so end to end: C programs of ours
//! (`crates/qda-preload/tests/c/`, compiled here with `cc`) that make
//! libfastrpc's own system calls run under the shim, on the embedded
//! platform and through a qdad; the C API library (making real system
//! calls under `qda exec`) runs the calculator; fork and exec; two
//! processes share a dma-buf through qdad; the probe files and bad input.
//!
//! Needs `cc`; without it each test says so and checks nothing. The shim
//! and the C library are built first (a nested `cargo build` into this
//! profile's target directory: `cargo test` does not build cdylibs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const QDA: &str = env!("CARGO_BIN_EXE_qda");

/// `target/<profile>`, where `qda` and the libraries are.
fn profile_dir() -> PathBuf {
    Path::new(QDA).parent().unwrap().to_path_buf()
}

fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../qda-preload/tests/c")
}

/// Whether `cc` works; said once when it does not.
fn have_cc() -> bool {
    static CC: OnceLock<bool> = OnceLock::new();
    *CC.get_or_init(|| {
        let ok = Command::new("cc")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("exec tests skipped: no working `cc` to build the C programs");
        }
        ok
    })
}

/// Build the shim and libqda_rpc.so beside `qda` (once per test binary).
fn build_libraries() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        qda_test::cargo::build(&["qda-preload", "qda-rpc"]);
    });
}

/// Compile C sources into `out`.
fn cc(out: &Path, srcs: &[PathBuf], flags: &[String]) {
    let mut c = Command::new("cc");
    c.args(["-O0", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(out)
        .args(srcs)
        .args(flags);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// One of our programs in `tests/c`, built into `dir`.
fn program(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    cc(&out, &[c_dir().join(format!("{name}.c"))], &[]);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `qda exec ARGS -- PROG…` in `cwd`, under a time limit.
fn exec(cwd: &Path, args: &[&str], prog: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(QDA);
    c.arg("exec")
        .args(args)
        .arg("--")
        .args(prog)
        .current_dir(cwd)
        .env_remove("QDA_BACKEND")
        .env_remove("QDA_PRELOAD_BACKEND")
        .env_remove("LD_PRELOAD")
        .env_remove("QDA_PD_MODE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{c:?} hung:\n{}\n{}", text(&o.stdout), text(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `exec` that must succeed: its stdout and stderr.
fn exec_ok(cwd: &Path, args: &[&str], prog: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let o = exec(cwd, args, prog, env);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(
        o.status.success(),
        "qda exec {args:?} -- {prog:?}: {}\n{out}\n{err}",
        o.status
    );
    (out, err)
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l.trim() == line)
}

/// A qdad on a socket of its own, stopped (SIGTERM) when dropped; its log.
struct Daemon {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let socket = dir.join("qdad.sock");
        let log = dir.join("qdad.log");
        let child = Command::new(QDA)
            .args(["daemon", "--socket"])
            .arg(&socket)
            .env_remove("QDA_PD_MODE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !socket.exists() {
            assert!(t.elapsed() < Duration::from_secs(20), "no daemon socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child, socket, log }
    }

    fn env(&self) -> [(&'static str, &str); 1] {
        [("QDA_SOCKET", self.socket.to_str().unwrap())]
    }

    /// Stop it; its log, which must end with nothing left open.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let st = self.child.wait().unwrap();
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(st.success(), "{log}");
        assert!(log.contains("qdad: stopped; files=0 gem_objects=0 dmabufs=0"), "{log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup(name: &str) -> Option<qda_test::TempDir> {
    if !have_cc() {
        return None;
    }
    build_libraries();
    Some(qda_test::TempDir::new(name))
}

fn assert_calculator(out: &str, err: &str, prefix: &str) {
    for want in ["Sum = 499500", "Max value = 999"] {
        let want = format!("{prefix}{want}");
        assert!(has_line(out, &want), "missing '{want}':\n{out}\n{err}");
    }
}

/// libfastrpc's legacy sequence (§B4, §B10): the probes, rpcmem, INIT_CREATE
/// with and without the shell, remotectl1 open1 of two modules at once
/// (closed in either order), the listener blocked in next2 until
/// current_process1 exit, on the embedded platform and through qdad.
#[test]
fn libfastrpcs_sequence_runs_under_qda_exec_embedded_and_through_qdad() {
    let Some(dir) = setup("exec-legacy") else { return };
    let prog = program(&dir, "legacy_calc");
    let p = prog.to_str().unwrap();
    let t = Instant::now();
    let (o, e) = exec_ok(&dir, &[], &[p], &[]);
    assert_calculator(&o, &e, "");
    for want in [
        "session 1: without a shell, modules above 0xff and distinct",
        "probe: /dev/subsys_cdsp is a device, remoteproc1 names cdsp",
        "probe: unsigned PD support 1",
        "ls /dev/accel: accel0 accel1 accel2 accel3 accel4",
        "listener: init2 0x0, next2 returned 0x8000040d after exit",
    ] {
        assert!(has_line(&o, want), "missing '{want}':\n{o}\n{e}");
    }
    // With the unsigned shell in the working directory, read into a
    // dma-heap buffer and passed by fd; the other module closed first; and
    // only the legacy nodes shown.
    std::fs::write(dir.join("fastrpc_shell_unsigned_3"), b"\x7fELF\x02\x01\x01\0a shell").unwrap();
    let (o, e) = exec_ok(&dir, &["--uapi", "legacy", "--trace"], &[p, "b-first"], &[]);
    assert_calculator(&o, &e, "");
    assert!(
        has_line(&o, "session 1: with the shell, modules above 0xff and distinct"),
        "{o}"
    );
    assert!(has_line(&o, "ls /dev/accel: No such file or directory"), "{o}");
    assert!(
        e.contains("FASTRPC_IOCTL_INIT_CREATE = 0") && !e.contains("/dev/accel/"),
        "{e}"
    );
    eprintln!(
        "exec: legacy_calc twice on the embedded platform in {:.1?}",
        t.elapsed()
    );
    // The same binary on a QDA-only board (`--uapi accel`): the legacy
    // ioctls it makes are translated, and below the translation only accel
    // ioctls reach the platform.
    let (o, e) = exec_ok(&dir, &["--uapi", "accel", "--trace"], &[p], &[]);
    assert_calculator(&o, &e, "");
    assert!(has_line(&o, "ls /dev/accel: No such file or directory"), "{o}");
    let below: Vec<&str> = e.lines().filter(|l| l.contains("  below: ioctl")).collect();
    assert!(
        below.iter().any(|l| l.contains("DRM_IOCTL_QDA_REMOTE_INVOKE")),
        "nothing reached the accel node:\n{e}"
    );
    // (dma-heap allocations are their own UAPI, not translated.)
    assert!(
        below
            .iter()
            .all(|l| (l.contains(" /dev/accel/") && l.contains(" DRM_IOCTL_")) || l.contains(" /dev/dma_heap/")),
        "a legacy FastRPC ioctl reached the platform:\n{}",
        below.join("\n")
    );
    assert!(
        e.contains("FASTRPC_IOCTL_INVOKE"),
        "the program's own calls are legacy:\n{e}"
    );

    let d = Daemon::start(&dir);
    let t = Instant::now();
    let (o, e) = exec_ok(&dir, &["--backend", "daemon"], &[p], &d.env());
    assert_calculator(&o, &e, "");
    assert!(
        has_line(&o, "session 1: with the shell, modules above 0xff and distinct"),
        "{o}"
    );
    let (o, e) = exec_ok(&dir, &[], &[p, "b-first"], &d.env());
    assert_calculator(&o, &e, "");
    let (o, e) = exec_ok(&dir, &["--backend", "daemon", "--uapi", "accel"], &[p], &d.env());
    assert_calculator(&o, &e, "");
    eprintln!("exec: legacy_calc three times through qdad in {:.1?}", t.elapsed());
    let log = d.stop();
    assert!(!log.contains("panicked"), "{log}");
}

/// The C API library, told to make real system calls (QDA_BACKEND=kernel,
/// which qda exec sets), runs the calculator example: its opens, ioctls and
/// GEM mmaps reach the shim (the trace shows them), on accel nodes and on
/// legacy ones, embedded and through qdad.
#[test]
fn the_c_api_making_real_syscalls_runs_under_the_shim() {
    let Some(dir) = setup("exec-capi") else { return };
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c/calculator");
    let inc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qda-sdk/include");
    let prog = dir.join("calculator");
    let lib = profile_dir();
    cc(
        &prog,
        &["calculator_main.c", "calculator_test.c", "calculator_stub.c"].map(|s| ex.join("src").join(s)),
        &[
            format!("-I{}", inc.display()),
            format!("-I{}", ex.join("inc").display()),
            format!("-L{}", lib.display()),
            "-lqda_rpc".into(),
            format!("-Wl,-rpath,{}", lib.display()),
        ],
    );
    let p = prog.to_str().unwrap();
    let t = Instant::now();
    let (o, e) = exec_ok(&dir, &["--trace"], &[p], &[]);
    assert_calculator(&o, &e, "");
    assert!(has_line(&o, "calculator PASSED"), "{o}");
    assert!(
        e.contains("DRM_IOCTL_QDA_REMOTE_INVOKE = 0") && e.contains("mmap ") && e.contains("(/dev/accel/accel1)"),
        "the C API's calls reached the shim's accel nodes:\n{e}"
    );
    let (o, e) = exec_ok(&dir, &["--uapi", "legacy", "--trace"], &[p], &[]);
    assert_calculator(&o, &e, "");
    assert!(
        e.contains("FASTRPC_IOCTL_INVOKE = 0") && !e.contains("DRM_IOCTL"),
        "{e}"
    );
    eprintln!("exec: the C API twice on the embedded platform in {:.1?}", t.elapsed());

    let d = Daemon::start(&dir);
    let (o, e) = exec_ok(&dir, &["--backend", "daemon"], &[p], &d.env());
    assert_calculator(&o, &e, "");
    d.stop();
}

/// fork: the child keeps its fds, but an inherited device file is the
/// parent's (EIO), an inherited dma-buf maps with the parent's data, and on
/// the embedded platform the child has no device nodes until it execs;
/// exec: an O_CLOEXEC device fd is closed, the other survives as a plain
/// fd, and the new image finds its platform again from the environment and
/// runs the calculator; the parent's files outlive the child, and so does
/// the session it opened before the fork, its listener blocked in next2.
#[test]
fn fork_and_exec_under_the_shim() {
    let Some(dir) = setup("exec-fork") else { return };
    let prog = program(&dir, "forkexec");
    let t = Instant::now();
    let (o, e) = exec_ok(&dir, &[], &[prog.to_str().unwrap()], &[]);
    for want in [
        "child: the inherited device fd: Input/output error",
        "child: the parent's session: Input/output error",
        "child: the inherited dma-buf reads 999 at [999]",
        "child: a device file of its own: No such file or directory",
        "exec: Sum = 499500",
        "exec: Max value = 999",
        "parent: Sum = 499500",
        "parent: Max value = 999",
    ] {
        assert!(has_line(&o, want), "missing '{want}':\n{o}\n{e}");
    }
    assert!(
        o.lines()
            .any(|l| l.starts_with("exec: the O_CLOEXEC device fd ") && l.ends_with(" was closed")),
        "{o}"
    );
    assert!(
        o.lines().any(|l| l.starts_with("exec: the inherited device fd ")
            && l.ends_with("is open; its ioctl: Inappropriate ioctl for device")),
        "{o}"
    );
    assert!(
        e.contains("a forked child cannot reach its parent's embedded platform"),
        "{e}"
    );
    eprintln!("exec: fork + exec on the embedded platform in {:.1?}", t.elapsed());
}

/// Through qdad a forked child opens device files of its own, and the
/// exec'd image computes over the dma-buf its parent allocated and filled:
/// two processes, two device files, one buffer, passed by fd.
#[test]
fn two_processes_share_a_dma_buf_through_qdad() {
    let Some(dir) = setup("exec-share") else { return };
    let prog = program(&dir, "forkexec");
    let d = Daemon::start(&dir);
    let socket = d.socket.to_str().unwrap().to_string();
    let t = Instant::now();
    let (o, e) = exec_ok(
        &dir,
        &["--backend", "daemon"],
        &[prog.to_str().unwrap()],
        &[("QDA_SOCKET", &socket), ("SHARE_DMABUF", "1")],
    );
    for want in [
        "child: the inherited device fd: Input/output error",
        "child: the parent's session: Input/output error",
        "child: a device file of its own: answered",
        "exec: Sum = 499500",
        "parent: Sum = 499500",
    ] {
        assert!(has_line(&o, want), "missing '{want}':\n{o}\n{e}");
    }
    assert!(
        o.lines()
            .any(|l| l.starts_with("exec: using the parent's dma-buf") && l.ends_with("[999] = 999")),
        "{o}"
    );
    eprintln!(
        "exec: fork + exec sharing a dma-buf through qdad in {:.1?}",
        t.elapsed()
    );
    d.stop();
}

/// The probe files and directories a program finds, and bad input answered
/// as a kernel would (EFAULT, ENOTTY, EBADF), never a crash.
#[test]
fn probes_and_bad_input_under_the_shim() {
    let Some(dir) = setup("exec-probes") else { return };
    let prog = program(&dir, "probes");
    let o = exec(&dir, &[], &[prog.to_str().unwrap()], &[]);
    let out = text(&o.stdout);
    assert!(
        o.status.success() && !out.lines().any(|l| l.starts_with("BAD:")),
        "{}: {out}\n{}",
        o.status,
        text(&o.stderr)
    );
    assert!(out.lines().filter(|l| l.starts_with("ok: ")).count() >= 26, "{out}");

    // The same on a board from a device tree file (here the built-in
    // board's source, compiled), which the trace names.
    let dtb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qda-driver/platforms/qda-virt.dtb");
    let o = exec(
        &dir,
        &["--dtb", dtb.to_str().unwrap(), "--trace"],
        &[prog.to_str().unwrap()],
        &[],
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(
        o.status.success() && !out.lines().any(|l| l.starts_with("BAD:")),
        "{out}\n{err}"
    );
    assert!(
        err.contains("platform: embedded (") && err.contains("qda-virt.dtb)"),
        "{err}"
    );
}

/// The errors of qda exec, each one line; --help teaches.
#[test]
fn exec_refusals_are_one_clear_line() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(QDA);
        c.args(args).env_remove("QDA_BACKEND");
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        (o.status.code(), text(&o.stderr))
    };
    let (code, e) = run(
        &["exec", "--", "true"],
        &[("QDA_PRELOAD_LIB", "/nonexistent/libqda_preload.so")],
    );
    assert!(
        code == Some(1) && e.trim().lines().count() == 1 && e.contains("cargo build") && e.contains("-p qda-preload"),
        "{e}"
    );
    let (code, e) = run(&["exec", "--backend", "kernel", "--", "true"], &[]);
    assert!(code == Some(1) && e.contains("run the program directly"), "{e}");
    let (code, e) = run(
        &["exec", "--backend", "daemon", "--", "true"],
        &[("QDA_SOCKET", "/nonexistent/qdad.sock")],
    );
    assert!(code == Some(1) && e.contains("no qdad answers"), "{e}");
    let o = Command::new(QDA).args(["exec", "--help"]).output().unwrap();
    let h = text(&o.stdout);
    for want in [
        "/dev/fastrpc-",
        "/sys/class/remoteproc",
        "--backend daemon",
        "--uapi",
        "fork",
    ] {
        assert!(h.contains(want), "--help lacks {want}: {h}");
    }
    if have_cc() {
        build_libraries();
        // The program's own status comes back.
        let o = Command::new(QDA)
            .args(["exec", "--", "sh", "-c", "exit 7"])
            .env_remove("QDA_BACKEND")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    }
}

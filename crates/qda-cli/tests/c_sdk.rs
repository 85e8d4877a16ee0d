//! The C SDK end to end: `qda sdk install`, then the C examples of
//! `examples/c/` built with `cc` and `pkg-config` against the install and
//! run on the embedded backend and through a qdad, and the calculator
//! linked by name against the drop-in `libcdsprpc.so` of the build tree.
//!
//! Needs `cc` and `pkg-config`; without either it says so and checks
//! nothing. The C libraries and `qda-pd-host` are built first (a nested
//! `cargo build` into this profile's target directory).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>`, where `qda` and the C libraries are.
fn profile_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_qda")).parent().unwrap().to_path_buf()
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Build the C libraries and the PD host into this profile's directory,
/// once per test process: both tests install from that directory, and a
/// build running beside an install re-links the files it copies.
fn build_c_libraries() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(build_c_libraries_now);
}

fn build_c_libraries_now() {
    qda_test::cargo::build(&["qda-rpc", "adsprpc", "cdsprpc", "sdsprpc", "qda-dsp", "qda-preload"]);
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run `c`; its output, with what was run on failure.
fn run(c: &mut Command) -> Output {
    c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"))
}

/// Run `c` and require success.
fn ok(c: &mut Command) -> (String, String) {
    let out = run(c);
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{c:?} failed ({}):\n{o}\n{e}", out.status);
    (o, e)
}

fn pkg_config(pcdir: &Path, args: &[&str]) -> Vec<String> {
    let (o, _) = ok(Command::new("pkg-config").args(args).env("PKG_CONFIG_PATH", pcdir));
    o.split_whitespace().map(str::to_string).collect()
}

/// Compile `srcs` (under examples/c) with `flags` into `out`.
fn cc(out: &Path, srcs: &[&str], incs: &[&str], flags: &[String], shared: bool) {
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c");
    let mut c = Command::new("cc");
    c.args(["-O0", "-Wall", "-Werror"]);
    if shared {
        c.args(["-shared", "-fPIC"]);
    }
    for i in incs {
        c.arg(format!("-I{}", ex.join(i).display()));
    }
    c.arg("-o").arg(out);
    c.args(srcs.iter().map(|s| ex.join(s)));
    c.args(flags);
    ok(&mut c);
}

/// The C programs of examples/c, built against one install.
struct Built {
    dsp: PathBuf,
    calculator: PathBuf,
    hello: PathBuf,
    two_modules: PathBuf,
    rpcmem: PathBuf,
    dmahandle: PathBuf,
}

fn build_examples(dir: &Path, pcdir: &Path) -> Built {
    let app = pkg_config(pcdir, &["--cflags", "--libs", "qda-rpc"]);
    let skel = pkg_config(pcdir, &["--cflags", "qda-skel"]);
    assert!(
        app.iter().any(|f| f == "-lqda-rpc") && app.iter().any(|f| f.starts_with("-Wl,-rpath,")),
        "{app:?}"
    );
    assert!(
        !skel.iter().any(|f| f.starts_with("-l")),
        "a skel links no library: {skel:?}"
    );
    assert!(skel.iter().any(|f| f == "-DQDA_SKEL"), "a skel is DSP code: {skel:?}");
    let dsp = dir.join("dsp");
    std::fs::create_dir_all(&dsp).unwrap();
    let t = Instant::now();
    cc(
        &dsp.join("libcalculator_skel.so"),
        &["calculator/src/calculator_skel.c", "calculator/src/calculator_imp.c"],
        &["calculator/inc"],
        &skel,
        true,
    );
    cc(
        &dsp.join("libhello_skel.so"),
        &["hello/src/hello_skel.c"],
        &["hello/inc"],
        &skel,
        true,
    );
    cc(
        &dsp.join("libxorbuf_skel.so"),
        &["rpcmem/src/xorbuf_skel.c"],
        &["rpcmem/inc"],
        &skel,
        true,
    );
    cc(
        &dsp.join("libdmasum_skel.so"),
        &["dmahandle/src/dmasum_skel.c"],
        &["dmahandle/inc"],
        &skel,
        true,
    );
    let b = Built {
        calculator: dir.join("calculator"),
        hello: dir.join("hello"),
        two_modules: dir.join("two_modules"),
        rpcmem: dir.join("rpcmem"),
        dmahandle: dir.join("dmahandle"),
        dsp,
    };
    cc(
        &b.calculator,
        &[
            "calculator/src/calculator_main.c",
            "calculator/src/calculator_test.c",
            "calculator/src/calculator_stub.c",
        ],
        &["calculator/inc"],
        &app,
        false,
    );
    cc(
        &b.hello,
        &["hello/src/hello_main.c", "hello/src/hello_stub.c"],
        &["hello/inc"],
        &app,
        false,
    );
    cc(
        &b.two_modules,
        &[
            "two_modules/src/two_modules_main.c",
            "calculator/src/calculator_stub.c",
            "hello/src/hello_stub.c",
        ],
        &["calculator/inc", "hello/inc"],
        &app,
        false,
    );
    cc(
        &b.rpcmem,
        &["rpcmem/src/rpcmem_main.c", "rpcmem/src/xorbuf_stub.c"],
        &["rpcmem/inc"],
        &app,
        false,
    );
    cc(
        &b.dmahandle,
        &["dmahandle/src/dmahandle_main.c", "dmahandle/src/dmasum_stub.c"],
        &["dmahandle/inc"],
        &app,
        false,
    );
    eprintln!("c_sdk: compiled 4 skels and 5 applications in {:.1?}", t.elapsed());
    b
}

/// An example program with the environment of one backend.
fn example(prog: &Path, env: &[(&str, &Path)]) -> Command {
    let mut c = Command::new(prog);
    for v in [
        "QDA_BACKEND",
        "QDA_SOCKET",
        "QDA_PD_HOST",
        "QDA_PD_MODE",
        "LD_LIBRARY_PATH",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l == line)
}

/// Every example on one backend (`on` names it in failures); returns the
/// applications' stderr, where the DSP's FARF lines are on the embedded
/// backend (through qdad they are in the daemon's).
fn run_examples(b: &Built, env: &[(&str, &Path)], on: &str) -> String {
    let mut log = String::new();
    let (o, e) = ok(&mut example(&b.calculator, env));
    assert!(
        has_line(&o, "Sum = 499500") && has_line(&o, "Max value = 999"),
        "{on}: {o}{e}"
    );
    log += &e;
    let (o, e) = ok(example(&b.hello, env).arg("qda"));
    let us: i64 = o
        .split("the DSP spent ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{on}: {o}"));
    assert!(o.starts_with("hello_greet returned 0x0") && us >= 2000, "{on}: {o}{e}");
    log += &e;
    let (o, e) = ok(&mut example(&b.two_modules, env));
    assert!(has_line(&o, "two_modules PASSED"), "{on}: {o}{e}");
    log += &e;
    let (o, e) = ok(example(&b.rpcmem, env).args(["-s", "65536", "-n", "2"]));
    assert!(has_line(&o, "rpcmem PASSED"), "{on}: {o}{e}");
    log += &e;
    // An error a skel returns arrives in the DSP's form (QDA_SKEL).
    let out = run(example(&b.rpcmem, env).args(["-s", "4096", "-o", "2048", "-n", "1"]));
    let o = text(&out.stdout);
    assert!(
        out.status.code() == Some(1) && o.contains("ERROR 0x8000040e: xorbuf_apply"),
        "{on}: {o}{}",
        text(&out.stderr)
    );
    let (o, e) = ok(&mut example(&b.dmahandle, env));
    assert!(has_line(&o, "dmahandle PASSED"), "{on}: {o}{e}");
    log += &e;
    log
}

/// The FARF lines that show the skels of examples/c ran (not the
/// built-in calculator skel, which has the same name and logs nothing).
fn assert_farf(log: &str, on: &str) {
    for want in [
        "calculator_sum: 1000 elements, sum 499500",
        "calculator_max: 1000 elements, max 999",
        "hello, qda (from the DSP)",
        "xorbuf_apply: 65536 bytes, key 0x5a",
        "dmasum: fd ",
    ] {
        assert!(log.contains(want), "{on}: no FARF line '{want}' in:\n{log}");
    }
}

fn stat(stats: &[(String, u64)], name: &str) -> u64 {
    stats
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {stats:?}"))
        .1
}

/// A daemon killed if the test ends early (so it neither outlives the test
/// nor holds its output open).
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().is_ok_and(|s| s.is_none()) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn daemon_bytes(sock: &Path) -> (u64, u64) {
    let s = qdad::client::Client::connect(sock).unwrap().stats().unwrap();
    (stat(&s, "bytes_in"), stat(&s, "bytes_out"))
}

#[test]
fn c_examples_build_against_an_install_and_run_embedded_and_through_qdad() {
    for tool in ["cc", "pkg-config"] {
        if !have(tool) {
            eprintln!("skipped: no {tool} to build C programs with");
            return;
        }
    }
    let t0 = Instant::now();
    build_c_libraries();
    let dir = qda_test::TempDir::new("c-sdk");
    let prefix = dir.join("prefix");

    // 1. The install: a line per file, the files where --help says.
    let t = Instant::now();
    let (o, _) = ok(Command::new(env!("CARGO_BIN_EXE_qda"))
        .args(["sdk", "install", "--prefix"])
        .arg(&prefix));
    eprintln!("c_sdk: qda sdk install in {:.1?}", t.elapsed());
    for f in [
        "lib/libqda-rpc.so",
        "lib/libqda-rpc.a",
        "lib/libadsprpc.so",
        "lib/libcdsprpc.so",
        "lib/libsdsprpc.so",
        "libexec/qda/qda-pd-host",
        "lib/libqda-preload.so",
        "include/remote.h",
        "include/rpcmem.h",
        "include/AEEStdErr.h",
        "include/AEEStdDef.h",
        "include/HAP_farf.h",
        "include/HAP_perf.h",
        "lib/pkgconfig/qda-rpc.pc",
        "lib/pkgconfig/qda-skel.pc",
        "lib/pkgconfig/cdsprpc.pc",
    ] {
        let p = prefix.join(f);
        assert!(p.is_file(), "{} missing", p.display());
        assert!(
            o.lines().any(|l| l.starts_with(&format!("installed {}", p.display()))),
            "no line for {f}: {o}"
        );
    }
    let pcdir = prefix.join("lib/pkgconfig");
    let b = build_examples(&dir, &pcdir);

    // 2. The embedded backend: the DSP runs in the application.
    let t = Instant::now();
    let embedded: &[(&str, &Path)] = &[("QDA_BACKEND", Path::new("embedded")), ("DSP_LIBRARY_PATH", &b.dsp)];
    let log = run_examples(&b, embedded, "embedded");
    assert_farf(&log, "embedded");
    // User PDs ran in qda-pd-host processes: the libraries found the
    // installed libexec/qda/qda-pd-host (a thread PD's lines have no prefix).
    assert!(
        log.contains("[qda-pd:") && !log.contains("user PDs run as threads"),
        "the installed PD host was not used:\n{log}"
    );
    // The static library: libqda-rpc.a and what pkg-config --static adds.
    let static_flags: Vec<String> = pkg_config(&pcdir, &["--static", "--cflags", "--libs", "qda-rpc"])
        .into_iter()
        .map(|f| if f == "-lqda-rpc" { "-l:libqda-rpc.a".into() } else { f })
        .collect();
    let calc_static = dir.join("calculator-static");
    cc(
        &calc_static,
        &[
            "calculator/src/calculator_main.c",
            "calculator/src/calculator_test.c",
            "calculator/src/calculator_stub.c",
        ],
        &["calculator/inc"],
        &static_flags,
        false,
    );
    let (o, e) = ok(&mut example(&calc_static, embedded));
    assert!(
        has_line(&o, "Sum = 499500") && e.contains("calculator_sum: 1000 elements"),
        "static: {o}{e}"
    );
    eprintln!(
        "c_sdk: 5 examples and a static link on the embedded backend in {:.1?}",
        t.elapsed()
    );

    // 3. The drop-in: the same calculator linked by name against
    //    libcdsprpc.so of the build tree, only DSP_LIBRARY_PATH set.
    let lib = profile_dir();
    let mut flags = vec![
        format!("-I{}", prefix.join("include").display()),
        format!("-L{}", lib.display()),
        format!("-Wl,-rpath,{}", lib.display()),
        "-lcdsprpc".to_string(),
    ];
    let dropin = dir.join("calculator-dropin");
    cc(
        &dropin,
        &[
            "calculator/src/calculator_main.c",
            "calculator/src/calculator_test.c",
            "calculator/src/calculator_stub.c",
        ],
        &["calculator/inc"],
        &flags,
        false,
    );
    let mut c = Command::new(&dropin);
    c.env_clear().env("DSP_LIBRARY_PATH", &b.dsp);
    if Path::new("/run/qda/qdad.sock").exists() {
        // A daemon of this machine would serve it, with its own library path.
        eprintln!("c_sdk: a qdad listens at /run/qda/qdad.sock: the drop-in runs with QDA_BACKEND=embedded");
        c.env("QDA_BACKEND", "embedded");
    }
    let (o, e) = ok(&mut c);
    assert!(
        has_line(&o, "Sum = 499500") && has_line(&o, "Max value = 999"),
        "{o}{e}"
    );
    assert!(
        e.contains("calculator_sum: 1000 elements"),
        "the drop-in ran the example's skel: {e}"
    );
    assert!(
        e.contains("[qda-pd:"),
        "the drop-in found qda-pd-host beside it in {}: {e}",
        lib.display()
    );
    flags.clear();

    // The examples' Makefiles (PREFIX-driven), in a copy of examples/c.
    if have("make") {
        let t = Instant::now();
        let ex = dir.join("examples");
        ok(Command::new("cp")
            .arg("-r")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c"))
            .arg(&ex));
        for e in ["calculator", "hello", "rpcmem", "two_modules", "dmahandle"] {
            ok(Command::new("make")
                .args(["-s", "-j2"])
                .arg("-C")
                .arg(ex.join(e))
                .arg(format!("PREFIX={}", prefix.display()))
                .arg("CFLAGS=-O0 -Wall -Werror"));
        }
        let (o, e) = ok(Command::new("make")
            .args(["-s", "-C"])
            .arg(ex.join("two_modules"))
            .arg("run")
            .env("QDA_BACKEND", "embedded"));
        assert!(has_line(&o, "two_modules PASSED"), "make run: {o}{e}");
        eprintln!("c_sdk: the 5 Makefiles built, one ran, in {:.1?}", t.elapsed());
    } else {
        eprintln!("c_sdk: no make: the examples' Makefiles are not checked");
    }

    // 4. Through qdad: the DSP is the daemon's, and so are its library
    //    path and its log.
    let sock = dir.join("s");
    let logfile = dir.join("qdad.log");
    let mut d = Daemon(
        Command::new(env!("CARGO_BIN_EXE_qda"))
            .args(["daemon", "--socket"])
            .arg(&sock)
            .env("DSP_LIBRARY_PATH", &b.dsp)
            .env_remove("QDA_PD_MODE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&logfile).unwrap())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while !sock.exists() {
        assert!(t.elapsed() < Duration::from_secs(20), "no daemon socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    let daemon: &[(&str, &Path)] = &[("QDA_BACKEND", Path::new("daemon")), ("QDA_SOCKET", &sock)];
    // A skel's FARF lines reach the application's stderr through its
    // listener (reverse RPC), not the daemon's log.
    let log = run_examples(&b, daemon, "qdad");
    assert_farf(&log, "qdad (the application's stderr)");

    // rpcmem buffers go by fd: the daemon's byte counters do not grow by
    // the buffers' size per call; malloc'd ones are copied and do.
    const SIZE: u64 = 1 << 20;
    const CALLS: u64 = 4;
    let args = ["-s", "1048576", "-n", "4"];
    let before = daemon_bytes(&sock);
    let (o, e) = ok(example(&b.rpcmem, daemon).args(args));
    assert!(has_line(&o, "rpcmem PASSED"), "{o}{e}");
    let after = daemon_bytes(&sock);
    let (zin, zout) = (after.0 - before.0, after.1 - before.1);
    let (o, e) = ok(example(&b.rpcmem, daemon).args(args).arg("-m"));
    assert!(has_line(&o, "rpcmem PASSED"), "{o}{e}");
    let copied = daemon_bytes(&sock);
    let (cin, cout) = (copied.0 - after.0, copied.1 - after.1);
    eprintln!(
        "c_sdk: through qdad, {CALLS} calls of 2 x {SIZE} bytes: rpcmem moved {zin} bytes in and {zout} out; \
         malloc {cin} in and {cout} out"
    );
    assert!(
        zin + zout < SIZE,
        "rpcmem buffers were copied: {zin} bytes in, {zout} out for {CALLS} calls of {SIZE}"
    );
    assert!(
        cin >= CALLS * SIZE && cout >= CALLS * SIZE,
        "the counters count copies: malloc'd buffers moved {cin} in, {cout} out"
    );
    eprintln!("c_sdk: 6 runs through qdad in {:.1?}", t.elapsed());

    let st = Command::new("kill")
        .args(["-TERM", &d.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = d.0.wait().unwrap();
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("qdad: stopped; files=0 gem_objects=0 dmabufs=0"), "{log}");
    eprintln!("c_sdk: all in {:.1?}", t0.elapsed());
}

/// What the install refuses, each in one line: a prefix it cannot create,
/// a file of someone else's in the way, a prefix pkg-config cannot hold,
/// and libraries missing beside the binary (which it says how to build).
#[test]
fn sdk_install_refusals_are_one_clear_line() {
    // The build is not a C compile: it runs wherever the other test's does.
    build_c_libraries();
    let dir = qda_test::TempDir::new("c-sdk-refuse");
    let qda = |prefix: &Path, bin: &Path| {
        let out = Command::new(bin)
            .args(["sdk", "install", "--prefix"])
            .arg(prefix)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let me = Path::new(env!("CARGO_BIN_EXE_qda"));
    let all_built = [
        "libqda_rpc.so",
        "libqda_rpc.a",
        "libcdsprpc.so",
        "qda-pd-host",
        "libqda_preload.so",
    ]
    .iter()
    .all(|f| profile_dir().join(f).is_file());

    // Libraries missing: a copy of qda alone in a directory.
    let alone = dir.join("bin/qda");
    std::fs::create_dir_all(alone.parent().unwrap()).unwrap();
    std::fs::copy(me, &alone).unwrap();
    let (code, _, e) = qda(&dir.join("p0"), &alone);
    assert_eq!(code, Some(1), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("libqda_rpc.so") && e.contains("qda-pd-host") && e.contains("cargo build"),
        "{e}"
    );
    assert!(!dir.join("p0").exists(), "nothing written");

    if !all_built {
        eprintln!("skipped the rest: the C libraries are not built beside qda (the other test builds them)");
        return;
    }
    // A prefix under a regular file.
    std::fs::write(dir.join("file"), b"x").unwrap();
    let (code, _, e) = qda(&dir.join("file/prefix"), me);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.trim().lines().count() == 1 && e.contains("cannot create"), "{e}");
    // A prefix with a space.
    let (code, _, e) = qda(&dir.join("a b"), me);
    assert!(code == Some(1) && e.contains("choose a prefix without it"), "{e}");
    // Someone else's file in the way; then --force; then our own files are
    // replaced without --force.
    let p = dir.join("p");
    std::fs::create_dir_all(p.join("lib")).unwrap();
    std::fs::write(p.join("lib/libcdsprpc.so"), b"not ours").unwrap();
    let (code, _, e) = qda(&p, me);
    assert!(
        code == Some(1) && e.contains("refusing to replace") && e.contains("libcdsprpc.so"),
        "{e}"
    );
    assert_eq!(std::fs::read(p.join("lib/libcdsprpc.so")).unwrap(), b"not ours");
    let out = Command::new(me)
        .args(["sdk", "install", "--force", "--prefix"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, o, e) = qda(&p, me);
    assert!(code == Some(0) && o.contains("installed"), "{e}");
    // --help teaches the layout and the next steps.
    let out = Command::new(me).args(["sdk", "install", "--help"]).output().unwrap();
    let h = text(&out.stdout);
    for want in [
        "libexec/qda/qda-pd-host",
        "qda-skel.pc",
        "pkg-config --cflags --libs qda-rpc",
        "DSP_LIBRARY_PATH",
    ] {
        assert!(h.contains(want), "--help lacks {want}: {h}");
    }
}

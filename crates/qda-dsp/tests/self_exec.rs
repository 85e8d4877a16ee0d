//! The self-exec hook: a program that calls
//! `qda_dsp::pd_host::run_if_requested()` first in `main` is its own PD
//! host (what `qda` and `qdad` do), with no `qda-pd-host` file needed.
//! A test of its own (`harness = false`): the PD processes are copies of
//! this very binary. It also runs itself as a DSP's process to be killed
//! (`QDA_TEST_ORPHAN_PD`): that DSP's PD dies with it (`PR_SET_PDEATHSIG`).

use qda_driver::Driver;
use qda_dsp::{DspError, PdMode, VirtualDsp};
use qda_uapi::fastrpc::*;
use std::sync::{Arc, Mutex};

const URI: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";

fn arg(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    qda_test::invoke_arg(ptr, len, -1)
}

fn invoke(f: &qda_driver::File, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> i64 {
    qda_test::legacy_invoke(f, handle, sc, args).unwrap()
}

/// Started as a host of another message version, the program refuses
/// (exit 2); of this version with no DSP on its socket, it ends at once
/// (exit 0), as when its DSP goes away.
fn host_mode_by_hand(me: &std::path::Path) {
    use std::process::{Command, Stdio};
    let run = |version: &str| {
        Command::new(me)
            .args([qda_dsp::pd_host::HOST_FLAG, version])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(run("0"), Some(2), "a stale host refuses");
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(ours);
    let st = Command::new(me)
        .args([qda_dsp::pd_host::HOST_FLAG, qda_dsp::pd_host::WIRE_VERSION])
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0), "no DSP: the host exits");
}

/// The child of [`a_pd_dies_with_its_dsp`]: a DSP with one PD whose exit
/// never ends (the test skel's method 9); prints the PD's pid and waits to
/// be killed.
fn orphan_child() -> ! {
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    let f = qda_test::legacy_session(&drv);
    let h = qda_test::open_module(
        |h, sc, a| invoke(&f, h, sc, a),
        "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0",
    )
    .unwrap();
    assert_eq!(invoke(&f, h, 0x0900_0000, &mut []), 0, "linger");
    println!("{}", dsp.pd_processes()[0].0);
    loop {
        std::thread::park();
    }
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does
/// not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
        })
        .unwrap_or(false)
}

/// A DSP's process killed outright (no release, no socket shutdown by the
/// DSP): its PD host dies too (`PR_SET_PDEATHSIG`), even one whose exit
/// would never end on its own.
fn a_pd_dies_with_its_dsp(me: &std::path::Path) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(me)
        .env("QDA_TEST_ORPHAN_PD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pd: u32 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the child said {line:?}"));
    assert!(running(pd), "the PD runs");
    child.kill().unwrap();
    child.wait().unwrap();
    for _ in 0..500 {
        if !running(pd) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Do not leave it holding this test's output open.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pd.to_string()])
        .status();
    panic!("PD {pd} outlived its DSP's process");
}

fn main() {
    qda_dsp::pd_host::run_if_requested();
    if std::env::var_os("QDA_PD_HOST").is_some() {
        println!("self_exec: skipped (QDA_PD_HOST is set and comes first)");
        return;
    }
    if std::env::var_os("QDA_TEST_ORPHAN_PD").is_some() {
        orphan_child();
    }
    let me = std::env::current_exe().unwrap();
    a_pd_dies_with_its_dsp(&me);
    assert_eq!(
        qda_dsp::pd_host_path().unwrap(),
        me,
        "the registered executable is the host"
    );
    host_mode_by_hand(&me);

    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    assert_eq!(dsp.mode(), PdMode::Process);
    let errors: Arc<Mutex<Vec<DspError>>> = Arc::default();
    let seen = errors.clone();
    dsp.set_error_tracer(Some(Arc::new(move |_, e| seen.lock().unwrap().push(e.clone()))));

    let f = qda_test::legacy_session(&drv);
    let pds = dsp.pd_processes();
    assert_eq!(pds.len(), 1, "one PD process");
    let exe = std::fs::read_link(format!("/proc/{}/exe", pds[0].0)).unwrap();
    assert_eq!(exe, me, "the PD process runs this binary");

    // remotectl1 open1 of the calculator, then sum over 1000 numbers.
    let h = qda_test::open_module(|h, sc, a| invoke(&f, h, sc, a), URI).unwrap();
    let v: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    let count = 1000u32.to_le_bytes();
    let mut sum = [0u8; 8];
    let mut a = [
        arg(count.as_ptr(), 4),
        arg(v.as_ptr(), v.len()),
        arg(sum.as_mut_ptr(), 8),
    ];
    assert_eq!(invoke(&f, h, (2 << 24) | 0x0002_0100, &mut a), 0);
    assert_eq!(i64::from_le_bytes(sum), 499_500);

    // A failed call answers its AEE code; the tracer gets the reason too.
    assert_eq!(
        invoke(&f, 0x7777, 0x0200_0000, &mut []) as u32,
        0x8000_0446,
        "AEE_ENOSUCHHANDLE"
    );
    let e = errors.lock().unwrap().pop().expect("the tracer saw the error");
    assert_eq!(e.retval() as u32, 0x8000_0446);
    assert!(e.reason().contains("0x7777"), "{e}");

    drop(f);
    for _ in 0..200 {
        if dsp.pd_processes().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(dsp.pd_processes().is_empty(), "the released PD exits");
    println!("test self_exec ... ok");
}

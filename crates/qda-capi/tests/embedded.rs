//! The C API on the embedded backend: the calculator by rpcmem, handles
//! open together and closed in either order, many threads, and every bad
//! input answered with an AEE code.
#![allow(unsafe_code)]

mod common;

use std::ffi::{CString, c_void};

use common::*;
use qda_capi::api;
use qda_uapi::remote::{
    RemoteDspCapability, RemoteRpcGetDomain, RemoteRpcGetUri, RemoteRpcPdInitmemSize, RemoteRpcThreadParams,
};

fn setup() {
    backend("embedded", None);
}

#[test]
fn calculator_by_rpcmem() {
    setup();
    let mut m = Rpcmem::new(1000);
    m.fill(|i| i as i32);
    assert!(m.fd() >= 0);
    let h = open(CALC).unwrap();
    assert_eq!(sum(h, m.slice()), Ok(499_500));
    assert_eq!(max(h, m.slice()), Ok(999));
    assert_eq!(close(h), 0);
    assert_eq!(close(h), AEE_EBADHANDLE, "closed twice");
    assert_eq!(sum(h, m.slice()), Err(AEE_EBADHANDLE), "a closed handle");
}

#[test]
fn two_handles_close_in_either_order() {
    setup();
    let v: Vec<i32> = (1..=10).collect();
    for first in [0, 1] {
        let hs = [open(CALC).unwrap(), open(CALC).unwrap()];
        assert_ne!(hs[0], hs[1]);
        assert_eq!(sum(hs[0], &v), Ok(55));
        assert_eq!(max(hs[1], &v), Ok(10));
        assert_eq!(close(hs[first]), 0);
        let other = hs[1 - first];
        assert_eq!(sum(other, &v), Ok(55), "the other handle still works");
        assert_eq!(close(other), 0);
    }
}

#[test]
fn eight_threads_a_thousand_invokes_each() {
    setup();
    let h = open(CALC).unwrap();
    let mut m = Rpcmem::new(256);
    m.fill(|i| i as i32);
    let shared: &[i32] = m.slice();
    std::thread::scope(|s| {
        for t in 0..8i32 {
            s.spawn(move || {
                let own: Vec<i32> = (0..64).map(|i| i * t).collect();
                for k in 0..1000 {
                    if k % 2 == 0 {
                        assert_eq!(sum(h, &own), Ok(2016 * i64::from(t)), "thread {t} call {k}");
                    } else {
                        assert_eq!(sum(h, shared), Ok(32_640), "thread {t} call {k} (rpcmem)");
                    }
                }
            });
        }
    });
    assert_eq!(close(h), 0);
}

#[test]
fn bad_inputs_are_codes_not_crashes() {
    setup();
    let h = open(CALC).unwrap();
    let n = 4u32;
    // A buffer pointer into nothing: the driver's EFAULT, as EBADPARM.
    let mut out = 0i64;
    let mut a = [
        buf((&n as *const u32).cast(), 4),
        buf(0x10 as *const u8, 16),
        buf((&mut out as *mut i64).cast(), 8),
    ];
    assert_eq!(invoke(h, SUM, &mut a), AEE_EBADPARM);
    // No argument array for a call that has arguments.
    // SAFETY: a null array is what is being tested.
    let r = unsafe { api::remote_handle64_invoke(CDSP, h, SUM, std::ptr::null_mut()) };
    assert_eq!(r, AEE_EBADPARM);
    // A buffer that starts in an rpcmem buffer and runs past its end.
    let m = Rpcmem::new(4);
    let mut a = [
        buf((&n as *const u32).cast(), 4),
        buf(m.ptr.cast(), 32),
        buf((&mut out as *mut i64).cast(), 8),
    ];
    assert_eq!(invoke(h, SUM, &mut a), AEE_EBADPARM);
    // Null out pointers and names.
    let c = CString::new(CALC).unwrap();
    // Null or foreign pointers are what is being tested below; the library
    // must refuse them without touching them.
    // SAFETY: as just said.
    let r = unsafe { api::remote_handle64_open(CDSP, c.as_ptr(), std::ptr::null_mut()) };
    assert_eq!(r, AEE_EBADPARM);
    // SAFETY: as above.
    let r = unsafe { api::remote_handle64_open(CDSP, std::ptr::null(), &mut 0) };
    assert_eq!(r, AEE_EBADPARM);
    // SAFETY: as above.
    let r = unsafe { api::remote_session_control(CDSP, 2, std::ptr::null_mut(), 8) };
    assert_eq!(r, AEE_EBADPARM);
    // SAFETY: as above.
    let p = unsafe { api::rpcmem_alloc(CDSP, 25, 1, -5) };
    assert!(p.is_null());
    // SAFETY: as above.
    let r = unsafe { api::rpcmem_to_fd(CDSP, 0x1234 as *mut c_void) };
    assert_eq!(r, -1);
    // SAFETY: as above.
    unsafe { api::rpcmem_free(CDSP, 0x1234 as *mut c_void) };
    // Unknown domain, bad session, a module that does not exist.
    assert_eq!(
        open("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_dom=xdsp"),
        Err(AEE_EBADPARM)
    );
    assert_eq!(
        open("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_session=9"),
        Err(AEE_EBADPARM)
    );
    assert!(open("file:///libnosuch_skel.so?nosuch_skel_handle_invoke&_modver=1.0").is_err());
    // The library's pseudo-handles are not offered.
    assert_eq!(open("'\":;./\\attachguestos"), Err(AEE_EUNSUPPORTED));
    assert_eq!(close(h), 0);
}

/// `remote_session_control(req, v)` with a struct, its size as `datalen`.
fn session_control<T>(req: u32, v: &mut T) -> i32 {
    // SAFETY: a valid struct of the size passed.
    unsafe { api::remote_session_control(CDSP, req, (v as *mut T).cast(), size_of::<T>() as u32) }
}

/// Settings that change nothing here are still checked as libadsprpc
/// checks them: a priority out of 1..=255, an init-memory size out of
/// 3..=200 MiB or an unknown domain is `AEE_EBADPARM`.
#[test]
fn accepted_settings_are_checked() {
    setup();
    let mut t = RemoteRpcThreadParams {
        domain: 3,
        prio: 120,
        stack_size: -1,
    };
    assert_eq!(session_control(1, &mut t), 0);
    t.prio = 300;
    assert_eq!(session_control(1, &mut t), AEE_EBADPARM);
    t.prio = -1;
    t.domain = 7;
    assert_eq!(session_control(1, &mut t), AEE_EBADPARM, "domain 7 has no name");
    t.domain = -1;
    assert_eq!(session_control(1, &mut t), 0);
    let mut m = RemoteRpcPdInitmemSize {
        domain: 3,
        pd_initmem_size: 4 << 20,
    };
    assert_eq!(session_control(12, &mut m), 0);
    m.pd_initmem_size = 1 << 20;
    assert_eq!(session_control(12, &mut m), AEE_EBADPARM);
    m.pd_initmem_size = 4 << 20;
    m.domain = 40;
    assert_eq!(session_control(12, &mut m), AEE_EBADPARM);
}

#[test]
fn controls() {
    setup();
    // DSPRPC_GET_DSP_INFO: DOMAIN_SUPPORT, ARCH_VER, and a driver-side id.
    let q = |attr| {
        let mut c = RemoteDspCapability {
            domain: 3,
            attribute_id: attr,
            capability: 0xdead,
        };
        // SAFETY: a valid struct of the size passed.
        let r = unsafe { api::remote_handle_control(CDSP, 2, (&mut c as *mut RemoteDspCapability).cast(), 12) };
        (r, c.capability)
    };
    assert_eq!(q(0), (0, 1));
    assert_eq!(q(6), (0, 0x73));
    assert_eq!(q(256), (0, 0));
    // FASTRPC_GET_URI.
    let name = b"cdsp";
    let module = b"file:///libx_skel.so?x_skel_handle_invoke&_modver=1.0";
    let mut out = [0u8; 128];
    let mut u = RemoteRpcGetUri {
        domain_name: name.as_ptr() as u64,
        domain_name_len: 4,
        session_id: 1,
        module_uri: module.as_ptr() as u64,
        module_uri_len: module.len() as u32,
        uri: out.as_mut_ptr() as u64,
        uri_len: 128,
        ..Default::default()
    };
    // SAFETY: a valid struct whose pointers are valid for their lengths.
    let r = unsafe {
        api::remote_session_control(
            CDSP,
            15,
            (&mut u as *mut RemoteRpcGetUri).cast(),
            size_of::<RemoteRpcGetUri>() as u32,
        )
    };
    assert_eq!(r, 0);
    let got = std::ffi::CStr::from_bytes_until_nul(&out).unwrap().to_str().unwrap();
    assert_eq!(
        got,
        "file:///libx_skel.so?x_skel_handle_invoke&_modver=1.0&_dom=cdsp&_session=1"
    );
    // A wrong size is refused; unknown ids are unsupported.
    // SAFETY: as above.
    let r = unsafe { api::remote_session_control(CDSP, 15, (&mut u as *mut RemoteRpcGetUri).cast(), 8) };
    assert_eq!(r, AEE_EBADPARM);
    // SAFETY: no data is read for an unknown id.
    let r = unsafe { api::remote_session_control(CDSP, 99, std::ptr::null_mut(), 0) };
    assert_eq!(r, AEE_EUNSUPPORTED);
    // SAFETY: as above.
    let r = unsafe { api::remote_handle_control(CDSP, 99, std::ptr::null_mut(), 0) };
    assert_eq!(r, AEE_EUNSUPPORTED);
}

#[test]
fn a_session_opened_on_another_session_id_is_its_own_pd() {
    setup();
    let a = open(CALC).unwrap();
    let b = open(&format!("{CALC}&_session=1")).unwrap();
    let v = [3, 4];
    assert_eq!(sum(a, &v), Ok(7));
    assert_eq!(sum(b, &v), Ok(7));
    let mut g = RemoteRpcGetDomain { domain: -1 };
    // SAFETY: a valid struct of the size passed.
    let r = unsafe { api::remote_handle64_control(CDSP, b, 4, (&mut g as *mut RemoteRpcGetDomain).cast(), 4) };
    assert_eq!((r, g.domain), (0, 3 + 8));
    assert_eq!(close(a), 0);
    assert_eq!(close(b), 0);
}

/// After `fork`, the child of a process that ran the embedded platform gets
/// a library state of its own and a clear error, not a hang on DSP threads
/// that did not survive the fork; the parent goes on.
#[test]
fn fork_child_gets_its_own_state() {
    if std::env::var_os("QDA_CAPI_FORK_ROLE").is_some() {
        return fork_role();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fork_child_gets_its_own_state",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("QDA_CAPI_FORK_ROLE", "1")
        .env("QDA_SOCKET", "/nonexistent/qdad.sock")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("fork role: ok"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fork_role() {
    backend("embedded", None);
    let h = open(CALC).unwrap();
    assert_eq!(sum(h, &[1, 2]), Ok(3));
    // SAFETY: the child only calls the library (which, after fork, touches
    // none of the embedded platform's locks) and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // The parent's handle is not the child's, and the embedded platform
        // cannot serve the child: AEE_EBADSTATE, at once.
        let code = match (sum(h, &[1]), open(CALC)) {
            (Err(0x2c), Err(0x0d)) => 0,
            other => {
                eprintln!("child saw {other:?}");
                1
            }
        };
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    assert!(
        libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
        "child status {st:#x}"
    );
    assert_eq!(sum(h, &[1, 2]), Ok(3), "the parent goes on");
    assert_eq!(close(h), 0);
    println!("fork role: ok");
}

/// `DSPRPC_CONTROL_LATENCY` with `RPC_POLL_QOS` puts the session's file in
/// poll mode (the latency its spin budget, told to the DSP with
/// `adsp_current_process1_poll_mode`), `RPC_DISABLE_QOS` takes it out, and a
/// latency of 10 000 µs or more is `AEE_EBADPARM`, as in libadsprpc's
/// `manage_poll_qos`.
#[test]
fn latency_control_turns_poll_mode_on_and_off() {
    use qda_uapi::remote::{RPC_DISABLE_QOS, RPC_POLL_QOS, RemoteRpcControlLatency};
    setup();
    let drv = qda::embedded_platform().unwrap().embedded().driver.clone();
    let polled = || {
        let st = drv.stats();
        st.poll_answered_spinning + st.poll_spin_timeouts
    };
    // A session of its own (session 3): the other tests of this process
    // share session 0, and their calls must not be polled meanwhile.
    let h = open(&format!("{CALC}&_session=3")).unwrap();
    let set = |enable, latency| {
        let mut l = RemoteRpcControlLatency { enable, latency };
        // SAFETY: a valid struct of the size passed.
        unsafe { api::remote_handle64_control(CDSP, h, 1, (&mut l as *mut RemoteRpcControlLatency).cast(), 8) }
    };
    assert_eq!(set(RPC_POLL_QOS, 10_000), AEE_EBADPARM);
    assert_eq!(set(RPC_POLL_QOS, 40), 0);
    let before = polled();
    for _ in 0..5 {
        assert_eq!(sum(h, &[1, 2, 3]), Ok(6));
    }
    assert!(polled() >= before + 5, "the calls were polled");
    assert_eq!(set(RPC_DISABLE_QOS, 0), 0);
    let off = polled();
    assert_eq!(sum(h, &[1, 2, 3]), Ok(6));
    // No other test turns poll mode on, and this session is this test's.
    assert_eq!(polled(), off, "sleep mode again");
    assert_eq!(close(h), 0);
}

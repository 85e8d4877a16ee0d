//! A virtual DSP that loads skels through the client's `apps_std`
//! (`QDA_DSP_LOAD=apps_std`, thread PDs): a calculator the DSP's own search
//! path does not hold is found along this process's `DSP_LIBRARY_PATH`,
//! read through the listener and run; names that escape are refused. One
//! test: it sets the environment the embedded DSP reads.
#![allow(unsafe_code)]

mod common;

use common::*;

#[test]
fn a_skel_loaded_through_apps_std_runs() {
    for (k, v) in [("QDA_BACKEND", "embedded"), ("QDA_PD_MODE", "thread")] {
        // SAFETY: the only test of this binary; no other thread exists yet.
        unsafe { std::env::set_var(k, v) };
    }
    for k in ["DSP_LIBRARY_PATH", "ADSP_LIBRARY_PATH"] {
        // SAFETY: as above.
        unsafe { std::env::remove_var(k) };
    }
    let v: Vec<i32> = (1..=10).collect();
    // The platform starts with the built-in skels only.
    let h = open(CALC).unwrap();
    assert_eq!(sum(h, &v), Ok(55));
    assert_eq!(close(h), 0);

    // A copy under a name only this process's DSP_LIBRARY_PATH holds.
    let dir = qda_test::TempDir::new("capi-apps-std-load");
    std::fs::copy(
        qda_dsp::builtin_skel_dir().join("libcalculator_skel.so"),
        dir.path().join("libcalcrev_skel.so"),
    )
    .unwrap();
    const URI: &str = "file:///libcalcrev_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";
    // SAFETY: no session is open, so no listener thread reads the
    // environment; the DSP's threads read it only in an open.
    unsafe { std::env::set_var("DSP_LIBRARY_PATH", dir.path()) };
    assert!(open(URI).is_err(), "the DSP's own search path does not hold it");

    // SAFETY: as above.
    unsafe { std::env::set_var("QDA_DSP_LOAD", "apps_std") };
    let h = open(URI).unwrap();
    assert_eq!(sum(h, &v), Ok(55));
    assert_eq!(max(h, &v), Ok(10));
    // Containment: only a plain lib*_skel.so name is asked for.
    for bad in [
        "file:///../libcalcrev_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp",
        "file:///sub/libcalcrev_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp",
        "file:///libcalcrev.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp",
        "file:///libnothere_skel.so?nothere_skel_handle_invoke&_modver=1.0&_dom=cdsp",
    ] {
        assert!(open(bad).is_err(), "{bad}");
    }
    assert_eq!(close(h), 0);
    assert!(no_threads_named("qda-listener"), "a listener thread was left behind");
}

//! Issue 10, finding 1: a module URI names a skel **inside the DSP library
//! search path only**, and only a qaic-shaped entry point is ever called.
//! Every escape is answered exactly as a missing library (`AEE_ENOSUCHMOD`)
//! or a missing symbol (`AEE_ENOSUCHSYMBOL`), and no answer tells the
//! client where the daemon looks for libraries.

use qda_driver::{Driver, LocalMemory};
use qda_dsp::{PdMode, VirtualDsp};
use qda_test::legacy_session;
use qda_test::{TempDir, assert_clean, open_module};
use qda_uapi::fastrpc::*;

const ENOSUCHMOD: u32 = 0x8000_043e;
const ENOSUCHSYMBOL: u32 = 0x8000_0442;

fn open(f: &qda_driver::File, uri: &str) -> Result<u32, (u32, String)> {
    open_module(
        |handle, sc, args| {
            let mut inv = FastrpcInvoke {
                handle,
                sc,
                args: args.as_mut_ptr() as u64,
            };
            f.ioctl(FASTRPC_IOCTL_INVOKE, &mut inv as *mut _ as u64, &LocalMemory)
                .unwrap()
        },
        uri,
    )
}

/// A real skel library outside every search directory: what a hostile
/// client would like the DSP to load.
fn outside_library() -> (TempDir, String) {
    let dir = TempDir::new("outside-skel");
    let lib = dir.join("libevil_skel.so");
    std::fs::copy(qda_dsp::builtin_skel_dir().join("libcalculator_skel.so"), &lib).unwrap();
    let abs = lib.to_str().unwrap().to_string();
    (dir, abs)
}

/// Every escape form: refused as a missing library, and the answer names
/// no search directory.
fn escapes_are_missing_libraries(mode: PdMode) {
    let (_dir, abs) = outside_library();
    let rel = abs.trim_start_matches('/');
    let up = "../".repeat(24);
    let entry = "?calculator_skel_handle_invoke&_modver=1.0";
    let uris = [
        // `..` segments out of the search directory.
        format!("file:///{up}{rel}{entry}"),
        format!("file:///./{up}{rel}{entry}"),
        format!("file:///libcalculator_skel.so/../{up}{rel}{entry}"),
        // An absolute path after `file:///`, and `file:////`.
        format!("file://{abs}{entry}"),
        format!("file:///{abs}{entry}"),
        format!("file:////{rel}{entry}"),
        // Percent-encoded dots and slashes (the parser decodes nothing:
        // `%` is not a byte a library name may hold).
        format!("file:///{}{}{entry}", "%2e%2e%2f".repeat(6), rel.replace('/', "%2f")),
        format!("file:///{}{rel}{entry}", "%2e%2e/".repeat(6)),
        // Odd bytes.
        format!("file:///lib calculator_skel.so{entry}"),
        format!("file:///libcalculator_skel.so\u{1}{entry}"),
        format!("file:///libcalculator_skel.so\\..{entry}"),
        // Names that are no file.
        format!("file:///.{entry}"),
        format!("file:///..{entry}"),
    ];
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", mode).unwrap();
    assert_eq!(dsp.mode(), mode);
    let f = legacy_session(&drv);
    let search = qda_dsp::builtin_skel_dir();
    let search = search.to_str().unwrap();
    for uri in &uris {
        let (code, text) = open(&f, uri).expect_err(uri);
        assert_eq!(code, ENOSUCHMOD, "{mode:?}: {uri}: {text}");
        assert!(text.contains("No such file or directory"), "{uri}: {text}");
        assert!(
            !text.contains(search),
            "{uri}: the answer names the search path: {text}"
        );
    }
    // The shape of a genuinely missing library is the same.
    let (code, text) = open(&f, "file:///libnosuch_skel.so?nosuch_skel_handle_invoke&_modver=1.0").unwrap_err();
    assert_eq!(code, ENOSUCHMOD);
    assert_eq!(
        text,
        "libnosuch_skel.so: cannot open shared object file: No such file or directory"
    );
    // The library inside the search path still opens, by both spellings.
    open(
        &f,
        "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0",
    )
    .unwrap();
    open(
        &f,
        "file://libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0",
    )
    .unwrap();
    drop(f);
    assert_clean(&drv);
}

#[test]
fn escapes_are_missing_libraries_in_a_process_pd() {
    escapes_are_missing_libraries(PdMode::Process);
}

#[test]
fn escapes_are_missing_libraries_in_a_thread_pd() {
    escapes_are_missing_libraries(PdMode::Thread);
}

/// Entry points that are not `<x>_skel_handle_invoke` (`_modver=1.0`) or
/// `<x>_skel_invoke` are refused as missing symbols, before anything is
/// called (in a process PD a call of `abort` would have crashed the PD).
fn only_skel_entry_points(mode: PdMode) {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_with(&drv, "cdsp", mode).unwrap();
    let f = legacy_session(&drv);
    for sym in [
        "system",
        "abort",
        "exit",
        "qdaplain_skel_invoke&_modver=1.0",
        "_skel_handle_invoke&_modver=1.0",
        "x_skel_handle_invokex&_modver=1.0",
        "a.b_skel_invoke",
    ] {
        let uri = format!("file:///libcalculator_skel.so?{sym}");
        let (code, text) = open(&f, &uri).expect_err(&uri);
        assert_eq!(code, ENOSUCHSYMBOL, "{mode:?}: {uri}: {text}");
        let name = sym.split('&').next().unwrap();
        assert!(text.contains(name), "{uri}: {text}");
        assert!(
            !text.contains(qda_dsp::builtin_skel_dir().to_str().unwrap()),
            "{uri}: {text}"
        );
    }
    // A qaic-shaped name the library lacks: the same answer.
    let (code, text) = open(
        &f,
        "file:///libcalculator_skel.so?nosuch_skel_handle_invoke&_modver=1.0",
    )
    .unwrap_err();
    assert_eq!(code, ENOSUCHSYMBOL, "{text}");
    assert!(!text.contains(qda_dsp::builtin_skel_dir().to_str().unwrap()), "{text}");
    // The entry points qda's own tests use still open.
    for uri in [
        "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0",
        "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0",
        "file:///libcalculator_skel.so?qdatest_skel_handle_invoke",
        "file:///libcalculator_skel.so?qdaplain_skel_invoke",
        "file:///libcalculator_skel.so?_modver=1.0",
    ] {
        open(&f, uri).unwrap_or_else(|e| panic!("{uri}: {e:?}"));
    }
    drop(f);
    assert_clean(&drv);
}

#[test]
fn only_skel_entry_points_in_a_process_pd() {
    only_skel_entry_points(PdMode::Process);
}

#[test]
fn only_skel_entry_points_in_a_thread_pd() {
    only_skel_entry_points(PdMode::Thread);
}

//! Regression tests for issue 12's findings G1 and G2, through the raw
//! UAPI on the virtual DSP (G3 is in `qda-driver/tests/upstream_bugs.rs`;
//! G4 in `qda-driver`'s platform tests, `qdad/tests/bin.rs`,
//! `qda/tests/trace.rs`, `qda-cli/tests/cli.rs` and the conformance
//! suite's `*_rfc_2026_02` backends).

use std::sync::Arc;

use qda_driver::Driver;
use qda_dsp::{PdMode, VirtualDsp};
use qda_proto::bodies::RemotectlCloseIn;
use qda_test::{assert_clean, invoke_arg as arg, legacy_invoke, legacy_session, open_module};
use qda_uapi::fastrpc::*;
use zerocopy::IntoBytes;

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";
const REVERSE: &str = "file:///libreverse_skel.so?reverse_skel_handle_invoke&_modver=1.0";

/// A Rust skel: method 2 reverses its input.
#[derive(Debug)]
struct Reverse;

impl qda_dsp::skel::Skel for Reverse {
    fn invoke(&self, _h: u64, sc: qda_proto::Scalars, a: &mut qda_dsp::skel::Args) -> i32 {
        if sc.method() != 2 || a.inputs.len() != 1 || a.outputs.len() != 1 {
            return qda_dsp::aee::EBADPARM;
        }
        let mut v = a.inputs[0].clone();
        v.reverse();
        let n = v.len().min(a.outputs[0].len());
        a.outputs[0][..n].copy_from_slice(&v[..n]);
        0
    }
}

fn invoke(f: &qda_driver::File) -> impl Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64 + Copy + '_ {
    move |h, sc, a| legacy_invoke(f, h, sc, a).unwrap_or_else(|e| panic!("INVOKE of handle {h:#x}: {e}"))
}

/// `remotectl1 close1` of `h`: the DSP's `dlerr`.
fn close_module(f: &qda_driver::File, h: u32) -> u32 {
    let inp = RemotectlCloseIn {
        handle: h,
        dlerr_len: 255,
    };
    let mut dlerr = 0u32;
    let mut text = [0u8; 255];
    let mut a = [
        arg(inp.as_bytes().as_ptr(), 8, -1),
        arg(dlerr.as_mut_bytes().as_mut_ptr(), 4, -1),
        arg(text.as_mut_ptr(), 255, -1),
    ];
    assert_eq!(invoke(f)(8, 0x0301_0200, &mut a), 0, "close1 of {h:#x}");
    dlerr
}

/// The calculator's sum of 0..10 through module `h`.
fn sum(f: &qda_driver::File, h: u32) -> i64 {
    let v: Vec<u8> = (0..10i32).flat_map(|k| k.to_le_bytes()).collect();
    let n = 10u32.to_le_bytes();
    let mut out = [0u8; 8];
    let mut a = [
        arg(n.as_ptr(), 4, -1),
        arg(v.as_ptr(), 40, -1),
        arg(out.as_mut_ptr(), 8, -1),
    ];
    assert_eq!(invoke(f)(h, 0x0202_0100, &mut a), 0, "sum through {h:#x}");
    i64::from_le_bytes(out)
}

/// `stressed` reversed through the Rust skel's module `h`.
fn reverse(f: &qda_driver::File, h: u32) -> [u8; 8] {
    let src = *b"stressed";
    let mut dst = [0u8; 8];
    let mut a = [arg(src.as_ptr(), 8, -1), arg(dst.as_mut_ptr(), 8, -1)];
    assert_eq!(invoke(f)(h, 0x0201_0100, &mut a), 0, "reverse through {h:#x}");
    dst
}

/// A module handle as a real DSP gives one: above every static handle
/// libfastrpc knows (it treats 0..=0xff as static), aligned as a heap
/// pointer.
fn pointer_like(h: u32) -> bool {
    h > 0xff && h.is_multiple_of(8)
}

/// G1 (issue 12): module handles were numbered from 0x10, so libfastrpc
/// took them for static handles (0..=0xff), did not count them as open,
/// and with two modules open the first `remote_handle64_close` tore the
/// session down. Now a PD's handles are pointer-like (above 0xff, 8-byte
/// aligned, from a per-PD random base) and never reused while open, for C
/// skels in a thread PD, in a PD process, and Rust skels. Two modules open
/// at once, closed in either order; a closed handle is not handed out
/// again while another is open.
///
/// Fails if: handles start at 0x10 again (the check `> 0xff`), two open
/// modules share a handle, a reopen returns the handle just closed, or a
/// close of one module closes the other.
#[test]
fn g1_module_handles_are_pointer_like_distinct_and_not_reused_while_open() {
    for mode in [PdMode::Thread, PdMode::Process] {
        for (uri_a, uri_b) in [(CALC, CALC), (CALC, REVERSE), (REVERSE, REVERSE)] {
            for close_first_opened in [true, false] {
                let what = format!("{mode:?} PD, {uri_a} + {uri_b}, close first opened: {close_first_opened}");
                let drv = Driver::builtin().unwrap();
                let dsp = VirtualDsp::start_with(&drv, "cdsp", mode).unwrap();
                dsp.register_skel("libreverse_skel.so", Arc::new(Reverse));
                let f = legacy_session(&drv);
                let call = |h: u32, uri: &str| {
                    if uri == CALC {
                        assert_eq!(sum(&f, h), 45, "{what}");
                    } else {
                        assert_eq!(&reverse(&f, h), b"desserts", "{what}");
                    }
                };
                let a = open_module(invoke(&f), uri_a).unwrap();
                let b = open_module(invoke(&f), uri_b).unwrap();
                assert!(pointer_like(a) && pointer_like(b), "{what}: {a:#x} {b:#x}");
                assert_ne!(a, b, "{what}");
                call(a, uri_a);
                call(b, uri_b);
                let ((gone, gone_uri), (kept, kept_uri)) = if close_first_opened {
                    ((a, uri_a), (b, uri_b))
                } else {
                    ((b, uri_b), (a, uri_a))
                };
                assert_eq!(close_module(&f, gone), 0, "{what}");
                call(kept, kept_uri);
                // A reopen while `kept` is open: a new handle, not the closed one.
                let c = open_module(invoke(&f), gone_uri).unwrap();
                assert!(pointer_like(c), "{what}: {c:#x}");
                assert!(c != gone && c != kept, "{what}: {c:#x} reuses {gone:#x} or {kept:#x}");
                call(c, gone_uri);
                assert_eq!(close_module(&f, kept), 0, "{what}");
                assert_ne!(
                    close_module(&f, kept),
                    0,
                    "{what}: a second close of {kept:#x} is refused"
                );
                call(c, gone_uri);
                assert_eq!(close_module(&f, c), 0, "{what}");
                drop(f);
                drop(dsp);
                assert_clean(&drv);
            }
        }
    }
}

/// G1: each PD numbers its modules from its own random base, so a handle
/// of one PD does not name a module of another.
///
/// Fails if: the PDs share one counter or one fixed base (their first
/// handles equal or a few steps apart).
#[test]
fn g1_each_pd_has_its_own_handle_base() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Thread).unwrap();
    let (f1, f2) = (legacy_session(&drv), legacy_session(&drv));
    let h1 = open_module(invoke(&f1), CALC).unwrap();
    let h2 = open_module(invoke(&f2), CALC).unwrap();
    assert!(pointer_like(h1) && pointer_like(h2), "{h1:#x} {h2:#x}");
    // Two random page-aligned bases within 4 KiB of each other: about one
    // chance in 2^17.
    assert!(h1.abs_diff(h2) >= 0x1000, "two PDs' first handles {h1:#x} {h2:#x}");
    // The other PD's handle names nothing here.
    let v = [0u8; 4];
    let n = 1u32.to_le_bytes();
    let mut out = [0u8; 8];
    let mut a = [
        arg(n.as_ptr(), 4, -1),
        arg(v.as_ptr(), 4, -1),
        arg(out.as_mut_ptr(), 8, -1),
    ];
    assert_ne!(legacy_invoke(&f1, h2, 0x0202_0100, &mut a).unwrap(), 0);
    drop((f1, f2));
    assert_clean(&drv);
}

/// `INIT_CREATE` with `attrs` on the legacy node `node`: the ioctl's value
/// or errno.
fn legacy_create(drv: &Driver, node: &str, attrs: u32) -> Result<i64, qda_driver::Errno> {
    let f = qda_test::open(drv, node);
    let mut c = FastrpcInitCreate {
        filelen: 0,
        filefd: -1,
        attrs,
        siglen: 0,
        file: 0,
    };
    qda_test::ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut c)
}

/// `REMOTE_SESSION_CREATE` with `attrs` on `label`'s accel node.
fn qda_create(drv: &Driver, label: &str, attrs: u32) -> Result<i64, qda_driver::Errno> {
    use qda_uapi::qda::{DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, DrmQdaInitCreate};
    let f = qda_test::accel(drv, label);
    let mut c = DrmQdaInitCreate {
        filelen: 0,
        filefd: -1,
        attrs,
        siglen: 0,
        file: 0,
    };
    qda_test::ioctl(&f, DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, &mut c)
}

/// G2 (issue 12): `attrs` were not checked, so an unsigned-PD request
/// succeeded on a domain whose capability 1 (`UNSIGNED_PD_SUPPORT`) is 0.
/// Mainline's kernel refuses only in `is_session_rejected` (a non-secure
/// node on a secure channel: `ECONNREFUSED`; `qda-driver`'s
/// `create_session`) and otherwise passes `attrs` to the DSP untouched,
/// unknown bits included; the posted QDA driver checks nothing. So the
/// refusal here is the DSP's: the create answers `AEE_EUNSUPPORTED`
/// (0x80000414), which the kernel returns as the ioctl's value.
///
/// Fails if: an unsigned PD is created on the ADSP or SDSP (both
/// `qcom,non-secure-domain` on our board, so the kernel lets the request
/// through) by either UAPI, a signed or an unsigned one is refused on the
/// CDSP, or unknown attr bits are refused.
#[test]
fn g2_unsigned_pd_is_refused_where_the_domain_has_none() {
    const UNSIGNED: u32 = FASTRPC_MODE_UNSIGNED_MODULE;
    let refused = Ok(qda_dsp::aee::EUNSUPPORTED as i64);
    let drv = Driver::builtin().unwrap();
    let _dsps = VirtualDsp::start_all(&drv).unwrap();
    for label in ["adsp", "sdsp"] {
        let node = format!("/dev/fastrpc-{label}");
        assert_eq!(legacy_create(&drv, &node, UNSIGNED), refused, "{node}");
        assert_eq!(legacy_create(&drv, &node, 0), Ok(0), "{node}: signed");
        assert_eq!(qda_create(&drv, label, UNSIGNED), refused, "{label} accel");
        assert_eq!(qda_create(&drv, label, 0), Ok(0), "{label} accel: signed");
    }
    for node in ["/dev/fastrpc-cdsp", "/dev/fastrpc-cdsp-secure"] {
        assert_eq!(legacy_create(&drv, node, UNSIGNED), Ok(0), "{node}");
    }
    assert_eq!(qda_create(&drv, "cdsp", UNSIGNED), Ok(0), "cdsp accel");
    // The kernel's own refusal is unchanged: a signed PD from the
    // non-secure node of the secure CDSP channel.
    assert_eq!(
        legacy_create(&drv, "/dev/fastrpc-cdsp", 0),
        Err(qda_driver::Errno::ECONNREFUSED)
    );
    // Unknown bits pass, as the kernel passes them (and the DSP ignores
    // what it does not know).
    let unknown = 0x4000_0000 | 0x0800_0000;
    assert_eq!(legacy_create(&drv, "/dev/fastrpc-cdsp-secure", unknown), Ok(0));
    assert_eq!(legacy_create(&drv, "/dev/fastrpc-adsp", unknown), Ok(0));
    assert_eq!(qda_create(&drv, "adsp", unknown), Ok(0));
    assert_clean(&drv);
}

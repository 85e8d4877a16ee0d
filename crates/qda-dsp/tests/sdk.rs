//! What a skel sees: a C skel built with qda's skel-side headers
//! (`crates/qda-sdk/include/HAP_*.h`) and linked at load time against the DSP runtime,
//! called through the raw UAPI with dma handles, in thread and process PDs.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use qda_driver::{Creds, Driver};
use qda_dsp::{PdMode, VirtualDsp};
use qda_test::{TempDir, assert_clean, invoke_arg as arg, legacy_invoke, legacy_session, open_module, own};
use qda_uapi::drm::*;
use qda_uapi::fastrpc::FastrpcInvokeArgs;
use qda_uapi::qda::*;

const URI: &str = "file:///libdmahandle_skel.so?dmahandle_skel_handle_invoke&_modver=1.0";

/// `makex(0, method, inbufs, outbufs, inhandles, outhandles)`.
fn sc(m: u32, ib: u32, ob: u32, ih: u32, oh: u32) -> u32 {
    (m << 24) | (ib << 16) | (ob << 8) | (ih << 4) | oh
}

/// The test skel, compiled once into a directory of its own.
fn skel_dir() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = TempDir::new("sdk-skels");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = d.path().join("libdmahandle_skel.so");
        let st = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args([
                "-shared",
                "-fPIC",
                "-O2",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-DQDA_SKEL",
                "-I",
            ])
            .arg(manifest.join("../qda-sdk/include"))
            .arg("-o")
            .arg(&out)
            .arg(manifest.join("tests/skels/dmahandle_skel.c"))
            .status()
            .expect("running cc");
        assert!(st.success(), "compiling dmahandle_skel.c");
        d
    })
    .path()
}

/// Every tracing event's text, for the FARF tests.
fn captured() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let w = Writer(log.clone());
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .with_env_filter("qda::trace=info")
            .finish();
        tracing::subscriber::set_global_default(sub).expect("one subscriber per test binary");
        log
    })
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap()).into_owned()
}

/// How the client reaches the DSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uapi {
    /// `/dev/fastrpc-cdsp-secure`, a buffer from `/dev/dma_heap/system`.
    Legacy,
    /// `/dev/accel/accelN`, a GEM object exported as a dma-buf.
    Qda,
}

/// A session with the skel open, and a 3-page dma-buf the client filled.
struct Setup {
    drv: Driver,
    _dsp: VirtualDsp,
    f: qda_driver::File,
    uapi: Uapi,
    h: u32,
    /// The dma-buf's fd in this process (what the client sends).
    fd: OwnedFd,
    map: qda_driver::sys::Mapping,
    keep: Vec<Box<dyn std::any::Any>>,
}

const SIZE: usize = 3 * 4096;

impl Setup {
    fn new(uapi: Uapi, pd: PdMode) -> Setup {
        let drv = Driver::builtin().unwrap();
        let dsp = VirtualDsp::start_in(&drv, "cdsp", pd, vec![skel_dir().to_path_buf()]).unwrap();
        assert_eq!(dsp.mode(), pd);
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        let (f, fd, map) = match uapi {
            Uapi::Legacy => {
                let f = legacy_session(&drv);
                let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
                let buf = heap.heap_alloc(SIZE as u64, 0, 2 | 0x80000, 0).unwrap();
                let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
                keep.push(Box::new(heap));
                (f, buf, map)
            }
            Uapi::Qda => {
                let accel = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
                let f = drv.open(&accel, Creds::current()).unwrap();
                let mut create = DrmQdaInitCreate {
                    filelen: 0,
                    filefd: -1,
                    attrs: 0,
                    siglen: 0,
                    file: 0,
                };
                assert_eq!(
                    qda_test::ioctl(&f, DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, &mut create),
                    Ok(0)
                );
                let mut g = DrmQdaGemCreate {
                    size: SIZE as u64,
                    handle: 0,
                    pad: 0,
                };
                qda_test::ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g).unwrap();
                let mut e = DrmPrimeHandle {
                    handle: g.handle,
                    flags: DRM_CLOEXEC | DRM_RDWR,
                    fd: -1,
                };
                qda_test::ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut e).unwrap();
                let fd = own(e.fd);
                let map = drv.map_dmabuf(fd.as_fd(), true).unwrap();
                (f, fd, map)
            }
        };
        let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        map.write_at(0, &bytes).unwrap();
        let h = {
            let inv = invoker(&f, uapi);
            open_module(inv, URI).unwrap_or_else(|e| panic!("open: {e:?}"))
        };
        Setup {
            drv,
            _dsp: dsp,
            f,
            uapi,
            h,
            fd,
            map,
            keep,
        }
    }

    fn invoke(&self, sc: u32, args: &mut [FastrpcInvokeArgs]) -> i64 {
        invoker(&self.f, self.uapi)(self.h, sc, args)
    }

    fn done(self) {
        let Setup {
            drv, f, fd, map, keep, ..
        } = self;
        drop((map, fd, keep, f));
        assert_clean(&drv);
    }
}

fn invoker(f: &qda_driver::File, uapi: Uapi) -> impl Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64 + '_ {
    move |handle, sc, args| match uapi {
        Uapi::Legacy => legacy_invoke(f, handle, sc, args).unwrap_or_else(|e| panic!("INVOKE: {e}")),
        Uapi::Qda => {
            let mut inv = DrmQdaInvokeArgs {
                handle,
                sc,
                args: args.as_mut_ptr() as u64,
            };
            qda_test::ioctl(f, DRM_IOCTL_QDA_REMOTE_INVOKE, &mut inv).unwrap_or_else(|e| panic!("INVOKE: {e}"))
        }
    }
}

/// A handle argument as libadsprpc passes one: `ptr` is the offset,
/// `length` the registered length, `fd` the buffer's.
fn handle(fd: i32, offset: u64, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: offset,
        length: len as u64,
        fd,
        attr: 0,
    }
}

/// `struct report` of the skel.
fn report(b: &[u8; 40]) -> (i32, u32, u32, u32, u64, i32, i32, u64) {
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    (
        u32_at(0) as i32,
        u32_at(4),
        u32_at(8),
        u32_at(12),
        u64_at(16),
        u32_at(24) as i32,
        u32_at(28) as i32,
        u64_at(32),
    )
}

/// The skel gets an `in dmahandle` whole: the client's fd, offset and
/// length, the buffer's size from `adsp_mmap_fd_getinfo`, and the client's
/// bytes through `HAP_mmap_get`.
fn in_handle_reaches_the_skel(uapi: Uapi, pd: PdMode) {
    let what = format!("{uapi:?} UAPI, {pd:?} PD");
    let s = Setup::new(uapi, pd);
    let (offset, len) = (4096 + 100, 5000usize);
    let expect: u64 = (offset as usize..offset as usize + len).map(|i| (i % 251) as u64).sum();
    let mut out = [0u8; 40];
    let mut a = [
        arg(out.as_mut_ptr(), out.len(), -1),
        handle(s.fd.as_raw_fd(), offset, len),
    ];
    assert_eq!(s.invoke(sc(2, 0, 1, 1, 0), &mut a), 0, "{what}");
    let (fd, off, l, buflen, sum, get_rc, put_rc, dsp_addr) = report(&out);
    assert_eq!(
        (fd, off, l),
        (s.fd.as_raw_fd(), offset as u32, len as u32),
        "{what}: remote_arg.dma"
    );
    assert_eq!(buflen as usize, SIZE, "{what}: adsp_mmap_fd_getinfo");
    assert_eq!((get_rc, put_rc), (0, 0), "{what}: HAP_mmap_get/put");
    assert_eq!(sum, expect, "{what}: the client's bytes");
    assert_ne!(dsp_addr, 0, "{what}: the SMMU address");

    // An out handle: the skel writes the client's buffer in place.
    let v = [0x5au8];
    let mut a = [arg(v.as_ptr(), 1, -1), handle(s.fd.as_raw_fd(), 10, 20)];
    assert_eq!(s.invoke(sc(8, 1, 0, 0, 1), &mut a), 0, "{what}: out handle");
    let mut got = [0u8; 32];
    s.map.read_at(0, &mut got).unwrap();
    assert_eq!(&got[10..30], &[0x5a; 20], "{what}");
    assert_eq!((got[9], got[30]), (9, 30), "{what}: only [offset, offset + len)");

    // The fd is the PD's only for the call.
    let fd = (s.fd.as_raw_fd() as u32).to_le_bytes();
    let mut rcs = [0i32; 4];
    let mut a = [arg(fd.as_ptr(), 4, -1), arg(rcs.as_mut_ptr().cast(), 16, -1)];
    assert_eq!(s.invoke(sc(4, 1, 1, 0, 0), &mut a), 0, "{what}");
    let nomap = qda_dsp::aee::ENOSUCHMAP;
    assert_eq!(
        rcs,
        [nomap, nomap, nomap, qda_dsp::aee::EBADPARM],
        "{what}: after the call"
    );
    s.done();
}

#[test]
fn an_in_dmahandle_reaches_a_thread_pd_skel_whole() {
    in_handle_reaches_the_skel(Uapi::Legacy, PdMode::Thread);
    in_handle_reaches_the_skel(Uapi::Qda, PdMode::Thread);
}

#[test]
fn an_in_dmahandle_reaches_a_process_pd_skel_whole() {
    in_handle_reaches_the_skel(Uapi::Legacy, PdMode::Process);
    in_handle_reaches_the_skel(Uapi::Qda, PdMode::Process);
}

/// `HAP_mmap_get` of an fd that is no handle of the call is an error code,
/// never a crash; null pointers too.
#[test]
fn hap_mmap_get_of_an_unknown_fd_is_an_error() {
    for pd in [PdMode::Thread, PdMode::Process] {
        let s = Setup::new(Uapi::Legacy, pd);
        for fd in [-1i32, 0, 12345] {
            let b = (fd as u32).to_le_bytes();
            let mut rcs = [0i32; 4];
            let mut a = [arg(b.as_ptr(), 4, -1), arg(rcs.as_mut_ptr().cast(), 16, -1)];
            assert_eq!(s.invoke(sc(4, 1, 1, 0, 0), &mut a), 0);
            let nomap = qda_dsp::aee::ENOSUCHMAP;
            assert_eq!(rcs, [nomap, nomap, nomap, qda_dsp::aee::EBADPARM], "{pd:?} fd {fd}");
        }
        s.done();
    }
}

/// A skel that gets a buffer keeps it past the call, until it puts it.
#[test]
fn a_skel_keeps_a_buffer_from_get_to_put() {
    for pd in [PdMode::Thread, PdMode::Process] {
        let s = Setup::new(Uapi::Legacy, pd);
        let mut a = [handle(s.fd.as_raw_fd(), 0, 300)];
        assert_eq!(s.invoke(sc(5, 0, 0, 1, 0), &mut a), 0, "{pd:?}: keep");
        // Changed by the client after the call: the skel sees the change.
        s.map.write_at(0, &[1u8; 300]).unwrap();
        let mut out = [0u8; 16];
        let mut a = [arg(out.as_mut_ptr(), 16, -1)];
        assert_eq!(s.invoke(sc(6, 0, 1, 0, 0), &mut a), 0, "{pd:?}: kept");
        let sum = u64::from_le_bytes(out[..8].try_into().unwrap());
        let put = i32::from_le_bytes(out[8..12].try_into().unwrap());
        let again = i32::from_le_bytes(out[12..16].try_into().unwrap());
        assert_eq!((sum, put), (300, 0), "{pd:?}");
        assert_eq!(again, qda_dsp::aee::ENOSUCHMAP, "{pd:?}: gone at its last put");
        s.done();
    }
}

/// A buffer the client maps by fd (MEM_MAP) is the PD's by that fd until
/// unmapped: a skel finds it with `HAP_mmap_get` in any call.
#[test]
fn a_buffer_mapped_by_fd_is_found_by_fd_until_unmapped() {
    use qda_uapi::fastrpc::{FASTRPC_IOCTL_MEM_MAP, FASTRPC_IOCTL_MEM_UNMAP, FastrpcMemMap, FastrpcMemUnmap};
    for pd in [PdMode::Thread, PdMode::Process] {
        let s = Setup::new(Uapi::Legacy, pd);
        let fd = s.fd.as_raw_fd();
        let peek_with = |method: u32| {
            let req = [fd, 4000, 200];
            let mut out = [0u8; 16];
            let mut a = [arg(req.as_ptr().cast(), 12, -1), arg(out.as_mut_ptr(), 16, -1)];
            assert_eq!(s.invoke(sc(method, 1, 1, 0, 0), &mut a), 0, "{pd:?}: peek");
            let sum = u64::from_le_bytes(out[..8].try_into().unwrap());
            let get = i32::from_le_bytes(out[8..12].try_into().unwrap());
            let put = i32::from_le_bytes(out[12..].try_into().unwrap());
            (sum, get, put)
        };
        let peek = || peek_with(9);
        let nomap = qda_dsp::aee::ENOSUCHMAP;
        assert_eq!(peek(), (0, nomap, 0), "{pd:?}: not mapped yet");
        let mut mm = FastrpcMemMap {
            fd,
            length: SIZE as u64,
            ..Default::default()
        };
        assert_eq!(qda_test::ioctl(&s.f, FASTRPC_IOCTL_MEM_MAP, &mut mm), Ok(0));
        let expect: u64 = (4000..4200).map(|i| (i % 251) as u64).sum();
        assert_eq!(peek(), (expect, 0, 0), "{pd:?}: mapped by fd");
        assert_eq!(peek(), (expect, 0, 0), "{pd:?}: again");
        assert_eq!(peek_with(10), (expect, 0, 0), "{pd:?}: HAP_mmap, HAP_munmap");
        let mut mu = FastrpcMemUnmap {
            fd,
            vaddr: mm.vaddrout,
            length: SIZE as u64,
            ..Default::default()
        };
        assert_eq!(qda_test::ioctl(&s.f, FASTRPC_IOCTL_MEM_UNMAP, &mut mu), Ok(0));
        assert_eq!(peek(), (0, nomap, 0), "{pd:?}: unmapped");
        assert_eq!(peek_with(10), (0, -1, 0), "{pd:?}: HAP_mmap fails");
        s.done();
    }
}

/// FARF lines reach the trace (and stderr); levels compiled out leave no
/// trace, not even their text in the library.
#[test]
fn farf_reaches_the_trace_by_level() {
    let _ = captured();
    for (pd, token) in [(PdMode::Thread, 7001u32), (PdMode::Process, 7002)] {
        let s = Setup::new(Uapi::Legacy, pd);
        let t = token.to_le_bytes();
        let mut a = [arg(t.as_ptr(), 4, -1)];
        assert_eq!(s.invoke(sc(3, 1, 0, 0, 0), &mut a), 0);
        // A PD process's lines come over its socket, read with the reply.
        let log = log_text();
        assert!(log.contains(&format!("FARF farf-high {token}")), "{pd:?}: {log}");
        assert!(log.contains(&format!("FARF farf-always {token}")), "{pd:?}: {log}");
        assert!(log.contains("farf=\"HIGH\"") || log.contains("farf=HIGH"), "{log}");
        assert!(
            log.contains(&format!("FARF farf-newline {token} farf=")),
            "one line: {log}"
        );
        for off in ["low", "medium", "error", "runtime"] {
            assert!(!log.contains(&format!("farf-{off} {token}")), "{pd:?}: {off}: {log}");
        }
        if pd == PdMode::Process {
            assert!(log.contains("qda-pd:"), "the PD is named: {log}");
        }
        s.done();
    }
    let lib = std::fs::read(skel_dir().join("libdmahandle_skel.so")).unwrap();
    let has = |s: &[u8]| lib.windows(s.len()).any(|w| w == s);
    assert!(has(b"farf-high %u"));
    assert!(!has(b"farf-low %u") && !has(b"farf-medium %u"), "compiled out");
}

/// The runtime's clocks and heap, as a skel loaded RTLD_DEEPBIND |
/// RTLD_LOCAL calls them (its HAP_* symbols resolve against the runtime
/// loaded RTLD_GLOBAL), in this process and in a sandboxed PD host.
#[test]
fn a_deepbind_skel_calls_the_runtime() {
    for pd in [PdMode::Thread, PdMode::Process] {
        runtime_calls(pd);
    }
}

fn runtime_calls(pd: PdMode) {
    let s = Setup::new(Uapi::Legacy, pd);
    let mut out = [0u8; 40];
    let mut a = [arg(out.as_mut_ptr(), 40, -1)];
    assert_eq!(s.invoke(sc(7, 0, 1, 0, 0), &mut a), 0);
    let u64_at = |o: usize| u64::from_le_bytes(out[o..o + 8].try_into().unwrap());
    let i32_at = |o: usize| i32::from_le_bytes(out[o..o + 4].try_into().unwrap());
    let (slept, qtimer, cycles) = (u64_at(0), u64_at(8), u64_at(16));
    assert!(
        (2000..1_000_000).contains(&slept),
        "{pd:?}: HAP_perf_get_time_us: {slept}"
    );
    assert!(qtimer.abs_diff(slept) < 200, "qtimer {qtimer} vs {slept} us");
    // Nominal 1 GHz: a cycle per nanosecond.
    assert!((cycles / 1000).abs_diff(slept) < 200, "{cycles} cycles vs {slept} us");
    assert_eq!((i32_at(24), i32_at(28)), (0, 0), "HAP_malloc, HAP_free");
    assert_eq!(i32_at(32), 0x8000_040a_u32 as i32, "HAP_free(NULL): AEE_EBADCLASS");
    s.done();
}

/// In a child run of this test binary (`QDA_SDK_FARF_CHILD` set): the FARF
/// method in a thread PD and in a process PD, nothing else.
#[test]
fn farf_child() {
    let Ok(token) = std::env::var("QDA_SDK_FARF_CHILD") else {
        return;
    };
    let token: u32 = token.parse().unwrap();
    for (pd, t) in [(PdMode::Thread, token), (PdMode::Process, token + 1)] {
        let s = Setup::new(Uapi::Legacy, pd);
        let b = t.to_le_bytes();
        let mut a = [arg(b.as_ptr(), 4, -1)];
        assert_eq!(s.invoke(sc(3, 1, 0, 0, 0), &mut a), 0);
        s.done();
    }
}

/// The child's stderr: `<LEVEL> <file>:<line>: <message>`, one line each,
/// prefixed with the PD for a process PD; run-time FARFs only with
/// `QDA_FARF_RUNTIME=1`.
fn farf_stderr(runtime: bool) -> String {
    let mut c = std::process::Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "farf_child", "--nocapture", "--test-threads=1"])
        .env("QDA_SDK_FARF_CHILD", "7100")
        .env_remove("QDA_FARF_RUNTIME");
    if runtime {
        c.env("QDA_FARF_RUNTIME", "1");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn farf_lines_reach_stderr_and_runtime_levels_are_off_by_default() {
    let err = farf_stderr(false);
    let line = |t: u32, what: &str| {
        err.lines()
            .find(|l| l.contains(&format!("farf-{what} {t}")))
            .map(str::to_string)
    };
    let thread = line(7100, "high").unwrap_or_else(|| panic!("{err}"));
    assert!(
        thread.starts_with("HIGH ") && thread.contains("dmahandle_skel.c:"),
        "{thread}"
    );
    assert!(thread.ends_with(": farf-high 7100"), "{thread}");
    let process = line(7101, "high").unwrap_or_else(|| panic!("{err}"));
    assert!(
        process.starts_with("[qda-pd:") && process.contains("] HIGH "),
        "{process}"
    );
    assert!(
        line(7100, "newline").is_some() && line(7101, "always").is_some(),
        "{err}"
    );
    for t in [7100, 7101] {
        assert!(line(t, "low").is_none() && line(t, "runtime").is_none(), "{err}");
    }
    let err = farf_stderr(true);
    for t in [7100, 7101] {
        let rt = err
            .lines()
            .find(|l| l.contains(&format!("farf-runtime {t}")))
            .unwrap_or_else(|| panic!("run-time FARF with QDA_FARF_RUNTIME=1: {err}"));
        assert!(rt.contains("HIGH "), "{rt}");
    }
}

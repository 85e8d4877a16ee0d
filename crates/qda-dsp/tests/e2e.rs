//! End to end through the raw UAPIs: ioctl → packing → channel → virtual
//! DSP → C calculator skel → back.

use std::os::fd::{AsFd, AsRawFd};

use qda_driver::{Creds, Driver, LocalMemory};
use qda_dsp::{PdMode, VirtualDsp};
use qda_test::{assert_clean, invoke_arg as arg, legacy_invoke, legacy_session, open_module, own};
use qda_uapi::drm::*;
use qda_uapi::fastrpc::*;
use qda_uapi::qda::Revision;
use qda_uapi::qda::*;

const URI: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";

/// An ioctl that must succeed; its value.
fn ioctl<T>(f: &qda_driver::File, cmd: u32, arg: &mut T) -> i64 {
    qda_test::ioctl(f, cmd, arg).unwrap_or_else(|e| panic!("ioctl 0x{cmd:08x}: {e}"))
}

fn calc<F: Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64>(
    invoke: &F,
    h: u32,
    method: u32,
    vec_ptr: *const u8,
    fd: i32,
    n: u32,
) -> Vec<u8> {
    let count = n.to_le_bytes();
    let mut out = [0u8; 8];
    let out_len = if method == 2 { 8 } else { 4 };
    let mut a = [
        arg(count.as_ptr(), 4, -1),
        arg(vec_ptr, 4 * n as usize, fd),
        arg(out.as_mut_ptr(), out_len, -1),
    ];
    assert_eq!(invoke(h, (method << 24) | 0x0002_0100, &mut a), 0);
    out[..out_len].to_vec()
}

/// An invoke function over the legacy INVOKE ioctl of `f`.
fn invoker(f: &qda_driver::File) -> impl Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64 + Copy + '_ {
    move |handle, sc, args| {
        legacy_invoke(f, handle, sc, args).unwrap_or_else(|e| panic!("INVOKE of handle {handle}: {e}"))
    }
}
/// How the application reaches the DSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uapi {
    /// `/dev/accel/accelN`, May 2026: buffers by dma-buf fd.
    Qda,
    /// `/dev/accel/accelN`, the Feb 2026 RFC: buffers by GEM handle.
    QdaRfc,
    /// `/dev/fastrpc-cdsp-secure`.
    Legacy,
}

/// Where the calculator's vector lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vector {
    /// A GEM object of the accel file, mapped into this process.
    Gem,
    /// A dma-buf from `/dev/dma_heap/system`.
    Heap,
    /// Plain memory, copied through the payload.
    Inline,
}

/// One way through the stack for the calculator.
struct CalcPath {
    uapi: Uapi,
    vector: Vector,
    pd: PdMode,
}

/// Every way an application reaches the calculator skel: UAPI × where the
/// vector lives × how the user PD runs.
const CALCULATOR_PATHS: &[CalcPath] = &[
    CalcPath {
        uapi: Uapi::Qda,
        vector: Vector::Gem,
        pd: PdMode::Process,
    },
    CalcPath {
        uapi: Uapi::Qda,
        vector: Vector::Heap,
        pd: PdMode::Process,
    },
    CalcPath {
        uapi: Uapi::Qda,
        vector: Vector::Inline,
        pd: PdMode::Thread,
    },
    CalcPath {
        uapi: Uapi::QdaRfc,
        vector: Vector::Gem,
        pd: PdMode::Process,
    },
    CalcPath {
        uapi: Uapi::QdaRfc,
        vector: Vector::Inline,
        pd: PdMode::Thread,
    },
    CalcPath {
        uapi: Uapi::Legacy,
        vector: Vector::Heap,
        pd: PdMode::Process,
    },
    CalcPath {
        uapi: Uapi::Legacy,
        vector: Vector::Inline,
        pd: PdMode::Thread,
    },
];

/// The calculator's sum and max of 0..1000 on one path, from a fresh driver
/// to a clean one.
fn calculator_on(p: &CalcPath) {
    let what = format!("{:?} UAPI, {:?} vector, {:?} PD", p.uapi, p.vector, p.pd);
    let mut cfg = qda_driver::DriverConfig::new(qda_driver::Platform::builtin());
    if p.uapi == Uapi::QdaRfc {
        cfg.qda_revision = Revision::Rfc2026Feb;
    }
    let drv = Driver::new(cfg).unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", p.pd).unwrap();
    assert_eq!(dsp.mode(), p.pd, "{what}");
    let accel = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
    let f = match p.uapi {
        Uapi::Legacy => legacy_session(&drv),
        Uapi::Qda | Uapi::QdaRfc => {
            let f = drv.open(&accel, Creds::current()).unwrap();
            let mut q = DrmQdaQuery::default();
            ioctl(&f, DRM_IOCTL_QDA_QUERY, &mut q);
            assert_eq!(&q.dsp_name[..5], b"cdsp\0", "{what}");
            // The RFC takes a GEM handle in `filefd`: 0 is none.
            let mut create = DrmQdaInitCreate {
                filelen: 0,
                filefd: if p.uapi == Uapi::QdaRfc { 0 } else { -1 },
                attrs: 0,
                siglen: 0,
                file: 0,
            };
            assert_eq!(ioctl(&f, DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, &mut create), 0, "{what}");
            f
        }
    };
    let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| match p.uapi {
        Uapi::Legacy => legacy_invoke(&f, handle, sc, args).unwrap_or_else(|e| panic!("{what}: INVOKE: {e}")),
        Uapi::Qda | Uapi::QdaRfc => {
            let mut inv = DrmQdaInvokeArgs {
                handle,
                sc,
                args: args.as_mut_ptr() as u64,
            };
            ioctl(&f, DRM_IOCTL_QDA_REMOTE_INVOKE, &mut inv)
        }
    };
    let h = open_module(invoke, URI).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(dsp.pd_processes().is_empty(), p.pd == PdMode::Thread, "{what}");

    let bytes: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    // The vector: its address here and the `fd` the call names it by.
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let (ptr, fd) = match p.vector {
        Vector::Inline => (bytes.as_ptr(), -1),
        Vector::Heap => {
            let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
            let buf = heap.heap_alloc(4000, 0, 2 | 0x80000, 0).unwrap();
            let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
            map.write_at(0, &bytes).unwrap();
            let r = (map.addr() as *const u8, buf.as_raw_fd());
            keep.extend([Box::new(map) as Box<dyn std::any::Any>, Box::new(buf), Box::new(heap)]);
            r
        }
        Vector::Gem if p.uapi == Uapi::QdaRfc => {
            use qda_uapi::qda::rfc2026;
            let mut g = rfc2026::GemCreate {
                handle: 0,
                pad: 0,
                size: 4000,
            };
            ioctl(&f, rfc2026::DRM_IOCTL_QDA_GEM_CREATE, &mut g);
            let mut o = rfc2026::GemMmapOffset {
                handle: g.handle,
                pad: 0,
                offset: 0,
            };
            ioctl(&f, rfc2026::DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut o);
            let map = f.mmap(o.offset, 4096, true).unwrap();
            map.write_at(0, &bytes).unwrap();
            // The RFC's `fd` is the GEM handle itself.
            let r = (map.addr() as *const u8, g.handle as i32);
            keep.push(Box::new(map));
            r
        }
        Vector::Gem => {
            let mut g = DrmQdaGemCreate {
                size: 4000,
                handle: 0,
                pad: 0,
            };
            ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g);
            let mut o = DrmQdaGemMmapOffset {
                offset: 0,
                handle: g.handle,
                pad: 0,
            };
            ioctl(&f, DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut o);
            let map = f.mmap(o.offset, 4096, true).unwrap();
            map.write_at(0, &bytes).unwrap();
            let mut e = DrmPrimeHandle {
                handle: g.handle,
                flags: DRM_CLOEXEC | DRM_RDWR,
                fd: -1,
            };
            ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut e);
            let fd = own(e.fd);
            let r = (map.addr() as *const u8, fd.as_raw_fd());
            keep.extend([Box::new(map) as Box<dyn std::any::Any>, Box::new(fd)]);
            r
        }
    };
    let sum = calc(&invoke, h, 2, ptr, fd, 1000);
    assert_eq!(i64::from_le_bytes(sum.try_into().unwrap()), 499_500, "{what}");
    let max = calc(&invoke, h, 3, ptr, fd, 1000);
    assert_eq!(i32::from_le_bytes(max.try_into().unwrap()), 999, "{what}");
    if p.uapi == Uapi::Legacy {
        let mut cap = FastrpcIoctlCapability {
            attribute_id: 1,
            ..Default::default()
        };
        ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap);
        assert_eq!(cap.capability, 1, "{what}: CDSP supports unsigned PDs");
    }
    drop(keep);
    drop(f);
    assert_clean(&drv);
    assert!(dsp.pd_processes().is_empty(), "{what}: released PDs exit");
}

#[test]
fn the_calculator_on_every_path() {
    for p in CALCULATOR_PATHS {
        calculator_on(p);
    }
}

#[test]
fn a_missing_skel_names_itself() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = drv.open("/dev/fastrpc-cdsp-secure", Creds::current()).unwrap();
    let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| {
        let mut inv = FastrpcInvoke {
            handle,
            sc,
            args: args.as_mut_ptr() as u64,
        };
        ioctl(&f, FASTRPC_IOCTL_INVOKE, &mut inv)
    };
    let (code, text) = open_module(
        invoke,
        "file:///libnosuch_skel.so?nosuch_skel_handle_invoke&_modver=1.0",
    )
    .unwrap_err();
    assert_eq!(code, 0x8000_043e, "AEE_ENOSUCHMOD");
    assert!(text.contains("libnosuch_skel.so"), "{text}");
    let (code, text) = open_module(invoke, "file:///libcalculator_skel.so?nosuch_symbol&_modver=1.0").unwrap_err();
    assert_eq!(code, 0x8000_0442, "AEE_ENOSUCHSYMBOL");
    assert!(text.contains("nosuch_symbol"), "{text}");
    drop(f);
    assert_clean(&drv);
}

#[test]
fn a_thousand_invokes_from_eight_threads() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = legacy_session(&drv);
    let invoke = invoker(&f);
    let h = open_module(invoke, URI).unwrap();
    std::thread::scope(|s| {
        for t in 0..8u32 {
            let f = &f;
            s.spawn(move || {
                let invoke = invoker(f);
                for i in 0..125u32 {
                    let n = 1 + (t * 125 + i) % 50;
                    let v: Vec<u8> = (0..n as i32).flat_map(i32::to_le_bytes).collect();
                    let sum = calc(&invoke, h, 2, v.as_ptr(), -1, n);
                    assert_eq!(
                        i64::from_le_bytes(sum.try_into().unwrap()),
                        (n as i64) * (n as i64 - 1) / 2
                    );
                }
            });
        }
    });
    drop(f);
    assert_clean(&drv);
}

const TEST_URI: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

/// A legacy session with the test skel open.
fn test_session(drv: &Driver) -> (qda_driver::File, u32) {
    let f = legacy_session(drv);
    let h = open_module(invoker(&f), TEST_URI).unwrap();
    (f, h)
}

/// 300 callers blocked inside the DSP at once: 255 hold every context id,
/// the other 45 wait for one; all complete with the right results.
#[test]
fn more_than_255_calls_in_flight_at_once() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let (f, h) = test_session(&drv);
    assert_eq!(
        legacy_invoke(&f, h, 0x0500_0000, &mut []).unwrap(),
        0,
        "reset the barrier"
    );
    let ch = drv.domain("cdsp").unwrap().channel.clone();
    let peak = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(ch.in_flight(), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        let workers: Vec<_> = (0..300)
            .map(|_| {
                let f = &f;
                s.spawn(move || {
                    // Target 255: every context id busy before anyone leaves.
                    let target = 255u32.to_le_bytes();
                    let mut seen = [0u8; 4];
                    let mut a = [arg(target.as_ptr(), 4, -1), arg(seen.as_mut_ptr(), 4, -1)];
                    let r = legacy_invoke(f, h, 0x0401_0100, &mut a).unwrap();
                    (r, u32::from_le_bytes(seen))
                })
            })
            .collect();
        for w in workers {
            let (r, seen) = w.join().unwrap();
            assert_eq!(r, 0);
            assert!(seen >= 255, "{seen}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(
        peak.load(std::sync::atomic::Ordering::Relaxed),
        255,
        "all 255 ids were in use, never more"
    );
    drop(f);
    assert_clean(&drv);
}

/// The skel reads a buffer passed by fd through a shared mapping of the
/// client's memfd: the address it sees maps the same file, nothing copied.
#[test]
fn skels_see_buffers_through_shared_mappings() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let (f, h) = test_session(&drv);
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let buf = heap.heap_alloc(8192, 0, 2, 0).unwrap();
    let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
    map.write_at(4096, b"shared!!").unwrap();
    let mut out = [0u64; 2];
    let mut a = [
        arg((map.addr() + 4096) as *const u8, 8, buf.as_raw_fd()),
        arg(out.as_mut_ptr().cast(), 16, -1),
    ];
    assert_eq!(legacy_invoke(&f, h, 0x0601_0100, &mut a).unwrap(), 0);
    assert_eq!(&out[1].to_le_bytes(), b"shared!!");
    assert_ne!(out[0], map.addr() + 4096, "the DSP has its own mapping");
    // A dma-buf output is never copied back, so bytes the skel writes there
    // reach the client only if the DSP's mapping shares the client's pages.
    let src = *b"written by the skel";
    let mut a = [
        arg(src.as_ptr(), src.len(), -1),
        arg(map.addr() as *const u8, src.len(), buf.as_raw_fd()),
    ];
    assert_eq!(legacy_invoke(&f, h, 0x0301_0100, &mut a).unwrap(), 0);
    let mut got = [0u8; 19];
    map.read_at(0, &mut got).unwrap();
    assert_eq!(&got, &src);
    drop((map, buf, heap, f));
    assert_clean(&drv);
}

/// A payload that names an unmapped page: the SMMU reports the fault, the
/// call fails with the DSP's error, and the DSP goes on serving.
#[test]
fn a_bad_page_address_is_an_smmu_fault() {
    use qda_proto::{ArgDesc, FastrpcMsg, PdType, Plan, Scalars};
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let (f, h) = test_session(&drv);
    let qda_driver::FileKind::Fastrpc(st) = f.kind() else {
        unreachable!()
    };
    let cb = st.cb().clone();
    // Hand-pack an echo call whose input names IOVA 0x1000 (never mapped).
    let sc = Scalars::make(3, 1, 1);
    let bad = (cb.sid() as u64) << 32 | 0x1000;
    let descs = [
        ArgDesc::DmaBuf {
            ptr: 0x7000_0000,
            len: 16,
            buf_addr: bad,
            buf_size: 4096,
            offset: 0,
        },
        ArgDesc::Inline {
            ptr: 0x8000_0000,
            len: 16,
        },
    ];
    let plan = Plan::new(sc, &descs).unwrap();
    let payload = drv.domain("cdsp").unwrap().backend.allocate(4096).unwrap();
    let seg = vec![qda_driver::smmu::Segment {
        file: qda_driver::smmu::SegFile::Backing(payload.clone()),
        offset: 0,
        len: 4096,
    }];
    let rec = qda_driver::smmu::DmaRecord {
        kind: qda_driver::dmadebug::MapKind::Sg,
        dir: qda_driver::dmadebug::Direction::Bidirectional,
        nents: 1,
    };
    let pm = cb.map(seg, qda_driver::smmu::Perm::RW, rec, None).unwrap();
    let mut m = qda_driver::sys::Mapping::map(payload.fd(), 0, 4096, true).unwrap();
    plan.write(m.as_mut_slice(), pm.dsp_addr(), |_, _| unreachable!())
        .unwrap();
    let msg = FastrpcMsg {
        client_id: st.client_id,
        tid: 1,
        ctx: 0,
        handle: h,
        sc: sc.0,
        addr: pm.dsp_addr(),
        size: 4096,
    };
    let r = drv
        .domain("cdsp")
        .unwrap()
        .channel
        .call(msg, PdType::User, Some(std::time::Duration::from_secs(10)))
        .unwrap();
    assert_eq!(r as u32, 0x8000_0483, "AEE_EBADVA");
    let fault = cb.faults().pop().expect("the SMMU recorded the fault");
    assert_eq!((fault.iova, fault.sid), (0x1000, cb.sid()));
    drop((m, pm, payload));
    // The DSP survived: a normal echo works.
    let src = *b"0123456789abcdef";
    let mut dst = [0u8; 16];
    let mut a = [arg(src.as_ptr(), 16, -1), arg(dst.as_mut_ptr(), 16, -1)];
    assert_eq!(legacy_invoke(&f, h, 0x0301_0100, &mut a).unwrap(), 0);
    assert_eq!(dst, src);
    drop(f);
    assert_clean(&drv);
}

/// Subsystem restart: a call blocked on the DSP fails with EPIPE, new calls
/// fail until a DSP is attached again, and new sessions then work.
#[test]
fn subsystem_restart_fails_pending_calls_and_recovers() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let (f, _h) = test_session(&drv);
    std::thread::scope(|s| {
        // The listener's next2 blocks in the DSP until the process exits.
        let waiter = s.spawn(|| {
            let inp = [0u32, u32::MAX, 0, 0];
            let mut out = [0u32; 4];
            let mut a = [
                arg(inp.as_ptr().cast(), 16, -1),
                arg(std::ptr::null(), 0, -1),
                arg(out.as_mut_ptr().cast(), 16, -1),
                arg(std::ptr::null(), 0, -1),
            ];
            legacy_invoke(&f, 7, 0x0602_0200, &mut a)
        });
        while drv.domain("cdsp").unwrap().channel.in_flight() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drv.restart_domain("cdsp").unwrap();
        assert_eq!(waiter.join().unwrap().unwrap_err().errno, qda_driver::Errno::EPIPE);
    });
    let mut a: [FastrpcInvokeArgs; 0] = [];
    assert_eq!(
        legacy_invoke(&f, 0x10, 0x0200_0000, &mut a).unwrap_err().errno,
        qda_driver::Errno::EPIPE
    );
    drop(f);
    let _dsp2 = VirtualDsp::start(&drv, "cdsp").unwrap();
    let (f2, h2) = test_session(&drv);
    let src = *b"after the restart";
    let mut dst = [0u8; 17];
    let mut a = [arg(src.as_ptr(), 17, -1), arg(dst.as_mut_ptr(), 17, -1)];
    assert_eq!(legacy_invoke(&f2, h2, 0x0301_0100, &mut a).unwrap(), 0);
    assert_eq!(dst, src);
    drop(f2);
    assert_clean(&drv);
}

/// Persistent maps: legacy MMAP / MUNMAP and MEM_MAP / MEM_UNMAP, QDA
/// REMOTE_MAP / REMOTE_MUNMAP with both requests, and their error paths.
#[test]
fn persistent_maps_on_both_uapis() {
    use qda_driver::Errno;
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let (f, _) = test_session(&drv);
    let raw = |cmd: u32, p: u64| f.ioctl(cmd, p, &LocalMemory).map_err(|e| e.errno);
    // MMAP: kernel pages mapped by the DSP.
    let mut m = FastrpcReqMmap {
        fd: -1,
        flags: ADSP_MMAP_ADD_PAGES,
        vaddrin: 0,
        size: 10_000,
        vaddrout: 0,
    };
    assert_eq!(raw(FASTRPC_IOCTL_MMAP, &mut m as *mut _ as u64), Ok(0));
    assert_ne!(m.vaddrout, 0);
    let mut bad = FastrpcReqMmap { flags: 0x2, ..m };
    assert_eq!(
        raw(FASTRPC_IOCTL_MMAP, &mut bad as *mut _ as u64),
        Err(Errno::EINVAL),
        "flags"
    );
    let mut bad = FastrpcReqMmap { vaddrin: 0x1000, ..m };
    assert_eq!(
        raw(FASTRPC_IOCTL_MMAP, &mut bad as *mut _ as u64),
        Err(Errno::EINVAL),
        "vaddrin"
    );
    let mut un = FastrpcReqMunmap {
        vaddrout: m.vaddrout,
        size: 4096,
    };
    assert_eq!(
        raw(FASTRPC_IOCTL_MUNMAP, &mut un as *mut _ as u64),
        Err(Errno::EINVAL),
        "size must match"
    );
    let mut un = FastrpcReqMunmap {
        vaddrout: m.vaddrout,
        size: 12_288,
    };
    assert_eq!(raw(FASTRPC_IOCTL_MUNMAP, &mut un as *mut _ as u64), Ok(0));
    assert_eq!(
        raw(FASTRPC_IOCTL_MUNMAP, &mut un as *mut _ as u64),
        Err(Errno::EINVAL),
        "already unmapped"
    );
    // MEM_MAP of a heap buffer.
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let buf = heap.heap_alloc(8192, 0, 2, 0).unwrap();
    let mut mm = FastrpcMemMap {
        fd: buf.as_raw_fd(),
        length: 8192,
        ..Default::default()
    };
    assert_eq!(raw(FASTRPC_IOCTL_MEM_MAP, &mut mm as *mut _ as u64), Ok(0));
    let mut big = FastrpcMemMap {
        fd: buf.as_raw_fd(),
        length: 3 * 4096,
        ..Default::default()
    };
    assert_eq!(
        raw(FASTRPC_IOCTL_MEM_MAP, &mut big as *mut _ as u64),
        Err(Errno::EINVAL),
        "longer than the buffer"
    );
    let mut mu = FastrpcMemUnmap {
        fd: buf.as_raw_fd(),
        vaddr: mm.vaddrout + 4096,
        length: 8192,
        ..Default::default()
    };
    assert_eq!(
        raw(FASTRPC_IOCTL_MEM_UNMAP, &mut mu as *mut _ as u64),
        Err(Errno::EINVAL),
        "wrong address"
    );
    mu.vaddr = mm.vaddrout;
    assert_eq!(raw(FASTRPC_IOCTL_MEM_UNMAP, &mut mu as *mut _ as u64), Ok(0));

    // QDA: both requests.
    let node = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
    let a = drv.open(&node, Creds::current()).unwrap();
    let mut create = DrmQdaInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(ioctl(&a, DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, &mut create), 0);
    let araw = |cmd: u32, p: u64| a.ioctl(cmd, p, &LocalMemory).map_err(|e| e.errno);
    let mut qm = DrmQdaMemMap {
        request: QDA_MAP_REQUEST_ATTR,
        fd: buf.as_raw_fd(),
        size: 4096,
        ..Default::default()
    };
    assert_eq!(araw(DRM_IOCTL_QDA_REMOTE_MAP, &mut qm as *mut _ as u64), Ok(0));
    let mut qu = DrmQdaMemUnmap {
        request: QDA_MUNMAP_REQUEST_ATTR,
        fd: buf.as_raw_fd(),
        vaddr: qm.vaddrout,
        vaddrout: 0,
        size: 4096,
    };
    assert_eq!(araw(DRM_IOCTL_QDA_REMOTE_MUNMAP, &mut qu as *mut _ as u64), Ok(0));
    let mut ql = DrmQdaMemMap {
        request: QDA_MAP_REQUEST_LEGACY,
        fd: buf.as_raw_fd(),
        ..Default::default()
    };
    assert_eq!(araw(DRM_IOCTL_QDA_REMOTE_MAP, &mut ql as *mut _ as u64), Ok(0));
    let mut qlu = DrmQdaMemUnmap {
        request: QDA_MUNMAP_REQUEST_LEGACY,
        fd: -1,
        vaddr: 0,
        vaddrout: ql.vaddrout,
        size: 8192,
    };
    assert_eq!(araw(DRM_IOCTL_QDA_REMOTE_MUNMAP, &mut qlu as *mut _ as u64), Ok(0));
    assert_eq!(
        araw(DRM_IOCTL_QDA_REMOTE_MUNMAP, &mut qlu as *mut _ as u64),
        Err(Errno::EIO),
        "the DSP has no such map"
    );
    let mut pad = DrmQdaMemMap {
        request: QDA_MAP_REQUEST_ATTR,
        fd: buf.as_raw_fd(),
        pad: 1,
        ..Default::default()
    };
    assert_eq!(
        araw(DRM_IOCTL_QDA_REMOTE_MAP, &mut pad as *mut _ as u64),
        Err(Errno::EINVAL),
        "pad"
    );
    let mut req = DrmQdaMemMap {
        request: 3,
        fd: buf.as_raw_fd(),
        ..Default::default()
    };
    assert_eq!(
        araw(DRM_IOCTL_QDA_REMOTE_MAP, &mut req as *mut _ as u64),
        Err(Errno::EINVAL),
        "request"
    );
    let mut attrs = DrmQdaMemMap {
        request: QDA_MAP_REQUEST_ATTR,
        fd: buf.as_raw_fd(),
        attrs: 0x10,
        ..Default::default()
    };
    assert_eq!(
        araw(DRM_IOCTL_QDA_REMOTE_MAP, &mut attrs as *mut _ as u64),
        Err(Errno::EINVAL),
        "attrs"
    );
    drop((a, buf, heap, f));
    assert_clean(&drv);
}

/// A skel that segfaults takes down its own PD process only: that session's
/// calls fail with AEE_ECPUEXCEPTION, another session keeps working.
#[test]
fn a_crashing_skel_kills_only_its_pd() {
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", qda_dsp::PdMode::Process).unwrap();
    assert_eq!(dsp.mode(), qda_dsp::PdMode::Process);
    let (a, ha) = test_session(&drv);
    let (b, hb) = test_session(&drv);
    assert_eq!(dsp.pd_processes().len(), 2, "one process per PD");
    assert_eq!(
        legacy_invoke(&a, ha, 0x0200_0000, &mut []).unwrap() as u32,
        0x8000_0430,
        "the crash"
    );
    assert_eq!(
        legacy_invoke(&a, ha, 0x0200_0000, &mut []).unwrap() as u32,
        0x8000_0430,
        "later calls fail too"
    );
    let src = *b"still alive";
    let mut dst = [0u8; 11];
    let mut args = [arg(src.as_ptr(), 11, -1), arg(dst.as_mut_ptr(), 11, -1)];
    assert_eq!(legacy_invoke(&b, hb, 0x0301_0100, &mut args).unwrap(), 0);
    assert_eq!(dst, src);
    drop((a, b));
    assert_clean(&drv);
    for _ in 0..200 {
        if dsp.pd_processes().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(dsp.pd_processes().is_empty(), "released PDs exit");
}

/// A shell that is given must be an ELF: the DSP refuses anything else.
#[test]
fn a_shell_that_is_not_an_elf_is_refused() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = drv.open("/dev/fastrpc-cdsp-secure", Creds::current()).unwrap();
    let shell = b"#!/bin/sh\necho not an elf\n";
    let mut create = FastrpcInitCreate {
        filelen: shell.len() as u32,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: shell.as_ptr() as u64,
    };
    assert_eq!(
        ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut create) as u32,
        0x8000_0452,
        "AEE_EBADELF"
    );
    let elf = b"\x7fELF\x02\x01\x01\0rest of a shell";
    let mut create = FastrpcInitCreate {
        filelen: elf.len() as u32,
        filefd: -1,
        attrs: 8,
        siglen: 0,
        file: elf.as_ptr() as u64,
    };
    assert_eq!(
        ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut create),
        0,
        "CREATE_ATTR with an ELF"
    );
    drop(f);
    assert_clean(&drv);
}

/// Static PDs: INIT_CREATE_STATIC with the remote heap from the ADSP's
/// memory-region pool; unknown names are refused by the DSP.
#[test]
fn static_pd_with_the_remote_heap() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = drv.open("/dev/fastrpc-adsp", Creds::current()).unwrap();
    let name = b"audiopd";
    let mut cs = FastrpcInitCreateStatic {
        namelen: 7,
        memlen: 3 << 20,
        name: name.as_ptr() as u64,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE_STATIC, &mut cs), 0);
    let heap = drv
        .domain("adsp")
        .unwrap()
        .remote_heap
        .clone()
        .expect("adsp has a memory-region");
    assert_eq!(
        heap.usage().used,
        4 << 20,
        "3 MiB from the coherent pool rounds to 2^10 pages"
    );
    let bad = b"nosuchpd";
    let mut cs = FastrpcInitCreateStatic {
        namelen: 8,
        memlen: 0,
        name: bad.as_ptr() as u64,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE_STATIC, &mut cs) as u32, 0x8000_0441);
    let mut long = FastrpcInitCreateStatic {
        namelen: 129,
        memlen: 0,
        name: bad.as_ptr() as u64,
    };
    assert_eq!(
        f.ioctl(
            FASTRPC_IOCTL_INIT_CREATE_STATIC,
            &mut long as *mut _ as u64,
            &LocalMemory
        )
        .unwrap_err()
        .errno,
        qda_driver::Errno::EINVAL
    );
    drop(f);
    drv.restart_domain("adsp").unwrap();
    assert_eq!(heap.usage().used, 0, "the remote heap goes with the channel");
    assert_clean(&drv);
}

/// A skel written in Rust, registered with the DSP.
#[test]
fn a_rust_skel() {
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
    let drv = Driver::builtin().unwrap();
    let dsps = VirtualDsp::start_all(&drv).unwrap();
    for d in &dsps {
        d.register_skel("libreverse_skel.so", std::sync::Arc::new(Reverse));
    }
    let f = legacy_session(&drv);
    let invoke = invoker(&f);
    let h = open_module(
        invoke,
        "file:///libreverse_skel.so?reverse_skel_handle_invoke&_modver=1.0",
    )
    .unwrap();
    let src = *b"stressed";
    let mut dst = [0u8; 8];
    let mut a = [arg(src.as_ptr(), 8, -1), arg(dst.as_mut_ptr(), 8, -1)];
    assert_eq!(invoke(h, 0x0201_0100, &mut a), 0);
    assert_eq!(&dst, b"desserts");
    drop(f);
    assert_clean(&drv);
}

/// The Feb-2026 RFC revision's INIT_ATTACH at nr 0x03: a daemon-style attach
/// to the root PD (the RFC's calculator path is a row of the table above).
#[test]
fn the_rfc_revision_attaches_to_the_root_pd() {
    use qda_uapi::qda::rfc2026;
    let mut cfg = qda_driver::DriverConfig::new(qda_driver::Platform::builtin());
    cfg.qda_revision = Revision::Rfc2026Feb;
    let drv = Driver::new(cfg).unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let node = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
    // A daemon-style attach to the root PD.
    let d = drv.open(&node, Creds::current()).unwrap();
    d.gem_create(4096).unwrap(); // the CB is assigned on first allocation
    assert_eq!(d.ioctl(rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, 0, &LocalMemory).unwrap(), 0);
    drop(d);
    assert_clean(&drv);
}

/// Old-style skels: no `_modver=1.0`, entry `<X>_skel_invoke(sc, pra)`.
#[test]
fn an_old_style_skel_entry_point() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = legacy_session(&drv);
    let invoke = invoker(&f);
    let h = open_module(invoke, "file:///libcalculator_skel.so?qdaplain_skel_invoke").unwrap();
    let (x, y) = (40u32.to_le_bytes(), 2u32.to_le_bytes());
    let mut s = [0u8; 4];
    let mut a = [
        arg(x.as_ptr(), 4, -1),
        arg(y.as_ptr(), 4, -1),
        arg(s.as_mut_ptr(), 4, -1),
    ];
    assert_eq!(invoke(h, 0x0202_0100, &mut a), 0);
    assert_eq!(u32::from_le_bytes(s), 42);
    drop(f);
    assert_clean(&drv);
}

/// Payload buffers are reused between calls: after the first few calls no
/// invoke allocates, and closing the file frees what the pool kept.
#[test]
fn payload_buffers_are_reused_and_freed_at_close() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = legacy_session(&drv);
    let invoke = invoker(&f);
    let h = open_module(invoke, URI).unwrap();
    let v: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    let sum = |n: u32| {
        let s = calc(&invoke, h, 2, v.as_ptr(), -1, n);
        i64::from_le_bytes(s.try_into().unwrap())
    };
    assert_eq!(sum(1000), 499_500);
    let before = drv.stats();
    for n in 1..=200u32 {
        let n = n % 1000 + 1;
        assert_eq!(sum(n), (n as i64) * (n as i64 - 1) / 2);
    }
    let after = drv.stats();
    assert_eq!(
        after.payloads_allocated, before.payloads_allocated,
        "200 calls allocated payloads"
    );
    assert_eq!(
        (after.backings, after.iova_mappings),
        (before.backings, before.iova_mappings)
    );
    drop(f);
    assert_clean(&drv);
}

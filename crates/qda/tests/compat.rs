//! The legacy-to-QDA translation (`qda::sys::LegacyOnAccel`) with a
//! program's raw legacy ioctls: libfastrpc's bring-up and the calculator,
//! a recorder under the translation showing that only accel ioctls reach
//! the driver (and the channel tracer that the calls reached the DSP), and
//! the error paths, each compared with what the driver's own legacy node
//! answers for the same request.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use qda::OsError;
use qda::sys::{DspInfo, LegacyOnAccel, Routed, Syscalls};
use qda_driver::Driver;
use qda_dsp::{Embedded, PdMode};
use qda_os::Mapping;
use qda_proto::Scalars;
use qda_test::{assert_clean, invoke_arg, open_module, own};
use qda_uapi::fastrpc::*;
use qda_uapi::ioctl::ioc_type;
use qda_uapi::qda::{DRM_IOCTL_QDA_REMOTE_INVOKE, DrmQdaFastrpcInvokeArgs, DrmQdaInvokeArgs};
use zerocopy::IntoBytes;

const URI: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";
const NODE: &str = "/dev/fastrpc-cdsp-secure";

/// What reached the layer under the translation: opened paths, ioctl
/// numbers, and each REMOTE_INVOKE's scalars and argument array.
#[derive(Debug, Default)]
struct Seen {
    opens: Vec<String>,
    cmds: Vec<u32>,
    invokes: Vec<(u32, u32, Vec<DrmQdaFastrpcInvokeArgs>)>,
}

/// Calls passed on to the driver, recorded.
#[derive(Debug)]
struct Recorder {
    inner: Arc<dyn Syscalls>,
    seen: Mutex<Seen>,
}

impl Syscalls for Recorder {
    fn backend(&self) -> qda::Backend {
        self.inner.backend()
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.inner.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.inner.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        self.seen.lock().unwrap().opens.push(path.to_string());
        self.inner.open(path)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        let mut s = self.seen.lock().unwrap();
        s.cmds.push(cmd);
        if cmd == DRM_IOCTL_QDA_REMOTE_INVOKE {
            let mut inv = DrmQdaInvokeArgs::default();
            qda_os::copy_from_self(arg, inv.as_mut_bytes()).unwrap();
            let mut a = vec![DrmQdaFastrpcInvokeArgs::default(); Scalars(inv.sc).len()];
            qda_os::copy_from_self(inv.args, a.as_mut_slice().as_mut_bytes()).unwrap();
            s.invokes.push((inv.handle, inv.sc, a));
        }
        drop(s);
        self.inner.ioctl(fd, cmd, arg)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        self.inner.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        self.inner.close(fd)
    }
}

/// An embedded platform (thread PDs), the recorder on it, the translation
/// over the recorder.
fn platform() -> (Driver, Arc<Routed>, Arc<Recorder>, Arc<LegacyOnAccel>) {
    let routed = Arc::new(Routed::new(
        Embedded::with_mode(Driver::builtin().unwrap(), PdMode::Thread).unwrap(),
    ));
    let driver = routed.embedded().driver.clone();
    let rec = Arc::new(Recorder {
        inner: routed.clone() as Arc<dyn Syscalls>,
        seen: Mutex::default(),
    });
    let t = Arc::new(LegacyOnAccel::new(rec.clone()));
    (driver, routed, rec, t)
}

fn io<T>(sys: &dyn Syscalls, fd: BorrowedFd<'_>, cmd: u32, arg: &mut T) -> Result<i64, OsError> {
    sys.ioctl(fd, cmd, arg as *mut T as u64)
}

fn errno<T>(r: Result<T, OsError>) -> i32 {
    match r {
        Ok(_) => panic!("succeeded"),
        Err(e) => e.errno.0,
    }
}

fn session(sys: &dyn Syscalls, path: &str) -> OwnedFd {
    let fd = sys.open(path).unwrap();
    let mut c = FastrpcInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(io(sys, fd.as_fd(), FASTRPC_IOCTL_INIT_CREATE, &mut c).unwrap(), 0);
    fd
}

fn invoke(
    sys: &dyn Syscalls,
    fd: BorrowedFd<'_>,
    handle: u32,
    sc: u32,
    a: &mut [FastrpcInvokeArgs],
) -> Result<i64, OsError> {
    let mut inv = FastrpcInvoke {
        handle,
        sc,
        args: a.as_mut_ptr() as u64,
    };
    io(sys, fd, FASTRPC_IOCTL_INVOKE, &mut inv)
}

fn calc(sys: &dyn Syscalls, fd: BorrowedFd<'_>, h: u32, method: u32, ptr: *const u8, vfd: i32, n: u32) -> Vec<u8> {
    let count = n.to_le_bytes();
    let mut out = [0u8; 8];
    let out_len = if method == 2 { 8 } else { 4 };
    let mut a = [
        invoke_arg(count.as_ptr(), 4, -1),
        invoke_arg(ptr, 4 * n as usize, vfd),
        invoke_arg(out.as_mut_ptr(), out_len, -1),
    ];
    assert_eq!(invoke(sys, fd, h, (method << 24) | 0x0002_0100, &mut a).unwrap(), 0);
    out[..out_len].to_vec()
}

/// libfastrpc's legacy sequence through the translation: the capability
/// query on a temporary file, INIT_CREATE, a dma-buf from ALLOC_DMA_BUFF,
/// MEM_MAP of it, remotectl open, the calculator with the vector by fd,
/// heap pages by MMAP and back, MEM_UNMAP. The driver sees accel ioctls only.
#[test]
fn the_legacy_calculator_reaches_the_driver_as_accel_ioctls_only() {
    let (driver, _routed, rec, t) = platform();
    legacy_sequence(&driver, &rec, &t);
}

/// The same through qdad (a server in this process, reached only through
/// its socket) and the kernel backend's code over routed system calls.
#[test]
fn the_legacy_calculator_through_qdad_and_the_kernel_backend() {
    use qda_test::matrix::{Kind, backend};
    for kind in [Kind::Daemon, Kind::Kernel] {
        let b = backend(kind);
        let rec = Arc::new(Recorder {
            inner: b.sys.clone(),
            seen: Mutex::default(),
        });
        let t = Arc::new(LegacyOnAccel::new(rec.clone()));
        legacy_sequence(&b.driver, &rec, &t);
    }
}

fn legacy_sequence(driver: &Driver, rec: &Recorder, t: &Arc<LegacyOnAccel>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c2 = calls.clone();
    driver.set_tracer(Some(Arc::new(move |c: &qda_driver::fastrpc::CallTrace<'_>| {
        c2.lock().unwrap().push((c.msg.handle, c.msg.sc, c.kernel, c.result));
    })));
    assert!(t.accel_nodes().is_empty());
    assert!(t.fastrpc_nodes().contains(&NODE.to_string()), "{:?}", t.fastrpc_nodes());
    let sys: &dyn Syscalls = &**t;

    // Capability query on a temporary file (B4 step 1), asked of the DSP.
    let tmp = sys.open(NODE).unwrap();
    let mut cap = FastrpcIoctlCapability {
        attribute_id: 1,
        ..Default::default()
    };
    assert_eq!(io(sys, tmp.as_fd(), FASTRPC_IOCTL_GET_DSP_INFO, &mut cap).unwrap(), 0);
    assert_eq!(cap.capability, 1, "CDSP supports unsigned PDs");
    sys.close(tmp);

    let dev = session(sys, NODE);
    let fd = dev.as_fd();
    let mut a = FastrpcAllocDmaBuf {
        fd: -1,
        flags: 0,
        size: 4000,
    };
    assert_eq!(io(sys, fd, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a).unwrap(), 0);
    let buf = own(a.fd);
    let fdflags = rustix::io::fcntl_getfd(&buf).unwrap();
    assert!(
        !fdflags.contains(rustix::io::FdFlags::CLOEXEC),
        "installed as the legacy driver installs it"
    );
    let map = Mapping::map(buf.as_fd(), 0, 4000, true).unwrap();
    let bytes: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    map.write_at(0, &bytes).unwrap();

    let mut m = FastrpcMemMap {
        fd: buf.as_raw_fd(),
        flags: 0,
        length: 4000,
        ..Default::default()
    };
    assert_eq!(io(sys, fd, FASTRPC_IOCTL_MEM_MAP, &mut m).unwrap(), 0);
    assert_ne!(m.vaddrout, 0, "MEM_MAP returns the DSP address");

    let h = open_module(|h, sc, a| invoke(sys, fd, h, sc, a).unwrap(), URI).unwrap();
    let sum = calc(sys, fd, h, 2, map.addr() as *const u8, buf.as_raw_fd(), 1000);
    assert_eq!(i64::from_le_bytes(sum.try_into().unwrap()), 499_500);
    let max = calc(sys, fd, h, 3, map.addr() as *const u8, buf.as_raw_fd(), 1000);
    assert_eq!(i32::from_le_bytes(max.try_into().unwrap()), 999);

    let mut mm = FastrpcReqMmap {
        fd: -1,
        flags: ADSP_MMAP_ADD_PAGES,
        vaddrin: 0,
        size: 65536,
        vaddrout: 0,
    };
    assert_eq!(io(sys, fd, FASTRPC_IOCTL_MMAP, &mut mm).unwrap(), 0);
    assert_ne!(mm.vaddrout, 0);
    let mut mu = FastrpcReqMunmap {
        vaddrout: mm.vaddrout,
        size: 65536,
    };
    assert_eq!(io(sys, fd, FASTRPC_IOCTL_MUNMAP, &mut mu).unwrap(), 0);
    assert_eq!(errno(io(sys, fd, FASTRPC_IOCTL_MUNMAP, &mut mu)), libc::EINVAL, "gone");

    let mut u = FastrpcMemUnmap {
        fd: buf.as_raw_fd(),
        vaddr: m.vaddrout,
        length: 4000,
        ..Default::default()
    };
    assert_eq!(io(sys, fd, FASTRPC_IOCTL_MEM_UNMAP, &mut u).unwrap(), 0);
    drop(map);
    drop(buf);
    sys.close(dev);
    driver.set_tracer(None);
    assert_clean(driver);

    let seen = rec.seen.lock().unwrap();
    assert!(
        seen.opens.iter().all(|p| p.starts_with("/dev/accel/")),
        "only accel nodes were opened: {:?}",
        seen.opens
    );
    for cmd in &seen.cmds {
        assert_eq!(
            ioc_type(*cmd),
            qda_uapi::drm::DRM_IOCTL_BASE,
            "ioctl 0x{cmd:08x} reached the driver"
        );
    }
    use qda_uapi::drm::*;
    use qda_uapi::qda::*;
    for want in [
        DRM_IOCTL_QDA_QUERY,
        DRM_IOCTL_QDA_REMOTE_SESSION_CREATE,
        DRM_IOCTL_QDA_GEM_CREATE,
        DRM_IOCTL_PRIME_HANDLE_TO_FD,
        DRM_IOCTL_GEM_CLOSE,
        DRM_IOCTL_QDA_REMOTE_MAP,
        DRM_IOCTL_QDA_REMOTE_MUNMAP,
        DRM_IOCTL_QDA_REMOTE_INVOKE,
    ] {
        assert!(seen.cmds.contains(&want), "0x{want:08x} in {:x?}", seen.cmds);
    }
    // The channel: the capability query (handle 2) and the calculator's
    // two methods went to the DSP as user calls.
    let calls = calls.lock().unwrap();
    let user = |handle: u32, method: u32| {
        calls.iter().any(|(h, sc, kernel, r)| {
            *h == handle && u32::from(Scalars(*sc).method()) == method && !kernel && *r == Ok(0)
        })
    };
    assert!(user(2, 0), "{calls:x?}");
    assert!(user(h, 2) && user(h, 3), "{calls:x?}");
}

/// Handle descriptors travel: an invoke with an input dma handle reaches
/// REMOTE_INVOKE with the same scalars and the descriptor as it was.
#[test]
fn handle_descriptors_are_carried() {
    let (driver, _routed, rec, t) = platform();
    let sys: &dyn Syscalls = &*t;
    let dev = session(sys, NODE);
    let fd = dev.as_fd();
    let h = open_module(|h, sc, a| invoke(sys, fd, h, sc, a).unwrap(), URI).unwrap();
    let mut a = FastrpcAllocDmaBuf {
        fd: -1,
        flags: 0,
        size: 4096,
    };
    io(sys, fd, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a).unwrap();
    let buf = own(a.fd);
    let count = 0u32.to_le_bytes();
    let v = [0u8; 4];
    let mut out = [0u8; 8];
    let mut args = [
        invoke_arg(count.as_ptr(), 4, -1),
        invoke_arg(v.as_ptr(), 0, -1),
        invoke_arg(out.as_mut_ptr(), 8, -1),
        FastrpcInvokeArgs {
            ptr: 16,
            length: 4096,
            fd: buf.as_raw_fd(),
            attr: 0,
        },
    ];
    let sc = Scalars::makex(0, 2, 2, 1, 1, 0).0;
    // What the DSP makes of it is the skel's business; it is the value.
    let _ = invoke(sys, fd, h, sc, &mut args);
    let seen = rec.seen.lock().unwrap();
    let (handle, got_sc, got) = seen.invokes.last().unwrap();
    assert_eq!((*handle, *got_sc), (h, sc));
    assert_eq!(got.len(), 4);
    assert_eq!(
        (got[3].ptr, got[3].length, got[3].fd),
        (16, 4096, buf.as_raw_fd()),
        "the handle descriptor as the program gave it"
    );
    drop(seen);
    drop(buf);
    sys.close(dev);
    assert_clean(&driver);
}

/// The same bad request on the driver's own legacy node and through the
/// translation: the same errno (or, for a DSP error, the same value).
#[test]
fn errors_are_the_legacy_nodes() {
    let (driver, routed, _rec, t) = platform();
    let legacy: &dyn Syscalls = &*routed;
    let tr: &dyn Syscalls = &*t;
    let ld = session(legacy, NODE);
    let td = session(tr, NODE);
    let both = |what: &str, f: &dyn Fn(&dyn Syscalls, BorrowedFd<'_>) -> Result<i64, OsError>| {
        let l = f(legacy, ld.as_fd()).map_err(|e| e.errno.0);
        let r = f(tr, td.as_fd()).map_err(|e| e.errno.0);
        assert_eq!(r, l, "{what}: translation vs the legacy node");
        r
    };
    let (r, _w) = std::io::pipe().unwrap();
    let pipe = r.as_raw_fd();
    for (what, bad_fd, want) in [
        ("a closed fd", 999_999, libc::EBADF),
        ("a negative fd", -5, libc::EBADF),
        ("a pipe", pipe, libc::EINVAL),
    ] {
        let got = both(what, &|s, fd| {
            let h = open_module(|h, sc, a| invoke(s, fd, h, sc, a).unwrap(), URI).unwrap();
            let v = [0u8; 16];
            let mut out = [0u8; 8];
            let n = 4u32.to_le_bytes();
            let mut a = [
                invoke_arg(n.as_ptr(), 4, -1),
                invoke_arg(v.as_ptr(), 16, bad_fd),
                invoke_arg(out.as_mut_ptr(), 8, -1),
            ];
            invoke(s, fd, h, 0x0202_0100, &mut a)
        });
        assert_eq!(got, Err(want), "{what}");
    }
    for (what, bad_fd) in [("MEM_MAP of a closed fd", 999_999), ("MEM_MAP of a pipe", pipe)] {
        both(what, &|s, fd| {
            let mut m = FastrpcMemMap {
                fd: bad_fd,
                length: 4096,
                ..Default::default()
            };
            io(s, fd, FASTRPC_IOCTL_MEM_MAP, &mut m)
        })
        .unwrap_err();
    }
    assert_eq!(
        both("MEM_UNMAP of nothing", &|s, fd| {
            let mut u = FastrpcMemUnmap {
                fd: -1,
                vaddr: 0x5000_0000,
                length: 4096,
                ..Default::default()
            };
            io(s, fd, FASTRPC_IOCTL_MEM_UNMAP, &mut u)
        }),
        Err(libc::EINVAL)
    );
    assert_eq!(
        both("a shell in fd -7", &|s, _| {
            let f = s.open(NODE).unwrap();
            let shell = [0u8; 64];
            let mut c = FastrpcInitCreate {
                filelen: 64,
                filefd: -7,
                file: shell.as_ptr() as u64,
                ..Default::default()
            };
            let r = io(s, f.as_fd(), FASTRPC_IOCTL_INIT_CREATE, &mut c);
            s.close(f);
            r
        }),
        Err(libc::EBADF)
    );
    // A DSP error is the call's value: a vector shorter than its count.
    let got = both("short vector", &|s, fd| {
        let h = open_module(|h, sc, a| invoke(s, fd, h, sc, a).unwrap(), URI).unwrap();
        let v = [0u8; 3];
        let mut out = [0u8; 8];
        let n = 4u32.to_le_bytes();
        let mut a = [
            invoke_arg(n.as_ptr(), 4, -1),
            invoke_arg(v.as_ptr(), 3, -1),
            invoke_arg(out.as_mut_ptr(), 8, -1),
        ];
        invoke(s, fd, h, 0x0202_0100, &mut a)
    });
    assert!(matches!(got, Ok(v) if v != 0), "{got:?}");
    // Bad pointers: the struct, the argument array.
    assert_eq!(
        both("struct at 8", &|s, fd| s.ioctl(fd, FASTRPC_IOCTL_INVOKE, 8)),
        Err(libc::EFAULT)
    );
    assert_eq!(
        both("array at 8", &|s, fd| {
            let mut inv = FastrpcInvoke {
                handle: 8,
                sc: 0x0202_0200,
                args: 8,
            };
            io(s, fd, FASTRPC_IOCTL_INVOKE, &mut inv)
        }),
        Err(libc::EFAULT)
    );
    assert_eq!(
        both("MUNMAP of nothing", &|s, fd| {
            let mut u = FastrpcReqMunmap {
                vaddrout: 0x1234_5000,
                size: 4096,
            };
            io(s, fd, FASTRPC_IOCTL_MUNMAP, &mut u)
        }),
        Err(libc::EINVAL)
    );
    assert_eq!(
        both("MMAP flags", &|s, fd| {
            let mut m = FastrpcReqMmap {
                fd: -1,
                flags: 7,
                size: 4096,
                ..Default::default()
            };
            io(s, fd, FASTRPC_IOCTL_MMAP, &mut m)
        }),
        Err(libc::EINVAL)
    );
    assert_eq!(
        both("attribute 300", &|s, fd| {
            let mut c = FastrpcIoctlCapability {
                attribute_id: 300,
                ..Default::default()
            };
            io(s, fd, FASTRPC_IOCTL_GET_DSP_INFO, &mut c)
        }),
        Err(libc::EOVERFLOW)
    );
    assert_eq!(
        both("a 3 MiB shell", &|s, _| {
            let f = s.open(NODE).unwrap();
            let mut c = FastrpcInitCreate {
                filelen: 3 << 20,
                filefd: -1,
                ..Default::default()
            };
            let r = io(s, f.as_fd(), FASTRPC_IOCTL_INIT_CREATE, &mut c);
            s.close(f);
            r
        }),
        Err(libc::EINVAL)
    );
    assert_eq!(
        both("a signed PD on the non-secure node", &|s, _| {
            let f = s.open("/dev/fastrpc-cdsp").unwrap();
            let mut c = FastrpcInitCreate {
                filefd: -1,
                ..Default::default()
            };
            let r = io(s, f.as_fd(), FASTRPC_IOCTL_INIT_CREATE, &mut c);
            s.close(f);
            r
        }),
        Err(libc::ECONNREFUSED)
    );
    assert_eq!(
        both("FREE_DMA_BUFF", &|s, fd| {
            let mut x = 0u32;
            io(s, fd, FASTRPC_IOCTL_FREE_DMA_BUFF, &mut x)
        }),
        Err(libc::ENOTTY)
    );
    assert_eq!(
        both("not an ioctl of the node", &|s, fd| {
            let mut x = 0u64;
            io(s, fd, 0xc008_52ee, &mut x)
        }),
        Err(libc::ENOTTY)
    );
    // Where QDA has nothing to carry it to: ENOTTY, and the reason.
    let mut x = [0u8; 32];
    for cmd in [FASTRPC_IOCTL_INIT_ATTACH_SNS, FASTRPC_IOCTL_INIT_CREATE_STATIC] {
        assert_eq!(errno(io(tr, td.as_fd(), cmd, &mut x)), libc::ENOTTY, "0x{cmd:08x}");
    }
    // SET_OPTION is carried to qda's QDA_SET_POLL, refused as proposed:
    // another request id or reserved words not zero, EINVAL.
    for mut o in [
        FastrpcIoctlSetOption {
            req: 2,
            value: 1,
            ..Default::default()
        },
        FastrpcIoctlSetOption {
            req: FASTRPC_POLL_MODE,
            value: 1,
            reserved: [1, 0, 0, 0, 0, 0],
        },
    ] {
        assert_eq!(
            errno(io(tr, td.as_fd(), FASTRPC_IOCTL_SET_OPTION, &mut o)),
            libc::EINVAL
        );
    }
    let mut on = FastrpcIoctlSetOption {
        req: FASTRPC_POLL_MODE,
        value: 1,
        ..Default::default()
    };
    assert_eq!(io(tr, td.as_fd(), FASTRPC_IOCTL_SET_OPTION, &mut on).unwrap(), 0);
    // INIT_ATTACH goes out as the RFC's nr 0x03, reserved in May 2026: the
    // DRM core's EINVAL.
    assert_eq!(errno(tr.ioctl(td.as_fd(), FASTRPC_IOCTL_INIT_ATTACH, 0)), libc::EINVAL);
    assert_eq!(
        errno(tr.mmap(td.as_fd(), 0, 4096)),
        libc::ENODEV,
        "the legacy node has no mmap"
    );
    let mut a = FastrpcAllocDmaBuf::default();
    assert_eq!(
        errno(io(tr, td.as_fd(), FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a)),
        libc::EINVAL,
        "size 0"
    );
    assert_eq!(errno(tr.open("/dev/fastrpc-mdsp")), libc::ENOENT);
    legacy.close(ld);
    tr.close(td);
    assert_clean(&driver);
}

/// GET_DSP_INFO: asked of the DSP through REMOTE_INVOKE, the legacy
/// node's answers for every attribute; `Unknown` answers 0; `Forward` asks
/// the legacy node underneath.
#[test]
fn dsp_info_modes() {
    let (driver, routed, _rec, t) = platform();
    let ask = |s: &dyn Syscalls, id: u32| {
        let f = s.open(NODE).unwrap();
        let mut c = FastrpcIoctlCapability {
            attribute_id: id,
            ..Default::default()
        };
        io(s, f.as_fd(), FASTRPC_IOCTL_GET_DSP_INFO, &mut c).unwrap();
        s.close(f);
        c.capability
    };
    let unknown = LegacyOnAccel::new(routed.clone()).with_dsp_info(DspInfo::Unknown);
    let forward = LegacyOnAccel::new(routed.clone()).with_dsp_info(DspInfo::Forward);
    let mut nonzero = 0;
    for id in 0..256 {
        let want = ask(&*routed, id);
        nonzero += usize::from(want != 0);
        assert_eq!(ask(&*t, id), want, "attribute {id}");
        assert_eq!(ask(&forward, id), want, "attribute {id}");
        assert_eq!(ask(&unknown, id), 0, "attribute {id}");
    }
    assert!(nonzero > 0, "the DSP supports something");
    drop((unknown, forward));
    assert_clean(&driver);
}

/// The dma-buf ALLOC_DMA_BUFF gives is a real export: another file of the
/// same driver imports it and sees its bytes.
#[test]
fn alloc_dma_buff_is_a_real_dma_buf() {
    let (driver, routed, _rec, t) = platform();
    let sys: &dyn Syscalls = &*t;
    let dev = sys.open(NODE).unwrap();
    let mut a = FastrpcAllocDmaBuf {
        fd: -1,
        flags: 0,
        size: 8192,
    };
    io(sys, dev.as_fd(), FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a).unwrap();
    let buf = own(a.fd);
    let map = Mapping::map(buf.as_fd(), 0, 8192, true).unwrap();
    map.write_at(100, b"legacy bytes").unwrap();
    // The accel nodes, shown, pass through: the library takes them.
    let shown = Arc::new(LegacyOnAccel::new(routed.clone()).show_accel(true));
    assert_eq!(shown.accel_nodes(), routed.accel_nodes());
    let other = qda::Device::open_with(qda::Domain::Cdsp, shown).unwrap();
    assert_eq!(other.uapi(), qda::Uapi::Qda);
    let b = other.import(buf.as_fd()).unwrap();
    assert_eq!(b.size(), 8192);
    let mut got = [0u8; 12];
    b.read(100, &mut got).unwrap();
    assert_eq!(&got, b"legacy bytes");
    drop((b, other, map, buf));
    sys.close(dev);
    assert_clean(&driver);
}

/// On a node speaking the Feb 2026 RFC, `with_revision` sends the
/// program's dma-buf fds as GEM handles (imported for the call, closed
/// after it); without it the RFC node refuses the fd numbers.
#[test]
fn an_rfc_node_gets_gem_handles() {
    let mut cfg = qda_driver::DriverConfig::new(qda_driver::Platform::builtin());
    cfg.qda_revision = qda_uapi::qda::Revision::Rfc2026Feb;
    let routed = Arc::new(Routed::new(
        Embedded::with_mode(Driver::new(cfg).unwrap(), PdMode::Thread).unwrap(),
    ));
    let driver = routed.embedded().driver.clone();
    let run = |t: &LegacyOnAccel| -> Result<Vec<u8>, i32> {
        let sys: &dyn Syscalls = t;
        let dev = session(sys, NODE);
        let fd = dev.as_fd();
        let mut a = FastrpcAllocDmaBuf {
            fd: -1,
            flags: 0,
            size: 4000,
        };
        if let Err(e) = io(sys, fd, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a) {
            sys.close(dev);
            return Err(e.errno.0);
        }
        let buf = own(a.fd);
        let map = Mapping::map(buf.as_fd(), 0, 4000, true).unwrap();
        let bytes: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
        map.write_at(0, &bytes).unwrap();
        let h = open_module(|h, sc, a| invoke(sys, fd, h, sc, a).unwrap(), URI).unwrap();
        let count = 1000u32.to_le_bytes();
        let mut out = [0u8; 8];
        let mut args = [
            invoke_arg(count.as_ptr(), 4, -1),
            invoke_arg(map.addr() as *const u8, 4000, buf.as_raw_fd()),
            invoke_arg(out.as_mut_ptr(), 8, -1),
        ];
        let r = invoke(sys, fd, h, 0x0202_0100, &mut args).map_err(|e| e.errno.0);
        drop((map, buf));
        sys.close(dev);
        r.map(|v| {
            assert_eq!(v, 0);
            out.to_vec()
        })
    };
    let rfc = LegacyOnAccel::new(routed.clone()).with_revision(qda_uapi::qda::Revision::Rfc2026Feb);
    // The RFC has INIT_ATTACH (nr 0x03): the legacy attach becomes it.
    let f = rfc.open(NODE).unwrap();
    assert_eq!(rfc.ioctl(f.as_fd(), FASTRPC_IOCTL_INIT_ATTACH, 0).unwrap(), 0);
    rfc.close(f);
    let sum = run(&rfc).unwrap();
    assert_eq!(i64::from_le_bytes(sum.try_into().unwrap()), 499_500);
    assert_clean(&driver);
    // May 2026's GEM_CREATE layout puts the size where the RFC reads its
    // pad: the RFC node's EINVAL for size 0.
    let may = LegacyOnAccel::new(routed.clone());
    assert_eq!(run(&may), Err(libc::EINVAL));
    assert_clean(&driver);
}

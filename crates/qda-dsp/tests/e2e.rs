//! End to end through the raw UAPIs: ioctl → packing → channel → virtual
//! DSP → C calculator skel → back.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use qda_driver::{Creds, Driver, LocalMemory};
use qda_dsp::VirtualDsp;
use qda_proto::bodies::{RemotectlOpenIn, RemotectlOpenOut};
use qda_uapi::drm::*;
use qda_uapi::fastrpc::*;
use qda_uapi::qda::*;
use zerocopy::{FromBytes, IntoBytes};

const URI: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp";

fn ioctl<T>(f: &qda_driver::File, cmd: u32, arg: &mut T) -> i64 {
    f.ioctl(cmd, arg as *mut T as u64, &LocalMemory)
        .unwrap_or_else(|e| panic!("ioctl 0x{cmd:08x}: {e}"))
}

#[allow(unsafe_code)]
fn own(fd: i32) -> OwnedFd {
    assert!(fd >= 0);
    // SAFETY: the driver installed `fd` for us (we are the application).
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn arg(ptr: *const u8, len: usize, fd: i32) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd,
        attr: 0,
    }
}

/// remotectl1 open1 through an invoke on handle 8; returns the DSP handle.
fn open_module<F: Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64>(invoke: F, uri: &str) -> Result<u32, (u32, String)> {
    let mut name = uri.as_bytes().to_vec();
    name.push(0);
    let inp = RemotectlOpenIn {
        name_len: name.len() as u32,
        dlerr_len: 255,
    };
    let mut out = RemotectlOpenOut::default();
    let mut err = [0u8; 255];
    let mut a = [
        arg(inp.as_bytes().as_ptr(), 8, -1),
        arg(name.as_ptr(), name.len(), -1),
        arg(out.as_mut_bytes().as_mut_ptr(), 8, -1),
        arg(err.as_mut_ptr(), 255, -1),
    ];
    assert_eq!(invoke(8, 0x0202_0200, &mut a), 0);
    if out.dlerr != 0 {
        let n = err.iter().position(|b| *b == 0).unwrap_or(255);
        return Err((out.dlerr, String::from_utf8_lossy(&err[..n]).into_owned()));
    }
    Ok(out.handle)
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

fn assert_clean(drv: &Driver) {
    let s = drv.stats();
    assert!(drv.dma_debug().reports().is_empty(), "{:?}", drv.dma_debug().reports());
    assert!(s.is_idle(), "{s:?}");
}

#[test]
fn calculator_through_the_qda_uapi() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let node = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
    let f = drv.open(&node, Creds::current()).unwrap();
    let mut q = DrmQdaQuery::default();
    ioctl(&f, DRM_IOCTL_QDA_QUERY, &mut q);
    assert_eq!(&q.dsp_name[..5], b"cdsp\0");
    let mut create = DrmQdaInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, &mut create), 0);

    let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| {
        let mut inv = DrmQdaInvokeArgs {
            handle,
            sc,
            args: args.as_mut_ptr() as u64,
        };
        ioctl(&f, DRM_IOCTL_QDA_REMOTE_INVOKE, &mut inv)
    };
    let h = open_module(invoke, URI).unwrap();

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
    let bytes: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    map.write_at(0, &bytes).unwrap();
    let mut p = DrmPrimeHandle {
        handle: g.handle,
        flags: DRM_CLOEXEC | DRM_RDWR,
        fd: -1,
    };
    ioctl(&f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p);
    let fd = own(p.fd);

    let sum = calc(&invoke, h, 2, map.addr() as *const u8, fd.as_raw_fd(), 1000);
    assert_eq!(i64::from_le_bytes(sum.try_into().unwrap()), 499_500);
    let max = calc(&invoke, h, 3, map.addr() as *const u8, fd.as_raw_fd(), 1000);
    assert_eq!(i32::from_le_bytes(max.try_into().unwrap()), 999);

    drop((map, fd));
    drop(f);
    assert_clean(&drv);
}

#[test]
fn calculator_through_the_legacy_uapi_with_a_heap_buffer() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = drv.open("/dev/fastrpc-cdsp-secure", Creds::current()).unwrap();
    let mut create = FastrpcInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut create), 0);
    let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| {
        let mut inv = FastrpcInvoke {
            handle,
            sc,
            args: args.as_mut_ptr() as u64,
        };
        ioctl(&f, FASTRPC_IOCTL_INVOKE, &mut inv)
    };
    let h = open_module(invoke, URI).unwrap();
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let buf = heap.heap_alloc(4000, 0, 2 | 0x80000, 0).unwrap();
    let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
    let bytes: Vec<u8> = (0..1000i32).flat_map(i32::to_le_bytes).collect();
    map.write_at(0, &bytes).unwrap();
    let sum = calc(&invoke, h, 2, map.addr() as *const u8, buf.as_raw_fd(), 1000);
    assert_eq!(i64::from_le_bytes(sum.try_into().unwrap()), 499_500);
    let max = calc(&invoke, h, 3, map.addr() as *const u8, buf.as_raw_fd(), 1000);
    assert_eq!(i32::from_le_bytes(max.try_into().unwrap()), 999);
    let mut cap = FastrpcIoctlCapability {
        attribute_id: 1,
        ..Default::default()
    };
    ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap);
    assert_eq!(cap.capability, 1, "CDSP supports unsigned PDs");
    drop((map, buf, heap, f));
    assert_clean(&drv);
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
fn many_threads_more_than_255_in_flight() {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_all(&drv).unwrap();
    let f = drv.open("/dev/fastrpc-cdsp-secure", Creds::current()).unwrap();
    let mut create = FastrpcInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut create), 0);
    let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| {
        let mut inv = FastrpcInvoke {
            handle,
            sc,
            args: args.as_mut_ptr() as u64,
        };
        ioctl(&f, FASTRPC_IOCTL_INVOKE, &mut inv)
    };
    let h = open_module(invoke, URI).unwrap();
    std::thread::scope(|s| {
        for t in 0..8u32 {
            let f = &f;
            s.spawn(move || {
                let invoke = |handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]| {
                    let mut inv = FastrpcInvoke {
                        handle,
                        sc,
                        args: args.as_mut_ptr() as u64,
                    };
                    ioctl(f, FASTRPC_IOCTL_INVOKE, &mut inv)
                };
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
    let _ = i64::read_from_bytes(&[0u8; 8]);
}

//! A hostile caller through the raw UAPI entry (issue 10, "Safe to share"):
//! qdad hands the driver what a client sent — its own "VMAs", fds and
//! memory segments — so every offset, length, size and address in them may
//! be forged. Each case answers an errno; none may panic.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use qda_driver::fastrpc::Transport;
use qda_driver::sys::MapInfo;
use qda_driver::{Errno, File, SegmentMemory};
use qda_proto::FastrpcMsg;
use qda_test::*;
use qda_uapi::drm::*;
use qda_uapi::fastrpc::FastrpcInvokeArgs;
use qda_uapi::qda::*;
use zerocopy::IntoBytes;

/// A DSP that never gets a message: the cases here must be refused before
/// anything is sent, and a send that happens anyway fails instead of hanging.
#[derive(Debug)]
struct Unreachable;
impl Transport for Unreachable {
    fn send(&self, _: &FastrpcMsg) -> qda_driver::Result<()> {
        Err(qda_driver::OsError::new(Errno::EPIPE, "hostile tests send nothing"))
    }
}

/// Where the forged client places its structs.
const STRUCT_AT: u64 = 0x1000;
const ARGS_AT: u64 = 0x2000;
/// Where the forged client says its dma-buf mapping lies.
const VMA_AT: u64 = 0x7f00_0000_0000;
/// The fd number the client sends its dma-buf under.
const CLIENT_FD: i32 = 7;

/// A client as qdad sees it: `segs`, the dma-buf `buf` under [`CLIENT_FD`]
/// and one VMA of `buf` at [`VMA_AT`] with the given file offset.
fn client(segs: Vec<(u64, Vec<u8>)>, buf: &OwnedFd, file_offset: u64, len: u64) -> SegmentMemory {
    let st = rustix::fs::fstat(buf).unwrap();
    let vma = MapInfo {
        start: VMA_AT,
        len,
        dev: st.st_dev,
        ino: st.st_ino,
        file_offset,
    };
    let fds = HashMap::from([(CLIENT_FD, buf.as_fd().try_clone_to_owned().unwrap())]);
    SegmentMemory::new(segs).with_fds(fds).with_vmas(vec![vma])
}

/// `DRM_IOCTL_QDA_REMOTE_INVOKE` of one input buffer `arg` as a forged client.
fn qda_invoke(
    f: &File,
    arg: FastrpcInvokeArgs,
    mem: impl FnOnce(Vec<(u64, Vec<u8>)>) -> SegmentMemory,
) -> Result<i64, Errno> {
    let inv = DrmQdaInvokeArgs {
        handle: 0x100,
        sc: qda_proto::Scalars::make(0, 1, 0).0,
        args: ARGS_AT,
    };
    let um = mem(vec![
        (STRUCT_AT, inv.as_bytes().to_vec()),
        (ARGS_AT, arg.as_bytes().to_vec()),
    ]);
    f.ioctl(DRM_IOCTL_QDA_REMOTE_INVOKE, STRUCT_AT, &um)
        .map_err(|e| e.errno)
}

fn cdsp_with_unreachable_dsp() -> Checked {
    let drv = driver();
    drv.attach_dsp("cdsp", Arc::new(Unreachable)).unwrap();
    drv
}

/// Finding 4: a VMA whose file offset is near `u64::MAX` overflowed
/// `file_offset + (ptr - start)` (a panic in a debug build; through qdad
/// the request was never answered). The pointer lies in no usable mapping
/// of the buffer: `EFAULT`.
#[test]
fn forged_vma_file_offset_near_u64_max_is_efault() {
    let drv = cdsp_with_unreachable_dsp();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let buf = export(&f, h);
    for off in [u64::MAX, u64::MAX - 0xfff, u64::MAX - 0x1000, u64::MAX / 2 + 1] {
        let arg = FastrpcInvokeArgs {
            ptr: VMA_AT + 0x1000,
            length: 16,
            fd: CLIENT_FD,
            attr: 0,
        };
        let r = qda_invoke(&f, arg, |segs| client(segs, &buf, off, 0x2000));
        assert_eq!(r, Err(Errno::EFAULT), "file offset 0x{off:x}");
    }
}

// ---- the audit: every user-supplied offset, length, size and address ----

/// A segment ending exactly at the top of the address space.
fn top_segment(bytes: &[u8]) -> (u64, Vec<u8>) {
    (u64::MAX - (bytes.len() as u64 - 1), bytes.to_vec())
}

fn system_buf(drv: &qda_driver::Driver) -> OwnedFd {
    let h = open(drv, "/dev/dma_heap/system");
    h.heap_alloc(4096, 0, 2 | qda_uapi::dma_heap::O_CLOEXEC, 0).unwrap()
}

/// `strndup_user` walking a name that runs to the last byte of the address
/// space: the next byte's address wrapped (`addr + n`). The kernel faults
/// on the byte past the top: `EFAULT`.
#[test]
fn set_name_running_to_the_top_of_memory_is_efault() {
    let drv = driver();
    let buf = system_buf(&drv);
    for len in [1usize, 6, 31, 40, 64, 65] {
        let seg = top_segment(&vec![b'a'; len]);
        let at = seg.0;
        let fds = HashMap::from([(CLIENT_FD, buf.as_fd().try_clone_to_owned().unwrap())]);
        let um = SegmentMemory::new(vec![seg]).with_fds(fds);
        let r = drv.dmabuf_ioctl(CLIENT_FD, qda_uapi::dma_buf::DMA_BUF_SET_NAME_B, at, &um);
        let want = if len > 31 { Errno::EINVAL } else { Errno::EFAULT };
        assert_eq!(r.map_err(|e| e.errno), Err(want), "{len} bytes before the top");
    }
}

/// `UDMABUF_CREATE_LIST` with its head in the last 8 bytes: the items
/// follow at `arg + 8`, which wraps to 0 in the kernel. No items: nothing
/// is read and the empty list is `EINVAL`; one item: reading it faults.
#[test]
fn udmabuf_list_head_at_the_top_of_memory() {
    use qda_uapi::udmabuf::*;
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    for (count, want) in [(0u32, Errno::EINVAL), (1, Errno::EFAULT), (u32::MAX, Errno::EINVAL)] {
        let head = UdmabufCreateList { flags: 0, count };
        let seg = top_segment(head.as_bytes());
        let at = seg.0;
        let um = SegmentMemory::new(vec![seg]);
        let r = u.ioctl(UDMABUF_CREATE_LIST, at, &um).map_err(|e| e.errno);
        assert_eq!(r, Err(want), "count {count}");
    }
}

/// udmabuf ranges near `u64::MAX`: offset + size wraps → `EINVAL`.
#[test]
fn udmabuf_ranges_that_wrap_are_einval() {
    use qda_uapi::udmabuf::*;
    let drv = driver();
    let u = open(&drv, "/dev/udmabuf");
    let m = rustix::fs::memfd_create("u", rustix::fs::MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&m, 8192).unwrap();
    rustix::fs::fcntl_add_seals(&m, rustix::fs::SealFlags::SHRINK).unwrap();
    let fds = || HashMap::from([(3, m.as_fd().try_clone_to_owned().unwrap())]);
    let page = u64::MAX - 4095;
    for (offset, size) in [(page, 4096), (4096, page), (page, page), (0, u64::MAX), (u64::MAX, 0)] {
        let c = UdmabufCreate {
            memfd: 3,
            flags: 0,
            offset,
            size,
        };
        let um = SegmentMemory::new(vec![(STRUCT_AT, c.as_bytes().to_vec())]).with_fds(fds());
        let r = u.ioctl(UDMABUF_CREATE, STRUCT_AT, &um).map_err(|e| e.errno);
        assert_eq!(r, Err(Errno::EINVAL), "offset 0x{offset:x} size 0x{size:x}");
    }
}

/// dma-heap lengths near `u64::MAX` on every heap: page rounding that wraps
/// is `EINVAL` (the kernel's `PAGE_ALIGN` gives 0); a rounded length no
/// heap holds is `ENOMEM` or `EINVAL` (a memfd larger than a file may be),
/// never a panic — also with a capped system heap, whose `used + size`
/// overflowed.
#[test]
fn heap_lengths_near_u64_max() {
    use qda_uapi::dma_heap::*;
    let mut cfg = qda_driver::DriverConfig::new(qda_driver::Platform::builtin());
    cfg.system_limit = Some(1 << 20);
    let drv = driver_with(cfg);
    let names: Vec<String> = drv.heaps().iter().map(|h| h.name.clone()).collect();
    assert!(names.len() >= 3, "{names:?}");
    for name in names {
        let h = open(&drv, &format!("/dev/dma_heap/{name}"));
        let _held = h.heap_alloc(4096, 0, 2, 0).unwrap();
        for len in [
            u64::MAX,
            u64::MAX - 4094,
            u64::MAX - 4095,
            u64::MAX - 8191,
            1 << 63,
            1 << 62,
        ] {
            let mut a = DmaHeapAllocationData {
                len,
                fd: 0,
                fd_flags: 2,
                heap_flags: 0,
            };
            let r = ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a);
            let ok = [Errno::ENOMEM, Errno::EINVAL];
            assert!(
                r.as_ref().is_err_and(|e| ok.contains(e)),
                "{name}: len 0x{len:x}: {r:?}"
            );
            if page_aligned_wraps(len) {
                assert_eq!(r, Err(Errno::EINVAL), "{name}: len 0x{len:x}");
            }
        }
    }
}

fn page_aligned_wraps(v: u64) -> bool {
    v.checked_add(4095).is_none()
}

/// `GEM_CREATE` sizes near `u64::MAX`: rounding that wraps is `EINVAL`; a
/// size no CB can map fails cleanly.
#[test]
fn gem_create_sizes_near_u64_max() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    for size in [
        u64::MAX,
        u64::MAX - 4094,
        u64::MAX - 4095,
        1 << 63,
        1 << 40,
        (1 << 32) + 1,
    ] {
        let mut c = DrmQdaGemCreate {
            size,
            handle: 0,
            pad: 0,
        };
        let r = ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut c);
        assert!(r.is_err(), "size 0x{size:x}: {r:?}");
        if page_aligned_wraps(size) {
            assert_eq!(r, Err(Errno::EINVAL), "size 0x{size:x}");
        }
    }
}

/// `mmap` at a fake offset: offsets and lengths near `u64::MAX` find no
/// object (`EINVAL`), for this process and for a daemon's client.
#[test]
fn gem_mmap_offsets_near_u64_max_are_einval() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let off = f.gem_mmap_offset(h).unwrap();
    for (o, len) in [
        (u64::MAX, 1),
        (u64::MAX, u64::MAX),
        (off, u64::MAX),
        (off + 4096, u64::MAX - 4095),
        (off + 8191, 2),
        (0, u64::MAX),
    ] {
        assert_eq!(
            f.mmap(o, len, false).map(|_| ()).unwrap_err().errno,
            Errno::EINVAL,
            "0x{o:x}+0x{len:x}"
        );
        assert_eq!(f.mmap_file(o, len, false).map(|_| ()).unwrap_err().errno, Errno::EINVAL);
    }
}

/// `REMOTE_MAP` (both requests) and legacy `MEM_MAP` / `MMAP` / `MUNMAP`
/// with offsets, sizes and addresses near the top: refused before the DSP
/// is asked (the DSP here refuses every message with `EPIPE`, so a call
/// that got through would say so).
#[test]
fn map_requests_near_u64_max_are_refused_before_the_dsp() {
    let drv = cdsp_with_unreachable_dsp();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let buf = export(&f, h);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&buf);
    for (request, offset, size) in [
        (QDA_MAP_REQUEST_ATTR, u32::MAX, 1),
        (QDA_MAP_REQUEST_ATTR, 4096, u64::MAX),
        (QDA_MAP_REQUEST_ATTR, 1, u64::MAX - 1),
        (QDA_MAP_REQUEST_ATTR, 0, 8193),
        (QDA_MAP_REQUEST_LEGACY, 0, u64::MAX),
        (QDA_MAP_REQUEST_LEGACY, 0, u64::MAX - 4095),
    ] {
        let mut m = DrmQdaMemMap {
            request,
            flags: 0,
            fd,
            attrs: 0,
            offset,
            pad: 0,
            vaddrin: u64::MAX,
            size,
            vaddrout: 0,
        };
        let r = ioctl(&f, DRM_IOCTL_QDA_REMOTE_MAP, &mut m);
        assert_eq!(
            r,
            Err(Errno::EINVAL),
            "request {request} offset {offset:#x} size {size:#x}"
        );
    }

    use qda_uapi::fastrpc::*;
    let l = open(&drv, "/dev/fastrpc-cdsp");
    for (offset, length) in [(i32::MAX, u64::MAX), (-1, 1), (i32::MIN, 4096), (0, u64::MAX)] {
        let mut m = FastrpcMemMap {
            fd,
            offset,
            length,
            vaddrin: u64::MAX,
            ..Default::default()
        };
        let r = ioctl(&l, FASTRPC_IOCTL_MEM_MAP, &mut m);
        assert_eq!(r, Err(Errno::EINVAL), "MEM_MAP offset {offset} length {length:#x}");
    }
    for size in [u64::MAX, u64::MAX - 4094, 0] {
        let mut m = FastrpcReqMmap {
            fd: -1,
            flags: ADSP_MMAP_ADD_PAGES,
            vaddrin: 0,
            size,
            vaddrout: 0,
        };
        assert_eq!(
            ioctl(&l, FASTRPC_IOCTL_MMAP, &mut m),
            Err(Errno::EINVAL),
            "MMAP size {size:#x}"
        );
    }
    for size in [u64::MAX - 4095, 1 << 40] {
        let mut m = FastrpcReqMmap {
            fd: -1,
            flags: ADSP_MMAP_ADD_PAGES,
            vaddrin: 0,
            size,
            vaddrout: 0,
        };
        let r = ioctl(&l, FASTRPC_IOCTL_MMAP, &mut m);
        assert!(r.is_err() && r != Err(Errno::EPIPE), "MMAP size {size:#x}: {r:?}");
    }
    let mut u = FastrpcReqMunmap {
        vaddrout: u64::MAX,
        size: u64::MAX,
    };
    assert_eq!(ioctl(&l, FASTRPC_IOCTL_MUNMAP, &mut u), Err(Errno::EINVAL));
}

/// Invoke arguments near the top: an argument array, inline buffers and
/// dma-buf pointers whose `ptr + len` wraps, dma-buf lengths past the
/// buffer, VMAs of every shape. Each is refused before the DSP is asked.
#[test]
fn invoke_arguments_near_u64_max_are_refused_before_the_dsp() {
    let drv = cdsp_with_unreachable_dsp();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let buf = export(&f, h);
    let arg = |ptr, length, fd| FastrpcInvokeArgs {
        ptr,
        length,
        fd,
        attr: 0,
    };
    // Inline: ptr + len wraps (EOVERFLOW from the payload plan, or a fault).
    for (ptr, len) in [(u64::MAX, 1), (u64::MAX - 15, 32), (1, u64::MAX), (u64::MAX, u64::MAX)] {
        let r = qda_invoke(&f, arg(ptr, len, -1), SegmentMemory::new);
        assert!(
            matches!(r, Err(Errno::EOVERFLOW | Errno::EFAULT)),
            "inline 0x{ptr:x}+0x{len:x}: {r:?}"
        );
    }
    // dma-buf: lengths past the buffer, pointers outside the VMA, VMAs that
    // wrap or start at the top.
    let cases: [(u64, u64, u64, u64); 7] = [
        // (ptr, len, vma file offset, vma len)
        (VMA_AT, u64::MAX, 0, 0x2000),
        (VMA_AT + 0x1fff, u64::MAX - 0x1fff, 0, 0x2000),
        (VMA_AT + 0x1000, 0x1001, 0, 0x2000),
        (VMA_AT + 0x2000, 16, 0, 0x2000),
        (VMA_AT + 0x10, 16, 0x2000, 0x2000),
        (u64::MAX, 1, 0, u64::MAX - VMA_AT),
        (VMA_AT + 0x1000, 16, u64::MAX - 0xfff, u64::MAX),
    ];
    for (ptr, len, file_offset, vma_len) in cases {
        let r = qda_invoke(&f, arg(ptr, len, CLIENT_FD), |segs| {
            client(segs, &buf, file_offset, vma_len)
        });
        assert!(
            matches!(r, Err(Errno::EFAULT | Errno::EINVAL | Errno::EOVERFLOW)),
            "dma-buf 0x{ptr:x}+0x{len:x} in a VMA at offset 0x{file_offset:x} of 0x{vma_len:x}: {r:?}"
        );
    }
    // The argument array itself at the top of memory.
    let inv = DrmQdaInvokeArgs {
        handle: 0x100,
        sc: qda_proto::Scalars::make(0, 1, 0).0,
        args: u64::MAX - 10,
    };
    let um = SegmentMemory::new(vec![(STRUCT_AT, inv.as_bytes().to_vec()), top_segment(&[0; 11])]);
    assert_eq!(
        f.ioctl(DRM_IOCTL_QDA_REMOTE_INVOKE, STRUCT_AT, &um)
            .map_err(|e| e.errno),
        Err(Errno::EFAULT)
    );
}

/// Session creation with a shell in a dma-buf through a forged VMA: the
/// same offset arithmetic as an invoke.
#[test]
fn session_create_shell_through_a_forged_vma_is_efault() {
    let drv = cdsp_with_unreachable_dsp();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let buf = export(&f, h);
    let c = DrmQdaInitCreate {
        filelen: 16,
        filefd: CLIENT_FD,
        attrs: 0,
        siglen: 0,
        file: VMA_AT + 0x1000,
    };
    let um = client(vec![(STRUCT_AT, c.as_bytes().to_vec())], &buf, u64::MAX - 0x10, 0x2000);
    assert_eq!(
        f.ioctl(DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, STRUCT_AT, &um)
            .map_err(|e| e.errno),
        Err(Errno::EFAULT)
    );
}

/// `DRM_IOCTL_VERSION` with string pointers at the top of memory and
/// lengths of `u64::MAX`: the copy faults (`EFAULT`), the lengths say the
/// full string lengths.
#[test]
fn version_strings_at_the_top_of_memory_fault() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let v = DrmVersion {
        name_len: u64::MAX,
        name: u64::MAX - 1,
        ..Default::default()
    };
    let um = SegmentMemory::new(vec![(STRUCT_AT, v.as_bytes().to_vec()), top_segment(&[0; 2])]);
    let r = f.ioctl(DRM_IOCTL_VERSION, STRUCT_AT, &um).map_err(|e| e.errno);
    assert_eq!(r, Err(Errno::EFAULT));
}

/// Found by the ioctl fuzz: `INIT_CREATE_STATIC` whose call to the DSP
/// failed in transport (not with a DSP error) kept the remote heap it had
/// just allocated. The kernel frees it on every failed invoke (`err_invoke`
/// → `err_map`: free, then forget it, the CVE-2026-31730 fix); so do we.
#[test]
fn create_static_frees_its_heap_when_the_call_fails() {
    use qda_uapi::fastrpc::*;
    let drv = cdsp_with_unreachable_dsp();
    let l = open(&drv, "/dev/fastrpc-cdsp");
    let name = b"audiopd";
    let mut c = FastrpcInitCreateStatic {
        namelen: name.len() as u32,
        memlen: 1 << 20,
        name: name.as_ptr() as u64,
    };
    assert_eq!(ioctl(&l, FASTRPC_IOCTL_INIT_CREATE_STATIC, &mut c), Err(Errno::EPIPE));
    drop(l);
    assert_eq!(drv.stats().backings, 0, "{:?}", drv.stats());
}

// ---- property: the arithmetic paths with any numbers ----

fn num() -> impl proptest::strategy::Strategy<Value = u64> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>(),
        Just(0u64),
        Just(u64::MAX),
        (0u64..0x10000).prop_map(|d| u64::MAX - d),
        (0u64..64).prop_map(|p| p * 4096),
        (0u64..0x3000),
        (0u32..64).prop_map(|s| 1u64 << s),
        (0u64..64).prop_map(|p| (u64::MAX - 4095) - p * 4096),
        any::<u32>().prop_map(u64::from),
    ]
}

fn sealed_memfd(size: u64) -> OwnedFd {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create("h", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&fd, size).unwrap();
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK).unwrap();
    fd
}

/// One numeric path, by number, with three numbers `a`, `b`, `c`.
fn numbers_case(path: u8, a: u64, b: u64, c: u64) {
    use qda_uapi::dma_heap::*;
    use qda_uapi::fastrpc::*;
    use qda_uapi::udmabuf::*;
    let drv = driver();
    for d in drv.domains() {
        drv.attach_dsp(d.label(), Arc::new(Unreachable)).unwrap();
    }
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(8192).unwrap();
    let buf = export(&f, h);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&buf);
    let ok = |r: Result<i64, Errno>| -> Option<OwnedFd> {
        match r {
            Ok(v) if v > 2 => Some(own(v as i32)),
            Ok(_) => None,
            Err(e) => {
                assert!(e.0 > 0 && e.0 < 4096, "{e:?}");
                None
            }
        }
    };
    let mut keep = Vec::new();
    match path % 10 {
        0 => {
            let heaps: Vec<String> = drv.heaps().iter().map(|h| h.name.clone()).collect();
            let hf = open(
                &drv,
                &format!("/dev/dma_heap/{}", heaps[(c % heaps.len() as u64) as usize]),
            );
            let mut x = DmaHeapAllocationData {
                len: a,
                fd: 0,
                fd_flags: 2,
                heap_flags: 0,
            };
            if ioctl(&hf, DMA_HEAP_IOCTL_ALLOC, &mut x).is_ok() {
                keep.push(own(x.fd as i32));
            }
        }
        1 => {
            let u = open(&drv, "/dev/udmabuf");
            let m = sealed_memfd(c % (64 << 20));
            let mut x = UdmabufCreate {
                memfd: std::os::fd::AsRawFd::as_raw_fd(&m) as u32,
                flags: UDMABUF_FLAGS_CLOEXEC,
                offset: a,
                size: b,
            };
            keep.extend(ok(ioctl(&u, UDMABUF_CREATE, &mut x)));
        }
        2 => {
            let mut m = DrmQdaMemMap {
                request: QDA_MAP_REQUEST_ATTR,
                fd,
                offset: a as u32,
                vaddrin: c,
                size: b,
                ..Default::default()
            };
            keep.extend(ok(ioctl(&f, DRM_IOCTL_QDA_REMOTE_MAP, &mut m)));
            m.request = QDA_MAP_REQUEST_LEGACY;
            keep.extend(ok(ioctl(&f, DRM_IOCTL_QDA_REMOTE_MAP, &mut m)));
            let mut u = DrmQdaMemUnmap {
                request: QDA_MUNMAP_REQUEST_ATTR,
                fd,
                vaddr: a,
                vaddrout: b,
                size: c,
            };
            keep.extend(ok(ioctl(&f, DRM_IOCTL_QDA_REMOTE_MUNMAP, &mut u)));
        }
        3 => {
            let l = open(&drv, "/dev/fastrpc-cdsp");
            let mut m = FastrpcMemMap {
                fd,
                offset: a as i32,
                length: b,
                vaddrin: c,
                ..Default::default()
            };
            keep.extend(ok(ioctl(&l, FASTRPC_IOCTL_MEM_MAP, &mut m)));
            let mut u = FastrpcMemUnmap {
                fd,
                vaddr: a,
                length: b,
                ..Default::default()
            };
            keep.extend(ok(ioctl(&l, FASTRPC_IOCTL_MEM_UNMAP, &mut u)));
        }
        4 => {
            let l = open(&drv, "/dev/fastrpc-cdsp");
            let mut m = FastrpcReqMmap {
                fd: -1,
                flags: if c.is_multiple_of(2) {
                    ADSP_MMAP_ADD_PAGES
                } else {
                    ADSP_MMAP_REMOTE_HEAP_ADDR
                },
                vaddrin: 0,
                size: a,
                vaddrout: 0,
            };
            keep.extend(ok(ioctl(&l, FASTRPC_IOCTL_MMAP, &mut m)));
            let mut u = FastrpcReqMunmap { vaddrout: b, size: c };
            keep.extend(ok(ioctl(&l, FASTRPC_IOCTL_MUNMAP, &mut u)));
            let mut d = FastrpcAllocDmaBuf {
                fd: -1,
                flags: 0,
                size: b,
            };
            if ioctl(&l, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut d).is_ok() {
                keep.push(own(d.fd));
            }
        }
        5 => {
            let mut g = DrmQdaGemCreate {
                size: a,
                handle: 0,
                pad: 0,
            };
            let _ = ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g);
            let off = f.gem_mmap_offset(h).unwrap();
            for (o, len) in [(b, c), (off.wrapping_add(b), c), (off, c), (b, 4096)] {
                let _ = f.mmap(o, len, false);
                let _ = f.mmap_file(o, len, true);
            }
        }
        6 | 7 => {
            // A dma-buf argument through a forged VMA.
            let arg = FastrpcInvokeArgs {
                ptr: if path.is_multiple_of(2) {
                    VMA_AT.wrapping_add(a % 0x4000)
                } else {
                    a
                },
                length: b,
                fd: CLIENT_FD,
                attr: 0,
            };
            let r = qda_invoke(&f, arg, |segs| client(segs, &buf, c, a.wrapping_sub(b)));
            keep.extend(ok(r));
        }
        8 => {
            // Inline arguments: ptr + len in a copied segment.
            let arg = FastrpcInvokeArgs {
                ptr: a,
                length: b,
                fd: -1,
                attr: 0,
            };
            let r = qda_invoke(&f, arg, |mut segs| {
                segs.push((c, vec![0; (b % 0x2000) as usize]));
                SegmentMemory::new(segs)
            });
            keep.extend(ok(r));
        }
        _ => {
            // Session create with a shell in the dma-buf through a forged VMA.
            let x = DrmQdaInitCreate {
                filelen: a as u32,
                filefd: CLIENT_FD,
                attrs: 0,
                siglen: 0,
                file: VMA_AT.wrapping_add(b % 0x4000),
            };
            let um = client(vec![(STRUCT_AT, x.as_bytes().to_vec())], &buf, c, b);
            let r = f.ioctl(DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, STRUCT_AT, &um);
            keep.extend(ok(r.map_err(|e| e.errno)));
        }
    }
    drop(keep);
    drop((f, buf));
    drv.settle();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: qda_test::fuzz_cases(300),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Heap lengths, udmabuf ranges, REMOTE_MAP / MEM_MAP / MMAP / MUNMAP /
    /// ALLOC_DMA_BUFF sizes and addresses, GEM sizes and mmap offsets,
    /// invoke pointers, lengths and VMAs, shells: any numbers give an errno
    /// or success, and the driver is clean afterwards.
    #[test]
    fn any_numbers_on_the_arithmetic_paths(path in 0u8..10, a in num(), b in num(), c in num()) {
        numbers_case(path, a, b, c);
    }
}

/// A system-heap length larger than the machine's memory: the kernel's
/// system heap runs out of pages (`ENOMEM`). The model's memfds are sparse,
/// so it handed out a buffer of exabytes that anyone touching it would try
/// to back; it now refuses what no machine this size could hold.
#[test]
fn system_heap_lengths_beyond_memory_are_enomem() {
    use qda_uapi::dma_heap::*;
    let drv = driver();
    let h = open(&drv, "/dev/dma_heap/system");
    for len in [1u64 << 62, 1 << 50, u64::MAX - 8191] {
        let mut a = DmaHeapAllocationData {
            len,
            fd: 0,
            fd_flags: 2,
            heap_flags: 0,
        };
        assert_eq!(
            ioctl(&h, DMA_HEAP_IOCTL_ALLOC, &mut a),
            Err(Errno::ENOMEM),
            "len 0x{len:x}"
        );
    }
}

/// An inline input whose length the client's segments do not cover is
/// refused before a payload is made for it: a forged length of gigabytes
/// made the daemon allocate and zero-fill a payload that large (up to the
/// CB's 4 GiB IOVA space, per call) only to fault on the first copy. The
/// answer is the same `EFAULT` the copy gives.
#[test]
fn inline_inputs_not_supplied_are_efault_before_any_payload() {
    let drv = cdsp_with_unreachable_dsp();
    let f = accel(&drv, "cdsp");
    let before = drv.stats().payloads_allocated;
    for len in [17u64, 1 << 20, 3 << 30] {
        let arg = FastrpcInvokeArgs {
            ptr: 0x10_0000,
            length: len,
            fd: -1,
            attr: 0,
        };
        let r = qda_invoke(&f, arg, |mut segs| {
            segs.push((0x10_0000, vec![7; 16]));
            SegmentMemory::new(segs)
        });
        assert_eq!(r, Err(Errno::EFAULT), "len {len}");
    }
    assert_eq!(drv.stats().payloads_allocated, before, "no payload was made");
    // Supplied inputs still go out (and meet the unreachable DSP).
    let arg = FastrpcInvokeArgs {
        ptr: 0x10_0000,
        length: 16,
        fd: -1,
        attr: 0,
    };
    let r = qda_invoke(&f, arg, |mut segs| {
        segs.push((0x10_0000, vec![7; 16]));
        SegmentMemory::new(segs)
    });
    assert_eq!(r, Err(Errno::EPIPE));
}

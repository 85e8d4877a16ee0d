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

fn export(f: &File, handle: u32) -> OwnedFd {
    let mut p = DrmPrimeHandle {
        handle,
        flags: DRM_CLOEXEC | DRM_RDWR,
        fd: -1,
    };
    assert_eq!(ioctl(f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p), Ok(0));
    own(p.fd)
}

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

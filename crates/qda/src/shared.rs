//! What a device's objects share: the open device file, the UAPI it
//! speaks, the GEM handles in use, and the ioctls made on it.

use qda_ioctl::{self as spec, Ioctl};
use qda_rt::lock;
use qda_uapi::drm::DrmGemClose;
use qda_uapi::fastrpc::{self as uf, FastrpcInvokeArgs};
use qda_uapi::qda::{DrmQdaGemMmapOffset, DrmQdaInvokeArgs, Revision};

use crate::domain::Domain;
use crate::error::{Error, os};
use crate::os::Lent;
use crate::sys::DeviceFile;
use zerocopy::IntoBytes;

/// Which UAPI a device speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uapi {
    /// The QDA accel node (`/dev/accel/accelN`): GEM buffers, PRIME.
    Qda,
    /// The legacy fastrpc node (`/dev/fastrpc-*`): buffers are dma-bufs
    /// from `ALLOC_DMA_BUFF` (no GEM handles), imports are plain fds.
    Fastrpc,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) file: DeviceFile,
    pub(crate) domain: Domain,
    pub(crate) uapi: Uapi,
    /// The QDA UAPI revision the accel node answers (probed at open; the
    /// default on a legacy node, where it means nothing).
    pub(crate) revision: Revision,
    /// GEM handle → number of `Buffer`s using it. PRIME gives one handle per
    /// dma-buf per file, so two imports share a handle; it is closed when
    /// the last user goes (what Mesa does on top of the same UAPI).
    pub(crate) handles: std::sync::Mutex<std::collections::HashMap<u32, usize>>,
}

impl Inner {
    pub(crate) fn hold(&self, handle: u32) {
        if self.uapi == Uapi::Fastrpc {
            return;
        }
        *lock(&self.handles).entry(handle).or_insert(0) += 1;
    }
    pub(crate) fn release(&self, handle: u32) {
        if self.uapi == Uapi::Fastrpc {
            return;
        }
        let mut h = lock(&self.handles);
        let n = h.get_mut(&handle).map(|n| {
            *n -= 1;
            *n
        });
        if n == Some(0) {
            h.remove(&handle);
            drop(h);
            let mut c = DrmGemClose { handle, pad: 0 };
            let _ = self.call::<spec::DrmIoctlGemClose>(&mut c);
        }
    }
}

/// The QDA UAPI revision the accel node `file` answers, told apart by the
/// one probe that has no side effect: `GEM_MMAP_OFFSET` in the May 2026
/// layout `{offset, handle, pad}` with handle 0 and `pad` 1. A May 2026
/// node refuses the `pad` (`EINVAL`) before it looks a handle up; an RFC
/// node reads the same bytes as `{handle 0, pad 0, offset}`, checks no
/// `pad`, and finds no object 0 (`ENOENT`). No object is made, no context
/// bank assigned and no DSP called. QUERY cannot tell them apart (the same
/// 16-byte struct and number in both), nor can DRM VERSION (neither
/// posting ties its numbers to the UAPI). Anything but `ENOENT` is taken
/// as May 2026, the default.
pub(crate) fn probe_revision(file: &DeviceFile) -> Revision {
    let mut m = DrmQdaGemMmapOffset {
        offset: 0,
        handle: 0,
        pad: 1,
    };
    match file.call::<spec::DrmIoctlQdaGemMmapOffset>(&mut m) {
        Err(e) if e.errno == crate::os::Errno::ENOENT => Revision::Rfc2026Feb,
        _ => Revision::May2026,
    }
}

impl Inner {
    /// Make ioctl `I` on this device file; its number and argument type
    /// come together from the one description of `I`.
    pub(crate) fn call<I: Ioctl>(&self, arg: &mut I::Arg) -> Result<i64, Error> {
        self.call_as::<I>(I::DESC.name, arg)
    }

    /// [`Inner::call`], naming the operation `op` in an error.
    pub(crate) fn call_as<I: Ioctl>(&self, op: &str, arg: &mut I::Arg) -> Result<i64, Error> {
        self.file.call::<I>(arg).map_err(os(op))
    }

    /// One invoke on this file with caller-built descriptors, by the UAPI
    /// the file speaks: the ioctl's value (the DSP's return value).
    /// `data`: the buffers the descriptors point to, lent where the
    /// caller has them as slices ([`crate::os::Lent`]; the descriptor array
    /// and the ioctl struct are lent here).
    pub(crate) fn invoke<'a>(
        &self,
        handle: u32,
        sc: u32,
        args: &'a mut [FastrpcInvokeArgs],
        mut data: Lent<'a>,
        op: &str,
    ) -> Result<i64, Error> {
        let ptr = args.as_mut_ptr() as u64;
        data.read_write(args.as_mut_bytes());
        match self.uapi {
            Uapi::Qda => {
                let mut inv = DrmQdaInvokeArgs { handle, sc, args: ptr };
                self.file
                    .call_lent::<spec::DrmIoctlQdaRemoteInvoke>(&mut inv, data)
                    .map_err(os(op))
            }
            Uapi::Fastrpc => {
                let mut inv = uf::FastrpcInvoke { handle, sc, args: ptr };
                self.file
                    .call_lent::<spec::FastrpcIoctlInvoke>(&mut inv, data)
                    .map_err(os(op))
            }
        }
    }
}

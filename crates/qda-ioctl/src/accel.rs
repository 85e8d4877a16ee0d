//! The accel node's ioctls: the DRM core subset qda models and QDA's driver
//! table, May 2026 by default and the Feb 2026 RFC where it differs
//! (`qda_uapi::qda::Revision`).

use core::mem::offset_of;

use qda_uapi::{drm as ud, qda as uq};

use crate::{ArgCopy, BufRef, Desc, FdOut, Ioctl, Reach, Revision, Target, Visit, desc, walk_invoke, walk_shell};

/// The QDA rule for an invoke argument's or shell's `fd`: when positive, a
/// dma-buf fd (May 2026) or a GEM handle, never an fd (the RFC).
fn qda_dmabuf(rev: Revision) -> fn(i32) -> BufRef {
    if rev.buffer_refs_are_gem_handles() {
        |fd| if fd > 0 { BufRef::Gem } else { BufRef::Inline }
    } else {
        |fd| if fd > 0 { BufRef::DmaBuf } else { BufRef::Inline }
    }
}

/// `DRM_IOCTL_VERSION`: the driver writes its name, date and description
/// into the caller's three buffers.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlVersion;
impl Ioctl for DrmIoctlVersion {
    type Arg = ud::DrmVersion;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_VERSION",
        ud::DRM_IOCTL_VERSION,
        Target::Accel,
        ArgCopy::Sized,
    );
    fn walk(_: u64, v: &Self::Arg, _: Revision, out: &mut dyn Visit) {
        // The driver writes at most the length of its strings, all far
        // below 4 KiB, however large a length the caller claims.
        for (addr, len) in [(v.name, v.name_len), (v.date, v.date_len), (v.desc, v.desc_len)] {
            if addr != 0 && len != 0 {
                out.reach(Reach::Out {
                    addr,
                    len: len.min(4096),
                });
            }
        }
    }
}

/// `DRM_IOCTL_GET_CAP`.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlGetCap;
impl Ioctl for DrmIoctlGetCap {
    type Arg = ud::DrmGetCap;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_GET_CAP",
        ud::DRM_IOCTL_GET_CAP,
        Target::Accel,
        ArgCopy::Sized,
    );
}

/// `DRM_IOCTL_GEM_CLOSE`.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlGemClose;
impl Ioctl for DrmIoctlGemClose {
    type Arg = ud::DrmGemClose;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_GEM_CLOSE",
        ud::DRM_IOCTL_GEM_CLOSE,
        Target::Accel,
        ArgCopy::Sized,
    );
}

/// `DRM_IOCTL_PRIME_HANDLE_TO_FD`: exports a GEM object as a new dma-buf fd.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlPrimeHandleToFd;
impl Ioctl for DrmIoctlPrimeHandleToFd {
    type Arg = ud::DrmPrimeHandle;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_PRIME_HANDLE_TO_FD",
        ud::DRM_IOCTL_PRIME_HANDLE_TO_FD,
        Target::Accel,
        ArgCopy::Sized,
    )
    .fd_out(FdOut::Field(offset_of!(ud::DrmPrimeHandle, fd)));
}

/// `DRM_IOCTL_PRIME_FD_TO_HANDLE`: imports the dma-buf `fd` names.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlPrimeFdToHandle;
impl Ioctl for DrmIoctlPrimeFdToHandle {
    type Arg = ud::DrmPrimeHandle;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_PRIME_FD_TO_HANDLE",
        ud::DRM_IOCTL_PRIME_FD_TO_HANDLE,
        Target::Accel,
        ArgCopy::Sized,
    );
    fn walk(_: u64, p: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        v.reach(Reach::Fd(p.fd));
    }
}

/// `DRM_IOCTL_QDA_QUERY`: the DSP name of the node.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaQuery;
impl Ioctl for DrmIoctlQdaQuery {
    type Arg = uq::DrmQdaQuery;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_QUERY",
        uq::DRM_IOCTL_QDA_QUERY,
        Target::Accel,
        ArgCopy::Sized,
    );
}

/// `DRM_IOCTL_QDA_GEM_CREATE` (May 2026 layout).
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaGemCreate;
impl Ioctl for DrmIoctlQdaGemCreate {
    type Arg = uq::DrmQdaGemCreate;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_GEM_CREATE",
        uq::DRM_IOCTL_QDA_GEM_CREATE,
        Target::Accel,
        ArgCopy::Sized,
    )
    .only(Revision::May2026);
}

/// `DRM_IOCTL_QDA_GEM_MMAP_OFFSET` (May 2026 layout).
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaGemMmapOffset;
impl Ioctl for DrmIoctlQdaGemMmapOffset {
    type Arg = uq::DrmQdaGemMmapOffset;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_GEM_MMAP_OFFSET",
        uq::DRM_IOCTL_QDA_GEM_MMAP_OFFSET,
        Target::Accel,
        ArgCopy::Sized,
    )
    .only(Revision::May2026);
}

/// `DRM_IOCTL_QDA_GEM_CREATE` in the Feb 2026 RFC's layout (same number).
#[derive(Debug, Clone, Copy)]
pub struct RfcDrmIoctlQdaGemCreate;
impl Ioctl for RfcDrmIoctlQdaGemCreate {
    type Arg = uq::rfc2026::GemCreate;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_GEM_CREATE (RFC)",
        uq::rfc2026::DRM_IOCTL_QDA_GEM_CREATE,
        Target::Accel,
        ArgCopy::Sized,
    )
    .only(Revision::Rfc2026Feb);
}

/// `DRM_IOCTL_QDA_GEM_MMAP_OFFSET` in the Feb 2026 RFC's layout (same number).
#[derive(Debug, Clone, Copy)]
pub struct RfcDrmIoctlQdaGemMmapOffset;
impl Ioctl for RfcDrmIoctlQdaGemMmapOffset {
    type Arg = uq::rfc2026::GemMmapOffset;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_GEM_MMAP_OFFSET (RFC)",
        uq::rfc2026::DRM_IOCTL_QDA_GEM_MMAP_OFFSET,
        Target::Accel,
        ArgCopy::Sized,
    )
    .only(Revision::Rfc2026Feb);
}

/// The RFC's `DRM_IOCTL_QDA_INIT_ATTACH` (nr 0x43, reserved since May 2026).
#[derive(Debug, Clone, Copy)]
pub struct RfcDrmIoctlQdaInitAttach;
impl Ioctl for RfcDrmIoctlQdaInitAttach {
    type Arg = ();
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_INIT_ATTACH (RFC)",
        uq::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH,
        Target::Accel,
        ArgCopy::Sized,
    )
    .only(Revision::Rfc2026Feb)
    .blocking();
}

/// `DRM_IOCTL_QDA_REMOTE_SESSION_CREATE` (the RFC's INIT_CREATE): starts a
/// user PD from a shell passed by fd or by pointer.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaRemoteSessionCreate;
impl Ioctl for DrmIoctlQdaRemoteSessionCreate {
    type Arg = uq::DrmQdaInitCreate;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_REMOTE_SESSION_CREATE",
        uq::DRM_IOCTL_QDA_REMOTE_SESSION_CREATE,
        Target::Accel,
        ArgCopy::Sized,
    )
    .blocking();
    fn walk(_: u64, i: &Self::Arg, rev: Revision, v: &mut dyn Visit) {
        walk_shell(i.filelen, i.filefd, i.file, qda_dmabuf(rev)(i.filefd), v);
    }
}

/// `DRM_IOCTL_QDA_REMOTE_MAP`: maps the dma-buf `fd` names on the DSP.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaRemoteMap;
impl Ioctl for DrmIoctlQdaRemoteMap {
    type Arg = uq::DrmQdaMemMap;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_REMOTE_MAP",
        uq::DRM_IOCTL_QDA_REMOTE_MAP,
        Target::Accel,
        ArgCopy::Sized,
    )
    .blocking();
    fn walk(_: u64, m: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        v.reach(Reach::Fd(m.fd));
    }
}

/// `DRM_IOCTL_QDA_REMOTE_MUNMAP`.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaRemoteMunmap;
impl Ioctl for DrmIoctlQdaRemoteMunmap {
    type Arg = uq::DrmQdaMemUnmap;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_REMOTE_MUNMAP",
        uq::DRM_IOCTL_QDA_REMOTE_MUNMAP,
        Target::Accel,
        ArgCopy::Sized,
    )
    .blocking();
}

/// `DRM_IOCTL_QDA_REMOTE_INVOKE`: one FastRPC call.
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaRemoteInvoke;
impl Ioctl for DrmIoctlQdaRemoteInvoke {
    type Arg = uq::DrmQdaInvokeArgs;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_REMOTE_INVOKE",
        uq::DRM_IOCTL_QDA_REMOTE_INVOKE,
        Target::Accel,
        ArgCopy::Sized,
    )
    .blocking();
    fn walk(_: u64, i: &Self::Arg, rev: Revision, v: &mut dyn Visit) {
        walk_invoke(i.sc, i.args, qda_dmabuf(rev), v);
    }
}

/// `DRM_IOCTL_QDA_SET_POLL`: the file's poll mode. **A qda extension**
/// (`docs/DRIVER.md`, "Poll mode").
#[derive(Debug, Clone, Copy)]
pub struct DrmIoctlQdaSetPoll;
impl Ioctl for DrmIoctlQdaSetPoll {
    type Arg = uq::DrmQdaSetPoll;
    const DESC: Desc = desc::<Self>(
        "DRM_IOCTL_QDA_SET_POLL",
        uq::DRM_IOCTL_QDA_SET_POLL,
        Target::Accel,
        ArgCopy::Sized,
    );
}

//! The dma-heap, legacy FastRPC, udmabuf and dma-buf ioctls, and the walks
//! shared by both FastRPC UAPIs.

use core::mem::{offset_of, size_of};

use qda_proto::Scalars;
use qda_uapi::{dma_buf as ub, dma_heap as uh, fastrpc as uf, udmabuf as uu};

use crate::{ArgCopy, Desc, FdOut, Ioctl, Reach, Revision, Target, Visit, desc};

/// An invoke's argument array (`REMOTE_SCALARS_LENGTH(sc)` × 24 bytes at
/// `args`) and, for each buffer, either its dma-buf fd and the mapping its
/// pointer lies in, or its inline bytes (read for inputs, written for
/// outputs). Handles' fds are named too.
pub(crate) fn walk_invoke(sc: u32, args: u64, kind: fn(i32) -> BufRef, v: &mut dyn Visit) {
    let sc = Scalars(sc);
    let elem = size_of::<uf::FastrpcInvokeArgs>() as u64;
    v.reach(Reach::In {
        addr: args,
        len: sc.len() as u64 * elem,
    });
    for i in 0..sc.len() {
        let mut a = uf::FastrpcInvokeArgs::default();
        if !v.peek(args + i as u64 * elem, zerocopy::IntoBytes::as_mut_bytes(&mut a)) {
            return;
        }
        let k = kind(a.fd);
        if k != BufRef::Inline {
            if k == BufRef::DmaBuf {
                v.reach(Reach::Fd(a.fd));
            }
            // The offset of the pointer in the buffer comes from the
            // mapping it lies in (a dma-buf's, or a GEM object's).
            if i < sc.nbufs() {
                v.reach(Reach::Vma(a.ptr));
            }
        } else if i < sc.inbufs() as usize {
            v.reach(Reach::In {
                addr: a.ptr,
                len: a.length,
            });
        } else if i < sc.nbufs() {
            v.reach(Reach::Out {
                addr: a.ptr,
                len: a.length,
            });
        }
    }
}

/// What a buffer's `fd` field names, by the driver's rule for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BufRef {
    /// Nothing: the bytes travel inline.
    Inline,
    /// A dma-buf fd of the caller.
    DmaBuf,
    /// A GEM handle of the calling file (the Feb 2026 RFC).
    Gem,
}

/// A process shell of `filelen` bytes: by dma-buf `filefd` or GEM handle
/// (the mapping `file` lies in), or inline at `file`.
pub(crate) fn walk_shell(filelen: u32, filefd: i32, file: u64, kind: BufRef, v: &mut dyn Visit) {
    if filelen == 0 {
        return;
    }
    if kind != BufRef::Inline {
        if kind == BufRef::DmaBuf {
            v.reach(Reach::Fd(filefd));
        }
        v.reach(Reach::Vma(file));
    } else {
        v.reach(Reach::In {
            addr: file,
            len: filelen as u64,
        });
    }
}

/// The legacy driver's rule for an argument's `fd`: 0 and -1 mean inline
/// (`fastrpc_get_args()`, Linux `drivers/misc/fastrpc.c`).
fn legacy_dmabuf(fd: i32) -> BufRef {
    if fd != 0 && fd != -1 {
        BufRef::DmaBuf
    } else {
        BufRef::Inline
    }
}

/// `DMA_HEAP_IOCTL_ALLOC`: a new dma-buf fd from the heap.
#[derive(Debug, Clone, Copy)]
pub struct DmaHeapIoctlAlloc;
impl Ioctl for DmaHeapIoctlAlloc {
    type Arg = uh::DmaHeapAllocationData;
    const DESC: Desc = desc::<Self>(
        "DMA_HEAP_IOCTL_ALLOC",
        uh::DMA_HEAP_IOCTL_ALLOC,
        Target::DmaHeap,
        ArgCopy::Sized,
    )
    .fd_out(FdOut::Field(offset_of!(uh::DmaHeapAllocationData, fd)));
}

macro_rules! fastrpc {
    ($(#[$doc:meta])* $ty:ident, $arg:ty, $cmd:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;
        impl Ioctl for $ty {
            type Arg = $arg;
            const DESC: Desc = desc::<Self>(stringify!($cmd), uf::$cmd, Target::Fastrpc, ArgCopy::Handler).blocking();
        }
    };
}

/// `FASTRPC_IOCTL_ALLOC_DMA_BUFF`: a new dma-buf fd from the driver's heap.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlAllocDmaBuff;
impl Ioctl for FastrpcIoctlAllocDmaBuff {
    type Arg = uf::FastrpcAllocDmaBuf;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_ALLOC_DMA_BUFF",
        uf::FASTRPC_IOCTL_ALLOC_DMA_BUFF,
        Target::Fastrpc,
        ArgCopy::Handler,
    )
    .fd_out(FdOut::Field(offset_of!(uf::FastrpcAllocDmaBuf, fd)));
}

/// `FASTRPC_IOCTL_INVOKE`: one FastRPC call.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlInvoke;
impl Ioctl for FastrpcIoctlInvoke {
    type Arg = uf::FastrpcInvoke;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_INVOKE",
        uf::FASTRPC_IOCTL_INVOKE,
        Target::Fastrpc,
        ArgCopy::Handler,
    )
    .blocking();
    fn walk(_: u64, i: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        walk_invoke(i.sc, i.args, legacy_dmabuf, v);
    }
}

fastrpc!(
    /// `FASTRPC_IOCTL_INIT_ATTACH`: attach to the root PD.
    FastrpcIoctlInitAttach, (), FASTRPC_IOCTL_INIT_ATTACH
);
fastrpc!(
    /// `FASTRPC_IOCTL_INIT_ATTACH_SNS`: attach to the sensors PD.
    FastrpcIoctlInitAttachSns, (), FASTRPC_IOCTL_INIT_ATTACH_SNS
);
fastrpc!(
    /// `FASTRPC_IOCTL_MMAP`: map driver-allocated memory on the DSP.
    FastrpcIoctlMmap, uf::FastrpcReqMmap, FASTRPC_IOCTL_MMAP
);
fastrpc!(
    /// `FASTRPC_IOCTL_MUNMAP`.
    FastrpcIoctlMunmap, uf::FastrpcReqMunmap, FASTRPC_IOCTL_MUNMAP
);
fastrpc!(
    /// `FASTRPC_IOCTL_MEM_UNMAP`.
    FastrpcIoctlMemUnmap, uf::FastrpcMemUnmap, FASTRPC_IOCTL_MEM_UNMAP
);
fastrpc!(
    /// `FASTRPC_IOCTL_GET_DSP_INFO`: one capability attribute, asked of the DSP.
    FastrpcIoctlGetDspInfo, uf::FastrpcIoctlCapability, FASTRPC_IOCTL_GET_DSP_INFO
);

/// `FASTRPC_IOCTL_SET_OPTION` (proposed poll-mode series): the file's poll mode.
/// `Cmd`: the struct of the command has the command's name
/// ([`uf::FastrpcIoctlSetOption`]), and no two crates share a public type name.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlSetOptionCmd;
impl Ioctl for FastrpcIoctlSetOptionCmd {
    type Arg = uf::FastrpcIoctlSetOption;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_SET_OPTION",
        uf::FASTRPC_IOCTL_SET_OPTION,
        Target::Fastrpc,
        ArgCopy::Handler,
    );
}

/// `FASTRPC_IOCTL_INIT_CREATE`: starts a user PD.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlInitCreate;
impl Ioctl for FastrpcIoctlInitCreate {
    type Arg = uf::FastrpcInitCreate;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_INIT_CREATE",
        uf::FASTRPC_IOCTL_INIT_CREATE,
        Target::Fastrpc,
        ArgCopy::Handler,
    )
    .blocking();
    fn walk(_: u64, i: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        walk_shell(i.filelen, i.filefd, i.file, legacy_dmabuf(i.filefd), v);
    }
}

/// `FASTRPC_IOCTL_INIT_CREATE_STATIC`: starts a static PD by name.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlInitCreateStatic;
impl Ioctl for FastrpcIoctlInitCreateStatic {
    type Arg = uf::FastrpcInitCreateStatic;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_INIT_CREATE_STATIC",
        uf::FASTRPC_IOCTL_INIT_CREATE_STATIC,
        Target::Fastrpc,
        ArgCopy::Handler,
    )
    .blocking();
    fn walk(_: u64, i: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        // The driver refuses a longer name before reading it.
        if i.namelen <= uf::INIT_FILE_NAMELEN_MAX {
            v.reach(Reach::In {
                addr: i.name,
                len: i.namelen as u64,
            });
        }
    }
}

/// `FASTRPC_IOCTL_MEM_MAP`: maps the dma-buf `fd` names on the DSP.
#[derive(Debug, Clone, Copy)]
pub struct FastrpcIoctlMemMap;
impl Ioctl for FastrpcIoctlMemMap {
    type Arg = uf::FastrpcMemMap;
    const DESC: Desc = desc::<Self>(
        "FASTRPC_IOCTL_MEM_MAP",
        uf::FASTRPC_IOCTL_MEM_MAP,
        Target::Fastrpc,
        ArgCopy::Handler,
    )
    .blocking();
    fn walk(_: u64, m: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        v.reach(Reach::Fd(m.fd));
    }
}

/// `UDMABUF_CREATE`: a dma-buf from one memfd range; returns the fd.
#[derive(Debug, Clone, Copy)]
pub struct UdmabufIoctlCreate;
impl Ioctl for UdmabufIoctlCreate {
    type Arg = uu::UdmabufCreate;
    const DESC: Desc =
        desc::<Self>("UDMABUF_CREATE", uu::UDMABUF_CREATE, Target::Udmabuf, ArgCopy::Handler).fd_out(FdOut::Ret);
    fn walk(_: u64, c: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        v.reach(Reach::Fd(c.memfd as i32));
    }
}

/// `UDMABUF_CREATE_LIST`: a dma-buf from the memfd ranges that follow the
/// header; returns the fd.
#[derive(Debug, Clone, Copy)]
pub struct UdmabufIoctlCreateList;
impl Ioctl for UdmabufIoctlCreateList {
    type Arg = uu::UdmabufCreateList;
    const DESC: Desc = desc::<Self>(
        "UDMABUF_CREATE_LIST",
        uu::UDMABUF_CREATE_LIST,
        Target::Udmabuf,
        ArgCopy::Handler,
    )
    .fd_out(FdOut::Ret);
    fn walk(arg: u64, h: &Self::Arg, _: Revision, v: &mut dyn Visit) {
        // The driver checks the count against its limit before it reads
        // the items: at most the default limit's worth are reached.
        let n = h.count.min(uu::UDMABUF_LIST_LIMIT_DEFAULT) as u64;
        let item = size_of::<uu::UdmabufCreateItem>() as u64;
        let items = arg + uu::UdmabufCreateList::items_offset() as u64;
        v.reach(Reach::In {
            addr: items,
            len: n * item,
        });
        for i in 0..n {
            let mut it = uu::UdmabufCreateItem::default();
            if v.peek(items + i * item, zerocopy::IntoBytes::as_mut_bytes(&mut it)) {
                v.reach(Reach::Fd(it.memfd as i32));
            }
        }
    }
}

/// `DMA_BUF_IOCTL_SYNC` on a dma-buf fd.
#[derive(Debug, Clone, Copy)]
pub struct DmaBufIoctlSync;
impl Ioctl for DmaBufIoctlSync {
    type Arg = ub::DmaBufSync;
    const DESC: Desc = desc::<Self>(
        "DMA_BUF_IOCTL_SYNC",
        ub::DMA_BUF_IOCTL_SYNC,
        Target::DmaBuf,
        ArgCopy::Handler,
    );
}

/// `DMA_BUF_SET_NAME` as 32-bit userspace encodes it: `arg` points at the name.
#[derive(Debug, Clone, Copy)]
pub struct DmaBufIoctlSetNameA;
impl Ioctl for DmaBufIoctlSetNameA {
    type Arg = ();
    const DESC: Desc = desc::<Self>(
        "DMA_BUF_SET_NAME_A",
        ub::DMA_BUF_SET_NAME_A,
        Target::DmaBuf,
        ArgCopy::Handler,
    );
    fn walk(arg: u64, _: &(), _: Revision, v: &mut dyn Visit) {
        v.reach(Reach::CStr {
            addr: arg,
            max: ub::DMA_BUF_NAME_LEN - 1,
        });
    }
}

/// `DMA_BUF_SET_NAME` as 64-bit userspace encodes it: `arg` points at the name.
#[derive(Debug, Clone, Copy)]
pub struct DmaBufIoctlSetNameB;
impl Ioctl for DmaBufIoctlSetNameB {
    type Arg = ();
    const DESC: Desc = desc::<Self>(
        "DMA_BUF_SET_NAME_B",
        ub::DMA_BUF_SET_NAME_B,
        Target::DmaBuf,
        ArgCopy::Handler,
    );
    fn walk(arg: u64, _: &(), _: Revision, v: &mut dyn Visit) {
        DmaBufIoctlSetNameA::walk(arg, &(), Revision::default(), v);
    }
}

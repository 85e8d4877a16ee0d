//! One description per ioctl of the QDA stack.
//!
//! Every ioctl the driver model serves is a type implementing [`Ioctl`]: its
//! command number bound to its argument struct (as rustix binds an opcode to
//! its argument), the kind of file it is made on, the QDA revisions it exists
//! in, how the core copies its struct, whether it may wait on the DSP, where
//! it returns an fd, and a [`Ioctl::walk`] over the user memory and fds it
//! reaches beyond its struct (an invoke's argument array and inline buffers,
//! a process shell, a name, the fds a call names).
//!
//! Everything that needs to know what an ioctl touches reads it from here:
//! the driver's dispatch (`qda-driver/src/ioctl.rs`: a handler per
//! description, and a test that every description has one and every handler
//! a description), the daemon's client (what to copy and which fds to send)
//! and server (which calls may block), the client library
//! (`call::<I>(&mut I::Arg)`), and later the C API and the preload shim.
//!
//! [`lookup`] finds the description for a command number the way each kernel
//! subsystem does: `drm_ioctl()` by the number's `nr` within type `'d'`,
//! `dma_heap_ioctl()` by `nr` alone, the misc drivers (`fastrpc`, `udmabuf`)
//! and `dma_buf_ioctl()` by the exact number (Linux `drivers/gpu/drm/drm_ioctl.c`,
//! `drivers/dma-buf/dma-heap.c`, `drivers/dma-buf/dma-buf.c`,
//! `drivers/dma-buf/udmabuf.c`, `drivers/misc/fastrpc.c`, v6.18).
#![no_std]

mod accel;
mod misc;

use core::mem::size_of;

use qda_uapi::drm::{DRM_COMMAND_BASE, DRM_COMMAND_END, DRM_IOCTL_BASE};
use qda_uapi::ioctl::{ioc_nr, ioc_type};
pub use qda_uapi::qda::Revision;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

pub use accel::*;
pub use misc::*;

/// The kind of file an ioctl is made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `/dev/accel/accelN`: DRM core and QDA driver ioctls.
    Accel,
    /// `/dev/fastrpc-*`: the legacy FastRPC misc device.
    Fastrpc,
    /// `/dev/dma_heap/*`.
    DmaHeap,
    /// `/dev/udmabuf`.
    Udmabuf,
    /// Any dma-buf fd (SYNC, SET_NAME).
    DmaBuf,
}

impl Target {
    /// The kind of file a device path names, by the names the kernel gives
    /// its nodes (`/dev/accel/accelN`, `/dev/fastrpc-*`, `/dev/dma_heap/*`,
    /// `/dev/udmabuf`).
    #[must_use]
    pub fn of_path(path: &str) -> Option<Target> {
        if path.starts_with("/dev/accel/") {
            Some(Target::Accel)
        } else if path.starts_with("/dev/fastrpc-") {
            Some(Target::Fastrpc)
        } else if path.starts_with("/dev/dma_heap/") {
            Some(Target::DmaHeap)
        } else if path == "/dev/udmabuf" {
            Some(Target::Udmabuf)
        } else {
            None
        }
    }
}

/// How the argument struct crosses into the kernel and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgCopy {
    /// `drm_ioctl()` / `dma_heap_ioctl()`: the core copies `max(user size,
    /// table size)` bytes, the user's bytes in only when both numbers say
    /// IN (the rest zero-filled), and the user's size back when both say
    /// OUT, even when the handler failed.
    Sized,
    /// Misc drivers and dma-buf: the handler copies exactly its struct in
    /// itself, and back only on success.
    Handler,
}

/// Where an ioctl hands back a new fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdOut {
    /// It installs none.
    None,
    /// The syscall's return value is the fd.
    Ret,
    /// An `i32` field at this byte offset of the argument struct.
    Field(usize),
}

/// The QDA revisions an accel ioctl exists in (other nodes have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisions {
    /// Every revision.
    Any,
    /// Only this one.
    Only(Revision),
}

/// One piece of user memory, or one fd, an ioctl reaches beyond its struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// `len` bytes at `addr` the driver reads (an argument array, an inline
    /// input buffer, a shell, a name).
    In {
        /// User address.
        addr: u64,
        /// Bytes.
        len: u64,
    },
    /// `len` bytes at `addr` the driver may write (an inline output buffer,
    /// a version string).
    Out {
        /// User address.
        addr: u64,
        /// Bytes.
        len: u64,
    },
    /// A NUL-terminated string of at most `max` bytes (NUL excluded) at `addr`.
    CStr {
        /// User address.
        addr: u64,
        /// Longest string the driver accepts.
        max: usize,
    },
    /// A number in the caller's fd table the driver looks up.
    Fd(i32),
    /// The caller's mapping `addr` lies in (the driver's `find_vma`, for the
    /// offset of a pointer inside a dma-buf).
    Vma(u64),
}

/// What a walk sees of the caller: its memory, read where a walk must follow
/// a pointer, and a sink for what the ioctl reaches.
pub trait Visit {
    /// Read `buf.len()` bytes at `addr` of the caller's memory; false if
    /// unreadable (the walk then stops where the driver would fault).
    fn peek(&mut self, addr: u64, buf: &mut [u8]) -> bool;
    /// One piece the ioctl reaches.
    fn reach(&mut self, r: Reach);
}

/// The description of one ioctl, as data.
#[derive(Debug, Clone, Copy)]
pub struct Desc {
    /// The UAPI name of the command, e.g. `DRM_IOCTL_QDA_REMOTE_INVOKE`.
    pub name: &'static str,
    /// The command number the UAPI header defines.
    pub cmd: u32,
    /// The file it is made on.
    pub target: Target,
    /// The revisions it exists in.
    pub revisions: Revisions,
    /// How its struct is copied.
    pub copy: ArgCopy,
    /// `size_of` its argument struct (0 for none).
    pub arg_size: usize,
    /// Whether it may wait on the DSP (a message and its answer), so that a
    /// server must not run it on a thread others wait behind.
    pub blocks: bool,
    /// Where it returns a new fd.
    pub fd_out: FdOut,
    walk: fn(u64, &[u8], Revision, &mut dyn Visit),
}

impl Desc {
    /// Whether this ioctl exists on a driver of revision `rev`.
    #[must_use]
    pub fn exists_in(&self, rev: Revision) -> bool {
        match self.revisions {
            Revisions::Any => true,
            Revisions::Only(r) => r == rev,
        }
    }

    /// Walk what the ioctl reaches beyond its struct. `arg` is the user
    /// pointer the ioctl was made with; `bytes` the struct as the driver
    /// sees it (shorter input is zero-extended, as the DRM core does).
    pub fn walk(&self, arg: u64, bytes: &[u8], rev: Revision, v: &mut dyn Visit) {
        (self.walk)(arg, bytes, rev, v);
    }

    const fn blocking(mut self) -> Desc {
        self.blocks = true;
        self
    }

    const fn only(mut self, rev: Revision) -> Desc {
        self.revisions = Revisions::Only(rev);
        self
    }

    const fn fd_out(mut self, f: FdOut) -> Desc {
        self.fd_out = f;
        self
    }
}

/// An ioctl: its number bound to its argument type, and what it reaches.
pub trait Ioctl: 'static {
    /// The argument struct (`()` for none).
    type Arg: FromBytes + IntoBytes + KnownLayout + Immutable;
    /// Its description.
    const DESC: Desc;
    /// What it reaches beyond its struct; `arg` is the user pointer.
    fn walk(arg: u64, a: &Self::Arg, rev: Revision, v: &mut dyn Visit) {
        let _ = (arg, a, rev, v);
    }
}

fn erased<I: Ioctl>(arg: u64, bytes: &[u8], rev: Revision, v: &mut dyn Visit) {
    let mut a = I::Arg::new_zeroed();
    let dst = a.as_mut_bytes();
    let n = dst.len().min(bytes.len());
    dst[..n].copy_from_slice(&bytes[..n]);
    I::walk(arg, &a, rev, v);
}

const fn desc<I: Ioctl>(name: &'static str, cmd: u32, target: Target, copy: ArgCopy) -> Desc {
    Desc {
        name,
        cmd,
        target,
        revisions: Revisions::Any,
        copy,
        arg_size: size_of::<I::Arg>(),
        blocks: false,
        fd_out: FdOut::None,
        walk: erased::<I>,
    }
}

/// Every ioctl the driver model serves, each once.
pub static ALL: &[Desc] = &[
    DrmIoctlVersion::DESC,
    DrmIoctlGetCap::DESC,
    DrmIoctlGemClose::DESC,
    DrmIoctlPrimeHandleToFd::DESC,
    DrmIoctlPrimeFdToHandle::DESC,
    DrmIoctlQdaQuery::DESC,
    DrmIoctlQdaGemCreate::DESC,
    DrmIoctlQdaGemMmapOffset::DESC,
    RfcDrmIoctlQdaGemCreate::DESC,
    RfcDrmIoctlQdaGemMmapOffset::DESC,
    RfcDrmIoctlQdaInitAttach::DESC,
    DrmIoctlQdaRemoteSessionCreate::DESC,
    DrmIoctlQdaRemoteMap::DESC,
    DrmIoctlQdaRemoteMunmap::DESC,
    DrmIoctlQdaRemoteInvoke::DESC,
    DrmIoctlQdaSetPoll::DESC,
    DmaHeapIoctlAlloc::DESC,
    FastrpcIoctlAllocDmaBuff::DESC,
    FastrpcIoctlInvoke::DESC,
    FastrpcIoctlInitAttach::DESC,
    FastrpcIoctlInitCreate::DESC,
    FastrpcIoctlMmap::DESC,
    FastrpcIoctlMunmap::DESC,
    FastrpcIoctlInitAttachSns::DESC,
    FastrpcIoctlInitCreateStatic::DESC,
    FastrpcIoctlMemMap::DESC,
    FastrpcIoctlMemUnmap::DESC,
    FastrpcIoctlGetDspInfo::DESC,
    FastrpcIoctlSetOptionCmd::DESC,
    UdmabufIoctlCreate::DESC,
    UdmabufIoctlCreateList::DESC,
    DmaBufIoctlSync::DESC,
    DmaBufIoctlSetNameA::DESC,
    DmaBufIoctlSetNameB::DESC,
];

/// Entries of QDA's driver ioctl table (`nr` 0x40..=0x47, through
/// REMOTE_INVOKE): `drm_ioctl()` answers `EINVAL` past it.
pub const QDA_DRIVER_TABLE_LEN: u8 = 8;

/// Entries of the DRM core ioctl table (`DRM_IOCTL_MODE_CLOSEFB` + 1):
/// `drm_ioctl()` answers `EINVAL` past it.
pub const DRM_CORE_TABLE_LEN: u8 = 0xd1;

/// Why [`lookup`] found no description, in the terms of the subsystem that
/// would refuse the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Not a number of this kind of file (`ENOTTY`).
    NotThisNode,
    /// A QDA driver index past the driver table (`EINVAL`).
    PastDriverTable(u8),
    /// An empty slot of the driver table, such as QDA's reserved 0x43 since
    /// May 2026 (`EINVAL`).
    EmptySlot(u8),
    /// A DRM core `nr` past the core table (`EINVAL`).
    PastCoreTable(u8),
    /// A DRM core ioctl qda does not model (`EINVAL`).
    CoreNotModelled(u8),
    /// A dma-heap `nr` other than 0 (`EINVAL`).
    NoSuchHeapIoctl(u8),
}

/// An ioctl as a trace names it: its UAPI name and number, or the number
/// alone when no description serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoctlLabel {
    /// The description's name, if one serves the number.
    pub name: Option<&'static str>,
    /// The number.
    pub cmd: u32,
}

impl core::fmt::Display for IoctlLabel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name {
            Some(n) => write!(f, "{n} (0x{:08x})", self.cmd),
            None => write!(f, "ioctl 0x{:08x}", self.cmd),
        }
    }
}

/// [`IoctlLabel`] of `cmd`, named `name`.
pub fn ioctl_label(name: Option<&'static str>, cmd: u32) -> IoctlLabel {
    IoctlLabel { name, cmd }
}

/// The description a file of kind `target` on a driver of revision `rev`
/// dispatches `cmd` to.
pub fn lookup(target: Target, rev: Revision, cmd: u32) -> Result<&'static Desc, Miss> {
    let on = |d: &&Desc| d.target == target && d.exists_in(rev);
    match target {
        Target::Accel => {
            if ioc_type(cmd) != DRM_IOCTL_BASE {
                return Err(Miss::NotThisNode);
            }
            let nr = ioc_nr(cmd);
            if let Some(d) = ALL.iter().filter(on).find(|d| ioc_nr(d.cmd) == nr) {
                return Ok(d);
            }
            if (DRM_COMMAND_BASE..DRM_COMMAND_END).contains(&nr) {
                let i = nr - DRM_COMMAND_BASE;
                Err(if i < QDA_DRIVER_TABLE_LEN {
                    Miss::EmptySlot(nr)
                } else {
                    Miss::PastDriverTable(i)
                })
            } else if nr >= DRM_CORE_TABLE_LEN {
                Err(Miss::PastCoreTable(nr))
            } else {
                Err(Miss::CoreNotModelled(nr))
            }
        }
        // dma_heap_ioctl() looks at nr alone: any nr 0 is ALLOC.
        Target::DmaHeap => match ioc_nr(cmd) {
            0 => Ok(&ALL[ALL
                .iter()
                .position(|d| d.target == Target::DmaHeap)
                .expect("ALLOC is described")]),
            nr => Err(Miss::NoSuchHeapIoctl(nr)),
        },
        Target::Fastrpc | Target::Udmabuf | Target::DmaBuf => {
            ALL.iter().filter(on).find(|d| d.cmd == cmd).ok_or(Miss::NotThisNode)
        }
    }
}

/// The position in [`ALL`] of a description [`lookup`] returned (`None`
/// for a description that is not an element of [`ALL`]): a handler table
/// indexed like [`ALL`] finds its entry without a search.
pub fn index_of(d: &Desc) -> Option<usize> {
    let at = (d as *const Desc as usize).checked_sub(ALL.as_ptr() as usize)?;
    let i = at / size_of::<Desc>();
    (at % size_of::<Desc>() == 0 && i < ALL.len()).then_some(i)
}

/// The description of `I`, from [`ALL`] (the one [`lookup`] returns).
pub fn desc_of<I: Ioctl>() -> &'static Desc {
    ALL.iter()
        .find(|d| d.name == I::DESC.name && d.cmd == I::DESC.cmd && d.revisions == I::DESC.revisions)
        .expect("every Ioctl is listed in ALL")
}

#[cfg(test)]
mod tests;

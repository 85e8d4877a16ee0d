//! The raw UAPI entry: `ioctl(file, cmd, arg)` dispatched by number, with
//! direction and size handled as each kernel subsystem handles them.
//!
//! * accel files: `drm_ioctl` — type must be `'d'` (else `ENOTTY`); nr in
//!   `0x40..0xa0` indexes the driver table, anything else the core table; an
//!   index past a table or an empty slot (QDA's reserved 0x43) is `EINVAL`.
//!   The buffer is `max(user size, table size)` bytes: the user's bytes are
//!   copied in only if both encodings say IN, the rest zero-filled; the user's
//!   size is copied out if both say OUT — even when the handler failed.
//! * dma-heap: nr ≥ 1 is `EINVAL`; any nr 0 is ALLOC; sizes as DRM.
//! * legacy fastrpc, udmabuf, dma-buf: the exact command value or `ENOTTY`;
//!   the driver copies its own struct size.
//!
//! Facts from `drm_ioctl()`, `dma_heap_ioctl()`, `dma_buf_ioctl()`,
//! `udmabuf_ioctl()` and `fastrpc_device_ioctl()` of 6.14–6.18-era trees.
//!
//! Which command is which, its argument type and how its struct is copied
//! come from the one description per ioctl in `qda-ioctl`; this file holds
//! one handler per description ([`Serve`]), in the two tables at the end.
//! Adding an ioctl: describe it in `qda-ioctl`, implement [`Serve`] for it
//! here, and list it in [`file_handlers`] or [`dmabuf_handlers`];
//! `every_description_has_a_handler_and_every_handler_a_description` fails
//! until both sides exist.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use qda_ioctl::{self as spec, ArgCopy, Desc, Ioctl, Miss, Target};
use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc_dir, ioc_size};
use qda_uapi::{drm as ud, fastrpc as uf, qda as uq, udmabuf as uu};

use crate::dmabuf::DmaBuf;
use crate::driver::Driver;
use crate::errno::{Errno, Error, Result, efault, einval, enodev, enotty};
use crate::file::{File, FileKind};
use crate::usermem::{UserMemory, read_cstr, read_struct, write_struct};

/// Version numbers `DRM_IOCTL_VERSION` reports (qda's own).
pub const DRIVER_VERSION: (i32, i32, i32) = (1, 0, 0);
/// Driver name (`QDA_DRIVER_NAME`).
pub const DRIVER_NAME: &str = "qda";
/// Driver description.
pub const DRIVER_DESC: &str = "Qualcomm DSP Accelerator Driver";
/// Date string (`"0"` since the per-driver dates were removed in 6.14).
pub const DRIVER_DATE: &str = "0";

/// An ioctl's argument as its handler sees it: the core's copy of the
/// struct (DRM, dma-heap), or the user pointer itself (misc drivers, which
/// copy their struct in and out themselves).
pub struct UserArg<'a, T> {
    copy: Option<&'a mut [u8]>,
    ptr: u64,
    um: &'a dyn UserMemory,
    _t: PhantomData<T>,
}

impl<T> std::fmt::Debug for UserArg<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserArg")
            .field("ptr", &format_args!("0x{:x}", self.ptr))
            .field("copied", &self.copy.is_some())
            .finish()
    }
}

impl<T: FromBytes + IntoBytes + KnownLayout + Immutable> UserArg<'_, T> {
    /// The struct: from the core's copy, or `copy_from_user` (`EFAULT`).
    pub fn get(&self) -> Result<T> {
        match &self.copy {
            Some(b) => Ok(T::read_from_prefix(b)
                .expect("the copy holds the table's struct size")
                .0),
            None => read_struct(self.um, self.ptr),
        }
    }

    /// Store the struct: into the core's copy (copied out after the handler,
    /// even when it fails), or `copy_to_user` now (`EFAULT`).
    pub fn set(&mut self, v: &T) -> Result<()> {
        match &mut self.copy {
            Some(b) => {
                b[..size_of::<T>()].copy_from_slice(v.as_bytes());
                Ok(())
            }
            None => write_struct(self.um, self.ptr, v),
        }
    }

    /// The user pointer the ioctl was made with.
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    /// The caller: its memory, fd table and mappings.
    pub fn mem(&self) -> &dyn UserMemory {
        self.um
    }
}

/// The handler of ioctl `Self` on a target (`File`, or a dma-buf).
pub trait Serve<Target>: Ioctl {
    /// What the ioctl does; `Ok` is the syscall's return value.
    fn serve(t: &Target, a: &mut UserArg<'_, Self::Arg>) -> Result<i64>;
}

type Raw<Target> = fn(&Target, Option<&mut [u8]>, u64, &dyn UserMemory) -> Result<i64>;

fn raw<Target, I: Serve<Target>>(t: &Target, copy: Option<&mut [u8]>, ptr: u64, um: &dyn UserMemory) -> Result<i64> {
    let mut a = UserArg {
        copy,
        ptr,
        um,
        _t: PhantomData,
    };
    I::serve(t, &mut a)
}

/// A handler table: one slot per description in `qda_ioctl::ALL`.
struct Table<Target> {
    slots: Vec<Option<Raw<Target>>>,
}

impl<Target> Table<Target> {
    fn new(entries: &[(&'static Desc, Raw<Target>)]) -> Table<Target> {
        let mut slots = vec![None; spec::ALL.len()];
        for (d, h) in entries {
            let i = spec::index_of(d).expect("handlers serve described ioctls");
            assert!(slots[i].is_none(), "{} has two handlers", d.name);
            slots[i] = Some(*h);
        }
        Table { slots }
    }

    fn get(&self, d: &'static Desc) -> Option<Raw<Target>> {
        self.slots[spec::index_of(d)?]
    }
}

fn entry<Target, I: Serve<Target>>() -> (&'static Desc, Raw<Target>) {
    (spec::desc_of::<I>(), raw::<Target, I>)
}

/// The handlers of device files.
fn file_handlers() -> &'static Table<File> {
    static T: OnceLock<Table<File>> = OnceLock::new();
    T.get_or_init(|| {
        Table::new(&[
            entry::<File, spec::DrmIoctlVersion>(),
            entry::<File, spec::DrmIoctlGetCap>(),
            entry::<File, spec::DrmIoctlGemClose>(),
            entry::<File, spec::DrmIoctlPrimeHandleToFd>(),
            entry::<File, spec::DrmIoctlPrimeFdToHandle>(),
            entry::<File, spec::DrmIoctlQdaQuery>(),
            entry::<File, spec::DrmIoctlQdaGemCreate>(),
            entry::<File, spec::DrmIoctlQdaGemMmapOffset>(),
            entry::<File, spec::RfcDrmIoctlQdaGemCreate>(),
            entry::<File, spec::RfcDrmIoctlQdaGemMmapOffset>(),
            entry::<File, spec::RfcDrmIoctlQdaInitAttach>(),
            entry::<File, spec::DrmIoctlQdaRemoteSessionCreate>(),
            entry::<File, spec::DrmIoctlQdaRemoteMap>(),
            entry::<File, spec::DrmIoctlQdaRemoteMunmap>(),
            entry::<File, spec::DrmIoctlQdaRemoteInvoke>(),
            entry::<File, spec::DrmIoctlQdaSetPoll>(),
            entry::<File, spec::DmaHeapIoctlAlloc>(),
            entry::<File, spec::FastrpcIoctlAllocDmaBuff>(),
            entry::<File, spec::FastrpcIoctlInvoke>(),
            entry::<File, spec::FastrpcIoctlInitAttach>(),
            entry::<File, spec::FastrpcIoctlInitAttachSns>(),
            entry::<File, spec::FastrpcIoctlInitCreate>(),
            entry::<File, spec::FastrpcIoctlInitCreateStatic>(),
            entry::<File, spec::FastrpcIoctlMmap>(),
            entry::<File, spec::FastrpcIoctlMunmap>(),
            entry::<File, spec::FastrpcIoctlMemMap>(),
            entry::<File, spec::FastrpcIoctlMemUnmap>(),
            entry::<File, spec::FastrpcIoctlGetDspInfo>(),
            entry::<File, spec::FastrpcIoctlSetOptionCmd>(),
            entry::<File, spec::UdmabufIoctlCreate>(),
            entry::<File, spec::UdmabufIoctlCreateList>(),
        ])
    })
}

/// The handlers of dma-buf fds.
fn dmabuf_handlers() -> &'static Table<Arc<DmaBuf>> {
    static T: OnceLock<Table<Arc<DmaBuf>>> = OnceLock::new();
    T.get_or_init(|| {
        Table::new(&[
            entry::<Arc<DmaBuf>, spec::DmaBufIoctlSync>(),
            entry::<Arc<DmaBuf>, spec::DmaBufIoctlSetNameA>(),
            entry::<Arc<DmaBuf>, spec::DmaBufIoctlSetNameB>(),
        ])
    })
}

fn miss(node: Target, cmd: u32, m: Miss) -> Error {
    match m {
        Miss::NotThisNode => enotty(format!("ioctl 0x{cmd:08x} is not {}", node_ioctls(node))),
        Miss::PastDriverTable(i) => einval(format!("QDA driver ioctl index 0x{i:x} is past the table")),
        Miss::EmptySlot(nr) => einval(format!("DRM ioctl nr 0x{nr:02x}: empty table slot (reserved)")),
        Miss::PastCoreTable(nr) => einval(format!("DRM core ioctl nr 0x{nr:02x} is past the core table")),
        Miss::CoreNotModelled(nr) => einval(format!("DRM core ioctl nr 0x{nr:02x} is not modelled by qda")),
        Miss::NoSuchHeapIoctl(nr) => einval(format!("dma-heap ioctl nr {nr} does not exist")),
    }
}

fn node_ioctls(node: Target) -> &'static str {
    match node {
        Target::Accel => "a DRM ioctl",
        Target::Fastrpc => "a fastrpc ioctl",
        Target::DmaHeap => "a dma-heap ioctl",
        Target::Udmabuf => "a udmabuf ioctl",
        Target::DmaBuf => "a dma-buf ioctl",
    }
}

impl File {
    /// The kind of node this file was opened on, as the ioctl descriptions
    /// name it.
    pub fn target(&self) -> Target {
        match self.kind() {
            FileKind::Accel(_) => Target::Accel,
            FileKind::Fastrpc(_) => Target::Fastrpc,
            FileKind::Heap(_) => Target::DmaHeap,
            FileKind::Udmabuf => Target::Udmabuf,
        }
    }

    /// The raw entry point: what `ioctl(fd, cmd, arg)` on this file does.
    /// `arg` is a user pointer (or integer) in the memory `um` reaches. The
    /// `Ok` value is the syscall's return value (a DSP result, or a new fd
    /// for udmabuf); errors carry the errno.
    pub fn ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        let node = self.target();
        if node == Target::Accel {
            self.accel()?; // drm_dev_is_unplugged → ENODEV
        }
        let d = spec::lookup(node, self.driver().qda_revision(), cmd).map_err(|m| miss(node, cmd, m))?;
        let h = file_handlers().get(d).expect("every description has a handler");
        match d.copy {
            ArgCopy::Sized => sized_call(self, cmd, d.cmd, arg, um, h),
            ArgCopy::Handler => h(self, None, arg, um),
        }
    }
}

impl Driver {
    /// `ioctl` on a dma-buf fd: SYNC and SET_NAME. The sync-file ioctls
    /// answer `ENOTTY`, as a kernel without `CONFIG_SYNC_FILE` does (qda has
    /// no fences yet). An fd that is not one of qda's dma-bufs is `ENOTTY`.
    pub fn dmabuf_ioctl(&self, fd: i32, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        let bfd = um.fd(fd)?;
        let Some(buf) = self.shared().registry.lookup(bfd)? else {
            return Err(enotty(format!("fd {fd} is not a qda dma-buf")));
        };
        let d = spec::lookup(Target::DmaBuf, self.qda_revision(), cmd).map_err(|m| miss(Target::DmaBuf, cmd, m))?;
        let h = dmabuf_handlers().get(d).expect("every description has a handler");
        h(&buf, None, arg, um)
    }
}

/// The DRM-style sized call: copy in, zero-fill, handle, always copy out.
fn sized_call(f: &File, cmd: u32, table_cmd: u32, arg: u64, um: &dyn UserMemory, h: Raw<File>) -> Result<i64> {
    let drv_size = ioc_size(table_cmd);
    let user_size = ioc_size(cmd);
    let both = ioc_dir(cmd) & ioc_dir(table_cmd);
    let in_size = if both & IOC_WRITE != 0 { user_size } else { 0 };
    let out_size = if both & IOC_READ != 0 { user_size } else { 0 };
    let ksize = in_size.max(out_size).max(drv_size);
    let mut kbuf = vec![0u8; ksize];
    um.read(arg, &mut kbuf[..in_size])?;
    let ret = h(f, Some(&mut kbuf), arg, um);
    if um.write(arg, &kbuf[..out_size]).is_err() {
        return Err(efault(format!("copying {out_size} bytes back to 0x{arg:x}")));
    }
    ret
}

fn no_dsp(label: &str) -> Error {
    Error::new(
        Errno::EPIPE,
        format!("{label}: DSP channel is down (no DSP is attached to this driver instance)"),
    )
}

/// An accel call that needs the DSP: `ENODEV` without an rpmsg channel.
fn accel_dsp(f: &File) -> Result<()> {
    let a = f.accel()?;
    if !a.domain.channel.is_up() {
        return Err(enodev(format!(
            "{}: no rpmsg channel (no DSP is attached to this driver instance)",
            a.domain.desc.label
        )));
    }
    Ok(())
}

/// A legacy call that needs the DSP: enter the domain, `EPIPE` if it is down.
fn legacy_dsp(f: &File) -> Result<()> {
    let FileKind::Fastrpc(s) = f.kind() else {
        unreachable!("fastrpc ioctls are dispatched on fastrpc files only")
    };
    s.domain.enter()?;
    if !s.domain.channel.is_up() {
        return Err(no_dsp(&s.domain.desc.label));
    }
    Ok(())
}

/// The invoke argument array: `REMOTE_SCALARS_LENGTH(sc)` × 24 bytes.
fn read_args(um: &dyn UserMemory, sc: u32, ptr: u64) -> Result<Vec<crate::invoke::InvokeArg>> {
    let n = qda_proto::Scalars(sc).len();
    let mut raw = vec![0u8; n * size_of::<uf::FastrpcInvokeArgs>()];
    um.read(ptr, &mut raw)?;
    Ok(raw
        .chunks_exact(size_of::<uf::FastrpcInvokeArgs>())
        .map(|c| {
            let a = uf::FastrpcInvokeArgs::read_from_bytes(c).expect("exact chunk");
            crate::invoke::InvokeArg {
                ptr: a.ptr,
                len: a.length,
                fd: a.fd,
                attr: a.attr,
            }
        })
        .collect())
}

// ---- DRM core ----

impl Serve<File> for spec::DrmIoctlVersion {
    fn serve(_: &File, a: &mut UserArg<'_, ud::DrmVersion>) -> Result<i64> {
        let mut v = a.get()?;
        (v.version_major, v.version_minor, v.version_patchlevel) = DRIVER_VERSION;
        // drm_copy_field: the length is always the full string length; copy
        // min(len, user len) bytes if both are non-zero and the pointer is
        // set; no NUL, silent truncation. A fault stops at that field, with
        // the lengths so far copied back.
        let fields = [(v.name, DRIVER_NAME), (v.date, DRIVER_DATE), (v.desc, DRIVER_DESC)];
        for (k, (ptr, s)) in fields.into_iter().enumerate() {
            let len = match k {
                0 => &mut v.name_len,
                1 => &mut v.date_len,
                _ => &mut v.desc_len,
            };
            let n = (*len).min(s.len() as u64) as usize;
            *len = s.len() as u64;
            if n > 0
                && ptr != 0
                && let Err(e) = a.mem().write(ptr, &s.as_bytes()[..n])
            {
                a.set(&v)?;
                return Err(e);
            }
        }
        a.set(&v)?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlGetCap {
    fn serve(_: &File, a: &mut UserArg<'_, ud::DrmGetCap>) -> Result<i64> {
        const DRM_CAP_TIMESTAMP_MONOTONIC: u64 = 0x6;
        const DRM_CAP_SYNCOBJ: u64 = 0x13;
        const DRM_CAP_SYNCOBJ_TIMELINE: u64 = 0x14;
        let mut c = a.get()?;
        c.value = 0;
        let r = match c.capability {
            DRM_CAP_TIMESTAMP_MONOTONIC => {
                c.value = 1;
                Ok(0)
            }
            x if x == ud::DRM_CAP_PRIME => {
                c.value = ud::DRM_PRIME_CAP_IMPORT | ud::DRM_PRIME_CAP_EXPORT;
                Ok(0)
            }
            DRM_CAP_SYNCOBJ | DRM_CAP_SYNCOBJ_TIMELINE => Ok(0),
            x => Err(Error::new(
                Errno::EOPNOTSUPP,
                format!("GET_CAP 0x{x:x}: only KMS drivers answer it"),
            )),
        };
        a.set(&c)?;
        r
    }
}

impl Serve<File> for spec::DrmIoctlGemClose {
    fn serve(f: &File, a: &mut UserArg<'_, ud::DrmGemClose>) -> Result<i64> {
        let c = a.get()?;
        f.gem_close(c.handle)
            .map_err(|e| if e.errno == Errno::ENOENT { einval(e.what) } else { e })?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlPrimeHandleToFd {
    fn serve(f: &File, a: &mut UserArg<'_, ud::DrmPrimeHandle>) -> Result<i64> {
        let mut p = a.get()?;
        p.fd = a.mem().install_fd(f.prime_handle_to_fd(p.handle, p.flags)?)?;
        a.set(&p)?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlPrimeFdToHandle {
    fn serve(f: &File, a: &mut UserArg<'_, ud::DrmPrimeHandle>) -> Result<i64> {
        let mut p = a.get()?;
        let fd = a.mem().fd(p.fd)?;
        p.handle = f.prime_fd_to_handle(fd)?;
        a.set(&p)?;
        Ok(0)
    }
}

// ---- QDA driver table ----

impl Serve<File> for spec::DrmIoctlQdaQuery {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaQuery>) -> Result<i64> {
        a.set(&f.query()?)?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlQdaGemCreate {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaGemCreate>) -> Result<i64> {
        let mut c = a.get()?;
        if c.pad != 0 {
            // libfastrpc's accel backend leaves it uninitialised; the May
            // 2026 driver refuses that, and so do we, saying why.
            return Err(einval(format!(
                "GEM_CREATE: pad is {:#x}, must be 0 (the May 2026 UAPI checks it; the Feb 2026 RFC did not)",
                c.pad
            )));
        }
        c.handle = f.gem_create(c.size)?;
        a.set(&c)?;
        Ok(0)
    }
}

impl Serve<File> for spec::RfcDrmIoctlQdaGemCreate {
    fn serve(f: &File, a: &mut UserArg<'_, uq::rfc2026::GemCreate>) -> Result<i64> {
        // RFC layout {handle, pad, size}; the RFC checked no pad.
        let mut c = a.get()?;
        c.handle = f.gem_create(c.size)?;
        a.set(&c)?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlQdaGemMmapOffset {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaGemMmapOffset>) -> Result<i64> {
        let mut m = a.get()?;
        if m.pad != 0 {
            return Err(einval("GEM_MMAP_OFFSET: pad must be zero"));
        }
        m.offset = f.gem_mmap_offset(m.handle)?;
        a.set(&m)?;
        Ok(0)
    }
}

impl Serve<File> for spec::RfcDrmIoctlQdaGemMmapOffset {
    fn serve(f: &File, a: &mut UserArg<'_, uq::rfc2026::GemMmapOffset>) -> Result<i64> {
        let mut m = a.get()?;
        m.offset = f.gem_mmap_offset(m.handle)?;
        a.set(&m)?;
        Ok(0)
    }
}

impl Serve<File> for spec::RfcDrmIoctlQdaInitAttach {
    fn serve(f: &File, _: &mut UserArg<'_, ()>) -> Result<i64> {
        accel_dsp(f)?;
        f.attach_session(qda_proto::PdType::Root)
    }
}

impl Serve<File> for spec::DrmIoctlQdaRemoteSessionCreate {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaInitCreate>) -> Result<i64> {
        let i = a.get()?;
        accel_dsp(f)?;
        f.create_session(i.filelen, i.filefd, i.attrs, i.siglen, i.file, a.mem())
    }
}

impl Serve<File> for spec::DrmIoctlQdaRemoteMap {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaMemMap>) -> Result<i64> {
        let mut m = a.get()?;
        if m.pad != 0 {
            return Err(einval("REMOTE_MAP: pad must be zero"));
        }
        // `attrs` are SMMU attributes: the only one defined is SECUREMAP,
        // which needs a hypervisor qda does not have. The posted driver
        // ignored them.
        if m.attrs & !uf::FASTRPC_ATTR_SECUREMAP != 0 {
            return Err(einval(format!("REMOTE_MAP: unknown attrs 0x{:x}", m.attrs)));
        }
        if m.attrs != 0 {
            return Err(Error::new(
                Errno::EOPNOTSUPP,
                "REMOTE_MAP: secure mappings need a hypervisor",
            ));
        }
        accel_dsp(f)?;
        let um = a.mem();
        m.vaddrout = match m.request {
            uq::QDA_MAP_REQUEST_LEGACY => f.qda_map_legacy(m.fd, m.flags, m.vaddrin, m.size, um)?,
            uq::QDA_MAP_REQUEST_ATTR => f.mem_map(m.fd, m.offset, m.flags, m.vaddrin, m.size, um)?,
            r => return Err(einval(format!("REMOTE_MAP: unknown request {r}"))),
        };
        a.set(&m)?;
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlQdaRemoteMunmap {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaMemUnmap>) -> Result<i64> {
        let m = a.get()?;
        accel_dsp(f)?;
        match m.request {
            uq::QDA_MUNMAP_REQUEST_LEGACY => f.qda_munmap_legacy(m.vaddrout, m.size)?,
            uq::QDA_MUNMAP_REQUEST_ATTR => f.mem_unmap(m.fd, m.vaddr, m.size)?,
            r => return Err(einval(format!("REMOTE_MUNMAP: unknown request {r}"))),
        }
        Ok(0)
    }
}

impl Serve<File> for spec::DrmIoctlQdaRemoteInvoke {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaInvokeArgs>) -> Result<i64> {
        let i = a.get()?;
        accel_dsp(f)?;
        let args = read_args(a.mem(), i.sc, i.args)?;
        f.invoke(i.handle, i.sc, &args, a.mem())
    }
}

// ---- dma-heap ----

impl Serve<File> for spec::DmaHeapIoctlAlloc {
    fn serve(f: &File, a: &mut UserArg<'_, qda_uapi::dma_heap::DmaHeapAllocationData>) -> Result<i64> {
        let mut h = a.get()?;
        let fd = f.heap_alloc(h.len, h.fd, h.fd_flags, h.heap_flags)?;
        h.fd = a.mem().install_fd(fd)? as u32;
        a.set(&h)?;
        Ok(0)
    }
}

// ---- legacy fastrpc ----

impl Serve<File> for spec::FastrpcIoctlAllocDmaBuff {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcAllocDmaBuf>) -> Result<i64> {
        let mut req = a.get()?;
        let fd = f.fastrpc_alloc_dma_buf(req.size)?;
        req.fd = a.mem().install_fd(fd)?;
        // If the copy-out faults the fd stays installed (and leaks), as the
        // CVE-2022-48821 fix chose over a double fput.
        a.set(&req)?;
        Ok(0)
    }
}

impl Serve<File> for spec::FastrpcIoctlGetDspInfo {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcIoctlCapability>) -> Result<i64> {
        let mut cap = a.get()?;
        if cap.attribute_id >= uf::FASTRPC_MAX_DSP_ATTRIBUTES {
            return Err(Error::new(
                Errno::EOVERFLOW,
                format!("GET_DSP_INFO: attribute {} >= 256", cap.attribute_id),
            ));
        }
        legacy_dsp(f)?;
        match f.dsp_info(cap.attribute_id)? {
            Ok(v) => cap.capability = v,
            // The DSP's code is the value; the struct is not copied out.
            Err(code) => return Ok(code as i64),
        }
        a.set(&cap)?;
        Ok(0)
    }
}

impl Serve<File> for spec::FastrpcIoctlInvoke {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcInvoke>) -> Result<i64> {
        legacy_dsp(f)?;
        let i = a.get()?;
        let args = read_args(a.mem(), i.sc, i.args)?;
        f.invoke(i.handle, i.sc, &args, a.mem())
    }
}

impl Serve<File> for spec::FastrpcIoctlInitAttach {
    fn serve(f: &File, _: &mut UserArg<'_, ()>) -> Result<i64> {
        legacy_dsp(f)?;
        f.attach_session(qda_proto::PdType::Root)
    }
}

impl Serve<File> for spec::FastrpcIoctlInitAttachSns {
    fn serve(f: &File, _: &mut UserArg<'_, ()>) -> Result<i64> {
        legacy_dsp(f)?;
        f.attach_session(qda_proto::PdType::Sensors)
    }
}

impl Serve<File> for spec::FastrpcIoctlInitCreate {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcInitCreate>) -> Result<i64> {
        legacy_dsp(f)?;
        let i = a.get()?;
        f.create_session(i.filelen, i.filefd, i.attrs, i.siglen, i.file, a.mem())
    }
}

impl Serve<File> for spec::FastrpcIoctlInitCreateStatic {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcInitCreateStatic>) -> Result<i64> {
        legacy_dsp(f)?;
        let i = a.get()?;
        if i.namelen > uf::INIT_FILE_NAMELEN_MAX {
            return Err(einval(format!(
                "CREATE_STATIC: name of {} bytes exceeds 128",
                i.namelen
            )));
        }
        let mut name = vec![0u8; i.namelen as usize];
        a.mem().read(i.name, &mut name)?;
        f.create_static(&name, i.memlen)
    }
}

impl Serve<File> for spec::FastrpcIoctlMmap {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcReqMmap>) -> Result<i64> {
        legacy_dsp(f)?;
        let mut m = a.get()?;
        m.vaddrout = f.legacy_mmap(m.flags, m.vaddrin, m.size)?;
        a.set(&m)?;
        Ok(0)
    }
}

impl Serve<File> for spec::FastrpcIoctlMunmap {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcReqMunmap>) -> Result<i64> {
        legacy_dsp(f)?;
        let m = a.get()?;
        f.legacy_munmap(m.vaddrout, m.size)?;
        Ok(0)
    }
}

impl Serve<File> for spec::FastrpcIoctlMemMap {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcMemMap>) -> Result<i64> {
        legacy_dsp(f)?;
        let mut m = a.get()?;
        m.vaddrout = f.mem_map(m.fd, m.offset as u32, m.flags, m.vaddrin, m.length, a.mem())?;
        a.set(&m)?;
        Ok(0)
    }
}

impl Serve<File> for spec::FastrpcIoctlMemUnmap {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcMemUnmap>) -> Result<i64> {
        legacy_dsp(f)?;
        let m = a.get()?;
        f.mem_unmap(m.fd, m.vaddr, m.length)?;
        Ok(0)
    }
}

// ---- udmabuf ----

impl Serve<File> for spec::UdmabufIoctlCreate {
    fn serve(f: &File, a: &mut UserArg<'_, uu::UdmabufCreate>) -> Result<i64> {
        let c = a.get()?;
        let fd = f.udmabuf_create(c.flags, &[(c.memfd as i32, c.offset, c.size)], a.mem())?;
        Ok(a.mem().install_fd(fd)? as i64)
    }
}

impl Serve<File> for spec::UdmabufIoctlCreateList {
    fn serve(f: &File, a: &mut UserArg<'_, uu::UdmabufCreateList>) -> Result<i64> {
        let head = a.get()?;
        let limit = f.driver().inner.cfg.udmabuf_list_limit;
        if head.count > limit {
            return Err(einval(format!(
                "udmabuf: {} items exceed list_limit {limit}",
                head.count
            )));
        }
        let mut raw = vec![0u8; head.count as usize * size_of::<uu::UdmabufCreateItem>()];
        // `arg + sizeof(head)` is pointer arithmetic in the kernel: it wraps
        // (to a low address that faults unless nothing is read), it does
        // not overflow.
        let items_at = a.ptr().wrapping_add(uu::UdmabufCreateList::items_offset() as u64);
        a.mem().read(items_at, &mut raw)?;
        let items: Vec<(i32, u64, u64)> = raw
            .chunks_exact(size_of::<uu::UdmabufCreateItem>())
            .map(|c| {
                let it = uu::UdmabufCreateItem::read_from_bytes(c).expect("exact chunk");
                (it.memfd as i32, it.offset, it.size)
            })
            .collect();
        let fd = f.udmabuf_create(head.flags, &items, a.mem())?;
        Ok(a.mem().install_fd(fd)? as i64)
    }
}

// ---- dma-buf fds ----

impl Serve<Arc<DmaBuf>> for spec::DmaBufIoctlSync {
    fn serve(buf: &Arc<DmaBuf>, a: &mut UserArg<'_, qda_uapi::dma_buf::DmaBufSync>) -> Result<i64> {
        buf.sync(a.get()?.flags)?;
        Ok(0)
    }
}

fn set_name(buf: &DmaBuf, a: &UserArg<'_, ()>) -> Result<i64> {
    let name = read_cstr(a.mem(), a.ptr(), qda_uapi::dma_buf::DMA_BUF_NAME_LEN - 1)?;
    buf.set_name(&name)?;
    Ok(0)
}

impl Serve<Arc<DmaBuf>> for spec::DmaBufIoctlSetNameA {
    fn serve(buf: &Arc<DmaBuf>, a: &mut UserArg<'_, ()>) -> Result<i64> {
        set_name(buf, a)
    }
}

impl Serve<Arc<DmaBuf>> for spec::DmaBufIoctlSetNameB {
    fn serve(buf: &Arc<DmaBuf>, a: &mut UserArg<'_, ()>) -> Result<i64> {
        set_name(buf, a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_uapi::ioctl::ioc_nr;

    #[test]
    fn every_description_has_a_handler_and_every_handler_a_description() {
        // Building the tables fails if a handler's ioctl is not described.
        let (files, bufs) = (file_handlers(), dmabuf_handlers());
        for d in spec::ALL {
            let served = match d.target {
                Target::DmaBuf => bufs.get(d).is_some(),
                _ => files.get(d).is_some(),
            };
            assert!(served, "{} is described but has no handler", d.name);
        }
        let handled =
            files.slots.iter().filter(|s| s.is_some()).count() + bufs.slots.iter().filter(|s| s.is_some()).count();
        assert_eq!(handled, spec::ALL.len(), "a handler serves no description");
    }

    #[test]
    fn nr_helpers_agree_with_the_descriptions() {
        assert_eq!(ioc_nr(spec::desc_of::<spec::DrmIoctlQdaRemoteInvoke>().cmd), 0x47);
    }
}

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

use zerocopy::{FromBytes, IntoBytes, KnownLayout};

use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc_dir, ioc_nr, ioc_size, ioc_type};
use qda_uapi::{dma_buf as ub, dma_heap as uh, drm as ud, fastrpc as uf, qda as uq, udmabuf as uu};

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

/// Number of entries in the DRM core ioctl table (`DRM_IOCTL_MODE_CLOSEFB` + 1).
const DRM_CORE_IOCTL_COUNT: u8 = 0xd1;

type Handler = fn(&File, &mut [u8], &dyn UserMemory) -> Result<i64>;

fn as_struct<T: FromBytes + IntoBytes + KnownLayout>(buf: &mut [u8]) -> &mut T {
    T::mut_from_prefix(buf)
        .expect("buffer holds at least the table's struct size")
        .0
}

impl File {
    /// The raw entry point: what `ioctl(fd, cmd, arg)` on this file does.
    /// `arg` is a user pointer (or integer) in the memory `um` reaches. The
    /// `Ok` value is the syscall's return value (a DSP result, or a new fd
    /// for udmabuf); errors carry the errno.
    pub fn ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        match self.kind() {
            FileKind::Accel(_) => self.drm_ioctl(cmd, arg, um),
            FileKind::Fastrpc(_) => self.fastrpc_ioctl(cmd, arg, um),
            FileKind::Heap(_) => self.heap_ioctl(cmd, arg, um),
            FileKind::Udmabuf => self.udmabuf_ioctl(cmd, arg, um),
        }
    }

    fn drm_ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        self.accel()?; // drm_dev_is_unplugged → ENODEV
        if ioc_type(cmd) != ud::DRM_IOCTL_BASE {
            return Err(enotty(format!("ioctl 0x{cmd:08x} is not a DRM ioctl")));
        }
        let nr = ioc_nr(cmd);
        let (table_cmd, handler): (u32, Option<Handler>) = if (ud::DRM_COMMAND_BASE..ud::DRM_COMMAND_END).contains(&nr)
        {
            match nr - ud::DRM_COMMAND_BASE {
                uq::DRM_QDA_QUERY => (uq::DRM_IOCTL_QDA_QUERY, Some(h_query)),
                uq::DRM_QDA_GEM_CREATE => (uq::DRM_IOCTL_QDA_GEM_CREATE, Some(h_gem_create)),
                uq::DRM_QDA_GEM_MMAP_OFFSET => (uq::DRM_IOCTL_QDA_GEM_MMAP_OFFSET, Some(h_gem_mmap_offset)),
                uq::DRM_QDA_REMOTE_SESSION_CREATE => (uq::DRM_IOCTL_QDA_REMOTE_SESSION_CREATE, Some(h_session_create)),
                uq::DRM_QDA_REMOTE_MAP => (uq::DRM_IOCTL_QDA_REMOTE_MAP, Some(h_remote_map)),
                uq::DRM_QDA_REMOTE_MUNMAP => (uq::DRM_IOCTL_QDA_REMOTE_MUNMAP, Some(h_remote_munmap)),
                uq::DRM_QDA_REMOTE_INVOKE => (uq::DRM_IOCTL_QDA_REMOTE_INVOKE, Some(h_invoke)),
                // The RFC's INIT_ATTACH; reserved (an empty slot) since May 2026.
                3 if self.driver().qda_revision() == uq::Revision::Rfc2026Feb => {
                    (uq::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, Some(h_init_attach))
                }
                3 => (0, None),
                i => return Err(einval(format!("QDA driver ioctl index 0x{i:x} is past the table"))),
            }
        } else {
            match nr {
                ud::DRM_VERSION_NR => (ud::DRM_IOCTL_VERSION, Some(h_version)),
                ud::DRM_GET_CAP_NR => (ud::DRM_IOCTL_GET_CAP, Some(h_get_cap)),
                ud::DRM_GEM_CLOSE_NR => (ud::DRM_IOCTL_GEM_CLOSE, Some(h_gem_close)),
                ud::DRM_PRIME_HANDLE_TO_FD_NR => (ud::DRM_IOCTL_PRIME_HANDLE_TO_FD, Some(h_prime_handle_to_fd)),
                ud::DRM_PRIME_FD_TO_HANDLE_NR => (ud::DRM_IOCTL_PRIME_FD_TO_HANDLE, Some(h_prime_fd_to_handle)),
                n if n >= DRM_CORE_IOCTL_COUNT => {
                    return Err(einval(format!("DRM core ioctl nr 0x{n:02x} is past the core table")));
                }
                n => return Err(einval(format!("DRM core ioctl nr 0x{n:02x} is not modelled by qda"))),
            }
        };
        let Some(handler) = handler else {
            return Err(einval(format!("DRM ioctl nr 0x{nr:02x}: empty table slot (reserved)")));
        };
        sized_call(self, cmd, table_cmd, arg, um, handler)
    }

    fn fastrpc_ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        let FileKind::Fastrpc(f) = self.kind() else {
            unreachable!()
        };
        match cmd {
            uf::FASTRPC_IOCTL_ALLOC_DMA_BUFF => {
                let mut req: uf::FastrpcAllocDmaBuf = read_struct(um, arg)?;
                let fd = self.fastrpc_alloc_dma_buf(req.size)?;
                req.fd = um.install_fd(fd)?;
                // If the copy-out faults the fd stays installed (and leaks),
                // as the CVE-2022-48821 fix chose over a double fput.
                write_struct(um, arg, &req)?;
                Ok(0)
            }
            uf::FASTRPC_IOCTL_GET_DSP_INFO => {
                let mut cap: uf::FastrpcIoctlCapability = read_struct(um, arg)?;
                if cap.attribute_id >= uf::FASTRPC_MAX_DSP_ATTRIBUTES {
                    return Err(Error::new(
                        Errno::EOVERFLOW,
                        format!("GET_DSP_INFO: attribute {} >= 256", cap.attribute_id),
                    ));
                }
                f.domain.enter()?;
                if !f.domain.channel.is_up() {
                    return Err(no_dsp(&f.domain.desc.label));
                }
                cap.capability = self.dsp_info(cap.attribute_id)?;
                write_struct(um, arg, &cap)?;
                Ok(0)
            }
            uf::FASTRPC_IOCTL_INVOKE
            | uf::FASTRPC_IOCTL_INIT_ATTACH
            | uf::FASTRPC_IOCTL_INIT_ATTACH_SNS
            | uf::FASTRPC_IOCTL_INIT_CREATE
            | uf::FASTRPC_IOCTL_MMAP
            | uf::FASTRPC_IOCTL_MUNMAP
            | uf::FASTRPC_IOCTL_INIT_CREATE_STATIC
            | uf::FASTRPC_IOCTL_MEM_MAP
            | uf::FASTRPC_IOCTL_MEM_UNMAP => {
                f.domain.enter()?;
                if !f.domain.channel.is_up() {
                    return Err(no_dsp(&f.domain.desc.label));
                }
                match cmd {
                    uf::FASTRPC_IOCTL_INVOKE => {
                        let inv: uf::FastrpcInvoke = read_struct(um, arg)?;
                        let args = read_args(um, inv.sc, inv.args)?;
                        self.invoke(inv.handle, inv.sc, &args, um)
                    }
                    uf::FASTRPC_IOCTL_INIT_ATTACH => self.attach_session(qda_proto::PdType::Root),
                    uf::FASTRPC_IOCTL_INIT_ATTACH_SNS => self.attach_session(qda_proto::PdType::Sensors),
                    uf::FASTRPC_IOCTL_INIT_CREATE => {
                        let i: uf::FastrpcInitCreate = read_struct(um, arg)?;
                        self.create_session(i.filelen, i.filefd, i.attrs, i.siglen, i.file, um)
                    }
                    uf::FASTRPC_IOCTL_MMAP => {
                        let mut m: uf::FastrpcReqMmap = read_struct(um, arg)?;
                        m.vaddrout = self.legacy_mmap(m.flags, m.vaddrin, m.size)?;
                        write_struct(um, arg, &m)?;
                        Ok(0)
                    }
                    uf::FASTRPC_IOCTL_MUNMAP => {
                        let m: uf::FastrpcReqMunmap = read_struct(um, arg)?;
                        self.legacy_munmap(m.vaddrout, m.size)?;
                        Ok(0)
                    }
                    uf::FASTRPC_IOCTL_MEM_MAP => {
                        let mut m: uf::FastrpcMemMap = read_struct(um, arg)?;
                        m.vaddrout = self.mem_map(m.fd, m.offset as u32, m.flags, m.vaddrin, m.length, um)?;
                        write_struct(um, arg, &m)?;
                        Ok(0)
                    }
                    uf::FASTRPC_IOCTL_MEM_UNMAP => {
                        let m: uf::FastrpcMemUnmap = read_struct(um, arg)?;
                        self.mem_unmap(m.fd, m.vaddr, m.length)?;
                        Ok(0)
                    }
                    uf::FASTRPC_IOCTL_INIT_CREATE_STATIC => {
                        let i: uf::FastrpcInitCreateStatic = read_struct(um, arg)?;
                        if i.namelen > uf::INIT_FILE_NAMELEN_MAX {
                            return Err(einval(format!(
                                "CREATE_STATIC: name of {} bytes exceeds 128",
                                i.namelen
                            )));
                        }
                        let mut name = vec![0u8; i.namelen as usize];
                        um.read(i.name, &mut name)?;
                        self.create_static(&name, i.memlen)
                    }
                    _ => unreachable!("every command of the outer match is handled"),
                }
            }
            _ => Err(enotty(format!("ioctl 0x{cmd:08x} is not a fastrpc ioctl"))),
        }
    }

    fn heap_ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        if ioc_nr(cmd) >= 1 {
            return Err(einval(format!("dma-heap ioctl nr {} does not exist", ioc_nr(cmd))));
        }
        sized_call(self, cmd, uh::DMA_HEAP_IOCTL_ALLOC, arg, um, h_heap_alloc)
    }

    fn udmabuf_ioctl(&self, cmd: u32, arg: u64, um: &dyn UserMemory) -> Result<i64> {
        match cmd {
            uu::UDMABUF_CREATE => {
                let c: uu::UdmabufCreate = read_struct(um, arg)?;
                let fd = self.udmabuf_create(c.flags, &[(c.memfd as i32, c.offset, c.size)], um)?;
                Ok(um.install_fd(fd)? as i64)
            }
            uu::UDMABUF_CREATE_LIST => {
                let head: uu::UdmabufCreateList = read_struct(um, arg)?;
                let limit = self.driver().inner.cfg.udmabuf_list_limit;
                if head.count > limit {
                    return Err(einval(format!(
                        "udmabuf: {} items exceed list_limit {limit}",
                        head.count
                    )));
                }
                let mut raw = vec![0u8; head.count as usize * size_of::<uu::UdmabufCreateItem>()];
                um.read(arg + uu::UdmabufCreateList::items_offset() as u64, &mut raw)?;
                let items: Vec<(i32, u64, u64)> = raw
                    .chunks_exact(size_of::<uu::UdmabufCreateItem>())
                    .map(|c| {
                        let it = uu::UdmabufCreateItem::read_from_bytes(c).expect("exact chunk");
                        (it.memfd as i32, it.offset, it.size)
                    })
                    .collect();
                let fd = self.udmabuf_create(head.flags, &items, um)?;
                Ok(um.install_fd(fd)? as i64)
            }
            _ => Err(enotty(format!("ioctl 0x{cmd:08x} is not a udmabuf ioctl"))),
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
        match cmd {
            ub::DMA_BUF_IOCTL_SYNC => {
                let s: ub::DmaBufSync = read_struct(um, arg)?;
                buf.sync(s.flags)?;
                Ok(0)
            }
            ub::DMA_BUF_SET_NAME_A | ub::DMA_BUF_SET_NAME_B => {
                let name = read_cstr(um, arg, ub::DMA_BUF_NAME_LEN - 1)?;
                buf.set_name(&name)?;
                Ok(0)
            }
            _ => Err(enotty(format!("ioctl 0x{cmd:08x} is not a dma-buf ioctl"))),
        }
    }
}

/// The DRM-style sized call: copy in, zero-fill, handle, always copy out.
fn sized_call(f: &File, cmd: u32, table_cmd: u32, arg: u64, um: &dyn UserMemory, h: Handler) -> Result<i64> {
    let drv_size = ioc_size(table_cmd) as usize;
    let user_size = ioc_size(cmd) as usize;
    let both = ioc_dir(cmd) & ioc_dir(table_cmd);
    let in_size = if both & IOC_WRITE != 0 { user_size } else { 0 };
    let out_size = if both & IOC_READ != 0 { user_size } else { 0 };
    let ksize = in_size.max(out_size).max(drv_size);
    let mut kbuf = vec![0u8; ksize];
    um.read(arg, &mut kbuf[..in_size])?;
    let ret = h(f, &mut kbuf, um);
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

fn h_no_dsp(f: &File, _: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    let a = f.accel()?;
    if !a.domain.channel.is_up() {
        return Err(enodev(format!(
            "{}: no rpmsg channel (no DSP is attached to this driver instance)",
            a.domain.desc.label
        )));
    }
    Err(Error::new(
        Errno::EOPNOTSUPP,
        "REMOTE_MAP/REMOTE_MUNMAP are not implemented yet",
    ))
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

fn h_invoke(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let a = *as_struct::<uq::DrmQdaInvokeArgs>(buf);
    if !f.accel()?.domain.channel.is_up() {
        return h_no_dsp(f, buf, um);
    }
    let args = read_args(um, a.sc, a.args)?;
    f.invoke(a.handle, a.sc, &args, um)
}

fn h_remote_map(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let m = as_struct::<uq::DrmQdaMemMap>(buf);
    if m.pad != 0 {
        return Err(einval("REMOTE_MAP: pad must be zero"));
    }
    // `attrs` are SMMU attributes: the only one defined is SECUREMAP, which
    // needs a hypervisor qda does not have. The posted driver ignored them.
    if m.attrs & !qda_uapi::fastrpc::FASTRPC_ATTR_SECUREMAP != 0 {
        return Err(einval(format!("REMOTE_MAP: unknown attrs 0x{:x}", m.attrs)));
    }
    if m.attrs != 0 {
        return Err(Error::new(
            Errno::EOPNOTSUPP,
            "REMOTE_MAP: secure mappings need a hypervisor",
        ));
    }
    if !f.accel()?.domain.channel.is_up() {
        return h_no_dsp(f, &mut [], um);
    }
    m.vaddrout = match m.request {
        uq::QDA_MAP_REQUEST_LEGACY => f.qda_map_legacy(m.fd, m.flags, m.vaddrin, m.size, um)?,
        uq::QDA_MAP_REQUEST_ATTR => f.mem_map(m.fd, m.offset, m.flags, m.vaddrin, m.size, um)?,
        r => return Err(einval(format!("REMOTE_MAP: unknown request {r}"))),
    };
    Ok(0)
}

fn h_remote_munmap(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let m = *as_struct::<uq::DrmQdaMemUnmap>(buf);
    if !f.accel()?.domain.channel.is_up() {
        return h_no_dsp(f, &mut [], um);
    }
    match m.request {
        uq::QDA_MUNMAP_REQUEST_LEGACY => f.qda_munmap_legacy(m.vaddrout, m.size)?,
        uq::QDA_MUNMAP_REQUEST_ATTR => f.mem_unmap(m.fd, m.vaddr, m.size)?,
        r => return Err(einval(format!("REMOTE_MUNMAP: unknown request {r}"))),
    }
    Ok(0)
}

fn h_session_create(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let i = *as_struct::<uq::DrmQdaInitCreate>(buf);
    if !f.accel()?.domain.channel.is_up() {
        return h_no_dsp(f, buf, um);
    }
    f.create_session(i.filelen, i.filefd, i.attrs, i.siglen, i.file, um)
}

fn h_query(f: &File, buf: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    *as_struct::<uq::DrmQdaQuery>(buf) = f.query()?;
    Ok(0)
}

fn h_init_attach(f: &File, _: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    if !f.accel()?.domain.channel.is_up() {
        return h_no_dsp(f, &mut [], um);
    }
    f.attach_session(qda_proto::PdType::Root)
}

fn h_gem_create(f: &File, buf: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    if f.driver().qda_revision() == uq::Revision::Rfc2026Feb {
        // RFC layout {handle, pad, size}; the RFC checked no pad.
        let a = as_struct::<uq::rfc2026::GemCreate>(buf);
        a.handle = f.gem_create(a.size)?;
        return Ok(0);
    }
    let a = as_struct::<uq::DrmQdaGemCreate>(buf);
    if a.pad != 0 {
        return Err(einval("GEM_CREATE: pad must be zero"));
    }
    a.handle = f.gem_create(a.size)?;
    Ok(0)
}

fn h_gem_mmap_offset(f: &File, buf: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    if f.driver().qda_revision() == uq::Revision::Rfc2026Feb {
        let a = as_struct::<uq::rfc2026::GemMmapOffset>(buf);
        a.offset = f.gem_mmap_offset(a.handle)?;
        return Ok(0);
    }
    let a = as_struct::<uq::DrmQdaGemMmapOffset>(buf);
    if a.pad != 0 {
        return Err(einval("GEM_MMAP_OFFSET: pad must be zero"));
    }
    a.offset = f.gem_mmap_offset(a.handle)?;
    Ok(0)
}

fn h_version(_: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let v = as_struct::<ud::DrmVersion>(buf);
    (v.version_major, v.version_minor, v.version_patchlevel) = DRIVER_VERSION;
    // drm_copy_field: the length is always the full string length; copy
    // min(len, user len) bytes if both are non-zero and the pointer is set;
    // no NUL, silent truncation.
    let copy = |len: &mut u64, ptr: u64, s: &str| -> Result<()> {
        let n = (*len).min(s.len() as u64) as usize;
        *len = s.len() as u64;
        if n > 0 && ptr != 0 {
            um.write(ptr, &s.as_bytes()[..n])?;
        }
        Ok(())
    };
    copy(&mut v.name_len, v.name, DRIVER_NAME)?;
    copy(&mut v.date_len, v.date, DRIVER_DATE)?;
    copy(&mut v.desc_len, v.desc, DRIVER_DESC)?;
    Ok(0)
}

fn h_get_cap(_: &File, buf: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    const DRM_CAP_TIMESTAMP_MONOTONIC: u64 = 0x6;
    const DRM_CAP_SYNCOBJ: u64 = 0x13;
    const DRM_CAP_SYNCOBJ_TIMELINE: u64 = 0x14;
    let c = as_struct::<ud::DrmGetCap>(buf);
    c.value = 0;
    match c.capability {
        DRM_CAP_TIMESTAMP_MONOTONIC => c.value = 1,
        x if x == ud::DRM_CAP_PRIME => c.value = ud::DRM_PRIME_CAP_IMPORT | ud::DRM_PRIME_CAP_EXPORT,
        DRM_CAP_SYNCOBJ | DRM_CAP_SYNCOBJ_TIMELINE => c.value = 0,
        x => {
            return Err(Error::new(
                Errno::EOPNOTSUPP,
                format!("GET_CAP 0x{x:x}: only KMS drivers answer it"),
            ));
        }
    }
    Ok(0)
}

fn h_gem_close(f: &File, buf: &mut [u8], _: &dyn UserMemory) -> Result<i64> {
    let c = as_struct::<ud::DrmGemClose>(buf);
    f.gem_close(c.handle)
        .map_err(|e| if e.errno == Errno::ENOENT { einval(e.what) } else { e })?;
    Ok(0)
}

fn h_prime_handle_to_fd(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let p = as_struct::<ud::DrmPrimeHandle>(buf);
    p.fd = um.install_fd(f.prime_handle_to_fd(p.handle, p.flags)?)?;
    Ok(0)
}

fn h_prime_fd_to_handle(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let p = as_struct::<ud::DrmPrimeHandle>(buf);
    let fd = um.fd(p.fd)?;
    p.handle = f.prime_fd_to_handle(fd)?;
    Ok(0)
}

fn h_heap_alloc(f: &File, buf: &mut [u8], um: &dyn UserMemory) -> Result<i64> {
    let a = as_struct::<uh::DmaHeapAllocationData>(buf);
    let fd = f.heap_alloc(a.len, a.fd, a.fd_flags, a.heap_flags)?;
    a.fd = um.install_fd(fd)? as u32;
    Ok(0)
}

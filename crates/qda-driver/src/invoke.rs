//! The FastRPC operations of a file: user arguments → descriptors →
//! payload in the caller's CB → the channel → outputs back, for
//! `DRM_IOCTL_QDA_REMOTE_INVOKE`, `FASTRPC_IOCTL_INVOKE` and the
//! kernel-originated calls (session create/attach, capability query, maps,
//! `ALLOC_DMA_BUFF`). The shared call path and the per-file state are in
//! [`crate::rpc`].

use std::os::fd::OwnedFd;
use std::sync::Arc;

use qda_proto::bodies::{Call, CreateProcess, ShellArg};
use qda_proto::payload::PhyPage;
use qda_proto::{ArgDesc, PdType, Scalars};

use crate::dmabuf::{DmaBuf, Exporter, NewDmaBuf};
use crate::dmadebug::{Direction, MapKind};
use crate::errno::{Errno, Error, Result, efault, einval, eperm};
use crate::file::{File, FileKind};
use crate::rpc::{Ctx, InvokeMap, MemMap, MmapBuf, kernel_call, remote_call};
use crate::smmu::{DmaRecord, Perm, SegFile, Segment};
use crate::sys;
use crate::usermem::UserMemory;

/// A file's FastRPC state (defined with the call path in [`crate::rpc`]).
pub use crate::rpc::RpcState;

/// One invoke argument as userspace gives it (`fastrpc_invoke_args` and
/// `drm_qda_fastrpc_invoke_args` have this layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvokeArg {
    /// User address.
    pub ptr: u64,
    /// Length.
    pub len: u64,
    /// dma-buf fd, or 0 / -1 for an inline buffer.
    pub fd: i32,
    /// Attributes.
    pub attr: u32,
}

fn comm() -> Vec<u8> {
    std::fs::read("/proc/self/comm")
        .map(|mut v| {
            while v.last().is_some_and(|b| *b == b'\n' || *b == 0) {
                v.pop();
            }
            v
        })
        .unwrap_or_else(|_| b"qda".to_vec())
}

impl File {
    fn rpc_ctx(&self) -> Result<Ctx<'_>> {
        match self.kind() {
            FileKind::Accel(a) => {
                a.domain.enter()?;
                Ok(Ctx {
                    domain: &a.domain,
                    cb: self.context_bank()?,
                    client_id: a.session_id,
                    rpc: &a.rpc,
                    qda: true,
                })
            }
            FileKind::Fastrpc(f) => {
                f.domain.enter()?;
                Ok(Ctx {
                    domain: &f.domain,
                    cb: f.cb().clone(),
                    client_id: f.client_id,
                    rpc: &f.rpc,
                    qda: false,
                })
            }
            _ => Err(Error::new(Errno::ENOTTY, "not a FastRPC device")),
        }
    }

    /// The file's FastRPC state, if it is a FastRPC file.
    pub fn rpc_state(&self) -> Option<&RpcState> {
        match self.kind() {
            FileKind::Accel(a) => Some(&a.rpc),
            FileKind::Fastrpc(f) => Some(&f.rpc),
            _ => None,
        }
    }

    /// Map a dma-buf fd for an invoke: QDA imports it through PRIME (the
    /// handle stays in the file, as the posted driver does); the legacy node
    /// keeps a per-file map, as `fastrpc_map_create` does.
    fn map_fd(&self, c: &Ctx<'_>, fd: i32, um: &dyn UserMemory) -> Result<(Arc<DmaBuf>, u64)> {
        if c.qda && self.driver().qda_revision() == qda_uapi::qda::Revision::Rfc2026Feb {
            // The RFC's `fd` fields are GEM handles of this file.
            let obj = self.gem_object(fd as u32)?;
            let buf = obj.dmabuf(self.driver().shared(), true)?;
            return Ok((buf, obj.dma_addr()));
        }
        let bfd = um.fd(fd)?;
        let buf = if c.qda {
            let (h, buf) = self.prime_import(bfd)?;
            let obj = self.gem_object(h)?;
            if Arc::ptr_eq(obj.iova_mapping().cb(), &c.cb) {
                return Ok((buf, obj.dma_addr()));
            }
            // Another process's object (PRIME gives back the exporter's
            // object, mapped in the exporter's CB): the caller's PD can only
            // reach it through a mapping in its own CB. The posted driver
            // used the exporter's IOVA, which faults in any other CB.
            buf
        } else {
            self.driver()
                .dmabuf(bfd)
                .map_err(|e| einval(format!("invoke: fd {fd}: {}", e.what)))?
        };
        let mut maps = qda_rt::lock(&c.rpc.maps);
        if let Some(m) = maps.get(&buf.id()) {
            return Ok((m.buf.clone(), m.map.dsp_addr()));
        }
        let rec = DmaRecord {
            kind: MapKind::Sg,
            dir: Direction::Bidirectional,
            nents: buf.segments().len() as u32,
        };
        let m = Arc::new(c.cb.map(buf.segments().to_vec(), Perm::RW, rec, Some(self.id()))?);
        buf.attach(crate::dmabuf::Attachment {
            cb: Arc::downgrade(&c.cb),
            iova: m.iova(),
            len: m.len(),
        });
        let addr = m.dsp_addr();
        maps.insert(
            buf.id(),
            InvokeMap {
                buf: buf.clone(),
                map: m,
            },
        );
        Ok((buf, addr))
    }

    /// Offset of user pointer `ptr` inside `buf`, from the mapping it lies
    /// in (`vma_lookup`); `EFAULT` if it is not inside a mapping of `buf`.
    fn dma_offset(buf: &DmaBuf, ptr: u64, fd: i32, um: &dyn UserMemory) -> Result<u64> {
        let vma = um
            .find_vma(ptr)
            .ok_or_else(|| efault(format!("pointer 0x{ptr:x} is not inside a mapping of dma-buf fd {fd}")))?;
        let id = vma.file_id();
        // The VMA may be a hostile client's (through a daemon): a file offset
        // near u64::MAX, or a start above the pointer, names no byte of any
        // file. The kernel's mmap refuses such a mapping (EOVERFLOW), so the
        // pointer lies in no usable mapping of the buffer: EFAULT, as for a
        // pointer outside every mapping of it.
        let at = ptr
            .checked_sub(vma.start)
            .and_then(|d| vma.file_offset.checked_add(d))
            .ok_or_else(|| {
                efault(format!(
                    "pointer 0x{ptr:x}: its mapping (start 0x{:x}, file offset 0x{:x}) names no file byte",
                    vma.start, vma.file_offset
                ))
            })?;
        let mut pos = 0u64;
        for (s, sid) in buf.segments().iter().zip(buf.segment_ids()) {
            if *sid == Some(id) && at >= s.offset && at - s.offset < s.len {
                return Ok(pos.saturating_add(at - s.offset));
            }
            pos = pos.saturating_add(s.len);
        }
        Err(efault(format!(
            "pointer 0x{ptr:x} lies in a mapping of another file than dma-buf fd {fd}"
        )))
    }

    fn descs(&self, c: &Ctx<'_>, sc: Scalars, args: &[InvokeArg], um: &dyn UserMemory) -> Result<Vec<ArgDesc>> {
        let nbufs = sc.nbufs();
        let mut out = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let is_dma = if c.qda { a.fd > 0 } else { a.fd != 0 && a.fd != -1 };
            if i < nbufs {
                if is_dma && a.len > 0 {
                    let (buf, buf_addr) = self.map_fd(c, a.fd, um)?;
                    let offset = Self::dma_offset(&buf, a.ptr, a.fd, um)?;
                    out.push(ArgDesc::DmaBuf {
                        ptr: a.ptr,
                        len: a.len,
                        buf_addr,
                        buf_size: buf.size(),
                        offset,
                    });
                } else {
                    out.push(ArgDesc::Inline { ptr: a.ptr, len: a.len });
                }
            } else {
                let map = if is_dma && a.len > 0 {
                    let (buf, addr) = self.map_fd(c, a.fd, um)?;
                    Some(PhyPage { addr, size: buf.size() })
                } else {
                    None
                };
                out.push(ArgDesc::Handle {
                    fd: a.fd,
                    ptr: a.ptr,
                    len: a.len,
                    map,
                });
            }
        }
        Ok(out)
    }
}

impl File {
    /// A user invoke (`FASTRPC_IOCTL_INVOKE` / `DRM_IOCTL_QDA_REMOTE_INVOKE`):
    /// the DSP's return value is the result, as the ioctl returns it.
    pub fn invoke(&self, handle: u32, sc: u32, args: &[InvokeArg], um: &dyn UserMemory) -> Result<i64> {
        let c = self.rpc_ctx()?;
        let sc = Scalars(sc);
        if handle == qda_proto::handles::INIT {
            return Err(eperm("a user invoke may not use the kernel's handle 1"));
        }
        if args.len() != sc.len() {
            return Err(einval(format!("{} arguments for scalars {sc}", args.len())));
        }
        let descs = self.descs(&c, sc, args, um)?;
        // An inline input the caller's memory cannot supply faults at its
        // copy; where the memory can tell at once (a daemon's segments), say
        // so before a payload is sized on a forged length. A range that
        // wraps is left for the payload plan to refuse (EOVERFLOW).
        for (i, d) in descs.iter().enumerate().take(sc.inbufs() as usize) {
            if let ArgDesc::Inline { ptr, len } = *d
                && len > 0
                && ptr.checked_add(len).is_some()
                && !um.may_read(ptr, len)
            {
                return Err(efault(format!(
                    "invoke: input {i}: {len} bytes at 0x{ptr:x} were not supplied"
                )));
            }
        }
        let ptrs: Vec<u64> = args.iter().map(|a| a.ptr).collect();
        let mut fill = |i: usize, dst: &mut [u8]| {
            um.read(ptrs[i], dst)
                .map_err(|_| qda_proto::ProtoError::Fault { index: i })
        };
        let mut sink = |i: usize, src: &[u8]| {
            um.write(ptrs[i], src)
                .map_err(|_| qda_proto::ProtoError::Fault { index: i })
        };
        let r = remote_call(&c, handle, sc, &descs, false, &mut fill, &mut sink)?;
        Ok(r as i64)
    }

    /// Create the user PD (`REMOTE_SESSION_CREATE` / `INIT_CREATE`). The
    /// shell comes from `filefd` (a dma-buf, `file` pointing into its
    /// mapping) or is copied from `file`; `filelen` 0 means the DSP's own.
    pub fn create_session(
        &self,
        filelen: u32,
        filefd: i32,
        attrs: u32,
        siglen: u32,
        file: u64,
        um: &dyn UserMemory,
    ) -> Result<i64> {
        use qda_uapi::fastrpc::{FASTRPC_MODE_UNSIGNED_MODULE, INIT_FILELEN_MAX};
        let c = self.rpc_ctx()?;
        let max = if c.qda {
            qda_uapi::qda::FASTRPC_INIT_FILELEN_MAX
        } else {
            INIT_FILELEN_MAX
        };
        if filelen > max {
            return Err(einval(format!("shell of {filelen} bytes exceeds {max}")));
        }
        if let FileKind::Fastrpc(f) = self.kind() {
            // is_session_rejected: a non-secure node on a secure channel may
            // only create an unsigned PD, and only where those exist.
            if !f.secure_node && !f.domain.desc.non_secure {
                let unsigned = attrs & FASTRPC_MODE_UNSIGNED_MODULE != 0;
                if !f.domain.desc.unsigned_pd_support() || !unsigned {
                    return Err(Error::new(
                        Errno::ECONNREFUSED,
                        "untrusted application may only create an unsigned PD on this channel",
                    ));
                }
            }
        }
        let is_dma = if c.qda { filefd > 0 } else { filefd != 0 && filefd != -1 };
        let shell = if filelen == 0 {
            ShellArg::None
        } else if is_dma {
            let (buf, buf_addr) = self.map_fd(&c, filefd, um)?;
            let offset = Self::dma_offset(&buf, file, filefd, um)?;
            ShellArg::DmaBuf {
                ptr: file,
                len: filelen as u64,
                buf_addr,
                buf_size: buf.size(),
                offset,
            }
        } else {
            let mut v = vec![0u8; filelen as usize];
            um.read(file, &mut v)?;
            ShellArg::Inline(v)
        };
        // Init memory: QDA 4 MiB; legacy ALIGN(max(2 MiB, filelen * 4), 1 MiB).
        let size = if c.qda {
            4 << 20
        } else {
            ((filelen as u64 * 4).max(2 << 20)).next_multiple_of(1 << 20)
        };
        let (backing, map) = c.cb.alloc_coherent(c.domain.backend.as_ref(), size)?;
        let name = comm();
        let call = Call::init_create(&CreateProcess {
            client_id: c.client_id,
            name: &name,
            shell,
            init_mem: PhyPage {
                addr: map.dsp_addr(),
                size,
            },
            attrs,
            siglen,
        });
        c.rpc.set_pd(PdType::User);
        let (r, _) = kernel_call(&c, &call)?;
        if r != 0 {
            c.rpc.set_pd(PdType::Root);
            return Ok(r as i64);
        }
        // Replacing an older init memory frees it (the posted QDA leaked it).
        *qda_rt::lock(&c.rpc.init_mem) = Some((backing, map));
        Ok(0)
    }

    /// Attach to the root PD (`INIT_ATTACH`) or the sensors PD (`INIT_ATTACH_SNS`).
    pub fn attach_session(&self, pd: PdType) -> Result<i64> {
        let c = self.rpc_ctx()?;
        c.rpc.set_pd(pd);
        let (r, _) = kernel_call(&c, &Call::init_attach(c.client_id))?;
        Ok(r as i64)
    }

    /// `GET_DSP_INFO`: attribute `id` of the DSP (queried once per channel),
    /// or `Err(code)`: the DSP failed the query with `code`, which the ioctl
    /// returns as its value, as mainline's `fastrpc_get_info_from_kernel`
    /// does for any code but "unsupported" (issue 12, G3); nothing is
    /// cached then and the next query asks again.
    pub fn dsp_info(&self, id: u32) -> Result<std::result::Result<u32, i32>> {
        if id >= qda_uapi::fastrpc::FASTRPC_MAX_DSP_ATTRIBUTES {
            return Err(Error::new(Errno::EOVERFLOW, format!("attribute {id} >= 256")));
        }
        let c = self.rpc_ctx()?;
        if let Some(t) = &*qda_rt::lock(&c.domain.channel.caps) {
            return Ok(Ok(t[id as usize]));
        }
        let (r, outs) = kernel_call(&c, &Call::dsp_capability())?;
        if r as u32 == 0x8000_0414 {
            return Err(Error::new(
                Errno::EOPNOTSUPP,
                "DSP does not support the capability query",
            ));
        }
        if r != 0 {
            return Ok(Err(r));
        }
        let mut t = vec![0u32; 256];
        for (k, w) in outs[1].chunks_exact(4).enumerate().take(255) {
            t[k + 1] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        let v = t[id as usize];
        *qda_rt::lock(&c.domain.channel.caps) = Some(t);
        Ok(Ok(v))
    }
}

fn check_dsp(r: i32, what: &str) -> Result<()> {
    if r == 0 {
        Ok(())
    } else {
        // The DSP's code travels back as the ioctl's value in the kernel;
        // for map calls the kernel turns it into an error, so do we.
        Err(Error::new(
            Errno::EIO,
            format!("{what}: DSP returned {}", qda_uapi::aee::describe(r)),
        ))
    }
}

fn rsp_vaddr(out: &[u8]) -> u64 {
    out.get(..8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

impl File {
    /// `FASTRPC_IOCTL_MMAP`: the kernel allocates `size` bytes in the
    /// session's CB and asks the DSP to map them (flags `ADD_PAGES` or
    /// `REMOTE_HEAP_ADDR` only, `vaddrin` must be 0). Returns the DSP VA.
    pub fn legacy_mmap(&self, flags: u32, vaddrin: u64, size: u64) -> Result<u64> {
        use qda_uapi::fastrpc::{ADSP_MMAP_ADD_PAGES, ADSP_MMAP_REMOTE_HEAP_ADDR};
        let c = self.rpc_ctx()?;
        if flags != ADSP_MMAP_ADD_PAGES && flags != ADSP_MMAP_REMOTE_HEAP_ADDR {
            return Err(einval(format!(
                "MMAP: flags 0x{flags:x} are neither ADD_PAGES nor REMOTE_HEAP_ADDR"
            )));
        }
        if vaddrin != 0 {
            return Err(einval(
                "MMAP: adding user-allocated pages (vaddrin != 0) is not supported",
            ));
        }
        let size = sys::page_align(size)
            .filter(|s| *s != 0)
            .ok_or_else(|| einval("MMAP: size is 0"))?;
        let backend = match (flags, &c.domain.remote_heap) {
            (ADSP_MMAP_REMOTE_HEAP_ADDR, Some(h)) => h.clone(),
            _ => c.domain.backend.clone(),
        };
        let (backing, map) = c.cb.alloc_coherent(backend.as_ref(), size)?;
        let (r, outs) = kernel_call(
            &c,
            &Call::init_mmap(
                c.client_id,
                flags,
                0,
                PhyPage {
                    addr: map.dsp_addr(),
                    size,
                },
            ),
        )?;
        check_dsp(r, "MMAP")?;
        let raddr = rsp_vaddr(&outs[2]);
        qda_rt::lock(&c.rpc.mmaps).push(MmapBuf {
            raddr,
            size,
            _backing: backing,
            _map: map,
        });
        Ok(raddr)
    }

    /// `FASTRPC_IOCTL_MUNMAP`: the buffer with exactly this DSP VA and size.
    pub fn legacy_munmap(&self, vaddrout: u64, size: u64) -> Result<()> {
        let c = self.rpc_ctx()?;
        // Find it and take it off the list under one lock, before the DSP
        // is asked, so two racing unmaps cannot both send (CVE-2026-74647),
        // nor the loser remove another buffer at a stale index.
        let buf = {
            let mut m = qda_rt::lock(&c.rpc.mmaps);
            let idx = m
                .iter()
                .position(|b| b.raddr == vaddrout && b.size == size)
                .ok_or_else(|| einval(format!("MUNMAP: no buffer at DSP 0x{vaddrout:x} of {size} bytes")))?;
            m.remove(idx)
        };
        let (r, _) = kernel_call(&c, &Call::init_munmap(c.client_id, buf.raddr, buf.size))?;
        if r != 0 {
            qda_rt::lock(&c.rpc.mmaps).push(buf);
            return check_dsp(r, "MUNMAP");
        }
        Ok(())
    }

    /// `FASTRPC_IOCTL_MEM_MAP` / QDA `REMOTE_MAP` (ATTR): map dma-buf `fd`
    /// into the process; `len` bytes from `offset` (0: the whole buffer).
    pub fn mem_map(
        &self,
        fd: i32,
        offset: u32,
        flags: u32,
        vaddrin: u64,
        len: u64,
        um: &dyn UserMemory,
    ) -> Result<u64> {
        let c = self.rpc_ctx()?;
        let (buf, addr) = self.map_fd(&c, fd, um)?;
        let len = if len == 0 { buf.size() } else { len };
        if (offset as u64).checked_add(len).is_none_or(|e| e > buf.size()) {
            return Err(einval(format!(
                "MEM_MAP: {len} bytes at offset {offset} exceed the {}-byte buffer",
                buf.size()
            )));
        }
        let page = PhyPage { addr, size: buf.size() };
        let call = Call::init_mem_map(c.client_id, fd, offset as i32, flags, vaddrin, page);
        let (r, outs) = kernel_call(&c, &call)?;
        check_dsp(r, "MEM_MAP")?;
        let raddr = rsp_vaddr(&outs[3]);
        qda_rt::lock(&c.rpc.mem_maps).push(MemMap {
            raddr,
            fd,
            len,
            _buf: buf,
        });
        Ok(raddr)
    }

    /// `FASTRPC_IOCTL_MEM_UNMAP` / QDA `REMOTE_MUNMAP` (ATTR).
    pub fn mem_unmap(&self, fd: i32, vaddr: u64, len: u64) -> Result<()> {
        let c = self.rpc_ctx()?;
        let entry = {
            let mut m = qda_rt::lock(&c.rpc.mem_maps);
            let i = m
                .iter()
                .position(|m| m.raddr == vaddr && (fd < 0 || m.fd == fd))
                .ok_or_else(|| einval(format!("MEM_UNMAP: nothing mapped at DSP 0x{vaddr:x}")))?;
            m.remove(i)
        };
        let len = if len == 0 { entry.len } else { len };
        let (r, _) = kernel_call(&c, &Call::init_mem_unmap(c.client_id, entry.fd, entry.raddr, len))?;
        if r != 0 {
            qda_rt::lock(&c.rpc.mem_maps).push(entry);
            return check_dsp(r, "MEM_UNMAP");
        }
        Ok(())
    }

    /// QDA `REMOTE_MAP` with the LEGACY request: the DSP maps the dma-buf's
    /// pages (`size` bytes, 0 = all of it) at a VA it chooses.
    pub fn qda_map_legacy(&self, fd: i32, flags: u32, vaddrin: u64, size: u64, um: &dyn UserMemory) -> Result<u64> {
        let c = self.rpc_ctx()?;
        let page = if fd > 0 {
            let (buf, addr) = self.map_fd(&c, fd, um)?;
            let size = if size == 0 { buf.size() } else { size };
            if size > buf.size() {
                return Err(einval(format!(
                    "REMOTE_MAP: size {size} exceeds the {}-byte buffer",
                    buf.size()
                )));
            }
            PhyPage {
                addr,
                size: sys::page_align(size).unwrap_or(size),
            }
        } else {
            PhyPage::default()
        };
        let (r, outs) = kernel_call(&c, &Call::init_mmap(c.client_id, flags, vaddrin, page))?;
        check_dsp(r, "REMOTE_MAP")?;
        Ok(rsp_vaddr(&outs[2]))
    }

    /// QDA `REMOTE_MUNMAP` with the LEGACY request.
    pub fn qda_munmap_legacy(&self, vaddrout: u64, size: u64) -> Result<()> {
        let c = self.rpc_ctx()?;
        let (r, _) = kernel_call(&c, &Call::init_munmap(c.client_id, vaddrout, size))?;
        check_dsp(r, "REMOTE_MUNMAP")
    }
}

impl File {
    /// `FASTRPC_IOCTL_INIT_CREATE_STATIC`: attach to (create) the static PD
    /// `name` (e.g. `audiopd`), giving it the channel's remote heap of
    /// `memlen` bytes from the `memory-region` pool (or system memory).
    pub fn create_static(&self, name: &[u8], memlen: u32) -> Result<i64> {
        let c = self.rpc_ctx()?;
        let mut heap = qda_rt::lock(&c.domain.static_heap);
        if heap.is_none() && memlen > 0 {
            let size = sys::page_align(memlen as u64).ok_or_else(|| einval("CREATE_STATIC: memlen overflows"))?;
            let backend = c.domain.remote_heap.clone().unwrap_or_else(|| c.domain.backend.clone());
            let (backing, map) = c.cb.alloc_coherent(backend.as_ref(), size)?;
            *heap = Some((backing, map));
        }
        let page = heap.as_ref().map_or(PhyPage::default(), |(b, m)| PhyPage {
            addr: m.dsp_addr(),
            size: b.size(),
        });
        let created = heap.is_some();
        drop(heap);
        c.rpc.set_pd(PdType::User);
        let r = kernel_call(&c, &Call::init_create_static(c.client_id, name, page));
        if created && !matches!(r, Ok((0, _))) {
            // Any failed invoke — a DSP error or a call that never completed
            // — takes the error path, which frees the heap and forgets it
            // (the double free of CVE-2026-31730 came from not clearing it).
            *qda_rt::lock(&c.domain.static_heap) = None;
        }
        let (r, _) = r?;
        Ok(r as i64)
    }
}

impl File {
    /// `FASTRPC_IOCTL_ALLOC_DMA_BUFF`: coherent memory in the session's CB,
    /// exported `O_RDWR`.
    pub fn fastrpc_alloc_dma_buf(&self, size: u64) -> Result<OwnedFd> {
        let FileKind::Fastrpc(f) = &self.inner.kind else {
            return Err(Error::new(Errno::ENOTTY, "not a fastrpc device"));
        };
        f.domain.enter()?;
        let size = sys::page_align(size)
            .filter(|s| *s != 0)
            .ok_or_else(|| einval("ALLOC_DMA_BUFF: size is 0"))?;
        let (backing, map) = f.cb().alloc_coherent(f.domain.backend.as_ref(), size)?;
        self.driver().charge(self.inner.creds.uid, &backing, "ALLOC_DMA_BUFF")?;
        let segs = vec![Segment {
            file: SegFile::Backing(backing.clone()),
            offset: 0,
            len: size,
        }];
        let file = Arc::new(sys::InternalFd::dup(backing.fd())?);
        let buf = DmaBuf::create(
            self.driver().shared(),
            NewDmaBuf {
                segments: segs,
                file,
                exporter: Exporter::Fastrpc(f.domain.desc.label.clone()),
                writable: true,
                cpu_mappable: true,
                private: Some(Box::new(map)),
            },
        )?;
        // dma_buf_fd(buf, O_ACCMODE): no O_CLOEXEC.
        buf.export(false)
    }
}

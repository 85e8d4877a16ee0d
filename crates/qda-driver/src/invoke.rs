//! The invoke path: user arguments → descriptors → payload in the caller's
//! CB → the channel → outputs back. Shared by `DRM_IOCTL_QDA_REMOTE_INVOKE`,
//! `FASTRPC_IOCTL_INVOKE` and the kernel-originated calls (session
//! create/attach/release, capability query).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qda_proto::bodies::{Call, CreateProcess, ShellArg};
use qda_proto::payload::PhyPage;
use qda_proto::{ArgDesc, FastrpcMsg, PdType, Plan, Scalars};

use crate::dmabuf::DmaBuf;
use crate::dmadebug::{Direction, MapKind};
use crate::driver::{DspDomain, File, FileKind};
use crate::errno::{Errno, Error, Result, efault, einval, eperm};
use crate::fastrpc::KERNEL_CALL_TIMEOUT;
use crate::mem::Backing;
use crate::smmu::{ContextBank, DmaRecord, IovaMapping, Perm};
use crate::sys::{self, Mapping};
use crate::usermem::UserMemory;

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

/// A MEM_MAP: (DSP VA, fd, length, buffer).
type MemMapEntry = (u64, i32, u64, Arc<DmaBuf>);
/// A dma-buf mapped for invokes, by dma-buf id.
type MapEntry = (Arc<DmaBuf>, Arc<IovaMapping>);
/// Supplies inline input `i`.
type Fill<'a> = dyn FnMut(usize, &mut [u8]) -> Result<(), qda_proto::ProtoError> + 'a;
/// Receives inline output `i`.
type Sink<'a> = dyn FnMut(usize, &[u8]) -> Result<(), qda_proto::ProtoError> + 'a;

/// A file's FastRPC state.
#[derive(Debug, Default)]
pub struct RpcState {
    pd: AtomicU8,
    init_mem: Mutex<Option<(Arc<Backing>, IovaMapping)>>,
    maps: Mutex<HashMap<u64, MapEntry>>,
    mmaps: Mutex<Vec<MmapBuf>>,
    mem_maps: Mutex<Vec<MemMapEntry>>,
    /// Timeout for user calls (`None`: wait for ever, as the kernel).
    pub user_timeout: Mutex<Option<Duration>>,
    /// Payload buffers kept between calls (see [`Payload`]).
    payloads: Mutex<Vec<Payload>>,
}

/// A payload buffer: coherent memory in the caller's CB and the driver's
/// CPU view of it. Allocating one per call (a memfd, its pages, two maps)
/// was most of a small invoke's cost, so each file keeps a few for reuse,
/// in power-of-two sizes up to [`PAYLOAD_POOL_LARGEST`]. A buffer goes back
/// to the pool only after the DSP answered: after a timeout or an interrupt
/// the DSP may still write it, so it is unmapped instead, as before.
#[derive(Debug)]
struct Payload {
    cb: Arc<ContextBank>,
    cap: u64,
    map: IovaMapping,
    cpu: Mapping,
    _backing: Arc<Backing>,
}

/// Payload buffers kept per file.
const PAYLOAD_POOL_MAX: usize = 8;
/// The largest payload buffer kept for reuse.
const PAYLOAD_POOL_LARGEST: u64 = 1 << 20;

impl RpcState {
    /// PD type of the file's process on the DSP.
    pub fn pd(&self) -> PdType {
        PdType::from_bits(self.pd.load(Ordering::Acquire)).unwrap_or(PdType::Root)
    }
    /// Drop the file's maps and init memory (file close).
    pub(crate) fn clear(&self) {
        qda_rt::lock(&self.mmaps).clear();
        qda_rt::lock(&self.mem_maps).clear();
        qda_rt::lock(&self.maps).clear();
        *qda_rt::lock(&self.init_mem) = None;
        qda_rt::lock(&self.payloads).clear();
    }
    fn set_pd(&self, pd: PdType) {
        self.pd.store(pd as u8, Ordering::Release);
    }
}

struct Ctx<'a> {
    domain: &'a Arc<DspDomain>,
    cb: Arc<ContextBank>,
    client_id: i32,
    rpc: &'a RpcState,
    qda: bool,
}

fn current_tid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
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
            let h = self.prime_fd_to_handle(bfd)?;
            let obj = self.gem_object(h)?;
            let buf = self.driver().dmabuf(bfd)?;
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
        if let Some((b, m)) = maps.get(&buf.id()) {
            return Ok((b.clone(), m.dsp_addr()));
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
        maps.insert(buf.id(), (buf.clone(), m));
        Ok((buf, addr))
    }

    /// Offset of user pointer `ptr` inside `buf`, from the mapping it lies
    /// in (`vma_lookup`); `EFAULT` if it is not inside a mapping of `buf`.
    fn dma_offset(buf: &DmaBuf, ptr: u64, fd: i32, um: &dyn UserMemory) -> Result<u64> {
        let vma = um
            .find_vma(ptr)
            .ok_or_else(|| efault(format!("pointer 0x{ptr:x} is not inside a mapping of dma-buf fd {fd}")))?;
        let id = vma.file_id();
        let at = vma.file_offset + (ptr - vma.start);
        let mut pos = 0;
        for s in buf.segments() {
            if sys::file_id(s.file.fd()).ok() == Some(id) && at >= s.offset && at < s.offset + s.len {
                return Ok(pos + at - s.offset);
            }
            pos += s.len;
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

/// Pack, send, wait, unpack. `fill(i, dst)` supplies inline input `i`;
/// `sink(i, bytes)` receives inline output `i`.
fn remote_call(
    c: &Ctx<'_>,
    handle: u32,
    sc: Scalars,
    descs: &[ArgDesc],
    kernel: bool,
    fill: &mut Fill<'_>,
    sink: &mut Sink<'_>,
) -> Result<i32> {
    let plan = Plan::new(sc, descs)?;
    let size = plan.msg_size();
    let mut payload = take_payload(c, size)?;
    let addr = payload.map.dsp_addr();
    let buf = &mut payload.cpu.as_mut_slice()[..size as usize];
    // Zeroed, as a fresh coherent allocation is: nothing of an earlier call
    // shows through an output the DSP does not write.
    buf.fill(0);
    plan.write(buf, addr, fill)?;
    let msg = FastrpcMsg {
        client_id: if kernel { 0 } else { c.client_id },
        tid: current_tid(),
        ctx: 0,
        handle,
        sc: sc.0,
        addr,
        size,
    };
    let timeout = if kernel {
        Some(KERNEL_CALL_TIMEOUT)
    } else {
        *qda_rt::lock(&c.rpc.user_timeout)
    };
    let tracer = c.domain.channel.tracer();
    let start = tracer.as_ref().map(|_| std::time::Instant::now());
    let r = c.domain.channel.call(msg, c.rpc.pd(), timeout);
    if let (Some(t), Some(start)) = (tracer, start) {
        let lens: Vec<u64> = descs.iter().map(|d| d.len()).collect();
        let by_fd: Vec<bool> = descs.iter().map(|d| !matches!(d, ArgDesc::Inline { .. })).collect();
        t(&crate::fastrpc::CallTrace {
            domain: &c.domain.desc.label,
            msg,
            lens: &lens,
            by_fd: &by_fd,
            kernel,
            result: r.as_ref().map(|v| *v).map_err(|e| e.errno),
            elapsed: start.elapsed(),
        });
    }
    let retval = r?;
    plan.unpack(&payload.cpu.as_slice()[..size as usize], sink)?;
    give_payload(c.rpc, payload);
    Ok(retval)
}

/// A payload buffer of at least `size` bytes in `c`'s CB: the smallest
/// pooled one that fits, else a new one.
fn take_payload(c: &Ctx<'_>, size: u64) -> Result<Payload> {
    {
        let mut pool = qda_rt::lock(&c.rpc.payloads);
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, p)| p.cap >= size && Arc::ptr_eq(&p.cb, &c.cb))
            .min_by_key(|(_, p)| p.cap)
            .map(|(i, _)| i);
        if let Some(i) = best {
            return Ok(pool.swap_remove(i));
        }
    }
    let cap = if size <= PAYLOAD_POOL_LARGEST {
        size.next_power_of_two().max(sys::PAGE_SIZE)
    } else {
        size
    };
    let (backing, map) = c.cb.alloc_coherent(c.domain.backend.as_ref(), cap)?;
    let cpu = Mapping::map(backing.fd(), 0, cap as usize, true)?;
    c.domain.payload_allocs.inc();
    Ok(Payload {
        cb: c.cb.clone(),
        cap,
        map,
        cpu,
        _backing: backing,
    })
}

fn give_payload(rpc: &RpcState, p: Payload) {
    if p.cap <= PAYLOAD_POOL_LARGEST {
        let mut pool = qda_rt::lock(&rpc.payloads);
        if pool.len() < PAYLOAD_POOL_MAX {
            pool.push(p);
        }
    }
}

/// A kernel-originated call on an owned [`Call`]; outputs by index.
fn kernel_call(c: &Ctx<'_>, call: &Call) -> Result<(i32, Vec<Vec<u8>>)> {
    let mut outs = vec![Vec::new(); call.args.len()];
    let mut fill = |i: usize, dst: &mut [u8]| call.fill(i, dst);
    let mut sink = |i: usize, src: &[u8]| {
        outs[i] = src.to_vec();
        Ok(())
    };
    let r = remote_call(c, call.handle, call.sc, &call.args, true, &mut fill, &mut sink)?;
    Ok((r, outs))
}

/// INIT_RELEASE when a file closes (errors ignored, as the kernel ignores
/// them). Accel files that never got a CB never had a DSP process.
pub(crate) fn release_session(kind: &FileKind) {
    let c = match kind {
        FileKind::Accel(a) => match a.current_cb() {
            Some(cb) => Ctx {
                domain: &a.domain,
                cb,
                client_id: a.session_id,
                rpc: &a.rpc,
                qda: true,
            },
            None => return,
        },
        FileKind::Fastrpc(f) => Ctx {
            domain: &f.domain,
            cb: f.cb().clone(),
            client_id: f.client_id,
            rpc: &f.rpc,
            qda: false,
        },
        _ => return,
    };
    if c.domain.channel.is_up() && !c.domain.is_removed() {
        let _ = kernel_call(&c, &Call::init_release(c.client_id));
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

    /// `GET_DSP_INFO`: attribute `id` of the DSP (queried once per channel).
    pub fn dsp_info(&self, id: u32) -> Result<u32> {
        if id >= qda_uapi::fastrpc::FASTRPC_MAX_DSP_ATTRIBUTES {
            return Err(Error::new(Errno::EOVERFLOW, format!("attribute {id} >= 256")));
        }
        let c = self.rpc_ctx()?;
        if let Some(t) = &*qda_rt::lock(&c.domain.channel.caps) {
            return Ok(t[id as usize]);
        }
        let (r, outs) = kernel_call(&c, &Call::dsp_capability())?;
        if r as u32 == 0x8000_0414 {
            return Err(Error::new(
                Errno::EOPNOTSUPP,
                "DSP does not support the capability query",
            ));
        }
        if r != 0 {
            return Err(Error::new(
                Errno::EIO,
                format!("capability query failed: {}", qda_uapi::aee::describe(r)),
            ));
        }
        let mut t = vec![0u32; 256];
        for (k, w) in outs[1].chunks_exact(4).enumerate().take(255) {
            t[k + 1] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        let v = t[id as usize];
        *qda_rt::lock(&c.domain.channel.caps) = Some(t);
        Ok(v)
    }
}

/// A legacy `FASTRPC_IOCTL_MMAP` buffer: kernel-allocated pages the DSP mapped.
#[derive(Debug)]
pub(crate) struct MmapBuf {
    raddr: u64,
    size: u64,
    _backing: Arc<Backing>,
    _map: IovaMapping,
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
        let idx = {
            let m = qda_rt::lock(&c.rpc.mmaps);
            m.iter().position(|b| b.raddr == vaddrout && b.size == size)
        };
        let idx = idx.ok_or_else(|| einval(format!("MUNMAP: no buffer at DSP 0x{vaddrout:x} of {size} bytes")))?;
        // Take it off the list first, so two racing unmaps cannot both send
        // (CVE-2026-74647).
        let buf = qda_rt::lock(&c.rpc.mmaps).remove(idx);
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
        qda_rt::lock(&c.rpc.mem_maps).push((raddr, fd, len, buf));
        Ok(raddr)
    }

    /// `FASTRPC_IOCTL_MEM_UNMAP` / QDA `REMOTE_MUNMAP` (ATTR).
    pub fn mem_unmap(&self, fd: i32, vaddr: u64, len: u64) -> Result<()> {
        let c = self.rpc_ctx()?;
        let entry = {
            let mut m = qda_rt::lock(&c.rpc.mem_maps);
            let i = m
                .iter()
                .position(|(r, f, _, _)| *r == vaddr && (fd < 0 || *f == fd))
                .ok_or_else(|| einval(format!("MEM_UNMAP: nothing mapped at DSP 0x{vaddr:x}")))?;
            m.remove(i)
        };
        let len = if len == 0 { entry.2 } else { len };
        let (r, _) = kernel_call(&c, &Call::init_mem_unmap(c.client_id, entry.1, entry.0, len))?;
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
        let (r, _) = kernel_call(&c, &Call::init_create_static(c.client_id, name, page))?;
        if r != 0 && created {
            // The error path frees the heap and forgets it (the double free
            // of CVE-2026-31730 came from not clearing it).
            *qda_rt::lock(&c.domain.static_heap) = None;
        }
        Ok(r as i64)
    }
}

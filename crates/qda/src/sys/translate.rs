//! Legacy-to-QDA translation: the legacy FastRPC nodes
//! (`/dev/fastrpc-<domain>[-secure]`) presented over a system whose DSPs
//! have only QDA accel nodes. [`LegacyOnAccel`] wraps another
//! [`Syscalls`]: `open` of a legacy name opens the domain's accel node,
//! and each legacy ioctl on such a file is carried out as QDA accel ioctls
//! (May 2026 UAPI, `qda_uapi::qda`) on it. Nothing of the legacy UAPI
//! reaches the layer underneath. The table, field by field, and what
//! cannot be translated are in `docs/COMPAT.md`.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};

use qda_ioctl::{self as spec, Ioctl};
use qda_proto::Scalars;
use qda_rt::lock;
use qda_uapi::drm::{DRM_RDWR, DrmGemClose, DrmPrimeHandle};
use qda_uapi::fastrpc::{self as uf, FastrpcInvokeArgs};
use qda_uapi::qda::{self as uq, DrmQdaFastrpcInvokeArgs, Revision};
use zerocopy::{FromBytes, IntoBytes};

use super::{Backend, BackendInfo, DeviceFile, Syscalls};
use crate::os::{Errno, Mapping, OsError};

/// The DSP's "unsupported" code (`AEE_EUNSUPPORTED`).
const AEE_EUNSUPPORTED: u32 = 0x8000_0414;

/// How `GET_DSP_INFO` is answered (the QDA UAPI has no capability query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DspInfo {
    /// Ask the DSP as the legacy kernel does, through an accel ioctl:
    /// `REMOTE_INVOKE` on the DSP utilities static handle (2), method
    /// `CAPABILITY`, in `u32 255`, out `u32[255]`; the table is kept per
    /// domain, as the kernel keeps it per channel.
    #[default]
    Query,
    /// Answer 0 ("not supported") for every attribute without asking, as
    /// libfastrpc's accel backend does for the DSP's attributes.
    Unknown,
    /// Forward the request to the legacy node of the layer underneath,
    /// where it has one (else as [`DspInfo::Unknown`]). This is the one
    /// request that then reaches the layer underneath as a legacy ioctl.
    Forward,
}

/// A legacy name this layer presents, and the accel node behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LegacyNode {
    path: String,
    label: String,
    accel: String,
    /// The `-secure` name.
    secure: bool,
    /// The domain has a `-secure` name: its channel is secure, so its
    /// non-secure name may only create unsigned PDs.
    channel_secure: bool,
}

/// Pages a legacy `MMAP` gave the DSP (the legacy kernel allocates them;
/// here a GEM object, held by its dma-buf export until `MUNMAP`).
#[derive(Debug)]
struct Pages {
    vaddr: u64,
    size: u64,
    _buf: OwnedFd,
}

/// A legacy file: an open accel file and what the legacy driver would
/// have kept for it.
#[derive(Debug)]
struct LegacyFile {
    node: LegacyNode,
    mmaps: Mutex<Vec<Pages>>,
}

/// The legacy FastRPC UAPI carried out on QDA accel nodes, over another
/// set of system calls (a kernel's, qda's embedded driver, a qdad).
///
/// `fastrpc_nodes()` lists the legacy names of every domain that has an
/// accel node (the board's names where the layer underneath lists legacy
/// nodes, else the legacy kernel's rule: ADSP, MDSP and SDSP `-secure`
/// only, the others both); `accel_nodes()` is empty unless
/// [`LegacyOnAccel::show_accel`]. Files of other paths, and calls on them,
/// pass through unchanged.
#[derive(Debug)]
pub struct LegacyOnAccel {
    inner: Arc<dyn Syscalls>,
    dsp_info: DspInfo,
    show_accel: bool,
    revision: Revision,
    nodes: OnceLock<Vec<LegacyNode>>,
    files: Mutex<HashMap<i32, Arc<LegacyFile>>>,
    caps: Mutex<HashMap<String, Arc<Vec<u32>>>>,
}

impl LegacyOnAccel {
    /// Over `inner`, accel nodes hidden, `GET_DSP_INFO` asked of the DSP.
    pub fn new(inner: Arc<dyn Syscalls>) -> LegacyOnAccel {
        LegacyOnAccel {
            inner,
            dsp_info: DspInfo::default(),
            show_accel: false,
            revision: Revision::May2026,
            nodes: OnceLock::new(),
            files: Mutex::new(HashMap::new()),
            caps: Mutex::new(HashMap::new()),
        }
    }

    /// How `GET_DSP_INFO` is answered.
    #[must_use]
    pub fn with_dsp_info(mut self, how: DspInfo) -> LegacyOnAccel {
        self.dsp_info = how;
        self
    }

    /// List the accel nodes underneath too (a program may use both UAPIs).
    #[must_use]
    pub fn show_accel(mut self, show: bool) -> LegacyOnAccel {
        self.show_accel = show;
        self
    }

    /// The QDA revision the accel nodes speak (default May 2026). With the
    /// Feb 2026 RFC, dma-buf fds in invoke arguments and INIT_CREATE's
    /// `filefd` are imported (PRIME) and sent as GEM handles, closed after
    /// the call, and GEM_CREATE has the RFC's layout.
    #[must_use]
    pub fn with_revision(mut self, revision: Revision) -> LegacyOnAccel {
        self.revision = revision;
        self
    }

    /// The calls underneath.
    pub fn inner(&self) -> &Arc<dyn Syscalls> {
        &self.inner
    }

    /// The accel node a legacy name stands for, if it is one of ours.
    pub fn accel_of(&self, legacy: &str) -> Option<String> {
        self.nodes().iter().find(|n| n.path == legacy).map(|n| n.accel.clone())
    }

    fn nodes(&self) -> &[LegacyNode] {
        self.nodes.get_or_init(|| discover(&self.inner))
    }

    fn file(&self, fd: BorrowedFd<'_>) -> Option<Arc<LegacyFile>> {
        lock(&self.files).get(&fd.as_raw_fd()).cloned()
    }

    /// Ioctl `I` underneath, its argument in this process's memory.
    fn call<I: Ioctl>(&self, fd: BorrowedFd<'_>, arg: &mut I::Arg) -> Result<i64, OsError> {
        self.inner.ioctl(fd, I::DESC.cmd, arg as *mut I::Arg as u64)
    }

    fn translate(&self, f: &LegacyFile, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        match cmd {
            uf::FASTRPC_IOCTL_INIT_CREATE => self.init_create(f, fd, arg),
            uf::FASTRPC_IOCTL_INVOKE => self.invoke(fd, arg),
            // The RFC's INIT_ATTACH (nr 0x03, no argument): an RFC node
            // attaches; a May 2026 node answers for its reserved nr (the DRM
            // core: EINVAL), and that answer is the program's.
            uf::FASTRPC_IOCTL_INIT_ATTACH => self.inner.ioctl(fd, uq::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, 0),
            uf::FASTRPC_IOCTL_MMAP => self.mmap_pages(f, fd, arg),
            uf::FASTRPC_IOCTL_MUNMAP => self.munmap_pages(f, fd, arg),
            uf::FASTRPC_IOCTL_MEM_MAP => self.mem_map(fd, arg),
            uf::FASTRPC_IOCTL_MEM_UNMAP => self.mem_unmap(fd, arg),
            uf::FASTRPC_IOCTL_ALLOC_DMA_BUFF => self.alloc_dma_buf(fd, arg),
            uf::FASTRPC_IOCTL_GET_DSP_INFO => self.get_dsp_info(f, fd, arg),
            uf::FASTRPC_IOCTL_INIT_ATTACH_SNS => {
                Err(untranslatable("INIT_ATTACH_SNS: the QDA UAPI has no sensors-PD attach"))
            }
            uf::FASTRPC_IOCTL_INIT_CREATE_STATIC => {
                Err(untranslatable("INIT_CREATE_STATIC: the QDA UAPI has no static PD"))
            }
            uf::FASTRPC_IOCTL_SET_OPTION => self.set_option(fd, arg),
            // FREE_DMA_BUFF is declared but never handled by the legacy
            // driver; any other number is not one of its ioctls.
            _ => Err(OsError::new(
                Errno::ENOTTY,
                format!("ioctl 0x{cmd:08x} is not a legacy FastRPC ioctl the driver handles"),
            )),
        }
    }

    /// SET_OPTION (the proposed poll option) → qda's `QDA_SET_POLL`
    /// extension: refused as proposed (another request id, reserved words
    /// not zero: `EINVAL`), value 0 → budget 0 (off), else qda's default
    /// budget. A kernel accel node has no `QDA_SET_POLL` and answers `EINVAL`.
    fn set_option(&self, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let o: uf::FastrpcIoctlSetOption = read(arg)?;
        if o.req != uf::FASTRPC_POLL_MODE || o.reserved != [0; 6] {
            return Err(OsError::new(
                Errno::EINVAL,
                format!(
                    "SET_OPTION: request {} / reserved {:?} (only FASTRPC_POLL_MODE, reserved 0)",
                    o.req, o.reserved
                ),
            ));
        }
        let mut p = uq::DrmQdaSetPoll {
            budget_us: if o.value != 0 {
                uq::QDA_POLL_BUDGET_DEFAULT_US
            } else {
                0
            },
            flags: 0,
        };
        self.call::<spec::DrmIoctlQdaSetPoll>(fd, &mut p)
    }

    /// INIT_CREATE → REMOTE_SESSION_CREATE (same five fields).
    fn init_create(&self, f: &LegacyFile, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let c: uf::FastrpcInitCreate = read(arg)?;
        if c.filelen > uf::INIT_FILELEN_MAX {
            return Err(OsError::new(
                Errno::EINVAL,
                format!(
                    "INIT_CREATE: shell of {} bytes exceeds the legacy {}",
                    c.filelen,
                    uf::INIT_FILELEN_MAX
                ),
            ));
        }
        if !f.node.secure && f.node.channel_secure && c.attrs & uf::FASTRPC_MODE_UNSIGNED_MODULE == 0 {
            return Err(OsError::new(
                Errno::ECONNREFUSED,
                format!(
                    "INIT_CREATE on {}: a non-secure node may only create an unsigned PD",
                    f.node.path
                ),
            ));
        }
        // Legacy: 0 and -1 mean "no dma-buf"; QDA: any fd <= 0.
        let filefd = match c.filefd {
            _ if c.filelen == 0 => -1,
            0 | -1 => -1,
            n if n < 0 => return Err(OsError::new(Errno::EBADF, format!("INIT_CREATE: filefd {n}"))),
            n => n,
        };
        let mut held = Vec::new();
        let filefd = if self.rfc() && filefd > 0 {
            // The RFC names the shell by GEM handle; 0 is none.
            self.import(fd, filefd, &mut held)?
        } else if self.rfc() {
            0
        } else {
            filefd
        };
        let mut q = uq::DrmQdaInitCreate {
            filelen: c.filelen,
            filefd,
            attrs: c.attrs,
            siglen: c.siglen,
            file: c.file,
        };
        let r = self.call::<spec::DrmIoctlQdaRemoteSessionCreate>(fd, &mut q);
        self.release(fd, held);
        r
    }

    fn rfc(&self) -> bool {
        self.revision.buffer_refs_are_gem_handles()
    }

    /// The GEM handle of dma-buf `dmabuf` in the accel file (PRIME import),
    /// remembered in `held` to be closed after the call.
    fn import(&self, fd: BorrowedFd<'_>, dmabuf: i32, held: &mut Vec<u32>) -> Result<i32, OsError> {
        let mut p = DrmPrimeHandle {
            handle: 0,
            flags: 0,
            fd: dmabuf,
        };
        self.call::<spec::DrmIoctlPrimeFdToHandle>(fd, &mut p)?;
        if !held.contains(&p.handle) {
            held.push(p.handle);
        }
        Ok(p.handle as i32)
    }

    /// Close the GEM handles an RFC translation imported.
    fn release(&self, fd: BorrowedFd<'_>, held: Vec<u32>) {
        for handle in held {
            let mut c = DrmGemClose { handle, pad: 0 };
            let _ = self.call::<spec::DrmIoctlGemClose>(fd, &mut c);
        }
    }

    /// INVOKE → REMOTE_INVOKE: the whole argument array (buffers and handle
    /// descriptors) in the layout both UAPIs share; dma-buf fds as they
    /// are (May 2026 takes dma-buf fds). The DSP's value is the result.
    fn invoke(&self, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let inv: uf::FastrpcInvoke = read(arg)?;
        let n = Scalars(inv.sc).len();
        let mut args = vec![FastrpcInvokeArgs::default(); n];
        if n > 0 {
            qda_os::copy_from_self(inv.args, args.as_mut_slice().as_mut_bytes())
                .map_err(|e| fault(e, "INVOKE: the argument array"))?;
        }
        // The legacy driver takes any fd but 0 and -1 as a dma-buf (QDA:
        // only fds > 0), so a negative one is its EBADF, not an inline copy.
        if let Some((i, a)) = args.iter().enumerate().find(|(_, a)| a.fd < -1 && a.length > 0) {
            return Err(OsError::new(
                Errno::EBADF,
                format!("INVOKE: argument {i}: fd {} is not a dma-buf", a.fd),
            ));
        }
        let mut held = Vec::new();
        let mut out = Vec::with_capacity(n);
        for a in &args {
            let fd_out = if self.rfc() && a.fd > 0 && a.length > 0 {
                match self.import(fd, a.fd, &mut held) {
                    Ok(h) => h,
                    Err(e) => {
                        self.release(fd, held);
                        return Err(e);
                    }
                }
            } else {
                a.fd
            };
            out.push(DrmQdaFastrpcInvokeArgs {
                ptr: a.ptr,
                length: a.length,
                fd: fd_out,
                attr: a.attr,
            });
        }
        let mut q = uq::DrmQdaInvokeArgs {
            handle: inv.handle,
            sc: inv.sc,
            args: out.as_mut_ptr() as u64,
        };
        let r = self.call::<spec::DrmIoctlQdaRemoteInvoke>(fd, &mut q);
        self.release(fd, held);
        r
    }

    /// A GEM object of `size` bytes exported as a dma-buf (`flags` of
    /// PRIME); the handle is closed once exported, the export keeps it.
    fn gem_export(&self, fd: BorrowedFd<'_>, size: u64, flags: u32) -> Result<OwnedFd, OsError> {
        let handle = if self.rfc() {
            let mut g = uq::rfc2026::GemCreate {
                handle: 0,
                pad: 0,
                size,
            };
            self.call::<spec::RfcDrmIoctlQdaGemCreate>(fd, &mut g)?;
            g.handle
        } else {
            let mut g = uq::DrmQdaGemCreate {
                size,
                handle: 0,
                pad: 0,
            };
            self.call::<spec::DrmIoctlQdaGemCreate>(fd, &mut g)?;
            g.handle
        };
        let mut p = DrmPrimeHandle { handle, flags, fd: -1 };
        let r = self.call::<spec::DrmIoctlPrimeHandleToFd>(fd, &mut p);
        let mut c = DrmGemClose { handle, pad: 0 };
        let closed = self.call::<spec::DrmIoctlGemClose>(fd, &mut c);
        r?;
        let buf = super::adopt(p.fd)?;
        closed?;
        Ok(buf)
    }

    /// ALLOC_DMA_BUFF → GEM_CREATE, PRIME_HANDLE_TO_FD (O_RDWR, no
    /// CLOEXEC, as the legacy driver installs its fd), GEM_CLOSE.
    fn alloc_dma_buf(&self, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let mut a: uf::FastrpcAllocDmaBuf = read(arg)?;
        let buf = self.gem_export(fd, a.size, DRM_RDWR)?;
        // Whatever the layer underneath installs (qdad's client receives
        // fds close-on-exec), the program gets the legacy driver's flags.
        rustix::io::fcntl_setfd(&buf, rustix::io::FdFlags::empty())
            .map_err(|e| OsError::new(Errno(e.raw_os_error()), "ALLOC_DMA_BUFF: clearing FD_CLOEXEC"))?;
        a.fd = buf.as_raw_fd();
        write(arg, &a)?;
        // The program owns the number now.
        let _ = buf.into_raw_fd();
        Ok(0)
    }

    /// MMAP (the kernel gives the DSP pages of its own) → a GEM object of
    /// `size`, exported, and REMOTE_MAP LEGACY with its fd; the export is
    /// held until MUNMAP or the file's release.
    fn mmap_pages(&self, f: &LegacyFile, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let mut m: uf::FastrpcReqMmap = read(arg)?;
        if m.flags != uf::ADSP_MMAP_ADD_PAGES && m.flags != uf::ADSP_MMAP_REMOTE_HEAP_ADDR {
            return Err(OsError::new(
                Errno::EINVAL,
                format!("MMAP: flags 0x{:x} are neither ADD_PAGES nor REMOTE_HEAP_ADDR", m.flags),
            ));
        }
        if m.vaddrin != 0 {
            return Err(OsError::new(Errno::EINVAL, "MMAP: vaddrin must be 0"));
        }
        if m.size == 0 {
            return Err(OsError::new(Errno::EINVAL, "MMAP: size is 0"));
        }
        let buf = self.gem_export(fd, m.size, held_export_flags())?;
        let mut q = uq::DrmQdaMemMap {
            request: uq::QDA_MAP_REQUEST_LEGACY,
            flags: m.flags,
            fd: buf.as_raw_fd(),
            vaddrin: 0,
            size: m.size,
            ..Default::default()
        };
        self.call::<spec::DrmIoctlQdaRemoteMap>(fd, &mut q)?;
        m.vaddrout = q.vaddrout;
        let pages = Pages {
            vaddr: q.vaddrout,
            size: m.size,
            _buf: buf,
        };
        if let Err(e) = write(arg, &m) {
            // The program cannot learn the address: take the map back.
            let _ = self.unmap_legacy(fd, pages.vaddr, pages.size);
            return Err(e);
        }
        lock(&f.mmaps).push(pages);
        Ok(0)
    }

    fn unmap_legacy(&self, fd: BorrowedFd<'_>, vaddrout: u64, size: u64) -> Result<i64, OsError> {
        let mut u = uq::DrmQdaMemUnmap {
            request: uq::QDA_MUNMAP_REQUEST_LEGACY,
            fd: -1,
            vaddr: 0,
            vaddrout,
            size,
        };
        self.call::<spec::DrmIoctlQdaRemoteMunmap>(fd, &mut u)
    }

    /// MUNMAP → REMOTE_MUNMAP LEGACY of pages an MMAP of this file gave,
    /// exactly that address and size (else EINVAL, as the legacy driver).
    fn munmap_pages(&self, f: &LegacyFile, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let m: uf::FastrpcReqMunmap = read(arg)?;
        let pages = {
            let mut l = lock(&f.mmaps);
            let i = l
                .iter()
                .position(|p| p.vaddr == m.vaddrout && p.size == m.size)
                .ok_or_else(|| {
                    OsError::new(
                        Errno::EINVAL,
                        format!("MUNMAP: no buffer at DSP 0x{:x} of {} bytes", m.vaddrout, m.size),
                    )
                })?;
            l.remove(i)
        };
        match self.unmap_legacy(fd, pages.vaddr, pages.size) {
            Ok(r) => Ok(r),
            Err(e) => {
                lock(&f.mmaps).push(pages);
                Err(e)
            }
        }
    }

    /// MEM_MAP → REMOTE_MAP ATTR (fd, offset, flags, attrs, vaddrin,
    /// length as size); `vaddrout` copied back.
    fn mem_map(&self, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let mut m: uf::FastrpcMemMap = read(arg)?;
        let mut q = uq::DrmQdaMemMap {
            request: uq::QDA_MAP_REQUEST_ATTR,
            flags: m.flags,
            fd: m.fd,
            attrs: m.attrs as u32,
            offset: m.offset as u32,
            pad: 0,
            vaddrin: m.vaddrin,
            size: m.length,
            vaddrout: 0,
        };
        let r = self.call::<spec::DrmIoctlQdaRemoteMap>(fd, &mut q)?;
        m.vaddrout = q.vaddrout;
        if let Err(e) = write(arg, &m) {
            let mut u = uq::DrmQdaMemUnmap {
                request: uq::QDA_MUNMAP_REQUEST_ATTR,
                fd: m.fd,
                vaddr: q.vaddrout,
                vaddrout: 0,
                size: m.length,
            };
            let _ = self.call::<spec::DrmIoctlQdaRemoteMunmap>(fd, &mut u);
            return Err(e);
        }
        Ok(r)
    }

    /// MEM_UNMAP → REMOTE_MUNMAP ATTR (fd, vaddr, length as size).
    fn mem_unmap(&self, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let m: uf::FastrpcMemUnmap = read(arg)?;
        let mut u = uq::DrmQdaMemUnmap {
            request: uq::QDA_MUNMAP_REQUEST_ATTR,
            fd: m.fd,
            vaddr: m.vaddr,
            vaddrout: 0,
            size: m.length,
        };
        self.call::<spec::DrmIoctlQdaRemoteMunmap>(fd, &mut u)
    }

    /// GET_DSP_INFO: attribute ids from 256 are `EOVERFLOW` (the legacy
    /// driver's check); the answer as [`DspInfo`] says.
    fn get_dsp_info(&self, f: &LegacyFile, fd: BorrowedFd<'_>, arg: u64) -> Result<i64, OsError> {
        let mut c: uf::FastrpcIoctlCapability = read(arg)?;
        if c.attribute_id >= uf::FASTRPC_MAX_DSP_ATTRIBUTES {
            return Err(OsError::new(
                Errno::EOVERFLOW,
                format!("GET_DSP_INFO: attribute {} >= 256", c.attribute_id),
            ));
        }
        c.capability = match self.dsp_info {
            DspInfo::Unknown => 0,
            DspInfo::Forward => match self.forward_dsp_info(&f.node.label, c.attribute_id) {
                Some(r) => r?,
                None => 0,
            },
            DspInfo::Query => match self.query_caps(&f.node.label, fd)? {
                Ok(t) => t[c.attribute_id as usize],
                // The DSP's own failure is the ioctl's value, as the legacy
                // driver returns it.
                Err(dsp) => return Ok(dsp),
            },
        };
        write(arg, &c)?;
        Ok(0)
    }

    /// The DSP's attribute table for `label`, asked once. `Ok(Err(v))`: the
    /// DSP answered `v`, neither success nor "unsupported".
    fn query_caps(&self, label: &str, fd: BorrowedFd<'_>) -> Result<Result<Arc<Vec<u32>>, i64>, OsError> {
        if let Some(t) = lock(&self.caps).get(label) {
            return Ok(Ok(t.clone()));
        }
        let n = qda_proto::bodies::DSP_ATTRIBUTES_QUERIED;
        let len = n.to_le_bytes();
        let mut out = vec![0u8; 4 * n as usize];
        let mut args = [
            DrmQdaFastrpcInvokeArgs {
                ptr: len.as_ptr() as u64,
                length: 4,
                fd: -1,
                attr: 0,
            },
            DrmQdaFastrpcInvokeArgs {
                ptr: out.as_mut_ptr() as u64,
                length: out.len() as u64,
                fd: -1,
                attr: 0,
            },
        ];
        let mut q = uq::DrmQdaInvokeArgs {
            handle: qda_proto::handles::DSP_UTILITIES,
            sc: qda_proto::handles::sc::DSP_CAPABILITY.0,
            args: args.as_mut_ptr() as u64,
        };
        let r = self.call::<spec::DrmIoctlQdaRemoteInvoke>(fd, &mut q)?;
        if r as u32 == AEE_EUNSUPPORTED {
            return Err(OsError::new(
                Errno::EOPNOTSUPP,
                "GET_DSP_INFO: the DSP does not support the capability query",
            ));
        }
        if r != 0 {
            return Ok(Err(r));
        }
        // Attribute 0 is the query's own; the DSP answers 1..=255.
        let mut t = vec![0u32; uf::FASTRPC_MAX_DSP_ATTRIBUTES as usize];
        for (k, w) in out.chunks_exact(4).enumerate().take(t.len() - 1) {
            t[k + 1] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        }
        let t = Arc::new(t);
        lock(&self.caps).insert(label.to_string(), t.clone());
        Ok(Ok(t))
    }

    /// GET_DSP_INFO on the legacy node underneath, if there is one.
    fn forward_dsp_info(&self, label: &str, attr: u32) -> Option<Result<u32, OsError>> {
        let below = self.inner.fastrpc_nodes();
        let path = [format!("/dev/fastrpc-{label}-secure"), format!("/dev/fastrpc-{label}")]
            .into_iter()
            .find(|p| below.contains(p))?;
        let file = match DeviceFile::open(&self.inner, &path) {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        };
        let mut c = uf::FastrpcIoctlCapability {
            attribute_id: attr,
            ..Default::default()
        };
        Some(file.call::<spec::FastrpcIoctlGetDspInfo>(&mut c).map(|_| c.capability))
    }
}

impl Syscalls for LegacyOnAccel {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn accel_nodes(&self) -> Vec<String> {
        if self.show_accel {
            self.inner.accel_nodes()
        } else {
            Vec::new()
        }
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.nodes().iter().map(|n| n.path.clone()).collect()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, OsError> {
        let Some(node) = self.nodes().iter().find(|n| n.path == path).cloned() else {
            if path.starts_with("/dev/fastrpc-") {
                // Not one of ours: the legacy nodes underneath are never
                // reached.
                return Err(OsError::new(
                    Errno::ENOENT,
                    format!("open {path}: no accel node answers for this domain"),
                ));
            }
            return self.inner.open(path);
        };
        let fd = self.inner.open(&node.accel)?;
        let file = Arc::new(LegacyFile {
            node,
            mmaps: Mutex::new(Vec::new()),
        });
        lock(&self.files).insert(fd.as_raw_fd(), file);
        Ok(fd)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, OsError> {
        match self.file(fd) {
            Some(f) => self.translate(&f, fd, cmd, arg),
            None => self.inner.ioctl(fd, cmd, arg),
        }
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<Mapping, OsError> {
        if self.file(fd).is_some() {
            // The legacy node has no mmap; its buffers are dma-bufs.
            return Err(OsError::new(Errno::ENODEV, "mmap of a legacy FastRPC node"));
        }
        self.inner.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        let f = lock(&self.files).remove(&fd.as_raw_fd());
        // Release first (the PD and its maps go), then the pages' exports.
        self.inner.close(fd);
        drop(f);
    }
}

/// The legacy names for each domain with an accel node underneath.
fn discover(inner: &Arc<dyn Syscalls>) -> Vec<LegacyNode> {
    let board = inner.fastrpc_nodes();
    let mut out: Vec<LegacyNode> = Vec::new();
    for accel in inner.accel_nodes() {
        let Ok(file) = DeviceFile::open(inner, &accel) else {
            continue;
        };
        let mut q = uq::DrmQdaQuery::default();
        if file.call::<spec::DrmIoctlQdaQuery>(&mut q).is_err() {
            continue;
        }
        drop(file);
        let Ok(label) = std::str::from_utf8(q.name_bytes()) else {
            continue;
        };
        if label.is_empty() || label.contains('/') || out.iter().any(|n| n.label == label) {
            continue;
        }
        let secure = format!("/dev/fastrpc-{label}-secure");
        let plain = format!("/dev/fastrpc-{label}");
        let listed: Vec<(String, bool)> = [(secure.clone(), true), (plain.clone(), false)]
            .into_iter()
            .filter(|(p, _)| board.contains(p))
            .collect();
        let names = if !listed.is_empty() {
            listed
        } else if ["adsp", "mdsp", "sdsp"].iter().any(|p| label.starts_with(p)) {
            vec![(secure, true)]
        } else {
            vec![(secure, true), (plain, false)]
        };
        let channel_secure = names.iter().any(|(_, s)| *s);
        for (path, secure) in names {
            out.push(LegacyNode {
                path,
                label: label.to_string(),
                accel: accel.clone(),
                secure,
                channel_secure,
            });
        }
    }
    out
}

/// PRIME flags for an export the translation holds itself.
fn held_export_flags() -> u32 {
    qda_uapi::drm::DRM_CLOEXEC | DRM_RDWR
}

fn untranslatable(why: &str) -> OsError {
    tracing::debug!(target: "qda::compat", "{why}");
    OsError::new(Errno::ENOTTY, why.to_string())
}

fn fault(e: OsError, what: &str) -> OsError {
    OsError::new(Errno::EFAULT, format!("{what}: {e}"))
}

/// The program's struct at `arg` (EFAULT where it cannot be read, as
/// `copy_from_user`).
fn read<T: FromBytes + IntoBytes>(arg: u64) -> Result<T, OsError> {
    let mut t = T::new_zeroed();
    qda_os::copy_from_self(arg, t.as_mut_bytes()).map_err(|e| fault(e, "reading the ioctl argument"))?;
    Ok(t)
}

/// Copy `t` back to the program's `arg` (EFAULT as `copy_to_user`).
fn write<T: IntoBytes + zerocopy::Immutable>(arg: u64, t: &T) -> Result<(), OsError> {
    qda_os::copy_to_self(arg, t.as_bytes()).map_err(|e| fault(e, "writing the ioctl argument back"))
}

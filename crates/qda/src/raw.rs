//! The raw layer a C front end needs: invokes with caller-built argument
//! descriptors (buffers, dma-buf fds, handles), maps by fd, the DSP's
//! attributes. Everything here is still safe: pointers travel as numbers to
//! the backend, which reads them as the kernel does (a bad pointer is
//! `EFAULT`, never undefined behaviour).

use qda_ioctl as spec;
use qda_proto::Scalars;
use qda_uapi::fastrpc::{self as uf, FastrpcInvokeArgs};
use qda_uapi::qda::*;

use crate::device::Device;
use crate::error::Error;
use crate::os::Lent;
use crate::session::{RemoteHandle, Session};
use crate::shared::{Inner, Uapi};

/// A persistent map request ([`Session::map_fd`]): the fields of
/// `FASTRPC_IOCTL_MEM_MAP` / `DRM_IOCTL_QDA_REMOTE_MAP` (ATTR request).
#[derive(Debug, Clone, Copy, Default)]
pub struct FdMap {
    /// The dma-buf fd.
    pub fd: i32,
    /// Byte offset into the buffer.
    pub offset: u32,
    /// Map flags (`FASTRPC_MAP_*`).
    pub flags: u32,
    /// SMMU attributes.
    pub attrs: u32,
    /// The buffer's address in this process (0: none).
    pub vaddrin: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Session {
    /// Invoke `handle` with scalars `sc` and one descriptor per argument
    /// (`sc`'s input and output buffers, then its input and output handles),
    /// as `FASTRPC_IOCTL_INVOKE` / `DRM_IOCTL_QDA_REMOTE_INVOKE` take them.
    /// A descriptor's `ptr` is an address in this process (or, for a handle,
    /// the offset in its buffer); its `fd` names a dma-buf to pass by
    /// reference (`-1` for inline). Returns the DSP's return value (0 or an
    /// AEE code), as the ioctl does.
    pub fn invoke_raw(&self, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> Result<i64, Error> {
        invoke_checked(&self.inner, handle, sc, args)
    }

    /// Map `m.len` bytes of dma-buf `m.fd` into the PD until
    /// [`Session::unmap_fd`] (`MEM_MAP` / `REMOTE_MAP` ATTR request): the DSP
    /// address.
    pub fn map_fd(&self, m: FdMap) -> Result<u64, Error> {
        match self.inner.uapi {
            Uapi::Qda => {
                let mut a = DrmQdaMemMap {
                    request: QDA_MAP_REQUEST_ATTR,
                    flags: m.flags,
                    fd: m.fd,
                    attrs: m.attrs,
                    offset: m.offset,
                    pad: 0,
                    vaddrin: m.vaddrin,
                    size: m.len,
                    vaddrout: 0,
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteMap>(&mut a)?;
                Ok(a.vaddrout)
            }
            Uapi::Fastrpc => {
                let mut a = uf::FastrpcMemMap {
                    fd: m.fd,
                    offset: m.offset as i32,
                    flags: m.flags,
                    vaddrin: m.vaddrin,
                    length: m.len,
                    attrs: m.attrs as i32,
                    ..Default::default()
                };
                self.inner.call::<spec::FastrpcIoctlMemMap>(&mut a)?;
                Ok(a.vaddrout)
            }
        }
    }

    /// Undo [`Session::map_fd`] (`MEM_UNMAP` / `REMOTE_MUNMAP` ATTR request).
    pub fn unmap_fd(&self, fd: i32, vaddr: u64, len: u64) -> Result<(), Error> {
        match self.inner.uapi {
            Uapi::Qda => {
                let mut u = DrmQdaMemUnmap {
                    request: QDA_MUNMAP_REQUEST_ATTR,
                    fd,
                    vaddr,
                    vaddrout: 0,
                    size: len,
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteMunmap>(&mut u)?;
            }
            Uapi::Fastrpc => {
                let mut u = uf::FastrpcMemUnmap {
                    fd,
                    vaddr,
                    length: len,
                    ..Default::default()
                };
                self.inner.call::<spec::FastrpcIoctlMemUnmap>(&mut u)?;
            }
        }
        Ok(())
    }

    /// The legacy map (`FASTRPC_IOCTL_MMAP` / `REMOTE_MAP` LEGACY request):
    /// `flags` as the driver takes them (`ADSP_MMAP_*`); the DSP address.
    pub fn mmap_legacy(&self, fd: i32, flags: u32, vaddrin: u64, size: u64) -> Result<u64, Error> {
        match self.inner.uapi {
            Uapi::Qda => {
                let mut a = DrmQdaMemMap {
                    request: QDA_MAP_REQUEST_LEGACY,
                    flags,
                    fd,
                    vaddrin,
                    size,
                    ..Default::default()
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteMap>(&mut a)?;
                Ok(a.vaddrout)
            }
            Uapi::Fastrpc => {
                let mut a = uf::FastrpcReqMmap {
                    fd,
                    flags,
                    vaddrin,
                    size,
                    vaddrout: 0,
                };
                self.inner.call::<spec::FastrpcIoctlMmap>(&mut a)?;
                Ok(a.vaddrout)
            }
        }
    }

    /// Undo [`Session::mmap_legacy`] (`FASTRPC_IOCTL_MUNMAP` / LEGACY request).
    pub fn munmap_legacy(&self, vaddrout: u64, size: u64) -> Result<(), Error> {
        match self.inner.uapi {
            Uapi::Qda => {
                let mut u = DrmQdaMemUnmap {
                    request: QDA_MUNMAP_REQUEST_LEGACY,
                    fd: -1,
                    vaddr: 0,
                    vaddrout,
                    size,
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteMunmap>(&mut u)?;
            }
            Uapi::Fastrpc => {
                let mut u = uf::FastrpcReqMunmap { vaddrout, size };
                self.inner.call::<spec::FastrpcIoctlMunmap>(&mut u)?;
            }
        }
        Ok(())
    }
}

impl RemoteHandle {
    /// [`Session::invoke_raw`] on this module's handle.
    pub fn invoke_raw(&self, sc: u32, args: &mut [FastrpcInvokeArgs]) -> Result<i64, Error> {
        invoke_checked(&self.inner, self.raw(), sc, args)
    }
}

/// One descriptor per argument of `sc`, else a usage error; then the call.
fn invoke_checked(inner: &Inner, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> Result<i64, Error> {
    let want = Scalars(sc).len();
    if want != args.len() {
        return Err(Error::Usage(format!(
            "scalars {sc:#010x} describe {want} arguments, {} given",
            args.len()
        )));
    }
    // The descriptors' pointers are the caller's: only the checked copies.
    inner.invoke(handle, sc, args, Lent::new(), "REMOTE_INVOKE")
}

impl Device {
    /// Attribute `attr` of the domain's DSP (`remote_dsp_attributes`):
    /// `GET_DSP_INFO` on a legacy node. The QDA accel UAPI has no such
    /// query; there the answer is the legacy node's of the same backend if
    /// it has one, else what libfastrpc's accel backend answers without a
    /// query (1 for `USERSPACE_ALLOCATION` (258), else 0).
    pub fn dsp_info(&self, attr: u32) -> Result<u32, Error> {
        let ask = |inner: &Inner| {
            let mut c = uf::FastrpcIoctlCapability {
                attribute_id: attr,
                ..Default::default()
            };
            let op = format!("GET_DSP_INFO {attr}");
            // A value other than 0 is the DSP's code for a failed query.
            let r = inner.call_as::<spec::FastrpcIoctlGetDspInfo>(&op, &mut c)?;
            crate::error::dsp_result(&op, r).map(|_| c.capability)
        };
        match self.uapi() {
            Uapi::Fastrpc => ask(&self.inner),
            Uapi::Qda => {
                let calls = self.inner.file.syscalls().clone();
                let node = format!("/dev/fastrpc-{}", self.domain());
                if calls.fastrpc_nodes().contains(&node)
                    && let Ok(file) = crate::sys::DeviceFile::open(&calls, &node)
                {
                    let legacy = Inner {
                        file,
                        domain: self.domain(),
                        uapi: Uapi::Fastrpc,
                        revision: Default::default(),
                        handles: Default::default(),
                    };
                    return ask(&legacy);
                }
                Ok(u32::from(attr == 258))
            }
        }
    }
}

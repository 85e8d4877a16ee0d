//! A DSP device: one open accel node file (or, where a domain has none, its
//! legacy fastrpc node), and the ioctls the library makes on it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use qda_ioctl as spec;
use qda_uapi::drm::{DrmGemClose, DrmPrimeHandle};
use qda_uapi::fastrpc as uf;
use qda_uapi::qda::*;

use crate::backend::{Backend, BackendInfo, select};
use crate::buffer::Buffer;
use crate::domain::Domain;
use crate::error::{Error, dsp_result, os};
use crate::os::{Errno, Mapping, OsError};
use crate::session::{Session, SessionOptions};
use crate::shared::{Inner, Uapi};
use crate::sys::{self, DeviceFile, Syscalls};

/// An open DSP device (one accel node file).
#[derive(Debug, Clone)]
pub struct Device {
    pub(crate) inner: Arc<Inner>,
}

impl Device {
    /// Open `domain` on the backend [`select`] picks: `QDA_BACKEND` if set,
    /// else a real kernel node if one answers for the domain, else a running
    /// qdad (its socket: `QDA_SOCKET`, else the default), else the embedded
    /// platform.
    pub fn open(domain: Domain) -> Result<Device, Error> {
        select(None, |b| Device::open_on(domain, b))
    }

    /// Open `domain` on a given backend.
    pub fn open_on(domain: Domain, backend: Backend) -> Result<Device, Error> {
        let calls = backend.syscalls().map_err(|e| Error::NoDevice {
            domain,
            why: e.to_string(),
        })?;
        Device::open_with(domain, calls)
    }

    /// Open `domain` through a given syscall layer (e.g. an embedded
    /// platform of one's own, as the conformance tests do).
    pub fn open_with(domain: Domain, calls: Arc<dyn Syscalls>) -> Result<Device, Error> {
        let backend = calls.backend();
        let nodes = calls.accel_nodes();
        if nodes.is_empty() && calls.fastrpc_nodes().is_empty() {
            return Err(Error::NoDevice {
                domain,
                why: format!("the {backend} backend has no accel or fastrpc nodes"),
            });
        }
        let inner = |file, uapi, revision| {
            Arc::new(Inner {
                file,
                domain,
                uapi,
                revision,
                handles: Default::default(),
            })
        };
        for path in nodes {
            let Ok(file) = DeviceFile::open(&calls, &path) else {
                continue;
            };
            let mut q = DrmQdaQuery::default();
            if file.call::<spec::DrmIoctlQdaQuery>(&mut q).is_ok()
                && q.dsp_name.split(|b| *b == 0).next() == Some(domain.name().as_bytes())
            {
                let rev = crate::shared::probe_revision(&file);
                return Ok(Device {
                    inner: inner(file, Uapi::Qda, rev),
                });
            }
        }
        // No accel node for the domain: the legacy node, secure first (it
        // may create signed PDs).
        let legacy = calls.fastrpc_nodes();
        for path in [
            format!("/dev/fastrpc-{domain}-secure"),
            format!("/dev/fastrpc-{domain}"),
        ] {
            if !legacy.contains(&path) {
                continue;
            }
            if let Ok(file) = DeviceFile::open(&calls, &path) {
                return Ok(Device {
                    inner: inner(file, Uapi::Fastrpc, Revision::default()),
                });
            }
        }
        Err(Error::NoDevice {
            domain,
            why: format!("no {backend} accel node answers QUERY with '{domain}', and no /dev/fastrpc-{domain} node"),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.file.syscalls().backend()
    }
    /// What the backend in use says about itself.
    pub fn backend_info(&self) -> BackendInfo {
        self.inner.file.syscalls().info()
    }
    /// The domain.
    pub fn domain(&self) -> Domain {
        self.inner.domain
    }
    /// The device node.
    pub fn path(&self) -> &str {
        self.inner.file.path()
    }
    /// The UAPI the node speaks.
    pub fn uapi(&self) -> Uapi {
        self.inner.uapi
    }
    /// The QDA UAPI revision the accel node answers (probed when it was
    /// opened); `None` on a legacy node.
    pub fn qda_revision(&self) -> Option<Revision> {
        (self.inner.uapi == Uapi::Qda).then_some(self.inner.revision)
    }

    /// Start a user PD for this device file (`REMOTE_SESSION_CREATE`).
    pub fn session(&self) -> Result<Session, Error> {
        self.session_with(SessionOptions::default())
    }

    /// Start a user PD with options.
    pub fn session_with(&self, opts: SessionOptions) -> Result<Session, Error> {
        let attrs = if opts.unsigned {
            qda_uapi::fastrpc::FASTRPC_MODE_UNSIGNED_MODULE
        } else {
            0
        };
        let r = match self.inner.uapi {
            Uapi::Qda => {
                // No shell: the RFC's `filefd` is a GEM handle, 0 for none.
                let mut c = DrmQdaInitCreate {
                    filelen: 0,
                    filefd: if self.inner.revision.buffer_refs_are_gem_handles() {
                        0
                    } else {
                        -1
                    },
                    attrs,
                    siglen: 0,
                    file: 0,
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteSessionCreate>(&mut c)?
            }
            Uapi::Fastrpc => {
                let mut c = uf::FastrpcInitCreate {
                    filelen: 0,
                    filefd: -1,
                    attrs,
                    siglen: 0,
                    file: 0,
                };
                self.inner.call::<spec::FastrpcIoctlInitCreate>(&mut c)?
            }
        };
        dsp_result("session create", r)?;
        Ok(Session {
            inner: self.inner.clone(),
        })
    }

    /// Allocate a buffer of `size` bytes (GEM; on a legacy node a dma-buf
    /// from `ALLOC_DMA_BUFF`), mapped into this process.
    pub fn alloc(&self, size: usize) -> Result<Buffer, Error> {
        if self.inner.uapi == Uapi::Fastrpc {
            let mut a = uf::FastrpcAllocDmaBuf {
                fd: -1,
                flags: 0,
                size: size as u64,
            };
            self.inner.call::<spec::FastrpcIoctlAllocDmaBuff>(&mut a)?;
            let fd = sys::adopt(a.fd).map_err(os("ALLOC_DMA_BUFF"))?;
            return self.legacy_buffer(fd, size);
        }
        let (handle, offset) = self.gem_create(size as u64)?;
        let map = offset.and_then(|o| self.inner.file.mmap(o, size.max(1)).map_err(os("mmap")));
        let map = match map {
            Ok(m) => m,
            Err(e) => {
                let mut c = DrmGemClose { handle, pad: 0 };
                let _ = self.inner.call::<spec::DrmIoctlGemClose>(&mut c);
                return Err(e);
            }
        };
        self.inner.hold(handle);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle,
            size,
            map,
            fd: OnceLock::new(),
        })
    }

    /// Import a dma-buf (from a heap, udmabuf, another process…) as a buffer
    /// of this device, mapped into this process.
    pub fn import(&self, fd: BorrowedFd<'_>) -> Result<Buffer, Error> {
        if self.inner.uapi == Uapi::Fastrpc {
            // A legacy node has no import: the fd goes with each call. Refuse
            // what cannot be a dma-buf now, with the errno PRIME would give.
            let st = rustix::fs::fstat(fd).map_err(|e| Error::Os {
                op: "fstat".into(),
                source: e.into(),
            })?;
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
                return Err(Error::Os {
                    op: "import".into(),
                    source: OsError::new(Errno::EINVAL, "file descriptor is not a dma-buf"),
                });
            }
            let own = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::Os {
                op: "dup".into(),
                source: e.into(),
            })?;
            return self.legacy_buffer(own, st.st_size as usize);
        }
        let mut p = DrmPrimeHandle {
            handle: 0,
            flags: 0,
            fd: fd.as_raw_fd(),
        };
        self.inner.call::<spec::DrmIoctlPrimeFdToHandle>(&mut p)?;
        let size = rustix::fs::fstat(fd)
            .map_err(|e| Error::Os {
                op: "fstat".into(),
                source: e.into(),
            })?
            .st_size as usize;
        let map = Mapping::map(fd, 0, size, true).map_err(os("mmap of the dma-buf"))?;
        let own = rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| Error::Os {
            op: "dup".into(),
            source: e.into(),
        })?;
        let cell = OnceLock::new();
        let _ = cell.set(own);
        self.inner.hold(p.handle);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle: p.handle,
            size,
            map,
            fd: cell,
        })
    }
}

impl Device {
    /// A GEM object of `size` bytes in the layout of the node's revision:
    /// its handle, and its mmap offset (or why there is none; the object is
    /// the caller's to close then).
    fn gem_create(&self, size: u64) -> Result<(u32, Result<u64, Error>), Error> {
        if self.inner.revision == Revision::Rfc2026Feb {
            let mut g = rfc2026::GemCreate {
                handle: 0,
                pad: 0,
                size,
            };
            self.inner.call::<spec::RfcDrmIoctlQdaGemCreate>(&mut g)?;
            let mut o = rfc2026::GemMmapOffset {
                handle: g.handle,
                pad: 0,
                offset: 0,
            };
            let off = self
                .inner
                .call::<spec::RfcDrmIoctlQdaGemMmapOffset>(&mut o)
                .map(|_| o.offset);
            return Ok((g.handle, off));
        }
        let mut g = DrmQdaGemCreate {
            size,
            handle: 0,
            pad: 0,
        };
        self.inner.call::<spec::DrmIoctlQdaGemCreate>(&mut g)?;
        let mut o = DrmQdaGemMmapOffset {
            offset: 0,
            handle: g.handle,
            pad: 0,
        };
        let off = self
            .inner
            .call::<spec::DrmIoctlQdaGemMmapOffset>(&mut o)
            .map(|_| o.offset);
        Ok((g.handle, off))
    }

    fn legacy_buffer(&self, fd: OwnedFd, size: usize) -> Result<Buffer, Error> {
        let map = Mapping::map(fd.as_fd(), 0, size.max(1), true).map_err(os("mmap of the dma-buf"))?;
        let cell = OnceLock::new();
        let _ = cell.set(fd);
        Ok(Buffer {
            inner: self.inner.clone(),
            handle: 0,
            size,
            map,
            fd: cell,
        })
    }
}

//! Buffers the DSP reaches directly.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use qda_ioctl as spec;
use qda_uapi::drm::{DRM_CLOEXEC, DRM_RDWR, DrmPrimeHandle};

use crate::error::{Error, os};
use crate::os::Mapping;
use crate::shared::{Inner, Uapi};
use crate::sys;

/// A buffer the DSP reaches directly: a GEM object (or an imported
/// dma-buf), mapped into this process.
#[derive(Debug)]
pub struct Buffer {
    pub(crate) inner: Arc<Inner>,
    pub(crate) handle: u32,
    pub(crate) size: usize,
    pub(crate) map: Mapping,
    pub(crate) fd: OnceLock<OwnedFd>,
}

impl Buffer {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }
    /// The buffer's address in this process (where it is mapped).
    pub fn addr(&self) -> u64 {
        self.map.addr()
    }
    /// The GEM handle (0 on a legacy node, which has no GEM).
    pub fn handle(&self) -> u32 {
        self.handle
    }
    /// Copy bytes in at `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result<(), Error> {
        self.map.write_at(offset, src).map_err(os("buffer write"))
    }
    /// Copy bytes out from `offset`.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result<(), Error> {
        self.map.read_at(offset, dst).map_err(os("buffer read"))
    }
    /// The whole buffer as a vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.size];
        let _ = self.map.read_at(0, &mut v);
        v
    }
    /// What an invoke argument or a map carries for this buffer in the
    /// revision its node answers: its GEM handle (the Feb 2026 RFC) or its
    /// dma-buf fd (May 2026, and the legacy node; exported once).
    pub(crate) fn dsp_ref(&self) -> Result<i32, Error> {
        if self.inner.uapi == Uapi::Qda && self.inner.revision.buffer_refs_are_gem_handles() {
            return Ok(self.handle as i32);
        }
        Ok(self.export()?.as_raw_fd())
    }

    /// The buffer's dma-buf fd (exported once, shared by later calls):
    /// give it to another process or device.
    pub fn export(&self) -> Result<BorrowedFd<'_>, Error> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.as_fd());
        }
        let mut p = DrmPrimeHandle {
            handle: self.handle,
            flags: DRM_CLOEXEC | DRM_RDWR,
            fd: -1,
        };
        self.inner.call::<spec::DrmIoctlPrimeHandleToFd>(&mut p)?;
        // SAFETY-free adoption: the ioctl installed a new fd for us.
        let fd = adopt(p.fd)?;
        Ok(self.fd.get_or_init(|| fd).as_fd())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.inner.release(self.handle);
    }
}

fn adopt(fd: i32) -> Result<OwnedFd, Error> {
    sys::adopt(fd).map_err(os("PRIME_HANDLE_TO_FD"))
}

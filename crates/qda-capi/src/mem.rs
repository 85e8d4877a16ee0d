//! Memory: rpcmem buffers (dma-bufs mapped here and registered, so calls
//! pass them by fd), and maps of dma-bufs into a PD (`fastrpc_mmap`,
//! `remote_mmap64`, `remote_mem_map`).
//!
//! libadsprpc allocates rpcmem from `/dev/dma_heap/system`; here a buffer
//! is allocated by the library's backend on the default domain's device (a
//! GEM object exported as a dma-buf, or `ALLOC_DMA_BUFF` on a legacy node):
//! the same kind of fd, valid for every domain.

use std::os::fd::AsRawFd;

use qda::FdMap;
use qda_os::sys::Mapping;
use qda_rt::lock;

use crate::domains::Effective;
use crate::errors::{EALREADY, EBADPARM, ENOSUCHMAP, aee};
use crate::ffi;
use crate::state::Lib;

use qda_uapi::remote::RPCMEM_HEAP_NOREG;

impl Lib {
    /// `rpcmem_alloc`: a buffer of `size` bytes, mapped here; its address.
    pub fn rpcmem_alloc(&self, flags: u32, size: usize) -> Result<usize, i32> {
        if size == 0 {
            return Err(EBADPARM);
        }
        let buf = {
            let mut dev = lock(&self.rpcmem_dev);
            if dev.is_none() {
                let d = crate::domains::domain_of_id(self.default).ok_or(EBADPARM)?;
                *dev = Some(self.device(d)?);
            }
            dev.as_ref().expect("set").alloc(size).map_err(|e| aee(&e))?
        };
        let fd = buf.export().map_err(|e| aee(&e))?.as_raw_fd();
        let addr = buf.addr() as usize;
        if flags & RPCMEM_HEAP_NOREG == 0 {
            self.reg.register(addr, size, fd, 0);
        }
        lock(&self.maps.rpcmem).insert(addr, buf);
        Ok(addr)
    }

    /// `rpcmem_free`.
    pub fn rpcmem_free(&self, addr: usize) {
        if let Some(buf) = lock(&self.maps.rpcmem).remove(&addr) {
            if self.reg.at(addr).is_some() {
                self.reg.register(addr, 0, -1, 0);
            }
            drop(buf);
        }
    }

    /// `rpcmem_to_fd`: the fd of the rpcmem buffer at `addr` (-1 if none).
    pub fn rpcmem_to_fd(&self, addr: usize) -> i32 {
        lock(&self.maps.rpcmem)
            .get(&addr)
            .and_then(|b| b.export().ok().map(|f| f.as_raw_fd()))
            .unwrap_or(-1)
    }

    /// `fastrpc_mmap`: map `fd` into `eff`'s PD until `fastrpc_munmap`.
    pub fn fd_map(&self, eff: Effective, m: FdMap) -> Result<(), i32> {
        let key = (eff, m.fd);
        if lock(&self.maps.fd_maps).contains_key(&key) {
            return Err(EALREADY);
        }
        let dom = self.session_or_open(eff)?;
        let v = dom.session.map_fd(m).map_err(|e| aee(&e))?;
        lock(&self.maps.fd_maps).insert(key, (v, m.len));
        Ok(())
    }

    /// `fastrpc_munmap`.
    pub fn fd_unmap(&self, eff: Effective, fd: i32) -> Result<(), i32> {
        let key = (eff, fd);
        let (v, len) = *lock(&self.maps.fd_maps).get(&key).ok_or(ENOSUCHMAP)?;
        let dom = self.session(eff).ok_or(ENOSUCHMAP)?;
        dom.session.unmap_fd(fd, v, len).map_err(|e| aee(&e))?;
        lock(&self.maps.fd_maps).remove(&key);
        Ok(())
    }

    /// `remote_register_fd`: map `size` bytes of `fd` here, shared; the
    /// mapping lasts as long as the library's state (libadsprpc never
    /// unmaps it either).
    pub fn map_fd_here(&self, fd: i32, size: usize) -> Result<usize, i32> {
        let fd = ffi::borrow_fd(fd).ok_or(EBADPARM)?;
        let m = Mapping::map(fd, 0, size, true).map_err(|e| crate::errors::from_errno(e.errno.0))?;
        let addr = m.addr() as usize;
        lock(&self.maps.fd_mappings).push(m);
        Ok(addr)
    }

    /// `remote_mmap64`: map `fd` into the current domain's PD; its address.
    pub fn addr_map(&self, eff: Effective, fd: i32, vaddrin: u64, size: u64) -> Result<u64, i32> {
        let dom = self.session_or_open(eff)?;
        let v = dom
            .session
            .map_fd(FdMap {
                fd,
                vaddrin,
                len: size,
                ..Default::default()
            })
            .map_err(|e| aee(&e))?;
        lock(&self.maps.addr_maps).insert((eff, v), fd);
        Ok(v)
    }

    /// `remote_munmap64`: a map made by [`Lib::addr_map`], else the legacy
    /// unmap of a driver-allocated map.
    pub fn addr_unmap(&self, eff: Effective, vaddr: u64, size: u64) -> Result<(), i32> {
        let dom = self.session_or_open(eff)?;
        let fd = lock(&self.maps.addr_maps).remove(&(eff, vaddr));
        let r = match fd {
            Some(fd) => dom.session.unmap_fd(fd, vaddr, size),
            None => dom.session.munmap_legacy(vaddr, size),
        };
        r.map_err(|e| {
            if let Some(fd) = fd {
                lock(&self.maps.addr_maps).insert((eff, vaddr), fd);
            }
            aee(&e)
        })
    }
}

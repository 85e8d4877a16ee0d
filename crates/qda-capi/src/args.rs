//! From `remote_arg`s to the driver's argument descriptors, as libadsprpc
//! builds them (`remote_handle_invoke_domain`, qualcomm/fastrpc
//! `src/fastrpc_apps_user.c` @ 29851fde11d4):
//!
//! * a buffer is `{ptr = pv, length = nLen, fd = -1}`; if it lies inside a
//!   registered buffer (rpcmem, `remote_register_buf`) that buffer's fd goes
//!   with it, so the driver maps it instead of copying, plus the
//!   registration's attribute bits; a buffer that starts inside a
//!   registration and ends outside it is `AEE_EBADPARM`;
//! * a handle is `{ptr = dma.offset, length, fd = dma.fd, attr | NOVA}`
//!   where length and attributes come from `remote_register_dma_handle`,
//!   whose registration the invoke consumes (0 if none).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use qda_proto::Scalars;
use qda_rt::lock;
use qda_uapi::fastrpc::FastrpcInvokeArgs;

use crate::errors::EBADPARM;
use crate::ffi::CArg;

/// `FASTRPC_ATTR_NOVA`: the argument has no CPU address of its own.
pub const FASTRPC_ATTR_NOVA: u32 = 256;
/// The registration attributes libadsprpc passes on with a buffer
/// (`FASTRPC_ATTR_NON_COHERENT`, `_COHERENT`, `_KEEP_MAP`,
/// `_FORCE_NOFLUSH`, `_FORCE_NOINVALIDATE`).
const PASSED_ON: u32 = 2 | 4 | 8 | 32 | 64;

/// A registered buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg {
    /// Length in bytes.
    pub len: usize,
    /// Its dma-buf fd.
    pub fd: i32,
    /// `FASTRPC_ATTR_*` bits.
    pub attr: u32,
}

/// The registered buffers and dma handles of the process.
#[derive(Debug, Default)]
pub struct Registrations {
    bufs: Mutex<BTreeMap<usize, Reg>>,
    dma: Mutex<HashMap<i32, (u32, u32)>>,
}

impl Registrations {
    /// Register `len` bytes at `addr` as dma-buf `fd` (`fd == -1`:
    /// unregister the buffer at `addr`).
    pub fn register(&self, addr: usize, len: usize, fd: i32, attr: u32) {
        let mut b = lock(&self.bufs);
        if fd == -1 {
            b.remove(&addr);
        } else {
            b.insert(addr, Reg { len, fd, attr });
        }
    }

    /// The registration starting at `addr`.
    pub fn at(&self, addr: usize) -> Option<Reg> {
        lock(&self.bufs).get(&addr).copied()
    }

    /// The registration holding `len` bytes at `addr`.
    pub fn find(&self, addr: usize, len: usize) -> Result<Option<Reg>, i32> {
        let b = lock(&self.bufs);
        let Some((start, r)) = b.range(..=addr).next_back() else {
            return Ok(None);
        };
        if addr - start >= r.len {
            return Ok(None);
        }
        let end = addr.checked_add(len).ok_or(EBADPARM)?;
        if end - start > r.len {
            tracing::debug!(target: "qda_capi", "buffer {addr:#x}+{len} runs past registered fd {} ({start:#x}+{})", r.fd, r.len);
            return Err(EBADPARM);
        }
        Ok(Some(*r))
    }

    /// Register dma handle `fd` with its length and attributes.
    pub fn register_dma(&self, fd: i32, len: u32, attr: u32) {
        lock(&self.dma).insert(fd, (len, attr));
    }

    /// Take dma handle `fd`'s registration: `(len, attr)`, zeros if none.
    fn take_dma(&self, fd: i32) -> (u32, u32) {
        lock(&self.dma).remove(&fd).unwrap_or((0, 0))
    }

    /// The driver's descriptors for a call with scalars `sc` and C
    /// arguments `pra`.
    pub fn descriptors(&self, sc: Scalars, pra: &[CArg]) -> Result<Vec<FastrpcInvokeArgs>, i32> {
        let nbufs = sc.nbufs();
        let mut out = Vec::with_capacity(pra.len());
        for (i, a) in pra.iter().enumerate() {
            if i < nbufs {
                let b = crate::ffi::buf_of(a);
                let mut d = FastrpcInvokeArgs {
                    ptr: b.pv,
                    length: b.n_len,
                    fd: -1,
                    attr: 0,
                };
                if b.n_len > 0
                    && let Some(r) = self.find(b.pv as usize, b.n_len as usize)?
                {
                    d.fd = r.fd;
                    d.attr = r.attr & PASSED_ON;
                }
                out.push(d);
            } else {
                let h = crate::ffi::dma_of(a);
                let (len, attr) = self.take_dma(h.fd);
                out.push(FastrpcInvokeArgs {
                    ptr: u64::from(h.offset),
                    length: u64::from(len),
                    fd: h.fd,
                    attr: attr | FASTRPC_ATTR_NOVA,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{CBuf, CDma};

    fn buf(pv: usize, n: usize) -> CArg {
        CArg {
            buf: CBuf {
                pv: pv as u64,
                n_len: n as u64,
            },
        }
    }

    #[test]
    fn buffers_inside_a_registration_carry_its_fd() {
        let r = Registrations::default();
        r.register(0x10000, 0x1000, 7, 8 | 1);
        let sc = Scalars::make(2, 2, 1);
        let d = r
            .descriptors(sc, &[buf(0x10100, 16), buf(0x20000, 4), buf(0x10000, 0x1000)])
            .unwrap();
        assert_eq!((d[0].fd, d[0].attr, d[0].ptr), (7, 8, 0x10100));
        assert_eq!(d[1].fd, -1, "outside every registration: inline");
        assert_eq!(d[2].fd, 7, "the whole registration");
        assert_eq!(
            r.descriptors(Scalars::make(2, 1, 0), &[buf(0x10ff0, 32)]),
            Err(EBADPARM)
        );
        r.register(0x10000, 0, -1, 0);
        assert_eq!(
            r.descriptors(Scalars::make(2, 1, 0), &[buf(0x10100, 16)]).unwrap()[0].fd,
            -1
        );
    }

    #[test]
    fn a_dma_handle_registration_is_used_once() {
        let r = Registrations::default();
        r.register_dma(9, 4096, 2);
        let sc = Scalars::makex(0, 2, 0, 0, 1, 0);
        let h = CArg {
            dma: CDma { fd: 9, offset: 64 },
        };
        let d = r.descriptors(sc, &[h]).unwrap();
        assert_eq!(
            (d[0].fd, d[0].ptr, d[0].length, d[0].attr),
            (9, 64, 4096, 2 | FASTRPC_ATTR_NOVA)
        );
        let d = r.descriptors(sc, &[h]).unwrap();
        assert_eq!(d[0].length, 0, "consumed by the first invoke");
    }
}

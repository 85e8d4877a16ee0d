//! A user PD on the DSP, the modules opened in it, and their calls.

use std::sync::Arc;

use qda_ioctl as spec;
use qda_proto::bodies::{RemotectlCloseIn, RemotectlOpenIn, RemotectlOpenOut};
use qda_uapi::aee::AeeCode;
use qda_uapi::fastrpc::{self as uf, FastrpcInvokeArgs};
use qda_uapi::qda::*;
use zerocopy::IntoBytes;

use crate::buffer::Buffer;
use crate::error::{Error, dsp_result, dsp_result_of};
use crate::os::Lent;
use crate::shared::{Inner, Uapi};

/// Session options.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOptions {
    /// Run unsigned modules (`FASTRPC_MODE_UNSIGNED_MODULE`).
    pub unsigned: bool,
}

/// A user PD on the DSP.
#[derive(Debug, Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

impl Session {
    /// Poll mode for this session's file (`None`: sleep mode, the
    /// default). Its calls to modules first spin for at most `budget` on
    /// their completion, then sleep. On the accel node this is qda's
    /// `DRM_IOCTL_QDA_SET_POLL` extension with the budget in µs (at most
    /// 10 ms, else `EINVAL`; a kernel answers `EINVAL`); on a legacy node the
    /// proposed `SET_OPTION` poll option, which carries no time: the driver
    /// spins for its own default.
    pub fn set_poll(&self, budget: Option<std::time::Duration>) -> Result<(), Error> {
        match self.inner.uapi {
            Uapi::Qda => {
                let us = budget.map_or(0, |b| b.as_micros().clamp(1, u128::from(u32::MAX)) as u32);
                let mut p = DrmQdaSetPoll {
                    budget_us: us,
                    flags: 0,
                };
                self.inner.call::<spec::DrmIoctlQdaSetPoll>(&mut p)?;
            }
            Uapi::Fastrpc => {
                let mut o = uf::FastrpcIoctlSetOption {
                    req: uf::FASTRPC_POLL_MODE,
                    value: u32::from(budget.is_some()),
                    reserved: [0; 6],
                };
                self.inner.call::<spec::FastrpcIoctlSetOptionCmd>(&mut o)?;
            }
        }
        Ok(())
    }

    /// Open a module by URI (`remotectl1 open1`).
    pub fn open(&self, uri: &str) -> Result<RemoteHandle, Error> {
        let mut name = uri.as_bytes().to_vec();
        name.push(0);
        let inp = RemotectlOpenIn {
            name_len: name.len() as u32,
            dlerr_len: 255,
        };
        let mut out = RemotectlOpenOut::default();
        let mut err = [0u8; 255];
        let mut args = [
            raw_arg(inp.as_bytes().as_ptr(), 8),
            raw_arg(name.as_ptr(), name.len()),
            raw_arg(out.as_mut_bytes().as_mut_ptr(), 8),
            raw_arg(err.as_mut_ptr(), err.len()),
        ];
        let r = self
            .inner
            .invoke(8, 0x0202_0200, &mut args, Lent::new(), "remotectl open")?;
        dsp_result("remotectl open", r)?;
        if out.dlerr != 0 {
            let text = String::from_utf8_lossy(err.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
            return Err(Error::Module {
                uri: uri.into(),
                code: AeeCode(out.dlerr),
                text,
            });
        }
        Ok(RemoteHandle {
            inner: self.inner.clone(),
            handle: out.handle,
        })
    }
}

impl Session {
    /// Map a buffer into the PD persistently (`REMOTE_MAP`, ATTR request);
    /// unmapped when the returned value drops.
    pub fn map<'b>(&self, buf: &'b Buffer) -> Result<RemoteMap<'b>, Error> {
        let fd = buf.dsp_ref()?;
        let vaddr = match self.inner.uapi {
            Uapi::Qda => {
                let mut m = DrmQdaMemMap {
                    request: QDA_MAP_REQUEST_ATTR,
                    fd,
                    size: buf.size as u64,
                    ..Default::default()
                };
                self.inner.call::<spec::DrmIoctlQdaRemoteMap>(&mut m)?;
                m.vaddrout
            }
            Uapi::Fastrpc => {
                // No address hint: the DSP picks the address, as for QDA.
                let mut m = uf::FastrpcMemMap {
                    fd,
                    length: buf.size as u64,
                    ..Default::default()
                };
                self.inner.call::<spec::FastrpcIoctlMemMap>(&mut m)?;
                m.vaddrout
            }
        };
        Ok(RemoteMap {
            inner: self.inner.clone(),
            buf,
            vaddr,
        })
    }
}

/// A buffer mapped into the PD; unmapped on drop.
#[derive(Debug)]
pub struct RemoteMap<'b> {
    pub(crate) inner: Arc<Inner>,
    buf: &'b Buffer,
    vaddr: u64,
}

impl RemoteMap<'_> {
    /// The DSP virtual address.
    pub fn vaddr(&self) -> u64 {
        self.vaddr
    }
}

impl Drop for RemoteMap<'_> {
    fn drop(&mut self) {
        if let Ok(fd) = self.buf.dsp_ref() {
            match self.inner.uapi {
                Uapi::Qda => {
                    let mut u = DrmQdaMemUnmap {
                        request: QDA_MUNMAP_REQUEST_ATTR,
                        fd,
                        vaddr: self.vaddr,
                        vaddrout: 0,
                        size: self.buf.size as u64,
                    };
                    let _ = self.inner.call::<spec::DrmIoctlQdaRemoteMunmap>(&mut u);
                }
                Uapi::Fastrpc => {
                    let mut u = uf::FastrpcMemUnmap {
                        fd,
                        vaddr: self.vaddr,
                        length: self.buf.size as u64,
                        ..Default::default()
                    };
                    let _ = self.inner.call::<spec::FastrpcIoctlMemUnmap>(&mut u);
                }
            }
        }
    }
}

fn raw_arg(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd: -1,
        attr: 0,
    }
}

/// A module opened on the DSP.
#[derive(Debug)]
pub struct RemoteHandle {
    pub(crate) inner: Arc<Inner>,
    handle: u32,
}

/// One invoke argument. Buffers come first (inputs, then outputs), as
/// FastRPC orders them.
#[derive(Debug)]
pub enum Arg<'a> {
    /// Input bytes, copied through the payload.
    In(&'a [u8]),
    /// Output bytes, copied back.
    Out(&'a mut [u8]),
    /// Input from a buffer, by reference (no copy).
    BufIn(&'a Buffer, usize, usize),
    /// Output into a buffer, by reference (no copy).
    BufOut(&'a Buffer, usize, usize),
}

impl<'a> Arg<'a> {
    /// Bytes `offset..offset+len` of `buf` as an input.
    pub fn buf_in(buf: &'a Buffer, offset: usize, len: usize) -> Arg<'a> {
        Arg::BufIn(buf, offset, len)
    }
    /// Bytes `offset..offset+len` of `buf` as an output.
    pub fn buf_out(buf: &'a Buffer, offset: usize, len: usize) -> Arg<'a> {
        Arg::BufOut(buf, offset, len)
    }
    fn is_input(&self) -> bool {
        matches!(self, Arg::In(_) | Arg::BufIn(..))
    }
}

impl RemoteHandle {
    /// The DSP's handle.
    pub fn raw(&self) -> u32 {
        self.handle
    }

    /// Call method `method` (2..=31) with `args`.
    pub fn invoke(&self, method: u8, args: &mut [Arg<'_>]) -> Result<(), Error> {
        if !(2..=31).contains(&method) {
            return Err(Error::Usage(format!(
                "method {method}: methods 0 and 1 are open and close; user methods are 2..=31"
            )));
        }
        let nin = args.iter().take_while(|a| a.is_input()).count();
        if let Some(i) = args[nin..].iter().position(|a| a.is_input()) {
            return Err(Error::Arg {
                index: nin + i,
                why: "an input after an output: inputs come first".into(),
            });
        }
        let nout = args.len() - nin;
        if nin > 255 || nout > 255 {
            return Err(Error::Usage(format!(
                "{nin} inputs and {nout} outputs: at most 255 of each"
            )));
        }
        let mut raw = Vec::with_capacity(args.len());
        for (i, a) in args.iter_mut().enumerate() {
            raw.push(match a {
                Arg::In(b) => raw_arg(b.as_ptr(), b.len()),
                Arg::Out(b) => raw_arg(b.as_mut_ptr(), b.len()),
                Arg::BufIn(buf, off, len) | Arg::BufOut(buf, off, len) => {
                    if off.checked_add(*len).is_none_or(|e| e > buf.size) {
                        return Err(Error::Arg {
                            index: i,
                            why: format!("{len} bytes at {off} exceed the {}-byte buffer", buf.size),
                        });
                    }
                    let fd = buf.dsp_ref()?;
                    FastrpcInvokeArgs {
                        ptr: buf.map.addr() + *off as u64,
                        length: *len as u64,
                        fd,
                        attr: 0,
                    }
                }
            });
        }
        let sc = qda_proto::Scalars::make(method, nin as u8, nout as u8).0;
        // The inline buffers are this call's slices: lent, so the driver
        // copies them without a checked copy (`Lent`).
        let mut data = Lent::with_capacity(args.len() + 2);
        for a in args.iter_mut() {
            match a {
                Arg::In(b) => data.read_only(b),
                Arg::Out(b) => data.read_write(b),
                Arg::BufIn(..) | Arg::BufOut(..) => {}
            }
        }
        let r = self.inner.invoke(self.handle, sc, &mut raw, data, "REMOTE_INVOKE")?;
        dsp_result_of(|| format!("method {method}"), r)
    }
}

impl Drop for RemoteHandle {
    fn drop(&mut self) {
        let inp = RemotectlCloseIn {
            handle: self.handle,
            dlerr_len: 64,
        };
        let mut dlerr = 0u32;
        let mut text = [0u8; 64];
        let mut args = [
            raw_arg(inp.as_bytes().as_ptr(), 8),
            raw_arg(dlerr.as_mut_bytes().as_mut_ptr(), 4),
            raw_arg(text.as_mut_ptr(), 64),
        ];
        let _ = self
            .inner
            .invoke(8, 0x0301_0200, &mut args, Lent::new(), "remotectl close");
    }
}

//! Modules open in a process, behind one trait: a C skel loaded in this
//! process (thread PDs), a Rust skel registered with the DSP, a skel loaded
//! in a PD process.

/// The longest a DSP thread spins for its PD's answer in poll mode: its
/// caller spins too, and with the PD host that is three spinning threads
/// for two CPUs here; past this the DSP thread sleeps and the caller keeps
/// spinning.
const PD_HOP_SPIN: std::time::Duration = std::time::Duration::from_micros(20);

thread_local! {
    /// The poll budget of the call this DSP thread runs (`None`: sleep mode).
    static POLL: std::cell::Cell<Option<std::time::Duration>> = const { std::cell::Cell::new(None) };
}

/// Set by the DSP thread around each call: the caller's poll budget.
pub(crate) fn set_current_poll(poll: Option<std::time::Duration>) {
    POLL.with(|p| p.set(poll));
}

/// The poll budget of the call the current DSP thread runs: a PD process's
/// hop waits the way its caller does.
fn current_poll() -> Option<std::time::Duration> {
    POLL.with(|p| p.get())
}

use std::sync::Arc;

use qda_proto::Scalars;

use crate::aee;
use crate::error::{DspError, DspResult};
use crate::fdtable::{self, FdBuffer, FdTable};
use crate::loader::{self, LoadedSkel};
use crate::memory::ArgMap;
use crate::pd::{PdArg, PdProcess};
use crate::skel::{self, Skel};

/// The scalars of method 1 (close): one 64-bit handle in.
pub(crate) fn close_sc() -> u32 {
    Scalars::makex(0, 1, 0, 0, 1, 0).0
}

/// A module open in a process.
pub(crate) trait OpenModule: Send + Sync + std::fmt::Debug {
    /// Call method `sc.method()` with the call's buffer arguments; a skel's
    /// non-zero return is the error's code.
    fn invoke(&self, sc: Scalars, args: &[ArgMap]) -> DspResult;
    /// Close the module: the error code a remotectl close reports (0: done).
    fn close(&self) -> i32;
}

/// What a skel's return value means for the call.
fn skel_result(retval: i32, what: &dyn std::fmt::Display) -> DspResult {
    match retval {
        0 => Ok(()),
        r => Err(DspError::new(r, format!("{what} returned {r:#x}"))),
    }
}

/// A C skel loaded in this process, called with pointers into the DSP's
/// mappings of the arguments.
#[derive(Debug)]
pub(crate) struct LocalSkel {
    /// The loaded entry point.
    pub skel: Arc<LoadedSkel>,
    /// What the skel's open returned.
    pub handle: u64,
    /// The PD's buffers by fd (what `HAP_mmap_get` finds).
    pub fds: Arc<FdTable>,
}

/// The `remote_arg` of each argument: buffers as pointers into the DSP's
/// mappings, handles as `{fd, offset, len}`; and the buffers handles pass,
/// for the PD's fd table.
fn local_args(args: &[ArgMap]) -> DspResult<(Vec<loader::RemoteArg>, Vec<FdBuffer>)> {
    let mut bufs = Vec::new();
    let mut pra = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        pra.push(match a.dma {
            Some(d) => {
                if !a.runs.is_empty() {
                    let (addr, keep) = (a.ptr(), a.keep());
                    let keep = keep.filter(|_| !addr.is_null()).ok_or_else(|| {
                        DspError::new(
                            aee::EMMAP,
                            format!("handle argument {i} (fd {}) could not be mapped", d.fd),
                        )
                    })?;
                    bufs.push(FdBuffer {
                        fd: d.fd,
                        addr,
                        len: a.len,
                        dsp_addr: d.dsp_addr,
                        keep,
                    });
                }
                loader::dma(d.fd, d.offset, d.len)
            }
            None => loader::buf(a.ptr(), a.len),
        });
    }
    Ok((pra, bufs))
}

impl OpenModule for LocalSkel {
    fn invoke(&self, sc: Scalars, args: &[ArgMap]) -> DspResult {
        let (mut pra, bufs) = local_args(args)?;
        // The call's handles are the PD's for the call (and past it, for
        // those the skel gets and has not put).
        let _call = self.fds.register(bufs);
        let _pd = fdtable::enter(self.fds.clone());
        skel_result(self.skel.call(self.handle, sc.0, &mut pra), &self.skel.symbol)
    }

    fn close(&self) -> i32 {
        let mut pra = [loader::h64(self.handle)];
        self.skel.call(self.handle, close_sc(), &mut pra);
        0
    }
}

/// A Rust skel, given copies of the inputs; its outputs are written back.
#[derive(Debug)]
pub(crate) struct RustSkel {
    /// The skel.
    pub skel: Arc<dyn Skel>,
    /// What its open returned.
    pub handle: u64,
}

impl OpenModule for RustSkel {
    fn invoke(&self, sc: Scalars, args: &[ArgMap]) -> DspResult {
        let nbufs = sc.nbufs().min(args.len());
        let nin = (sc.inbufs() as usize).min(nbufs);
        let mut a = skel::Args {
            inputs: args[..nin].iter().map(|a| a.read()).collect(),
            outputs: args[nin..nbufs].iter().map(|a| vec![0u8; a.len]).collect(),
            handles: args[nbufs..]
                .iter()
                .filter_map(|m| {
                    m.dma.map(|d| skel::Handle {
                        fd: d.fd,
                        offset: d.offset,
                        len: d.len,
                        data: m.read(),
                    })
                })
                .collect(),
        };
        let r = self.skel.invoke(self.handle, sc, &mut a);
        for (o, m) in a.outputs.iter().zip(&args[nin..nbufs]) {
            m.write(o);
        }
        // Output handles: what the skel left in the buffer goes back to it.
        let nin_h = sc.in_handles() as usize;
        for (h, m) in a.handles.iter().zip(&args[nbufs..]).skip(nin_h) {
            m.write(&h.data);
        }
        skel_result(r, &format_args!("Rust skel {:?}", self.skel))
    }

    fn close(&self) -> i32 {
        self.skel.close(self.handle)
    }
}

/// A skel loaded in a PD process: the call goes there with the translated
/// runs of its arguments.
#[derive(Debug)]
pub(crate) struct PdModule {
    /// The PD.
    pub host: Arc<PdProcess>,
    /// The skel's index in the PD.
    pub ix: u32,
    /// What the skel's open returned.
    pub handle: u64,
}

impl OpenModule for PdModule {
    fn invoke(&self, sc: Scalars, args: &[ArgMap]) -> DspResult {
        let pargs: Vec<PdArg<'_>> = args
            .iter()
            .map(|a| match a.dma {
                Some(d) => PdArg::Dma {
                    fd: d.fd,
                    offset: d.offset,
                    len: d.len,
                    dsp_addr: d.dsp_addr,
                    runs: &a.runs,
                    size: a.len as u64,
                },
                None => PdArg::Buffer(&a.runs, a.len as u64),
            })
            .collect();
        match self.host.invoke_polled(
            self.ix,
            self.handle,
            sc.0,
            &pargs,
            current_poll().map(|b| b.min(PD_HOP_SPIN)),
        ) {
            Ok(r) => skel_result(
                r.retval,
                &format_args!("skel {} in PD pid {}", self.ix, self.host.pid()),
            ),
            Err(crash) => Err(DspError::new(aee::ECPUEXCEPTION, crash)),
        }
    }

    fn close(&self) -> i32 {
        self.host
            .invoke(self.ix, self.handle, close_sc(), &[PdArg::Handle(self.handle)])
            .map_or(aee::ECPUEXCEPTION, |_| 0)
    }
}

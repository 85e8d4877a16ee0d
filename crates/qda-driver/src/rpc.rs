//! A file's FastRPC state and the call path every FastRPC operation
//! shares: pack the payload in the caller's CB, send it on the channel,
//! wait, unpack. Below the file ([`crate::file`]) so that closing a file can
//! release its DSP session; the ioctls that use it are in [`crate::invoke`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use qda_proto::bodies::Call;
use qda_proto::{ArgDesc, FastrpcMsg, PdType, Plan, Scalars};

use crate::dmabuf::DmaBuf;
use crate::domain::DspDomain;
use crate::errno::Result;
use crate::fastrpc::KERNEL_CALL_TIMEOUT;
use crate::mem::Backing;
use crate::smmu::{ContextBank, IovaMapping};
use crate::sys::{self, Mapping};

/// A `MEM_MAP` the DSP made for this file.
#[derive(Debug)]
pub(crate) struct MemMap {
    /// The DSP's virtual address of the mapping.
    pub(crate) raddr: u64,
    /// The user's fd of the buffer.
    pub(crate) fd: i32,
    /// Bytes mapped.
    pub(crate) len: u64,
    /// The buffer, held while mapped.
    pub(crate) _buf: Arc<DmaBuf>,
}

/// A dma-buf mapped into the file's CB for invokes (kept by dma-buf id).
#[derive(Debug)]
pub(crate) struct InvokeMap {
    /// The buffer.
    pub(crate) buf: Arc<DmaBuf>,
    /// Its mapping in the caller's CB.
    pub(crate) map: Arc<IovaMapping>,
}

/// Supplies inline input `i`.
pub(crate) type Fill<'a> = dyn FnMut(usize, &mut [u8]) -> Result<(), qda_proto::ProtoError> + 'a;
/// Receives inline output `i`.
pub(crate) type Sink<'a> = dyn FnMut(usize, &[u8]) -> Result<(), qda_proto::ProtoError> + 'a;

/// A file's FastRPC state.
#[derive(Debug, Default)]
pub struct RpcState {
    pd: AtomicU8,
    pub(crate) init_mem: Mutex<Option<(Arc<Backing>, IovaMapping)>>,
    pub(crate) maps: Mutex<HashMap<u64, InvokeMap>>,
    pub(crate) mmaps: Mutex<Vec<MmapBuf>>,
    pub(crate) mem_maps: Mutex<Vec<MemMap>>,
    /// Timeout for user calls (`None`: wait for ever, as the kernel).
    pub user_timeout: OptDuration,
    /// Poll mode: the spin budget of user calls to dynamic handles (`None`:
    /// sleep mode). Set by `SET_OPTION` (legacy) or `QDA_SET_POLL` (accel).
    pub poll: OptDuration,
    /// Payload buffers kept between calls (see [`Payload`]).
    payloads: Mutex<Vec<Payload>>,
}

pub use crate::sync::OptDuration;

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
    pub(crate) fn set_pd(&self, pd: PdType) {
        self.pd.store(pd as u8, Ordering::Release);
    }
}

/// What a call on a file needs: its domain, its CB, its client id and its
/// FastRPC state.
pub(crate) struct Ctx<'a> {
    pub(crate) domain: &'a Arc<DspDomain>,
    pub(crate) cb: Arc<ContextBank>,
    pub(crate) client_id: i32,
    pub(crate) rpc: &'a RpcState,
    /// An accel file (QDA), not a legacy fastrpc one.
    pub(crate) qda: bool,
}

fn current_tid() -> i32 {
    qda_os::self_tid()
}

/// Pack, send, wait, unpack. `fill(i, dst)` supplies inline input `i`;
/// `sink(i, bytes)` receives inline output `i`.
pub(crate) fn remote_call(
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
    // shows through an output the DSP does not write. `Plan::write` zeroes
    // the packet but its inputs (which it fills); the page's tail is ours.
    if let Some(tail) = buf.get_mut(plan.pkt_size() as usize..) {
        tail.fill(0);
    }
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
        c.rpc.user_timeout.get()
    };
    let tracer = c.domain.channel.tracer();
    let start = tracer.as_ref().map(|_| std::time::Instant::now());
    // Poll mode covers user calls to dynamic handles, as proposed (handles
    // at or below the kernel's static range always sleep).
    let poll = if kernel || handle <= qda_proto::handles::MAX_KERNEL_STATIC_HANDLE {
        None
    } else {
        c.rpc.poll.get()
    };
    let r = c.domain.channel.call_polled(msg, c.rpc.pd(), timeout, poll);
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
pub(crate) fn kernel_call(c: &Ctx<'_>, call: &Call) -> Result<(i32, Vec<Vec<u8>>)> {
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
/// them).
pub(crate) fn release_session(c: &Ctx<'_>) {
    if c.domain.channel.is_up() && !c.domain.is_removed() {
        let _ = kernel_call(c, &Call::init_release(c.client_id));
    }
}

/// A legacy `FASTRPC_IOCTL_MMAP` buffer: kernel-allocated pages the DSP mapped.
#[derive(Debug)]
pub(crate) struct MmapBuf {
    pub(crate) raddr: u64,
    pub(crate) size: u64,
    pub(crate) _backing: Arc<Backing>,
    pub(crate) _map: IovaMapping,
}

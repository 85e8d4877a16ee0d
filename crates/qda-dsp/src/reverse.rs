//! Reverse RPC: calls from the DSP to its client process, delivered through
//! the process's listener (handles 3 and 7, `docs/FASTRPC.md` "Reverse
//! RPC").
//!
//! Each PD has one [`Reverse`]: a queue of requests `(handle, sc, input
//! buffers, output lengths)` for its client. The client's listener thread
//! registers with `init2`, then calls `next2`, which blocks here until a
//! request is queued and returns it encoded as `listener_buf.h` says
//! ([`qda_proto::revbuf`]; the rest by `get_in_bufs2` when its buffer is
//! too small). The reply arrives with the next `next2` (`prevCtx`,
//! `prevResult`, `prevbufs`); it is decoded and each output checked against
//! the length asked for, so a hostile reply cannot overflow the caller.
//!
//! A call fails at once with `AEE_ENOTINITIALIZED` when no listener
//! registered, with `AEE_EEXPIRED` when no reply comes within the timeout
//! (`QDA_DSP_REVERSE_TIMEOUT_MS`, default 10 s), and with `AEE_EBADSTATE`
//! when the process exits; exit also ends the listener's `next2` with
//! `AEE_EBADSTATE`.
//!
//! Code on the DSP reaches its PD's queue through [`current`] (set for the
//! length of a module call) or [`DspProcess::rev`](crate::process::DspProcess).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use qda_proto::{Scalars, revbuf};
use qda_rt::{lock, wait, wait_timeout};
use qda_uapi::aee::AeeCode;

use crate::aee;
use crate::error::{DspError, DspResult};

/// The most bytes one reverse request may carry.
pub(crate) const MAX_REQUEST: usize = 16 << 20;
/// The most requests queued or in flight for one PD.
pub(crate) const MAX_PENDING: usize = 64;

/// `AEE_ENOTINITIALIZED`, DSP form: no listener registered.
pub(crate) fn enotinitialized() -> i32 {
    AeeCode::ENOTINITIALIZED.to_dsp().as_i32()
}
/// `AEE_EEXPIRED`, DSP form: no reply in time.
pub(crate) fn eexpired() -> i32 {
    AeeCode::EEXPIRED.to_dsp().as_i32()
}
/// `AEE_EBADSIZE`, DSP form: a reply longer than asked.
pub(crate) fn ebadsize() -> i32 {
    AeeCode::EBADSIZE.to_dsp().as_i32()
}

/// How long a reverse call waits for its reply.
fn timeout() -> Duration {
    static T: OnceLock<Duration> = OnceLock::new();
    *T.get_or_init(|| {
        let ms = std::env::var("QDA_DSP_REVERSE_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(10_000);
        Duration::from_millis(ms.clamp(1, 600_000))
    })
}

#[derive(Debug)]
struct Pending {
    handle: u32,
    sc: u32,
    req: Vec<u8>,
    out_lens: Vec<u32>,
    delivered: bool,
    done: Option<DspResult<Vec<Vec<u8>>>>,
}

#[derive(Debug, Default)]
struct St {
    listeners: u32,
    closed: bool,
    next_ctx: u32,
    queue: VecDeque<u32>,
    calls: HashMap<u32, Pending>,
    apps_std: Option<u32>,
}

/// One request handed to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Its context (never 0).
    pub ctx: u32,
    /// The CPU-side handle it targets.
    pub handle: u32,
    /// Its scalars.
    pub sc: u32,
    /// The whole request's length (`bufsLenReq`).
    pub len: u32,
    /// Its first bytes, as many as the listener's buffer holds.
    pub head: Vec<u8>,
}

/// A PD's reverse-call queue.
#[derive(Debug, Default)]
pub(crate) struct Reverse {
    st: Mutex<St>,
    cv: Condvar,
}

impl Reverse {
    /// A listener registered (`init2`).
    pub fn listen(&self) {
        lock(&self.st).listeners += 1;
    }

    /// Whether a listener registered and the process still runs.
    pub fn is_listening(&self) -> bool {
        let st = lock(&self.st);
        st.listeners > 0 && !st.closed
    }

    /// The process exits: calls waiting fail, listeners wake.
    pub fn close(&self) {
        let mut st = lock(&self.st);
        st.closed = true;
        st.queue.clear();
        for c in st.calls.values_mut() {
            if c.done.is_none() {
                c.done = Some(Err(DspError::new(aee::EBADSTATE, "reverse call: the process exited")));
            }
        }
        drop(st);
        self.cv.notify_all();
    }

    /// Call CPU-side `handle` with `sc`'s `ins` and outputs of `out_lens`
    /// bytes: the outputs (each at most as long as asked).
    pub fn call(&self, handle: u32, sc: Scalars, ins: &[&[u8]], out_lens: &[u32]) -> DspResult<Vec<Vec<u8>>> {
        self.call_timeout(handle, sc, ins, out_lens, timeout())
    }

    fn call_timeout(
        &self,
        handle: u32,
        sc: Scalars,
        ins: &[&[u8]],
        out_lens: &[u32],
        limit: Duration,
    ) -> DspResult<Vec<Vec<u8>>> {
        if sc.nhandles() != 0 {
            return Err(DspError::new(aee::EBADPARM, "reverse call: handles cannot be passed"));
        }
        if ins.len() != sc.inbufs() as usize || out_lens.len() != sc.outbufs() as usize {
            return Err(DspError::new(
                aee::EBADPARM,
                format!("reverse call: scalars {:#x} do not match the arguments", sc.0),
            ));
        }
        let req = revbuf::encode_request(ins, out_lens)
            .map_err(|e| DspError::new(aee::EBADPARM, format!("reverse call: {e}")))?;
        if req.len() > MAX_REQUEST {
            return Err(DspError::new(ebadsize(), "reverse call: request too large"));
        }
        let mut st = lock(&self.st);
        if st.closed {
            return Err(DspError::new(aee::EBADSTATE, "reverse call: the process exited"));
        }
        if st.listeners == 0 {
            return Err(DspError::new(
                enotinitialized(),
                "reverse call: the client process has no listener",
            ));
        }
        if st.calls.len() >= MAX_PENDING {
            return Err(DspError::new(aee::EFAILED, "reverse call: too many calls pending"));
        }
        let ctx = loop {
            st.next_ctx = st.next_ctx.wrapping_add(1);
            let c = st.next_ctx;
            if c != 0 && !st.calls.contains_key(&c) {
                break c;
            }
        };
        st.calls.insert(
            ctx,
            Pending {
                handle,
                sc: sc.0,
                req,
                out_lens: out_lens.to_vec(),
                delivered: false,
                done: None,
            },
        );
        st.queue.push_back(ctx);
        self.cv.notify_all();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(done) = st.calls.get_mut(&ctx).and_then(|c| c.done.take()) {
                st.calls.remove(&ctx);
                return done;
            }
            let now = Instant::now();
            if now >= deadline {
                st.calls.remove(&ctx);
                st.queue.retain(|c| *c != ctx);
                return Err(DspError::new(
                    eexpired(),
                    format!("reverse call to handle {handle:#x}: no reply in {limit:?}"),
                ));
            }
            st = wait_timeout(&self.cv, st, deadline - now).0;
        }
    }

    /// The listener's `next2`: answer `prev` (`prevCtx`, `prevResult`,
    /// `prevbufs`; context 0 answers nothing), then block for the next
    /// request; `cap` is the listener's buffer.
    pub fn next(&self, prev_ctx: u32, prev_result: i32, prevbufs: &[u8], cap: usize) -> DspResult<Delivered> {
        let mut st = lock(&self.st);
        if prev_ctx != 0
            && let Some(c) = st.calls.get_mut(&prev_ctx)
            && c.delivered
            && c.done.is_none()
        {
            c.done = Some(reply(prev_result, prevbufs, &c.out_lens));
            self.cv.notify_all();
        }
        loop {
            if st.closed {
                return Err(DspError::new(aee::EBADSTATE, "listener: the process exited"));
            }
            if let Some(ctx) = st.queue.pop_front() {
                let Some(c) = st.calls.get_mut(&ctx) else {
                    continue;
                };
                c.delivered = true;
                return Ok(Delivered {
                    ctx,
                    handle: c.handle,
                    sc: c.sc,
                    len: c.req.len() as u32,
                    head: c.req[..c.req.len().min(cap)].to_vec(),
                });
            }
            st = wait(&self.cv, st);
        }
    }

    /// The listener's `get_in_bufs2`: bytes of request `ctx` from `offset`,
    /// at most `cap`; and the request's whole length.
    pub fn get_in_bufs(&self, ctx: u32, offset: u32, cap: usize) -> DspResult<(u32, Vec<u8>)> {
        let st = lock(&self.st);
        let c = st
            .calls
            .get(&ctx)
            .filter(|c| c.delivered && c.done.is_none())
            .ok_or_else(|| DspError::new(aee::EBADPARM, format!("get_in_bufs2: no request {ctx}")))?;
        let start = (offset as usize).min(c.req.len());
        let end = start.saturating_add(cap).min(c.req.len());
        Ok((c.req.len() as u32, c.req[start..end].to_vec()))
    }

    /// The CPU-side handle of `apps_std`, opened once through
    /// `apps_remotectl` (const handle 0).
    pub fn apps_std(&self) -> DspResult<u32> {
        if let Some(h) = lock(&self.st).apps_std {
            return Ok(h);
        }
        let h = self.remotectl_open("apps_std")?;
        lock(&self.st).apps_std = Some(h);
        Ok(h)
    }

    /// `apps_remotectl_open(name, &handle, dlerror, dlerrorLen, &nErr)`
    /// (`inc/apps_remotectl.h`, `src/apps_remotectl_skel.c` @ 29851fde:
    /// method 0; in0 `u32 {nameLen, dlerrorLen}`, in1 name with its NUL;
    /// out0 `i32 {handle, nErr}`, out1 dlerror).
    pub fn remotectl_open(&self, name: &str) -> DspResult<u32> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let mut prim = Vec::with_capacity(8);
        prim.extend_from_slice(&(n.len() as u32).to_le_bytes());
        prim.extend_from_slice(&128u32.to_le_bytes());
        let out = self.call(0, Scalars::make(0, 2, 2), &[&prim, &n], &[8, 128])?;
        let r = word(&out[0], 0);
        let err = word(&out[0], 4);
        if err != 0 {
            return Err(DspError::new(
                err as i32,
                format!("apps_remotectl_open({name}): {:#x}", err),
            ));
        }
        Ok(r)
    }
}

/// A little-endian `u32` at `at` of `b` (0 past its end).
pub(crate) fn word(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A reply as the caller gets it: the CPU's error, or outputs no longer
/// than asked.
fn reply(result: i32, prevbufs: &[u8], out_lens: &[u32]) -> DspResult<Vec<Vec<u8>>> {
    if result != 0 {
        return Err(DspError::new(
            result,
            format!("reverse call: the CPU answered {result:#x}"),
        ));
    }
    let outs = revbuf::decode_reply(prevbufs, out_lens.len())
        .map_err(|e| DspError::new(aee::EBADPARM, format!("reverse reply: {e}")))?;
    for (i, (o, want)) in outs.iter().zip(out_lens).enumerate() {
        if o.len() > *want as usize {
            return Err(DspError::new(
                ebadsize(),
                format!("reverse reply: output {i} is {} bytes, {want} were asked", o.len()),
            ));
        }
    }
    Ok(outs.into_iter().map(<[u8]>::to_vec).collect())
}

/// A PD host's way to the DSP for its reverse calls (`crate::pd_wire`
/// `STATUS_REVERSE` out, `KIND_REVERSE_REPLY` back).
#[derive(Debug)]
struct HostRev {
    out: Arc<Mutex<std::os::unix::net::UnixStream>>,
    done: Mutex<HashMap<u64, Option<HostAnswer>>>,
    cv: Condvar,
    next: std::sync::atomic::AtomicU64,
}

/// A reverse call's answer as the DSP sent it: status, reply bytes.
type HostAnswer = (i32, Vec<u8>);

static HOST: OnceLock<HostRev> = OnceLock::new();

/// This process is a PD host: its reverse calls go to the DSP over `out`.
pub(crate) fn set_host(out: Arc<Mutex<std::os::unix::net::UnixStream>>) {
    let _ = HOST.set(HostRev {
        out,
        done: Mutex::default(),
        cv: Condvar::new(),
        next: std::sync::atomic::AtomicU64::new(1),
    });
}

/// The DSP answered this host's reverse call `id`.
pub(crate) fn host_reply(id: u64, status: i32, reply: &[u8]) {
    let Some(h) = HOST.get() else {
        return;
    };
    let mut done = lock(&h.done);
    if let Some(slot) = done.get_mut(&id) {
        *slot = Some((status, reply.to_vec()));
        h.cv.notify_all();
    }
}

fn host_call(h: &HostRev, handle: u32, sc: Scalars, ins: &[&[u8]], out_lens: &[u32]) -> DspResult<Vec<Vec<u8>>> {
    let req = revbuf::encode_request(ins, out_lens)
        .map_err(|e| DspError::new(aee::EBADPARM, format!("reverse call: {e}")))?;
    if req.len() > MAX_REQUEST {
        return Err(DspError::new(ebadsize(), "reverse call: request too large"));
    }
    let id = h.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    lock(&h.done).insert(id, None);
    let frame = crate::pd_wire::encode_reverse(id, handle, sc.0, &req);
    if crate::pd_wire::send_frame(&lock(&h.out), &frame, &[]).is_err() {
        lock(&h.done).remove(&id);
        return Err(DspError::new(aee::EBADSTATE, "reverse call: the DSP is gone"));
    }
    // The DSP's own wait is bounded; this one a little longer.
    let limit = timeout() + Duration::from_secs(5);
    let deadline = Instant::now() + limit;
    let mut done = lock(&h.done);
    loop {
        if let Some(Some(_)) = done.get(&id) {
            let (status, bytes) = done.remove(&id).flatten().unwrap_or((aee::EFAILED, Vec::new()));
            return reply(status, &bytes, out_lens);
        }
        let now = Instant::now();
        if now >= deadline {
            done.remove(&id);
            return Err(DspError::new(eexpired(), "reverse call: no answer from the DSP"));
        }
        done = wait_timeout(&h.cv, done, deadline - now).0;
    }
}

/// A reverse call from code on this thread: through its PD's queue (a
/// thread PD), or through the DSP (a PD host); `AEE_ENOTINITIALIZED` when
/// neither.
pub(crate) fn call_current(handle: u32, sc: Scalars, ins: &[&[u8]], out_lens: &[u32]) -> DspResult<Vec<Vec<u8>>> {
    if sc.nhandles() != 0 {
        return Err(DspError::new(aee::EBADPARM, "reverse call: handles cannot be passed"));
    }
    if ins.len() != sc.inbufs() as usize || out_lens.len() != sc.outbufs() as usize {
        return Err(DspError::new(
            aee::EBADPARM,
            "reverse call: scalars do not match the arguments",
        ));
    }
    if let Some(r) = current() {
        return r.call(handle, sc, ins, out_lens);
    }
    match HOST.get() {
        Some(h) => host_call(h, handle, sc, ins, out_lens),
        None => Err(DspError::new(enotinitialized(), "reverse call: not in a PD")),
    }
}

thread_local! {
    /// The queue of the PD whose module this thread runs.
    static CURRENT: RefCell<Option<Arc<Reverse>>> = const { RefCell::new(None) };
}

/// The reverse queue a runtime call on this thread reaches.
pub(crate) fn current() -> Option<Arc<Reverse>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Make `r` this thread's queue until the guard drops.
pub(crate) fn enter(r: Arc<Reverse>) -> Entered {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(r));
    Entered { prev }
}

/// Restores the thread's previous queue.
#[derive(Debug)]
pub(crate) struct Entered {
    prev: Option<Arc<Reverse>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// `apps_std_print_string(str)` (method 15; in0 `u32 len`, in1 the string
/// with its NUL) to the listener of this thread's PD: whether it went.
pub(crate) fn print_string(text: &str) -> bool {
    let Some(r) = current() else {
        return false;
    };
    if !r.is_listening() {
        return false;
    }
    let Ok(h) = r.apps_std() else {
        return false;
    };
    let mut s = text.as_bytes().to_vec();
    s.push(0);
    let len = (s.len() as u32).to_le_bytes();
    r.call(h, Scalars::make(15, 2, 0), &[&len, &s], &[]).is_ok()
}

/// The bytes of library `name`, read through the client's `apps_std`:
/// `fopen_with_env("DSP_LIBRARY_PATH", ";", name, "r")`, `flen`, `fread`
/// until the end, `fclose` (method ids and layouts: `inc/apps_std.h`,
/// `src/apps_std_skel.c` @ 29851fde).
pub(crate) fn fetch_library(r: &Reverse, name: &str, max: u64) -> DspResult<Vec<u8>> {
    let h = r.apps_std()?;
    let cstr = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    };
    let (env, delim, file, mode) = (cstr("DSP_LIBRARY_PATH"), cstr(";"), cstr(name), cstr("r"));
    let mut prim = Vec::new();
    for s in [&env, &delim, &file, &mode] {
        prim.extend_from_slice(&(s.len() as u32).to_le_bytes());
    }
    // 19 fopen_with_env: in0 {4 lengths}, in1..4 strings; out0 FILE.
    let out = r.call(h, Scalars::make(19, 5, 1), &[&prim, &env, &delim, &file, &mode], &[4])?;
    let f = word(&out[0], 0);
    let fin = f.to_le_bytes();
    let result = (|| {
        // 10 flen: in0 FILE; out0 u64.
        let out = r.call(h, Scalars::make(10, 1, 1), &[&fin], &[8])?;
        let len = out[0]
            .get(..8)
            .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or_default()));
        if len > max {
            return Err(DspError::new(ebadsize(), format!("{name}: {len} bytes, at most {max}")));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        loop {
            let chunk = (len as usize - bytes.len()).clamp(1, 1 << 20) as u32;
            // 4 fread: in0 {FILE, bufLen}; out0 {bytesRead, bEOF}, out1 buf.
            let mut p = fin.to_vec();
            p.extend_from_slice(&chunk.to_le_bytes());
            let out = r.call(h, Scalars::make(4, 1, 2), &[&p], &[8, chunk])?;
            let (n, eof) = (word(&out[0], 0) as usize, word(&out[0], 4));
            let data = out[1]
                .get(..n)
                .ok_or_else(|| DspError::new(ebadsize(), format!("{name}: fread said {n} bytes, sent fewer")))?;
            bytes.extend_from_slice(data);
            if bytes.len() as u64 > max {
                return Err(DspError::new(ebadsize(), format!("{name}: longer than {max} bytes")));
            }
            if eof != 0 || n == 0 || bytes.len() as u64 >= len {
                break;
            }
        }
        Ok(bytes)
    })();
    // 3 fclose: in0 FILE.
    let _ = r.call(h, Scalars::make(3, 1, 0), &[&fin], &[]);
    result
}

/// Whether thread PDs load skels through the client's `apps_std`
/// (`QDA_DSP_LOAD=apps_std`) instead of from the DSP's search path.
pub(crate) fn load_through_apps_std() -> bool {
    std::env::var("QDA_DSP_LOAD").is_ok_and(|v| v == "apps_std")
}

/// The largest skel loaded through `apps_std`.
const MAX_LIBRARY: u64 = 256 << 20;

/// Library files fetched through `apps_std`, by name and content: a memfd
/// each, kept open while the process runs (the loader knows a library by
/// its path, so a path is never reused for other bytes).
type Fetched = Mutex<Vec<(String, Vec<u8>, std::os::fd::OwnedFd, std::path::PathBuf)>>;
static FETCHED: Fetched = Mutex::new(Vec::new());

/// Library `name` (a plain `lib*_skel.so`, nothing else) read from the
/// client through `r`, in a memfd: the path to load.
pub(crate) fn library_through_apps_std(r: &Reverse, name: &str) -> DspResult<std::path::PathBuf> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let missing = |why: String| {
        DspError::new(
            aee::ENOSUCHMOD,
            format!("{name}: cannot open shared object file through apps_std: {why}"),
        )
    };
    let plain = !name.contains('/') && name.starts_with("lib") && name.ends_with("_skel.so");
    if !plain || !crate::libsearch::valid_name(name) {
        return Err(missing("not a plain lib*_skel.so name".into()));
    }
    let bytes = fetch_library(r, name, MAX_LIBRARY).map_err(|e| missing(e.to_string()))?;
    let mut fetched = lock(&FETCHED);
    if let Some(f) = fetched.iter().find(|f| f.0 == name && f.1 == bytes) {
        return Ok(f.3.clone());
    }
    let fd = qda_os::fd::memfd(name, bytes.len() as u64).map_err(|e| missing(format!("memfd: {e}")))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&bytes).map_err(|e| missing(format!("memfd: {e}")))?;
    // `/proc/<pid>/fd/N`, not `/proc/self/fd/N`: the loader knows a
    // library by the name it was opened with, and the DSP runtime was
    // loaded as `/proc/self/fd/M` from a memfd closed since, so a reused
    // number would name the runtime. These memfds stay open: their names
    // stay unique.
    let path = std::path::PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd()));
    fetched.push((name.to_string(), bytes, file.into(), path.clone()));
    Ok(path)
}

#[cfg(test)]
mod tests;

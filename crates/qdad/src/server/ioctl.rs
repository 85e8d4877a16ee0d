//! Ioctl requests: parsed and bounded, scheduled by their description, run
//! on the connection's file with the client's copied memory.

use super::*;

/// A call's view of its client: the copied segments, attached fds and VMAs
/// ([`SegmentMemory`]), and the fds it names from the connection's fd cache,
/// shared with the cache (a `dup` and a `close` per by-fd call before).
/// Every [`UserMemory`] method is answered here: none may fall back to a
/// default, which would reach the daemon's own memory or fd table.
#[derive(Debug)]
pub(super) struct CallMemory {
    seg: SegmentMemory,
    cached: Vec<(i32, Arc<OwnedFd>)>,
}

impl CallMemory {
    pub(super) fn new(seg: SegmentMemory, cached: Vec<(i32, Arc<OwnedFd>)>) -> CallMemory {
        CallMemory { seg, cached }
    }
}

impl std::ops::Deref for CallMemory {
    type Target = SegmentMemory;
    fn deref(&self) -> &SegmentMemory {
        &self.seg
    }
}

impl UserMemory for CallMemory {
    fn read(&self, addr: u64, dst: &mut [u8]) -> qda_driver::errno::Result<()> {
        self.seg.read(addr, dst)
    }
    fn write(&self, addr: u64, src: &[u8]) -> qda_driver::errno::Result<()> {
        self.seg.write(addr, src)
    }
    fn fd(&self, n: i32) -> qda_driver::errno::Result<std::os::fd::BorrowedFd<'_>> {
        match self.cached.iter().find(|(m, _)| *m == n) {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => self.seg.fd(n),
        }
    }
    fn install_fd(&self, fd: OwnedFd) -> qda_driver::errno::Result<i32> {
        self.seg.install_fd(fd)
    }
    fn find_vma(&self, addr: u64) -> Option<MapInfo> {
        self.seg.find_vma(addr)
    }
    fn may_read(&self, addr: u64, len: u64) -> bool {
        self.seg.may_read(addr, len)
    }
}

/// A parsed ioctl request.
pub(super) struct Call {
    pub(super) req: IoctlReq,
    pub(super) mem: CallMemory,
    pub(super) in_bytes: u64,
    /// Its fds, counted against the budget until it ends.
    pub(super) charge: Option<FdCharge>,
    /// [`IoctlRsp::flags`] for its reply.
    pub(super) rsp_flags: u32,
}

/// Parse an ioctl request of a connection without the fd cache.
#[cfg(test)]
pub(super) fn parse_ioctl(m: Message) -> Result<Call, Reply> {
    parse_ioctl_with(m, None, None)
}

/// A ring request's long input-only segments, left where the client wrote
/// them (its slot's region) instead of copied into the body: the driver
/// reads them there, once, as it reads a process's own memory.
#[derive(Debug)]
pub(super) struct InPlace {
    pub(super) bytes: Box<dyn SharedBytes>,
    /// For each segment of the request, its offset in `bytes` when it
    /// stayed there (its bytes are then not in the body).
    pub(super) at: Vec<Option<usize>>,
}

/// Parse an ioctl request: everything read from `m`'s body (a copy: a
/// ring's request is copied out of shared memory before it comes here,
/// but for the input segments `inplace` leaves there) and bounded. With
/// `cache` (the connection, if it has the fd cache), fds named by
/// [`CachedFd`] come from it and attached ones go into it.
pub(super) fn parse_ioctl_with(
    m: Message,
    cache: Option<(&Arc<Shared>, &Conn)>,
    inplace: Option<InPlace>,
) -> Result<Call, Reply> {
    let bad = |why: String| Reply::ioctl_errno(libc::EINVAL, format!("qdad: malformed ioctl request: {why}"));
    let mut r = Reader::new(&m.body);
    let req: IoctlReq = r.get().map_err(|e| bad(e.to_string()))?;
    if req.nsegs > MAX_SEGS || req.nvmas > MAX_VMAS || req.nfds as usize > MAX_FDS || req.ncached as usize > MAX_FDS {
        return Err(bad(format!(
            "{} segments, {} VMAs, {} fds, {} cached fds exceed {MAX_SEGS}/{MAX_VMAS}/{MAX_FDS}/{MAX_FDS}",
            req.nsegs, req.nvmas, req.nfds, req.ncached
        )));
    }
    let cache = cache.filter(|(_, c)| c.features.load(Ordering::Relaxed) & FEATURE_FD_CACHE != 0);
    if req.ncached != 0 && cache.is_none() {
        return Err(bad("cached fds named on a connection without the fd cache".into()));
    }
    if req.nfds as usize != m.fds.len() {
        return Err(bad(format!("{} fd numbers for {} fds", req.nfds, m.fds.len())));
    }
    let nums: Vec<i32> = r.array(req.nfds as usize).map_err(|e| bad(e.to_string()))?;
    r.align8().map_err(|e| bad(e.to_string()))?;
    let cached: Vec<CachedFd> = r.array(req.ncached as usize).map_err(|e| bad(e.to_string()))?;
    if cached.iter().any(|c| c.pad != 0) {
        return Err(bad("a cached fd's pad is not zero".into()));
    }
    let vmas: Vec<Vma> = r.array(req.nvmas as usize).map_err(|e| bad(e.to_string()))?;
    let segs: Vec<Seg> = r.array(req.nsegs as usize).map_err(|e| bad(e.to_string()))?;
    let mut fds = HashMap::new();
    for (n, fd) in nums.into_iter().zip(m.fds) {
        if fds.insert(n, fd).is_some() {
            return Err(bad(format!("fd number {n} listed twice")));
        }
    }
    // The segments stay where they are in the body (no copy out of it);
    // output segments are appended to it, zeroed.
    let base = m.body.as_ptr() as usize;
    let mut mem = Vec::with_capacity(segs.len());
    let mut outs = Vec::new();
    let mut out_bytes = 0u64;
    let mut in_bytes = 0u64;
    for (k, s) in segs.iter().enumerate() {
        if s.flags & !(SEG_IN | SEG_OUT) != 0 || s.flags == 0 {
            return Err(bad(format!("segment flags 0x{:x}", s.flags)));
        }
        if s.addr.checked_add(s.len as u64).is_none() {
            return Err(bad(format!("segment 0x{:x}+{} wraps", s.addr, s.len)));
        }
        if s.flags & SEG_IN != 0 {
            in_bytes += s.len as u64;
            if let Some(off) = inplace.as_ref().and_then(|p| p.at.get(k).copied().flatten()) {
                mem.push((s.addr, Place::Shared(off..off + s.len as usize)));
                continue;
            }
            let b = r.bytes(s.len as usize).map_err(|e| bad(e.to_string()))?;
            let start = b.as_ptr() as usize - base;
            mem.push((s.addr, Place::Own(start..start + b.len())));
        } else {
            out_bytes += s.len as u64;
            if out_bytes > wire::MAX_BODY as u64 {
                return Err(bad("output segments exceed the body limit".into()));
            }
            outs.push((mem.len(), s.addr, s.len as usize));
            mem.push((s.addr, Place::Own(0..0)));
        }
    }
    if !r.rest().is_empty() {
        return Err(bad(format!("{} bytes left over", r.rest().len())));
    }
    let mut data = m.body;
    for (i, addr, len) in outs {
        let start = data.len();
        data.resize(start + len, 0);
        mem[i] = (addr, Place::Own(start..start + len));
    }
    let mut rsp_flags = 0;
    let mut named = Vec::with_capacity(cached.len());
    if let Some((sh, conn)) = cache {
        // Attached fds go into the cache, and the call uses the cache's
        // description: the client's own is closed at once.
        if !fds.is_empty() {
            let mut all = true;
            let mut g = lock(&conn.fd_cache);
            for (n, fd) in fds.iter_mut() {
                match cache_one(sh, conn, &mut g, *n, fd) {
                    Some(mine) => *fd = mine,
                    None => all = false,
                }
            }
            if all {
                rsp_flags |= RSP_FDS_CACHED;
            }
        }
        if !cached.is_empty() {
            let mut g = lock(&conn.fd_cache);
            for c in &cached {
                if fds.contains_key(&c.num) || named.iter().any(|(n, _)| *n == c.num) {
                    return Err(bad(format!("fd number {} listed twice", c.num)));
                }
                let Some(fd) = g.get(c) else {
                    return Err(resend_fds(c.num));
                };
                named.push((c.num, fd));
            }
        }
    }
    let vmas = vmas
        .into_iter()
        .map(|v| MapInfo {
            start: v.start,
            len: v.len,
            dev: v.dev,
            ino: v.ino,
            file_offset: v.file_off,
        })
        .collect();
    Ok(Call {
        req,
        mem: CallMemory::new(
            SegmentMemory::over_places(data, inplace.map(|p| p.bytes), mem)
                .map_err(|e| bad(e.to_string()))?
                .with_fds(fds)
                .with_vmas(vmas),
            named,
        ),
        in_bytes,
        charge: None,
        rsp_flags,
    })
}

/// Put a reopened description of `fd` (the client's `n`) in the cache;
/// returns a copy for the call, or `None` when it cannot be cached (not a
/// file that can be reopened, or cached fds at their share of the quota).
fn cache_one(sh: &Arc<Shared>, conn: &Conn, cache: &mut FdCache, n: i32, fd: &OwnedFd) -> Option<OwnedFd> {
    use rustix::fs::OFlags;
    let id = qda_os::file_id(fd.as_fd()).ok()?;
    let mode = rustix::fs::fcntl_getfl(fd).ok()? & OFlags::RWMODE;
    let mine = qda_os::reopen(fd.as_fd(), mode | OFlags::CLOEXEC).ok()?;
    if qda_os::file_id(mine.as_fd()).ok()? != id {
        return None;
    }
    let copy = rustix::io::fcntl_dupfd_cloexec(&mine, 0).ok()?;
    let charge = FdCharge::try_cache(sh, conn)?;
    cache.insert(n, id, mine, charge, sh.limits.fd_cache);
    Some(copy)
}

/// The reply to a request naming a cached fd the cache does not hold (any
/// more, or for another file): nothing ran; send it again with the fds.
fn resend_fds(n: i32) -> Reply {
    let msg = format!("qdad: fd {n} is not in this connection's fd cache; send it again");
    let rsp = IoctlRsp {
        nsegs: 0,
        nfds: 0,
        msg_len: msg.len() as u32,
        flags: RSP_RESEND_FDS,
    };
    let mut body = rsp.as_bytes().to_vec();
    body.extend_from_slice(msg.as_bytes());
    Reply {
        status: -libc::ESTALE,
        body,
        ..Default::default()
    }
}

/// The description an ioctl on the connection's file is served by (none
/// before open, or for a number the driver refuses).
pub(super) fn conn_desc(conn: &Conn, cmd: u32) -> Option<&'static qda_ioctl::Desc> {
    let f = lock(&conn.file).clone()?;
    qda_ioctl::lookup(f.target(), f.driver().qda_revision(), cmd).ok()
}

/// This thread runs a call of `conn` (so closing the connection interrupts
/// it), until dropped, even by a panic.
struct InFlight<'a> {
    conn: &'a Conn,
    tid: i32,
}

impl<'a> InFlight<'a> {
    fn new(conn: &'a Conn, tid: i32) -> InFlight<'a> {
        lock(&conn.inflight).insert(tid);
        CLIENT.set((conn.id, conn.creds.pid));
        InFlight { conn, tid }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        CLIENT.set((0, 0));
        lock(&self.conn.inflight).remove(&self.tid);
    }
}

pub(super) fn run_ioctl(sh: &Shared, conn: &Conn, op: Op, call: Call) -> Reply {
    let Call {
        req, mem, rsp_flags, ..
    } = call;
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    let r = match op {
        Op::DmabufIoctl => sh.emb.driver.dmabuf_ioctl(req.target, req.cmd, req.arg, &mem),
        _ => {
            let Some(file) = lock(&conn.file).clone() else {
                return Reply::ioctl_errno(libc::EBADF, "qdad: ioctl before open");
            };
            if conn.closed.load(Ordering::SeqCst) {
                return Reply::ioctl_errno(libc::EPIPE, "qdad: the client is gone");
            }
            let _in = InFlight::new(conn, tid);
            file.ioctl(req.cmd, req.arg, &mem)
        }
    };
    if r.is_ok() && op == Op::Ioctl {
        note_poll(conn, req.cmd, req.arg, &mem);
    }
    if let Err(e) = &r {
        // A refusal and the driver's reason, on the call trace.
        let name = match op {
            Op::DmabufIoctl => None,
            _ => conn_desc(conn, req.cmd).map(|d| d.name),
        };
        tracing::info!(
            target: TRACE_TARGET,
            "#{} pid {} {} -> {}",
            conn.id,
            conn.creds.pid,
            qda_ioctl::ioctl_label(name, req.cmd),
            e
        );
    }
    ioctl_reply(&r, mem, rsp_flags)
}

/// The reply to an ioctl that ran on `mem`: its result, the ranges the
/// driver wrote (their bytes follow, [`Written`]) and the fds it installed.
pub(super) fn ioctl_reply(r: &qda_driver::errno::Result<i64>, mem: CallMemory, rsp_flags: u32) -> Reply {
    // What the driver wrote (overlapping ranges merged: the bytes are read
    // at the end), and the fds it installed.
    let written = merge(mem.written());
    let segs: Vec<Seg> = written
        .into_iter()
        .filter(|(addr, len)| mem.may_read(*addr, *len))
        .map(|(addr, len)| Seg {
            addr,
            len: len as u32,
            flags: 0,
        })
        .collect();
    let fds = mem.take_installed();
    let (status, value, msg) = match r {
        Ok(v) => (0, *v, String::new()),
        Err(e) => (-e.errno.0, 0, e.to_string()),
    };
    let rsp = IoctlRsp {
        nsegs: segs.len() as u32,
        nfds: fds.len() as u32,
        msg_len: msg.len() as u32,
        flags: rsp_flags,
    };
    // The head now; the written bytes are copied where the reply goes.
    let mut body = Vec::with_capacity(size_of::<IoctlRsp>() + size_of_val(&segs[..]));
    body.extend_from_slice(rsp.as_bytes());
    body.extend_from_slice(segs.as_bytes());
    Reply {
        status,
        value,
        body,
        fds,
        written: Some(Box::new(Written { mem, segs, msg })),
    }
}

/// What an ioctl wrote (the ranges of its reply, in order) and its error
/// text, to follow the reply's head.
#[derive(Debug)]
pub(super) struct Written {
    mem: CallMemory,
    segs: Vec<Seg>,
    msg: String,
}

impl Written {
    /// Bytes it adds to the body.
    pub(super) fn len(&self) -> usize {
        self.segs.iter().map(|s| s.len as usize).sum::<usize>() + self.msg.len()
    }

    /// Append the bytes to `body`, read straight from the call's memory.
    pub(super) fn append_to(&self, body: &mut Vec<u8>) {
        body.reserve(self.len());
        for sg in &self.segs {
            // Checked by may_read; the segments do not change meanwhile
            // (were one missing, zeros keep the body's layout).
            let at = body.len();
            if self.mem.append_to(sg.addr, sg.len as usize, body).is_err() {
                body.resize(at + sg.len as usize, 0);
            }
        }
        body.extend_from_slice(self.msg.as_bytes());
    }

    /// Write the reply with `put(offset, bytes)`: `head` at 0, then the
    /// written bytes, each straight from the call's memory, then the text.
    /// Ranges that lie in shared memory (the slot `put` writes to) are
    /// copied out before anything is put, the head included: it may be
    /// longer than the request's and cover them.
    pub(super) fn put(&self, head: &[u8], mut put: impl FnMut(usize, &[u8])) {
        let staged: Vec<Option<Vec<u8>>> = self
            .segs
            .iter()
            .map(|sg| {
                let len = sg.len as usize;
                self.mem.is_shared(sg.addr, len).then(|| {
                    let mut v = vec![0; len];
                    let _ = self.mem.read(sg.addr, &mut v);
                    v
                })
            })
            .collect();
        put(0, head);
        let mut at = head.len();
        for (sg, staged) in self.segs.iter().zip(staged) {
            let len = sg.len as usize;
            match staged {
                Some(v) => put(at, &v),
                None => {
                    if self.mem.with_bytes(sg.addr, len, |b| put(at, b)).is_err() {
                        put(at, &vec![0; len]);
                    }
                }
            }
            at += len;
        }
        put(at, self.msg.as_bytes());
    }
}

/// Written ranges, sorted, overlapping ones merged (adjacent ones are not:
/// they may lie in two segments, and a read must fall in one).
fn merge(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, len) in v {
        let end = a.saturating_add(len);
        if let Some(last) = out.last_mut() {
            let last_end = last.0.saturating_add(last.1);
            if a < last_end {
                last.1 = last_end.max(end) - last.0;
                continue;
            }
        }
        out.push((a, len));
    }
    out
}

/// After an accepted poll-mode ioctl on the connection's file: the budget
/// its ring thread spins for after a call.
fn note_poll(conn: &Conn, cmd: u32, arg: u64, mem: &CallMemory) {
    use qda_uapi::{fastrpc as uf, qda as uq};
    let mut b = [0u8; 8];
    let budget = if cmd == uq::DRM_IOCTL_QDA_SET_POLL {
        if mem.read(arg, &mut b).is_err() {
            return;
        }
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    } else if cmd == uf::FASTRPC_IOCTL_SET_OPTION {
        if mem.read(arg, &mut b).is_err() || u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) != uf::FASTRPC_POLL_MODE {
            return;
        }
        if u32::from_ne_bytes([b[4], b[5], b[6], b[7]]) != 0 {
            uq::QDA_POLL_BUDGET_DEFAULT_US
        } else {
            0
        }
    } else {
        return;
    };
    // The same number on another node kind is another ioctl.
    let node_ok = lock(&conn.file).as_ref().is_some_and(|f| {
        matches!(
            (f.target(), cmd),
            (qda_ioctl::Target::Accel, uq::DRM_IOCTL_QDA_SET_POLL)
                | (qda_ioctl::Target::Fastrpc, uf::FASTRPC_IOCTL_SET_OPTION)
        )
    });
    if node_ok {
        conn.poll_us
            .store(budget.min(uq::QDA_POLL_BUDGET_MAX_US), Ordering::Relaxed);
    }
}

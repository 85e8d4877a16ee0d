//! Ioctl requests: parsed and bounded, scheduled by their description, run
//! on the connection's file with the client's copied memory.

use super::*;

/// A parsed ioctl request.
pub(super) struct Call {
    pub(super) req: IoctlReq,
    pub(super) mem: SegmentMemory,
    pub(super) in_bytes: u64,
    /// Its fds, counted against the budget until it ends.
    pub(super) charge: Option<FdCharge>,
}

pub(super) fn parse_ioctl(m: Message) -> Result<Call, Reply> {
    let bad = |why: String| Reply::ioctl_errno(libc::EINVAL, format!("qdad: malformed ioctl request: {why}"));
    let mut r = Reader::new(&m.body);
    let req: IoctlReq = r.get().map_err(|e| bad(e.to_string()))?;
    if req.pad != 0 {
        return Err(bad("pad is not zero".into()));
    }
    if req.nsegs > MAX_SEGS || req.nvmas > MAX_VMAS || req.nfds as usize > MAX_FDS {
        return Err(bad(format!(
            "{} segments, {} VMAs, {} fds exceed {MAX_SEGS}/{MAX_VMAS}/{MAX_FDS}",
            req.nsegs, req.nvmas, req.nfds
        )));
    }
    if req.nfds as usize != m.fds.len() {
        return Err(bad(format!("{} fd numbers for {} fds", req.nfds, m.fds.len())));
    }
    let nums: Vec<i32> = r.array(req.nfds as usize).map_err(|e| bad(e.to_string()))?;
    r.align8().map_err(|e| bad(e.to_string()))?;
    let vmas: Vec<Vma> = r.array(req.nvmas as usize).map_err(|e| bad(e.to_string()))?;
    let segs: Vec<Seg> = r.array(req.nsegs as usize).map_err(|e| bad(e.to_string()))?;
    let mut fds = HashMap::new();
    for (n, fd) in nums.into_iter().zip(m.fds) {
        if fds.insert(n, fd).is_some() {
            return Err(bad(format!("fd number {n} listed twice")));
        }
    }
    let mut mem = Vec::with_capacity(segs.len());
    let mut out_bytes = 0u64;
    let mut in_bytes = 0u64;
    for s in &segs {
        if s.flags & !(SEG_IN | SEG_OUT) != 0 || s.flags == 0 {
            return Err(bad(format!("segment flags 0x{:x}", s.flags)));
        }
        if s.addr.checked_add(s.len as u64).is_none() {
            return Err(bad(format!("segment 0x{:x}+{} wraps", s.addr, s.len)));
        }
        let bytes = if s.flags & SEG_IN != 0 {
            in_bytes += s.len as u64;
            r.bytes(s.len as usize).map_err(|e| bad(e.to_string()))?.to_vec()
        } else {
            out_bytes += s.len as u64;
            if out_bytes > wire::MAX_BODY as u64 {
                return Err(bad("output segments exceed the body limit".into()));
            }
            vec![0u8; s.len as usize]
        };
        mem.push((s.addr, bytes));
    }
    if !r.rest().is_empty() {
        return Err(bad(format!("{} bytes left over", r.rest().len())));
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
        mem: SegmentMemory::new(mem).with_fds(fds).with_vmas(vmas),
        in_bytes,
        charge: None,
    })
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
    let Call { req, mem, .. } = call;
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
    // What the driver wrote, and the fds it installed.
    let written = mem.written();
    let mut segs = Vec::with_capacity(written.len());
    let mut data = Vec::new();
    for (addr, len) in written {
        let at = data.len();
        data.resize(at + len as usize, 0);
        if mem.read(addr, &mut data[at..]).is_ok() {
            segs.push(Seg {
                addr,
                len: len as u32,
                flags: 0,
            });
        } else {
            data.truncate(at);
        }
    }
    let fds = mem.take_installed();
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
    let (status, value, msg) = match &r {
        Ok(v) => (0, *v, String::new()),
        Err(e) => (-e.errno.0, 0, e.to_string()),
    };
    let rsp = IoctlRsp {
        nsegs: segs.len() as u32,
        nfds: fds.len() as u32,
        msg_len: msg.len() as u32,
        pad: 0,
    };
    let mut body = Vec::with_capacity(16 + segs.len() * 16 + data.len() + msg.len());
    body.extend_from_slice(rsp.as_bytes());
    body.extend_from_slice(segs.as_bytes());
    body.extend_from_slice(&data);
    body.extend_from_slice(msg.as_bytes());
    Reply {
        status,
        value,
        body,
        fds,
    }
}

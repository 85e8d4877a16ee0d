//! The marshalling of one ioctl: what the kernel would copy from user
//! memory, read from the ioctl's one description (`qda-ioctl`), the fds it
//! names (attached, or named when the daemon caches them), and the
//! write-back of what the driver wrote and the fds it installed.

use std::os::fd::{BorrowedFd, OwnedFd};

use qda_ioctl::{ArgCopy, FdOut as DescFdOut, Reach, Revision, Target, Visit};
use qda_os::{self as sys, Loan, LoanView, MapInfo, OsError as Error};
use qda_rt::lock;
use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc_dir, ioc_size};
use zerocopy::{FromBytes, IntoBytes};

use crate::answer::{Answer, WrittenBack, write_mem};
use crate::conn::{Connection, err, wire_err};
use crate::wire::{
    CachedFd, FD_PLACEHOLDER_BASE, FEATURE_FD_CACHE, IoctlReq, MAX_BODY, Op, RSP_FDS_CACHED, RSP_RESEND_FDS, SEG_IN,
    SEG_OUT, Seg, Vma,
};

/// Fd numbers a client remembers as cached by the daemon (a hint: the
/// daemon's answer decides).
const CACHE_HINTS: usize = 256;

/// Where an ioctl returns an fd.
#[derive(Debug, Clone, Copy)]
enum FdOut {
    /// The syscall's return value.
    Ret,
    /// An i32 at this client address.
    At(u64),
}

/// An fd a request attaches: the client's number, its borrow, and the
/// identity it had (with the fd cache).
type Attach = (i32, BorrowedFd<'static>, Option<(u64, u64)>);

/// Input segments at least this long that lie in a lent slice are not
/// copied into the plan: the request is gathered from the slice itself
/// when it is sent (the slice is borrowed for the whole call, so its
/// bytes cannot change meanwhile). Shorter ones (the ioctl's struct, an
/// argument array) are copied, and the walk peeks into the copy.
const GATHER_MIN: u32 = 1024;

/// Where an input segment's bytes come from when the request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    /// Copied into the plan's data, at this offset.
    Copied(usize),
    /// Gathered from the lent slice that holds it.
    Lent,
    /// An output-only segment: no bytes go.
    Out,
}

/// What one ioctl sends and expects.
#[derive(Debug, Default)]
pub(crate) struct Plan<'l, 'a> {
    /// Slices of the caller's memory it lent ([`Loan`]): reads and
    /// write-backs inside them are copies, not `process_vm_readv`/`writev`.
    loan: Option<&'l Loan<'a>>,
    segs: Vec<Seg>,
    /// For each segment, where its bytes come from.
    src: Vec<Src>,
    data: Vec<u8>,
    /// Input bytes gathered from lent slices ([`Src::Lent`]).
    lent_bytes: u64,
    /// The fds it names that are open here, borrowed once (as `fdget`).
    fds: Vec<(i32, BorrowedFd<'static>)>,
    vmas: Vec<MapInfo>,
    fd_out: Option<FdOut>,
    out_bytes: u64,
    /// The first error a walk ran into.
    err: Option<Error>,
}

/// Read `buf.len()` bytes of the client's memory at `addr`: from a lent
/// slice that holds them all, else the checked copy (`EFAULT` there).
fn read_mem(loan: Option<&Loan<'_>>, addr: u64, buf: &mut [u8]) -> bool {
    loan.is_some_and(|l| l.read(addr, buf)) || sys::copy_from_self(addr, buf).is_ok()
}

impl Visit for Plan<'_, '_> {
    /// Bytes the walk follows: from this plan's copy when an input segment
    /// holds them all (the bytes the daemon's driver will read, without a
    /// `process_vm_readv` per array element), else from memory.
    fn peek(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        if let Some(b) = self.copied(addr, buf.len()) {
            buf.copy_from_slice(b);
            return true;
        }
        read_mem(self.loan, addr, buf)
    }

    fn reach(&mut self, r: Reach) {
        if self.err.is_some() {
            return;
        }
        let res = match r {
            Reach::In { addr, len } => self.seg(addr, len, SEG_IN),
            Reach::Out { addr, len } => self.seg(addr, len, SEG_OUT),
            Reach::CStr { addr, max } => self.cstr(addr, max),
            Reach::Fd(n) => {
                self.fd(n);
                Ok(())
            }
            Reach::Vma(p) => {
                self.vma(p);
                Ok(())
            }
        };
        self.err = res.err();
    }
}

impl<'l, 'a> Plan<'l, 'a> {
    /// What `ioctl(fd, cmd, arg)` on a file of kind `node` reaches, from the
    /// ioctl's description: its struct as the core copies it, then what its
    /// walk names. A number the driver refuses reaches nothing. With `loan`,
    /// the memory inside lent slices is read and written back directly.
    pub(crate) fn for_ioctl(
        node: Target,
        rev: Revision,
        cmd: u32,
        arg: u64,
        loan: Option<&'l Loan<'a>>,
    ) -> Result<Plan<'l, 'a>, Error> {
        let mut p = Plan {
            loan,
            ..Plan::default()
        };
        let Ok(d) = qda_ioctl::lookup(node, rev, cmd) else {
            return Ok(p);
        };
        // The struct, copied once: sent as its segment, and seen by the walk
        // as the driver will see it (the bytes the core copies in, the rest
        // zero), so the walk can follow its pointers.
        let (dir, size, in_size) = match d.copy {
            ArgCopy::Sized => {
                let both = ioc_dir(cmd) & ioc_dir(d.cmd);
                let in_size = if both & IOC_WRITE != 0 { ioc_size(cmd) } else { 0 };
                (ioc_dir(cmd), ioc_size(cmd), in_size)
            }
            ArgCopy::Handler => (ioc_dir(d.cmd), d.arg_size, d.arg_size),
        };
        let at = p.data.len();
        p.arg_struct(dir, arg, size as u64)?;
        let copied = &p.data[at..];
        let view = (copied.len() >= in_size).then(|| {
            let mut v = vec![0u8; size.max(d.arg_size)];
            v[..in_size].copy_from_slice(&copied[..in_size]);
            v
        });
        // Unreadable: the driver faults on the struct and reaches nothing else.
        if let Some(view) = view {
            d.walk(arg, &view, rev, &mut p);
            if let Some(e) = p.err.take() {
                return Err(e);
            }
        }
        p.fd_out = match d.fd_out {
            DescFdOut::None => None,
            DescFdOut::Ret => Some(FdOut::Ret),
            DescFdOut::Field(off) => Some(FdOut::At(arg + off as u64)),
        };
        Ok(p)
    }

    /// A segment; `SEG_IN` bytes are copied now, or gathered from their
    /// lent slice when the request is sent ([`GATHER_MIN`]). Unreadable
    /// memory is left out, so the driver faults (`EFAULT`) exactly where
    /// it reads it.
    fn seg(&mut self, addr: u64, len: u64, flags: u32) -> Result<(), Error> {
        self.seg_as(addr, len, flags, true)
    }

    /// A segment; `gather`: a long enough input in a lent slice may be
    /// gathered at send time instead of copied now.
    fn seg_as(&mut self, addr: u64, len: u64, flags: u32, gather: bool) -> Result<(), Error> {
        if len == 0 {
            return Ok(());
        }
        if len > MAX_BODY as u64 {
            return Err(too_big(len));
        }
        let src = if flags & SEG_IN != 0 {
            let at = self.data.len();
            let gather = gather && len >= GATHER_MIN as u64 && self.loan.is_some_and(|l| l.covers(addr, len as usize));
            if gather {
                self.lent_bytes += len;
                Src::Lent
            } else {
                // A lent slice is appended in one copy; other memory is
                // zeroed, then read with the checked copy.
                let lent = self
                    .loan
                    .is_some_and(|l| l.append_to(addr, len as usize, &mut self.data));
                if !lent {
                    self.data.resize(at + len as usize, 0);
                    if !read_mem(None, addr, &mut self.data[at..]) {
                        self.data.truncate(at);
                        return Ok(());
                    }
                }
                Src::Copied(at)
            }
        } else {
            self.out_bytes += len;
            if self.out_bytes > MAX_BODY as u64 {
                return Err(too_big(self.out_bytes));
            }
            Src::Out
        };
        let in_bytes = self.data.len() as u64 + self.lent_bytes;
        if in_bytes > MAX_BODY as u64 {
            return Err(too_big(in_bytes));
        }
        self.src.push(src);
        self.segs.push(Seg {
            addr,
            len: len as u32,
            flags,
        });
        Ok(())
    }

    /// The copied bytes of `[addr, addr + len)`, if one input segment
    /// holds them all.
    fn copied(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.segs.iter().zip(&self.src).find_map(|(s, src)| {
            let &Src::Copied(at) = src else {
                return None;
            };
            let off = addr.checked_sub(s.addr)?;
            if off.checked_add(len as u64)? > s.len as u64 {
                return None;
            }
            let off = at + off as usize;
            self.data.get(off..off + len)
        })
    }

    /// The input bytes in request order: copied ones from the plan, the
    /// rest gathered from the lent slices (`view`).
    fn inputs<'v>(&'v self, view: Option<&'v LoanView<'_, '_>>) -> Result<Vec<&'v [u8]>, Error> {
        let mut parts = Vec::with_capacity(self.segs.len());
        for (s, src) in self.segs.iter().zip(&self.src) {
            let len = s.len as usize;
            match *src {
                Src::Copied(at) => parts.push(&self.data[at..at + len]),
                Src::Lent => parts.push(view.and_then(|v| v.get(s.addr, len)).ok_or_else(|| {
                    err(
                        libc::EFAULT,
                        format!("a lent slice at 0x{:x}+{len} is no longer lent", s.addr),
                    )
                })?),
                Src::Out => {}
            }
        }
        Ok(parts)
    }

    /// The ioctl's own struct: `len` bytes in and/or out as `dir` says.
    fn arg_struct(&mut self, dir: u32, arg: u64, len: u64) -> Result<(), Error> {
        let mut flags = 0;
        if dir & IOC_WRITE != 0 {
            flags |= SEG_IN;
        }
        if dir & IOC_READ != 0 {
            flags |= SEG_OUT;
        }
        if flags != 0 {
            // Copied whatever its size: the walk reads it from the copy.
            self.seg_as(arg, len, flags, false)?;
        }
        Ok(())
    }

    /// A local copy of a struct at `addr` (None if unreadable).
    pub(crate) fn peek<T: FromBytes + IntoBytes>(addr: u64) -> Option<T> {
        let mut v = T::new_zeroed();
        sys::copy_from_self(addr, v.as_mut_bytes()).ok()?;
        Some(v)
    }

    /// An fd the call names. Numbers not open here are not sent (the
    /// driver answers `EBADF` where it looks them up).
    pub(crate) fn fd(&mut self, n: i32) {
        if n >= 0
            && !self.fds.iter().any(|(m, _)| *m == n)
            && let Ok(fd) = sys::borrow_raw(n)
        {
            self.fds.push((n, fd));
        }
    }

    /// The mapping `ptr` lies in, for the driver's `find_vma`.
    fn vma(&mut self, ptr: u64) {
        if let Some(v) = sys::find_mapping(ptr)
            && !self.vmas.contains(&v)
        {
            self.vmas.push(v);
        }
    }

    /// A string: its readable bytes up to and with the NUL, at most
    /// `max + 1`; the driver faults or refuses where the copy ends.
    fn cstr(&mut self, addr: u64, max: usize) -> Result<(), Error> {
        let mut len = 0;
        for i in 0..=max as u64 {
            let mut b = [0u8];
            if !read_mem(self.loan, addr + i, &mut b) {
                break;
            }
            len = i + 1;
            if b[0] == 0 {
                break;
            }
        }
        self.seg(addr, len, SEG_IN)
    }

    /// Send, wait, write back, install fds.
    pub(crate) fn run(self, conn: &Connection, op: Op, cmd: u32, arg: u64, target: i32) -> Result<i64, Error> {
        // With the fd cache, an fd the daemon holds is named, not sent,
        // while this number still refers to the file it held.
        let use_cache = op == Op::Ioctl && conn.features() & FEATURE_FD_CACHE != 0;
        let mut attach: Vec<Attach> = Vec::with_capacity(self.fds.len());
        let mut cached: Vec<CachedFd> = Vec::new();
        for &(n, fd) in &self.fds {
            // What the number refers to now: one `fstat` (it was borrowed
            // when the walk named it).
            let id = use_cache.then(|| sys::file_id(fd).ok()).flatten();
            match id {
                Some(id) if conn.cached_id(n) == Some(id) => cached.push(CachedFd {
                    num: n,
                    pad: 0,
                    dev: id.0,
                    ino: id.1,
                }),
                _ => attach.push((n, fd, id)),
            }
        }
        let mut m = match self.exchange(conn, op, cmd, arg, target, &attach, &cached) {
            Ok(m) if use_cache && !cached.is_empty() && m.rsp_flags() & RSP_RESEND_FDS != 0 => {
                // The daemon no longer holds one of them: send them all.
                drop(m);
                let mut g = lock(&conn.cached);
                for c in cached.drain(..) {
                    g.remove(&c.num);
                    if let Some(&(_, fd)) = self.fds.iter().find(|(n, _)| *n == c.num) {
                        attach.push((c.num, fd, Some((c.dev, c.ino))));
                    }
                }
                drop(g);
                self.exchange(conn, op, cmd, arg, target, &attach, &cached)?
            }
            r => r?,
        };
        if use_cache && !attach.is_empty() {
            let mut g = lock(&conn.cached);
            let keep = m.rsp_flags() & RSP_FDS_CACHED != 0;
            for (n, _, id) in &attach {
                match id {
                    Some(id) if keep => {
                        if g.len() >= CACHE_HINTS && !g.contains_key(n) {
                            g.clear();
                        }
                        g.insert(*n, *id);
                    }
                    _ => {
                        g.remove(n);
                    }
                }
            }
        }
        // Memory the driver wrote, then the fds it installed. An error the
        // daemon raised itself comes in the same format; a body that is not
        // one (an older daemon's text) still gives the errno it carries.
        let WrittenBack { segs: written, msg } = match m.written_back() {
            Ok(p) => p,
            Err(_) if m.status() < 0 => {
                return Err(err(-m.status(), String::from_utf8_lossy(&m.whole()).into_owned()));
            }
            Err(e) => return Err(wire_err(e)),
        };
        let mut copy_fault = None;
        for (s, at) in &written {
            if !m.write_back(self.loan, s.addr, *at, s.len as usize) {
                copy_fault = Some(s.addr);
            }
        }
        let (status, mut value) = (m.status(), m.value());
        let mut installed: Vec<Option<OwnedFd>> = m.take_fds().into_iter().map(Some).collect();
        let mut take = |v: i64| -> Option<i32> {
            let i = v.checked_sub(FD_PLACEHOLDER_BASE as i64)?;
            let fd = installed.get_mut(usize::try_from(i).ok()?)?.take()?;
            Some(sys::into_raw(fd))
        };
        match self.fd_out {
            Some(FdOut::Ret) if status == 0 => {
                if let Some(n) = take(value) {
                    value = n as i64;
                }
            }
            Some(FdOut::At(addr)) => {
                let mut v = [0u8; 4];
                if read_mem(self.loan, addr, &mut v)
                    && let Some(n) = take(i32::from_ne_bytes(v) as i64)
                {
                    let _ = write_mem(self.loan, addr, &n.to_ne_bytes());
                }
            }
            _ => {}
        }
        if status < 0 {
            return Err(err(-status, msg));
        }
        if let Some(a) = copy_fault {
            return Err(err(libc::EFAULT, format!("copying the result back to 0x{a:x}")));
        }
        Ok(value)
    }
}

impl Plan<'_, '_> {
    /// One request and its reply: through the ring when the connection has
    /// one, nothing is attached, no fd comes back and both directions fit a
    /// slot's region; else on the socket.
    #[allow(clippy::too_many_arguments)]
    fn exchange<'c>(
        &self,
        conn: &'c Connection,
        op: Op,
        cmd: u32,
        arg: u64,
        target: i32,
        attach: &[Attach],
        cached: &[CachedFd],
    ) -> Result<Answer<'c>, Error> {
        let fds: Vec<BorrowedFd<'_>> = attach.iter().map(|(_, fd, _)| *fd).collect();
        let nums: Vec<i32> = attach.iter().map(|(n, _, _)| *n).collect();
        let req = IoctlReq {
            cmd,
            nsegs: self.segs.len() as u32,
            arg,
            nfds: nums.len() as u32,
            nvmas: self.vmas.len() as u32,
            target,
            ncached: cached.len() as u32,
        };
        let mut numbytes = nums.as_bytes().to_vec();
        numbytes.resize(numbytes.len().next_multiple_of(8), 0);
        let vmas: Vec<Vma> = self
            .vmas
            .iter()
            .map(|v| Vma {
                start: v.start,
                len: v.len,
                dev: v.dev,
                ino: v.ino,
                file_off: v.file_offset,
            })
            .collect();
        // Lent slices are borrowed until the request is sent (the view
        // ends with this function, before any write-back).
        let view = self.loan.filter(|_| self.lent_bytes > 0).map(|l| l.view());
        let mut parts: Vec<&[u8]> = vec![
            req.as_bytes(),
            &numbytes,
            cached.as_bytes(),
            vmas.as_bytes(),
            self.segs.as_bytes(),
        ];
        parts.extend(self.inputs(view.as_ref())?);
        if op == Op::Ioctl
            && attach.is_empty()
            && self.fd_out.is_none()
            && let Some(region) = conn.ring_region()
        {
            let len: usize = parts.iter().map(|p| p.len()).sum();
            // The reply: its header, the written ranges (a few per
            // segment at most, merged by the daemon), the bytes of every
            // segment the driver may write, an error text.
            let out: u64 = self
                .segs
                .iter()
                .filter(|s| s.flags & SEG_OUT != 0)
                .map(|s| s.len as u64)
                .sum();
            let reply = 16 + 16 * (2 * self.segs.len() as u64 + 4) + out + 1024;
            if len <= region
                && reply <= region as u64
                && let Some(r) = conn.call_ring(&parts)
            {
                return r.map(Answer::Ring);
            }
        }
        conn.call(op, &parts, &fds).map(Answer::Socket)
    }
}

fn too_big(n: u64) -> Error {
    err(
        libc::ENOMEM,
        format!(
            "{n} bytes of inline data exceed qdad's {} MiB per call; pass large buffers by fd",
            MAX_BODY >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_os::{Errno, Mapping};
    use qda_uapi::{fastrpc as uf, qda as uq};
    use std::os::fd::{AsFd, AsRawFd};

    #[test]
    fn an_invoke_plan_copies_inline_buffers_and_names_fds() {
        let inb = [7u8; 12];
        let mut outb = [0u8; 8];
        let f = sys::memfd("t", 4096).unwrap();
        let map = Mapping::map(f.as_fd(), 0, 4096, true).unwrap();
        let args = [
            uf::FastrpcInvokeArgs {
                ptr: inb.as_ptr() as u64,
                length: 12,
                fd: -1,
                attr: 0,
            },
            uf::FastrpcInvokeArgs {
                ptr: map.addr() + 100,
                length: 64,
                fd: f.as_raw_fd(),
                attr: 0,
            },
            uf::FastrpcInvokeArgs {
                ptr: outb.as_mut_ptr() as u64,
                length: 8,
                fd: -1,
                attr: 0,
            },
        ];
        let inv = uq::DrmQdaInvokeArgs {
            handle: 0x10,
            sc: qda_proto::Scalars::make(2, 2, 1).0,
            args: args.as_ptr() as u64,
        };
        let p = Plan::for_ioctl(
            Target::Accel,
            Revision::May2026,
            uq::DRM_IOCTL_QDA_REMOTE_INVOKE,
            &inv as *const _ as u64,
            None,
        )
        .unwrap();
        // The struct, the array, the inline input, the inline output.
        assert_eq!(p.segs.len(), 4);
        assert_eq!(p.segs[2].len, 12);
        assert_eq!(p.segs[3].flags, SEG_OUT);
        assert_eq!(p.fds.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [f.as_raw_fd()]);
        assert_eq!(p.vmas.len(), 1);
        // The dma-buf's 64 bytes are not in the data: struct + array + 12.
        assert_eq!(p.data.len(), size_of::<uq::DrmQdaInvokeArgs>() + 3 * 24 + 12);
    }

    /// The walk follows the bytes the plan copied (what the daemon's
    /// driver will read), not a second read of the client's memory: an
    /// element of a copied array is peeked from the copy (no
    /// `process_vm_readv` per element), and memory outside every copy is
    /// still read.
    #[test]
    fn peeks_inside_copied_input_come_from_the_copy() {
        let mut arr = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let other = [9u8; 4];
        let mut p = Plan::default();
        p.seg(arr.as_ptr() as u64, 8, SEG_IN).unwrap();
        p.seg(other.as_ptr() as u64, 4, SEG_OUT).unwrap();
        // The client's memory changes after the copy (another thread).
        arr.copy_from_slice(&[0; 8]);
        std::hint::black_box(&mut arr);
        let mut b = [0u8; 4];
        assert!(Visit::peek(&mut p, arr.as_ptr() as u64 + 2, &mut b));
        assert_eq!(b, [3, 4, 5, 6], "the copy the daemon gets");
        // Straddling the copy's end, or in an output-only segment: read.
        assert!(Visit::peek(&mut p, arr.as_ptr() as u64 + 6, &mut b));
        assert_eq!(b[..2], [0, 0]);
        assert!(Visit::peek(&mut p, other.as_ptr() as u64, &mut b));
        assert_eq!(b, [9; 4]);
        assert!(!Visit::peek(&mut p, 16, &mut b), "unreadable stays unreadable");
    }

    /// A long input in a lent slice is not copied into the plan: the
    /// request gathers it from the slice; short ones and the struct are
    /// copied (the walk reads them from the copy).
    #[test]
    fn long_lent_inputs_are_gathered_not_copied() {
        let big = vec![3u8; GATHER_MIN as usize];
        let small = [4u8; 16];
        let unlent = vec![5u8; 2 * GATHER_MIN as usize];
        let mut lent = qda_os::Lent::new();
        lent.read_only(&big);
        lent.read_only(&small);
        let loan = lent.loan();
        let mut p = Plan {
            loan: Some(&loan),
            ..Plan::default()
        };
        p.seg(big.as_ptr() as u64, big.len() as u64, SEG_IN).unwrap();
        p.seg(small.as_ptr() as u64, 16, SEG_IN).unwrap();
        p.seg(unlent.as_ptr() as u64, unlent.len() as u64, SEG_IN).unwrap();
        p.seg_as(big.as_ptr() as u64, big.len() as u64, SEG_IN, false).unwrap();
        assert_eq!(p.src[0], Src::Lent);
        assert_eq!(p.src[1], Src::Copied(0));
        assert_eq!(p.src[2], Src::Copied(16), "not lent: copied whatever its size");
        assert!(matches!(p.src[3], Src::Copied(_)), "a struct is always copied");
        assert_eq!(p.data.len(), 16 + unlent.len() + big.len());
        {
            let view = loan.view();
            let parts = p.inputs(Some(&view)).unwrap();
            let lens: Vec<usize> = parts.iter().map(|b| b.len()).collect();
            assert_eq!(lens, [big.len(), 16, unlent.len(), big.len()]);
            assert_eq!(parts[0].as_ptr(), big.as_ptr(), "gathered from the slice itself");
            assert_eq!(parts[2], &unlent[..]);
        }
        // Without the view (no loan at send time): EFAULT, not a panic.
        assert_eq!(p.inputs(None).unwrap_err().errno, Errno::EFAULT);
    }

    #[test]
    fn unreadable_memory_is_left_for_the_driver_to_fault_on() {
        let p = Plan::for_ioctl(
            Target::Accel,
            Revision::May2026,
            uq::DRM_IOCTL_QDA_REMOTE_INVOKE,
            16,
            None,
        )
        .unwrap();
        assert!(p.segs.is_empty());
    }

    #[test]
    fn huge_inline_buffers_are_refused_with_the_reason() {
        let args = [uf::FastrpcInvokeArgs {
            ptr: 0x1000,
            length: 1 << 40,
            fd: -1,
            attr: 0,
        }];
        let inv = uf::FastrpcInvoke {
            handle: 0x10,
            sc: qda_proto::Scalars::make(2, 1, 0).0,
            args: args.as_ptr() as u64,
        };
        let e = Plan::for_ioctl(
            Target::Fastrpc,
            Revision::May2026,
            uf::FASTRPC_IOCTL_INVOKE,
            &inv as *const _ as u64,
            None,
        )
        .unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
    }
}

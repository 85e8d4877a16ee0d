//! The messages between a DSP and its PD host process, one encoder and one
//! decoder for both sides.
//!
//! Both ends are on one machine and built from this crate: fixed parts are
//! `#[repr(C)]` zerocopy structs in native byte order, variable parts
//! (strings, inline bytes, runs) follow their header. Each message is a
//! frame: `u32 len`, then `len` bytes starting with [`ReqHeader`] or
//! [`RspHeader`], whose `id` matches a reply to its request (replies may
//! come back in any order: the host runs requests on a pool of threads).
//!
//! * open (`KIND_OPEN`): [`OpenReq`], path, symbol → reply payload: the
//!   skel's index (`u32`), or a failed status with the loader's text;
//! * invoke (`KIND_INVOKE`): [`InvokeReq`], then per argument an
//!   [`ArgHeader`] and its bytes or [`RunRef`]s → reply payload
//!   [`InvokeOut`]. Buffers are runs of files: the DSP passes the files
//!   themselves with the request (`SCM_RIGHTS` on the PD's socket, see
//!   [`send_frame`]), each only the first time the host needs it; a run
//!   then names its file by the index of the descriptor that came with the
//!   request ([`RunRef::slot`]) or, for a file sent before, by identity
//!   alone ([`NO_SLOT`]). A host that no longer holds such a file (its
//!   cache let it go) fails the request with [`STATUS_RESEND`] and the DSP
//!   sends it again with every file attached. The host never opens
//!   anything of the DSP's process;
//! * sandbox (`KIND_SANDBOX`): no body → reply payload: the bits of the
//!   host's [`crate::pd_host::Sandbox`] (`u32`), then the text of what is
//!   missing;
//! * map by fd (`KIND_MAP_FD`): one dma argument (`ARG_DMA`: the client's
//!   fd and the whole buffer's runs, files as for an invoke) the PD keeps
//!   in its fd table until unmap by fd (`KIND_UNMAP_FD`: `i64` fd) → empty
//!   reply payload;
//! * FARF lines: frames the host sends unasked, reply id 0 with status
//!   [`STATUS_FARF`];
//! * reverse calls (a skel's call to the client's listener): frames the
//!   host sends unasked, its own id and status [`STATUS_REVERSE`], payload
//!   `u32 handle, u32 sc` then the request as `listener_buf.h` lays it out
//!   ([`qda_proto::revbuf`]); the DSP answers with a request of kind
//!   `KIND_REVERSE_REPLY` under that id: `i32` status, `u32` pad, then the
//!   reply's output buffers (`revbuf`);
//! * ring (`KIND_RING`): no body, one descriptor: the PD's shared memory
//!   ([`ring`]), sent once after the host starts → empty reply payload, or
//!   a failed status (the DSP then keeps to the socket). Afterwards an
//!   invoke that passes no descriptor and fits a slot goes through the
//!   ring instead of the socket, its answer in a completion slot; the host
//!   answers such a call on the socket instead (a reply frame under its
//!   id) when the call sent frames of its own (FARF lines), so they reach
//!   the DSP before the answer does.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Version of these messages; the DSP passes it when it starts a host, and
/// a host of another version refuses to run (a stale `qda-pd-host` binary).
/// Change it with any change to the messages (6: reverse calls,
/// `STATUS_REVERSE` / `KIND_REVERSE_REPLY`; 7: reply frames are at most
/// [`MAX_REPLY`] bytes, a host cuts FARF lines and error texts to fit; 8:
/// the shared-memory ring, `KIND_RING`).
pub const WIRE_VERSION: &str = "8";

/// A run's file is one the host holds already (by `dev`/`ino`): no
/// descriptor came for it with this request.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Reply status (not an AEE code): the request named a file by identity
/// that the host does not hold; send it again with its files attached.
pub(crate) const STATUS_RESEND: u32 = 0xffff_ff01;

/// The most descriptors one request carries (the kernel's `SCM_MAX_FD`).
pub(crate) const MAX_FDS: usize = 253;

/// The longest reply frame body the DSP reads from a host. Replies are
/// small (an [`InvokeOut`], a skel index, the sandbox's text, a loader's
/// error text, a FARF line, cut to fit by [`encode_farf`]); a longer length
/// is a hostile or broken host, refused before anything is allocated for
/// it (a length of 4 GiB would otherwise be allocated whole).
pub(crate) const MAX_REPLY: usize = 1 << 20;

/// Request kind: load a skel.
pub(crate) const KIND_OPEN: u32 = 1;
/// Request kind: call a skel.
pub(crate) const KIND_INVOKE: u32 = 2;
/// Request kind: what confines the host.
pub(crate) const KIND_SANDBOX: u32 = 3;
/// Request kind: a buffer mapped persistently by fd (MEM_MAP).
pub(crate) const KIND_MAP_FD: u32 = 4;
/// Request kind: undo [`KIND_MAP_FD`].
pub(crate) const KIND_UNMAP_FD: u32 = 5;
/// Request kind: the answer to a reverse call ([`STATUS_REVERSE`]).
pub(crate) const KIND_REVERSE_REPLY: u32 = 6;
/// Request kind: the PD's shared memory ([`ring`]), its memfd attached.
pub(crate) const KIND_RING: u32 = 7;

/// Argument kind: a 64-bit handle value in `a`.
const ARG_HANDLE: u32 = 0;
/// Argument kind: a buffer, `count` runs; `a` = in-page lead, `b` = length.
const ARG_BUFFER: u32 = 1;
/// Argument kind: `count` bytes passed by value.
const ARG_BYTES: u32 = 2;
/// Argument kind: a dma handle, a [`DmaHeader`] then `count` runs (the
/// whole buffer); `a` = in-page lead, `b` = the buffer's size.
const ARG_DMA: u32 = 3;

/// Reply status of a frame the host sends unasked (id 0): a FARF line,
/// [`FarfHeader`] then the file and message bytes.
pub(crate) const STATUS_FARF: u32 = 0xffff_ff02;

/// Status of a frame the host sends unasked under its own id: a reverse
/// call for the client's listener.
pub(crate) const STATUS_REVERSE: u32 = 0xffff_ff03;

/// Start of every request.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub(crate) struct ReqHeader {
    /// Request id, echoed by the reply.
    pub id: u64,
    /// `KIND_*`.
    pub kind: u32,
    pad: u32,
}

/// Start of every reply.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub(crate) struct RspHeader {
    /// The request's id.
    pub id: u64,
    /// 0, or the AEE code the request failed with in the host.
    pub status: u32,
    pad: u32,
}

/// An open request; the path and symbol bytes follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
struct OpenReq {
    path_len: u32,
    symbol_len: u32,
    handle_style: u32,
    pad: u32,
}

/// An invoke request; `nargs` arguments follow.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
struct InvokeReq {
    skel: u32,
    sc: u32,
    handle: u64,
    nargs: u32,
    pad: u32,
}

/// One argument of an invoke.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
struct ArgHeader {
    kind: u32,
    count: u32,
    a: u64,
    b: u64,
}

/// What a skel's `remote_arg.dma` says, and where the buffer is for the DSP.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub(crate) struct DmaHeader {
    /// The client's fd.
    pub fd: i32,
    /// The client's offset.
    pub offset: u32,
    /// The client's length.
    pub len: u32,
    pad: u32,
    /// The buffer's DSP (SMMU) address.
    pub dsp_addr: u64,
}

/// A FARF line from the host.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
struct FarfHeader {
    level: i32,
    line: i32,
    file_len: u32,
    msg_len: u32,
}

/// A piece of a buffer: a range of one of the DSP's files.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub(crate) struct RunRef {
    /// Index of the file among the descriptors that came with the request,
    /// or [`NO_SLOT`] for a file the host holds already.
    pub slot: u32,
    pad: u32,
    /// `st_dev` of the file (with `ino`, its identity for the host's cache).
    pub dev: u64,
    /// `st_ino` of the file.
    pub ino: u64,
    /// The file's size.
    pub size: u64,
    /// Page-aligned offset of the piece in the file.
    pub offset: u64,
    /// Page-multiple length of the piece.
    pub len: u64,
}

impl RunRef {
    /// A piece of the file in `slot` (identity `dev`/`ino`, `size` bytes).
    pub(crate) fn new(slot: u32, (dev, ino): (u64, u64), size: u64, offset: u64, len: u64) -> RunRef {
        RunRef {
            slot,
            pad: 0,
            dev,
            ino,
            size,
            offset,
            len,
        }
    }
}

/// What an invoke returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub(crate) struct InvokeOut {
    /// The skel's return value.
    pub retval: i32,
    pad: u32,
    /// The 64-bit value of argument 2 after the call (the handle an open
    /// method returns).
    pub handle: u64,
}

impl InvokeOut {
    pub(crate) fn new(retval: i32, handle: u64) -> InvokeOut {
        InvokeOut { retval, pad: 0, handle }
    }
}

/// An argument of an invoke as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireArg<'a> {
    /// A 64-bit handle value.
    Handle(u64),
    /// Bytes by value.
    Bytes(&'a [u8]),
    /// A buffer: in-page offset of its first byte, length, pieces.
    Buffer { lead: u64, len: u64, runs: Vec<RunRef> },
    /// A dma handle: what the skel is told, and the whole buffer (`size`
    /// bytes, no runs when the client attached none).
    Dma {
        dma: DmaHeader,
        lead: u64,
        size: u64,
        runs: Vec<RunRef>,
    },
}

impl DmaHeader {
    pub(crate) fn new(fd: i32, offset: u32, len: u32, dsp_addr: u64) -> DmaHeader {
        DmaHeader {
            fd,
            offset,
            len,
            pad: 0,
            dsp_addr,
        }
    }
}

/// A request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// Load `symbol` of library `path`.
    Open {
        path: &'a [u8],
        symbol: &'a [u8],
        handle_style: bool,
    },
    /// Call skel `skel`.
    Invoke {
        skel: u32,
        handle: u64,
        sc: u32,
        args: Vec<WireArg<'a>>,
    },
    /// Report the host's sandbox.
    Sandbox,
    /// Make a buffer the PD's by fd until unmapped (a [`WireArg::Dma`]).
    MapFd(WireArg<'a>),
    /// The PD's persistent map of this fd goes.
    UnmapFd(i32),
    /// The answer to the host's reverse call: 0 and the outputs
    /// (`revbuf` reply), or an AEE code.
    ReverseReply { status: i32, reply: &'a [u8] },
    /// The PD's shared memory comes with this request (its one descriptor).
    Ring,
}

/// Append `v`'s bytes.
fn put<T: IntoBytes + Immutable>(out: &mut Vec<u8>, v: &T) {
    out.extend_from_slice(v.as_bytes());
}

/// Take a `T` from the front of `b`.
fn take<T: FromBytes>(b: &mut &[u8]) -> Option<T> {
    let (v, rest) = T::read_from_prefix(b).ok()?;
    *b = rest;
    Some(v)
}

/// Take `n` bytes from the front of `b`.
fn take_bytes<'a>(b: &mut &'a [u8], n: u32) -> Option<&'a [u8]> {
    let (v, rest) = b.split_at_checked(n as usize)?;
    *b = rest;
    Some(v)
}

/// A frame: the length, then `body`.
fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 4);
    f.extend_from_slice(&(body.len() as u32).to_ne_bytes());
    f.extend_from_slice(&body);
    f
}

/// Read one reply frame's body; an error at the end of the stream, and
/// for a length over [`MAX_REPLY`] (`InvalidData`, nothing allocated).
pub(crate) fn read_frame(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_ne_bytes(len) as usize;
    if len > MAX_REPLY {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes, over the {MAX_REPLY} a reply may have"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// Write the framed message `frame` with `fds` attached to it (at most
/// [`MAX_FDS`]). The descriptors travel with the frame's first bytes, so the
/// reader ([`read_frame_fds`]) receives them with the frame they belong to.
pub(crate) fn send_frame(sock: &UnixStream, frame: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
    let mut w = sock;
    if fds.is_empty() {
        return w.write_all(frame);
    }
    if fds.len() > MAX_FDS {
        return Err(std::io::Error::from_raw_os_error(libc::E2BIG));
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    if !cmsg.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(std::io::Error::from_raw_os_error(libc::E2BIG));
    }
    let sent = loop {
        match rustix::net::sendmsg(sock.as_fd(), &[IoSlice::new(frame)], &mut cmsg, SendFlags::NOSIGNAL) {
            Ok(n) => break n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    // The rest carries no descriptors.
    w.write_all(&frame[sent..])
}

/// A frame as read by [`read_frame_fds`].
#[derive(Debug)]
pub(crate) struct FdFrame {
    /// The frame's body.
    pub body: Vec<u8>,
    /// The descriptors that came with it.
    pub fds: Vec<OwnedFd>,
    /// Some descriptors were lost (`MSG_CTRUNC`: more than [`MAX_FDS`], or
    /// the reader's `RLIMIT_NOFILE` reached): the request cannot be served
    /// as sent, but the stream is intact.
    pub fds_lost: bool,
}

/// Read one frame's body and the descriptors that came with it; an error
/// at the end of the stream.
pub(crate) fn read_frame_fds(sock: &UnixStream) -> std::io::Result<FdFrame> {
    let mut f = FdFrame {
        body: Vec::new(),
        fds: Vec::new(),
        fds_lost: false,
    };
    let mut len = [0u8; 4];
    recv_exact(sock, &mut len, &mut f)?;
    let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
    recv_exact(sock, &mut body, &mut f)?;
    f.body = body;
    Ok(f)
}

/// Fill `buf` from `sock`, keeping any descriptors that come along in `f`.
fn recv_exact(sock: &UnixStream, mut buf: &mut [u8], f: &mut FdFrame) -> std::io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    while !buf.is_empty() {
        let mut cmsg = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(buf)];
        let r = match rustix::net::recvmsg(sock.as_fd(), &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC) {
            Ok(r) => r,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for m in cmsg.drain() {
            if let RecvAncillaryMessage::ScmRights(it) = m {
                f.fds.extend(it);
            }
        }
        f.fds_lost |= r.flags.contains(ReturnFlags::CTRUNC);
        if r.bytes == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[r.bytes..];
    }
    Ok(())
}

impl Request<'_> {
    /// The framed request with id `id`.
    pub(crate) fn encode(&self, id: u64) -> Vec<u8> {
        let mut b = Vec::new();
        match self {
            Request::Open {
                path,
                symbol,
                handle_style,
            } => {
                put(
                    &mut b,
                    &ReqHeader {
                        id,
                        kind: KIND_OPEN,
                        pad: 0,
                    },
                );
                put(
                    &mut b,
                    &OpenReq {
                        path_len: path.len() as u32,
                        symbol_len: symbol.len() as u32,
                        handle_style: u32::from(*handle_style),
                        pad: 0,
                    },
                );
                b.extend_from_slice(path);
                b.extend_from_slice(symbol);
            }
            Request::Sandbox => put(
                &mut b,
                &ReqHeader {
                    id,
                    kind: KIND_SANDBOX,
                    pad: 0,
                },
            ),
            Request::Invoke { skel, handle, sc, args } => {
                put(
                    &mut b,
                    &ReqHeader {
                        id,
                        kind: KIND_INVOKE,
                        pad: 0,
                    },
                );
                put(
                    &mut b,
                    &InvokeReq {
                        skel: *skel,
                        sc: *sc,
                        handle: *handle,
                        nargs: args.len() as u32,
                        pad: 0,
                    },
                );
                for a in args {
                    put_arg(&mut b, a);
                }
            }
            Request::MapFd(arg) => {
                put(
                    &mut b,
                    &ReqHeader {
                        id,
                        kind: KIND_MAP_FD,
                        pad: 0,
                    },
                );
                put_arg(&mut b, arg);
            }
            Request::UnmapFd(fd) => {
                put(
                    &mut b,
                    &ReqHeader {
                        id,
                        kind: KIND_UNMAP_FD,
                        pad: 0,
                    },
                );
                put(&mut b, &(i64::from(*fd)));
            }
            Request::Ring => put(
                &mut b,
                &ReqHeader {
                    id,
                    kind: KIND_RING,
                    pad: 0,
                },
            ),
            Request::ReverseReply { status, reply } => {
                put(
                    &mut b,
                    &ReqHeader {
                        id,
                        kind: KIND_REVERSE_REPLY,
                        pad: 0,
                    },
                );
                put(&mut b, status);
                put(&mut b, &0u32);
                b.extend_from_slice(reply);
            }
        }
        frame(b)
    }
}

/// Append one argument: its [`ArgHeader`], then its bytes or runs.
fn put_arg(b: &mut Vec<u8>, arg: &WireArg<'_>) {
    let (kind, count, a, len) = match arg {
        WireArg::Handle(h) => (ARG_HANDLE, 0, *h, 0),
        WireArg::Bytes(v) => (ARG_BYTES, v.len() as u32, 0, 0),
        WireArg::Buffer { lead, len, runs } => (ARG_BUFFER, runs.len() as u32, *lead, *len),
        WireArg::Dma { lead, size, runs, .. } => (ARG_DMA, runs.len() as u32, *lead, *size),
    };
    put(b, &ArgHeader { kind, count, a, b: len });
    match arg {
        WireArg::Handle(_) => {}
        WireArg::Bytes(v) => b.extend_from_slice(v),
        WireArg::Buffer { runs, .. } => b.extend_from_slice(runs.as_bytes()),
        WireArg::Dma { dma, runs, .. } => {
            put(b, dma);
            b.extend_from_slice(runs.as_bytes());
        }
    }
}

/// Take `count` runs from the front of `b`.
fn take_runs(b: &mut &[u8], count: u32) -> Option<Vec<RunRef>> {
    let n = (count as usize).checked_mul(size_of::<RunRef>())?;
    read_runs(take_bytes(b, u32::try_from(n).ok()?)?)
}

/// Take one argument from the front of `b`.
fn take_arg<'a>(b: &mut &'a [u8]) -> Option<WireArg<'a>> {
    let a: ArgHeader = take(b)?;
    Some(match a.kind {
        ARG_HANDLE => WireArg::Handle(a.a),
        ARG_BYTES => WireArg::Bytes(take_bytes(b, a.count)?),
        ARG_BUFFER => WireArg::Buffer {
            lead: a.a,
            len: a.b,
            runs: take_runs(b, a.count)?,
        },
        ARG_DMA => {
            let dma: DmaHeader = take(b)?;
            WireArg::Dma {
                dma,
                lead: a.a,
                size: a.b,
                runs: take_runs(b, a.count)?,
            }
        }
        _ => return None,
    })
}

/// Decode a request frame's body: its id and, if it is well formed, the
/// request.
pub(crate) fn decode_request(body: &[u8]) -> Option<(u64, Option<Request<'_>>)> {
    let mut b = body;
    let h: ReqHeader = take(&mut b)?;
    Some((h.id, decode_body(h.kind, b)))
}

fn decode_body(kind: u32, mut b: &[u8]) -> Option<Request<'_>> {
    match kind {
        KIND_OPEN => {
            let o: OpenReq = take(&mut b)?;
            Some(Request::Open {
                path: take_bytes(&mut b, o.path_len)?,
                symbol: take_bytes(&mut b, o.symbol_len)?,
                handle_style: o.handle_style != 0,
            })
        }
        KIND_INVOKE => {
            let r: InvokeReq = take(&mut b)?;
            // Each argument takes at least its header: a bound before allocating.
            if r.nargs as usize > b.len() / size_of::<ArgHeader>() {
                return None;
            }
            let mut args = Vec::with_capacity(r.nargs as usize);
            for _ in 0..r.nargs {
                args.push(take_arg(&mut b)?);
            }
            Some(Request::Invoke {
                skel: r.skel,
                handle: r.handle,
                sc: r.sc,
                args,
            })
        }
        KIND_SANDBOX => Some(Request::Sandbox),
        KIND_RING => Some(Request::Ring),
        KIND_MAP_FD => match take_arg(&mut b)? {
            d @ WireArg::Dma { .. } => Some(Request::MapFd(d)),
            _ => None,
        },
        KIND_UNMAP_FD => i32::try_from(take::<i64>(&mut b)?).ok().map(Request::UnmapFd),
        KIND_REVERSE_REPLY => {
            let status: i32 = take(&mut b)?;
            let _pad: u32 = take(&mut b)?;
            Some(Request::ReverseReply { status, reply: b })
        }
        _ => None,
    }
}

/// Runs from (possibly unaligned) bytes.
fn read_runs(mut raw: &[u8]) -> Option<Vec<RunRef>> {
    let mut v = Vec::with_capacity(raw.len() / size_of::<RunRef>());
    while !raw.is_empty() {
        v.push(take::<RunRef>(&mut raw)?);
    }
    Some(v)
}

/// A framed reply to request `id`: `status` 0 and `payload`, or a failure
/// status and its text.
pub(crate) fn encode_reply(id: u64, status: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(size_of::<RspHeader>() + payload.len());
    put(&mut b, &RspHeader { id, status, pad: 0 });
    b.extend_from_slice(payload);
    frame(b)
}

/// A reply frame's body: `(id, status, payload)`.
pub(crate) fn decode_reply(body: &[u8]) -> Option<(u64, u32, &[u8])> {
    let mut b = body;
    let h: RspHeader = take(&mut b)?;
    Some((h.id, h.status, b))
}

/// The longest source file name a FARF line carries.
const FARF_FILE_MAX: usize = 4096;

/// A framed FARF line (id 0, [`STATUS_FARF`]), as the host sends it; a file
/// name or message too long for a reply frame ([`MAX_REPLY`]) is cut.
pub(crate) fn encode_farf(f: &crate::farf::Farf) -> Vec<u8> {
    let file = &f.file.as_bytes()[..f.file.len().min(FARF_FILE_MAX)];
    let room = MAX_REPLY - size_of::<RspHeader>() - size_of::<FarfHeader>() - file.len();
    let msg = &f.msg.as_bytes()[..f.msg.len().min(room)];
    let mut p = Vec::with_capacity(size_of::<FarfHeader>() + file.len() + msg.len());
    put(
        &mut p,
        &FarfHeader {
            level: f.level,
            line: f.line,
            file_len: file.len() as u32,
            msg_len: msg.len() as u32,
        },
    );
    p.extend_from_slice(file);
    p.extend_from_slice(msg);
    encode_reply(0, STATUS_FARF, &p)
}

/// The FARF line a [`STATUS_FARF`] reply payload carries.
pub(crate) fn farf_out(mut payload: &[u8]) -> Option<crate::farf::Farf> {
    let h: FarfHeader = take(&mut payload)?;
    let file = take_bytes(&mut payload, h.file_len)?;
    let msg = take_bytes(&mut payload, h.msg_len)?;
    Some(crate::farf::Farf {
        level: h.level,
        file: String::from_utf8_lossy(file).into_owned(),
        line: h.line,
        msg: String::from_utf8_lossy(msg).into_owned(),
    })
}

/// A framed reverse call (the host's id `id`, [`STATUS_REVERSE`]).
pub(crate) fn encode_reverse(id: u64, handle: u32, sc: u32, request: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + request.len());
    put(&mut p, &handle);
    put(&mut p, &sc);
    p.extend_from_slice(request);
    encode_reply(id, STATUS_REVERSE, &p)
}

/// What a [`STATUS_REVERSE`] payload carries: `(handle, sc, request)`.
pub(crate) fn reverse_out(mut payload: &[u8]) -> Option<(u32, u32, &[u8])> {
    let handle: u32 = take(&mut payload)?;
    let sc: u32 = take(&mut payload)?;
    Some((handle, sc, payload))
}

/// The skel index an open reply carries.
pub(crate) fn open_out(payload: &[u8]) -> Option<u32> {
    u32::read_from_prefix(payload).ok().map(|(v, _)| v)
}

/// What a sandbox reply carries: the bits and the text of what is missing.
pub(crate) fn sandbox_out(payload: &[u8]) -> Option<(u32, String)> {
    let (bits, rest) = u32::read_from_prefix(payload).ok()?;
    Some((bits, String::from_utf8_lossy(rest).into_owned()))
}

/// What an invoke reply carries.
pub(crate) fn invoke_out(payload: &[u8]) -> Option<InvokeOut> {
    InvokeOut::read_from_prefix(payload).ok().map(|(v, _)| v)
}

pub(crate) mod ring;

#[cfg(test)]
mod tests;

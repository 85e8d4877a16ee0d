//! The qdad protocol: a plain binary format over a Unix stream socket,
//! documented in `docs/DAEMON.md` so that a small C layer can speak it.
//!
//! Every message is a 32-byte [`Header`] and `len` bytes of body, all
//! little-endian. File descriptors ride as `SCM_RIGHTS` on the message's
//! first byte (`nfds` of them). A connection is one open file: its first
//! request is [`Op::Open`]; closing the connection closes the file.
//! Requests on one connection may be pipelined (several client threads);
//! replies carry the request's `seq` and may come back out of order.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `"QDA1"` read as a little-endian u32.
pub const MAGIC: u32 = u32::from_le_bytes(*b"QDA1");
/// Protocol version.
pub const VERSION: u16 = 1;

/// Largest body of any message: 128 MiB. Larger inline arguments belong in
/// a dma-buf (they are passed by fd and never cross the socket).
pub const MAX_BODY: u32 = 128 << 20;
/// Most fds on one message (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;
/// Most memory segments in one ioctl request.
pub const MAX_SEGS: u32 = 4096;
/// Most VMAs described in one ioctl request.
pub const MAX_VMAS: u32 = 512;
/// Longest device path.
pub const MAX_PATH: usize = 4096;
/// An fd the driver installs for a client comes back in the reply as this
/// number plus its index among the reply's fds; the client swaps it for
/// the real fd it received.
pub const FD_PLACEHOLDER_BASE: i32 = 0x4000_0000;

/// The message header (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u32,
    /// [`VERSION`].
    pub version: u16,
    /// [`Op`] of the request (echoed in the reply).
    pub op: u16,
    /// Request number, echoed in the reply.
    pub seq: u32,
    /// Body bytes after the header.
    pub len: u32,
    /// File descriptors attached.
    pub nfds: u32,
    /// Reply: 0, or a negative errno. Requests: 0.
    pub status: i32,
    /// Reply: the syscall's return value. Requests: 0.
    pub value: i64,
}

/// Requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Op {
    /// Open a device node; body: the path. Must come first on a connection.
    Open = 1,
    /// `ioctl` on the connection's file; body: [`IoctlReq`] and what follows.
    Ioctl = 2,
    /// `mmap` of the connection's file; body: [`MmapFileReq`].
    Mmap = 3,
    /// `ioctl` on a dma-buf fd the request carries; body: [`IoctlReq`].
    DmabufIoctl = 4,
    /// The platform the daemon hosts; reply body: [`InfoRsp`] and data.
    Info = 5,
    /// Live-object counts; reply body: `name value` lines.
    Stats = 6,
    /// Device nodes; reply body: `path kind` lines.
    Nodes = 7,
    /// Turn on features the daemon offered in [`OpenRsp::features`]; body:
    /// [`SetupReq`]; reply body: [`SetupRsp`], with the ring's memfd
    /// attached when [`FEATURE_RING`] is on.
    Setup = 8,
    /// A request waits in the connection's ring and no daemon thread is
    /// free to take it (the ring's `free_servers` word was 0). No reply.
    Kick = 9,
}

impl Op {
    /// From the header field.
    pub fn from_u16(v: u16) -> Option<Op> {
        Some(match v {
            1 => Op::Open,
            2 => Op::Ioctl,
            3 => Op::Mmap,
            4 => Op::DmabufIoctl,
            5 => Op::Info,
            6 => Op::Stats,
            7 => Op::Nodes,
            8 => Op::Setup,
            9 => Op::Kick,
            _ => return None,
        })
    }
}

/// An ioctl request (32 bytes), followed by `nfds` × i32 client fd numbers
/// (padded to 8 bytes), `ncached` × [`CachedFd`], `nvmas` × [`Vma`],
/// `nsegs` × [`Seg`], then the bytes of every segment flagged [`SEG_IN`],
/// in order.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct IoctlReq {
    /// The ioctl command.
    pub cmd: u32,
    /// Memory segments.
    pub nsegs: u32,
    /// The ioctl argument (a client address or an integer).
    pub arg: u64,
    /// Fds attached (and their client numbers listed).
    pub nfds: u32,
    /// VMAs listed.
    pub nvmas: u32,
    /// [`Op::DmabufIoctl`]: the client's number of the dma-buf to act on.
    pub target: i32,
    /// Fds named by the client's number and identity only, the daemon
    /// holding them from an earlier request ([`FEATURE_FD_CACHE`]); zero
    /// on a connection without the fd cache.
    pub ncached: u32,
}

impl IoctlReq {
    /// Bytes of the request before the input segments' bytes: the struct,
    /// the fd numbers (padded to 8), the cached fds, the VMAs and the
    /// segments (`None` if the counts overflow).
    pub fn head_len(&self) -> Option<usize> {
        let nums = (self.nfds as usize).checked_mul(4)?.checked_next_multiple_of(8)?;
        size_of::<IoctlReq>()
            .checked_add(nums)?
            .checked_add((self.ncached as usize).checked_mul(size_of::<CachedFd>())?)?
            .checked_add((self.nvmas as usize).checked_mul(size_of::<Vma>())?)?
            .checked_add((self.nsegs as usize).checked_mul(size_of::<Seg>())?)
    }
}

/// An fd the client sent before and did not attach again (24 bytes): its
/// number and the identity of the file it refers to now, which must be
/// the daemon's cached file's ([`FEATURE_FD_CACHE`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct CachedFd {
    /// The client's fd number.
    pub num: i32,
    /// Zero.
    pub pad: u32,
    /// `st_dev` of the client's file.
    pub dev: u64,
    /// `st_ino` of the client's file.
    pub ino: u64,
}

/// Feature bit: the daemon keeps a reopened description of the dma-bufs a
/// connection passed (keyed by the client's number and the file's
/// identity), so a request may name them by [`CachedFd`] instead of
/// attaching them again.
pub const FEATURE_FD_CACHE: u32 = 1;
/// Feature bit: requests and replies through a shared-memory ring (the
/// layout is in [`crate::shm`]).
pub const FEATURE_RING: u32 = 2;
/// Every feature this side knows.
pub const FEATURES: u32 = FEATURE_FD_CACHE | FEATURE_RING;

/// [`IoctlRsp::flags`]: a [`CachedFd`] of the request is not (or no longer)
/// held by the daemon; nothing ran. Send the request again with the fds
/// attached.
pub const RSP_RESEND_FDS: u32 = 1;
/// [`IoctlRsp::flags`]: the daemon now holds every fd the request attached
/// (a reopened description each, [`FEATURE_FD_CACHE`]); later requests may
/// name them by [`CachedFd`] while the client's numbers still refer to the
/// same files.
pub const RSP_FDS_CACHED: u32 = 2;

/// The body of [`Op::Setup`] (16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SetupReq {
    /// Features wanted (a subset of those offered).
    pub features: u32,
    /// [`FEATURE_RING`]: call slots (a power of two, 2..=64).
    pub slots: u32,
    /// [`FEATURE_RING`]: bytes of each slot's data region (a multiple of
    /// 4096, 16 KiB..=1 MiB).
    pub region: u32,
    /// Zero.
    pub pad: u32,
}

/// The reply to [`Op::Setup`] (8 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct SetupRsp {
    /// Features now on.
    pub features: u32,
    /// Zero.
    pub pad: u32,
}

/// A client mapping a pointer argument lies in (40 bytes): what the kernel's
/// `find_vma` would find.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Vma {
    /// Start address.
    pub start: u64,
    /// Length.
    pub len: u64,
    /// `st_dev` of the mapped file.
    pub dev: u64,
    /// `st_ino` of the mapped file.
    pub ino: u64,
    /// File offset of `start`.
    pub file_off: u64,
}

/// A range of client memory (16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Seg {
    /// Client address.
    pub addr: u64,
    /// Length.
    pub len: u32,
    /// [`SEG_IN`] | [`SEG_OUT`].
    pub flags: u32,
}

/// The segment's bytes follow in the request (the driver may read them).
pub const SEG_IN: u32 = 1;
/// The driver may write the segment (zero-filled if not also `SEG_IN`).
pub const SEG_OUT: u32 = 2;

/// An ioctl reply (16 bytes), followed by `nsegs` × [`Seg`] (the ranges the
/// driver wrote), their bytes, then `msg_len` bytes of error text. The fds
/// the driver installed are attached, in the order of their placeholder
/// numbers ([`FD_PLACEHOLDER_BASE`] + i).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct IoctlRsp {
    /// Written ranges.
    pub nsegs: u32,
    /// Fds attached.
    pub nfds: u32,
    /// Error text bytes at the end.
    pub msg_len: u32,
    /// [`RSP_RESEND_FDS`], [`RSP_FDS_CACHED`], else zero.
    pub flags: u32,
}

/// An mmap request (24 bytes). The reply carries one fd (a new open file
/// description of the object's memory) and, as body, the u64 file offset
/// to map it at.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MmapFileReq {
    /// The fake offset (from `GEM_MMAP_OFFSET`).
    pub offset: u64,
    /// Bytes.
    pub len: u64,
    /// 1 for `PROT_WRITE`.
    pub writable: u32,
    /// Zero.
    pub pad: u32,
}

/// The reply to [`Op::Open`] (8 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OpenRsp {
    /// QDA UAPI revision: 0 May 2026, 1 the Feb 2026 RFC.
    pub revision: u32,
    /// Features the daemon offers ([`FEATURE_FD_CACHE`], [`FEATURE_RING`]);
    /// an older daemon sends zero. A client turns them on with
    /// [`Op::Setup`] and uses none it was not offered.
    pub features: u32,
}

/// The reply to [`Op::Info`] (16 bytes), followed by the device tree blob
/// and the name of where it came from.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct InfoRsp {
    /// Bytes of DTB.
    pub dtb_len: u32,
    /// Bytes of source name.
    pub src_len: u32,
    /// The daemon's pid.
    pub pid: u32,
    /// 0 user PDs are processes, 1 threads.
    pub pd_mode: u32,
}

/// What can go wrong on the socket.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The peer closed the connection.
    #[error("connection closed")]
    Closed,
    /// I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Nothing arrived within the socket's receive timeout (no byte of a
    /// message had been read): the connection is idle.
    #[error("no message within the receive timeout")]
    Idle,
}

impl WireError {
    /// The errno a caller of the emulated syscall sees.
    pub fn errno(&self) -> i32 {
        match self {
            WireError::Closed => libc::EPIPE,
            WireError::Io(e) => e.raw_os_error().unwrap_or(libc::EIO),
            WireError::Protocol(_) => libc::EPROTO,
            WireError::Idle => libc::EAGAIN,
        }
    }
}

/// One message.
#[derive(Debug, Default)]
pub struct Message {
    /// The header.
    pub hdr: Header,
    /// The body.
    pub body: Vec<u8>,
    /// Attached fds.
    pub fds: Vec<OwnedFd>,
}

/// Send one message: the header and body parts, with `fds` on the first
/// byte. Never raises `SIGPIPE`.
pub fn send(sock: &UnixStream, mut hdr: Header, parts: &[&[u8]], fds: &[BorrowedFd<'_>]) -> Result<(), WireError> {
    if fds.len() > MAX_FDS {
        return Err(WireError::Protocol(format!("{} fds exceed {MAX_FDS}", fds.len())));
    }
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > MAX_BODY as usize {
        return Err(WireError::Protocol(format!("body of {len} bytes exceeds {MAX_BODY}")));
    }
    hdr.magic = MAGIC;
    hdr.version = VERSION;
    hdr.len = len as u32;
    hdr.nfds = fds.len() as u32;
    let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len() + 1);
    iov.push(IoSlice::new(hdr.as_bytes()));
    iov.extend(parts.iter().filter(|p| !p.is_empty()).map(|p| IoSlice::new(p)));
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !cmsg.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(WireError::Protocol("fds do not fit the control buffer".into()));
    }
    let total = size_of::<Header>() + len;
    let mut sent = rustix::net::sendmsg(sock.as_fd(), &iov, &mut cmsg, SendFlags::NOSIGNAL)
        .map_err(|e| WireError::Io(e.into()))?;
    if sent < total {
        // The rest carries no fds: plain writes.
        let mut rest = Vec::with_capacity(total - sent);
        for s in &iov {
            rest.extend_from_slice(s);
        }
        let mut w = sock;
        while sent < total {
            match rustix::net::send(w.as_fd(), &rest[sent..], SendFlags::NOSIGNAL) {
                Ok(n) => sent += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
        w.flush()?;
    }
    Ok(())
}

/// Receive one message. `Closed` on a clean end of stream before a header.
pub fn recv(sock: &UnixStream) -> Result<Message, WireError> {
    let (hdr, fds) = recv_header(sock)?;
    let body = recv_body(sock, &hdr)?;
    Ok(Message { hdr, body, fds })
}

/// Receive a message's header and the fds that came with it, checked
/// (magic, version, body size, fd count), leaving its body on the socket:
/// a server counts the fds before it waits for the body.
pub fn recv_header(sock: &UnixStream) -> Result<(Header, Vec<OwnedFd>), WireError> {
    let mut hdr = Header::default();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let got = loop {
        let mut iov = [IoSliceMut::new(hdr.as_mut_bytes())];
        match rustix::net::recvmsg(sock.as_fd(), &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC) {
            Ok(r) => {
                if r.flags.contains(rustix::net::ReturnFlags::CTRUNC) {
                    return Err(WireError::Protocol("control data truncated (too many fds)".into()));
                }
                break r.bytes;
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => return Err(WireError::Idle),
            Err(e) => return Err(WireError::Io(e.into())),
        }
    };
    let mut fds = Vec::new();
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(it) = m {
            fds.extend(it);
        }
    }
    if got == 0 {
        return Err(WireError::Closed);
    }
    if got < size_of::<Header>() {
        let mut r = sock;
        r.read_exact(&mut hdr.as_mut_bytes()[got..]).map_err(eof_is_closed)?;
    }
    if hdr.magic != MAGIC || hdr.version != VERSION {
        return Err(WireError::Protocol(format!(
            "bad magic 0x{:08x} or version {}",
            hdr.magic, hdr.version
        )));
    }
    if hdr.len > MAX_BODY {
        return Err(WireError::Protocol(format!(
            "body of {} bytes exceeds {MAX_BODY}",
            hdr.len
        )));
    }
    if hdr.nfds as usize != fds.len() {
        return Err(WireError::Protocol(format!(
            "header announces {} fds, {} arrived",
            hdr.nfds,
            fds.len()
        )));
    }
    Ok((hdr, fds))
}

/// Receive the body `hdr` announces.
pub fn recv_body(sock: &UnixStream, hdr: &Header) -> Result<Vec<u8>, WireError> {
    let mut body = vec![0u8; hdr.len as usize];
    let mut r = sock;
    r.read_exact(&mut body).map_err(eof_is_closed)?;
    Ok(body)
}

/// Read and drop the body `hdr` announces without holding it in memory.
pub fn skip_body(sock: &UnixStream, hdr: &Header) -> Result<(), WireError> {
    let mut left = hdr.len as u64;
    let mut buf = [0u8; 64 * 1024];
    let mut r = sock;
    while left > 0 {
        let n = (left as usize).min(buf.len());
        r.read_exact(&mut buf[..n]).map_err(eof_is_closed)?;
        left -= n as u64;
    }
    Ok(())
}

fn eof_is_closed(e: std::io::Error) -> WireError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Protocol("connection closed in the middle of a message".into())
    } else {
        WireError::Io(e)
    }
}

/// A little cursor over a body, for the fixed-layout parts.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| WireError::Protocol(format!("body too short: {n} bytes at {}", self.at)))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    /// The next struct.
    pub fn get<T: FromBytes + KnownLayout + Immutable>(&mut self) -> Result<T, WireError> {
        let b = self.bytes(size_of::<T>())?;
        T::read_from_bytes(b).map_err(|_| WireError::Protocol("misaligned struct".into()))
    }
    /// `n` structs.
    pub fn array<T: FromBytes + KnownLayout + Immutable>(&mut self, n: usize) -> Result<Vec<T>, WireError> {
        (0..n).map(|_| self.get::<T>()).collect()
    }
    /// Skip to a multiple of 8.
    pub fn align8(&mut self) -> Result<(), WireError> {
        let pad = self.at.next_multiple_of(8) - self.at;
        self.bytes(pad).map(|_| ())
    }
    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn layouts_are_fixed() {
        assert_eq!(size_of::<Header>(), 32);
        assert_eq!(offset_of!(Header, op), 6);
        assert_eq!(offset_of!(Header, seq), 8);
        assert_eq!(offset_of!(Header, len), 12);
        assert_eq!(offset_of!(Header, nfds), 16);
        assert_eq!(offset_of!(Header, status), 20);
        assert_eq!(offset_of!(Header, value), 24);
        assert_eq!(size_of::<IoctlReq>(), 32);
        assert_eq!(offset_of!(IoctlReq, arg), 8);
        assert_eq!(offset_of!(IoctlReq, target), 24);
        assert_eq!(size_of::<Vma>(), 40);
        assert_eq!(size_of::<Seg>(), 16);
        assert_eq!(size_of::<IoctlRsp>(), 16);
        assert_eq!(size_of::<MmapFileReq>(), 24);
        assert_eq!(size_of::<OpenRsp>(), 8);
        assert_eq!(size_of::<CachedFd>(), 24);
        assert_eq!(size_of::<SetupReq>(), 16);
        assert_eq!(size_of::<SetupRsp>(), 8);
        assert_eq!(size_of::<InfoRsp>(), 16);
        assert_eq!(MAGIC.to_le_bytes(), *b"QDA1");
    }

    #[test]
    fn messages_and_fds_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        let f = qda_os::memfd("t", 4096).unwrap();
        let hdr = Header {
            op: Op::Ioctl as u16,
            seq: 7,
            value: -3,
            ..Default::default()
        };
        send(&a, hdr, &[b"hello ", b"world"], &[f.as_fd()]).unwrap();
        send(&a, Header::default(), &[], &[]).unwrap();
        let m = recv(&b).unwrap();
        assert_eq!((m.hdr.seq, m.hdr.value, m.hdr.op), (7, -3, 2));
        assert_eq!(m.body, b"hello world");
        assert_eq!(m.fds.len(), 1);
        assert_eq!(
            qda_os::file_id(m.fds[0].as_fd()).unwrap(),
            qda_os::file_id(f.as_fd()).unwrap()
        );
        let m = recv(&b).unwrap();
        assert!(m.body.is_empty() && m.fds.is_empty());
        drop(a);
        assert!(matches!(recv(&b), Err(WireError::Closed)));
    }

    #[test]
    fn a_large_body_arrives_whole() {
        let (a, b) = UnixStream::pair().unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        let t = std::thread::spawn(move || recv(&b).unwrap());
        send(&a, Header::default(), &[&big], &[]).unwrap();
        assert_eq!(t.join().unwrap().body, big);
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[0xffu8; 32]).unwrap();
        assert!(matches!(recv(&b), Err(WireError::Protocol(_))));
        let (mut a, b) = UnixStream::pair().unwrap();
        let h = Header {
            magic: MAGIC,
            version: VERSION,
            len: MAX_BODY + 1,
            ..Default::default()
        };
        a.write_all(h.as_bytes()).unwrap();
        assert!(matches!(recv(&b), Err(WireError::Protocol(_))));
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&h.as_bytes()[..10]).unwrap();
        drop(a);
        assert!(matches!(recv(&b), Err(WireError::Protocol(_))));
    }

    #[test]
    fn reader_bounds() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.bytes(2).is_ok());
        assert!(r.bytes(2).is_err());
        assert!(r.bytes(usize::MAX).is_err());
    }
}

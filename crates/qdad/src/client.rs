//! The client side of the qdad protocol: a connection per open file, and
//! the marshalling of every ioctl the driver serves. The client copies what
//! the kernel would copy from user memory (the argument struct, an invoke's
//! argument array and inline buffers, a shell or a name), sends the fds the
//! call names under its own numbers, describes the mappings its dma-buf
//! pointers lie in, and afterwards writes back what the driver wrote and
//! installs the fds it returned. Buffer contents passed by fd never cross
//! the socket.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

use qda_driver::sys::{self, MapInfo, Mapping};
use qda_driver::usermem::FD_PLACEHOLDER_BASE;
use qda_driver::{Errno, Error};
use qda_proto::Scalars;
use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc_dir, ioc_nr, ioc_size, ioc_type};
use qda_uapi::{dma_buf as ub, dma_heap as uh, drm as ud, fastrpc as uf, qda as uq, udmabuf as uu};
use zerocopy::{FromBytes, IntoBytes};

use crate::wire::{self, Header, IoctlReq, IoctlRsp, MAX_BODY, Message, Op, Reader, SEG_IN, SEG_OUT, Seg, Vma};

/// Where a daemon listens by default: `$XDG_RUNTIME_DIR/qda/qdad.sock`,
/// else `/run/qda/qdad.sock`.
pub fn default_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("qda/qdad.sock"),
        _ => PathBuf::from("/run/qda/qdad.sock"),
    }
}

/// The socket clients use: `QDA_SOCKET` if set, else [`default_socket`].
pub fn socket_path() -> PathBuf {
    match std::env::var_os("QDA_SOCKET") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => default_socket(),
    }
}

fn err(errno: i32, what: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Errno(errno), what)
}

fn wire_err(e: wire::WireError) -> Error {
    err(e.errno(), format!("qdad: {e}"))
}

#[derive(Debug, Default)]
struct RecvState {
    /// A thread is reading the socket for everyone.
    reading: bool,
    /// Replies that arrived for other threads.
    done: HashMap<u32, Message>,
    /// The connection failed: every waiter gets this.
    dead: Option<(i32, String)>,
}

/// One connection to qdad. Many threads may call at once: whoever waits
/// reads the socket for all (no reader thread, so a lone caller pays no
/// hand-off).
#[derive(Debug)]
pub struct Connection {
    sock: UnixStream,
    send: Mutex<()>,
    state: Mutex<RecvState>,
    cv: Condvar,
    seq: AtomicU32,
}

impl Connection {
    /// Connect to the daemon at `path`.
    pub fn connect(path: &Path) -> Result<Connection, Error> {
        let sock = UnixStream::connect(path).map_err(|e| {
            err(
                e.raw_os_error().unwrap_or(libc::ECONNREFUSED),
                format!("no qdad at {}: {e}", path.display()),
            )
        })?;
        Ok(Connection {
            sock,
            send: Mutex::new(()),
            state: Mutex::new(RecvState::default()),
            cv: Condvar::new(),
            seq: AtomicU32::new(1),
        })
    }

    /// Send a request and wait for its reply. A reply with a negative
    /// status is returned as is (its body may carry written memory).
    pub fn call(&self, op: Op, parts: &[&[u8]], fds: &[BorrowedFd<'_>]) -> Result<Message, Error> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let hdr = Header {
            op: op as u16,
            seq,
            ..Default::default()
        };
        {
            let _g = self.send.lock().unwrap_or_else(|e| e.into_inner());
            wire::send(&self.sock, hdr, parts, fds).map_err(wire_err)?;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(m) = st.done.remove(&seq) {
                return Ok(m);
            }
            if let Some((errno, why)) = &st.dead {
                return Err(err(*errno, format!("qdad connection lost: {why}")));
            }
            if st.reading {
                st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.reading = true;
            drop(st);
            let r = wire::recv(&self.sock);
            st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.reading = false;
            match r {
                Ok(m) => {
                    st.done.insert(m.hdr.seq, m);
                }
                Err(e) => st.dead = Some((e.errno(), e.to_string())),
            }
            self.cv.notify_all();
        }
    }

    /// The socket (for tests that need to kill it).
    pub fn socket(&self) -> &UnixStream {
        &self.sock
    }
}

fn status(m: &Message, what: &str) -> Result<(), Error> {
    if m.hdr.status < 0 {
        let text = String::from_utf8_lossy(&m.body).into_owned();
        return Err(err(
            -m.hdr.status,
            if text.is_empty() { what.to_string() } else { text },
        ));
    }
    Ok(())
}

/// What a device node is, from its path (the same rules the driver names
/// them by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `/dev/accel/accelN`.
    Accel,
    /// `/dev/fastrpc-*`.
    Fastrpc,
    /// `/dev/dma_heap/*`.
    Heap,
    /// `/dev/udmabuf`.
    Udmabuf,
}

impl NodeKind {
    /// From a path.
    pub fn of(path: &str) -> Option<NodeKind> {
        if path.starts_with("/dev/accel/") {
            Some(NodeKind::Accel)
        } else if path.starts_with("/dev/fastrpc-") {
            Some(NodeKind::Fastrpc)
        } else if path.starts_with("/dev/dma_heap/") {
            Some(NodeKind::Heap)
        } else if path == "/dev/udmabuf" {
            Some(NodeKind::Udmabuf)
        } else {
            None
        }
    }
}

/// A device node opened through qdad: one connection.
#[derive(Debug)]
pub struct DaemonFile {
    conn: Connection,
    kind: NodeKind,
    rfc: bool,
    path: String,
}

impl DaemonFile {
    /// Open `path` on the daemon at `socket`.
    pub fn open(socket: &Path, path: &str) -> Result<DaemonFile, Error> {
        let kind = NodeKind::of(path).ok_or_else(|| err(libc::ENOENT, format!("{path}: not a qda device node")))?;
        if path.len() > wire::MAX_PATH {
            return Err(err(libc::ENAMETOOLONG, "device path too long"));
        }
        let conn = Connection::connect(socket)?;
        let m = conn.call(Op::Open, &[path.as_bytes()], &[])?;
        status(&m, &format!("open {path}"))?;
        let rsp: wire::OpenRsp = Reader::new(&m.body).get().map_err(wire_err)?;
        Ok(DaemonFile {
            conn,
            kind,
            rfc: rsp.revision == 1,
            path: path.to_string(),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `ioctl(fd, cmd, arg)`, with `arg` in this process's memory.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, Error> {
        let plan = Plan::for_ioctl(self.kind, self.rfc, cmd, arg)?;
        plan.run(&self.conn, Op::Ioctl, cmd, arg, -1)
    }

    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub fn mmap(&self, offset: u64, len: usize, writable: bool) -> Result<Mapping, Error> {
        let req = wire::MmapReq {
            offset,
            len: len as u64,
            writable: writable as u32,
            pad: 0,
        };
        let m = self.conn.call(Op::Mmap, &[req.as_bytes()], &[])?;
        status(&m, "mmap")?;
        let file_off: u64 = Reader::new(&m.body).get().map_err(wire_err)?;
        let fd = m
            .fds
            .first()
            .ok_or_else(|| err(libc::EPROTO, "qdad: mmap reply without a file"))?;
        Mapping::map(fd.as_fd(), file_off, len, writable)
    }
}

/// A control connection: the daemon's platform, counts and nodes, and
/// ioctls on dma-buf fds.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    conn: Connection,
}

/// What [`Client::info`] returns.
#[derive(Debug, Clone)]
pub struct Info {
    /// The device tree blob the daemon booted.
    pub dtb: Vec<u8>,
    /// Where it came from (a file, or "built-in").
    pub source: String,
    /// The daemon's pid.
    pub pid: u32,
    /// True when user PDs are threads.
    pub thread_pds: bool,
}

impl Client {
    /// Connect to the daemon at `socket`.
    pub fn connect(socket: &Path) -> Result<Client, Error> {
        Ok(Client {
            socket: socket.to_path_buf(),
            conn: Connection::connect(socket)?,
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The platform.
    pub fn info(&self) -> Result<Info, Error> {
        let m = self.conn.call(Op::Info, &[], &[])?;
        status(&m, "info")?;
        let mut r = Reader::new(&m.body);
        let i: wire::InfoRsp = r.get().map_err(wire_err)?;
        let dtb = r.bytes(i.dtb_len as usize).map_err(wire_err)?.to_vec();
        let source = String::from_utf8_lossy(r.bytes(i.src_len as usize).map_err(wire_err)?).into_owned();
        Ok(Info {
            dtb,
            source,
            pid: i.pid,
            thread_pds: i.pd_mode == 1,
        })
    }

    /// Live-object counts and traffic counters, by name.
    pub fn stats(&self) -> Result<Vec<(String, u64)>, Error> {
        let m = self.conn.call(Op::Stats, &[], &[])?;
        status(&m, "stats")?;
        Ok(lines(&m.body).filter_map(|(k, v)| Some((k, v.parse().ok()?))).collect())
    }

    /// Device nodes: `(path, kind)`.
    pub fn nodes(&self) -> Result<Vec<(String, String)>, Error> {
        let m = self.conn.call(Op::Nodes, &[], &[])?;
        status(&m, "nodes")?;
        Ok(lines(&m.body).collect())
    }

    /// `ioctl` on a dma-buf fd of this process (SYNC, SET_NAME).
    pub fn dmabuf_ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, Error> {
        let mut plan = Plan::for_dmabuf(cmd, arg);
        let n = fd.as_raw_fd();
        plan.fd(n);
        plan.run(&self.conn, Op::DmabufIoctl, cmd, arg, n)
    }
}

fn lines(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
}

/// Where an ioctl returns an fd.
#[derive(Debug, Clone, Copy)]
enum FdOut {
    /// The syscall's return value.
    Ret,
    /// An i32 at this client address.
    At(u64),
}

/// What one ioctl sends and expects.
#[derive(Debug, Default)]
struct Plan {
    segs: Vec<Seg>,
    data: Vec<u8>,
    fds: Vec<i32>,
    vmas: Vec<MapInfo>,
    fd_out: Option<FdOut>,
    out_bytes: u64,
}

impl Plan {
    /// A segment; `SEG_IN` bytes are copied now. Unreadable memory is left
    /// out, so the driver faults (`EFAULT`) exactly where it reads it.
    fn seg(&mut self, addr: u64, len: u64, flags: u32) -> Result<(), Error> {
        if len == 0 {
            return Ok(());
        }
        if len > MAX_BODY as u64 {
            return Err(too_big(len));
        }
        if flags & SEG_IN != 0 {
            let at = self.data.len();
            self.data.resize(at + len as usize, 0);
            if sys::copy_from_self(addr, &mut self.data[at..]).is_err() {
                self.data.truncate(at);
                return Ok(());
            }
            if self.data.len() > MAX_BODY as usize {
                return Err(too_big(self.data.len() as u64));
            }
        } else {
            self.out_bytes += len;
            if self.out_bytes > MAX_BODY as u64 {
                return Err(too_big(self.out_bytes));
            }
        }
        self.segs.push(Seg {
            addr,
            len: len as u32,
            flags,
        });
        Ok(())
    }

    /// The ioctl's own struct, as its number encodes it.
    fn arg_struct(&mut self, cmd: u32, arg: u64) -> Result<(), Error> {
        let dir = ioc_dir(cmd);
        let mut flags = 0;
        if dir & IOC_WRITE != 0 {
            flags |= SEG_IN;
        }
        if dir & IOC_READ != 0 {
            flags |= SEG_OUT;
        }
        if flags != 0 {
            self.seg(arg, ioc_size(cmd) as u64, flags)?;
        }
        Ok(())
    }

    /// A local copy of a struct at `addr` (None if unreadable).
    fn peek<T: FromBytes + IntoBytes>(addr: u64) -> Option<T> {
        let mut v = T::new_zeroed();
        sys::copy_from_self(addr, v.as_mut_bytes()).ok()?;
        Some(v)
    }

    /// An fd the call names. Numbers not open here are not sent (the
    /// driver answers `EBADF` where it looks them up).
    fn fd(&mut self, n: i32) {
        if n >= 0 && !self.fds.contains(&n) && sys::borrow_raw(n).is_ok() {
            self.fds.push(n);
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

    /// An invoke's argument array and buffers.
    fn invoke_args(&mut self, sc: u32, args: u64, dma: impl Fn(i32) -> bool) -> Result<(), Error> {
        let sc = Scalars(sc);
        let n = sc.len();
        let bytes = (n * size_of::<uf::FastrpcInvokeArgs>()) as u64;
        self.seg(args, bytes, SEG_IN)?;
        for i in 0..n {
            let Some(a) = Self::peek::<uf::FastrpcInvokeArgs>(args + (i * size_of::<uf::FastrpcInvokeArgs>()) as u64)
            else {
                return Ok(());
            };
            if dma(a.fd) {
                self.fd(a.fd);
                if i < sc.nbufs() {
                    self.vma(a.ptr);
                }
            } else if i < sc.inbufs() as usize {
                self.seg(a.ptr, a.length, SEG_IN)?;
            } else if i < sc.nbufs() {
                self.seg(a.ptr, a.length, SEG_OUT)?;
            }
        }
        Ok(())
    }

    /// A process shell: by fd (a mapping to describe) or copied.
    fn shell(&mut self, filelen: u32, filefd: i32, file: u64, dma: bool) -> Result<(), Error> {
        if filelen == 0 {
            return Ok(());
        }
        if dma {
            self.fd(filefd);
            self.vma(file);
            Ok(())
        } else {
            self.seg(file, filelen as u64, SEG_IN)
        }
    }

    fn for_ioctl(kind: NodeKind, rfc: bool, cmd: u32, arg: u64) -> Result<Plan, Error> {
        let mut p = Plan::default();
        match kind {
            NodeKind::Accel => p.accel(rfc, cmd, arg)?,
            NodeKind::Fastrpc => p.fastrpc(cmd, arg)?,
            NodeKind::Heap => {
                p.arg_struct(cmd, arg)?;
                if cmd == uh::DMA_HEAP_IOCTL_ALLOC {
                    p.fd_out = Some(FdOut::At(
                        arg + std::mem::offset_of!(uh::DmaHeapAllocationData, fd) as u64,
                    ));
                }
            }
            NodeKind::Udmabuf => p.udmabuf(cmd, arg)?,
        }
        Ok(p)
    }

    fn accel(&mut self, rfc: bool, cmd: u32, arg: u64) -> Result<(), Error> {
        self.arg_struct(cmd, arg)?;
        if ioc_type(cmd) != ud::DRM_IOCTL_BASE {
            return Ok(());
        }
        let qda_dma = |fd: i32| !rfc && fd > 0;
        match ioc_nr(cmd) {
            ud::DRM_VERSION_NR => {
                if let Some(v) = Self::peek::<ud::DrmVersion>(arg) {
                    for (p, l) in [(v.name, v.name_len), (v.date, v.date_len), (v.desc, v.desc_len)] {
                        self.seg(p, l.min(4096), SEG_OUT)?;
                    }
                }
            }
            ud::DRM_PRIME_FD_TO_HANDLE_NR => {
                if let Some(h) = Self::peek::<ud::DrmPrimeHandle>(arg) {
                    self.fd(h.fd);
                }
            }
            ud::DRM_PRIME_HANDLE_TO_FD_NR => {
                self.fd_out = Some(FdOut::At(arg + std::mem::offset_of!(ud::DrmPrimeHandle, fd) as u64));
            }
            nr if nr == ud::DRM_COMMAND_BASE + uq::DRM_QDA_REMOTE_INVOKE => {
                if let Some(i) = Self::peek::<uq::DrmQdaInvokeArgs>(arg) {
                    self.invoke_args(i.sc, i.args, qda_dma)?;
                }
            }
            nr if nr == ud::DRM_COMMAND_BASE + uq::DRM_QDA_REMOTE_SESSION_CREATE => {
                if let Some(i) = Self::peek::<uq::DrmQdaInitCreate>(arg) {
                    self.shell(i.filelen, i.filefd, i.file, qda_dma(i.filefd))?;
                }
            }
            nr if nr == ud::DRM_COMMAND_BASE + uq::DRM_QDA_REMOTE_MAP => {
                if let Some(m) = Self::peek::<uq::DrmQdaMemMap>(arg) {
                    self.fd(m.fd);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn fastrpc(&mut self, cmd: u32, arg: u64) -> Result<(), Error> {
        self.arg_struct(cmd, arg)?;
        let legacy_dma = |fd: i32| fd != 0 && fd != -1;
        match cmd {
            uf::FASTRPC_IOCTL_ALLOC_DMA_BUFF => {
                self.fd_out = Some(FdOut::At(arg + std::mem::offset_of!(uf::FastrpcAllocDmaBuf, fd) as u64));
            }
            uf::FASTRPC_IOCTL_INVOKE => {
                if let Some(i) = Self::peek::<uf::FastrpcInvoke>(arg) {
                    self.invoke_args(i.sc, i.args, legacy_dma)?;
                }
            }
            uf::FASTRPC_IOCTL_INIT_CREATE => {
                if let Some(i) = Self::peek::<uf::FastrpcInitCreate>(arg) {
                    self.shell(i.filelen, i.filefd, i.file, legacy_dma(i.filefd))?;
                }
            }
            uf::FASTRPC_IOCTL_INIT_CREATE_STATIC => {
                if let Some(i) = Self::peek::<uf::FastrpcInitCreateStatic>(arg)
                    && i.namelen <= uf::INIT_FILE_NAMELEN_MAX
                {
                    self.seg(i.name, i.namelen as u64, SEG_IN)?;
                }
            }
            uf::FASTRPC_IOCTL_MEM_MAP => {
                if let Some(m) = Self::peek::<uf::FastrpcMemMap>(arg) {
                    self.fd(m.fd);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn udmabuf(&mut self, cmd: u32, arg: u64) -> Result<(), Error> {
        match cmd {
            uu::UDMABUF_CREATE => {
                self.arg_struct(cmd, arg)?;
                if let Some(c) = Self::peek::<uu::UdmabufCreate>(arg) {
                    self.fd(c.memfd as i32);
                }
                self.fd_out = Some(FdOut::Ret);
            }
            uu::UDMABUF_CREATE_LIST => {
                self.arg_struct(cmd, arg)?;
                if let Some(h) = Self::peek::<uu::UdmabufCreateList>(arg) {
                    // The driver checks the count against its limit before
                    // reading the items; send at most that many.
                    let n = h.count.min(uu::UDMABUF_LIST_LIMIT_DEFAULT) as u64;
                    let item = size_of::<uu::UdmabufCreateItem>() as u64;
                    let items = arg + uu::UdmabufCreateList::items_offset() as u64;
                    self.seg(items, n * item, SEG_IN)?;
                    for i in 0..n {
                        if let Some(it) = Self::peek::<uu::UdmabufCreateItem>(items + i * item) {
                            self.fd(it.memfd as i32);
                        }
                    }
                }
                self.fd_out = Some(FdOut::Ret);
            }
            _ => {}
        }
        Ok(())
    }

    fn for_dmabuf(cmd: u32, arg: u64) -> Plan {
        let mut p = Plan::default();
        match cmd {
            ub::DMA_BUF_IOCTL_SYNC => {
                let _ = p.seg(arg, size_of::<ub::DmaBufSync>() as u64, SEG_IN);
            }
            ub::DMA_BUF_SET_NAME_A | ub::DMA_BUF_SET_NAME_B => {
                // A string: its bytes up to the NUL, at most the 32 the
                // driver looks at.
                let n = match qda_driver::usermem::read_cstr(&qda_driver::LocalMemory, arg, ub::DMA_BUF_NAME_LEN - 1) {
                    Ok(s) => s.len() as u64 + 1,
                    Err(_) => ub::DMA_BUF_NAME_LEN as u64,
                };
                // Byte by byte near an unmapped page: send what is readable.
                for len in [n, 1] {
                    let before = p.segs.len();
                    let _ = p.seg(arg, len, SEG_IN);
                    if p.segs.len() > before {
                        break;
                    }
                }
            }
            _ => {}
        }
        p
    }

    /// Send, wait, write back, install fds.
    fn run(self, conn: &Connection, op: Op, cmd: u32, arg: u64, target: i32) -> Result<i64, Error> {
        let fds: Vec<BorrowedFd<'_>> = self.fds.iter().filter_map(|n| sys::borrow_raw(*n).ok()).collect();
        let nums: Vec<i32> = self.fds.clone();
        let req = IoctlReq {
            cmd,
            nsegs: self.segs.len() as u32,
            arg,
            nfds: nums.len() as u32,
            nvmas: self.vmas.len() as u32,
            target,
            pad: 0,
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
        let m = conn.call(
            op,
            &[
                req.as_bytes(),
                &numbytes,
                vmas.as_bytes(),
                self.segs.as_bytes(),
                &self.data,
            ],
            &fds,
        )?;
        drop(fds);
        // Memory the driver wrote, then the fds it installed.
        let mut r = Reader::new(&m.body);
        let rsp: IoctlRsp = r.get().map_err(wire_err)?;
        if rsp.nsegs > wire::MAX_SEGS {
            return Err(err(libc::EPROTO, "qdad: too many written ranges"));
        }
        let written: Vec<Seg> = r.array(rsp.nsegs as usize).map_err(wire_err)?;
        let mut copy_fault = None;
        for s in &written {
            let bytes = r.bytes(s.len as usize).map_err(wire_err)?;
            if sys::copy_to_self(s.addr, bytes).is_err() {
                copy_fault = Some(s.addr);
            }
        }
        let msg = String::from_utf8_lossy(r.bytes(rsp.msg_len as usize).map_err(wire_err)?).into_owned();
        let mut installed: Vec<Option<OwnedFd>> = m.fds.into_iter().map(Some).collect();
        let mut take = |v: i64| -> Option<i32> {
            let i = v.checked_sub(FD_PLACEHOLDER_BASE as i64)?;
            let fd = installed.get_mut(usize::try_from(i).ok()?)?.take()?;
            Some(sys::into_raw(fd))
        };
        let mut value = m.hdr.value;
        match self.fd_out {
            Some(FdOut::Ret) if m.hdr.status == 0 => {
                if let Some(n) = take(value) {
                    value = n as i64;
                }
            }
            Some(FdOut::At(addr)) => {
                if let Some(v) = Self::peek::<i32>(addr)
                    && let Some(n) = take(v as i64)
                {
                    let _ = sys::copy_to_self(addr, &n.to_ne_bytes());
                }
            }
            _ => {}
        }
        if m.hdr.status < 0 {
            return Err(err(-m.hdr.status, msg));
        }
        if let Some(a) = copy_fault {
            return Err(err(libc::EFAULT, format!("copying the result back to 0x{a:x}")));
        }
        Ok(value)
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

    #[test]
    fn socket_paths() {
        assert!(default_socket().ends_with("qdad.sock"));
    }

    #[test]
    fn node_kinds() {
        assert_eq!(NodeKind::of("/dev/accel/accel0"), Some(NodeKind::Accel));
        assert_eq!(NodeKind::of("/dev/fastrpc-cdsp-secure"), Some(NodeKind::Fastrpc));
        assert_eq!(NodeKind::of("/dev/dma_heap/system"), Some(NodeKind::Heap));
        assert_eq!(NodeKind::of("/dev/udmabuf"), Some(NodeKind::Udmabuf));
        assert_eq!(NodeKind::of("/etc/passwd"), None);
    }

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
            NodeKind::Accel,
            false,
            uq::DRM_IOCTL_QDA_REMOTE_INVOKE,
            &inv as *const _ as u64,
        )
        .unwrap();
        // The struct, the array, the inline input, the inline output.
        assert_eq!(p.segs.len(), 4);
        assert_eq!(p.segs[2].len, 12);
        assert_eq!(p.segs[3].flags, SEG_OUT);
        assert_eq!(p.fds, [f.as_raw_fd()]);
        assert_eq!(p.vmas.len(), 1);
        // The dma-buf's 64 bytes are not in the data: struct + array + 12.
        assert_eq!(p.data.len(), size_of::<uq::DrmQdaInvokeArgs>() + 3 * 24 + 12);
    }

    #[test]
    fn unreadable_memory_is_left_for_the_driver_to_fault_on() {
        let p = Plan::for_ioctl(NodeKind::Accel, false, uq::DRM_IOCTL_QDA_REMOTE_INVOKE, 16).unwrap();
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
            NodeKind::Fastrpc,
            false,
            uf::FASTRPC_IOCTL_INVOKE,
            &inv as *const _ as u64,
        )
        .unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
    }
}

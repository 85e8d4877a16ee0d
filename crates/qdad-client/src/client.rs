//! The client side of the qdad protocol: a connection per open file, and
//! the marshalling of every ioctl the driver serves. The client copies what
//! the kernel would copy from user memory (the argument struct, an invoke's
//! argument array and inline buffers, a shell or a name), sends the fds the
//! call names under its own numbers, describes the mappings its dma-buf
//! pointers lie in, and afterwards writes back what the driver wrote and
//! installs the fds it returned. Buffer contents passed by fd never cross
//! the socket.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use qda_ioctl::{Revision, Target};
use qda_os::{Loan, Mapping, OsError as Error};
use zerocopy::IntoBytes;

pub use crate::conn::Connection;
use crate::conn::{err, status, wire_err};
use crate::plan::Plan;
use crate::wire::{self, FEATURES, Op, Reader};

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

/// A device node opened through qdad: one connection.
#[derive(Debug)]
pub struct DaemonFile {
    conn: Connection,
    node: Target,
    rev: Revision,
    path: String,
}

impl DaemonFile {
    /// Open `path` on the daemon at `socket`.
    pub fn open(socket: &Path, path: &str) -> Result<DaemonFile, Error> {
        let node = Target::of_path(path).ok_or_else(|| err(libc::ENOENT, format!("{path}: not a qda device node")))?;
        if path.len() > wire::MAX_PATH {
            return Err(err(libc::ENAMETOOLONG, "device path too long"));
        }
        let conn = Connection::connect(socket)?;
        let m = conn.call(Op::Open, &[path.as_bytes()], &[])?;
        status(&m, &format!("open {path}"))?;
        let rsp: wire::OpenRsp = Reader::new(&m.body).get().map_err(wire_err)?;
        // Features the daemon offers, unless `QDA_DAEMON_FEATURES` (a mask:
        // 1 the fd cache, 2 the ring; 0 none) says otherwise.
        let wanted = std::env::var("QDA_DAEMON_FEATURES")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(FEATURES);
        conn.setup(rsp.features, wanted)?;
        Ok(DaemonFile {
            conn,
            node,
            rev: if rsp.revision == 1 {
                Revision::Rfc2026Feb
            } else {
                Revision::May2026
            },
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
        self.ioctl_in(cmd, arg, None)
    }

    /// [`DaemonFile::ioctl`] with slices of the memory the call names lent
    /// as Rust slices ([`Loan`]): what the request carries from them, and
    /// what the driver wrote into those lent writable, is copied directly,
    /// not with `process_vm_readv`/`writev` (two to four syscalls of an
    /// invoke). Addresses no slice covers take the checked copies, with
    /// their `EFAULT`; the request and the result are the same. The loan
    /// is this call's: it is held until the daemon answers.
    pub fn ioctl_lent(&self, cmd: u32, arg: u64, lent: &Loan<'_>) -> Result<i64, Error> {
        self.ioctl_in(cmd, arg, Some(lent))
    }

    fn ioctl_in(&self, cmd: u32, arg: u64, lent: Option<&Loan<'_>>) -> Result<i64, Error> {
        let plan = Plan::for_ioctl(self.node, self.rev, cmd, arg, lent)?;
        let v = plan.run(&self.conn, Op::Ioctl, cmd, arg, -1)?;
        self.note_poll(cmd, arg);
        Ok(v)
    }

    /// After an accepted poll-mode ioctl: the file's calls now spin for
    /// its budget before they sleep, on the ring too.
    fn note_poll(&self, cmd: u32, arg: u64) {
        use qda_uapi::{fastrpc as uf, qda as uq};
        let budget = if cmd == uq::DRM_IOCTL_QDA_SET_POLL && self.node == Target::Accel {
            let Some(p) = Plan::peek::<uq::DrmQdaSetPoll>(arg) else {
                return;
            };
            p.budget_us
        } else if cmd == uf::FASTRPC_IOCTL_SET_OPTION && self.node == Target::Fastrpc {
            let Some(o) = Plan::peek::<uf::FastrpcIoctlSetOption>(arg) else {
                return;
            };
            if o.req != uf::FASTRPC_POLL_MODE {
                return;
            }
            if o.value != 0 {
                uq::QDA_POLL_BUDGET_DEFAULT_US
            } else {
                0
            }
        } else {
            return;
        };
        self.conn.poll_us.store(budget, Ordering::Relaxed);
    }

    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, offset)`.
    pub fn mmap(&self, offset: u64, len: usize, writable: bool) -> Result<Mapping, Error> {
        let req = wire::MmapFileReq {
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
        let mut plan = Plan::for_ioctl(Target::DmaBuf, Revision::default(), cmd, arg, None)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths() {
        assert!(default_socket().ends_with("qdad.sock"));
    }
}

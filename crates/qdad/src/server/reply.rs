//! A request's reply: what it carries, and sending it on the socket (a
//! ring reply is written into its slot instead, `ring::complete`).

use super::*;

/// A reply to send.
#[derive(Debug, Default)]
pub(super) struct Reply {
    pub(super) status: i32,
    pub(super) value: i64,
    pub(super) body: Vec<u8>,
    pub(super) fds: Vec<OwnedFd>,
    /// An ioctl reply's written bytes and error text, which follow `body`
    /// (its [`IoctlRsp`] and ranges) but are not yet in it: copied once,
    /// from the call's memory to where the reply goes.
    pub(super) written: Option<Box<ioctl::Written>>,
}

impl Reply {
    /// The whole body in `body` (the socket's way).
    pub(super) fn flatten(mut self) -> Reply {
        if let Some(w) = self.written.take() {
            w.append_to(&mut self.body);
        }
        self
    }

    pub(super) fn err(e: &qda_os::OsError) -> Reply {
        Reply {
            status: -e.errno.0,
            body: e.to_string().into_bytes(),
            ..Default::default()
        }
    }
    pub(super) fn errno(errno: i32, what: impl Into<std::borrow::Cow<'static, str>>) -> Reply {
        Reply::err(&qda_os::OsError::new(qda_driver::Errno(errno), what))
    }
    /// An error the daemon raises for an ioctl request, in the ioctl reply
    /// format (nothing written, no fds, the reason as its message), so the
    /// client reports its errno like the driver's own.
    pub(super) fn ioctl_errno(errno: i32, what: impl Into<String>) -> Reply {
        let msg = what.into();
        let rsp = IoctlRsp {
            nsegs: 0,
            nfds: 0,
            msg_len: msg.len() as u32,
            flags: 0,
        };
        let mut body = rsp.as_bytes().to_vec();
        body.extend_from_slice(msg.as_bytes());
        Reply {
            status: -errno,
            body,
            ..Default::default()
        }
    }
}

pub(super) fn send_reply(sh: &Shared, conn: &Conn, req: &Header, r: Reply) {
    let r = r.flatten();
    let hdr = Header {
        op: req.op,
        seq: req.seq,
        status: r.status,
        value: r.value,
        ..Default::default()
    };
    let fds: Vec<_> = r.fds.iter().map(|f| f.as_fd()).collect();
    sh.counters.bytes_out.fetch_add(r.body.len() as u64, Ordering::Relaxed);
    sh.counters.fds_out.fetch_add(fds.len() as u64, Ordering::Relaxed);
    let _g = lock(&conn.send);
    // A client that left gets nothing; its reader will see the end. A
    // client that does not read its replies within the send timeout is
    // closed: its threads stop waiting on it.
    if wire::send(&conn.sock, hdr, &[&r.body], &fds).is_err() {
        let _ = rustix::net::shutdown(conn.sock.as_fd(), rustix::net::Shutdown::Both);
    }
}

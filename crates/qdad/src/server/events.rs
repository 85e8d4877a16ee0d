//! Connections arriving and idling: the accept loop, and the event thread
//! that holds idle connections without a thread each.

use super::*;

/// The pid a client is known by: its own, or, when it lives in a PID
/// namespace the daemon cannot see (`SO_PEERCRED` gives 0), a number above
/// any pid (`pid_max` is at most 2^22) unique to its connection. 0 would
/// read as "no opener" where the driver assigns context banks.
pub(super) fn client_pid(raw: i32, conn: u64) -> i32 {
    if raw > 0 {
        raw
    } else {
        0x4000_0000 | (conn & 0x3fff_ffff) as i32
    }
}

pub(super) fn accept_loop(sh: &Arc<Shared>, listener: UnixListener) {
    // One fd kept in reserve: when the table is full, it makes room to
    // accept a client and close it at once instead of spinning on EMFILE.
    let reserve = || std::fs::File::open("/dev/null").ok();
    let mut spare = reserve();
    loop {
        if sh.stopping.load(Ordering::SeqCst) {
            break;
        }
        let sock = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                drop(spare.take());
                if let Ok((s, _)) = listener.accept() {
                    drop(s);
                }
                // Take the reserve back at once: during the back-off another
                // thread (a connection making its ring's memfd, say) would
                // take the free slot, and the next client past the table
                // would wait instead of being closed.
                spare = reserve();
                tracing::warn!("qdad: out of fds ({e}); refusing clients for 100 ms");
                std::thread::sleep(Duration::from_millis(100));
                if spare.is_none() {
                    spare = reserve();
                }
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => {
                tracing::warn!("qdad: accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if sh.stopping.load(Ordering::SeqCst) {
            break;
        }
        let id = sh.next_conn.fetch_add(1, Ordering::Relaxed);
        let Ok((pid, uid, _gid)) = crate::sys::peer_creds(sock.as_fd()) else {
            continue;
        };
        let pid = client_pid(pid, id);
        let creds = Creds { pid, tid: pid, uid };
        // Replies wait at most the send timeout for a client that does not
        // read; a message's body, and an idle connection's next message,
        // at most the body deadline (then the connection is parked).
        let _ = rustix::net::sockopt::set_socket_timeout(
            &sock,
            rustix::net::sockopt::Timeout::Send,
            Some(sh.limits.send_timeout),
        );
        let _ = rustix::net::sockopt::set_socket_timeout(
            &sock,
            rustix::net::sockopt::Timeout::Recv,
            Some(sh.limits.body_deadline),
        );
        let rights = sh.policy.rights(uid);
        // The driver charges the uid's buffers against its memory quota.
        sh.emb
            .driver
            .set_memory_quota(uid, (rights.max_memory != u64::MAX).then_some(rights.max_memory));
        let conn = Arc::new(Conn {
            id,
            sock,
            send: Mutex::new(()),
            creds,
            file: Mutex::new(None),
            inflight: Mutex::new(HashSet::new()),
            calls: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            counted: AtomicBool::new(false),
            rights,
            uid_use: lock(&sh.uids).entry(uid).or_default().clone(),
            features: AtomicU32::new(0),
            fd_cache: Mutex::new(FdCache::default()),
            ring: OnceLock::new(),
            poll_us: AtomicU32::new(0),
        });
        sh.counters.connections.fetch_add(1, Ordering::Relaxed);
        lock(&sh.conns).insert(id, conn.clone());
        if sh.trace {
            tracing::info!(target: TRACE_TARGET, "connect #{} pid {} uid {}", conn.id, conn.creds.pid, conn.creds.uid);
        }
        // Its first request wakes a thread for it.
        park(sh, &conn, true);
    }
}

const PARK_FLAGS: rustix::event::epoll::EventFlags = rustix::event::epoll::EventFlags::IN
    .union(rustix::event::epoll::EventFlags::RDHUP)
    .union(rustix::event::epoll::EventFlags::ONESHOT);

/// Hand an idle connection to the event thread: no thread waits on it
/// until it has something to read (or is closed).
pub(super) fn park(sh: &Arc<Shared>, conn: &Arc<Conn>, first: bool) {
    use rustix::event::epoll;
    let data = epoll::EventData::new_u64(conn.id);
    let r = if first {
        epoll::add(&sh.epoll, &conn.sock, data, PARK_FLAGS)
    } else {
        epoll::modify(&sh.epoll, &conn.sock, data, PARK_FLAGS)
    };
    if let Err(e) = r {
        close(sh, conn, &WireError::Io(e.into()));
    }
}

/// Drop cached fds whose buffers every client let go of.
pub(super) fn sweep_fd_caches(sh: &Shared) {
    let conns: Vec<Arc<Conn>> = lock(&sh.conns).values().cloned().collect();
    for c in conns {
        lock(&c.fd_cache).sweep();
    }
}

/// Wait on every parked connection; give each that has data (or was
/// closed) to a pool thread, which reads it until it is idle again.
pub(super) fn event_loop(sh: &Arc<Shared>) {
    use rustix::event::{Timespec, epoll};
    let mut buf = [std::mem::MaybeUninit::<epoll::Event>::uninit(); 64];
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    let mut last_settle = Instant::now();
    while !sh.events_stop.load(Ordering::SeqCst) {
        // Clients free exported buffers by closing fds the daemon cannot
        // see: once a second, release the dma-bufs nobody holds any more
        // (else a long-lived client's freed buffers would stay until some
        // client disconnects).
        if last_settle.elapsed() >= Duration::from_secs(1) {
            last_settle = Instant::now();
            sh.emb.driver.settle();
            sweep_fd_caches(sh);
        }
        let (ready, _) = match epoll::wait(&sh.epoll, &mut buf, Some(&tick)) {
            Ok(r) => r,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                tracing::error!("qdad: epoll_wait: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        for ev in ready.iter() {
            let id = ev.data.u64();
            let Some(conn) = lock(&sh.conns).get(&id).cloned() else {
                continue;
            };
            let sh2 = sh.clone();
            if sh.pool.submit(Box::new(move || read_loop(&sh2, conn))).is_err() {
                tracing::error!("qdad: no thread to read connection #{id}");
            }
        }
    }
}

//! The control requests: open, info, stats, nodes, mmap.

use super::*;

pub(super) fn node_kind(k: &qda_driver::NodeRole) -> &'static str {
    match k {
        qda_driver::NodeRole::Accel { .. } => "accel",
        qda_driver::NodeRole::Fastrpc { .. } => "fastrpc",
        qda_driver::NodeRole::Heap { .. } => "heap",
        qda_driver::NodeRole::Udmabuf => "udmabuf",
    }
}

pub(super) fn open(sh: &Shared, conn: &Conn, m: &Message) -> Reply {
    if m.body.len() > MAX_PATH {
        return Reply::errno(libc::ENAMETOOLONG, "device path too long");
    }
    let Ok(path) = std::str::from_utf8(&m.body) else {
        return Reply::errno(libc::EINVAL, "device path is not UTF-8");
    };
    let mut f = lock(&conn.file);
    if let Some(old) = &*f {
        return Reply::errno(
            libc::EBUSY,
            format!(
                "this connection already has {} open (one file per connection)",
                old.path()
            ),
        );
    }
    // The policy: secure nodes, as their device file mode decides on a
    // device, and the uid's quota of open files.
    let uid = conn.creds.uid;
    if path.starts_with("/dev/fastrpc-") && path.ends_with("-secure") && !conn.rights.secure_nodes {
        return Reply::errno(
            libc::EACCES,
            format!("qdad: policy: uid {uid} may not open secure nodes ({path})"),
        );
    }
    // Take a place in the quota first; give it back if the open fails.
    let files = &conn.uid_use.files;
    if let Err(held) = files.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
        (n < conn.rights.max_files).then_some(n + 1)
    }) {
        return Reply::errno(
            libc::EMFILE,
            format!("qdad: policy: uid {uid} has {held} device files open, its quota"),
        );
    }
    match sh.emb.driver.open(path, conn.creds) {
        Ok(file) => {
            conn.counted.store(true, Ordering::SeqCst);
            *f = Some(file);
            let revision = match sh.emb.driver.qda_revision() {
                qda_uapi::qda::Revision::Rfc2026Feb => 1,
                qda_uapi::qda::Revision::May2026 => 0,
            };
            Reply {
                body: OpenRsp {
                    revision,
                    features: sh.limits.features,
                }
                .as_bytes()
                .to_vec(),
                ..Default::default()
            }
        }
        Err(e) => {
            files.fetch_sub(1, Ordering::SeqCst);
            Reply::err(&e)
        }
    }
}

pub(super) fn info(sh: &Shared) -> Reply {
    let i = InfoRsp {
        dtb_len: sh.dtb.len() as u32,
        src_len: sh.source.len() as u32,
        pid: std::process::id(),
        pd_mode: (sh.pd_mode == PdMode::Thread) as u32,
    };
    let mut body = i.as_bytes().to_vec();
    body.extend_from_slice(&sh.dtb);
    body.extend_from_slice(sh.source.as_bytes());
    Reply {
        body,
        ..Default::default()
    }
}

pub(super) fn stats(sh: &Shared) -> Vec<(String, u64)> {
    let s = sh.emb.driver.stats();
    super::events::sweep_fd_caches(sh);
    let c = &sh.counters;
    let conns = lock(&sh.conns).len() as u64;
    let procs: usize = sh.emb.dsps.iter().map(|d| d.processes()).sum();
    vec![
        ("files".into(), s.files),
        ("gem_objects".into(), s.gem_objects),
        ("dmabufs".into(), s.dmabufs),
        ("backings".into(), s.backings),
        ("iova_mappings".into(), s.iova_mappings),
        ("pinned_exports".into(), s.pinned_exports as u64),
        ("dma_debug_live".into(), s.dma_debug_live as u64),
        ("dma_debug_errors".into(), s.dma_debug_errors as u64),
        ("user_pds".into(), procs as u64),
        ("connections".into(), conns),
        ("connections_total".into(), c.connections.load(Ordering::Relaxed)),
        ("requests".into(), c.requests.load(Ordering::Relaxed)),
        ("bytes_in".into(), c.bytes_in.load(Ordering::Relaxed)),
        ("bytes_out".into(), c.bytes_out.load(Ordering::Relaxed)),
        ("fds_in".into(), c.fds_in.load(Ordering::Relaxed)),
        ("fds_out".into(), c.fds_out.load(Ordering::Relaxed)),
        ("fds_held".into(), c.fds_held.load(Ordering::SeqCst) as u64),
        ("bytes_held".into(), c.bytes_held.load(Ordering::SeqCst)),
        ("calls_in_flight".into(), sh.calls.load(Ordering::SeqCst) as u64),
        ("fds_cached".into(), c.fds_cached.load(Ordering::SeqCst) as u64),
        ("ring_requests".into(), c.ring_requests.load(Ordering::Relaxed)),
        ("poll_answered_spinning".into(), s.poll_answered_spinning),
        ("poll_spin_timeouts".into(), s.poll_spin_timeouts),
        ("answer_spin_answered".into(), s.proxy_answered_spinning),
        ("answer_spin_timeouts".into(), s.proxy_spin_timeouts),
    ]
}

pub(super) fn mmap(conn: &Conn, m: &Message) -> Reply {
    let req: MmapFileReq = match Reader::new(&m.body).get() {
        Ok(r) => r,
        Err(e) => return Reply::errno(libc::EINVAL, e.to_string()),
    };
    if req.pad != 0 || req.writable > 1 {
        return Reply::errno(libc::EINVAL, "mmap request: pad must be zero, writable 0 or 1");
    }
    let Some(f) = lock(&conn.file).clone() else {
        return Reply::errno(libc::EBADF, "mmap before open");
    };
    match f.mmap_file(req.offset, req.len, req.writable == 1) {
        Ok((fd, off)) => Reply {
            body: off.to_le_bytes().to_vec(),
            fds: vec![fd],
            ..Default::default()
        },
        Err(e) => Reply::err(&e),
    }
}

/// `Setup`: turn on the features the daemon offers that the client asks
/// for; for the ring, a sealed memfd of the asked shape (checked), mapped
/// here and sent back for the client to map. A ring that cannot be made
/// (out of fds or memory) is left off: the reply says which features are
/// on. The daemon makes the memfd, not the client: a file the daemon
/// creates cannot fail to arrive (receiving an fd at a full fd table
/// truncates the message, which ends the connection), and needs no check
/// of its seals.
pub(super) fn setup(sh: &Shared, conn: &Conn, m: &Message) -> Reply {
    let req: qdad_client::wire::SetupReq = match Reader::new(&m.body).get() {
        Ok(r) => r,
        Err(e) => return Reply::errno(libc::EINVAL, e.to_string()),
    };
    if req.pad != 0 || m.body.len() != size_of::<qdad_client::wire::SetupReq>() {
        return Reply::errno(libc::EINVAL, "setup request: pad must be zero, 16 bytes");
    }
    if lock(&conn.file).is_none() {
        return Reply::errno(libc::EBADF, "setup before open");
    }
    let mut on = req.features & sh.limits.features & (FEATURE_FD_CACHE | FEATURE_RING);
    if conn.features.load(Ordering::SeqCst) != 0 || conn.ring.get().is_some() {
        return Reply::errno(libc::EBUSY, "this connection is set up already");
    }
    let mut fds = Vec::new();
    if on & FEATURE_RING != 0 {
        let shape = qdad_client::shm::Shape {
            slots: req.slots,
            region: req.region,
        };
        match qdad_client::shm::Shm::create(shape) {
            Ok((shm, fd)) => {
                let _ = conn.ring.set(ConnRing::new(shm));
                fds.push(fd);
            }
            Err(e) => {
                tracing::info!(target: TRACE_TARGET, "#{} pid {}: no ring: {e}", conn.id, conn.creds.pid);
                on &= !FEATURE_RING;
            }
        }
    }
    conn.features.store(on, Ordering::SeqCst);
    Reply {
        body: qdad_client::wire::SetupRsp { features: on, pad: 0 }.as_bytes().to_vec(),
        fds,
        ..Default::default()
    }
}

//! An open device file: its kind and per-kind state (accel, legacy
//! fastrpc, dma-heap, udmabuf), what closing it releases, the lazy CB
//! assignment of accel files, and [`Driver::open`]. The operations live by
//! subsystem: [`crate::gem_ops`], [`crate::prime`], [`crate::heap`],
//! [`crate::udmabuf`], [`crate::invoke`].

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::domain::DspDomain;
use crate::driver::{Creds, Driver, Heap, NodeRole};
use crate::errno::{Errno, Error, Result, ebusy, enoent, enomem};
use crate::gem::Handles;
use crate::rpc::{self, Ctx, RpcState};
use crate::smmu::ContextBank;

/// State of a file on an accel node.
#[derive(Debug)]
pub struct AccelState {
    /// The domain.
    pub domain: Arc<DspDomain>,
    pub(crate) handles: Mutex<Handles>,
    pub(crate) cb: Mutex<Option<Arc<ContextBank>>>,
    /// `remote_session_id`: per-device counter from 1.
    pub session_id: i32,
    /// FastRPC state.
    pub rpc: RpcState,
}

impl AccelState {
    /// The CB assigned to this file, if any yet.
    pub fn current_cb(&self) -> Option<Arc<ContextBank>> {
        qda_rt::lock(&self.cb).clone()
    }
}

/// State of a file on a legacy fastrpc node.
#[derive(Debug)]
pub struct FastrpcState {
    /// The domain.
    pub domain: Arc<DspDomain>,
    /// Opened through the `-secure` node.
    pub secure_node: bool,
    pub(crate) slot: usize,
    /// `client_id`: session index + 1.
    pub client_id: i32,
    /// FastRPC state.
    pub rpc: RpcState,
}

impl FastrpcState {
    /// The session's CB.
    pub fn cb(&self) -> &Arc<ContextBank> {
        &self.domain.sessions[self.slot].cb
    }
}

/// What kind of file.
#[derive(Debug)]
pub enum FileKind {
    /// An accel device file.
    Accel(AccelState),
    /// A legacy fastrpc device file.
    Fastrpc(FastrpcState),
    /// A dma-heap.
    Heap(Arc<Heap>),
    /// `/dev/udmabuf`.
    Udmabuf,
}

pub(crate) struct FileInner {
    pub(crate) id: u64,
    pub(crate) path: String,
    pub(crate) creds: Creds,
    pub(crate) kind: FileKind,
    pub(crate) driver: Driver,
}

/// An open device file. Clones share the open file description (like
/// `dup`); the file is released when the last clone drops.
#[derive(Clone)]
pub struct File {
    pub(crate) inner: Arc<FileInner>,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("id", &self.inner.id)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Drop for FileInner {
    fn drop(&mut self) {
        // INIT_RELEASE: accel files that never got a CB never had a DSP process.
        let session = match &self.kind {
            FileKind::Accel(a) => a.current_cb().map(|cb| Ctx {
                domain: &a.domain,
                cb,
                client_id: a.session_id,
                rpc: &a.rpc,
                qda: true,
            }),
            FileKind::Fastrpc(f) => Some(Ctx {
                domain: &f.domain,
                cb: f.cb().clone(),
                client_id: f.client_id,
                rpc: &f.rpc,
                qda: false,
            }),
            FileKind::Heap(_) | FileKind::Udmabuf => None,
        };
        if let Some(c) = session {
            rpc::release_session(&c);
        }
        if let FileKind::Accel(AccelState { rpc, .. }) | FileKind::Fastrpc(FastrpcState { rpc, .. }) = &self.kind {
            rpc.clear();
        }
        match &self.kind {
            FileKind::Accel(a) => {
                let objs = qda_rt::lock(&a.handles).clear();
                drop(objs);
                let _g = qda_rt::lock(&a.domain.mm_lock);
                if let Some(cb) = qda_rt::lock(&a.cb).take() {
                    let mut asg = qda_rt::lock(&cb.assign);
                    asg.refs = asg.refs.saturating_sub(1);
                    if asg.refs == 0 {
                        asg.pid = 0;
                    }
                }
            }
            FileKind::Fastrpc(f) => f.domain.sessions[f.slot].in_use.store(false, Ordering::Release),
            FileKind::Heap(_) | FileKind::Udmabuf => {}
        }
        self.driver.inner.debug.owner_closed(self.id);
        self.driver.inner.files.dec();
    }
}

impl File {
    /// Interrupt the calls thread `tid` is waiting in on this file's DSP
    /// channel, as a signal to that thread would (see
    /// [`Channel::interrupt`](crate::fastrpc::Channel::interrupt)). Returns how many were interrupted.
    pub fn interrupt(&self, tid: i32) -> usize {
        match &self.inner.kind {
            FileKind::Accel(a) => a.domain.channel.interrupt(tid),
            FileKind::Fastrpc(f) => f.domain.channel.interrupt(tid),
            FileKind::Heap(_) | FileKind::Udmabuf => 0,
        }
    }

    /// Unique id (used as the owner in DMA-debug records).
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// The node path it was opened at.
    pub fn path(&self) -> &str {
        &self.inner.path
    }
    /// Opener credentials.
    pub fn creds(&self) -> Creds {
        self.inner.creds
    }
    /// The driver.
    pub fn driver(&self) -> &Driver {
        &self.inner.driver
    }
    /// What kind of file.
    pub fn kind(&self) -> &FileKind {
        &self.inner.kind
    }

    pub(crate) fn accel(&self) -> Result<&AccelState> {
        match &self.inner.kind {
            FileKind::Accel(a) => {
                a.domain.enter()?;
                Ok(a)
            }
            _ => Err(Error::new(
                Errno::ENOTTY,
                format!("{}: not an accel device", self.inner.path),
            )),
        }
    }

    /// The CB this file's memory lives in (QDA's lazy assignment): the
    /// file's own; else one already assigned to the same opener thread
    /// (shared, refcounted); else the first free one; else `ENOMEM`.
    pub fn context_bank(&self) -> Result<Arc<ContextBank>> {
        let a = self.accel()?;
        let _g = qda_rt::lock(&a.domain.mm_lock);
        let mut mine = qda_rt::lock(&a.cb);
        if let Some(cb) = &*mine {
            return Ok(cb.clone());
        }
        let tid = self.inner.creds.tid;
        let pick = a
            .domain
            .cbs
            .iter()
            .find(|cb| cb.assignment().pid == tid)
            .or_else(|| a.domain.cbs.iter().find(|cb| cb.assignment().pid == 0))
            .ok_or_else(|| {
                enomem(format!(
                    "{}: no free context bank ({} assigned to other openers)",
                    a.domain.desc.label,
                    a.domain.cbs.len()
                ))
            })?;
        {
            let mut asg = qda_rt::lock(&pick.assign);
            asg.pid = tid;
            asg.refs += 1;
        }
        *mine = Some(pick.clone());
        Ok(pick.clone())
    }

    /// `DRM_IOCTL_QDA_QUERY`: the DSP name.
    pub fn query(&self) -> Result<qda_uapi::qda::DrmQdaQuery> {
        let a = self.accel()?;
        let mut q = qda_uapi::qda::DrmQdaQuery::default();
        let n = a.domain.desc.label.as_bytes();
        let len = n.len().min(q.dsp_name.len() - 1); // strscpy keeps the NUL
        q.dsp_name[..len].copy_from_slice(&n[..len]);
        Ok(q)
    }
}

impl Driver {
    /// Open a device node as the thread `creds` describes.
    pub fn open(&self, path: &str, creds: Creds) -> Result<File> {
        let node = self
            .inner
            .nodes
            .iter()
            .find(|n| n.path == path)
            .ok_or_else(|| enoent(format!("{path}: no such device node")))?;
        let kind = match &node.kind {
            NodeRole::Accel { domain } => {
                let d = self.domain(domain).expect("node of a known domain").clone();
                d.enter()?;
                let session_id = d.session_ids.fetch_add(1, Ordering::Relaxed) + 1;
                FileKind::Accel(AccelState {
                    domain: d,
                    handles: Mutex::new(Handles::default()),
                    cb: Mutex::new(None),
                    session_id,
                    rpc: RpcState::default(),
                })
            }
            NodeRole::Fastrpc { domain, secure } => {
                let d = self.domain(domain).expect("node of a known domain").clone();
                d.enter()?;
                let slot = d
                    .sessions
                    .iter()
                    .position(|s| {
                        s.in_use
                            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                    })
                    .ok_or_else(|| ebusy(format!("{path}: all {} sessions are in use", d.sessions.len())))?;
                FileKind::Fastrpc(FastrpcState {
                    domain: d,
                    secure_node: *secure,
                    slot,
                    client_id: slot as i32 + 1,
                    rpc: RpcState::default(),
                })
            }
            NodeRole::Heap { name } => FileKind::Heap(
                self.inner
                    .heaps
                    .iter()
                    .find(|h| &h.name == name)
                    .expect("node of a known heap")
                    .clone(),
            ),
            NodeRole::Udmabuf => FileKind::Udmabuf,
        };
        self.inner.files.inc();
        Ok(File {
            inner: Arc::new(FileInner {
                id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
                path: path.to_string(),
                creds,
                kind,
                driver: self.clone(),
            }),
        })
    }
}

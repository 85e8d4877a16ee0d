//! The library's per-process state: a session per effective domain (opened
//! with the first module on it, closed with the last, as libadsprpc does),
//! the open modules under local handles, the registered buffers, and what
//! `remote_session_control` set for sessions not yet open.
//!
//! After `fork` the child gets a state of its own: the parent's sessions
//! stay the parent's (their files and daemon connections are shared with
//! it, so the child neither uses nor closes them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use qda::{Buffer, Device, RemoteHandle, Session, SessionOptions};
use qda_os::sys::Mapping;
use qda_rt::lock;

use crate::args::Registrations;
use crate::domains::{Effective, NUM_EFFECTIVE};
use crate::errors::{EBADHANDLE, EBADPARM, EBADSTATE, aee};
use crate::listener::Listener;

/// One open session: a device file, the PD on it and its listener thread.
#[derive(Debug)]
pub struct Dom {
    pub eff: Effective,
    pub dev: Device,
    pub session: Session,
    /// Whether the PD was created for unsigned modules.
    pub unsigned: bool,
    /// The thread serving the PD's reverse calls.
    listener: Mutex<Option<Listener>>,
}

impl Drop for Dom {
    /// The PD exits (`adsp_current_process1_exit`, handle 4 method 2, as
    /// libadsprpc's teardown), which ends the listener's `next2`; the
    /// thread is joined before the file closes.
    fn drop(&mut self) {
        let l = lock(&self.listener).take();
        if let Some(l) = l {
            let sc = qda_proto::Scalars::make(qda_proto::handles::current_process::EXIT, 0, 0).0;
            let _ = self
                .session
                .invoke_raw(qda_proto::handles::CURRENT_PROCESS, sc, &mut []);
            l.join();
        }
    }
}

/// A module open under a local handle.
#[derive(Debug)]
pub struct Open {
    pub dom: Arc<Dom>,
    pub module: RemoteHandle,
}

/// Per-domain settings made before a session opens (the ones that change
/// something here; thread parameters, priorities and the init-memory size
/// are checked and accepted, as the virtual DSP runs calls on its own pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    pub unsigned: bool,
    pub reserved: bool,
}

/// The library state of one process.
#[derive(Debug)]
pub struct Lib {
    pid: u32,
    /// The library's default domain id (libadsprpc 0, libsdsprpc 2,
    /// libcdsprpc 3).
    pub default: u32,
    doms: Mutex<HashMap<Effective, Dom2>>,
    handles: RwLock<HashMap<u64, Arc<Open>>>,
    next: AtomicU64,
    pub settings: Mutex<Vec<Settings>>,
    pub reg: Registrations,
    pub maps: Maps,
    /// The rpcmem allocator's device (opened on first use).
    pub rpcmem_dev: Mutex<Option<Device>>,
}

#[derive(Debug)]
struct Dom2 {
    dom: Arc<Dom>,
    opens: usize,
}

static LIB: RwLock<Option<Arc<Lib>>> = RwLock::new(None);

/// Whether this process ever ran the embedded platform, and its pid.
static EMBEDDED_PID: Mutex<Option<u32>> = Mutex::new(None);

/// Set in a child by the fork handler: the state in hand is the parent's.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn forked_child() {
    FORKED.store(true, Ordering::Release);
}

/// The state of this process (a new one after `fork`). The fast path is an
/// atomic load and a read lock: a `fork` is noticed by a child handler
/// (registered with the first state), not by asking for the pid each call.
pub fn lib(default: u32) -> Arc<Lib> {
    if !FORKED.load(Ordering::Acquire)
        && let Some(l) = LIB.read().unwrap_or_else(|e| e.into_inner()).as_ref()
    {
        return l.clone();
    }
    let mut w = LIB.write().unwrap_or_else(|e| e.into_inner());
    let forked = FORKED.swap(false, Ordering::AcqRel);
    match w.as_ref() {
        Some(l) if !forked => l.clone(),
        old => {
            if old.is_none() {
                crate::ffi::on_fork_child(forked_child);
            }
            // The parent's state is left as it is: its sessions are the
            // parent's.
            if let Some(o) = old {
                std::mem::forget(o.clone());
            }
            let l = Arc::new(Lib::new(std::process::id(), default));
            *w = Some(l.clone());
            l
        }
    }
}

impl Lib {
    fn new(pid: u32, default: u32) -> Lib {
        Lib {
            pid,
            default,
            doms: Mutex::default(),
            handles: RwLock::default(),
            next: AtomicU64::new(0x1000),
            settings: Mutex::new(vec![Settings::default(); NUM_EFFECTIVE as usize]),
            reg: Registrations::default(),
            maps: Maps::default(),
            rpcmem_dev: Mutex::new(None),
        }
    }

    /// Open a device on `eff`'s domain on the backend the library selects
    /// (`QDA_BACKEND`, else kernel → daemon → embedded).
    pub fn device(&self, domain: qda::Domain) -> Result<Device, i32> {
        let forked = lock(&EMBEDDED_PID).is_some_and(|p| p != self.pid);
        if forked {
            // A child of a process that ran the embedded platform: its DSPs'
            // threads did not survive the fork, and touching the platform
            // could wait forever on a lock one of them held. Only the
            // kernel and the daemon are tried.
            return forked_device(domain);
        }
        let dev = Device::open(domain).map_err(|e| aee(&e))?;
        if dev.backend() == qda::Backend::Embedded {
            lock(&EMBEDDED_PID).get_or_insert(self.pid);
        }
        Ok(dev)
    }

    /// Open module `uri` on session `eff` (creating the session first if
    /// none is open): its local handle.
    pub fn open(&self, eff: Effective, uri: &str) -> Result<u64, i32> {
        let dom = {
            let mut doms = lock(&self.doms);
            if let Some(d) = doms.get_mut(&eff) {
                d.opens += 1;
                d.dom.clone()
            } else {
                self.start(&mut doms, eff)?
            }
        };
        match dom.session.open(uri) {
            Ok(module) => {
                let h = self.next.fetch_add(1, Ordering::Relaxed);
                self.handles
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(h, Arc::new(Open { dom, module }));
                Ok(h)
            }
            Err(e) => {
                self.put(eff);
                Err(aee(&e))
            }
        }
    }

    /// One module fewer on `eff`: the session closes with its last.
    fn put(&self, eff: Effective) {
        let mut doms = lock(&self.doms);
        if let Some(d) = doms.get_mut(&eff) {
            d.opens -= 1;
            if d.opens == 0 {
                doms.remove(&eff);
            }
        }
    }

    /// The module under local handle `h`.
    pub fn get(&self, h: u64) -> Result<Arc<Open>, i32> {
        self.handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&h)
            .cloned()
            .ok_or(EBADHANDLE)
    }

    /// Close the module under `h` (its session with it, if it was the last).
    pub fn close(&self, h: u64) -> Result<(), i32> {
        let open = self
            .handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&h)
            .ok_or(EBADHANDLE)?;
        let eff = open.dom.eff;
        // The module closes when the last call through it returns.
        drop(open);
        self.put(eff);
        Ok(())
    }

    /// Close every module of effective domain `eff` (all with `None`) and
    /// their sessions.
    pub fn close_all(&self, eff: Option<Effective>) {
        let gone: Vec<Arc<Open>> = {
            let mut hs = self.handles.write().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<u64> = hs
                .iter()
                .filter(|(_, o)| eff.is_none_or(|e| o.dom.eff == e))
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| hs.remove(k)).collect()
        };
        drop(gone);
        let mut doms = lock(&self.doms);
        doms.retain(|k, _| eff.is_some_and(|e| *k != e));
    }

    /// The open session of `eff`, if any.
    pub fn session(&self, eff: Effective) -> Option<Arc<Dom>> {
        lock(&self.doms).get(&eff).map(|d| d.dom.clone())
    }

    /// The session of `eff`, opened (without a module) if none is.
    pub fn session_or_open(&self, eff: Effective) -> Result<Arc<Dom>, i32> {
        if let Some(d) = self.session(eff) {
            return Ok(d);
        }
        // A session opened for a map lives until the library's state goes,
        // as libadsprpc's does (it is not counted as a module).
        let mut doms = lock(&self.doms);
        if let Some(d) = doms.get(&eff) {
            return Ok(d.dom.clone());
        }
        self.start(&mut doms, eff)
    }

    /// Create `eff`'s session with the settings made for it (held by
    /// `doms`' lock, so two threads never create one session twice), counted
    /// as one user.
    fn start(&self, doms: &mut HashMap<Effective, Dom2>, eff: Effective) -> Result<Arc<Dom>, i32> {
        let s = lock(&self.settings)[eff.0 as usize];
        let dev = self.device(eff.domain())?;
        let session = dev
            .session_with(SessionOptions { unsigned: s.unsigned })
            .map_err(|e| aee(&e))?;
        let listener = Listener::start(session.clone());
        let dom = Arc::new(Dom {
            eff,
            dev,
            session,
            unsigned: s.unsigned,
            listener: Mutex::new(listener),
        });
        doms.insert(
            eff,
            Dom2 {
                dom: dom.clone(),
                opens: 1,
            },
        );
        Ok(dom)
    }

    /// `domain` names every domain (`-1`) or a valid effective domain.
    pub fn check_domain(domain: i32) -> Result<(), i32> {
        if domain == -1 || Effective::from_id(domain).is_some() {
            Ok(())
        } else {
            Err(EBADPARM)
        }
    }

    /// Settings of `domain` (`-1`: every domain) changed by `f`.
    pub fn set(&self, domain: i32, f: impl Fn(&mut Settings)) -> Result<(), i32> {
        let mut s = lock(&self.settings);
        if domain == -1 {
            s.iter_mut().for_each(f);
            return Ok(());
        }
        let eff = Effective::from_id(domain).ok_or(EBADPARM)?;
        f(&mut s[eff.0 as usize]);
        Ok(())
    }
}

/// [`Lib::device`] in the child of a process that ran the embedded
/// platform: `QDA_BACKEND` if it names the kernel or the daemon, else the
/// kernel, then the daemon; never the embedded platform.
fn forked_device(domain: qda::Domain) -> Result<Device, i32> {
    let wanted = std::env::var("QDA_BACKEND").ok();
    let order: &[qda::Backend] = match wanted.as_deref() {
        Some("kernel") => &[qda::Backend::Kernel],
        Some("daemon") => &[qda::Backend::Daemon],
        Some(_) => &[],
        None => &[qda::Backend::Kernel, qda::Backend::Daemon],
    };
    for b in order {
        if let Ok(d) = Device::open_on(domain, *b) {
            return Ok(d);
        }
    }
    tracing::warn!(target: "qda_capi", "after fork the embedded platform of the parent cannot be used; no kernel node or daemon answers");
    Err(EBADSTATE)
}

/// Maps made through the library.
#[derive(Debug, Default)]
pub struct Maps {
    /// rpcmem buffers by address.
    pub(crate) rpcmem: Mutex<HashMap<usize, Buffer>>,
    /// `fastrpc_mmap` maps: (effective domain, fd) → (DSP address, length).
    pub(crate) fd_maps: Mutex<HashMap<(Effective, i32), (u64, u64)>>,
    /// `remote_register_fd` mappings.
    pub(crate) fd_mappings: Mutex<Vec<Mapping>>,
    /// `remote_mmap64` maps: (effective domain, DSP address) → fd.
    pub(crate) addr_maps: Mutex<HashMap<(Effective, u64), i32>>,
}

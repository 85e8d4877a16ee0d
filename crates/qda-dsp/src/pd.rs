//! User PDs as child processes: the `qda-pd-host` program, one per PD.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use qda_driver::smmu::Run;

/// Where the PD host program is: `QDA_PD_HOST`, next to the running
/// executable (or its parent, for test binaries in `deps/`), `../lib/qda/`
/// beside it when installed, else the one built with this crate.
pub fn pd_host_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("QDA_PD_HOST") {
        return Some(PathBuf::from(p));
    }
    let mut cands = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        cands.push(dir.join("qda-pd-host"));
        cands.push(dir.join("../lib/qda/qda-pd-host"));
    }
    cands.push(PathBuf::from(env!("QDA_BUILTIN_PD_HOST")));
    cands.into_iter().find(|p| p.is_file())
}

#[derive(Debug, Default)]
struct Replies {
    /// A caller is reading the socket for everyone.
    reading: bool,
    /// Replies that arrived for other callers.
    done: HashMap<u64, Vec<u8>>,
    /// Why the PD is gone.
    dead: Option<String>,
}

/// A running PD process. There is no reader thread: a caller waiting for
/// its reply reads the socket for all waiters (so a lone call pays no
/// thread hand-off), and the one that sees the end reaps the PD.
#[derive(Debug)]
pub struct PdProcess {
    tx: Mutex<UnixStream>,
    rx: UnixStream,
    replies: Mutex<Replies>,
    cv: Condvar,
    child: Mutex<Option<Child>>,
    next: AtomicU64,
    pid: u32,
    label: String,
}

/// One argument for the PD.
#[derive(Debug)]
pub enum PdArg<'a> {
    /// A 64-bit handle value.
    Handle(u64),
    /// Bytes passed by value.
    Bytes(&'a [u8]),
    /// A buffer: translated runs (of this process's fds), length.
    Buffer(&'a [Run], u64),
}

impl PdProcess {
    /// Start a PD named `name`.
    pub fn spawn(name: &str) -> Result<Arc<PdProcess>, String> {
        let host = pd_host_path().ok_or("the PD host program qda-pd-host was not found (set QDA_PD_HOST)")?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let child = Command::new(&host)
            .arg0_name(name)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", host.display()))?;
        let pid = child.id();
        let rx = ours.try_clone().map_err(|e| format!("socket: {e}"))?;
        Ok(Arc::new(PdProcess {
            tx: Mutex::new(ours),
            rx,
            replies: Mutex::new(Replies::default()),
            cv: Condvar::new(),
            child: Mutex::new(Some(child)),
            next: AtomicU64::new(1),
            pid,
            label: name.to_string(),
        }))
    }

    /// Read one reply: `(id, body)`; `None` at the end of the PD.
    fn read_reply(&self) -> Option<(u64, Vec<u8>)> {
        let mut rx = &self.rx;
        let mut len = [0u8; 4];
        rx.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        rx.read_exact(&mut body).ok()?;
        let id = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
        body.drain(..8);
        Some((id, body))
    }

    /// The PD is gone: reap it and say why.
    fn reap(&self) -> String {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (pid, label) = (self.pid, &self.label);
        match child.map(|mut c| c.wait()) {
            Some(Ok(st)) => match std::os::unix::process::ExitStatusExt::signal(&st) {
                Some(sig) => format!("PD '{label}' (pid {pid}) crashed with signal {sig}"),
                None => format!("PD '{label}' (pid {pid}) exited ({st})"),
            },
            Some(Err(e)) => format!("PD '{label}' (pid {pid}) is gone: {e}"),
            None => format!("PD '{label}' (pid {pid}) is gone"),
        }
    }

    /// The PD's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Why the PD is dead, if it is.
    pub fn dead(&self) -> Option<String> {
        self.replies.lock().unwrap_or_else(|e| e.into_inner()).dead.clone()
    }

    fn request(&self, kind: u32, body: &[u8]) -> Result<Vec<u8>, String> {
        if let Some(d) = self.dead() {
            return Err(d);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut msg = Vec::with_capacity(body.len() + 16);
        msg.extend_from_slice(&((body.len() + 12) as u32).to_le_bytes());
        msg.extend_from_slice(&id.to_le_bytes());
        msg.extend_from_slice(&kind.to_le_bytes());
        msg.extend_from_slice(body);
        // A failed write means the PD is gone: the read below finds out why.
        let _ = self.tx.lock().unwrap_or_else(|e| e.into_inner()).write_all(&msg);
        let mut st = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(b) = st.done.remove(&id) {
                return Ok(b);
            }
            if let Some(d) = &st.dead {
                return Err(d.clone());
            }
            if st.reading {
                st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.reading = true;
            drop(st);
            let r = self.read_reply();
            let why = if r.is_none() { Some(self.reap()) } else { None };
            st = self.replies.lock().unwrap_or_else(|e| e.into_inner());
            st.reading = false;
            match (r, why) {
                (Some((rid, b)), _) => {
                    st.done.insert(rid, b);
                }
                (None, why) => st.dead = why,
            }
            self.cv.notify_all();
        }
    }

    /// Load a skel: `(skel index)` or `(AEE code, loader text)`.
    pub fn open(&self, path: &std::path::Path, symbol: &str, handle_style: bool) -> Result<u32, (i32, String)> {
        let mut b = Vec::new();
        let p = path.as_os_str().as_encoded_bytes();
        b.extend_from_slice(&(p.len() as u32).to_le_bytes());
        b.extend_from_slice(p);
        b.extend_from_slice(&(symbol.len() as u32).to_le_bytes());
        b.extend_from_slice(symbol.as_bytes());
        b.extend_from_slice(&u32::from(handle_style).to_le_bytes());
        let r = self.request(1, &b).map_err(|e| (crate::aee::ECPUEXCEPTION, e))?;
        let word = |k: usize| {
            r.get(4 * k..4 * k + 4)
                .map_or(0, |w| u32::from_le_bytes(w.try_into().expect("4")))
        };
        if word(0) != 0 {
            let n = word(2) as usize;
            let text = String::from_utf8_lossy(r.get(12..12 + n).unwrap_or_default()).into_owned();
            return Err((word(0) as i32, text));
        }
        Ok(word(1))
    }

    /// Call skel `ix` with `handle`, `sc`, `args`: `(retval, out handle of
    /// argument 2)`, or the crash text.
    pub fn invoke(&self, ix: u32, handle: u64, sc: u32, args: &[PdArg<'_>]) -> Result<(i32, u64), String> {
        let mut b = Vec::new();
        b.extend_from_slice(&ix.to_le_bytes());
        b.extend_from_slice(&handle.to_le_bytes());
        b.extend_from_slice(&sc.to_le_bytes());
        b.extend_from_slice(&(args.len() as u32).to_le_bytes());
        for a in args {
            match a {
                PdArg::Handle(h) => {
                    b.extend_from_slice(&0u32.to_le_bytes());
                    b.extend_from_slice(&h.to_le_bytes());
                }
                PdArg::Bytes(v) => {
                    b.extend_from_slice(&2u32.to_le_bytes());
                    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    b.extend_from_slice(v);
                }
                PdArg::Buffer(runs, len) => {
                    let (segs, lead) = crate::aligned_runs(runs);
                    b.extend_from_slice(&1u32.to_le_bytes());
                    b.extend_from_slice(&(lead as u64).to_le_bytes());
                    b.extend_from_slice(&len.to_le_bytes());
                    b.extend_from_slice(&(segs.len() as u32).to_le_bytes());
                    for (fd, off, l) in segs {
                        let (dev, ino) = qda_driver::sys::file_id(fd).map_err(|e| e.to_string())?;
                        let size = qda_driver::sys::file_size(fd).map_err(|e| e.to_string())?;
                        b.extend_from_slice(&(fd.as_raw_fd() as u32).to_le_bytes());
                        b.extend_from_slice(&dev.to_le_bytes());
                        b.extend_from_slice(&ino.to_le_bytes());
                        b.extend_from_slice(&size.to_le_bytes());
                        b.extend_from_slice(&off.to_le_bytes());
                        b.extend_from_slice(&l.to_le_bytes());
                    }
                }
            }
        }
        let r = self.request(2, &b)?;
        let ret = r
            .get(..4)
            .map_or(crate::aee::EBADPARM, |w| i32::from_le_bytes(w.try_into().expect("4")));
        let h = r.get(4..12).map_or(0, |w| u64::from_le_bytes(w.try_into().expect("8")));
        Ok((ret, h))
    }
}

impl PdProcess {
    /// End the PD now, even with calls inside it (what the DSP does to a
    /// released process): closing our end makes the host's read fail and
    /// the host exit; the reader thread reaps it and fails what is pending.
    pub fn terminate(&self) {
        let _ = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for PdProcess {
    fn drop(&mut self) {
        self.terminate();
        // Reap the host when it has gone (it exits as soon as it sees the
        // socket closed), without holding up whoever dropped us.
        if let Some(mut c) = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = std::thread::Builder::new()
                .name(format!("pd-reap-{}", self.pid))
                .spawn(move || {
                    let _ = c.wait();
                });
        }
    }
}

trait Arg0 {
    fn arg0_name(&mut self, name: &str) -> &mut Self;
}

impl Arg0 for Command {
    fn arg0_name(&mut self, name: &str) -> &mut Self {
        std::os::unix::process::CommandExt::arg0(self, format!("qda-pd:{name}"))
    }
}

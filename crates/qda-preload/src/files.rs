//! Open device files: the fds the program holds for them, the calls made on
//! those fds, and the mappings made of them.
//!
//! A device file opened through the shim is two fds: the one the backend
//! keeps for the file (`Syscalls::open`, hidden, close-on-exec) and the one
//! the program gets, a memfd named after the node standing for the file
//! (the lowest free number, close-on-exec only if `O_CLOEXEC` asked for
//! it). `dup` and friends add numbers for the same file; the file is
//! released (`Syscalls::close`, the driver's release) when the program has
//! closed its last number.

use std::collections::HashMap;
use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use qda::sys::Syscalls;
use qda_ioctl::Target;
use qda_os::Mapping;

use crate::board::{self, Entry, Plat};
use crate::trace;

/// What a call answers when the shim serves it: the value, or an errno.
pub(crate) type Answer = Result<i64, i32>;

/// One open device file.
#[derive(Debug)]
pub(crate) struct OpenFile {
    /// The process that opened it (a forked child does not own it).
    pid: u32,
    path: String,
    target: Target,
    calls: Arc<dyn Syscalls>,
    /// The backend's fd for the file.
    fd: Option<OwnedFd>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        let Some(fd) = self.fd.take() else { return };
        hide(fd.as_raw_fd(), false);
        if self.pid == crate::pid() {
            trace!("release {}", self.path);
            self.calls.close(fd);
        } else {
            // Inherited over fork: the file is the parent's; only this
            // process's copy of the backend's fd goes.
            drop(fd);
        }
    }
}

static FILES: RwLock<Option<HashMap<i32, Arc<OpenFile>>>> = RwLock::new(None);
/// How many fds the table holds: most calls of a program are on other fds
/// and skip the lock.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static MAPS: Mutex<Option<HashMap<usize, Mapping>>> = Mutex::new(None);
/// The backends' own fds for the open files: the program never opened
/// them, so its `close` of one (a close-everything loop) is `EBADF`, as for
/// any number it does not hold, instead of pulling a file from under the
/// shim.
static HIDDEN: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn hide(fd: i32, on: bool) {
    let mut h = qda_rt::lock(&HIDDEN);
    let set = h.get_or_insert_with(HashSet::new);
    if on {
        set.insert(fd);
    } else {
        set.remove(&fd);
    }
}

/// The tables' locks, which `fork` holds so the child gets them whole.
pub(crate) type Locks = (
    std::sync::RwLockWriteGuard<'static, Option<HashMap<i32, Arc<OpenFile>>>>,
    std::sync::MutexGuard<'static, Option<HashMap<usize, Mapping>>>,
    std::sync::MutexGuard<'static, Option<HashSet<i32>>>,
);

/// Take the tables' locks (for `fork`).
pub(crate) fn lock_all() -> Locks {
    (
        FILES.write().unwrap_or_else(|p| p.into_inner()),
        qda_rt::lock(&MAPS),
        qda_rt::lock(&HIDDEN),
    )
}

fn file(fd: i32) -> Option<Arc<OpenFile>> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    FILES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()?
        .get(&fd)
        .cloned()
}

fn insert(fd: i32, f: Arc<OpenFile>) -> Option<Arc<OpenFile>> {
    let mut t = FILES.write().unwrap_or_else(|p| p.into_inner());
    let old = t.get_or_insert_with(HashMap::new).insert(fd, f);
    if old.is_none() {
        COUNT.fetch_add(1, Ordering::AcqRel);
    }
    old
}

fn remove(fd: i32) -> Option<Arc<OpenFile>> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    let old = FILES.write().unwrap_or_else(|p| p.into_inner()).as_mut()?.remove(&fd);
    if old.is_some() {
        COUNT.fetch_sub(1, Ordering::AcqRel);
    }
    old
}

/// What `stat` reports of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// `st_mode`.
    pub mode: u32,
    /// `st_rdev`.
    pub rdev: u64,
    /// `st_size`.
    pub size: u64,
    /// `st_nlink`.
    pub nlink: u64,
    /// `st_ino`: stable for a path.
    pub ino: u64,
}

fn ino_of(path: &str) -> u64 {
    // FNV-1a: a stable, distinct-enough inode number per path.
    path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

fn meta(path: &str, e: &Entry<'_>) -> Meta {
    let (mode, rdev, size, nlink) = match e {
        Entry::Node(n) => (libc::S_IFCHR | 0o666, n.rdev, 0, 1),
        Entry::Subsys(rdev) => (libc::S_IFCHR | 0o600, *rdev, 0, 1),
        Entry::File(b) => (libc::S_IFREG | 0o444, 0, b.len() as u64, 1),
        Entry::Dir => (libc::S_IFDIR | 0o755, 0, 0, 2),
    };
    Meta {
        mode,
        rdev,
        size,
        nlink,
        ino: ino_of(path),
    }
}

/// The board's entry at `path` (already resolved), with the platform.
fn entry_at(path: &str) -> Option<(Arc<Plat>, String)> {
    if !board::candidate(path) {
        return None;
    }
    let p = board::get()?;
    p.lookup(path)?;
    Some((p, path.to_string()))
}

/// `stat` of a path: the board's answer, or `None` to pass it on.
pub fn stat(path: &str) -> Option<Meta> {
    let (p, path) = entry_at(path)?;
    let e = p.lookup(&path)?;
    Some(meta(&path, &e))
}

/// `fstat` of an fd standing for a device file.
pub fn fstat(fd: i32) -> Option<Meta> {
    let f = file(fd)?;
    let p = board::started()?;
    let e = p.lookup(&f.path)?;
    Some(meta(&f.path, &e))
}

/// `access`/`faccessat`: what the entry permits (devices read-write, probe
/// files and directories read-only).
pub fn access(path: &str, mode: i32) -> Option<Answer> {
    let m = stat(path)?;
    let file = m.mode & libc::S_IFMT;
    let denied = match file {
        libc::S_IFCHR => mode & libc::X_OK != 0,
        libc::S_IFDIR => mode & libc::W_OK != 0,
        _ => mode & (libc::W_OK | libc::X_OK) != 0,
    };
    Some(if denied { Err(libc::EACCES) } else { Ok(0) })
}

fn stand_in(name: &str, cloexec: bool) -> Result<OwnedFd, i32> {
    let mut flags = rustix::fs::MemfdFlags::empty();
    if cloexec {
        flags |= rustix::fs::MemfdFlags::CLOEXEC;
    }
    rustix::fs::memfd_create(name, flags).map_err(|e| e.raw_os_error())
}

/// `open` of a path: a new fd, an errno, or `None` to pass it on.
pub fn open(path: &str, flags: i32) -> Option<Answer> {
    let (p, path) = entry_at(path)?;
    let e = p.lookup(&path)?;
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
    if flags & libc::O_CREAT != 0 && flags & libc::O_EXCL != 0 {
        return Some(Err(libc::EEXIST));
    }
    let r = match e {
        Entry::Dir => Err(libc::ENOTSUP),
        _ if flags & libc::O_DIRECTORY != 0 => Err(libc::ENOTDIR),
        // A subsystem node exists to be found; nothing serves it.
        Entry::Subsys(_) => Err(libc::ENODEV),
        Entry::File(_) if writes => Err(libc::EACCES),
        Entry::File(bytes) => (|| {
            let fd = stand_in(&path, cloexec)?;
            rustix::io::write(&fd, &bytes).map_err(|e| e.raw_os_error())?;
            rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0)).map_err(|e| e.raw_os_error())?;
            Ok(into_raw(fd) as i64)
        })(),
        Entry::Node(n) => {
            let target = n.target;
            // The program's number first, so it is the lowest free one.
            match stand_in(&format!("qda-dev:{path}"), cloexec) {
                Err(e) => Err(e),
                Ok(standin) => match p.calls().open(&path) {
                    Err(e) => Err(e.errno.0),
                    Ok(fd) => {
                        hide(fd.as_raw_fd(), true);
                        let n = into_raw(standin);
                        let f = Arc::new(OpenFile {
                            pid: crate::pid(),
                            path: path.clone(),
                            target,
                            calls: p.calls().clone(),
                            fd: Some(fd),
                        });
                        if let Some(stale) = insert(n, f) {
                            // A number the program closed behind the shim's back.
                            drop(stale);
                        }
                        Ok(n as i64)
                    }
                },
            }
        }
    };
    trace!("open {path} = {}", show(&r));
    Some(r)
}

fn into_raw(fd: OwnedFd) -> i32 {
    use std::os::fd::IntoRawFd;
    fd.into_raw_fd()
}

pub(crate) fn show(r: &Answer) -> String {
    match r {
        // As the C caller sees it: an int (a DSP's AEE code is negative).
        Ok(v) if *v < 0 || *v > 0xffff => format!("{:#x}", *v as i32 as u32),
        Ok(v) => v.to_string(),
        Err(e) => format!("-1 {}", std::io::Error::from_raw_os_error(*e)),
    }
}

fn name(target: Target, cmd: u32) -> String {
    match qda_ioctl::lookup(target, Default::default(), cmd) {
        Ok(d) => d.name.to_string(),
        Err(_) => format!("{cmd:#010x}"),
    }
}

/// `ioctl` on an fd: the device file's call, a dma-buf call of the
/// platform's, or `None` to pass it on.
pub fn ioctl(fd: i32, cmd: u64, arg: u64) -> Option<Answer> {
    let Ok(cmd) = u32::try_from(cmd) else {
        return file(fd).map(|_| Err(libc::ENOTTY));
    };
    let Some(f) = file(fd) else {
        return dmabuf_ioctl(fd, cmd, arg);
    };
    if f.pid != crate::pid() {
        trace!("ioctl {fd} ({}) in a forked child: EIO", f.path);
        return Some(Err(libc::EIO));
    }
    let Some(bfd) = f.fd.as_ref() else {
        return Some(Err(libc::EBADF));
    };
    let r = f.calls.ioctl(bfd.as_fd(), cmd, arg).map_err(|e| e.errno.0);
    trace!("ioctl {fd} {} {} = {}", f.path, name(f.target, cmd), show(&r));
    Some(r)
}

/// DMA_BUF_IOCTL_* on a dma-buf the platform exported (its fds are real
/// memfds, so the kernel would answer ENOTTY).
fn dmabuf_ioctl(fd: i32, cmd: u32, arg: u64) -> Option<Answer> {
    if (cmd >> 8) & 0xff != u32::from(b'b') {
        return None;
    }
    let p = board::started()?;
    let r = match p.board.embedded() {
        Some(emb) => emb.driver.dmabuf_ioctl(fd, cmd, arg, &qda_driver::LocalMemory),
        None => {
            let bfd = qda_os::borrow_raw(fd).ok()?;
            qdad_client::Client::connect(&qdad_client::socket_path()).and_then(|c| c.dmabuf_ioctl(bfd, cmd, arg))
        }
    };
    match r {
        // Not one of the platform's dma-bufs: the kernel's answer.
        Err(e) if e.errno.0 == libc::ENOTTY => None,
        r => {
            let r = r.map_err(|e| e.errno.0);
            trace!("ioctl {fd} dma-buf {} = {}", name(Target::DmaBuf, cmd), show(&r));
            Some(r)
        }
    }
}

/// `close`: forget the number; the last one releases the file. `Some`
/// (EBADF) for a backend's own fd, which libc must not close.
pub fn close(fd: i32) -> Option<Answer> {
    if let Some(f) = remove(fd) {
        trace!("close {fd} ({})", f.path);
        drop(f);
        return None;
    }
    if COUNT.load(Ordering::Acquire) != 0 && qda_rt::lock(&HIDDEN).as_ref().is_some_and(|h| h.contains(&fd)) {
        trace!("close {fd}: the shim's own fd, not the program's");
        return Some(Err(libc::EBADF));
    }
    None
}

/// After a successful `dup`-like call made `newfd` a copy of `oldfd`.
pub fn dup(oldfd: i32, newfd: i32) {
    // The number newfd held before (dup2 closes it) is gone.
    let old = remove(newfd);
    drop(old);
    if let Some(f) = file(oldfd) {
        trace!("dup {oldfd} -> {newfd} ({})", f.path);
        insert(newfd, f);
    }
}

/// `mmap` of a device file: `Ok(address)`; `None` for other fds.
pub fn mmap(len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> Option<Result<Mapping, i32>> {
    let f = file(fd)?;
    if f.pid != crate::pid() {
        return Some(Err(libc::EIO));
    }
    if flags & libc::MAP_FIXED != 0 || flags & libc::MAP_SHARED == 0 || off < 0 || prot & libc::PROT_EXEC != 0 {
        trace!(
            "mmap {fd} ({}) flags {flags:#x} prot {prot:#x}: only shared, unfixed mappings",
            f.path
        );
        return Some(Err(libc::EINVAL));
    }
    let bfd = f.fd.as_ref()?;
    let r = f.calls.mmap(bfd.as_fd(), off as u64, len).map_err(|e| e.errno.0);
    trace!(
        "mmap {fd} ({}) offset {off:#x} len {len:#x} = {}",
        f.path,
        match &r {
            Ok(m) => format!("{:#x}", m.addr()),
            Err(e) => show(&Err(*e)),
        }
    );
    Some(r)
}

/// Keep a mapping made for the program until it unmaps it.
pub fn keep(m: Mapping) -> usize {
    let a = m.addr() as usize;
    let stale = qda_rt::lock(&MAPS).get_or_insert_with(HashMap::new).insert(a, m);
    // An earlier mapping at this address was unmapped behind the shim's
    // back (a raw munmap): it is gone already, so it must not be unmapped
    // again now.
    std::mem::forget(stale);
    a
}

/// `munmap` of a whole mapping the shim made: dropped (unmapped and
/// unregistered). `None` for anything else (libc unmaps it).
pub fn munmap(addr: usize, len: usize) -> Option<Answer> {
    let mut maps = qda_rt::lock(&MAPS);
    let m = maps.as_mut()?;
    let page = 4096;
    if m.get(&addr)
        .is_some_and(|m| m.len().div_ceil(page) == len.div_ceil(page))
    {
        let map = m.remove(&addr);
        drop(maps);
        drop(map);
        return Some(Ok(0));
    }
    None
}

/// In a forked child: mappings the parent made are the child's copies; the
/// shim no longer tracks them (munmap goes to libc, and the registry of
/// the parent's mappings is not touched).
pub(crate) fn forget_maps_in_child(locks: &mut Locks) {
    if let Some(m) = locks.1.take() {
        std::mem::forget(m);
    }
}

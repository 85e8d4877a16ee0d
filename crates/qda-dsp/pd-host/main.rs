//! `qda-pd-host`: one user protection domain of the virtual DSP, as a
//! process of its own. Built by qda-dsp's build script with std only.
//!
//! It talks to its DSP over the socket on fd 0. Requests and replies are
//! little-endian: `u32 len` then `len` bytes, the first `u64` of each being a
//! request id (replies may come back in any order; requests run on a pool of threads).
//!
//! * open   (kind 1): path, symbol, handle-style → retval, skel handle, error text
//! * invoke (kind 2): skel, handle, sc, arguments as runs of the DSP's own
//!   file descriptors (opened here through `/proc/<dsp pid>/fd/N`) → retval
//!
//! Buffers are mapped shared, so the skel reads and writes the client's
//! pages directly. A skel that crashes takes this process down and nothing
//! else: the DSP sees the socket close and fails this PD's calls.

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_int, c_void};
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

// The DSP's thread pool, shared with the library (one piece of code).
#[path = "../src/workers.rs"]
mod workers;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
    fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn getppid() -> c_int;
}

const RTLD_NOW: c_int = 2;
const RTLD_DEEPBIND: c_int = 8;
const PROT_READ: c_int = 1;
const PROT_WRITE: c_int = 2;
const MAP_SHARED: c_int = 1;
const MAP_PRIVATE: c_int = 2;
const MAP_FIXED: c_int = 0x10;
const MAP_ANONYMOUS: c_int = 0x20;

type HandleInvoke = unsafe extern "C" fn(u64, u32, *mut [u64; 2]) -> c_int;
type PlainInvoke = unsafe extern "C" fn(u32, *mut [u64; 2]) -> c_int;

struct Skel {
    f: *mut c_void,
    handle_style: bool,
}
// SAFETY: a symbol address; skels are callable from any thread (as on the DSP).
unsafe impl Send for Skel {}
// SAFETY: as above.
unsafe impl Sync for Skel {}

struct Reader<'a>(&'a [u8]);
impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        Some(self.take(n)?.to_vec())
    }
}

fn reply(out: &Mutex<UnixStream>, body: &[u8]) {
    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
    let _ = w.write_all(&(body.len() as u32).to_le_bytes());
    let _ = w.write_all(body);
}

fn open(r: &mut Reader<'_>, skels: &Mutex<Vec<Skel>>) -> Option<Vec<u8>> {
    let path = CString::new(r.bytes()?).ok()?;
    let sym = CString::new(r.bytes()?).ok()?;
    let handle_style = r.u32()? != 0;
    let mut out = Vec::new();
    // SAFETY: dlopen/dlsym with NUL-terminated strings; the library stays
    // loaded for the life of the PD.
    let lib = unsafe { dlopen(path.as_ptr(), RTLD_NOW | RTLD_DEEPBIND) };
    let f = if lib.is_null() { std::ptr::null_mut() } else {
        // SAFETY: `lib` is a valid handle from dlopen.
        unsafe { dlsym(lib, sym.as_ptr()) }
    };
    if f.is_null() {
        // SAFETY: dlerror returns a thread-local NUL-terminated string or NULL.
        let e = unsafe { dlerror() };
        let text = if e.is_null() { "unknown loader error".into() } else {
            // SAFETY: non-null NUL-terminated C string from dlerror.
            unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy().into_owned()
        };
        out.extend_from_slice(&(if lib.is_null() { 0x8000_043eu32 } else { 0x8000_0442 }).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        return Some(out);
    }
    let mut s = skels.lock().unwrap_or_else(|e| e.into_inner());
    s.push(Skel { f, handle_style });
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&((s.len() - 1) as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    Some(out)
}

/// A client file mapped whole, kept across calls ("mapped once and cached
/// until unmapped"): most arguments are then a pointer into it, no syscall.
struct Cached {
    file: std::fs::File,
    base: *mut c_void,
    size: usize,
}
// SAFETY: a shared mapping and its file; used only through raw pointers
// handed to skels, as on the DSP.
unsafe impl Send for Cached {}
// SAFETY: as above.
unsafe impl Sync for Cached {}
impl Drop for Cached {
    fn drop(&mut self) {
        // SAFETY: our own whole-file mapping; no argument of a running call
        // uses it (the cache only drops entries nobody else holds).
        unsafe { munmap(self.base, self.size) };
    }
}

/// Bounds of the mapping cache.
const CACHE_FILES: usize = 64;
const CACHE_BYTES: usize = 256 << 20;

#[derive(Default)]
struct Cache {
    files: HashMap<(u64, u64), Arc<Cached>>,
    order: std::collections::VecDeque<(u64, u64)>,
    bytes: usize,
}

impl Cache {
    fn get(&mut self, ppid: c_int, fd: u32, id: (u64, u64), size: u64) -> Option<Arc<Cached>> {
        if let Some(c) = self.files.get(&id) {
            return Some(c.clone());
        }
        let file = std::fs::OpenOptions::new().read(true).write(true).open(format!("/proc/{ppid}/fd/{fd}")).ok()?;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
        let size = size as usize;
        // SAFETY: a fresh shared mapping of the whole file at an address the
        // kernel chooses.
        let base = unsafe { mmap(std::ptr::null_mut(), size.max(1), PROT_READ | PROT_WRITE, MAP_SHARED, raw, 0) };
        if base as isize == -1 {
            return None;
        }
        let c = Arc::new(Cached { file, base, size: size.max(1) });
        self.files.insert(id, c.clone());
        self.order.push_back(id);
        self.bytes += c.size;
        // Evict the oldest entries no running call uses.
        let mut scan = self.order.len();
        while (self.files.len() > CACHE_FILES || self.bytes > CACHE_BYTES) && scan > 0 {
            scan -= 1;
            let Some(old) = self.order.pop_front() else { break };
            let in_use = self.files.get(&old).is_some_and(|e| Arc::strong_count(e) > 1) || old == id;
            if in_use {
                self.order.push_back(old);
            } else if let Some(e) = self.files.remove(&old) {
                self.bytes -= e.size;
            }
        }
        Some(c)
    }
}

struct Region(*mut c_void, usize);
impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: a mapping this PD made and nothing references any more.
        unsafe { munmap(self.0, self.1) };
    }
}

fn invoke(r: &mut Reader<'_>, skels: &Mutex<Vec<Skel>>, cache: &Mutex<Cache>, ppid: c_int) -> Option<Vec<u8>> {
    let skel_ix = r.u32()? as usize;
    let handle = r.u64()?;
    let sc = r.u32()?;
    let nargs = r.u32()? as usize;
    let mut regions = Vec::new();
    let mut inline: Vec<Vec<u8>> = Vec::new();
    let mut held: Vec<Arc<Cached>> = Vec::new();
    let mut pra = vec![[0u64; 2]; nargs];
    for a in pra.iter_mut() {
        let kind = r.u32()?;
        if kind == 0 {
            // A 64-bit handle value.
            a[0] = r.u64()?;
            continue;
        }
        if kind == 2 {
            // Bytes the DSP passes by value (the open method's arguments).
            let mut b = r.bytes()?;
            a[0] = b.as_mut_ptr() as u64;
            a[1] = b.len() as u64;
            inline.push(b);
            continue;
        }
        let lead = r.u64()?;
        let len = r.u64()?;
        let nruns = r.u32()? as usize;
        let mut runs = Vec::with_capacity(nruns);
        let mut total = 0u64;
        for _ in 0..nruns {
            let (fd, dev, ino, fsize, off, l) = (r.u32()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
            let c = cache.lock().unwrap_or_else(|e| e.into_inner()).get(ppid, fd, (dev, ino), fsize)?;
            runs.push((c, off, l));
            total += l;
        }
        if nruns == 0 {
            continue;
        }
        if let [(c, off, l)] = runs.as_slice()
            && off + l <= c.size as u64
        {
            // One run: a pointer into the cached whole-file mapping.
            a[0] = c.base as u64 + off + lead;
            a[1] = len;
            held.push(c.clone());
            continue;
        }
        let prot = PROT_READ | PROT_WRITE;
        // SAFETY: reserve fresh address space for the argument.
        let base = unsafe { mmap(std::ptr::null_mut(), total as usize, 0, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
        if base as isize == -1 {
            return Some(0x8000_0465u32.to_le_bytes().to_vec()); // AEE_EMMAP
        }
        regions.push(Region(base, total as usize));
        let mut at = 0u64;
        for (c, off, l) in runs {
            let raw = std::os::fd::AsRawFd::as_raw_fd(&c.file);
            // SAFETY: MAP_FIXED inside our own reservation [base, base+total).
            let p = unsafe { mmap(base.cast::<u8>().add(at as usize).cast(), l as usize, prot, MAP_SHARED | MAP_FIXED, raw, off as i64) };
            if p as isize == -1 {
                return Some(0x8000_0465u32.to_le_bytes().to_vec());
            }
            at += l;
        }
        a[0] = base as u64 + lead;
        a[1] = len;
    }
    let s = skels.lock().unwrap_or_else(|e| e.into_inner());
    let Some(sk) = s.get(skel_ix) else { return Some(0x8000_0446u32.to_le_bytes().to_vec()) };
    let (f, hs) = (sk.f, sk.handle_style);
    drop(s);
    let ret = if hs {
        // SAFETY: the symbol has the skel ABI; `pra` has one 16-byte
        // remote_arg per argument with buffers mapped for the call.
        unsafe { std::mem::transmute::<*mut c_void, HandleInvoke>(f)(handle, sc, pra.as_mut_ptr()) }
    } else {
        // SAFETY: as above, `int f(uint32_t, remote_arg *)`.
        unsafe { std::mem::transmute::<*mut c_void, PlainInvoke>(f)(sc, pra.as_mut_ptr()) }
    };
    let mut out = (ret as u32).to_le_bytes().to_vec();
    // The open method returns a handle in its third argument.
    out.extend_from_slice(&pra.get(2).map_or(0, |a| a[0]).to_le_bytes());
    drop(regions);
    drop(inline);
    drop(held);
    Some(out)
}

/// Work for the PD's threads: read the next request, or run one.
enum Job {
    Read,
}

/// The PD's threads; a job reads a request, hands the reading on to
/// another thread, and runs the request itself (no hand-off on the way in).
static POOL: std::sync::OnceLock<workers::Workers<Job>> = std::sync::OnceLock::new();

fn main() {
    // SAFETY: fd 0 is the socket our DSP gave us; we own it from here on.
    let sock = unsafe { UnixStream::from_raw_fd(0) };
    let input = Arc::new(sock.try_clone().expect("dup socket"));
    let out = Arc::new(Mutex::new(sock));
    let skels = Arc::new(Mutex::new(Vec::new()));
    let cache = Arc::new(Mutex::new(Cache::default()));
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { getppid() };
    let run = move |msg: Vec<u8>| {
        let mut r = Reader(&msg);
        let Some(id) = r.u64() else { return };
        let body = match r.u32() {
            Some(1) => open(&mut r, &skels),
            Some(2) => invoke(&mut r, &skels, &cache, ppid),
            _ => None,
        };
        let mut b = id.to_le_bytes().to_vec();
        b.extend_from_slice(&body.unwrap_or_else(|| 0x8000_040eu32.to_le_bytes().to_vec()));
        reply(&out, &b);
    };
    // Requests run on a pool of threads: one may block in a skel while
    // others go on, and the steady state spawns no thread per request.
    let pool = POOL.get_or_init(|| {
        workers::Workers::new("pd".into(), move |Job::Read| {
            loop {
                let mut len = [0u8; 4];
                let mut rd = &*input;
                if rd.read_exact(&mut len).is_err() {
                    std::process::exit(0); // the DSP went away
                }
                let mut msg = vec![0u8; u32::from_le_bytes(len) as usize];
                if rd.read_exact(&mut msg).is_err() {
                    std::process::exit(0);
                }
                let handed_off = POOL.get().is_some_and(|p| p.submit(Job::Read).is_ok());
                run(msg);
                if handed_off {
                    return;
                }
                // No thread to take over the reading: this one goes on.
            }
        })
    });
    if pool.submit(Job::Read).is_err() {
        return;
    }
    loop {
        std::thread::park();
    }
}

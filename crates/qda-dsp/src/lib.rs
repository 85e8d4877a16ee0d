//! A virtual Hexagon DSP for one domain of a [`qda_driver::Driver`].
//!
//! It receives the 40-byte FastRPC messages of its domain's channel, reads
//! each payload **only through the SMMU translation** of the context bank the
//! payload address names (a bad address is a reported SMMU fault and an error
//! for that call; the DSP goes on), decodes it with `qda_proto`, and serves:
//!
//! | handle | interface | what |
//! |---|---|---|
//! | 1 | process management | attach, create (shell must be an ELF), release |
//! | 2 | DSP utilities | capability query |
//! | 0, 8 | remotectl, remotectl1 | open / close of skel modules by URI |
//! | 4 | current process | exit (wakes the listener) |
//! | 3, 7 | listener | init2; next2 blocks until the process exits, then `AEE_EBADSTATE` |
//! | others | the process's open modules | `<X>_skel_handle_invoke(h, sc, remote_arg *)` |
//!
//! This version runs user PDs as threads of the host process (thread mode);
//! skels are loaded with `RTLD_DEEPBIND` and get pointers into shared
//! mappings of the client's buffers, so nothing is copied.

pub mod loader;
pub mod pd;
pub mod skel;
mod uri;
mod workers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use qda_driver::fastrpc::Transport;
use qda_driver::smmu::{Access, ContextBank, Run};
use qda_driver::sys::{Mapping, PAGE_SIZE};
use qda_driver::{Driver, Errno, Error};
use qda_proto::bodies::{CreateProcessInbuf, RemotectlCloseIn, RemotectlOpenIn, parse_body};
use qda_proto::handles::{self, init};
use qda_proto::payload::{DecodedArg, decode};
use qda_proto::{FastrpcMsg, InvokeRsp, Scalars};
use zerocopy::IntoBytes;

pub use pd::pd_host_path;
pub use uri::ModuleUri;

/// The AEE codes the virtual DSP returns, in their DSP form (`AEE_EOFFSET`
/// 0x80000400 + base), as the `i32` a skel returns. The values come from
/// the one AEE table, [`qda_uapi::aee::AeeCode`].
pub mod aee {
    use qda_uapi::aee::AeeCode;

    /// Process or thread is not in the expected state.
    pub const EBADSTATE: i32 = AeeCode::EBADSTATE.to_dsp().as_i32();
    /// Invalid parameter.
    pub const EBADPARM: i32 = AeeCode::EBADPARM.to_dsp().as_i32();
    /// API not implemented.
    pub const EUNSUPPORTED: i32 = AeeCode::EUNSUPPORTED.to_dsp().as_i32();
    /// No such module.
    pub const ENOSUCHMOD: i32 = AeeCode::ENOSUCHMOD.to_dsp().as_i32();
    /// No such symbol.
    pub const ENOSUCHSYMBOL: i32 = AeeCode::ENOSUCHSYMBOL.to_dsp().as_i32();
    /// No such handle.
    pub const ENOSUCHHANDLE: i32 = AeeCode::ENOSUCHHANDLE.to_dsp().as_i32();
    /// Bad ELF file.
    pub const EBADELF: i32 = AeeCode::EBADELF.to_dsp().as_i32();
    /// Bad virtual address (the SMMU refused the payload or an argument).
    pub const EBADVA: i32 = AeeCode::EBADVA.to_dsp().as_i32();
    /// No such process.
    pub const ENOSUCHPROCESS: i32 = AeeCode::ENOSUCHPROCESS.to_dsp().as_i32();
    /// A CPU exception occurred (the PD crashed).
    pub const ECPUEXCEPTION: i32 = AeeCode::ECPUEXCEPTION.to_dsp().as_i32();
    /// Unable to load (the PD process could not start).
    pub const EUNABLETOLOAD: i32 = AeeCode::EUNABLETOLOAD.to_dsp().as_i32();
    /// No mapping exists for this address on the DSP.
    pub const ENOSUCHMAP: i32 = AeeCode::ENOSUCHMAP.to_dsp().as_i32();
}

/// Capabilities a domain reports (attribute id → value).
pub fn capabilities(label: &str) -> Vec<u32> {
    let mut t = vec![0u32; 256];
    let compute = label.starts_with("cdsp") || label.starts_with("gdsp");
    t[1] = u32::from(compute); // UNSIGNED_PD_SUPPORT
    t[2] = if compute { 4 } else { 0 }; // HVX_SUPPORT_64B: units
    t[3] = if compute { 4 } else { 0 }; // HVX_SUPPORT_128B
    t[4] = if compute { 256 * 1024 } else { 0 }; // VTCM_PAGE
    t[5] = u32::from(compute); // VTCM_COUNT
    t[6] = 0x73; // ARCH_VER: v73
    t[9] = 0; // ASYNC_FASTRPC_SUPPORT
    t[10] = 0; // STATUS_NOTIFICATION_SUPPORT
    t
}

/// How user PDs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PdMode {
    /// Each user PD is a `qda-pd-host` child process: a crashing skel takes
    /// down its PD only.
    #[default]
    Process,
    /// User PDs are threads of this process: fastest, no isolation.
    Thread,
}

impl PdMode {
    /// `QDA_PD_MODE=thread|process`, else the default.
    pub fn from_env() -> PdMode {
        match std::env::var("QDA_PD_MODE").as_deref() {
            Ok("thread") => PdMode::Thread,
            _ => PdMode::Process,
        }
    }
}

/// A module opened in a process.
#[derive(Debug)]
enum Module {
    /// Loaded in this process (thread PDs).
    Local {
        skel: Arc<loader::LoadedSkel>,
        /// What the skel's open returned.
        skel_handle: u64,
    },
    /// Loaded in the PD process.
    Remote { ix: u32, skel_handle: u64 },
    /// A Rust skel registered with the DSP.
    Builtin {
        skel: Arc<dyn skel::Skel>,
        skel_handle: u64,
    },
}

#[derive(Debug, Default)]
struct Process {
    name: String,
    modules: Mutex<HashMap<u32, Module>>,
    /// DSP virtual mappings: VA → (length, DSP address mapped).
    vmaps: Mutex<std::collections::BTreeMap<u64, (u64, u64)>>,
    /// The PD process (process mode).
    host: Option<Arc<pd::PdProcess>>,
    exiting: Mutex<bool>,
    cv: Condvar,
}

impl Process {
    fn exit(&self) {
        *self.exiting.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
        // A PD process ends now, with whatever calls are inside it; a
        // thread PD's calls run to their end.
        if let Some(h) = &self.host {
            h.terminate();
        }
    }
}

#[derive(Debug)]
struct Inner {
    label: String,
    driver: Driver,
    procs: Mutex<HashMap<i32, Arc<Process>>>,
    root: Arc<Process>,
    libs: Mutex<HashMap<(PathBuf, String), Arc<loader::LoadedSkel>>>,
    next_handle: AtomicU32,
    caps: Vec<u32>,
    search: Vec<PathBuf>,
    mode: PdMode,
    builtins: Mutex<HashMap<String, Arc<dyn skel::Skel>>>,
    /// Mappings of translated ranges kept between calls.
    maps: Arc<MapCache>,
}

/// A virtual DSP attached to one domain.
#[derive(Debug, Clone)]
pub struct VirtualDsp {
    inner: Arc<Inner>,
}

/// The DSP's end of the channel: messages go to a pool of DSP threads.
#[derive(Debug)]
struct Port {
    inner: Arc<Inner>,
    workers: workers::Workers<FastrpcMsg>,
}

impl Port {
    fn new(inner: Arc<Inner>) -> Port {
        let dsp = inner.clone();
        Port {
            workers: workers::Workers::new(format!("{}-dsp", inner.label), move |msg| dsp.handle(msg)),
            inner,
        }
    }
}

impl Transport for Port {
    fn send(&self, msg: &FastrpcMsg) -> qda_driver::Result<()> {
        self.workers
            .submit(*msg)
            .map_err(|e| Error::new(Errno::ENOMEM, format!("DSP thread: {e}")))
    }

    fn shutdown(&self) {
        // Subsystem restart: every process dies, blocked listeners return.
        let procs: Vec<_> = self
            .inner
            .procs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, p)| p)
            .collect();
        for p in procs {
            p.exit();
        }
        self.inner.root.exit();
    }
}

/// The directory of the skels built with this crate.
pub fn builtin_skel_dir() -> PathBuf {
    PathBuf::from(env!("QDA_BUILTIN_SKEL_DIR"))
}

/// The DSP library search path: `DSP_LIBRARY_PATH` or `ADSP_LIBRARY_PATH`
/// (semicolon separated, as on devices), then the built-in skels.
pub fn library_path() -> Vec<PathBuf> {
    let var = std::env::var("DSP_LIBRARY_PATH")
        .or_else(|_| std::env::var("ADSP_LIBRARY_PATH"))
        .unwrap_or_default();
    let mut v: Vec<PathBuf> = var.split(';').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
    v.push(builtin_skel_dir());
    v
}

impl VirtualDsp {
    /// Start a DSP for domain `label` and attach it to the driver's channel
    /// (PD mode from `QDA_PD_MODE`, default: processes).
    pub fn start(driver: &Driver, label: &str) -> qda_driver::Result<VirtualDsp> {
        VirtualDsp::start_with(driver, label, PdMode::from_env())
    }

    /// Start a DSP with an explicit PD mode. Process mode needs the PD host
    /// program ([`pd_host_path`]); without it the DSP falls back to threads.
    pub fn start_with(driver: &Driver, label: &str, mode: PdMode) -> qda_driver::Result<VirtualDsp> {
        let mode = if mode == PdMode::Process && pd_host_path().is_none() {
            PdMode::Thread
        } else {
            mode
        };
        let inner = Arc::new(Inner {
            label: label.to_string(),
            driver: driver.clone(),
            procs: Mutex::new(HashMap::new()),
            root: Arc::new(Process {
                name: "guestos".into(),
                ..Default::default()
            }),
            libs: Mutex::new(HashMap::new()),
            next_handle: AtomicU32::new(0x10),
            caps: capabilities(label),
            search: library_path(),
            mode,
            builtins: Mutex::new(HashMap::new()),
            maps: Arc::default(),
        });
        driver.attach_dsp(label, Arc::new(Port::new(inner.clone())))?;
        Ok(VirtualDsp { inner })
    }

    /// Start one DSP per domain of the driver.
    pub fn start_all(driver: &Driver) -> qda_driver::Result<Vec<VirtualDsp>> {
        driver
            .domains()
            .iter()
            .map(|d| VirtualDsp::start(driver, d.label()))
            .collect()
    }

    /// Serve library `name` (as a URI names it, e.g. `libreverse_skel.so`)
    /// with a Rust skel.
    pub fn register_skel(&self, name: &str, skel: Arc<dyn skel::Skel>) {
        self.inner
            .builtins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), skel);
    }

    /// How user PDs run.
    pub fn mode(&self) -> PdMode {
        self.inner.mode
    }

    /// The running PD processes: `(pid, process name)`.
    pub fn pd_processes(&self) -> Vec<(u32, String)> {
        let procs = self.inner.procs.lock().unwrap_or_else(|e| e.into_inner());
        procs
            .values()
            .filter_map(|p| p.host.as_ref().map(|h| (h.pid(), p.name.clone())))
            .collect()
    }

    /// Number of live user processes.
    pub fn processes(&self) -> usize {
        self.inner.procs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One buffer argument as the DSP's MMU sees it: translated runs, mapped
/// in this process on first use (thread PDs and static handles) or handed to
/// a PD process as they are.
struct ArgMap {
    runs: Vec<Run>,
    len: usize,
    writable: bool,
    map: std::sync::OnceLock<Option<(Arc<Mapping>, usize)>>,
}

impl ArgMap {
    fn empty() -> ArgMap {
        ArgMap {
            runs: Vec::new(),
            len: 0,
            writable: false,
            map: std::sync::OnceLock::new(),
        }
    }
    fn mapping(&self) -> Option<&(Arc<Mapping>, usize)> {
        self.map
            .get_or_init(|| {
                if self.runs.is_empty() {
                    None
                } else {
                    map_runs(&self.runs, self.writable).map(|(m, o)| (Arc::new(m), o)).ok()
                }
            })
            .as_ref()
    }
    fn ptr(&self) -> *mut u8 {
        self.mapping().map_or(std::ptr::null_mut(), |(m, off)| m.ptr_at(*off))
    }
    fn read(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.len];
        if let Some((m, off)) = self.mapping() {
            let _ = m.read_at(*off, &mut v);
        }
        v
    }
    fn write(&self, b: &[u8]) {
        if let Some((m, off)) = self.mapping() {
            let _ = m.write_at(*off, &b[..b.len().min(self.len)]);
        }
    }
}

/// Page-aligned cover of translated runs: `(fd, offset, length)` pieces and
/// the in-page offset of the first byte.
fn aligned_runs(runs: &[Run]) -> (Vec<(std::os::fd::BorrowedFd<'_>, u64, u64)>, usize) {
    let lead = runs.first().map_or(0, |r| (r.offset % PAGE_SIZE) as usize);
    let segs = runs
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let start = if k == 0 { r.offset - lead as u64 } else { r.offset };
            let end = (r.offset + r.len).next_multiple_of(PAGE_SIZE);
            (r.file.fd(), start, end - start)
        })
        .collect();
    (segs, lead)
}

/// The DSP's mappings of payloads, kept between calls: the driver reuses its
/// payload buffers, and mapping one afresh for every call cost a page fault
/// per 16 pages touched (10 per 64 KiB-inline call). Keyed
/// by file identity, offset and length, so a hit maps exactly the memory a
/// fresh translation names (shared mappings of the same file range). A
/// cached mapping keeps its file's memory until evicted: at most
/// [`MAP_CACHE_ENTRIES`] ranges of at most [`MAP_CACHE_LARGEST`] bytes.
#[derive(Debug, Default)]
struct MapCache {
    entries: Mutex<std::collections::VecDeque<(MapKey, Arc<Mapping>)>>,
}

/// `((dev, ino), offset, length)` per piece, and writability.
type MapKey = (Vec<((u64, u64), u64, u64)>, bool);
const MAP_CACHE_ENTRIES: usize = 32;
const MAP_CACHE_LARGEST: u64 = 1 << 20;

impl MapCache {
    fn map(&self, runs: &[Run], writable: bool) -> qda_driver::Result<(Arc<Mapping>, usize)> {
        let (segs, lead) = aligned_runs(runs);
        if segs.is_empty() {
            return Err(Error::new(Errno::EINVAL, "empty translation"));
        }
        if segs.iter().map(|s| s.2).sum::<u64>() > MAP_CACHE_LARGEST {
            return Ok((Arc::new(Mapping::assemble_internal(&segs, writable)?), lead));
        }
        // A payload is a driver backing: its identity is known, no fstat.
        let key: MapKey = (
            runs.iter()
                .zip(&segs)
                .map(|(r, (_, off, len))| Ok((r.file.file_id()?, *off, *len)))
                .collect::<qda_driver::Result<_>>()?,
            writable,
        );
        let lock = || self.entries.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut e = lock();
            if let Some(i) = e.iter().position(|(k, _)| *k == key) {
                let hit = e.remove(i).expect("index from position");
                let m = hit.1.clone();
                e.push_back(hit);
                return Ok((m, lead));
            }
        }
        let m = Arc::new(Mapping::assemble_internal(&segs, writable)?);
        let mut e = lock();
        e.push_back((key, m.clone()));
        if e.len() > MAP_CACHE_ENTRIES {
            e.pop_front();
        }
        Ok((m, lead))
    }
}

/// Map translated runs contiguously (page-aligned cover), as the DSP's MMU would.
fn map_runs(runs: &[Run], writable: bool) -> qda_driver::Result<(Mapping, usize)> {
    if runs.is_empty() {
        return Err(Error::new(Errno::EINVAL, "empty translation"));
    }
    let (segs, lead) = aligned_runs(runs);
    Ok((Mapping::assemble_internal(&segs, writable)?, lead))
}

impl Inner {
    fn cb(&self, addr: u64) -> Option<Arc<ContextBank>> {
        let d = self.driver.domain(&self.label)?;
        d.cbs.iter().find(|c| c.sid() as u64 == addr >> 32).cloned()
    }

    fn handle(&self, msg: FastrpcMsg) {
        let retval = self.serve(&msg);
        let rsp = InvokeRsp {
            ctx: msg.ctx,
            retval,
            pad: 0,
        };
        if let Some(d) = self.driver.domain(&self.label) {
            let _ = d.channel.on_response(rsp.as_bytes());
        }
    }

    fn serve(&self, msg: &FastrpcMsg) -> i32 {
        let sc = Scalars(msg.sc);
        // The payload, through the SMMU.
        let Some(cb) = self.cb(msg.addr) else {
            return aee::EBADVA;
        };
        let meta_len = qda_proto::payload::MetaLayout::new(sc.len()).metalen() as u64;
        if msg.size < meta_len {
            return aee::EBADPARM;
        }
        let runs = match cb.translate(msg.addr, msg.size, Access::Write) {
            Ok(r) => r,
            Err(_) => return aee::EBADVA,
        };
        let Ok((payload, lead)) = self.maps.map(&runs, true) else {
            return aee::EBADVA;
        };
        let mut meta = vec![0u8; meta_len as usize];
        if payload.read_at(lead, &mut meta).is_err() {
            return aee::EBADVA;
        }
        let Ok(decoded) = decode(sc, &meta) else {
            return aee::EBADPARM;
        };
        // Every buffer argument, through the SMMU.
        let mut args = Vec::with_capacity(decoded.args.len());
        for (i, a) in decoded.args.iter().enumerate() {
            match *a {
                DecodedArg::Buf { addr, len, .. } if len > 0 => {
                    let access = if sc.is_input(i) { Access::Read } else { Access::Write };
                    let runs = match cb.translate(addr, len, access) {
                        Ok(r) => r,
                        Err(_) => return aee::EBADVA,
                    };
                    let map = std::sync::OnceLock::new();
                    // An inline argument lies in the payload: it is a window
                    // of the payload's mapping, not a mapping of its own.
                    if addr >= msg.addr
                        && addr
                            .checked_add(len)
                            .is_some_and(|e| e <= msg.addr.saturating_add(msg.size))
                    {
                        let _ = map.set(Some((payload.clone(), lead + (addr - msg.addr) as usize)));
                    }
                    args.push(ArgMap {
                        runs,
                        len: len as usize,
                        writable: access == Access::Write,
                        map,
                    });
                }
                _ => args.push(ArgMap::empty()),
            }
        }
        let retval = self.dispatch(msg, sc, &args, &cb);
        // Outputs were written in place; their lengths stay as sent.
        drop(payload);
        retval
    }

    fn process(&self, client_id: i32) -> Arc<Process> {
        self.procs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&client_id)
            .cloned()
            .unwrap_or_else(|| self.root.clone())
    }

    fn dispatch(&self, msg: &FastrpcMsg, sc: Scalars, args: &[ArgMap], cb: &ContextBank) -> i32 {
        match msg.handle {
            handles::INIT => self.process_management(sc, args, cb),
            handles::DSP_UTILITIES => {
                if sc != handles::sc::DSP_CAPABILITY {
                    return aee::EUNSUPPORTED;
                }
                let n = u32::from_le_bytes(args[0].read().try_into().unwrap_or([0; 4])) as usize;
                let words: Vec<u8> = self.caps[1..].iter().take(n).flat_map(|w| w.to_le_bytes()).collect();
                args[1].write(&words);
                0
            }
            handles::REMOTECTL1 | handles::REMOTECTL => self.remotectl(msg, sc, args),
            handles::CURRENT_PROCESS => {
                if sc.method() == handles::current_process::EXIT {
                    self.process(msg.client_id).exit();
                }
                0
            }
            handles::LISTENER1 | handles::LISTENER => {
                let (init2, next2) = if msg.handle == handles::LISTENER1 {
                    (handles::listener1::INIT2, handles::listener1::NEXT2)
                } else {
                    (handles::listener::INIT2, handles::listener::NEXT2)
                };
                match sc.method() {
                    m if m == init2 => 0,
                    m if m == next2 => {
                        // No reverse requests yet: block until the process exits.
                        let p = self.process(msg.client_id);
                        let mut ex = p.exiting.lock().unwrap_or_else(|e| e.into_inner());
                        while !*ex {
                            ex = p.cv.wait(ex).unwrap_or_else(|e| e.into_inner());
                        }
                        aee::EBADSTATE
                    }
                    _ => aee::EBADSTATE,
                }
            }
            h if h <= handles::MAX_LIB_STATIC_HANDLE => aee::EUNSUPPORTED,
            h => {
                let p = self.process(msg.client_id);
                let mods = p.modules.lock().unwrap_or_else(|e| e.into_inner());
                match mods.get(&h) {
                    None => aee::ENOSUCHHANDLE,
                    Some(Module::Local { skel, skel_handle }) => {
                        let (skel, sh) = (skel.clone(), *skel_handle);
                        drop(mods);
                        let mut pra: Vec<loader::RemoteArg> =
                            args.iter().map(|a| loader::buf(a.ptr(), a.len)).collect();
                        skel.call(sh, sc.0, &mut pra)
                    }
                    Some(Module::Builtin { skel, skel_handle }) => {
                        let (skel, sh) = (skel.clone(), *skel_handle);
                        drop(mods);
                        let nbufs = sc.nbufs().min(args.len());
                        let nin = (sc.inbufs() as usize).min(nbufs);
                        let mut a = skel::Args {
                            inputs: args[..nin].iter().map(|a| a.read()).collect(),
                            outputs: args[nin..nbufs].iter().map(|a| vec![0u8; a.len]).collect(),
                        };
                        let r = skel.invoke(sh, sc, &mut a);
                        for (o, m) in a.outputs.iter().zip(&args[nin..nbufs]) {
                            m.write(o);
                        }
                        r
                    }
                    Some(Module::Remote { ix, skel_handle }) => {
                        let (ix, sh) = (*ix, *skel_handle);
                        drop(mods);
                        let Some(host) = p.host.clone() else {
                            return aee::EBADSTATE;
                        };
                        let pargs: Vec<pd::PdArg<'_>> =
                            args.iter().map(|a| pd::PdArg::Buffer(&a.runs, a.len as u64)).collect();
                        match host.invoke(ix, sh, sc.0, &pargs) {
                            Ok((r, _)) => r,
                            Err(_) => aee::ECPUEXCEPTION,
                        }
                    }
                }
            }
        }
    }

    /// First VA of a process's mappings (above the 1 GiB of code and heap).
    const VA_BASE: u64 = 0x4000_0000;

    fn map_into(
        &self,
        client_id: i32,
        vaddr: u64,
        page: qda_proto::payload::PhyPage,
        cb: &ContextBank,
    ) -> Result<u64, i32> {
        let procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        let p = procs.get(&client_id).ok_or(aee::ENOSUCHPROCESS)?.clone();
        drop(procs);
        if page.size > 0 && cb.translate(page.addr, page.size, Access::Read).is_err() {
            return Err(aee::EBADVA);
        }
        let mut m = p.vmaps.lock().unwrap_or_else(|e| e.into_inner());
        let len = page.size.max(PAGE_SIZE).next_multiple_of(PAGE_SIZE);
        let va = if vaddr != 0 {
            vaddr
        } else {
            m.iter().next_back().map_or(Self::VA_BASE, |(v, (l, _))| v + l)
        };
        if m.range(..va + len).next_back().is_some_and(|(v, (l, _))| v + l > va) {
            return Err(aee::EBADPARM);
        }
        m.insert(va, (len, page.addr));
        Ok(va)
    }

    fn unmap_from(&self, client_id: i32, vaddr: u64) -> i32 {
        let procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = procs.get(&client_id).cloned() else {
            return aee::ENOSUCHPROCESS;
        };
        drop(procs);
        match p.vmaps.lock().unwrap_or_else(|e| e.into_inner()).remove(&vaddr) {
            Some(_) => 0,
            None => aee::ENOSUCHMAP,
        }
    }

    fn process_management(&self, sc: Scalars, args: &[ArgMap], cb: &ContextBank) -> i32 {
        use qda_proto::bodies::{MemMapReq, MemUnmapReq, MmapReq, MunmapReq};
        use qda_proto::payload::PhyPage;
        match sc.method() {
            init::MMAP | init::MEM_MAP => {
                let page = parse_body::<PhyPage>("page", &args[1].read());
                let (client, vaddr) = if sc.method() == init::MMAP {
                    match parse_body::<MmapReq>("mmap", &args[0].read()) {
                        Ok(r) => (r.client_id, r.vaddr),
                        Err(_) => return aee::EBADPARM,
                    }
                } else {
                    match parse_body::<MemMapReq>("mem_map", &args[0].read()) {
                        Ok(r) => (r.client_id, r.vaddrin),
                        Err(_) => return aee::EBADPARM,
                    }
                };
                let Ok(page) = page else { return aee::EBADPARM };
                match self.map_into(client, vaddr, page, cb) {
                    Ok(va) => {
                        let out = if sc.method() == init::MMAP { 2 } else { 3 };
                        args[out].write(&va.to_le_bytes());
                        0
                    }
                    Err(e) => e,
                }
            }
            init::CREATE_STATIC => {
                let Ok(inbuf) = parse_body::<qda_proto::bodies::CreateStaticInbuf>("create_static", &args[0].read())
                else {
                    return aee::EBADPARM;
                };
                let raw = args[1].read();
                let name = String::from_utf8_lossy(raw.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
                // Static PDs are firmware PDs: served by the DSP itself.
                let known = ["audiopd", "sensorspd", "oispd", "rootpd", "securepd"];
                if !known.contains(&name.as_str()) {
                    return aee::ENOSUCHPROCESS;
                }
                let p = Arc::new(Process {
                    name,
                    ..Default::default()
                });
                if let Some(old) = self
                    .procs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(inbuf.client_id, p)
                {
                    old.exit();
                }
                0
            }
            init::MUNMAP => match parse_body::<MunmapReq>("munmap", &args[0].read()) {
                Ok(r) => self.unmap_from(r.client_id, r.vaddr),
                Err(_) => aee::EBADPARM,
            },
            init::MEM_UNMAP => match parse_body::<MemUnmapReq>("mem_unmap", &args[0].read()) {
                Ok(r) => self.unmap_from(r.client_id, r.vaddrin),
                Err(_) => aee::EBADPARM,
            },
            init::ATTACH => {
                let id = i32::from_le_bytes(args[0].read().try_into().unwrap_or([0; 4]));
                self.procs.lock().unwrap_or_else(|e| e.into_inner()).insert(
                    id,
                    Arc::new(Process {
                        name: "guestos".into(),
                        ..Default::default()
                    }),
                );
                0
            }
            init::RELEASE => {
                let id = i32::from_le_bytes(args[0].read().try_into().unwrap_or([0; 4]));
                if let Some(p) = self.procs.lock().unwrap_or_else(|e| e.into_inner()).remove(&id) {
                    p.exit();
                }
                0
            }
            init::CREATE | init::CREATE_ATTR => {
                let Ok(inbuf) = parse_body::<CreateProcessInbuf>("create inbuf", &args[0].read()) else {
                    return aee::EBADPARM;
                };
                let name = args[1].read();
                let name = String::from_utf8_lossy(name.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
                if inbuf.filelen > 0 {
                    // A given shell must at least be an ELF.
                    if args[2].len < 4 || args[2].read()[..4] != *b"\x7fELF" {
                        return aee::EBADELF;
                    }
                }
                let host = match self.mode {
                    PdMode::Thread => None,
                    PdMode::Process => match pd::PdProcess::spawn(&name) {
                        Ok(h) => Some(h),
                        Err(_) => return aee::EUNABLETOLOAD,
                    },
                };
                let p = Arc::new(Process {
                    name,
                    host,
                    ..Default::default()
                });
                if let Some(old) = self
                    .procs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(inbuf.client_id, p)
                {
                    old.exit();
                }
                0
            }
            _ => aee::EUNSUPPORTED,
        }
    }

    fn find_library(&self, name: &str) -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        self.search.iter().map(|d| d.join(name)).find(|c| c.exists())
    }

    fn remotectl(&self, msg: &FastrpcMsg, sc: Scalars, args: &[ArgMap]) -> i32 {
        let (open, close) = if msg.handle == handles::REMOTECTL1 {
            (handles::remotectl1::OPEN1, handles::remotectl1::CLOSE1)
        } else {
            (handles::remotectl::OPEN, handles::remotectl::CLOSE)
        };
        let p = self.process(msg.client_id);
        if sc.method() == open && sc.inbufs() == 2 && sc.outbufs() == 2 {
            let Ok(inp) = parse_body::<RemotectlOpenIn>("remotectl open", &args[0].read()) else {
                return aee::EBADPARM;
            };
            let raw = args[1].read();
            let uri = String::from_utf8_lossy(raw.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
            let (handle, dlerr, text) = match self.open_module(&p, &uri) {
                Ok(h) => (h, 0, String::new()),
                Err((code, text)) => (0, code as u32, text),
            };
            args[2].write(&[handle.to_le_bytes(), dlerr.to_le_bytes()].concat());
            let mut t = text.into_bytes();
            t.truncate((inp.dlerr_len as usize).saturating_sub(1));
            t.push(0);
            args[3].write(&t);
            return 0;
        }
        if sc.method() == close && sc.inbufs() == 1 {
            let Ok(inp) = parse_body::<RemotectlCloseIn>("remotectl close", &args[0].read()) else {
                return aee::EBADPARM;
            };
            let m = p.modules.lock().unwrap_or_else(|e| e.into_inner()).remove(&inp.handle);
            let close_sc = Scalars::makex(0, 1, 0, 0, 1, 0).0;
            let dlerr = match m {
                Some(Module::Local { skel, skel_handle }) => {
                    let mut pra = [loader::h64(skel_handle)];
                    skel.call(skel_handle, close_sc, &mut pra);
                    0
                }
                Some(Module::Builtin { skel, skel_handle }) => skel.close(skel_handle),
                Some(Module::Remote { ix, skel_handle }) => match &p.host {
                    Some(h) => h
                        .invoke(ix, skel_handle, close_sc, &[pd::PdArg::Handle(skel_handle)])
                        .map_or(aee::ECPUEXCEPTION, |_| 0),
                    None => aee::EBADSTATE,
                },
                None => aee::ENOSUCHHANDLE,
            };
            args[1].write(&(dlerr as u32).to_le_bytes());
            return 0;
        }
        aee::EUNSUPPORTED
    }

    fn open_module(&self, p: &Process, uri: &str) -> Result<u32, (i32, String)> {
        let u = ModuleUri::parse(uri).map_err(|e| (aee::EBADPARM, e))?;
        let builtin = self
            .builtins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&u.library)
            .cloned();
        if let Some(skel) = builtin {
            let skel_handle = skel.open(uri).map_err(|r| (r, format!("{}: open failed", u.library)))?;
            let h = self.next_handle.fetch_add(1, Ordering::Relaxed);
            p.modules
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(h, Module::Builtin { skel, skel_handle });
            return Ok(h);
        }
        let path = self.find_library(&u.library).ok_or_else(|| {
            (
                aee::ENOSUCHMOD,
                format!(
                    "{}: cannot open shared object file: No such file or directory (searched {:?})",
                    u.library, self.search
                ),
            )
        })?;
        let mut name = uri.as_bytes().to_vec();
        name.push(0);
        let open_sc = Scalars::makex(0, 0, 2, 0, 0, 1).0;
        if let Some(host) = &p.host {
            let ix = host.open(&path, &u.symbol, u.handle_style)?;
            let len = (name.len() as u32).to_le_bytes();
            let args = [pd::PdArg::Bytes(&len), pd::PdArg::Bytes(&name), pd::PdArg::Handle(0)];
            let (r, skel_handle) = host
                .invoke(ix, 0, open_sc, &args)
                .map_err(|e| (aee::ECPUEXCEPTION, e))?;
            if r != 0 {
                return Err((r, format!("{}: open failed", u.library)));
            }
            let h = self.next_handle.fetch_add(1, Ordering::Relaxed);
            p.modules
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(h, Module::Remote { ix, skel_handle });
            return Ok(h);
        }
        let key = (path.clone(), u.symbol.clone());
        let skel = {
            let mut libs = self.libs.lock().unwrap_or_else(|e| e.into_inner());
            match libs.get(&key) {
                Some(s) => s.clone(),
                None => {
                    let s = Arc::new(
                        loader::LoadedSkel::load(&path, &u.symbol, u.handle_style)
                            .map_err(|e| (aee::ENOSUCHSYMBOL, e))?,
                    );
                    libs.insert(key, s.clone());
                    s
                }
            }
        };
        // Method 0 (open): in u32 len, in uri; out handle64.
        let mut len = (name.len() as u32).to_le_bytes();
        let mut out = [0u64; 1];
        let mut pra = [
            loader::buf(len.as_mut_ptr(), 4),
            loader::buf(name.as_mut_ptr(), name.len()),
            loader::h64(0),
        ];
        let r = skel.call(0, open_sc, &mut pra);
        if r != 0 {
            return Err((r, format!("{}: open failed", u.library)));
        }
        out[0] = loader::get_h64(&pra[2]);
        let h = self.next_handle.fetch_add(1, Ordering::Relaxed);
        p.modules.lock().unwrap_or_else(|e| e.into_inner()).insert(
            h,
            Module::Local {
                skel,
                skel_handle: out[0],
            },
        );
        Ok(h)
    }
}

/// The embedded platform: a driver for the built-in board (or a given one)
/// with a virtual DSP on every domain, all in this process.
#[derive(Debug)]
pub struct Embedded {
    /// The driver.
    pub driver: Driver,
    /// One DSP per domain.
    pub dsps: Vec<VirtualDsp>,
}

impl Embedded {
    /// Start the built-in board.
    pub fn start() -> qda_driver::Result<Embedded> {
        Embedded::with_driver(Driver::builtin()?)
    }

    /// Start DSPs for every domain of `driver`.
    pub fn with_driver(driver: Driver) -> qda_driver::Result<Embedded> {
        let dsps = VirtualDsp::start_all(&driver)?;
        Ok(Embedded { driver, dsps })
    }

    /// Start DSPs for every domain of `driver` with user PDs run as `mode` says.
    pub fn with_mode(driver: Driver, mode: PdMode) -> qda_driver::Result<Embedded> {
        let dsps = driver
            .domains()
            .iter()
            .map(|d| VirtualDsp::start_with(&driver, d.label(), mode))
            .collect::<qda_driver::Result<_>>()?;
        Ok(Embedded { driver, dsps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_driver::smmu::SegFile;
    use qda_driver::sys::InternalFd;

    fn file(pages: u64) -> SegFile {
        SegFile::Fd(Arc::new(InternalFd::new(
            qda_driver::sys::memfd("t", pages * PAGE_SIZE).unwrap(),
        )))
    }

    fn run(f: &SegFile, offset: u64, len: u64) -> Run {
        Run {
            file: f.clone(),
            offset,
            len,
        }
    }

    #[test]
    fn the_payload_map_cache_hits_only_the_same_range() {
        let c = MapCache::default();
        let (a, b) = (file(4), file(4));
        let (m1, lead) = c.map(&[run(&a, 100, 50)], true).unwrap();
        assert_eq!(lead, 100);
        m1.write_at(lead, b"payload").unwrap();
        // The same range: the same mapping.
        let (m2, _) = c.map(&[run(&a, 100, 50)], true).unwrap();
        assert!(Arc::ptr_eq(&m1, &m2));
        // Another file, another page, or read-only: new mappings.
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&b, 100, 50)], true).unwrap().0));
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&a, PAGE_SIZE, 50)], true).unwrap().0));
        assert!(!Arc::ptr_eq(&m1, &c.map(&[run(&a, 100, 50)], false).unwrap().0));
        // A fresh mapping of the range sees the same memory.
        let mut got = [0u8; 7];
        c.map(&[run(&a, 100, 50)], false)
            .unwrap()
            .0
            .read_at(lead, &mut got)
            .unwrap();
        assert_eq!(&got, b"payload");
    }

    #[test]
    fn the_payload_map_cache_is_bounded() {
        let c = MapCache::default();
        let f = file(64);
        let first = c.map(&[run(&f, 0, 8)], true).unwrap().0;
        for p in 1..=MAP_CACHE_ENTRIES as u64 {
            c.map(&[run(&f, p * PAGE_SIZE, 8)], true).unwrap();
        }
        assert_eq!(c.entries.lock().unwrap().len(), MAP_CACHE_ENTRIES);
        // The oldest was evicted: mapping it again makes a new mapping.
        assert!(!Arc::ptr_eq(&first, &c.map(&[run(&f, 0, 8)], true).unwrap().0));
        // Nothing to map is an error, not a cached empty mapping.
        assert_eq!(c.map(&[], true).unwrap_err().errno, Errno::EINVAL);
        // Ranges above the limit are mapped but never kept.
        let big = file(MAP_CACHE_LARGEST / PAGE_SIZE + 1);
        let m = c.map(&[run(&big, 0, MAP_CACHE_LARGEST + 1)], true).unwrap().0;
        assert!(!Arc::ptr_eq(
            &m,
            &c.map(&[run(&big, 0, MAP_CACHE_LARGEST + 1)], true).unwrap().0
        ));
    }
}

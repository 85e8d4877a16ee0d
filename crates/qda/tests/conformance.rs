//! One conformance suite, run against every backend this machine can host:
//! the embedded platform with user PDs as processes and as threads, the
//! kernel backend (real fds and its own code, its system calls routed into
//! an embedded driver's raw UAPI entry), and a qdad daemon (a server in
//! this process, reached only through its socket); and, with the accel
//! nodes hidden, the legacy `/dev/fastrpc-*` UAPI the library falls back to
//! (embedded and through qdad).
//! Each run has a platform of its own and ends by checking that the
//! driver's live-object counts are zero and the DMA-API checker is quiet.

use std::os::fd::AsFd;
use std::sync::Arc;

use std::os::fd::{BorrowedFd, OwnedFd};

use qda::sys::{Routed, Syscalls};
use qda::{Arg, Device, Domain, Error};
use qda_driver::Driver;
use qda_dsp::{Embedded, PdMode};

const CALC: &str = "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Embedded(PdMode),
    Kernel,
    Daemon,
    /// A backend with its accel nodes hidden: the library falls back to
    /// the legacy `/dev/fastrpc-*` node and its UAPI.
    Legacy(&'static Kind),
}

/// Hides the accel nodes of a backend.
#[derive(Debug)]
struct NoAccel(Arc<dyn Syscalls>);

impl Syscalls for NoAccel {
    fn backend(&self) -> qda::Backend {
        self.0.backend()
    }
    fn accel_nodes(&self) -> Vec<String> {
        Vec::new()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.0.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda::OsError> {
        self.0.open(path)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda::OsError> {
        self.0.ioctl(fd, cmd, arg)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<qda_driver::sys::Mapping, qda::OsError> {
        self.0.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        self.0.close(fd)
    }
}

/// The kernel backend's system calls as a kernel would see them: the
/// routed calls, reported as the kernel backend.
#[derive(Debug)]
struct AsKernel(Routed);

impl Syscalls for AsKernel {
    fn backend(&self) -> qda::Backend {
        qda::Backend::Kernel
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.0.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.0.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda::OsError> {
        self.0.open(path)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda::OsError> {
        self.0.ioctl(fd, cmd, arg)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<qda_driver::sys::Mapping, qda::OsError> {
        self.0.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        self.0.close(fd)
    }
}

/// A backend and the driver behind it (to check its counts). Fields drop
/// in order: the daemon stops before its directory goes.
struct Backend {
    sys: Arc<dyn Syscalls>,
    driver: Driver,
    legacy: bool,
    _server: Option<qdad::server::Server>,
    _dir: Option<RemoveOnDrop>,
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn backend(kind: Kind) -> Backend {
    match kind {
        Kind::Legacy(inner) => {
            let mut b = backend(*inner);
            b.sys = Arc::new(NoAccel(b.sys));
            b.legacy = true;
            b
        }
        Kind::Embedded(mode) => {
            let e = Arc::new(Routed::new(
                Embedded::with_mode(Driver::builtin().unwrap(), mode).unwrap(),
            ));
            Backend {
                driver: e.embedded().driver.clone(),
                legacy: false,
                sys: e,
                _server: None,
                _dir: None,
            }
        }
        Kind::Kernel => {
            let k = Arc::new(AsKernel(Routed::new(
                Embedded::with_mode(Driver::builtin().unwrap(), PdMode::Thread).unwrap(),
            )));
            assert_eq!(k.backend(), qda::Backend::Kernel);
            Backend {
                driver: k.0.embedded().driver.clone(),
                legacy: false,
                sys: k,
                _server: None,
                _dir: None,
            }
        }
        Kind::Daemon => {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "qda-conf-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let server = qdad::server::Server::start(qdad::server::Config {
                socket: dir.join("qdad.sock"),
                pd_mode: Some(PdMode::Process),
                ..Default::default()
            })
            .unwrap();
            Backend {
                driver: server.embedded().driver.clone(),
                legacy: false,
                sys: Arc::new(qda::sys::DaemonCalls::connect(server.socket()).unwrap()),
                _server: Some(server),
                _dir: Some(RemoveOnDrop(dir)),
            }
        }
    }
}

fn open(b: &Backend, d: Domain) -> Device {
    let dev = Device::open_with(d, b.sys.clone()).unwrap();
    let want = if b.legacy { qda::Uapi::Fastrpc } else { qda::Uapi::Qda };
    assert_eq!(dev.uapi(), want, "{}", dev.path());
    dev
}

fn check_clean(b: &Backend) {
    let drv = &b.driver;
    let mut s = drv.stats();
    for _ in 0..300 {
        if s.is_idle() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        s = drv.stats();
    }
    assert!(drv.dma_debug().reports().is_empty(), "{:?}", drv.dma_debug().reports());
    assert!(s.is_idle(), "{s:?}");
}

fn sessions_and_invokes(b: &Backend) {
    for d in [Domain::Adsp, Domain::Cdsp, Domain::Sdsp, Domain::Gdsp0] {
        let dev = open(b, d);
        let calc = dev.session().unwrap().open(CALC).unwrap();
        let v: Vec<u8> = (0..100i32).flat_map(i32::to_le_bytes).collect();
        let n = 100u32.to_le_bytes();
        let mut sum = [0u8; 8];
        calc.invoke(2, &mut [Arg::In(&n), Arg::In(&v), Arg::Out(&mut sum)])
            .unwrap();
        assert_eq!(i64::from_le_bytes(sum), 4950, "{d}");
    }
    check_clean(b);
}

fn buffers_by_reference(b: &Backend) {
    let dev = open(b, Domain::Cdsp);
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let buf = dev.alloc(64 * 1024).unwrap();
    let v: Vec<u8> = (0..16384i32).flat_map(i32::to_le_bytes).collect();
    buf.write(0, &v).unwrap();
    let n = 1000u32.to_le_bytes();
    let mut max = [0u8; 4];
    // A window in the middle of the buffer: elements 5000..6000.
    calc.invoke(
        3,
        &mut [Arg::In(&n), Arg::buf_in(&buf, 20_000, 4000), Arg::Out(&mut max)],
    )
    .unwrap();
    assert_eq!(i32::from_le_bytes(max), 5999);
    drop((calc, buf, dev));
    check_clean(b);
}

fn prime_dedup(be: &Backend) {
    let dev = open(be, Domain::Cdsp);
    let a = dev.alloc(4096).unwrap();
    let b = dev.import(a.export().unwrap()).unwrap();
    assert_eq!(a.handle(), b.handle(), "our own export comes back as the same handle");
    drop(a);
    b.write(0, b"still here").unwrap();
    let calc = dev.session().unwrap().open(CALC).unwrap();
    let n = 1u32.to_le_bytes();
    let mut sum = [0u8; 8];
    calc.invoke(2, &mut [Arg::In(&n), Arg::buf_in(&b, 0, 4), Arg::Out(&mut sum)])
        .unwrap();
    assert_eq!(sum[..4], *b"stil");
    let other = open(be, Domain::Cdsp);
    let c = other.import(b.export().unwrap()).unwrap();
    let mut got = [0u8; 10];
    c.read(0, &mut got).unwrap();
    assert_eq!(&got, b"still here");
    drop((calc, b, c, other, dev));
    check_clean(be);
}

fn persistent_maps(b: &Backend) {
    let dev = open(b, Domain::Cdsp);
    let session = dev.session().unwrap();
    let buf = dev.alloc(8192).unwrap();
    let m = session.map(&buf).unwrap();
    assert_ne!(m.vaddr(), 0);
    let m2 = session.map(&buf).unwrap();
    assert_ne!(m.vaddr(), m2.vaddr());
    drop((m, m2));
    drop((buf, session, dev));
    check_clean(b);
}

fn error_paths(b: &Backend) {
    let dev = open(b, Domain::Cdsp);
    let session = dev.session().unwrap();
    assert!(matches!(
        session.open("file:///libmissing_skel.so?x&_modver=1.0"),
        Err(Error::Module { .. })
    ));
    let calc = session.open(CALC).unwrap();
    let n = 4u32.to_le_bytes();
    let mut out = [0u8; 8];
    let e = calc
        .invoke(2, &mut [Arg::In(&n), Arg::In(&[0u8; 3]), Arg::Out(&mut out)])
        .unwrap_err();
    assert!(matches!(e, Error::Dsp { .. }), "{e}");
    let heap = b
        .driver
        .open("/dev/dma_heap/system", qda_driver::Creds::current())
        .unwrap();
    let fd = heap.heap_alloc(4096, 0, 2, 0).unwrap();
    let imported = dev.import(fd.as_fd()).unwrap();
    assert_eq!(imported.size(), 4096);
    let (r, _w) = rustix_pipe();
    assert_eq!(
        dev.import(r.as_fd()).unwrap_err().errno(),
        Some(22),
        "a pipe is not a dma-buf: EINVAL"
    );
    drop((imported, fd, heap, calc, session, dev));
    check_clean(b);
}

fn rustix_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    let (r, w) = std::io::pipe().unwrap();
    (r.into(), w.into())
}

macro_rules! conformance {
    ($($backend:ident: $mode:expr;)*) => {$(
        mod $backend {
            use super::*;
            #[test] fn sessions_and_invokes() { super::sessions_and_invokes(&backend($mode)) }
            #[test] fn buffers_by_reference() { super::buffers_by_reference(&backend($mode)) }
            #[test] fn prime_dedup() { super::prime_dedup(&backend($mode)) }
            #[test] fn persistent_maps() { super::persistent_maps(&backend($mode)) }
            #[test] fn error_paths() { super::error_paths(&backend($mode)) }
        }
    )*};
}

conformance! {
    embedded_process_pd: Kind::Embedded(PdMode::Process);
    embedded_thread_pd: Kind::Embedded(PdMode::Thread);
    kernel_routed_syscalls: Kind::Kernel;
    daemon: Kind::Daemon;
    legacy_node_embedded: Kind::Legacy(&Kind::Embedded(PdMode::Thread));
    legacy_node_daemon: Kind::Legacy(&Kind::Daemon);
}

//! The conformance suite's backend matrix: every backend this machine can
//! host, each with a platform of its own and the driver behind it, so a
//! test can check its counts at the end.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use qda::sys::{LegacyOnAccel, Routed, Syscalls};
use qda::{Device, Domain};
use qda_driver::{Driver, DriverConfig, Platform};
use qda_dsp::{Embedded, PdMode};
use qda_uapi::qda::Revision;

use crate::TempDir;

/// A backend of the matrix.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// The embedded platform, user PDs as processes or threads.
    Embedded(PdMode),
    /// The kernel backend's code, its system calls routed into an embedded
    /// driver's raw UAPI entry.
    Kernel,
    /// A qdad in this process, reached only through its socket.
    Daemon,
    /// A backend with its accel nodes hidden: the library falls back to
    /// the legacy `/dev/fastrpc-*` node and its UAPI.
    Legacy(&'static Kind),
    /// A backend's accel nodes behind the legacy-to-QDA translation
    /// (`qda::sys::LegacyOnAccel`): the library speaks the legacy UAPI to
    /// `/dev/fastrpc-*` names and only accel ioctls reach the driver.
    LegacyOverAccel(&'static Kind),
    /// The embedded platform (user PDs as threads) whose accel nodes answer
    /// the Feb 2026 RFC revision of the QDA UAPI (buffers by GEM handle);
    /// the library must find that out and speak it.
    EmbeddedRfc,
    /// A qdad started with `uapi_revision` the Feb 2026 RFC (what
    /// `qdad --uapi-revision 2026-02` does).
    DaemonRfc,
    /// A backend whose device files are all in poll mode: set at open, with
    /// the accel node's `DRM_IOCTL_QDA_SET_POLL` ([`POLL_BUDGET`]) or the
    /// legacy node's `SET_OPTION` poll option, as a program would.
    Polled(&'static Kind),
}

/// The spin budget of [`Kind::Polled`]: short, so that both ends of a
/// polled wait (answered while spinning, spin spent then sleep) are taken.
pub const POLL_BUDGET_US: u32 = 20;

/// [`Kind::Polled`]'s system calls: every DSP device file opened is put in
/// poll mode before the library sees it.
#[derive(Debug)]
pub struct Polled {
    /// The calls underneath.
    pub inner: Arc<dyn Syscalls>,
}

impl Syscalls for Polled {
    fn backend(&self) -> qda::Backend {
        self.inner.backend()
    }
    fn accel_nodes(&self) -> Vec<String> {
        self.inner.accel_nodes()
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.inner.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda::OsError> {
        use qda_uapi::{fastrpc as uf, qda as uq};
        let fd = self.inner.open(path)?;
        if path.starts_with("/dev/accel/") {
            let mut p = uq::DrmQdaSetPoll {
                budget_us: POLL_BUDGET_US,
                flags: 0,
            };
            let arg = &mut p as *mut uq::DrmQdaSetPoll as u64;
            self.inner.ioctl(fd.as_fd(), uq::DRM_IOCTL_QDA_SET_POLL, arg)?;
        } else if path.starts_with("/dev/fastrpc-") {
            let mut o = uf::FastrpcIoctlSetOption {
                req: uf::FASTRPC_POLL_MODE,
                value: 1,
                reserved: [0; 6],
            };
            let arg = &mut o as *mut uf::FastrpcIoctlSetOption as u64;
            self.inner.ioctl(fd.as_fd(), uf::FASTRPC_IOCTL_SET_OPTION, arg)?;
        }
        Ok(fd)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda::OsError> {
        self.inner.ioctl(fd, cmd, arg)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<qda_os::Mapping, qda::OsError> {
        self.inner.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        self.inner.close(fd)
    }
}

/// A backend's system calls, reshaped: its accel nodes hidden (the library
/// must fall back to the legacy node), or reported as another backend (the
/// routed calls as the kernel backend's).
#[derive(Debug)]
pub struct Reshaped {
    /// The calls underneath.
    pub inner: Arc<dyn Syscalls>,
    /// Report no accel nodes.
    pub hide_accel: bool,
    /// Report this backend instead of the inner one's.
    pub report_as: Option<qda::Backend>,
}

impl Syscalls for Reshaped {
    fn backend(&self) -> qda::Backend {
        self.report_as.unwrap_or_else(|| self.inner.backend())
    }
    fn accel_nodes(&self) -> Vec<String> {
        if self.hide_accel {
            Vec::new()
        } else {
            self.inner.accel_nodes()
        }
    }
    fn fastrpc_nodes(&self) -> Vec<String> {
        self.inner.fastrpc_nodes()
    }
    fn open(&self, path: &str) -> Result<OwnedFd, qda::OsError> {
        self.inner.open(path)
    }
    fn ioctl(&self, fd: BorrowedFd<'_>, cmd: u32, arg: u64) -> Result<i64, qda::OsError> {
        self.inner.ioctl(fd, cmd, arg)
    }
    fn mmap(&self, fd: BorrowedFd<'_>, offset: u64, len: usize) -> Result<qda_os::Mapping, qda::OsError> {
        self.inner.mmap(fd, offset, len)
    }
    fn close(&self, fd: OwnedFd) {
        self.inner.close(fd)
    }
}

/// A backend and the driver behind it (to check its counts). Fields drop
/// in order: the daemon stops before its directory goes.
#[derive(Debug)]
pub struct BackendUnderTest {
    /// The system calls that reach it.
    pub sys: Arc<dyn Syscalls>,
    /// The driver behind it.
    pub driver: Driver,
    /// Whether the library must fall back to the legacy node.
    pub legacy: bool,
    /// Whether every device file is in poll mode ([`Kind::Polled`]).
    pub polled: bool,
    server: Option<qdad::server::Server>,
    _dir: Option<TempDir>,
}

impl BackendUnderTest {
    /// The daemon, for the daemon backends.
    pub fn server(&self) -> Option<&qdad::server::Server> {
        self.server.as_ref()
    }
}

/// Start a backend of kind `kind`.
pub fn backend(kind: Kind) -> BackendUnderTest {
    match kind {
        Kind::Polled(inner) => {
            let mut b = backend(*inner);
            b.sys = Arc::new(Polled { inner: b.sys });
            b.polled = true;
            b
        }
        Kind::Legacy(inner) => {
            let mut b = backend(*inner);
            b.sys = Arc::new(Reshaped {
                inner: b.sys,
                hide_accel: true,
                report_as: None,
            });
            b.legacy = true;
            b
        }
        Kind::LegacyOverAccel(inner) => {
            let mut b = backend(*inner);
            assert!(!b.sys.accel_nodes().is_empty(), "{inner:?} has accel nodes");
            b.sys = Arc::new(LegacyOnAccel::new(b.sys));
            b.legacy = true;
            b
        }
        Kind::EmbeddedRfc => {
            let mut cfg = DriverConfig::new(Platform::builtin());
            cfg.qda_revision = Revision::Rfc2026Feb;
            let e = Arc::new(Routed::new(
                Embedded::with_mode(Driver::new(cfg).unwrap(), PdMode::Thread).unwrap(),
            ));
            BackendUnderTest {
                driver: e.embedded().driver.clone(),
                legacy: false,
                polled: false,
                sys: e,
                server: None,
                _dir: None,
            }
        }
        Kind::Embedded(mode) => {
            let e = Arc::new(Routed::new(
                Embedded::with_mode(Driver::builtin().unwrap(), mode).unwrap(),
            ));
            BackendUnderTest {
                driver: e.embedded().driver.clone(),
                legacy: false,
                polled: false,
                sys: e,
                server: None,
                _dir: None,
            }
        }
        Kind::Kernel => {
            let routed = Arc::new(Routed::new(
                Embedded::with_mode(Driver::builtin().unwrap(), PdMode::Thread).unwrap(),
            ));
            let driver = routed.embedded().driver.clone();
            let k = Arc::new(Reshaped {
                inner: routed,
                hide_accel: false,
                report_as: Some(qda::Backend::Kernel),
            });
            assert_eq!(k.backend(), qda::Backend::Kernel);
            BackendUnderTest {
                driver,
                legacy: false,
                polled: false,
                sys: k,
                server: None,
                _dir: None,
            }
        }
        Kind::Daemon | Kind::DaemonRfc => {
            let dir = TempDir::new("conf");
            let server = qdad::server::Server::start(qdad::server::Config {
                socket: dir.join("qdad.sock"),
                pd_mode: Some(PdMode::Process),
                uapi_revision: matches!(kind, Kind::DaemonRfc).then_some(Revision::Rfc2026Feb),
                ..Default::default()
            })
            .unwrap();
            BackendUnderTest {
                driver: server.embedded().driver.clone(),
                legacy: false,
                polled: false,
                sys: Arc::new(qda::sys::DaemonCalls::connect(server.socket()).unwrap()),
                server: Some(server),
                _dir: Some(dir),
            }
        }
    }
}

/// Open domain `d` on backend `b`, checking the UAPI the library chose.
pub fn open(b: &BackendUnderTest, d: Domain) -> Device {
    let dev = Device::open_with(d, b.sys.clone()).unwrap();
    let want = if b.legacy { qda::Uapi::Fastrpc } else { qda::Uapi::Qda };
    assert_eq!(dev.uapi(), want, "{}", dev.path());
    // The library speaks the revision the node answers (it probes it).
    let rev = (!b.legacy).then(|| b.driver.qda_revision());
    assert_eq!(dev.qda_revision(), rev, "{}", dev.path());
    dev
}

/// Nothing leaked behind backend `b`.
pub fn check_clean(b: &BackendUnderTest) {
    crate::assert_clean(&b.driver);
}

/// Expand a suite over the matrix: `matrix_tests!(suite_fn_a, suite_fn_b)`
/// makes a module per backend with a `#[test]` per suite function.
#[macro_export]
macro_rules! matrix_tests {
    ($($t:ident),* $(,)?) => {
        $crate::matrix_tests!(@kinds [$($t),*]
            embedded_process_pd: $crate::matrix::Kind::Embedded(qda_dsp::PdMode::Process);
            embedded_thread_pd: $crate::matrix::Kind::Embedded(qda_dsp::PdMode::Thread);
            kernel_routed_syscalls: $crate::matrix::Kind::Kernel;
            daemon: $crate::matrix::Kind::Daemon;
            legacy_node_embedded: $crate::matrix::Kind::Legacy(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Thread));
            legacy_node_daemon: $crate::matrix::Kind::Legacy(&$crate::matrix::Kind::Daemon);
            legacy_over_accel_embedded_process_pd: $crate::matrix::Kind::LegacyOverAccel(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Process));
            legacy_over_accel_embedded_thread_pd: $crate::matrix::Kind::LegacyOverAccel(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Thread));
            legacy_over_accel_kernel_routed_syscalls: $crate::matrix::Kind::LegacyOverAccel(&$crate::matrix::Kind::Kernel);
            legacy_over_accel_daemon: $crate::matrix::Kind::LegacyOverAccel(&$crate::matrix::Kind::Daemon);
            embedded_rfc_2026_02: $crate::matrix::Kind::EmbeddedRfc;
            daemon_rfc_2026_02: $crate::matrix::Kind::DaemonRfc;
            polled_embedded_thread_pd: $crate::matrix::Kind::Polled(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Thread));
            polled_embedded_process_pd: $crate::matrix::Kind::Polled(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Process));
            polled_daemon: $crate::matrix::Kind::Polled(&$crate::matrix::Kind::Daemon);
            polled_legacy_node_embedded: $crate::matrix::Kind::Polled(&$crate::matrix::Kind::Legacy(&$crate::matrix::Kind::Embedded(qda_dsp::PdMode::Thread)));
            polled_legacy_over_accel_daemon: $crate::matrix::Kind::Polled(&$crate::matrix::Kind::LegacyOverAccel(&$crate::matrix::Kind::Daemon));
        );
    };
    (@kinds $tests:tt $($name:ident: $kind:expr;)*) => {
        $( $crate::matrix_tests!(@one $name ($kind) $tests); )*
    };
    (@one $name:ident ($kind:expr) [$($t:ident),*]) => {
        mod $name {
            $(
                #[test]
                fn $t() {
                    super::$t(&$crate::matrix::backend($kind))
                }
            )*
        }
    };
}

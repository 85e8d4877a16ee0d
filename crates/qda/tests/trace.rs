//! The embedded platform's call trace (`QDA_LOG=qda::trace=info`).

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use qda::sys::Syscalls;

/// A trace writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// G4 (issue 12): libfastrpc's accel backend leaves GEM_CREATE's `pad`
/// uninitialised; the driver refuses it (`EINVAL`), and on the embedded
/// platform the `qda::trace` target logs the refused ioctl, its reason and
/// errno (qdad's `--trace` does the same: `qdad/tests/bin.rs`).
///
/// Fails if: the embedded backend's refusals do not reach the trace, or
/// lose the driver's reason.
#[test]
fn g4_a_refused_ioctl_and_its_reason_are_on_the_embedded_trace() {
    use qda_uapi::qda::{DRM_IOCTL_QDA_GEM_CREATE, DrmQdaGemCreate};
    let out = Captured::default();
    let sub = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_env_filter("qda::trace=info")
        .finish();
    tracing::subscriber::with_default(sub, || {
        let calls = qda::embedded_platform().unwrap();
        let dev = qda::Device::open_with(qda::Domain::Cdsp, calls.clone()).unwrap();
        let fd = calls.open(dev.path()).unwrap();
        let mut g = DrmQdaGemCreate {
            size: 4096,
            handle: 0,
            pad: 0x5a5a_5a5a,
        };
        let e = calls
            .ioctl(
                fd.as_fd(),
                DRM_IOCTL_QDA_GEM_CREATE,
                &mut g as *mut DrmQdaGemCreate as u64,
            )
            .unwrap_err();
        assert_eq!(e.errno, qda::Errno::EINVAL);
        calls.close(fd);
    });
    let log = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("DRM_IOCTL_QDA_GEM_CREATE"))
        .unwrap_or_else(|| panic!("the refusal on the trace: {log}"));
    assert!(line.contains("pad is 0x5a5a5a5a") && line.contains("EINVAL"), "{line}");
}

//! Test support shared by every integration test of qda.
//!
//! * [`clean`]: a driver whose live-object counts and DMA-API checker are
//!   checked at the end of a test ([`Checked`], [`assert_clean`]).
//! * [`uapi`]: the raw UAPI as a test (a C program) makes it: typed
//!   ioctls from the one description of each ([`call`]) or by any number
//!   ([`ioctl`]), drivers checked clean ([`driver`]), files, creds.
//! * [`fds`]: adopting fd numbers the driver installed.
//! * [`layout`]: the shape of a crate (module cycles, long files).
//! * [`TempDir`]: a directory for a daemon's socket, removed at the end.
//! * [`fuzz_cases`]: a fuzz target's case count, `QDA_FUZZ_CASES` or the
//!   suite's bounded default.
//! * `matrix` (feature `matrix`): the conformance suite's backends.

pub mod cargo;
pub mod clean;
pub mod fds;
pub mod layout;
#[cfg(feature = "matrix")]
pub mod matrix;
pub mod uapi;

pub use clean::{Checked, assert_clean, wait_idle};
pub use fds::own;
pub use uapi::{
    accel, call, driver, driver_with, export, invoke_arg, ioctl, legacy_invoke, legacy_session, me, open, open_module,
    other,
};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The number of cases a fuzz target runs: `QDA_FUZZ_CASES=n` for a long
/// run by hand, else `default`, the bounded count the suite runs.
///
/// A value that is not a number is refused loudly rather than silently
/// running the default: a long run that quietly ran 300 cases would be
/// recorded as something it was not.
pub fn fuzz_cases(default: u32) -> u32 {
    match std::env::var("QDA_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("QDA_FUZZ_CASES={v:?} is not a case count (a u32)")),
        Err(_) => default,
    }
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/qda-<tag>-<pid>-<n>`, empty.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "qda-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
        TempDir(d)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

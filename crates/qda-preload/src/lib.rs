//! `libqda_preload.so`: preloaded into an unmodified program (`qda exec --
//! PROG`, or `LD_PRELOAD` by hand), it makes the board's device nodes exist
//! for the program and its children — `/dev/fastrpc-*` (with `-secure`
//! where the board says so), `/dev/accel/accelN`, `/dev/dma_heap/*`,
//! `/dev/udmabuf` — plus the probe files libfastrpc reads
//! (`/sys/class/remoteproc/remoteprocN/name`, `/dev/subsys_<domain>`,
//! `/sys/firmware/devicetree/base/model`), and serves the calls made on
//! them from the embedded platform in the process or from qdad.
//!
//! The interposed libc functions are C (`src/shim.c`, variadic `open` and
//! `ioctl`); each asks a `qda_preload_*` function of [`ffi`] whether the
//! call is the board's and otherwise calls libc's own. The decisions are
//! safe Rust: [`board`] (which paths exist, started lazily from the
//! environment), [`files`] (device fds, their ioctls and mappings),
//! [`dirs`] (listings), [`paths`] (resolution). Calls reach the platform
//! through `qda::sys::Syscalls`: the shim has no marshalling of its own.
//!
//! Environment (set by `qda exec`): `QDA_PRELOAD_BACKEND` (embedded or
//! daemon; else `QDA_BACKEND` unless it says kernel, else a qdad that
//! answers, else embedded), `QDA_SOCKET`, `QDA_PRELOAD_DTB` (a board for
//! the embedded platform), `QDA_PRELOAD_UAPI` (legacy or both),
//! `QDA_PRELOAD_TRACE=1` (each device call on stderr).
//!
//! `fork`: the child keeps its fds, but the device files behind them stay
//! the parent's (an ioctl or mmap on one in the child is `EIO`); the child
//! opens device files of its own through qdad, never through the parent's
//! embedded platform, whose threads did not follow it. `exec` keeps the
//! environment, so the new image starts the same kind of platform again
//! (through qdad: the same one).

mod below;
mod board;
mod dirs;
mod ffi;
mod files;
mod paths;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// This process's id, kept across calls and renewed in a forked child.
static PID: AtomicU32 = AtomicU32::new(0);

/// This process's id.
pub fn pid() -> u32 {
    match PID.load(Ordering::Acquire) {
        0 => {
            let p = std::process::id();
            PID.store(p, Ordering::Release);
            p
        }
        p => p,
    }
}

/// Whether device calls are traced on stderr (`QDA_PRELOAD_TRACE`).
pub fn tracing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("QDA_PRELOAD_TRACE").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// A trace line on stderr when `QDA_PRELOAD_TRACE` is set.
#[macro_export]
macro_rules! trace {
    ($($t:tt)*) => {
        if $crate::tracing() {
            eprintln!("qda-preload[{}]: {}", $crate::pid(), format_args!($($t)*));
        }
    };
}

/// `fork` with the shim's tables held, so the child gets them whole, and
/// the child's own process id recorded.
pub(crate) fn fork(real: impl FnOnce() -> i32) -> i32 {
    let state = board::lock_state();
    let mut files = files::lock_all();
    let dirs = dirs::lock();
    let r = real();
    if r == 0 {
        PID.store(std::process::id(), Ordering::Release);
        files::forget_maps_in_child(&mut files);
    }
    drop(dirs);
    drop(files);
    drop(state);
    if r > 0 {
        trace!("fork: child {r}");
    }
    r
}

//! Shutdown signals: blocked in every thread, taken by one `sigwait`.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

fn shutdown_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: initialised by sigemptyset just above.
    let mut set = unsafe { set.assume_init() };
    for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: `set` is an initialised sigset_t; the signal numbers are valid.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// Block SIGTERM, SIGINT and SIGHUP in the calling thread; threads it
/// starts afterwards inherit the mask.
pub fn block_shutdown_signals() -> std::io::Result<()> {
    let set = shutdown_set();
    // SAFETY: `set` is a valid sigset_t; the old mask is not asked for.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Wait for one of the blocked shutdown signals; returns its number.
pub fn wait_shutdown_signal() -> i32 {
    let set = shutdown_set();
    let mut sig = 0;
    loop {
        // SAFETY: `set` is a valid sigset_t and `sig` a valid out pointer.
        let r = unsafe { libc::sigwait(&set, &mut sig) };
        if r == 0 {
            return sig;
        }
    }
}

/// A connected peer's credentials (`SO_PEERCRED`): pid, uid, gid. The pid
/// is 0 when the peer lives in a PID namespace the daemon cannot see.
pub fn peer_creds(sock: std::os::fd::BorrowedFd<'_>) -> std::io::Result<(i32, u32, u32)> {
    use std::os::fd::AsRawFd;
    let mut c = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `c` and `len` are valid for writes of a `ucred` and its
    // length; the fd is a live socket borrowed for the call.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut c as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((c.pid, c.uid, c.gid))
}

/// The listening socket systemd passed (socket activation: `LISTEN_PID` is
/// this process and `LISTEN_FDS` ≥ 1; the first passed fd is 3). PD hosts
/// this process starts see a `LISTEN_PID` that is not theirs.
pub fn activation_listener() -> Option<std::os::unix::net::UnixListener> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let n: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || n < 1 {
        return None;
    }
    // SAFETY: fd 3 is borrowed only for a probe that fails cleanly (EBADF)
    // if it is not open.
    let probe = unsafe { BorrowedFd::borrow_raw(3) };
    rustix::io::fcntl_getfd(probe).ok()?;
    // SAFETY: fd 3 is open (just probed) and was handed to this process by
    // the activation protocol to own; nothing else in the process took it.
    let owned = unsafe { OwnedFd::from_raw_fd(3) };
    Some(std::os::unix::net::UnixListener::from(owned))
}

/// Keep freed heap memory for reuse instead of handing it back to the
/// kernel after every call: glibc trims an arena whose free top passes
/// 128 KiB, so a call with 64 KiB inline in and out (its request, segments
/// and reply, about 320 KiB freed together) made every next call fault
/// its pages in again (an `madvise(MADV_DONTNEED)` of 192 KiB per call,
/// about 40 % of such a call's time through qdad). Up to 8 MiB stays per
/// arena, and blocks up to 1 MiB come from the heap rather than their own
/// mapping. Process-wide, so called by the daemon's `run` only.
pub fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; any values are valid.
    unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20) };
    // SAFETY: as above.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
}

//! The PD host's sandbox: what a skel can no longer do to the DSP's process
//! (through qdad, the daemon) or anything else of its user.
//!
//! On start, before any skel is loaded, the host
//! 1. leaves the DSP's session and process group (`setsid`): a skel's
//!    `kill(0, ...)` reaches its own PD only, and the terminal's signals no
//!    longer reach it;
//! 2. asks for `SIGKILL` when its parent goes (`PR_SET_PDEATHSIG`), then
//!    checks the parent did not already go before that (it exits if so);
//! 3. sets `PR_SET_NO_NEW_PRIVS` (nothing it executes gains privileges; also
//!    what lets an unprivileged process install a filter);
//! 4. installs the seccomp filter of `super::filter` (signals, `ptrace`,
//!    process memory and limits toward other processes: `EPERM`);
//! 5. enters its Landlock domain (`super::confine`): the files it may
//!    open (libraries, read only; `/dev/null`), and no way into any process
//!    outside the PD, `/proc/<dsp pid>/fd/*` and `/mem` included;
//! 6. lowers its resource limits ([`super::PdLimits`]: no core dumps, which would
//!    hold clients' buffers; bounded descriptors and address space), never
//!    raising one.
//!
//! What the kernel refuses is left out and said in [`Sandbox::missing`];
//! the PD runs anyway (the DSP logs it once).
#![allow(unsafe_code)]

use std::ffi::c_ulong;

use super::filter;

/// What confines a PD host, as the host reports it (see the [module
/// documentation](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// The host leads a session and process group of its own.
    pub own_session: bool,
    /// The host is killed (`SIGKILL`) when its parent thread goes.
    pub parent_death_signal: bool,
    /// `no_new_privs` is set.
    pub no_new_privs: bool,
    /// The seccomp filter is installed.
    pub seccomp: bool,
    /// The host is in a Landlock domain (`pd_host::confine`: files,
    /// `ptrace` access and thus `/proc/<pid>/fd` and `/mem` of other
    /// processes).
    pub landlock: bool,
    /// The Landlock ABI the kernel enforces (0 without Landlock): below 6,
    /// the signal and abstract socket scopes are missing (seccomp still
    /// covers signals), below 4 the TCP rules, below 3 the truncate right.
    pub landlock_abi: u8,
    /// The resource limits of [`super::PdLimits`] are set.
    pub rlimits: bool,
    /// Why a part is missing (empty when complete).
    pub missing: String,
}

impl Sandbox {
    /// Every part is in force.
    pub fn complete(&self) -> bool {
        self.own_session
            && self.parent_death_signal
            && self.no_new_privs
            && self.seccomp
            && self.landlock
            && self.rlimits
    }

    /// The flags as bits (for the DSP↔PD messages).
    pub(crate) fn bits(&self) -> u32 {
        u32::from(self.own_session)
            | (u32::from(self.parent_death_signal) << 1)
            | (u32::from(self.no_new_privs) << 2)
            | (u32::from(self.seccomp) << 3)
            | (u32::from(self.landlock) << 4)
            | (u32::from(self.rlimits) << 5)
            | (u32::from(self.landlock_abi) << 8)
    }

    /// Back from [`Sandbox::bits`] and the text of what is missing.
    pub(crate) fn from_bits(bits: u32, missing: String) -> Sandbox {
        Sandbox {
            own_session: bits & 1 != 0,
            parent_death_signal: bits & 2 != 0,
            no_new_privs: bits & 4 != 0,
            seccomp: bits & 8 != 0,
            landlock: bits & 16 != 0,
            rlimits: bits & 32 != 0,
            landlock_abi: (bits >> 8) as u8,
            missing,
        }
    }
}

/// Lower the limits to what the DSP asked for in `QDA_PD_RLIMITS`
/// ([`super::PdLimits`]; the defaults if it is unset).
fn lower_limits() -> Result<(), String> {
    use rustix::process::{Rlimit, getrlimit, setrlimit};
    let limits = match std::env::var(super::rlimits::ENV) {
        Ok(v) => super::PdLimits::from_env(&v)?,
        Err(_) => super::PdLimits::default(),
    };
    for (res, max) in limits.resources() {
        let now = getrlimit(res);
        let cap = |v: Option<u64>| Some(v.map_or(max, |v| v.min(max)));
        let new = Rlimit {
            current: cap(now.current),
            maximum: cap(now.maximum),
        };
        if new != now {
            setrlimit(res, new).map_err(|e| format!("setrlimit({res:?}): {e}"))?;
        }
    }
    Ok(())
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// `prctl(option, arg2, 0, 0, 0)`.
fn prctl(option: libc::c_int, arg2: c_ulong) -> std::io::Result<libc::c_int> {
    // SAFETY: the options used here take integer arguments only and touch
    // no memory of ours.
    let r = unsafe { libc::prctl(option, arg2, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) };
    if r < 0 { Err(errno()) } else { Ok(r) }
}

/// Install `prog` as this process's seccomp filter (every thread).
fn install(prog: &[filter::Insn]) -> std::io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: u16::try_from(insns.len()).map_err(|_| std::io::Error::from_raw_os_error(libc::E2BIG))?,
        filter: insns.as_mut_ptr(),
    };
    let fprog_ptr: *const libc::sock_fprog = &fprog;
    // SAFETY: `fprog` points at `insns`, both alive for the call; the kernel
    // copies the program. TSYNC applies it to every thread of the process.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as c_ulong,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            fprog_ptr,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = errno();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    // No seccomp(2) (before 3.17): the prctl form, this thread only (the
    // host has no other thread yet).
    // SAFETY: as above; the third argument is the program.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as c_ulong,
            fprog_ptr,
            0 as c_ulong,
            0 as c_ulong,
        )
    };
    if r == 0 { Ok(()) } else { Err(errno()) }
}

/// Enter the sandbox (see the [module documentation](self)). `parent` is
/// the DSP's process id when the DSP gave it: if the host's parent is no
/// longer that process, the DSP died before the host could ask to die with
/// it, and the host exits. `search` is the DSP's library search path (what
/// Landlock lets the host read, besides the loader's directories).
pub(crate) fn enter(parent: Option<u32>, search: &[std::path::PathBuf]) -> Sandbox {
    let mut s = Sandbox::default();
    let mut missing = Vec::new();
    let pid = std::process::id();

    // SAFETY: setsid takes no arguments.
    let sid = unsafe { libc::setsid() };
    let setsid_error = errno();
    // SAFETY: getsid(0) asks about this process; no memory involved.
    let now = unsafe { libc::getsid(0) };
    // Already a session leader (started so by hand) counts too.
    s.own_session = sid >= 0 || u32::try_from(now).is_ok_and(|n| n == pid);
    if !s.own_session {
        missing.push(format!("setsid: {setsid_error}"));
    }

    match prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_ulong) {
        Ok(_) => s.parent_death_signal = true,
        Err(e) => missing.push(format!("PR_SET_PDEATHSIG: {e}")),
    }
    if let Some(p) = parent
        && std::os::unix::process::parent_id() != p
    {
        // Started, then orphaned before the death signal was armed.
        std::process::exit(0);
    }

    match prctl(libc::PR_SET_NO_NEW_PRIVS, 1) {
        Ok(_) => s.no_new_privs = true,
        Err(e) => missing.push(format!("PR_SET_NO_NEW_PRIVS: {e}")),
    }

    match filter::native().and_then(|a| filter::program(&a, pid)) {
        None => missing.push(format!("seccomp: no filter for {}", std::env::consts::ARCH)),
        Some(prog) => match install(&prog) {
            Ok(()) => s.seccomp = true,
            Err(e) => missing.push(format!("seccomp: {e}")),
        },
    }
    // Landlock confines the calling thread: there must be no other yet.
    match std::fs::read_dir("/proc/self/task").map(|d| d.count()) {
        Ok(n) if n > 1 => missing.push(format!("landlock: {n} threads already running")),
        _ => match super::confine::restrict(search) {
            Ok(c) => {
                s.landlock = true;
                s.landlock_abi = c.abi;
            }
            Err(e) => missing.push(e),
        },
    }
    match lower_limits() {
        Ok(()) => s.rlimits = true,
        Err(e) => missing.push(e),
    }
    s.missing = missing.join("; ");
    s
}

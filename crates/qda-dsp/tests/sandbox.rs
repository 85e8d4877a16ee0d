//! Issue 10, finding 5: a skel in a process PD cannot kill, trace or read
//! the DSP's process (qdad's, through the daemon). The PD host leads a
//! session of its own, dies with its parent and runs under a seccomp
//! filter; the skel's attempts come back as `EPERM` through its out buffer,
//! and this process, the PD's parent, lives on.

use qda_driver::{Creds, Driver};
use qda_dsp::{PdMode, VirtualDsp};
use qda_test::{assert_clean, invoke_arg as arg, open_module};
use qda_uapi::fastrpc::*;

const TEST_URI: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

fn invoke(f: &qda_driver::File, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> i64 {
    qda_test::legacy_invoke(f, handle, sc, args).unwrap()
}

/// The test skel's probe `which` (method 7): the errno of the attempt.
fn probe(f: &qda_driver::File, h: u32, which: u32) -> i32 {
    let w = which.to_le_bytes();
    let mut err = [0u8; 4];
    let mut a = [arg(w.as_ptr(), 4, -1), arg(err.as_mut_ptr(), 4, -1)];
    assert_eq!(invoke(f, h, 0x0701_0100, &mut a), 0, "probe {which}");
    i32::from_le_bytes(err)
}

/// The PD's pid, parent pid, session and process group (method 8).
fn ids(f: &qda_driver::File, h: u32) -> [u32; 4] {
    let mut out = [0u8; 16];
    let mut a = [arg(out.as_mut_ptr(), 16, -1)];
    assert_eq!(invoke(f, h, 0x0800_0100, &mut a), 0);
    std::array::from_fn(|i| u32::from_le_bytes(out[4 * i..4 * i + 4].try_into().unwrap()))
}

#[test]
fn a_skel_cannot_kill_or_trace_the_dsp() {
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    assert_eq!(dsp.mode(), PdMode::Process);
    let f = qda_test::legacy_session(&drv);
    let h = open_module(|h, sc, a| invoke(&f, h, sc, a), TEST_URI).unwrap();

    let boxes = dsp.pd_sandboxes();
    assert_eq!(boxes.len(), 1, "one PD process");
    let (pd, sandbox) = boxes[0].clone();
    // The PD leads a session and process group of its own, and is this
    // process's child.
    let me = std::process::id();
    assert_eq!(ids(&f, h), [pd, me, pd, pd], "pid, ppid, sid, pgid");
    assert!(sandbox.own_session && sandbox.parent_death_signal, "{sandbox:?}");
    if !sandbox.seccomp {
        // Only where the kernel refuses seccomp: the DSP said why on stderr.
        println!("skipped the probes: the PD has no seccomp filter ({})", sandbox.missing);
        drop(f);
        assert_clean(&drv);
        return;
    }
    assert!(sandbox.no_new_privs && sandbox.seccomp, "{sandbox:?}");

    // Toward itself, everything still works (raise, abort, pthread_kill,
    // F_SETOWN on its own fds, its own limits).
    for which in 16..=21 {
        assert_eq!(probe(&f, h, which), 0, "probe {which} (toward itself)");
    }
    // Toward the parent (this test process, qdad in the daemon) or anyone
    // else: EPERM, the parent unharmed. The kill comes last: if it were
    // let through, this process would be gone rather than fail.
    const EPERM: i32 = 1;
    for (which, what) in [
        (1, "ptrace(PTRACE_ATTACH, parent)"),
        (2, "kill(-1, 0)"),
        (3, "tgkill(parent)"),
        (4, "rt_sigqueueinfo(parent)"),
        (5, "process_vm_readv(parent)"),
        (6, "prlimit(parent, new)"),
        (7, "fcntl(F_SETOWN, parent)"),
        (8, "pidfd_send_signal(parent)"),
        (0, "kill(parent, SIGKILL)"),
    ] {
        assert_eq!(probe(&f, h, which), EPERM, "{what}");
    }
    // Reading another process's limits is harmless and allowed.
    assert_eq!(probe(&f, h, 20), 0);
    // The PD goes on serving, and this process lives.
    let src = *b"still alive";
    let mut dst = [0u8; 11];
    let mut a = [arg(src.as_ptr(), 11, -1), arg(dst.as_mut_ptr(), 11, -1)];
    assert_eq!(invoke(&f, h, 0x0301_0100, &mut a), 0);
    assert_eq!(dst, src);
    drop(f);
    assert_clean(&drv);
}

/// The test skel's `open(path, flags)` (method 10): the errno, 0 if it opened.
fn open_errno(f: &qda_driver::File, h: u32, path: &str, flags: i32) -> i32 {
    let fl = (flags as u32).to_le_bytes();
    let mut err = [0u8; 4];
    let mut a = [
        arg(fl.as_ptr(), 4, -1),
        arg(path.as_ptr(), path.len(), -1),
        arg(err.as_mut_ptr(), 4, -1),
    ];
    assert_eq!(invoke(f, h, 0x0a02_0100, &mut a), 0, "open {path}");
    i32::from_le_bytes(err)
}

/// Issue 10: a skel in a process PD cannot reach the DSP's descriptors
/// (other clients' buffers, in qdad) through `/proc/<dsp pid>/fd/N`, nor
/// its memory through `/proc/<dsp pid>/mem`: the PD host is given the fds
/// of the buffers a call names (`SCM_RIGHTS`) and needs no way into the
/// DSP's process, and Landlock (its ptrace scoping and file rules) shuts
/// it. Buffers by fd (dma-buf), used again, still reach the skel.
#[test]
fn a_skel_cannot_open_the_dsps_fds_or_memory() {
    use std::os::fd::{AsFd, AsRawFd};
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    let f = qda_test::legacy_session(&drv);
    let h = open_module(|h, sc, a| invoke(&f, h, sc, a), TEST_URI).unwrap();
    let (pd, sandbox) = dsp.pd_sandboxes()[0].clone();
    // Its limits are lowered, whatever the kernel: no core dumps (a PD's
    // memory holds its clients' buffers), bounded fds.
    assert!(sandbox.rlimits, "{sandbox:?}");
    let limits = std::fs::read_to_string(format!("/proc/{pd}/limits")).unwrap();
    let limit = |name: &str| {
        let l = limits.lines().find(|l| l.starts_with(name)).unwrap();
        l[name.len()..].split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(limit("Max core file size"), "0 0");
    let fds: Vec<u64> = limit("Max open files").split(' ').map(|v| v.parse().unwrap()).collect();
    assert!(fds.iter().all(|&n| n <= 4096), "{fds:?}");
    if !sandbox.landlock {
        // Only where the kernel has no Landlock: the DSP said why on stderr.
        println!("skipped: the PD runs without Landlock ({})", sandbox.missing);
        drop(f);
        assert_clean(&drv);
        return;
    }
    assert!(sandbox.complete() && sandbox.landlock_abi >= 1, "{sandbox:?}");

    // The PD's parent is this process (the DSP's, qdad's in the daemon).
    let me = std::process::id();
    const EPERM: i32 = 1;
    const EACCES: i32 = 13;
    for (path, flags) in [
        (format!("/proc/{me}/fd/0"), libc::O_RDONLY),
        (format!("/proc/{me}/fd/1"), libc::O_WRONLY),
        (format!("/proc/{me}/mem"), libc::O_RDWR),
        (format!("/proc/{me}/mem"), libc::O_RDONLY),
        (format!("/proc/{me}/environ"), libc::O_RDONLY),
    ] {
        let e = open_errno(&f, h, &path, flags);
        assert!(e == EACCES || e == EPERM, "open({path}, {flags:#x}) gave errno {e}");
    }
    // The file system beyond the libraries is closed too, /dev/null is not.
    assert_eq!(open_errno(&f, h, "/etc/hostname", libc::O_RDONLY), EACCES);
    assert_eq!(
        open_errno(&f, h, "/tmp/qda-skel-was-here", libc::O_RDWR | libc::O_CREAT),
        EACCES
    );
    assert_eq!(open_errno(&f, h, "/dev/null", libc::O_RDWR), 0);
    if std::path::Path::new("/etc/ld.so.cache").exists() {
        assert_eq!(open_errno(&f, h, "/etc/ld.so.cache", libc::O_RDONLY), 0);
    }

    // Buffers still reach the skel: a dma-buf by fd, twice (the second
    // time from the PD's cache), and inline bytes.
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let buf = heap.heap_alloc(8192, 0, 2, 0).unwrap();
    let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
    for round in 0..2u8 {
        let src = [b'a' + round; 16];
        let mut a = [
            arg(src.as_ptr(), src.len(), -1),
            arg((map.addr() + 4096) as *const u8, src.len(), buf.as_raw_fd()),
        ];
        assert_eq!(invoke(&f, h, 0x0301_0100, &mut a), 0, "round {round}");
        let mut got = [0u8; 16];
        map.read_at(4096, &mut got).unwrap();
        assert_eq!(got, src, "round {round}");
    }
    drop((map, buf, heap, f));
    assert_clean(&drv);
}

/// The PD host keeps the files the DSP passes it (`SCM_RIGHTS`) in a
/// bounded cache: past 64 files it lets the oldest go, a buffer of one of
/// those is sent again when it comes back, and the host's descriptors stay
/// bounded however many buffers pass through.
#[test]
fn files_passed_to_a_pd_are_bounded_and_sent_again() {
    use std::os::fd::{AsFd, AsRawFd};
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    let f = qda_test::legacy_session(&drv);
    let h = open_module(|h, sc, a| invoke(&f, h, sc, a), TEST_URI).unwrap();
    let pd = dsp.pd_sandboxes()[0].0;
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let bufs: Vec<_> = (0..100)
        .map(|_| {
            let b = heap.heap_alloc(4096, 0, 2, 0).unwrap();
            let m = drv.map_dmabuf(b.as_fd(), true).unwrap();
            (b, m)
        })
        .collect();
    let echo = |k: usize, round: u8| {
        let (b, m) = &bufs[k];
        let src = [round.wrapping_add(k as u8); 32];
        let mut a = [
            arg(src.as_ptr(), src.len(), -1),
            arg(m.addr() as *const u8, src.len(), b.as_raw_fd()),
        ];
        assert_eq!(invoke(&f, h, 0x0301_0100, &mut a), 0, "buffer {k}, round {round}");
        let mut got = [0u8; 32];
        m.read_at(0, &mut got).unwrap();
        assert_eq!(got, src, "buffer {k}, round {round}");
    };
    for round in 0..2 {
        for k in 0..bufs.len() {
            echo(k, round);
        }
    }
    // Back to the first ones, long evicted: sent again, still correct.
    for k in 0..4 {
        echo(k, 7);
    }
    let open_fds = std::fs::read_dir(format!("/proc/{pd}/fd")).unwrap().count();
    assert!(open_fds < 64 + 16, "the PD holds {open_fds} descriptors");
    drop((bufs, heap, f));
    assert_clean(&drv);
}

/// Issue 10: a PD host's resource limits are those its starter set
/// (qdad: its policy's `[pd]` table), not fixed ones: open files, address
/// space and CPU time reach `/proc/<pd>/limits`.
#[test]
fn pd_limits_come_from_whoever_starts_the_dsps() {
    use qda_dsp::pd_host::{PdLimits, set_pd_limits};
    set_pd_limits(PdLimits {
        open_files: 200,
        address_space: 48 << 30,
        cpu_seconds: Some(3600),
    });
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    let f = qda_test::legacy_session(&drv);
    let _h = open_module(|h, sc, a| invoke(&f, h, sc, a), TEST_URI).unwrap();
    let (pd, sandbox) = dsp.pd_sandboxes()[0].clone();
    set_pd_limits(PdLimits::default());
    assert!(sandbox.rlimits, "{sandbox:?}");
    let limits = std::fs::read_to_string(format!("/proc/{pd}/limits")).unwrap();
    let limit = |name: &str| {
        let l = limits.lines().find(|l| l.starts_with(name)).unwrap();
        l[name.len()..].split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(limit("Max open files"), "200 200");
    assert_eq!(limit("Max address space"), format!("{0} {0}", 48u64 << 30));
    assert_eq!(limit("Max cpu time"), "3600 3600");
    drop(f);
    assert_clean(&drv);
}

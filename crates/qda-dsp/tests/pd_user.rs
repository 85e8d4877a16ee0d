//! PD hosts as another user (issue 10): a root DSP that asks for it
//! (`pd_host::run_pd_hosts_as`) starts its PD hosts with no supplementary
//! groups and the given gid and uid, and they still serve calls with
//! buffers: the buffers' files reach them as descriptors (`SCM_RIGHTS`),
//! nothing of the DSP's process is opened. Its own test binary: the user
//! setting is process-wide.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use qda_driver::{Creds, Driver};
use qda_dsp::pd_host::{PdUser, pd_host_path, run_pd_hosts_as};
use qda_dsp::{PdMode, VirtualDsp};
use qda_test::{assert_clean, invoke_arg as arg, open_module};
use qda_uapi::fastrpc::*;

const TEST_URI: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

fn invoke(f: &qda_driver::File, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> i64 {
    qda_test::legacy_invoke(f, handle, sc, args).unwrap()
}

/// Whether any user may reach `p` (every directory above it searchable by
/// others, the file itself readable by others).
fn open_to_others(p: &Path) -> bool {
    let Ok(p) = p.canonicalize() else { return false };
    let mode = |q: &Path| std::fs::metadata(q).map_or(0, |m| m.permissions().mode());
    mode(&p) & 0o004 != 0 && p.ancestors().skip(1).all(|a| mode(a) & 0o001 != 0)
}

/// `Name:` line of `/proc/<pid>/status`, its fields.
fn status(pid: u32, name: &str) -> Vec<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let l = s.lines().find(|l| l.starts_with(name)).unwrap();
    l[name.len()..].split_whitespace().map(|v| v.parse().unwrap()).collect()
}

#[test]
fn a_root_dsp_runs_its_pds_as_another_user() {
    if !rustix::process::getuid().is_root() {
        println!("skipped: only root can start PD hosts as another user");
        return;
    }
    let host = pd_host_path().unwrap();
    let skels = qda_dsp::builtin_skel_dir();
    if !open_to_others(&host) || !open_to_others(&skels.join("libcalculator_skel.so")) {
        println!(
            "skipped: {} or {} is not open to other users",
            host.display(),
            skels.display()
        );
        return;
    }
    let nobody = PdUser::parse("65534:65534").unwrap();
    run_pd_hosts_as(Some(nobody));
    let drv = Driver::builtin().unwrap();
    let dsp = VirtualDsp::start_with(&drv, "cdsp", PdMode::Process).unwrap();
    let f = qda_test::legacy_session(&drv);
    let h = open_module(|h, sc, a| invoke(&f, h, sc, a), TEST_URI).unwrap();
    let pd = dsp.pd_sandboxes()[0].0;
    assert_eq!(status(pd, "Uid:"), [65534; 4], "real, effective, saved, fs uid");
    assert_eq!(status(pd, "Gid:"), [65534; 4]);
    assert_eq!(status(pd, "Groups:"), Vec::<u32>::new(), "no supplementary groups");

    // A buffer by fd (a dma-buf of this root process) and inline bytes
    // reach the skel of the other user.
    let heap = drv.open("/dev/dma_heap/system", Creds::current()).unwrap();
    let buf = heap.heap_alloc(4096, 0, 2, 0).unwrap();
    let map = drv.map_dmabuf(buf.as_fd(), true).unwrap();
    let src = *b"across users";
    let mut a = [
        arg(src.as_ptr(), src.len(), -1),
        arg(map.addr() as *const u8, src.len(), buf.as_raw_fd()),
    ];
    assert_eq!(invoke(&f, h, 0x0301_0100, &mut a), 0);
    let mut got = [0u8; 12];
    map.read_at(0, &mut got).unwrap();
    assert_eq!(got, src);
    run_pd_hosts_as(None);
    drop((map, buf, heap, f));
    assert_clean(&drv);
}

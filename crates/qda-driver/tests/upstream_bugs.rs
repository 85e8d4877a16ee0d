//! Named regression tests, one per upstream `drivers/misc/fastrpc.c` bug
//! class (issue 10, "Safe to share"; the list is `fastrpc.md` §A5 of the
//! shared reference: "Known bugs / CVEs" and "Additional hazards").
//!
//! Each test is named after the upstream fix and its doc comment cites it:
//! subject line, CVE id, and the torvalds/linux commit id where one was
//! found — the id a stable backport names as its upstream commit ("commit
//! <id> upstream"), unless the comment says otherwise; "commit not found"
//! where only stable ids turned up (a torvalds/linux clone was too large to
//! fetch here). Each says what breaking change would make it fail.
//!
//! The DSP here is [`ScriptedDsp`]: a transport the test scripts message by
//! message. It reads and writes the payload only through the SMMU
//! translation of the caller's context bank, as the DSP does, so it can
//! answer at once, hold a call and answer it late, or behave as a hostile
//! DSP (enlarge an output length, fill the fd list). Nothing here needs the
//! virtual DSP of `qda-dsp`.
//!
//! | upstream fix | test(s) here | also covered by |
//! |---|---|---|
//! | CVE-2022-49950 "fix memory corruption on open", CVE-2022-49952 "…on probe" | `cve_2022_49950_cve_2022_49952_open_past_the_last_session_is_ebusy` | `legacy.rs` `open_takes_a_session_and_ebusy_when_none_is_free`; `platform/tests.rs` `more_than_fourteen_sessions`, `exactly_fourteen_sessions_is_fine` |
//! | CVE-2022-48821 "avoid double fput() on failed usercopy" | `cve_2022_48821_alloc_dma_buff_copy_out_failure_does_not_double_free` | `legacy.rs` `alloc_dma_buff_and_unsupported_ioctls` (a bad arg pointer) |
//! | CVE-2022-48873 "Don't remove map on creater_process and device_release", "Fix use-after-free race condition for maps", "Fix use-after-free and race in fastrpc_map_find" | `cve_2022_48873_failed_create_process_with_a_filefd_keeps_the_buffer`, `fix_use_after_free_race_condition_for_maps_invoke_map_and_unmap_in_parallel` | |
//! | CVE-2022-49393 "fix list iterator in fastrpc_req_mem_unmap_impl" | `cve_2022_49393_mem_unmap_of_an_address_never_mapped_is_einval` | |
//! | CVE-2025-21734 "Fix copy buffer page size" | `cve_2025_21734_inline_buffers_straddling_pages` | `qda-dsp/tests/upstream_bugs.rs` `cve_2025_21734_inline_buffers_straddling_pages_reach_the_skel_whole` (virtual DSP); `qda-proto` `payload/tests.rs` golden vectors |
//! | "Fix DSP capabilities request", "Copy the complete capability structure to user" | `fix_dsp_capabilities_request_attr_0_255_256` | `legacy.rs` (256 without a DSP) |
//! | capability `domain` → `unused` (2025), "Avoid updating PD type for capability request" (2024) | `capability_unused_field_is_ignored` | |
//! | issue 12 G3: a failed capability query is the DSP's code as the ioctl value (`fastrpc_get_info_from_kernel`) | `g3_capability_query_failure_is_the_ioctl_value`, `g3_capability_query_unsupported_is_eopnotsupp` | |
//! | CVE-2026-31730 "possible double-free of cctx->remote_heap" | `cve_2026_31730_create_static_failing_on_the_dsp_then_channel_removal` | `hostile.rs` `create_static_frees_its_heap_when_the_call_fails` (transport failure) |
//! | CVE-2026-53159 "fix DMA address corruption due to find_vma misuse" | `cve_2026_53159_dma_buf_pointer_outside_its_mapping_is_efault` | `hostile.rs` `invoke_arguments_near_u64_max_are_refused_before_the_dsp`, `forged_vma_file_offset_near_u64_max_is_efault` |
//! | CVE-2026-53161 "fix use-after-free of fastrpc_user in workqueue context" | `cve_2026_53161_close_while_a_call_is_in_flight_dsp_answers_late` | `qda-dsp/tests/upstream_bugs.rs` `cve_2026_53161_close_while_a_skel_still_runs_the_call` (virtual DSP); `fastrpc.rs` `an_interrupted_call_keeps_its_context_until_the_dsp_answers` |
//! | "fix use-after-free race in fastrpc_map_create", "fix use-after-free on map->fl in device release" | `fix_use_after_free_race_in_fastrpc_map_create_parallel_invokes_while_closing` | |
//! | CVE-2026-74646 "take fl->lock when moving mmaps on interrupted invoke" | `cve_2026_74646_interrupted_invoke_while_another_thread_mmaps_and_munmaps` | |
//! | CVE-2026-74647 "Remove buffer from list prior to unmap operation" (+ "Rework fastrpc_req_munmap") | `cve_2026_74647_two_threads_munmap_the_same_vaddr` | |
//! | "Fix NULL pointer dereference in rpmsg callback" | `fix_null_pointer_dereference_in_rpmsg_callback_early_unknown_and_short_responses` | `fastrpc.rs` `timeouts_and_bad_responses` |
//! | "fix channel ctx ref leak when session alloc fails", "fix memory leak in fastrpc_channel_ctx_free" | `fix_channel_ctx_ref_leak_when_session_alloc_fails_repeatedly` | |
//! | "Restrict untrusted app to attach to privileged PD" (reverted) | `restrict_untrusted_app_to_attach_to_privileged_pd_is_policy_not_driver` | `qdad/tests/hostile.rs` `an_untrusted_uid_runs_the_calculator_and_nothing_more` |
//! | hazard: `put_args` copies back a DSP-written length | `hazard_put_args_output_length_enlarged_by_the_dsp_is_eproto` | `qda-proto` `unpack_refuses_a_dsp_length_above_the_callers` |
//! | hazard: `get_args` skips "rlen < mlen" with `err` 0 | `hazard_get_args_every_inline_buffer_lies_inside_the_payload` | |
//! | hazard: `fdlist` entries are DSP-controlled fds | `hazard_fdlist_entries_from_the_dsp_drop_no_references` | |
//! | hazard: integer sizes (`nscalars` 540, u64 lengths, sums, wraps) | `hazard_integer_sizes_lengths_sums_and_wraps` | `hostile.rs` `invoke_arguments_near_u64_max_are_refused_before_the_dsp`, `any_numbers_on_the_arithmetic_paths` |
//! | hazard: kernel calls time out after 10 s, user calls never | `hazard_kernel_calls_time_out_user_calls_wait` | `fastrpc.rs` `timeouts_and_bad_responses` |

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use qda_driver::fastrpc::{Channel, KERNEL_CALL_TIMEOUT, Transport};
use qda_driver::smmu::{Access, ContextBank};
use qda_driver::sys::Mapping;
use qda_driver::{Driver, Errno, File, LocalMemory, UserMemory};
use qda_proto::handles::{DSP_UTILITIES, INIT, sc as ksc};
use qda_proto::payload::{DecodedArg, MetaLayout, decode};
use qda_proto::{FastrpcMsg, InvokeRsp, Scalars};
use qda_test::*;
use qda_uapi::fastrpc::*;
use zerocopy::IntoBytes;

/// The handle user invokes here go to (any module handle above the static ones).
const USER: u32 = 0x100;

// ---- the scripted DSP ----

/// What the scripted DSP does with one message.
enum Reply {
    /// Answer at once with this return value.
    Now(i32),
    /// Keep it; the test answers it with [`ScriptedDsp::answer`].
    Hold,
}

/// One message's payload as the DSP reaches it: through the SMMU.
struct Payload {
    msg: FastrpcMsg,
    map: Mapping,
    lead: usize,
}

impl Payload {
    fn of(cbs: &[Arc<ContextBank>], msg: &FastrpcMsg) -> Payload {
        let cb = cbs
            .iter()
            .find(|c| c.sid() as u64 == msg.addr >> 32)
            .expect("payload in a CB of the domain");
        let runs = cb
            .translate(msg.addr, msg.size, Access::Write)
            .expect("payload translates");
        assert_eq!(runs.len(), 1, "a payload is one coherent buffer");
        let r = &runs[0];
        let base = r.offset & !0xfff;
        let lead = (r.offset - base) as usize;
        let map = Mapping::map_internal(r.file.fd(), base, lead + r.len as usize, true).expect("map payload");
        Payload { msg: *msg, map, lead }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.msg.size as usize];
        self.map.read_at(self.lead, &mut v).unwrap();
        v
    }
    fn write(&self, off: usize, b: &[u8]) {
        self.map.write_at(self.lead + off, b).unwrap();
    }
    fn sc(&self) -> Scalars {
        Scalars(self.msg.sc)
    }
    /// Every argument as the DSP decodes it.
    fn args(&self) -> Vec<DecodedArg> {
        decode(self.sc(), &self.bytes())
            .expect("a payload the DSP can decode")
            .args
    }
    /// Offset in the payload of the inline buffer argument `i`.
    fn inline_at(&self, i: usize) -> Option<(usize, usize)> {
        match self.args()[i] {
            DecodedArg::Buf { addr, len, .. } if len > 0 => {
                let off = addr.checked_sub(self.msg.addr)?;
                (off + len <= self.msg.size).then_some((off as usize, len as usize))
            }
            _ => None,
        }
    }
    fn read_arg(&self, i: usize) -> Vec<u8> {
        let (off, len) = self.inline_at(i).expect("an inline argument");
        self.bytes()[off..off + len].to_vec()
    }
    /// The length field the host reads back for argument `i` (`rpra[i].len`).
    fn set_len(&self, i: usize, len: u64) {
        self.write(MetaLayout::new(self.sc().len()).rpra(i) + 8, &len.to_le_bytes());
    }
    fn set_fdlist(&self, k: usize, v: u64) {
        self.write(MetaLayout::new(self.sc().len()).fdlist() + 8 * k, &v.to_le_bytes());
    }
}

type Rule = dyn Fn(&Payload) -> Reply + Send + Sync;

/// A DSP scripted by the test (see the module doc).
struct ScriptedDsp {
    chan: Weak<Channel>,
    cbs: Vec<Arc<ContextBank>>,
    rule: Box<Rule>,
    held: Mutex<Vec<FastrpcMsg>>,
    arrived: Condvar,
}

impl std::fmt::Debug for ScriptedDsp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptedDsp")
    }
}

impl Transport for ScriptedDsp {
    fn send(&self, msg: &FastrpcMsg) -> qda_driver::Result<()> {
        let p = Payload::of(&self.cbs, msg);
        match (self.rule)(&p) {
            Reply::Now(r) => self.respond(msg.ctx, r),
            Reply::Hold => {
                qda_rt::lock(&self.held).push(*msg);
                self.arrived.notify_all();
            }
        }
        Ok(())
    }
}

impl ScriptedDsp {
    /// Attach a DSP following `rule` to domain `label` of `drv`.
    fn attach(drv: &Driver, label: &str, rule: impl Fn(&Payload) -> Reply + Send + Sync + 'static) -> Arc<ScriptedDsp> {
        let d = drv.domain(label).unwrap();
        let dsp = Arc::new(ScriptedDsp {
            chan: Arc::downgrade(&d.channel),
            cbs: d.cbs.clone(),
            rule: Box::new(rule),
            held: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        });
        drv.attach_dsp(label, dsp.clone()).unwrap();
        dsp
    }
    fn respond(&self, ctx: u64, retval: i32) {
        let rsp = InvokeRsp { ctx, retval, pad: 0 };
        if let Some(c) = self.chan.upgrade() {
            let _ = c.on_response(rsp.as_bytes());
        }
    }
    /// Wait for a held message (at most 10 s: a hang fails, it does not time anything).
    fn next_held(&self) -> FastrpcMsg {
        let mut h = qda_rt::lock(&self.held);
        for _ in 0..1000 {
            if let Some(m) = h.pop() {
                return m;
            }
            h = self.arrived.wait_timeout(h, Duration::from_millis(10)).unwrap().0;
        }
        panic!("no message reached the DSP");
    }
    /// Answer a held message now.
    fn answer(&self, m: &FastrpcMsg, retval: i32) {
        self.respond(m.ctx, retval);
    }
}

/// A DSP that answers every call at once with 0, touching nothing.
fn answers_zero(_: &Payload) -> Reply {
    Reply::Now(0)
}

/// A legacy file on the CDSP with a user PD, and the scripted DSP.
fn session(rule: impl Fn(&Payload) -> Reply + Send + Sync + 'static) -> (Checked, Arc<ScriptedDsp>) {
    let drv = driver();
    let dsp = ScriptedDsp::attach(&drv, "cdsp", rule);
    (drv, dsp)
}

fn gettid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

/// A buffer from `ALLOC_DMA_BUFF` on `f` and this process's mapping of it.
fn dma_buf(drv: &Driver, f: &File, size: u64) -> (OwnedFd, Mapping) {
    let mut a = FastrpcAllocDmaBuf { fd: -1, flags: 0, size };
    assert_eq!(ioctl(f, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a), Ok(0));
    let fd = own(a.fd);
    let m = drv.map_dmabuf(fd.as_fd(), true).unwrap();
    (fd, m)
}

// ---- CVE-2022-49950 / -49952, channel ctx leaks ----

/// CVE-2022-49950, "misc: fastrpc: fix memory corruption on open"
/// (torvalds/linux d245f43aab2b61195d8ebb64cef7b5a08c590ab4), and
/// CVE-2022-49952, "misc: fastrpc: fix memory corruption on probe"
/// (9baa1415d9abdd1e08362ea2dcfadfacee8690b5): more sessions than the
/// array holds were written past its end. Ours: open takes one of the DT's
/// sessions and answers `EBUSY` past the last, on both nodes; a board with
/// more than 14 sessions per CB is refused at parse time
/// (`platform/tests.rs` `more_than_fourteen_sessions`).
///
/// Fails if: open hands out a session beyond `desc.sessions()` (the count
/// check off by one), or a refused open keeps a session.
#[test]
fn cve_2022_49950_cve_2022_49952_open_past_the_last_session_is_ebusy() {
    let drv = driver();
    let d = drv.domain("cdsp").unwrap().clone();
    let total = d.desc.sessions();
    let files: Vec<_> = (0..total).map(|_| open(&drv, "/dev/fastrpc-cdsp")).collect();
    for node in ["/dev/fastrpc-cdsp", "/dev/fastrpc-cdsp-secure"] {
        assert_eq!(drv.open(node, me()).unwrap_err().errno, Errno::EBUSY, "{node}");
    }
    assert_eq!(d.sessions_in_use(), total);
    drop(files);
    assert_eq!(d.sessions_in_use(), 0);
}

/// "misc: fastrpc: fix channel ctx ref leak when session alloc fails" and
/// "misc: fastrpc: fix memory leak in fastrpc_channel_ctx_free" (2026;
/// commit not found in torvalds/linux, only stable backports seen): the
/// failing open kept a channel reference. Ours: a thousand `EBUSY` opens
/// leave nothing behind, the sessions all come back, and a removed domain
/// refuses opens without leaking either.
///
/// Fails if: a refused open keeps anything (a session marked in use, a CB
/// assignment, a file object): `sessions_in_use` or `assert_clean`.
#[test]
fn fix_channel_ctx_ref_leak_when_session_alloc_fails_repeatedly() {
    let drv = driver();
    let d = drv.domain("cdsp").unwrap().clone();
    let files: Vec<_> = (0..d.desc.sessions())
        .map(|_| open(&drv, "/dev/fastrpc-cdsp"))
        .collect();
    let before = drv.stats();
    for _ in 0..1000 {
        assert_eq!(drv.open("/dev/fastrpc-cdsp", me()).unwrap_err().errno, Errno::EBUSY);
    }
    assert_eq!(
        format!("{:?}", drv.stats()),
        format!("{before:?}"),
        "refused opens leak nothing"
    );
    drop(files);
    assert_eq!(d.sessions_in_use(), 0);
    drv.remove_domain("cdsp").unwrap();
    for _ in 0..100 {
        assert!(drv.open("/dev/fastrpc-cdsp", me()).is_err());
    }
    assert_eq!(d.sessions_in_use(), 0);
    assert_clean(&drv);
}

// ---- CVE-2022-48821 ----

/// The caller's memory for a `copy_to_user` that faults: reads succeed,
/// writes fail, installed fds are kept for the test.
#[derive(Default)]
struct WriteFaults {
    installed: Mutex<Vec<OwnedFd>>,
}

impl UserMemory for WriteFaults {
    fn read(&self, addr: u64, dst: &mut [u8]) -> qda_driver::Result<()> {
        LocalMemory.read(addr, dst)
    }
    fn write(&self, _: u64, _: &[u8]) -> qda_driver::Result<()> {
        Err(qda_driver::OsError::new(Errno::EFAULT, "read-only argument"))
    }
    fn install_fd(&self, fd: OwnedFd) -> qda_driver::Result<i32> {
        let n = fd.as_raw_fd();
        qda_rt::lock(&self.installed).push(fd);
        Ok(n)
    }
}

/// CVE-2022-48821, "misc: fastrpc: avoid double fput() on failed usercopy"
/// (torvalds/linux 46963e2e0629cb31c96b1d47ddd89dc3d8990b34):
/// `ALLOC_DMA_BUFF` installed the fd, the copy-out of the result faulted,
/// and the error path dropped the buffer the installed fd still named.
/// Ours, as the fix: `EFAULT`, the installed fd stays (the caller's
/// process owns it) and still names a live buffer; closing it frees it once.
///
/// Fails if: the error path frees the buffer (the installed fd no longer
/// resolves), installs twice, or installs nothing (the buffer leaks until
/// the driver goes: `assert_clean`).
#[test]
fn cve_2022_48821_alloc_dma_buff_copy_out_failure_does_not_double_free() {
    let drv = driver();
    let f = open(&drv, "/dev/fastrpc-cdsp");
    for size in [1u64, 4096, 6000, 1 << 20] {
        let um = WriteFaults::default();
        let a = FastrpcAllocDmaBuf { fd: -1, flags: 0, size };
        let r = f.ioctl(FASTRPC_IOCTL_ALLOC_DMA_BUFF, &a as *const _ as u64, &um);
        assert_eq!(r.map_err(|e| e.errno), Err(Errno::EFAULT), "size {size}");
        let installed = std::mem::take(&mut *qda_rt::lock(&um.installed));
        assert_eq!(installed.len(), 1, "one fd installed");
        let buf = drv
            .dmabuf(installed[0].as_fd())
            .expect("the installed fd names a live buffer");
        assert_eq!(buf.size(), size.div_ceil(4096) * 4096);
        drop(buf);
        drop(installed);
    }
    drop(f);
    drv.settle();
    assert_clean(&drv);
}

// ---- map lifetimes: CVE-2022-48873 and the map races ----

/// CVE-2022-48873, "misc: fastrpc: Don't remove map on creater_process and
/// device_release" (torvalds/linux 5bb96c8f9268e2fdb0e5321cbc358ee5941efc15):
/// a failed create_process dropped the map of `filefd` that the user's
/// later calls still used. Ours: the DSP refuses INIT_CREATE with a shell in
/// a dma-buf, the buffer stays the caller's (fd valid, mapping readable,
/// usable by a following invoke), and closing everything frees it.
///
/// Fails if: the failed create drops or unmaps the caller's buffer, or keeps
/// a map of it past close (`assert_clean`).
#[test]
fn cve_2022_48873_failed_create_process_with_a_filefd_keeps_the_buffer() {
    let refuse_create = Arc::new(AtomicBool::new(true));
    let rc = refuse_create.clone();
    let (drv, _dsp) = session(move |p| {
        let m = p.sc().method();
        let create = p.msg.handle == INIT && (m == ksc::INIT_CREATE.method() || m == ksc::INIT_CREATE_ATTR.method());
        Reply::Now(if create && rc.load(Ordering::SeqCst) {
            0x8000_0401u32 as i32
        } else {
            0
        })
    });
    let f = open(&drv, "/dev/fastrpc-cdsp-secure");
    let (fd, mut m) = dma_buf(&drv, &f, 8192);
    m.as_mut_slice()[..4].copy_from_slice(b"\x7fELF");
    for _ in 0..3 {
        let mut c = FastrpcInitCreate {
            filelen: 4096,
            filefd: fd.as_raw_fd(),
            attrs: 0,
            siglen: 0,
            file: m.addr(),
        };
        let r = ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut c);
        assert!(r != Ok(0), "the DSP refused the create: {r:?}");
        assert_eq!(&m.as_slice()[..4], b"\x7fELF", "the buffer is still the caller's");
        assert!(drv.dmabuf(fd.as_fd()).is_ok());
    }
    refuse_create.store(false, Ordering::SeqCst);
    let mut c = FastrpcInitCreate {
        filelen: 4096,
        filefd: fd.as_raw_fd(),
        attrs: 0,
        siglen: 0,
        file: m.addr(),
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut c), Ok(0));
    let mut a = [invoke_arg(m.addr() as *const u8, 64, fd.as_raw_fd())];
    assert_eq!(
        legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno),
        Ok(0)
    );
    drop((f, m, fd));
    drv.settle();
    assert_clean(&drv);
}

/// "misc: fastrpc: Fix use-after-free race condition for maps"
/// (torvalds/linux 96b328d119eca7563c1edcc4e1039a62e6370ecb) and "misc:
/// fastrpc: Fix use-after-free and race in fastrpc_map_find"
/// (9446fa1683a7e3937d9970248ced427c1983a1c5): a map's refcount was taken
/// after the list lock was dropped. Ours: invokes by fd on four threads
/// while a fifth `MEM_MAP`s and `MEM_UNMAP`s the same buffer: every call
/// succeeds, and closing the file leaves no map.
///
/// Fails if: a `MEM_UNMAP` drops the invoke map of the same buffer (a
/// later invoke fails or the DSP sees a stale address), or a map outlives
/// the file (`assert_clean`).
#[test]
fn fix_use_after_free_race_condition_for_maps_invoke_map_and_unmap_in_parallel() {
    let (drv, _dsp) = session(answers_zero);
    let f = legacy_session(&drv);
    let (fd, m) = dma_buf(&drv, &f, 16384);
    let raw = fd.as_raw_fd();
    let addr = m.addr();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let f = &f;
            s.spawn(move || {
                for i in 0..100u64 {
                    let off = ((t * 100 + i) % 4) * 4096;
                    let mut a = [invoke_arg((addr + off) as *const u8, 4096, raw)];
                    let r = legacy_invoke(f, USER, Scalars::make(2, 1, 0).0, &mut a);
                    assert_eq!(r.map_err(|e| e.errno), Ok(0));
                }
            });
        }
        let f = &f;
        s.spawn(move || {
            for _ in 0..100 {
                let mut mm = FastrpcMemMap {
                    fd: raw,
                    length: 16384,
                    ..Default::default()
                };
                assert_eq!(ioctl(f, FASTRPC_IOCTL_MEM_MAP, &mut mm), Ok(0));
                let mut u = FastrpcMemUnmap {
                    fd: raw,
                    vaddr: mm.vaddrout,
                    length: 16384,
                    ..Default::default()
                };
                assert_eq!(ioctl(f, FASTRPC_IOCTL_MEM_UNMAP, &mut u), Ok(0));
            }
        });
    });
    drop((f, m, fd));
    drv.settle();
    assert_clean(&drv);
}

/// "misc: fastrpc: fix use-after-free race in fastrpc_map_create" (2026;
/// torvalds/linux 07ebe87915d8accdaba20c4f88c5ae430fe62fbb) and "misc:
/// fastrpc: fix use-after-free on map->fl in device release" (2026
/// proposal; commit not found): a map was found while its file was being
/// released. Ours: eight threads invoke by fd on one shared file while
/// another drops its reference and the buffer's fd is closed by its owner;
/// the file lives until the last call ends, every call succeeds, and the
/// last reference frees every map.
///
/// Fails if: release runs while calls are inside the file (a call then
/// sees `ENODEV`/`EPIPE` or a freed map), or a map survives it.
#[test]
fn fix_use_after_free_race_in_fastrpc_map_create_parallel_invokes_while_closing() {
    for _ in 0..5 {
        let (drv, _dsp) = session(answers_zero);
        let f = Arc::new(legacy_session(&drv));
        let (fd, m) = dma_buf(&drv, &f, 8192);
        // Invokes pass a duplicate the test owns: the owner closing its fd
        // (below) must not pull the buffer from under the calls.
        let dup = fd.try_clone().unwrap();
        let (raw, addr) = (dup.as_raw_fd(), m.addr());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let f = f.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let mut a = [invoke_arg(addr as *const u8, 100, raw)];
                        let r = legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a);
                        assert_eq!(r.map_err(|e| e.errno), Ok(0));
                    }
                })
            })
            .collect();
        drop(f);
        drop(fd);
        for t in threads {
            t.join().unwrap();
        }
        drop((m, dup));
        drv.settle();
        assert_clean(&drv);
    }
}

// ---- CVE-2022-49393 ----

/// CVE-2022-49393, "misc: fastrpc: fix list iterator in
/// fastrpc_req_mem_unmap_impl" (torvalds/linux
/// c5c07c5958cf0c9af6e76813e6de15d42ee49822): the not-found case used the iterator past the list.
/// Ours: `MEM_UNMAP` of a DSP address never mapped, of a mapped address
/// under another fd, and of one already unmapped is `EINVAL`, and nothing
/// is sent to the DSP for them.
///
/// Fails if: the lookup falls through to any entry (the first or the
/// last) when nothing matches.
#[test]
fn cve_2022_49393_mem_unmap_of_an_address_never_mapped_is_einval() {
    let sent = Arc::new(Mutex::new(0usize));
    let s2 = sent.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == INIT && p.msg.sc == ksc::INIT_MEM_MAP.0 {
            // MEM_MAP: the DSP answers the address it mapped at.
            let vaddr = 0x4000_0000u64;
            p.write(p.inline_at(3).unwrap().0, &vaddr.to_le_bytes());
        }
        *qda_rt::lock(&s2) += 1;
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let (fd, _m) = dma_buf(&drv, &f, 8192);
    let unmap = |fd: i32, vaddr: u64| {
        let mut u = FastrpcMemUnmap {
            fd,
            vaddr,
            length: 8192,
            ..Default::default()
        };
        ioctl(&f, FASTRPC_IOCTL_MEM_UNMAP, &mut u)
    };
    let calls = || *qda_rt::lock(&sent);
    let n0 = calls();
    assert_eq!(unmap(fd.as_raw_fd(), 0x1234_0000), Err(Errno::EINVAL), "empty list");
    let mut mm = FastrpcMemMap {
        fd: fd.as_raw_fd(),
        length: 8192,
        ..Default::default()
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_MEM_MAP, &mut mm), Ok(0));
    assert_eq!(mm.vaddrout, 0x4000_0000);
    let n1 = calls();
    assert_eq!(n1, n0 + 1);
    assert_eq!(
        unmap(fd.as_raw_fd(), 0x1234_0000),
        Err(Errno::EINVAL),
        "not in the list"
    );
    assert_eq!(
        unmap(fd.as_raw_fd() + 100, mm.vaddrout),
        Err(Errno::EINVAL),
        "another fd"
    );
    assert_eq!(calls(), n1, "nothing sent for a miss");
    assert_eq!(unmap(fd.as_raw_fd(), mm.vaddrout), Ok(0));
    assert_eq!(
        unmap(fd.as_raw_fd(), mm.vaddrout),
        Err(Errno::EINVAL),
        "already unmapped"
    );
    drop(f);
    drv.settle();
}

// ---- CVE-2025-21734 and the get_args hazard ----

/// Inline inputs and outputs of `lens` at `starts` (offsets into a page-
/// aligned arena): the DSP checks that every inline buffer lies inside the
/// payload and inside the page descriptor it was given, and copies input i
/// to output i; the caller gets its bytes back.
fn inline_round_trip(cases: &[(usize, usize)]) {
    let (drv, _dsp) = session(|p| {
        let sc = p.sc();
        if p.msg.handle != USER {
            return Reply::Now(0);
        }
        for (i, a) in p.args().iter().enumerate() {
            if let DecodedArg::Buf { addr, len, page, .. } = *a
                && len > 0
            {
                assert!(
                    addr >= page.addr && addr + len <= page.addr + page.size,
                    "argument {i}: {len} bytes at {addr:#x} leave its page descriptor {page:?}"
                );
                assert!(p.inline_at(i).is_some(), "argument {i} lies outside the payload");
            }
        }
        let n = sc.inbufs() as usize;
        for i in 0..n {
            let b = p.read_arg(i);
            let (off, len) = p.inline_at(n + i).unwrap();
            assert_eq!(len, b.len());
            p.write(off, &b);
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let arena_len = cases.iter().map(|(s, l)| s + l).max().unwrap() + 4096;
    let mut src = Mapping::map_internal(memfd(arena_len).as_fd(), 0, arena_len, true).unwrap();
    let mut dst = Mapping::map_internal(memfd(arena_len).as_fd(), 0, arena_len, true).unwrap();
    for (k, b) in src.as_mut_slice().iter_mut().enumerate() {
        *b = (k * 7 + 3) as u8;
    }
    let mut args: Vec<FastrpcInvokeArgs> = cases
        .iter()
        .map(|&(s, l)| invoke_arg((src.addr() + s as u64) as *const u8, l, -1))
        .collect();
    args.extend(
        cases
            .iter()
            .map(|&(s, l)| invoke_arg((dst.addr() + s as u64) as *const u8, l, -1)),
    );
    let n = cases.len() as u8;
    let r = legacy_invoke(&f, USER, Scalars::make(2, n, n).0, &mut args);
    assert_eq!(r.map_err(|e| e.errno), Ok(0), "{cases:?}");
    let (s, d) = (src.as_slice().to_vec(), dst.as_slice());
    for &(at, len) in cases {
        assert_eq!(&d[at..at + len], &s[at..at + len], "{len} bytes at offset {at}");
    }
    drop(f);
    drv.settle();
}

fn memfd(len: usize) -> OwnedFd {
    let m = rustix::fs::memfd_create("arena", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&m, len as u64).unwrap();
    m
}

/// CVE-2025-21734, "misc: fastrpc: Fix copy buffer page size"
/// (58570026c7ac249bfbd90f9fcb7d2e0a74a106a1 as applied to the
/// maintainer's tree; not confirmed as the torvalds/linux id): the page descriptor of an inline (copy) buffer was
/// sized without its in-page offset, so a buffer straddling a page boundary
/// was described one page short. Ours: lengths 1, 4095, 4096, 4097, 8193 at
/// unaligned starts (0, 1, 4095, 2049…): each lies inside its page
/// descriptor and inside the payload, and the bytes round-trip.
///
/// Fails if: `Plan` sizes a page descriptor as `len` rounded up without
/// the pointer's offset in its page (the descriptor check), or places
/// buffers without their in-page offset (the round trip).
#[test]
fn cve_2025_21734_inline_buffers_straddling_pages() {
    for (start, len) in [
        (0, 1),
        (4095, 1),
        (1, 4095),
        (4095, 2),
        (4095, 4097),
        (2049, 4096),
        (3, 8193),
    ] {
        inline_round_trip(&[(start, len)]);
    }
    inline_round_trip(&[(4095, 2), (8191, 4097), (16384 + 1, 1), (20480 + 4094, 8193)]);
}

/// Hazard: `fastrpc_get_args` skips "rlen < mlen" with `err` still 0, so an
/// inline buffer could be left out of a payload too small for it (no CVE).
/// Ours: payload placement and size come from one plan; with ten inline
/// inputs and ten outputs of assorted sizes and offsets, every one lies
/// inside the payload and its page descriptor, and all round-trip.
///
/// Fails if: the payload is sized from anything but the placed buffers
/// (e.g. the sum of lengths without alignment padding).
#[test]
fn hazard_get_args_every_inline_buffer_lies_inside_the_payload() {
    let cases: Vec<(usize, usize)> = (0..10).map(|k| (k * 9000 + k * 37 % 4096, 1 + k * 1311)).collect();
    inline_round_trip(&cases);
}

// ---- capabilities ----

/// A DSP whose capability table holds `k` at attribute `k`.
fn capability_dsp(p: &Payload) -> Reply {
    if p.msg.handle == DSP_UTILITIES && p.msg.sc == ksc::DSP_CAPABILITY.0 {
        let (off, len) = p.inline_at(1).expect("the capability output");
        assert_eq!(len, 255 * 4, "255 words, not 255 bytes");
        let words: Vec<u8> = (1..=255u32).flat_map(|k| k.to_le_bytes()).collect();
        p.write(off, &words);
    }
    Reply::Now(0)
}

/// "misc: fastrpc: Fix DSP capabilities request" (torvalds/linux
/// 4cb7915f0a35e2fcc4be60b912c4be35cd830957) and "misc: fastrpc: Copy the
/// complete capability structure to user" (e7f0be3f09c6e955dc8009129862b562d8b64513),
/// 2024: the DSP was sent the wrong buffer length and only part of the
/// struct was copied back. Ours: the DSP gets a 255-word output; attribute
/// 255 is the last word, 0 is 0, 256 is `EOVERFLOW`, and the whole struct
/// comes back (the id and reserved words as sent).
///
/// Fails if: the output is sized in bytes instead of words or off by one
/// (attribute 255 reads 0 or a neighbour), or the bound check admits 256.
#[test]
fn fix_dsp_capabilities_request_attr_0_255_256() {
    let (drv, _dsp) = session(capability_dsp);
    let f = open(&drv, "/dev/fastrpc-cdsp");
    for (id, want) in [
        (0u32, Ok(0u32)),
        (1, Ok(1)),
        (128, Ok(128)),
        (255, Ok(255)),
        (256, Err(Errno::EOVERFLOW)),
        (u32::MAX, Err(Errno::EOVERFLOW)),
    ] {
        let mut cap = FastrpcIoctlCapability {
            attribute_id: id,
            reserved: [9, 8, 7, 6],
            ..Default::default()
        };
        let r = ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap).map(|_| cap.capability);
        assert_eq!(r, want, "attribute {id}");
        assert_eq!((cap.attribute_id, cap.reserved), (id, [9, 8, 7, 6]));
    }
}

/// "misc: fastrpc: Avoid updating PD type for capability request" and the
/// 2025 UAPI change renaming the capability `domain` field `unused`
/// (torvalds/linux bfb6b07d2a30ffe98864d8cfc31fc00470063025 for the
/// former; commit of the rename not found): a user-supplied
/// domain index was validated and used, and the query changed the file's
/// PD type. Ours: any value there is ignored — the answer is the node's
/// DSP's, for 0, 3, 7, 0xffffffff — and the file's PD type stays.
///
/// Fails if: the field selects a domain or is range-checked, or the query
/// sets the file's PD type.
#[test]
fn capability_unused_field_is_ignored() {
    let (drv, _dsp) = session(capability_dsp);
    let f = open(&drv, "/dev/fastrpc-cdsp");
    let pd = f.rpc_state().unwrap().pd();
    for unused in [0u32, 3, 7, 0xffff_ffff] {
        let mut cap = FastrpcIoctlCapability {
            unused,
            attribute_id: 200,
            ..Default::default()
        };
        assert_eq!(
            ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap),
            Ok(0),
            "unused {unused}"
        );
        assert_eq!(cap.capability, 200);
        assert_eq!(f.rpc_state().unwrap().pd(), pd, "the PD type stays");
    }
}

/// G3 (issue 12): a capability query the DSP fails with any code other
/// than "unsupported" (`0x80000414`, `-EOPNOTSUPP`) is that code as the
/// ioctl's value in mainline — `fastrpc_get_info_from_kernel` returns the
/// invoke's result as it is and `fastrpc_get_dsp_info` returns it before
/// copying the struct out (torvalds/linux `drivers/misc/fastrpc.c`, the
/// "dsp information is incorrect" branch) — and nothing is cached, so the
/// next query asks again. qda answered `EIO`.
///
/// Fails if: another code becomes an errno (`EIO`), the struct is written
/// on failure, or the failure is cached.
#[test]
fn g3_capability_query_failure_is_the_ioctl_value() {
    const EBADPARM: i32 = 0x8000_040e_u32 as i32;
    let failed = Arc::new(AtomicBool::new(false));
    let once = failed.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == DSP_UTILITIES && !once.swap(true, Ordering::SeqCst) {
            return Reply::Now(EBADPARM);
        }
        capability_dsp(p)
    });
    let f = open(&drv, "/dev/fastrpc-cdsp");
    let mut cap = FastrpcIoctlCapability {
        attribute_id: 7,
        capability: 0x5a5a,
        ..Default::default()
    };
    assert_eq!(
        ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap),
        Ok(EBADPARM as i64),
        "the DSP's code is the value"
    );
    assert_eq!(cap.capability, 0x5a5a, "nothing is copied out on failure");
    assert!(failed.load(Ordering::SeqCst));
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap), Ok(0), "asked again");
    assert_eq!(cap.capability, 7);
}

/// G3: "unsupported" stays `EOPNOTSUPP`.
#[test]
fn g3_capability_query_unsupported_is_eopnotsupp() {
    let (drv, _dsp) = session(|p| {
        if p.msg.handle == DSP_UTILITIES {
            return Reply::Now(0x8000_0414_u32 as i32);
        }
        Reply::Now(0)
    });
    let f = open(&drv, "/dev/fastrpc-cdsp");
    let mut cap = FastrpcIoctlCapability {
        attribute_id: 1,
        ..Default::default()
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap), Err(Errno::EOPNOTSUPP));
}

// ---- CVE-2026-31730 ----

/// CVE-2026-31730, "misc: fastrpc: possible double-free of
/// cctx->remote_heap" (commit not found in torvalds/linux; stable
/// backports only): INIT_CREATE_STATIC failing on the DSP freed the remote
/// heap without clearing the pointer, and channel removal freed it again.
/// Ours: the DSP refuses the static PD three times (each allocates the heap
/// anew and frees it), then the domain goes: no backing left, the DMA-API
/// checker reports no double free. A transport failure is
/// `hostile.rs` `create_static_frees_its_heap_when_the_call_fails`.
///
/// Fails if: the error path frees the heap but keeps it (the next create
/// reuses a freed mapping: DMA-API report) or keeps it without freeing
/// (`backings` is not 0).
#[test]
fn cve_2026_31730_create_static_failing_on_the_dsp_then_channel_removal() {
    let (drv, _dsp) = session(|p| {
        Reply::Now(if p.msg.handle == INIT && p.msg.sc == ksc::INIT_CREATE_STATIC.0 {
            0x8000_0401u32 as i32
        } else {
            0
        })
    });
    let name = b"audiopd";
    for _ in 0..3 {
        let f = open(&drv, "/dev/fastrpc-cdsp");
        let mut c = FastrpcInitCreateStatic {
            namelen: name.len() as u32,
            memlen: 1 << 20,
            name: name.as_ptr() as u64,
        };
        let r = ioctl(&f, FASTRPC_IOCTL_INIT_CREATE_STATIC, &mut c);
        assert!(r != Ok(0), "the DSP refused: {r:?}");
        drop(f);
        assert_eq!(drv.stats().backings, 0, "{:?}", drv.stats());
    }
    drv.remove_domain("cdsp").unwrap();
    assert_clean(&drv);
}

// ---- CVE-2026-53159 ----

/// CVE-2026-53159, "misc: fastrpc: fix DMA address corruption due to
/// find_vma misuse" (2026; torvalds/linux
/// 464c6ad2aa16e1e1df9d559289199356493d1e00):
/// `find_vma` returns the next VMA for a pointer in a gap below it, and the
/// offset `ptr - vm_start` underflowed. Ours: a dma-buf argument whose
/// pointer lies just below the buffer's mapping, in another file's mapping,
/// or in no mapping is `EFAULT` before anything is sent; inside the
/// mapping the call goes through with the right offset.
///
/// Fails if: `dma_offset` uses `find_vma` semantics (the next mapping
/// above) or ignores whether the mapping is of this buffer.
#[test]
fn cve_2026_53159_dma_buf_pointer_outside_its_mapping_is_efault() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == USER {
            qda_rt::lock(&s2).push(p.args()[0]);
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let (fd, m) = dma_buf(&drv, &f, 8192);
    let other = Mapping::map(memfd(4096).as_fd(), 0, 4096, true).unwrap();
    let local = [0u8; 64];
    let raw = fd.as_raw_fd();
    for (ptr, what) in [
        (m.addr() - 1, "one byte below the mapping"),
        (m.addr() - 4096, "a page below the mapping"),
        (other.addr(), "another file's mapping"),
        (local.as_ptr() as u64, "the stack"),
        (0x1000, "no mapping at all"),
    ] {
        let mut a = [invoke_arg(ptr as *const u8, 16, raw)];
        let r = legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a);
        assert_eq!(r.map_err(|e| e.errno), Err(Errno::EFAULT), "{what}");
    }
    assert!(qda_rt::lock(&seen).is_empty(), "nothing was sent");
    // Inside: the DSP address is the buffer's plus the pointer's offset in
    // it (the page descriptor takes the page, the address the rest).
    let dsp_addr = |off: u64| {
        let mut a = [invoke_arg((m.addr() + off) as *const u8, 16, raw)];
        assert_eq!(
            legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno),
            Ok(0)
        );
        let DecodedArg::Buf { addr, page, .. } = qda_rt::lock(&seen).pop().unwrap() else {
            panic!("a buffer argument")
        };
        assert_eq!(addr - page.addr, off & 0xfff);
        addr
    };
    let base = dsp_addr(0);
    assert_eq!(dsp_addr(5), base + 5);
    assert_eq!(dsp_addr(4096 + 5), base + 4096 + 5);
    assert_eq!(dsp_addr(8192 - 16), base + 8192 - 16);
    drop((f, m, fd));
    drv.settle();
}

// ---- CVE-2026-53161: a late answer after close ----

/// Hold user calls, answer everything else at once.
fn holds_user_calls(p: &Payload) -> Reply {
    if p.msg.handle == USER {
        Reply::Hold
    } else {
        Reply::Now(0)
    }
}

/// CVE-2026-53161, "misc: fastrpc: fix use-after-free of fastrpc_user in
/// workqueue context" (2026; torvalds/linux
/// e85eb5feca8e254905ffa6c57a3c99c89a674a0f): the
/// response work ran after release() had freed the user. Ours: a call is
/// interrupted (as a signal does), its file is closed while the DSP still
/// holds the call, then the DSP answers: the answer finds the context and
/// releases it, touches no freed payload, and nothing is left — 30 times.
///
/// Fails if: release frees the context the DSP still owns (the late answer
/// then completes a context reused by another call, or `ENOENT`s and leaks
/// `in_flight`), or returns the payload to a pool the DSP may still write.
#[test]
fn cve_2026_53161_close_while_a_call_is_in_flight_dsp_answers_late() {
    let (drv, dsp) = session(holds_user_calls);
    let chan = drv.domain("cdsp").unwrap().channel.clone();
    for _ in 0..30 {
        let f = legacy_session(&drv);
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let mut buf = [1u8; 200];
            let mut a = [invoke_arg(buf.as_mut_ptr(), 200, -1)];
            let r = legacy_invoke(&f, USER, Scalars::make(2, 0, 1).0, &mut a);
            (r.map_err(|e| e.errno), f)
        });
        let tid = rx.recv().unwrap();
        let m = dsp.next_held();
        assert_eq!(chan.interrupt(tid), 1);
        let (r, f) = t.join().unwrap();
        assert_eq!(r, Err(Errno::ERESTARTSYS));
        drop(f);
        assert_eq!(chan.in_flight(), 1, "the DSP still owns the context");
        dsp.answer(&m, 0);
        assert_eq!(chan.in_flight(), 0, "the late answer releases it");
    }
    drv.settle();
    assert_clean(&drv);
}

// ---- CVE-2026-74646 / -74647 ----

/// CVE-2026-74646, "misc: fastrpc: take fl->lock when moving mmaps on
/// interrupted invoke" (commit not found in torvalds/linux; stable
/// backports only): an interrupted invoke moved the file's mmaps without
/// the lock while MMAP/MUNMAP changed the list. Ours: a thread blocked in
/// INVOKE is interrupted while another MMAPs and MUNMAPs; each MUNMAP finds
/// its buffer, the late answer arrives, nothing is left (20 rounds).
///
/// Fails if: the interrupted path and MMAP/MUNMAP touch the mmap list
/// without one lock (a lost or doubled entry: MUNMAP `EINVAL`, or a leak
/// at `assert_clean`).
#[test]
fn cve_2026_74646_interrupted_invoke_while_another_thread_mmaps_and_munmaps() {
    let (drv, dsp) = session(holds_user_calls);
    let chan = drv.domain("cdsp").unwrap().channel.clone();
    let f = Arc::new(legacy_session(&drv));
    for _ in 0..20 {
        let (tx, rx) = std::sync::mpsc::channel();
        let fi = f.clone();
        let t = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let mut buf = [0u8; 64];
            let mut a = [invoke_arg(buf.as_mut_ptr(), 64, -1)];
            legacy_invoke(&fi, USER, Scalars::make(2, 0, 1).0, &mut a).map_err(|e| e.errno)
        });
        let tid = rx.recv().unwrap();
        let fm = f.clone();
        let mapper = std::thread::spawn(move || {
            for _ in 0..10 {
                let mut m = FastrpcReqMmap {
                    fd: -1,
                    flags: ADSP_MMAP_ADD_PAGES,
                    vaddrin: 0,
                    size: 4096,
                    vaddrout: 0,
                };
                assert_eq!(ioctl(&fm, FASTRPC_IOCTL_MMAP, &mut m), Ok(0));
                let mut u = FastrpcReqMunmap {
                    vaddrout: m.vaddrout,
                    size: 4096,
                };
                assert_eq!(ioctl(&fm, FASTRPC_IOCTL_MUNMAP, &mut u), Ok(0));
            }
        });
        let m = dsp.next_held();
        assert_eq!(chan.interrupt(tid), 1);
        assert_eq!(t.join().unwrap(), Err(Errno::ERESTARTSYS));
        mapper.join().unwrap();
        dsp.answer(&m, 0);
    }
    drop(f);
    drv.settle();
    assert_clean(&drv);
}

/// CVE-2026-74647, "misc: fastrpc: Remove buffer from list prior to unmap
/// operation" (+ "misc: fastrpc: Rework fastrpc_req_munmap"; commits not
/// found in torvalds/linux, stable backports only): two MUNMAPs of one
/// buffer both found it and both freed it. Ours: four threads MUNMAP the
/// same address while another buffer (mapped after it) stays: exactly one
/// succeeds, the others are `EINVAL`, the DSP is asked once, and the other
/// buffer is still there to unmap (300 rounds).
///
/// Fails if: the buffer is looked up and taken off the list under two
/// separate locks (found first with this test: a second thread then
/// removed the *other* buffer at the stale index, or panicked on an empty
/// list), or taken off only after the DSP answers (all find it).
#[test]
fn cve_2026_74647_two_threads_munmap_the_same_vaddr() {
    let asked = Arc::new(Mutex::new((0u64, Vec::new())));
    let a2 = asked.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == INIT && p.msg.sc == ksc::INIT_MMAP.0 {
            // Each buffer at its own DSP address.
            let mut st = qda_rt::lock(&a2);
            st.0 += 1;
            let vaddr = 0x1000_0000 + st.0 * 0x1_0000;
            p.write(p.inline_at(2).unwrap().0, &vaddr.to_le_bytes());
        }
        if p.msg.handle == INIT && p.msg.sc == ksc::INIT_MUNMAP.0 {
            // The request body starts with the client id, then the address.
            let body = p.read_arg(0);
            let vaddr = u64::from_le_bytes(body[8..16].try_into().unwrap());
            qda_rt::lock(&a2).1.push(vaddr);
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let mmap = || {
        let mut m = FastrpcReqMmap {
            fd: -1,
            flags: ADSP_MMAP_ADD_PAGES,
            vaddrin: 0,
            size: 4096,
            vaddrout: 0,
        };
        assert_eq!(ioctl(&f, FASTRPC_IOCTL_MMAP, &mut m), Ok(0));
        m.vaddrout
    };
    let munmap = |vaddrout: u64| {
        let mut u = FastrpcReqMunmap { vaddrout, size: 4096 };
        ioctl(&f, FASTRPC_IOCTL_MUNMAP, &mut u)
    };
    for round in 0..500 {
        let target = mmap();
        let other = mmap();
        let go = std::sync::Barrier::new(4);
        let results: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        go.wait();
                        munmap(target)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("MUNMAP panicked")).collect()
        });
        let ok = results.iter().filter(|r| **r == Ok(0)).count();
        let einval = results.iter().filter(|r| **r == Err(Errno::EINVAL)).count();
        assert_eq!((ok, einval), (1, 3), "round {round}: {results:?}");
        assert_eq!(qda_rt::lock(&asked).1, [target], "round {round}: the DSP unmapped");
        assert_eq!(munmap(other), Ok(0), "round {round}: the other buffer is still mapped");
        qda_rt::lock(&asked).1.clear();
    }
    drop(f);
    drv.settle();
    assert_clean(&drv);
}

// ---- the rpmsg callback ----

/// "misc: fastrpc: Fix NULL pointer dereference in rpmsg callback" (2026;
/// torvalds/linux 5401fb4fe10fac6134c308495df18ed74aebb9c4, named so by a
/// later stable backport's `Stable-dep-of`): a DSP message arriving before
/// probe finished dereferenced an unset channel. Ours: responses before any
/// DSP is attached, with unknown context ids, and shorter than 16 bytes are
/// refused (`ENOENT`, `EINVAL`) without effect; with a call in flight, a
/// response for another context leaves it pending and the right one
/// completes it.
///
/// Fails if: the callback indexes the table with an unchecked id, accepts
/// a short message, or completes whatever call is pending.
#[test]
fn fix_null_pointer_dereference_in_rpmsg_callback_early_unknown_and_short_responses() {
    let drv = driver();
    let chan = drv.domain("cdsp").unwrap().channel.clone();
    for n in 0..16 {
        assert_eq!(
            chan.on_response(&vec![0xff; n]).unwrap_err().errno,
            Errno::EINVAL,
            "{n} bytes"
        );
    }
    for ctx in [0u64, 1, 0x10, 0xff0, u64::MAX] {
        let rsp = InvokeRsp { ctx, retval: 0, pad: 0 };
        assert_eq!(
            chan.on_response(rsp.as_bytes()).unwrap_err().errno,
            Errno::ENOENT,
            "ctx {ctx:#x}"
        );
    }
    let dsp = ScriptedDsp::attach(&drv, "cdsp", holds_user_calls);
    let f = legacy_session(&drv);
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            let mut a = [invoke_arg(std::ptr::null(), 0, -1)];
            legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno)
        });
        let m = dsp.next_held();
        for ctx in [m.ctx + 0x10, m.ctx ^ 0xff0, 0] {
            let rsp = InvokeRsp { ctx, retval: 5, pad: 0 };
            let _ = chan.on_response(rsp.as_bytes());
        }
        let _ = chan.on_response(&m.ctx.to_le_bytes());
        assert_eq!(chan.in_flight(), 1, "still pending");
        dsp.answer(&m, 7);
        assert_eq!(t.join().unwrap(), Ok(7));
    });
    drop(f);
    drv.settle();
}

// ---- privileged PDs ----

/// "misc: fastrpc: Restrict untrusted app to attach to privileged PD"
/// (2024, reverted; commit not found): a non-secure node could attach to
/// the root or static PDs. As mainline after the revert, our driver lets
/// any node attach (the DSP decides), and who may is qdad's policy,
/// configurable per uid (`qdad/tests/hostile.rs`
/// `an_untrusted_uid_runs_the_calculator_and_nothing_more`).
///
/// Fails if: the driver starts refusing INIT_ATTACH on the non-secure node
/// (a policy change that belongs to qdad and this test's doc).
#[test]
fn restrict_untrusted_app_to_attach_to_privileged_pd_is_policy_not_driver() {
    let (drv, _dsp) = session(answers_zero);
    for node in ["/dev/fastrpc-cdsp", "/dev/fastrpc-cdsp-secure"] {
        let f = open(&drv, node);
        let mut none = 0u32;
        assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_ATTACH, &mut none), Ok(0), "{node}");
        let f = open(&drv, node);
        assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_ATTACH_SNS, &mut none), Ok(0), "{node}");
    }
    drv.settle();
}

// ---- additional hazards ----

/// Hazard (no CVE): `fastrpc_put_args` copies back `rpra[i].buf.len` read
/// from DSP-writable memory, so a hostile DSP could enlarge an output and
/// overrun the caller. Ours: any length above the caller's — one more, a
/// page more, `u64::MAX` — is `EPROTO`, and not one byte is written to the
/// caller (guard bytes around the output stay); a shorter length copies
/// only that much.
///
/// Fails if: `Plan::unpack` takes the DSP's length unchecked or clamps it
/// silently after copying.
#[test]
fn hazard_put_args_output_length_enlarged_by_the_dsp_is_eproto() {
    let evil = Arc::new(Mutex::new(0u64));
    let e2 = evil.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == USER {
            let (off, len) = p.inline_at(0).unwrap();
            p.write(off, &vec![0xee; len]);
            p.set_len(0, *qda_rt::lock(&e2));
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    for (dsp_len, want) in [
        (101u64, Err(Errno::EPROTO)),
        (100 + 4096, Err(Errno::EPROTO)),
        (u64::MAX, Err(Errno::EPROTO)),
        (1 << 32, Err(Errno::EPROTO)),
        (100, Ok(0)),
        (10, Ok(0)),
    ] {
        *qda_rt::lock(&evil) = dsp_len;
        let mut mem = [0x55u8; 300];
        let mut a = [invoke_arg(mem[100..].as_mut_ptr(), 100, -1)];
        let r = legacy_invoke(&f, USER, Scalars::make(2, 0, 1).0, &mut a).map_err(|e| e.errno);
        assert_eq!(r, want, "DSP length {dsp_len}");
        let written = if want.is_ok() { dsp_len as usize } else { 0 };
        assert!(mem[..100].iter().all(|b| *b == 0x55), "below the output");
        assert!(mem[100..100 + written].iter().all(|b| *b == 0xee));
        assert!(
            mem[100 + written..].iter().all(|b| *b == 0x55),
            "DSP length {dsp_len}: past the copy"
        );
    }
    drop(f);
    drv.settle();
}

/// Hazard (no CVE): the `fdlist` is DSP-written; the kernel reads each
/// entry as an fd (a u64 truncated to an int) and drops a map reference for
/// it. Ours reads the list and drops nothing for it: with the fd list full
/// of the caller's buffer fd, -1, 0x1_0000_0007 (fd 7 truncated) and
/// garbage, the buffer stays mapped and usable, and closing frees it once.
///
/// Fails if: the driver releases maps named by `fdlist` entries it did not
/// put there (the next invoke by that fd then maps anew or faults; a
/// double release reports at `assert_clean`).
#[test]
fn hazard_fdlist_entries_from_the_dsp_drop_no_references() {
    let fdv = Arc::new(Mutex::new(0u64));
    let f2 = fdv.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == USER {
            let fd = *qda_rt::lock(&f2);
            for (k, v) in [fd, u64::MAX, 0x1_0000_0000 | fd, 0xdead_beef, fd, fd]
                .into_iter()
                .enumerate()
            {
                p.set_fdlist(k, v);
            }
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let (fd, m) = dma_buf(&drv, &f, 8192);
    *qda_rt::lock(&fdv) = fd.as_raw_fd() as u64;
    let maps_before = {
        let mut a = [invoke_arg(m.addr() as *const u8, 64, fd.as_raw_fd())];
        assert_eq!(
            legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno),
            Ok(0)
        );
        drv.stats()
    };
    for _ in 0..10 {
        let mut a = [invoke_arg(m.addr() as *const u8, 64, fd.as_raw_fd())];
        assert_eq!(
            legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno),
            Ok(0)
        );
    }
    assert_eq!(
        format!("{:?}", drv.stats()),
        format!("{maps_before:?}"),
        "the map stays, no new one is made"
    );
    drop((f, m, fd));
    drv.settle();
    assert_clean(&drv);
}

/// Hazard (no CVE): integer sizes — `nscalars` up to 540, u64 lengths,
/// inline sizes summed into a u64 payload size, `ptr + len` wrapping.
/// Ours: two inputs whose lengths sum past u64, an input whose end wraps,
/// and lengths of 2^63 are refused before anything is sent
/// (`EOVERFLOW`/`EFAULT`); the largest scalars word (255 in, 255 out, 15
/// + 15 handles: 540 arguments) with empty buffers is carried as it is.
///
/// Fails if: the payload size is summed with wrapping arithmetic (the
/// huge pair then fits a small payload), or the metadata for 540
/// arguments is mis-sized (the DSP cannot decode it).
#[test]
fn hazard_integer_sizes_lengths_sums_and_wraps() {
    let nargs = Arc::new(Mutex::new(Vec::new()));
    let n2 = nargs.clone();
    let (drv, _dsp) = session(move |p| {
        if p.msg.handle == USER {
            qda_rt::lock(&n2).push(p.args().len());
        }
        Reply::Now(0)
    });
    let f = legacy_session(&drv);
    let b = [0u8; 16];
    let p = b.as_ptr();
    for args in [
        vec![invoke_arg(p, 1 << 63, -1), invoke_arg(p, 1 << 63, -1)],
        vec![invoke_arg(p, usize::MAX, -1), invoke_arg(p, 2, -1)],
        vec![invoke_arg(u64::MAX as *const u8, 2, -1), invoke_arg(p, 2, -1)],
        vec![invoke_arg(p, (u64::MAX - 4095) as usize, -1), invoke_arg(p, 4096, -1)],
    ] {
        let mut args = args;
        let r = legacy_invoke(&f, USER, Scalars::make(2, 2, 0).0, &mut args).map_err(|e| e.errno);
        assert!(
            matches!(r, Err(Errno::EOVERFLOW | Errno::EFAULT | Errno::ENOMEM)),
            "{args:?}: {r:?}"
        );
    }
    assert!(qda_rt::lock(&nargs).is_empty(), "nothing was sent");
    let sc = Scalars::makex(0, 2, 255, 255, 15, 15);
    assert_eq!(sc.len(), 540);
    let mut args = vec![invoke_arg(std::ptr::null(), 0, -1); 540];
    assert_eq!(legacy_invoke(&f, USER, sc.0, &mut args).map_err(|e| e.errno), Ok(0));
    assert_eq!(*qda_rt::lock(&nargs), [540]);
    drop(f);
    drv.settle();
}

/// Hazard (no CVE): kernel-originated calls time out after 10 s, user calls
/// never do. Ours: the same constant and default (a user call's timeout is
/// `None` unless the daemon sets one); a user call the DSP holds stays
/// pending while kernel calls on the same channel come and go, and
/// completes when answered. The 10 s expiry itself is not waited for here
/// (a test stays under 2 s; `fastrpc.rs` `timeouts_and_bad_responses`
/// checks the expiry with a short timeout).
///
/// Fails if: user calls get a timeout by default, or the kernel timeout
/// changes from 10 s.
#[test]
fn hazard_kernel_calls_time_out_user_calls_wait() {
    assert_eq!(KERNEL_CALL_TIMEOUT, Duration::from_secs(10));
    let (drv, dsp) = session(holds_user_calls);
    let f = legacy_session(&drv);
    assert_eq!(f.rpc_state().unwrap().user_timeout.get(), None);
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            let mut a = [invoke_arg(std::ptr::null(), 0, -1)];
            legacy_invoke(&f, USER, Scalars::make(2, 1, 0).0, &mut a).map_err(|e| e.errno)
        });
        let m = dsp.next_held();
        for _ in 0..20 {
            let g = legacy_session(&drv);
            drop(g);
        }
        assert!(!t.is_finished(), "the user call still waits");
        dsp.answer(&m, 0);
        assert_eq!(t.join().unwrap(), Ok(0));
    });
    drop(f);
    drv.settle();
}

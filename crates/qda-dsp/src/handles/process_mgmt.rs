//! Handle 1, process management: attach, create (a given shell must be an
//! ELF), create static, release, and the per-process DSP mappings (mmap,
//! munmap, mem_map, mem_unmap).

use qda_driver::smmu::{Access, ContextBank};
use qda_driver::sys::PAGE_SIZE;
use qda_proto::bodies::{
    CreateProcessInbuf, CreateStaticInbuf, MemMapReq, MemUnmapReq, MmapReq, MunmapReq, parse_body,
};
use qda_proto::handles::{self, init};
use qda_proto::payload::PhyPage;
use qda_rt::lock;

use super::{Invocation, StaticHandle, c_string, word};
use crate::aee;
use crate::config::PdMode;
use crate::error::{DspError, DspResult};
use crate::fdtable::FdBuffer;
use crate::memory::ArgMap;
use crate::pd::PdProcess;
use crate::process::{DspProcess, VirtMap};
use crate::state::DspState;

/// First VA of a process's mappings (above the 1 GiB of code and heap).
const VA_BASE: u64 = 0x4000_0000;

/// Static PDs are firmware PDs: served by the DSP itself.
const STATIC_PDS: [&str; 5] = ["audiopd", "sensorspd", "oispd", "rootpd", "securepd"];

/// The process-management interface.
#[derive(Debug)]
pub(crate) struct ProcessManagement;

fn bad_body(what: &str) -> DspError {
    DspError::new(aee::EBADPARM, format!("process management: malformed {what}"))
}

impl StaticHandle for ProcessManagement {
    fn handle(&self) -> u32 {
        handles::INIT
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        let args = call.args;
        match call.sc.method() {
            init::MMAP | init::MEM_MAP => {
                let page = parse_body::<PhyPage>("page", &args[1].read());
                let (client, vaddr, fd) = if call.sc.method() == init::MMAP {
                    let r = parse_body::<MmapReq>("mmap", &args[0].read()).map_err(|_| bad_body("mmap"))?;
                    (r.client_id, r.vaddr, None)
                } else {
                    let r = parse_body::<MemMapReq>("mem_map", &args[0].read()).map_err(|_| bad_body("mem_map"))?;
                    (r.client_id, r.vaddrin, Some(r.fd))
                };
                let page = page.map_err(|_| bad_body("page"))?;
                let va = map_into(dsp, client, vaddr, page, call.cb)?;
                // A map by fd: the PD's skels find the buffer by that fd
                // (HAP_mmap_get) until it is unmapped.
                if let Some(fd) = fd
                    && let Err(e) = map_fd(dsp, client, fd, page, call.cb)
                {
                    let _ = unmap_from(dsp, client, va);
                    return Err(e);
                }
                let out = if call.sc.method() == init::MMAP { 2 } else { 3 };
                args[out].write(&va.to_le_bytes());
                Ok(())
            }
            init::CREATE_STATIC => {
                let inbuf = parse_body::<CreateStaticInbuf>("create_static", &args[0].read())
                    .map_err(|_| bad_body("create_static"))?;
                let name = c_string(&args[1].read());
                if !STATIC_PDS.contains(&name.as_str()) {
                    return Err(DspError::new(aee::ENOSUCHPROCESS, format!("no static PD '{name}'")));
                }
                dsp.set_process(inbuf.client_id, DspProcess::new(name, None));
                Ok(())
            }
            init::MUNMAP => {
                let r = parse_body::<MunmapReq>("munmap", &args[0].read()).map_err(|_| bad_body("munmap"))?;
                unmap_from(dsp, r.client_id, r.vaddr)
            }
            init::MEM_UNMAP => {
                let r = parse_body::<MemUnmapReq>("mem_unmap", &args[0].read()).map_err(|_| bad_body("mem_unmap"))?;
                unmap_from(dsp, r.client_id, r.vaddrin)?;
                unmap_fd(dsp, r.client_id, r.fd);
                Ok(())
            }
            init::ATTACH => {
                let id = i32::from_le_bytes(word(args[0].read()));
                // Attaching is not replacing: an old process is dropped, not exited.
                lock(&dsp.procs).insert(id, DspProcess::new("guestos".into(), None));
                Ok(())
            }
            init::RELEASE => {
                let id = i32::from_le_bytes(word(args[0].read()));
                if let Some(p) = lock(&dsp.procs).remove(&id) {
                    p.exit();
                }
                Ok(())
            }
            init::CREATE | init::CREATE_ATTR => {
                let inbuf = parse_body::<CreateProcessInbuf>("create inbuf", &args[0].read())
                    .map_err(|_| bad_body("create inbuf"))?;
                let name = c_string(&args[1].read());
                // Unsigned PDs only where the DSP has them (issue 12, G2).
                // Mainline's kernel refuses in `is_session_rejected` only
                // (a non-secure node on a secure channel; `qda-driver`'s
                // `create_session`) and passes `attrs` to the DSP as they
                // are, unknown bits included (`fastrpc_init_create_process`,
                // torvalds/linux drivers/misc/fastrpc.c); the posted QDA
                // driver checks nothing. So the DSP refuses, and the kernel
                // returns its code as the ioctl's value. Which code a real
                // DSP's loader answers is not public: we answer
                // AEE_EUNSUPPORTED, as for the capability it lacks. Bits we
                // do not know are ignored.
                let unsigned = inbuf.attrs & qda_uapi::fastrpc::FASTRPC_MODE_UNSIGNED_MODULE != 0;
                if unsigned && dsp.caps.get(1).copied().unwrap_or(0) == 0 {
                    return Err(DspError::new(
                        aee::EUNSUPPORTED,
                        format!("create '{name}': {} has no unsigned PDs (capability 1 is 0)", dsp.label),
                    ));
                }
                // A given shell must at least be an ELF.
                if inbuf.filelen > 0 && (args[2].len < 4 || args[2].read()[..4] != *b"\x7fELF") {
                    return Err(DspError::new(aee::EBADELF, "create: the shell is not an ELF file"));
                }
                let host = match dsp.mode {
                    PdMode::Thread => None,
                    PdMode::Process => Some(
                        PdProcess::spawn(&name, &dsp.search)
                            .map_err(|e| DspError::new(aee::EUNABLETOLOAD, format!("create '{name}': {e}")))?,
                    ),
                };
                dsp.set_process(inbuf.client_id, DspProcess::new(name, host));
                Ok(())
            }
            m => Err(DspError::new(
                aee::EUNSUPPORTED,
                format!("process management: method {m}"),
            )),
        }
    }
}

/// Map `page` into the DSP address space of `client_id` at `vaddr` (0: the
/// next free address); returns the address.
fn map_into(dsp: &DspState, client_id: i32, vaddr: u64, page: PhyPage, cb: &ContextBank) -> Result<u64, DspError> {
    let p = dsp
        .user_process(client_id)
        .ok_or_else(|| DspError::new(aee::ENOSUCHPROCESS, format!("map: no process {client_id}")))?;
    if page.size > 0 && cb.translate(page.addr, page.size, Access::Read).is_err() {
        return Err(DspError::new(
            aee::EBADVA,
            format!("map: {:#x} does not translate", page.addr),
        ));
    }
    let mut m = lock(&p.vmaps);
    let len = page.size.max(PAGE_SIZE).next_multiple_of(PAGE_SIZE);
    let va = if vaddr != 0 {
        vaddr
    } else {
        m.iter().next_back().map_or(VA_BASE, |(v, e)| v + e.len)
    };
    if m.range(..va + len).next_back().is_some_and(|(v, e)| v + e.len > va) {
        return Err(DspError::new(aee::EBADPARM, format!("map: {va:#x} overlaps a mapping")));
    }
    m.insert(
        va,
        VirtMap {
            len,
            dsp_addr: page.addr,
        },
    );
    Ok(va)
}

/// Register the buffer of a MEM_MAP by `fd` in the PD's fd table: mapped
/// here (thread PDs) or in its PD host.
fn map_fd(dsp: &DspState, client_id: i32, fd: i32, page: PhyPage, cb: &ContextBank) -> DspResult {
    let Some(p) = dsp.user_process(client_id) else {
        return Ok(());
    };
    if page.size == 0 {
        return Ok(());
    }
    let a = ArgMap::handle(cb, fd, 0, 0, page)?;
    let failed = || {
        DspError::new(
            aee::EMMAP,
            format!("mem_map: the buffer of fd {fd} could not be mapped"),
        )
    };
    match &p.host {
        Some(host) => match host.map_fd(fd, page.addr, &a.runs, a.len as u64) {
            Ok(0) => Ok(()),
            Ok(_) => Err(failed()),
            Err(crash) => Err(DspError::new(aee::ECPUEXCEPTION, crash)),
        },
        None => {
            let addr = a.ptr();
            let keep = a.keep().filter(|_| !addr.is_null()).ok_or_else(failed)?;
            p.fds.map(FdBuffer {
                fd,
                addr,
                len: a.len,
                dsp_addr: page.addr,
                keep,
            });
            Ok(())
        }
    }
}

/// The PD's persistent map of `fd` goes (its HAP_mmap_get references stay).
fn unmap_fd(dsp: &DspState, client_id: i32, fd: i32) {
    if let Some(p) = dsp.user_process(client_id) {
        match &p.host {
            Some(host) => {
                let _ = host.unmap_fd(fd);
            }
            None => {
                p.fds.unmap(fd);
            }
        }
    }
}

fn unmap_from(dsp: &DspState, client_id: i32, vaddr: u64) -> DspResult {
    let p = dsp
        .user_process(client_id)
        .ok_or_else(|| DspError::new(aee::ENOSUCHPROCESS, format!("unmap: no process {client_id}")))?;
    match lock(&p.vmaps).remove(&vaddr) {
        Some(_) => Ok(()),
        None => Err(DspError::new(
            aee::ENOSUCHMAP,
            format!("unmap: nothing mapped at {vaddr:#x}"),
        )),
    }
}

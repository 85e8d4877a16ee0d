//! `remote_handle_control`, `remote_handle64_control` and
//! `remote_session_control`: every request id `remote.h` defines is
//! answered here, implemented or refused with the code libadsprpc gives
//! (qualcomm/fastrpc `src/fastrpc_apps_user.c` @ 29851fde11d4,
//! `remote_handle_control_domain` and `remote_session_control`).

#![allow(unsafe_code)] // Control requests are C structs behind `(data, len)` pointers.

use std::ffi::c_void;

use crate::domains::{Effective, NUM_SESSIONS, domain_of_name};
use crate::errors::{EBADPARM, EBADSTATE, EUNSUPPORTED, aee, code};
use crate::ffi;
use crate::state::Lib;
use qda_uapi::aee::AeeCode;
use qda_uapi::remote::*;

/// `remote_dsp_attributes` ids answered by the library itself.
const DOMAIN_SUPPORT: u32 = 0;

/// `RPC_DISABLE_QOS` … `RPC_POLL_QOS`.
const QOS_MAX: u32 = 3;

impl Lib {
    /// `remote_handle_control` (`h == None`: the current domain) and
    /// `remote_handle64_control`.
    ///
    /// # Safety
    /// `data` must point to `len` readable and writable bytes (or be null).
    pub unsafe fn handle_control(&self, eff: Effective, req: u32, data: *mut c_void, len: u32) -> Result<(), i32> {
        match req {
            DSPRPC_CONTROL_LATENCY => {
                // SAFETY: the caller's contract on (data, len).
                let l = unsafe { ffi::control::<RemoteRpcControlLatency>(data, len) }?;
                if l.enable > QOS_MAX {
                    return Err(EBADPARM);
                }
                match l.enable {
                    RPC_POLL_QOS | RPC_DISABLE_QOS => self.poll_qos(eff, l.enable, l.latency),
                    // PM and adaptive QoS: accepted; nothing on a host to tune.
                    _ => Ok(()),
                }
            }
            DSPRPC_GET_DSP_INFO => {
                if data.is_null() || (len as usize) < size_of::<RemoteDspCapability>() {
                    return Err(EBADPARM);
                }
                // SAFETY: as above; libadsprpc reads the struct whatever
                // `len` says past its size.
                let c = unsafe { ffi::control::<RemoteDspCapability>(data, size_of::<RemoteDspCapability>() as u32) }?;
                let eff = Effective::from_id(c.domain as i32).ok_or(EBADPARM)?;
                c.capability = self.capability(eff, c.attribute_id)?;
                Ok(())
            }
            DSPRPC_CONTROL_WAKELOCK => {
                // SAFETY: as above.
                let _ = unsafe { ffi::control::<RemoteRpcControlWakelock>(data, len) }?;
                // Nothing to hold awake on a host; libadsprpc refuses the
                // same where its platform has no wake locks.
                Err(EUNSUPPORTED)
            }
            DSPRPC_GET_DOMAIN => {
                // SAFETY: as above.
                let g = unsafe { ffi::control::<RemoteRpcGetDomain>(data, len) }?;
                g.domain = eff.0 as i32;
                Ok(())
            }
            _ => Err(EUNSUPPORTED),
        }
    }

    /// Poll mode as libadsprpc's `manage_poll_qos` sets it: a latency of
    /// 10 000 µs or more is `AEE_EBADPARM`; the session is opened if none
    /// is; its file's poll mode is set (`RPC_POLL_QOS`: on, the latency as
    /// the spin budget; `RPC_DISABLE_QOS`: off), then the DSP is told with
    /// `adsp_current_process1_poll_mode(enable, latency)` (handle 4, method 9).
    fn poll_qos(&self, eff: Effective, enable: u32, latency: u32) -> Result<(), i32> {
        if latency >= qda_uapi::qda::QDA_POLL_BUDGET_MAX_US {
            return Err(EBADPARM);
        }
        let dom = self.session_or_open(eff)?;
        let budget = (enable == RPC_POLL_QOS).then(|| std::time::Duration::from_micros(u64::from(latency)));
        dom.session.set_poll(budget).map_err(|e| aee(&e))?;
        let body = [enable.to_le_bytes(), latency.to_le_bytes()].concat();
        let sc = qda_proto::Scalars::make(qda_proto::handles::current_process::POLL_MODE, 1, 0).0;
        let mut args = [qda_uapi::fastrpc::FastrpcInvokeArgs {
            ptr: body.as_ptr() as u64,
            length: body.len() as u64,
            fd: -1,
            attr: 0,
        }];
        match dom
            .session
            .invoke_raw(qda_proto::handles::CURRENT_PROCESS, sc, &mut args)
        {
            Ok(0) => Ok(()),
            Ok(r) => Err(r as i32),
            Err(e) => Err(aee(&e)),
        }
    }

    /// `DSPRPC_GET_DSP_INFO` for one attribute.
    fn capability(&self, eff: Effective, attr: u32) -> Result<u32, i32> {
        let dev = match self.session(eff) {
            Some(d) => d.dev.clone(),
            None => match self.device(eff.domain()) {
                Ok(d) => d,
                Err(_) if attr == DOMAIN_SUPPORT => return Ok(0),
                Err(e) => return Err(e),
            },
        };
        if attr == DOMAIN_SUPPORT {
            return Ok(1);
        }
        if attr >= 256 {
            // Driver-side features: answered by the library without a query.
            return Ok(u32::from(dev.uapi() == qda::Uapi::Qda && attr == 258));
        }
        dev.dsp_info(attr).map_err(|e| aee(&e))
    }

    /// `remote_session_control`.
    ///
    /// # Safety
    /// `data` must point to `len` readable and writable bytes (or be null),
    /// and the pointers inside the struct must be valid for their lengths.
    pub unsafe fn session_control(&self, req: u32, data: *mut c_void, len: u32) -> Result<(), i32> {
        match req {
            FASTRPC_THREAD_PARAMS => {
                // SAFETY: the caller's contract on (data, len).
                let p = unsafe { ffi::control::<RemoteRpcThreadParams>(data, len) }?;
                if p.prio != -1 && !(1..=255).contains(&p.prio) {
                    return Err(EBADPARM);
                }
                Lib::check_domain(p.domain)
            }
            DSPRPC_CONTROL_UNSIGNED_MODULE => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcControlUnsignedModule>(data, len) }?;
                let on = p.enable != 0;
                self.set(p.domain, |s| s.unsigned = on)
            }
            FASTRPC_RELATIVE_THREAD_PRIORITY => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcRelativeThreadPriority>(data, len) }?;
                Lib::check_domain(p.domain)
            }
            FASTRPC_REMOTE_PROCESS_KILL | FASTRPC_SESSION_CLOSE => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcSessionClose>(data, len) }?;
                if p.domain == -1 && req == FASTRPC_SESSION_CLOSE {
                    self.close_all(None);
                    return Ok(());
                }
                let eff = Effective::from_id(p.domain).ok_or(EBADPARM)?;
                self.close_all(Some(eff));
                Ok(())
            }
            FASTRPC_REMOTE_PROCESS_TYPE => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteProcessType>(data, len) }?;
                let eff = Effective::from_id(p.domain).ok_or(EBADPARM)?;
                let d = self.session(eff).ok_or(EBADSTATE)?;
                p.process_type = i32::from(d.unsigned);
                Ok(())
            }
            FASTRPC_PD_INITMEM_SIZE => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcPdInitmemSize>(data, len) }?;
                if !(3 << 20..=200 << 20).contains(&p.pd_initmem_size) {
                    return Err(EBADPARM);
                }
                Lib::check_domain(p.domain)
            }
            FASTRPC_RESERVE_NEW_SESSION => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcReserveNewSession>(data, len) }?;
                // SAFETY: the name pointers and lengths are the caller's.
                let name = unsafe { ffi::str_n(ffi::ptr(p.domain_name), p.domain_name_len) }?;
                // SAFETY: as above.
                unsafe { ffi::str_n(ffi::ptr(p.session_name), p.session_name_len) }?;
                let d = domain_of_name(name).ok_or(EBADPARM)?;
                let mut s = qda_rt::lock(&self.settings);
                p.effective_domain_id = crate::domains::NUM_EFFECTIVE;
                p.session_id = NUM_SESSIONS;
                for session in 1..NUM_SESSIONS {
                    let e = Effective::new(d.id(), session).expect("valid");
                    if !s[e.0 as usize].reserved {
                        s[e.0 as usize].reserved = true;
                        p.effective_domain_id = e.0;
                        p.session_id = session;
                        return Ok(());
                    }
                }
                Err(code(AeeCode::ENOSESSION))
            }
            FASTRPC_GET_EFFECTIVE_DOMAIN_ID => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcEffectiveDomainId>(data, len) }?;
                // SAFETY: as above.
                let name = unsafe { ffi::str_n(ffi::ptr(p.domain_name), p.domain_name_len) }?;
                let d = domain_of_name(name).ok_or(EBADPARM)?;
                let e = Effective::new(d.id(), p.session_id).ok_or(EBADPARM)?;
                p.effective_domain_id = e.0;
                Ok(())
            }
            FASTRPC_GET_URI => {
                // SAFETY: as above.
                let p = unsafe { ffi::control::<RemoteRpcGetUri>(data, len) }?;
                if p.session_id >= NUM_SESSIONS {
                    return Err(EBADPARM);
                }
                // SAFETY: as above.
                let name = unsafe { ffi::str_n(ffi::ptr(p.domain_name), p.domain_name_len) }?;
                let d = domain_of_name(name).ok_or(EBADPARM)?;
                // SAFETY: as above.
                let module = unsafe { ffi::str_n(ffi::ptr(p.module_uri), p.module_uri_len) }?;
                if p.uri == 0 || p.uri_len <= p.module_uri_len {
                    return Err(EBADPARM);
                }
                let uri = format!("{module}&_dom={}&_session={}", d.name(), p.session_id);
                // SAFETY: `uri` has `uri_len` writable bytes (caller).
                if !unsafe { ffi::write_str(ffi::ptr(p.uri), p.uri_len as usize, &uri) }? {
                    return Err(code(AeeCode::EBADSIZE));
                }
                Ok(())
            }
            FASTRPC_CONTROL_PD_DUMP
            | FASTRPC_REMOTE_PROCESS_EXCEPTION
            | FASTRPC_REGISTER_STATUS_NOTIFICATIONS
            | FASTRPC_MAX_THREAD_PARAM
            | FASTRPC_CONTEXT_CREATE
            | FASTRPC_CONTEXT_DESTROY => Err(EUNSUPPORTED),
            _ => Err(EUNSUPPORTED),
        }
    }
}

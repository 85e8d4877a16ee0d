//! Handles 0 and 8, remotectl: open a skel module by URI, close it.
//!
//! A library registered as a Rust skel is served by it; others are found
//! along the library search path and loaded in the PD process (process
//! mode) or in this process (thread PDs and static processes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qda_proto::Scalars;
use qda_proto::bodies::{RemotectlCloseIn, RemotectlOpenIn, parse_body};
use qda_proto::handles;
use qda_rt::lock;

use super::{Invocation, StaticHandle, c_string};
use crate::aee;
use crate::error::{DspError, DspResult};
use crate::libsearch;
use crate::loader::{self, LoadedSkel};
use crate::module::{LocalSkel, OpenModule, PdModule, RustSkel};
use crate::pd::PdArg;
use crate::process::DspProcess;
use crate::state::{DspState, LibKey};
use crate::uri::ModuleUri;

/// The remotectl interface, in its two versions.
#[derive(Debug)]
pub(crate) enum Remotectl {
    /// Handle 0.
    V0,
    /// Handle 8.
    V1,
}

impl StaticHandle for Remotectl {
    fn handle(&self) -> u32 {
        match self {
            Remotectl::V0 => handles::REMOTECTL,
            Remotectl::V1 => handles::REMOTECTL1,
        }
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        let (open, close) = match self {
            Remotectl::V0 => (handles::remotectl::OPEN, handles::remotectl::CLOSE),
            Remotectl::V1 => (handles::remotectl1::OPEN1, handles::remotectl1::CLOSE1),
        };
        let (sc, args) = (call.sc, call.args);
        let p = dsp.process(call.msg.client_id);
        if sc.method() == open && sc.inbufs() == 2 && sc.outbufs() == 2 {
            let inp = parse_body::<RemotectlOpenIn>("remotectl open", &args[0].read())
                .map_err(|_| DspError::new(aee::EBADPARM, "remotectl open: malformed request"))?;
            let uri = c_string(&args[1].read());
            // A failed open is answered in the outputs; the call succeeds.
            let (handle, dlerr, text) = match open_module(dsp, &p, &uri) {
                Ok(h) => (h, 0, String::new()),
                Err(e) => (0, e.retval() as u32, e.reason().to_string()),
            };
            args[2].write(&[handle.to_le_bytes(), dlerr.to_le_bytes()].concat());
            let mut t = text.into_bytes();
            t.truncate((inp.dlerr_len as usize).saturating_sub(1));
            t.push(0);
            args[3].write(&t);
            return Ok(());
        }
        if sc.method() == close && sc.inbufs() == 1 {
            let inp = parse_body::<RemotectlCloseIn>("remotectl close", &args[0].read())
                .map_err(|_| DspError::new(aee::EBADPARM, "remotectl close: malformed request"))?;
            let m = lock(&p.modules).remove(&inp.handle);
            let dlerr = m.map_or(aee::ENOSUCHHANDLE, |m| m.close());
            args[1].write(&(dlerr as u32).to_le_bytes());
            return Ok(());
        }
        Err(DspError::new(
            aee::EUNSUPPORTED,
            format!("remotectl: method {} with scalars {:#x}", sc.method(), sc.0),
        ))
    }
}

/// Open the module `uri` names in process `p`: its handle. The error's
/// code and text are what remotectl reports (`dlerr` and its text).
fn open_module(dsp: &DspState, p: &DspProcess, uri: &str) -> Result<u32, DspError> {
    let u = ModuleUri::parse(uri).map_err(|e| DspError::new(aee::EBADPARM, e))?;
    let open_failed = |r: i32| DspError::new(r, format!("{}: open failed", u.library));
    let builtin = lock(&dsp.builtins).get(&u.library).cloned();
    let module: Arc<dyn OpenModule> = if let Some(skel) = builtin {
        let handle = skel.open(uri).map_err(open_failed)?;
        Arc::new(RustSkel { skel, handle })
    } else {
        // Inside the search path only; an escape is answered as a missing
        // library, and no answer names where the DSP looks.
        // QDA_DSP_LOAD=apps_std: a thread PD asks its client for the file,
        // as a real DSP does (`crate::reverse`).
        let fetched = if p.host.is_none() && crate::reverse::load_through_apps_std() {
            Some(crate::reverse::library_through_apps_std(&p.rev, &u.library)?)
        } else {
            None
        };
        let path = fetched
            .or_else(|| libsearch::resolve(&dsp.search, &u.library))
            .ok_or_else(|| {
                DspError::new(
                    aee::ENOSUCHMOD,
                    format!(
                        "{}: cannot open shared object file: No such file or directory",
                        u.library
                    ),
                )
            })?;
        // Only a skel's entry point is ever looked up or called.
        if !u.entry_is_skel() {
            return Err(DspError::new(
                aee::ENOSUCHSYMBOL,
                format!("{}: undefined symbol: {}", u.library, u.symbol),
            ));
        }
        // The loader's texts name the file it opened: the client sees the
        // name it gave instead.
        let hide = |e: DspError| hide_path(e, &path, &u.library);
        let mut name = uri.as_bytes().to_vec();
        name.push(0);
        // Method 0 (open): in u32 len, in uri; out handle64.
        let open_sc = Scalars::makex(0, 0, 2, 0, 0, 1).0;
        if let Some(host) = &p.host {
            let ix = host.open(&path, &u.symbol, u.handle_style).map_err(hide)?;
            let len = (name.len() as u32).to_le_bytes();
            let args = [PdArg::Bytes(&len), PdArg::Bytes(&name), PdArg::Handle(0)];
            let r = host
                .invoke(ix, 0, open_sc, &args)
                .map_err(|e| DspError::new(aee::ECPUEXCEPTION, e))?;
            if r.retval != 0 {
                return Err(open_failed(r.retval));
            }
            Arc::new(PdModule {
                host: host.clone(),
                ix,
                handle: r.handle,
            })
        } else {
            let skel = load_local(dsp, path.clone(), &u).map_err(hide)?;
            let mut len = (name.len() as u32).to_le_bytes();
            let mut pra = [
                loader::buf(len.as_mut_ptr(), 4),
                loader::buf(name.as_mut_ptr(), name.len()),
                loader::h64(0),
            ];
            let r = skel.call(0, open_sc, &mut pra);
            if r != 0 {
                return Err(open_failed(r));
            }
            Arc::new(LocalSkel {
                skel,
                handle: loader::get_h64(&pra[2]),
                fds: p.fds.clone(),
            })
        }
    };
    Ok(p.insert_module(module))
}

/// `e` with every mention of the library file `path` replaced by `name`,
/// the library as the client's URI names it.
fn hide_path(e: DspError, path: &Path, name: &str) -> DspError {
    let full = path.to_string_lossy();
    if !e.reason().contains(full.as_ref()) {
        return e;
    }
    let text = e.reason().replace(full.as_ref(), name);
    DspError::new(e.code(), text)
}

/// The skel `u` names, loaded in this process once.
fn load_local(dsp: &DspState, path: PathBuf, u: &ModuleUri) -> Result<Arc<LoadedSkel>, DspError> {
    let key = LibKey {
        path,
        symbol: u.symbol.clone(),
    };
    let mut libs = lock(&dsp.libs);
    if let Some(s) = libs.get(&key) {
        return Ok(s.clone());
    }
    // Any failure here is the symbol's: the library was found.
    let s = Arc::new(
        LoadedSkel::load(&key.path, &key.symbol, u.handle_style)
            .map_err(|e| DspError::new(aee::ENOSUCHSYMBOL, e.to_string()))?,
    );
    libs.insert(key, s.clone());
    Ok(s)
}

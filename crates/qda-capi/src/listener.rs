//! The listener thread a session runs, as libadsprpc's: it serves the
//! DSP's reverse calls with the CPU-side modules below, and ends when the
//! session's process exits on the DSP.
//!
//! Wire facts (`fastrpc.md` §B7; `src/listener_android.c`,
//! `inc/adsp_listener1.h`, `inc/listener_buf.h` @ 29851fde11d4):
//! `init2` on handle 7 (method 5), or on handle 3 (method 3) when 7 answers
//! `DSP_AEE_EOFFSET + AEE_ERPC` or `+ AEE_ENOSUCHMOD`; then `next2`
//! (7: method 6, 3: method 4; in0 `u32 {prevCtx, prevResult, prevbufsLen,
//! bufsLen}`, in1 the previous reply; out0 `u32 {ctx, handle, sc,
//! bufsLenReq}`, out1 the request) in a loop, `get_in_bufs2` (7: method 7,
//! 3: method 5) for the rest of a request longer than the buffer. `next2`
//! answering `DSP_AEE_EOFFSET + AEE_EBADSTATE` ends the thread;
//! `AEE_EINTERRUPTED` starts over with context 0; any other error is
//! answered once and ends it if it comes again.
//!
//! CPU-side modules (`src/mod_table.c` @ 29851fde11d4): const handle 0 is
//! `apps_remotectl` (method 0 `open(name, &handle, dlerror, dlerrorLen,
//! &nErr)`, 1 `close(handle, dlerror, dlerrorLen, &nErr)`), which opens the
//! static modules by name: `apps_std` (`crate::apps_std`); any other name
//! is a CPU-side skel file: a URI `file:///lib<x>_skel.so?<x>_skel_handle_invoke&_modver=1.0`
//! (or `?<x>_skel_invoke`), or a bare `<x>` (`lib<x>_skel.so`,
//! `<x>_skel_invoke`), `dlopen`ed by the dynamic loader's search as
//! upstream, and opened with method 0 when it has the handle style. Only a
//! plain `lib*_skel.so` name and a skel entry point are accepted.

use std::collections::HashMap;
use std::thread::JoinHandle;

use qda::Session;
use qda_proto::bodies::{ListenerGetInBufs2In, ListenerNext2In, ListenerNext2Out};
use qda_proto::{Scalars, handles, revbuf};
use qda_uapi::aee::AeeCode;
use qda_uapi::fastrpc::FastrpcInvokeArgs;
use zerocopy::{FromBytes, IntoBytes};

use crate::apps_std::{self, AppsStd};
use crate::ffi::{CArg, CBuf, CpuSkel};

const fn dsp(c: AeeCode) -> i32 {
    c.to_dsp().as_i32()
}
const fn cpu(c: AeeCode) -> i32 {
    c.as_i32()
}

/// The largest request the listener accepts.
const MAX_REQUEST: u32 = 64 << 20;
/// The largest total of outputs one request may ask for.
const MAX_OUTPUTS: u64 = 64 << 20;

/// A session's listener thread.
#[derive(Debug)]
pub(crate) struct Listener {
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Start serving reverse calls for `session`: `init2` here, so the PD
    /// has a listener before the session's first module opens; then the
    /// thread's `next2` loop.
    pub(crate) fn start(session: Session) -> Option<Listener> {
        let iface = init(&session)?;
        let t = std::thread::Builder::new()
            .name("qda-listener".into())
            .spawn(move || run(&session, &iface))
            .ok()?;
        Some(Listener { thread: Some(t) })
    }

    /// Wait for the thread to end (after the process's exit on the DSP).
    pub(crate) fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The methods of one listener interface.
struct Iface {
    handle: u32,
    next2: u8,
    get_in_bufs2: u8,
}

const V1: Iface = Iface {
    handle: handles::LISTENER1,
    next2: handles::listener1::NEXT2,
    get_in_bufs2: handles::listener1::GET_IN_BUFS2,
};
const V0: Iface = Iface {
    handle: handles::LISTENER,
    next2: handles::listener::NEXT2,
    get_in_bufs2: handles::listener::GET_IN_BUFS2,
};

fn arg(ptr: *const u8, len: usize) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd: -1,
        attr: 0,
    }
}

/// One invoke: the DSP's answer, or `None` when the file failed.
fn invoke(s: &Session, handle: u32, sc: Scalars, args: &mut [FastrpcInvokeArgs]) -> Option<i32> {
    s.invoke_raw(handle, sc.0, args).ok().map(|r| r as i32)
}

fn init(s: &Session) -> Option<Iface> {
    let r = invoke(s, V1.handle, Scalars::make(handles::listener1::INIT2, 0, 0), &mut [])?;
    if r == 0 {
        return Some(V1);
    }
    if r != dsp(AeeCode::ERPC) && r != dsp(AeeCode::ENOSUCHMOD) {
        tracing::warn!(target: "qda_capi", "listener init2 answered {r:#x}: no reverse calls");
        return None;
    }
    let r = invoke(s, V0.handle, Scalars::make(handles::listener::INIT2, 0, 0), &mut [])?;
    (r == 0).then_some(V0)
}

/// A request as `next2` returned it.
struct Request {
    ctx: u32,
    handle: u32,
    sc: Scalars,
    len: u32,
}

fn next2(s: &Session, i: &Iface, prev_ctx: u32, result: i32, reply: &[u8], buf: &mut [u8]) -> Result<Request, i32> {
    let inp = ListenerNext2In {
        prev_ctx,
        prev_result: result,
        prev_bufs_len: reply.len() as u32,
        bufs_len: buf.len() as u32,
    };
    let mut out = ListenerNext2Out::default();
    let mut args = [
        arg(inp.as_bytes().as_ptr(), 16),
        arg(reply.as_ptr(), reply.len()),
        arg(out.as_mut_bytes().as_mut_ptr(), 16),
        arg(buf.as_mut_ptr(), buf.len()),
    ];
    let r = invoke(s, i.handle, Scalars::make(i.next2, 2, 2), &mut args).ok_or(dsp(AeeCode::EBADSTATE))?;
    if r != 0 {
        return Err(r);
    }
    Ok(Request {
        ctx: out.ctx,
        handle: out.handle,
        sc: Scalars(out.sc),
        len: out.bufs_len_req,
    })
}

/// The rest of request `ctx` after `have` bytes, into `buf[have..]`.
fn get_in_bufs2(s: &Session, i: &Iface, ctx: u32, have: usize, buf: &mut [u8]) -> Result<(), i32> {
    let rest = &mut buf[have..];
    let inp = ListenerGetInBufs2In {
        ctx,
        offset: have as u32,
        bufs_len: rest.len() as u32,
    };
    let mut req = 0u32;
    let mut args = [
        arg(inp.as_bytes().as_ptr(), 12),
        arg(req.as_mut_bytes().as_mut_ptr(), 4),
        arg(rest.as_mut_ptr(), rest.len()),
    ];
    match invoke(s, i.handle, Scalars::make(i.get_in_bufs2, 1, 2), &mut args) {
        Some(0) if req as usize <= buf.len() => Ok(()),
        Some(0) => Err(cpu(AeeCode::EBADPARM)),
        Some(e) => Err(e),
        None => Err(cpu(AeeCode::ERPC)),
    }
}

fn run(s: &Session, i: &Iface) {
    let mut mods = Modules::default();
    let (mut ctx, mut result, mut reply) = (0u32, -1i32, Vec::new());
    let mut buf = vec![0u8; 4096];
    let mut retried = false;
    loop {
        let req = match next2(s, i, ctx, result, &reply, &mut buf) {
            Ok(r) => {
                retried = false;
                r
            }
            Err(e) if e == cpu(AeeCode::EINTERRUPTED) => {
                (ctx, result) = (0, -1);
                reply.clear();
                continue;
            }
            Err(e) if e == dsp(AeeCode::EBADSTATE) || retried => return,
            Err(e) => {
                // Answer the error once; a second one ends the thread.
                retried = true;
                result = e;
                reply.clear();
                continue;
            }
        };
        ctx = req.ctx;
        reply.clear();
        result = match serve(s, i, &mut mods, &req, &mut buf) {
            Ok(outs) => match revbuf::encode_reply(&outs.iter().map(Vec::as_slice).collect::<Vec<_>>()) {
                Ok(r) => {
                    reply = r;
                    0
                }
                Err(_) => cpu(AeeCode::EBADSIZE),
            },
            Err(e) => e,
        };
    }
}

/// Fetch the rest of `req`, decode it and call its module: the outputs.
fn serve(s: &Session, i: &Iface, mods: &mut Modules, req: &Request, buf: &mut Vec<u8>) -> Result<Vec<Vec<u8>>, i32> {
    if req.sc.nhandles() != 0 {
        return Err(cpu(AeeCode::EBADPARM));
    }
    if req.len > MAX_REQUEST {
        return Err(cpu(AeeCode::EBADSIZE));
    }
    let len = req.len as usize;
    if len > buf.len() {
        let have = buf.len();
        buf.resize(len.next_multiple_of(4096), 0);
        get_in_bufs2(s, i, req.ctx, have, buf)?;
    }
    let r = revbuf::decode_request(&buf[..len], req.sc.inbufs().into(), req.sc.outbufs().into())
        .map_err(|_| cpu(AeeCode::EBADPARM))?;
    if r.out_lens.iter().map(|n| u64::from(*n)).sum::<u64>() > MAX_OUTPUTS {
        return Err(cpu(AeeCode::EBADSIZE));
    }
    let mut outs: Vec<Vec<u8>> = r.out_lens.iter().map(|n| vec![0u8; *n as usize]).collect();
    match mods.invoke(req.handle, req.sc.method(), &r.in_bufs, &mut outs) {
        0 => Ok(outs),
        e => Err(e),
    }
}

/// The CPU-side modules of one listener.
#[derive(Debug, Default)]
struct Modules {
    open: HashMap<u32, Module>,
    next: u32,
}

#[derive(Debug)]
enum Module {
    AppsStd(Box<AppsStd>),
    /// A CPU-side skel and what its open returned.
    Skel(CpuSkel, u64),
}

impl Drop for Module {
    fn drop(&mut self) {
        if let Module::Skel(s, h) = self
            && s.handle_style()
        {
            // Method 1 (close): one 64-bit handle in.
            let mut pra = [CArg { h64: *h }];
            s.call(*h, Scalars::makex(0, 1, 0, 0, 1, 0).0, &mut pra);
        }
    }
}

/// What `apps_remotectl_open` names: (library file, entry, handle style).
fn parse_name(name: &str) -> Option<(String, String, bool)> {
    let (file, sym, style) = match name.strip_prefix("file:///") {
        Some(rest) => {
            let (file, query) = rest.split_once('?')?;
            let mut parts = query.split('&');
            let sym = parts.next()?.to_string();
            let style = parts.any(|p| p == "_modver=1.0");
            (file.to_string(), sym, style)
        }
        None => (format!("lib{name}_skel.so"), format!("{name}_skel_invoke"), false),
    };
    let ident = |x: &str| {
        x.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let lib_ok = file
        .strip_prefix("lib")
        .and_then(|f| f.strip_suffix("_skel.so"))
        .is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-+.".contains(&b)));
    let suffix = if style { "_skel_handle_invoke" } else { "_skel_invoke" };
    let sym_ok = sym.strip_suffix(suffix).is_some_and(ident) && sym.len() <= 255;
    (lib_ok && sym_ok && !file.contains('/')).then_some((file, sym, style))
}

impl Modules {
    /// Open CPU-side skel `name` (see the module documentation): its
    /// module, or the `nErr` to answer.
    fn open_skel(name: &str) -> Result<Module, i32> {
        let (file, sym, style) = parse_name(name).ok_or(cpu(AeeCode::ENOSUCHMOD))?;
        let skel = CpuSkel::open(&file, &sym, style).map_err(|e| {
            tracing::debug!(target: "qda_capi", "apps_remotectl open {name}: {e}");
            cpu(AeeCode::ENOSUCHMOD)
        })?;
        if !style {
            return Ok(Module::Skel(skel, 0));
        }
        // Method 0 (open): in u32 len, in the URI with its NUL; out handle64.
        let mut uri = name.as_bytes().to_vec();
        uri.push(0);
        let len = uri.len() as u32;
        let mut pra = [
            CArg {
                buf: CBuf {
                    pv: (&len as *const u32) as u64,
                    n_len: 4,
                },
            },
            CArg {
                buf: CBuf {
                    pv: uri.as_ptr() as u64,
                    n_len: uri.len() as u64,
                },
            },
            CArg { h64: 0 },
        ];
        match skel.call(0, Scalars::makex(0, 0, 2, 0, 0, 1).0, &mut pra) {
            0 => {
                let h = crate::ffi::h64_of(&pra[2]);
                Ok(Module::Skel(skel, h))
            }
            e => Err(e),
        }
    }
}

impl Modules {
    fn invoke(&mut self, handle: u32, method: u8, ins: &[&[u8]], outs: &mut [Vec<u8>]) -> i32 {
        if handle == 0 {
            return self.remotectl(method, ins, outs);
        }
        match self.open.get_mut(&handle) {
            Some(Module::AppsStd(a)) => a.invoke(method, &mut apps_std::Call { ins, outs }),
            Some(Module::Skel(s, h)) => {
                let sc = Scalars::make(method, ins.len() as u8, outs.len() as u8).0;
                let mut pra: Vec<CArg> = ins
                    .iter()
                    .map(|b| (b.as_ptr() as u64, b.len()))
                    .chain(outs.iter_mut().map(|b| (b.as_mut_ptr() as u64, b.len())))
                    .map(|(pv, n)| CArg {
                        buf: CBuf { pv, n_len: n as u64 },
                    })
                    .collect();
                s.call(*h, sc, &mut pra)
            }
            None => cpu(AeeCode::EBADHANDLE),
        }
    }

    /// `apps_remotectl` open (0) and close (1), `inc/apps_remotectl.h`:
    /// open in0 `{nameLen, dlerrorLen}`, in1 name; out0 `{handle, nErr}`,
    /// out1 dlerror. close in0 `{handle, dlerrorLen}`; out0 `{nErr}`, out1
    /// dlerror. Failures are in `nErr`; the call itself answers 0.
    fn remotectl(&mut self, method: u8, ins: &[&[u8]], outs: &mut [Vec<u8>]) -> i32 {
        let word = |b: &[u8], i: usize| b.get(i * 4..i * 4 + 4).map(|s| u32::read_from_bytes(s).unwrap_or(0));
        match (method, ins, outs) {
            (0, [_, name], [prim, ..]) if prim.len() >= 8 => {
                let name = name.split(|b| *b == 0).next().unwrap_or_default();
                let module = match name {
                    b"apps_std" => Ok(Module::AppsStd(Box::default())),
                    n => std::str::from_utf8(n)
                        .map_err(|_| cpu(AeeCode::ENOSUCHMOD))
                        .and_then(Modules::open_skel),
                };
                let (h, err) = match module {
                    Ok(m) if self.open.len() < 256 => {
                        self.next = self.next.wrapping_add(1).max(0x100);
                        let h = self.next;
                        self.open.insert(h, m);
                        (h, 0)
                    }
                    Ok(_) => (0, cpu(AeeCode::ENOMEMORY)),
                    Err(e) => (0, e),
                };
                prim[..4].copy_from_slice(&h.to_le_bytes());
                prim[4..8].copy_from_slice(&err.to_le_bytes());
                0
            }
            (1, [prim_in], [prim, ..]) if prim.len() >= 4 => {
                let err = match word(prim_in, 0).and_then(|h| self.open.remove(&h)) {
                    Some(_) => 0,
                    None => cpu(AeeCode::EBADHANDLE),
                };
                prim[..4].copy_from_slice(&err.to_le_bytes());
                0
            }
            (0 | 1, ..) => cpu(AeeCode::EBADPARM),
            _ => cpu(AeeCode::EUNSUPPORTED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_skel_names_are_plain_skels() {
        assert_eq!(
            parse_name("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0"),
            Some((
                "libcalculator_skel.so".into(),
                "calculator_skel_handle_invoke".into(),
                true
            ))
        );
        assert_eq!(
            parse_name("foo"),
            Some(("libfoo_skel.so".into(), "foo_skel_invoke".into(), false))
        );
        for bad in [
            "file:///../libx_skel.so?x_skel_handle_invoke&_modver=1.0",
            "file:///a/libx_skel.so?x_skel_handle_invoke&_modver=1.0",
            "file:///libc.so.6?system&_modver=1.0",
            "file:///libx_skel.so?system&_modver=1.0",
            "file:///libx_skel.so?x_skel_invoke&_modver=1.0",
            "file:///libx_skel.so",
            "../x",
            "",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}

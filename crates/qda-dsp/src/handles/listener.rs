//! Handles 3 and 7, the reverse-RPC listener (`crate::reverse`): `init2`
//! registers the client's listener; `next2` answers the previous request
//! and blocks for the next; `get_in_bufs2` hands out the rest of a request
//! the listener's buffer could not hold. Exit ends `next2` with
//! `AEE_EBADSTATE`.
//!
//! Layouts (`fastrpc.md` §B7, `inc/adsp_listener1.h` @ 29851fde):
//! `next2` in0 `u32 {prevCtx, prevResult, prevbufsLen, bufsLen}`, in1
//! `prevbufs`; out0 `u32 {ctx, handle, sc, bufsLenReq}`, out1 `bufs`.
//! `get_in_bufs2` in0 `u32 {ctx, offset, bufsLen}`; out0 `u32 bufsLenReq`,
//! out1 `bufs`.

use qda_proto::bodies::{ListenerGetInBufs2In, ListenerNext2In, ListenerNext2Out, parse_body};
use qda_proto::handles;
use zerocopy::IntoBytes;

use super::{Invocation, StaticHandle};
use crate::aee;
use crate::error::{DspError, DspResult};
use crate::state::DspState;

/// The listener interface, in its two versions.
#[derive(Debug)]
pub(crate) enum Listener {
    /// Handle 3.
    V0,
    /// Handle 7.
    V1,
}

impl StaticHandle for Listener {
    fn handle(&self) -> u32 {
        match self {
            Listener::V0 => handles::LISTENER,
            Listener::V1 => handles::LISTENER1,
        }
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        let (init2, next2, get_in_bufs2) = match self {
            Listener::V0 => (
                handles::listener::INIT2,
                handles::listener::NEXT2,
                handles::listener::GET_IN_BUFS2,
            ),
            Listener::V1 => (
                handles::listener1::INIT2,
                handles::listener1::NEXT2,
                handles::listener1::GET_IN_BUFS2,
            ),
        };
        let p = dsp.process(call.msg.client_id);
        let args = call.args;
        let bad = |what: &str| DspError::new(aee::EBADPARM, format!("listener {what}: malformed request"));
        match call.sc.method() {
            m if m == init2 => {
                p.rev.listen();
                Ok(())
            }
            m if m == next2 => {
                if args.len() < 4 || call.sc.inbufs() != 2 || call.sc.outbufs() != 2 {
                    return Err(bad("next2"));
                }
                let inp = parse_body::<ListenerNext2In>("next2", &args[0].read()).map_err(|_| bad("next2"))?;
                let prev = args[1].read();
                let prev = &prev[..(inp.prev_bufs_len as usize).min(prev.len())];
                let cap = (inp.bufs_len as usize).min(args[3].len);
                let d = p.rev.next(inp.prev_ctx, inp.prev_result, prev, cap)?;
                let out = ListenerNext2Out {
                    ctx: d.ctx,
                    handle: d.handle,
                    sc: d.sc,
                    bufs_len_req: d.len,
                };
                args[2].write(out.as_bytes());
                args[3].write(&d.head);
                Ok(())
            }
            m if m == get_in_bufs2 => {
                if args.len() < 3 || call.sc.inbufs() != 1 || call.sc.outbufs() != 2 {
                    return Err(bad("get_in_bufs2"));
                }
                let inp = parse_body::<ListenerGetInBufs2In>("get_in_bufs2", &args[0].read())
                    .map_err(|_| bad("get_in_bufs2"))?;
                let cap = (inp.bufs_len as usize).min(args[2].len);
                let (len, bytes) = p.rev.get_in_bufs(inp.ctx, inp.offset, cap)?;
                args[1].write(&len.to_le_bytes());
                args[2].write(&bytes);
                Ok(())
            }
            m => Err(DspError::new(aee::EUNSUPPORTED, format!("listener: method {m}"))),
        }
    }
}

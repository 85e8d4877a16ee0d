//! Handles 3 and 7, the reverse-RPC listener: `init2`, and `next2`, which
//! (with no reverse requests yet) blocks until the process exits.

use qda_proto::handles;

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
        let (init2, next2) = match self {
            Listener::V0 => (handles::listener::INIT2, handles::listener::NEXT2),
            Listener::V1 => (handles::listener1::INIT2, handles::listener1::NEXT2),
        };
        match call.sc.method() {
            m if m == init2 => Ok(()),
            m if m == next2 => {
                dsp.process(call.msg.client_id).wait_exit();
                Err(DspError::new(aee::EBADSTATE, "listener: the process exited"))
            }
            m => Err(DspError::new(aee::EBADSTATE, format!("listener: method {m}"))),
        }
    }
}

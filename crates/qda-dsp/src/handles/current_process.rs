//! Handle 4, the current process: exit.

use qda_proto::handles;

use super::{Invocation, StaticHandle};
use crate::error::DspResult;
use crate::state::DspState;

/// The current-process interface.
#[derive(Debug)]
pub(crate) struct CurrentProcess;

impl StaticHandle for CurrentProcess {
    fn handle(&self) -> u32 {
        handles::CURRENT_PROCESS
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        if call.sc.method() == handles::current_process::EXIT {
            dsp.process(call.msg.client_id).exit();
        }
        Ok(())
    }
}

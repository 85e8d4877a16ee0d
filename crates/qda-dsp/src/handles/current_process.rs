//! Handle 4, the current process: exit, and poll mode
//! (`adsp_current_process1_poll_mode`, method 9).

use qda_proto::handles;

use super::{Invocation, StaticHandle};
use crate::aee;
use crate::error::{DspError, DspResult};
use crate::state::DspState;

/// The current-process interface.
#[derive(Debug)]
pub(crate) struct CurrentProcess;

impl StaticHandle for CurrentProcess {
    fn handle(&self) -> u32 {
        handles::CURRENT_PROCESS
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        match call.sc.method() {
            handles::current_process::EXIT => dsp.process(call.msg.client_id).exit(),
            // `{enable, timeout}`: one 8-byte input. This DSP writes every
            // completion where a polling caller looks (the driver's
            // completion word), so it has nothing to switch; it checks
            // the call's shape.
            handles::current_process::POLL_MODE
                if call.sc.inbufs() != 1 || call.sc.len() != 1 || call.args[0].len != 8 =>
            {
                return Err(DspError::new(
                    aee::EBADPARM,
                    format!(
                        "current_process poll_mode: scalars {:#x}, want one 8-byte input",
                        call.sc.0
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

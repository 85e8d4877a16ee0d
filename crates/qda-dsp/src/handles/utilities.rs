//! Handle 2, DSP utilities: the capability query.

use qda_proto::handles;

use super::{Invocation, StaticHandle, word};
use crate::aee;
use crate::error::{DspError, DspResult};
use crate::state::DspState;

/// The DSP utilities interface.
#[derive(Debug)]
pub(crate) struct DspUtilities;

impl StaticHandle for DspUtilities {
    fn handle(&self) -> u32 {
        handles::DSP_UTILITIES
    }

    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult {
        if call.sc != handles::sc::DSP_CAPABILITY {
            return Err(DspError::new(
                aee::EUNSUPPORTED,
                format!("DSP utilities: scalars {:#x}", call.sc.0),
            ));
        }
        let n = u32::from_le_bytes(word(call.args[0].read())) as usize;
        let words: Vec<u8> = dsp.caps[1..].iter().take(n).flat_map(|w| w.to_le_bytes()).collect();
        call.args[1].write(&words);
        Ok(())
    }
}

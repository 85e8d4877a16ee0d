//! The static handles the DSP serves itself, one interface per file,
//! registered in one table.
//!
//! | handle | interface | what |
//! |---|---|---|
//! | 1 | process management | attach, create (shell must be an ELF), release, maps |
//! | 2 | DSP utilities | capability query |
//! | 0, 8 | remotectl, remotectl1 | open / close of skel modules by URI |
//! | 4 | current process | exit (wakes the listener) |
//! | 3, 7 | listener | init2, next2, get_in_bufs2: reverse calls (`crate::reverse`); exit ends next2 with `AEE_EBADSTATE` |

mod current_process;
mod listener;
mod process_mgmt;
mod remotectl;
mod utilities;

use std::collections::HashMap;

use qda_driver::smmu::ContextBank;
use qda_proto::{FastrpcMsg, Scalars};

use crate::error::DspResult;
use crate::memory::ArgMap;
use crate::state::DspState;

/// One call to a static handle.
#[derive(Debug)]
pub(crate) struct Invocation<'a> {
    /// The message.
    pub msg: &'a FastrpcMsg,
    /// Its scalars.
    pub sc: Scalars,
    /// Its arguments, translated.
    pub args: &'a [ArgMap],
    /// The context bank of the caller.
    pub cb: &'a ContextBank,
}

/// An interface the DSP serves under a fixed handle.
pub(crate) trait StaticHandle: Send + Sync + std::fmt::Debug {
    /// The handle it is called by.
    fn handle(&self) -> u32;
    /// Serve one call: `Ok` answers 0.
    fn invoke(&self, dsp: &DspState, call: &Invocation<'_>) -> DspResult;
}

/// Every static handle, by handle value.
pub(crate) fn table() -> HashMap<u32, Box<dyn StaticHandle>> {
    let all: Vec<Box<dyn StaticHandle>> = vec![
        Box::new(process_mgmt::ProcessManagement),
        Box::new(utilities::DspUtilities),
        Box::new(remotectl::Remotectl::V0),
        Box::new(remotectl::Remotectl::V1),
        Box::new(current_process::CurrentProcess),
        Box::new(listener::Listener::V0),
        Box::new(listener::Listener::V1),
    ];
    all.into_iter().map(|h| (h.handle(), h)).collect()
}

/// A NUL-terminated string argument, lossily as UTF-8.
fn c_string(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw.split(|b| *b == 0).next().unwrap_or_default()).into_owned()
}

/// A `u32`/`i32` argument (0 when it is not 4 bytes).
fn word(raw: Vec<u8>) -> [u8; 4] {
    raw.try_into().unwrap_or([0; 4])
}

#[cfg(test)]
mod tests {
    use super::*;
    use qda_proto::handles;

    #[test]
    fn the_table_serves_each_static_handle_once() {
        let t = table();
        let mut got: Vec<u32> = t.keys().copied().collect();
        got.sort();
        let mut want = vec![
            handles::REMOTECTL,
            handles::INIT,
            handles::DSP_UTILITIES,
            handles::LISTENER,
            handles::CURRENT_PROCESS,
            handles::LISTENER1,
            handles::REMOTECTL1,
        ];
        want.sort();
        assert_eq!(got, want);
    }
}

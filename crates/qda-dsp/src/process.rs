//! A process on the DSP (a PD): its open modules, its DSP virtual mappings
//! and, for a user PD run as a process, its PD host.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use qda_rt::lock;

use crate::fdtable::FdTable;
use crate::module::OpenModule;
use crate::pd::PdProcess;
use crate::reverse::Reverse;

/// One DSP virtual mapping of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VirtMap {
    /// Length (whole pages).
    pub len: u64,
    /// The DSP address mapped there.
    pub dsp_addr: u64,
}

/// A process on the DSP.
#[derive(Debug, Default)]
pub(crate) struct DspProcess {
    /// Its name (the shell's, `guestos` for the root PD and attached ones).
    pub name: String,
    /// Open modules by the handle the client calls them with.
    pub modules: Mutex<HashMap<u32, Arc<dyn OpenModule>>>,
    /// DSP virtual mappings by their first address.
    pub vmaps: Mutex<BTreeMap<u64, VirtMap>>,
    /// The PD process (process mode).
    pub host: Option<Arc<PdProcess>>,
    /// Its buffers by fd, for skels run in this process (`HAP_mmap_get`).
    pub fds: Arc<FdTable>,
    /// Its reverse calls to the client's listener.
    pub rev: Arc<Reverse>,
}

impl DspProcess {
    /// A process named `name`, run by `host` if it is a PD process.
    pub fn new(name: String, host: Option<Arc<PdProcess>>) -> Arc<DspProcess> {
        // A PD process's reverse calls come through its host.
        let rev = host.as_ref().map(|h| h.rev.clone()).unwrap_or_default();
        Arc::new(DspProcess {
            name,
            rev,
            host,
            ..Default::default()
        })
    }

    /// The process ends: listeners wake; a PD process ends now, with
    /// whatever calls are inside it; a thread PD's calls run to their end.
    pub fn exit(&self) {
        self.rev.close();
        if let Some(h) = &self.host {
            h.terminate();
        }
    }

    /// The module open under `handle`.
    pub fn module(&self, handle: u32) -> Option<Arc<dyn OpenModule>> {
        lock(&self.modules).get(&handle).cloned()
    }
}

//! A process on the DSP (a PD): its open modules, its DSP virtual mappings
//! and, for a user PD run as a process, its PD host.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
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
    /// Where its next module handle comes from.
    handles: Mutex<HandleSeq>,
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

    /// Open `module` under a new handle: pointer-like, above every static
    /// handle, and not the handle of a module open in this process.
    pub fn insert_module(&self, module: Arc<dyn OpenModule>) -> u32 {
        let mut modules = lock(&self.modules);
        let mut seq = lock(&self.handles);
        let h = loop {
            let h = seq.next();
            if !modules.contains_key(&h) {
                break h;
            }
        };
        modules.insert(h, module);
        h
    }
}

/// Module handles of one PD. A real DSP answers remotectl open with the
/// (32-bit) address of its module record, and libfastrpc treats any handle
/// up to 0xff as static (`IS_STATIC_HANDLE`, and its close path counts only
/// the others as open; issue 12, G1). So a PD's handles are heap-pointer
/// shaped: a random page-aligned base per PD in `[BASE_MIN, BASE_MAX)`,
/// then one 64-byte record after another from offset 0x10 (8-byte aligned,
/// not page-aligned), wrapping back into that range; the caller skips
/// handles still open.
#[derive(Debug)]
struct HandleSeq {
    next: u32,
}

/// Lowest handle base (well above the static handles and libfastrpc's
/// static-PD pseudo handles 0x100..0x200).
const BASE_MIN: u32 = 0x1000_0000;
/// Bases lie below this, leaving room for 2^22 records before the wrap.
const BASE_MAX: u32 = 0xf000_0000;
/// One module record.
const STEP: u32 = 0x40;
/// A record's handle within it.
const FIRST: u32 = 0x10;

impl Default for HandleSeq {
    fn default() -> HandleSeq {
        // std's hasher keys are random per process and per `RandomState`.
        let r = RandomState::new().hash_one(0u8) as u32;
        let pages = (BASE_MAX - BASE_MIN) >> 12;
        HandleSeq {
            next: BASE_MIN + ((r % pages) << 12) + FIRST,
        }
    }
}

impl HandleSeq {
    fn next(&mut self) -> u32 {
        let h = self.next;
        self.next = match h.checked_add(STEP) {
            Some(n) if n <= u32::MAX - STEP => n,
            _ => BASE_MIN + FIRST,
        };
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_stay_pointer_like_across_the_wrap() {
        let mut s = HandleSeq {
            next: u32::MAX - 2 * STEP - 0x2f,
        };
        let hs: Vec<u32> = (0..4).map(|_| s.next()).collect();
        assert!(hs.iter().all(|h| *h > 0xff && h.is_multiple_of(8)), "{hs:x?}");
        assert_eq!(hs[2], BASE_MIN + FIRST);
        let d = HandleSeq::default().next;
        assert!((BASE_MIN..BASE_MAX).contains(&d) && d % 0x1000 == FIRST);
    }
}

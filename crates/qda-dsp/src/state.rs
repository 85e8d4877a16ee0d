//! What a DSP knows, shared by its static handles: its domain, its
//! processes, the skels it loaded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use qda_driver::Driver;
use qda_driver::DspDomain;
use qda_driver::smmu::ContextBank;
use qda_rt::lock;

use crate::config::PdMode;
use crate::loader::LoadedSkel;
use crate::memory::MapCache;
use crate::process::DspProcess;
use crate::skel::Skel;

/// A C skel loaded in this process, by file and entry symbol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LibKey {
    pub path: PathBuf,
    pub symbol: String,
}

/// The state of one DSP.
#[derive(Debug)]
pub(crate) struct DspState {
    /// The domain's label.
    pub label: String,
    /// The domain served.
    pub domain: Arc<DspDomain>,
    /// The driver, kept alive while the DSP is (as the domain's channel
    /// keeps the DSP).
    _driver: Driver,
    /// User and static processes by client id.
    pub procs: Mutex<HashMap<i32, Arc<DspProcess>>>,
    /// The root PD (calls of unknown clients).
    pub root: Arc<DspProcess>,
    /// C skels loaded in this process.
    pub libs: Mutex<HashMap<LibKey, Arc<LoadedSkel>>>,
    /// Capabilities by attribute id.
    pub caps: Vec<u32>,
    /// The library search path.
    pub search: Vec<PathBuf>,
    /// How user PDs run.
    pub mode: PdMode,
    /// Rust skels by library name.
    pub builtins: Mutex<HashMap<String, Arc<dyn Skel>>>,
    /// Mappings of translated ranges kept between calls.
    pub maps: MapCache,
}

impl DspState {
    /// The state of a new DSP for `domain`.
    pub fn new(
        driver: &Driver,
        domain: Arc<DspDomain>,
        caps: Vec<u32>,
        search: Vec<PathBuf>,
        mode: PdMode,
    ) -> DspState {
        DspState {
            label: domain.desc.label.clone(),
            domain,
            _driver: driver.clone(),
            procs: Mutex::new(HashMap::new()),
            root: DspProcess::new("guestos".into(), None),
            libs: Mutex::new(HashMap::new()),
            caps,
            search,
            mode,
            builtins: Mutex::new(HashMap::new()),
            maps: MapCache::default(),
        }
    }

    /// The context bank a payload or argument address names (`addr >> 32`
    /// is its SID).
    pub fn cb(&self, addr: u64) -> Option<&Arc<ContextBank>> {
        self.domain.cbs.iter().find(|c| c.sid() as u64 == addr >> 32)
    }

    /// The process of `client_id`, or the root PD.
    pub fn process(&self, client_id: i32) -> Arc<DspProcess> {
        self.user_process(client_id).unwrap_or_else(|| self.root.clone())
    }

    /// The process of `client_id`, if there is one.
    pub fn user_process(&self, client_id: i32) -> Option<Arc<DspProcess>> {
        lock(&self.procs).get(&client_id).cloned()
    }

    /// `p` is now the process of `client_id`; one it replaces exits.
    pub fn set_process(&self, client_id: i32, p: Arc<DspProcess>) {
        if let Some(old) = lock(&self.procs).insert(client_id, p) {
            old.exit();
        }
    }
}

//! What a DSP is configured with: its capabilities, how user PDs run, where
//! skel libraries are looked for.

use std::path::PathBuf;

/// Capabilities a domain reports (attribute id → value).
pub fn capabilities(label: &str) -> Vec<u32> {
    let mut t = vec![0u32; 256];
    let compute = label.starts_with("cdsp") || label.starts_with("gdsp");
    t[1] = u32::from(compute); // UNSIGNED_PD_SUPPORT
    t[2] = if compute { 4 } else { 0 }; // HVX_SUPPORT_64B: units
    t[3] = if compute { 4 } else { 0 }; // HVX_SUPPORT_128B
    t[4] = if compute { 256 * 1024 } else { 0 }; // VTCM_PAGE
    t[5] = u32::from(compute); // VTCM_COUNT
    t[6] = 0x73; // ARCH_VER: v73
    t[9] = 0; // ASYNC_FASTRPC_SUPPORT
    t[10] = 0; // STATUS_NOTIFICATION_SUPPORT
    t
}

/// How user PDs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PdMode {
    /// Each user PD is a PD host child process (see [`crate::pd_host`]): a
    /// crashing skel takes down its PD only.
    #[default]
    Process,
    /// User PDs are threads of this process: fastest, no isolation.
    Thread,
}

impl PdMode {
    /// `QDA_PD_MODE=thread|process`, else the default.
    pub fn from_env() -> PdMode {
        match std::env::var("QDA_PD_MODE").as_deref() {
            Ok("thread") => PdMode::Thread,
            _ => PdMode::Process,
        }
    }
}

/// The directory of the skels built with this crate.
pub fn builtin_skel_dir() -> PathBuf {
    PathBuf::from(env!("QDA_BUILTIN_SKEL_DIR"))
}

/// The DSP library search path: `DSP_LIBRARY_PATH` or `ADSP_LIBRARY_PATH`
/// (semicolon separated, as on devices), then the built-in skels.
pub fn library_path() -> Vec<PathBuf> {
    let var = std::env::var("DSP_LIBRARY_PATH")
        .or_else(|_| std::env::var("ADSP_LIBRARY_PATH"))
        .unwrap_or_default();
    let mut v: Vec<PathBuf> = var.split(';').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
    v.push(builtin_skel_dir());
    v
}

//! The embedded platform: the driver model and a virtual DSP per domain in
//! this process (feature `embedded`).

use std::sync::{Arc, OnceLock};

use qda_driver::{Driver, DriverConfig, Platform};
use qda_dsp::{Embedded, PdMode};

use crate::error::{Error, os};
use crate::sys::Routed;

pub(crate) use qda_driver::platform::BUILTIN_DTB;

static PLATFORM: OnceLock<Arc<Routed>> = OnceLock::new();

/// The embedded platform this process uses (the built-in board, started on
/// first use), behind the system calls that reach it.
pub fn embedded_platform() -> Result<Arc<Routed>, Error> {
    if let Some(r) = PLATFORM.get() {
        return Ok(r.clone());
    }
    let emb = Embedded::start().map_err(os("starting the embedded platform"))?;
    Ok(PLATFORM.get_or_init(|| Arc::new(Routed::new(emb))).clone())
}

/// An embedded platform of its own on the built-in board, its user PDs
/// processes (`process_pds`) or threads whatever `QDA_PD_MODE` says: a
/// comparison with a daemon's platform on equal terms (`qda bench`).
pub fn embedded_platform_with(process_pds: bool) -> Result<Arc<Routed>, Error> {
    let mode = if process_pds { PdMode::Process } else { PdMode::Thread };
    platform_for(BUILTIN_DTB, "the built-in board", Some(mode))
}

/// An embedded platform of its own for the board `dtb` describes, its
/// user PDs as `mode` says (`None`: as `QDA_PD_MODE` says).
pub(crate) fn platform_for(dtb: &[u8], source: &str, mode: Option<PdMode>) -> Result<Arc<Routed>, Error> {
    let plat = Platform::from_dtb(dtb).map_err(|e| Error::Usage(format!("{source}: {e}")))?;
    let cfg = DriverConfig::new(plat)
        .with_env()
        .map_err(os("choosing the QDA UAPI revision"))?;
    let drv = Driver::new(cfg).map_err(os("starting the driver"))?;
    let emb = match mode {
        Some(m) => Embedded::with_mode(drv, m),
        None => Embedded::with_driver(drv),
    }
    .map_err(os("starting the DSPs"))?;
    Ok(Arc::new(Routed::new(emb)))
}

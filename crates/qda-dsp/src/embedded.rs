//! The embedded platform: a driver and its DSPs in one process.

use qda_driver::{Driver, DriverConfig, Platform};

use crate::config::PdMode;
use crate::dsp::VirtualDsp;

/// The embedded platform: a driver for the built-in board (or a given one)
/// with a virtual DSP on every domain, all in this process.
#[derive(Debug)]
pub struct Embedded {
    /// The driver.
    pub driver: Driver,
    /// One DSP per domain.
    pub dsps: Vec<VirtualDsp>,
}

impl Embedded {
    /// Start the built-in board, its accel nodes answering the QDA UAPI
    /// revision `QDA_UAPI_REVISION` names, if set (else the default).
    pub fn start() -> qda_driver::Result<Embedded> {
        let cfg = DriverConfig::new(Platform::builtin()).with_env()?;
        Embedded::with_driver(Driver::new(cfg)?)
    }

    /// Start DSPs for every domain of `driver`.
    pub fn with_driver(driver: Driver) -> qda_driver::Result<Embedded> {
        let dsps = VirtualDsp::start_all(&driver)?;
        Ok(Embedded { driver, dsps })
    }

    /// Start DSPs for every domain of `driver` with user PDs run as `mode` says.
    pub fn with_mode(driver: Driver, mode: PdMode) -> qda_driver::Result<Embedded> {
        let dsps = driver
            .domains()
            .iter()
            .map(|d| VirtualDsp::start_with(&driver, d.label(), mode))
            .collect::<qda_driver::Result<_>>()?;
        Ok(Embedded { driver, dsps })
    }
}

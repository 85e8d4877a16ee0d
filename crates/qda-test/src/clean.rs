//! Nothing leaked, nothing misused: every integration test ends here.

use std::time::Duration;

use qda_driver::{Driver, DriverConfig, Stats};

/// Wait (up to 3 s) until the driver holds no objects: a DSP thread that
/// just answered may still hold a payload for a moment. Returns the last
/// counts.
pub fn wait_idle(drv: &Driver) -> Stats {
    let mut s = drv.stats();
    for _ in 0..300 {
        if s.is_idle() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        s = drv.stats();
    }
    s
}

/// Assert that the DMA-API debug checker reported nothing and, once calls
/// in flight have settled, every live-object count is zero.
pub fn assert_clean(drv: &Driver) {
    let s = wait_idle(drv);
    let reports = drv.dma_debug().reports();
    assert!(reports.is_empty(), "DMA-API debug reports: {reports:#?}");
    assert!(s.is_idle(), "objects still alive at the end of the test: {s:?}");
}

/// A driver that, dropped at the end of a test that did not panic, asserts
/// [`assert_clean`] without waiting: a driver with no DSP attached has
/// nothing in flight.
#[derive(Debug)]
pub struct Checked {
    /// The driver.
    pub drv: Driver,
}

impl Checked {
    /// The built-in board.
    pub fn builtin() -> Checked {
        Checked {
            drv: Driver::builtin().expect("the built-in driver"),
        }
    }

    /// A driver with `cfg`.
    pub fn with(cfg: DriverConfig) -> Checked {
        Checked {
            drv: Driver::new(cfg).expect("a driver"),
        }
    }
}

impl std::ops::Deref for Checked {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.drv
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let s = self.drv.stats();
        let reports = self.drv.dma_debug().reports();
        assert!(reports.is_empty(), "DMA-API debug reports: {reports:#?}");
        assert!(s.is_idle(), "objects still alive at the end of the test: {s:?}");
    }
}

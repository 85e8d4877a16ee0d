//! Linux errno values and the driver's error type: [`qda_os::errno`],
//! re-exported here so the driver's paths stay as they were.

pub use qda_os::errno::*;

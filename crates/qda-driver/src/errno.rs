//! Linux errno values and the driver's error type: [`qda_os::errno`],
//! re-exported here so the driver's paths stay as they were.

pub use qda_os::errno::*;

/// The driver names the OS error `Error`, as the kernel's code says
/// "error"; it is [`qda_os::OsError`].
pub use qda_os::errno::OsError as Error;

//! Linux errno values and the driver's error type: [`qda_os::errno`],
//! re-exported here so the driver's paths stay as they were.

pub use qda_os::errno::*;

/// Inside the driver the OS error is called `Error`; outside it is
/// [`qda_os::OsError`], one name across the workspace.
pub(crate) use qda_os::errno::OsError as Error;

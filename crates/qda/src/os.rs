//! The OS edge the library uses: the errno-carrying error, mappings, fds.
//! One place, so the library names them the same way everywhere.

pub use qda_driver::sys::{Mapping, borrow_raw, memfd};
pub use qda_driver::{Errno, Error as OsError};

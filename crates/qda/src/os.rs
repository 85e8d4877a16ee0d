//! The OS edge the library uses: the errno-carrying error, mappings, fds
//! (from `qda-os`, which needs neither the driver model nor the daemon).

pub use qda_os::{Errno, Lent, Loan, Mapping, OsError, borrow_raw};

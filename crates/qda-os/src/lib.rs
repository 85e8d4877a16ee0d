//! The OS edge of qda: what a program needs to talk to the kernel (or to
//! something answering like it) without the driver model.
//!
//! * [`errno`]: Linux errno values and the error type every qda layer
//!   returns ([`Errno`], [`OsError`], [`Result`], `einval(..)`-style
//!   constructors);
//! * [`sys`]: the only `unsafe` of the crate: shared mappings ([`Mapping`]),
//!   `copy_from_user`/`copy_to_user` on the own process, borrowing raw fd
//!   numbers, open-file-description locks;
//! * [`fd`]: memfds and file identity;
//! * [`lent`]: slices a caller lends to an emulated ioctl ([`Lent`]), so
//!   the driver's reads and writes of them skip the checked copies;
//! * [`vma`]: which file mapping an address lies in ([`find_mapping`],
//!   [`MapInfo`]), the `find_vma` of this process.
#![warn(missing_docs)]

pub mod errno;
pub mod fd;
pub mod lent;
pub mod sys;
pub mod vma;

pub use errno::{Errno, OsError, Result};
pub use fd::{file_id, file_size, into_raw, is_memfd, memfd, reopen};
pub use lent::{Lent, Loan, LoanView};
pub use sys::{Mapping, SharedWords, borrow_raw, copy_from_self, copy_to_self, self_pid, self_tid};
pub use vma::{MapInfo, find_mapping};

/// Page size of the host (4 KiB on the machines qda targets; the driver
/// checks it at start).
pub const PAGE_SIZE: u64 = 4096;

/// Round up to a page, `None` on overflow.
pub fn page_align(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

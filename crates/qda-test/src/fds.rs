//! Adopting fd numbers the raw UAPI installed for "userspace" (the tests
//! are that userspace).
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd};

/// Take ownership of `fd`, which the driver installed for the caller.
pub fn own(fd: i32) -> OwnedFd {
    assert!(fd >= 0, "fd {fd}");
    qda_os::borrow_raw(fd).unwrap_or_else(|e| panic!("fd {fd}: {e}"));
    // SAFETY: the driver installed `fd` for the caller and kept no copy;
    // the test is its only owner from here on, as a C program would be.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

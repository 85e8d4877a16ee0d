//! Linux errno values and qda's error type.
//!
//! Every error the driver model returns carries the errno the kernel returns
//! for the same condition, plus a sentence naming the cause; the OS-edge
//! helpers of this crate report theirs the same way.

use std::borrow::Cow;
use std::fmt;

/// A Linux errno value (positive).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $v:expr, $text:expr;)*) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($v);)*
            /// The symbolic name (`"EINVAL"`), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($v => Some(stringify!($name)),)* _ => None }
            }
            /// The C library's description.
            pub fn description(self) -> Option<&'static str> {
                match self.0 { $($v => Some($text),)* _ => None }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    EBADF = 9, "Bad file descriptor";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    ENODEV = 19, "No such device";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ENOSPC = 28, "No space left on device";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Numerical result out of range";
    ECHRNG = 44, "Channel number out of range";
    EPROTO = 71, "Protocol error";
    EOVERFLOW = 75, "Value too large for defined data type";
    EBADFD = 77, "File descriptor in bad state";
    EOPNOTSUPP = 95, "Operation not supported";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    ERESTARTSYS = 512, "Interrupted system call, to be restarted";
}

impl Errno {
    /// `-errno`, as an ioctl handler returns it.
    pub fn to_ret(self) -> i64 {
        -(self.0 as i64)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.description()) {
            (Some(n), Some(d)) => write!(f, "{n} ({d})"),
            _ => write!(f, "errno {}", self.0),
        }
    }
}

/// qda's error: an errno and what caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {errno}")]
pub struct OsError {
    /// What the kernel would return.
    pub errno: Errno,
    /// The cause, in words.
    pub what: Cow<'static, str>,
}

impl OsError {
    /// An error with a cause.
    pub fn new(errno: Errno, what: impl Into<Cow<'static, str>>) -> Self {
        OsError {
            errno,
            what: what.into(),
        }
    }
}

#[cfg(feature = "proto")]
impl From<qda_proto::ProtoError> for OsError {
    fn from(e: qda_proto::ProtoError) -> Self {
        OsError::new(Errno(e.errno()), e.to_string())
    }
}

impl From<std::io::Error> for OsError {
    fn from(e: std::io::Error) -> Self {
        OsError::new(Errno(e.raw_os_error().unwrap_or(Errno::EIO.0)), e.to_string())
    }
}

impl From<rustix::io::Errno> for OsError {
    fn from(e: rustix::io::Errno) -> Self {
        OsError::new(Errno(e.raw_os_error()), std::io::Error::from(e).to_string())
    }
}

/// `Result` with [`OsError`].
pub type Result<T, E = OsError> = std::result::Result<T, E>;

/// Shorthands: `einval("pad must be zero")`.
macro_rules! ctor {
    ($($f:ident => $e:ident),*) => {$(
        #[doc = concat!("An `", stringify!($e), "` error with a cause.")]
        pub fn $f(what: impl Into<Cow<'static, str>>) -> OsError {
            OsError::new(Errno::$e, what)
        }
    )*};
}
ctor!(einval => EINVAL, efault => EFAULT, enomem => ENOMEM, enoent => ENOENT, ebadf => EBADF,
      ebusy => EBUSY, enotty => ENOTTY, enodev => ENODEV, eperm => EPERM, enxio => ENXIO,
      ebadfd => EBADFD, eoverflow => EOVERFLOW, eacces => EACCES, eopnotsupp => EOPNOTSUPP);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert_eq!(Errno::EINVAL.name(), Some("EINVAL"));
        assert_eq!(Errno(9999).name(), None);
        assert_eq!(Errno::EFAULT.to_string(), "EFAULT (Bad address)");
        let e = einval("GEM_CREATE: size is 0");
        assert_eq!(e.to_string(), "GEM_CREATE: size is 0: EINVAL (Invalid argument)");
        assert_eq!(e.errno.to_ret(), -22);
    }

    #[test]
    fn conversions_keep_the_errno() {
        #[cfg(feature = "proto")]
        {
            let p = qda_proto::ProtoError::Fault { index: 2 };
            assert_eq!(OsError::from(p).errno, Errno::EFAULT);
        }
        let io = std::io::Error::from_raw_os_error(9);
        assert_eq!(OsError::from(io).errno, Errno::EBADF);
    }
}

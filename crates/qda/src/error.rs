//! What went wrong, naming the cause.

use qda_uapi::aee::AeeCode;

use crate::domain::Domain;
use crate::os::OsError;

/// What went wrong, naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; carries the errno.
    #[error("{op}: {source}")]
    Os {
        /// What was being done.
        op: String,
        /// The driver's error (errno and cause).
        #[source]
        source: OsError,
    },
    /// The DSP answered with an error code.
    #[error("{op}: the DSP returned {code}")]
    Dsp {
        /// What was being done.
        op: String,
        /// The AEE code.
        code: AeeCode,
    },
    /// A module could not be opened on the DSP.
    #[error("opening {uri} on the DSP: {code}: {text}")]
    Module {
        /// The URI.
        uri: String,
        /// The loader's AEE code.
        code: AeeCode,
        /// The loader's text.
        text: String,
    },
    /// An argument is wrong.
    #[error("argument {index}: {why}")]
    Arg {
        /// Which argument.
        index: usize,
        /// Why.
        why: String,
    },
    /// No device for the domain.
    #[error("no {domain} DSP: {why}")]
    NoDevice {
        /// The domain.
        domain: Domain,
        /// Why.
        why: String,
    },
    /// The request itself is wrong.
    #[error("{0}")]
    Usage(String),
}

impl From<crate::domain::UnknownDomain> for Error {
    fn from(e: crate::domain::UnknownDomain) -> Error {
        Error::Usage(e.to_string())
    }
}

impl Error {
    /// The errno, when a system call failed.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } => Some(source.errno.0),
            _ => None,
        }
    }
}

pub(crate) fn os(op: impl Into<String>) -> impl FnOnce(OsError) -> Error {
    let op = op.into();
    move |source| Error::Os { op, source }
}

pub(crate) fn dsp_result(op: &str, r: i64) -> Result<(), Error> {
    dsp_result_of(|| op.into(), r)
}

/// [`dsp_result`] naming the operation only when it failed (an invoke's
/// name is formatted; a call that succeeds formats nothing).
pub(crate) fn dsp_result_of(op: impl FnOnce() -> String, r: i64) -> Result<(), Error> {
    if r == 0 {
        Ok(())
    } else {
        Err(Error::Dsp {
            op: op(),
            code: AeeCode(r as u32),
        })
    }
}

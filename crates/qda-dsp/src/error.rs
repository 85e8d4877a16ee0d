//! The DSP's typed error: the AEE code a call answers and why.

use std::borrow::Cow;

use qda_uapi::aee::AeeCode;

/// Why the virtual DSP failed a call: the AEE code it answers (the value
/// the client's ioctl returns) and the reason, for tracers and logs
/// ([`crate::VirtualDsp::set_error_tracer`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({code})")]
pub struct DspError {
    code: AeeCode,
    reason: Cow<'static, str>,
}

impl DspError {
    /// An error answering `code` (as is: DSP-form constants from
    /// [`crate::aee`], or a skel's own return value) for `reason`.
    pub fn new(code: impl Into<AeeCode>, reason: impl Into<Cow<'static, str>>) -> DspError {
        DspError {
            code: code.into(),
            reason: reason.into(),
        }
    }

    /// The AEE code the DSP answers.
    pub fn code(&self) -> AeeCode {
        self.code
    }

    /// The code as the `i32` return value the client sees.
    pub fn retval(&self) -> i32 {
        self.code.as_i32()
    }

    /// Why.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A DSP result: `Ok` answers 0.
pub type DspResult<T = ()> = Result<T, DspError>;

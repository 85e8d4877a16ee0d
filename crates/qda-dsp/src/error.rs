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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aee;

    #[test]
    fn an_error_keeps_its_code_and_reason() {
        let e = DspError::new(aee::ENOSUCHHANDLE, "no module under 0x7777");
        assert_eq!(e.retval(), aee::ENOSUCHHANDLE);
        assert_eq!(e.code(), AeeCode::ENOSUCHHANDLE.to_dsp());
        assert_eq!(e.reason(), "no module under 0x7777");
        let text = e.to_string();
        assert!(text.starts_with("no module under 0x7777 (AEE_ENOSUCHHANDLE"), "{text}");
        // A skel's own return value is kept as is, not converted.
        assert_eq!(DspError::new(5, "skel").retval(), 5);
    }
}

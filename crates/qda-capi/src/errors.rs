//! What a C caller gets back: AEE codes (CPU side; the DSP's own codes pass
//! through unchanged, as libadsprpc passes them).

use qda::Error;
use qda_uapi::aee::AeeCode;

/// A C API result: `Err` holds the AEE code returned to the caller.
pub type Aee = Result<(), i32>;

/// The CPU-side value of an AEE code, as a C `int`.
pub(crate) const fn code(c: AeeCode) -> i32 {
    c.as_i32()
}

pub(crate) const SUCCESS: i32 = 0;
pub(crate) const EFAILED: i32 = code(AeeCode::EFAILED);
pub(crate) const EBADPARM: i32 = code(AeeCode::EBADPARM);
pub(crate) const EUNSUPPORTED: i32 = code(AeeCode::EUNSUPPORTED);
pub(crate) const EBADSTATE: i32 = code(AeeCode::EBADSTATE);
pub(crate) const EALREADY: i32 = code(AeeCode::EALREADY);
pub(crate) const ENOSUCHMAP: i32 = code(AeeCode::ENOSUCHMAP);
pub(crate) const EBADHANDLE: i32 = code(AeeCode::EBADHANDLE);
pub(crate) const ENOSUCHDEVICE: i32 = code(AeeCode::ENOSUCHDEVICE);
pub(crate) const ERPC: i32 = code(AeeCode::ERPC);

/// libadsprpc's translation of a failed ioctl's errno
/// (`convert_kernel_to_user_error`, qualcomm/fastrpc `inc/fastrpc_internal.h`
/// @ 29851fde11d4). Upstream's `ENOENT` and `EBUSY` cases have no `break`
/// and fall through to the default, so both give `AEE_ERPC` there; so here.
pub(crate) fn from_errno(errno: i32) -> i32 {
    use libc::*;
    let c = match errno {
        EIO | ETOOMANYREFS | EADDRNOTAVAIL | ENOTTY | EBADRQC => AeeCode::ERPC,
        EFAULT | ECHRNG | EBADFD | EINVAL | EBADF | EBADE | EBADR | EOVERFLOW | EHOSTDOWN | EEXIST | EBADMSG => {
            AeeCode::EBADPARM
        }
        ENXIO | ENODEV | ENOKEY => AeeCode::ENOSUCHDEVICE,
        ENOBUFS | ENOMEM => AeeCode::ENOMEMORY,
        ENOSR | EDQUOT | ETIMEDOUT | EUSERS | ESHUTDOWN => AeeCode::EEXPIRED,
        ENOTCONN | ECONNREFUSED => AeeCode::ECONNREFUSED,
        ECONNRESET | EPIPE => AeeCode::ECONNRESET,
        EPROTONOSUPPORT => AeeCode::EUNSUPPORTED,
        EFBIG => AeeCode::EFILE,
        EACCES | EPERM => AeeCode::EBADPERMS,
        _ => AeeCode::ERPC,
    };
    code(c)
}

/// The AEE code of a library error, logged with its cause (the C caller
/// only sees the code; `QDA_LOG=qda_capi=debug` shows why).
pub(crate) fn aee(e: &Error) -> i32 {
    let c = match e {
        Error::Os { source, .. } => from_errno(source.errno.0),
        Error::Dsp { code, .. } => code.as_i32(),
        Error::Module { code, .. } => code.as_i32(),
        Error::Arg { .. } | Error::Usage(_) => EBADPARM,
        Error::NoDevice { .. } => ENOSUCHDEVICE,
    };
    tracing::debug!(target: "qda_capi", code = format_args!("{c:#x}"), "{e}");
    c
}

/// `Ok` → 0, `Err(code)` → code.
pub(crate) fn ret(r: Aee) -> i32 {
    match r {
        Ok(()) => SUCCESS,
        Err(c) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_translation_follows_libadsprpc() {
        assert_eq!(from_errno(libc::EFAULT), EBADPARM);
        assert_eq!(from_errno(libc::ENOMEM), code(AeeCode::ENOMEMORY));
        assert_eq!(from_errno(libc::ENODEV), ENOSUCHDEVICE);
        assert_eq!(from_errno(libc::EPERM), code(AeeCode::EBADPERMS));
        // Upstream's fall-through: ENOENT and EBUSY end in the default.
        assert_eq!(from_errno(libc::ENOENT), ERPC);
        assert_eq!(from_errno(libc::EBUSY), ERPC);
        assert_eq!(from_errno(libc::ECONNRESET), 104);
    }

    #[test]
    fn cpu_codes_have_no_offset() {
        assert_eq!(EBADPARM, 0x0e);
        assert_eq!(EUNSUPPORTED, 0x14);
        assert_eq!(ERPC, 0x200);
    }
}

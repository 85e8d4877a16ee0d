//! The raw UAPI as a test makes it: files opened as this process, ioctls
//! through the driver's raw entry with this process's memory.

use qda_driver::{Creds, Driver, File, LocalMemory};
use qda_ioctl::Ioctl;
use qda_os::Errno;
use qda_proto::bodies::{RemotectlOpenIn, RemotectlOpenOut};
use qda_uapi::fastrpc::{
    FASTRPC_IOCTL_INIT_CREATE, FASTRPC_IOCTL_INVOKE, FastrpcInitCreate, FastrpcInvoke, FastrpcInvokeArgs,
};
use zerocopy::IntoBytes;

/// The test process's credentials.
pub fn me() -> Creds {
    Creds::current()
}

/// Another thread id, as if another thread or process opened the node.
pub fn other(tid: i32) -> Creds {
    Creds {
        pid: tid,
        tid,
        uid: 1000,
    }
}

/// Open `path` as this process.
pub fn open(drv: &Driver, path: &str) -> File {
    drv.open(path, me()).unwrap_or_else(|e| panic!("open {path}: {e}"))
}

/// Open the accel node of domain `label`.
pub fn accel(drv: &Driver, label: &str) -> File {
    let d = drv.domain(label).unwrap_or_else(|| panic!("no domain {label}"));
    open(drv, &format!("/dev/accel/accel{}", d.minor))
}

/// Ioctl `I` on `f` with `arg`: its number and argument type from its one
/// description.
pub fn call<I: Ioctl>(f: &File, arg: &mut I::Arg) -> Result<i64, Errno> {
    ioctl(f, I::DESC.cmd, arg)
}

/// `ioctl(f, cmd, &mut arg)` with any number, as a C program makes it: for
/// the tests of numbers, sizes and structs the driver must refuse.
pub fn ioctl<T>(f: &File, cmd: u32, arg: &mut T) -> Result<i64, Errno> {
    f.ioctl(cmd, arg as *mut T as u64, &LocalMemory).map_err(|e| e.errno)
}

/// The built-in board's driver, checked clean when dropped.
pub fn driver() -> crate::Checked {
    crate::Checked::builtin()
}

/// A driver with `cfg`, checked clean when dropped.
pub fn driver_with(cfg: qda_driver::DriverConfig) -> crate::Checked {
    crate::Checked::with(cfg)
}

/// One invoke argument: `len` bytes at `ptr`, inline (`fd` -1) or in the
/// dma-buf `fd`.
pub fn invoke_arg(ptr: *const u8, len: usize, fd: i32) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd,
        attr: 0,
    }
}

/// `remotectl1 open1` of `uri` through `invoke(handle, sc, args)` on handle
/// 8: the module's DSP handle, or the loader's AEE code and text.
pub fn open_module(
    invoke: impl Fn(u32, u32, &mut [FastrpcInvokeArgs]) -> i64,
    uri: &str,
) -> Result<u32, (u32, String)> {
    let mut name = uri.as_bytes().to_vec();
    name.push(0);
    let inp = RemotectlOpenIn {
        name_len: name.len() as u32,
        dlerr_len: 255,
    };
    let mut out = RemotectlOpenOut::default();
    let mut err = [0u8; 255];
    let mut a = [
        invoke_arg(inp.as_bytes().as_ptr(), 8, -1),
        invoke_arg(name.as_ptr(), name.len(), -1),
        invoke_arg(out.as_mut_bytes().as_mut_ptr(), 8, -1),
        invoke_arg(err.as_mut_ptr(), 255, -1),
    ];
    assert_eq!(invoke(8, 0x0202_0200, &mut a), 0, "remotectl open of {uri}");
    if out.dlerr != 0 {
        let n = err.iter().position(|b| *b == 0).unwrap_or(255);
        return Err((out.dlerr, String::from_utf8_lossy(&err[..n]).into_owned()));
    }
    Ok(out.handle)
}

/// The secure CDSP legacy node, opened as this process, with the default
/// user PD created on it (`FASTRPC_IOCTL_INIT_CREATE`).
pub fn legacy_session(drv: &Driver) -> File {
    let f = open(drv, "/dev/fastrpc-cdsp-secure");
    let mut create = FastrpcInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_INIT_CREATE, &mut create), Ok(0), "INIT_CREATE");
    f
}

/// `FASTRPC_IOCTL_INVOKE` of `handle`, `sc`, `args` on `f`: the DSP's
/// result, or the driver's error.
pub fn legacy_invoke(f: &File, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs]) -> qda_os::Result<i64> {
    let mut inv = FastrpcInvoke {
        handle,
        sc,
        args: args.as_mut_ptr() as u64,
    };
    f.ioctl(FASTRPC_IOCTL_INVOKE, &mut inv as *mut _ as u64, &LocalMemory)
}

/// `DRM_IOCTL_PRIME_HANDLE_TO_FD` of GEM `handle` on `f` (read-write,
/// close-on-exec), which must succeed: the dma-buf, owned.
pub fn export(f: &File, handle: u32) -> std::os::fd::OwnedFd {
    use qda_uapi::drm::{DRM_CLOEXEC, DRM_IOCTL_PRIME_HANDLE_TO_FD, DRM_RDWR, DrmPrimeHandle};
    let mut p = DrmPrimeHandle {
        handle,
        flags: DRM_CLOEXEC | DRM_RDWR,
        fd: -1,
    };
    assert_eq!(ioctl(f, DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p), Ok(0), "PRIME export");
    crate::own(p.fd)
}

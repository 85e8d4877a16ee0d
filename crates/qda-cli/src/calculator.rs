//! `qda run calculator`: the Hexagon SDK calculator example on the embedded
//! platform, through the same raw QDA UAPI an application on a device uses:
//! QUERY, REMOTE_SESSION_CREATE, remotectl1 open, GEM_CREATE + mmap, PRIME
//! export, REMOTE_INVOKE sum and max.

use std::os::fd::{AsRawFd, OwnedFd};

use qda_driver::{Creds, File, LocalMemory};
use qda_dsp::Embedded;
use qda_proto::bodies::{RemotectlOpenIn, RemotectlOpenOut};
use qda_uapi::drm::*;
use qda_uapi::fastrpc::FastrpcInvokeArgs;
use qda_uapi::qda::*;
use zerocopy::IntoBytes;

const DOMAINS: [&str; 7] = ["adsp", "mdsp", "sdsp", "cdsp", "cdsp1", "gdsp0", "gdsp1"];

fn ioctl<T>(f: &File, what: &str, cmd: u32, arg: &mut T) -> Result<i64, String> {
    f.ioctl(cmd, arg as *mut T as u64, &LocalMemory)
        .map_err(|e| format!("{what}: {e}"))
}

fn dsp_ok(what: &str, r: i64) -> Result<(), String> {
    if r == 0 {
        Ok(())
    } else {
        Err(format!("{what}: DSP returned {}", qda_uapi::aee::describe(r as i32)))
    }
}

fn arg(ptr: *const u8, len: usize, fd: i32) -> FastrpcInvokeArgs {
    FastrpcInvokeArgs {
        ptr: ptr as u64,
        length: len as u64,
        fd,
        attr: 0,
    }
}

fn invoke(f: &File, handle: u32, sc: u32, args: &mut [FastrpcInvokeArgs], verbose: bool) -> Result<i64, String> {
    let mut inv = DrmQdaInvokeArgs {
        handle,
        sc,
        args: args.as_mut_ptr() as u64,
    };
    let t = std::time::Instant::now();
    let r = ioctl(f, "REMOTE_INVOKE", DRM_IOCTL_QDA_REMOTE_INVOKE, &mut inv)?;
    if verbose {
        crate::out!(
            "  invoke handle 0x{handle:x} sc {} -> {} ({:.1?})",
            qda_proto::Scalars(sc),
            qda_uapi::aee::describe(r as i32),
            t.elapsed()
        );
    }
    Ok(r)
}

pub fn calculator(domain: &str, n: u32, verbose: bool) -> Result<(), String> {
    if !DOMAINS.contains(&domain) {
        return Err(format!(
            "unknown domain '{domain}' (expected one of: {})",
            DOMAINS.join(", ")
        ));
    }
    let emb = Embedded::start().map_err(|e| format!("starting the embedded platform: {e}"))?;
    let d = emb.driver.domain(domain).ok_or_else(|| {
        let have: Vec<&str> = emb.driver.domains().iter().map(|d| d.label()).collect();
        format!("the board has no '{domain}' domain (it has: {})", have.join(", "))
    })?;
    let node = format!("/dev/accel/accel{}", d.minor);
    let f = emb
        .driver
        .open(&node, Creds::current())
        .map_err(|e| format!("open {node}: {e}"))?;
    let mut q = DrmQdaQuery::default();
    ioctl(&f, "QUERY", DRM_IOCTL_QDA_QUERY, &mut q)?;
    if verbose {
        crate::out!(
            "  {node}: {}",
            String::from_utf8_lossy(q.dsp_name.split(|b| *b == 0).next().unwrap_or_default())
        );
    }
    let mut create = DrmQdaInitCreate {
        filelen: 0,
        filefd: -1,
        attrs: 0,
        siglen: 0,
        file: 0,
    };
    let r = ioctl(
        &f,
        "REMOTE_SESSION_CREATE",
        DRM_IOCTL_QDA_REMOTE_SESSION_CREATE,
        &mut create,
    )?;
    dsp_ok("REMOTE_SESSION_CREATE", r)?;

    // remotectl1 open1 (handle 8).
    let uri = format!("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom={domain}");
    let mut name = uri.into_bytes();
    name.push(0);
    let inp = RemotectlOpenIn {
        name_len: name.len() as u32,
        dlerr_len: 255,
    };
    let mut out = RemotectlOpenOut::default();
    let mut err = [0u8; 255];
    let mut a = [
        arg(inp.as_bytes().as_ptr(), 8, -1),
        arg(name.as_ptr(), name.len(), -1),
        arg(out.as_mut_bytes().as_mut_ptr(), 8, -1),
        arg(err.as_mut_ptr(), 255, -1),
    ];
    dsp_ok("remotectl open", invoke(&f, 8, 0x0202_0200, &mut a, verbose)?)?;
    if out.dlerr != 0 {
        let text = String::from_utf8_lossy(err.split(|b| *b == 0).next().unwrap_or_default()).into_owned();
        return Err(format!(
            "opening the calculator skel: {} ({text})",
            qda_uapi::aee::describe(out.dlerr as i32)
        ));
    }

    // The vector in a GEM buffer, mapped and filled with 0..n-1, passed by fd.
    let size = 4 * n as usize;
    let mut g = DrmQdaGemCreate {
        size: size as u64,
        handle: 0,
        pad: 0,
    };
    ioctl(&f, "GEM_CREATE", DRM_IOCTL_QDA_GEM_CREATE, &mut g)?;
    let mut o = DrmQdaGemMmapOffset {
        offset: 0,
        handle: g.handle,
        pad: 0,
    };
    ioctl(&f, "GEM_MMAP_OFFSET", DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut o)?;
    let map = f.mmap(o.offset, size as u64, true).map_err(|e| format!("mmap: {e}"))?;
    let bytes: Vec<u8> = (0..n as i32).flat_map(i32::to_le_bytes).collect();
    map.write_at(0, &bytes).map_err(|e| e.to_string())?;
    // PRIME export through the typed API (the same code as the ioctl), so
    // the fd comes back owned.
    let fd: OwnedFd = f
        .prime_handle_to_fd(g.handle, DRM_CLOEXEC | DRM_RDWR)
        .map_err(|e| format!("PRIME export: {e}"))?;

    let count = n.to_le_bytes();
    let mut res = [0u8; 8];
    let mut a = [
        arg(count.as_ptr(), 4, -1),
        arg(map.addr() as *const u8, size, fd.as_raw_fd()),
        arg(res.as_mut_ptr(), 8, -1),
    ];
    dsp_ok("sum", invoke(&f, out.handle, 0x0202_0100, &mut a, verbose)?)?;
    crate::out!("Sum = {}", i64::from_le_bytes(res));
    let mut res = [0u8; 4];
    let mut a = [
        arg(count.as_ptr(), 4, -1),
        arg(map.addr() as *const u8, size, fd.as_raw_fd()),
        arg(res.as_mut_ptr(), 4, -1),
    ];
    dsp_ok("max", invoke(&f, out.handle, 0x0302_0100, &mut a, verbose)?)?;
    crate::out!("Max value = {}", i32::from_le_bytes(res));
    Ok(())
}

//! `qda run calculator`: the Hexagon SDK calculator example through the
//! qda client library — on the embedded platform unless a kernel's accel
//! node answers for the domain or a qdad listens (or `--backend` says
//! otherwise).
//!
//! Underneath, exactly the calls an application makes on a device: QUERY,
//! REMOTE_SESSION_CREATE, remotectl1 open, GEM_CREATE + mmap, PRIME export,
//! REMOTE_INVOKE of sum and max with the vector passed by fd.

use std::time::Instant;

use qda::{Arg, Backend, Device, Domain};

fn step<T>(verbose: bool, what: &str, f: impl FnOnce() -> Result<T, qda::Error>) -> Result<T, String> {
    let t = Instant::now();
    let r = f().map_err(|e| e.to_string())?;
    if verbose {
        crate::out!("  {what} ({:.1?})", t.elapsed());
    }
    Ok(r)
}

pub fn calculator(domain: &str, n: u32, verbose: bool, backend: Option<Backend>) -> Result<(), String> {
    let domain: Domain = domain.parse().map_err(|e: qda::UnknownDomain| e.to_string())?;
    let dev = match backend {
        Some(b) => Device::open_on(domain, b),
        None => Device::open(domain),
    }
    .map_err(|e| e.to_string())?;
    if verbose {
        let uapi = match dev.qda_revision() {
            Some(r) => format!("QDA UAPI {}", r.name()),
            None => "legacy fastrpc UAPI".to_string(),
        };
        crate::out!("  {} on the {} backend ({}, {uapi})", domain, dev.backend(), dev.path());
    }
    let session = step(verbose, "session created (a user PD)", || dev.session())?;
    let uri = format!("file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom={domain}");
    let calc = step(verbose, "calculator skel opened", || session.open(&uri))?;
    let size = 4 * n as usize;
    let buf = step(verbose, "buffer allocated and mapped", || dev.alloc(size))?;
    let bytes: Vec<u8> = (0..n as i32).flat_map(i32::to_le_bytes).collect();
    buf.write(0, &bytes).map_err(|e| e.to_string())?;
    let count = n.to_le_bytes();
    let mut sum = [0u8; 8];
    step(verbose, "sum", || {
        calc.invoke(
            2,
            &mut [Arg::In(&count), Arg::buf_in(&buf, 0, size), Arg::Out(&mut sum)],
        )
    })?;
    crate::out!("Sum = {}", i64::from_le_bytes(sum));
    let mut max = [0u8; 4];
    step(verbose, "max", || {
        calc.invoke(
            3,
            &mut [Arg::In(&count), Arg::buf_in(&buf, 0, size), Arg::Out(&mut max)],
        )
    })?;
    crate::out!("Max value = {}", i32::from_le_bytes(max));
    Ok(())
}

//! The workloads behind `cargo bench` and `qda bench`, in one place so the
//! two measure the same thing: invokes of the test skel through the public
//! API, GEM and PRIME round trips, and the raw baselines they are compared
//! with.
//!
//! - [`pingpong`]: spin and futex ping-pong chains of a path's hop count
//!   (the baselines of issue 13's ratios);
//! - [`hops`]: the older baselines (a channel ping-pong, a Unix-socket round
//!   trip, [`HopChain`]);
//! - [`stats`]: every call timed, percentiles, alternating blocks;
//! - [`scaling`]: many callers on one handle, busy neighbour threads;
//! - [`plot`]: an SVG of latency distributions;
//! - here: the invokes ([`Invokes`]), GEM and PRIME cycles, the memcpy.

pub mod hops;
pub mod pingpong;
pub mod plot;
pub mod scaling;
pub mod stats;

pub use hops::{Hop, HopChain, SocketPingPong, ThreadPingPong};
pub use pingpong::{PingPongChain, PingPongKind, pin_self, restore_affinity, two_cpus};
pub use scaling::{Neighbours, ScalingRow, scale};
pub use stats::{Block, Latencies, interleave, percentile, sleep_vs_poll};

use std::time::Duration;

use crate::{Arg, Buffer, Device, Error, RemoteHandle, Session};

/// The test skel: method 5 takes no arguments (a null call), method 3
/// copies its input into its output, method 6 reads 8 bytes of its input
/// and writes 16 (constant work whatever the input's size).
pub const TEST_SKEL: &str = "file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0";

/// An open session with the test skel and buffers for the by-fd calls.
#[derive(Debug)]
pub struct Invokes {
    // Field order is drop order: the handle before its session.
    skel: RemoteHandle,
    session: Session,
    small: Buffer,
    large: Option<Buffer>,
    inline_in: Vec<u8>,
    inline_out: Vec<u8>,
}

/// Bytes copied inline each way by [`Invokes::inline`].
pub const INLINE: usize = 64 * 1024;
/// The small by-fd buffer.
pub const SMALL_FD: usize = 4 * 1024;
/// The large by-fd buffer.
pub const LARGE_FD: usize = 64 * 1024 * 1024;

impl Invokes {
    /// Open a session on `dev`, the test skel and a 4 KiB buffer; with
    /// `large`, a 64 MiB buffer too.
    pub fn new(dev: &Device, large: bool) -> Result<Invokes, Error> {
        let session = dev.session()?;
        let skel = session.open(TEST_SKEL)?;
        let small = dev.alloc(SMALL_FD)?;
        small.write(0, &[7u8; 8])?;
        let large = if large {
            let b = dev.alloc(LARGE_FD)?;
            b.write(0, &[7u8; 8])?;
            Some(b)
        } else {
            None
        };
        Ok(Invokes {
            skel,
            session,
            small,
            large,
            inline_in: vec![0x5a; INLINE],
            inline_out: vec![0; INLINE],
        })
    }

    /// Poll mode for the session's calls (`None`: sleep mode), see
    /// [`Session::set_poll`].
    pub fn set_poll(&self, budget: Option<Duration>) -> Result<(), Error> {
        self.session.set_poll(budget)
    }

    /// A call with no arguments.
    pub fn null(&self) -> Result<(), Error> {
        null(&self.skel)
    }

    /// The test skel's handle: `RemoteHandle` is `Sync`, so many threads can
    /// call [`null`] on it at once ([`scale`]).
    pub fn skel(&self) -> &RemoteHandle {
        &self.skel
    }

    /// 64 KiB in and 64 KiB out, copied through the payload.
    pub fn inline(&mut self) -> Result<(), Error> {
        self.skel
            .invoke(3, &mut [Arg::In(&self.inline_in), Arg::Out(&mut self.inline_out)])
    }

    /// The whole 4 KiB buffer by fd (the skel reads 8 bytes of it).
    pub fn by_fd_small(&self) -> Result<(), Error> {
        by_fd(&self.skel, &self.small)
    }

    /// The whole 64 MiB buffer by fd (the skel reads 8 bytes of it).
    pub fn by_fd_large(&self) -> Result<(), Error> {
        match &self.large {
            Some(b) => by_fd(&self.skel, b),
            None => Err(Error::Usage("no large buffer: create Invokes with large = true".into())),
        }
    }
}

/// A call with no arguments on the test skel (method 5).
pub fn null(skel: &RemoteHandle) -> Result<(), Error> {
    skel.invoke(5, &mut [])
}

// Many callers share one handle in [`scale`]: that needs `Sync`.
const _: fn() = || {
    fn sync<T: Sync>() {}
    sync::<RemoteHandle>();
};

fn by_fd(skel: &RemoteHandle, buf: &Buffer) -> Result<(), Error> {
    let mut out = [0u8; 16];
    skel.invoke(6, &mut [Arg::buf_in(buf, 0, buf.size()), Arg::Out(&mut out)])?;
    if out[8..] != [7u8; 8] {
        return Err(Error::Usage(format!(
            "the skel read {:?}, not the buffer's bytes",
            &out[8..]
        )));
    }
    Ok(())
}

/// GEM create, map and close of a 4 KiB buffer.
pub fn gem_cycle(dev: &Device) -> Result<(), Error> {
    let b = dev.alloc(SMALL_FD)?;
    b.write(0, &[1])?;
    Ok(())
}

/// PRIME export of `buf` and import on `other` (a second file on the same
/// domain, so the import is a real one, not the exporter's own handle).
pub fn prime_cycle(buf: &Buffer, other: &Device) -> Result<(), Error> {
    let fd = buf.export()?;
    let imported = other.import(fd)?;
    drop(imported);
    Ok(())
}

/// The memcpy baseline: `n` bytes copied in and out, the bytes an inline
/// call moves. The destination sits half a page away from the source
/// modulo 4 KiB: with the two 4K-aliased (what two back-to-back heap
/// allocations often are), `rep movsb` on this host's AMD CPUs runs 10×
/// slower, which would make every ratio against it look better than it is.
#[derive(Debug)]
pub struct CopyBaseline {
    src: Vec<u8>,
    dst: Vec<u8>,
    skew: usize,
    n: usize,
}

impl CopyBaseline {
    /// Buffers for copies of `n` bytes.
    pub fn new(n: usize) -> CopyBaseline {
        let src = vec![0x5a; n];
        let dst = vec![0; n + 4096];
        let (s, d) = (src.as_ptr() as usize % 4096, dst.as_ptr() as usize % 4096);
        let skew = (s + 2048 + 4096 - d) % 4096;
        CopyBaseline { src, dst, skew, n }
    }

    /// Copy the source into the destination twice, in a way the optimiser
    /// cannot drop.
    pub fn run(&mut self) {
        let dst = &mut self.dst[self.skew..self.skew + self.n];
        std::hint::black_box(&mut *dst).copy_from_slice(std::hint::black_box(&self.src));
        std::hint::black_box(&mut *dst).copy_from_slice(std::hint::black_box(&self.src));
    }
}

/// The machine a run is on, for a report's caption: CPU model, CPUs, kernel
/// release and load average (from `/proc`; what is missing is left out).
pub fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = read("/proc/sys/kernel/osrelease");
    let loadavg = read("/proc/loadavg");
    let load = read_load(&loadavg.split_whitespace().take(3).collect::<Vec<_>>());
    format!("{n} × {cpu}, Linux {}, load average {load}", kernel.trim())
}

fn read_load(fields: &[&str]) -> String {
    if fields.is_empty() {
        "unknown".into()
    } else {
        fields.join(" ")
    }
}

/// Now, in UTC, as `YYYY-MM-DD HH:MM UTC` (no date crate needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC` (the civil-from-days
/// algorithm of Howard Hinnant's date library).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_baseline_is_not_4k_aliased() {
        for n in [4096, 65536, 100_000] {
            let c = CopyBaseline::new(n);
            let d = c.dst[c.skew..].as_ptr() as usize;
            assert_eq!(d.wrapping_sub(c.src.as_ptr() as usize) % 4096, 2048, "{n}");
        }
    }

    #[test]
    fn dates_and_the_machine_read_right() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3600 + 120), "2000-02-29 01:02 UTC");
        assert_eq!(utc(1_796_083_200), "2026-12-01 00:00 UTC");
        assert!(utc_now().ends_with(" UTC"));
        assert!(machine().contains("load average"));
        assert_eq!(read_load(&[]), "unknown");
    }
}

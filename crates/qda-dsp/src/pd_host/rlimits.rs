//! The resource limits of PD hosts: safe defaults, set for the whole
//! process by whoever starts DSPs (qdad from its policy's `[pd]` table) and
//! handed to each new host in `QDA_PD_RLIMITS`, which the host applies
//! before it serves (each limit only where it lowers the inherited one).

use std::sync::Mutex;

use rustix::process::Resource;

/// The variable a PD host reads its limits from.
pub const ENV: &str = "QDA_PD_RLIMITS";

/// What a PD host may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdLimits {
    /// `RLIMIT_NOFILE`. The host keeps at most 64 files mapped plus what
    /// requests in flight carry (at most 253 each): 4096 by default.
    pub open_files: u64,
    /// `RLIMIT_AS` in bytes: 64 GiB by default — generous for mappings of
    /// buffers and malloc's per-thread arenas, it stops a runaway skel before
    /// the machine's memory does (a skel built with a sanitizer that
    /// reserves terabytes of shadow would not start).
    pub address_space: u64,
    /// `RLIMIT_CPU` in seconds of CPU time (`None`: not limited, the
    /// default; a PD serves for as long as its session lives). Past it the
    /// kernel kills the host, and its session's calls fail.
    pub cpu_seconds: Option<u64>,
}

impl Default for PdLimits {
    fn default() -> PdLimits {
        PdLimits {
            open_files: 4096,
            address_space: 64 << 30,
            cpu_seconds: None,
        }
    }
}

impl PdLimits {
    /// The limits as `(resource, maximum)`: these, and no core files (a
    /// PD's memory holds its clients' buffers). `RLIMIT_NPROC` is per user,
    /// not per process: it would limit the daemon's user, and is not set.
    pub fn resources(&self) -> Vec<(Resource, u64)> {
        let mut v = vec![
            (Resource::Core, 0),
            (Resource::Nofile, self.open_files),
            (Resource::As, self.address_space),
        ];
        if let Some(s) = self.cpu_seconds {
            v.push((Resource::Cpu, s));
        }
        v
    }

    /// The value of [`ENV`] for these limits.
    pub fn to_env(&self) -> String {
        let mut s = format!("nofile={},as={}", self.open_files, self.address_space);
        if let Some(c) = self.cpu_seconds {
            s.push_str(&format!(",cpu={c}"));
        }
        s
    }

    /// Limits from a value of [`ENV`]: what it names over the defaults.
    pub fn from_env(v: &str) -> Result<PdLimits, String> {
        let mut l = PdLimits::default();
        for item in v.split(',').filter(|s| !s.is_empty()) {
            let (k, n) = item
                .split_once('=')
                .ok_or_else(|| format!("{ENV}: '{item}' is not name=value"))?;
            let n: u64 = n.parse().map_err(|_| format!("{ENV}: {k}={n} is not a number"))?;
            match k {
                "nofile" => l.open_files = n,
                "as" => l.address_space = n,
                "cpu" => l.cpu_seconds = Some(n),
                _ => return Err(format!("{ENV}: unknown limit '{k}' (nofile, as, cpu)")),
            }
        }
        if l.open_files < 16 {
            return Err(format!(
                "{ENV}: nofile={} leaves a PD host no room to work",
                l.open_files
            ));
        }
        Ok(l)
    }
}

static LIMITS: Mutex<Option<PdLimits>> = Mutex::new(None);

/// Start the PD hosts of this process from now on with `limits`.
pub fn set_pd_limits(limits: PdLimits) {
    *qda_rt::lock(&LIMITS) = Some(limits);
}

/// The limits new PD hosts get.
pub fn pd_limits() -> PdLimits {
    qda_rt::lock(&LIMITS).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_through_the_environment() {
        let l = PdLimits {
            open_files: 64,
            address_space: 1 << 30,
            cpu_seconds: Some(30),
        };
        assert_eq!(PdLimits::from_env(&l.to_env()), Ok(l));
        assert_eq!(PdLimits::from_env(""), Ok(PdLimits::default()));
        assert!(PdLimits::from_env("nofile=8").is_err(), "too few to work");
        assert!(PdLimits::from_env("stack=1").unwrap_err().contains("unknown"));
        assert!(PdLimits::from_env("as=lots").unwrap_err().contains("number"));
        assert_eq!(PdLimits::default().resources().len(), 3, "no CPU limit by default");
    }
}

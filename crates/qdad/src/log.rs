//! Logging for qda's programs (`qdad`, `qda`): `tracing` events, filtered
//! the usual way. `QDA_LOG` (else `RUST_LOG`) holds the filter, in
//! `tracing_subscriber::EnvFilter` syntax (default `warn`); `--trace` adds
//! `qda::trace=info`, the target every decoded FastRPC call, connect and
//! disconnect is logged under, so `QDA_LOG=qda::trace=info` is `--trace`
//! by another name.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::time::uptime;

/// The target of the call trace.
pub const TRACE_TARGET: &str = "qda::trace";

/// The filter: `QDA_LOG`, else `RUST_LOG`, else `warn`; with `trace`, also
/// the call trace. A filter that does not parse is reported and replaced
/// by the default.
pub fn filter(trace: bool) -> EnvFilter {
    let spec = ["QDA_LOG", "RUST_LOG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()).map(|s| (*v, s)));
    let mut f = match spec {
        None => EnvFilter::new("warn"),
        Some((var, s)) => EnvFilter::try_new(&s).unwrap_or_else(|e| {
            eprintln!("ignoring {var}={s}: {e}");
            EnvFilter::new("warn")
        }),
    };
    if trace {
        f = f.add_directive(format!("{TRACE_TARGET}=info").parse().expect("a valid directive"));
    }
    f
}

/// Install the subscriber: events on stderr, time since start, no colour.
/// A second call (a subscriber already set) changes nothing.
pub fn init(trace: bool) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(trace))
        .with_writer(std::io::stderr)
        .with_timer(uptime())
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Whether the call trace is on (by `--trace` or by a filter).
pub fn tracing_calls() -> bool {
    tracing::enabled!(target: TRACE_TARGET, tracing::Level::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_adds_its_target_to_the_filter() {
        assert!(filter(true).to_string().contains("qda::trace=info"));
        assert!(!filter(false).to_string().contains("qda::trace"));
    }
}

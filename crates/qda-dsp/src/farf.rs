//! Where a skel's `FARF()` lines go.
//!
//! A line is `<LEVEL> <file>:<line>: <message>`. In a thread PD (or a Rust
//! embedding) it is written to this process's stderr and, for a tracing
//! subscriber that listens (`qdad --trace`, `QDA_LOG=qda::trace=info`),
//! emitted as an event at target `qda::trace`. A PD host sends its lines to
//! the DSP over its socket (`crate::pd_wire`), which emits them the same way
//! with the PD's name.
//!
//! When the calling PD's client process runs a listener (`crate::reverse`),
//! a thread PD's line goes there instead (`crate::runtime` sends it), as `apps_std_print_string` with
//! the line and a newline: it reaches the client process's stderr (as with
//! libfastrpc's listener), not the DSP's.
//!
//! Levels are the SDK's (`HAP_farf.h`): LOW 0, MEDIUM 1, HIGH 2, ERROR 3,
//! FATAL 4 (ALWAYS logs at HIGH); `HAP_LEVEL_RUNTIME` (1 << 5) marks a
//! run-time FARF (`FARF(RUNTIME_HIGH, …)`), dropped unless
//! `QDA_FARF_RUNTIME` is set to a non-empty value other than `0`.

use std::sync::OnceLock;

/// `HAP_LEVEL_RUNTIME`.
pub const LEVEL_RUNTIME: i32 = 1 << 5;

/// The name of a FARF level.
pub fn level_name(level: i32) -> &'static str {
    match level & !LEVEL_RUNTIME {
        0 => "LOW",
        1 => "MEDIUM",
        2 => "HIGH",
        3 => "ERROR",
        4 => "FATAL",
        _ => "FARF",
    }
}

/// One FARF line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farf {
    /// `HAP_LEVEL_*`, with [`LEVEL_RUNTIME`] for run-time FARFs.
    pub level: i32,
    /// The source file the skel names.
    pub file: String,
    /// The source line.
    pub line: i32,
    /// The formatted message.
    pub msg: String,
}

impl Farf {
    /// The line as written to stderr.
    pub fn text(&self) -> String {
        format!("{} {}:{}: {}", level_name(self.level), self.file, self.line, self.msg)
    }
}

/// Where this process sends FARF lines instead of emitting them (a PD host:
/// to its DSP).
type Sink = Box<dyn Fn(&Farf) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Send this process's FARF lines to `sink` (once).
pub(crate) fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Run-time FARF levels are on (`QDA_FARF_RUNTIME`).
fn runtime_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("QDA_FARF_RUNTIME").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// Whether `f` is logged at all (run-time levels only when on).
pub(crate) fn wanted(f: &Farf) -> bool {
    f.level & LEVEL_RUNTIME == 0 || runtime_on()
}

/// A skel of this process logged `f` (and no listener took it, see
/// `crate::runtime`).
pub(crate) fn log(f: &Farf) {
    if !wanted(f) {
        return;
    }
    match SINK.get() {
        Some(s) => s(f),
        None => emit(None, f),
    }
}

/// Write `f` to stderr and the `qda::trace` target; `pd` names the PD
/// process it came from.
pub(crate) fn emit(pd: Option<&str>, f: &Farf) {
    let text = f.text();
    match pd {
        Some(pd) => eprintln!("[{pd}] {text}"),
        None => eprintln!("{text}"),
    }
    trace(pd, f);
}

/// Emit `f` at the `qda::trace` target only (a line the client's listener
/// printed: `qdad --trace` still shows it).
pub(crate) fn trace(pd: Option<&str>, f: &Farf) {
    let pd = pd.unwrap_or("");
    let (level, file, line, msg) = (level_name(f.level), f.file.as_str(), f.line, f.msg.as_str());
    if f.level & !LEVEL_RUNTIME >= 3 {
        tracing::warn!(target: "qda::trace", farf = level, pd, file, line, "FARF {msg}");
    } else {
        tracing::info!(target: "qda::trace", farf = level, pd, file, line, "FARF {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_their_level_file_and_line() {
        let f = Farf {
            level: 2,
            file: "x_skel.c".into(),
            line: 12,
            msg: "hello 42".into(),
        };
        assert_eq!(f.text(), "HIGH x_skel.c:12: hello 42");
        assert_eq!(level_name(LEVEL_RUNTIME | 3), "ERROR");
        assert_eq!(level_name(0), "LOW");
        assert_eq!(level_name(99), "FARF");
    }
}

//! The call trace: every completed FastRPC call, decoded.

use super::*;

/// One completed FastRPC call, decoded, as a trace event.
pub(super) fn trace_call(c: &CallTrace<'_>) {
    let sc = qda_proto::Scalars(c.msg.sc);
    let (conn, pid) = CLIENT.get();
    let arg = |i: usize| {
        let fd = if c.by_fd.get(i).copied().unwrap_or(false) {
            " fd"
        } else {
            ""
        };
        format!("{}{fd}", c.lens.get(i).copied().unwrap_or(0))
    };
    let nin = sc.inbufs() as usize;
    let nb = sc.nbufs();
    let ins: Vec<String> = (0..nin).map(arg).collect();
    let outs: Vec<String> = (nin..nb).map(arg).collect();
    let result = match c.result {
        Ok(0) => "0".to_string(),
        Ok(v) => format!("0x{:08x} {}", v as u32, qda_uapi::aee::AeeCode(v as u32)),
        Err(e) => format!("errno {} ({})", e.0, std::io::Error::from_raw_os_error(e.0)),
    };
    let who = if conn == 0 {
        "kernel".to_string()
    } else {
        format!("#{conn} pid {pid}")
    };
    tracing::info!(
        target: TRACE_TARGET,
        "{}",
        format_args!(
            "{} {who} client {} tid {} {}handle 0x{:x} method {} sc 0x{:08x} in [{}] out [{}] payload {} -> {result} in {} µs",
            c.domain,
            c.msg.client_id,
            c.msg.tid,
            if c.kernel { "kernel-call " } else { "" },
            c.msg.handle,
            sc.method(),
            c.msg.sc,
            ins.join(", "),
            outs.join(", "),
            c.msg.size,
            c.elapsed.as_micros()
        ),
    );
}

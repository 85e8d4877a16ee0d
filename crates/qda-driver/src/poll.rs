//! Poll mode's two ioctls (registered in [`crate::ioctl`]'s table, kept
//! here to keep that file short): the legacy node's proposed `SET_OPTION`
//! poll option and the accel node's `DRM_IOCTL_QDA_SET_POLL`, a qda
//! extension. Both set the file's [`crate::rpc::RpcState::poll`]; the wait
//! is [`crate::fastrpc::Channel::call_polled`]. See `docs/DRIVER.md`.

use qda_ioctl as spec;
use qda_uapi::{fastrpc as uf, qda as uq};

use crate::errno::{Result, einval};
use crate::file::File;
use crate::ioctl::{Serve, UserArg};

/// Set a file's poll mode: the spin budget of its user calls to dynamic
/// handles (`None`: sleep mode). See `docs/DRIVER.md`, "Poll mode".
fn set_poll(f: &File, budget: Option<std::time::Duration>) -> Result<i64> {
    let rpc = f
        .rpc_state()
        .expect("poll ioctls are dispatched on accel and fastrpc files");
    rpc.poll.set(budget);
    Ok(0)
}

impl Serve<File> for spec::FastrpcIoctlSetOptionCmd {
    fn serve(f: &File, a: &mut UserArg<'_, uf::FastrpcIoctlSetOption>) -> Result<i64> {
        let o = a.get()?;
        // As proposed: the one request id, reserved all zero, else EINVAL;
        // value 0 turns poll mode off, any other value on (with qda's
        // budget: the proposal's value carries no time).
        if o.req != uf::FASTRPC_POLL_MODE {
            return Err(einval(format!(
                "SET_OPTION: request {} is not FASTRPC_POLL_MODE ({})",
                o.req,
                uf::FASTRPC_POLL_MODE
            )));
        }
        if o.reserved != [0; 6] {
            return Err(einval("SET_OPTION: reserved words must be 0"));
        }
        set_poll(f, (o.value != 0).then_some(crate::fastrpc::DEFAULT_POLL_BUDGET))
    }
}

impl Serve<File> for spec::DrmIoctlQdaSetPoll {
    fn serve(f: &File, a: &mut UserArg<'_, uq::DrmQdaSetPoll>) -> Result<i64> {
        let p = a.get()?;
        if p.flags != 0 {
            return Err(einval(format!("QDA_SET_POLL: flags {:#x}, must be 0", p.flags)));
        }
        if p.budget_us > uq::QDA_POLL_BUDGET_MAX_US {
            return Err(einval(format!(
                "QDA_SET_POLL: budget {} µs is above {} µs",
                p.budget_us,
                uq::QDA_POLL_BUDGET_MAX_US
            )));
        }
        set_poll(
            f,
            (p.budget_us != 0).then(|| std::time::Duration::from_micros(u64::from(p.budget_us))),
        )
    }
}

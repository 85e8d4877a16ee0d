//! PD hosts under another user: the mechanism a daemon running as root
//! uses to keep its skels off root (and off its own uid).
//!
//! [`run_pd_hosts_as`] sets, for the whole process, the user new PD hosts
//! run as; the DSP's child then, between `fork` and `exec`, drops every
//! supplementary group (`setgroups(0)`), then sets its gid, then its uid
//! (std's `CommandExt::gid`/`uid`, in that order). Only a root DSP can do
//! that: elsewhere starting a PD fails (`EPERM`) while a user is set. The
//! host needs nothing of the DSP's user: its socket is its standard input
//! and buffers come as descriptors (`SCM_RIGHTS`); the host program and
//! the library search directories must be readable by that user.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Mutex;

/// A user and group to run PD hosts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdUser {
    /// The user id.
    pub uid: u32,
    /// The (only) group id.
    pub gid: u32,
}

impl PdUser {
    /// `spec` as a user: `UID:GID` (numbers), or a user name of
    /// `/etc/passwd` (its uid and primary group). Root (uid or gid 0) is
    /// refused: running PD hosts as root is what this avoids.
    pub fn parse(spec: &str) -> Result<PdUser, String> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        PdUser::parse_with(spec, &passwd)
    }

    /// [`PdUser::parse`] with the text of the `passwd` file given.
    pub fn parse_with(spec: &str, passwd: &str) -> Result<PdUser, String> {
        let spec = spec.trim();
        let user = if let Some((u, g)) = spec.split_once(':') {
            let num = |s: &str, what: &str| {
                s.parse::<u32>()
                    .map_err(|_| format!("PD user '{spec}': the {what} is not a number"))
            };
            PdUser {
                uid: num(u, "uid")?,
                gid: num(g, "gid")?,
            }
        } else {
            if spec.is_empty() || spec.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("PD user '{spec}': give UID:GID or a user name"));
            }
            passwd
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 4 && f[0] == spec).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
                })
                .map(|(uid, gid)| PdUser { uid, gid })
                .next()
                .ok_or_else(|| format!("PD user '{spec}': no such user in /etc/passwd"))?
        };
        if user.uid == 0 || user.gid == 0 {
            return Err(format!("PD user '{spec}': root (uid or gid 0) is what PD users avoid"));
        }
        Ok(user)
    }

    /// Make `cmd` run as this user (groups dropped, gid, then uid).
    pub(crate) fn apply(&self, cmd: &mut Command) {
        cmd.gid(self.gid).uid(self.uid);
    }
}

/// The user new PD hosts run as (`None`: the DSP's own).
static PD_USER: Mutex<Option<PdUser>> = Mutex::new(None);

/// Run the PD hosts started from now on as `user` (`None`: as this
/// process's user). Needs root (see the [module documentation](self)).
pub fn run_pd_hosts_as(user: Option<PdUser>) {
    *qda_rt::lock(&PD_USER) = user;
}

/// The user PD hosts run as, if another.
pub fn pd_user() -> Option<PdUser> {
    *qda_rt::lock(&PD_USER)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                          broken:x:abc:1::/:\n\
                          qda-pd:x:990:985::/var/lib/qda:/usr/sbin/nologin\n";

    #[test]
    fn pd_users_parse_and_root_is_refused() {
        let p = |s| PdUser::parse_with(s, PASSWD);
        assert_eq!(p("1000:1000"), Ok(PdUser { uid: 1000, gid: 1000 }));
        assert_eq!(p(" 990:985 "), Ok(PdUser { uid: 990, gid: 985 }));
        assert_eq!(p("nobody"), Ok(PdUser { uid: 65534, gid: 65534 }));
        assert_eq!(p("qda-pd"), Ok(PdUser { uid: 990, gid: 985 }));
        for bad in [
            "", "1000", "root", "0:1000", "1000:0", "a:b", "1000:", "missing", "broken", "1:2:3",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        // (The process-wide setting is not touched here: other tests of
        // this binary start PD hosts.)
    }
}

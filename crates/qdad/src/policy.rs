//! Privilege levels: who may do what through the daemon, as the kernel's
//! device file modes and its privileged paths decide it on a device.
//!
//! A policy names trusted uids (everything allowed, as root or the
//! platform's own user on a device) and the rights of everyone else; a
//! `[uid.N]` table gives one uid its own rights. The defaults are safe:
//! the daemon's user and root are trusted; others may run signed and
//! unsigned user PDs on the non-secure nodes, within quotas, and may not
//! open secure nodes, attach the root or sensors PD, or start static PDs.
//!
//! ```toml
//! trusted_uids = [0, 1000]
//!
//! [others]
//! secure_nodes = false
//! attach_root = false
//! attach_sensors = false
//! static_pds = false
//! unsigned_pds = true
//! signed_pds = true
//! max_files = 8
//! max_calls = 16
//! max_memory = 1073741824
//! max_fds = 256
//!
//! [uid.1001]
//! unsigned_pds = false
//!
//! [pd]                       # every PD host's resource limits
//! open_files = 4096
//! address_space = 68719476736
//! cpu_seconds = 3600         # left out: no CPU limit
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// What a uid may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rights {
    /// Open `/dev/fastrpc-*-secure` (signed PDs on a secure channel).
    pub secure_nodes: bool,
    /// Attach the root PD (`FASTRPC_IOCTL_INIT_ATTACH`, the RFC's
    /// `DRM_IOCTL_QDA_INIT_ATTACH`).
    pub attach_root: bool,
    /// Attach the sensors PD (`FASTRPC_IOCTL_INIT_ATTACH_SNS`).
    pub attach_sensors: bool,
    /// Start static PDs (`FASTRPC_IOCTL_INIT_CREATE_STATIC`: audio, sensors).
    pub static_pds: bool,
    /// Create unsigned user PDs (`FASTRPC_MODE_UNSIGNED_MODULE`).
    pub unsigned_pds: bool,
    /// Create signed user PDs.
    pub signed_pds: bool,
    /// Device files open at once, all connections of the uid together.
    pub max_files: usize,
    /// Calls in flight at once, all connections of the uid together.
    pub max_calls: usize,
    /// Bytes of buffers the uid's files hold at once (GEM, dma-heap,
    /// `ALLOC_DMA_BUFF`), until the memory is freed.
    pub max_memory: u64,
    /// Fds the uid's requests carry at once (counted on arrival).
    pub max_fds: usize,
}

impl Rights {
    /// Everything, without quotas.
    pub const ALL: Rights = Rights {
        secure_nodes: true,
        attach_root: true,
        attach_sensors: true,
        static_pds: true,
        unsigned_pds: true,
        signed_pds: true,
        max_files: usize::MAX,
        max_calls: usize::MAX,
        max_memory: u64::MAX,
        max_fds: usize::MAX,
    };
}

impl Default for Rights {
    /// An untrusted uid's: user PDs on the non-secure nodes, within quotas.
    fn default() -> Rights {
        Rights {
            secure_nodes: false,
            attach_root: false,
            attach_sensors: false,
            static_pds: false,
            unsigned_pds: true,
            signed_pds: true,
            max_files: 8,
            max_calls: 16,
            max_memory: 1 << 30,
            max_fds: 256,
        }
    }
}

/// A uid's own rights: any field left out is the `[others]` value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RightsOverride {
    secure_nodes: Option<bool>,
    attach_root: Option<bool>,
    attach_sensors: Option<bool>,
    static_pds: Option<bool>,
    unsigned_pds: Option<bool>,
    signed_pds: Option<bool>,
    max_files: Option<usize>,
    max_calls: Option<usize>,
    max_memory: Option<u64>,
    max_fds: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PolicyFile {
    trusted_uids: Option<Vec<u32>>,
    others: Rights,
    uid: BTreeMap<String, RightsOverride>,
    pd: PdTable,
}

/// The `[pd]` table: PD hosts' resource limits; left out, the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PdTable {
    open_files: Option<u64>,
    address_space: Option<u64>,
    cpu_seconds: Option<u64>,
}

/// Who may do what.
#[derive(Debug, Clone)]
pub struct Policy {
    trusted: Vec<u32>,
    others: Rights,
    per_uid: BTreeMap<u32, Rights>,
    /// Every PD host's resource limits.
    pub pd_limits: qda_dsp::pd_host::PdLimits,
}

impl Policy {
    /// The safe default: the daemon's user and root are trusted, everyone
    /// else has [`Rights::default`].
    pub fn default_for_daemon() -> Policy {
        let me = rustix::process::getuid().as_raw();
        Policy {
            trusted: if me == 0 { vec![0] } else { vec![0, me] },
            others: Rights::default(),
            per_uid: BTreeMap::new(),
            pd_limits: Default::default(),
        }
    }

    /// A policy trusting `trusted` and giving everyone else `others`.
    pub fn new(trusted: Vec<u32>, others: Rights) -> Policy {
        Policy {
            trusted,
            others,
            per_uid: BTreeMap::new(),
            pd_limits: Default::default(),
        }
    }

    /// Read a policy file (TOML, see the module documentation). Fields left
    /// out keep their defaults; unknown fields are errors, naming the file.
    pub fn from_file(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        Policy::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse a policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Policy, String> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
        let mut p = Policy::default_for_daemon();
        if let Some(t) = f.trusted_uids {
            p.trusted = t;
        }
        p.others = f.others;
        let d = qda_dsp::pd_host::PdLimits::default();
        p.pd_limits = qda_dsp::pd_host::PdLimits {
            open_files: f.pd.open_files.unwrap_or(d.open_files),
            address_space: f.pd.address_space.unwrap_or(d.address_space),
            cpu_seconds: f.pd.cpu_seconds.or(d.cpu_seconds),
        };
        if p.pd_limits.open_files < 16 {
            return Err(format!(
                "[pd] open_files = {}: a PD host needs at least 16",
                p.pd_limits.open_files
            ));
        }
        for (uid, o) in f.uid {
            let uid: u32 = uid.parse().map_err(|_| format!("[uid.{uid}]: a uid is a number"))?;
            let b = p.others;
            p.per_uid.insert(
                uid,
                Rights {
                    secure_nodes: o.secure_nodes.unwrap_or(b.secure_nodes),
                    attach_root: o.attach_root.unwrap_or(b.attach_root),
                    attach_sensors: o.attach_sensors.unwrap_or(b.attach_sensors),
                    static_pds: o.static_pds.unwrap_or(b.static_pds),
                    unsigned_pds: o.unsigned_pds.unwrap_or(b.unsigned_pds),
                    signed_pds: o.signed_pds.unwrap_or(b.signed_pds),
                    max_files: o.max_files.unwrap_or(b.max_files),
                    max_calls: o.max_calls.unwrap_or(b.max_calls),
                    max_memory: o.max_memory.unwrap_or(b.max_memory),
                    max_fds: o.max_fds.unwrap_or(b.max_fds),
                },
            );
        }
        Ok(p)
    }

    /// The rights of `uid`.
    pub fn rights(&self, uid: u32) -> Rights {
        if self.trusted.contains(&uid) {
            return Rights::ALL;
        }
        self.per_uid.get(&uid).copied().unwrap_or(self.others)
    }
}

/// What a request needs, beyond what every client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Attach the root PD.
    AttachRoot,
    /// Attach the sensors PD.
    AttachSensors,
    /// Start a static PD.
    StaticPd,
    /// Create a user PD, unsigned or signed.
    CreatePd {
        /// `FASTRPC_MODE_UNSIGNED_MODULE` was asked for.
        unsigned: bool,
    },
}

impl Need {
    /// Whether `r` allows it.
    pub fn allowed(self, r: &Rights) -> bool {
        match self {
            Need::AttachRoot => r.attach_root,
            Need::AttachSensors => r.attach_sensors,
            Need::StaticPd => r.static_pds,
            Need::CreatePd { unsigned: true } => r.unsigned_pds,
            Need::CreatePd { unsigned: false } => r.signed_pds,
        }
    }

    /// What it is, for a refusal.
    pub fn what(self) -> &'static str {
        match self {
            Need::AttachRoot => "attach the root PD",
            Need::AttachSensors => "attach the sensors PD",
            Need::StaticPd => "start static PDs",
            Need::CreatePd { unsigned: true } => "create unsigned PDs",
            Need::CreatePd { unsigned: false } => "create signed PDs",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_trust_root_and_restrict_others() {
        let p = Policy::default_for_daemon();
        assert_eq!(p.rights(0), Rights::ALL);
        let r = p.rights(4242);
        assert!(!r.secure_nodes && !r.attach_root && !r.attach_sensors && !r.static_pds);
        assert!(r.unsigned_pds && r.signed_pds);
    }

    #[test]
    fn a_file_sets_trust_others_and_single_uids() {
        let p = Policy::from_toml(
            "trusted_uids = [7]\n[others]\nmax_files = 2\n[uid.1001]\nunsigned_pds = false\nsecure_nodes = true\n",
        )
        .unwrap();
        assert_eq!(p.rights(7), Rights::ALL);
        assert_eq!(p.rights(0).max_files, 2, "root is not trusted unless listed");
        let u = p.rights(1001);
        assert!(!u.unsigned_pds && u.secure_nodes && u.signed_pds);
        assert_eq!(u.max_files, 2, "left-out fields are the others' values");
    }

    #[test]
    fn mistakes_in_a_file_are_named() {
        let e = Policy::from_toml("[others]\nsecure_node = true\n").unwrap_err();
        assert!(e.contains("secure_node"), "{e}");
        let e = Policy::from_toml("[uid.bob]\nattach_root = true\n").unwrap_err();
        assert!(e.contains("uid.bob"), "{e}");
    }

    #[test]
    fn pd_limits_come_from_the_pd_table() {
        let p = Policy::from_toml("[pd]\nopen_files = 512\ncpu_seconds = 60\n").unwrap();
        assert_eq!(p.pd_limits.open_files, 512);
        assert_eq!(p.pd_limits.cpu_seconds, Some(60));
        assert_eq!(p.pd_limits.address_space, 64 << 30, "left out: the default");
        assert!(Policy::from_toml("[pd]\nopen_files = 3\n").unwrap_err().contains("16"));
        assert!(Policy::from_toml("[pd]\nstack = 3\n").is_err(), "unknown field");
        assert_eq!(Policy::from_toml("").unwrap().pd_limits, Default::default());
    }
}

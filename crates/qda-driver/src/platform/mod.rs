//! The board: DSP domains, their context banks, and reserved memory, read
//! from a flattened device tree or built in.
//!
//! A board is what the kernel learns from its device tree before any FastRPC
//! or QDA code runs:
//!
//! * every `qcom,fastrpc` (or `qcom,kaanapali-fastrpc`) node is one rpmsg
//!   channel, i.e. one DSP domain ([`DomainDesc`]), wherever it sits in the
//!   tree (on real boards: `remoteproc@…/glink-edge/fastrpc`);
//! * its `qcom,fastrpc-compute-cb` children are the SMMU context banks
//!   ([`CbDesc`]), `reg` being the stream id;
//! * the children of `/reserved-memory` are the carve-outs and pools
//!   ([`ReservedRegion`]) from which dma-heaps and the remote heap are made.
//!
//! [`Platform::from_dtb`] reads a blob (`crates/qda-driver/platforms/qda-virt.dtb`,
//! built in as [`BUILTIN_DTB`]) and refuses
//! a malformed one with the node path and property at fault;
//! [`Platform::builtin`] is the same virtual board without a blob.
//!
//! Nodes whose `status` (or an ancestor's) is neither `"okay"` nor `"ok"` are
//! ignored, as the kernel ignores disabled devices: SoC `.dtsi` files describe
//! every remote processor disabled and boards enable the ones they use.

mod blob;
mod builtin;
mod parse;
#[cfg(test)]
mod tests;

/// The built-in board as a device tree blob: `platforms/qda-virt.dtb` of
/// this crate, compiled from `qda-virt.dts`; it parses equal to
/// [`Platform::builtin`] (the platform tests check it). What a daemon sends
/// back as the DTB it booted when it was given none.
pub const BUILTIN_DTB: &[u8] = include_bytes!("../../platforms/qda-virt.dtb");

/// Most sessions a domain may have (`FASTRPC_MAX_SESSIONS` in the kernel):
/// one per compute-cb plus the `qcom,nsessions` duplicates.
pub const MAX_SESSIONS: usize = 14;

/// Most VMIDs in `qcom,vmids` (`FASTRPC_MAX_VMIDS`).
pub const MAX_VMIDS: usize = 16;

/// Most FastRPC domains a board may have: each takes an accel minor, and
/// the accel core has 256 (`ACCEL_MAX_MINORS`).
pub const MAX_DOMAINS: usize = 256;

/// Width of the physical address space a board may describe: every
/// reserved region (base and end) and every `alignment` lies within 2^48
/// bytes, the most an arm64 kernel with 4 KiB pages and 48-bit PAs reaches
/// (52-bit PA needs 64 KiB pages).
pub const PHYS_ADDR_BITS: u32 = 48;

/// Largest reserved region, by `reg` or `size`: 64 GiB. Real boards'
/// carve-outs and CMA areas are megabytes to a few GiB; the limit leaves
/// room for a large CMA area while refusing the sizes that are typos (a
/// cell too many) or hostile before any backend sizes itself on them.
pub const MAX_REGION_SIZE: u64 = 64 << 30;

/// The kernel's domain ids (`ADSP_DOMAIN_ID` … `GDSP_DOMAIN_ID`).
pub mod domain_id {
    /// Audio DSP.
    pub const ADSP: u32 = 0;
    /// Modem DSP.
    pub const MDSP: u32 = 1;
    /// Sensors DSP.
    pub const SDSP: u32 = 2;
    /// Compute DSP (also `cdsp1`).
    pub const CDSP: u32 = 3;
    /// General-purpose DSP (`gdsp0`, `gdsp1`).
    pub const GDSP: u32 = 4;
}

/// A board description: what the device tree says about the DSPs and memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Root `model`.
    pub model: String,
    /// Root `compatible`, most specific first.
    pub compatible: Vec<String>,
    /// The FastRPC channels, in device-tree order.
    pub domains: Vec<DomainDesc>,
    /// The available children of `/reserved-memory`, in device-tree order.
    pub reserved: Vec<ReservedRegion>,
    /// `qda,uapi-revision` of the FastRPC nodes (`"2026-02"` or
    /// `"2026-05"`): the QDA UAPI revision the accel nodes answer, unless
    /// `QDA_UAPI_REVISION` or `qdad --uapi-revision` says otherwise.
    pub uapi_revision: Option<qda_uapi::qda::Revision>,
}

/// The DTB property naming the QDA UAPI revision, on a `qcom,fastrpc` node.
pub const UAPI_REVISION_PROP: &str = "qda,uapi-revision";

/// One `qcom,fastrpc` node: a DSP domain reached over one rpmsg channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDesc {
    /// Full path of the `qcom,fastrpc` node.
    pub node_path: String,
    /// DT `label`: `"adsp"`, `"cdsp"`, `"cdsp1"`, `"sdsp"`, `"gdsp0"`, …
    pub label: String,
    /// `qcom,non-secure-domain` is present.
    pub non_secure: bool,
    /// Node name (e.g. `"adsp-rpc-remote-heap@9cb80000"`) of the reserved
    /// region the `memory-region` phandle points to.
    pub memory_region: Option<String>,
    /// `qcom,vmids`: VMs the remote heap is shared with.
    pub vmids: Vec<u32>,
    /// `qcom,fastrpc-compute-cb` children, in device-tree order.
    pub cbs: Vec<CbDesc>,
}

/// One `qcom,fastrpc-compute-cb` node: an SMMU context bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbDesc {
    /// Full path of the compute-cb node.
    pub node_path: String,
    /// `reg`: the stream id.
    pub sid: u32,
    /// `qcom,nsessions` (default 1): legacy sessions sharing this CB.
    pub nsessions: u32,
    /// `dma-coherent` is present.
    pub dma_coherent: bool,
}

/// One child of `/reserved-memory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedRegion {
    /// Full path, e.g. `"/reserved-memory/dsp-pool@8b000000"`.
    pub node_path: String,
    /// Full node name with unit address, e.g. `"dsp-pool@8b000000"`; this is
    /// the dma-heap name.
    pub name: String,
    /// First `reg` entry `(base, size)`: a static region.
    pub reg: Option<(u64, u64)>,
    /// Size in bytes: from `reg` when present, else from `size`.
    pub size: u64,
    /// `alignment` (for dynamically placed regions).
    pub alignment: Option<u64>,
    /// `compatible`.
    pub compatible: Vec<String>,
    /// `reusable`: the OS may use the memory while no device does (CMA).
    pub reusable: bool,
    /// `no-map`: not in the kernel's linear map; no CPU mappings.
    pub no_map: bool,
    /// `linux,cma-default`: the default CMA area.
    pub cma_default: bool,
    /// `phandle`, if anything refers to the region.
    pub phandle: Option<u32>,
}

/// A device tree the board cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The bytes are not a well-formed flattened device tree.
    #[error("not a valid device tree blob: {reason}")]
    Dtb {
        /// What is wrong, with the offset where it helps.
        reason: String,
    },
    /// A property of a node is missing or malformed.
    #[error("{node}: property \"{property}\": {reason}")]
    Property {
        /// Full node path.
        node: String,
        /// Property name.
        property: String,
        /// What is wrong.
        reason: String,
    },
    /// A node is wrong as a whole.
    #[error("{node}: {reason}")]
    Node {
        /// Full node path.
        node: String,
        /// What is wrong.
        reason: String,
    },
}

impl DomainDesc {
    /// The kernel's domain id for [`label`](Self::label): the first four
    /// characters are compared with `adsp`, `mdsp`, `sdsp`, `cdsp`, `gdsp`
    /// (so `cdsp1` is 3, `gdsp0` and `gdsp1` are 4). `None` when none match
    /// (the kernel refuses the channel: "Invalid Domain ID").
    pub fn domain_id(&self) -> Option<u32> {
        domain_id_of(&self.label)
    }

    /// The `/dev` names misc/fastrpc registers for this domain, without
    /// `/dev/`: ADSP, MDSP and SDSP get one node, `fastrpc-<label>-secure`,
    /// or `fastrpc-<label>` with `qcom,non-secure-domain`; CDSP and GDSP get
    /// both, secure first. Empty for an unknown domain.
    pub fn legacy_node_names(&self) -> Vec<String> {
        let secure = format!("fastrpc-{}-secure", self.label);
        let plain = format!("fastrpc-{}", self.label);
        match self.domain_id() {
            Some(domain_id::CDSP | domain_id::GDSP) => vec![secure, plain],
            Some(_) if self.non_secure => vec![plain],
            Some(_) => vec![secure],
            None => Vec::new(),
        }
    }

    /// Whether the channel may run unsigned protection domains (CDSP and
    /// GDSP only).
    pub fn unsigned_pd_support(&self) -> bool {
        matches!(self.domain_id(), Some(domain_id::CDSP | domain_id::GDSP))
    }

    /// Legacy sessions: the sum of the context banks' `qcom,nsessions`.
    pub fn sessions(&self) -> usize {
        self.cbs.iter().map(|c| c.nsessions as usize).sum()
    }
}

/// The domain id the kernel derives from a label; see [`DomainDesc::domain_id`].
pub fn domain_id_of(label: &str) -> Option<u32> {
    match label.as_bytes().get(..4)? {
        b"adsp" => Some(domain_id::ADSP),
        b"mdsp" => Some(domain_id::MDSP),
        b"sdsp" => Some(domain_id::SDSP),
        b"cdsp" => Some(domain_id::CDSP),
        b"gdsp" => Some(domain_id::GDSP),
        _ => None,
    }
}

impl ReservedRegion {
    /// Whether `compatible` lists `shared-dma-pool` (the only regions that
    /// become DMA pools and heaps).
    pub fn is_shared_dma_pool(&self) -> bool {
        self.compatible.iter().any(|c| c == "shared-dma-pool")
    }

    /// The physical base of a static region; `None` for a region placed at
    /// boot (`size` without `reg`).
    pub fn base(&self) -> Option<u64> {
        self.reg.map(|(base, _)| base)
    }
}

impl Platform {
    /// Reads a board from a flattened device tree blob.
    ///
    /// Never panics. A blob that is not well-formed (truncated, offsets or
    /// lengths out of range, bad tokens, non-UTF-8 names, `FDT_NOP` tokens,
    /// nesting deeper than 63) is [`PlatformError::Dtb`]; it is checked
    /// before the `fdt` crate reads it, because that crate panics on such
    /// input.
    ///
    /// A tree the drivers would refuse, or that would make them misbehave, is
    /// [`PlatformError::Property`] (node path and property) or
    /// [`PlatformError::Node`] (node path):
    ///
    /// * fastrpc node: `label` missing, not naming a domain
    ///   ([`domain_id_of`]), or used twice; `qcom,vmids` longer than
    ///   [`MAX_VMIDS`]; `memory-region` whose first phandle is not an
    ///   available `/reserved-memory` child;
    /// * compute-cb: `reg` missing (both kernel drivers would silently use
    ///   SID 0), a SID used twice in the domain, `qcom,nsessions = <0>`; the
    ///   compute-cb that takes the domain past [`MAX_SESSIONS`] sessions is a
    ///   [`PlatformError::Node`] error;
    /// * `/reserved-memory`: `#address-cells`/`#size-cells` missing or not 1
    ///   or 2; a child with neither `reg` nor `size` (a
    ///   [`PlatformError::Node`] error), a size of zero or one that wraps, a
    ///   `reg`/`size`/`alignment` of the wrong number of cells, an
    ///   `alignment` that is not a power of two, `no-map` with `reusable`, a
    ///   second `linux,cma-default`, a duplicate node name;
    /// * limits, checked before any backend sizes itself on them: a region
    ///   larger than [`MAX_REGION_SIZE`] (by `reg` or `size`), a `reg` that
    ///   ends past the [`PHYS_ADDR_BITS`]-bit physical address space, an
    ///   `alignment` larger than that space, a `shared-dma-pool` whose `reg`
    ///   base is not page aligned; more than [`MAX_DOMAINS`]
    ///   FastRPC nodes (a [`PlatformError::Node`] error on the first one too
    ///   many);
    /// * any cell property (`reg`, `qcom,nsessions`, `qcom,vmids`,
    ///   `memory-region`, …) whose length is not a multiple of 4, and any
    ///   string property read (`label`, `compatible`, `model`, `status`) that
    ///   is not NUL-terminated UTF-8.
    pub fn from_dtb(bytes: &[u8]) -> Result<Platform, PlatformError> {
        blob::check(bytes)?;
        parse::platform(bytes)
    }

    /// The virtual board of `crates/qda-driver/platforms/qda-virt.dts`, built without parsing.
    pub fn builtin() -> Platform {
        builtin::qda_virt()
    }

    /// The blob of the built-in board ([`BUILTIN_DTB`]).
    pub fn builtin_dtb() -> &'static [u8] {
        BUILTIN_DTB
    }

    /// The domain with this DT label.
    pub fn domain(&self, label: &str) -> Option<&DomainDesc> {
        self.domains.iter().find(|d| d.label == label)
    }

    /// The reserved region with this node name (e.g. `"dsp-pool@8b000000"`).
    pub fn region(&self, name: &str) -> Option<&ReservedRegion> {
        self.reserved.iter().find(|r| r.name == name)
    }
}

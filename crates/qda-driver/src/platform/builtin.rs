//! `crates/qda-driver/platforms/qda-virt.dts` written out in Rust, for runs without a blob.
//!
//! The tests compare this with the checked-in `.dtb` and, when `dtc` is
//! installed, with a fresh compile of the `.dts`; change all three together.

use super::{CbDesc, DomainDesc, Platform, ReservedRegion};

/// Phandles `dtc` assigns to the referenced reserved regions (it numbers
/// referenced nodes from 1 in the order it resolves the references:
/// `apps_smmu` first, from the disabled modem's compute-cb).
const PHANDLE_ADSPSLPI: u32 = 2;
const PHANDLE_REMOTE_HEAP: u32 = 3;

fn domain(remoteproc: &str, label: &str, non_secure: bool, cbs: &[(u32, u32, bool)]) -> DomainDesc {
    let node_path = format!("/soc@0/{remoteproc}/glink-edge/fastrpc");
    DomainDesc {
        cbs: cbs
            .iter()
            .map(|&(sid, nsessions, dma_coherent)| CbDesc {
                node_path: format!("{node_path}/compute-cb@{sid}"),
                sid,
                nsessions,
                dma_coherent,
            })
            .collect(),
        node_path,
        label: label.into(),
        non_secure,
        memory_region: None,
        vmids: Vec::new(),
    }
}

fn region(name: &str) -> ReservedRegion {
    ReservedRegion {
        node_path: format!("/reserved-memory/{name}"),
        name: name.into(),
        reg: None,
        size: 0,
        alignment: None,
        compatible: Vec::new(),
        reusable: false,
        no_map: false,
        cma_default: false,
        phandle: None,
    }
}

const MIB: u64 = 1 << 20;

pub(super) fn qda_virt() -> Platform {
    let dma_pool = || vec!["shared-dma-pool".to_string()];

    let mut adsp = domain(
        "remoteproc@30000000",
        "adsp",
        true,
        &[(3, 1, true), (4, 2, true), (5, 1, true)],
    );
    adsp.memory_region = Some("adsp-rpc-remote-heap@9cb80000".into());
    adsp.vmids = vec![0x16, 0x25];
    let cdsp_cbs: Vec<(u32, u32, bool)> = (1..=8).map(|sid| (sid, if sid == 3 { 3 } else { 1 }, true)).collect();

    Platform {
        model: "qda virtual board (SM8550-like)".into(),
        compatible: vec!["qcom,qda-virt".into(), "qcom,sm8550".into()],
        domains: vec![
            adsp,
            domain("remoteproc@32300000", "cdsp", false, &cdsp_cbs),
            domain("remoteproc@34000000", "sdsp", true, &[(1, 1, false), (2, 1, false)]),
            domain("remoteproc@35000000", "gdsp0", false, &[(1, 1, true), (2, 1, true)]),
            domain("remoteproc@36000000", "gdsp1", false, &[(1, 2, true), (2, 1, true)]),
        ],
        uapi_revision: None,
        reserved: vec![
            ReservedRegion {
                size: 32 * MIB,
                alignment: Some(4 * MIB),
                compatible: dma_pool(),
                reusable: true,
                cma_default: true,
                ..region("linux,cma")
            },
            ReservedRegion {
                reg: Some((0x8b00_0000, 16 * MIB)),
                size: 16 * MIB,
                compatible: dma_pool(),
                ..region("dsp-pool@8b000000")
            },
            ReservedRegion {
                reg: Some((0x9cb8_0000, 8 * MIB)),
                size: 8 * MIB,
                compatible: dma_pool(),
                no_map: true,
                phandle: Some(PHANDLE_REMOTE_HEAP),
                ..region("adsp-rpc-remote-heap@9cb80000")
            },
            ReservedRegion {
                reg: Some((0x9ea0_0000, 0x408_0000)),
                size: 0x408_0000,
                no_map: true,
                phandle: Some(PHANDLE_ADSPSLPI),
                ..region("adspslpi-region@9ea00000")
            },
        ],
    }
}

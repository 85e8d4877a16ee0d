extern crate std;
use std::vec::Vec;

use super::*;

/// (Rust type, size, align, [(C field, offset, size)]) for LP64, worked out by
/// hand from the C declarations.
#[allow(clippy::type_complexity)]
const EXPECTED: &[(&str, usize, usize, &[(&str, usize, usize)])] = &[
    ("DomainT", 16, 4, &[("id", 0, 4), ("uri", 4, 12)]),
    ("RemoteBufC", 16, 8, &[("pv", 0, 8), ("nLen", 8, 8)]),
    ("RemoteBuf64", 16, 8, &[("pv", 0, 8), ("nLen", 8, 8)]),
    ("RemoteDmaHandle", 8, 4, &[("fd", 0, 4), ("offset", 4, 4)]),
    (
        "RemoteDmaHandle64",
        12,
        4,
        &[("fd", 0, 4), ("offset", 4, 4), ("len", 8, 4)],
    ),
    (
        "RemoteArgC",
        16,
        8,
        &[("buf", 0, 16), ("h", 0, 4), ("h64", 0, 8), ("dma", 0, 8)],
    ),
    (
        "RemoteArg64",
        16,
        8,
        &[("buf", 0, 16), ("h", 0, 4), ("h64", 0, 8), ("dma", 0, 12)],
    ),
    ("FastrpcAsyncCallback", 16, 8, &[("fn", 0, 8), ("context", 8, 8)]),
    (
        "FastrpcAsyncDescriptor",
        32,
        8,
        &[("type", 0, 4), ("jobid", 8, 8), ("cb", 16, 16)],
    ),
    ("RemoteRpcControlLatency", 8, 4, &[("enable", 0, 4), ("latency", 4, 4)]),
    (
        "RemoteDspCapability",
        12,
        4,
        &[("domain", 0, 4), ("attribute_ID", 4, 4), ("capability", 8, 4)],
    ),
    ("RemoteRpcControlWakelock", 4, 4, &[("enable", 0, 4)]),
    ("RemoteRpcGetDomain", 4, 4, &[("domain", 0, 4)]),
    (
        "RemoteControlCustomPath",
        24,
        8,
        &[("value_size", 0, 4), ("path", 8, 8), ("value", 16, 8)],
    ),
    (
        "RemoteRpcThreadParams",
        12,
        4,
        &[("domain", 0, 4), ("prio", 4, 4), ("stack_size", 8, 4)],
    ),
    (
        "RemoteRpcControlUnsignedModule",
        8,
        4,
        &[("domain", 0, 4), ("enable", 4, 4)],
    ),
    (
        "RemoteRpcRelativeThreadPriority",
        8,
        4,
        &[("domain", 0, 4), ("relative_thread_priority", 4, 4)],
    ),
    ("RemoteRpcProcessCleanParams", 4, 4, &[("domain", 0, 4)]),
    ("RemoteRpcSessionClose", 4, 4, &[("domain", 0, 4)]),
    ("RemoteRpcControlPdDump", 8, 4, &[("domain", 0, 4), ("enable", 4, 4)]),
    ("RemoteProcessType", 8, 4, &[("domain", 0, 4), ("process_type", 4, 4)]),
    (
        "RemoteRpcNotifRegister",
        24,
        8,
        &[("context", 0, 8), ("domain", 8, 4), ("notifier_fn", 16, 8)],
    ),
    (
        "RemoteRpcPdInitmemSize",
        8,
        4,
        &[("domain", 0, 4), ("pd_initmem_size", 4, 4)],
    ),
    (
        "RemoteRpcReserveNewSession",
        40,
        8,
        &[
            ("domain_name", 0, 8),
            ("domain_name_len", 8, 4),
            ("session_name", 16, 8),
            ("session_name_len", 24, 4),
            ("effective_domain_id", 28, 4),
            ("session_id", 32, 4),
        ],
    ),
    (
        "RemoteRpcEffectiveDomainId",
        24,
        8,
        &[
            ("domain_name", 0, 8),
            ("domain_name_len", 8, 4),
            ("session_id", 12, 4),
            ("effective_domain_id", 16, 4),
        ],
    ),
    (
        "RemoteRpcGetUri",
        48,
        8,
        &[
            ("domain_name", 0, 8),
            ("domain_name_len", 8, 4),
            ("session_id", 12, 4),
            ("module_uri", 16, 8),
            ("module_uri_len", 24, 4),
            ("uri", 32, 8),
            ("uri_len", 40, 4),
        ],
    ),
    (
        "FastrpcContextCreate",
        32,
        8,
        &[
            ("effec_domain_ids", 0, 8),
            ("num_domain_ids", 8, 4),
            ("flags", 16, 8),
            ("ctx", 24, 8),
        ],
    ),
    ("FastrpcContextDestroy", 16, 8, &[("ctx", 0, 8), ("flags", 8, 8)]),
    (
        "QaicCstring",
        16,
        8,
        &[("data", 0, 8), ("dataLen", 8, 4), ("dataLenReq", 12, 4)],
    ),
    (
        "QaicWstring",
        16,
        8,
        &[("data", 0, 8), ("dataLen", 8, 4), ("dataLenReq", 12, 4)],
    ),
];

#[test]
fn every_layout_is_the_lp64_c_layout() {
    assert_eq!(STRUCTS.len(), EXPECTED.len());
    for (s, (name, size, align, fields)) in STRUCTS.iter().zip(EXPECTED) {
        assert_eq!(s.rust_name, *name);
        assert_eq!((s.size, s.align), (*size, *align), "{name}: size, align");
        let got: Vec<(&str, usize, usize)> = s.fields.iter().map(|f| (f.name, f.offset, f.size)).collect();
        assert_eq!(got, *fields, "{name}: fields");
    }
}

#[test]
fn names_are_unique() {
    let mut names: Vec<&str> = CONSTANTS
        .iter()
        .map(|c| c.name)
        .chain(STRINGS.iter().map(|s| s.name))
        .collect();
    names.extend(STRUCTS.iter().flat_map(|s| s.c_names.iter().copied()));
    names.extend(TYPES.iter().map(|t| t.c_name));
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a C name listed twice");
}

#[test]
fn agrees_with_the_rest_of_the_crate() {
    use crate::fastrpc;
    assert_eq!(DSP_AEE_EOFFSET, crate::aee::AEE_EOFFSET_DSP);
    let ids = [
        ADSP_DOMAIN_ID,
        MDSP_DOMAIN_ID,
        SDSP_DOMAIN_ID,
        CDSP_DOMAIN_ID,
        CDSP1_DOMAIN_ID,
        GDSP0_DOMAIN_ID,
        GDSP1_DOMAIN_ID,
    ];
    let theirs = [
        fastrpc::ADSP_DOMAIN_ID,
        fastrpc::MDSP_DOMAIN_ID,
        fastrpc::SDSP_DOMAIN_ID,
        fastrpc::CDSP_DOMAIN_ID,
        fastrpc::CDSP1_DOMAIN_ID,
        fastrpc::GDSP0_DOMAIN_ID,
        fastrpc::GDSP1_DOMAIN_ID,
    ];
    assert_eq!(ids, theirs);
    let attrs = [
        DOMAIN_SUPPORT,
        UNSIGNED_PD_SUPPORT,
        HVX_SUPPORT_64B,
        HVX_SUPPORT_128B,
        VTCM_PAGE,
        VTCM_COUNT,
        ARCH_VER,
        HMX_SUPPORT_DEPTH,
        HMX_SUPPORT_SPATIAL,
        ASYNC_FASTRPC_SUPPORT,
        STATUS_NOTIFICATION_SUPPORT,
        MCID_MULTICAST,
    ];
    for (i, a) in attrs.into_iter().enumerate() {
        assert_eq!(a, i as u32);
        assert_eq!(
            u32::from(fastrpc::DspAttribute::from_u32(a).expect("a known attribute")),
            a
        );
    }
    // The uri field holds the longest suffix with its NUL.
    assert_eq!(MAX_DOMAIN_URI_SIZE, size_of::<[u8; 12]>());
    assert!(
        STRINGS
            .iter()
            .filter(|s| s.name.ends_with("_DOMAIN"))
            .all(|s| s.value.len() < MAX_DOMAIN_URI_SIZE)
    );
    assert_eq!(ION_SECURE_FLAGS as u32, (1 << 31) | (1 << 19));
}

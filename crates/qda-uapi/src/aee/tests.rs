extern crate std;
use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::string::ToString;
use std::vec::Vec;

#[test]
fn offsets() {
    assert_eq!(AEE_EOFFSET_DSP, 0x8000_0400);
    assert_eq!(AEE_EOFFSET_CPU, 0);
    assert_eq!(AeeCode::dsp(0x14), AeeCode(0x8000_0414));
    assert_eq!(AeeCode::EUNSUPPORTED.to_dsp(), AeeCode(0x8000_0414));
    assert!(AeeCode(0x8000_0414).is_dsp());
    assert!(AeeCode(0x8000_0400).is_dsp());
    assert!(!AeeCode(0x8000_03ff).is_dsp());
    assert!(!AeeCode(0x14).is_dsp());
    assert!(!AeeCode(0xffff_ffea).is_dsp());
    assert_eq!(AeeCode(0x8000_0414).base(), 0x14);
    assert_eq!(AeeCode(0x14).base(), 0x14);
    assert_eq!(AeeCode::from_i32(-1), AeeCode::EUNKNOWN);
    assert_eq!(AeeCode(0x8000_0414).as_i32(), -2_147_482_604);
    assert!(AeeCode::SUCCESS.is_success());
}

#[test]
fn selected_values() {
    // Literal values from the header, spot-checked per group.
    let cases: &[(AeeCode, u32)] = &[
        (AeeCode::SUCCESS, 0),
        (AeeCode::EUNKNOWN, 0xffff_ffff),
        (AeeCode::EFAILED, 0x001),
        (AeeCode::EBADSTATE, 0x00d),
        (AeeCode::EBADPARM, 0x00e),
        (AeeCode::EUNSUPPORTED, 0x014),
        (AeeCode::EBUFFERTOOSMALL, 0x026),
        (AeeCode::EACKPENDING, 0x028),
        (AeeCode::EBADHANDLE, 0x02c),
        (AeeCode::EINVHANDLE, 0x02c),
        (AeeCode::ENOMORE, 0x02f),
        (AeeCode::ENOSUCHMOD, 0x03e),
        (AeeCode::ECONNREFUSED, 0x072),
        (AeeCode::EUNSIGNEDMOD, 0x081),
        (AeeCode::ENOSUCHJOB, 0x084),
        (AeeCode::ENOSUCHGROUP, 0x084),
        (AeeCode::U2GCLIENT_OPEN, 0x089),
        (AeeCode::EGLINKREGISTER, 0x105),
        (AeeCode::ESMDOPENFAILED, 0x103),
        (AeeCode::EDCVSREQUEST, 0x126),
        (AeeCode::EQURTTHREADCREATE, 0x14b),
        (AeeCode::EQURTWAIT, 0x163),
        (AeeCode::PDRREGFAIL, 0x178),
        (AeeCode::DEFAULT_PROCESS, 0x180),
        (AeeCode::EBUSY, 0x183),
        (AeeCode::E_NO_MORE_FREE_SECTIONS, 0x193),
        (AeeCode::ERPC, 0x200),
        (AeeCode::EFILE, 0x201),
        (AeeCode::ENOSUCH, 39),
        (AeeCode::EINTERRUPTED, 46),
        (AeeCode::ECONNRESET, 104),
        (AeeCode::EWOULDBLOCK, 516),
    ];
    for &(c, v) in cases {
        assert_eq!(c.0, v);
    }
}

#[test]
fn names() {
    assert_eq!(AeeCode(0x8000_0414).name(), Some("AEE_EUNSUPPORTED"));
    assert_eq!(AeeCode(0x14).name(), Some("AEE_EUNSUPPORTED"));
    assert_eq!(AeeCode(0x8000_040d).name(), Some("AEE_EBADSTATE"));
    assert_eq!(AeeCode(0x8000_0600).name(), Some("AEE_ERPC"));
    assert_eq!(AeeCode(0).name(), Some("AEE_SUCCESS"));
    assert_eq!(AeeCode(0xffff_ffff).name(), Some("AEE_EUNKNOWN"));
    assert_eq!(AeeCode(46).name(), Some("AEE_EINTERRUPTED"));
    // Fixed codes never carry the offset: 0x80000400 + 46 is the hole 0x2E.
    assert_eq!(AeeCode::dsp(46).name(), None);
    assert_eq!(AeeCode::dsp(39).name(), None);
    // Aliases resolve to the primary.
    assert_eq!(AeeCode::dsp(0x2c).name(), Some("AEE_EBADHANDLE"));
    assert_eq!(AeeCode::dsp(0x84).name(), Some("AEE_ENOSUCHJOB"));
    let n: Vec<_> = AeeCode::dsp(0x2c).names().collect();
    assert_eq!(n, ["AEE_EBADHANDLE", "AEE_EINVHANDLE"]);
    // Side-dependent group names.
    assert_eq!(AeeCode::dsp(0x100).name(), Some("AEE_EGLINK_OFFSET"));
    assert_eq!(AeeCode(0x100).name(), Some("AEE_ESMD_OFFSET"));
    assert_eq!(AeeCode::dsp(0x105).name(), Some("AEE_EGLINKREGISTER"));
    assert_eq!(AeeCode(0x105).name(), None);
    // The one CPU-side collision.
    assert_eq!(AeeCode(104).name(), Some("AEE_ECONNRESET"));
    assert_eq!(AeeCode(104).cpu_collision().map(|e| e.name), Some("AEE_ENORPCMEMORY"));
    assert_eq!(AeeCode::dsp(0x68).name(), Some("AEE_ENORPCMEMORY"));
    assert_eq!(AeeCode::dsp(0x68).cpu_collision(), None);
    // Unknown.
    assert_eq!(AeeCode(0x8000_0999).name(), None);
    assert_eq!(AeeCode(0x27).name(), Some("AEE_ENOSUCH"));
    assert_eq!(AeeCode(0x8000_0427).name(), None);
}

#[test]
fn every_entry_round_trips() {
    for e in AEE_TABLE {
        let codes: Vec<AeeCode> = match (e.encoding, e.side) {
            (AeeEncoding::Fixed, _) => std::vec![AeeCode(e.value)],
            (AeeEncoding::Offset, AeeSide::Both) => {
                std::vec![AeeCode(e.value), AeeCode::dsp(e.value)]
            }
            (AeeEncoding::Offset, AeeSide::Dsp) => std::vec![AeeCode::dsp(e.value)],
            (AeeEncoding::Offset, AeeSide::Cpu) => std::vec![AeeCode(e.value)],
        };
        assert!(!e.description.is_empty());
        for c in codes {
            if c.0 == 104 && e.name == "AEE_ENORPCMEMORY" {
                // The documented CPU-side collision with fixed AEE_ECONNRESET.
                assert_eq!(c.cpu_collision().map(|x| x.name), Some(e.name));
                continue;
            }
            let names: Vec<_> = c.names().collect();
            assert!(names.contains(&e.name), "{} not found for {c:?}", e.name);
            if !e.alias {
                assert_eq!(c.name(), Some(e.name));
            }
        }
    }
}

#[test]
fn names_unique_per_value_except_aliases() {
    // Names are unique strings.
    let mut seen = BTreeSet::new();
    for e in AEE_TABLE {
        assert!(seen.insert(e.name), "duplicate name {}", e.name);
    }
    // Per side, at most one primary per (encoding, value).
    for side in [AeeSide::Dsp, AeeSide::Cpu] {
        let mut prim: BTreeMap<(bool, u32), &str> = BTreeMap::new();
        for e in AEE_TABLE
            .iter()
            .filter(|e| !e.alias && (e.side == AeeSide::Both || e.side == side))
        {
            let key = (e.encoding == AeeEncoding::Fixed, e.value);
            assert!(
                prim.insert(key, e.name).is_none(),
                "two primaries for {key:?} on {side:?}"
            );
        }
        // Every alias has a primary with the same value.
        for e in AEE_TABLE.iter().filter(|e| e.alias) {
            let key = (e.encoding == AeeEncoding::Fixed, e.value);
            assert!(prim.contains_key(&key), "alias {} has no primary", e.name);
        }
    }
    // Exactly the documented aliases.
    let aliases: BTreeSet<_> = AEE_TABLE.iter().filter(|e| e.alias).map(|e| e.name).collect();
    assert_eq!(aliases, ["AEE_EINVHANDLE", "AEE_ENOSUCHGROUP"].into_iter().collect());
    // Exactly one fixed/offset collision on the CPU side: 104.
    let fixed: BTreeSet<u32> = AEE_TABLE
        .iter()
        .filter(|e| e.encoding == AeeEncoding::Fixed)
        .map(|e| e.value)
        .collect();
    let clashes: Vec<_> = AEE_TABLE
        .iter()
        .filter(|e| e.encoding == AeeEncoding::Offset && fixed.contains(&e.value))
        .map(|e| e.name)
        .collect();
    assert_eq!(clashes, ["AEE_ENORPCMEMORY"]);
}

#[test]
fn base_codes_all_named() {
    // Every base code listed in the brief, by value, must have a name.
    let offset_bases: &[u32] = &[
        0x001, 0x002, 0x003, 0x004, 0x005, 0x006, 0x007, 0x008, 0x009, 0x00A, 0x00B, 0x00C, 0x00D, 0x00E, 0x00F, 0x010,
        0x011, 0x012, 0x013, 0x014, 0x015, 0x016, 0x017, 0x018, 0x019, 0x01A, 0x01B, 0x01C, 0x01D, 0x01E, 0x01F, 0x020,
        0x021, 0x022, 0x023, 0x024, 0x025, 0x026, 0x028, 0x029, 0x02A, 0x02B, 0x02C, 0x02D, 0x02F, 0x030, 0x031, 0x032,
        0x033, 0x034, 0x035, 0x036, 0x037, 0x038, 0x039, 0x03A, 0x03B, 0x03C, 0x03D, 0x03E, 0x03F, 0x040, 0x041, 0x042,
        0x043, 0x044, 0x045, 0x046, 0x047, 0x048, 0x049, 0x04A, 0x04B, 0x04C, 0x04D, 0x04E, 0x04F, 0x050, 0x051, 0x052,
        0x053, 0x054, 0x055, 0x056, 0x057, 0x058, 0x059, 0x05A, 0x05B, 0x05C, 0x05D, 0x05E, 0x05F, 0x060, 0x061, 0x062,
        0x063, 0x064, 0x065, 0x066, 0x067, 0x068, 0x069, 0x06A, 0x06B, 0x06C, 0x06D, 0x06E, 0x06F, 0x070, 0x071, 0x072,
        0x081, 0x082, 0x083, 0x084, 0x085, 0x086, 0x087, 0x088, 0x089, 0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x120,
        0x121, 0x122, 0x123, 0x124, 0x125, 0x126, 0x140, 0x14B, 0x159, 0x160, 0x163, 0x170, 0x178, 0x180, 0x181, 0x182,
        0x183, 0x190, 0x191, 0x192, 0x193, 0x200, 0x201,
    ];
    for &b in offset_bases {
        assert!(AeeCode::dsp(b).name().is_some(), "DSP base {b:#x} unnamed");
    }
    for v in [0u32, 39, 46, 104, 516, 0xffff_ffff] {
        assert!(AeeCode(v).name().is_some(), "fixed {v} unnamed");
    }
}

#[test]
fn display_known() {
    assert_eq!(
        AeeCode(0x8000_0414).to_string(),
        "AEE_EUNSUPPORTED (0x80000414, DSP): API not implemented"
    );
    assert_eq!(
        AeeCode(0x14).to_string(),
        "AEE_EUNSUPPORTED (0x00000014, CPU): API not implemented"
    );
    assert_eq!(AeeCode(0).to_string(), "AEE_SUCCESS (0x00000000, no offset): no error");
    assert_eq!(
        describe(-1).to_string(),
        "AEE_EUNKNOWN (0xffffffff, no offset): unspecified failure (catch-all, discouraged)"
    );
    assert!(
        AeeCode(46)
            .to_string()
            .starts_with("AEE_EINTERRUPTED (0x0000002e, no offset): ")
    );
    let s = AeeCode(104).to_string();
    assert!(s.starts_with("AEE_ECONNRESET (0x00000068, no offset): "), "{s}");
    assert!(s.contains("AEE_ENORPCMEMORY"), "{s}");
    assert!(
        AeeCode::dsp(0x2c)
            .to_string()
            .starts_with("AEE_EBADHANDLE (0x8000042c, DSP): ")
    );
}

#[test]
fn display_unknown_and_errno() {
    assert_eq!(
        AeeCode(0x8000_0999).to_string(),
        "unknown AEE code 0x80000999 (DSP offset 0x80000400 + 0x599)"
    );
    assert_eq!(
        AeeCode(0x8000_0427).to_string(),
        "unknown AEE code 0x80000427 (DSP offset 0x80000400 + 0x27)"
    );
    assert_eq!(
        AeeCode(0x399).to_string(),
        "unknown AEE code 0x00000399 (CPU, no offset)"
    );
    assert_eq!(AeeCode(0x1234_5678).to_string(), "unknown AEE code 0x12345678");
    assert_eq!(describe(-22).to_string(), "kernel errno -22 (EINVAL)");
    assert_eq!(describe(-75).to_string(), "kernel errno -75 (EOVERFLOW)");
    assert_eq!(describe(-4095).to_string(), "kernel errno -4095");
    assert_eq!(describe(-2).to_string(), "kernel errno -2 (ENOENT)");
    assert_eq!(describe(-4096).to_string(), "unknown AEE code 0xfffff000");
    assert_eq!(AeeCode::from_i32(-22).errno(), Some(22));
    assert_eq!(AeeCode::from_i32(-1).errno(), None);
    assert_eq!(AeeCode(0x8000_0414).errno(), None);
}

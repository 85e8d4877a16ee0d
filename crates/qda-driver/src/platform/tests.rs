use super::*;

const QDA_VIRT_DTB: &[u8] = BUILTIN_DTB;
const QDA_VIRT_DTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/platforms/qda-virt.dts");

// ---------------------------------------------------------------------------
// A small tree model written with vm_fdt, so each test can break one thing.

#[derive(Clone, Debug)]
struct N {
    name: String,
    props: Vec<(String, Vec<u8>)>,
    children: Vec<N>,
}

fn s(v: &str) -> Vec<u8> {
    let mut b = v.as_bytes().to_vec();
    b.push(0);
    b
}

fn u(cells: &[u32]) -> Vec<u8> {
    cells.iter().flat_map(|c| c.to_be_bytes()).collect()
}

fn flag() -> Vec<u8> {
    Vec::new()
}

impl N {
    fn new(name: &str) -> N {
        N {
            name: name.into(),
            props: Vec::new(),
            children: Vec::new(),
        }
    }

    fn p(mut self, name: &str, v: Vec<u8>) -> N {
        self.set(name, v);
        self
    }

    fn c(mut self, child: N) -> N {
        self.children.push(child);
        self
    }

    fn set(&mut self, name: &str, v: Vec<u8>) {
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = v,
            None => self.props.push((name.into(), v)),
        }
    }

    fn del(&mut self, name: &str) {
        self.props.retain(|(n, _)| n != name);
    }

    /// The node at `path` (absolute, as in the tree's node paths).
    fn at(&mut self, path: &str) -> &mut N {
        let mut n = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n
                .children
                .iter_mut()
                .find(|c| c.name == part)
                .unwrap_or_else(|| panic!("no {part} in {path}"));
        }
        n
    }

    fn write(&self, w: &mut vm_fdt::FdtWriter) {
        let node = w.begin_node(&self.name).unwrap();
        for (name, v) in &self.props {
            w.property(name, v).unwrap();
        }
        for c in &self.children {
            c.write(w);
        }
        w.end_node(node).unwrap();
    }

    fn dtb(&self) -> Vec<u8> {
        let mut w = vm_fdt::FdtWriter::new().unwrap();
        self.write(&mut w);
        w.finish().unwrap()
    }

    fn parse(&self) -> Result<Platform, PlatformError> {
        Platform::from_dtb(&self.dtb())
    }
}

const FR: &str = "/soc/dsp@1000/glink-edge/fastrpc";
const CB1: &str = "/soc/dsp@1000/glink-edge/fastrpc/compute-cb@1";
const RM: &str = "/reserved-memory";
const HEAP: &str = "/reserved-memory/heap@90000000";

fn compute_cb(sid: u32) -> N {
    N::new(&format!("compute-cb@{sid}"))
        .p("compatible", s("qcom,fastrpc-compute-cb"))
        .p("reg", u(&[sid]))
}

fn fastrpc(label: &str) -> N {
    N::new("fastrpc")
        .p("compatible", s("qcom,fastrpc"))
        .p("label", s(label))
        .p("#address-cells", u(&[1]))
        .p("#size-cells", u(&[0]))
}

/// A minimal valid board: one region (phandle 1) and one ADSP channel with
/// one context bank using it.
fn base() -> N {
    let heap = N::new("heap@90000000")
        .p("compatible", s("shared-dma-pool"))
        .p("reg", u(&[0, 0x9000_0000, 0, 0x10_0000]))
        .p("no-map", flag())
        .p("phandle", u(&[1]));
    let rm = N::new("reserved-memory")
        .p("#address-cells", u(&[2]))
        .p("#size-cells", u(&[2]))
        .p("ranges", flag())
        .c(heap);
    let dsp = N::new("dsp@1000")
        .p("compatible", s("qcom,test-pas"))
        .c(N::new("glink-edge")
            .p("label", s("lpass"))
            .c(fastrpc("adsp").p("memory-region", u(&[1])).c(compute_cb(1))));
    N::new("")
        .p("model", s("test board"))
        .p("compatible", s("test,board\0test,soc"))
        .p("#address-cells", u(&[2]))
        .p("#size-cells", u(&[2]))
        .c(rm)
        .c(N::new("soc").p("phandle", u(&[7])).c(dsp))
}

#[track_caller]
fn expect_property(tree: &N, node: &str, property: &str) -> String {
    match tree.parse() {
        Err(e @ PlatformError::Property { .. }) => {
            let PlatformError::Property {
                node: n,
                property: p,
                reason,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((n.as_str(), p.as_str()), (node, property), "{e}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{node}: property \"{property}\": ")),
                "{text}"
            );
            reason.clone()
        }
        other => panic!("expected an error on {node} property {property}, got {other:?}"),
    }
}

#[track_caller]
fn expect_node(tree: &N, node: &str) -> String {
    match tree.parse() {
        Err(PlatformError::Node { node: n, reason }) => {
            assert_eq!(n, node, "{reason}");
            reason
        }
        other => panic!("expected an error on node {node}, got {other:?}"),
    }
}

#[track_caller]
fn expect_dtb(bytes: &[u8]) -> String {
    match Platform::from_dtb(bytes) {
        Err(PlatformError::Dtb { reason }) => reason,
        other => panic!("expected a DTB error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The virtual board.

#[test]
fn checked_in_dtb_equals_builtin() {
    let p = Platform::from_dtb(QDA_VIRT_DTB).unwrap();
    assert_eq!(p, Platform::builtin());
}

#[test]
fn dts_recompiled_with_dtc_equals_builtin() {
    let dtc_works = std::process::Command::new("dtc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !dtc_works {
        eprintln!(
            "note: dtc is not on PATH; crates/qda-driver/platforms/qda-virt.dts was not recompiled (CI installs dtc)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("qda-platform-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("qda-virt.dtb");
    let run = std::process::Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(QDA_VIRT_DTS)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "dtc failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = std::fs::read(&out).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        Platform::from_dtb(&fresh).unwrap(),
        Platform::builtin(),
        "qda-virt.dts and builtin() differ"
    );
    assert_eq!(
        Platform::from_dtb(&fresh).unwrap(),
        Platform::from_dtb(QDA_VIRT_DTB).unwrap(),
        "crates/qda-driver/platforms/qda-virt.dtb is stale: recompile it from qda-virt.dts"
    );
}

#[test]
fn builtin_board_is_what_the_readme_says() {
    let p = Platform::builtin();
    let labels: Vec<&str> = p.domains.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, ["adsp", "cdsp", "sdsp", "gdsp0", "gdsp1"]);
    let sessions: Vec<usize> = p.domains.iter().map(DomainDesc::sessions).collect();
    assert_eq!(sessions, [4, 10, 2, 2, 3]);
    assert!(
        p.domains
            .iter()
            .all(|d| d.sessions() <= MAX_SESSIONS && d.domain_id().is_some())
    );

    let adsp = p.domain("adsp").unwrap();
    assert_eq!(adsp.cbs.iter().map(|c| c.sid).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(adsp.vmids, [0x16, 0x25]);
    let heap = p.region(adsp.memory_region.as_deref().unwrap()).unwrap();
    assert!(heap.is_shared_dma_pool() && heap.no_map && !heap.reusable);
    assert_eq!((heap.base(), heap.size), (Some(0x9cb8_0000), 8 << 20));

    let cma = p.region("linux,cma").unwrap();
    assert!(cma.reusable && cma.cma_default && cma.is_shared_dma_pool());
    assert_eq!((cma.base(), cma.size, cma.alignment), (None, 32 << 20, Some(4 << 20)));
    let pool = p.region("dsp-pool@8b000000").unwrap();
    assert!(pool.is_shared_dma_pool() && !pool.no_map && !pool.reusable);
    let fw = p.region("adspslpi-region@9ea00000").unwrap();
    assert!(!fw.is_shared_dma_pool() && fw.no_map);
    assert!(p.domain("mdsp").is_none(), "the modem is disabled");
    assert!(p.region("nope").is_none());
    assert!(p.domain("sdsp").unwrap().cbs.iter().all(|c| !c.dma_coherent));
}

// ---------------------------------------------------------------------------
// Names and ids.

fn desc(label: &str, non_secure: bool) -> DomainDesc {
    DomainDesc {
        node_path: "/x/fastrpc".into(),
        label: label.into(),
        non_secure,
        memory_region: None,
        vmids: Vec::new(),
        cbs: Vec::new(),
    }
}

#[test]
fn domain_ids_and_legacy_node_names() {
    let cases: &[(&str, bool, Option<u32>, &[&str])] = &[
        ("adsp", false, Some(0), &["fastrpc-adsp-secure"]),
        ("adsp", true, Some(0), &["fastrpc-adsp"]),
        ("mdsp", false, Some(1), &["fastrpc-mdsp-secure"]),
        ("sdsp", false, Some(2), &["fastrpc-sdsp-secure"]),
        ("sdsp", true, Some(2), &["fastrpc-sdsp"]),
        ("cdsp", false, Some(3), &["fastrpc-cdsp-secure", "fastrpc-cdsp"]),
        ("cdsp", true, Some(3), &["fastrpc-cdsp-secure", "fastrpc-cdsp"]),
        ("cdsp1", false, Some(3), &["fastrpc-cdsp1-secure", "fastrpc-cdsp1"]),
        ("gdsp0", false, Some(4), &["fastrpc-gdsp0-secure", "fastrpc-gdsp0"]),
        ("gdsp1", true, Some(4), &["fastrpc-gdsp1-secure", "fastrpc-gdsp1"]),
        ("xdsp", false, None, &[]),
        ("cds", false, None, &[]),
        ("", false, None, &[]),
        ("ADSP", false, None, &[]),
    ];
    for &(label, non_secure, id, names) in cases {
        let d = desc(label, non_secure);
        assert_eq!(d.domain_id(), id, "{label}");
        assert_eq!(d.legacy_node_names(), names, "{label} non_secure={non_secure}");
        assert_eq!(d.unsigned_pd_support(), matches!(id, Some(3 | 4)), "{label}");
    }
}

#[test]
fn sessions_sum_nsessions() {
    let mut d = desc("cdsp", false);
    assert_eq!(d.sessions(), 0);
    for (sid, n) in [(1, 1), (2, 3), (3, 1)] {
        d.cbs.push(CbDesc {
            node_path: String::new(),
            sid,
            nsessions: n,
            dma_coherent: true,
        });
    }
    assert_eq!(d.sessions(), 5);
}

// ---------------------------------------------------------------------------
// Valid trees.

#[test]
fn base_tree_parses() {
    let p = base().parse().unwrap();
    assert_eq!(p.model, "test board");
    assert_eq!(p.compatible, ["test,board", "test,soc"]);
    assert_eq!(
        p.domains,
        [DomainDesc {
            node_path: FR.into(),
            label: "adsp".into(),
            non_secure: false,
            memory_region: Some("heap@90000000".into()),
            vmids: vec![],
            cbs: vec![CbDesc {
                node_path: CB1.into(),
                sid: 1,
                nsessions: 1,
                dma_coherent: false
            }],
        }]
    );
    assert_eq!(
        p.reserved,
        [ReservedRegion {
            node_path: HEAP.into(),
            name: "heap@90000000".into(),
            reg: Some((0x9000_0000, 0x10_0000)),
            size: 0x10_0000,
            alignment: None,
            compatible: vec!["shared-dma-pool".into()],
            reusable: false,
            no_map: true,
            cma_default: false,
            phandle: Some(1),
        }]
    );
}

#[test]
fn fastrpc_nodes_are_found_anywhere_and_kaanapali_is_accepted() {
    let mut t = base();
    t.children.push(
        fastrpc("cdsp")
            .p("compatible", s("qcom,kaanapali-fastrpc"))
            .c(compute_cb(2)),
    );
    let deep = N::new("a").c(N::new("b").c(N::new("c").c(fastrpc("gdsp0").c(compute_cb(9)))));
    t.at("/soc").children.push(deep);
    // Not a fastrpc node: the compute-cb compatible alone, and a prefix of it.
    t.children.push(
        N::new("other")
            .p("compatible", s("qcom,fastrpc-compute-cb"))
            .p("label", s("zzz")),
    );
    t.children.push(N::new("other2").p("compatible", s("qcom,fastrpcx")));
    let p = t.parse().unwrap();
    let found: Vec<(&str, &str)> = p
        .domains
        .iter()
        .map(|d| (d.label.as_str(), d.node_path.as_str()))
        .collect();
    assert_eq!(
        found,
        [("adsp", FR), ("gdsp0", "/soc/a/b/c/fastrpc"), ("cdsp", "/fastrpc")]
    );
    assert_eq!(
        p.domain("gdsp0").unwrap().cbs[0].node_path,
        "/soc/a/b/c/fastrpc/compute-cb@9"
    );
}

#[test]
fn compute_cb_properties() {
    let mut t = base();
    let fr = t.at(FR);
    fr.set("qcom,non-secure-domain", flag());
    fr.set("qcom,vmids", u(&[3, 0x16, 0x25]));
    fr.children
        .push(compute_cb(4).p("qcom,nsessions", u(&[5])).p("dma-coherent", flag()));
    // Children that are not compute-cbs are ignored.
    fr.children.push(N::new("something@9").p("reg", u(&[9])));
    let d = t.parse().unwrap().domains.remove(0);
    assert!(d.non_secure);
    assert_eq!(d.vmids, [3, 0x16, 0x25]);
    assert_eq!(d.cbs.len(), 2);
    assert_eq!((d.cbs[1].sid, d.cbs[1].nsessions, d.cbs[1].dma_coherent), (4, 5, true));
    assert_eq!(d.sessions(), 6);
}

#[test]
fn exactly_fourteen_sessions_is_fine() {
    let mut t = base();
    let fr = t.at(FR);
    for sid in 2..=12 {
        fr.children.push(compute_cb(sid));
    }
    fr.children.push(compute_cb(13).p("qcom,nsessions", u(&[2])));
    assert_eq!(t.parse().unwrap().domains[0].sessions(), 14);
}

#[test]
fn disabled_nodes_are_ignored() {
    let mut t = base();
    // A disabled remote processor takes its channel with it.
    t.children.push(
        N::new("rproc")
            .p("status", s("disabled"))
            .c(fastrpc("cdsp").c(compute_cb(1))),
    );
    // So does a disabled channel, and a disabled compute-cb is skipped.
    t.children.push(fastrpc("sdsp").p("status", s("fail")));
    t.at(FR).children.push(compute_cb(2).p("status", s("disabled")));
    t.at(FR).children.push(compute_cb(3).p("status", s("okay")));
    t.at(FR).children.push(compute_cb(4).p("status", s("ok")));
    // A broken node inside a disabled subtree is not looked at.
    t.children.push(
        N::new("off")
            .p("status", s("disabled"))
            .c(fastrpc("nolabel").c(N::new("x"))),
    );
    let p = t.parse().unwrap();
    assert_eq!(p.domains.len(), 1);
    assert_eq!(p.domains[0].cbs.iter().map(|c| c.sid).collect::<Vec<_>>(), [1, 3, 4]);
}

#[test]
fn reserved_memory_cells_are_honoured() {
    let mut t = base();
    let rm = t.at(RM);
    rm.set("#address-cells", u(&[1]));
    rm.set("#size-cells", u(&[1]));
    rm.at("heap@90000000")
        .set("reg", u(&[0x9000_0000, 0x10_0000, 0xa000_0000, 0x1000]));
    rm.children.push(
        N::new("cma")
            .p("compatible", s("shared-dma-pool"))
            .p("reusable", flag())
            .p("size", u(&[0x40_0000]))
            .p("alignment", u(&[0x1000]))
            .p("linux,cma-default", flag()),
    );
    rm.children.push(
        N::new("fw@a0000000")
            .p("reg", u(&[0xa000_0000, 0x2000]))
            .p("linux,phandle", u(&[5])),
    );
    rm.children.push(
        N::new("gone@b0000000")
            .p("reg", u(&[0xb000_0000, 0x2000]))
            .p("status", s("disabled")),
    );
    let p = t.parse().unwrap();
    let names: Vec<&str> = p.reserved.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["heap@90000000", "cma", "fw@a0000000"]);
    assert_eq!(p.reserved[0].reg, Some((0x9000_0000, 0x10_0000)), "first reg entry");
    let cma = &p.reserved[1];
    assert_eq!((cma.reg, cma.size, cma.alignment), (None, 0x40_0000, Some(0x1000)));
    assert!(cma.reusable && cma.cma_default && cma.is_shared_dma_pool() && cma.base().is_none());
    let fw = &p.reserved[2];
    assert_eq!(
        (fw.phandle, fw.compatible.len(), fw.is_shared_dma_pool()),
        (Some(5), 0, false)
    );

    // Two cells each: 64-bit values.
    let mut t = base();
    t.at(HEAP).set("reg", u(&[0x1, 0x2000_0000, 0x1, 0]));
    let r = &t.parse().unwrap().reserved[0];
    assert_eq!(r.reg, Some((0x1_2000_0000, 0x1_0000_0000)));
    assert_eq!(r.size, 0x1_0000_0000);
}

#[test]
fn no_reserved_memory_and_no_domains_is_a_valid_board() {
    let t = N::new("").p("model", s("empty"));
    let p = t.parse().unwrap();
    assert_eq!(
        (p.model.as_str(), p.compatible.len(), p.domains.len(), p.reserved.len()),
        ("empty", 0, 0, 0)
    );
    let p = N::new("").parse().unwrap();
    assert_eq!(p.model, "");
}

// ---------------------------------------------------------------------------
// Every validation error, with the node path and property.

#[test]
fn missing_label() {
    let mut t = base();
    t.at(FR).del("label");
    expect_property(&t, FR, "label");
}

#[test]
fn unknown_domain_label() {
    let mut t = base();
    t.at(FR).set("label", s("xdsp"));
    let reason = expect_property(&t, FR, "label");
    assert!(reason.contains("Invalid Domain ID"), "{reason}");
    t.at(FR).set("label", s(""));
    expect_property(&t, FR, "label");
}

#[test]
fn duplicate_labels() {
    let mut t = base();
    t.children.push(fastrpc("adsp").c(compute_cb(1)));
    let reason = expect_property(&t, "/fastrpc", "label");
    assert!(reason.contains(FR), "names the first user: {reason}");
    // Same domain id, different labels: fine.
    t.at("/fastrpc").set("label", s("adsp1"));
    assert_eq!(t.parse().unwrap().domains.len(), 2);
}

#[test]
fn compute_cb_without_reg() {
    let mut t = base();
    t.at(CB1).del("reg");
    expect_property(&t, CB1, "reg");
    t.at(CB1).set("reg", flag());
    expect_property(&t, CB1, "reg");
}

#[test]
fn cell_properties_must_be_whole_cells() {
    let mut t = base();
    t.at(CB1).set("reg", vec![0, 0, 1]);
    let reason = expect_property(&t, CB1, "reg");
    assert!(reason.contains("multiple of 4"), "{reason}");

    let mut t = base();
    t.at(CB1).set("qcom,nsessions", vec![0, 0, 0, 2, 0, 0]);
    expect_property(&t, CB1, "qcom,nsessions");

    let mut t = base();
    t.at(FR).set("qcom,vmids", vec![0, 0, 0, 0x16, 0]);
    expect_property(&t, FR, "qcom,vmids");

    let mut t = base();
    t.at(FR).set("memory-region", vec![0, 1]);
    expect_property(&t, FR, "memory-region");
}

#[test]
fn nsessions_zero() {
    let mut t = base();
    t.at(CB1).set("qcom,nsessions", u(&[0]));
    expect_property(&t, CB1, "qcom,nsessions");
}

#[test]
fn more_than_fourteen_sessions() {
    // Fifteen context banks.
    let mut t = base();
    for sid in 2..=15 {
        t.at(FR).children.push(compute_cb(sid));
    }
    let reason = expect_node(&t, &format!("{FR}/compute-cb@15"));
    assert!(
        reason.contains("15 sessions") && reason.contains("FASTRPC_MAX_SESSIONS"),
        "{reason}"
    );

    // Two context banks, the second one's duplicates overflow.
    let mut t = base();
    t.at(CB1).set("qcom,nsessions", u(&[13]));
    t.at(FR).children.push(compute_cb(2).p("qcom,nsessions", u(&[2])));
    expect_node(&t, &format!("{FR}/compute-cb@2"));

    // A huge qcom,nsessions on its own.
    let mut t = base();
    t.at(CB1).set("qcom,nsessions", u(&[u32::MAX]));
    expect_node(&t, CB1);
}

#[test]
fn too_many_vmids() {
    let mut t = base();
    t.at(FR).set("qcom,vmids", u(&[0x16; 16]));
    assert_eq!(t.parse().unwrap().domains[0].vmids.len(), 16);
    t.at(FR).set("qcom,vmids", u(&[0x16; 17]));
    expect_property(&t, FR, "qcom,vmids");
}

#[test]
fn duplicate_sids() {
    let mut t = base();
    t.at(FR).children.push(
        N::new("compute-cb@99")
            .p("compatible", s("qcom,fastrpc-compute-cb"))
            .p("reg", u(&[1])),
    );
    let reason = expect_property(&t, &format!("{FR}/compute-cb@99"), "reg");
    assert!(reason.contains(CB1), "{reason}");
}

#[test]
fn memory_region_that_resolves_to_nothing() {
    let mut t = base();
    t.at(FR).set("memory-region", u(&[0x99]));
    let reason = expect_property(&t, FR, "memory-region");
    assert!(reason.contains("0x99") && reason.contains("no node"), "{reason}");

    // A phandle of a node that is not a reserved region.
    t.at(FR).set("memory-region", u(&[7]));
    let reason = expect_property(&t, FR, "memory-region");
    assert!(reason.contains("/soc"), "{reason}");

    // A reserved region that is disabled.
    let mut t = base();
    t.at(HEAP).set("status", s("disabled"));
    let reason = expect_property(&t, FR, "memory-region");
    assert!(reason.contains(HEAP), "{reason}");

    // Empty.
    let mut t = base();
    t.at(FR).set("memory-region", flag());
    expect_property(&t, FR, "memory-region");
}

#[test]
fn reserved_region_without_reg_or_size() {
    let mut t = base();
    t.at(HEAP).del("reg");
    let reason = expect_node(&t, HEAP);
    assert!(reason.contains("\"reg\"") && reason.contains("\"size\""), "{reason}");
    // size alone is enough.
    t.at(HEAP).set("size", u(&[0, 0x1000]));
    t.at(HEAP).del("no-map");
    assert_eq!(t.parse().unwrap().reserved[0].size, 0x1000);
}

#[test]
fn reserved_region_encodings() {
    let cases: &[(&str, &str, Vec<u8>)] = &[
        (HEAP, "reg", u(&[0, 0x9000_0000, 0])),
        (HEAP, "reg", u(&[0, 0x9000_0000, 0, 0x1000, 0])),
        (HEAP, "reg", vec![0; 15]),
        (HEAP, "reg", u(&[0, 0x9000_0000, 0, 0])),
        (HEAP, "reg", u(&[0xffff_ffff, 0xffff_f000, 0, 0x2000])),
        (HEAP, "size", u(&[0x1000])),
        (HEAP, "alignment", u(&[0, 0x3000])),
        (HEAP, "alignment", u(&[0x1000])),
        (HEAP, "compatible", b"shared-dma-pool".to_vec()),
        (HEAP, "phandle", u(&[1, 2])),
    ];
    for (node, property, value) in cases {
        let mut t = base();
        t.at(node).set(property, value.clone());
        if *property == "size" {
            t.at(node).del("reg");
        }
        expect_property(&t, node, property);
    }

    let mut t = base();
    t.at(HEAP).del("reg");
    t.at(HEAP).set("size", u(&[0, 0]));
    expect_property(&t, HEAP, "size");
}

#[test]
fn reserved_memory_cells() {
    for (property, value) in [
        ("#address-cells", None),
        ("#size-cells", Some(u(&[3]))),
        ("#size-cells", Some(u(&[0]))),
    ] {
        let mut t = base();
        match value {
            None => t.at(RM).del(property),
            Some(v) => t.at(RM).set(property, v),
        }
        expect_property(&t, RM, property);
    }
    let mut t = base();
    t.at(RM).set("#address-cells", u(&[1, 1]));
    expect_property(&t, RM, "#address-cells");
}

#[test]
fn reserved_region_conflicts() {
    let mut t = base();
    t.at(HEAP).set("reusable", flag());
    expect_property(&t, HEAP, "no-map");

    let mut t = base();
    let cma = |name: &str| {
        N::new(name)
            .p("compatible", s("shared-dma-pool"))
            .p("reusable", flag())
            .p("size", u(&[0, 0x100_0000]))
            .p("linux,cma-default", flag())
    };
    t.at(RM).children.push(cma("cma-a"));
    t.at(RM).children.push(cma("cma-b"));
    let reason = expect_property(&t, "/reserved-memory/cma-b", "linux,cma-default");
    assert!(reason.contains("/reserved-memory/cma-a"), "{reason}");

    let mut t = base();
    let dup = t.at(HEAP).clone();
    t.at(RM).children.push(dup);
    expect_node(&t, HEAP);
}

#[test]
fn strings_must_be_nul_terminated_utf8() {
    let cases: &[(&str, &str, &[u8])] = &[
        (FR, "label", b"adsp"),
        (FR, "label", b"ad\xffsp\0"),
        (FR, "label", b""),
        (FR, "compatible", b"qcom,fastrpc\0oops"),
        (CB1, "compatible", b"qcom,fastrpc-compute-cb\0\xff\0"),
        ("/", "model", b"test board"),
        ("/", "compatible", b"a\0\0b\0"),
        (FR, "status", b"okay"),
        (HEAP, "compatible", b"shared-dma-pool\0\xc3\0"),
    ];
    for (node, property, value) in cases {
        let mut t = base();
        t.at(node).set(property, value.to_vec());
        let reason = expect_property(&t, node, property);
        assert!(!reason.is_empty());
    }
    // The first string of a multi-string label is the label (as the kernel reads it).
    let mut t = base();
    t.at(FR).set("label", b"adsp\0extra\0".to_vec());
    assert_eq!(t.parse().unwrap().domains[0].label, "adsp");
}

// ---------------------------------------------------------------------------
// Malformed blobs: structural errors the fdt crate would panic on.

const BEGIN: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

/// A raw blob: header, empty reservation map, the given structure and
/// strings blocks.
fn raw(structure: &[u8], strings: &[u8]) -> Vec<u8> {
    let off_rsv = 40u32;
    let off_struct = off_rsv + 16;
    let off_strings = off_struct + structure.len() as u32;
    let total = off_strings + strings.len() as u32;
    let mut b = Vec::new();
    for f in [
        0xd00d_feed,
        total,
        off_struct,
        off_strings,
        off_rsv,
        17,
        16,
        0,
        strings.len() as u32,
        structure.len() as u32,
    ] {
        b.extend(f.to_be_bytes());
    }
    b.extend([0u8; 16]);
    b.extend(structure);
    b.extend(strings);
    b
}

/// Structure-block builder.
#[derive(Default)]
struct St(Vec<u8>);

impl St {
    fn tok(mut self, t: u32) -> St {
        self.0.extend(t.to_be_bytes());
        self
    }
    fn begin(mut self, name: &[u8]) -> St {
        self = self.tok(BEGIN);
        self.0.extend(name);
        self.0.push(0);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
    fn prop(mut self, nameoff: u32, value: &[u8]) -> St {
        self = self.tok(PROP).tok(value.len() as u32).tok(nameoff);
        self.0.extend(value);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
}

const STRINGS: &[u8] = b"model\0compatible\0";

#[test]
fn raw_builder_makes_valid_blobs() {
    let st = St::default()
        .begin(b"")
        .prop(0, b"m\0")
        .begin(b"a")
        .prop(6, b"x\0")
        .tok(END_NODE)
        .tok(END_NODE)
        .tok(END);
    let p = Platform::from_dtb(&raw(&st.0, STRINGS)).unwrap();
    assert_eq!(p.model, "m");
}

#[test]
fn structural_errors_are_dtb_errors() {
    let ok_tail = |s: St| s.tok(END_NODE).tok(END);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "property after child",
            ok_tail(St::default().begin(b"").begin(b"a").tok(END_NODE).prop(0, b"m\0")).0,
        ),
        ("nop", ok_tail(St::default().begin(b"").tok(NOP).prop(0, b"m\0")).0),
        (
            "nop between nodes",
            ok_tail(St::default().begin(b"").begin(b"a").tok(END_NODE).tok(NOP)).0,
        ),
        ("end node closes nothing", St::default().tok(END_NODE).tok(END).0),
        ("unbalanced", St::default().begin(b"").tok(END).0),
        ("no end token", St::default().begin(b"").tok(END_NODE).0),
        ("no root", St::default().tok(END).0),
        (
            "second root",
            St::default()
                .begin(b"")
                .tok(END_NODE)
                .begin(b"")
                .tok(END_NODE)
                .tok(END)
                .0,
        ),
        ("named root", ok_tail(St::default().begin(b"root")).0),
        (
            "empty child name",
            ok_tail(St::default().begin(b"").begin(b"").tok(END_NODE)).0,
        ),
        (
            "slash in name",
            ok_tail(St::default().begin(b"").begin(b"a/b").tok(END_NODE)).0,
        ),
        (
            "non-utf8 node name",
            ok_tail(St::default().begin(b"").begin(b"\xff").tok(END_NODE)).0,
        ),
        (
            "property outside node",
            St::default().prop(0, b"m\0").begin(b"").tok(END_NODE).tok(END).0,
        ),
        (
            "name offset past strings",
            ok_tail(St::default().begin(b"").prop(999, b"m\0")).0,
        ),
        (
            "name offset at end",
            ok_tail(St::default().begin(b"").prop(STRINGS.len() as u32, b"m\0")).0,
        ),
        ("unknown token", ok_tail(St::default().begin(b"").tok(9)).0),
        ("property length past block", {
            let mut v = St::default().begin(b"").tok(PROP).tok(0x1000).tok(0).0;
            v.extend(END_NODE.to_be_bytes());
            v.extend(END.to_be_bytes());
            v
        }),
        ("property length huge", {
            let mut v = St::default().begin(b"").tok(PROP).tok(u32::MAX).tok(0).0;
            v.extend(END.to_be_bytes());
            v
        }),
        ("node name not terminated", {
            let mut v = St::default().tok(BEGIN).0;
            v.extend(b"abcd");
            v
        }),
    ];
    for (what, st) in cases {
        let reason = expect_dtb(&raw(&st, STRINGS));
        assert!(!reason.is_empty(), "{what}");
    }

    // Non-UTF-8 property name.
    let st = St::default().begin(b"").prop(0, b"m\0").tok(END_NODE).tok(END);
    expect_dtb(&raw(&st.0, b"mo\xffdel\0"));
    // Unterminated strings block.
    expect_dtb(&raw(&st.0, b"model"));
}

#[test]
fn nesting_limit() {
    let nest = |depth: usize| {
        let mut s = St::default().begin(b"");
        for _ in 1..depth {
            s = s.begin(b"n");
        }
        for _ in 0..depth {
            s = s.tok(END_NODE);
        }
        raw(&s.tok(END).0, STRINGS)
    };
    assert!(Platform::from_dtb(&nest(blob::MAX_DEPTH)).is_ok());
    let reason = expect_dtb(&nest(blob::MAX_DEPTH + 1));
    assert!(reason.contains("deeper"), "{reason}");
    expect_dtb(&nest(1000));
}

#[test]
fn header_errors() {
    let good = base().dtb();
    assert!(expect_dtb(&[]).contains("header"));
    assert!(expect_dtb(&good[..39]).contains("header"));
    let mut bad = good.clone();
    bad[0] = 0;
    assert!(expect_dtb(&bad).contains("magic"));
    assert!(expect_dtb(&good[..good.len() - 1]).contains("truncated"));

    let set = |field: usize, v: u32| {
        let mut b = good.clone();
        b[field * 4..field * 4 + 4].copy_from_slice(&v.to_be_bytes());
        b
    };
    expect_dtb(&set(1, 8)); // totalsize smaller than the header
    expect_dtb(&set(2, u32::MAX)); // structure block offset
    expect_dtb(&set(3, u32::MAX)); // strings block offset
    expect_dtb(&set(4, u32::MAX)); // reservation map offset
    expect_dtb(&set(5, 16)); // version
    expect_dtb(&set(6, 18)); // last compatible version
    expect_dtb(&set(8, u32::MAX)); // strings size
    expect_dtb(&set(9, u32::MAX)); // structure size
    expect_dtb(&set(9, 4)); // structure cut short: no FDT_END
    // A larger buffer than totalsize is fine.
    let mut longer = good.clone();
    longer.extend([0xff; 64]);
    assert!(Platform::from_dtb(&longer).is_ok());
}

// ---------------------------------------------------------------------------
// Fuzz: no input panics.

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncations_never_panic() {
    for len in (0..QDA_VIRT_DTB.len()).step_by(64).chain([QDA_VIRT_DTB.len() - 1]) {
        let r = Platform::from_dtb(&QDA_VIRT_DTB[..len]);
        assert!(
            matches!(r, Err(PlatformError::Dtb { .. })),
            "prefix of {len} bytes: {r:?}"
        );
    }
    // Every prefix of a small tree, and the same bytes with totalsize fixed
    // up so the header no longer gives the truncation away.
    let small = base().dtb();
    for len in 0..small.len() {
        let _ = Platform::from_dtb(&small[..len]);
        if len >= 40 {
            let mut b = small[..len].to_vec();
            b[4..8].copy_from_slice(&(len as u32).to_be_bytes());
            let _ = Platform::from_dtb(&b);
        }
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut outcomes = [0usize; 4];
    for (blob, rounds) in [(QDA_VIRT_DTB.to_vec(), 3000), (base().dtb(), 3000)] {
        for round in 0..rounds {
            let mut b = blob.clone();
            let flips = 1 + round % 4;
            for _ in 0..flips {
                let at = rng.below(b.len());
                b[at] ^= (rng.next() as u8) | 1;
            }
            let kind = match Platform::from_dtb(&b) {
                Ok(_) => 0,
                Err(PlatformError::Dtb { .. }) => 1,
                Err(PlatformError::Property { .. }) => 2,
                Err(PlatformError::Node { .. }) => 3,
            };
            outcomes[kind] += 1;
        }
    }
    // The flips reach past the header checks into the tree rules.
    assert!(outcomes[0] > 0 && outcomes[1] > 0 && outcomes[2] > 0, "{outcomes:?}");
}

// ---------------------------------------------------------------------------
// Limits: sizes and addresses a board may not claim (issue 10, finding 7).

fn cma(size: Vec<u8>) -> N {
    N::new("linux,cma")
        .p("compatible", s("shared-dma-pool"))
        .p("reusable", flag())
        .p("size", size)
        .p("linux,cma-default", flag())
}

const CMA: &str = "/reserved-memory/linux,cma";

#[track_caller]
fn one_line(tree: &N) -> String {
    let text = tree.parse().unwrap_err().to_string();
    assert!(!text.contains('\n'), "{text}");
    text
}

/// Finding 7: a CMA `size = <0xf0000000 0x2000000>` made `qda info --dtb`
/// and `qdad --dtb` die on an allocation proportional to the region. It is
/// refused at parse time, naming the node and property on one line.
#[test]
fn a_huge_cma_region_is_refused_naming_node_and_property() {
    let mut t = base();
    t.at(RM).children.push(cma(u(&[0xf000_0000, 0x200_0000])));
    let reason = expect_property(&t, CMA, "size");
    assert!(reason.contains("64 GiB"), "{reason}");
    let text = one_line(&t);
    assert!(
        text.starts_with("/reserved-memory/linux,cma: property \"size\": "),
        "{text}"
    );
}

#[test]
fn region_sizes_and_addresses_are_bounded() {
    // At the limits: 64 GiB, ending exactly at 2^48.
    let mut t = base();
    t.at(RM).children.push(cma(u(&[0x10, 0])));
    t.at(HEAP).set("reg", u(&[0xffff, 0xf000_0000, 0, 0x1000_0000]));
    let p = t.parse().unwrap();
    assert_eq!(p.region("linux,cma").unwrap().size, MAX_REGION_SIZE);
    assert_eq!(
        p.region("heap@90000000").unwrap().reg,
        Some((0xffff_f000_0000, 0x1000_0000))
    );

    let cases: &[(&str, &str, Vec<u8>)] = &[
        // One page past 64 GiB, by size and by reg.
        (CMA, "size", u(&[0x10, 0x1000])),
        (HEAP, "reg", u(&[0, 0x9000_0000, 0x10, 0x1000])),
        // Past the 48-bit physical space: the base, or base + size.
        (HEAP, "reg", u(&[0x1_0000, 0, 0, 0x1000])),
        (HEAP, "reg", u(&[0xffff, 0xffff_f000, 0, 0x2000])),
        (HEAP, "reg", u(&[0xffff_ffff, 0xffff_f000, 0, 0x1000])),
        // An alignment larger than the physical space.
        (CMA, "alignment", u(&[0x2_0000, 0])),
    ];
    for (node, property, value) in cases {
        let mut t = base();
        t.at(RM).children.push(cma(u(&[0, 0x100_0000])));
        t.at(node).set(property, value.clone());
        let reason = expect_property(&t, node, property);
        one_line(&t);
        assert!(
            reason.contains("GiB") || reason.contains("48-bit") || reason.contains("wraps"),
            "{reason}"
        );
    }
}

#[test]
fn domains_are_bounded_by_the_accel_minors() {
    let mut t = base();
    for i in 0..MAX_DOMAINS {
        let f = fastrpc(&format!("cdsp{i}")).c(compute_cb(1));
        let mut f = f;
        f.name = format!("fastrpc@{i}");
        t.at("/soc").children.push(f);
    }
    let reason = expect_node(&t, &format!("/soc/fastrpc@{}", MAX_DOMAINS - 1));
    assert!(reason.contains("256"), "{reason}");
    t.at("/soc").children.pop();
    assert_eq!(t.parse().unwrap().domains.len(), MAX_DOMAINS);
}

// ---------------------------------------------------------------------------
// Property test: the blob fence holds for any mutation of the built-in
// board, and whatever it lets through builds a driver without aborting.

/// Cases per property: a bounded number in the normal suite (about a second
/// in a debug build); `QDA_FUZZ_CASES=n` for a longer run, a value that is
/// not a number refused.
///
/// A copy of `qda_test::fuzz_cases`: `qda-test` depends on this crate, so
/// its unit tests cannot use it (a dev-dependency cycle would build a second
/// `qda-driver` for them).
fn fuzz_cases(default: u32) -> u32 {
    match std::env::var("QDA_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("QDA_FUZZ_CASES={v:?} is not a case count (a u32)")),
        Err(_) => default,
    }
}

/// One edit of a blob: a byte, or a big-endian word at a 4-aligned offset
/// set to a value that tends to matter (sizes, offsets, tokens, lengths).
#[derive(Debug, Clone)]
enum Edit {
    Byte(prop::sample::Index, u8),
    Word(prop::sample::Index, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    let words = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0x8000_0000),
        Just(0xf000_0000),
        Just(0x0200_0000),
        Just(1),
        Just(2),
        Just(3),
        Just(4),
        Just(9),
        Just(0xd00d_feed),
        any::<u32>(),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Byte(i, b)),
        (any::<prop::sample::Index>(), words).prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

fn apply(blob: &[u8], edits: &[Edit], keep: Option<prop::sample::Index>) -> Vec<u8> {
    let mut b = blob.to_vec();
    for e in edits {
        match e {
            Edit::Byte(i, v) => {
                let at = i.index(b.len());
                b[at] = *v;
            }
            Edit::Word(i, v) => {
                let at = i.index(b.len() / 4) * 4;
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
    }
    if let Some(k) = keep {
        b.truncate(k.index(b.len() + 1));
    }
    b
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: fuzz_cases(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The parse and pre-validation alone (`Platform::from_dtb`), the part a
    /// long run takes to 10^7 cases: no mutation or truncation of the
    /// built-in board panics it, and what it accepts keeps the limits the
    /// parser promises (at most `MAX_DOMAINS` domains, unique labels).
    #[test]
    fn mutated_builtin_boards_parse_or_are_refused(
        edits in proptest::collection::vec(edit(), 0..6),
        keep in proptest::option::weighted(0.3, any::<prop::sample::Index>()),
    ) {
        let b = apply(BUILTIN_DTB, &edits, keep);
        if let Ok(p) = Platform::from_dtb(&b) {
            prop_assert!(p.domains.len() <= MAX_DOMAINS);
            for (i, d) in p.domains.iter().enumerate() {
                prop_assert!(p.domains[..i].iter().all(|o| o.label != d.label), "label {:?} twice", d.label);
            }
        }
    }

    /// No mutation or truncation of the built-in board panics the parser
    /// (the fence in `blob.rs` keeps `fdt`'s panics away), and any board it
    /// accepts builds a driver: no region makes a backend allocate for its
    /// size, no count makes it loop or abort.
    #[test]
    fn mutated_builtin_boards_never_panic(
        edits in proptest::collection::vec(edit(), 0..6),
        keep in proptest::option::weighted(0.3, any::<prop::sample::Index>()),
    ) {
        let b = apply(BUILTIN_DTB, &edits, keep);
        if let Ok(p) = Platform::from_dtb(&b) {
            let drv = crate::Driver::new(crate::DriverConfig::new(p));
            prop_assert!(drv.is_ok() || drv.is_err());
        }
    }

    /// The same over every prefix length of a mutated blob with `totalsize`
    /// rewritten to match, so the header does not give the cut away.
    #[test]
    fn truncated_boards_with_fixed_up_totalsize_never_panic(
        edits in proptest::collection::vec(edit(), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = apply(BUILTIN_DTB, &edits, None);
        let len = 40 + cut.index(b.len() - 40);
        b.truncate(len);
        b[4..8].copy_from_slice(&(len as u32).to_be_bytes());
        let _ = Platform::from_dtb(&b);
    }
}

/// Found by `mutated_builtin_boards_never_panic`: a DMA pool at an address
/// that is not page aligned parsed, and the coherent pool built on it
/// asserted (a debug-build abort of `qdad --dtb`). The kernel refuses such a
/// CMA region ("incorrect alignment of CMA region"); qda refuses any
/// `shared-dma-pool` so placed. Other carve-outs are only recorded.
#[test]
fn dma_pools_must_be_page_aligned() {
    let mut t = base();
    t.at(HEAP).set("reg", u(&[0, 0x9000_0003, 0, 0x10_0000]));
    let reason = expect_property(&t, HEAP, "reg");
    assert!(reason.contains("page aligned"), "{reason}");
    t.at(HEAP).set("compatible", s("qcom,carveout"));
    t.at(FR).del("memory-region");
    assert!(t.parse().is_ok(), "not a DMA pool: only recorded");
}

/// G4 (issue 12): `qda,uapi-revision` on a FastRPC node chooses the QDA
/// UAPI revision the driver's accel nodes answer (unless
/// `QDA_UAPI_REVISION` or `qdad --uapi-revision` says otherwise); a bad
/// value, or two nodes that disagree, is one error naming node and
/// property.
///
/// Fails if: the property is ignored (the driver stays on May 2026), a bad
/// value passes, or disagreeing nodes pass.
#[test]
fn g4_uapi_revision_property() {
    use qda_uapi::qda::Revision;
    let mut t = base();
    assert_eq!(t.parse().unwrap().uapi_revision, None);
    assert_eq!(
        crate::DriverConfig::new(t.parse().unwrap()).qda_revision,
        Revision::May2026
    );
    t.at(FR).set("qda,uapi-revision", s("2026-02"));
    let p = t.parse().unwrap();
    assert_eq!(p.uapi_revision, Some(Revision::Rfc2026Feb));
    assert_eq!(crate::DriverConfig::new(p).qda_revision, Revision::Rfc2026Feb);
    t.at(FR).set("qda,uapi-revision", s("2026-05"));
    assert_eq!(t.parse().unwrap().uapi_revision, Some(Revision::May2026));
    t.at(FR).set("qda,uapi-revision", s("rfc"));
    let reason = expect_property(&t, FR, "qda,uapi-revision");
    assert!(reason.contains("\"rfc\"") && reason.contains("2026-02"), "{reason}");
    // Two domains: they must agree.
    t.at(FR).set("qda,uapi-revision", s("2026-02"));
    t.children
        .push(fastrpc("cdsp").p("qda,uapi-revision", s("2026-05")).c(compute_cb(1)));
    let reason = expect_property(&t, "/fastrpc", "qda,uapi-revision");
    assert!(reason.contains(FR), "names the other node: {reason}");
    t.at("/fastrpc").set("qda,uapi-revision", s("2026-02"));
    assert_eq!(t.parse().unwrap().uapi_revision, Some(Revision::Rfc2026Feb));
}

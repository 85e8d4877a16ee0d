//! From a structurally checked blob to a [`Platform`], with the drivers'
//! rules for what a usable tree is.
//!
//! The `fdt` crate walks the tree once into a flat list of nodes (path,
//! availability, raw properties); everything after that decodes raw property
//! bytes here, so that every malformed value is an error naming its node and
//! property rather than a silent `None` or a panic in the crate.
//!
//! Rules, beyond "strings are NUL-terminated UTF-8" and "cells are whole
//! 32-bit words":
//!
//! * **fastrpc node** (`qcom,fastrpc`, `qcom,kaanapali-fastrpc`), anywhere:
//!   `label` required, its first four characters must name a domain (the
//!   kernel's "Invalid Domain ID" refusal), unique across the board (it names
//!   the `/dev` nodes); `qcom,vmids` at most [`MAX_VMIDS`] cells (the kernel
//!   silently ignores the whole property when there are more);
//!   `memory-region`'s first phandle must be an available `/reserved-memory`
//!   child (the kernel uses only index 0; so do we); `qda,uapi-revision`,
//!   if given, `"2026-02"` or `"2026-05"`, the same on every node.
//! * **compute-cb** (`qcom,fastrpc-compute-cb` children): see `compute_cb`;
//!   at most [`MAX_SESSIONS`] sessions per domain; SIDs unique per domain.
//! * **`/reserved-memory`**: `#address-cells` and `#size-cells` required, 1 or
//!   2; each child needs `reg` (first entry used) or `size`, a non-zero size
//!   that does not wrap, a power-of-two `alignment`, not both `no-map` and
//!   `reusable` (the binding forbids it, CMA refuses it); at most one
//!   `linux,cma-default`; node names unique (they are heap names).

use std::collections::HashMap;

use fdt::Fdt;
use fdt::node::FdtNode;
use qda_uapi::qda::Revision;

use super::{
    CbDesc, DomainDesc, MAX_DOMAINS, MAX_REGION_SIZE, MAX_SESSIONS, MAX_VMIDS, PHYS_ADDR_BITS, Platform, PlatformError,
    ReservedRegion, UAPI_REVISION_PROP, domain_id_of,
};

const FASTRPC_COMPATIBLES: [&str; 2] = ["qcom,fastrpc", "qcom,kaanapali-fastrpc"];
const COMPUTE_CB_COMPATIBLE: &str = "qcom,fastrpc-compute-cb";

/// One node of the tree, flattened.
struct Node<'a> {
    path: String,
    name: &'a str,
    /// The node and all its ancestors have `status` "okay"/"ok" or none.
    live: bool,
    props: Vec<(&'a str, &'a [u8])>,
    children: Vec<usize>,
}

impl<'a> Node<'a> {
    fn prop(&self, name: &str) -> Option<&'a [u8]> {
        self.props.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    fn has(&self, name: &str) -> bool {
        self.prop(name).is_some()
    }

    /// Whether `compatible` lists one of `want` (raw comparison, so that
    /// nodes we do not care about are not held to our string rules).
    fn is_compatible(&self, want: &[&str]) -> bool {
        self.prop("compatible")
            .is_some_and(|v| v.split(|&b| b == 0).any(|c| want.iter().any(|w| w.as_bytes() == c)))
    }

    fn perr(&self, property: &str, reason: impl Into<String>) -> PlatformError {
        PlatformError::Property {
            node: self.path.clone(),
            property: property.into(),
            reason: reason.into(),
        }
    }

    fn nerr(&self, reason: impl Into<String>) -> PlatformError {
        PlatformError::Node {
            node: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// The first string of a string property (what `of_property_read_string`
    /// returns); the value must end with a NUL and the string be UTF-8.
    fn string(&self, name: &str) -> Result<Option<String>, PlatformError> {
        Ok(self.strings(name)?.map(|mut v| v.swap_remove(0)))
    }

    /// A string-list property: one or more NUL-terminated UTF-8 strings.
    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, PlatformError> {
        let Some(v) = self.prop(name) else { return Ok(None) };
        let Some((&0, body)) = v.split_last() else {
            return Err(self.perr(
                name,
                format!("not a NUL-terminated string ({} bytes: {v:02x?})", v.len()),
            ));
        };
        body.split(|&b| b == 0)
            .map(|s| match std::str::from_utf8(s) {
                Ok("") => Err(self.perr(name, "empty string in the list")),
                Ok(s) => Ok(s.to_string()),
                Err(_) => Err(self.perr(name, format!("not UTF-8: {s:02x?}"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A property of whole 32-bit big-endian cells.
    fn cells(&self, name: &str) -> Result<Option<Vec<u32>>, PlatformError> {
        let Some(v) = self.prop(name) else { return Ok(None) };
        if v.len() % 4 != 0 {
            return Err(self.perr(
                name,
                format!("length {} is not a multiple of 4 (32-bit cells)", v.len()),
            ));
        }
        Ok(Some(
            v.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    }

    /// The first cell of a cell property (what `of_property_read_u32`
    /// returns); an empty value is an error.
    fn first_cell(&self, name: &str) -> Result<Option<u32>, PlatformError> {
        match self.cells(name)? {
            None => Ok(None),
            Some(c) if c.is_empty() => Err(self.perr(name, "empty; one 32-bit cell expected")),
            Some(c) => Ok(Some(c[0])),
        }
    }

    /// A property of exactly one cell.
    fn single_cell(&self, name: &str) -> Result<Option<u32>, PlatformError> {
        match self.cells(name)? {
            None => Ok(None),
            Some(c) if c.len() != 1 => Err(self.perr(name, format!("{} cells; exactly one expected", c.len()))),
            Some(c) => Ok(Some(c[0])),
        }
    }

    /// A number of `n` cells (1 or 2), exactly.
    fn number(&self, name: &str, n: usize, cells_from: &str) -> Result<Option<u64>, PlatformError> {
        match self.cells(name)? {
            None => Ok(None),
            Some(c) if c.len() != n => {
                Err(self.perr(name, format!("{} cells; {cells_from} on the parent says {n}", c.len())))
            }
            Some(c) => Ok(Some(join(&c))),
        }
    }
}

fn join(cells: &[u32]) -> u64 {
    cells.iter().fold(0u64, |acc, &c| (acc << 32) | u64::from(c))
}

/// The page size the pools are managed in.
const PAGE_SIZE: u64 = crate::sys::PAGE_SIZE;

/// End of the physical address space a board may describe.
const PHYS_LIMIT: u64 = 1 << PHYS_ADDR_BITS;

fn is_available(status: Option<&str>) -> bool {
    matches!(status, None | Some("okay" | "ok"))
}

/// Flattens the tree below `node` (at `path`) into `out`; returns its index.
fn flatten<'a>(
    node: FdtNode<'_, 'a>,
    path: String,
    parent_live: bool,
    out: &mut Vec<Node<'a>>,
) -> Result<usize, PlatformError> {
    let index = out.len();
    out.push(Node {
        path,
        name: node.name,
        live: parent_live,
        props: node.properties().map(|p| (p.name, p.value)).collect(),
        children: Vec::new(),
    });
    let live = parent_live && is_available(out[index].string("status")?.as_deref());
    out[index].live = live;
    let mut children = Vec::new();
    for child in node.children() {
        let base = &out[index].path;
        let path = if base == "/" {
            format!("/{}", child.name)
        } else {
            format!("{base}/{}", child.name)
        };
        children.push(flatten(child, path, live, out)?);
    }
    out[index].children = children;
    Ok(index)
}

pub(super) fn platform(bytes: &[u8]) -> Result<Platform, PlatformError> {
    let fdt = Fdt::new(bytes).map_err(|e| PlatformError::Dtb { reason: e.to_string() })?;
    let root = fdt.find_node("/").ok_or_else(|| PlatformError::Dtb {
        reason: "no root node".into(),
    })?;
    let mut nodes = Vec::new();
    flatten(root, "/".into(), true, &mut nodes)?;

    // Every phandle in the tree, for resolving and for messages.
    let mut phandles: HashMap<u32, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let p = n.prop("phandle").or_else(|| n.prop("linux,phandle"));
        if let Some(&[a, b, c, d]) = p {
            phandles.entry(u32::from_be_bytes([a, b, c, d])).or_insert(i);
        }
    }

    let root = &nodes[0];
    let model = root.string("model")?.unwrap_or_default();
    let compatible = root.strings("compatible")?.unwrap_or_default();

    let reserved = match root
        .children
        .iter()
        .map(|&i| &nodes[i])
        .find(|n| n.name == "reserved-memory")
    {
        Some(rm) => reserved_memory(&nodes, rm)?,
        None => Vec::new(),
    };

    let mut domains: Vec<DomainDesc> = Vec::new();
    let mut uapi_revision: Option<(Revision, String)> = None;
    for n in nodes.iter().filter(|n| n.live && n.is_compatible(&FASTRPC_COMPATIBLES)) {
        // `qda,uapi-revision`: which posting of the QDA UAPI the accel
        // nodes answer. qda's own property (the posted bindings have none);
        // one driver serves one revision, so domains that give it agree.
        if let Some(v) = n.string(UAPI_REVISION_PROP)? {
            let r = Revision::from_name(&v).ok_or_else(|| {
                n.perr(
                    UAPI_REVISION_PROP,
                    format!("{v:?} names no QDA UAPI revision (known: \"2026-02\", \"2026-05\")"),
                )
            })?;
            match &uapi_revision {
                Some((o, path)) if *o != r => {
                    return Err(n.perr(
                        UAPI_REVISION_PROP,
                        format!("{v:?}, but {path} says {:?}; one driver serves one revision", o.name()),
                    ));
                }
                Some(_) => {}
                None => uapi_revision = Some((r, n.path.clone())),
            }
        }
        if domains.len() == MAX_DOMAINS {
            return Err(n.nerr(format!(
                "one FastRPC domain more than the {MAX_DOMAINS} accel minors (ACCEL_MAX_MINORS)"
            )));
        }
        let d = fastrpc(&nodes, n, &reserved, &phandles)?;
        if let Some(other) = domains.iter().find(|o| o.label == d.label) {
            return Err(n.perr(
                "label",
                format!(
                    "{:?} is also the label of {}; labels name the device nodes and must be unique",
                    d.label, other.node_path
                ),
            ));
        }
        domains.push(d);
    }

    Ok(Platform {
        model,
        compatible,
        domains,
        reserved,
        uapi_revision: uapi_revision.map(|(r, _)| r),
    })
}

fn reserved_memory(nodes: &[Node<'_>], rm: &Node<'_>) -> Result<Vec<ReservedRegion>, PlatformError> {
    let cells = |name: &str| -> Result<usize, PlatformError> {
        match rm.single_cell(name)? {
            Some(c @ (1 | 2)) => Ok(c as usize),
            Some(c) => Err(rm.perr(name, format!("{c}; reserved regions take 1 or 2 cells"))),
            None => Err(rm.perr(
                name,
                "missing; /reserved-memory must say how its children's reg and size are encoded",
            )),
        }
    };
    let (ac, sc) = (cells("#address-cells")?, cells("#size-cells")?);

    let mut out: Vec<ReservedRegion> = Vec::new();
    for n in rm.children.iter().map(|&i| &nodes[i]).filter(|n| n.live) {
        if let Some(other) = out.iter().find(|r| r.name == n.name) {
            return Err(n.nerr(format!(
                "duplicate node name (also {}); region names are heap names",
                other.node_path
            )));
        }
        let reg = match n.cells("reg")? {
            None => None,
            Some(c) if c.is_empty() || c.len() % (ac + sc) != 0 => {
                return Err(n.perr(
                    "reg",
                    format!(
                        "{} cells; entries of #address-cells + #size-cells = {} cells expected",
                        c.len(),
                        ac + sc
                    ),
                ));
            }
            Some(c) => Some((join(&c[..ac]), join(&c[ac..ac + sc]))),
        };
        let size_prop = n.number("size", sc, "#size-cells")?;
        let (size, size_from) = match (reg, size_prop) {
            (Some((_, size)), _) => (size, "reg"),
            (None, Some(size)) => (size, "size"),
            (None, None) => {
                return Err(n.nerr("neither \"reg\" nor \"size\": a reserved region needs a place or a size"));
            }
        };
        if size == 0 {
            return Err(n.perr(size_from, "zero size"));
        }
        if let Some((base, size)) = reg.filter(|(base, size)| base.checked_add(*size).is_none()) {
            return Err(n.perr(
                "reg",
                format!("{base:#x} + {size:#x} wraps past the end of the address space"),
            ));
        }
        if size > MAX_REGION_SIZE {
            return Err(n.perr(
                size_from,
                format!(
                    "size {size:#x} exceeds the {} GiB a reserved region may have",
                    MAX_REGION_SIZE >> 30
                ),
            ));
        }
        if let Some((base, size)) = reg.filter(|(base, size)| base + size > PHYS_LIMIT) {
            return Err(n.perr(
                "reg",
                format!(
                    "{base:#x} + {size:#x} ends past the {PHYS_ADDR_BITS}-bit physical address space ({PHYS_LIMIT:#x})"
                ),
            ));
        }
        let alignment = n.number("alignment", sc, "#size-cells")?;
        if let Some(a) = alignment.filter(|a| !a.is_power_of_two()) {
            return Err(n.perr("alignment", format!("{a:#x} is not a power of two")));
        }
        if let Some(a) = alignment.filter(|a| *a > PHYS_LIMIT) {
            return Err(n.perr(
                "alignment",
                format!("{a:#x} is larger than the {PHYS_ADDR_BITS}-bit physical address space"),
            ));
        }
        let (reusable, no_map, cma_default) = (n.has("reusable"), n.has("no-map"), n.has("linux,cma-default"));
        if reusable && no_map {
            return Err(n.perr(
                "no-map",
                "set together with \"reusable\"; the two are mutually exclusive",
            ));
        }
        if let Some(other) = out.iter().find(|r| cma_default && r.cma_default) {
            return Err(n.perr(
                "linux,cma-default",
                format!("also set on {}; there is one default CMA area", other.node_path),
            ));
        }
        let compatible = n.strings("compatible")?.unwrap_or_default();
        if let Some((base, _)) = reg.filter(|(base, _)| base % PAGE_SIZE != 0)
            && compatible.iter().any(|c| c == "shared-dma-pool")
        {
            return Err(n.perr(
                "reg",
                format!("a DMA pool at {base:#x}, which is not page aligned (4 KiB)"),
            ));
        }
        let phandle = match n.prop("phandle") {
            Some(_) => n.single_cell("phandle")?,
            None => n.single_cell("linux,phandle")?,
        };
        out.push(ReservedRegion {
            node_path: n.path.clone(),
            name: n.name.to_string(),
            reg,
            size,
            alignment,
            compatible,
            reusable,
            no_map,
            cma_default,
            phandle,
        });
    }
    Ok(out)
}

fn fastrpc(
    nodes: &[Node<'_>],
    n: &Node<'_>,
    reserved: &[ReservedRegion],
    phandles: &HashMap<u32, usize>,
) -> Result<DomainDesc, PlatformError> {
    n.strings("compatible")?;
    let label = n
        .string("label")?
        .ok_or_else(|| n.perr("label", "missing; it names the DSP domain"))?;
    if domain_id_of(&label).is_none() {
        return Err(n.perr(
            "label",
            format!("{label:?} names no DSP domain (Invalid Domain ID; known: adsp, mdsp, sdsp, cdsp*, gdsp*)"),
        ));
    }

    let vmids = n.cells("qcom,vmids")?.unwrap_or_default();
    if vmids.len() > MAX_VMIDS {
        return Err(n.perr(
            "qcom,vmids",
            format!(
                "{} VMIDs; at most {MAX_VMIDS} (FASTRPC_MAX_VMIDS; the kernel would ignore them all)",
                vmids.len()
            ),
        ));
    }

    let memory_region = match n.first_cell("memory-region")? {
        None => None,
        Some(ph) => match reserved.iter().find(|r| r.phandle == Some(ph)) {
            Some(r) => Some(r.name.clone()),
            None => {
                let reason = match phandles.get(&ph) {
                    Some(&i) => format!(
                        "phandle {ph:#x} points at {}, which is not an available child of /reserved-memory",
                        nodes[i].path
                    ),
                    None => format!("phandle {ph:#x} resolves to no node"),
                };
                return Err(n.perr("memory-region", reason));
            }
        },
    };

    let mut cbs: Vec<CbDesc> = Vec::new();
    let mut sessions = 0usize;
    for c in n
        .children
        .iter()
        .map(|&i| &nodes[i])
        .filter(|c| c.live && c.is_compatible(&[COMPUTE_CB_COMPATIBLE]))
    {
        let cb = compute_cb(c)?;
        if let Some(other) = cbs.iter().find(|o| o.sid == cb.sid) {
            return Err(c.perr("reg", format!("SID {} is also the SID of {}", cb.sid, other.node_path)));
        }
        sessions = sessions.saturating_add(cb.nsessions as usize);
        if sessions > MAX_SESSIONS {
            return Err(c.nerr(format!(
                "brings domain {label:?} to {sessions} sessions (compute-cbs plus qcom,nsessions duplicates); \
                 at most {MAX_SESSIONS} (FASTRPC_MAX_SESSIONS)"
            )));
        }
        cbs.push(cb);
    }

    Ok(DomainDesc {
        node_path: n.path.clone(),
        label,
        non_secure: n.has("qcom,non-secure-domain"),
        memory_region,
        vmids,
        cbs,
    })
}

/// One `qcom,fastrpc-compute-cb` node.
///
/// `reg` (the SID) is **required**. Neither kernel driver refuses a
/// compute-cb without it: QDA reads `reg` ignoring the result and keeps its
/// default of 0; misc/fastrpc logs "FastRPC Session ID not specified in DT"
/// at info level and carries on with the 0 left in its zero-allocated
/// session. SID 0 is not a neutral default: it is the SID whose buffers get
/// no SID prefix in their DSP addresses, so a missing `reg` silently gives
/// the session the wrong address space. We refuse the tree instead.
///
/// `qcom,nsessions` defaults to 1; 0 is refused (misc/fastrpc treats it as
/// 1, which hides the mistake). Whole 32-bit cells are required; as the
/// kernel's `of_property_read_u32`, the first cell is used.
fn compute_cb(c: &Node<'_>) -> Result<CbDesc, PlatformError> {
    c.strings("compatible")?;
    let sid = c
        .first_cell("reg")?
        .ok_or_else(|| c.perr("reg", "missing; the SID of a context bank is required"))?;
    let nsessions = c.first_cell("qcom,nsessions")?.unwrap_or(1);
    if nsessions == 0 {
        return Err(c.perr("qcom,nsessions", "0; a context bank carries at least one session"));
    }
    Ok(CbDesc {
        node_path: c.path.clone(),
        sid,
        nsessions,
        dma_coherent: c.has("dma-coherent"),
    })
}

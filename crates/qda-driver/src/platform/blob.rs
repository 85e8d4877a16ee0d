//! Structural check of a flattened device tree before the `fdt` crate sees it.
//!
//! `fdt` 0.1.5 trusts its input: beyond the magic and `totalsize` it checks
//! nothing, and on a malformed blob it panics (slice indexing past the end of
//! a block, `unwrap`/`expect` on a missing NUL or on non-UTF-8 names,
//! `assert_eq!` on unexpected tokens, a fixed 64-entry parent stack). A board
//! description is input, so this module walks the whole header, structure
//! block and strings block once, with checked arithmetic, and only a blob that
//! passes is handed to `fdt`. The checks are exactly the assumptions `fdt`
//! makes, plus the few the specification states that matter for paths:
//!
//! * header: magic, `totalsize` within the buffer, version 17 (the only one
//!   whose header carries `size_dt_struct`, which `fdt` relies on), the
//!   structure, strings and memory-reservation blocks inside `totalsize`;
//! * structure block: `FDT_BEGIN_NODE` names NUL-terminated inside the block,
//!   UTF-8, without `/`, empty for the root and only for it; property headers
//!   and values inside the block; property names (offsets into the strings
//!   block) NUL-terminated inside it and UTF-8; properties before child nodes
//!   (the order the specification requires, and `fdt` panics otherwise);
//!   balanced nodes, one root, `FDT_END` last; nesting at most
//!   [`MAX_DEPTH`] levels.
//!
//! `FDT_NOP` tokens are refused. They are valid (libfdt leaves them behind
//! when it deletes a node or property in place) but `fdt` 0.1.5 only skips
//! them in some positions and panics on others; `dtc` never emits them.

use super::PlatformError;

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
const HEADER_LEN: usize = 40;

/// Deepest nesting accepted, counting the root as level 1 (`fdt` keeps its
/// parents in a 64-entry array indexed from 1).
pub(crate) const MAX_DEPTH: usize = 63;

fn dtb(reason: impl Into<String>) -> PlatformError {
    PlatformError::Dtb { reason: reason.into() }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn align4(n: usize) -> Option<usize> {
    Some(n.checked_add(3)? & !3)
}

/// A block `[off, off + len)` of the blob, checked against `totalsize`.
fn block(what: &str, off: u32, len: u64, total: usize) -> Result<std::ops::Range<usize>, PlatformError> {
    let start = off as u64;
    let end = start.checked_add(len).filter(|&e| e <= total as u64);
    match end {
        Some(end) => Ok(start as usize..end as usize),
        None => Err(dtb(format!(
            "{what} block at offset {start:#x}, {len:#x} bytes, runs past totalsize {total:#x}"
        ))),
    }
}

/// The NUL-terminated UTF-8 string at `at` inside `bytes`, and its length
/// without the NUL.
fn cstr(bytes: &[u8], at: usize) -> Option<Result<&str, ()>> {
    let rest = bytes.get(at..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some(std::str::from_utf8(&rest[..len]).map_err(|_| ()))
}

/// Checks that `bytes` is a device tree blob the `fdt` crate can walk without
/// panicking. See the module documentation for the list.
pub(crate) fn check(bytes: &[u8]) -> Result<(), PlatformError> {
    if bytes.len() < HEADER_LEN {
        return Err(dtb(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let field = |i: usize| be32(bytes, i * 4).unwrap_or(0);
    let (magic, totalsize, off_struct, off_strings, off_rsvmap) = (field(0), field(1), field(2), field(3), field(4));
    let (version, last_comp, size_strings, size_struct) = (field(5), field(6), field(8), field(9));
    if magic != FDT_MAGIC {
        return Err(dtb(format!("bad magic {magic:#010x} (expected {FDT_MAGIC:#010x})")));
    }
    let total = totalsize as usize;
    if total > bytes.len() {
        return Err(dtb(format!(
            "truncated: header says totalsize {total:#x} bytes, only {:#x} present",
            bytes.len()
        )));
    }
    if total < HEADER_LEN {
        return Err(dtb(format!("totalsize {total:#x} is smaller than the header")));
    }
    if version < 17 || last_comp > 17 {
        return Err(dtb(format!(
            "unsupported version {version} (last compatible {last_comp}); only version 17 blobs are read"
        )));
    }
    let structs = block("structure", off_struct, size_struct as u64, total)?;
    let strings = block("strings", off_strings, size_strings as u64, total)?;
    // The memory reservation map: 16-byte entries ending with an all-zero one.
    let mut at = off_rsvmap as usize;
    loop {
        let entry = at
            .checked_add(16)
            .filter(|&e| e <= total)
            .and_then(|e| bytes.get(at..e));
        let Some(entry) = entry else {
            return Err(dtb(format!(
                "memory reservation map at {off_rsvmap:#x} is not terminated inside totalsize"
            )));
        };
        if entry.iter().all(|&b| b == 0) {
            break;
        }
        at += 16;
    }
    check_structure(&bytes[structs], &bytes[strings])
}

fn check_structure(st: &[u8], strings: &[u8]) -> Result<(), PlatformError> {
    // One entry per open node: whether a child node has been seen yet.
    let mut open: Vec<bool> = Vec::new();
    let mut root_seen = false;
    let mut pos = 0usize;
    loop {
        let Some(token) = be32(st, pos) else {
            return Err(dtb(format!("structure block ends at {pos:#x} without FDT_END")));
        };
        match token {
            FDT_BEGIN_NODE => {
                let name = match cstr(st, pos + 4) {
                    None => return Err(dtb(format!("node name at {:#x} is not NUL-terminated", pos + 4))),
                    Some(Err(())) => return Err(dtb(format!("node name at {:#x} is not UTF-8", pos + 4))),
                    Some(Ok(name)) => name,
                };
                match open.last_mut() {
                    None if root_seen => return Err(dtb(format!("second root node at {pos:#x}"))),
                    None if !name.is_empty() => {
                        return Err(dtb(format!(
                            "root node at {pos:#x} has the name {name:?}; it must be empty"
                        )));
                    }
                    None => root_seen = true,
                    Some(_) if name.is_empty() || name.contains('/') => {
                        return Err(dtb(format!("node at {pos:#x} has the invalid name {name:?}")));
                    }
                    Some(parent_has_child) => *parent_has_child = true,
                }
                if open.len() == MAX_DEPTH {
                    return Err(dtb(format!(
                        "node {name:?} at {pos:#x} is nested deeper than {MAX_DEPTH} levels"
                    )));
                }
                open.push(false);
                pos = align4(pos + 4 + name.len() + 1).ok_or_else(|| dtb("offset overflow"))?;
            }
            FDT_PROP => {
                match open.last() {
                    None => return Err(dtb(format!("property at {pos:#x} outside any node"))),
                    Some(true) => {
                        return Err(dtb(format!(
                            "property at {pos:#x} follows a child node (properties come first)"
                        )));
                    }
                    Some(false) => {}
                }
                let (Some(len), Some(nameoff)) = (be32(st, pos + 4), be32(st, pos + 8)) else {
                    return Err(dtb(format!(
                        "property header at {pos:#x} runs past the structure block"
                    )));
                };
                let value_end = (pos + 12).checked_add(len as usize).filter(|&e| e <= st.len());
                let Some(value_end) = value_end else {
                    return Err(dtb(format!(
                        "property at {pos:#x}: value of {len:#x} bytes runs past the structure block"
                    )));
                };
                match cstr(strings, nameoff as usize) {
                    None => {
                        return Err(dtb(format!(
                            "property at {pos:#x}: name offset {nameoff:#x} does not point at a NUL-terminated string in the strings block"
                        )));
                    }
                    Some(Err(())) => return Err(dtb(format!("property at {pos:#x}: name is not UTF-8"))),
                    Some(Ok("")) => return Err(dtb(format!("property at {pos:#x}: empty name"))),
                    Some(Ok(_)) => {}
                }
                pos = align4(value_end).ok_or_else(|| dtb("offset overflow"))?;
            }
            FDT_END_NODE => {
                if open.pop().is_none() {
                    return Err(dtb(format!("FDT_END_NODE at {pos:#x} closes no node")));
                }
                pos += 4;
            }
            FDT_END => {
                if !open.is_empty() {
                    return Err(dtb(format!("FDT_END at {pos:#x} inside an open node")));
                }
                if !root_seen {
                    return Err(dtb("no root node"));
                }
                return Ok(());
            }
            FDT_NOP => {
                return Err(dtb(format!(
                    "FDT_NOP token at {pos:#x} (not supported; recompile the tree with dtc)"
                )));
            }
            other => return Err(dtb(format!("unknown token {other:#x} at {pos:#x}"))),
        }
    }
}

//! The C headers against their Rust mirror, with a C compiler.
//!
//! From `qda_uapi::remote`'s tables (built from the Rust types and constants
//! themselves) and `qda_uapi::aee::AEE_TABLE`, this generates C files that
//! include the headers and `_Static_assert` every size, alignment, field
//! offset and size, scalar type, constant and AEE code (once as the CPU sees
//! the codes, once with `__hexagon__` as the DSP does); a small program run
//! at test time prints the string macros and the scalars macros for a few
//! words, compared here with the tables and with `qda_proto::Scalars`. A scan
//! of the headers listed in [`ABI_HEADERS`] fails on any struct, union,
//! typedef, enum member or `#define` that nothing checks, and on any function
//! not in `qda_sdk::FUNCTIONS` (the symbols an implementation must export).
//!
//! The compiler is `$CC` (else `cc`) for C and `$CXX` (else `c++`) for C++.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use qda_proto::Scalars;
use qda_uapi::aee::{AEE_EOFFSET_CPU, AEE_EOFFSET_DSP, AEE_TABLE, AeeEncoding, AeeSide};
use qda_uapi::remote::{CONSTANTS, Constant, STRINGS, STRUCTS, TYPES};

/// The headers whose every struct and constant must be checked. A header
/// added to `include/` later opts in by being listed here.
const ABI_HEADERS: &[&str] = &[
    "remote.h",
    "rpcmem.h",
    "AEEStdErr.h",
    "AEEStdDef.h",
    "HAP_debug.h",
    "HAP_farf.h",
    "HAP_perf.h",
    "HAP_mem.h",
];

/// `#define`s the scan lets through, with the reason.
const ALLOWED_MACROS: &[(&str, &str)] = &[
    (
        "__QAIC_REMOTE",
        "declaration decorator for qaic output: expands to its argument",
    ),
    ("__QAIC_REMOTE_EXPORT", "declaration decorator for qaic output: empty"),
    (
        "__QAIC_REMOTE_ATTRIBUTE",
        "declaration decorator for qaic output: empty",
    ),
    ("__QAIC_RETURN", "declaration decorator for qaic output: empty"),
    ("__QAIC_IN", "declaration decorator for qaic output: empty"),
    ("__QAIC_OUT", "declaration decorator for qaic output: empty"),
    ("__QAIC_IN_CHAR", "declaration decorator for qaic output: empty"),
    ("__QAIC_IN_LEN", "declaration decorator for qaic output: empty"),
    (
        "__QAIC_INT64PTR",
        "a type (uint64_t), not a value; used in prototypes only",
    ),
    (
        "REMOTE_SCALARS_METHOD_ATTR",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_METHOD",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_INBUFS",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_OUTBUFS",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_INHANDLES",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_OUTHANDLES",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_MAKEX",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_MAKE",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "REMOTE_SCALARS_LENGTH",
        "function-like: run against qda_proto::Scalars below",
    ),
    (
        "AEE_EOFFSET",
        "checked per side with the AEE codes (0 on the CPU, DSP_AEE_EOFFSET on Hexagon)",
    ),
    ("CDECL", "calling-convention marker, empty outside MSVC"),
    ("__STR__", "function-like: stringizes its argument"),
    ("__TOSTR__", "function-like: stringizes its argument's expansion"),
    ("__FILE_LINE__", "expands to the file and line of its use"),
    ("__STRING_OBJECT__", "marks _cstring_t/_wstring_t as defined (empty)"),
    (
        "FARF_LOW",
        "compile-time switch (0 or 1 by the build's FARF_LOW/_DEBUG), not a value",
    ),
    ("FARF_MEDIUM", "compile-time switch, not a value"),
    ("FARF_HIGH", "compile-time switch, not a value"),
    ("FARF_ERROR", "compile-time switch, not a value"),
    ("FARF_FATAL", "compile-time switch, not a value"),
    ("FARF_ALWAYS", "compile-time switch (always 1), not a value"),
    (
        "FARF_RUNTIME_LOW",
        "compile-time switch (always 1: run-time levels are filtered at run time)",
    ),
    ("FARF_RUNTIME_MEDIUM", "compile-time switch, as above"),
    ("FARF_RUNTIME_HIGH", "compile-time switch, as above"),
    ("FARF_RUNTIME_ERROR", "compile-time switch, as above"),
    ("FARF_RUNTIME_FATAL", "compile-time switch, as above"),
    (
        "FARF",
        "function-like: run by crates/qda-dsp/tests/sdk.rs (levels on and off, where lines go)",
    ),
    ("__FILENAME__", "expands to __FILE__ unless the build defines it"),
    ("_QDA_FARF_CAT", "FARF's token pasting helper"),
    ("_QDA_FARF_CAT_", "FARF's token pasting helper"),
    ("_QDA_FARF_0", "FARF compiled out"),
    ("_QDA_FARF_1", "FARF compiled in: a call of HAP_debug_v2"),
];

fn compiler(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qda-sdk-abi");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Run a compiler; `Err` with its output when it fails.
fn compile(cc: &str, args: &[&str], source: &Path) -> Result<(), String> {
    let out = Command::new(cc)
        .args(args)
        .arg("-I")
        .arg(qda_sdk::include_dir())
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cc} {} {} failed:\n{}{}",
            args.join(" "),
            source.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn includes() -> String {
    let mut s = String::from("#include <stddef.h>\n#include <stdio.h>\n");
    for (name, _) in qda_sdk::HEADERS {
        writeln!(s, "#include \"{name}\"").unwrap();
    }
    s
}

/// A C expression equal to `value`, and the type the macro is cast to for
/// the comparison (so that no comparison mixes signedness).
fn c_value(value: i128) -> (&'static str, String) {
    if value > i128::from(i64::MAX) {
        ("unsigned long long", format!("{value}ULL"))
    } else if value < 0 {
        ("long long", format!("(-{}LL - 1)", -(value + 1)))
    } else {
        ("long long", format!("{value}LL"))
    }
}

fn assert_value(s: &mut String, name: &str, value: i128) {
    let (ty, lit) = c_value(value);
    writeln!(s, "_Static_assert(({ty})({name}) == {lit}, \"{name} == {value}\");").unwrap();
}

/// The `_Static_assert`s for the layouts, types and constants.
fn layout_checks(constants: &[Constant]) -> String {
    let mut s = includes();
    for st in STRUCTS {
        for t in st.c_names {
            writeln!(
                s,
                "_Static_assert(sizeof({t}) == {}, \"sizeof({t}) == {}\");",
                st.size, st.size
            )
            .unwrap();
            writeln!(
                s,
                "_Static_assert(_Alignof({t}) == {}, \"_Alignof({t}) == {}\");",
                st.align, st.align
            )
            .unwrap();
            for f in st.fields {
                let (n, o, z) = (f.name, f.offset, f.size);
                writeln!(
                    s,
                    "_Static_assert(offsetof({t}, {n}) == {o}, \"offsetof({t}, {n}) == {o}\");"
                )
                .unwrap();
                writeln!(
                    s,
                    "_Static_assert(sizeof((({t} *)0)->{n}) == {z}, \"sizeof({t}.{n}) == {z}\");"
                )
                .unwrap();
            }
        }
    }
    for t in TYPES {
        let (n, z) = (t.c_name, t.size);
        writeln!(s, "_Static_assert(sizeof({n}) == {z}, \"sizeof({n}) == {z}\");").unwrap();
        if let Some(signed) = t.signed {
            let v = i32::from(signed);
            writeln!(s, "_Static_assert((({n})-1 < 0) == {v}, \"{n} signed == {signed}\");").unwrap();
        }
    }
    for c in constants {
        assert_value(&mut s, c.name, c.value);
    }
    s
}

/// The `_Static_assert`s for the AEE codes as one side sees them.
fn aee_checks(dsp: bool) -> String {
    let mut s = includes();
    let offset = if dsp { AEE_EOFFSET_DSP } else { AEE_EOFFSET_CPU };
    assert_value(&mut s, "AEE_EOFFSET", offset.into());
    for e in AEE_TABLE {
        let here = match e.side {
            AeeSide::Both => true,
            AeeSide::Dsp => dsp,
            AeeSide::Cpu => !dsp,
        };
        if !here {
            continue;
        }
        let value = match e.encoding {
            AeeEncoding::Fixed => i128::from(e.value as i32),
            AeeEncoding::Offset => i128::from(offset + e.value),
        };
        assert_value(&mut s, e.name, value);
    }
    s
}

/// The words the scalars macros are run on: (attr, method, in, out, hin, hout).
const SCALARS: &[(u8, u8, u8, u8, u8, u8)] = &[
    (0, 0, 0, 0, 0, 0),
    (0, 2, 2, 2, 0, 0),
    (0, 3, 1, 2, 0, 0),
    (1, 5, 0, 1, 2, 3),
    (7, 31, 255, 255, 15, 15),
    (9, 33, 17, 4, 18, 31), // fields wider than their bits are cut
];

/// A program that prints the string macros and the scalars macros.
fn runtime_program() -> String {
    let mut s = includes();
    s.push_str("int main(void) {\n");
    for m in STRINGS {
        writeln!(s, "    printf(\"%s=%s\\n\", \"{0}\", {0});", m.name).unwrap();
    }
    for &(a, m, i, o, hi, ho) in SCALARS {
        writeln!(
            s,
            "    {{ unsigned sc = REMOTE_SCALARS_MAKEX({a}, {m}, {i}, {o}, {hi}, {ho}); \
             printf(\"%08x %08x %u %u %u %u %u %u %u\\n\", sc, (unsigned)REMOTE_SCALARS_MAKE({m}, {i}, {o}), \
             (unsigned)REMOTE_SCALARS_METHOD_ATTR(sc), (unsigned)REMOTE_SCALARS_METHOD(sc), \
             (unsigned)REMOTE_SCALARS_INBUFS(sc), (unsigned)REMOTE_SCALARS_OUTBUFS(sc), \
             (unsigned)REMOTE_SCALARS_INHANDLES(sc), (unsigned)REMOTE_SCALARS_OUTHANDLES(sc), \
             (unsigned)REMOTE_SCALARS_LENGTH(sc)); }}"
        )
        .unwrap();
    }
    s.push_str("    return 0;\n}\n");
    s
}

fn runtime_expected() -> String {
    let mut s = String::new();
    for m in STRINGS {
        writeln!(s, "{}={}", m.name, m.value).unwrap();
    }
    for &(a, m, i, o, hi, ho) in SCALARS {
        let sc = Scalars::makex(a, m, i, o, hi, ho);
        let make = Scalars::make(m, i, o);
        writeln!(
            s,
            "{:08x} {:08x} {} {} {} {} {} {} {}",
            sc.0,
            make.0,
            sc.attr(),
            sc.method(),
            sc.inbufs(),
            sc.outbufs(),
            sc.in_handles(),
            sc.out_handles(),
            sc.len()
        )
        .unwrap();
    }
    s
}

fn write(name: &str, text: &str) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `-Wno-type-limits`: the signedness checks compare `(T)-1 < 0`, which is
/// constant for a type by design.
const C_FLAGS: &[&str] = &[
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-Wno-type-limits",
    "-fsyntax-only",
];

#[test]
fn layouts_types_and_constants_match_the_rust_tables() {
    let path = write("layout.c", &layout_checks(CONSTANTS));
    compile(&compiler("CC", "cc"), C_FLAGS, &path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn aee_codes_match_qda_uapi_on_the_cpu_and_the_dsp() {
    let cc = compiler("CC", "cc");
    let cpu = write("aee_cpu.c", &aee_checks(false));
    compile(&cc, C_FLAGS, &cpu).unwrap_or_else(|e| panic!("{e}"));
    let dsp = write("aee_dsp.c", &aee_checks(true));
    // A Hexagon build, and a skel built for qda's virtual DSP (QDA_SKEL,
    // which qda-skel.pc defines): both see the DSP's codes.
    for side in ["-D__hexagon__", "-DQDA_SKEL"] {
        let flags: Vec<&str> = C_FLAGS.iter().copied().chain([side]).collect();
        compile(&cc, &flags, &dsp).unwrap_or_else(|e| panic!("{side}: {e}"));
    }
}

#[test]
fn string_macros_and_scalars_macros_at_run_time() {
    let src = write("runtime.c", &runtime_program());
    let exe = scratch("runtime");
    let exe_s = exe.to_str().unwrap();
    compile(
        &compiler("CC", "cc"),
        &["-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe_s],
        &src,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "{exe_s} failed");
    let got = String::from_utf8(out.stdout).unwrap();
    let want = runtime_expected();
    for (g, w) in got.lines().zip(want.lines()) {
        assert_eq!(g, w, "C printed the first line, Rust expects the second");
    }
    assert_eq!(got.lines().count(), want.lines().count());
}

#[test]
fn headers_compile_alone_as_c99_and_as_cxx() {
    let cc = compiler("CC", "cc");
    let cxx = compiler("CXX", "c++");
    for (name, _) in qda_sdk::HEADERS {
        // A declaration after the include keeps a macro-only header from
        // being an empty translation unit.
        let src = write(
            &format!("alone_{name}.c"),
            &format!("#include \"{name}\"\ntypedef int qda_sdk_nonempty;\n"),
        );
        compile(
            &cc,
            &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"],
            &src,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        compile(
            &cxx,
            &["-x", "c++", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"],
            &src,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_wrong_value_fails_to_compile() {
    let mut wrong: Vec<Constant> = CONSTANTS.to_vec();
    let c = wrong.iter_mut().find(|c| c.name == "CDSP_DOMAIN_ID").unwrap();
    c.value += 1;
    let path = write("layout_wrong.c", &layout_checks(&wrong));
    let err = compile(&compiler("CC", "cc"), C_FLAGS, &path).expect_err("a wrong CDSP_DOMAIN_ID compiled");
    assert!(err.contains("CDSP_DOMAIN_ID == 4"), "{err}");
}

// ---------------------------------------------------------------------------
// Coverage: what the headers define, against what the tables check.
// ---------------------------------------------------------------------------

#[path = "abi/scan.rs"]
mod scan;

fn checked_names() -> BTreeSet<&'static str> {
    let mut names: BTreeSet<&str> = CONSTANTS.iter().map(|c| c.name).collect();
    names.extend(STRINGS.iter().map(|s| s.name));
    names.extend(AEE_TABLE.iter().map(|e| e.name));
    names.extend(STRUCTS.iter().flat_map(|s| s.c_names.iter().copied()));
    names.extend(TYPES.iter().map(|t| t.c_name));
    names.extend(ALLOWED_MACROS.iter().map(|(n, _)| *n));
    names.extend(
        qda_sdk::FUNCTIONS
            .iter()
            .chain(qda_sdk::INLINE_FUNCTIONS)
            .chain(qda_sdk::DSP_FUNCTIONS)
            .map(|(_, n)| *n),
    );
    names
}

/// What a header defines that nothing checks, as "header: what".
fn unchecked(header: &str, text: &str) -> Vec<String> {
    let found = scan::scan(text);
    let names = checked_names();
    let mut out = Vec::new();
    for item in found.items {
        match item {
            scan::Item::Name(kind, n) if !names.contains(n.as_str()) => out.push(format!("{header}: {kind} {n}")),
            scan::Item::Fields(t, fields) => match STRUCTS.iter().find(|s| s.c_names.contains(&t.as_str())) {
                None => out.push(format!("{header}: struct/union {t}")),
                Some(s) => {
                    let have: Vec<&str> = s.fields.iter().map(|f| f.name).collect();
                    if have != fields {
                        out.push(format!(
                            "{header}: fields of {t} are {fields:?}, the table has {have:?}"
                        ));
                    }
                }
            },
            _ => {}
        }
    }
    out
}

#[test]
fn every_struct_and_constant_of_the_abi_headers_is_checked() {
    let mut missing = Vec::new();
    for name in ABI_HEADERS {
        let text = qda_sdk::header(name).unwrap_or_else(|| panic!("{name} is not in include/"));
        missing.extend(unchecked(name, text));
    }
    assert!(
        missing.is_empty(),
        "not checked against qda_uapi::remote (add them there): {missing:#?}"
    );
}

/// Every name the tables give a header is one the scan finds there, so the
/// scan is not blind and the tables list nothing the headers lack.
#[test]
fn the_scan_finds_every_name_of_the_tables() {
    let mut by_header: Vec<(&str, &str)> = CONSTANTS.iter().map(|c| (c.header, c.name)).collect();
    by_header.extend(STRINGS.iter().map(|s| (s.header, s.name)));
    by_header.extend(STRUCTS.iter().flat_map(|s| s.c_names.iter().map(|n| (s.header, *n))));
    by_header.extend(TYPES.iter().map(|t| (t.header, t.c_name)));
    by_header.extend(AEE_TABLE.iter().map(|e| ("AEEStdErr.h", e.name)));
    by_header.extend(
        qda_sdk::FUNCTIONS
            .iter()
            .chain(qda_sdk::INLINE_FUNCTIONS)
            .chain(qda_sdk::DSP_FUNCTIONS)
            .copied(),
    );
    let mut lost = Vec::new();
    let mut counts = Vec::new();
    for header in ABI_HEADERS {
        let found: BTreeSet<String> = scan::scan(qda_sdk::header(header).unwrap())
            .items
            .into_iter()
            .map(|i| match i {
                scan::Item::Name(_, n) | scan::Item::Fields(n, _) => n,
            })
            .collect();
        counts.push(format!("{header}: {}", found.len()));
        for (h, n) in &by_header {
            if h == header && !found.contains(*n) {
                lost.push(format!("{h}: {n}"));
            }
        }
    }
    assert!(lost.is_empty(), "in the tables, not found in the header: {lost:#?}");
    assert!(by_header.iter().all(|(h, _)| ABI_HEADERS.contains(h)));
    eprintln!("scanned names: {counts:?}");
}

#[test]
fn the_scan_sees_what_it_must() {
    let text = "#ifndef X_H\n#define X_H\n/* #define IN_COMMENT 1 */\n#define NEW_FLAG (1u << 3)\n\
                #define _NEW_DEFINED\nenum e { A_NEW = 1, B_NEW };\n\
                typedef struct { int a; char b[3]; void (*cb)(int,\n int); } new_t;\n\
                struct remote_rpc_control_latency { uint32_t enable; uint32_t latency; uint32_t extra; };\n\
                typedef int (*new_fn)(void);\nstatic inline int new_inline(void) { return 1; }\n\
                int __QAIC_REMOTE(new_call)(int a) __QAIC_REMOTE_ATTRIBUTE;\nvoid *rpcmem_alloc(int, unsigned, int);\n#endif\n";
    let got = unchecked("x.h", text);
    let want = [
        "x.h: #define NEW_FLAG",
        "x.h: type enum e",
        "x.h: enum member A_NEW",
        "x.h: enum member B_NEW",
        "x.h: struct/union new_t",
        "x.h: fields of struct remote_rpc_control_latency are [\"enable\", \"latency\", \"extra\"], the table has [\"enable\", \"latency\"]",
        "x.h: typedef new_fn",
        "x.h: function new_inline",
        "x.h: function new_call",
    ];
    assert_eq!(got, want);
    let fields = scan::scan(text).items.into_iter().find_map(|i| match i {
        scan::Item::Fields(t, f) if t == "new_t" => Some(f),
        _ => None,
    });
    assert_eq!(fields.unwrap(), ["a", "b", "cb"]);
}

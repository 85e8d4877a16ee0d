//! `qda sdk install --prefix DIR`: the C SDK laid out for building FastRPC
//! applications and skels against qda.
//!
//! The libraries and the PD host come from beside the running `qda` (a
//! `cargo build` leaves them together in `target/<profile>/`); the headers
//! and the pkg-config files are embedded in this binary. Files are written
//! beside their destination and renamed over it, so a running application
//! keeps the library it mapped. A file already at a destination is
//! replaced only if an earlier install wrote it (the manifest
//! `share/qda/sdk-files` lists what it did) or it has the same bytes;
//! anything else is refused unless `--force`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The headers installed into `include/`, embedded in this binary.
const HEADERS: &[(&str, &str)] = qda_sdk::HEADERS;

/// The manifest of an install, relative to the prefix.
const MANIFEST: &str = "share/qda/sdk-files";

/// pkg-config templates (`@PREFIX@`, `@VERSION@`), by installed name.
const PKGCONFIG: &[(&str, &str)] = &[
    ("qda-rpc.pc", include_str!("../../qda-sdk/pkgconfig/qda-rpc.pc.in")),
    ("qda-skel.pc", include_str!("../../qda-sdk/pkgconfig/qda-skel.pc.in")),
    ("adsprpc.pc", include_str!("../../qda-sdk/pkgconfig/adsprpc.pc.in")),
    ("cdsprpc.pc", include_str!("../../qda-sdk/pkgconfig/cdsprpc.pc.in")),
    ("sdsprpc.pc", include_str!("../../qda-sdk/pkgconfig/sdsprpc.pc.in")),
];

/// Built files beside `qda`: (file in the build directory, destination
/// under the prefix, mode).
const BUILT: &[(&str, &str, u32)] = &[
    ("libqda_rpc.so", "lib/libqda-rpc.so", 0o755),
    ("libqda_rpc.a", "lib/libqda-rpc.a", 0o644),
    ("libadsprpc.so", "lib/libadsprpc.so", 0o755),
    ("libcdsprpc.so", "lib/libcdsprpc.so", 0o755),
    ("libsdsprpc.so", "lib/libsdsprpc.so", 0o755),
    ("qda-pd-host", "libexec/qda/qda-pd-host", 0o755),
    // The preload shim `qda exec` uses (an install's `bin/qda` finds it in
    // `../lib`).
    ("libqda_preload.so", "lib/libqda-preload.so", 0o755),
];

/// Where one installed file's bytes come from.
enum Source {
    /// A file of the build directory.
    Built(PathBuf),
    /// Text generated or embedded here.
    Text(String),
}

/// Install the SDK under `prefix`; `force` replaces files no install of
/// ours wrote.
pub fn install(prefix: &Path, force: bool) -> Result<(), String> {
    let prefix = std::path::absolute(prefix).map_err(|e| format!("--prefix {}: {e}", prefix.display()))?;
    let shown = prefix.display().to_string();
    if let Some(c) = shown.chars().find(|c| c.is_whitespace() || "\"'\\$#".contains(*c)) {
        return Err(format!(
            "--prefix {shown}: a character pkg-config files cannot hold ({c:?}); choose a prefix without it"
        ));
    }
    let files = plan(&prefix)?;
    // Refuse before writing anything.
    let ours = previous_manifest(&prefix);
    let mut foreign = Vec::new();
    for (rel, src, _) in &files {
        let dest = prefix.join(rel);
        if fs::symlink_metadata(&dest).is_ok() && !ours.iter().any(|o| o == rel) && !same_bytes(&dest, src) {
            foreign.push(dest.display().to_string());
        }
    }
    if !foreign.is_empty() && !force {
        return Err(format!(
            "refusing to replace files no qda install wrote: {} (remove them, choose another --prefix, or pass --force)",
            foreign.join(", ")
        ));
    }
    for (rel, src, mode) in &files {
        let dest = prefix.join(rel);
        write(&dest, src, *mode)?;
        match src {
            Source::Built(from) => out!("installed {}  (from {})", dest.display(), from.display()),
            Source::Text(_) => out!("installed {}", dest.display()),
        }
    }
    let mut list: Vec<&str> = files.iter().map(|(r, _, _)| r.as_str()).collect();
    list.push(MANIFEST);
    let text: String = list.iter().map(|r| format!("{r}\n")).collect();
    write(&prefix.join(MANIFEST), &Source::Text(text), 0o644)?;
    out!("installed {}", prefix.join(MANIFEST).display());
    out!("");
    out!("build an application: cc app.c $(PKG_CONFIG_PATH={shown}/lib/pkgconfig pkg-config --cflags --libs qda-rpc)");
    out!("build a skel:          cc -shared -fPIC -o libX_skel.so X_skel.c $(pkg-config --cflags qda-skel)");
    out!("run:                   DSP_LIBRARY_PATH=<dir of libX_skel.so> ./app");
    Ok(())
}

/// Every file to install: (path relative to the prefix, source, mode).
fn plan(prefix: &Path) -> Result<Vec<(String, Source, u32)>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the running qda binary: {e}"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no directory", exe.display()))?
        .to_path_buf();
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for (name, rel, mode) in BUILT {
        let from = dir.join(name);
        if from.is_file() {
            files.push((rel.to_string(), Source::Built(from), *mode));
        } else {
            missing.push(*name);
        }
    }
    if !missing.is_empty() {
        let release = if dir.file_name().is_some_and(|n| n == "debug") {
            ""
        } else {
            " --release"
        };
        return Err(format!(
            "{} not beside qda in {}: build them with `cargo build{release} -p qda-rpc -p adsprpc -p cdsprpc \
             -p sdsprpc -p qda-dsp -p qda-preload` (or simply `cargo build{release}`)",
            missing.join(", "),
            dir.display()
        ));
    }
    for (name, text) in HEADERS {
        files.push((format!("include/{name}"), Source::Text(text.to_string()), 0o644));
    }
    let prefix = prefix.display().to_string();
    for (name, template) in PKGCONFIG {
        let text = template
            .replace("@PREFIX@", &prefix)
            .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
        files.push((format!("lib/pkgconfig/{name}"), Source::Text(text), 0o644));
    }
    Ok(files)
}

/// The files an earlier install under `prefix` wrote.
fn previous_manifest(prefix: &Path) -> Vec<String> {
    fs::read_to_string(prefix.join(MANIFEST))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Whether `dest` already holds exactly the bytes of `src`.
fn same_bytes(dest: &Path, src: &Source) -> bool {
    let Ok(have) = fs::read(dest) else { return false };
    match src {
        Source::Text(t) => have == t.as_bytes(),
        Source::Built(from) => fs::read(from).is_ok_and(|b| b == have),
    }
}

/// Write `src` to `dest` (its directory created) with `mode`: a temporary
/// file beside it, renamed over it.
fn write(dest: &Path, src: &Source, mode: u32) -> Result<(), String> {
    let dir = dest.parent().expect("a destination under the prefix");
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = dest.file_name().expect("a file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.qda-install-{}", std::process::id()));
    let result = (|| {
        match src {
            Source::Built(from) => {
                fs::copy(from, &tmp)
                    .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), tmp.display()))?;
            }
            Source::Text(text) => {
                let mut f = fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                f.write_all(text.as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            }
        }
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", tmp.display()))?;
        fs::rename(&tmp, dest).map_err(|e| format!("cannot replace {}: {e}", dest.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

//! Compiles the interposed C entry points (`src/shim.c`): variadic
//! functions such as `open` and `ioctl` cannot be defined in stable Rust.

fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    cc::Build::new()
        .file("src/shim.c")
        .flag_if_supported("-Wall")
        .flag_if_supported("-Wextra")
        .warnings_into_errors(true)
        // Nothing in Rust calls the entry points: keep every object.
        .link_lib_modifier("+whole-archive")
        .compile("qda_preload_shim");
    println!("cargo:rustc-link-lib=dl");
    // rustc exports only Rust items from a cdylib; the interposed C
    // functions are listed here.
    println!("cargo:rerun-if-changed=src/exports.map");
    let map =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("src/exports.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
}

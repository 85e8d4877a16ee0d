//! The client library stands alone: without its backend features it links
//! neither the driver model, nor the virtual DSP, nor the daemon (server or
//! client). A program that only wants a real device pays for none of them.

use std::process::Command;

fn normal_deps(features: &[&str]) -> String {
    let mut args = vec![
        "tree",
        "--offline",
        "-p",
        "qda",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--no-default-features",
    ];
    if !features.is_empty() {
        args.push("--features");
        args.extend(features);
    }
    let out = Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn has(tree: &str, krate: &str) -> bool {
    tree.lines().any(|l| l.split_whitespace().next() == Some(krate))
}

#[test]
fn without_features_the_library_links_no_driver_dsp_or_daemon() {
    let t = normal_deps(&[]);
    for k in ["qda-driver", "qda-dsp", "qdad", "qdad-client"] {
        assert!(!has(&t, k), "{k} in:\n{t}");
    }
    assert!(has(&t, "qda-os") && has(&t, "qda-ioctl"), "{t}");
}

#[test]
fn each_backend_feature_brings_only_its_own_layer() {
    let t = normal_deps(&["daemon"]);
    assert!(has(&t, "qdad-client"), "{t}");
    for k in ["qda-driver", "qda-dsp", "qdad"] {
        assert!(!has(&t, k), "{k} with the daemon feature:\n{t}");
    }
    let t = normal_deps(&["embedded"]);
    assert!(has(&t, "qda-driver") && has(&t, "qda-dsp"), "{t}");
    assert!(!has(&t, "qdad") && !has(&t, "qdad-client"), "{t}");
}

//! The `qda` binary as a user runs it.

use std::process::Command;

fn qda(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qda"))
        .args(args)
        .output()
        .expect("run qda");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_calculator_prints_sum_and_max() {
    let (ok, out, err) = qda(&["run", "calculator"]);
    assert!(ok, "{err}");
    assert!(out.lines().any(|l| l == "Sum = 499500"), "{out}");
    assert!(out.lines().any(|l| l == "Max value = 999"), "{out}");
}

#[test]
fn run_calculator_with_n_and_verbose() {
    let (ok, out, _) = qda(&["run", "calculator", "-n", "10", "--verbose"]);
    assert!(ok);
    assert!(out.contains("Sum = 45") && out.contains("Max value = 9"), "{out}");
    assert!(
        out.contains("sc 0x02020100") && out.contains("invoke handle 0x8"),
        "{out}"
    );
}

#[test]
fn bad_input_is_one_clear_line() {
    let (ok, _, err) = qda(&["run", "calculator", "--domain", "xdsp"]);
    assert!(!ok);
    assert!(err.starts_with("qda: unknown domain 'xdsp'"), "{err}");
    let (ok, _, err) = qda(&["sc", "0x100000000"]);
    assert!(!ok && err.contains("does not fit in 32 bits"), "{err}");
    let (ok, _, err) = qda(&["sc", "zz"]);
    assert!(!ok && err.contains("not a number"), "{err}");
}

#[test]
fn sc_and_error_explain_values() {
    let (ok, out, _) = qda(&["sc", "0x02020100"]);
    assert!(ok && out.contains("method 2") && out.contains("3 arguments"), "{out}");
    let (ok, out, _) = qda(&["error", "0x8000040d"]);
    assert!(ok && out.contains("AEE_EBADSTATE"), "{out}");
    let (ok, out, _) = qda(&["error", "-22"]);
    assert!(ok && out.contains("EINVAL"), "{out}");
}

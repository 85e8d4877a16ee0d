//! `qda-pd-host`: one user protection domain of the virtual DSP as a
//! process of its own (see `qda_dsp::pd_host`). The DSP starts it; run by
//! hand it only says so.

fn main() {
    qda_dsp::pd_host::run_if_requested();
    eprintln!(
        "qda-pd-host runs one user PD of a qda virtual DSP and is started by the DSP ({} <version>, a socket on stdin)",
        qda_dsp::pd_host::HOST_FLAG
    );
    std::process::exit(2);
}

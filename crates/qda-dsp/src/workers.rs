//! The elastic worker pool now lives in `qda-rt` ([`qda_rt::Workers`]).
//! This file is not part of qda-dsp: it is kept only for crates that still
//! include it with `#[path]` (qdad), and goes when they use `qda_rt`.

pub(crate) use qda_dsp::rt::Workers;

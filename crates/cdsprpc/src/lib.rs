//! `libcdsprpc`: the libadsprpc C API over qda, default domain CDSP (3),
//! as the original library of this name has. The implementation is
//! `qda-capi`; see `docs/C-API.md`.

qda_capi::export_c_api!(3);

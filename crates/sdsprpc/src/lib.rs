//! `libsdsprpc`: the libadsprpc C API over qda, default domain SDSP (2),
//! as the original library of this name has. The implementation is
//! `qda-capi`; see `docs/C-API.md`.

qda_capi::export_c_api!(2);

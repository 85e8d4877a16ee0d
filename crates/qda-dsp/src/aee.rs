//! The AEE codes the virtual DSP returns, in their DSP form (`AEE_EOFFSET`
//! 0x80000400 + base), as the `i32` a skel returns. The values come from
//! the one AEE table, [`qda_uapi::aee::AeeCode`].

use qda_uapi::aee::AeeCode;

/// Process or thread is not in the expected state.
pub const EBADSTATE: i32 = AeeCode::EBADSTATE.to_dsp().as_i32();
/// Out of memory (no DSP thread could be started).
pub const ENOMEMORY: i32 = AeeCode::ENOMEMORY.to_dsp().as_i32();
/// Invalid parameter.
pub const EBADPARM: i32 = AeeCode::EBADPARM.to_dsp().as_i32();
/// API not implemented.
pub const EUNSUPPORTED: i32 = AeeCode::EUNSUPPORTED.to_dsp().as_i32();
/// No such module.
pub const ENOSUCHMOD: i32 = AeeCode::ENOSUCHMOD.to_dsp().as_i32();
/// No such symbol.
pub const ENOSUCHSYMBOL: i32 = AeeCode::ENOSUCHSYMBOL.to_dsp().as_i32();
/// No such handle.
pub const ENOSUCHHANDLE: i32 = AeeCode::ENOSUCHHANDLE.to_dsp().as_i32();
/// Bad ELF file.
pub const EBADELF: i32 = AeeCode::EBADELF.to_dsp().as_i32();
/// Bad virtual address (the SMMU refused the payload or an argument).
pub const EBADVA: i32 = AeeCode::EBADVA.to_dsp().as_i32();
/// No such process.
pub const ENOSUCHPROCESS: i32 = AeeCode::ENOSUCHPROCESS.to_dsp().as_i32();
/// A CPU exception occurred (the PD crashed).
pub const ECPUEXCEPTION: i32 = AeeCode::ECPUEXCEPTION.to_dsp().as_i32();
/// Unable to load (the PD process could not start).
pub const EUNABLETOLOAD: i32 = AeeCode::EUNABLETOLOAD.to_dsp().as_i32();
/// No mapping exists for this address on the DSP.
pub const ENOSUCHMAP: i32 = AeeCode::ENOSUCHMAP.to_dsp().as_i32();
/// A mapping failed (the PD could not map an argument).
pub const EMMAP: i32 = AeeCode::EMMAP.to_dsp().as_i32();
/// A mapping's reference count is wrong (a put without a get).
pub const EBADMAPREFCNT: i32 = AeeCode::EBADMAPREFCNT.to_dsp().as_i32();
/// General failure.
pub const EFAILED: i32 = AeeCode::EFAILED.to_dsp().as_i32();

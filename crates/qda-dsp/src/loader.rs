//! Loading skel libraries as the DSP does (`dlopen` along the library path)
//! and calling `<X>_skel_handle_invoke(handle, sc, remote_arg *)`.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW, Symbol};

/// `remote_buf` as a skel sees it (LP64, a pointer of this process):
/// `{void *pv; size_t nLen;}`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SkelBuf {
    /// Data.
    pub pv: *mut c_void,
    /// Length.
    pub n_len: usize,
}

/// `remote_dma_handle64` as a skel sees it: `{int32 fd; uint32 offset;
/// uint32 len}` (the `dma` member of `remote_arg`; its first 8 bytes are
/// `remote_dma_handle {fd, offset}`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkelDma {
    /// The client's fd, as it sent it.
    pub fd: i32,
    /// The offset the client gave.
    pub offset: u32,
    /// The length the client gave.
    pub len: u32,
}

/// `remote_arg` (LP64): 16 bytes; buffers, 32- or 64-bit handles, dma
/// handles.
#[repr(C)]
#[derive(Clone, Copy)]
pub union RemoteArg {
    /// A buffer.
    pub buf: SkelBuf,
    /// A dma handle (`in`/`out dmahandle`).
    pub dma: SkelDma,
    /// A 32-bit handle.
    pub h: u32,
    /// A 64-bit handle.
    pub h64: u64,
}

impl std::fmt::Debug for RemoteArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteArg")
    }
}

type HandleInvoke = unsafe extern "C" fn(u64, u32, *mut RemoteArg) -> i32;
type Invoke = unsafe extern "C" fn(u32, *mut RemoteArg) -> i32;

/// A loaded skel entry point.
pub struct LoadedSkel {
    // Keeps the library mapped while the symbol is used.
    _lib: Arc<Library>,
    entry: Entry,
    /// The library file.
    pub path: PathBuf,
    /// The symbol name.
    pub symbol: String,
}

enum Entry {
    Handle(Symbol<HandleInvoke>),
    Plain(Symbol<Invoke>),
}

impl std::fmt::Debug for LoadedSkel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSkel")
            .field("path", &self.path)
            .field("symbol", &self.symbol)
            .finish()
    }
}

/// Why a skel did not load; the text is the loader's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The library did not load (`dlopen` failed).
    #[error("{0}")]
    Library(String),
    /// The library has no such symbol (`dlsym` failed).
    #[error("{0}")]
    Symbol(String),
}

impl LoadedSkel {
    /// `dlopen(path)` and look `symbol` up; `handle_style` selects the
    /// `(handle, sc, pra)` signature (`_modver=1.0` skels) over `(sc, pra)`.
    /// Libraries are loaded with `RTLD_DEEPBIND`: the skel binds to its own
    /// symbols before the host's (a stub with the same function names may
    /// live in the same process).
    ///
    /// Only a qaic-shaped `symbol` ([`crate::uri::is_skel_entry`]) is looked
    /// up; any other is refused as missing before the library is opened.
    pub fn load(path: &Path, symbol: &str, handle_style: bool) -> Result<LoadedSkel, LoadError> {
        if !crate::uri::is_skel_entry(symbol, handle_style) {
            return Err(LoadError::Symbol(format!(
                "{}: undefined symbol: {symbol}",
                path.display()
            )));
        }
        // Skels resolve the DSP runtime's symbols (HAP_*) when loaded; a
        // runtime that cannot load was reported once, and a skel that needs
        // it then fails to load with the symbol it lacks.
        let _ = crate::runtime::ensure_loaded();
        // SAFETY: loading a library runs its constructors; skel libraries are
        // code the user asked the DSP to run, as dlopen on a real DSP does.
        let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL | libc::RTLD_DEEPBIND) }
            .map_err(|e| LoadError::Library(e.to_string()))?;
        let lib = Arc::new(lib);
        let entry = if handle_style {
            // SAFETY: the symbol is declared with the skel ABI
            // `int f(remote_handle64, uint32_t, remote_arg *)`.
            let s =
                unsafe { lib.get::<HandleInvoke>(symbol.as_bytes()) }.map_err(|e| LoadError::Symbol(e.to_string()))?;
            Entry::Handle(s)
        } else {
            // SAFETY: as above, `int f(uint32_t, remote_arg *)`.
            let s = unsafe { lib.get::<Invoke>(symbol.as_bytes()) }.map_err(|e| LoadError::Symbol(e.to_string()))?;
            Entry::Plain(s)
        };
        Ok(LoadedSkel {
            _lib: lib,
            entry,
            path: path.to_path_buf(),
            symbol: symbol.to_string(),
        })
    }

    /// Call the entry point. `pra` must describe `sc`'s arguments with
    /// buffers that stay valid for the call.
    pub fn call(&self, handle: u64, sc: u32, pra: &mut [RemoteArg]) -> i32 {
        let p = pra.as_mut_ptr();
        match &self.entry {
            // SAFETY: `pra` holds one entry per argument of `sc`, each buffer
            // pointing into a live mapping of at least `nLen` bytes (the
            // caller's contract); the skel follows the same ABI on the DSP.
            Entry::Handle(f) => unsafe { f(handle, sc, p) },
            // SAFETY: as above.
            Entry::Plain(f) => unsafe { f(sc, p) },
        }
    }
}

/// A buffer argument for a C skel.
pub fn buf(ptr: *mut u8, len: usize) -> RemoteArg {
    RemoteArg {
        buf: SkelBuf {
            pv: ptr.cast(),
            n_len: len,
        },
    }
}

/// A dma handle argument: `{fd, offset, len}`, the rest of the 16 bytes zero.
pub fn dma(fd: i32, offset: u32, len: u32) -> RemoteArg {
    let mut a = buf(std::ptr::null_mut(), 0);
    a.dma = SkelDma { fd, offset, len };
    a
}

/// A 64-bit handle argument.
pub fn h64(v: u64) -> RemoteArg {
    RemoteArg { h64: v }
}

/// Read a dma handle argument back.
pub fn get_dma(a: &RemoteArg) -> SkelDma {
    // SAFETY: every bit pattern is a valid `SkelDma` (plain integers).
    unsafe { a.dma }
}

/// Read a 64-bit handle argument back.
pub fn get_h64(a: &RemoteArg) -> u64 {
    // SAFETY: every bit pattern is a valid u64 and all variants are plain data.
    unsafe { a.h64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_arg_is_16_bytes_and_dma_is_fd_offset_len() {
        assert_eq!(size_of::<RemoteArg>(), 16);
        assert_eq!(size_of::<SkelDma>(), 12);
        let a = dma(-7, 0x10, 0x20);
        assert_eq!(
            get_dma(&a),
            SkelDma {
                fd: -7,
                offset: 0x10,
                len: 0x20
            }
        );
        // As a C skel reads it: fd at 0, offset at 4, len at 8, zero after.
        let raw = get_h64(&a).to_le_bytes();
        assert_eq!(&raw[..4], &(-7i32).to_le_bytes());
        assert_eq!(&raw[4..], &0x10u32.to_le_bytes());
    }
}

//! `apps_std`, the CPU-side file and environment service a DSP reaches
//! through the listener (reverse RPC): what a skel, or the DSP's own loader,
//! uses to read files of the client's machine.
//!
//! Method ids, argument orders and layouts are the facts of `inc/apps_std.h`
//! and `src/apps_std_skel.c` (qualcomm/fastrpc @ 29851fde11d4): every method
//! takes its primitive inputs in input 0 (`u32`s; a string's or an output
//! buffer's length there, in order), each string (with its NUL) or input
//! buffer as the next inputs, its primitive outputs in output 0 and each
//! output buffer after it. This code is ours.
//!
//! Served: 0 fopen, 3 fclose, 4 fread, 5 fwrite, 8 ftell, 9 fseek, 10 flen,
//! 11 rewind, 12 feof, 15 print_string, 16 getenv, 19 fopen_with_env,
//! 20 fgets, 22 fileExists, 26 opendir, 27 closedir, 28 readdir, and through
//! 31 (the extended id in input 0's first word) 31 stat. Others answer
//! `AEE_EUNSUPPORTED`.
//!
//! `fopen_with_env(var, delim, name, mode)` looks for `name` in the
//! directories `var` lists (for `ADSP_LIBRARY_PATH`, `DSP_LIBRARY_PATH` if
//! that is set, as libfastrpc does); `name` must be a relative path of
//! plain components and the file must stay inside its directory once
//! symlinks are resolved (as the DSP's own library search). `fopen` opens
//! the path it is given, with the client process's rights, as libfastrpc's.
//! `print_string` writes its line to stderr (libfastrpc: stdout).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, ReadDir};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use qda_uapi::aee::AeeCode;

const fn code(c: AeeCode) -> i32 {
    c.as_i32()
}
const EBADPARM: i32 = code(AeeCode::EBADPARM);
const EUNSUPPORTED: i32 = code(AeeCode::EUNSUPPORTED);
const ENOSUCHFILE: i32 = code(AeeCode::ENOSUCHFILE);
const EBADHANDLE: i32 = code(AeeCode::EBADHANDLE);
const ENOSUCH: i32 = code(AeeCode::ENOSUCH);
const EFILE: i32 = code(AeeCode::EFILE);

/// The most files and directories one listener keeps open.
const MAX_OPEN: usize = 256;

#[derive(Debug)]
struct OpenFile {
    file: File,
    eof: bool,
}

/// One listener's `apps_std` state: its open files and directories.
#[derive(Debug, Default)]
pub(crate) struct AppsStd {
    files: HashMap<i32, OpenFile>,
    dirs: HashMap<u64, ReadDir>,
    next: u32,
}

/// A call's arguments: the inputs, and outputs of the lengths asked for.
pub(crate) struct Call<'a> {
    pub ins: &'a [&'a [u8]],
    pub outs: &'a mut [Vec<u8>],
}

impl Call<'_> {
    /// Word `i` of input 0.
    fn word(&self, i: usize) -> Result<u32, i32> {
        self.ins
            .first()
            .and_then(|b| b.get(i * 4..i * 4 + 4))
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or(EBADPARM)
    }
    /// Input `i` as a C string (NUL-terminated within its length).
    fn cstr(&self, i: usize) -> Result<&str, i32> {
        let b = self.ins.get(i).ok_or(EBADPARM)?;
        let (last, s) = b.split_last().ok_or(EBADPARM)?;
        if *last != 0 || s.contains(&0) {
            return Err(EBADPARM);
        }
        std::str::from_utf8(s).map_err(|_| EBADPARM)
    }
    /// Output `i`, which must be at least `n` bytes.
    fn out(&mut self, i: usize, n: usize) -> Result<&mut Vec<u8>, i32> {
        let o = self.outs.get_mut(i).ok_or(EBADPARM)?;
        if o.len() < n {
            return Err(EBADPARM);
        }
        Ok(o)
    }
    fn put(&mut self, i: usize, at: usize, b: &[u8]) -> Result<(), i32> {
        let o = self.out(i, at + b.len())?;
        o[at..at + b.len()].copy_from_slice(b);
        Ok(())
    }
    fn shape(&self, nin: usize, nout: usize) -> Result<(), i32> {
        if self.ins.len() == nin && self.outs.len() == nout {
            Ok(())
        } else {
            Err(EBADPARM)
        }
    }
}

/// An `std::io::Error` as an AEE code.
fn io(e: &std::io::Error) -> i32 {
    match e.kind() {
        std::io::ErrorKind::NotFound => ENOSUCHFILE,
        std::io::ErrorKind::InvalidInput => EBADPARM,
        _ => EFILE,
    }
}

/// `fopen`'s mode as open options.
fn options(mode: &str) -> Result<OpenOptions, i32> {
    let mut o = OpenOptions::new();
    let plus = mode.contains('+');
    match mode.trim_end_matches(['b', '+', 't']).chars().next() {
        Some('r') => o.read(true).write(plus),
        Some('w') => o.write(true).create(true).truncate(true).read(plus),
        Some('a') => o.append(true).create(true).read(plus),
        _ => return Err(EBADPARM),
    };
    Ok(o)
}

/// `name` inside one of the directories of `list` (split by `delim`): the
/// first regular file that stays inside its directory.
fn search(list: &str, delim: &str, name: &str) -> Option<PathBuf> {
    let plain =
        !name.is_empty() && !name.starts_with('/') && name.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if !plain {
        return None;
    }
    let delim = if delim.is_empty() { ";" } else { delim };
    list.split(delim).filter(|d| !d.is_empty()).find_map(|d| {
        let dir = Path::new(d).canonicalize().ok()?;
        let file = dir.join(name).canonicalize().ok()?;
        (file.starts_with(&dir) && file.is_file()).then_some(file)
    })
}

impl AppsStd {
    fn add_file(&mut self, file: File) -> Result<i32, i32> {
        if self.files.len() + self.dirs.len() >= MAX_OPEN {
            return Err(code(AeeCode::ENOMEMORY));
        }
        loop {
            self.next = self.next.wrapping_add(1) & 0x7fff_ffff;
            let h = self.next as i32;
            if h != 0 && !self.files.contains_key(&h) {
                self.files.insert(h, OpenFile { file, eof: false });
                return Ok(h);
            }
        }
    }

    fn file(&mut self, c: &Call<'_>) -> Result<&mut OpenFile, i32> {
        let h = c.word(0)? as i32;
        self.files.get_mut(&h).ok_or(EBADHANDLE)
    }

    /// Serve method `method` of `apps_std`: 0 or an AEE code.
    pub(crate) fn invoke(&mut self, method: u8, c: &mut Call<'_>) -> i32 {
        match self.serve(method, c) {
            Ok(()) => 0,
            Err(e) => e,
        }
    }

    fn serve(&mut self, method: u8, c: &mut Call<'_>) -> Result<(), i32> {
        match method {
            // fopen(name, mode, &FILE)
            0 => {
                c.shape(3, 1)?;
                let f = options(c.cstr(2)?)?.open(c.cstr(1)?).map_err(|e| io(&e))?;
                let h = self.add_file(f)?;
                c.put(0, 0, &h.to_le_bytes())
            }
            // fclose(FILE)
            3 => {
                c.shape(1, 0)?;
                let h = c.word(0)? as i32;
                self.files.remove(&h).map(|_| ()).ok_or(EBADHANDLE)
            }
            // fread(FILE, buf, bufLen, &bytesRead, &bEOF)
            4 => {
                c.shape(1, 2)?;
                let want = c.word(1)? as usize;
                let f = self.file(c)?;
                let mut buf = vec![0u8; want.min(c.outs[1].len())];
                let mut n = 0;
                while n < buf.len() {
                    match f.file.read(&mut buf[n..]) {
                        Ok(0) => {
                            f.eof = true;
                            break;
                        }
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(&e)),
                    }
                }
                let eof = u32::from(f.eof);
                c.outs[1].truncate(n);
                c.outs[1].copy_from_slice(&buf[..n]);
                c.put(0, 0, &(n as u32).to_le_bytes())?;
                c.put(0, 4, &eof.to_le_bytes())
            }
            // fwrite(FILE, buf, bufLen, &bytesWritten, &bEOF)
            5 => {
                c.shape(2, 1)?;
                let len = (c.word(1)? as usize).min(c.ins[1].len());
                let data = &c.ins[1][..len];
                let f = self.file(c)?;
                f.file.write_all(data).map_err(|e| io(&e))?;
                c.put(0, 0, &(len as u32).to_le_bytes())?;
                c.put(0, 4, &0u32.to_le_bytes())
            }
            // ftell(FILE, &pos)
            8 => {
                c.shape(1, 1)?;
                let pos = self.file(c)?.file.stream_position().map_err(|e| io(&e))?;
                let pos = i32::try_from(pos).map_err(|_| code(AeeCode::EFILE))?;
                c.put(0, 0, &pos.to_le_bytes())
            }
            // fseek(FILE, offset, whence)
            9 => {
                c.shape(1, 0)?;
                let off = c.word(1)? as i32;
                let to = match c.word(2)? {
                    0 => SeekFrom::Start(u64::try_from(off).map_err(|_| EBADPARM)?),
                    1 => SeekFrom::Current(off.into()),
                    2 => SeekFrom::End(off.into()),
                    _ => return Err(EBADPARM),
                };
                let f = self.file(c)?;
                f.file.seek(to).map_err(|e| io(&e))?;
                f.eof = false;
                Ok(())
            }
            // flen(FILE, &len)
            10 => {
                c.shape(1, 1)?;
                let len = self.file(c)?.file.metadata().map_err(|e| io(&e))?.len();
                c.put(0, 0, &len.to_le_bytes())
            }
            // rewind(FILE)
            11 => {
                c.shape(1, 0)?;
                let f = self.file(c)?;
                f.file.rewind().map_err(|e| io(&e))?;
                f.eof = false;
                Ok(())
            }
            // feof(FILE, &bEOF)
            12 => {
                c.shape(1, 1)?;
                let eof = u32::from(self.file(c)?.eof);
                c.put(0, 0, &eof.to_le_bytes())
            }
            // print_string(str)
            15 => {
                c.shape(2, 0)?;
                let s = c.cstr(1)?;
                let mut err = std::io::stderr().lock();
                let _ = if s.ends_with('\n') {
                    err.write_all(s.as_bytes())
                } else {
                    writeln!(err, "{s}")
                };
                Ok(())
            }
            // getenv(name, val, valLen, &valLenReq)
            16 => {
                c.shape(2, 2)?;
                let v = std::env::var_os(c.cstr(1)?).ok_or(ENOSUCH)?;
                let mut v = std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec();
                v.push(0);
                c.put(0, 0, &(v.len() as u32).to_le_bytes())?;
                let cap = (c.word(1)? as usize).min(c.outs[1].len());
                // As strlcpy: what fits, NUL-terminated.
                if cap > 0 {
                    let n = (v.len()).min(cap);
                    let o = &mut c.outs[1];
                    o[..n].copy_from_slice(&v[..n]);
                    o[n - 1] = 0;
                    o.truncate(n);
                }
                Ok(())
            }
            // fopen_with_env(envvarname, delim, name, mode, &FILE)
            19 => {
                c.shape(5, 1)?;
                let (var, delim, name, mode) = (c.cstr(1)?, c.cstr(2)?, c.cstr(3)?, c.cstr(4)?);
                let var = if var == "ADSP_LIBRARY_PATH" && std::env::var_os("DSP_LIBRARY_PATH").is_some() {
                    "DSP_LIBRARY_PATH"
                } else {
                    var
                };
                let list = std::env::var(var).unwrap_or_default();
                let path = search(&list, delim, name).ok_or(ENOSUCHFILE)?;
                let f = options(mode)?.open(path).map_err(|e| io(&e))?;
                let h = self.add_file(f)?;
                c.put(0, 0, &h.to_le_bytes())
            }
            // fgets(FILE, buf, bufLen, &bEOF)
            20 => {
                c.shape(1, 2)?;
                let cap = (c.word(1)? as usize).min(c.outs[1].len());
                if cap == 0 {
                    return Err(EBADPARM);
                }
                let f = self.file(c)?;
                let mut line = Vec::new();
                let mut b = [0u8; 1];
                while line.len() + 1 < cap {
                    match f.file.read(&mut b) {
                        Ok(0) => {
                            f.eof = true;
                            break;
                        }
                        Ok(_) => {
                            line.push(b[0]);
                            if b[0] == b'\n' {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(&e)),
                    }
                }
                line.push(0);
                let eof = u32::from(f.eof);
                c.outs[1].truncate(line.len());
                c.outs[1].copy_from_slice(&line);
                c.put(0, 0, &eof.to_le_bytes())
            }
            // fileExists(path, &exists)
            22 => {
                c.shape(2, 1)?;
                let e = Path::new(c.cstr(1)?).exists();
                c.put(0, 0, &[u8::from(e)])
            }
            // opendir(name, &DIR)
            26 => {
                c.shape(2, 1)?;
                let d = std::fs::read_dir(c.cstr(1)?).map_err(|e| io(&e))?;
                if self.files.len() + self.dirs.len() >= MAX_OPEN {
                    return Err(code(AeeCode::ENOMEMORY));
                }
                self.next = self.next.wrapping_add(1) & 0x7fff_ffff;
                let h = u64::from(self.next) | 1 << 32;
                self.dirs.insert(h, d);
                c.put(0, 0, &h.to_le_bytes())
            }
            // closedir(DIR)
            27 => {
                c.shape(1, 0)?;
                let h = u64::from(c.word(0)?) | u64::from(c.word(1)?) << 32;
                self.dirs.remove(&h).map(|_| ()).ok_or(EBADHANDLE)
            }
            // readdir(DIR, &DIRENT {int ino; char name[255]}, &bEOF): out0
            // is the 260-byte DIRENT then bEOF at 260.
            28 => {
                c.shape(1, 1)?;
                let h = u64::from(c.word(0)?) | u64::from(c.word(1)?) << 32;
                let d = self.dirs.get_mut(&h).ok_or(EBADHANDLE)?;
                let mut rec = [0u8; 264];
                match d.next() {
                    Some(Ok(e)) => {
                        let ino = e.metadata().map(|m| m.ino()).unwrap_or(0) as u32;
                        rec[..4].copy_from_slice(&ino.to_le_bytes());
                        let name = std::os::unix::ffi::OsStrExt::as_bytes(e.file_name().as_os_str()).to_vec();
                        let n = name.len().min(254);
                        rec[4..4 + n].copy_from_slice(&name[..n]);
                    }
                    Some(Err(e)) => return Err(io(&e)),
                    None => rec[260..].copy_from_slice(&1u32.to_le_bytes()),
                }
                c.put(0, 0, &rec)
            }
            // The extended ids, in input 0's first word.
            31 => match c.word(0)? {
                // stat(name, &STAT): in0 {31, nameLen}, in1 name; out0 the
                // 96-byte apps_std_STAT.
                31 => {
                    c.shape(2, 1)?;
                    let m = std::fs::metadata(c.cstr(1)?).map_err(|e| io(&e))?;
                    let mut s = Vec::with_capacity(96);
                    for v in [0u64, m.dev(), m.ino()] {
                        s.extend_from_slice(&v.to_le_bytes());
                    }
                    s.extend_from_slice(&m.mode().to_le_bytes());
                    s.extend_from_slice(&(m.nlink() as u32).to_le_bytes());
                    for v in [m.rdev(), m.size()] {
                        s.extend_from_slice(&v.to_le_bytes());
                    }
                    for v in [
                        m.atime(),
                        m.atime_nsec(),
                        m.mtime(),
                        m.mtime_nsec(),
                        m.ctime(),
                        m.ctime_nsec(),
                    ] {
                        s.extend_from_slice(&v.to_le_bytes());
                    }
                    c.put(0, 0, &s)
                }
                _ => Err(EUNSUPPORTED),
            },
            _ => Err(EUNSUPPORTED),
        }
    }
}

#[cfg(test)]
mod tests;

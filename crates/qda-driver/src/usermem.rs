//! The calling process as the driver reaches it, the emulator's `current`:
//! its memory (`copy_from_user` / `copy_to_user`), its fd table (`fdget`,
//! `fd_install`) and its mappings (`find_vma`).
//!
//! In one process ([`LocalMemory`]) a bad pointer is `EFAULT`, never a crash
//! (`process_vm_readv` on the own pid), fds are this process's, and VMAs come
//! from the mapping registry. A daemon serving other processes supplies
//! [`SegmentMemory`]: the client copied the ranges the kernel would read,
//! sent the fds the call names (under the client's numbers) and the VMAs its
//! pointers lie in; it collects what the driver writes and the fds it
//! installs.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;

use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::errno::{Errno, Error, Result};
use crate::sys;

/// Access to the memory of the process an ioctl came from.
pub trait UserMemory: Send + Sync {
    /// `copy_from_user`: `EFAULT` if any byte is not readable.
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<()>;
    /// `copy_to_user`: `EFAULT` if any byte is not writable.
    fn write(&self, addr: u64, src: &[u8]) -> Result<()>;
    /// `fdget(n)`: the caller's open file `n`; `EBADF` if there is none.
    fn fd(&self, n: i32) -> Result<BorrowedFd<'_>> {
        sys::borrow_raw(n)
    }
    /// `fd_install`: give the caller `fd`; returns the number it has there.
    fn install_fd(&self, fd: OwnedFd) -> Result<i32> {
        Ok(sys::into_raw(fd))
    }
    /// `find_vma` + `vma_lookup`: the file mapping `addr` lies in.
    fn find_vma(&self, addr: u64) -> Option<sys::MapInfo> {
        sys::find_mapping(addr)
    }
    /// Whether `len` bytes at `addr` could be read, when the memory can
    /// tell without copying them (a daemon's copied segments); `true` when
    /// it cannot (this process: only the copy knows). Lets the driver refuse
    /// a forged length before it sizes a buffer on it.
    fn may_read(&self, addr: u64, len: u64) -> bool {
        let _ = (addr, len);
        true
    }
}

/// Read a UAPI struct from user memory.
pub fn read_struct<T: FromBytes + IntoBytes>(um: &dyn UserMemory, addr: u64) -> Result<T> {
    let mut v = T::new_zeroed();
    um.read(addr, v.as_mut_bytes())?;
    Ok(v)
}

/// Write a UAPI struct to user memory.
pub fn write_struct<T: IntoBytes + Immutable>(um: &dyn UserMemory, addr: u64, v: &T) -> Result<()> {
    um.write(addr, v.as_bytes())
}

/// Read a NUL-terminated string of at most `max` bytes (without the NUL);
/// `EINVAL` if no NUL is found within `max + 1` bytes (`strndup_user`).
pub fn read_cstr(um: &dyn UserMemory, addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    while out.len() <= max {
        // Read byte-wise near the limit of the readable range: a string may
        // end right before an unmapped page.
        let n = chunk.len().min(max + 1 - out.len());
        // A string running to the last byte of the address space goes on
        // past it: the next byte is not readable (EFAULT), not address 0.
        let at = addr.checked_add(out.len() as u64).ok_or_else(|| {
            Error::new(
                Errno::EFAULT,
                format!("string at 0x{addr:x} runs past the top of memory"),
            )
        })?;
        let got = match um.read(at, &mut chunk[..n]) {
            Ok(()) => &chunk[..n],
            Err(_) => {
                um.read(at, &mut chunk[..1])?;
                &chunk[..1]
            }
        };
        if let Some(p) = got.iter().position(|b| *b == 0) {
            out.extend_from_slice(&got[..p]);
            return Ok(out);
        }
        out.extend_from_slice(got);
    }
    Err(Error::new(Errno::EINVAL, format!("string longer than {max} bytes")))
}

/// The calling process's own memory.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalMemory;

impl UserMemory for LocalMemory {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<()> {
        sys::copy_from_self(addr, dst)
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<()> {
        sys::copy_to_self(addr, src)
    }
}

/// The calling process's own memory, with slices it lent for this call
/// ([`qda_os::Lent`], [`qda_os::Loan`]): accesses inside a lent slice are
/// plain copies, the rest go through [`LocalMemory`] (and its `EFAULT`).
#[derive(Debug, Clone, Copy)]
pub struct LentMemory<'a, 'b>(pub &'a qda_os::Loan<'b>);

impl UserMemory for LentMemory<'_, '_> {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<()> {
        if self.0.read(addr, dst) {
            return Ok(());
        }
        LocalMemory.read(addr, dst)
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<()> {
        if self.0.write(addr, src) {
            return Ok(());
        }
        LocalMemory.write(addr, src)
    }
}

/// First number [`SegmentMemory::install_fd`] hands out: above any real fd
/// (the kernel's `nr_open` ceiling is 2^20), so a client can tell it apart.
pub const FD_PLACEHOLDER_BASE: i32 = 0x4000_0000;

/// The calling process as a daemon sees it: copied memory segments, the fds
/// the client sent (under its own numbers), the VMAs it described. Reads
/// must fall inside one segment; writes update the segment and are recorded
/// so they can be sent back. Installed fds get placeholder numbers
/// ([`FD_PLACEHOLDER_BASE`] + i) that the client replaces with the numbers
/// the fds receive on its side.
#[derive(Debug, Default)]
pub struct SegmentMemory {
    segs: Mutex<Segs>,
    written: Mutex<Vec<(u64, u64)>>,
    fds: HashMap<i32, OwnedFd>,
    vmas: Vec<sys::MapInfo>,
    installed: Mutex<Vec<OwnedFd>>,
}

/// Memory a daemon shares with its client (a ring slot's region) that
/// segments of a [`SegmentMemory`] may lie in, read and written in place
/// instead of copied out first. The client can change it at any time: the
/// driver copies what it reads once and validates the copy, as it does
/// with a process's own memory.
pub trait SharedBytes: Send + Sync + std::fmt::Debug {
    /// Bytes it holds.
    fn size(&self) -> usize;
    /// Copy `dst.len()` bytes at `off` into `dst` (in bounds: checked
    /// against [`size`](SharedBytes::size) before).
    fn read_at(&self, off: usize, dst: &mut [u8]) -> Result<()>;
    /// Copy `src` to `off` (in bounds, as `read_at`).
    fn write_at(&self, off: usize, src: &[u8]) -> Result<()>;
}

/// Where a segment's bytes lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the memory's own buffer.
    Own(std::ops::Range<usize>),
    /// In its [`SharedBytes`].
    Shared(std::ops::Range<usize>),
}

/// The segments' bytes in one buffer (and shared memory), and where each
/// lies.
#[derive(Debug, Default)]
struct Segs {
    data: Vec<u8>,
    shared: Option<Box<dyn SharedBytes>>,
    /// (user address, start, length, in `shared` rather than `data`).
    at: Vec<(u64, usize, usize, bool)>,
}

impl Segs {
    /// Where `[addr, addr + len)` lies, inside one segment: the start and
    /// whether it is in the shared memory.
    fn locate(&self, addr: u64, len: usize) -> Result<(usize, bool)> {
        self.at
            .iter()
            .find_map(|&(base, start, n, shared)| {
                let off = addr.checked_sub(base)?;
                (off.checked_add(len as u64)? <= n as u64).then_some((start + off as usize, shared))
            })
            .ok_or_else(|| Error::new(Errno::EFAULT, format!("user address 0x{addr:x}+{len} was not supplied")))
    }

    fn read(&self, (o, shared): (usize, bool), dst: &mut [u8]) -> Result<()> {
        match (&self.shared, shared) {
            (Some(sh), true) => sh.read_at(o, dst),
            _ => {
                dst.copy_from_slice(&self.data[o..o + dst.len()]);
                Ok(())
            }
        }
    }
}

impl SegmentMemory {
    /// Memory with the given `(address, bytes)` segments.
    pub fn new(segs: Vec<(u64, Vec<u8>)>) -> Self {
        let mut s = Segs {
            data: Vec::with_capacity(segs.iter().map(|(_, b)| b.len()).sum()),
            at: Vec::with_capacity(segs.len()),
            shared: None,
        };
        for (addr, b) in segs {
            s.at.push((addr, s.data.len(), b.len(), false));
            s.data.extend_from_slice(&b);
        }
        SegmentMemory {
            segs: Mutex::new(s),
            ..Default::default()
        }
    }

    /// Memory whose segments are ranges of one buffer (a daemon's request
    /// body, its output segments appended): `(address, range of data)`,
    /// without copying them out. `EINVAL` if a range lies outside `data`.
    pub fn over(data: Vec<u8>, segs: Vec<(u64, std::ops::Range<usize>)>) -> Result<Self> {
        Self::over_places(data, None, segs.into_iter().map(|(a, r)| (a, Place::Own(r))).collect())
    }

    /// Memory whose segments lie in its own buffer `data` or, in place, in
    /// `shared` (a daemon's ring slot: inputs read where the client wrote
    /// them). `EINVAL` if a range lies outside where it says it is.
    pub fn over_places(data: Vec<u8>, shared: Option<Box<dyn SharedBytes>>, segs: Vec<(u64, Place)>) -> Result<Self> {
        let mut at = Vec::with_capacity(segs.len());
        for (addr, place) in segs {
            let (r, is_shared, len) = match place {
                Place::Own(r) => (r, false, data.len()),
                Place::Shared(r) => (r, true, shared.as_ref().map_or(0, |s| s.size())),
            };
            if r.start > r.end || r.end > len {
                return Err(Error::new(
                    Errno::EINVAL,
                    format!(
                        "segment {r:?} outside a {len}-byte {}",
                        if is_shared { "shared memory" } else { "buffer" }
                    ),
                ));
            }
            at.push((addr, r.start, r.end - r.start, is_shared));
        }
        Ok(SegmentMemory {
            segs: Mutex::new(Segs { data, shared, at }),
            ..Default::default()
        })
    }

    /// Append `len` bytes at `addr` to `out` (one copy; `EFAULT` as
    /// [`UserMemory::read`] when no segment holds them).
    pub fn append_to(&self, addr: u64, len: usize, out: &mut Vec<u8>) -> Result<()> {
        self.with_bytes(addr, len, |b| out.extend_from_slice(b))
    }

    /// Run `f` on the `len` bytes at `addr`: borrowed from the own buffer,
    /// or a copy of shared memory (which the caller may be about to
    /// overwrite). `EFAULT` as [`UserMemory::read`] when no segment holds
    /// them.
    pub fn with_bytes<R>(&self, addr: u64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        let segs = qda_rt::lock(&self.segs);
        let at = segs.locate(addr, len)?;
        if at.1 {
            let mut v = vec![0u8; len];
            segs.read(at, &mut v)?;
            return Ok(f(&v));
        }
        Ok(f(&segs.data[at.0..at.0 + len]))
    }

    /// Whether `[addr, addr + len)` lies in the shared memory.
    pub fn is_shared(&self, addr: u64, len: usize) -> bool {
        qda_rt::lock(&self.segs)
            .locate(addr, len)
            .is_ok_and(|(_, shared)| shared)
    }
    /// With the client's fds, by the numbers it knows them under.
    pub fn with_fds(mut self, fds: HashMap<i32, OwnedFd>) -> Self {
        self.fds = fds;
        self
    }
    /// With the client's mappings that its pointers lie in.
    pub fn with_vmas(mut self, vmas: Vec<sys::MapInfo>) -> Self {
        self.vmas = vmas;
        self
    }
    /// The segments (after writes).
    pub fn into_segments(self) -> Vec<(u64, Vec<u8>)> {
        let s = crate::sync::into_inner(self.segs);
        s.at.iter()
            .map(|&(a, o, n, sh)| {
                let mut v = vec![0u8; n];
                let _ = s.read((o, sh), &mut v);
                (a, v)
            })
            .collect()
    }
    /// Take the fds the driver installed, in placeholder order.
    pub fn take_installed(&self) -> Vec<OwnedFd> {
        std::mem::take(&mut *qda_rt::lock(&self.installed))
    }
    /// Read back a segment's bytes.
    pub fn segment(&self, i: usize) -> Option<Vec<u8>> {
        let s = qda_rt::lock(&self.segs);
        let &(_, o, n, sh) = s.at.get(i)?;
        let mut v = vec![0u8; n];
        s.read((o, sh), &mut v).ok()?;
        Some(v)
    }
    /// Ranges written, in order.
    pub fn written(&self) -> Vec<(u64, u64)> {
        qda_rt::lock(&self.written).clone()
    }
}

impl UserMemory for SegmentMemory {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<()> {
        if dst.is_empty() {
            return Ok(());
        }
        let segs = qda_rt::lock(&self.segs);
        let at = segs.locate(addr, dst.len())?;
        segs.read(at, dst)
    }
    fn write(&self, addr: u64, src: &[u8]) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        let mut segs = qda_rt::lock(&self.segs);
        match segs.locate(addr, src.len())? {
            (o, true) => match &segs.shared {
                Some(sh) => sh.write_at(o, src)?,
                None => return Err(Error::new(Errno::EFAULT, "no shared memory")),
            },
            (o, false) => segs.data[o..o + src.len()].copy_from_slice(src),
        }
        qda_rt::lock(&self.written).push((addr, src.len() as u64));
        Ok(())
    }
    fn fd(&self, n: i32) -> Result<BorrowedFd<'_>> {
        self.fds
            .get(&n)
            .map(|f| f.as_fd())
            .ok_or_else(|| Error::new(Errno::EBADF, format!("fd {n} is not open")))
    }
    fn install_fd(&self, fd: OwnedFd) -> Result<i32> {
        let mut v = qda_rt::lock(&self.installed);
        // Placeholders run from FD_PLACEHOLDER_BASE to i32::MAX: past that,
        // the caller's table is full (EMFILE), as fd_install's get_unused_fd.
        let n = i32::try_from(v.len())
            .ok()
            .and_then(|i| FD_PLACEHOLDER_BASE.checked_add(i))
            .ok_or_else(|| Error::new(Errno::EMFILE, "no placeholder fd numbers left"))?;
        v.push(fd);
        Ok(n)
    }
    fn find_vma(&self, addr: u64) -> Option<sys::MapInfo> {
        self.vmas.iter().find(|v| v.contains(addr)).copied()
    }
    fn may_read(&self, addr: u64, len: u64) -> bool {
        len == 0 || usize::try_from(len).is_ok_and(|len| qda_rt::lock(&self.segs).locate(addr, len).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_memory_faults_are_efault() {
        let um = LocalMemory;
        let v = 0x1122_3344_5566_7788u64;
        let got: u64 = read_struct(&um, &v as *const u64 as u64).unwrap();
        assert_eq!(got, v);
        assert_eq!(read_struct::<u64>(&um, 8).unwrap_err().errno, Errno::EFAULT);
        assert_eq!(read_struct::<u64>(&um, u64::MAX - 3).unwrap_err().errno, Errno::EFAULT);
    }

    #[test]
    fn cstr_limits() {
        let um = LocalMemory;
        let s = b"hello\0";
        assert_eq!(read_cstr(&um, s.as_ptr() as u64, 31).unwrap(), b"hello");
        let long = [b'a'; 40];
        assert_eq!(
            read_cstr(&um, long.as_ptr() as u64, 31).unwrap_err().errno,
            Errno::EINVAL
        );
        assert_eq!(read_cstr(&um, 16, 31).unwrap_err().errno, Errno::EFAULT);
    }

    /// Shared bytes for tests: a vector behind a lock.
    #[derive(Debug)]
    struct Shared(Mutex<Vec<u8>>);

    impl SharedBytes for Shared {
        fn size(&self) -> usize {
            qda_rt::lock(&self.0).len()
        }
        fn read_at(&self, off: usize, dst: &mut [u8]) -> Result<()> {
            dst.copy_from_slice(&qda_rt::lock(&self.0)[off..off + dst.len()]);
            Ok(())
        }
        fn write_at(&self, off: usize, src: &[u8]) -> Result<()> {
            qda_rt::lock(&self.0)[off..off + src.len()].copy_from_slice(src);
            Ok(())
        }
    }

    /// Segments in shared memory are read and written there, in place,
    /// beside segments in the own buffer; ranges outside either are
    /// refused when the memory is made.
    #[test]
    fn segment_memory_with_shared_places() {
        let shared: Vec<u8> = (100u8..132).collect();
        let m = SegmentMemory::over_places(
            vec![1, 2, 3, 4],
            Some(Box::new(Shared(Mutex::new(shared)))),
            vec![(0x1000, Place::Own(0..4)), (0x2000, Place::Shared(8..24))],
        )
        .unwrap();
        let mut d = [0u8; 4];
        m.read(0x2000 + 2, &mut d).unwrap();
        assert_eq!(d, [110, 111, 112, 113]);
        m.read(0x1000, &mut d).unwrap();
        assert_eq!(d, [1, 2, 3, 4]);
        assert_eq!(
            m.read(0x2000 + 14, &mut d).unwrap_err().errno,
            Errno::EFAULT,
            "past its segment"
        );
        m.write(0x2000 + 1, &[7, 7]).unwrap();
        assert!(m.is_shared(0x2000, 16) && !m.is_shared(0x1000, 4));
        assert_eq!(m.with_bytes(0x2000, 4, |b| b.to_vec()).unwrap(), [108, 7, 7, 111]);
        assert_eq!(m.written(), [(0x2001, 2)]);
        assert_eq!(m.segment(1).unwrap()[..3], [108, 7, 7]);
        for bad in [Place::Shared(30..40), Place::Own(2..5)] {
            let e = SegmentMemory::over_places(
                vec![0; 4],
                Some(Box::new(Shared(Mutex::new(vec![0; 32])))),
                vec![(0x1000, bad)],
            )
            .unwrap_err();
            assert_eq!(e.errno, Errno::EINVAL);
        }
        let e = SegmentMemory::over_places(Vec::new(), None, vec![(0x1000, Place::Shared(0..1))]).unwrap_err();
        assert_eq!(e.errno, Errno::EINVAL, "shared places without shared memory");
    }

    /// Segments as ranges of one buffer (a daemon's request body, outputs
    /// appended) behave as separate copies: reads and writes inside one
    /// segment only, bytes between segments unreachable, ranges outside the
    /// buffer refused.
    #[test]
    fn segment_memory_over_one_buffer() {
        let body: Vec<u8> = (0u8..32).collect();
        let m = SegmentMemory::over(body.clone(), vec![(0x1000, 4..8), (0x9000, 20..32)]).unwrap();
        let mut d = [0u8; 4];
        m.read(0x1000, &mut d).unwrap();
        assert_eq!(d, [4, 5, 6, 7]);
        assert_eq!(
            m.read(0x1002, &mut d).unwrap_err().errno,
            Errno::EFAULT,
            "past its segment"
        );
        m.write(0x9008, &[0xee; 4]).unwrap();
        let mut out = vec![0xaa];
        m.append_to(0x9006, 4, &mut out).unwrap();
        assert_eq!(out, [0xaa, 26, 27, 0xee, 0xee]);
        assert_eq!(m.append_to(0x9000, 13, &mut out).unwrap_err().errno, Errno::EFAULT);
        assert_eq!(m.segment(1).unwrap()[8..], [0xee; 4]);
        assert_eq!(m.written(), [(0x9008, 4)]);
        assert_eq!(
            SegmentMemory::over(body.clone(), vec![(0, 30..33)]).unwrap_err().errno,
            Errno::EINVAL
        );
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = vec![(0, 9..8)];
        assert_eq!(SegmentMemory::over(body, backwards).unwrap_err().errno, Errno::EINVAL);
    }

    #[test]
    fn segment_memory() {
        let m = SegmentMemory::new(vec![(0x1000, vec![0; 16])]);
        m.write(0x1004, &[1, 2]).unwrap();
        let mut d = [0u8; 4];
        m.read(0x1003, &mut d).unwrap();
        assert_eq!(d, [0, 1, 2, 0]);
        assert_eq!(m.read(0x100e, &mut d).unwrap_err().errno, Errno::EFAULT);
        assert_eq!(m.written(), [(0x1004, 2)]);
    }

    /// Lent slices are copied directly; what no slice covers still
    /// reaches the process's memory through the checked copies, and a bad
    /// address is still `EFAULT` (a loan adds no memory, it only skips
    /// syscalls).
    #[test]
    fn lent_memory_copies_lent_slices_and_checks_the_rest() {
        let input = [1u8, 2, 3, 4];
        let mut output = [0u8; 4];
        let not_lent = 0x55u8;
        let out_addr = output.as_ptr() as u64;
        {
            let mut lent = qda_os::Lent::new();
            lent.read_only(&input);
            lent.read_write(&mut output);
            let loan = lent.loan();
            let um = LentMemory(&loan);
            let mut d = [0u8; 2];
            um.read(input.as_ptr() as u64 + 2, &mut d).unwrap();
            assert_eq!(d, [3, 4]);
            um.write(out_addr + 1, &[9, 9]).unwrap();
            let got: u8 = read_struct(&um, &not_lent as *const u8 as u64).unwrap();
            assert_eq!(got, 0x55);
            assert_eq!(read_struct::<u64>(&um, 8).unwrap_err().errno, Errno::EFAULT);
            assert_eq!(um.write(8, &[1]).unwrap_err().errno, Errno::EFAULT);
        }
        assert_eq!(output, [0, 9, 9, 0]);
    }
}

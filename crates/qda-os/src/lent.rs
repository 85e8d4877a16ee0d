//! Memory a caller lends to an emulated ioctl as Rust slices.
//!
//! An emulated driver reads and writes "user memory" at the addresses an
//! ioctl struct names, and must answer a bad address with `EFAULT`, never
//! a crash: in one process that is [`copy_from_self`](crate::copy_from_self)
//! and [`copy_to_self`](crate::copy_to_self), a `process_vm_readv` or
//! `process_vm_writev` each time (about 0.4 µs apiece here, two or more per
//! invoke). A caller that built the struct itself from Rust references (the
//! Rust client library) knows those addresses are good, and can lend the
//! slices they came from: the driver's accesses that fall inside a lent
//! slice are plain copies, everything else takes the checked path.
//!
//! A lent segment's address is its slice's own, so nothing here can be
//! forged: a struct that names an address no slice covers gets the checked
//! path and its `EFAULT`. Writes go only to slices lent writable.

use std::sync::Mutex;

/// One lent slice.
#[derive(Debug)]
enum Seg<'a> {
    Ro(&'a [u8]),
    Rw(&'a mut [u8]),
}

impl Seg<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Seg::Ro(b) => b,
            Seg::Rw(b) => b,
        }
    }
}

/// Slices lent for one call (see the module), while the caller gathers
/// them; [`Lent::loan`] hands them to the call.
#[derive(Debug, Default)]
pub struct Lent<'a> {
    segs: Vec<(u64, Seg<'a>)>,
}

impl<'a> Lent<'a> {
    /// Nothing lent: every access takes the checked path.
    pub fn new() -> Lent<'a> {
        Lent::default()
    }

    /// Room for `n` slices.
    pub fn with_capacity(n: usize) -> Lent<'a> {
        Lent {
            segs: Vec::with_capacity(n),
        }
    }

    /// Lend `b` for reading, at its own address.
    pub fn read_only(&mut self, b: &'a [u8]) {
        if !b.is_empty() {
            self.segs.push((b.as_ptr() as u64, Seg::Ro(b)));
        }
    }

    /// Lend `b` for reading and writing, at its own address.
    pub fn read_write(&mut self, b: &'a mut [u8]) {
        if !b.is_empty() {
            self.segs.push((b.as_ptr() as u64, Seg::Rw(b)));
        }
    }

    /// The slices as the call sees them.
    pub fn loan(self) -> Loan<'a> {
        Loan {
            segs: Mutex::new(self.segs),
        }
    }
}

/// Lent slices while a call runs: the driver's copies in and out of them.
/// A loan serves one call at a time: a call may hold its slices (a
/// [`LoanView`]) while its request is sent and answered, and another call
/// on the same loan then waits for it.
#[derive(Debug, Default)]
pub struct Loan<'a> {
    // A lock for `write(&self)` (a driver sees user memory through a
    // shared reference); one thread takes it, uncontended.
    segs: Mutex<Vec<(u64, Seg<'a>)>>,
}

impl<'a> Loan<'a> {
    /// Copy `dst.len()` bytes at `addr` out of one lent slice; false when
    /// no slice covers them all (the caller takes the checked path).
    pub fn read(&self, addr: u64, dst: &mut [u8]) -> bool {
        if dst.is_empty() {
            return true;
        }
        let segs = self.segs.lock().unwrap_or_else(|e| e.into_inner());
        match locate(&segs, addr, dst.len(), false) {
            Some((i, off)) => {
                dst.copy_from_slice(&segs[i].1.bytes()[off..off + dst.len()]);
                true
            }
            None => false,
        }
    }

    /// Append `len` bytes at `addr` to `out` from one lent slice (one copy,
    /// no zeroing first); false when no slice covers them all.
    pub fn append_to(&self, addr: u64, len: usize, out: &mut Vec<u8>) -> bool {
        if len == 0 {
            return true;
        }
        let segs = self.segs.lock().unwrap_or_else(|e| e.into_inner());
        match locate(&segs, addr, len, false) {
            Some((i, off)) => {
                out.extend_from_slice(&segs[i].1.bytes()[off..off + len]);
                true
            }
            None => false,
        }
    }

    /// Copy `src` to `addr` inside one slice lent writable; false when none
    /// covers the range (the caller takes the checked path).
    pub fn write(&self, addr: u64, src: &[u8]) -> bool {
        self.write_with(addr, src.len(), |dst| {
            dst.copy_from_slice(src);
            true
        })
    }

    /// Let `fill` write the `len` bytes at `addr` in place, inside one slice
    /// lent writable (a copy straight from wherever the bytes are, with no
    /// buffer between); false when none covers the range (then `fill` does
    /// not run) or when `fill` returns false.
    pub fn write_with(&self, addr: u64, len: usize, fill: impl FnOnce(&mut [u8]) -> bool) -> bool {
        if len == 0 {
            return true;
        }
        let mut segs = self.segs.lock().unwrap_or_else(|e| e.into_inner());
        match locate(&segs, addr, len, true) {
            Some((i, off)) => match &mut segs[i].1 {
                Seg::Rw(b) => fill(&mut b[off..off + len]),
                Seg::Ro(_) => false,
            },
            None => false,
        }
    }

    /// Whether one lent slice holds `[addr, addr + len)` whole.
    pub fn covers(&self, addr: u64, len: usize) -> bool {
        let segs = self.segs.lock().unwrap_or_else(|e| e.into_inner());
        locate(&segs, addr, len, false).is_some()
    }

    /// The lent slices as borrowed bytes, for as long as the view lives (a
    /// request gathered from them without a copy between). The loan's
    /// other methods wait until the view is dropped: drop it before a
    /// write-back.
    pub fn view(&self) -> LoanView<'_, 'a> {
        LoanView {
            segs: self.segs.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// A [`Loan`]'s slices, borrowed while it lives ([`Loan::view`]).
#[derive(Debug)]
pub struct LoanView<'l, 'a> {
    segs: std::sync::MutexGuard<'l, Vec<(u64, Seg<'a>)>>,
}

impl LoanView<'_, '_> {
    /// The `len` bytes at `addr`, when one lent slice holds them all.
    pub fn get(&self, addr: u64, len: usize) -> Option<&[u8]> {
        if len == 0 {
            return Some(&[]);
        }
        let (i, off) = locate(&self.segs, addr, len, false)?;
        Some(&self.segs[i].1.bytes()[off..off + len])
    }
}

/// The slice holding `[addr, addr + len)` whole, and the offset in it.
fn locate(segs: &[(u64, Seg<'_>)], addr: u64, len: usize, writable: bool) -> Option<(usize, usize)> {
    segs.iter().enumerate().find_map(|(i, (base, s))| {
        if writable && matches!(s, Seg::Ro(_)) {
            return None;
        }
        let off = addr.checked_sub(*base)?;
        let end = off.checked_add(len as u64)?;
        (end <= s.bytes().len() as u64).then_some((i, off as usize))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_a_slice_are_copies_and_others_are_declined() {
        let a = [1u8, 2, 3, 4];
        let mut lent = Lent::new();
        lent.read_only(&a);
        let lent = lent.loan();
        let base = a.as_ptr() as u64;
        let mut two = [0u8; 2];
        assert!(lent.read(base + 1, &mut two));
        assert_eq!(two, [2, 3]);
        // Running past the end, before the start, or at an address
        // near the top of memory: not covered.
        assert!(!lent.read(base + 3, &mut two));
        assert!(!lent.read(base.wrapping_sub(1), &mut two));
        assert!(!lent.read(u64::MAX, &mut two));
        assert!(lent.read(0, &mut []), "an empty read needs no memory");
        let mut out = vec![9u8];
        assert!(lent.append_to(base + 1, 3, &mut out));
        assert!(!lent.append_to(base + 2, 3, &mut out), "past the end");
        assert_eq!(out, [9, 2, 3, 4]);
    }

    #[test]
    fn writes_go_only_to_slices_lent_writable() {
        let ro = [0u8; 4];
        let mut rw = [0u8; 4];
        let rw_base = rw.as_ptr() as u64;
        {
            let mut lent = Lent::with_capacity(2);
            lent.read_only(&ro);
            lent.read_write(&mut rw);
            let lent = lent.loan();
            assert!(!lent.write(ro.as_ptr() as u64, &[9]), "read-only slice");
            assert!(lent.write(rw_base + 2, &[7, 8]));
            assert!(!lent.write(rw_base + 3, &[7, 8]), "past the end");
            let mut back = [0u8; 4];
            assert!(lent.read(rw_base, &mut back));
            assert_eq!(back, [0, 0, 7, 8]);
        }
        assert_eq!(rw, [0, 0, 7, 8]);
        assert_eq!(ro, [0; 4]);
    }

    #[test]
    fn a_view_borrows_and_write_with_fills_in_place() {
        let a = [1u8, 2, 3, 4];
        let mut rw = [0u8; 4];
        let rw_base = rw.as_ptr() as u64;
        {
            let mut lent = Lent::new();
            lent.read_only(&a);
            lent.read_write(&mut rw);
            let lent = lent.loan();
            let base = a.as_ptr() as u64;
            assert!(lent.covers(base + 1, 3) && !lent.covers(base + 1, 4));
            {
                let v = lent.view();
                assert_eq!(v.get(base + 1, 2), Some(&[2u8, 3][..]));
                assert_eq!(v.get(base + 3, 2), None, "past the end");
                assert_eq!(v.get(u64::MAX, 1), None);
            }
            assert!(lent.write_with(rw_base + 1, 2, |d| {
                d.copy_from_slice(&[5, 6]);
                true
            }));
            assert!(!lent.write_with(base, 1, |_| panic!("read-only: fill must not run")));
            assert!(!lent.write_with(rw_base + 3, 2, |_| panic!("past the end: fill must not run")));
            assert!(!lent.write_with(rw_base, 1, |_| false), "fill's own failure");
        }
        assert_eq!(rw, [0, 5, 6, 0]);
    }

    #[test]
    fn nothing_lent_declines_everything() {
        let lent = Lent::new().loan();
        let x = 5u64;
        let mut b = [0u8; 8];
        assert!(!lent.read(&x as *const u64 as u64, &mut b));
        assert!(!lent.write(&x as *const u64 as u64, &b));
    }
}

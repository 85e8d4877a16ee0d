//! The scalars word (`sc`): what a call's method is and how many arguments of
//! each kind it carries.
//!
//! ```text
//!  31..29   28..24   23..16    15..8     7..4         3..0
//!  attr(3)  method(5) inbufs(8) outbufs(8) in handles(4) out handles(4)
//! ```
//! `REMOTE_SCALARS_MAKEX(attr, method, in, out, hin, hout)` in libfastrpc's
//! `remote.h` and `FASTRPC_BUILD_SCALARS` in the kernel build the same word;
//! `REMOTE_SCALARS_LENGTH(sc)` is `in + out + hin + hout` (at most 540).

use core::fmt;

/// The 32-bit scalars word.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scalars(pub u32);

/// Largest method id the 5-bit field can carry; qaic encodes ids above 30 as
/// method 31 with the real id in the first word of input buffer 0.
pub const MAX_METHOD: u8 = 31;
/// Largest `REMOTE_SCALARS_LENGTH`: 255 + 255 + 15 + 15.
pub const MAX_ARGS: usize = 540;

impl Scalars {
    /// `REMOTE_SCALARS_MAKEX`: each field is masked to its width, exactly as
    /// the C macro does (use [`Scalars::try_makex`] to reject overflow).
    pub const fn makex(attr: u8, method: u8, inbufs: u8, outbufs: u8, in_handles: u8, out_handles: u8) -> Self {
        Scalars(
            ((attr as u32 & 0x7) << 29)
                | ((method as u32 & 0x1f) << 24)
                | ((inbufs as u32) << 16)
                | ((outbufs as u32) << 8)
                | ((in_handles as u32 & 0xf) << 4)
                | (out_handles as u32 & 0xf),
        )
    }

    /// `REMOTE_SCALARS_MAKE(method, in, out)` = `FASTRPC_SCALARS`: no
    /// attributes, no handles.
    pub const fn make(method: u8, inbufs: u8, outbufs: u8) -> Self {
        Self::makex(0, method, inbufs, outbufs, 0, 0)
    }

    /// Like [`Scalars::makex`] but `None` when a field does not fit its width.
    pub const fn try_makex(
        attr: u8,
        method: u8,
        inbufs: u8,
        outbufs: u8,
        in_handles: u8,
        out_handles: u8,
    ) -> Option<Self> {
        if attr > 7 || method > MAX_METHOD || in_handles > 15 || out_handles > 15 {
            None
        } else {
            Some(Self::makex(attr, method, inbufs, outbufs, in_handles, out_handles))
        }
    }

    /// Bits 31..29.
    pub const fn attr(self) -> u8 {
        (self.0 >> 29) as u8 & 0x7
    }
    /// Bits 28..24.
    pub const fn method(self) -> u8 {
        (self.0 >> 24) as u8 & 0x1f
    }
    /// Bits 23..16: input buffers.
    pub const fn inbufs(self) -> u8 {
        (self.0 >> 16) as u8
    }
    /// Bits 15..8: output buffers.
    pub const fn outbufs(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// Bits 7..4: input handles.
    pub const fn in_handles(self) -> u8 {
        (self.0 >> 4) as u8 & 0xf
    }
    /// Bits 3..0: output handles.
    pub const fn out_handles(self) -> u8 {
        self.0 as u8 & 0xf
    }
    /// `inbufs + outbufs`: the buffer arguments, which come first.
    pub const fn nbufs(self) -> usize {
        self.inbufs() as usize + self.outbufs() as usize
    }
    /// `in_handles + out_handles`.
    pub const fn nhandles(self) -> usize {
        self.in_handles() as usize + self.out_handles() as usize
    }
    /// `REMOTE_SCALARS_LENGTH`: all arguments.
    pub const fn len(self) -> usize {
        self.nbufs() + self.nhandles()
    }
    /// True when the call carries no arguments at all.
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// True when argument `index` is an input (an input buffer or an input
    /// handle); argument order is in bufs, out bufs, in handles, out handles.
    pub const fn is_input(self, index: usize) -> bool {
        let inb = self.inbufs() as usize;
        let nb = self.nbufs();
        index < inb || (index >= nb && index < nb + self.in_handles() as usize)
    }
}

impl fmt::Debug for Scalars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Scalars(0x{:08x}: attr {} method {} in {} out {} hin {} hout {})",
            self.0,
            self.attr(),
            self.method(),
            self.inbufs(),
            self.outbufs(),
            self.in_handles(),
            self.out_handles()
        )
    }
}

impl fmt::Display for Scalars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "0x{:08x} (method {}, {} in, {} out",
            self.0,
            self.method(),
            self.inbufs(),
            self.outbufs()
        )?;
        if self.nhandles() > 0 {
            write!(
                f,
                ", {} in handles, {} out handles",
                self.in_handles(),
                self.out_handles()
            )?;
        }
        if self.attr() != 0 {
            write!(f, ", attr {}", self.attr())?;
        }
        f.write_str(")")
    }
}

impl From<u32> for Scalars {
    fn from(v: u32) -> Self {
        Scalars(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calculator_words() {
        // sum: method 2, 2 in, 1 out.
        assert_eq!(Scalars::make(2, 2, 1).0, 0x0202_0100);
        assert_eq!(Scalars::make(3, 2, 1).0, 0x0302_0100);
        // remotectl1 open1: MAKEX(0,2,2,2,0,0).
        assert_eq!(Scalars::makex(0, 2, 2, 2, 0, 0).0, 0x0202_0200);
        // listener next2 0x06020200, init2 0x05000000, exit 0x02000000.
        assert_eq!(Scalars::make(6, 2, 2).0, 0x0602_0200);
        assert_eq!(Scalars::make(5, 0, 0).0, 0x0500_0000);
        assert_eq!(Scalars::make(2, 0, 0).0, 0x0200_0000);
    }

    #[test]
    fn all_six_fields_round_trip() {
        let sc = Scalars::makex(5, 29, 200, 17, 9, 14);
        assert_eq!(
            (
                sc.attr(),
                sc.method(),
                sc.inbufs(),
                sc.outbufs(),
                sc.in_handles(),
                sc.out_handles()
            ),
            (5, 29, 200, 17, 9, 14)
        );
        assert_eq!(sc.0, (5 << 29) | (29 << 24) | (200 << 16) | (17 << 8) | (9 << 4) | 14);
        assert_eq!(sc.len(), 200 + 17 + 9 + 14);
        assert_eq!(sc.nbufs(), 217);
    }

    #[test]
    fn masking_matches_the_macro_and_try_rejects() {
        // The C macro masks silently: method 33 becomes 1, attr 9 becomes 1.
        assert_eq!(
            Scalars::makex(9, 33, 0, 0, 16, 17).0,
            Scalars::makex(1, 1, 0, 0, 0, 1).0
        );
        assert!(Scalars::try_makex(0, 32, 0, 0, 0, 0).is_none());
        assert!(Scalars::try_makex(8, 0, 0, 0, 0, 0).is_none());
        assert!(Scalars::try_makex(0, 0, 0, 0, 16, 0).is_none());
        assert!(Scalars::try_makex(0, 0, 0, 0, 0, 16).is_none());
        assert_eq!(Scalars::try_makex(7, 31, 255, 255, 15, 15).unwrap().len(), MAX_ARGS);
    }

    #[test]
    fn input_classification() {
        let sc = Scalars::makex(0, 4, 2, 1, 1, 2); // in0 in1 out0 hin0 hout0 hout1
        let inputs: [bool; 6] = core::array::from_fn(|i| sc.is_input(i));
        assert_eq!(inputs, [true, true, false, true, false, false]);
    }

    #[test]
    fn display_is_readable() {
        let s = alloc::format!("{}", Scalars(0x0202_0100));
        assert_eq!(s, "0x02020100 (method 2, 2 in, 1 out)");
    }
}

//! `const fn` implementation of the Linux `_IOC` ioctl-number encoding.
//!
//! This is the "generic" encoding from `include/uapi/asm-generic/ioctl.h`, which is
//! the one used on x86_64 and arm64 (the only targets this project cares about):
//!
//! | bits   | field | width |
//! |--------|-------|-------|
//! | 0..=7  | nr    | 8     |
//! | 8..=15 | type  | 8     |
//! | 16..=29| size  | 14    |
//! | 30..=31| dir   | 2     |
//!
//! Direction values: [`IOC_NONE`] = 0, [`IOC_WRITE`] = 1 (user → kernel),
//! [`IOC_READ`] = 2 (kernel → user); `_IOWR` is `READ | WRITE` = 3.
//!
//! Architectures with a different layout (powerpc, mips, sparc, alpha use a 13-bit
//! size and 3-bit direction) are deliberately not supported; every ioctl constant in
//! this crate is the x86_64/arm64 value.
//!
//! The encoders take the argument size as `usize` so that callers can pass
//! `core::mem::size_of::<T>()` directly; a size that does not fit in 14 bits is a
//! compile-time error when used in a `const`.

/// Number of bits of the `nr` field.
pub const IOC_NRBITS: u32 = 8;
/// Number of bits of the `type` field.
pub const IOC_TYPEBITS: u32 = 8;
/// Number of bits of the `size` field (generic encoding).
pub const IOC_SIZEBITS: u32 = 14;
/// Number of bits of the `dir` field (generic encoding).
pub const IOC_DIRBITS: u32 = 2;

/// Bit position of the `nr` field.
pub const IOC_NRSHIFT: u32 = 0;
/// Bit position of the `type` field.
pub const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
/// Bit position of the `size` field.
pub const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
/// Bit position of the `dir` field.
pub const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;

/// Mask (after shifting down) of the `nr` field.
pub const IOC_NRMASK: u32 = (1 << IOC_NRBITS) - 1;
/// Mask (after shifting down) of the `type` field.
pub const IOC_TYPEMASK: u32 = (1 << IOC_TYPEBITS) - 1;
/// Mask (after shifting down) of the `size` field.
pub const IOC_SIZEMASK: u32 = (1 << IOC_SIZEBITS) - 1;
/// Mask (after shifting down) of the `dir` field.
pub const IOC_DIRMASK: u32 = (1 << IOC_DIRBITS) - 1;

/// Direction: no data transfer (`_IO`).
pub const IOC_NONE: u32 = 0;
/// Direction: userspace writes, kernel reads (`_IOW`).
pub const IOC_WRITE: u32 = 1;
/// Direction: kernel writes, userspace reads (`_IOR`).
pub const IOC_READ: u32 = 2;

/// Largest argument size representable in the 14-bit size field.
pub const IOC_SIZE_MAX: usize = IOC_SIZEMASK as usize;

/// Encode an ioctl number from its four fields (`_IOC(dir, type, nr, size)`).
///
/// Panics (a compile-time error in `const` context) if `dir > 3` or
/// `size > IOC_SIZE_MAX`.
#[must_use]
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(dir <= IOC_DIRMASK, "ioctl direction out of range");
    assert!(size <= IOC_SIZE_MAX, "ioctl argument size does not fit in 14 bits");
    // `size <= 0x3fff` was checked above, so the cast is lossless.
    #[allow(clippy::cast_possible_truncation)]
    let size = size as u32;
    (dir << IOC_DIRSHIFT) | ((ty as u32) << IOC_TYPESHIFT) | ((nr as u32) << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)
}

/// `_IO(type, nr)`: an ioctl without an argument structure.
#[must_use]
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, T)`: the kernel copies `size` bytes out to userspace.
#[must_use]
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(type, nr, T)`: the kernel copies `size` bytes in from userspace.
#[must_use]
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, T)`: `size` bytes are copied in and then back out.
#[must_use]
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `_IOC_DIR(cmd)`: the direction bits ([`IOC_NONE`], [`IOC_WRITE`], [`IOC_READ`] or both).
#[must_use]
pub const fn ioc_dir(cmd: u32) -> u32 {
    (cmd >> IOC_DIRSHIFT) & IOC_DIRMASK
}

/// `_IOC_TYPE(cmd)`: the "magic" type byte (e.g. `b'd'` for DRM, `b'R'` for FastRPC).
#[must_use]
pub const fn ioc_type(cmd: u32) -> u8 {
    // Masked to 8 bits first, so the cast is lossless.
    #[allow(clippy::cast_possible_truncation)]
    let t = ((cmd >> IOC_TYPESHIFT) & IOC_TYPEMASK) as u8;
    t
}

/// `_IOC_NR(cmd)`: the command number within its type.
#[must_use]
pub const fn ioc_nr(cmd: u32) -> u8 {
    // Masked to 8 bits first, so the cast is lossless.
    #[allow(clippy::cast_possible_truncation)]
    let n = ((cmd >> IOC_NRSHIFT) & IOC_NRMASK) as u8;
    n
}

/// `_IOC_SIZE(cmd)`: the argument size in bytes encoded in the number.
#[must_use]
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & IOC_SIZEMASK) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_geometry() {
        assert_eq!(IOC_NRSHIFT, 0);
        assert_eq!(IOC_TYPESHIFT, 8);
        assert_eq!(IOC_SIZESHIFT, 16);
        assert_eq!(IOC_DIRSHIFT, 30);
        assert_eq!(IOC_SIZE_MAX, 0x3fff);
        assert_eq!(IOC_NONE, 0);
        assert_eq!(IOC_WRITE, 1);
        assert_eq!(IOC_READ, 2);
    }

    #[test]
    fn encoders_match_known_numbers() {
        // Known-good values taken from real headers (see VERIFIED.md).
        assert_eq!(io(b'R', 4), 0x0000_5204);
        assert_eq!(ior(b'd', 0x40, 16), 0x8010_6440);
        assert_eq!(iow(b'b', 0, 8), 0x4008_6200);
        assert_eq!(iowr(b'H', 0, 24), 0xc018_4800);
        assert_eq!(ioc(3, 0xff, 0xff, 0x3fff), 0xffff_ffff);
        assert_eq!(ioc(0, 0, 0, 0), 0);
    }

    #[test]
    fn decoders_round_trip() {
        let cmd = iowr(b'R', 10, 64);
        assert_eq!(cmd, 0xc040_520a);
        assert_eq!(ioc_dir(cmd), IOC_READ | IOC_WRITE);
        assert_eq!(ioc_type(cmd), b'R');
        assert_eq!(ioc_nr(cmd), 10);
        assert_eq!(ioc_size(cmd), 64);

        let cmd = io(b'd', 0x43);
        assert_eq!(ioc_dir(cmd), IOC_NONE);
        assert_eq!(ioc_size(cmd), 0);

        for dir in 0..4 {
            for &(ty, nr, size) in &[(0u8, 0u8, 0usize), (0x64, 0x40, 16), (0xff, 0xff, 0x3fff)] {
                let c = ioc(dir, ty, nr, size);
                assert_eq!(ioc_dir(c), dir);
                assert_eq!(ioc_type(c), ty);
                assert_eq!(ioc_nr(c), nr);
                assert_eq!(ioc_size(c), size);
            }
        }
    }

    #[test]
    #[should_panic(expected = "14 bits")]
    fn oversize_rejected() {
        let size = core::hint::black_box(0x4000usize);
        let _ = ioc(IOC_READ, b'x', 0, size);
    }
}

//! The PD host's seccomp program, in classic BPF, built here without any
//! `unsafe` (installing it is `sandbox`'s business) and checked by the tests
//! below with a small interpreter, for both architectures qda runs on.
//!
//! What it refuses (`EPERM`), everything else being allowed (skels are
//! ordinary C):
//!
//! | syscalls | refused when |
//! |---|---|
//! | `kill` | the target is not this process or its own group (`0`, `pid`, `-pid`: the host leads its group) |
//! | `tkill` | the thread is not the main thread (`tid != pid`) |
//! | `tgkill`, `rt_sigqueueinfo`, `rt_tgsigqueueinfo` | the thread group is not this process |
//! | `pidfd_send_signal`, `pidfd_getfd`, `process_madvise` | always (a pidfd's target cannot be checked) |
//! | `ptrace` | always |
//! | `process_vm_readv`, `process_vm_writev` | the process is not this one |
//! | `prlimit64` | it sets limits of another process (`RLIMIT_CPU` there is a kill) |
//! | `fcntl` | `F_SETOWN` to another process or group (its `SIGIO`, which `F_SETSIG` can make `SIGKILL`), `F_SETOWN_EX` |
//! | `ioctl` | `FIOSETOWN`, `SIOCSPGRP` (the same owner, set by ioctl) |
//!
//! Arguments the kernel reads as `int`/`pid_t`/`unsigned int` are compared
//! on their low 32 bits only, as the kernel truncates them; the pointer
//! `prlimit64` reads (`new`) on all 64. A syscall of another architecture
//! than the one built for (`seccomp_data.arch`: `int 0x80` on x86_64), and
//! an x32 syscall (`nr` with bit 30 on x86_64), is refused whatever it is.

/// `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Classic BPF opcodes (linux/bpf_common.h): class | size | mode | op | src.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
const BPF_JMP_JEQ_K: u16 = 0x15; // BPF_JMP (5) | BPF_JEQ (0x10) | BPF_K (0)
const BPF_JMP_JGE_K: u16 = 0x35; // BPF_JMP (5) | BPF_JGE (0x30) | BPF_K (0)
const BPF_RET_K: u16 = 0x06;

/// `SECCOMP_RET_ALLOW`.
pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_ERRNO | EPERM`.
pub(crate) const RET_EPERM: u32 = 0x0005_0000 | 1;

// `struct seccomp_data` offsets: nr, arch, then args[6] (little endian:
// the low word of arg i at 16 + 8 i).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn arg_lo(i: u32) -> u32 {
    16 + 8 * i
}
fn arg_hi(i: u32) -> u32 {
    arg_lo(i) + 4
}

/// The syscall numbers the filter needs on one architecture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arch {
    /// `AUDIT_ARCH_*`.
    pub audit: u32,
    /// x86_64: syscalls with this bit are x32's, all refused.
    pub x32_bit: Option<u32>,
    pub kill: u32,
    pub tkill: u32,
    pub tgkill: u32,
    pub rt_sigqueueinfo: u32,
    pub rt_tgsigqueueinfo: u32,
    pub pidfd_send_signal: u32,
    pub pidfd_getfd: u32,
    pub process_madvise: u32,
    pub ptrace: u32,
    pub process_vm_readv: u32,
    pub process_vm_writev: u32,
    pub prlimit64: u32,
    pub fcntl: u32,
    pub ioctl: u32,
}

/// x86_64 (`arch/x86/entry/syscalls/syscall_64.tbl`).
pub(crate) const X86_64: Arch = Arch {
    audit: 0xc000_003e,
    x32_bit: Some(0x4000_0000),
    kill: 62,
    tkill: 200,
    tgkill: 234,
    rt_sigqueueinfo: 129,
    rt_tgsigqueueinfo: 297,
    pidfd_send_signal: 424,
    pidfd_getfd: 438,
    process_madvise: 440,
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    prlimit64: 302,
    fcntl: 72,
    ioctl: 16,
};

/// aarch64 (the generic table, `include/uapi/asm-generic/unistd.h`).
pub(crate) const AARCH64: Arch = Arch {
    audit: 0xc000_00b7,
    x32_bit: None,
    kill: 129,
    tkill: 130,
    tgkill: 131,
    rt_sigqueueinfo: 138,
    rt_tgsigqueueinfo: 240,
    pidfd_send_signal: 424,
    pidfd_getfd: 438,
    process_madvise: 440,
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    prlimit64: 261,
    fcntl: 25,
    ioctl: 29,
};

/// The architecture this crate is built for, if the filter knows it.
pub(crate) fn native() -> Option<Arch> {
    if cfg!(target_arch = "x86_64") {
        Some(X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(AARCH64)
    } else {
        None
    }
}

const F_SETOWN: u32 = 8;
const F_SETOWN_EX: u32 = 15;
const FIOSETOWN: u32 = 0x8901;
const SIOCSPGRP: u32 = 0x8902;

/// A jump target while the program is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Allow,
    Deny,
    Block(usize),
}

/// The program under construction: instructions whose jumps name targets,
/// resolved to offsets at the end.
#[derive(Debug, Default)]
struct Asm {
    ins: Vec<(u16, To, To, u32)>,
    /// Where each block starts.
    blocks: Vec<usize>,
    allow: usize,
    deny: usize,
}

impl Asm {
    fn ld(&mut self, off: u32) {
        self.ins.push((BPF_LD_W_ABS, To::Next, To::Next, off));
    }
    fn jeq(&mut self, k: u32, jt: To, jf: To) {
        self.ins.push((BPF_JMP_JEQ_K, jt, jf, k));
    }
    fn jge(&mut self, k: u32, jt: To, jf: To) {
        self.ins.push((BPF_JMP_JGE_K, jt, jf, k));
    }
    fn ret(&mut self, k: u32) {
        self.ins.push((BPF_RET_K, To::Next, To::Next, k));
    }
    /// Start a block: its number, for `To::Block`.
    fn block(&mut self) -> To {
        self.blocks.push(self.ins.len());
        To::Block(self.blocks.len() - 1)
    }
    /// Allow if the low word of `arg` is one of `values`, else refuse.
    fn arg_in(&mut self, arg: u32, values: &[u32]) {
        self.ld(arg_lo(arg));
        for v in values {
            self.jeq(*v, To::Allow, To::Next);
        }
        self.ret(RET_EPERM);
    }

    /// The instructions, every jump an offset forward; `None` if one does
    /// not fit its 8 bits (the program is too long: a bug caught by tests).
    fn finish(self) -> Option<Vec<Insn>> {
        let at = |i: usize, t: To| -> Option<u8> {
            let target = match t {
                To::Next => return Some(0),
                To::Allow => self.allow,
                To::Deny => self.deny,
                To::Block(b) => *self.blocks.get(b)?,
            };
            u8::try_from(target.checked_sub(i + 1)?).ok()
        };
        self.ins
            .iter()
            .enumerate()
            .map(|(i, &(code, jt, jf, k))| {
                Some(Insn {
                    code,
                    jt: at(i, jt)?,
                    jf: at(i, jf)?,
                    k,
                })
            })
            .collect()
    }
}

/// The filter for a PD host of process id `pid` on `arch` (see the
/// [module documentation](self)).
pub(crate) fn program(arch: &Arch, pid: u32) -> Option<Vec<Insn>> {
    let own_group = pid.wrapping_neg(); // -pid: the host leads its group
    let mut a = Asm::default();
    // Blocks are numbered in the order they are written below.
    let (b_kill, b_tkill, b_tg, b_proc, b_prlimit, b_fcntl, b_setown, b_ioctl) = (
        To::Block(0),
        To::Block(1),
        To::Block(2),
        To::Block(3),
        To::Block(4),
        To::Block(5),
        To::Block(6),
        To::Block(7),
    );
    a.ld(OFF_ARCH);
    a.jeq(arch.audit, To::Next, To::Deny);
    a.ld(OFF_NR);
    if let Some(bit) = arch.x32_bit {
        a.jge(bit, To::Deny, To::Next);
    }
    for (nr, to) in [
        (arch.kill, b_kill),
        (arch.tkill, b_tkill),
        (arch.tgkill, b_tg),
        (arch.rt_sigqueueinfo, b_tg),
        (arch.rt_tgsigqueueinfo, b_tg),
        (arch.process_vm_readv, b_proc),
        (arch.process_vm_writev, b_proc),
        (arch.prlimit64, b_prlimit),
        (arch.fcntl, b_fcntl),
        (arch.ioctl, b_ioctl),
        (arch.pidfd_send_signal, To::Deny),
        (arch.pidfd_getfd, To::Deny),
        (arch.process_madvise, To::Deny),
        (arch.ptrace, To::Deny),
    ] {
        a.jeq(nr, to, To::Next);
    }
    a.ret(RET_ALLOW);
    // kill(pid, sig): this process or its own group.
    a.block();
    a.arg_in(0, &[pid, 0, own_group]);
    // tkill(tid, sig): the main thread only.
    a.block();
    a.arg_in(0, &[pid]);
    // tgkill / rt_sigqueueinfo / rt_tgsigqueueinfo(tgid, ...): this process.
    a.block();
    a.arg_in(0, &[pid]);
    // process_vm_readv/writev(pid, ...): this process.
    a.block();
    a.arg_in(0, &[pid]);
    // prlimit64(pid, resource, new, old): this process, or a read only.
    a.block();
    a.ld(arg_lo(0));
    a.jeq(0, To::Allow, To::Next);
    a.jeq(pid, To::Allow, To::Next);
    a.ld(arg_lo(2));
    a.jeq(0, To::Next, To::Deny);
    a.ld(arg_hi(2));
    a.jeq(0, To::Allow, To::Deny);
    // fcntl(fd, cmd, arg): no owner outside this process.
    a.block();
    a.ld(arg_lo(1));
    a.jeq(F_SETOWN, b_setown, To::Next);
    a.jeq(F_SETOWN_EX, To::Deny, To::Allow);
    a.block();
    a.arg_in(2, &[pid, 0, own_group]);
    // ioctl(fd, cmd, ...): no owner by ioctl.
    a.block();
    a.ld(arg_lo(1));
    a.jeq(FIOSETOWN, To::Deny, To::Next);
    a.jeq(SIOCSPGRP, To::Deny, To::Allow);
    a.allow = a.ins.len();
    a.ret(RET_ALLOW);
    a.deny = a.ins.len();
    a.ret(RET_EPERM);
    debug_assert_eq!(a.blocks.len(), 8, "the block numbers above");
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on one `seccomp_data`, as the kernel would.
    fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&nr.to_le_bytes());
        data.extend_from_slice(&arch.to_le_bytes());
        data.extend_from_slice(&0u64.to_le_bytes());
        for a in args {
            data.extend_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => {
                    let o = i.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                BPF_JMP_JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                BPF_JMP_JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    const PID: u32 = 4242;
    const OTHER: u64 = 4241;

    fn neg(v: u32) -> u64 {
        u64::from(v.wrapping_neg()) | 0xffff_ffff_0000_0000
    }

    fn check(arch: &Arch) {
        let p = program(arch, PID).expect("the program fits");
        assert!(p.len() < 128, "{} instructions", p.len());
        let r = |nr: u32, args: [u64; 6]| run(&p, arch.audit, nr, args);
        let pid = u64::from(PID);
        let (allow, deny) = (RET_ALLOW, RET_EPERM);
        // kill
        assert_eq!(r(arch.kill, [pid, 9, 0, 0, 0, 0]), allow, "kill(self)");
        assert_eq!(r(arch.kill, [0, 9, 0, 0, 0, 0]), allow, "kill(own group)");
        assert_eq!(r(arch.kill, [neg(PID), 9, 0, 0, 0, 0]), allow, "kill(-own group)");
        assert_eq!(r(arch.kill, [OTHER, 9, 0, 0, 0, 0]), deny, "kill(parent)");
        assert_eq!(r(arch.kill, [1, 9, 0, 0, 0, 0]), deny, "kill(init)");
        assert_eq!(r(arch.kill, [u64::MAX, 9, 0, 0, 0, 0]), deny, "kill(-1)");
        assert_eq!(r(arch.kill, [neg(4241), 9, 0, 0, 0, 0]), deny, "kill(-other group)");
        // Upper bits the kernel drops change nothing.
        assert_eq!(r(arch.kill, [0xdead_0000_0000_0000 | OTHER, 9, 0, 0, 0, 0]), deny);
        assert_eq!(r(arch.kill, [0xdead_0000_0000_0000 | pid, 9, 0, 0, 0, 0]), allow);
        // tkill, tgkill, sigqueue
        assert_eq!(r(arch.tkill, [pid, 6, 0, 0, 0, 0]), allow);
        assert_eq!(r(arch.tkill, [OTHER, 6, 0, 0, 0, 0]), deny);
        for nr in [arch.tgkill, arch.rt_sigqueueinfo, arch.rt_tgsigqueueinfo] {
            assert_eq!(r(nr, [pid, pid + 3, 6, 0, 0, 0]), allow, "{nr} to self");
            assert_eq!(r(nr, [OTHER, OTHER, 6, 0, 0, 0]), deny, "{nr} to another");
            assert_eq!(r(nr, [0, OTHER, 6, 0, 0, 0]), deny, "{nr} to 0");
        }
        // Always refused.
        for nr in [
            arch.ptrace,
            arch.pidfd_send_signal,
            arch.pidfd_getfd,
            arch.process_madvise,
        ] {
            assert_eq!(r(nr, [0; 6]), deny, "{nr}");
            assert_eq!(r(nr, [pid, pid, 0, 0, 0, 0]), deny, "{nr}");
        }
        // process_vm_*
        for nr in [arch.process_vm_readv, arch.process_vm_writev] {
            assert_eq!(r(nr, [pid, 1, 1, 1, 1, 0]), allow);
            assert_eq!(r(nr, [OTHER, 1, 1, 1, 1, 0]), deny);
        }
        // prlimit64
        assert_eq!(r(arch.prlimit64, [0, 0, 0x7000, 0, 0, 0]), allow, "setrlimit");
        assert_eq!(r(arch.prlimit64, [pid, 0, 0x7000, 0, 0, 0]), allow);
        assert_eq!(r(arch.prlimit64, [OTHER, 0, 0, 0x7000, 0, 0]), allow, "reading");
        assert_eq!(r(arch.prlimit64, [OTHER, 0, 0x7000, 0, 0, 0]), deny, "setting");
        assert_eq!(r(arch.prlimit64, [OTHER, 0, 1 << 40, 0, 0, 0]), deny, "a high pointer");
        // fcntl / ioctl owners
        assert_eq!(r(arch.fcntl, [3, u64::from(F_SETOWN), pid, 0, 0, 0]), allow);
        assert_eq!(r(arch.fcntl, [3, u64::from(F_SETOWN), neg(PID), 0, 0, 0]), allow);
        assert_eq!(r(arch.fcntl, [3, u64::from(F_SETOWN), OTHER, 0, 0, 0]), deny);
        assert_eq!(r(arch.fcntl, [3, u64::from(F_SETOWN_EX), 0x7000, 0, 0, 0]), deny);
        assert_eq!(r(arch.fcntl, [3, 4 /* F_SETFL */, OTHER, 0, 0, 0]), allow);
        assert_eq!(r(arch.ioctl, [3, u64::from(FIOSETOWN), 0x7000, 0, 0, 0]), deny);
        assert_eq!(r(arch.ioctl, [3, u64::from(SIOCSPGRP), 0x7000, 0, 0, 0]), deny);
        assert_eq!(r(arch.ioctl, [3, 0x5401, 0x7000, 0, 0, 0]), allow, "TCGETS");
        // Everything else, and ordinary numbers around the refused ones.
        for nr in 0..460 {
            let watched = [
                arch.kill,
                arch.tkill,
                arch.tgkill,
                arch.rt_sigqueueinfo,
                arch.rt_tgsigqueueinfo,
                arch.pidfd_send_signal,
                arch.pidfd_getfd,
                arch.process_madvise,
                arch.ptrace,
                arch.process_vm_readv,
                arch.process_vm_writev,
                arch.prlimit64,
                arch.fcntl,
                arch.ioctl,
            ];
            if !watched.contains(&nr) {
                assert_eq!(r(nr, [OTHER; 6]), allow, "syscall {nr}");
            }
        }
        // Another architecture: refused whatever the call.
        for foreign in [X86_64.audit, AARCH64.audit, 0x4000_0003 /* i386 */] {
            if foreign != arch.audit {
                assert_eq!(run(&p, foreign, 1, [0; 6]), deny, "arch {foreign:#x}");
                assert_eq!(run(&p, foreign, 39, [0; 6]), deny, "arch {foreign:#x}");
            }
        }
        if let Some(bit) = arch.x32_bit {
            assert_eq!(r(bit | arch.kill, [OTHER, 9, 0, 0, 0, 0]), deny, "x32 kill");
            assert_eq!(r(bit | 39, [0; 6]), deny, "x32 getpid");
        }
    }

    #[test]
    fn the_filter_on_x86_64() {
        check(&X86_64);
    }

    #[test]
    fn the_filter_on_aarch64() {
        check(&AARCH64);
    }

    /// What the PD's ring needs of the kernel (`crate::pd_wire::ring`):
    /// `mmap` of the memfd the DSP sends once, and `futex` wait and wake on
    /// the shared words (not private: the words are shared across
    /// processes). The filter lets them through with any arguments; it
    /// was not widened for them, as it refuses only what it lists.
    #[test]
    fn the_ring_needs_nothing_the_filter_refuses() {
        let a = native().expect("x86_64 or aarch64");
        let p = program(&a, PID).expect("the program fits");
        for (nr, args) in [
            (libc::SYS_mmap, [0, 1 << 20, 3, 1 /* MAP_SHARED */, 5, 0]),
            (libc::SYS_futex, [0x7000, 0 /* FUTEX_WAIT, shared */, 1, 0, 0, 0]),
            (
                libc::SYS_futex,
                [0x7000, 1 /* FUTEX_WAKE, shared */, i32::MAX as u64, 0, 0, 0],
            ),
        ] {
            assert_eq!(run(&p, a.audit, nr as u32, args), RET_ALLOW, "syscall {nr}");
        }
    }

    /// The tables agree with the C library's numbers where it has them.
    #[test]
    fn the_native_numbers_are_the_c_librarys() {
        let a = native().expect("x86_64 or aarch64");
        let n = |v: u32| libc::c_long::from(v);
        assert_eq!(n(a.kill), libc::SYS_kill);
        assert_eq!(n(a.tkill), libc::SYS_tkill);
        assert_eq!(n(a.tgkill), libc::SYS_tgkill);
        assert_eq!(n(a.rt_sigqueueinfo), libc::SYS_rt_sigqueueinfo);
        assert_eq!(n(a.rt_tgsigqueueinfo), libc::SYS_rt_tgsigqueueinfo);
        assert_eq!(n(a.pidfd_send_signal), libc::SYS_pidfd_send_signal);
        assert_eq!(n(a.pidfd_getfd), libc::SYS_pidfd_getfd);
        assert_eq!(n(a.process_madvise), libc::SYS_process_madvise);
        assert_eq!(n(a.ptrace), libc::SYS_ptrace);
        assert_eq!(n(a.process_vm_readv), libc::SYS_process_vm_readv);
        assert_eq!(n(a.process_vm_writev), libc::SYS_process_vm_writev);
        assert_eq!(n(a.prlimit64), libc::SYS_prlimit64);
        assert_eq!(n(a.fcntl), libc::SYS_fcntl);
        assert_eq!(n(a.ioctl), libc::SYS_ioctl);
        assert_eq!(F_SETOWN as i32, libc::F_SETOWN);
        assert_eq!(RET_ALLOW, libc::SECCOMP_RET_ALLOW);
        assert_eq!(RET_EPERM, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);
    }
}

//! Golden vectors (the arithmetic beside each value), pack → decode → unpack
//! properties and malformed-input tests.

extern crate std; // the environment, for `fuzz_cases`

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::bodies::{CALL_BUF_BASE, Call, CreateProcess, ShellArg};
use crate::msg::{CtxLayout, FastrpcMsg, PdType};

/// Little-endian byte builder for golden vectors.
#[derive(Default)]
struct Le(Vec<u8>);
impl Le {
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
}

fn zeros(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

#[test]
fn golden_null_call() {
    // sc = MAKE(2, 0, 0): no arguments. n = 0.
    // metalen = 40*0 + 8*16 (fdlist) + 4*64 (crclist) = 384.
    // pkt_size = ALIGN(384, 128) = 384; msg.size = roundup(384, 4096) = 4096.
    let sc = Scalars::make(2, 0, 0);
    assert_eq!(sc.0, 0x0200_0000);
    let plan = Plan::new(sc, &[]).unwrap();
    assert_eq!(plan.meta().metalen(), 384);
    assert_eq!(plan.pkt_size(), 384);
    assert_eq!(plan.msg_size(), 4096);
    let mut buf = vec![0xaa; 384];
    plan.write(&mut buf, 0x1_0000_0000, |_, _| unreachable!()).unwrap();
    assert!(zeros(&buf), "an empty payload is 384 zero bytes");

    // The 40-byte message for it: client 1, tid 0x1234, ctx index 1 | USER_PD,
    // handle 0x10, payload at SID 1 / IOVA 0.
    let msg = FastrpcMsg {
        client_id: 1,
        tid: 0x1234,
        ctx: CtxLayout::KERNEL.encode(1, PdType::User), // 1 << 4 | 1 = 0x11
        handle: 0x10,
        sc: sc.0,
        addr: 0x1_0000_0000,
        size: plan.msg_size(),
    };
    #[rustfmt::skip]
    let want: [u8; 40] = [
        0x01, 0, 0, 0,                  // client_id 1
        0x34, 0x12, 0, 0,               // tid 0x1234
        0x11, 0, 0, 0, 0, 0, 0, 0,      // ctx 0x11
        0x10, 0, 0, 0,                  // handle 0x10
        0, 0, 0, 0x02,                  // sc 0x02000000
        0, 0, 0, 0, 0x01, 0, 0, 0,      // addr 0x1_0000_0000 (SID 1 << 32)
        0, 0x10, 0, 0, 0, 0, 0, 0,      // size 0x1000
    ];
    assert_eq!(zerocopy::IntoBytes::as_bytes(&msg), &want);
}

const A: u64 = 0x3_0004_0000; // payload DSP address: SID 3 << 32 | IOVA 0x40000

fn calc_inputs() -> (Vec<u8>, Vec<u8>) {
    let count = 1000u32.to_le_bytes().to_vec();
    let vec: Vec<u8> = (0..1000i32).flat_map(|v| v.to_le_bytes()).collect();
    (count, vec)
}

#[test]
fn golden_calculator_sum_inline() {
    // sc 0x02020100: method 2, in0 = u32 count (4 B), in1 = int32[1000]
    // (4000 B), out0 = int64 (8 B). n = 3.
    let sc = Scalars(0x0202_0100);
    let args = [
        ArgDesc::Inline {
            ptr: 0x7ffd_0000_1000,
            len: 4,
        },
        ArgDesc::Inline {
            ptr: 0x7f00_0000_0000,
            len: 4000,
        },
        ArgDesc::Inline {
            ptr: 0x7ffd_0000_1008,
            len: 8,
        },
    ];
    let (count, vec) = calc_inputs();
    let plan = Plan::new(sc, &args).unwrap();
    // metalen = 40*3 + 384 = 504; size = ALIGN(504,128) = 512.
    // Sorted by address: in1 (0x7f00..), in0 (0x7ffd..1000), out0 (0x7ffd..1008).
    //   in1:  offset 0 → ALIGN(512) = 512, + 4000 = 4512     slot 512
    //   in0:  offset 0 → ALIGN(4512) = 4608, + 4 = 4612      slot 4608
    //   out0: offset 0 → ALIGN(4612) = 4736, + 8 = 4744      slot 4736
    assert_eq!(plan.meta().metalen(), 504);
    assert_eq!(plan.pkt_size(), 4744);
    assert_eq!(plan.msg_size(), 8192); // roundup(4744, 4096)
    assert_eq!(
        [plan.slot(0), plan.slot(1), plan.slot(2)],
        [Some(4608), Some(512), Some(4736)]
    );

    let mut buf = vec![0xaa; 4744];
    plan.write(&mut buf, A, |i, d| {
        d.copy_from_slice(if i == 0 { &count } else { &vec });
        Ok(())
    })
    .unwrap();
    let want = Le::default()
        // rpra[3] {pv, len}: pv = A + slot
        .u64(A + 4608)
        .u64(4) // in0
        .u64(A + 512)
        .u64(4000) // in1
        .u64(A + 4736)
        .u64(8) // out0
        // list[3] {num, pgidx}
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .u32(1)
        .u32(2)
        // pages[3] {addr = pv & ~0xfff, size = pages spanned * 4096}
        .u64(A + 4096)
        .u64(4096) // in0: 4608..4612 lies in page 1
        .u64(A)
        .u64(8192) // in1: 512..4512 touches pages 0 and 1
        .u64(A + 4096)
        .u64(4096); // out0: 4736..4744 in page 1
    assert_eq!(want.0.len(), 120); // 40 * n
    assert_eq!(&buf[..120], &want.0[..]);
    assert!(zeros(&buf[120..512]), "fdlist, crclist and alignment gap are zero");
    assert_eq!(&buf[512..4512], &vec[..]);
    assert!(zeros(&buf[4512..4608]));
    assert_eq!(&buf[4608..4612], &count[..]);
    assert!(zeros(&buf[4612..4744]), "output slot is zero before the DSP writes");

    // The DSP's view finds every argument at page + in-page offset.
    let d = decode(sc, &buf).unwrap();
    assert_eq!(d.buf(0), Some((A + 4608, 4)));
    assert_eq!(d.buf(1), Some((A + 512, 4000)));
    assert_eq!(d.buf(2), Some((A + 4736, 8)));

    // The DSP writes the sum 499500; the host copies 8 bytes back.
    buf[4736..4744].copy_from_slice(&499_500i64.to_le_bytes());
    let outs = Call::outputs(&plan, &buf).unwrap();
    assert_eq!(outs[2], 499_500i64.to_le_bytes());
}

#[test]
fn golden_calculator_sum_by_fd() {
    // The same call with the 4000-byte vector in a dma-buf (as the calculator
    // example passes it): the buffer is not copied, its page descriptor is the
    // buffer's DSP address plus the page of the pointer's offset.
    let sc = Scalars(0x0202_0100);
    let buf_addr = 0x3_0010_0000; // SID 3, IOVA 0x100000
    let args = [
        ArgDesc::Inline {
            ptr: 0x7ffd_0000_1000,
            len: 4,
        },
        ArgDesc::DmaBuf {
            ptr: 0x7f12_3456_7000,
            len: 4000,
            buf_addr,
            buf_size: 4096,
            offset: 0,
        },
        ArgDesc::Inline {
            ptr: 0x7ffd_0000_1008,
            len: 8,
        },
    ];
    let plan = Plan::new(sc, &args).unwrap();
    // Inline only: in0 → ALIGN(504) = 512, +4 = 516; out0 → ALIGN(516) = 640, +8 = 648.
    assert_eq!(plan.pkt_size(), 648);
    assert_eq!(plan.msg_size(), 4096);
    let mut buf = vec![0; 648];
    plan.write(&mut buf, A, |_, d| {
        d.copy_from_slice(&1000u32.to_le_bytes());
        Ok(())
    })
    .unwrap();
    let want = Le::default()
        .u64(A + 512)
        .u64(4) // in0 inline at 512
        .u64(0x7f12_3456_7000)
        .u64(4000) // in1: pv is the user pointer
        .u64(A + 640)
        .u64(8) // out0 inline at 640
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .u32(1)
        .u32(2)
        .u64(A)
        .u64(4096)
        .u64(buf_addr)
        .u64(4096) // 0x...7000 + 4000 stays in one page
        .u64(A)
        .u64(4096);
    assert_eq!(&buf[..120], &want.0[..]);
    assert_eq!(&buf[512..516], &1000u32.to_le_bytes());
    assert_eq!(decode(sc, &buf).unwrap().buf(1), Some((buf_addr, 4000)));

    // A pointer 0x10 bytes into the second page of a mapping: offset 0x1010.
    let args2 = [
        args[0],
        ArgDesc::DmaBuf {
            ptr: 0x7f12_3456_8010,
            len: 4000,
            buf_addr,
            buf_size: 0x3000,
            offset: 0x1010,
        },
        args[2],
    ];
    let plan2 = Plan::new(sc, &args2).unwrap();
    let mut b2 = vec![0; 648];
    plan2
        .write(&mut b2, A, |_, d| {
            d.fill(1);
            Ok(())
        })
        .unwrap();
    let d2 = decode(sc, &b2).unwrap();
    // page addr = buf_addr + 0x1000; DSP address = + in-page 0x10.
    assert_eq!(
        d2.args[1],
        DecodedArg::Buf {
            addr: buf_addr + 0x1010,
            len: 4000,
            pv: 0x7f12_3456_8010,
            page: PhyPage {
                addr: buf_addr + 0x1000,
                size: 4096
            },
        }
    );
}

#[test]
fn golden_create_process() {
    // INIT_CREATE_ATTR (attrs 8 = unsigned module): sc 0x07040000, n = 4.
    let init_mem = PhyPage {
        addr: 0x3_0020_0000,
        size: 0x20_0000,
    };
    let call = Call::init_create(&CreateProcess {
        client_id: 1,
        name: b"calculator",
        shell: ShellArg::None,
        init_mem,
        attrs: 8,
        siglen: 0,
    });
    assert_eq!(call.sc.0, 0x0704_0000);
    let (plan, buf) = call.pack(A).unwrap();
    // metalen = 40*4 + 384 = 544 → ALIGN 640. Synthetic host pointers are
    // 256 MiB apart, so address order = argument order:
    //   in0 inbuf (24 B):  ALIGN(640) = 640, + 24 = 664       slot 640
    //   in1 name (11 B):   ALIGN(664) = 768, + 11 = 779       slot 768
    //   in2 shell (0 B):   opens a region: ALIGN(779) = 896, + 0; no slot
    //   in3 page (16 B):   ALIGN(896) = 896, + 16 = 912       slot 896
    assert_eq!(plan.pkt_size(), 912);
    assert_eq!(
        [plan.slot(0), plan.slot(1), plan.slot(2), plan.slot(3)],
        [Some(640), Some(768), None, Some(896)]
    );
    let want = Le::default()
        .u64(A + 640)
        .u64(24)
        .u64(A + 768)
        .u64(11)
        .u64(0)
        .u64(0) // empty shell: pv 0, len 0
        .u64(A + 896)
        .u64(16)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .u32(0)
        .u32(2)
        .u32(1)
        .u32(3) // num 0 for the empty one
        .u64(A)
        .u64(4096)
        .u64(A)
        .u64(4096)
        .u64(0)
        .u64(0)
        .u64(A)
        .u64(4096);
    assert_eq!(&buf[..160], &want.0[..]);
    // inbuf {client_id 1, namelen 11, filelen 0, pageslen 1, attrs 8, siglen 0}
    let inbuf = Le::default().u32(1).u32(11).u32(0).u32(1).u32(8).u32(0);
    assert_eq!(&buf[640..664], &inbuf.0[..]);
    assert_eq!(&buf[768..779], b"calculator\0");
    assert_eq!(&buf[896..912], &Le::default().u64(0x3_0020_0000).u64(0x20_0000).0[..]);
    assert!(zeros(&buf[160..640]) && zeros(&buf[664..768]) && zeros(&buf[779..896]));
    let _ = CALL_BUF_BASE;
}

#[test]
fn golden_overlapping_inline_buffers() {
    // sc MAKE(5, 1, 1): in0 = [0x1000, 0x1010), out0 = [0x1008, 0x1018):
    // out0 starts inside in0, so it shares in0's last 8 bytes.
    let sc = Scalars::make(5, 1, 1);
    let args = [
        ArgDesc::Inline { ptr: 0x1000, len: 16 },
        ArgDesc::Inline { ptr: 0x1008, len: 16 },
    ];
    let plan = Plan::new(sc, &args).unwrap();
    // metalen = 40*2 + 384 = 464 → ALIGN 512.
    //   in0:  offset 0, mstart 0x1000, mend 0x1010 → 512 + 16 = 528, slot 512
    //   out0: start 0x1008 < max_end 0x1010 → offset 8, mstart 0x1010,
    //         mend 0x1018 → no align, 528 + 8 = 536, slot 528 - 8 = 520
    assert_eq!(plan.pkt_size(), 536);
    assert_eq!((plan.slot(0), plan.slot(1)), (Some(512), Some(520)));
    let mut buf = vec![0; 536];
    plan.write(&mut buf, A, |_, d| {
        d.copy_from_slice(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        Ok(())
    })
    .unwrap();
    #[rustfmt::skip]
    let meta: [u8; 80] = [
        // rpra[0] = {pv A+512 = 0x3_0004_0200, len 16}
        0x00, 0x02, 0x04, 0x00, 0x03, 0, 0, 0,   0x10, 0, 0, 0, 0, 0, 0, 0,
        // rpra[1] = {pv A+520 = 0x3_0004_0208, len 16}
        0x08, 0x02, 0x04, 0x00, 0x03, 0, 0, 0,   0x10, 0, 0, 0, 0, 0, 0, 0,
        // list[0] = {1, 0}, list[1] = {1, 1}
        1, 0, 0, 0, 0, 0, 0, 0,                  1, 0, 0, 0, 1, 0, 0, 0,
        // pages[0] = {A = 0x3_0004_0000, 4096}
        0x00, 0x00, 0x04, 0x00, 0x03, 0, 0, 0,   0x00, 0x10, 0, 0, 0, 0, 0, 0,
        // pages[1] = {A, 4096}
        0x00, 0x00, 0x04, 0x00, 0x03, 0, 0, 0,   0x00, 0x10, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(&buf[..80], &meta);
    assert_eq!(&buf[512..528], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    // The DSP sees out0's first 8 bytes as in0's last 8, as in user memory.
    let d = decode(sc, &buf).unwrap();
    assert_eq!(d.buf(1).unwrap().0 - d.buf(0).unwrap().0, 8);
}

/// A payload buffer is reused between calls: `write` leaves no byte of
/// the last call outside the inputs it fills (which it does not zero first:
/// a 64 KiB input was written twice), overlapping inputs and outputs
/// included.
#[test]
fn write_leaves_nothing_of_a_dirty_buffer_but_the_inputs() {
    let sc = Scalars::make(5, 2, 2);
    let args = [
        ArgDesc::Inline { ptr: 0x1000, len: 16 },
        ArgDesc::Inline { ptr: 0x5000, len: 100 },
        ArgDesc::Inline { ptr: 0x1008, len: 16 },
        ArgDesc::Inline { ptr: 0x9000, len: 40 },
    ];
    let plan = Plan::new(sc, &args).unwrap();
    let pkt = plan.pkt_size() as usize;
    let mut clean = vec![0u8; pkt];
    let mut dirty = vec![0xaau8; pkt + 64];
    let fill = |i: usize, d: &mut [u8]| {
        d.iter_mut().enumerate().for_each(|(k, b)| *b = (i * 50 + k) as u8 | 1);
        Ok(())
    };
    plan.write(&mut clean, A, fill).unwrap();
    plan.write(&mut dirty, A, fill).unwrap();
    assert_eq!(&dirty[..pkt], &clean[..], "the packet, as written into zeroed memory");
    assert!(dirty[pkt..].iter().all(|b| *b == 0xaa), "past the packet: untouched");
}

#[test]
fn unpack_refuses_a_dsp_length_above_the_callers() {
    let sc = Scalars::make(3, 0, 1);
    let plan = Plan::new(sc, &[ArgDesc::Inline { ptr: 0x5000, len: 4 }]).unwrap();
    let mut buf = vec![0; plan.pkt_size() as usize];
    plan.write(&mut buf, A, |_, _| unreachable!()).unwrap();
    // A hostile DSP rewrites rpra[0].len to 4096.
    buf[8..16].copy_from_slice(&4096u64.to_le_bytes());
    let err = plan.unpack(&buf, |_, _| Ok(())).unwrap_err();
    assert_eq!(
        err,
        ProtoError::OutputOverflow {
            index: 0,
            dsp_len: 4096,
            caller_len: 4
        }
    );
    // A shorter length is honoured.
    buf[8..16].copy_from_slice(&2u64.to_le_bytes());
    let mut got = Vec::new();
    plan.unpack(&buf, |_, b| {
        got.extend_from_slice(b);
        Ok(())
    })
    .unwrap();
    assert_eq!(got.len(), 2);
}

#[test]
fn unpack_reads_the_fd_list() {
    let sc = Scalars::make(3, 0, 0);
    let plan = Plan::new(sc, &[]).unwrap();
    let mut buf = vec![0; 384];
    buf[0..8].copy_from_slice(&7u64.to_le_bytes());
    buf[8..16].copy_from_slice(&9u64.to_le_bytes());
    buf[24..32].copy_from_slice(&11u64.to_le_bytes()); // after the 0 terminator: ignored
    assert_eq!(plan.unpack(&buf, |_, _| Ok(())).unwrap(), [7, 9]);
}

#[test]
fn pack_rejects_bad_descriptors() {
    let sc = Scalars::makex(0, 2, 1, 0, 1, 0);
    let inl = ArgDesc::Inline { ptr: 0x1000, len: 4 };
    let h = ArgDesc::Handle {
        fd: 5,
        ptr: 0,
        len: 0,
        map: None,
    };
    assert!(matches!(
        Plan::new(sc, &[inl]),
        Err(ProtoError::ArgCount {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        Plan::new(sc, &[h, h]),
        Err(ProtoError::ArgKind { index: 0, .. })
    ));
    assert!(matches!(
        Plan::new(sc, &[inl, inl]),
        Err(ProtoError::ArgKind { index: 1, .. })
    ));
    assert!(Plan::new(sc, &[inl, h]).is_ok());
    let wrap = ArgDesc::Inline {
        ptr: u64::MAX - 2,
        len: 4,
    };
    let e = Plan::new(Scalars::make(1, 1, 0), &[wrap]).unwrap_err();
    assert_eq!(e.errno(), crate::error::EOVERFLOW);
    let oob = ArgDesc::DmaBuf {
        ptr: 0x1000,
        len: 4096,
        buf_addr: 0,
        buf_size: 4096,
        offset: 8,
    };
    assert!(matches!(
        Plan::new(Scalars::make(1, 1, 0), &[oob]),
        Err(ProtoError::DmaOutOfBounds { .. })
    ));
    let skew = ArgDesc::DmaBuf {
        ptr: 0x1004,
        len: 4,
        buf_addr: 0,
        buf_size: 4096,
        offset: 8,
    };
    assert!(matches!(
        Plan::new(Scalars::make(1, 1, 0), &[skew]),
        Err(ProtoError::DmaPageOffset { .. })
    ));
    let plan = Plan::new(Scalars::make(1, 1, 0), &[inl]).unwrap();
    assert!(matches!(
        plan.write(&mut [0; 100], 0, |_, _| Ok(())),
        Err(ProtoError::PayloadBuffer { .. })
    ));
    let mut buf = vec![0; plan.pkt_size() as usize];
    assert_eq!(
        plan.write(&mut buf, 0, |i, _| Err(ProtoError::Fault { index: i })),
        Err(ProtoError::Fault { index: 0 })
    );
}

#[test]
fn handles_travel_in_the_dma_view() {
    let sc = Scalars::makex(0, 9, 0, 0, 1, 1);
    let map = PhyPage {
        addr: 0x5_0000_0000,
        size: 0x4000,
    };
    let args = [
        ArgDesc::Handle {
            fd: 42,
            ptr: 0x1_0000_0010,
            len: 0x1_0000_2000,
            map: Some(map),
        },
        ArgDesc::Handle {
            fd: -1,
            ptr: 0,
            len: 0,
            map: None,
        },
    ];
    let plan = Plan::new(sc, &args).unwrap();
    let mut buf = vec![0; plan.pkt_size() as usize];
    plan.write(&mut buf, A, |_, _| unreachable!()).unwrap();
    let d = decode(sc, &buf).unwrap();
    // offset and len are the low 32 bits, as the kernel's u32 fields truncate.
    assert_eq!(
        d.args[0],
        DecodedArg::Handle {
            fd: 42,
            offset: 0x10,
            len: 0x2000,
            page: map
        }
    );
    assert_eq!(
        d.args[1],
        DecodedArg::Handle {
            fd: -1,
            offset: 0,
            len: 0,
            page: PhyPage::default()
        }
    );
}

// ---- DSP memory model for the round-trip properties ----

#[derive(Debug, Default)]
struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
}
impl DspMemory for Mem {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), MemFault> {
        for (base, r) in &self.regions {
            if addr >= *base && addr - base + dst.len() as u64 <= r.len() as u64 {
                let o = (addr - base) as usize;
                dst.copy_from_slice(&r[o..o + dst.len()]);
                return Ok(());
            }
        }
        Err(MemFault { addr, len: dst.len() })
    }
    fn write(&mut self, addr: u64, src: &[u8]) -> Result<(), MemFault> {
        for (base, r) in &mut self.regions {
            if addr >= *base && addr - *base + src.len() as u64 <= r.len() as u64 {
                let o = (addr - *base) as usize;
                r[o..o + src.len()].copy_from_slice(src);
                return Ok(());
            }
        }
        Err(MemFault { addr, len: src.len() })
    }
}

const USER_BASE: u64 = 0x10_0000;
const USER_LEN: usize = 64 * 1024;

#[derive(Debug, Clone)]
enum GenArg {
    Inline { off: u64, len: u64 },
    Dma { page_off: u64, len: u64, extra_pages: u64 },
}

fn gen_arg() -> impl Strategy<Value = GenArg> {
    prop_oneof![
        // Inline buffers packed into 4 KiB of user memory so they overlap often.
        3 => (0u64..4096, prop_oneof![Just(0u64), 1u64..64, 64u64..600]).prop_map(|(off, len)| GenArg::Inline { off, len }),
        1 => (0u64..4096, 0u64..5000, 0u64..3).prop_map(|(page_off, len, extra_pages)| GenArg::Dma { page_off, len, extra_pages }),
    ]
}

fn gen_call() -> impl Strategy<Value = (u8, Vec<GenArg>, u8, u8, Vec<u8>)> {
    (0usize..=255).prop_flat_map(|nbufs| {
        (
            0..=nbufs as u8,
            proptest::collection::vec(gen_arg(), nbufs),
            0u8..=15,
            0u8..=15,
            proptest::collection::vec(any::<u8>(), USER_LEN),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// pack → decode: every argument is found where its bytes are, inputs read
    /// back as the caller's bytes, aliasing between overlapping inline buffers
    /// is preserved, and what the DSP writes is what unpack returns.
    #[test]
    fn pack_decode_unpack_round_trip((inb, gargs, hin, hout, user) in gen_call()) {
        let nbufs = gargs.len();
        let outb = (nbufs - inb as usize) as u8;
        let sc = Scalars::makex(0, 7, inb, outb, hin, hout);
        let payload_addr = 0x7_0000_0000u64;
        let mut mem = Mem::default();
        let mut descs = Vec::new();
        let mut dma_bufs: Vec<Option<(u64, Vec<u8>)>> = Vec::new();
        for (i, g) in gargs.iter().enumerate() {
            match *g {
                GenArg::Inline { off, len } => {
                    descs.push(ArgDesc::Inline { ptr: USER_BASE + off, len });
                    dma_bufs.push(None);
                }
                GenArg::Dma { page_off, len, extra_pages } => {
                    let offset = (extra_pages << 12) | (page_off & 0xfff);
                    let buf_size = (offset + len).next_multiple_of(4096).max(4096);
                    let buf_addr = 0x9_0000_0000 + ((i as u64) << 24);
                    let ptr = 0x7f00_0000_0000 + ((i as u64) << 24) + offset;
                    let content: Vec<u8> = (0..buf_size).map(|k| (k as u8) ^ (i as u8)).collect();
                    mem.regions.push((buf_addr, content.clone()));
                    descs.push(ArgDesc::DmaBuf { ptr, len, buf_addr, buf_size, offset });
                    dma_bufs.push(Some((offset, content)));
                }
            }
        }
        for k in 0..(hin + hout) as u64 {
            descs.push(ArgDesc::Handle { fd: 3 + k as i32, ptr: k, len: 16 * k, map: None });
        }
        let plan = Plan::new(sc, &descs).unwrap();
        let mut payload = vec![0xee; plan.pkt_size() as usize];
        plan.write(&mut payload, payload_addr, |i, d| {
            let ArgDesc::Inline { ptr, .. } = descs[i] else { unreachable!() };
            let o = (ptr - USER_BASE) as usize;
            d.copy_from_slice(&user[o..o + d.len()]);
            Ok(())
        }).unwrap();

        // Inline slots lie after the metadata and inside the payload; user
        // aliasing is preserved exactly.
        let metalen = plan.meta().metalen() as u64;
        for i in 0..nbufs {
            if let (Some(s), ArgDesc::Inline { ptr, len }) = (plan.slot(i), descs[i]) {
                prop_assert!(s >= metalen && s + len <= plan.pkt_size());
                for (j, dj) in descs.iter().enumerate().take(i) {
                    if let (Some(t), &ArgDesc::Inline { ptr: p2, len: l2 }) = (plan.slot(j), dj) {
                        let overlap = ptr < p2 + l2 && p2 < ptr + len;
                        if overlap {
                            prop_assert_eq!(s.wrapping_sub(t), ptr.wrapping_sub(p2));
                        } else {
                            prop_assert!(s + len <= t || t + l2 <= s, "disjoint user ranges share payload bytes");
                        }
                    }
                }
            }
        }

        mem.regions.push((payload_addr, payload.clone()));
        let d = decode(sc, &payload).unwrap();
        prop_assert_eq!(d.args.len(), sc.len());
        for i in 0..nbufs {
            let got = d.read_buf(i, &mem).unwrap();
            match (&descs[i], &dma_bufs[i]) {
                (ArgDesc::Inline { ptr, len }, _) if i < inb as usize => {
                    let o = (ptr - USER_BASE) as usize;
                    prop_assert_eq!(&got[..], &user[o..o + *len as usize]);
                }
                (ArgDesc::DmaBuf { len, .. }, Some((offset, content))) => {
                    prop_assert_eq!(&got[..], &content[*offset as usize..(*offset + *len) as usize]);
                }
                _ => prop_assert_eq!(got.len() as u64, descs[i].len()),
            }
        }
        for k in 0..(hin + hout) as usize {
            let DecodedArg::Handle { fd, offset, len, .. } = d.args[nbufs + k] else { panic!("handle expected") };
            prop_assert_eq!((fd, offset, len), (3 + k as i32, k as u32, 16 * k as u32));
        }

        // The DSP fills every output buffer (later writes win where inline
        // outputs alias), then the host unpacks: each output gets exactly the
        // bytes the DSP's view holds at its address.
        let mut meta = payload.clone();
        for i in inb as usize..nbufs {
            let (_, len) = d.buf(i).unwrap();
            let data: Vec<u8> = (0..len).map(|k| (k as u8).wrapping_mul(31) ^ i as u8).collect();
            d.write_out(i, &data, &mut meta, &mut mem).unwrap();
        }
        let final_payload = {
            let idx = mem.regions.iter().position(|(b, _)| *b == payload_addr).unwrap();
            let mut p = mem.regions[idx].1.clone();
            // The DSP also writes the metadata (returned lengths) back.
            p[..metalen as usize].copy_from_slice(&meta[..metalen as usize]);
            p
        };
        let mut seen = vec![None; nbufs];
        plan.unpack(&final_payload, |i, b| { seen[i] = Some(b.to_vec()); Ok(()) }).unwrap();
        for i in inb as usize..nbufs {
            if let ArgDesc::Inline { len, .. } = descs[i]
                && len > 0 {
                    let expect = d.read_buf(i, &mem).unwrap();
                    prop_assert_eq!(seen[i].as_deref(), Some(&expect[..]));
                }
        }
    }
}

/// xorshift64*: deterministic pseudo-random bytes for the fuzz loops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Cases a fuzz loop runs: `QDA_FUZZ_CASES=n` for a long run by hand, else
/// the suite's bounded `default`; a value that is not a number is refused.
///
/// The one copy outside `qda_test::fuzz_cases`: `qda-test` depends on this
/// crate, so these unit tests cannot use it (a dev-dependency cycle would
/// build a second `qda-proto` for them).
fn fuzz_cases(default: u64) -> u64 {
    match std::env::var("QDA_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("QDA_FUZZ_CASES={v:?} is not a case count")),
        Err(_) => default,
    }
}

#[test]
fn decode_survives_random_payloads() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cases = fuzz_cases(4000);
    let mut ok = 0;
    for _ in 0..cases {
        let sc = Scalars(rng.next() as u32);
        let len = (rng.next() % 30_000) as usize;
        // Eight random bytes per draw: a long run spends its time decoding.
        let payload: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| rng.next().to_le_bytes())
            .take(len)
            .collect();
        if decode(sc, &payload).is_ok() {
            ok += 1;
        }
    }
    // Random bytes almost never form valid metadata; the point is no panic.
    assert!(ok < cases);
}

#[test]
fn decode_survives_mutated_valid_payloads() {
    let mut rng = Rng(42);
    let (count, vec) = calc_inputs();
    let call = Call::new(0x10, Scalars(0x0202_0100)).input(count).input(vec).output(8);
    let (_, good) = call.pack(A).unwrap();
    let mut errors = 0;
    for _ in 0..fuzz_cases(3000) {
        let mut p = good.clone();
        for _ in 0..1 + rng.next() % 8 {
            let at = (rng.next() % 160) as usize; // the metadata words
            p[at] = rng.next() as u8;
        }
        if rng.next().is_multiple_of(4) {
            p.truncate((rng.next() % good.len() as u64) as usize);
        }
        match decode(Scalars(0x0202_0100), &p) {
            Ok(d) => {
                // Whatever it accepted lies inside its page descriptors.
                for a in &d.args {
                    if let DecodedArg::Buf { addr, len, page, .. } = *a {
                        assert!(len == 0 || (addr >= page.addr && addr + len <= page.addr + page.size));
                    }
                }
            }
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0, "mutations must be detected sometimes");
}

/// Found by `decode_survives_mutated_valid_payloads` at 10^7 cases (case
/// 3,253 of its stream): a page descriptor whose range runs past the top of
/// the address space (`addr + size` wraps) was accepted as long as the
/// argument inside it did not wrap; whoever then took the page's end got a
/// wrapped number (an overflow panic in a debug build).
#[test]
fn decode_refuses_a_page_whose_range_wraps() {
    let sc = Scalars(0x0202_0100);
    let (count, vec) = calc_inputs();
    let (_, good) = Call::new(0x10, sc).input(count).input(vec).output(8).pack(A).unwrap();
    let mut p = good.clone();
    // Argument 0 (4 bytes) in page 0 near the top, the page 128 KiB long.
    assert_eq!(&p[48..56], &[1, 0, 0, 0, 0, 0, 0, 0], "list[0]: one page, page 0");
    p[72..80].copy_from_slice(&0xffff_ffff_ffff_0000u64.to_le_bytes());
    p[80..88].copy_from_slice(&0x2_0000u64.to_le_bytes());
    assert!(matches!(
        decode(sc, &p),
        Err(ProtoError::RangeOverflow {
            index: 0,
            ptr: 0xffff_ffff_ffff_0000,
            len: 0x2_0000
        })
    ));
    // The same page a page short of the top is fine.
    p[80..88].copy_from_slice(&0xf000u64.to_le_bytes());
    assert!(decode(sc, &p).is_ok());
}

#[test]
fn decode_errors_name_the_problem() {
    let sc = Scalars(0x0202_0100);
    assert!(matches!(
        decode(sc, &[0; 503]),
        Err(ProtoError::ShortPayload {
            need: 504,
            have: 503,
            nscalars: 3
        })
    ));
    let call = Call::new(0x10, sc).input([1, 2, 3, 4]).input(vec![0; 4000]).output(8);
    let (_, good) = call.pack(A).unwrap();
    let mut p = good.clone();
    p[48 + 8 + 4..48 + 8 + 8].copy_from_slice(&9u32.to_le_bytes()); // list[1].pgidx = 9
    assert!(matches!(
        decode(sc, &p),
        Err(ProtoError::PageIndex { index: 1, pgidx: 9, .. })
    ));
    let mut p = good.clone();
    p[24..32].copy_from_slice(&(u64::MAX / 2).to_le_bytes()); // rpra[1].len huge
    assert!(matches!(decode(sc, &p), Err(ProtoError::OutsidePages { index: 1, .. })));
    let mut p = good;
    p[72..80].copy_from_slice(&(u64::MAX - 10).to_le_bytes()); // pages[0].addr near the top
    assert!(matches!(
        decode(sc, &p),
        Err(ProtoError::RangeOverflow { index: 0, .. })
    ));
}

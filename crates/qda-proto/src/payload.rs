//! The payload buffer of an invocation: metadata, then inline argument data.
//!
//! ```text
//! offset          content                                   element
//! 0               rpra[n]   union remote_arg {buf{pv,len}|dma{fd,offset,len}}   16 B
//! 16·n            list[n]   struct invoke_buf {num, pgidx}                       8 B
//! 24·n            pages[n]  struct phy_page {addr, size}                        16 B
//! 40·n            fdlist[16] u64 (DSP tells the host which maps it dropped)
//! 40·n + 128      crclist[64] u32
//! 40·n + 384      (poll-mode series only) u32 poll word, 0xdecaf when done
//! metalen         inline data, each fresh region 128-byte aligned
//! ```
//! `n = REMOTE_SCALARS_LENGTH(sc)`, `metalen = 40·n + 384`. Buffer arguments
//! come first (inputs then outputs), handles after.
//!
//! A DSP finds argument `i`'s first byte at
//! `pages[list[i].pgidx].addr + (rpra[i].pv & 0xfff)`; `pv` itself is opaque
//! to it (a user VA for dma-bufs, a host VA for inline data).
//!
//! Differences from the upstream kernel, on purpose (each would corrupt data):
//! * overlap merging considers inline buffers only: mainline also lets
//!   dma-buf arguments advance the overlap window, which gives a following
//!   inline buffer a negative offset into unreserved payload space (the
//!   posted fix "ignore mapped buffers when building the inline overlap state");
//! * `ptr + length` overflow is refused (`EOVERFLOW`), as the posted fix does;
//! * a dma-buf argument must lie inside its buffer (mainline only compares the
//!   length with the buffer size; CVE-2026-53159 class);
//! * [`Plan::unpack`] copies back from the slot it reserved, never from the
//!   DSP-writable `pv`, and refuses a returned length above the caller's.

use alloc::vec::Vec;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::{PAGE_MASK, PAGE_SIZE, ProtoError, Scalars, align_up, pages_spanned};

/// Alignment of each fresh inline region (`FASTRPC_ALIGN`).
pub const FASTRPC_ALIGN: u64 = 128;
/// Entries in the fd list (`FASTRPC_MAX_FDLIST`).
pub const MAX_FDLIST: usize = 16;
/// Entries in the CRC list (`FASTRPC_MAX_CRCLIST`).
pub const MAX_CRCLIST: usize = 64;
/// Value the DSP writes into the poll word when a call completed (poll mode).
pub const POLL_DONE: u32 = 0xdecaf;

/// `struct fastrpc_phy_page`: a run of DSP-visible memory.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct PhyPage {
    /// DSP address (SID-prefixed IOVA) of the first page.
    pub addr: u64,
    /// Length in bytes (a whole number of pages for argument descriptors).
    pub size: u64,
}

/// `struct fastrpc_invoke_buf`: which page descriptors belong to an argument.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct InvokeBuf {
    /// Number of page descriptors: 1 if the argument has bytes, else 0.
    pub num: u32,
    /// Index of the first descriptor in the page list (always the argument's own index).
    pub pgidx: u32,
}

/// The `buf` view of `union fastrpc_remote_arg`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteBuf {
    /// Host pointer; only its in-page offset means anything to the DSP.
    pub pv: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The `dma` view of `union fastrpc_remote_arg` (12 bytes, padded to 16).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemoteDma {
    /// The dma-buf fd as the client knows it, forwarded to the DSP.
    pub fd: i32,
    /// Offset (the low 32 bits of the argument's `ptr`).
    pub offset: u32,
    /// Length (the low 32 bits of the argument's `length`).
    pub len: u32,
    /// Union padding.
    pub pad: u32,
}

/// Offsets inside the metadata block for `n` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaLayout {
    /// `REMOTE_SCALARS_LENGTH(sc)`.
    pub nscalars: usize,
    /// Whether the poll word of the poll-mode series follows the CRC list.
    pub poll_word: bool,
}

impl MetaLayout {
    /// Layout for `nscalars` arguments without a poll word (mainline).
    pub const fn new(nscalars: usize) -> Self {
        MetaLayout {
            nscalars,
            poll_word: false,
        }
    }
    /// Offset of `rpra[i]`.
    pub const fn rpra(&self, i: usize) -> usize {
        16 * i
    }
    /// Offset of `list[i]`.
    pub const fn list(&self, i: usize) -> usize {
        16 * self.nscalars + 8 * i
    }
    /// Offset of `pages[i]`.
    pub const fn page(&self, i: usize) -> usize {
        24 * self.nscalars + 16 * i
    }
    /// Offset of `fdlist[0]`.
    pub const fn fdlist(&self) -> usize {
        40 * self.nscalars
    }
    /// Offset of `crclist[0]`.
    pub const fn crclist(&self) -> usize {
        40 * self.nscalars + 8 * MAX_FDLIST
    }
    /// Offset of the poll word (meaningful only with `poll_word`).
    pub const fn poll(&self) -> usize {
        40 * self.nscalars + 8 * MAX_FDLIST + 4 * MAX_CRCLIST
    }
    /// `metalen`: `40·n + 384` (+ 4 with the poll word).
    pub const fn metalen(&self) -> usize {
        self.poll() + if self.poll_word { 4 } else { 0 }
    }
}

/// How one argument reaches the DSP, as the host driver sees it after
/// resolving fds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgDesc {
    /// A buffer copied through the payload (the kernel's `fd` 0 or -1).
    /// Input bytes are supplied by the `fill` callback of [`Plan::write`].
    Inline {
        /// The caller's pointer (used to merge overlapping buffers).
        ptr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// A buffer inside a dma-buf the DSP reaches directly (no copy).
    DmaBuf {
        /// The caller's pointer, forwarded as `pv`.
        ptr: u64,
        /// Length in bytes.
        len: u64,
        /// DSP address of byte 0 of the dma-buf (IOVA with SID prefix).
        buf_addr: u64,
        /// Size of the dma-buf in bytes.
        buf_size: u64,
        /// Offset of `ptr` inside the dma-buf (from the caller's mapping).
        offset: u64,
    },
    /// A handle argument (`i >= nbufs`): a dma-buf fd forwarded to the DSP.
    Handle {
        /// The fd as the client knows it.
        fd: i32,
        /// The argument's `ptr` (its low 32 bits travel as the offset).
        ptr: u64,
        /// The argument's `length` (low 32 bits travel).
        len: u64,
        /// The mapping's page descriptor, if the host attached the fd.
        map: Option<PhyPage>,
    },
}

impl ArgDesc {
    /// Length of the argument.
    pub const fn len(&self) -> u64 {
        match *self {
            ArgDesc::Inline { len, .. } | ArgDesc::DmaBuf { len, .. } | ArgDesc::Handle { len, .. } => len,
        }
    }
    /// True for a zero-length argument.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Overlap bookkeeping of one inline buffer (the kernel's `fastrpc_buf_overlap`).
#[derive(Debug, Clone, Copy, Default)]
struct Olap {
    raix: usize,
    start: u64,
    end: u64,
    mstart: u64,
    mend: u64,
    offset: u64,
}

/// A packing plan: argument descriptors checked, overlaps merged, every
/// inline argument given its place, the payload size known. Build it, allocate
/// [`Plan::pkt_size`] bytes of DSP-visible memory, then [`Plan::write`].
#[derive(Debug, Clone)]
pub struct Plan {
    sc: Scalars,
    meta: MetaLayout,
    args: Vec<ArgDesc>,
    /// Payload offset of byte 0 of each inline argument with bytes.
    slots: Vec<Option<u64>>,
    pkt_size: u64,
}

impl Plan {
    /// Check `args` against `sc` and lay the payload out (mainline layout,
    /// no poll word).
    pub fn new(sc: Scalars, args: &[ArgDesc]) -> Result<Self, ProtoError> {
        Self::with_meta(sc, args, MetaLayout::new(sc.len()))
    }

    /// As [`Plan::new`] with the poll word of the poll-mode series.
    pub fn with_poll_word(sc: Scalars, args: &[ArgDesc]) -> Result<Self, ProtoError> {
        Self::with_meta(
            sc,
            args,
            MetaLayout {
                nscalars: sc.len(),
                poll_word: true,
            },
        )
    }

    fn with_meta(sc: Scalars, args: &[ArgDesc], meta: MetaLayout) -> Result<Self, ProtoError> {
        let n = sc.len();
        if args.len() != n {
            return Err(ProtoError::ArgCount {
                sc: sc.0,
                expected: n,
                got: args.len(),
            });
        }
        let nbufs = sc.nbufs();
        for (index, a) in args.iter().enumerate() {
            match (index < nbufs, a) {
                (true, ArgDesc::Handle { .. }) => {
                    return Err(ProtoError::ArgKind {
                        index,
                        expected: "buffer",
                    });
                }
                (false, ArgDesc::Inline { .. } | ArgDesc::DmaBuf { .. }) => {
                    return Err(ProtoError::ArgKind {
                        index,
                        expected: "handle",
                    });
                }
                (_, ArgDesc::Inline { ptr, len }) => {
                    ptr.checked_add(*len).ok_or(ProtoError::RangeOverflow {
                        index,
                        ptr: *ptr,
                        len: *len,
                    })?;
                }
                (
                    _,
                    &ArgDesc::DmaBuf {
                        ptr,
                        len,
                        buf_size,
                        offset,
                        ..
                    },
                ) => {
                    ptr.checked_add(len)
                        .ok_or(ProtoError::RangeOverflow { index, ptr, len })?;
                    let end = offset.checked_add(len);
                    if end.is_none_or(|e| e > buf_size) {
                        return Err(ProtoError::DmaOutOfBounds {
                            index,
                            offset,
                            len,
                            size: buf_size,
                        });
                    }
                    if len > 0 && (offset ^ ptr) & !PAGE_MASK != 0 {
                        return Err(ProtoError::DmaPageOffset { index, ptr, offset });
                    }
                }
                (false, ArgDesc::Handle { .. }) => {}
            }
        }

        // Overlap merging over the inline buffers, sorted by start address,
        // ties longest first (stable on the index for determinism).
        let mut olaps: Vec<Olap> = args[..nbufs]
            .iter()
            .enumerate()
            .filter_map(|(raix, a)| match *a {
                ArgDesc::Inline { ptr, len } => Some(Olap {
                    raix,
                    start: ptr,
                    end: ptr + len,
                    ..Olap::default()
                }),
                _ => None,
            })
            .collect();
        olaps.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.raix.cmp(&b.raix)));
        let mut max_end = 0u64;
        for o in olaps.iter_mut() {
            if o.start < max_end {
                o.offset = max_end - o.start;
                if o.end > max_end {
                    o.mstart = max_end;
                    o.mend = o.end;
                    max_end = o.end;
                } else {
                    o.mstart = 0;
                    o.mend = 0;
                }
            } else {
                o.mstart = o.start;
                o.mend = o.end;
                o.offset = 0;
                max_end = o.end;
            }
        }

        // Payload size exactly as fastrpc_get_payload_size: zero-length
        // buffers that open a region still align the running size.
        let too_large = |size| ProtoError::PayloadTooLarge { size, limit: u64::MAX };
        let metalen = meta.metalen() as u64;
        let mut size = align_up(metalen, FASTRPC_ALIGN).ok_or(too_large(metalen))?;
        // Slot placement exactly as fastrpc_get_args: the cursor starts at
        // metalen and is aligned only for arguments that have bytes.
        let mut cursor = metalen;
        let mut slots = alloc::vec![None; n];
        for o in &olaps {
            let mlen = o.mend - o.mstart;
            if o.offset == 0 {
                size = align_up(size, FASTRPC_ALIGN).ok_or(too_large(size))?;
            }
            size = size.checked_add(mlen).ok_or(too_large(size))?;
            if o.end == o.start {
                continue;
            }
            if o.offset == 0 {
                cursor = align_up(cursor, FASTRPC_ALIGN).ok_or(too_large(cursor))?;
            }
            slots[o.raix] = Some(cursor - o.offset);
            cursor += mlen;
        }
        debug_assert!(cursor <= size);
        Ok(Plan {
            sc,
            meta,
            args: args.to_vec(),
            slots,
            pkt_size: size,
        })
    }

    /// The scalars word.
    pub fn sc(&self) -> Scalars {
        self.sc
    }
    /// The metadata layout.
    pub fn meta(&self) -> MetaLayout {
        self.meta
    }
    /// The argument descriptors.
    pub fn args(&self) -> &[ArgDesc] {
        &self.args
    }
    /// Bytes of payload the kernel allocates (`fastrpc_get_payload_size`).
    pub fn pkt_size(&self) -> u64 {
        self.pkt_size
    }
    /// The `size` field of the message: `pkt_size` rounded up to a page.
    pub fn msg_size(&self) -> u64 {
        // pkt_size <= u64::MAX - 4095 is not guaranteed; saturate at the top page.
        align_up(self.pkt_size, PAGE_SIZE).unwrap_or(PAGE_MASK)
    }
    /// Payload offset of inline argument `index`'s first byte, if it has one.
    pub fn slot(&self, index: usize) -> Option<u64> {
        self.slots.get(index).copied().flatten()
    }

    /// Fill `out` (at least [`Plan::pkt_size`] bytes, living at DSP address
    /// `payload_addr`) with the metadata and the inline input data. `fill(i,
    /// dst)` must copy input buffer `i`'s bytes into `dst` (exactly
    /// `dst.len()` bytes); it is called once per inline input argument with
    /// bytes, possibly for overlapping `dst` ranges carrying the same bytes.
    pub fn write<F>(&self, out: &mut [u8], payload_addr: u64, mut fill: F) -> Result<(), ProtoError>
    where
        F: FnMut(usize, &mut [u8]) -> Result<(), ProtoError>,
    {
        let pkt = self.pkt_size as usize;
        if (out.len() as u64) < self.pkt_size {
            return Err(ProtoError::PayloadBuffer {
                need: self.pkt_size,
                have: out.len(),
            });
        }
        let out = &mut out[..pkt];
        let inbufs = self.sc.inbufs() as usize;
        self.zero_all_but_inputs(out, inbufs);
        let m = self.meta;
        for (i, a) in self.args.iter().enumerate() {
            let len = a.len();
            put(
                out,
                m.list(i),
                InvokeBuf {
                    num: u32::from(len != 0),
                    pgidx: i as u32,
                },
            );
            match *a {
                ArgDesc::Handle { fd, ptr, len, map } => {
                    put(
                        out,
                        m.rpra(i),
                        RemoteDma {
                            fd,
                            offset: ptr as u32,
                            len: len as u32,
                            pad: 0,
                        },
                    );
                    if let Some(p) = map {
                        put(out, m.page(i), p);
                    }
                    continue;
                }
                _ if len == 0 => {
                    put(out, m.rpra(i), RemoteBuf { pv: 0, len: 0 });
                    continue;
                }
                ArgDesc::DmaBuf {
                    ptr, buf_addr, offset, ..
                } => {
                    put(out, m.rpra(i), RemoteBuf { pv: ptr, len });
                    let page = PhyPage {
                        addr: buf_addr.wrapping_add(offset & PAGE_MASK),
                        size: span_bytes(ptr, len),
                    };
                    put(out, m.page(i), page);
                }
                ArgDesc::Inline { .. } => {
                    let pos = self.slots[i].expect("inline argument with bytes has a slot");
                    let pv = payload_addr.wrapping_add(pos);
                    put(out, m.rpra(i), RemoteBuf { pv, len });
                    put(
                        out,
                        m.page(i),
                        PhyPage {
                            addr: pv & PAGE_MASK,
                            size: span_bytes(pv, len),
                        },
                    );
                    if i < inbufs {
                        let pos = pos as usize;
                        fill(i, &mut out[pos..pos + len as usize])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Zero `out` (the packet) except the inline inputs' slots, which
    /// [`Plan::write`] fills whole: the same bytes as zeroing it all first,
    /// without writing a large input twice.
    fn zero_all_but_inputs(&self, out: &mut [u8], inbufs: usize) {
        let mut inputs: alloc::vec::Vec<(usize, usize)> = (0..inbufs.min(self.args.len()))
            .filter_map(|i| match self.args[i] {
                ArgDesc::Inline { len, .. } if len != 0 => {
                    self.slots[i].map(|pos| (pos as usize, pos as usize + len as usize))
                }
                _ => None,
            })
            .collect();
        inputs.sort_unstable();
        let mut at = 0usize;
        for (start, end) in inputs {
            let start = start.min(out.len());
            if start > at {
                out[at..start].fill(0);
            }
            at = at.max(end.min(out.len()));
        }
        out[at..].fill(0);
    }

    /// Copy the inline output buffers back after the DSP answered. `sink(i,
    /// bytes)` receives output argument `i`'s bytes (the length the DSP
    /// reported, never more than the caller's). Returns the fds the DSP put in
    /// the fd list (maps it released), in order, up to the first 0.
    pub fn unpack<F>(&self, payload: &[u8], mut sink: F) -> Result<Vec<i32>, ProtoError>
    where
        F: FnMut(usize, &[u8]) -> Result<(), ProtoError>,
    {
        if (payload.len() as u64) < self.pkt_size {
            return Err(ProtoError::PayloadBuffer {
                need: self.pkt_size,
                have: payload.len(),
            });
        }
        let m = self.meta;
        for i in self.sc.inbufs() as usize..self.sc.nbufs() {
            let ArgDesc::Inline { len: caller_len, .. } = self.args[i] else {
                continue;
            };
            let dsp_len = get::<RemoteBuf>(payload, m.rpra(i)).len;
            if dsp_len > caller_len {
                return Err(ProtoError::OutputOverflow {
                    index: i,
                    dsp_len,
                    caller_len,
                });
            }
            if let Some(pos) = self.slots[i] {
                let pos = pos as usize;
                sink(i, &payload[pos..pos + dsp_len as usize])?;
            }
        }
        Ok(read_fdlist(payload, m))
    }
}

/// The fds a DSP listed in the fd list, up to the first zero entry (each
/// `u64` truncated to an `int`, as the kernel reads them).
pub fn read_fdlist(payload: &[u8], meta: MetaLayout) -> Vec<i32> {
    let mut fds = Vec::new();
    for k in 0..MAX_FDLIST {
        let v = get::<u64>(payload, meta.fdlist() + 8 * k);
        if v == 0 {
            break;
        }
        fds.push(v as i32);
    }
    fds
}

/// `(pages spanned by [addr, addr+len)) × PAGE_SIZE`; callers checked that
/// the range does not wrap.
fn span_bytes(addr: u64, len: u64) -> u64 {
    pages_spanned(addr, len).map_or(0, |p| p * PAGE_SIZE)
}

fn put<T: IntoBytes + Immutable>(out: &mut [u8], off: usize, v: T) {
    let b = v.as_bytes();
    out[off..off + b.len()].copy_from_slice(b);
}

fn get<T: FromBytes>(buf: &[u8], off: usize) -> T {
    T::read_from_prefix(&buf[off..])
        .expect("caller checked the metadata length")
        .0
}

/// One argument as the DSP sees it after [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodedArg {
    /// A buffer argument (`i < nbufs`).
    Buf {
        /// DSP address of the first byte: `page.addr + (pv & 0xfff)`
        /// (0 for an empty argument).
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// The host pointer as sent.
        pv: u64,
        /// The page descriptor the argument lies in.
        page: PhyPage,
    },
    /// A handle argument.
    Handle {
        /// The client's fd.
        fd: i32,
        /// Offset field.
        offset: u32,
        /// Length field.
        len: u32,
        /// The page descriptor (zero if the host attached no map).
        page: PhyPage,
    },
}

/// A decoded payload: every argument located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The scalars word the payload was decoded with.
    pub sc: Scalars,
    /// Metadata layout.
    pub meta: MetaLayout,
    /// One entry per argument, in scalars order.
    pub args: Vec<DecodedArg>,
}

/// A DSP-side view of memory by DSP address (an SMMU translation).
pub trait DspMemory {
    /// Copy `dst.len()` bytes at `addr` into `dst`.
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), MemFault>;
    /// Copy `src` to `addr`.
    fn write(&mut self, addr: u64, src: &[u8]) -> Result<(), MemFault>;
}

/// A DSP address that does not translate (an SMMU fault, as the DSP sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no mapping for {len} bytes at DSP address 0x{addr:x}")]
pub struct MemFault {
    /// Faulting address.
    pub addr: u64,
    /// Length of the access.
    pub len: usize,
}

/// The DSP's view: locate every argument of a payload whose scalars are `sc`.
/// Malformed metadata (short payload, page indices outside the list, lengths
/// that overflow or leave their pages) is an error, never a panic.
pub fn decode(sc: Scalars, payload: &[u8]) -> Result<Decoded, ProtoError> {
    decode_with(sc, payload, MetaLayout::new(sc.len()))
}

/// [`decode`] with an explicit metadata layout (poll word or not).
pub fn decode_with(sc: Scalars, payload: &[u8], meta: MetaLayout) -> Result<Decoded, ProtoError> {
    let n = sc.len();
    debug_assert_eq!(meta.nscalars, n);
    let need = meta.metalen() as u64;
    if (payload.len() as u64) < need {
        return Err(ProtoError::ShortPayload {
            need,
            have: payload.len(),
            nscalars: n,
        });
    }
    let nbufs = sc.nbufs();
    let mut args = Vec::with_capacity(n);
    for i in 0..n {
        let list: InvokeBuf = get(payload, meta.list(i));
        let page_of = |num: u32| -> Result<PhyPage, ProtoError> {
            match num {
                0 => Ok(PhyPage::default()),
                1 if (list.pgidx as usize) < n => {
                    let page: PhyPage = get(payload, meta.page(list.pgidx as usize));
                    // A page past the top of the address space is no page.
                    match page.addr.checked_add(page.size) {
                        Some(_) => Ok(page),
                        None => Err(ProtoError::RangeOverflow {
                            index: i,
                            ptr: page.addr,
                            len: page.size,
                        }),
                    }
                }
                _ => Err(ProtoError::PageIndex {
                    index: i,
                    pgidx: list.pgidx,
                    num,
                    nscalars: n,
                }),
            }
        };
        if i >= nbufs {
            let d: RemoteDma = get(payload, meta.rpra(i));
            let page = page_of(list.num)?;
            args.push(DecodedArg::Handle {
                fd: d.fd,
                offset: d.offset,
                len: d.len,
                page,
            });
            continue;
        }
        let b: RemoteBuf = get(payload, meta.rpra(i));
        if b.len == 0 {
            args.push(DecodedArg::Buf {
                addr: 0,
                len: 0,
                pv: b.pv,
                page: page_of(list.num)?,
            });
            continue;
        }
        if list.num != 1 {
            return Err(ProtoError::PageIndex {
                index: i,
                pgidx: list.pgidx,
                num: list.num,
                nscalars: n,
            });
        }
        let page = page_of(1)?;
        let in_page = b.pv & !PAGE_MASK;
        if in_page.checked_add(b.len).is_none_or(|end| end > page.size) {
            return Err(ProtoError::OutsidePages {
                index: i,
                offset: in_page,
                len: b.len,
                page_size: page.size,
            });
        }
        let addr = page
            .addr
            .checked_add(in_page)
            .filter(|a| a.checked_add(b.len).is_some());
        let addr = addr.ok_or(ProtoError::RangeOverflow {
            index: i,
            ptr: page.addr,
            len: b.len,
        })?;
        args.push(DecodedArg::Buf {
            addr,
            len: b.len,
            pv: b.pv,
            page,
        });
    }
    Ok(Decoded { sc, meta, args })
}

impl Decoded {
    /// DSP address and length of buffer argument `i` (`None` for handles or
    /// indices out of range).
    pub fn buf(&self, i: usize) -> Option<(u64, u64)> {
        match self.args.get(i)? {
            DecodedArg::Buf { addr, len, .. } => Some((*addr, *len)),
            DecodedArg::Handle { .. } => None,
        }
    }

    /// Read buffer argument `i` through `mem`.
    pub fn read_buf(&self, i: usize, mem: &impl DspMemory) -> Result<Vec<u8>, MemFault> {
        let (addr, len) = self.buf(i).unwrap_or((0, 0));
        let mut v = alloc::vec![0u8; len as usize];
        if len > 0 {
            mem.read(addr, &mut v)?;
        }
        Ok(v)
    }

    /// Write `data` to the start of output buffer `i` through `mem` and
    /// record its length in `payload` (so the host copies back that much).
    /// `payload` is the metadata as the DSP holds it; the caller writes it
    /// back to the payload's DSP address when done.
    pub fn write_out(
        &self,
        i: usize,
        data: &[u8],
        payload: &mut [u8],
        mem: &mut impl DspMemory,
    ) -> Result<(), ProtoError> {
        let (addr, len) = self.buf(i).ok_or(ProtoError::ArgKind {
            index: i,
            expected: "buffer",
        })?;
        if data.len() as u64 > len {
            return Err(ProtoError::OutputOverflow {
                index: i,
                dsp_len: data.len() as u64,
                caller_len: len,
            });
        }
        if !data.is_empty() {
            mem.write(addr, data).map_err(|_| ProtoError::Fault { index: i })?;
        }
        let off = self.meta.rpra(i) + 8;
        payload[off..off + 8].copy_from_slice(&(data.len() as u64).to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests;

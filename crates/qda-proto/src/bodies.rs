//! Request and response bodies carried as arguments of the fixed-shape calls,
//! and [`Call`], an owned call (handle, scalars, descriptors, input bytes) that
//! the host driver packs with [`Plan`] and the DSP parses with [`parse_body`].
//!
//! Layouts are LP64, little-endian, naturally aligned; explicit `pad` fields
//! stand where the C structs have holes or tail padding.

use alloc::vec::Vec;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::handles::{self, sc};
use crate::payload::{ArgDesc, PhyPage, Plan};
use crate::{ProtoError, Scalars};

/// `sizeof(struct fastrpc_phy_page)`: what the kernel puts in the `num`
/// field of map requests (a byte count, not a page count).
pub const PHY_PAGE_BYTES: i32 = 16;
/// Attributes the capability query asks for (`FASTRPC_MAX_DSP_ATTRIBUTES - 1`).
pub const DSP_ATTRIBUTES_QUERIED: u32 = 255;
/// Length of the loader-error text buffer libfastrpc passes to open/close.
pub const DLERROR_LEN: u32 = 255;

/// Input 0 of INIT_CREATE / INIT_CREATE_ATTR (24 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct CreateProcessInbuf {
    /// The creating file's client id.
    pub client_id: i32,
    /// Length of the process name in input 1, NUL included.
    pub namelen: u32,
    /// Length of the shell ELF in input 2.
    pub filelen: u32,
    /// Page descriptors in input 3 (always 1).
    pub pageslen: u32,
    /// Process attributes (`FASTRPC_MODE_*`).
    pub attrs: u32,
    /// Signature length.
    pub siglen: u32,
}

/// Input 0 of INIT_CREATE_STATIC (12 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct CreateStaticInbuf {
    /// The creating file's client id.
    pub client_id: i32,
    /// Length of the PD name in input 1.
    pub namelen: u32,
    /// Page descriptors in input 2 (the kernel sends 0 and one descriptor).
    pub pageslen: u32,
}

/// `fastrpc_mmap_req_msg` / QDA `fastrpc_map_req_msg` (24 bytes, INIT_MMAP).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MmapReq {
    /// Client id.
    pub client_id: i32,
    /// `ADSP_MMAP_*` flags.
    pub flags: u32,
    /// Requested DSP VA (0: DSP chooses).
    pub vaddr: u64,
    /// Bytes of page descriptors in input 1 (16).
    pub num: i32,
    /// Tail padding.
    pub pad: u32,
}

/// `fastrpc_mmap_rsp_msg` (8 bytes): the DSP VA of a new mapping.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MmapRsp {
    /// DSP virtual address.
    pub vaddr: u64,
}

/// `fastrpc_munmap_req_msg` (24 bytes, INIT_MUNMAP).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MunmapReq {
    /// Client id.
    pub client_id: i32,
    /// Hole before the 8-byte field.
    pub pad: u32,
    /// DSP VA returned by the map.
    pub vaddr: u64,
    /// Size of the mapping.
    pub size: u64,
}

/// `fastrpc_mem_map_req_msg` (32 bytes, INIT_MEM_MAP).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MemMapReq {
    /// Client id.
    pub client_id: i32,
    /// The client's dma-buf fd.
    pub fd: i32,
    /// Offset into the buffer.
    pub offset: i32,
    /// Mapping flags.
    pub flags: u32,
    /// Requested DSP VA.
    pub vaddrin: u64,
    /// Bytes of page descriptors in input 1 (16).
    pub num: i32,
    /// Length of input 2 (0).
    pub data_len: i32,
}

/// `fastrpc_mem_unmap_req_msg` (24 bytes, INIT_MEM_UNMAP).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MemUnmapReq {
    /// Client id.
    pub client_id: i32,
    /// The client's dma-buf fd.
    pub fd: i32,
    /// DSP VA of the mapping.
    pub vaddrin: u64,
    /// Length of the mapping.
    pub len: u64,
}

/// Input 0 of remotectl open / open1: `{strlen(uri) + 1, dlerror length}`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemotectlOpenIn {
    /// URI length including its NUL.
    pub name_len: u32,
    /// Capacity of output 1 (the loader error text).
    pub dlerr_len: u32,
}

/// Output 0 of remotectl open / open1.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemotectlOpenOut {
    /// The module handle on the DSP.
    pub handle: u32,
    /// Loader error code (0 on success).
    pub dlerr: u32,
}

/// Input 0 of remotectl close / close1.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RemotectlCloseIn {
    /// The module handle.
    pub handle: u32,
    /// Capacity of output 1.
    pub dlerr_len: u32,
}

/// Input 0 of listener next2.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct ListenerNext2In {
    /// Context of the request being answered (0 on the first call).
    pub prev_ctx: u32,
    /// Its result (-1 on the first call).
    pub prev_result: i32,
    /// Length of input 1 (the reply, see [`crate::revbuf`]).
    pub prev_bufs_len: u32,
    /// Capacity of output 1.
    pub bufs_len: u32,
}

/// Output 0 of listener next2.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct ListenerNext2Out {
    /// Context of the new reverse request.
    pub ctx: u32,
    /// Host-side handle it targets.
    pub handle: u32,
    /// Its scalars.
    pub sc: u32,
    /// Bytes the full request needs (more than `bufs_len` → get_in_bufs2).
    pub bufs_len_req: u32,
}

/// Input 0 of listener get_in_bufs2.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct ListenerGetInBufs2In {
    /// Context of the request.
    pub ctx: u32,
    /// Offset into the request already received.
    pub offset: u32,
    /// Capacity of output 1.
    pub bufs_len: u32,
}

/// Parse a fixed-size body argument: exactly `size_of::<T>()` bytes.
pub fn parse_body<T: FromBytes + KnownLayout + Immutable>(what: &'static str, bytes: &[u8]) -> Result<T, ProtoError> {
    T::read_from_bytes(bytes).map_err(|_| ProtoError::Malformed {
        what,
        detail: "wrong length",
    })
}

/// Base of the synthetic host addresses given to a [`Call`]'s buffers: they
/// only have to be distinct and non-overlapping (the kernel uses kernel VAs).
pub const CALL_BUF_BASE: u64 = 0xffff_8000_0000_0000;
const CALL_BUF_STRIDE_SHIFT: u32 = 28; // 256 MiB apart

/// The shell ELF of a create-process call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellArg {
    /// No shell: the DSP uses the one in its firmware (`filelen = 0`).
    None,
    /// The ELF bytes, copied through the payload.
    Inline(Vec<u8>),
    /// The ELF in a dma-buf (`filefd`), described like a dma-buf argument.
    DmaBuf {
        /// The caller's mapped address of the ELF.
        ptr: u64,
        /// ELF length.
        len: u64,
        /// DSP address of the dma-buf.
        buf_addr: u64,
        /// dma-buf size.
        buf_size: u64,
        /// Offset of `ptr` in the dma-buf.
        offset: u64,
    },
}

/// Parameters of INIT_CREATE / INIT_CREATE_ATTR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateProcess<'a> {
    /// Client id of the creating file.
    pub client_id: i32,
    /// Process name without its NUL (the kernel sends `current->comm`).
    pub name: &'a [u8],
    /// The shell.
    pub shell: ShellArg,
    /// The init memory the DSP may use for the process.
    pub init_mem: PhyPage,
    /// Process attributes; non-zero selects CREATE_ATTR.
    pub attrs: u32,
    /// Signature length.
    pub siglen: u32,
}

/// An owned call ready to pack: handle, scalars, one descriptor per argument
/// and the bytes of every inline input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Remote handle.
    pub handle: u32,
    /// Scalars.
    pub sc: Scalars,
    /// Argument descriptors.
    pub args: Vec<ArgDesc>,
    inputs: Vec<Vec<u8>>,
}

impl Call {
    /// An empty call; add arguments in scalars order.
    pub fn new(handle: u32, sc: Scalars) -> Self {
        Call {
            handle,
            sc,
            args: Vec::with_capacity(sc.len()),
            inputs: Vec::with_capacity(sc.len()),
        }
    }

    fn next_ptr(&self) -> u64 {
        CALL_BUF_BASE + ((self.args.len() as u64) << CALL_BUF_STRIDE_SHIFT)
    }

    /// Append an inline input buffer.
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        self.args.push(ArgDesc::Inline {
            ptr: self.next_ptr(),
            len: bytes.len() as u64,
        });
        self.inputs.push(bytes);
        self
    }

    /// Append an inline input holding a fixed-size body.
    pub fn body<T: IntoBytes + Immutable>(self, v: &T) -> Self {
        self.input(v.as_bytes())
    }

    /// Append an inline output buffer of `len` bytes.
    pub fn output(mut self, len: u64) -> Self {
        self.args.push(ArgDesc::Inline {
            ptr: self.next_ptr(),
            len,
        });
        self.inputs.push(Vec::new());
        self
    }

    /// Append any descriptor (dma-buf argument, handle, user-pointer inline).
    pub fn arg(mut self, desc: ArgDesc, input: Vec<u8>) -> Self {
        self.args.push(desc);
        self.inputs.push(input);
        self
    }

    /// Lay the call out.
    pub fn plan(&self) -> Result<Plan, ProtoError> {
        Plan::new(self.sc, &self.args)
    }

    /// The `fill` callback for [`Plan::write`]: copies input `i`'s bytes.
    pub fn fill(&self, i: usize, dst: &mut [u8]) -> Result<(), ProtoError> {
        let src = self.inputs.get(i).ok_or(ProtoError::Fault { index: i })?;
        if src.len() != dst.len() {
            return Err(ProtoError::InputLength {
                index: i,
                expected: dst.len() as u64,
                got: src.len(),
            });
        }
        dst.copy_from_slice(src);
        Ok(())
    }

    /// Plan and write the payload in one step (a fresh zeroed buffer at
    /// DSP address `payload_addr`).
    pub fn pack(&self, payload_addr: u64) -> Result<(Plan, Vec<u8>), ProtoError> {
        let plan = self.plan()?;
        let mut buf = alloc::vec![0u8; plan.pkt_size() as usize];
        plan.write(&mut buf, payload_addr, |i, d| self.fill(i, d))?;
        Ok((plan, buf))
    }

    /// The output buffers after the DSP answered, indexed by argument (empty
    /// vectors for inputs).
    pub fn outputs(plan: &Plan, payload: &[u8]) -> Result<Vec<Vec<u8>>, ProtoError> {
        let mut outs = alloc::vec![Vec::new(); plan.args().len()];
        plan.unpack(payload, |i, b| {
            outs[i] = b.to_vec();
            Ok(())
        })?;
        Ok(outs)
    }

    // ---- kernel-originated calls on handle 1 (client id 0 in the message) ----

    /// INIT_ATTACH: attach the client to the root (or sensors) PD.
    pub fn init_attach(client_id: i32) -> Self {
        Call::new(handles::INIT, sc::INIT_ATTACH).input(client_id.to_le_bytes())
    }

    /// INIT_RELEASE: the client's process goes away.
    pub fn init_release(client_id: i32) -> Self {
        Call::new(handles::INIT, sc::INIT_RELEASE).input(client_id.to_le_bytes())
    }

    /// INIT_CREATE (attrs 0) or INIT_CREATE_ATTR: 4 inputs, as current
    /// kernels send (inbuf, NUL-terminated name, shell, init-memory page).
    pub fn init_create(p: &CreateProcess<'_>) -> Self {
        let filelen = match &p.shell {
            ShellArg::None => 0,
            ShellArg::Inline(b) => b.len() as u32,
            ShellArg::DmaBuf { len, .. } => *len as u32,
        };
        let inbuf = CreateProcessInbuf {
            client_id: p.client_id,
            namelen: p.name.len() as u32 + 1,
            filelen,
            pageslen: 1,
            attrs: p.attrs,
            siglen: p.siglen,
        };
        let sc = if p.attrs != 0 {
            sc::INIT_CREATE_ATTR
        } else {
            sc::INIT_CREATE
        };
        let mut name = p.name.to_vec();
        name.push(0);
        let c = Call::new(handles::INIT, sc).body(&inbuf).input(name);
        let c = match &p.shell {
            ShellArg::None => {
                let ptr = c.next_ptr();
                c.arg(ArgDesc::Inline { ptr, len: 0 }, Vec::new())
            }
            ShellArg::Inline(b) => c.input(b.clone()),
            &ShellArg::DmaBuf {
                ptr,
                len,
                buf_addr,
                buf_size,
                offset,
            } => c.arg(
                ArgDesc::DmaBuf {
                    ptr,
                    len,
                    buf_addr,
                    buf_size,
                    offset,
                },
                Vec::new(),
            ),
        };
        c.body(&p.init_mem)
    }

    /// INIT_CREATE_STATIC: attach to / create a static PD by name.
    pub fn init_create_static(client_id: i32, name: &[u8], heap: PhyPage) -> Self {
        let inbuf = CreateStaticInbuf {
            client_id,
            namelen: name.len() as u32,
            pageslen: 0,
        };
        Call::new(handles::INIT, sc::INIT_CREATE_STATIC)
            .body(&inbuf)
            .input(name)
            .body(&heap)
    }

    /// INIT_MMAP: map host pages into the process; output [`MmapRsp`].
    pub fn init_mmap(client_id: i32, flags: u32, vaddr: u64, page: PhyPage) -> Self {
        let req = MmapReq {
            client_id,
            flags,
            vaddr,
            num: PHY_PAGE_BYTES,
            pad: 0,
        };
        Call::new(handles::INIT, sc::INIT_MMAP).body(&req).body(&page).output(8)
    }

    /// INIT_MUNMAP.
    pub fn init_munmap(client_id: i32, vaddr: u64, size: u64) -> Self {
        Call::new(handles::INIT, sc::INIT_MUNMAP).body(&MunmapReq {
            client_id,
            pad: 0,
            vaddr,
            size,
        })
    }

    /// INIT_MEM_MAP: map a dma-buf; inputs request, page, an empty buffer;
    /// output [`MmapRsp`].
    pub fn init_mem_map(client_id: i32, fd: i32, offset: i32, flags: u32, vaddrin: u64, page: PhyPage) -> Self {
        let req = MemMapReq {
            client_id,
            fd,
            offset,
            flags,
            vaddrin,
            num: PHY_PAGE_BYTES,
            data_len: 0,
        };
        Call::new(handles::INIT, sc::INIT_MEM_MAP)
            .body(&req)
            .body(&page)
            .input(Vec::new())
            .output(8)
    }

    /// INIT_MEM_UNMAP.
    pub fn init_mem_unmap(client_id: i32, fd: i32, vaddrin: u64, len: u64) -> Self {
        Call::new(handles::INIT, sc::INIT_MEM_UNMAP).body(&MemUnmapReq {
            client_id,
            fd,
            vaddrin,
            len,
        })
    }

    /// The capability query on handle 2: in `u32 255`, out `u32[255]`
    /// (attributes 1..=255; attribute 0 is answered by the host).
    pub fn dsp_capability() -> Self {
        Call::new(handles::DSP_UTILITIES, sc::DSP_CAPABILITY)
            .input(DSP_ATTRIBUTES_QUERIED.to_le_bytes())
            .output(4 * DSP_ATTRIBUTES_QUERIED as u64)
    }

    // ---- calls a client library makes ----

    /// remotectl1 open1 (handle 8): `uri` without NUL; outputs
    /// [`RemotectlOpenOut`] and `dlerr_len` bytes of error text.
    pub fn remotectl_open1(uri: &[u8], dlerr_len: u32) -> Self {
        let mut name = uri.to_vec();
        name.push(0);
        let inp = RemotectlOpenIn {
            name_len: name.len() as u32,
            dlerr_len,
        };
        Call::new(handles::REMOTECTL1, sc::REMOTECTL1_OPEN1)
            .body(&inp)
            .input(name)
            .output(8)
            .output(dlerr_len as u64)
    }

    /// remotectl1 close1 (handle 8): outputs `u32 dlerr` and error text.
    pub fn remotectl_close1(handle: u32, dlerr_len: u32) -> Self {
        Call::new(handles::REMOTECTL1, sc::REMOTECTL1_CLOSE1)
            .body(&RemotectlCloseIn { handle, dlerr_len })
            .output(4)
            .output(dlerr_len as u64)
    }

    /// adsp_current_process1 exit (handle 4).
    pub fn current_process_exit() -> Self {
        Call::new(handles::CURRENT_PROCESS, sc::CURRENT_PROCESS_EXIT)
    }

    /// adsp_listener1 init2 (handle 7).
    pub fn listener_init2() -> Self {
        Call::new(handles::LISTENER1, sc::LISTENER1_INIT2)
    }

    /// adsp_listener1 next2 (handle 7): answer the previous request with
    /// `reply` (see [`crate::revbuf`]) and ask for the next one.
    pub fn listener_next2(prev_ctx: u32, prev_result: i32, reply: Vec<u8>, bufs_len: u32) -> Self {
        let inp = ListenerNext2In {
            prev_ctx,
            prev_result,
            prev_bufs_len: reply.len() as u32,
            bufs_len,
        };
        Call::new(handles::LISTENER1, sc::LISTENER1_NEXT2)
            .body(&inp)
            .input(reply)
            .output(16)
            .output(bufs_len as u64)
    }

    /// adsp_listener1 get_in_bufs2 (handle 7).
    pub fn listener_get_in_bufs2(ctx: u32, offset: u32, bufs_len: u32) -> Self {
        Call::new(handles::LISTENER1, sc::LISTENER1_GET_IN_BUFS2)
            .body(&ListenerGetInBufs2In { ctx, offset, bufs_len })
            .output(4)
            .output(bufs_len as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn body_layouts() {
        assert_eq!(size_of::<CreateProcessInbuf>(), 24);
        assert_eq!(offset_of!(CreateProcessInbuf, namelen), 4);
        assert_eq!(offset_of!(CreateProcessInbuf, filelen), 8);
        assert_eq!(offset_of!(CreateProcessInbuf, pageslen), 12);
        assert_eq!(offset_of!(CreateProcessInbuf, attrs), 16);
        assert_eq!(offset_of!(CreateProcessInbuf, siglen), 20);
        assert_eq!(size_of::<CreateStaticInbuf>(), 12);
        assert_eq!(offset_of!(CreateStaticInbuf, pageslen), 8);
        assert_eq!(size_of::<MmapReq>(), 24);
        assert_eq!(offset_of!(MmapReq, flags), 4);
        assert_eq!(offset_of!(MmapReq, vaddr), 8);
        assert_eq!(offset_of!(MmapReq, num), 16);
        assert_eq!(size_of::<MmapRsp>(), 8);
        assert_eq!(size_of::<MunmapReq>(), 24);
        assert_eq!(offset_of!(MunmapReq, vaddr), 8);
        assert_eq!(offset_of!(MunmapReq, size), 16);
        assert_eq!(size_of::<MemMapReq>(), 32);
        assert_eq!(offset_of!(MemMapReq, fd), 4);
        assert_eq!(offset_of!(MemMapReq, offset), 8);
        assert_eq!(offset_of!(MemMapReq, flags), 12);
        assert_eq!(offset_of!(MemMapReq, vaddrin), 16);
        assert_eq!(offset_of!(MemMapReq, num), 24);
        assert_eq!(offset_of!(MemMapReq, data_len), 28);
        assert_eq!(size_of::<MemUnmapReq>(), 24);
        assert_eq!(offset_of!(MemUnmapReq, fd), 4);
        assert_eq!(offset_of!(MemUnmapReq, vaddrin), 8);
        assert_eq!(offset_of!(MemUnmapReq, len), 16);
        assert_eq!(size_of::<RemotectlOpenIn>(), 8);
        assert_eq!(size_of::<RemotectlOpenOut>(), 8);
        assert_eq!(size_of::<RemotectlCloseIn>(), 8);
        assert_eq!(size_of::<ListenerNext2In>(), 16);
        assert_eq!(offset_of!(ListenerNext2In, prev_result), 4);
        assert_eq!(offset_of!(ListenerNext2In, bufs_len), 12);
        assert_eq!(size_of::<ListenerNext2Out>(), 16);
        assert_eq!(offset_of!(ListenerNext2Out, sc), 8);
        assert_eq!(size_of::<ListenerGetInBufs2In>(), 12);
    }

    #[test]
    fn calls_have_the_shape_their_scalars_announce() {
        let page = PhyPage {
            addr: 0x1_0000_2000,
            size: 0x20_0000,
        };
        let create = CreateProcess {
            client_id: 1,
            name: b"app",
            shell: ShellArg::None,
            init_mem: page,
            attrs: 8,
            siglen: 0,
        };
        let calls = [
            Call::init_attach(3),
            Call::init_release(3),
            Call::init_create(&create),
            Call::init_create_static(1, b"audiopd\0", page),
            Call::init_mmap(1, 0x1000, 0, page),
            Call::init_munmap(1, 0x4000_0000, 0x1000),
            Call::init_mem_map(1, 7, 0, 0, 0, page),
            Call::init_mem_unmap(1, 7, 0x4000_0000, 0x1000),
            Call::dsp_capability(),
            Call::remotectl_open1(
                b"file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0",
                DLERROR_LEN,
            ),
            Call::remotectl_close1(0x10, DLERROR_LEN),
            Call::current_process_exit(),
            Call::listener_init2(),
            Call::listener_next2(0, -1, Vec::new(), 0),
            Call::listener_get_in_bufs2(1, 0, 64),
        ];
        for c in &calls {
            assert_eq!(c.args.len(), c.sc.len(), "{:?}", c.sc);
            let (plan, payload) = c.pack(0x2_0000_0000).unwrap();
            let d = crate::decode(c.sc, &payload).unwrap();
            assert_eq!(d.args.len(), c.sc.len());
            assert!(plan.msg_size() % 4096 == 0);
        }
        assert_eq!(Call::init_create(&create).sc, sc::INIT_CREATE_ATTR);
        assert_eq!(
            Call::init_create(&CreateProcess { attrs: 0, ..create }).sc,
            sc::INIT_CREATE
        );
    }

    #[test]
    fn parse_body_checks_length() {
        let req = MemUnmapReq {
            client_id: 2,
            fd: 9,
            vaddrin: 0x1000,
            len: 0x2000,
        };
        assert_eq!(parse_body::<MemUnmapReq>("mem_unmap", req.as_bytes()).unwrap(), req);
        assert!(parse_body::<MemUnmapReq>("mem_unmap", &req.as_bytes()[..23]).is_err());
        assert!(parse_body::<MemUnmapReq>("mem_unmap", &[0; 25]).is_err());
    }
}

extern crate alloc;
extern crate std;

use alloc::vec::Vec;

use qda_uapi::ioctl::{IOC_READ, IOC_WRITE, ioc, ioc_dir, ioc_nr, ioc_size, iowr};
use qda_uapi::{fastrpc as uf, qda as uq};
use zerocopy::IntoBytes;

use super::*;

#[test]
fn every_description_is_unique_and_found_by_its_own_number() {
    for (i, d) in ALL.iter().enumerate() {
        for e in &ALL[i + 1..] {
            assert_ne!(d.name, e.name);
            let overlap = match (d.revisions, e.revisions) {
                (Revisions::Only(a), Revisions::Only(b)) => a == b,
                _ => true,
            };
            assert!(
                !(d.target == e.target && d.cmd == e.cmd && overlap),
                "{} and {} collide",
                d.name,
                e.name
            );
        }
        for rev in [Revision::May2026, Revision::Rfc2026Feb] {
            if d.exists_in(rev) {
                let found = lookup(d.target, rev, d.cmd).unwrap_or_else(|m| panic!("{}: {m:?}", d.name));
                assert_eq!(found.name, d.name);
            }
        }
    }
}

#[test]
fn numbers_encode_the_argument_struct() {
    for d in ALL {
        match d.name {
            // The argument is the name's address; the number encodes a pointer.
            "DMA_BUF_SET_NAME_A" => assert_eq!(ioc_size(d.cmd), 4),
            "DMA_BUF_SET_NAME_B" => assert_eq!(ioc_size(d.cmd), 8),
            _ => assert_eq!(ioc_size(d.cmd), d.arg_size, "{}", d.name),
        }
    }
}

#[test]
fn only_calls_that_message_the_dsp_block() {
    let blocking: Vec<&str> = ALL.iter().filter(|d| d.blocks).map(|d| d.name).collect();
    assert_eq!(
        blocking,
        [
            "DRM_IOCTL_QDA_INIT_ATTACH (RFC)",
            "DRM_IOCTL_QDA_REMOTE_SESSION_CREATE",
            "DRM_IOCTL_QDA_REMOTE_MAP",
            "DRM_IOCTL_QDA_REMOTE_MUNMAP",
            "DRM_IOCTL_QDA_REMOTE_INVOKE",
            "FASTRPC_IOCTL_INVOKE",
            "FASTRPC_IOCTL_INIT_ATTACH",
            "FASTRPC_IOCTL_INIT_CREATE",
            "FASTRPC_IOCTL_MMAP",
            "FASTRPC_IOCTL_MUNMAP",
            "FASTRPC_IOCTL_INIT_ATTACH_SNS",
            "FASTRPC_IOCTL_INIT_CREATE_STATIC",
            "FASTRPC_IOCTL_MEM_MAP",
            "FASTRPC_IOCTL_MEM_UNMAP",
            "FASTRPC_IOCTL_GET_DSP_INFO",
        ]
    );
}

#[test]
fn drm_numbers_are_found_by_nr_and_refused_as_drm_ioctl_refuses() {
    let may = Revision::May2026;
    // A caller's smaller or larger struct still reaches the handler.
    let small = ioc(IOC_READ | IOC_WRITE, b'd', 0x47, 8);
    assert_eq!(
        lookup(Target::Accel, may, small).unwrap().name,
        "DRM_IOCTL_QDA_REMOTE_INVOKE"
    );
    assert_eq!(
        lookup(Target::Accel, may, iowr(b'x', 0x47, 16)).err(),
        Some(Miss::NotThisNode)
    );
    assert_eq!(
        lookup(Target::Accel, may, uq::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH).err(),
        Some(Miss::EmptySlot(0x43))
    );
    assert_eq!(
        lookup(
            Target::Accel,
            Revision::Rfc2026Feb,
            uq::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH
        )
        .unwrap()
        .name,
        "DRM_IOCTL_QDA_INIT_ATTACH (RFC)"
    );
    assert_eq!(
        lookup(Target::Accel, may, iowr(b'd', 0x48, 8)).err(),
        Some(Miss::PastDriverTable(8))
    );
    assert_eq!(
        lookup(Target::Accel, may, iowr(b'd', 0xd1, 8)).err(),
        Some(Miss::PastCoreTable(0xd1))
    );
    assert_eq!(
        lookup(Target::Accel, may, iowr(b'd', 0x01, 8)).err(),
        Some(Miss::CoreNotModelled(0x01))
    );
    // The RFC layout of GEM_CREATE is chosen by revision, not by number.
    assert_eq!(
        lookup(Target::Accel, Revision::Rfc2026Feb, uq::DRM_IOCTL_QDA_GEM_CREATE)
            .unwrap()
            .name,
        "DRM_IOCTL_QDA_GEM_CREATE (RFC)"
    );
}

#[test]
fn heap_numbers_are_found_by_nr_alone_and_misc_numbers_exactly() {
    let may = Revision::May2026;
    assert_eq!(
        lookup(Target::DmaHeap, may, iowr(b'?', 0, 4)).unwrap().name,
        "DMA_HEAP_IOCTL_ALLOC"
    );
    assert_eq!(
        lookup(Target::DmaHeap, may, iowr(b'H', 1, 24)).err(),
        Some(Miss::NoSuchHeapIoctl(1))
    );
    let near = uf::FASTRPC_IOCTL_INVOKE ^ (1 << 16);
    assert_eq!(lookup(Target::Fastrpc, may, near).err(), Some(Miss::NotThisNode));
    assert_eq!(
        lookup(Target::Udmabuf, may, uf::FASTRPC_IOCTL_INVOKE).err(),
        Some(Miss::NotThisNode)
    );
    assert_eq!(ioc_nr(desc_of::<FastrpcIoctlInvoke>().cmd), 3);
    assert_eq!(ioc_dir(desc_of::<DmaHeapIoctlAlloc>().cmd), IOC_READ | IOC_WRITE);
    assert_eq!(ioc_dir(desc_of::<UdmabufIoctlCreate>().cmd), IOC_WRITE);
}

/// A caller whose memory is a list of (address, bytes).
struct Fake<'a> {
    mem: &'a [(u64, &'a [u8])],
    seen: Vec<Reach>,
}

impl Visit for Fake<'_> {
    fn peek(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        for (base, bytes) in self.mem {
            if addr >= *base && addr + buf.len() as u64 <= base + bytes.len() as u64 {
                let at = (addr - base) as usize;
                buf.copy_from_slice(&bytes[at..at + buf.len()]);
                return true;
            }
        }
        false
    }
    fn reach(&mut self, r: Reach) {
        self.seen.push(r);
    }
}

fn invoke_args(fds: [i32; 3]) -> [uf::FastrpcInvokeArgs; 3] {
    let a = |ptr, length, fd| uf::FastrpcInvokeArgs {
        ptr,
        length,
        fd,
        attr: 0,
    };
    [a(0x1000, 12, fds[0]), a(0x2000, 64, fds[1]), a(0x3000, 8, fds[2])]
}

#[test]
fn an_invoke_reaches_its_array_inline_buffers_and_dmabufs() {
    let args = invoke_args([-1, 7, 0]);
    let mem = [(0x9000, args.as_bytes())];
    let inv = uq::DrmQdaInvokeArgs {
        handle: 0x10,
        sc: qda_proto::Scalars::make(2, 2, 1).0,
        args: 0x9000,
    };
    let mut v = Fake {
        mem: &mem,
        seen: Vec::new(),
    };
    desc_of::<DrmIoctlQdaRemoteInvoke>().walk(0x100, inv.as_bytes(), Revision::May2026, &mut v);
    assert_eq!(
        v.seen,
        [
            Reach::In { addr: 0x9000, len: 72 },
            Reach::In { addr: 0x1000, len: 12 },
            Reach::Fd(7),
            Reach::Vma(0x2000),
            Reach::Out { addr: 0x3000, len: 8 },
        ]
    );
    // The RFC passes GEM handles: nothing is an fd.
    let mut v = Fake {
        mem: &mem,
        seen: Vec::new(),
    };
    desc_of::<DrmIoctlQdaRemoteInvoke>().walk(0x100, inv.as_bytes(), Revision::Rfc2026Feb, &mut v);
    assert!(!v.seen.contains(&Reach::Fd(7)));
    // ... but the driver finds the pointer's offset in the GEM object from
    // the mapping it lies in, so a daemon's client must send that mapping
    // (issue 12, G4: failed through qdad with EFAULT without it).
    assert!(v.seen.contains(&Reach::Vma(0x2000)), "{:?}", v.seen);
    // The legacy rule: -1 and 0 are inline, anything else an fd.
    let args = invoke_args([-2, -1, 0]);
    let mem = [(0x9000, args.as_bytes())];
    let inv = uf::FastrpcInvoke {
        handle: 0x10,
        sc: inv.sc,
        args: 0x9000,
    };
    let mut v = Fake {
        mem: &mem,
        seen: Vec::new(),
    };
    desc_of::<FastrpcIoctlInvoke>().walk(0x100, inv.as_bytes(), Revision::May2026, &mut v);
    assert_eq!(v.seen[1..3], [Reach::Fd(-2), Reach::Vma(0x1000)]);
}

#[test]
fn a_walk_stops_where_the_driver_would_fault() {
    let inv = uq::DrmQdaInvokeArgs {
        handle: 0x10,
        sc: qda_proto::Scalars::make(2, 2, 1).0,
        args: 0x9000,
    };
    let mut v = Fake {
        mem: &[],
        seen: Vec::new(),
    };
    desc_of::<DrmIoctlQdaRemoteInvoke>().walk(0x100, inv.as_bytes(), Revision::May2026, &mut v);
    assert_eq!(v.seen, [Reach::In { addr: 0x9000, len: 72 }]);
    // A short struct is zero-extended: no arguments, nothing reached.
    let mut v = Fake {
        mem: &[],
        seen: Vec::new(),
    };
    desc_of::<DrmIoctlQdaRemoteInvoke>().walk(0x100, &[0u8; 4], Revision::May2026, &mut v);
    assert_eq!(v.seen, [Reach::In { addr: 0, len: 0 }]);
}

#[test]
fn device_paths_name_their_kind() {
    assert_eq!(Target::of_path("/dev/accel/accel0"), Some(Target::Accel));
    assert_eq!(Target::of_path("/dev/fastrpc-cdsp-secure"), Some(Target::Fastrpc));
    assert_eq!(Target::of_path("/dev/dma_heap/system"), Some(Target::DmaHeap));
    assert_eq!(Target::of_path("/dev/udmabuf"), Some(Target::Udmabuf));
    assert_eq!(Target::of_path("/etc/passwd"), None);
}

#[test]
fn index_of_finds_elements_of_all_and_nothing_else() {
    for (i, d) in ALL.iter().enumerate() {
        assert_eq!(index_of(d), Some(i));
    }
    let copy = ALL[3];
    assert_eq!(index_of(&copy), None, "a copy is not an element of ALL");
}

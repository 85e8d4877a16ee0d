use super::events::client_pid;
use super::ioctl::parse_ioctl;
use super::*;
use qda_ioctl::{Revision, Target};

fn msg(body: Vec<u8>) -> Message {
    Message {
        hdr: Header::default(),
        body,
        fds: Vec::new(),
    }
}

#[test]
fn random_and_mutated_ioctl_bodies_are_refused_without_panicking() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // A valid request to mutate: one IN segment of 8 bytes.
    let req = IoctlReq {
        cmd: 0xc010_6441,
        nsegs: 1,
        arg: 0x1000,
        ..Default::default()
    };
    let seg = Seg {
        addr: 0x1000,
        len: 8,
        flags: SEG_IN,
    };
    let mut good = req.as_bytes().to_vec();
    good.extend_from_slice(seg.as_bytes());
    good.extend_from_slice(&[7u8; 8]);
    assert!(parse_ioctl(msg(good.clone())).is_ok());
    // The same naming a cached fd (the fd cache's part of a request, which
    // the ring's requests use too); mutations of both are fuzzed below.
    let mut cached = IoctlReq { ncached: 1, ..req }.as_bytes().to_vec();
    cached.extend_from_slice(
        CachedFd {
            num: 5,
            pad: 0,
            dev: 1,
            ino: 2,
        }
        .as_bytes(),
    );
    cached.extend_from_slice(seg.as_bytes());
    cached.extend_from_slice(&[7u8; 8]);
    assert_eq!(
        parse_ioctl(msg(cached.clone())).err().map(|r| r.status),
        Some(-libc::EINVAL),
        "no fd cache on this connection"
    );
    // `QDA_FUZZ_CASES=n` for a long run; the xorshift stream goes on, so
    // every case is a new one.
    for i in 0..qda_test::fuzz_cases(4000) {
        let body = if i % 2 == 0 {
            let n = (next() % 200) as usize;
            (0..n).map(|_| next() as u8).collect()
        } else {
            let mut b = if i % 4 == 1 { good.clone() } else { cached.clone() };
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            b.truncate(b.len() - (next() % 3) as usize);
            b
        };
        if let Err(r) = parse_ioctl(msg(body)) {
            assert!((-4095..0).contains(&r.status), "a refusal is an errno: {}", r.status);
        }
    }
}

#[test]
fn limits_are_enforced_before_allocating() {
    // 4096 OUT segments of 4 GiB - 1 each would be 16 TiB: refused.
    let req = IoctlReq {
        nsegs: 4096,
        ..Default::default()
    };
    let mut b = req.as_bytes().to_vec();
    for _ in 0..4096 {
        b.extend_from_slice(
            Seg {
                addr: 0,
                len: u32::MAX,
                flags: SEG_OUT,
            }
            .as_bytes(),
        );
    }
    let Err(r) = parse_ioctl(msg(b)) else {
        panic!("accepted")
    };
    assert_eq!(r.status, -libc::EINVAL);
    // An fd count that does not match the fds attached.
    let req = IoctlReq {
        nfds: 2,
        ..Default::default()
    };
    let Err(r) = parse_ioctl(msg(req.as_bytes().to_vec())) else {
        panic!("accepted")
    };
    assert_eq!(r.status, -libc::EINVAL);
}

/// Whether a call may wait on a DSP (so it runs off the reader thread),
/// as the server decides it: from the ioctl's description.
fn may_wait_for_dsp(node: Target, rev: Revision, cmd: u32) -> bool {
    qda_ioctl::lookup(node, rev, cmd).is_ok_and(|d| d.blocks)
}

#[test]
fn which_calls_may_wait_for_a_dsp() {
    use qda_uapi::{dma_heap, drm, fastrpc, qda};
    let may = Revision::May2026;
    assert!(may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_REMOTE_INVOKE));
    assert!(may_wait_for_dsp(
        Target::Accel,
        may,
        qda::DRM_IOCTL_QDA_REMOTE_SESSION_CREATE
    ));
    assert!(may_wait_for_dsp(Target::Fastrpc, may, fastrpc::FASTRPC_IOCTL_INVOKE));
    assert!(!may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_GEM_CREATE));
    assert!(!may_wait_for_dsp(Target::Accel, may, qda::DRM_IOCTL_QDA_QUERY));
    assert!(!may_wait_for_dsp(Target::Accel, may, drm::DRM_IOCTL_PRIME_FD_TO_HANDLE));
    assert!(!may_wait_for_dsp(
        Target::Fastrpc,
        may,
        fastrpc::FASTRPC_IOCTL_ALLOC_DMA_BUFF
    ));
    assert!(!may_wait_for_dsp(Target::DmaHeap, may, dma_heap::DMA_HEAP_IOCTL_ALLOC));
    // A number the file's node does not serve never blocks the reader.
    assert!(!may_wait_for_dsp(
        Target::Udmabuf,
        may,
        qda::DRM_IOCTL_QDA_REMOTE_INVOKE
    ));
}

#[test]
fn fd_placeholders_mean_the_same_on_both_sides() {
    assert_eq!(
        qdad_client::wire::FD_PLACEHOLDER_BASE,
        qda_driver::usermem::FD_PLACEHOLDER_BASE
    );
}

#[test]
fn a_peer_in_another_pid_namespace_gets_a_pid_of_its_own() {
    assert_eq!(client_pid(1234, 7), 1234);
    let a = client_pid(0, 7);
    let b = client_pid(0, 8);
    assert_ne!(a, b, "two invisible peers are told apart");
    // Above any pid the kernel hands out (pid_max is at most 2^22), never 0.
    assert!(a > 1 << 22 && b > 1 << 22);
}

/// A call's fds are the ones its client attached or named from the cache,
/// under the client's numbers: a named one is the cache's own description
/// (shared, not a copy), and any other number is `EBADF`, even one that
/// is open in the daemon.
#[test]
fn a_call_reaches_only_its_clients_fds() {
    use super::ioctl::CallMemory;
    let attached = qda_os::memfd("a", 4096).unwrap();
    let cached = Arc::new(qda_os::memfd("c", 4096).unwrap());
    let daemons_own = qda_os::memfd("d", 4096).unwrap();
    let mut fds = HashMap::new();
    // Client numbers no fd of this process has.
    fds.insert(9005, attached.try_clone().unwrap());
    let mem = CallMemory::new(
        SegmentMemory::new(Vec::new()).with_fds(fds),
        vec![(9007, cached.clone())],
    );
    let id = |fd: std::os::fd::BorrowedFd<'_>| qda_os::file_id(fd).unwrap();
    assert_eq!(id(mem.fd(9005).unwrap()), id(attached.as_fd()));
    assert_eq!(
        std::os::fd::AsRawFd::as_raw_fd(&mem.fd(9007).unwrap()),
        std::os::fd::AsRawFd::as_raw_fd(&*cached)
    );
    use std::os::fd::AsRawFd;
    for n in [0, 1, 2, daemons_own.as_raw_fd(), cached.as_raw_fd(), -1] {
        assert_eq!(mem.fd(n).unwrap_err().errno, qda_driver::Errno::EBADF, "fd {n}");
    }
}

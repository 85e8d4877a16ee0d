//! Random structs into the raw ioctl entry of every node kind: whatever the
//! bytes, the driver answers an errno or succeeds, never panics, and leaves
//! nothing behind once the files close (issue 10, "Safe to share").
//!
//! Pointers in the structs point into a guarded arena (PROT_NONE pages
//! around a read/write window) or at addresses that are never mapped (page
//! 0, non-canonical, the top of memory), so a wild pointer is `EFAULT` and
//! never this process's own memory. The same bytes go through a
//! `SegmentMemory` with forged VMAs, as qdad would hand them over.
//!
//! `QDA_FUZZ_CASES=n` runs more cases than the suite's bounded default.
#![allow(unsafe_code)] // the arena's mmap/mprotect: this test plays userspace

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use qda_driver::fastrpc::Transport;
use qda_driver::sys::MapInfo;
use qda_driver::usermem::UserMemory;
use qda_driver::{Errno, File, SegmentMemory};
use qda_ioctl::Target;
use qda_proto::FastrpcMsg;
use qda_test::*;

const PAGE: usize = 4096;
/// Read/write pages of the arena, with one PROT_NONE page on each side.
const WINDOW_PAGES: usize = 4;

/// A read/write window with inaccessible pages around it.
struct Arena {
    base: *mut u8,
}

// SAFETY: the arena is plain memory owned by this value; the test only
// reaches it through process_vm_readv/writev (the driver's user copies) and
// raw copies while no other reference exists.
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

impl Arena {
    fn new() -> Arena {
        let total = (WINDOW_PAGES + 2) * PAGE;
        // SAFETY: a fresh private anonymous mapping the kernel places; no Rust
        // object refers to it.
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                total,
                rustix::mm::ProtFlags::empty(),
                rustix::mm::MapFlags::PRIVATE,
            )
        }
        .expect("arena reservation");
        let window = p.cast::<u8>().wrapping_add(PAGE);
        // SAFETY: the window lies inside the reservation made above.
        unsafe {
            rustix::mm::mprotect(
                window.cast(),
                WINDOW_PAGES * PAGE,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::WRITE,
            )
        }
        .expect("arena window");
        Arena { base: window }
    }
    fn addr(&self) -> u64 {
        self.base as u64
    }
    fn fill(&self, bytes: &[u8]) {
        assert!(bytes.len() <= WINDOW_PAGES * PAGE);
        // SAFETY: the window is WINDOW_PAGES read/write pages we own; no
        // reference to it exists while the copy runs.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base, bytes.len()) };
    }
    fn bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; WINDOW_PAGES * PAGE];
        // SAFETY: as in `fill`.
        unsafe { std::ptr::copy_nonoverlapping(self.base, v.as_mut_ptr(), v.len()) };
        v
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: the whole reservation, made in `new`; nothing refers to it now.
        let _ = unsafe { rustix::mm::munmap(self.base.wrapping_sub(PAGE).cast(), (WINDOW_PAGES + 2) * PAGE) };
    }
}

/// This process's memory, keeping the fds the driver installs so each case
/// closes them.
struct Local {
    installed: Mutex<Vec<OwnedFd>>,
}

impl UserMemory for Local {
    fn read(&self, addr: u64, dst: &mut [u8]) -> qda_driver::Result<()> {
        qda_driver::sys::copy_from_self(addr, dst)
    }
    fn write(&self, addr: u64, src: &[u8]) -> qda_driver::Result<()> {
        qda_driver::sys::copy_to_self(addr, src)
    }
    fn fd(&self, n: i32) -> qda_driver::Result<BorrowedFd<'_>> {
        qda_driver::sys::borrow_raw(n)
    }
    fn install_fd(&self, fd: OwnedFd) -> qda_driver::Result<i32> {
        let n = fd.as_raw_fd();
        self.installed.lock().unwrap().push(fd);
        Ok(n)
    }
}

#[derive(Debug)]
struct Unreachable;
impl Transport for Unreachable {
    fn send(&self, _: &FastrpcMsg) -> qda_driver::Result<()> {
        Err(qda_driver::OsError::new(Errno::EPIPE, "no DSP in the fuzz"))
    }
}

/// A value a struct field may hold: mostly the ones that matter.
#[derive(Debug, Clone)]
enum Slot {
    Raw(u64),
    Small(u8),
    /// The arena window plus an offset (may land in a guard page).
    Arena(i32),
    /// Never mapped: page 0, non-canonical, the top of memory.
    Wild(u64),
    /// One of the case's fds (a dma-buf, a sealed memfd, the accel file's
    /// dma-buf export), -1, 0, or a number that is not open.
    Fd(u8),
    Pages(u8),
    NearMax(u16),
    /// A small value (an fd selector, as [`Slot::Fd`]) in the low half and
    /// a scalars word (method, in/out buffers, handles) in the high half:
    /// `{handle, sc}` of an invoke, `{fd, attr}` of an argument.
    Call(u8, u8, u8, u8, u8),
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        2 => any::<u64>().prop_map(Slot::Raw),
        3 => any::<u8>().prop_map(Slot::Small),
        2 => Just(Slot::Small(0)),
        // Mostly into the bytes the case wrote, sometimes anywhere around.
        4 => (0..768i32).prop_map(Slot::Arena),
        1 => (-(PAGE as i32)..((WINDOW_PAGES + 1) * PAGE) as i32).prop_map(Slot::Arena),
        1 => prop_oneof![Just(0u64), Just(0x10), Just(0x8000_0000_0000), Just(0xffff_8000_0000_0000), Just(u64::MAX - 7)]
            .prop_map(Slot::Wild),
        3 => any::<u8>().prop_map(Slot::Fd),
        2 => any::<u8>().prop_map(Slot::Pages),
        2 => any::<u16>().prop_map(Slot::NearMax),
        2 => (any::<u8>(), 0u8..4, 0u8..4, 0u8..3, any::<u8>()).prop_map(|(m, i, o, h, fd)| Slot::Call(m, i, o, h, fd)),
    ]
}

struct Fds {
    numbers: Vec<i32>,
}

impl Slot {
    fn value(&self, arena: u64, fds: &Fds) -> u64 {
        match *self {
            Slot::Raw(v) => v,
            Slot::Small(v) => v as u64,
            Slot::Arena(off) => arena.wrapping_add_signed(off as i64),
            Slot::Wild(v) => v,
            Slot::Fd(i) => match i as usize % (fds.numbers.len() + 3) {
                k if k < fds.numbers.len() => fds.numbers[k] as u32 as u64,
                k if k == fds.numbers.len() => u32::MAX as u64, // -1 in an i32 field
                k if k == fds.numbers.len() + 1 => 0,
                _ => 1_000_000,
            },
            Slot::Pages(n) => (n as u64) * PAGE as u64,
            Slot::NearMax(d) => u64::MAX - d as u64,
            Slot::Call(m, i, o, h, fd) => {
                let sc = qda_proto::Scalars::makex(0, m % 32, i, o, h, h / 2).0 as u64;
                (sc << 32) | (Slot::Fd(fd).value(arena, fds) & 0xffff_ffff)
            }
        }
    }
}

/// Which node, which description, which memory, which bytes.
#[derive(Debug, Clone)]
struct Case {
    ioctl: prop::sample::Index,
    node: prop::sample::Index,
    /// Struct slots (8 bytes each, little-endian), then arena slots.
    slots: Vec<Slot>,
    /// Byte edits over the struct.
    flips: Vec<(prop::sample::Index, u8)>,
    through_daemon: bool,
    /// A forged VMA for the daemon path: start slot, length, file offset.
    vma: (Slot, u64, Slot),
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        proptest::collection::vec(slot(), 1..96),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<bool>(),
        (slot(), any::<u64>(), slot()),
    )
        .prop_map(|(ioctl, node, slots, flips, through_daemon, vma)| Case {
            ioctl,
            node,
            slots,
            flips,
            through_daemon,
            vma,
        })
}

fn memfd(size: u64) -> OwnedFd {
    let fd = rustix::fs::memfd_create(
        "fuzz",
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
    )
    .unwrap();
    rustix::fs::ftruncate(&fd, size).unwrap();
    rustix::fs::fcntl_add_seals(&fd, rustix::fs::SealFlags::SHRINK).unwrap();
    fd
}

fn run(c: &Case, arena: &Arena) {
    let drv = driver();
    for x in drv.domains() {
        drv.attach_dsp(x.label(), Arc::new(Unreachable)).unwrap();
    }
    let d = qda_ioctl::ALL[c.ioctl.index(qda_ioctl::ALL.len())];
    let heap = open(&drv, "/dev/dma_heap/system");
    let dmabuf = heap.heap_alloc(2 * PAGE as u64, 0, 2, 0).unwrap();
    let acc = accel(&drv, "cdsp");
    let gem = acc.gem_create(2 * PAGE as u64).unwrap();
    let exported = acc.prime_handle_to_fd(gem, 2).unwrap();
    let sealed = memfd(4 * PAGE as u64);
    let fds = Fds {
        numbers: vec![dmabuf.as_raw_fd(), exported.as_raw_fd(), sealed.as_raw_fd()],
    };

    let nodes: Vec<String> = match d.target {
        Target::Accel => drv
            .domains()
            .iter()
            .map(|x| format!("/dev/accel/accel{}", x.minor))
            .collect(),
        Target::Fastrpc => drv
            .nodes()
            .iter()
            .map(|n| n.path.clone())
            .filter(|p| p.starts_with("/dev/fastrpc-"))
            .collect(),
        Target::DmaHeap => drv
            .heaps()
            .iter()
            .map(|h| format!("/dev/dma_heap/{}", h.name))
            .collect(),
        Target::Udmabuf => vec!["/dev/udmabuf".into()],
        Target::DmaBuf => vec![],
    };

    // The struct at the start of the window, the rest of the window after it.
    let mut bytes: Vec<u8> = c
        .slots
        .iter()
        .flat_map(|s| s.value(arena.addr(), &fds).to_le_bytes())
        .collect();
    let n = bytes.len();
    for (i, b) in &c.flips {
        bytes[i.index(n)] ^= b;
    }
    arena.fill(&bytes);
    let arg = arena.addr();

    let local = Local {
        installed: Mutex::new(Vec::new()),
    };
    let seg = if c.through_daemon {
        let client_fds: HashMap<i32, OwnedFd> = fds
            .numbers
            .iter()
            .map(|&n| (n, qda_driver::sys::borrow_raw(n).unwrap().try_clone_to_owned().unwrap()))
            .collect();
        let st = rustix::fs::fstat(&exported).unwrap();
        let vma = MapInfo {
            start: c.vma.0.value(arena.addr(), &fds),
            len: c.vma.1,
            dev: st.st_dev,
            ino: st.st_ino,
            file_offset: c.vma.2.value(arena.addr(), &fds),
        };
        Some(
            SegmentMemory::new(vec![(arena.addr(), arena.bytes())])
                .with_fds(client_fds)
                .with_vmas(vec![vma]),
        )
    } else {
        None
    };
    let um: &dyn UserMemory = match &seg {
        Some(s) => s,
        None => &local,
    };

    let r = if d.target == Target::DmaBuf {
        let fd = fds.numbers[c.node.index(fds.numbers.len())];
        drv.dmabuf_ioctl(fd, d.cmd, arg, um)
    } else {
        let path = &nodes[c.node.index(nodes.len())];
        let f: File = match drv.open(path, me()) {
            Ok(f) => f,
            Err(e) => {
                assert!(e.errno.0 > 0, "{path}: {e}");
                if std::env::var_os("QDA_FUZZ_TRACE").is_some() {
                    eprintln!("FUZZ open {path} {:?}", e.errno);
                }
                return;
            }
        };
        f.ioctl(d.cmd, arg, um)
    };
    if std::env::var_os("QDA_FUZZ_TRACE").is_some() {
        eprintln!("FUZZ {} {:?}", d.name, r.as_ref().map_err(|e| e.errno));
    }
    if let Err(e) = r {
        assert!(e.errno.0 > 0 && e.errno.0 < 4096, "{}: errno {:?}", d.name, e.errno);
    }
    if let Some(s) = &seg {
        drop(s.take_installed());
    }
    drop(local);
    drop((heap, acc, dmabuf, exported, sealed));
    drv.settle();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: fuzz_cases(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every described ioctl, on every node of its kind, with structs of
    /// interesting values: an errno or success, never a panic, nothing
    /// leaked (the driver is checked clean when the case ends).
    #[test]
    fn random_structs_into_every_node_never_panic(c in case()) {
        let arena = Arena::new();
        run(&c, &arena);
    }
}

/// The arena is guarded: a pointer into the pages around the window faults.
#[test]
fn the_arena_is_guarded() {
    let a = Arena::new();
    let mut b = [0u8; 8];
    assert!(qda_driver::sys::copy_from_self(a.addr(), &mut b).is_ok());
    for at in [a.addr() - 1, a.addr() + (WINDOW_PAGES * PAGE) as u64] {
        assert_eq!(
            qda_driver::sys::copy_from_self(at, &mut b).unwrap_err().errno,
            Errno::EFAULT
        );
    }
}

//! The QDA accel UAPI through the raw entry: QUERY, VERSION, GET_CAP,
//! GEM_CREATE / MMAP_OFFSET / CLOSE, table edges, CB assignment, unplug.

use std::os::fd::AsFd;

use qda_driver::{Creds, DriverConfig, Errno, LocalMemory, Platform};
use qda_test::*;
use qda_uapi::drm::*;
use qda_uapi::ioctl::{ior, iowr};
use qda_uapi::qda::*;

#[test]
fn query_names_every_domain() {
    let drv = driver();
    for d in drv.domains() {
        let f = accel(&drv, d.label());
        let mut q = DrmQdaQuery::default();
        assert_eq!(ioctl(&f, DRM_IOCTL_QDA_QUERY, &mut q), Ok(0));
        let n = q.dsp_name.iter().position(|b| *b == 0).unwrap();
        assert_eq!(&q.dsp_name[..n], d.label().as_bytes());
    }
}

#[test]
fn version_two_call_protocol() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let mut v = DrmVersion::default();
    assert_eq!(ioctl(&f, DRM_IOCTL_VERSION, &mut v), Ok(0));
    assert_eq!(
        (v.name_len, v.date_len, v.desc_len),
        (3, 1, 31),
        "lengths are always written"
    );
    // Second call with buffers; a short name buffer is truncated silently, no NUL.
    let (mut name, mut desc) = ([b'#'; 2], [0u8; 64]);
    v.name = name.as_mut_ptr() as u64;
    v.name_len = 2;
    v.desc = desc.as_mut_ptr() as u64;
    assert_eq!(ioctl(&f, DRM_IOCTL_VERSION, &mut v), Ok(0));
    assert_eq!(&name, b"qd");
    assert_eq!(v.name_len, 3);
    assert_eq!(&desc[..31], b"Qualcomm DSP Accelerator Driver");
    assert_eq!(desc[31], 0);
    // A bad name pointer is EFAULT.
    v.name = 8;
    v.name_len = 3;
    assert_eq!(ioctl(&f, DRM_IOCTL_VERSION, &mut v), Err(Errno::EFAULT));
}

#[test]
fn get_cap_answers_prime_and_refuses_kms_caps() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let mut c = DrmGetCap {
        capability: DRM_CAP_PRIME,
        value: 99,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_GET_CAP, &mut c), Ok(0));
    assert_eq!(c.value, DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT);
    let mut c = DrmGetCap {
        capability: 0x1, /* DUMB_BUFFER */
        value: 99,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_GET_CAP, &mut c), Err(Errno::EOPNOTSUPP));
    assert_eq!(c.value, 0, "value is cleared before the check and copied out");
}

#[test]
fn gem_create_validation() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let mut g = DrmQdaGemCreate {
        size: 0,
        handle: 0,
        pad: 0,
    };
    assert_eq!(
        ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g),
        Err(Errno::EINVAL),
        "size 0"
    );
    let mut g = DrmQdaGemCreate {
        size: 4096,
        handle: 0,
        pad: 1,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g), Err(Errno::EINVAL), "pad");
    let mut g = DrmQdaGemCreate {
        size: u64::MAX - 10,
        handle: 0,
        pad: 0,
    };
    assert_eq!(
        ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g),
        Err(Errno::EINVAL),
        "overflow"
    );
    assert_eq!(
        f.ioctl(DRM_IOCTL_QDA_GEM_CREATE, 0x10, &LocalMemory).unwrap_err().errno,
        Errno::EFAULT
    );
    let mut g = DrmQdaGemCreate {
        size: 1,
        handle: 0,
        pad: 0,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g), Ok(0));
    assert_eq!(g.handle, 1, "handles start at 1");
    assert_eq!(f.gem_object(1).unwrap().size(), 4096, "page-rounded");
}

#[test]
fn handles_are_lowest_free_from_one() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let hs: Vec<u32> = (0..3).map(|_| f.gem_create(4096).unwrap()).collect();
    assert_eq!(hs, [1, 2, 3]);
    f.gem_close(2).unwrap();
    assert_eq!(f.gem_create(4096).unwrap(), 2);
    let mut c = DrmGemClose { handle: 9, pad: 0 };
    assert_eq!(
        ioctl(&f, DRM_IOCTL_GEM_CLOSE, &mut c),
        Err(Errno::EINVAL),
        "unknown handle"
    );
    let mut c = DrmGemClose { handle: 3, pad: 77 };
    assert_eq!(
        ioctl(&f, DRM_IOCTL_GEM_CLOSE, &mut c),
        Ok(0),
        "pad is not checked by the core"
    );
}

#[test]
fn mmap_offset_maps_the_same_pages() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let mut g = DrmQdaGemCreate {
        size: 8192,
        handle: 0,
        pad: 0,
    };
    ioctl(&f, DRM_IOCTL_QDA_GEM_CREATE, &mut g).unwrap();
    let mut o = DrmQdaGemMmapOffset {
        offset: 0,
        handle: g.handle,
        pad: 0,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut o), Ok(0));
    assert_eq!(o.offset % 4096, 0);
    let a = f.mmap(o.offset, 8192, true).unwrap();
    let b = f.mmap(o.offset + 4096, 4096, true).unwrap();
    a.write_at(4096 + 7, b"qda").unwrap();
    let mut got = [0u8; 3];
    b.read_at(7, &mut got).unwrap();
    assert_eq!(&got, b"qda");
    assert_eq!(
        f.mmap(o.offset, 3 * 4096, true).unwrap_err().errno,
        Errno::EINVAL,
        "longer than the object"
    );
    let mut bad = DrmQdaGemMmapOffset {
        offset: 0,
        handle: 77,
        pad: 0,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut bad), Err(Errno::ENOENT));
    let mut pad = DrmQdaGemMmapOffset {
        offset: 0,
        handle: g.handle,
        pad: 1,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_GEM_MMAP_OFFSET, &mut pad), Err(Errno::EINVAL));
    // Another file without a handle may not map it.
    let f2 = accel(&drv, "cdsp");
    assert_eq!(f2.mmap(o.offset, 4096, true).unwrap_err().errno, Errno::EACCES);
    drop((a, b));
}

#[test]
fn table_edges_answer_as_drm_ioctl_does() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let mut buf = [0u8; 64];
    // Reserved slot 0x43 (was INIT_ATTACH): EINVAL before any copy.
    assert_eq!(
        ioctl(&f, qda_uapi::qda::rfc2026::DRM_IOCTL_QDA_INIT_ATTACH, &mut buf),
        Err(Errno::EINVAL)
    );
    // Past the driver table.
    assert_eq!(ioctl(&f, iowr(b'd', 0x48, 16), &mut buf), Err(Errno::EINVAL));
    // Past the core table.
    assert_eq!(ioctl(&f, iowr(b'd', 0xd8, 16), &mut buf), Err(Errno::EINVAL));
    // Not a DRM type.
    assert_eq!(ioctl(&f, iowr(b'x', 0x40, 16), &mut buf), Err(Errno::ENOTTY));
    // A shorter user struct is zero-extended: QUERY declared with 8 bytes still works
    // and copies back only 8 bytes.
    let mut short = [0xffu8; 16];
    assert_eq!(ioctl(&f, ior(b'd', 0x40, 8), &mut short), Ok(0));
    assert_eq!(&short[..4], b"cdsp");
    assert_eq!(&short[8..], &[0xff; 8], "bytes past the user's size are untouched");
    // Without a DSP the FastRPC ioctls report the missing channel.
    let mut inv = DrmQdaInvokeArgs::default();
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_REMOTE_INVOKE, &mut inv), Err(Errno::ENODEV));
}

#[test]
fn context_banks_are_shared_per_opener_and_run_out() {
    let mut plat = Platform::builtin();
    let d = plat.domains.iter_mut().find(|d| d.label == "cdsp").unwrap();
    d.cbs.truncate(2);
    let drv = driver_with(DriverConfig::new(plat));
    let node = format!("/dev/accel/accel{}", drv.domain("cdsp").unwrap().minor);
    let a1 = drv.open(&node, other(101)).unwrap();
    let a2 = drv.open(&node, other(101)).unwrap();
    let b = drv.open(&node, other(202)).unwrap();
    let c = drv.open(&node, other(303)).unwrap();
    a1.gem_create(4096).unwrap();
    a2.gem_create(4096).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&a1.context_bank().unwrap(), &a2.context_bank().unwrap()),
        "same opener shares"
    );
    assert_eq!(a1.context_bank().unwrap().assignment().refs, 2);
    b.gem_create(4096).unwrap();
    assert_eq!(c.gem_create(4096).unwrap_err().errno, Errno::ENOMEM, "no free CB");
    let sid_b = b.context_bank().unwrap().sid();
    drop(b);
    c.gem_create(4096).unwrap();
    assert_eq!(c.context_bank().unwrap().sid(), sid_b, "a released CB is reused");
    drop((a1, a2, c));
    assert!(
        drv.domain("cdsp")
            .unwrap()
            .cbs
            .iter()
            .all(|cb| cb.assignment().pid == 0)
    );
}

#[test]
fn gem_dma_address_carries_the_sid() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let h = f.gem_create(4096).unwrap();
    let obj = f.gem_object(h).unwrap();
    let sid = f.context_bank().unwrap().sid() as u64;
    assert_eq!(obj.dma_addr() >> 32, sid);
    assert_eq!(
        obj.dma_addr() & 0xffff_ffff,
        obj.iova_mapping().iova(),
        "the low 32 bits are the IOVA"
    );
}

#[test]
fn unplugged_device_fails_open_files_cleanly() {
    let drv = driver();
    let f = accel(&drv, "adsp");
    let h = f.gem_create(4096).unwrap();
    drv.remove_domain("adsp").unwrap();
    let mut q = DrmQdaQuery::default();
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_QUERY, &mut q), Err(Errno::ENODEV));
    assert_eq!(f.gem_close(h).unwrap_err().errno, Errno::ENODEV);
    let node = format!("/dev/accel/accel{}", drv.domain("adsp").unwrap().minor);
    assert_eq!(drv.open(&node, Creds::current()).unwrap_err().errno, Errno::ENODEV);
    drop(f); // closing still releases everything
}

#[test]
fn closing_a_file_frees_its_objects() {
    let drv = driver();
    let f = accel(&drv, "cdsp");
    for _ in 0..5 {
        f.gem_create(64 * 1024).unwrap();
    }
    assert_eq!(drv.stats().gem_objects, 5);
    drop(f);
    let s = drv.stats();
    assert_eq!((s.gem_objects, s.backings, s.iova_mappings), (0, 0, 0));
    let _ = std::io::stdout().as_fd();
}

#[test]
fn copied_segments_serve_a_daemon_client() {
    // What qdad will do: the client sends the bytes the kernel would copy in,
    // the driver works on them, the written ranges go back.
    use zerocopy::{FromBytes, IntoBytes};
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let arg = 0x7000_0000u64; // the client's address of its struct
    let req = DrmQdaGemCreate {
        size: 8192,
        handle: 0,
        pad: 0,
    };
    let mem = qda_driver::SegmentMemory::new(vec![(arg, req.as_bytes().to_vec())]);
    assert_eq!(f.ioctl(DRM_IOCTL_QDA_GEM_CREATE, arg, &mem).unwrap(), 0);
    assert_eq!(mem.written(), [(arg, 16)]);
    let back = DrmQdaGemCreate::read_from_bytes(&mem.into_segments()[0].1).unwrap();
    assert_eq!(back.handle, 1);
    // A pointer the client did not supply is EFAULT.
    let mem = qda_driver::SegmentMemory::new(vec![]);
    assert_eq!(
        f.ioctl(DRM_IOCTL_QDA_GEM_CREATE, arg, &mem).unwrap_err().errno,
        Errno::EFAULT
    );
}

/// The qda extension `DRM_IOCTL_QDA_SET_POLL` (`docs/DRIVER.md`, "Poll
/// mode"): a µs budget, 0 off, bounded, flags zero.
#[test]
fn set_poll_extension() {
    use qda_uapi::qda::{DRM_IOCTL_QDA_SET_POLL, DrmQdaSetPoll, QDA_POLL_BUDGET_MAX_US};
    use std::time::Duration;
    let drv = driver();
    let f = accel(&drv, "cdsp");
    let poll = || f.rpc_state().unwrap().poll.get();
    assert_eq!(poll(), None);
    let mut p = DrmQdaSetPoll {
        budget_us: 50,
        flags: 0,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_SET_POLL, &mut p), Ok(0));
    assert_eq!(poll(), Some(Duration::from_micros(50)));
    p.budget_us = QDA_POLL_BUDGET_MAX_US + 1;
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_SET_POLL, &mut p), Err(Errno::EINVAL));
    p = DrmQdaSetPoll {
        budget_us: 10,
        flags: 1,
    };
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_SET_POLL, &mut p), Err(Errno::EINVAL));
    assert_eq!(
        poll(),
        Some(Duration::from_micros(50)),
        "a refused setting changes nothing"
    );
    p = DrmQdaSetPoll::default();
    assert_eq!(ioctl(&f, DRM_IOCTL_QDA_SET_POLL, &mut p), Ok(0));
    assert_eq!(poll(), None);
}

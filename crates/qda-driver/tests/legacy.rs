//! The legacy `/dev/fastrpc-*` nodes: names, sessions taken at open,
//! ALLOC_DMA_BUFF, and the ioctls that need a DSP.

use std::os::fd::AsRawFd;

use qda_driver::{Errno, LocalMemory};
use qda_test::*;
use qda_uapi::fastrpc::*;

#[test]
fn nodes_are_named_as_misc_fastrpc_names_them() {
    let drv = driver();
    let paths: Vec<&str> = drv.nodes().iter().map(|n| n.path.as_str()).collect();
    for d in drv.platform().domains.iter() {
        for n in d.legacy_node_names() {
            assert!(paths.contains(&format!("/dev/{n}").as_str()), "{n}");
        }
    }
    assert!(paths.contains(&"/dev/fastrpc-cdsp") && paths.contains(&"/dev/fastrpc-cdsp-secure"));
    assert!(paths.contains(&"/dev/udmabuf") && paths.contains(&"/dev/dma_heap/system"));
}

#[test]
fn open_takes_a_session_and_ebusy_when_none_is_free() {
    let drv = driver();
    let d = drv.domain("cdsp").unwrap().clone();
    let total = d.desc.sessions();
    let files: Vec<_> = (0..total).map(|_| open(&drv, "/dev/fastrpc-cdsp")).collect();
    assert_eq!(d.sessions_in_use(), total);
    assert_eq!(
        drv.open("/dev/fastrpc-cdsp-secure", me()).unwrap_err().errno,
        Errno::EBUSY
    );
    drop(files);
    assert_eq!(d.sessions_in_use(), 0);
    assert_eq!(drv.open("/dev/fastrpc-nope", me()).unwrap_err().errno, Errno::ENOENT);
}

#[test]
fn alloc_dma_buff_and_unsupported_ioctls() {
    let drv = driver();
    let f = open(&drv, "/dev/fastrpc-cdsp");
    let mut a = FastrpcAllocDmaBuf {
        fd: -1,
        flags: 0,
        size: 6000,
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_ALLOC_DMA_BUFF, &mut a), Ok(0));
    let fd = own(a.fd);
    let buf = drv.dmabuf(std::os::fd::AsFd::as_fd(&fd)).unwrap();
    assert_eq!(buf.size(), 8192);
    assert!(fd.as_raw_fd() >= 0);
    let mut x = 0u32;
    assert_eq!(
        ioctl(&f, FASTRPC_IOCTL_FREE_DMA_BUFF, &mut x),
        Err(Errno::ENOTTY),
        "declared, never handled"
    );
    let mut inv = FastrpcInvoke::default();
    assert_eq!(
        ioctl(&f, FASTRPC_IOCTL_INVOKE, &mut inv),
        Err(Errno::EPIPE),
        "no DSP attached"
    );
    let mut cap = FastrpcIoctlCapability {
        attribute_id: 256,
        ..Default::default()
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_GET_DSP_INFO, &mut cap), Err(Errno::EOVERFLOW));
    assert_eq!(
        f.ioctl(FASTRPC_IOCTL_ALLOC_DMA_BUFF, 0x20, &LocalMemory)
            .unwrap_err()
            .errno,
        Errno::EFAULT
    );
}

/// The proposed poll option (`docs/DRIVER.md`, "Poll mode"): one request
/// id, reserved words zero, value 0 off and anything else on with qda's
/// default budget.
#[test]
fn set_option_poll_mode_as_proposed() {
    let drv = driver();
    let f = open(&drv, "/dev/fastrpc-cdsp");
    let poll = || f.rpc_state().unwrap().poll.get();
    assert_eq!(poll(), None, "sleep mode by default");
    let mut o = FastrpcIoctlSetOption {
        req: FASTRPC_POLL_MODE,
        value: 1,
        ..Default::default()
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_SET_OPTION, &mut o), Ok(0));
    assert_eq!(poll(), Some(qda_driver::fastrpc::DEFAULT_POLL_BUDGET));
    o.value = 0;
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_SET_OPTION, &mut o), Ok(0));
    assert_eq!(poll(), None);
    let mut other = FastrpcIoctlSetOption {
        req: 2,
        value: 1,
        ..Default::default()
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_SET_OPTION, &mut other), Err(Errno::EINVAL));
    let mut reserved = FastrpcIoctlSetOption {
        req: FASTRPC_POLL_MODE,
        value: 1,
        reserved: [0, 0, 0, 0, 0, 1],
    };
    assert_eq!(ioctl(&f, FASTRPC_IOCTL_SET_OPTION, &mut reserved), Err(Errno::EINVAL));
    assert_eq!(poll(), None, "a refused option changes nothing");
}

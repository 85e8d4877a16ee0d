//! `DaemonFile::ioctl_lent`: an ioctl whose memory the caller lends as Rust
//! slices gets the same request and result as with the checked copies.

mod common;
use common::daemon;

use qda_os::Lent;
use qda_test::TempDir;
use qda_uapi::qda::{DRM_IOCTL_QDA_QUERY, DrmQdaQuery};
use qdad::client::DaemonFile;
use zerocopy::IntoBytes;

#[test]
fn a_lent_struct_is_read_and_written_back_and_the_rest_is_checked() {
    let dir = TempDir::new("lent");
    let d = daemon(&dir);
    let f = DaemonFile::open(&d.socket, "/dev/accel/accel1").unwrap();
    // Lent writable: the answer lands in the slice.
    let mut q = DrmQdaQuery::default();
    let at = &mut q as *mut DrmQdaQuery as u64;
    {
        let mut lent = Lent::new();
        lent.read_write(q.as_mut_bytes());
        f.ioctl_lent(DRM_IOCTL_QDA_QUERY, at, &lent.loan()).unwrap();
    }
    assert_eq!(&q.dsp_name[..5], b"cdsp\0");
    // A loan that does not cover the struct (only a read-only slice
    // elsewhere): the struct is read and written back with the checked
    // copies, as without a loan.
    let mut q2 = DrmQdaQuery::default();
    let copy = DrmQdaQuery::default();
    let at2 = &mut q2 as *mut DrmQdaQuery as u64;
    {
        let mut lent = Lent::new();
        lent.read_only(copy.as_bytes());
        f.ioctl_lent(DRM_IOCTL_QDA_QUERY, at2, &lent.loan()).unwrap();
    }
    assert_eq!(q2.dsp_name, q.dsp_name);
    assert_eq!(copy, DrmQdaQuery::default(), "a slice lent read-only is never written");
    // An address no slice covers: the checked copy, and its EFAULT.
    let mut lent = Lent::new();
    let other = [0u8; 64];
    lent.read_only(&other);
    let e = f.ioctl_lent(DRM_IOCTL_QDA_QUERY, 16, &lent.loan()).unwrap_err();
    assert_eq!(e.errno, qda_os::Errno::EFAULT);
}

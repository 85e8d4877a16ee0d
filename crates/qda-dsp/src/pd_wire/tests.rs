//! The DSP↔PD messages: round trips, malformed input, descriptors.

use super::*;

fn body(frame: &[u8]) -> &[u8] {
    let (len, rest) = frame.split_at(4);
    assert_eq!(u32::from_ne_bytes(len.try_into().unwrap()) as usize, rest.len());
    rest
}

#[test]
fn requests_round_trip() {
    let open = Request::Open {
        path: b"/lib/libx_skel.so",
        symbol: b"x_skel_handle_invoke",
        handle_style: true,
    };
    let f = open.encode(7);
    assert_eq!(decode_request(body(&f)), Some((7, Some(open))));
    let inv = Request::Invoke {
        skel: 3,
        handle: 0xdead_beef_0000_0001,
        sc: 0x0202_0000,
        args: vec![
            WireArg::Bytes(b"abc"),
            WireArg::Handle(42),
            WireArg::Buffer {
                lead: 100,
                len: 5000,
                runs: vec![
                    RunRef::new(9, (1, 2), 8192, 0, 4096),
                    RunRef::new(10, (1, 3), 4096, 0, 4096),
                ],
            },
            WireArg::Buffer {
                lead: 0,
                len: 0,
                runs: vec![],
            },
            WireArg::Dma {
                dma: DmaHeader::new(17, 64, 128, 0x8_0000_1000),
                lead: 0,
                size: 8192,
                runs: vec![RunRef::new(NO_SLOT, (1, 4), 8192, 0, 8192)],
            },
            WireArg::Dma {
                dma: DmaHeader::new(-1, 0, 0, 0),
                lead: 0,
                size: 0,
                runs: vec![],
            },
        ],
    };
    let f = inv.encode(8);
    assert_eq!(decode_request(body(&f)), Some((8, Some(inv))));
    let f = Request::Sandbox.encode(9);
    assert_eq!(decode_request(body(&f)), Some((9, Some(Request::Sandbox))));
    let mut p = 0b1011u32.to_ne_bytes().to_vec();
    p.extend_from_slice(b"PR_SET_NO_NEW_PRIVS: no");
    assert_eq!(sandbox_out(&p), Some((0b1011, "PR_SET_NO_NEW_PRIVS: no".into())));
    assert_eq!(sandbox_out(b"ab"), None);
}

#[test]
fn malformed_requests_keep_their_id() {
    let f = Request::Open {
        path: b"p",
        symbol: b"s",
        handle_style: false,
    }
    .encode(5);
    let b = body(&f);
    // Cut short: the id is still there, the request is not.
    assert_eq!(decode_request(&b[..b.len() - 1]), Some((5, None)));
    let mut bad_kind = b.to_vec();
    bad_kind[8] = 9;
    assert_eq!(decode_request(&bad_kind), Some((5, None)));
    assert_eq!(decode_request(&b[..4]), None);
    // A huge argument count is refused before allocating.
    let mut huge = Request::Invoke {
        skel: 0,
        handle: 0,
        sc: 0,
        args: vec![],
    }
    .encode(6)[4..]
        .to_vec();
    huge[32..36].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(decode_request(&huge), Some((6, None)));
}

#[test]
fn descriptors_travel_with_their_frame() {
    use std::os::fd::AsRawFd;
    let (a, b) = UnixStream::pair().unwrap();
    let file = std::fs::File::open("/dev/null").unwrap();
    let f1 = encode_reply(1, 0, b"with a file");
    let f2 = encode_reply(2, 0, b"without");
    send_frame(&a, &f1, &[file.as_fd(), file.as_fd()]).unwrap();
    send_frame(&a, &f2, &[]).unwrap();
    let FdFrame {
        body: body1,
        fds: fds1,
        fds_lost,
    } = read_frame_fds(&b).unwrap();
    assert_eq!(body1, &f1[4..]);
    assert_eq!((fds1.len(), fds_lost), (2, false));
    let id = |fd: &OwnedFd| rustix::fs::fstat(fd).map(|s| (s.st_dev, s.st_ino)).unwrap();
    assert_eq!(id(&fds1[0]), id(&file.as_fd().try_clone_to_owned().unwrap()));
    assert_ne!(fds1[0].as_raw_fd(), file.as_raw_fd(), "a descriptor of its own");
    let f = read_frame_fds(&b).unwrap();
    assert_eq!((f.body.as_slice(), f.fds.len(), f.fds_lost), (&f2[4..], 0, false));
    let too_many: Vec<_> = (0..=MAX_FDS).map(|_| file.as_fd()).collect();
    assert!(send_frame(&a, &f1, &too_many).is_err());
    drop(a);
    assert!(read_frame_fds(&b).is_err(), "end of stream");
}

#[test]
fn maps_by_fd_round_trip() {
    let map = Request::MapFd(WireArg::Dma {
        dma: DmaHeader::new(9, 0, 0, 0x8_0000_2000),
        lead: 0,
        size: 4096,
        runs: vec![RunRef::new(0, (1, 5), 4096, 0, 4096)],
    });
    assert_eq!(decode_request(body(&map.encode(3))), Some((3, Some(map))));
    let un = Request::UnmapFd(-2);
    assert_eq!(decode_request(body(&un.encode(4))), Some((4, Some(un))));
    // A map of anything but a dma argument is malformed.
    let bad = Request::MapFd(WireArg::Handle(1)).encode(5);
    assert_eq!(decode_request(body(&bad)), Some((5, None)));
}

#[test]
fn farf_lines_round_trip() {
    let f = crate::farf::Farf {
        level: 3,
        file: "x_skel.c".into(),
        line: 9,
        msg: "bad thing 7".into(),
    };
    let fr = encode_farf(&f);
    let (id, status, p) = decode_reply(body(&fr)).unwrap();
    assert_eq!((id, status), (0, STATUS_FARF));
    assert_eq!(farf_out(p), Some(f));
    assert_eq!(farf_out(&p[..p.len() - 1]), None, "cut short");
}

#[test]
fn replies_round_trip() {
    let f = encode_reply(3, 0, InvokeOut::new(-5, 77).as_bytes());
    let (id, status, p) = decode_reply(body(&f)).unwrap();
    assert_eq!((id, status), (3, 0));
    assert_eq!(invoke_out(p), Some(InvokeOut::new(-5, 77)));
    let f = encode_reply(4, 0x8000_043e, b"no such file");
    assert_eq!(decode_reply(body(&f)), Some((4, 0x8000_043e, &b"no such file"[..])));
    let f = encode_reply(5, 0, &9u32.to_ne_bytes());
    assert_eq!(open_out(decode_reply(body(&f)).unwrap().2), Some(9));
    assert_eq!(read_frame(&f[..]).unwrap(), body(&f));
    assert!(read_frame(&f[..f.len() - 1]).is_err());
}

// A hostile PD: a reply frame's length is bounded.

use crate::farf::Farf;

/// Found by reading `read_frame` for the hostile-PD fuzzer: a host that
/// sends a length of 4 GiB made the DSP allocate 4 GiB before reading a
/// byte of it. A length over `MAX_REPLY` is refused first.
#[test]
fn a_reply_frame_longer_than_any_reply_is_refused_before_its_body_is_read() {
    let mut f = ((MAX_REPLY + 1) as u32).to_ne_bytes().to_vec();
    f.resize(4 + MAX_REPLY + 1, 0);
    let e = read_frame(&f[..]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
    let e = read_frame(&u32::MAX.to_ne_bytes()[..]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
    // The longest reply is read whole.
    let mut f = (MAX_REPLY as u32).to_ne_bytes().to_vec();
    f.resize(4 + MAX_REPLY, 7);
    assert_eq!(read_frame(&f[..]).unwrap().len(), MAX_REPLY);
}

/// The host's side of the bound: a FARF line or an error text too long
/// for a reply frame is cut to fit, not sent whole for the DSP to refuse.
#[test]
fn a_farf_line_too_long_for_a_reply_is_cut_to_fit() {
    let f = Farf {
        level: 2,
        file: "f".repeat(10_000),
        line: 1,
        msg: "m".repeat(2 * MAX_REPLY),
    };
    let fr = encode_farf(&f);
    let b = read_frame(&fr[..]).unwrap();
    let (id, status, p) = decode_reply(&b).unwrap();
    assert_eq!((id, status), (0, STATUS_FARF));
    let got = farf_out(p).unwrap();
    assert!(got.file.len() < f.file.len() && f.file.starts_with(&got.file));
    assert!(got.msg.len() < f.msg.len() && f.msg.starts_with(&got.msg));
    assert_eq!(b.len(), MAX_REPLY);
}

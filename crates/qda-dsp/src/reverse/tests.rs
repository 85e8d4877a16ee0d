use std::thread;

use super::*;

fn serve_one(r: &Reverse, answer: impl FnOnce(&Delivered) -> (i32, Vec<u8>)) -> DspResult<Delivered> {
    let d = r.next(0, -1, &[], 4096)?;
    let (res, bufs) = answer(&d);
    // Answer, then wait for a next request that never comes: close ends it.
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(50));
            r.close();
        });
        let e = r.next(d.ctx, res, &bufs, 4096).unwrap_err();
        assert_eq!(e.retval(), aee::EBADSTATE);
    });
    Ok(d)
}

#[test]
fn no_listener_fails_at_once() {
    let r = Reverse::default();
    let e = r.call(0, Scalars::make(15, 1, 0), &[b"x"], &[]).unwrap_err();
    assert_eq!(e.retval(), enotinitialized());
}

#[test]
fn a_call_is_delivered_and_answered() {
    let r = Reverse::default();
    r.listen();
    thread::scope(|s| {
        let c = s.spawn(|| r.call(9, Scalars::make(4, 1, 2), &[b"abc"], &[8, 16]));
        let d = serve_one(&r, |d| {
            assert_eq!((d.handle, d.sc), (9, Scalars::make(4, 1, 2).0));
            let req = revbuf::decode_request(&d.head, 1, 2).unwrap();
            assert_eq!(req.in_bufs, [&b"abc"[..]]);
            assert_eq!(req.out_lens, [8, 16]);
            (0, revbuf::encode_reply(&[b"12345678", b"hello"]).unwrap())
        })
        .unwrap();
        assert_ne!(d.ctx, 0);
        let out = c.join().unwrap().unwrap();
        assert_eq!(out, [b"12345678".to_vec(), b"hello".to_vec()]);
    });
}

#[test]
fn a_hostile_reply_is_refused() {
    for (bufs, code) in [
        // Output 0 longer than the 4 bytes asked.
        (revbuf::encode_reply(&[b"0123456789"]).unwrap(), ebadsize()),
        // A length past the end of the reply.
        (vec![0xff, 0xff, 0xff, 0x7f], aee::EBADPARM),
        // Nothing at all.
        (vec![], aee::EBADPARM),
    ] {
        let r = Reverse::default();
        r.listen();
        thread::scope(|s| {
            let c = s.spawn(|| r.call(1, Scalars::make(2, 0, 1), &[], &[4]));
            serve_one(&r, |_| (0, bufs)).unwrap();
            assert_eq!(c.join().unwrap().unwrap_err().retval(), code);
        });
    }
}

#[test]
fn the_cpus_error_is_the_callers() {
    let r = Reverse::default();
    r.listen();
    thread::scope(|s| {
        let c = s.spawn(|| r.call(1, Scalars::make(2, 0, 1), &[], &[4]));
        serve_one(&r, |_| (0x2c, vec![])).unwrap();
        assert_eq!(c.join().unwrap().unwrap_err().retval(), 0x2c);
    });
}

#[test]
fn a_large_request_comes_in_pieces() {
    let r = Reverse::default();
    r.listen();
    let big = vec![7u8; 10_000];
    thread::scope(|s| {
        let c = s.spawn(|| r.call(1, Scalars::make(5, 1, 0), &[&big], &[]));
        let d = r.next(0, -1, &[], 64).unwrap();
        assert_eq!(d.head.len(), 64);
        assert!(d.len as usize > 10_000);
        let (total, rest) = r.get_in_bufs(d.ctx, 64, 1 << 20).unwrap();
        assert_eq!(total, d.len);
        let mut whole = d.head.clone();
        whole.extend_from_slice(&rest);
        let req = revbuf::decode_request(&whole, 1, 0).unwrap();
        assert_eq!(req.in_bufs[0], &big[..]);
        assert!(r.get_in_bufs(d.ctx + 1, 0, 8).is_err(), "an unknown context");
        s.spawn(|| {
            thread::sleep(Duration::from_millis(50));
            r.close();
        });
        assert!(r.next(d.ctx, 0, &revbuf::encode_reply(&[]).unwrap(), 64).is_err());
        c.join().unwrap().unwrap();
    });
}

#[test]
fn exit_ends_calls_and_next() {
    let r = Reverse::default();
    r.listen();
    thread::scope(|s| {
        let c = s.spawn(|| r.call(1, Scalars::make(2, 0, 0), &[], &[]));
        let l = s.spawn(|| r.next(0, -1, &[], 64).map(|d| d.ctx));
        let _ = l.join().unwrap().unwrap();
        let l2 = s.spawn(|| r.next(0, -1, &[], 64));
        thread::sleep(Duration::from_millis(30));
        r.close();
        assert_eq!(l2.join().unwrap().unwrap_err().retval(), aee::EBADSTATE);
        assert_eq!(c.join().unwrap().unwrap_err().retval(), aee::EBADSTATE);
    });
    assert_eq!(
        r.call(1, Scalars::make(2, 0, 0), &[], &[]).unwrap_err().retval(),
        aee::EBADSTATE
    );
    assert!(!r.is_listening());
}

#[test]
fn no_reply_times_out() {
    let r = Reverse::default();
    r.listen();
    let e = r
        .call_timeout(1, Scalars::make(2, 0, 0), &[], &[], Duration::from_millis(50))
        .unwrap_err();
    assert_eq!(e.retval(), eexpired());
    // The request left the queue with it.
    assert!(lock(&r.st).queue.is_empty() && lock(&r.st).calls.is_empty());
}

#[test]
fn handles_are_refused() {
    let r = Reverse::default();
    r.listen();
    let e = r.call(1, Scalars::makex(0, 2, 0, 0, 1, 0), &[], &[]).unwrap_err();
    assert_eq!(e.retval(), aee::EBADPARM);
}

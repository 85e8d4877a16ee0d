//! Reverse RPC through the raw UAPI, with this test as the client's
//! listener (init2, next2 as libfastrpc makes them, `fastrpc.md` §B7): a
//! skel's call arrives encoded as `listener_buf.h` says, the reply reaches
//! the skel, and the process's exit ends the listener's next2 with
//! `DSP_AEE_EOFFSET + AEE_EBADSTATE`; nothing is left behind. Thread and
//! process PDs.

use qda_driver::Driver;
use qda_dsp::{PdMode, VirtualDsp};
use qda_proto::revbuf;
use qda_test::{assert_clean, invoke_arg as arg, legacy_invoke, legacy_session, open_module};

const REVTEST: &str = "file:///librevtest_skel.so?revtest_skel_handle_invoke&_modver=1.0";
const EBADSTATE: i64 = 0x8000_040d_u32 as i32 as i64;

/// next2: (the DSP's answer, {ctx, handle, sc, bufsLenReq}, the request).
fn next2(f: &qda_driver::File, ctx: u32, result: i32, reply: &[u8]) -> (i64, [u32; 4], Vec<u8>) {
    let inp = [ctx, result as u32, reply.len() as u32, 256];
    let mut out = [0u32; 4];
    let mut buf = vec![0u8; 256];
    let mut a = [
        arg(inp.as_ptr().cast(), 16, -1),
        arg(reply.as_ptr(), reply.len(), -1),
        arg(out.as_mut_ptr().cast(), 16, -1),
        arg(buf.as_mut_ptr(), 256, -1),
    ];
    let r = legacy_invoke(f, 7, 0x0602_0200, &mut a).unwrap();
    (r, out, buf)
}

fn reverse_getenv(mode: PdMode) {
    let drv = Driver::builtin().unwrap();
    let _dsp = VirtualDsp::start_with(&drv, "cdsp", mode).unwrap();
    let file = legacy_session(&drv);
    let f = &file;
    let h = open_module(|h, sc, a| legacy_invoke(f, h, sc, a).unwrap(), REVTEST).unwrap();
    assert_eq!(legacy_invoke(f, 7, 0x0500_0000, &mut []).unwrap(), 0, "init2");
    std::thread::scope(|s| {
        let caller = s.spawn(|| {
            let name = b"SOME_VAR\0";
            let mut val = [0u8; 16];
            let mut res = [0u32; 2];
            let mut a = [
                arg(name.as_ptr(), name.len(), -1),
                arg(val.as_mut_ptr(), 16, -1),
                arg(res.as_mut_ptr().cast(), 8, -1),
            ];
            let r = legacy_invoke(f, h, 0x0201_0200, &mut a).unwrap();
            (r, res, val)
        });
        // 1: apps_remotectl_open("apps_std") on const handle 0.
        let (r, out, buf) = next2(f, 0, -1, &[]);
        assert_eq!(r, 0);
        assert_eq!((out[1], out[2]), (0, 0x0002_0200));
        let req = revbuf::decode_request(&buf[..out[3] as usize], 2, 2).unwrap();
        assert_eq!(req.in_bufs[1], b"apps_std\0");
        assert_eq!(req.out_lens[0], 8);
        let reply = revbuf::encode_reply(&[&[0x34, 0x12, 0, 0, 0, 0, 0, 0], &[]]).unwrap();
        // 2: getenv on the handle we gave.
        let (r, out2, buf) = next2(f, out[0], 0, &reply);
        assert_eq!(r, 0);
        assert_eq!((out2[1], out2[2]), (0x1234, 0x1002_0200));
        let req = revbuf::decode_request(&buf[..out2[3] as usize], 2, 2).unwrap();
        assert_eq!(req.in_bufs[1], b"SOME_VAR\0");
        assert_eq!(req.out_lens, [4, 16]);
        let reply = revbuf::encode_reply(&[&6u32.to_le_bytes(), b"value\0"]).unwrap();
        let listener = s.spawn(move || next2(f, out2[0], 0, &reply).0);
        let (r, res, val) = caller.join().unwrap();
        assert_eq!((r, res), (0, [0, 6]));
        assert_eq!(&val[..6], b"value\0");
        // The process exits: the blocked next2 ends with EBADSTATE.
        assert_eq!(legacy_invoke(f, 4, 0x0200_0000, &mut []).unwrap(), 0, "exit");
        assert_eq!(listener.join().unwrap(), EBADSTATE);
    });
    drop(file);
    assert_clean(&drv);
}

#[test]
fn a_reverse_call_in_a_thread_pd() {
    reverse_getenv(PdMode::Thread);
}

#[test]
fn a_reverse_call_in_a_pd_process() {
    reverse_getenv(PdMode::Process);
}

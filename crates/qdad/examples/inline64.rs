//! Time one kind of call through the backend in use (for profiling the
//! daemon path): 64 KiB inline in and out, or with `fd` a 4 KiB buffer by
//! fd, or with `null` no arguments. `QDA_SOCKET=… cargo run --release -p
//! qdad --example inline64 -- N [inline|fd|null]`.
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let what = std::env::args().nth(2).unwrap_or_else(|| "inline".into());
    let dev = qda::Device::open(qda::Domain::Cdsp).unwrap();
    let session = dev.session().unwrap();
    let test = session
        .open("file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0")
        .unwrap();
    let input = vec![0x5au8; 64 * 1024];
    let mut out = vec![0u8; 64 * 1024];
    let buf = dev.alloc(4096).unwrap();
    buf.write(0, &[7u8; 16]).unwrap();
    let mut small = [0u8; 16];
    let t = std::time::Instant::now();
    for _ in 0..n {
        match what.as_str() {
            "fd" => test.invoke(6, &mut [qda::Arg::buf_in(&buf, 0, 4096), qda::Arg::Out(&mut small)]),
            "null" => test.invoke(5, &mut []),
            _ => test.invoke(3, &mut [qda::Arg::In(&input), qda::Arg::Out(&mut out)]),
        }
        .unwrap();
    }
    println!("{what}: {:?} per call on {:?}", t.elapsed() / n as u32, dev.backend());
}

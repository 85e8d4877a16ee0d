//! Time 64 KiB inline in-and-out calls through the backend in use (for
//! profiling the daemon path): `QDA_SOCKET=… cargo run --release -p qdad
//! --example inline64 -- N`.
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let dev = qda::Device::open(qda::Domain::Cdsp).unwrap();
    let session = dev.session().unwrap();
    let test = session
        .open("file:///libcalculator_skel.so?qdatest_skel_handle_invoke&_modver=1.0")
        .unwrap();
    let input = vec![0x5au8; 64 * 1024];
    let mut out = vec![0u8; 64 * 1024];
    let t = std::time::Instant::now();
    for _ in 0..n {
        test.invoke(3, &mut [qda::Arg::In(&input), qda::Arg::Out(&mut out)])
            .unwrap();
    }
    println!("{:?} per call on {:?}", t.elapsed() / n as u32, dev.backend());
}

use std::time::{Duration, Instant};
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(100000);
    let poll = std::env::args().nth(2).is_some();
    let dev = qda::Device::open_on(qda::Domain::Cdsp, qda::Backend::Embedded).unwrap();
    let w = qda::bench::Invokes::new(&dev, false).unwrap();
    w.set_poll(poll.then(|| Duration::from_micros(100))).unwrap();
    for _ in 0..1000 {
        w.null().unwrap();
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        w.null().unwrap();
        v.push(t.elapsed());
    }
    v.sort();
    eprintln!(
        "{}: p50 {:?} p99 {:?}",
        if poll { "poll " } else { "sleep" },
        v[n / 2],
        v[n * 99 / 100]
    );
}

use hoare::chan;
fn is_send_sync<T: Send + Sync>() {}
fn main() {
    is_send_sync::<chan::Sender<u64>>();
    is_send_sync::<chan::Receiver<u64>>();
    for cap in [0usize, 1, 16, 1024] {
        let (tx, rx) = chan::<u64>(cap);
        let n = 200_000u64;
        let t0 = std::time::Instant::now();
        let mut hs = vec![];
        for p in 0..2 {
            let tx = tx.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..n {
                    tx.send(p * n + i).unwrap()
                }
            }));
        }
        drop(tx);
        let mut cs = vec![];
        for _ in 0..2 {
            let rx = rx.clone();
            cs.push(std::thread::spawn(move || {
                let mut s = 0u64;
                let mut c = 0u64;
                for v in &rx {
                    s += v;
                    c += 1
                }
                (s, c)
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        let (mut s, mut c) = (0, 0);
        for h in cs {
            let (a, b) = h.join().unwrap();
            s += a;
            c += b;
        }
        assert_eq!(c, 2 * n);
        assert_eq!(s, (2 * n) * (2 * n - 1) / 2);
        println!("cap {cap}: {:?} per msg", t0.elapsed() / (2 * n) as u32);
    }
}

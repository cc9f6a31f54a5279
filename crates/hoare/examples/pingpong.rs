use hoare::chan;
use std::time::Instant;
fn main() {
    for cap in [0usize, 1] {
        let (tx1, rx1) = chan::<u64>(cap);
        let (tx2, rx2) = chan::<u64>(cap);
        let n = 200_000u64;
        let t0 = Instant::now();
        let h = std::thread::spawn(move || {
            for v in &rx1 {
                tx2.send(v).unwrap();
            }
        });
        for i in 0..n {
            tx1.send(i).unwrap();
            assert_eq!(rx2.recv(), Some(i));
        }
        drop(tx1);
        h.join().unwrap();
        println!(
            "blocking cap {cap}: {:?} per round trip",
            t0.elapsed() / n as u32
        );
    }
    for (name, rt) in [
        (
            "mt2",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
        (
            "ct",
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        ),
    ] {
        for cap in [0usize, 1] {
            rt.block_on(async {
                let (tx1, rx1) = chan::<u64>(cap);
                let (tx2, rx2) = chan::<u64>(cap);
                let n = 300_000u64;
                let t0 = Instant::now();
                let h = tokio::spawn(async move {
                    while let Some(v) = rx1.recv_async().await {
                        tx2.send_async(v).await.unwrap();
                    }
                });
                let a = tokio::spawn(async move {
                    for i in 0..n {
                        tx1.send_async(i).await.unwrap();
                        assert_eq!(rx2.recv_async().await, Some(i));
                    }
                });
                a.await.unwrap();
                h.await.unwrap();
                println!(
                    "async {name} cap {cap}: {:?} per round trip",
                    t0.elapsed() / n as u32
                );
            });
        }
    }
}

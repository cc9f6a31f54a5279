use hoare::chan;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
#[test]
fn repro() {
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..4).map(|_| { let stop = stop.clone(); thread::spawn(move || while !stop.load(SeqCst) { std::hint::spin_loop() }) }).collect();
    let mut bad = 0;
    for i in 0..20_000 {
        let (tx, rx) = chan::chan::<u64>(1);
        let b = Arc::new(Barrier::new(2));
        let (tx2, b2) = (tx.clone(), b.clone());
        let h = thread::spawn(move || { b2.wait(); tx2.close() });
        b.wait();
        let r = tx.close();
        let s = tx.try_send(i);
        let r2 = h.join().unwrap();
        if r.is_err() && s.is_ok() { bad += 1; if bad < 3 { eprintln!("iter {i}: close -> {r:?} (other {r2:?}), then try_send -> Ok; rx.recv() = {:?}", rx.recv()); } }
    }
    stop.store(true, SeqCst);
    for s in spinners { s.join().unwrap(); }
    assert_eq!(bad, 0);
}

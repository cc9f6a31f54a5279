use hoare::chan;
use std::sync::{Arc, Barrier};
use std::thread;
#[test]
fn repro() {
    let mut bad = 0;
    for i in 0..20_000u64 {
        let (tx, rx) = chan::chan::<u64>(0);
        let r1 = rx.clone();
        let receiver = thread::spawn(move || r1.recv());
        let b = Arc::new(Barrier::new(2));
        let (tx2, b2) = (tx.clone(), b.clone());
        let closer = thread::spawn(move || { b2.wait(); tx2.close() });
        b.wait();
        let r = tx.close();
        let s = if r.is_err() { tx.send_timeout(i, std::time::Duration::from_millis(1)) } else { Ok(()) };
        let other = closer.join().unwrap();
        let got = receiver.join().unwrap();
        if r.is_err() && s.is_ok() {
            bad += 1;
            if bad <= 3 { eprintln!("iter {i}: close() -> {r:?} (other close -> {other:?}), then send -> Ok, receiver got {got:?}"); }
        }
    }
    eprintln!("bad = {bad}");
    assert_eq!(bad, 0);
}

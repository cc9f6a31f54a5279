//! Port of Go's test/chan/fifo.go: channels are FIFOs. A buffered channel gives its
//! values back in order; on an unbuffered channel, receivers that start receiving
//! one after another (a daisy chain passing a token) get the values in send order.
//!
//! Adapted:
//! - Go's `Chain` goroutines are threads (and, in a second test, tokio tasks); the
//!   token channels are unbuffered hoare channels, as in Go.
//! - Go's `panic(val)` in a chain link becomes an assertion in that thread/task,
//!   surfaced by joining it.

use std::thread;

use hoare::chan::{self, Receiver, Sender};

const N: i32 = 10;

#[test]
fn asynch_fifo() {
    let (tx, rx) = chan::chan::<i32>(N as usize);
    for i in 0..N {
        tx.send(i).unwrap();
    }
    for i in 0..N {
        assert_eq!(rx.recv(), Some(i), "bad receive");
    }
}

/// One link: waits for the token on `inp`, receives `val` from `ch`, passes the
/// token on to `out`.
fn chain(ch: Receiver<i32>, val: i32, inp: Receiver<i32>, out: Sender<i32>) {
    inp.recv().expect("token");
    assert_eq!(ch.recv(), Some(val), "link {val} got the wrong value");
    out.send(1).unwrap();
}

#[test]
fn synch_fifo() {
    let (ch_tx, ch_rx) = chan::chan::<i32>(0);
    let (start, mut inp) = chan::chan::<i32>(0);
    let mut links = Vec::new();
    for i in 0..N {
        let (out_tx, out_rx) = chan::chan::<i32>(0);
        let ch = ch_rx.clone();
        links.push(thread::spawn(move || chain(ch, i, inp, out_tx)));
        inp = out_rx;
    }
    start.send(0).unwrap();
    for i in 0..N {
        ch_tx.send(i).unwrap();
    }
    assert_eq!(
        inp.recv(),
        Some(1),
        "the token came through the whole chain"
    );
    for l in links {
        l.join().unwrap();
    }
}

async fn chain_async(ch: Receiver<i32>, val: i32, inp: Receiver<i32>, out: Sender<i32>) {
    inp.recv_async().await.expect("token");
    assert_eq!(
        ch.recv_async().await,
        Some(val),
        "link {val} got the wrong value"
    );
    out.send_async(1).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synch_fifo_tasks() {
    let (ch_tx, ch_rx) = chan::chan::<i32>(0);
    let (start, mut inp) = chan::chan::<i32>(0);
    let mut links = Vec::new();
    for i in 0..N {
        let (out_tx, out_rx) = chan::chan::<i32>(0);
        links.push(tokio::spawn(chain_async(ch_rx.clone(), i, inp, out_tx)));
        inp = out_rx;
    }
    start.send_async(0).await.unwrap();
    for i in 0..N {
        ch_tx.send_async(i).await.unwrap();
    }
    assert_eq!(inp.recv_async().await, Some(1));
    for l in links {
        l.await.unwrap();
    }
}

//! Port of Go's test/chan/doubleselect.go: the situation in which two cases of one
//! select could both run. A sender selects over four unbuffered channels to send a
//! counter; four muxes forward what they receive onto one channel; the receiver
//! checks that no value arrives twice.
//!
//! Adapted:
//! - Go's `close(cN)` on return (deferred) is an explicit `close()` after the loop,
//!   and the final `close(cmux)` happens after all four muxes reported done, as in Go.
//! - Go runs 100,000 iterations (`-n`); this port runs fewer to stay quick in debug
//!   builds (the select stress tests run the same situation at scale).
//! - Besides "no duplicate", the receiver also checks that every value arrived
//!   (count and sum): a value lost to a half-done select would fail here too.
//! - Also run with tokio tasks and `select_async!`, and with a blocking selecting
//!   sender feeding async muxes.

use std::thread;

use hoare::chan::{self, Receiver, Sender};
use hoare::{select, select_async};

const ITERATIONS: u64 = 20_000;

/// Sends 0..n, each to one of four channels; closes them all when done.
fn sender(n: u64, c: [Sender<u64>; 4]) {
    for i in 0..n {
        select! {
            send(&c[0], i) -> r => r.unwrap(),
            send(&c[1], i) -> r => r.unwrap(),
            send(&c[2], i) -> r => r.unwrap(),
            send(&c[3], i) -> r => r.unwrap(),
        }
    }
    for c in &c {
        c.close().unwrap();
    }
}

async fn sender_async(n: u64, c: [Sender<u64>; 4]) {
    for i in 0..n {
        select_async! {
            send(&c[0], i) -> r => r.unwrap(),
            send(&c[1], i) -> r => r.unwrap(),
            send(&c[2], i) -> r => r.unwrap(),
            send(&c[3], i) -> r => r.unwrap(),
        }
    }
    for c in &c {
        c.close().unwrap();
    }
}

/// Forwards everything from `inp` to `out`, then reports done.
fn mux(out: Sender<u64>, inp: Receiver<u64>, done: Sender<bool>) {
    for v in &inp {
        out.send(v).unwrap();
    }
    done.send(true).unwrap();
}

async fn mux_async(out: Sender<u64>, inp: Receiver<u64>, done: Sender<bool>) {
    while let Some(v) = inp.recv_async().await {
        out.send_async(v).await.unwrap();
    }
    done.send_async(true).await.unwrap();
}

/// Receives until `inp` is closed; panics on a duplicate; checks all of 0..n came.
fn check_all_once(n: u64, got: impl IntoIterator<Item = u64>) {
    let mut seen = vec![false; n as usize];
    let (mut count, mut sum) = (0u64, 0u64);
    for v in got {
        assert!(v < n, "value {v} was never sent");
        assert!(
            !std::mem::replace(&mut seen[v as usize], true),
            "got duplicate value: {v}"
        );
        count += 1;
        sum += v;
    }
    assert_eq!(count, n, "values lost");
    assert_eq!(sum, n * (n - 1) / 2);
}

/// The channels of one run: c1..c4, done, cmux.
type Chans = (
    [(Sender<u64>, Receiver<u64>); 4],
    (Sender<bool>, Receiver<bool>),
    (Sender<u64>, Receiver<u64>),
);

fn make_chans() -> Chans {
    (
        std::array::from_fn(|_| chan::chan::<u64>(0)),
        chan::chan::<bool>(0),
        chan::chan::<u64>(0),
    )
}

#[test]
fn doubleselect_threads() {
    let (cs, (done_tx, done_rx), (cmux_tx, cmux_rx)) = make_chans();
    let senders = cs.each_ref().map(|(tx, _)| tx.clone());
    let mut handles = vec![thread::spawn(move || sender(ITERATIONS, senders))];
    for (_, rx) in &cs {
        let (out, inp, done) = (cmux_tx.clone(), rx.clone(), done_tx.clone());
        handles.push(thread::spawn(move || mux(out, inp, done)));
    }
    drop(cs);
    handles.push(thread::spawn(move || {
        for _ in 0..4 {
            assert_eq!(done_rx.recv(), Some(true));
        }
        cmux_tx.close().unwrap();
    }));
    check_all_once(ITERATIONS, &cmux_rx);
    for h in handles {
        h.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doubleselect_tasks() {
    let (cs, (done_tx, done_rx), (cmux_tx, cmux_rx)) = make_chans();
    let senders = cs.each_ref().map(|(tx, _)| tx.clone());
    let mut tasks = vec![tokio::spawn(sender_async(ITERATIONS, senders))];
    for (_, rx) in &cs {
        let (out, inp, done) = (cmux_tx.clone(), rx.clone(), done_tx.clone());
        tasks.push(tokio::spawn(mux_async(out, inp, done)));
    }
    drop(cs);
    tasks.push(tokio::spawn(async move {
        for _ in 0..4 {
            assert_eq!(done_rx.recv_async().await, Some(true));
        }
        cmux_tx.close().unwrap();
    }));
    let mut got = Vec::with_capacity(ITERATIONS as usize);
    while let Some(v) = cmux_rx.recv_async().await {
        got.push(v);
    }
    check_all_once(ITERATIONS, got);
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doubleselect_blocking_sender_async_muxes() {
    let (cs, (done_tx, done_rx), (cmux_tx, cmux_rx)) = make_chans();
    let senders = cs.each_ref().map(|(tx, _)| tx.clone());
    let sender = thread::spawn(move || sender(ITERATIONS, senders));
    let mut tasks = Vec::new();
    for (_, rx) in &cs {
        let (out, inp, done) = (cmux_tx.clone(), rx.clone(), done_tx.clone());
        tasks.push(tokio::spawn(mux_async(out, inp, done)));
    }
    drop(cs);
    tasks.push(tokio::spawn(async move {
        for _ in 0..4 {
            assert_eq!(done_rx.recv_async().await, Some(true));
        }
        cmux_tx.close().unwrap();
    }));
    let got = tokio::task::spawn_blocking(move || cmux_rx.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    check_all_once(ITERATIONS, got);
    for t in tasks {
        t.await.unwrap();
    }
    sender.join().unwrap();
}

//! `pattern::fan_in` is a receiver flavor that reads its inputs directly: these
//! tests check it behaves as a receiver everywhere one can be used — blocking,
//! async, with a timeout, in `select!` — that every value arrives exactly once,
//! and that a value an unbuffered input handed to an abandoned wait goes back to
//! that input's own channel.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use hoare::chan::{self, RecvTimeoutError, TryRecvError};
use hoare::context::Context;
use hoare::pattern::fan_in;
use hoare::{select, select_async};

#[test]
fn every_value_of_every_input_arrives_once_then_it_closes() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let mut inputs = Vec::new();
    let mut producers = Vec::new();
    for (p, cap) in [0usize, 1, 16].into_iter().enumerate() {
        let (tx, rx) = chan::chan::<u64>(cap);
        inputs.push(rx);
        producers.push(std::thread::spawn(move || {
            for i in 0..1000u64 {
                tx.send(p as u64 * 1000 + i).unwrap();
            }
        }));
    }
    let merged = fan_in(&ctx, inputs);
    let got: Vec<u64> = merged.iter().collect();
    assert_eq!(got.len(), 3000);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 3000);
    assert!(merged.is_closed());
    assert_eq!(merged.try_recv(), Err(TryRecvError::Closed));
    for p in producers {
        p.join().unwrap();
    }
}

#[test]
fn blocking_recv_ends_on_cancel_and_times_out() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_a_tx, a) = chan::chan::<u8>(0);
    let (_b_tx, b) = chan::chan::<u8>(0);
    let merged = fan_in(&ctx, [a, b]);
    assert_eq!(
        merged.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    let waiter = {
        let merged = merged.clone();
        std::thread::spawn(move || merged.recv())
    };
    cancel.cancel();
    assert_eq!(waiter.join().unwrap(), None);
    assert!(merged.is_closed());
}

#[test]
fn a_closed_input_does_not_end_it_while_another_is_open() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (a_tx, a) = chan::chan::<u8>(0);
    let (b_tx, b) = chan::chan::<u8>(0);
    drop(a_tx);
    let merged = fan_in(&ctx, [a, b]);
    let sender = std::thread::spawn(move || b_tx.send(7));
    assert_eq!(merged.recv(), Some(7));
    sender.join().unwrap().unwrap();
    assert_eq!(merged.recv(), None, "both inputs are closed now");
}

#[test]
fn in_select_any_input_or_the_cancel_fires_its_case() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (a_tx, a) = chan::chan::<u8>(0);
    let (_b_tx, b) = chan::chan::<u8>(0);
    let merged = fan_in(&ctx, [a, b]);
    let (_other_tx, other) = chan::chan::<u8>(0);
    let sender = std::thread::spawn(move || a_tx.send(5));
    let got = select! {
        recv(&merged) -> v => v,
        recv(&other) -> _ => unreachable!("nothing is sent there"),
    };
    assert_eq!(got, Some(5));
    sender.join().unwrap().unwrap();
    let canceller = std::thread::spawn(move || cancel.cancel());
    let got = select! {
        recv(&merged) -> v => v,
        recv(&other) -> _ => unreachable!("nothing is sent there"),
    };
    assert_eq!(got, None);
    canceller.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_recv_takes_from_any_input_and_wakes_on_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (a_tx, a) = chan::chan::<u8>(0);
    let (b_tx, b) = chan::chan::<u8>(0);
    let merged = fan_in(&ctx, [a, b]);
    let senders = [
        tokio::spawn(async move { a_tx.send_async(1).await }),
        tokio::spawn(async move { b_tx.send_async(2).await }),
    ];
    let mut got = [
        merged.recv_async().await.unwrap(),
        merged.recv_async().await.unwrap(),
    ];
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
    for s in senders {
        s.await.unwrap().unwrap();
    }
    let canceller = tokio::spawn(async move { cancel.cancel() });
    assert_eq!(merged.recv_async().await, None);
    canceller.await.unwrap();
}

/// A pending async receive is handed a value by one unbuffered input, then dropped
/// unpolled: the value goes back to that input, not to another.
#[test]
fn a_dropped_async_recv_gives_the_value_back_to_its_own_input() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (a_tx, a) = chan::chan::<u8>(0);
    let (_b_tx, b) = chan::chan::<u8>(0);
    let (a_other, b_other) = (a.clone(), b.clone());
    let merged = fan_in(&ctx, [a, b]);
    let mut cx = TaskContext::from_waker(Waker::noop());
    {
        let mut fut = pin!(merged.recv_async());
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending); // registered on both
        std::thread::spawn(move || a_tx.send(3))
            .join()
            .unwrap()
            .unwrap();
    } // dropped with the value handed over
    assert_eq!(b_other.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(a_other.recv_timeout(Duration::from_secs(20)), Ok(3));
}

/// The same through `select_async!`: the select is selected by one unbuffered
/// input, then dropped before it runs its arm.
#[test]
fn an_abandoned_select_gives_the_value_back_to_its_own_input() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (_a_tx, a) = chan::chan::<u8>(0);
    let (b_tx, b) = chan::chan::<u8>(0);
    let (a_other, b_other) = (a.clone(), b.clone());
    let merged = fan_in(&ctx, [a, b]);
    let mut cx = TaskContext::from_waker(Waker::noop());
    {
        let mut fut = pin!(async {
            select_async! {
                recv(&merged) -> v => v,
            }
        });
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
        std::thread::spawn(move || b_tx.send(4))
            .join()
            .unwrap()
            .unwrap();
    }
    assert_eq!(a_other.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(b_other.recv_timeout(Duration::from_secs(20)), Ok(4));
}

/// Threads and tasks read clones of one merged receiver while threads and tasks
/// feed its inputs: every value is delivered exactly once.
#[test]
fn stress_threads_and_tasks_on_both_sides() {
    const PER: u64 = 2_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (ctx, _cancel) = Context::background().with_cancel();
    let mut inputs = Vec::new();
    let mut feeders = Vec::new();
    let mut tasks = Vec::new();
    for (p, cap) in [0usize, 0, 1, 8].into_iter().enumerate() {
        let (tx, rx) = chan::chan::<u64>(cap);
        inputs.push(rx);
        let base = p as u64 * PER;
        if p % 2 == 0 {
            feeders.push(std::thread::spawn(move || {
                (0..PER).for_each(|i| tx.send(base + i).unwrap())
            }));
        } else {
            tasks.push(rt.spawn(async move {
                for i in 0..PER {
                    tx.send_async(base + i).await.unwrap();
                }
                Vec::new()
            }));
        }
    }
    let merged = fan_in(&ctx, inputs);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let merged = merged.clone();
            std::thread::spawn(move || merged.iter().collect::<Vec<u64>>())
        })
        .collect();
    for _ in 0..2 {
        let merged = merged.clone();
        tasks.push(rt.spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = merged.recv_async().await {
                got.push(v);
            }
            got
        }));
    }
    drop(merged);
    let mut all: Vec<u64> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    for t in tasks {
        all.extend(rt.block_on(t).unwrap());
    }
    for f in feeders {
        f.join().unwrap();
    }
    all.sort_unstable();
    assert_eq!(all, (0..4 * PER).collect::<Vec<_>>());
}

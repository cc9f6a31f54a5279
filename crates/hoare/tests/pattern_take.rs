//! `pattern::take` is a receiver flavor, not a goroutine: these tests check it
//! takes exactly `n` values however its clones receive (blocking, async, with a
//! timeout, in `select!`, abandoned midway), that it lets go of its source once
//! done, and that a cancel ends every kind of wait it has.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use hoare::chan::{self, RecvTimeoutError, TryRecvError};
use hoare::context::Context;
use hoare::pattern::take;
use hoare::select;

#[test]
fn the_first_n_values_then_the_source_is_let_go() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || (0..).take_while(|&i| tx.send(i).is_ok()).count());
    let first = take(&ctx, rx, 5);
    assert_eq!(first.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    // The take dropped its source after the fifth value: the next send fails,
    // though `first` itself is still alive.
    assert_eq!(producer.join().unwrap(), 5);
    assert!(first.is_closed());
    assert_eq!(first.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn clones_take_exactly_n_between_them() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer =
        std::thread::spawn(move || (0..5000).take_while(|&i| tx.send(i).is_ok()).count());
    let taken = take(&ctx, rx, 1000);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let rx = taken.clone();
            std::thread::spawn(move || rx.iter().collect::<Vec<u32>>())
        })
        .collect();
    drop(taken);
    let mut all: Vec<u32> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort_unstable();
    // An unbuffered send succeeds only when a receive takes the value: exactly the
    // first 1000 were sent, and taken once each.
    assert_eq!(producer.join().unwrap(), 1000);
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
}

#[test]
fn tasks_and_threads_take_together() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || (0..).take_while(|&i| tx.send(i).is_ok()).count());
    let taken = take(&ctx, rx, 600);
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let rx = taken.clone();
            rt.spawn(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv_async().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    let rx = taken.clone();
    let thread = std::thread::spawn(move || rx.iter().collect::<Vec<u32>>());
    drop(taken);
    let mut all = thread.join().unwrap();
    for t in tasks {
        all.extend(rt.block_on(t).unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..600).collect::<Vec<_>>());
    assert_eq!(producer.join().unwrap(), 600);
}

#[test]
fn a_cancel_ends_a_wait_on_the_source_and_one_on_a_claim() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_tx, rx) = chan::chan::<u32>(0);
    // One value left: one clone claims it and waits on the source; the other
    // waits for that claim.
    let one = take(&ctx, rx, 1);
    let waiters: Vec<_> = [one.clone(), one.clone()]
        .into_iter()
        .map(|rx| std::thread::spawn(move || rx.recv()))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let task = tokio::spawn(async move { one.recv_async().await });
        tokio::task::yield_now().await; // the task waits now, on either
        cancel.cancel();
        assert_eq!(task.await.unwrap(), None);
    });
    for w in waiters {
        assert_eq!(w.join().unwrap(), None);
    }
}

#[test]
fn recv_timeout_times_out_then_the_value_still_comes() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let one = take(&ctx, rx, 1);
    assert_eq!(
        one.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    // The timed-out receive gave its claim back: the value is still there to take.
    let producer = std::thread::spawn(move || tx.send(7));
    assert_eq!(one.recv_timeout(Duration::from_secs(60)), Ok(7));
    assert!(producer.join().unwrap().is_ok());
    assert_eq!(one.recv(), None);
}

#[test]
fn select_with_a_take_and_another_channel() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || (0..).take_while(|&i| tx.send(i).is_ok()).count());
    let taken = take(&ctx, rx, 300);
    let (tick_tx, ticks) = chan::chan::<u32>(0);
    let ticker = std::thread::spawn(move || (0..200).for_each(|i| tick_tx.send(i).unwrap()));
    let (mut values, mut tick_count, mut open) = (Vec::new(), 0, (true, true));
    while open.0 || open.1 {
        select! {
            recv(open.0.then_some(&taken)) -> v => match v {
                Some(v) => values.push(v),
                None => open.0 = false,
            },
            recv(open.1.then_some(&ticks)) -> t => match t {
                Some(_) => tick_count += 1,
                None => open.1 = false,
            },
        }
    }
    ticker.join().unwrap();
    assert_eq!(values, (0..300).collect::<Vec<_>>());
    assert_eq!(tick_count, 200);
    assert_eq!(producer.join().unwrap(), 300);
}

/// Receives and selects polled once and dropped, some after the (unbuffered)
/// source handed them a value: nothing is lost, and no more than n are taken.
#[test]
fn abandoned_receives_and_selects_lose_nothing() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || (0..).take_while(|&i| tx.send(i).is_ok()).count());
    let taken = take(&ctx, rx, 150);
    let mut cx = TaskContext::from_waker(Waker::noop());
    let mut got = Vec::new();
    for round in 0.. {
        let polled = match round % 3 {
            0 => pin!(taken.recv_async()).as_mut().poll(&mut cx),
            1 => pin!(async {
                hoare::select_async! { recv(&taken) -> v => v }
            })
            .as_mut()
            .poll(&mut cx),
            _ => Poll::Ready(taken.recv()),
        };
        match polled {
            Poll::Ready(Some(v)) => got.push(v),
            Poll::Ready(None) => break,
            Poll::Pending => std::thread::yield_now(), // dropped: nothing may be lost
        }
    }
    assert_eq!(got, (0..150).collect::<Vec<_>>());
    assert_eq!(producer.join().unwrap(), 150);
}

#[test]
fn take_zero_is_closed_and_drops_its_source() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(1);
    let none = take(&ctx, rx, 0);
    assert_eq!(none.recv(), None);
    assert!(tx.send(1).is_err(), "the source's receiver is gone");
}

#[test]
fn len_capacity_and_debug() {
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(4);
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    let two = take(&ctx, rx, 2);
    assert_eq!(
        (two.len(), two.capacity()),
        (2, 4),
        "values left to take: 2"
    );
    assert_eq!(two.recv(), Some(0));
    assert_eq!(two.len(), 1);
    assert!(format!("{two:?}").contains("take"));
    assert_eq!(two.recv(), Some(1));
    assert_eq!((two.len(), two.capacity()), (0, 0));
    assert!(two.is_closed());
}

/// A stream reuses one wait state for every receive: claims are settled and
/// taken again across items.
#[test]
fn as_a_stream() {
    use futures_core::Stream;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ctx = Context::background();
    let (tx, rx) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || (0..).take_while(|&i| tx.send(i).is_ok()).count());
    let taken = take(&ctx, rx, 300);
    let got = rt.block_on(async {
        let mut stream = taken.stream();
        let mut got = Vec::new();
        while let Some(v) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await
        {
            got.push(v);
        }
        got
    });
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert_eq!(producer.join().unwrap(), 300);
}

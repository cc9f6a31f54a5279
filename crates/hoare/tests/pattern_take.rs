//! `pattern::take` is a receiver flavor, not a goroutine: these tests check it
//! takes exactly `n` values however its clones receive (blocking, async, with a
//! timeout, in `select!`, abandoned midway), that it lets go of its source once
//! done, and that a cancel ends every kind of wait it has.

use std::time::Duration;

use hoare::chan::{self, RecvTimeoutError, TryRecvError};
use hoare::context::Context;
use hoare::pattern::take;

mod common;
use common::receivers::{
    collect_stream, drain_abandoning_receives, drain_with_tasks_and_a_thread, select_beside_ticks,
};

/// An unbuffered source fed by a thread with `from, from + 1, ...` until a send
/// fails; the thread returns how many sends succeeded (on an unbuffered channel:
/// how many values a receive took).
fn counted_source(from: u32) -> (chan::Receiver<u32>, std::thread::JoinHandle<usize>) {
    let (tx, rx) = chan::chan::<u32>(0);
    let feeder = std::thread::spawn(move || (from..).take_while(|&i| tx.send(i).is_ok()).count());
    (rx, feeder)
}

#[test]
fn the_first_n_values_then_the_source_is_let_go() {
    let ctx = Context::background();
    let (rx, producer) = counted_source(0);
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
    let (rx, producer) = counted_source(0);
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
    let ctx = Context::background();
    let (rx, producer) = counted_source(0);
    let all = drain_with_tasks_and_a_thread(take(&ctx, rx, 600));
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
    let (rx, producer) = counted_source(0);
    let (values, ticks) = select_beside_ticks(&take(&ctx, rx, 300), 200);
    assert_eq!(values, (0..300).collect::<Vec<_>>());
    assert_eq!(ticks, 200);
    assert_eq!(producer.join().unwrap(), 300);
}

/// Receives and selects polled once and dropped, some after the (unbuffered)
/// source handed them a value: nothing is lost, and no more than n are taken.
#[test]
fn abandoned_receives_and_selects_lose_nothing() {
    let ctx = Context::background();
    let (rx, producer) = counted_source(0);
    let got = drain_abandoning_receives(&take(&ctx, rx, 150));
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
    let ctx = Context::background();
    let (rx, producer) = counted_source(0);
    let got = collect_stream(&take(&ctx, rx, 300));
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert_eq!(producer.join().unwrap(), 300);
}

/// A take of a source whose receive needs more than one wait slot (a fan-in):
/// its waiting receives keep their claims in a boxed state instead, and an
/// abandoned one still gives back its claim and any value handed to it.
#[test]
fn a_take_of_a_fan_in_loses_nothing_when_receives_are_abandoned() {
    let ctx = Context::background();
    let (a, fa) = counted_source(0);
    let (b, fb) = counted_source(1_000_000);
    let mut got = drain_abandoning_receives(&take(&ctx, hoare::pattern::fan_in(&ctx, [a, b]), 120));
    // The take dropped the fan-in after the 120th value, so both feeders stop.
    // (A value handed to an abandoned receive waits in its channel for the next
    // one; if the take ends first, that value goes with the channel: sent, not
    // received. So a feeder may count more sends than were received.)
    let (sent_a, sent_b) = (fa.join().unwrap() as u32, fb.join().unwrap() as u32);
    assert_eq!(got.len(), 120);
    assert!(got
        .iter()
        .all(|&v| v < sent_a || (1_000_000..1_000_000 + sent_b).contains(&v)));
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 120, "no value twice");
}

//! `pattern::or_done` is a receiver flavor, not a goroutine: these tests check it
//! behaves as a receiver everywhere one can be used — blocking, async, with a
//! timeout, inside `select!` and the dynamic `Select`, nested, and when a wait on
//! an unbuffered source is abandoned after the value was handed over.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use hoare::chan::{self, RecvTimeoutError, TryRecvError};
use hoare::context::Context;
use hoare::pattern::or_done;
use hoare::select;
use hoare::select::Select;

#[test]
fn blocking_recv_ends_on_cancel_while_the_source_stays_open() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_tx, rx) = chan::chan::<u8>(0);
    let guarded = or_done(&ctx, rx);
    let waiter = std::thread::spawn(move || guarded.recv());
    cancel.cancel();
    assert_eq!(waiter.join().unwrap(), None);
}

#[test]
fn values_pass_until_cancel_then_it_reports_closed() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(4);
    let guarded = or_done(&ctx, rx);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(guarded.recv(), Some(1));
    assert!(!guarded.is_closed());
    assert_eq!(guarded.len(), 1);
    cancel.cancel();
    assert!(guarded.is_closed());
    assert_eq!(guarded.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(guarded.recv(), None);
    // The value it did not take is still in the channel.
    assert_eq!(guarded.capacity(), 4);
    drop(guarded);
    assert!(tx.send(3).is_err(), "the or-done receiver was the last one");
}

#[test]
fn recv_timeout_times_out_then_cancel_closes() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_tx, rx) = chan::chan::<u8>(0);
    let guarded = or_done(&ctx, rx);
    assert_eq!(
        guarded.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    cancel.cancel();
    assert_eq!(
        guarded.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn a_closed_source_closes_it() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(1);
    tx.send(9).unwrap();
    drop(tx);
    let guarded = or_done(&ctx, rx);
    assert_eq!(guarded.iter().collect::<Vec<_>>(), [9]);
}

#[test]
fn in_select_a_value_or_the_cancel_fires_its_case() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(0);
    let guarded = or_done(&ctx, rx);
    let (_other_tx, other) = chan::chan::<u8>(0);
    let sender = std::thread::spawn(move || tx.send(5));
    let got = select! {
        recv(&guarded) -> v => v,
        recv(&other) -> _ => unreachable!("nothing is sent there"),
    };
    assert_eq!(got, Some(5));
    sender.join().unwrap().unwrap();

    let canceller = std::thread::spawn(move || cancel.cancel());
    let got = select! {
        recv(&guarded) -> v => v,
        recv(&other) -> _ => unreachable!("nothing is sent there"),
    };
    assert_eq!(got, None, "the cancel fired the case as closed");
    canceller.join().unwrap();
}

#[test]
fn in_the_dynamic_select_and_nested() {
    let (outer_ctx, outer_cancel) = Context::background().with_cancel();
    let (inner_ctx, _inner_cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(1);
    let nested = or_done(&outer_ctx, or_done(&inner_ctx, rx));
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&nested, |v| v);
    assert_eq!(sel.wait(), (0, Some(1)));
    drop(sel);
    outer_cancel.cancel();
    let mut sel = Select::new();
    sel.recv(&nested, |v| v);
    assert_eq!(sel.wait(), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_recv_wakes_for_a_value_and_for_the_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(0);
    let guarded = or_done(&ctx, rx);
    let sender = tokio::spawn(async move { tx.send_async(7).await });
    assert_eq!(guarded.recv_async().await, Some(7));
    sender.await.unwrap().unwrap();
    let canceller = tokio::spawn(async move { cancel.cancel() });
    assert_eq!(guarded.recv_async().await, None);
    canceller.await.unwrap();
}

/// A pending async receive on an unbuffered source is handed the value, then
/// dropped before it is polled again: the value is not lost, another receiver
/// gets it.
#[test]
fn a_dropped_async_recv_gives_a_handed_over_value_back() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::chan::<u8>(0);
    let other = rx.clone();
    let guarded = or_done(&ctx, rx);
    let mut cx = TaskContext::from_waker(Waker::noop());
    let handed = {
        let mut fut = pin!(guarded.recv_async());
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending); // registered
        let sender = std::thread::spawn(move || tx.send(3));
        // Wait until the sender is done: it handed the value to our waiter.
        let result = sender.join().unwrap();
        result.is_ok()
        // `fut` dropped here without being polled again.
    };
    assert!(handed);
    assert_eq!(other.recv_timeout(Duration::from_secs(20)), Ok(3));
}

#[test]
fn a_context_that_cannot_be_cancelled_passes_everything() {
    let (tx, rx) = chan::chan::<u8>(1);
    let same = or_done(&Context::background(), rx);
    tx.send(1).unwrap();
    assert_eq!(same.recv(), Some(1));
    drop(tx);
    assert_eq!(same.recv(), None);
}

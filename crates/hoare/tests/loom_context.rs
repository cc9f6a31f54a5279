//! loom models of context cancellation: a cancel racing a thread that waits on
//! `done()`, a cancel racing a select on `done()`, a parent's cancel racing the
//! creation of a child, a child's cancel racing its parent's, a cancel with a
//! cause racing one without, and a cancel racing a send into an or-done receive
//! (blocking and async, on a buffered and on an unbuffered source), and the same
//! for a fan-in receive; the receives of a bridge, shared by two clones or
//! racing a cancel; and two clones of a take sharing its last value.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p hoare --release --test loom_context`.
#![cfg(loom)]

use hoare::context::{Context, Error};
use hoare::{chan, select};
use loom::thread;

/// A waiter registers on `done()` while the cancel happens: it is always woken
/// (the SeqCst pair of the cancel's state store and the waiter's registration).
#[test]
fn cancel_wakes_a_thread_waiting_on_done() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let waiter = {
            let ctx = ctx.clone();
            thread::spawn(move || ctx.done().recv())
        };
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), None);
        assert_eq!(ctx.err(), Some(Error::Canceled));
    });
}

/// A select waiting on a channel and on `done()`: a send and a cancel race; it
/// fires exactly one case, and a value it did not take stays in the channel.
#[test]
fn cancel_races_a_send_into_a_select() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u32>(1);
        let selector = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let fired = select! {
                    recv(&rx) -> v => v,
                    recv(ctx.done()) -> _ => None,
                };
                (fired, rx)
            })
        };
        tx.send(1).unwrap();
        cancel.cancel();
        let (fired, rx) = selector.join().unwrap();
        match fired {
            Some(1) => assert!(rx.try_recv().is_err()),
            None => assert_eq!(rx.try_recv(), Ok(1)),
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// A child made while its parent is being canceled ends up canceled either way.
#[test]
fn a_child_made_during_the_parents_cancel_is_canceled() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let maker = {
            let parent = parent.clone();
            thread::spawn(move || parent.with_cancel())
        };
        cancel.cancel();
        let (child, _guard) = maker.join().unwrap();
        assert_eq!(child.err(), Some(Error::Canceled));
        assert_eq!(child.done().recv(), None);
    });
}

/// A child canceled by its guard (the lock-free path: it has no children) while
/// its parent is canceled (the locked path, which walks its children): the child
/// is canceled once, and leaves no entry in the parent's list either way.
#[test]
fn a_childs_cancel_races_its_parents_cancel() {
    loom::model(|| {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let waiter = {
            let child = child.clone();
            thread::spawn(move || child.done().recv())
        };
        let canceler = thread::spawn(move || drop(cancel_child));
        drop(cancel_parent);
        canceler.join().unwrap();
        assert_eq!(waiter.join().unwrap(), None);
        assert_eq!(child.err(), Some(Error::Canceled));
        assert_eq!(parent.__children(), 0);
    });
}

/// Two cancels of a context without children, one with a cause (locked) and one
/// without (lock-free): one wins, and `cause()` agrees with the winner.
#[test]
fn a_cancel_with_a_cause_races_one_without() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel_cause();
        let cancel = std::sync::Arc::new(cancel);
        let with_cause = {
            let cancel = cancel.clone();
            thread::spawn(move || cancel.cancel_with_cause(std::io::Error::other("why")))
        };
        cancel.cancel();
        with_cause.join().unwrap();
        assert_eq!(ctx.err(), Some(Error::Canceled));
        let cause = ctx.cause().unwrap().to_string();
        assert!(cause == "why" || cause == "context canceled", "{cause}");
        assert_eq!(
            ctx.cause().unwrap().to_string(),
            cause,
            "the cause is settled"
        );
    });
}

/// A receive on an adapter flavor (no goroutine) made by `adapt` from two
/// buffered channels, `a` (idle) and `b`, while a send into `b` and a cancel race:
/// the receive returns the value or `None`, and a value it did not take stays in
/// `b`. `in_task` receives with `recv_async`, whose context wait is joined only
/// after the sources were found empty.
fn cancel_races_a_send_into(
    adapt: fn(&Context, chan::Receiver<u32>, chan::Receiver<u32>) -> chan::Receiver<u32>,
    in_task: bool,
) {
    loom::model(move || {
        let (ctx, cancel) = Context::background().with_cancel();
        let (_a_tx, a) = chan::<u32>(1);
        let (b_tx, b) = chan::<u32>(1);
        let adapted = adapt(&ctx, a, b.clone());
        let receiver = receive_once(adapted, in_task);
        b_tx.send(1).unwrap();
        cancel.cancel();
        match receiver.join().unwrap() {
            Some(1) => assert!(b.try_recv().is_err()),
            None => assert_eq!(b.try_recv(), Ok(1), "the value stayed in its channel"),
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// A thread that receives once from `rx` (with `recv_async` on a task when
/// `in_task`, else blocking), then drops it.
fn receive_once(rx: chan::Receiver<u32>, in_task: bool) -> thread::JoinHandle<Option<u32>> {
    thread::spawn(move || {
        if in_task {
            loom::future::block_on(rx.recv_async())
        } else {
            rx.recv()
        }
    })
}

fn or_done_of_b(
    ctx: &Context,
    _a: chan::Receiver<u32>,
    b: chan::Receiver<u32>,
) -> chan::Receiver<u32> {
    hoare::pattern::or_done(ctx, b)
}

fn fan_in_of_both(
    ctx: &Context,
    a: chan::Receiver<u32>,
    b: chan::Receiver<u32>,
) -> chan::Receiver<u32> {
    hoare::pattern::fan_in(ctx, [a, b])
}

#[test]
fn cancel_races_a_send_into_an_or_done_receive() {
    cancel_races_a_send_into(or_done_of_b, false);
}

#[test]
fn cancel_races_a_send_into_an_async_or_done_receive() {
    cancel_races_a_send_into(or_done_of_b, true);
}

#[test]
fn cancel_races_a_send_into_a_fan_in_receive() {
    cancel_races_a_send_into(fan_in_of_both, false);
}

#[test]
fn cancel_races_a_send_into_an_async_fan_in_receive() {
    cancel_races_a_send_into(fan_in_of_both, true);
}

#[test]
fn cancel_races_a_send_into_an_async_or_done_receive_on_an_unbuffered_source() {
    cancel_races_a_send_into_an_or_done_receive_on_an_unbuffered_source(true);
}

#[test]
fn cancel_races_a_send_into_a_blocking_or_done_receive_on_an_unbuffered_source() {
    cancel_races_a_send_into_an_or_done_receive_on_an_unbuffered_source(false);
}

/// An or-done receive (async or blocking) on an unbuffered source waits in the
/// source alone; the context's cancel reaches it through the receiver's hook.
/// Racing a send and the cancel: the receive returns the value (and the send
/// succeeds) or `None` (and the send fails once the receiver is gone): a value is
/// never lost, and the receive always ends.
fn cancel_races_a_send_into_an_or_done_receive_on_an_unbuffered_source(in_task: bool) {
    loom::model(move || {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u32>(0);
        let guarded = hoare::pattern::or_done(&ctx, rx);
        // The receiver is dropped when its thread ends: the last receiver.
        let receiver = receive_once(guarded, in_task);
        let sender = thread::spawn(move || tx.send(1));
        cancel.cancel();
        let got = receiver.join().unwrap();
        let sent = sender.join().unwrap();
        match got {
            Some(1) => assert!(sent.is_ok()),
            None => assert_eq!(sent.map_err(|e| e.0), Err(1), "the send fails, not lost"),
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// With no sender, the cancel alone must end an or-done receive, async or
/// blocking, on an unbuffered or a buffered source: either the receive sees the
/// context done after registering, or the receiver's hook finds its entry.
fn cancel_ends_an_or_done_receive(cap: usize, in_task: bool) {
    loom::model(move || {
        let (ctx, cancel) = Context::background().with_cancel();
        let (_tx, rx) = chan::<u32>(cap);
        let guarded = hoare::pattern::or_done(&ctx, rx);
        let receiver = receive_once(guarded, in_task);
        cancel.cancel();
        assert_eq!(receiver.join().unwrap(), None);
    });
}

#[test]
fn cancel_ends_an_async_or_done_receive_on_an_unbuffered_source() {
    cancel_ends_an_or_done_receive(0, true);
}

#[test]
fn cancel_ends_an_async_or_done_receive_on_a_buffered_source() {
    cancel_ends_an_or_done_receive(1, true);
}

#[test]
fn cancel_ends_a_blocking_or_done_receive_on_an_unbuffered_source() {
    cancel_ends_an_or_done_receive(0, false);
}

#[test]
fn cancel_ends_a_blocking_or_done_receive_on_a_buffered_source() {
    cancel_ends_an_or_done_receive(1, false);
}

/// Two clones of a bridge receive at once while the stream of streams delivers
/// one stream of one value and closes: one clone gets the value and the other the
/// end, whichever pulls the stream (the other waits for it on `changed`).
#[test]
fn two_clones_of_a_bridge_share_one_stream() {
    loom::model(|| {
        let ctx = Context::background();
        let (tx, streams) = chan::<chan::Receiver<u32>>(1);
        let bridged = hoare::pattern::bridge(&ctx, streams);
        let other = {
            let rx = bridged.clone();
            thread::spawn(move || rx.recv())
        };
        let (vtx, vrx) = chan::<u32>(1);
        vtx.send(7).unwrap();
        drop(vtx);
        tx.send(vrx).unwrap();
        drop(tx);
        let mine = loom::future::block_on(bridged.recv_async());
        let theirs = other.join().unwrap();
        let mut got = [mine, theirs];
        got.sort();
        assert_eq!(got, [None, Some(7)]);
    });
}

/// A cancel races a bridge's receives: one waiting on its stream (blocking), one
/// waiting for the next stream (async). Both end.
#[test]
fn cancel_ends_bridge_receives_on_a_stream_and_on_the_streams() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let (stx, streams) = chan::<chan::Receiver<u32>>(1);
        let (_vtx, vrx) = chan::<u32>(1);
        stx.send(vrx).unwrap();
        let on_stream = hoare::pattern::bridge(&ctx, streams);
        let (_silent_tx, silent) = chan::<chan::Receiver<u32>>(1);
        let on_streams = hoare::pattern::bridge(&ctx, silent);
        let waiter = thread::spawn(move || on_stream.recv());
        let task = thread::spawn(move || loom::future::block_on(on_streams.recv_async()));
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), None);
        assert_eq!(task.join().unwrap(), None);
    });
}

/// Two clones of `take(source, 1)` receive at once while one value is sent: one
/// claims the value left and gets it, the other waits for that claim and then
/// finds the take ended.
#[test]
fn two_clones_of_a_take_share_its_last_value() {
    loom::model(|| {
        let ctx = Context::background();
        let (tx, rx) = chan::<u32>(1);
        let one = hoare::pattern::take(&ctx, rx, 1);
        let other = {
            let rx = one.clone();
            thread::spawn(move || rx.recv())
        };
        tx.send(7).unwrap();
        let mine = loom::future::block_on(one.recv_async());
        let theirs = other.join().unwrap();
        let mut got = [mine, theirs];
        got.sort();
        assert_eq!(got, [None, Some(7)]);
        drop(one);
        assert!(tx.send(8).is_err(), "the take let go of its source");
    });
}

//! loom models of the channel's synchronisation protocols.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p hoare --release --test loom_chan`
//! (`.ci/run` bounds the search with `LOOM_MAX_PREEMPTIONS`). Each model uses the
//! public API; loom explores the interleavings of the atomics, locks, parks and
//! unparks underneath.
#![cfg(loom)]

use hoare::chan;
use hoare::chan::{SendError, TryRecvError};
use loom::thread;

/// Rendezvous hand-off: whichever side arrives first waits, the value crosses once,
/// and the send returns only after the receiver took it.
#[test]
fn rendezvous_handoff_delivers_once() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let sender = thread::spawn(move || tx.send(7));
        assert_eq!(rx.recv(), Some(7));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

/// A close racing a blocked or arriving rendezvous send: the send either delivered
/// its value (and the receiver got it) or failed with the value back.
#[test]
fn rendezvous_close_races_send() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let closer = tx.clone();
        let sender = thread::spawn(move || tx.send(1));
        let receiver = thread::spawn(move || rx.recv());
        closer.close().unwrap();
        let sent = sender.join().unwrap();
        let got = receiver.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, Some(1)),
            Err(SendError(v)) => {
                assert_eq!(v, 1);
                assert_eq!(got, None);
            }
        }
    });
}

/// A close racing a buffered send: a value is received iff its send succeeded, and
/// after the close the channel drains to `Closed`.
#[test]
fn buffered_close_races_send() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(1);
        let closer = tx.clone();
        let sender = thread::spawn(move || tx.send(5).is_ok());
        closer.close().unwrap();
        let sent = sender.join().unwrap();
        let got = rx.try_recv();
        if sent {
            assert_eq!(got, Ok(5));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// Waiter registration and wake-up on a full buffer: the sender blocks on the second
/// value until the receiver makes room; neither wake-up may be lost.
#[test]
fn buffered_full_sender_is_woken() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.recv(), Some(2));
        sender.join().unwrap();
        assert_eq!(rx.recv(), None);
    });
}

/// Waiter registration and wake-up on an empty buffer with two receivers: each value
/// reaches exactly one of them, and the close wakes the one left waiting.
#[test]
fn buffered_empty_receivers_are_woken() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(1);
        let rx2 = rx.clone();
        let other = thread::spawn(move || rx2.recv());
        tx.send(3).unwrap();
        drop(tx);
        let mine = rx.recv();
        let theirs = other.join().unwrap();
        let mut got: Vec<u32> = mine.into_iter().chain(theirs).collect();
        got.sort();
        assert_eq!(got, [3]);
    });
}

/// Two async senders race for the slots of a buffered channel: the one that
/// loses a slot yields and sends on a later poll; both values arrive once.
#[test]
fn async_sends_that_lose_a_slot_yield_and_still_deliver() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(2);
        let tx2 = tx.clone();
        let other = thread::spawn(move || loom::future::block_on(tx2.send_async(2)));
        loom::future::block_on(tx.send_async(1)).unwrap();
        other.join().unwrap().unwrap();
        let mut got = [rx.try_recv().unwrap(), rx.try_recv().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

/// An async receive that finds the value still being written yields (the writer
/// runs meanwhile) and takes it on a later poll.
#[test]
fn async_recv_that_finds_a_value_being_written_yields_and_gets_it() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(1);
        let sender = thread::spawn(move || tx.send(9));
        assert_eq!(loom::future::block_on(rx.recv_async()), Some(9));
        sender.join().unwrap().unwrap();
    });
}

/// The last receiver leaving wakes a sender blocked on a rendezvous with its value.
#[test]
fn rendezvous_receiver_drop_fails_blocked_send() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let sender = thread::spawn(move || tx.send(9));
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError(9)));
    });
}

/// Two closers race: whichever call returns, `Ok` or `Err(Closed)`, the channel is
/// closed by then, so a send after it fails.
#[test]
fn racing_closes_both_leave_the_channel_closed() {
    loom::model(|| {
        let (tx, _rx) = chan::<u32>(1);
        let other = tx.clone();
        let closer = thread::spawn(move || {
            let r = other.close();
            assert!(other.try_send(1).unwrap_err().is_closed());
            r
        });
        let mine = tx.close();
        assert!(tx.try_send(2).unwrap_err().is_closed());
        let theirs = closer.join().unwrap();
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one close succeeds");
    });
}

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    f.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// Async rendezvous: a task-style sender and receiver (driven by loom's `block_on`,
/// which parks until woken) hand a value over exactly once.
#[test]
fn async_rendezvous_handoff_delivers_once() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let sender = thread::spawn(move || loom::future::block_on(tx.send_async(7)));
        assert_eq!(loom::future::block_on(rx.recv_async()), Some(7));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

/// A pending `recv_async` is dropped while a sender hands it a value: the value is
/// either still with the sender (`Full`) or passed on to the next receive, never lost.
#[test]
fn async_recv_cancel_races_handoff() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let mut recv = Box::pin(rx.recv_async());
        assert!(poll_once(recv.as_mut()).is_pending());
        let sender = thread::spawn(move || tx.try_send(1).is_ok());
        drop(recv);
        let sent = sender.join().unwrap();
        if sent {
            assert_eq!(rx.try_recv(), Ok(1));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// A pending `send_async` is dropped while a receiver takes its value: the value is
/// received at most once, and only if the receiver took it before the withdrawal.
#[test]
fn async_send_cancel_races_take() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let receiver = thread::spawn(move || {
            let got = rx.try_recv().ok();
            (got, rx)
        });
        let mut send = Box::pin(tx.send_async(2));
        let first = poll_once(send.as_mut());
        drop(send);
        let (got, rx) = receiver.join().unwrap();
        if first.is_ready() {
            // Only possible if the receiver was already waiting, which `try_recv` never is.
            panic!("a send completed with no receiver waiting");
        }
        assert!(got.is_none() || got == Some(2));
        assert!(
            rx.try_recv().is_err(),
            "the value was delivered twice or kept"
        );
    });
}

/// A waker that does nothing, other than `Waker::noop()`: polling with it makes a
/// pending operation re-register.
struct OtherNoop;

impl std::task::Wake for OtherNoop {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// A pending `recv_async` is polled with another waker (so it re-registers) while a
/// sender hands it a value: the hand-off and the re-registration are ordered by the
/// channel's lock, and the value arrives exactly once.
#[test]
fn async_recv_reregisters_while_handed_a_value() {
    use std::future::Future as _;
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let mut recv = Box::pin(rx.recv_async());
        assert!(poll_once(recv.as_mut()).is_pending());
        let sender = thread::spawn(move || tx.try_send(3).is_ok());
        let other = std::task::Waker::from(std::sync::Arc::new(OtherNoop));
        let second = recv
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&other));
        assert!(
            sender.join().unwrap(),
            "a receiver was registered throughout"
        );
        let got = match second {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => loom::future::block_on(recv.as_mut()),
        };
        assert_eq!(got, Some(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

//! Port of Go's test/chan/select3.go: which channel operations and `select`
//! statements block, and which ones fail, on nil, closed, empty and ready channels.
//!
//! Adapted:
//! - Go's nil channel is `chan::nil()` / `chan::never()` outside a select, and a
//!   `None` operand (or a nil end) inside `select!`.
//! - Go's panics become hoare's errors: a send on a closed channel returns
//!   `Err(SendError(v))` with the value, also from a select's send case; closing a
//!   closed channel returns `Err(CloseError::Closed)` (and closing a nil one
//!   `Err(CloseError::Nil)`).
//! - Go's `testBlock` runs the operation in a goroutine and waits 0.1 s. Here "never
//!   blocks" is the operation returning on the test's own thread, and "always
//!   blocks" is shown deterministically: the non-blocking form of the same
//!   operation (`try_recv`/`try_send`, the same select with a `default` arm,
//!   `Select::try_wait`) reports not ready, and the async form (`select_async!`)
//!   stays `Pending` when polled. The blocking `select!` itself is then also run on
//!   a thread that must not have finished after `BLOCK` (a secondary check: a select
//!   that wrongly ran a case would finish, or panic in `unreachable!`, well before).
//! - Go's empty `select {}` is a dynamic `Select` with no case.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use hoare::chan::{self, CloseError, Receiver, SendError, Sender, TryRecvError, TrySendError};
use hoare::select::Select;
use hoare::{select, select_async};

/// How long a blocking select that must block is given to (wrongly) finish.
const BLOCK: Duration = Duration::from_millis(100);
/// Upper bound for anything that must happen (guards against hangs).
const GUARD: Duration = Duration::from_secs(20);

/// One poll with a waker that does nothing: the async form's "would it block?".
fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// Asserts that `fut` is still pending after several polls.
fn stays_pending<F: Future>(fut: F) {
    let mut fut = pin!(fut);
    for _ in 0..3 {
        assert!(poll_once(fut.as_mut()).is_pending(), "did not block");
    }
}

/// Runs `f` on a thread and asserts that it has not returned after `BLOCK`. The
/// thread is left blocked (like the goroutine of Go's `testBlock`).
fn blocks_on_a_thread(f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    assert_eq!(
        done_rx.recv_timeout(BLOCK),
        Err(mpsc::RecvTimeoutError::Timeout),
        "returned (or panicked) instead of blocking"
    );
}

/// A closed unbuffered channel whose ends are both alive (Go's `closedch`).
fn closed_chan() -> (Sender<i32>, Receiver<i32>) {
    let (tx, rx) = chan::chan::<i32>(0);
    tx.close().unwrap();
    (tx, rx)
}

const NIL_RX: Option<&Receiver<i32>> = None;
const NIL_TX: Option<&Sender<i32>> = None;

#[test]
fn nil_channel_send_and_receive_block() {
    let (ntx, nrx) = chan::nil::<i32>();
    assert_eq!(ntx.try_send(7), Err(TrySendError::Full(7)));
    assert_eq!(nrx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(chan::never::<i32>().try_recv(), Err(TryRecvError::Empty));
    stays_pending(ntx.send_async(7));
    stays_pending(nrx.recv_async());
}

#[test]
fn nil_channel_in_select_with_default_is_never_selected() {
    let (ntx, nrx) = chan::nil::<i32>();
    let never = chan::never::<i32>();
    for _ in 0..100 {
        select! {
            send(NIL_TX, 7) -> _ => unreachable!("send on a None operand"),
            default => {},
        }
        select! {
            recv(NIL_RX) -> _ => unreachable!("receive on a None operand"),
            default => {},
        }
        select! {
            send(&ntx, 7) -> _ => unreachable!("send on a nil channel"),
            recv(&nrx) -> _ => unreachable!("receive on a nil channel"),
            recv(&never) -> _ => unreachable!("receive on never()"),
            default => {},
        }
    }
}

#[test]
fn buffered_send_with_free_space_does_not_block() {
    let (tx, rx) = chan::chan::<i32>(1);
    tx.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(tx.try_send(8), Ok(()), "room again: try_send succeeds");
}

#[test]
fn receive_from_closed_channel_does_not_block() {
    let (_tx, rx) = closed_chan();
    for _ in 0..10 {
        assert_eq!(rx.recv(), None, "closed: None, not a value");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn send_to_closed_channel_is_an_error_not_a_panic() {
    let (tx, _rx) = closed_chan();
    assert_eq!(tx.send(7), Err(SendError(7)));
    assert_eq!(tx.try_send(7), Err(TrySendError::Closed(7)));
}

#[test]
fn close_of_closed_or_nil_channel_is_an_error_not_a_panic() {
    let (tx, _rx) = closed_chan();
    assert_eq!(tx.close(), Err(CloseError::Closed));
    assert_eq!(tx.close(), Err(CloseError::Closed), "and stays one");
    let (ntx, _nrx) = chan::nil::<i32>();
    assert_eq!(ntx.close(), Err(CloseError::Nil));
}

#[test]
fn receive_from_non_ready_channel_blocks() {
    let (_tx, rx) = chan::chan::<i32>(0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    stays_pending(rx.recv_async());
    let (_tx, rx) = chan::chan::<i32>(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    stays_pending(rx.recv_async());
}

#[test]
fn empty_select_blocks() {
    let mut sel: Select<'_, ()> = Select::new();
    assert!(sel.try_wait().is_err(), "no case: nothing can be ready");
    assert!(sel.wait_timeout(Duration::ZERO).is_err());
    stays_pending(sel.wait_async());
    // A select with a default arm only takes it.
    let took_default = select! { default => true };
    assert!(took_default);
}

#[test]
fn select_with_only_nil_channels_blocks() {
    // The same cases with a default arm: the default is taken.
    let r = select! {
        recv(NIL_RX) -> _ => unreachable!(),
        default => "default",
    };
    assert_eq!(r, "default");
    let r = select! {
        send(NIL_TX, 7) -> _ => unreachable!(),
        default => "default",
    };
    assert_eq!(r, "default");
    let r = select! {
        recv(NIL_RX) -> _ => unreachable!(),
        send(NIL_TX, 7) -> _ => unreachable!(),
        default => "default",
    };
    assert_eq!(r, "default");

    // The async form stays pending.
    stays_pending(async {
        select_async! {
            recv(NIL_RX) -> _ => unreachable!(),
        }
    });
    stays_pending(async {
        select_async! {
            send(NIL_TX, 7) -> _ => unreachable!(),
        }
    });
    stays_pending(async {
        select_async! {
            recv(NIL_RX) -> _ => unreachable!(),
            send(NIL_TX, 7) -> _ => unreachable!(),
        }
    });

    // The blocking form, on threads left blocked forever (as in Go).
    blocks_on_a_thread(|| {
        select! {
            recv(NIL_RX) -> _ => unreachable!(),
        }
    });
    blocks_on_a_thread(|| {
        select! {
            send(NIL_TX, 7) -> _ => unreachable!(),
        }
    });
    blocks_on_a_thread(|| {
        let (ntx, nrx) = chan::nil::<i32>();
        select! {
            recv(&nrx) -> _ => unreachable!(),
            send(&ntx, 7) -> _ => unreachable!(),
        }
    });
}

#[test]
fn select_with_non_ready_channel_blocks_until_it_is_ready() {
    let (tx, rx) = chan::chan::<i32>(0);
    let r = select! {
        recv(&rx) -> _ => unreachable!(),
        default => "default",
    };
    assert_eq!(r, "default");
    stays_pending(async {
        select_async! {
            recv(&rx) -> _ => unreachable!(),
        }
    });

    let (got_tx, got_rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let v = select! {
            recv(&rx) -> v => v,
        };
        got_tx.send(v).unwrap();
    });
    assert_eq!(
        got_rx.recv_timeout(BLOCK),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    // Released by a sender: the blocked select was a waiting receiver.
    tx.send(5).unwrap();
    assert_eq!(got_rx.recv_timeout(GUARD), Ok(Some(5)));
    h.join().unwrap();
}

#[test]
fn select_with_only_default_does_not_block() {
    let mut n = 0;
    for _ in 0..10 {
        select! { default => n += 1 }
    }
    assert_eq!(n, 10);
}

#[test]
fn select_with_nil_case_and_default_does_not_block() {
    for _ in 0..10 {
        let r = select! {
            recv(NIL_RX) -> _ => unreachable!(),
            default => 1,
        };
        assert_eq!(r, 1);
        let r = select! {
            send(NIL_TX, 7) -> _ => unreachable!(),
            default => 2,
        };
        assert_eq!(r, 2);
    }
}

#[test]
fn select_with_ready_channels_does_not_block() {
    let (tx, rx) = chan::chan::<i32>(1);
    select! {
        send(&tx, 7) -> r => assert_eq!(r, Ok(())),
        default => unreachable!("room in the buffer: the send is ready"),
    }
    select! {
        recv(&rx) -> v => assert_eq!(v, Some(7)),
        default => unreachable!("a value is buffered: the receive is ready"),
    }
    // And without a default, on this thread.
    select! {
        send(&tx, 8) -> r => assert_eq!(r, Ok(())),
    }
    select! {
        recv(&rx) -> v => assert_eq!(v, Some(8)),
    }
}

#[test]
fn select_on_closed_channel_behaves_like_the_plain_operation() {
    let (tx, rx) = closed_chan();
    // Receive: fires at once with None (Go: zero value, ok == false).
    select! {
        recv(&rx) -> v => assert_eq!(v, None),
    }
    select! {
        recv(&rx) -> v => assert_eq!(v, None),
        default => unreachable!("a closed channel is ready"),
    }
    // Send: fires at once with the value back (Go: panic).
    select! {
        send(&tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
    }
    select! {
        send(&tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
        default => unreachable!("a closed channel is ready"),
    }
    // The same in the async form and the dynamic Select.
    futures_util::FutureExt::now_or_never(async {
        select_async! {
            recv(&rx) -> v => assert_eq!(v, None),
        }
        select_async! {
            send(&tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
        }
    })
    .expect("a closed channel is ready");
    let mut sel = Select::new();
    let r = sel.recv(&rx, |v| format!("recv {v:?}"));
    let s = sel.send(&tx, 7, |res| format!("send {:?}", res.map_err(|e| e.0)));
    let (i, what) = sel.try_wait().expect("a closed channel is ready");
    if i == r {
        assert_eq!(what, "recv None");
    } else {
        assert_eq!(i, s);
        assert_eq!(what, "send Err(7)");
    }
}

#[test]
fn select_does_not_match_itself() {
    // Send and receive on one unbuffered channel in one select: the two cases must
    // not pair with each other.
    let (tx, rx) = chan::chan::<i32>(0);
    let r = select! {
        send(&tx, 1) -> _ => "send",
        recv(&rx) -> _ => "recv",
        default => "default",
    };
    assert_eq!(r, "default");
    stays_pending(async {
        select_async! {
            send(&tx, 1) -> _ => unreachable!("matched itself"),
            recv(&rx) -> _ => unreachable!("matched itself"),
        }
    });
    let mut sel = Select::new();
    sel.send(&tx, 1, |_| ());
    sel.recv(&rx, |_| ());
    assert!(sel.try_wait().is_err(), "matched itself");
    drop(sel);

    // The blocking form waits for a partner: first a receiver, then a sender.
    for partner in ["receiver", "sender"] {
        let (done_tx, done_rx) = mpsc::channel();
        let (tx2, rx2) = (tx.clone(), rx.clone());
        let h = thread::spawn(move || {
            let what = select! {
                send(&tx2, 1) -> r => format!("sent {r:?}"),
                recv(&rx2) -> v => format!("received {v:?}"),
            };
            done_tx.send(what).unwrap();
        });
        assert_eq!(
            done_rx.recv_timeout(BLOCK),
            Err(mpsc::RecvTimeoutError::Timeout),
            "the select completed without a partner"
        );
        if partner == "receiver" {
            assert_eq!(rx.recv_timeout(GUARD), Ok(1));
            assert_eq!(done_rx.recv_timeout(GUARD).unwrap(), "sent Ok(())");
        } else {
            assert_eq!(tx.send_timeout(2, GUARD), Ok(()));
            assert_eq!(done_rx.recv_timeout(GUARD).unwrap(), "received Some(2)");
        }
        h.join().unwrap();
    }
}

//! loom models of select: two selects meeting on a rendezvous channel, a select
//! racing a close, and a select over two buffered channels racing two senders.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p hoare --release --test loom_select`.
//! Under loom a select tries its cases in a fixed order (a model must replay the
//! same way); loom explores the interleavings of the registrations, the
//! compare-and-swap that picks the winning case, and the wake-ups.
#![cfg(loom)]

use hoare::chan;
use hoare::chan::TryRecvError;
use hoare::select;
use loom::thread;

/// A select sending on an unbuffered channel meets a select receiving on it (Go's
/// test/chan/doubleselect.go in miniature): each also waits on a channel nobody
/// uses, so both register on two channels. The value crosses exactly once.
#[test]
fn two_selects_meet_on_a_rendezvous_channel() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let (_idle_tx, idle_rx) = chan::<u32>(0);
        let (idle2_tx, _idle2_rx) = chan::<u32>(0);
        let sender = thread::spawn(move || {
            select! {
                send(&tx, 7) -> res => res.is_ok(),
                recv(&idle_rx) -> _ => false,
            }
        });
        let got = select! {
            recv(&rx) -> v => v,
            send(&idle2_tx, 0) -> _ => None,
        };
        assert_eq!(got, Some(7));
        assert!(sender.join().unwrap());
    });
}

/// A select waiting on two channels while one is closed and the other gets a
/// value: it fires exactly one case, and a value it did not take stays queued.
#[test]
fn a_select_races_close() {
    loom::model(|| {
        let (tx1, rx1) = chan::<u32>(0);
        let (tx2, rx2) = chan::<u32>(1);
        let selector = thread::spawn(move || {
            let got = select! {
                recv(&rx1) -> v => (1, v),
                recv(&rx2) -> v => (2, v),
            };
            (got, rx2)
        });
        tx1.close().unwrap();
        tx2.send(5).unwrap();
        let (got, rx2) = selector.join().unwrap();
        let left = rx2.try_recv();
        match got {
            (1, None) => assert_eq!(left, Ok(5)),
            (2, Some(5)) => assert_eq!(left, Err(TryRecvError::Empty)),
            other => panic!("unexpected {other:?}"),
        }
        drop(tx1);
    });
}

/// A select over two buffered channels, each fed by its own sender: the select
/// takes exactly one value, and the other stays in its channel.
#[test]
fn a_select_takes_one_of_two_buffered_values() {
    loom::model(|| {
        let (tx1, rx1) = chan::<u32>(1);
        let (tx2, rx2) = chan::<u32>(1);
        let s1 = thread::spawn(move || tx1.send(1).unwrap());
        let s2 = thread::spawn(move || tx2.send(2).unwrap());
        let got = select! {
            recv(&rx1) -> v => v,
            recv(&rx2) -> v => v,
        };
        s1.join().unwrap();
        s2.join().unwrap();
        let rest: Vec<u32> = rx1.try_iter().chain(rx2.try_iter()).collect();
        match got {
            Some(1) => assert_eq!(rest, [2]),
            Some(2) => assert_eq!(rest, [1]),
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// An async select is dropped while a sender hands it a value: the value is not
/// lost, the next receive gets it.
#[test]
fn a_dropped_async_select_loses_no_value() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let (_idle_tx, idle_rx) = chan::<u32>(0);
        let sender = thread::spawn(move || tx.send(3));
        {
            let waker = Waker::noop();
            let mut cx = Context::from_waker(waker);
            let mut fut = pin!(async {
                hoare::select_async! {
                    recv(&rx) -> v => v,
                    recv(&idle_rx) -> v => v,
                }
            });
            if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                // It found the sender waiting: fine, the value is here.
                assert_eq!(v, Some(3));
                assert_eq!(sender.join().unwrap(), Ok(()));
                return;
            }
        }
        // Dropped while pending: the value reaches the next receive instead.
        assert_eq!(rx.recv(), Some(3));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

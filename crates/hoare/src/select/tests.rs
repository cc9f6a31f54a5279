//! Unit tests of the select machinery; small enough for miri.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::thread;

use crate::chan::{self, TryRecvError};
use crate::go::block_on;
use crate::{select, select_async};

#[test]
fn ready_recv_fires_and_default_otherwise() {
    let (tx, rx) = chan::chan::<i32>(1);
    let got = select! {
        recv(&rx) -> v => v,
        default => Some(-1),
    };
    assert_eq!(got, Some(-1));
    tx.send(5).unwrap();
    let got = select! {
        recv(&rx) -> v => v,
        default => Some(-1),
    };
    assert_eq!(got, Some(5));
}

#[test]
fn a_send_not_chosen_sends_nothing() {
    let (full_tx, full_rx) = chan::chan::<i32>(1);
    full_tx.send(1).unwrap();
    let (tx, rx) = chan::chan::<i32>(1);
    tx.send(2).unwrap();
    let got = select! {
        send(&full_tx, 99) -> _ => None,
        recv(&rx) -> v => v,
    };
    assert_eq!(got, Some(2));
    assert_eq!(full_rx.try_recv(), Ok(1));
    assert_eq!(full_rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_select_does_not_meet_itself() {
    let (tx, rx) = chan::chan::<i32>(0);
    let r = select! {
        send(&tx, 1) -> _ => "sent",
        recv(&rx) -> _ => "received",
        default => "nobody",
    };
    assert_eq!(r, "nobody");
}

#[test]
fn a_select_send_meets_a_select_recv() {
    let (tx, rx) = chan::chan::<i32>(0);
    let (_keep, never) = chan::chan::<i32>(0);
    let sender = thread::spawn(move || {
        select! {
            send(&tx, 7) -> res => res.is_ok(),
            recv(&never) -> _ => false,
        }
    });
    let (_keep2, never2) = chan::chan::<i32>(0);
    let got = select! {
        recv(&rx) -> v => v,
        recv(&never2) -> _ => None,
    };
    assert_eq!(got, Some(7));
    assert!(sender.join().unwrap());
}

#[test]
fn closed_channels_fire_without_panicking() {
    let (tx, rx) = chan::chan::<i32>(0);
    tx.close().unwrap();
    let got = select! { recv(&rx) -> v => v };
    assert_eq!(got, None);
    let res = select! { send(&tx, 3) -> res => res };
    assert_eq!(res.unwrap_err().0, 3);
}

#[test]
fn dropping_a_pending_async_select_keeps_the_value() {
    let (tx, rx) = chan::chan::<i32>(0);
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut fut = pin!(async {
            select_async! {
                recv(&rx) -> v => v,
            }
        });
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // The sender hands its value to the waiting select...
        tx.try_send(4).unwrap();
        // ...which is dropped before it sees it.
    }
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn async_select_sends_to_a_waiting_receiver() {
    let (tx, rx) = chan::chan::<i32>(0);
    let receiver = thread::spawn(move || rx.recv());
    let sent = block_on(async {
        select_async! {
            send(&tx, 9) -> res => res.is_ok(),
        }
    });
    assert!(sent);
    assert_eq!(receiver.join().unwrap(), Some(9));
}

#[test]
fn dynamic_select_meets_a_sender_and_a_receiver() {
    use crate::select::Select;

    let (tx, rx) = chan::chan::<i32>(0);
    let (out_tx, out_rx) = chan::chan::<i32>(0);
    let _open = tx.clone(); // keeps `rx` open once the sender is done
    let sender = thread::spawn(move || tx.send(1));
    let receiver = thread::spawn(move || out_rx.recv());
    let mut sel = Select::new();
    let r = sel.recv(&rx, |v| v);
    let s = sel.send(&out_tx, 2, |res| res.ok().map(|()| 0));
    let mut fired = Vec::new();
    for _ in 0..2 {
        let (i, v) = block_on(sel.wait_async());
        fired.push((i, v));
    }
    fired.sort();
    assert_eq!(fired, [(r, Some(1)), (s, Some(0))]);
    assert_eq!(sender.join().unwrap(), Ok(()));
    assert_eq!(receiver.join().unwrap(), Some(2));
}

#[test]
fn dropped_dynamic_wait_loses_no_value() {
    use crate::select::Select;

    let (tx, rx) = chan::chan::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&rx, |v| v);
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut wait = pin!(sel.wait_async());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        tx.try_send(8).unwrap();
    }
    assert_eq!(sel.wait(), (0, Some(8)));
}

#[test]
fn select_futures_are_send_when_their_values_are() {
    fn assert_send<T: Send>(_: &T) {}
    let (tx, rx) = chan::chan::<String>(1);
    let fut = async {
        select_async! {
            recv(&rx) -> v => v,
            send(&tx, String::new()) -> _ => None,
        }
    };
    assert_send(&fut);
    let mut sel = crate::select::Select::new();
    sel.recv(&rx, |v| v);
    assert_send(&sel);
    assert_send(&sel.wait_async());
}

#[test]
fn a_cancel_races_a_send_into_a_select() {
    for _ in 0..20 {
        let (ctx, cancel) = crate::context::Context::background().with_cancel();
        let (tx, rx) = chan::chan::<u32>(1);
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
    }
}

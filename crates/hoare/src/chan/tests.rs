//! Unit tests of the channel internals, small enough for miri.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;

use super::buffer::FIRST_CHUNK;
use super::*;

fn poll_once<F: Future>(f: &mut Pin<Box<F>>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    f.as_mut().poll(&mut cx)
}

/// Counts drops, to prove values are dropped exactly once.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn buffered_keeps_fifo_across_laps() {
    let (tx, rx) = chan::<u32>(3);
    for round in 0..5 {
        for i in 0..3 {
            tx.send(round * 3 + i).unwrap();
        }
        assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
        assert_eq!(rx.len(), 3);
        for i in 0..3 {
            assert_eq!(rx.recv(), Some(round * 3 + i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn buffered_grows_into_lazy_chunks() {
    let cap = FIRST_CHUNK * 3 + 7;
    let n = FIRST_CHUNK * 2 + 5;
    let (tx, rx) = chan::<usize>(cap);
    assert_eq!(tx.capacity(), cap);
    for round in 0..2 {
        for i in 0..n {
            tx.try_send(round * n + i).unwrap();
        }
        assert_eq!(rx.len(), n);
        for i in 0..n {
            assert_eq!(rx.try_recv(), Ok(round * n + i));
        }
    }
}

#[test]
fn huge_capacity_is_valid_and_lazy() {
    let (tx, rx) = chan::<u8>(usize::MAX);
    assert_eq!(tx.capacity(), usize::MAX);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), Some(2));
}

#[test]
fn buffered_values_left_at_drop_are_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Tracked>(4);
    for _ in 0..3 {
        tx.send(Tracked(drops.clone())).unwrap();
    }
    drop(rx.recv());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn last_receiver_drop_drops_buffer_and_fails_sends() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Tracked>(4);
    tx.send(Tracked(drops.clone())).unwrap();
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let err = tx.send(Tracked(drops.clone())).unwrap_err();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the value comes back, not dropped"
    );
    drop(err);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn rendezvous_hands_over_between_threads() {
    let (tx, rx) = chan::<u32>(0);
    let t = thread::spawn(move || (0..20).map(|_| rx.recv().unwrap()).sum::<u32>());
    for i in 0..20 {
        tx.send(i).unwrap();
    }
    assert_eq!(t.join().unwrap(), (0..20).sum());
}

#[test]
fn rendezvous_try_ops_need_a_waiting_partner() {
    let (tx, rx) = chan::<u32>(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let mut send = Box::pin(tx.send_async(2));
    assert!(poll_once(&mut send).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(poll_once(&mut send), Poll::Ready(Ok(())));
}

#[test]
fn async_send_dropped_while_waiting_is_not_sent() {
    let (tx, rx) = chan::<u32>(0);
    let mut send = Box::pin(tx.send_async(1));
    assert!(poll_once(&mut send).is_pending());
    drop(send);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let (tx, rx) = chan::<u32>(1);
    tx.send(0).unwrap();
    let mut send = Box::pin(tx.send_async(1));
    assert!(poll_once(&mut send).is_pending());
    drop(send);
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn async_recv_dropped_after_handoff_passes_the_value_on() {
    let (tx, rx) = chan::<u32>(0);
    let mut recv = Box::pin(rx.recv_async());
    assert!(poll_once(&mut recv).is_pending());
    // A waiting receiver makes a non-blocking send succeed, as in Go.
    assert_eq!(tx.try_send(5), Ok(()));
    drop(recv);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn async_recv_dropped_after_handoff_wakes_another_receiver() {
    let (tx, rx) = chan::<u32>(0);
    let mut first = Box::pin(rx.recv_async());
    let mut second = Box::pin(rx.recv_async());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    tx.try_send(8).unwrap();
    drop(first);
    assert_eq!(poll_once(&mut second), Poll::Ready(Some(8)));
}

#[test]
fn buffered_async_recv_dropped_after_notify_passes_notification_on() {
    let (tx, rx) = chan::<u32>(1);
    let mut first = Box::pin(rx.recv_async());
    let mut second = Box::pin(rx.recv_async());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    tx.send(4).unwrap(); // notifies `first`
    drop(first); // ... which passes the notification to `second`
    assert_eq!(poll_once(&mut second), Poll::Ready(Some(4)));
}

#[test]
fn close_wakes_blocked_receiver_and_sender() {
    let (tx, rx) = chan::<u32>(0);
    let rx2 = rx.clone();
    let blocked_recv = thread::spawn(move || rx2.recv());
    let tx2 = tx.clone();
    let (tx3, rx3) = chan::<u32>(1);
    tx3.send(0).unwrap();
    let blocked_send = thread::spawn(move || tx3.send(1));
    tx2.close().unwrap();
    assert_eq!(blocked_recv.join().unwrap(), None);
    assert_eq!(tx.close(), Err(CloseError::Closed));
    drop(rx3);
    assert_eq!(blocked_send.join().unwrap(), Err(SendError(1)));
    drop(rx);
}

#[test]
fn mpmc_threads_deliver_each_value_once() {
    const N: usize = if cfg!(miri) { 50 } else { 20_000 };
    for cap in [0, 1, 8] {
        let (tx, rx) = chan::<usize>(cap);
        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new((0..2 * N).map(|_| AtomicUsize::new(0)).collect());
        let mut handles = Vec::new();
        for p in 0..2 {
            let tx = tx.clone();
            handles.push(thread::spawn(move || {
                for i in 0..N {
                    tx.send(p * N + i).unwrap();
                }
            }));
        }
        drop(tx);
        for _ in 0..2 {
            let rx = rx.clone();
            let seen = seen.clone();
            handles.push(thread::spawn(move || {
                for v in &rx {
                    seen[v].fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert!(
            seen.iter().all(|c| c.load(Ordering::SeqCst) == 1),
            "cap {cap}"
        );
    }
}

/// A waker that counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn async_recv_completing_while_registered_leaves_no_stale_registration() {
    let (tx, rx) = chan::<u32>(4);
    let mut second = Box::pin(rx.recv_async());
    let mut first = Box::pin(rx.recv_async());
    assert!(poll_once(&mut second).is_pending());
    assert!(poll_once(&mut first).is_pending());
    tx.try_send(1).unwrap(); // notifies `second`, the oldest registration
                             // `first` is polled anyway and takes the value on its fast path.
    assert_eq!(poll_once(&mut first), Poll::Ready(Some(1)));
    drop(first);
    assert_eq!(poll_once(&mut second), Poll::Pending);
    drop(second);
    // A new receiver must be the one woken by the next value, not a stale entry.
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut third = Box::pin(rx.recv_async());
    assert!(third
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    tx.try_send(2).unwrap();
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "the waiting receiver was not woken"
    );
    assert_eq!(poll_once(&mut third), Poll::Ready(Some(2)));
}

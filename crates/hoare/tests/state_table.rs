//! Go's channel state table (seed, "Channel" section), row by row, for the
//! blocking API and the async API.
//!
//! | Operation | Channel state      | Go result            | hoare                          |
//! |-----------|--------------------|----------------------|--------------------------------|
//! | Read      | nil                | block                | blocks (timeout / Pending)     |
//! |           | open, not empty    | value                | `Some(v)` / `Ok(v)`            |
//! |           | open, empty        | block                | blocks (timeout / Pending)     |
//! |           | closed             | zero value, false    | `None` (after draining)        |
//! |           | write only         | compilation error    | `Sender` has no `recv`         |
//! | Write     | nil                | block                | blocks (timeout / Pending)     |
//! |           | open, full         | block                | blocks (timeout / Pending)     |
//! |           | open, not full     | write value          | `Ok(())`                       |
//! |           | closed             | panic                | `Err(SendError(v))`, v back    |
//! |           | receive only       | compilation error    | `Receiver` has no `send`       |
//! | Close     | nil                | panic                | `Err(CloseError::Nil)`         |
//! |           | open, not empty    | closes; drain, zero  | `Ok(())`; values, then `None`  |
//! |           | open, empty        | closes; zero value   | `Ok(())`; `None`               |
//! |           | closed             | panic                | `Err(CloseError::Closed)`      |
//! |           | receive only       | compilation error    | `Receiver` has no `close`      |
//!
//! The three "compilation error" rows are enforced by the types and cannot be
//! expressed as run-time tests: they are covered by `compile_fail` doc-tests in
//! the rustdoc of `hoare::chan` (crates/hoare/src/chan/): `Sender::recv`,
//! `Receiver::send` and `Receiver::close` must not compile.
//!
//! "Blocks" is shown with a bounded wait that must expire (`*_timeout` for the
//! blocking API; for the async API the future must stay `Pending` across
//! polls, yields and a `tokio::time::timeout`). Nothing here sleeps to
//! synchronise.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::{poll, StreamExt};
use hoare::chan;
use hoare::chan::{
    CloseError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// How long an operation that must block is given to (wrongly) complete.
const BLOCK: Duration = Duration::from_millis(if cfg!(miri) { 5 } else { 50 });
/// Upper bound for an operation that must complete (guards against hangs).
const GUARD: Duration = Duration::from_secs(20);

/// True when `fut` never completes: Pending on repeated polls, across task
/// yields, and for a `tokio::time::timeout` of `BLOCK`.
async fn stays_pending<F: Future>(fut: F) -> bool {
    let mut fut = pin!(fut);
    for _ in 0..3 {
        if poll!(fut.as_mut()).is_ready() {
            return false;
        }
        tokio::task::yield_now().await;
    }
    tokio::time::timeout(BLOCK, fut).await.is_err()
}

async fn completes<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(GUARD, fut)
        .await
        .expect("operation did not complete")
}

// ------------------------------------------------------------------ Read ---

#[test]
fn read_nil_blocks() {
    let rx = chan::never::<u64>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
    assert_eq!(
        rx.recv_deadline(Instant::now() + BLOCK),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(!rx.is_closed());

    let (_ntx, nrx) = chan::nil::<u64>();
    assert_eq!(nrx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(nrx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
    assert!(!nrx.is_closed());
}

#[test]
fn read_nil_still_blocks_after_nil_sender_dropped() {
    // A nil channel has no state to close: dropping its sender does not turn
    // reads into "closed".
    let (ntx, nrx) = chan::nil::<u64>();
    drop(ntx);
    assert_eq!(nrx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(nrx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
}

#[tokio::test]
async fn read_nil_blocks_async() {
    let rx = chan::never::<u64>();
    assert!(stays_pending(rx.recv_async()).await);
    assert!(stays_pending(rx.stream().next()).await);
    let (_ntx, nrx) = chan::nil::<u64>();
    assert!(stays_pending(nrx.recv_async()).await);
}

#[test]
fn read_open_not_empty_gives_value() {
    let (tx, rx) = chan::chan::<u64>(4);
    for v in 1..=4 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv_timeout(BLOCK), Ok(3));
    assert_eq!(rx.recv_deadline(Instant::now() + BLOCK), Ok(4));
    assert!(rx.is_empty());
    assert!(!rx.is_closed());
}

#[tokio::test]
async fn read_open_not_empty_gives_value_async() {
    let (tx, rx) = chan::chan::<u64>(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let mut fut = pin!(rx.recv_async());
    assert_eq!(poll!(fut.as_mut()), Poll::Ready(Some(1)));
    assert_eq!(rx.recv_async().await, Some(2));
}

#[test]
fn read_open_empty_blocks() {
    for cap in [0, 1, 16] {
        let (tx, rx) = chan::chan::<u64>(cap);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
        assert_eq!(rx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
        assert_eq!(
            rx.recv_deadline(Instant::now() + BLOCK),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(!rx.is_closed());
        // The block ends when a value arrives.
        let h = thread::spawn(move || rx.recv());
        tx.send(9).unwrap();
        assert_eq!(h.join().unwrap(), Some(9), "cap {cap}");
    }
}

#[tokio::test]
async fn read_open_empty_blocks_async() {
    for cap in [0, 1, 16] {
        let (tx, rx) = chan::chan::<u64>(cap);
        assert!(stays_pending(rx.recv_async()).await, "cap {cap}");
        // A pending receive is woken by a send from another thread.
        let mut fut = pin!(rx.recv_async());
        assert!(poll!(fut.as_mut()).is_pending());
        let h = thread::spawn(move || tx.send(9));
        assert_eq!(completes(fut).await, Some(9), "cap {cap}");
        assert_eq!(h.join().unwrap(), Ok(()));
    }
}

#[test]
fn read_closed_gives_none_after_draining() {
    let (tx, rx) = chan::chan::<u64>(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    tx.close().unwrap();
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), Some(2));
    assert_eq!(rx.recv(), None);
    assert_eq!(rx.recv(), None, "closed stays closed");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv_timeout(BLOCK), Err(RecvTimeoutError::Closed));
    assert_eq!(
        rx.recv_deadline(Instant::now() + GUARD),
        Err(RecvTimeoutError::Closed),
        "must not wait for the deadline on a closed channel"
    );
}

#[tokio::test]
async fn read_closed_gives_none_after_draining_async() {
    for cap in [0, 1] {
        let (tx, rx) = chan::chan::<u64>(cap);
        if cap > 0 {
            tx.send(1).unwrap();
        }
        tx.close().unwrap();
        if cap > 0 {
            assert_eq!(rx.recv_async().await, Some(1));
        }
        let mut fut = pin!(rx.recv_async());
        assert_eq!(poll!(fut.as_mut()), Poll::Ready(None), "cap {cap}");
        assert_eq!(rx.stream().next().await, None);
    }
}

// ----------------------------------------------------------------- Write ---

#[test]
fn write_nil_blocks() {
    let (ntx, _nrx) = chan::nil::<String>();
    assert_eq!(
        ntx.try_send("a".into()),
        Err(TrySendError::Full("a".to_string()))
    );
    assert_eq!(
        ntx.send_timeout("b".into(), BLOCK),
        Err(SendTimeoutError::Timeout("b".to_string()))
    );
    assert_eq!(
        ntx.send_deadline("c".into(), Instant::now() + BLOCK),
        Err(SendTimeoutError::Timeout("c".to_string()))
    );
    assert!(!ntx.is_closed());
}

#[test]
fn write_nil_still_blocks_after_nil_receiver_dropped() {
    // A nil channel has no state: dropping its receiver does not make sends fail.
    let (ntx, nrx) = chan::nil::<u64>();
    drop(nrx);
    assert_eq!(ntx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(
        ntx.send_timeout(2, BLOCK),
        Err(SendTimeoutError::Timeout(2))
    );
}

#[tokio::test]
async fn write_nil_blocks_async() {
    let (ntx, _nrx) = chan::nil::<u64>();
    assert!(stays_pending(ntx.send_async(1)).await);
}

#[test]
fn write_open_full_blocks() {
    // chan(0) with no receiver waiting is always full.
    for cap in [0, 1, 2] {
        let (tx, rx) = chan::chan::<u64>(cap);
        for v in 0..cap as u64 {
            tx.send(v).unwrap();
        }
        assert_eq!(tx.len(), cap);
        assert_eq!(tx.try_send(7), Err(TrySendError::Full(7)), "cap {cap}");
        assert_eq!(tx.send_timeout(8, BLOCK), Err(SendTimeoutError::Timeout(8)));
        assert_eq!(
            tx.send_deadline(9, Instant::now() + BLOCK),
            Err(SendTimeoutError::Timeout(9))
        );
        assert_eq!(tx.len(), cap, "failed sends must not enqueue");
        // The block ends when a receiver makes room; FIFO is kept.
        let tx2 = tx.clone();
        let h = thread::spawn(move || tx2.send(100));
        let mut got: Vec<u64> = (0..=cap).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(h.join().unwrap(), Ok(()));
        assert_eq!(got.pop(), Some(100), "cap {cap}");
        assert_eq!(got, (0..cap as u64).collect::<Vec<_>>());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[tokio::test]
async fn write_open_full_blocks_async() {
    for cap in [0, 1, 2] {
        let (tx, rx) = chan::chan::<u64>(cap);
        for v in 0..cap as u64 {
            tx.send(v).unwrap();
        }
        assert!(stays_pending(tx.send_async(7)).await, "cap {cap}");
        assert_eq!(tx.len(), cap, "a dropped pending send must not enqueue");
        // A pending send is woken once a receiver takes a value.
        let mut fut = pin!(tx.send_async(100));
        assert!(poll!(fut.as_mut()).is_pending());
        let rx2 = rx.clone();
        let h = thread::spawn(move || (0..=cap).map(|_| rx2.recv().unwrap()).collect::<Vec<_>>());
        assert_eq!(completes(fut).await, Ok(()));
        let mut got = h.join().unwrap();
        assert_eq!(got.pop(), Some(100), "cap {cap}");
        assert_eq!(got, (0..cap as u64).collect::<Vec<_>>());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn write_open_not_full_writes_value() {
    let (tx, rx) = chan::chan::<u64>(4);
    assert_eq!(tx.send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(tx.send_timeout(3, BLOCK), Ok(()));
    assert_eq!(tx.send_deadline(4, Instant::now() + BLOCK), Ok(()));
    assert_eq!(tx.len(), 4);
    assert_eq!(rx.len(), 4);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[tokio::test]
async fn write_open_not_full_writes_value_async() {
    let (tx, rx) = chan::chan::<u64>(2);
    let mut fut = pin!(tx.send_async(1));
    assert_eq!(poll!(fut.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(tx.send_async(2).await, Ok(()));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), Some(2));
}

#[test]
fn write_closed_returns_value_in_error() {
    for cap in [0, 1, 4] {
        let (tx, _rx) = chan::chan::<String>(cap);
        tx.close().unwrap();
        assert!(tx.is_closed());
        assert_eq!(tx.send("a".into()), Err(SendError("a".to_string())));
        assert_eq!(
            tx.try_send("b".into()),
            Err(TrySendError::Closed("b".to_string()))
        );
        assert_eq!(
            tx.send_timeout("c".into(), BLOCK),
            Err(SendTimeoutError::Closed("c".to_string()))
        );
        assert_eq!(
            tx.send_deadline("d".into(), Instant::now() + BLOCK),
            Err(SendTimeoutError::Closed("d".to_string()))
        );
        assert_eq!(
            tx.clone().send("e".into()).unwrap_err().into_inner(),
            "e",
            "cap {cap}"
        );
    }
}

#[test]
fn write_closed_full_channel_fails_without_blocking() {
    let (tx, rx) = chan::chan::<u64>(1);
    tx.send(1).unwrap();
    tx.close().unwrap();
    // Closed takes precedence over full: no blocking, no Full.
    assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    assert_eq!(tx.send_timeout(3, GUARD), Err(SendTimeoutError::Closed(3)));
    assert_eq!(tx.send(4), Err(SendError(4)));
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), None);
}

#[tokio::test]
async fn write_closed_returns_value_in_error_async() {
    for cap in [0, 1] {
        let (tx, _rx) = chan::chan::<String>(cap);
        if cap == 1 {
            tx.send("full".into()).unwrap();
        }
        tx.close().unwrap();
        let mut fut = pin!(tx.send_async("a".into()));
        assert_eq!(
            poll!(fut.as_mut()),
            Poll::Ready(Err(SendError("a".to_string()))),
            "cap {cap}"
        );
    }
}

// ----------------------------------------------------------------- Close ---

#[test]
fn close_nil_is_nil_error() {
    let (ntx, nrx) = chan::nil::<u64>();
    assert_eq!(ntx.close(), Err(CloseError::Nil));
    assert_eq!(ntx.close(), Err(CloseError::Nil), "still nil, not closed");
    assert_eq!(ntx.clone().close(), Err(CloseError::Nil));
    assert!(!ntx.is_closed());
    assert_eq!(nrx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
}

#[test]
fn close_open_not_empty_reads_succeed_until_drained() {
    let (tx, rx) = chan::chan::<u64>(3);
    for v in 1..=3 {
        tx.send(v).unwrap();
    }
    assert_eq!(tx.close(), Ok(()));
    assert!(tx.is_closed());
    assert!(rx.is_closed());
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv_timeout(BLOCK), Ok(3));
    assert_eq!(rx.recv(), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[tokio::test]
async fn close_open_not_empty_reads_succeed_until_drained_async() {
    let (tx, rx) = chan::chan::<u64>(3);
    for v in 1..=3 {
        tx.send_async(v).await.unwrap();
    }
    tx.close().unwrap();
    assert_eq!(rx.stream().collect::<Vec<_>>().await, [1, 2, 3]);
    assert_eq!(rx.recv_async().await, None);
}

#[test]
fn close_open_not_empty_fails_blocked_sender_and_keeps_buffer() {
    let (tx, rx) = chan::chan::<u64>(1);
    tx.send(1).unwrap();
    let tx2 = tx.clone();
    // Blocked on the full buffer (or started after close): either way Err(2).
    let h = thread::spawn(move || tx2.send(2));
    tx.close().unwrap();
    assert_eq!(h.join().unwrap(), Err(SendError(2)));
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), None);
}

#[test]
fn close_open_empty_reads_give_none() {
    for cap in [0, 1] {
        let (tx, rx) = chan::chan::<u64>(cap);
        assert_eq!(tx.close(), Ok(()));
        assert_eq!(rx.recv(), None, "cap {cap}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx.recv_timeout(GUARD), Err(RecvTimeoutError::Closed));
    }
}

#[test]
fn close_open_empty_wakes_blocked_receivers() {
    for cap in [0, 1] {
        let (tx, rx) = chan::chan::<u64>(cap);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        tx.close().unwrap();
        for h in handles {
            assert_eq!(h.join().unwrap(), None, "cap {cap}");
        }
    }
}

#[tokio::test]
async fn close_open_empty_wakes_pending_receivers_async() {
    for cap in [0, 1] {
        let (tx, rx) = chan::chan::<u64>(cap);
        let mut a = pin!(rx.recv_async());
        let mut b = pin!(rx.recv_async());
        assert!(poll!(a.as_mut()).is_pending());
        assert!(poll!(b.as_mut()).is_pending());
        let h = thread::spawn(move || tx.close());
        assert_eq!(completes(a).await, None, "cap {cap}");
        assert_eq!(completes(b).await, None, "cap {cap}");
        assert_eq!(h.join().unwrap(), Ok(()));
    }
}

#[test]
fn close_closed_is_closed_error() {
    let (tx, rx) = chan::chan::<u64>(1);
    let tx2 = tx.clone();
    assert_eq!(tx.close(), Ok(()));
    assert_eq!(tx.close(), Err(CloseError::Closed));
    assert_eq!(tx2.close(), Err(CloseError::Closed));
    assert!(tx2.is_closed());
    assert_eq!(rx.recv(), None);
}

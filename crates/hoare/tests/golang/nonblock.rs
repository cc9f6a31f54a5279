//! Port of Go's test/chan/nonblock.go: non-blocking sends and receives (a `select`
//! with a `default` arm) on unbuffered and 1-buffered channels, for operands of
//! several sizes and types (i32, i64, bool, String).
//!
//! Adapted:
//! - Go checks the non-blocking operation against a partner goroutine and retries
//!   it, sleeping a few microseconds between tries, up to a bound. Here the partner
//!   is a thread (or a tokio task for `select_async!`), and the retry loop yields
//!   instead of sleeping; its bound is a generous deadline that only guards against
//!   a hang. Nothing waits for time to pass: each phase ends on a channel message.
//! - Go's per-type functions (`i32receiver`, `ssender`, ...) are one generic
//!   function, run for each type.
//! - Also run with async tasks and `select_async!`.

use std::fmt::Debug;
use std::thread;
use std::time::{Duration, Instant};

use hoare::chan::{self, Receiver, Sender};
use hoare::{select, select_async};

/// Upper bound for a retry loop that must eventually succeed.
const GUARD: Duration = Duration::from_secs(20);

/// Retries `op` (one non-blocking select) until it returns `Some`.
fn retry<T>(what: &str, mut op: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = op() {
            return v;
        }
        assert!(start.elapsed() < GUARD, "{what}: never succeeded");
        thread::yield_now();
    }
}

/// Go's `xreceiver(c, strobe)`: receives, checks the value, signals.
fn receiver<T: PartialEq + Debug>(c: Receiver<T>, want: T, strobe: Sender<bool>) {
    assert_eq!(c.recv(), Some(want), "receiver: wrong value");
    strobe.send(true).unwrap();
}

/// Go's `xsender(c, strobe)`: sends, signals.
fn sender<T>(c: Sender<T>, v: T, strobe: Sender<bool>) {
    assert!(c.send(v).is_ok(), "sender: channel closed");
    strobe.send(true).unwrap();
}

/// One type, one buffer size: Go's main loop body for that type.
fn nonblock<T>(buffer: usize, to_receiver: T, from_sender: T)
where
    T: Clone + PartialEq + Debug + Send + 'static,
{
    let (c_tx, c_rx) = chan::chan::<T>(buffer);
    let (sync_tx, sync_rx) = chan::chan::<bool>(0);

    // Nobody sends: a non-blocking receive takes the default.
    select! {
        recv(&c_rx) -> v => panic!("blocked sender (buffer {buffer}): got {v:?}"),
        default => {},
    }

    // A receiver is started: a non-blocking send eventually gets through.
    let h = {
        let (c, want, strobe) = (c_rx.clone(), to_receiver.clone(), sync_tx.clone());
        thread::spawn(move || receiver(c, want, strobe))
    };
    retry("send to receiver", || {
        select! {
            send(&c_tx, to_receiver.clone()) -> r => {
                r.expect("closed");
                Some(())
            },
            default => None,
        }
    });
    assert_eq!(sync_rx.recv(), Some(true));
    h.join().unwrap();

    // A sender is started: a non-blocking receive eventually gets its value.
    let h = {
        let (c, v, strobe) = (c_tx.clone(), from_sender.clone(), sync_tx.clone());
        thread::spawn(move || sender(c, v, strobe))
    };
    if buffer > 0 {
        // The send completes into the buffer without a receiver.
        assert_eq!(sync_rx.recv(), Some(true));
    }
    let got = retry("receive from sender", || {
        select! {
            recv(&c_rx) -> v => Some(v.expect("closed")),
            default => None,
        }
    });
    assert_eq!(got, from_sender, "sender value (buffer {buffer})");
    if buffer == 0 {
        assert_eq!(sync_rx.recv(), Some(true));
    }
    h.join().unwrap();

    // Nothing is left behind.
    select! {
        recv(&c_rx) -> v => panic!("left in the channel: {v:?}"),
        default => {},
    }
}

#[test]
fn nonblock_unbuffered_and_buffered_all_types() {
    for buffer in 0..2 {
        nonblock::<i32>(buffer, 123, 234);
        nonblock::<i64>(buffer, 123_456, 234_567);
        nonblock::<bool>(buffer, true, true);
        nonblock::<String>(buffer, "hello".into(), "hello again".into());
    }
}

/// The same with tasks: partners are tokio tasks, the non-blocking operations are
/// `select_async!` with `default`, and the retry loop yields to the runtime.
async fn nonblock_async<T>(buffer: usize, to_receiver: T, from_sender: T)
where
    T: Clone + PartialEq + Debug + Send + Sync + 'static,
{
    let (c_tx, c_rx) = chan::chan::<T>(buffer);
    let (sync_tx, sync_rx) = chan::chan::<bool>(0);

    select_async! {
        recv(&c_rx) -> v => panic!("blocked sender (buffer {buffer}): got {v:?}"),
        default => {},
    }

    let task = {
        let (c, want, strobe) = (c_rx.clone(), to_receiver.clone(), sync_tx.clone());
        tokio::spawn(async move {
            assert_eq!(c.recv_async().await, Some(want), "receiver: wrong value");
            strobe.send_async(true).await.unwrap();
        })
    };
    let start = Instant::now();
    loop {
        let sent = select_async! {
            send(&c_tx, to_receiver.clone()) -> r => r.is_ok(),
            default => false,
        };
        if sent {
            break;
        }
        assert!(start.elapsed() < GUARD, "send to receiver: never succeeded");
        tokio::task::yield_now().await;
    }
    assert_eq!(sync_rx.recv_async().await, Some(true));
    task.await.unwrap();

    let task = {
        let (c, v, strobe) = (c_tx.clone(), from_sender.clone(), sync_tx.clone());
        tokio::spawn(async move {
            assert!(c.send_async(v).await.is_ok(), "sender: channel closed");
            strobe.send_async(true).await.unwrap();
        })
    };
    if buffer > 0 {
        assert_eq!(sync_rx.recv_async().await, Some(true));
    }
    let start = Instant::now();
    let got = loop {
        let got = select_async! {
            recv(&c_rx) -> v => Some(v.expect("closed")),
            default => None,
        };
        if let Some(v) = got {
            break v;
        }
        assert!(
            start.elapsed() < GUARD,
            "receive from sender: never succeeded"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(got, from_sender, "sender value (buffer {buffer})");
    if buffer == 0 {
        assert_eq!(sync_rx.recv_async().await, Some(true));
    }
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonblock_async_unbuffered_and_buffered_all_types() {
    for buffer in 0..2 {
        nonblock_async::<i32>(buffer, 123, 234).await;
        nonblock_async::<i64>(buffer, 123_456, 234_567).await;
        nonblock_async::<bool>(buffer, true, true).await;
        nonblock_async::<String>(buffer, "hello".into(), "hello again".into()).await;
    }
}

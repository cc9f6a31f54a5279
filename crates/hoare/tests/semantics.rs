//! Channel semantics beyond the state table: ordering, rendezvous, sizes,
//! zero timeouts, iterators and streams, drop semantics, auto traits, Debug.

use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::{future, poll, StreamExt};
use hoare::chan;
use hoare::chan::{
    CloseError, Receiver, RecvFuture, RecvStream, RecvTimeoutError, SendError, SendFuture,
    SendTimeoutError, Sender, TryRecvError, TrySendError,
};

/// How long an operation that must block is given to (wrongly) complete.
const BLOCK: Duration = Duration::from_millis(if cfg!(miri) { 5 } else { 50 });
/// Upper bound for an operation that must complete (guards against hangs).
const GUARD: Duration = Duration::from_secs(20);

/// Counts drops, to check that values are neither leaked nor dropped twice.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Not Debug (but Send and Sync).
struct NoDebug;

/// Neither Debug nor Sync.
struct Opaque(#[allow(dead_code)] Cell<u8>);

// ------------------------------------------------------------- ordering ---

fn fifo_per_sender(cap: usize) {
    const SENDERS: usize = 4;
    const PER: u64 = if cfg!(miri) { 30 } else { 10_000 };
    let (tx, rx) = chan::chan::<(usize, u64)>(cap);
    let handles: Vec<_> = (0..SENDERS)
        .map(|id| {
            let tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..PER {
                    tx.send((id, seq)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0u64; SENDERS];
    for (id, seq) in &rx {
        assert_eq!(seq, next[id], "sender {id}: out of order (cap {cap})");
        next[id] += 1;
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(next, [PER; SENDERS]);
}

#[test]
fn fifo_per_sender_unbuffered() {
    fifo_per_sender(0);
}

#[test]
fn fifo_per_sender_capacity_1() {
    fifo_per_sender(1);
}

#[test]
fn fifo_per_sender_capacity_16() {
    fifo_per_sender(16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_per_sender_async_tasks() {
    const PER: u64 = if cfg!(miri) { 30 } else { 10_000 };
    for cap in [0, 1, 16] {
        let (tx, rx) = chan::chan::<(usize, u64)>(cap);
        let tasks: Vec<_> = (0..4)
            .map(|id| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for seq in 0..PER {
                        tx.send_async((id, seq)).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u64; 4];
        while let Some((id, seq)) = rx.recv_async().await {
            assert_eq!(seq, next[id], "sender {id}: out of order (cap {cap})");
            next[id] += 1;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(next, [PER; 4]);
    }
}

// ----------------------------------------------------------- rendezvous ---

#[test]
fn unbuffered_send_blocks_until_a_receiver_takes_the_value() {
    let (tx, rx) = chan::chan::<u64>(0);
    let (done_tx, done_rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let r = tx.send(7);
        done_tx.send(()).unwrap();
        r
    });
    // No receiver: the send must not have returned.
    assert_eq!(
        done_rx.recv_timeout(BLOCK),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert_eq!(rx.len(), 0, "an unbuffered channel never holds values");
    assert_eq!(rx.recv(), Some(7));
    done_rx.recv().unwrap();
    assert_eq!(h.join().unwrap(), Ok(()));
}

#[test]
fn unbuffered_send_returns_only_after_the_value_was_taken() {
    const ROUNDS: u64 = if cfg!(miri) { 20 } else { 2_000 };
    let (tx, rx) = chan::chan::<u64>(0);
    let rx2 = rx.clone();
    let h = thread::spawn(move || (0..ROUNDS).map(|_| rx2.recv().unwrap()).collect::<Vec<_>>());
    for v in 0..ROUNDS {
        tx.send(v).unwrap();
        // The receiver thread has it: nothing is left for anyone else.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "value {v}");
    }
    assert_eq!(h.join().unwrap(), (0..ROUNDS).collect::<Vec<_>>());
}

#[test]
fn unbuffered_send_timeout_without_receiver_returns_the_value() {
    let (tx, rx) = chan::chan::<String>(0);
    assert_eq!(
        tx.send_timeout("v".into(), BLOCK),
        Err(SendTimeoutError::Timeout("v".to_string()))
    );
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "nothing left behind"
    );
}

#[test]
fn unbuffered_try_send_without_waiting_receiver_is_full() {
    let (tx, rx) = chan::chan::<String>(0);
    assert_eq!(
        tx.try_send("v".into()),
        Err(TrySendError::Full("v".to_string()))
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// Retries `op` (a non-blocking operation) until it succeeds; panics after GUARD.
fn spin_until<T>(mut op: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = op() {
            return v;
        }
        assert!(start.elapsed() < GUARD, "never succeeded");
        thread::yield_now();
    }
}

#[test]
fn unbuffered_try_ops_pair_with_blocked_counterparts() {
    let (tx, rx) = chan::chan::<u64>(0);
    let rx2 = rx.clone();
    let h = thread::spawn(move || rx2.recv());
    spin_until(|| tx.try_send(1).ok());
    assert_eq!(h.join().unwrap(), Some(1));

    let tx2 = tx.clone();
    let h = thread::spawn(move || tx2.send(2));
    assert_eq!(spin_until(|| rx.try_recv().ok()), 2);
    assert_eq!(h.join().unwrap(), Ok(()));
}

#[tokio::test]
async fn unbuffered_try_ops_pair_with_pending_futures() {
    let (tx, rx) = chan::chan::<u64>(0);
    // A polled, pending recv_async is a waiting receiver: try_send succeeds.
    let mut r = pin!(rx.recv_async());
    assert!(poll!(r.as_mut()).is_pending());
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(poll!(r.as_mut()), Poll::Ready(Some(1)));
    // A polled, pending send_async is a waiting sender: try_recv succeeds.
    let mut s = pin!(tx.send_async(2));
    assert!(poll!(s.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(poll!(s.as_mut()), Poll::Ready(Ok(())));
}

#[tokio::test]
async fn unbuffered_send_async_is_pending_until_a_receiver_takes_the_value() {
    let (tx, rx) = chan::chan::<u64>(0);
    let mut s = pin!(tx.send_async(5));
    for _ in 0..3 {
        assert!(poll!(s.as_mut()).is_pending());
        tokio::task::yield_now().await;
    }
    assert!(tokio::time::timeout(BLOCK, s.as_mut()).await.is_err());
    assert_eq!(rx.len(), 0);
    let (sent, got) = future::join(s, rx.recv_async()).await;
    assert_eq!((sent, got), (Ok(()), Some(5)));
}

#[tokio::test]
async fn dropped_pending_send_async_is_not_delivered_and_drops_its_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::chan::<Tracked>(0);
    {
        let mut s = pin!(tx.send_async(Tracked(drops.clone())));
        assert!(poll!(s.as_mut()).is_pending());
    }
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the value is dropped with the future"
    );
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}

// ------------------------------------------------------- sizes, timeouts ---

#[test]
fn len_and_capacity() {
    let (tx, rx) = chan::chan::<u64>(3);
    assert_eq!((tx.capacity(), rx.capacity()), (3, 3));
    assert!(tx.is_empty() && rx.is_empty());
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(!rx.is_empty());
    rx.recv().unwrap();
    assert_eq!(rx.len(), 1);
    tx.close().unwrap();
    assert_eq!(rx.len(), 1, "close keeps buffered values");
    rx.recv().unwrap();
    assert!(rx.is_empty());

    let (tx, rx) = chan::chan::<u64>(0);
    assert_eq!((tx.capacity(), rx.capacity(), rx.len()), (0, 0, 0));
    let (ntx, nrx) = chan::nil::<u64>();
    assert_eq!(
        (ntx.capacity(), nrx.capacity(), ntx.len(), nrx.len()),
        (0, 0, 0, 0)
    );
    assert_eq!(chan::never::<u64>().capacity(), 0);
}

#[test]
fn zero_timeouts_behave_as_try() {
    let (tx, rx) = chan::chan::<u64>(1);
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(
        rx.recv_deadline(Instant::now()),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(tx.send_timeout(1, Duration::ZERO), Ok(()));
    assert_eq!(
        tx.send_timeout(2, Duration::ZERO),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(
        tx.send_deadline(3, Instant::now()),
        Err(SendTimeoutError::Timeout(3))
    );
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(tx.send_deadline(4, Instant::now()), Ok(()));
    assert_eq!(rx.recv_deadline(Instant::now()), Ok(4));
    tx.close().unwrap();
    assert_eq!(
        tx.send_timeout(5, Duration::ZERO),
        Err(SendTimeoutError::Closed(5))
    );
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Closed)
    );

    // Unbuffered: like try_send/try_recv, they pair with a blocked counterpart.
    let (tx, rx) = chan::chan::<u64>(0);
    assert_eq!(
        tx.send_timeout(1, Duration::ZERO),
        Err(SendTimeoutError::Timeout(1))
    );
    let rx2 = rx.clone();
    let h = thread::spawn(move || rx2.recv());
    spin_until(|| tx.send_timeout(2, Duration::ZERO).ok());
    assert_eq!(h.join().unwrap(), Some(2));
    let tx2 = tx.clone();
    let h = thread::spawn(move || tx2.send(3));
    assert_eq!(spin_until(|| rx.recv_timeout(Duration::ZERO).ok()), 3);
    h.join().unwrap().unwrap();
}

#[test]
fn huge_capacity_reports_the_requested_capacity() {
    // Go's cap(ch) is the capacity given to make.
    for cap in [usize::MAX, usize::MAX / 2, 1 << 62, 1 << 40] {
        let (tx, rx) = chan::chan::<u8>(cap);
        assert_eq!((tx.capacity(), rx.capacity()), (cap, cap));
    }
}

#[test]
fn huge_capacity_works_without_allocating_it() {
    let (tx, rx) = chan::chan::<u8>(usize::MAX);
    for v in 0..=255u8 {
        tx.try_send(v).unwrap();
    }
    assert_eq!(rx.len(), 256);
    tx.close().unwrap();
    assert_eq!(
        rx.iter().collect::<Vec<_>>(),
        (0..=255u8).collect::<Vec<_>>()
    );

    let (tx, rx) = chan::chan::<()>(usize::MAX);
    for _ in 0..1000 {
        tx.send(()).unwrap();
    }
    assert_eq!(rx.len(), 1000);
    drop(tx);
    assert_eq!(rx.into_iter().count(), 1000);
}

// ---------------------------------------------------- iterators, streams ---

#[test]
fn iter_yields_until_closed_and_drained() {
    let (tx, rx) = chan::chan::<u64>(4);
    let h = thread::spawn(move || {
        for v in 0..100 {
            tx.send(v).unwrap();
        }
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    h.join().unwrap();

    let (tx, rx) = chan::chan::<u64>(4);
    let h = thread::spawn(move || (0..10).try_for_each(|v| tx.send(v)));
    let mut got = vec![];
    for v in &rx {
        got.push(v);
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    h.join().unwrap().unwrap();
}

#[test]
fn try_iter_yields_buffered_values_without_blocking() {
    let (tx, rx) = chan::chan::<u64>(8);
    assert_eq!(rx.try_iter().count(), 0);
    for v in 0..3 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert!(!rx.is_closed());
    tx.send(3).unwrap();
    tx.close().unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3]);
    assert_eq!(rx.try_iter().count(), 0);
}

#[test]
fn into_iter_consumes_receiver_until_closed() {
    let (tx, rx) = chan::chan::<u64>(0);
    let h = thread::spawn(move || rx.into_iter().sum::<u64>());
    for v in 1..=100 {
        tx.send(v).unwrap();
    }
    drop(tx);
    assert_eq!(h.join().unwrap(), 5050);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_yields_values_then_ends_on_close() {
    let (tx, rx) = chan::chan::<u64>(1);
    let producer = tokio::spawn(async move {
        for v in 0..100 {
            tx.send_async(v).await.unwrap();
        }
    });
    assert_eq!(
        rx.stream().collect::<Vec<_>>().await,
        (0..100).collect::<Vec<_>>()
    );
    producer.await.unwrap();
    let mut s = rx.stream();
    assert_eq!(s.next().await, None);
    assert_eq!(s.next().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_stream_is_static_and_spawnable() {
    let (tx, rx) = chan::chan::<u64>(0);
    let consumer =
        tokio::spawn(async move { rx.into_stream().fold(0, |a, v| async move { a + v }).await });
    for v in 1..=100 {
        tx.send_async(v).await.unwrap();
    }
    drop(tx);
    assert_eq!(consumer.await.unwrap(), 5050);
}

#[tokio::test]
async fn stream_is_pending_on_an_open_empty_channel() {
    let (tx, rx) = chan::chan::<u64>(1);
    let mut s = rx.stream();
    {
        let mut next = pin!(s.next());
        assert!(poll!(next.as_mut()).is_pending());
        tx.try_send(1).unwrap();
        assert_eq!(tokio::time::timeout(GUARD, next).await, Ok(Some(1)));
    }
    drop(tx);
    assert_eq!(s.next().await, None);
}

// --------------------------------------------------------- drop semantics ---

#[test]
fn last_sender_drop_closes_the_channel() {
    let (tx, rx) = chan::chan::<u64>(2);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a clone is still alive");
    tx2.send(2).unwrap();
    assert_eq!(rx.recv(), Some(1));
    assert_eq!(rx.recv(), Some(2));
    assert_eq!(rx.recv_timeout(BLOCK), Err(RecvTimeoutError::Timeout));
    tx2.send(3).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(
        rx.recv(),
        Some(3),
        "values buffered before the drop are kept"
    );
    assert_eq!(rx.recv(), None);
}

#[test]
fn last_sender_drop_wakes_blocked_receivers() {
    let (tx, rx) = chan::chan::<u64>(0);
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.recv())
        })
        .collect();
    drop(tx);
    for h in handles {
        assert_eq!(h.join().unwrap(), None);
    }
}

#[tokio::test]
async fn last_sender_drop_wakes_pending_recv_async() {
    let (tx, rx) = chan::chan::<u64>(0);
    let mut r = pin!(rx.recv_async());
    assert!(poll!(r.as_mut()).is_pending());
    let h = thread::spawn(move || drop(tx));
    assert_eq!(tokio::time::timeout(GUARD, r).await, Ok(None));
    h.join().unwrap();
}

#[test]
fn last_receiver_drop_fails_blocked_send_with_the_value() {
    for cap in [0, 1] {
        let (tx, rx) = chan::chan::<String>(cap);
        if cap == 1 {
            tx.send("buffered".into()).unwrap();
        }
        let rx2 = rx.clone();
        let h = thread::spawn(move || tx.send("v".into()));
        drop(rx);
        drop(rx2);
        assert_eq!(
            h.join().unwrap(),
            Err(SendError("v".to_string())),
            "cap {cap}"
        );
    }
}

#[tokio::test]
async fn last_receiver_drop_fails_pending_send_async_with_the_value() {
    let (tx, rx) = chan::chan::<String>(0);
    let mut s = pin!(tx.send_async("v".into()));
    assert!(poll!(s.as_mut()).is_pending());
    let h = thread::spawn(move || drop(rx));
    assert_eq!(
        tokio::time::timeout(GUARD, s).await,
        Ok(Err(SendError("v".to_string())))
    );
    h.join().unwrap();
}

#[tokio::test]
async fn sends_after_last_receiver_drop_fail_with_the_value() {
    for cap in [0, 4] {
        let (tx, rx) = chan::chan::<String>(cap);
        drop(rx);
        assert_eq!(
            tx.send("a".into()),
            Err(SendError("a".to_string())),
            "cap {cap}"
        );
        assert_eq!(
            tx.try_send("b".into()),
            Err(TrySendError::Closed("b".to_string()))
        );
        assert_eq!(
            tx.send_timeout("c".into(), BLOCK),
            Err(SendTimeoutError::Closed("c".to_string()))
        );
        assert_eq!(
            tx.send_async("d".into()).await,
            Err(SendError("d".to_string()))
        );
    }
}

#[test]
fn last_receiver_drop_drops_buffered_values() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::chan::<Tracked>(4);
    for _ in 0..3 {
        tx.send(Tracked(drops.clone())).unwrap();
    }
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(drops.load(SeqCst), 0, "a receiver clone is still alive");
    drop(rx2);
    assert_eq!(drops.load(SeqCst), 3);
    let err = tx.send(Tracked(drops.clone())).unwrap_err();
    assert_eq!(
        drops.load(SeqCst),
        3,
        "the failed value is returned, not dropped"
    );
    drop(err);
    assert_eq!(drops.load(SeqCst), 4);
}

#[test]
fn receiver_clone_keeps_the_channel_open() {
    let (tx, rx) = chan::chan::<u64>(1);
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(tx.send(1), Ok(()));
    assert_eq!(rx2.recv(), Some(1));
}

#[test]
fn every_value_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let (tx, rx) = chan::chan::<Tracked>(8);
        for _ in 0..8 {
            tx.send(Tracked(drops.clone())).unwrap();
        }
        drop(rx.recv()); // 1 received and dropped by us
        let _ = tx.try_send(Tracked(drops.clone())); // fits
        assert!(tx.try_send(Tracked(drops.clone())).is_err()); // Full: returned, dropped
        tx.close().unwrap();
        drop(tx.send(Tracked(drops.clone()))); // Closed: returned, dropped
        drop(rx.recv()); // 1 more
    } // 7 still buffered, dropped with the channel
    assert_eq!(drops.load(SeqCst), 11);
}

// ------------------------------------------------------ auto traits, Debug ---

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn send_val<T: Send>(_: &T) {}
fn error<E: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Sender<u64>>();
    send_sync::<Receiver<u64>>();
    // Only T: Send is needed, as for std and crossbeam channels.
    send_sync::<Sender<Cell<u8>>>();
    send_sync::<Receiver<Cell<u8>>>();
    send::<SendFuture<'static, u64>>();
    send::<RecvFuture<'static, u64>>();
    send::<RecvStream<'static, u64>>();
    send::<chan::Iter<'static, u64>>();
    send::<chan::TryIter<'static, u64>>();
    send::<chan::IntoIter<u64>>();
    error::<SendError<NoDebug>>();
    error::<TrySendError<NoDebug>>();
    error::<SendTimeoutError<NoDebug>>();
    error::<TryRecvError>();
    error::<RecvTimeoutError>();
    error::<CloseError>();

    let (tx, rx) = chan::chan::<Cell<u8>>(1);
    send_val(&tx.send_async(Cell::new(1)));
    send_val(&rx.recv_async());
    send_val(&rx.stream());
    send_val(&rx.iter());
    send_val(&rx.try_iter());
    send_val(&rx.into_iter());
    send_val(&chan::chan::<Cell<u8>>(1).1.into_stream());
}

#[test]
fn payload_free_errors_are_copy_and_eq() {
    fn copy_eq<T: Copy + Eq>() {}
    copy_eq::<TryRecvError>();
    copy_eq::<RecvTimeoutError>();
    copy_eq::<CloseError>();
}

#[test]
fn debug_and_display_do_not_need_t_debug() {
    let (tx, rx) = chan::chan::<Opaque>(1);
    assert!(!format!("{tx:?}").is_empty());
    assert!(!format!("{rx:?}").is_empty());
    let (ntx, nrx) = chan::nil::<Opaque>();
    assert!(!format!("{ntx:?} {nrx:?}").is_empty());

    let e = SendError(Opaque(Cell::new(0)));
    assert!(!format!("{e:?}").is_empty());
    assert!(!e.to_string().is_empty());
    let full = TrySendError::Full(Opaque(Cell::new(0)));
    let closed = TrySendError::Closed(Opaque(Cell::new(0)));
    assert_ne!(full.to_string(), closed.to_string());
    assert!(!format!("{full:?}").is_empty());
    let t = SendTimeoutError::Timeout(Opaque(Cell::new(0)));
    let c = SendTimeoutError::Closed(Opaque(Cell::new(0)));
    assert_ne!(t.to_string(), c.to_string());
    assert_ne!(
        TryRecvError::Empty.to_string(),
        TryRecvError::Closed.to_string()
    );
    assert_ne!(
        RecvTimeoutError::Timeout.to_string(),
        RecvTimeoutError::Closed.to_string()
    );
    assert_ne!(CloseError::Closed.to_string(), CloseError::Nil.to_string());
    assert!(!format!("{:?}", CloseError::Nil).is_empty());
}

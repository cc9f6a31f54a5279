//! Stress: MPMC delivery between threads, tasks and both; send/recv futures
//! dropped at random points; close() racing sends.
//!
//! No sleeps synchronise anything: only joins, channel closure and polling
//! of atomics. Every assertion is an invariant that holds for any schedule.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::future::{self, Either};
use futures_util::{poll, StreamExt};
use hoare::chan;
use hoare::chan::{
    CloseError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use tokio::task::yield_now;

/// Values per MPMC run with a buffered channel.
const N: u64 = if cfg!(miri) { 200 } else { 1_000_000 };
/// Values per MPMC run with an unbuffered channel: every value is a
/// rendezvous, which on 2 cores mostly means a park/unpark pair per value
/// (~10x slower than buffered), so the run is scaled down to stay within the
/// time budget.
const N0: u64 = if cfg!(miri) { 200 } else { 100_000 };
const PRODUCERS: u64 = 4;
/// Upper bound for anything that must eventually happen (guards against hangs).
const GUARD: Duration = Duration::from_secs(60);

mod common;

use common::{serial, Handle, Kind, Rng};
use Kind::{Task, Thread};

const THREADS: [Kind; 4] = [Thread; 4];
const TASKS: [Kind; 4] = [Task; 4];
const MIXED: [Kind; 4] = [Thread, Task, Thread, Task];

fn spin_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < GUARD, "timed out waiting for {what}");
        thread::yield_now();
    }
}

// ------------------------------------------------------------------ MPMC ---

/// Producer `p` sends p, p + PRODUCERS, p + 2 * PRODUCERS, ... below `n`.
fn values_of(p: u64, n: u64) -> impl Iterator<Item = u64> {
    (p..n).step_by(PRODUCERS as usize)
}

/// All of 0..n received exactly once (bitmap, count and sum), and each
/// consumer saw each producer's values in increasing order.
fn verify_mpmc(n: u64, per_consumer: &[Vec<u64>]) {
    let mut seen = vec![false; n as usize];
    let (mut count, mut sum) = (0u64, 0u64);
    for got in per_consumer {
        let mut last = [None::<u64>; PRODUCERS as usize];
        for &v in got {
            assert!(v < n, "value {v} was never sent");
            assert!(
                !std::mem::replace(&mut seen[v as usize], true),
                "{v} received twice"
            );
            count += 1;
            sum += v;
            let p = (v % PRODUCERS) as usize;
            assert!(last[p] < Some(v), "producer {p}: {v} after {:?}", last[p]);
            last[p] = Some(v);
        }
    }
    assert_eq!(count, n, "values lost");
    assert_eq!(sum, n * (n - 1) / 2);
}

async fn mpmc(cap: usize, producers: [Kind; 4], consumers: [Kind; 4]) {
    let n = if cap == 0 { N0 } else { N };
    let (tx, rx) = chan::chan::<u64>(cap);
    let mut ps = Vec::new();
    for (p, kind) in (0..PRODUCERS).zip(producers) {
        let tx = tx.clone();
        ps.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || {
                for v in values_of(p, n) {
                    tx.send(v).unwrap();
                }
            })),
            Task => Handle::Task(tokio::spawn(async move {
                for v in values_of(p, n) {
                    tx.send_async(v).await.unwrap();
                }
            })),
        });
    }
    drop(tx);
    let mut cs = Vec::new();
    for (i, kind) in consumers.into_iter().enumerate() {
        let rx = rx.clone();
        cs.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || rx.iter().collect::<Vec<_>>())),
            Task if i % 2 == 0 => Handle::Task(tokio::spawn(rx.into_stream().collect::<Vec<_>>())),
            Task => Handle::Task(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv_async().await {
                    got.push(v);
                }
                got
            })),
        });
    }
    drop(rx);
    for p in ps {
        p.join().await;
    }
    let mut got = Vec::new();
    for c in cs {
        got.push(c.join().await);
    }
    verify_mpmc(n, &got);
}

macro_rules! mpmc_tests {
    ($($name:ident: $cap:expr, $producers:expr => $consumers:expr;)*) => {$(
        #[test]
        fn $name() {
            serial(mpmc($cap, $producers, $consumers));
        }
    )*};
}

mpmc_tests! {
    mpmc_threads_cap0_deliver_each_value_exactly_once: 0, THREADS => THREADS;
    mpmc_threads_cap1_deliver_each_value_exactly_once: 1, THREADS => THREADS;
    mpmc_threads_cap16_deliver_each_value_exactly_once: 16, THREADS => THREADS;
    mpmc_threads_cap1024_deliver_each_value_exactly_once: 1024, THREADS => THREADS;
    mpmc_tasks_cap0_deliver_each_value_exactly_once: 0, TASKS => TASKS;
    mpmc_tasks_cap1_deliver_each_value_exactly_once: 1, TASKS => TASKS;
    mpmc_tasks_cap16_deliver_each_value_exactly_once: 16, TASKS => TASKS;
    mpmc_tasks_cap1024_deliver_each_value_exactly_once: 1024, TASKS => TASKS;
    mpmc_threads_to_tasks_cap0_deliver_each_value_exactly_once: 0, THREADS => TASKS;
    mpmc_threads_to_tasks_cap1_deliver_each_value_exactly_once: 1, THREADS => TASKS;
    mpmc_threads_to_tasks_cap16_deliver_each_value_exactly_once: 16, THREADS => TASKS;
    mpmc_threads_to_tasks_cap1024_deliver_each_value_exactly_once: 1024, THREADS => TASKS;
    mpmc_tasks_to_threads_cap0_deliver_each_value_exactly_once: 0, TASKS => THREADS;
    mpmc_tasks_to_threads_cap1_deliver_each_value_exactly_once: 1, TASKS => THREADS;
    mpmc_tasks_to_threads_cap16_deliver_each_value_exactly_once: 16, TASKS => THREADS;
    mpmc_tasks_to_threads_cap1024_deliver_each_value_exactly_once: 1024, TASKS => THREADS;
    mpmc_mixed_cap0_deliver_each_value_exactly_once: 0, MIXED => MIXED;
    mpmc_mixed_cap16_deliver_each_value_exactly_once: 16, MIXED => MIXED;
}

// ------------------------------------------- dropped futures and timeouts ---

/// Values per drop-stress run (each is a separately tracked allocation).
const DROP_N: u64 = if cfg!(miri) { 100 } else { 20_000 };

/// A value that records its own drops in a shared per-id counter.
struct Item {
    id: u64,
    drops: Arc<Vec<AtomicU8>>,
}
impl Drop for Item {
    fn drop(&mut self) {
        self.drops[self.id as usize].fetch_add(1, SeqCst);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// The send completed with Ok: must be received exactly once.
    Sent,
    /// The send future was dropped before completing: received at most once.
    Abandoned,
    /// The value came back to the sender (Full / Timeout): never received.
    Returned,
}

fn sent_ok(r: Result<(), SendError<Item>>) -> Fate {
    match r {
        Ok(()) => Fate::Sent,
        Err(SendError(item)) => panic!("send of {} failed while receivers exist", item.id),
    }
}

fn returned(id: u64, item: Item, closed: bool) -> Fate {
    assert_eq!(item.id, id, "a different value came back");
    assert!(
        !closed,
        "send of {id} saw a closed channel while receivers exist"
    );
    Fate::Returned
}

async fn drop_producer_task(
    tx: chan::Sender<Item>,
    ids: Vec<u64>,
    drops: Arc<Vec<AtomicU8>>,
    seed: u64,
) -> Vec<(u64, Fate)> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let item = Item {
            id,
            drops: drops.clone(),
        };
        let fate = match rng.below(4) {
            0 => sent_ok(tx.send_async(item).await),
            1 => {
                let mut f = pin!(tx.send_async(item));
                match poll!(f.as_mut()) {
                    Poll::Ready(r) => sent_ok(r),
                    Poll::Pending => Fate::Abandoned,
                }
            }
            2 => match future::select(pin!(tx.send_async(item)), pin!(yield_now())).await {
                Either::Left((r, _)) => sent_ok(r),
                Either::Right(_) => Fate::Abandoned,
            },
            _ => match tokio::time::timeout(rng.tiny(), tx.send_async(item)).await {
                Ok(r) => sent_ok(r),
                Err(_) => Fate::Abandoned,
            },
        };
        if fate == Fate::Abandoned {
            yield_now().await;
        }
        out.push((id, fate));
    }
    out
}

fn drop_producer_thread(
    tx: chan::Sender<Item>,
    ids: Vec<u64>,
    drops: Arc<Vec<AtomicU8>>,
    seed: u64,
) -> Vec<(u64, Fate)> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let item = Item {
            id,
            drops: drops.clone(),
        };
        let fate = match rng.below(3) {
            0 => sent_ok(tx.send(item)),
            1 => match tx.try_send(item) {
                Ok(()) => Fate::Sent,
                Err(TrySendError::Full(v)) => returned(id, v, false),
                Err(TrySendError::Closed(v)) => returned(id, v, true),
            },
            _ => match tx.send_timeout(item, rng.tiny()) {
                Ok(()) => Fate::Sent,
                Err(SendTimeoutError::Timeout(v)) => returned(id, v, false),
                Err(SendTimeoutError::Closed(v)) => returned(id, v, true),
            },
        };
        out.push((id, fate));
    }
    out
}

async fn drop_consumer_task(rx: chan::Receiver<Item>, seed: u64) -> Vec<u64> {
    let mut rng = Rng(seed);
    let mut got = Vec::new();
    loop {
        // Some(Some(item)): received; Some(None): closed; None: gave up.
        let r = match rng.below(4) {
            0 => Some(rx.recv_async().await),
            1 => {
                let mut f = pin!(rx.recv_async());
                match poll!(f.as_mut()) {
                    Poll::Ready(r) => Some(r),
                    Poll::Pending => None,
                }
            }
            2 => match future::select(pin!(rx.recv_async()), pin!(yield_now())).await {
                Either::Left((r, _)) => Some(r),
                Either::Right(_) => None,
            },
            _ => tokio::time::timeout(rng.tiny(), rx.recv_async()).await.ok(),
        };
        match r {
            Some(Some(item)) => got.push(item.id),
            Some(None) => return got,
            None => yield_now().await,
        }
    }
}

fn drop_consumer_thread(rx: chan::Receiver<Item>, seed: u64) -> Vec<u64> {
    let mut rng = Rng(seed);
    let mut got = Vec::new();
    loop {
        let r = match rng.below(3) {
            0 => rx.recv().ok_or(true),
            1 => rx.try_recv().map_err(|e| e == TryRecvError::Closed),
            _ => rx
                .recv_timeout(rng.tiny())
                .map_err(|e| e == RecvTimeoutError::Closed),
        };
        match r {
            Ok(item) => got.push(item.id),
            Err(true) => return got,
            Err(false) => thread::yield_now(),
        }
    }
}

async fn drop_stress(cap: usize, producers: [Kind; 4], consumers: [Kind; 4]) {
    let drops: Arc<Vec<AtomicU8>> = Arc::new((0..DROP_N).map(|_| AtomicU8::new(0)).collect());
    let (tx, rx) = chan::chan::<Item>(cap);
    let mut ps = Vec::new();
    for (p, kind) in (0..PRODUCERS).zip(producers) {
        let (tx, drops) = (tx.clone(), drops.clone());
        let ids: Vec<u64> = values_of(p, DROP_N).collect();
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (p + 1);
        ps.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || {
                drop_producer_thread(tx, ids, drops, seed)
            })),
            Task => Handle::Task(tokio::spawn(drop_producer_task(tx, ids, drops, seed))),
        });
    }
    drop(tx);
    let mut cs = Vec::new();
    for (c, kind) in (0..).zip(consumers) {
        let rx = rx.clone();
        let seed = 0xD1B5_4A32_D192_ED03 ^ (c + 1);
        cs.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || drop_consumer_thread(rx, seed))),
            Task => Handle::Task(tokio::spawn(drop_consumer_task(rx, seed))),
        });
    }
    drop(rx);

    let mut fate = vec![None::<Fate>; DROP_N as usize];
    for p in ps {
        for (id, f) in p.join().await {
            assert_eq!(fate[id as usize].replace(f), None);
        }
    }
    let mut received = vec![false; DROP_N as usize];
    for c in cs {
        for id in c.join().await {
            let id = id as usize;
            assert!(
                !std::mem::replace(&mut received[id], true),
                "{id} received twice"
            );
            assert_ne!(
                fate[id],
                Some(Fate::Returned),
                "{id} was returned to its sender yet received"
            );
        }
    }
    let mut counts = [0usize; 4];
    for (id, (f, &r)) in fate.iter().zip(&received).enumerate() {
        match f.expect("every id is attempted") {
            Fate::Sent => assert!(r, "{id} was sent Ok but never received"),
            Fate::Abandoned => counts[2 + usize::from(r)] += 1,
            Fate::Returned => counts[1] += 1,
        }
        if *f == Some(Fate::Sent) {
            counts[0] += 1;
        }
        let d = drops[id].load(SeqCst);
        assert_eq!(d, 1, "{id} dropped {d} times (fate {f:?}, received {r})");
    }
    eprintln!(
        "cap {cap}: sent {}, returned {}, abandoned+lost {}, abandoned+delivered {}",
        counts[0], counts[1], counts[2], counts[3]
    );
}

#[test]
fn dropped_async_futures_lose_or_duplicate_nothing() {
    serial(async {
        for cap in [0, 1, 16] {
            drop_stress(cap, TASKS, TASKS).await;
        }
    });
}

#[test]
fn dropped_futures_and_timeouts_mixed_with_threads_lose_or_duplicate_nothing() {
    serial(async {
        for cap in [0, 1, 16] {
            drop_stress(cap, MIXED, MIXED).await;
        }
    });
}

// ---------------------------------------------------- close racing sends ---

const CLOSE_PER: u64 = if cfg!(miri) { 50 } else { 20_000 };
/// Values received before the closers close the channel.
const CLOSE_AFTER: u64 = PRODUCERS * CLOSE_PER / 4;
const RECEIVERS: usize = 2;

/// Set by each closer once its close() has returned; the first one to
/// return stores which result it got.
const OPEN: u8 = 0;
const CLOSED_OK: u8 = 1;
const CLOSED_ERR: u8 = 2;

/// Records the outcome of the send of `id`; `state`: the close state read
/// before the send began.
fn record(
    cap: usize,
    id: u64,
    state: u8,
    r: Result<(), SendError<u64>>,
    ok: &mut Vec<u64>,
    err: &mut Vec<u64>,
) {
    match r {
        Ok(()) => {
            assert!(
                state == OPEN,
                "cap {cap}: send of {id} succeeded after a close() had returned {}",
                if state == CLOSED_OK {
                    "Ok"
                } else {
                    "Err(Closed)"
                }
            );
            assert!(
                err.is_empty(),
                "cap {cap}: send of {id} succeeded after an earlier send failed"
            );
            ok.push(id);
        }
        Err(SendError(v)) => {
            assert_eq!(v, id, "a different value came back");
            err.push(id);
        }
    }
}

/// Counts one received value; true when the receiver must now wait for the
/// close (pause mode, CLOSE_AFTER reached, not closed yet).
fn must_pause(received: &AtomicU64, closed: &AtomicU8, pause: bool) -> bool {
    let n = received.fetch_add(1, SeqCst) + 1;
    pause && n >= CLOSE_AFTER && closed.load(SeqCst) == OPEN
}

/// Senders send until done; two closers close once CLOSE_AFTER values were
/// received. With `pause`, receivers stop at CLOSE_AFTER until the close, so
/// senders are blocked when it happens and most sends must fail.
async fn close_race(cap: usize, senders: [Kind; 4], receivers: [Kind; RECEIVERS], pause: bool) {
    let (tx, rx) = chan::chan::<u64>(cap);
    let closed = Arc::new(AtomicU8::new(OPEN));
    let received = Arc::new(AtomicU64::new(0));

    let mut ss = Vec::new();
    for (s, kind) in (0..PRODUCERS).zip(senders) {
        let (tx, closed) = (tx.clone(), closed.clone());
        let ids = s * CLOSE_PER..(s + 1) * CLOSE_PER;
        ss.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || {
                let (mut ok, mut err) = (Vec::new(), Vec::new());
                for id in ids {
                    let state = closed.load(SeqCst);
                    record(cap, id, state, tx.send(id), &mut ok, &mut err);
                }
                (ok, err)
            })),
            Task => Handle::Task(tokio::spawn(async move {
                let (mut ok, mut err) = (Vec::new(), Vec::new());
                for id in ids {
                    let state = closed.load(SeqCst);
                    let r = tx.send_async(id).await;
                    record(cap, id, state, r, &mut ok, &mut err);
                }
                (ok, err)
            })),
        });
    }

    let closers = Arc::new(Barrier::new(2));
    let cs: Vec<_> = (0..2)
        .map(|_| {
            let (tx, closed, received, closers) = (
                tx.clone(),
                closed.clone(),
                received.clone(),
                closers.clone(),
            );
            thread::spawn(move || {
                spin_until("receivers", || received.load(SeqCst) >= CLOSE_AFTER);
                closers.wait();
                let r = tx.close();
                let state = if r.is_ok() { CLOSED_OK } else { CLOSED_ERR };
                let _ = closed.compare_exchange(OPEN, state, SeqCst, SeqCst);
                r
            })
        })
        .collect();
    drop(tx);

    let mut rs = Vec::new();
    for kind in receivers {
        let (rx, closed, received) = (rx.clone(), closed.clone(), received.clone());
        rs.push(match kind {
            Thread => Handle::Thread(thread::spawn(move || {
                let mut got = Vec::new();
                while let Some(v) = rx.recv() {
                    got.push(v);
                    if must_pause(&received, &closed, pause) {
                        spin_until("close", || closed.load(SeqCst) != OPEN);
                    }
                }
                got
            })),
            Task => Handle::Task(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv_async().await {
                    got.push(v);
                    if must_pause(&received, &closed, pause) {
                        let start = Instant::now();
                        while closed.load(SeqCst) == OPEN {
                            assert!(start.elapsed() < GUARD, "timed out waiting for close");
                            yield_now().await;
                        }
                    }
                }
                got
            })),
        });
    }
    drop(rx);

    let (mut ok, mut err) = (Vec::new(), Vec::new());
    for s in ss {
        let (o, e) = s.join().await;
        ok.extend(o);
        err.extend(e);
    }
    let mut closes: Vec<_> = cs.into_iter().map(|c| c.join().unwrap()).collect();
    closes.sort_by_key(|r| r.is_err());
    assert_eq!(
        closes,
        [Ok(()), Err(CloseError::Closed)],
        "exactly one close succeeds"
    );
    let mut got = Vec::new();
    for r in rs {
        got.extend(r.join().await);
    }
    assert_eq!(ok.len() + err.len(), (PRODUCERS * CLOSE_PER) as usize);
    ok.sort_unstable();
    got.sort_unstable();
    assert!(got == ok, "received values differ from values sent Ok (cap {cap}, pause {pause}): {} received, {} sent Ok", got.len(), ok.len());
    if pause {
        let bound = CLOSE_AFTER as usize + RECEIVERS + cap;
        assert!(
            ok.len() <= bound,
            "{} sends succeeded; at most {bound} can before close",
            ok.len()
        );
    }
}

#[test]
fn close_racing_thread_sends_fails_exactly_the_undelivered() {
    serial(async {
        for cap in [0, 1, 16] {
            for pause in [false, true] {
                close_race(cap, THREADS, [Thread, Thread], pause).await;
            }
        }
    });
}

#[test]
fn close_racing_task_sends_fails_exactly_the_undelivered() {
    serial(async {
        for cap in [0, 1, 16] {
            for pause in [false, true] {
                close_race(cap, TASKS, [Task, Task], pause).await;
            }
        }
    });
}

#[test]
fn close_racing_mixed_sends_fails_exactly_the_undelivered() {
    serial(async {
        for cap in [0, 1, 16] {
            for pause in [false, true] {
                close_race(cap, MIXED, [Thread, Task], pause).await;
            }
        }
    });
}

//! Stress for select: exactly-once delivery when threads (`select!`) and tokio tasks
//! (`select_async!`) select send and receive cases across many unbuffered and
//! buffered channels at once; Go's doubleselect situation at scale; async selects
//! dropped at random points.
//!
//! No sleeps synchronise anything: only joins and channel closure. Every assertion
//! is an invariant that holds for any schedule: each value is received exactly once
//! (bitmap, count and sum), and each value is dropped exactly once.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use futures_util::future::{self, Either};
use futures_util::poll;
use hoare::chan::{self, Receiver, Sender};
use hoare::{select, select_async};
use tokio::task::yield_now;

mod common;

use common::{serial, Handle, Kind, Rng};
use Kind::{Task, Thread};

/// All of 0..n received exactly once: bitmap, count and sum.
fn verify_exactly_once(n: u64, per_receiver: &[Vec<u64>]) {
    let mut seen = vec![false; n as usize];
    let (mut count, mut sum) = (0u64, 0u64);
    for got in per_receiver {
        for &v in got {
            assert!(v < n, "value {v} was never sent");
            assert!(
                !std::mem::replace(&mut seen[v as usize], true),
                "{v} received twice"
            );
            count += 1;
            sum += v;
        }
    }
    assert_eq!(count, n, "values lost");
    assert_eq!(sum, n * (n - 1) / 2);
}

// ------------------------------------------------- selecting everywhere ---

/// Capacities of the mesh's channels: half unbuffered, half buffered.
const CAPS: [usize; 8] = [0, 0, 0, 0, 1, 2, 8, 64];
const PARTICIPANTS: [Kind; 6] = [Thread, Task, Thread, Task, Thread, Task];
/// Values sent in one mesh run (each participant sends its share).
const MESH_N: u64 = 200_000;

/// The mesh: every participant holds every end. Participant `p` sends on channels
/// `p` and `p + 3` and receives on `p + 1`, `p + 4` and `p + 6` (mod 8): every
/// channel has senders and receivers, and no participant receives what it sent.
struct Mesh {
    txs: Vec<Sender<u64>>,
    rxs: Vec<Receiver<u64>>,
    received: AtomicU64,
}

impl Mesh {
    fn new() -> Mesh {
        let (txs, rxs) = CAPS.iter().map(|&cap| chan::chan::<u64>(cap)).unzip();
        Mesh {
            txs,
            rxs,
            received: AtomicU64::new(0),
        }
    }

    /// Counts one received value; the last one closes every channel, which ends
    /// every participant's loop (its receive cases fire with `None`).
    fn count_one(&self) {
        if self.received.fetch_add(1, SeqCst) + 1 == MESH_N {
            for tx in &self.txs {
                tx.close().unwrap();
            }
        }
    }
}

/// What one select of a participant did.
enum Step {
    Sent,
    Got(u64),
    Closed,
}

/// One participant's loop, for `select!` (threads) or `select_async!` (tasks).
macro_rules! participant {
    ($(#[$attr:meta])* $name:ident, $select:ident $(, $async_:tt)?) => {
        $(#[$attr])*
        $($async_)? fn $name(mesh: Arc<Mesh>, p: usize) -> Vec<u64> {
            let n = CAPS.len();
            let (out0, out1) = (&mesh.txs[p % n], &mesh.txs[(p + 3) % n]);
            let ins = [(p + 1) % n, (p + 4) % n, (p + 6) % n].map(|i| &mesh.rxs[i]);
            let mut mine = (p as u64..MESH_N).step_by(PARTICIPANTS.len()).peekable();
            let mut got = Vec::new();
            loop {
                // Send cases only while there is something to send.
                let next = mine.peek().copied();
                let (o0, o1) = match next {
                    Some(_) => (Some(out0), Some(out1)),
                    None => (None, None),
                };
                let v = next.unwrap_or(u64::MAX);
                let step = $select! {
                    send(o0, v) -> r => { r.expect("closed while sending"); Step::Sent },
                    send(o1, v) -> r => { r.expect("closed while sending"); Step::Sent },
                    recv(ins[0]) -> x => x.map_or(Step::Closed, Step::Got),
                    recv(ins[1]) -> x => x.map_or(Step::Closed, Step::Got),
                    recv(ins[2]) -> x => x.map_or(Step::Closed, Step::Got),
                };
                match step {
                    Step::Sent => {
                        mine.next();
                    }
                    Step::Got(x) => {
                        got.push(x);
                        mesh.count_one();
                    }
                    Step::Closed => {
                        assert_eq!(mine.next(), None, "participant {p}: closed too early");
                        return got;
                    }
                }
            }
        }
    };
}

participant!(participant_thread, select);
participant!(participant_task, select_async, async);

#[test]
fn mesh_of_selecting_threads_and_tasks_delivers_each_value_exactly_once() {
    serial(async {
        let mesh = Arc::new(Mesh::new());
        let mut handles = Vec::new();
        for (p, kind) in PARTICIPANTS.into_iter().enumerate() {
            let mesh = mesh.clone();
            handles.push(match kind {
                Thread => Handle::Thread(thread::spawn(move || participant_thread(mesh, p))),
                Task => Handle::Task(tokio::spawn(participant_task(mesh, p))),
            });
        }
        let mut got = Vec::new();
        for h in handles {
            got.push(h.join().await);
        }
        verify_exactly_once(MESH_N, &got);
        for (p, got) in got.iter().enumerate() {
            assert!(!got.is_empty(), "participant {p} received nothing");
        }
    });
}

// ------------------------------------------------ doubleselect at scale ---

/// Values in one doubleselect run.
const DOUBLE_N: u64 = 50_000;
const SENDERS: [Kind; 4] = [Thread, Task, Thread, Task];
const MUXES: [Kind; 4] = [Task, Thread, Task, Thread];

/// What the senders and muxes of a doubleselect run share.
struct Double {
    cs: [(Sender<u64>, Receiver<u64>); 4],
    cmux: Sender<u64>,
    senders_done: AtomicUsize,
}

impl Double {
    /// Sender `s` is done; the last closes c1..c4.
    fn sender_done(&self) {
        if self.senders_done.fetch_add(1, SeqCst) + 1 == SENDERS.len() {
            for (tx, _) in &self.cs {
                tx.close().unwrap();
            }
        }
    }
}

/// A sender: its share of 0..n, each value to one of the four channels.
macro_rules! double_sender {
    ($name:ident, $select:ident $(, $async_:tt)?) => {
        $($async_)? fn $name(d: Arc<Double>, s: u64) {
            let [c0, c1, c2, c3] = d.cs.each_ref().map(|(tx, _)| tx);
            for i in (s..DOUBLE_N).step_by(SENDERS.len()) {
                $select! {
                    send(c0, i) -> r => r.unwrap(),
                    send(c1, i) -> r => r.unwrap(),
                    send(c2, i) -> r => r.unwrap(),
                    send(c3, i) -> r => r.unwrap(),
                }
            }
            d.sender_done();
        }
    };
}

double_sender!(double_sender_thread, select);
double_sender!(double_sender_task, select_async, async);

/// A mux: selects over all four channels (disabling each as it closes) and
/// forwards to `cmux`.
macro_rules! double_mux {
    ($name:ident, $select:ident, $send:ident $(, $async_:tt)? $(; $await:tt)?) => {
        $($async_)? fn $name(d: Arc<Double>) {
            let rxs = d.cs.each_ref().map(|(_, rx)| rx);
            let mut open = [true; 4];
            while open.contains(&true) {
                let [r0, r1, r2, r3] = std::array::from_fn(|i| open[i].then_some(rxs[i]));
                let (i, v) = $select! {
                    recv(r0) -> v => (0, v),
                    recv(r1) -> v => (1, v),
                    recv(r2) -> v => (2, v),
                    recv(r3) -> v => (3, v),
                };
                match v {
                    Some(v) => d.cmux.$send(v)$(.$await)?.unwrap(),
                    None => open[i] = false,
                }
            }
        }
    };
}

double_mux!(double_mux_thread, select, send);
double_mux!(double_mux_task, select_async, send_async, async; await);

#[test]
fn doubleselect_at_scale_delivers_each_value_exactly_once() {
    serial(async {
        let (cmux, cmux_rx) = chan::chan::<u64>(0);
        let d = Arc::new(Double {
            cs: std::array::from_fn(|_| chan::chan::<u64>(0)),
            cmux,
            senders_done: AtomicUsize::new(0),
        });
        let mut handles = Vec::new();
        for (s, kind) in (0..).zip(SENDERS) {
            let d = d.clone();
            handles.push(match kind {
                Thread => Handle::Thread(thread::spawn(move || double_sender_thread(d, s))),
                Task => Handle::Task(tokio::spawn(double_sender_task(d, s))),
            });
        }
        for kind in MUXES {
            let d = d.clone();
            handles.push(match kind {
                Thread => Handle::Thread(thread::spawn(move || double_mux_thread(d))),
                Task => Handle::Task(tokio::spawn(double_mux_task(d))),
            });
        }
        // cmux closes when the last mux lets go of `d` (and with it the sender).
        drop(d);
        let got = tokio::task::spawn_blocking(move || cmux_rx.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        for h in handles {
            h.join().await;
        }
        verify_exactly_once(DOUBLE_N, &[got]);
    });
}

// ------------------------------------------ async selects dropped anywhere ---

/// Logical values per drop-stress run. Value `k` travels as two items, `k` offered
/// on channel 0 and `k + DROP_N` on channel 1, in one select: at most one of the
/// two may arrive, and each item is dropped exactly once.
const DROP_N: u64 = 40_000;
const PRODUCERS: [Kind; 4] = [Task, Thread, Task, Task];
const CONSUMERS: [Kind; 4] = [Task, Task, Thread, Task];

/// An item that records its own drops in a shared per-id counter.
struct Item {
    id: u64,
    drops: Arc<Vec<AtomicU8>>,
}
impl Drop for Item {
    fn drop(&mut self) {
        self.drops[self.id as usize].fetch_add(1, SeqCst);
    }
}

/// The two items of logical value `k`.
fn items(k: u64, drops: &Arc<Vec<AtomicU8>>) -> (Item, Item) {
    let item = |id| Item {
        id,
        drops: drops.clone(),
    };
    (item(k), item(k + DROP_N))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// The select completed: one of the two items is received, exactly once.
    Sent,
    /// The select was dropped unfinished: at most one of the two is received.
    Abandoned,
}

/// How a task runs one select: to completion, or dropped at some point.
enum Drive {
    Await,
    PollOnce,
    RaceYield,
    Timeout(Duration),
}

impl Drive {
    fn pick(rng: &mut Rng) -> Drive {
        match rng.below(4) {
            0 => Drive::Await,
            1 => Drive::PollOnce,
            2 => Drive::RaceYield,
            _ => Drive::Timeout(Duration::from_micros(rng.below(50))),
        }
    }

    /// Runs `fut` as chosen; `None` if it was dropped unfinished.
    async fn run<F: Future>(self, fut: F) -> Option<F::Output> {
        match self {
            Drive::Await => Some(fut.await),
            Drive::PollOnce => match poll!(pin!(fut)) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            },
            Drive::RaceYield => match future::select(pin!(fut), pin!(yield_now())).await {
                Either::Left((v, _)) => Some(v),
                Either::Right(_) => None,
            },
            Drive::Timeout(d) => tokio::time::timeout(d, fut).await.ok(),
        }
    }
}

/// Offers each value on both channels with one select, sometimes dropping the
/// select before it completes; records each value's fate.
async fn drop_producer_task(
    txs: [Sender<Item>; 2],
    values: Vec<u64>,
    drops: Arc<Vec<AtomicU8>>,
    seed: u64,
) -> Vec<(u64, Fate)> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(values.len());
    for k in values {
        let (a, b) = items(k, &drops);
        let fut = async {
            select_async! {
                send(&txs[0], a) -> r => r.is_ok(),
                send(&txs[1], b) -> r => r.is_ok(),
            }
        };
        let fate = match Drive::pick(&mut rng).run(fut).await {
            Some(ok) => {
                assert!(ok, "send of {k} failed while receivers exist");
                Fate::Sent
            }
            None => {
                yield_now().await;
                Fate::Abandoned
            }
        };
        out.push((k, fate));
    }
    out
}

fn drop_producer_thread(
    txs: [Sender<Item>; 2],
    values: Vec<u64>,
    drops: Arc<Vec<AtomicU8>>,
) -> Vec<(u64, Fate)> {
    let mut out = Vec::with_capacity(values.len());
    for k in values {
        let (a, b) = items(k, &drops);
        let ok = select! {
            send(&txs[0], a) -> r => r.is_ok(),
            send(&txs[1], b) -> r => r.is_ok(),
        };
        assert!(ok, "send of {k} failed while receivers exist");
        out.push((k, Fate::Sent));
    }
    out
}

/// Receives with a select over both channels, dropping it at random points, until
/// both are closed. Returns the ids received and how many selects it dropped.
async fn drop_consumer_task(rxs: [Receiver<Item>; 2], seed: u64) -> (Vec<u64>, usize) {
    let mut rng = Rng(seed);
    let mut got = Vec::new();
    let mut abandoned = 0;
    let mut open = [true; 2];
    while open.contains(&true) {
        let [r0, r1] = std::array::from_fn(|i| open[i].then_some(&rxs[i]));
        let fut = async {
            select_async! {
                recv(r0) -> v => (0, v),
                recv(r1) -> v => (1, v),
            }
        };
        match Drive::pick(&mut rng).run(fut).await {
            Some((_, Some(item))) => got.push(item.id),
            Some((i, None)) => open[i] = false,
            None => {
                abandoned += 1;
                yield_now().await;
            }
        }
    }
    (got, abandoned)
}

/// Receives with `select!`, blocking or with `default`, until both are closed.
fn drop_consumer_thread(rxs: [Receiver<Item>; 2], seed: u64) -> (Vec<u64>, usize) {
    let mut rng = Rng(seed);
    let mut got = Vec::new();
    let mut open = [true; 2];
    while open.contains(&true) {
        let [r0, r1] = std::array::from_fn(|i| open[i].then_some(&rxs[i]));
        let r = if rng.below(2) == 0 {
            select! {
                recv(r0) -> v => Some((0, v)),
                recv(r1) -> v => Some((1, v)),
            }
        } else {
            select! {
                recv(r0) -> v => Some((0, v)),
                recv(r1) -> v => Some((1, v)),
                default => None,
            }
        };
        match r {
            Some((_, Some(item))) => got.push(item.id),
            Some((i, None)) => open[i] = false,
            None => thread::yield_now(),
        }
    }
    (got, 0)
}

/// Producers offer each value on both channels (capacities `caps`) and consumers
/// receive from both, tasks dropping their selects at random points.
fn dropped_async_selects(caps: [usize; 2]) {
    serial(async {
        let drops: Arc<Vec<AtomicU8>> =
            Arc::new((0..2 * DROP_N).map(|_| AtomicU8::new(0)).collect());
        let (tx0, rx0) = chan::chan::<Item>(caps[0]);
        let (tx1, rx1) = chan::chan::<Item>(caps[1]);
        let mut ps = Vec::new();
        for (p, kind) in (0..).zip(PRODUCERS) {
            let txs = [tx0.clone(), tx1.clone()];
            let drops = drops.clone();
            let values: Vec<u64> = (p..DROP_N).step_by(PRODUCERS.len()).collect();
            let seed = 0x9E37_79B9_7F4A_7C15 ^ (p + 1);
            ps.push(match kind {
                Thread => Handle::Thread(thread::spawn(move || {
                    drop_producer_thread(txs, values, drops)
                })),
                Task => Handle::Task(tokio::spawn(drop_producer_task(txs, values, drops, seed))),
            });
        }
        drop((tx0, tx1));
        let mut cs = Vec::new();
        for (c, kind) in (0..).zip(CONSUMERS) {
            let rxs = [rx0.clone(), rx1.clone()];
            let seed = 0xD1B5_4A32_D192_ED03 ^ (c + 1);
            cs.push(match kind {
                Thread => Handle::Thread(thread::spawn(move || drop_consumer_thread(rxs, seed))),
                Task => Handle::Task(tokio::spawn(drop_consumer_task(rxs, seed))),
            });
        }
        drop((rx0, rx1));

        let mut fate = vec![None::<Fate>; DROP_N as usize];
        for p in ps {
            for (k, f) in p.join().await {
                assert_eq!(fate[k as usize].replace(f), None);
            }
        }
        let mut received = vec![false; 2 * DROP_N as usize];
        let mut consumer_abandoned = 0;
        for c in cs {
            let (got, abandoned) = c.join().await;
            consumer_abandoned += abandoned;
            for id in got {
                assert!(
                    !std::mem::replace(&mut received[id as usize], true),
                    "item {id} received twice"
                );
            }
        }
        let mut abandoned = 0;
        for (k, f) in fate.iter().enumerate() {
            let f = f.expect("every value has a fate");
            let arrived = [k, k + DROP_N as usize].map(|id| received[id]);
            match f {
                Fate::Sent => assert!(
                    arrived == [true, false] || arrived == [false, true],
                    "value {k}: sent, but arrived as {arrived:?}"
                ),
                Fate::Abandoned => {
                    abandoned += 1;
                    assert!(arrived != [true, true], "value {k} arrived twice");
                }
            }
        }
        for (id, d) in drops.iter().enumerate() {
            let d = d.load(SeqCst);
            assert_eq!(d, 1, "item {id} dropped {d} times");
        }
        assert!(
            abandoned > 0 && consumer_abandoned > 0,
            "no select dropped (producers {abandoned}, consumers {consumer_abandoned}): \
             the test tested nothing"
        );
    });
}

#[test]
fn dropped_async_selects_on_unbuffered_channels_lose_or_duplicate_nothing() {
    dropped_async_selects([0, 0]);
}

#[test]
fn dropped_async_selects_on_unbuffered_and_buffered_channels_lose_or_duplicate_nothing() {
    dropped_async_selects([0, 1]);
}

//! The select family: `select4` (one consumer selecting over 4 busy channels) and
//! `select2ready` (the cost of one select whose cases are all ready), blocking and async.
//!
//! As in the channels family, every repetition builds fresh channels, and fresh threads
//! (blocking) or tasks (async, on a multi-thread tokio runtime with 2 workers that lives for the
//! whole measurement), and its time counts only if its check passes:
//! - `select4`: every message arrived exactly once (count and sum);
//! - `select2ready`: every select got its value from the chosen case's own channel, both cases
//!   fired at least 1/8 of the time (Go chooses uniformly among ready cases), and at the end
//!   each channel still holds exactly its value.
//!
//! crossbeam-channel offers a `select!` macro and a dynamic `Select` (built once per
//! repetition and reused for every select); both are measured (as variants, see
//! `Case::variant`) and the faster is reported as `crossbeam`, the note naming it. flume has a blocking `Selector` only, so it has no async case; tokio's `select!` is
//! async only.

use std::future::Future;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::channels::{finish, join, join_task, runtime};
use crate::harness::{Case, Mode, Rep, Scenario};
use crate::peers::{AsyncChan, Crossbeam, Flume, Hoare, SyncChan, Tokio};

/// Family name: results go to `bench/results/select.{md,svg}`.
pub const FAMILY: &str = "select";

/// Capacity of each `select4` channel.
const CAP: usize = 1024;

/// Number of channels (and producers) in `select4`.
const FAN: usize = 4;

/// The values that circulate in `select2ready`: channel `i` always holds `READY[i]`.
const READY: [u64; 2] = [3, 5];

/// Variant names of the crossbeam cases.
const CB_MACRO: &str = "select!";
const CB_DYNAMIC: &str = "reused Select";

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "select4",
            family: FAMILY,
            description: "1 consumer selects over 4 bounded(1024) channels, 1 producer each, u64 \
                          (flume: no async select)",
            unit: "message",
            cases: select4_cases,
        },
        Scenario {
            name: "select2ready",
            family: FAMILY,
            description: "one thread/task selects over 2 ready bounded(1) channels and puts the \
                          value back with try_send (flume: no async select)",
            unit: "select",
            cases: ready_cases,
        },
    ]
}

fn select4_cases() -> Vec<Case> {
    fn blocking<C: SyncChan>(consume: fn([C::Rx; FAN]) -> (u64, u64)) -> Case {
        Case::new(Mode::Blocking, C::NAME, "", move || {
            select4_blocking::<C>(consume)
        })
    }
    fn asynch<C: AsyncChan, F>(consume: fn([C::Rx; FAN]) -> F) -> Case
    where
        F: Future<Output = (u64, u64)> + Send + 'static,
    {
        Case::new(Mode::Async, C::NAME, "", move || {
            select4_async::<C, F>(consume)
        })
    }
    vec![
        blocking::<Hoare>(hoare_select4),
        blocking::<Crossbeam>(crossbeam_select4_macro).variant(CB_MACRO),
        blocking::<Crossbeam>(crossbeam_select4_dynamic).variant(CB_DYNAMIC),
        blocking::<Flume>(flume_select4),
        asynch::<Hoare, _>(hoare_select4_async),
        asynch::<Tokio, _>(tokio_select4),
    ]
}

fn ready_cases() -> Vec<Case> {
    fn blocking(imp: &'static str, run: fn(u64) -> Result<Duration, String>) -> Case {
        Case::new(Mode::Blocking, imp, "", move || -> Rep { Box::new(run) })
    }
    fn asynch<F>(imp: &'static str, run: fn(u64) -> F) -> Case
    where
        F: Future<Output = Result<Duration, String>> + Send + 'static,
    {
        Case::new(Mode::Async, imp, "", move || {
            let rt = runtime();
            Box::new(move |n| rt.block_on(async move { join_task(tokio::spawn(run(n))).await? }))
        })
    }
    vec![
        blocking("hoare", ready_hoare),
        blocking("crossbeam", ready_crossbeam_macro).variant(CB_MACRO),
        blocking("crossbeam", ready_crossbeam_dynamic).variant(CB_DYNAMIC),
        blocking("flume", ready_flume),
        asynch("hoare", ready_hoare_async),
        asynch("tokio", ready_tokio),
    ]
}

// ---------------------------------------------------------------------------------------------
// select4: 4 producers, one channel each, 1 selecting consumer.

/// `FAN` channels of capacity `CAP` from `bounded`: the senders and the receivers.
fn fan<Tx, Rx>(bounded: impl Fn(usize) -> (Tx, Rx)) -> (Vec<Tx>, [Rx; FAN]) {
    let mut txs = Vec::with_capacity(FAN);
    let rxs = std::array::from_fn(|_| {
        let (tx, rx) = bounded(CAP);
        txs.push(tx);
        rx
    });
    (txs, rxs)
}

/// One producer thread per channel sends its share of the `n` messages, then drops its
/// sender (closing the channel); one consumer thread runs `consume` over the receivers.
fn select4_blocking<C: SyncChan>(consume: fn([C::Rx; FAN]) -> (u64, u64)) -> Rep {
    Box::new(move |n| {
        let per = n / FAN as u64;
        let (txs, rxs) = fan(C::bounded);
        let barrier = Arc::new(Barrier::new(FAN + 2));
        let b = barrier.clone();
        let consumer = thread::spawn(move || {
            b.wait();
            consume(rxs)
        });
        let senders: Vec<_> = (0..FAN as u64)
            .zip(txs)
            .map(|(p, tx)| {
                let b = barrier.clone();
                thread::spawn(move || {
                    b.wait();
                    (p * per..(p + 1) * per).all(|v| C::send(&tx, v))
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let sent: Vec<_> = senders.into_iter().map(join).collect();
        let got = vec![join(consumer)];
        let elapsed = start.elapsed();
        finish(per * FAN as u64, sent, got, elapsed)
    })
}

/// The async twin of [`select4_blocking`]: producer tasks and one consumer task.
fn select4_async<C: AsyncChan, F>(consume: fn([C::Rx; FAN]) -> F) -> Rep
where
    F: Future<Output = (u64, u64)> + Send + 'static,
{
    let rt = runtime();
    Box::new(move |n| {
        rt.block_on(async move {
            let per = n / FAN as u64;
            let (txs, rxs) = fan(C::bounded);
            let start = Instant::now();
            let consumer = tokio::spawn(consume(rxs));
            let senders: Vec<_> = (0..FAN as u64)
                .zip(txs)
                .map(|(p, tx)| {
                    tokio::spawn(async move {
                        for v in p * per..(p + 1) * per {
                            if !C::send(&tx, v).await {
                                return false;
                            }
                        }
                        true
                    })
                })
                .collect();
            let mut sent = Vec::new();
            for h in senders {
                sent.push(join_task(h).await);
            }
            let got = vec![join_task(consumer).await];
            let elapsed = start.elapsed();
            finish(per * FAN as u64, sent, got, elapsed)
        })
    })
}

/// What a `select4` consumer has received, and which of its channels are still open.
struct Tally {
    count: u64,
    sum: u64,
    open: [bool; FAN],
}

impl Tally {
    fn new() -> Tally {
        Tally {
            count: 0,
            sum: 0,
            open: [true; FAN],
        }
    }

    /// Whether some channel is still open.
    fn live(&self) -> bool {
        self.open.contains(&true)
    }

    /// The receivers of the channels still open (`None`: disabled, like a nil channel in Go).
    fn enabled<'a, R>(&self, rxs: &'a [R; FAN]) -> [Option<&'a R>; FAN] {
        std::array::from_fn(|i| self.open[i].then_some(&rxs[i]))
    }

    /// Case `i` fired with `v`; `None` means its channel is closed and drained.
    fn take(&mut self, i: usize, v: Option<u64>) {
        match v {
            Some(v) => (self.count, self.sum) = (self.count + 1, self.sum.wrapping_add(v)),
            None => self.open[i] = false,
        }
    }

    fn result(&self) -> (u64, u64) {
        (self.count, self.sum)
    }
}

fn hoare_select4(rxs: [hoare::chan::Receiver<u64>; FAN]) -> (u64, u64) {
    let mut t = Tally::new();
    while t.live() {
        let [a, b, c, d] = t.enabled(&rxs);
        let (i, v) = hoare::select! {
            recv(a) -> v => (0, v),
            recv(b) -> v => (1, v),
            recv(c) -> v => (2, v),
            recv(d) -> v => (3, v),
        };
        t.take(i, v);
    }
    t.result()
}

async fn hoare_select4_async(rxs: [hoare::chan::Receiver<u64>; FAN]) -> (u64, u64) {
    let mut t = Tally::new();
    while t.live() {
        let [a, b, c, d] = t.enabled(&rxs);
        let (i, v) = hoare::select_async! {
            recv(a) -> v => (0, v),
            recv(b) -> v => (1, v),
            recv(c) -> v => (2, v),
            recv(d) -> v => (3, v),
        };
        t.take(i, v);
    }
    t.result()
}

/// crossbeam's `select!` macro; a closed channel's case is replaced by `never()`.
fn crossbeam_select4_macro(rxs: [crossbeam_channel::Receiver<u64>; FAN]) -> (u64, u64) {
    let never = crossbeam_channel::never();
    let mut t = Tally::new();
    while t.live() {
        let [a, b, c, d] = t.enabled(&rxs).map(|rx| rx.unwrap_or(&never));
        let (i, v) = crossbeam_channel::select! {
            recv(a) -> v => (0, v.ok()),
            recv(b) -> v => (1, v.ok()),
            recv(c) -> v => (2, v.ok()),
            recv(d) -> v => (3, v.ok()),
        };
        t.take(i, v);
    }
    t.result()
}

/// crossbeam's dynamic `Select`, built once; a closed channel's case is removed.
fn crossbeam_select4_dynamic(rxs: [crossbeam_channel::Receiver<u64>; FAN]) -> (u64, u64) {
    let mut sel = crossbeam_channel::Select::new();
    for rx in &rxs {
        sel.recv(rx); // case index i is rxs[i]
    }
    let mut t = Tally::new();
    while t.live() {
        let op = sel.select();
        let i = op.index();
        let v = op.recv(&rxs[i]).ok();
        if v.is_none() {
            sel.remove(i);
        }
        t.take(i, v);
    }
    t.result()
}

/// flume's `Selector` (consumed by `wait`, so built for every select) over the open channels.
fn flume_select4(rxs: [flume::Receiver<u64>; FAN]) -> (u64, u64) {
    let mut t = Tally::new();
    while t.live() {
        let mut sel = flume::Selector::new();
        for (i, rx) in t.enabled(&rxs).into_iter().enumerate() {
            if let Some(rx) = rx {
                sel = sel.recv(rx, move |r| (i, r.ok()));
            }
        }
        let (i, v) = sel.wait();
        t.take(i, v);
    }
    t.result()
}

/// `tokio::select!`; a closed channel's branch is disabled by its precondition.
async fn tokio_select4(rxs: [tokio::sync::mpsc::Receiver<u64>; FAN]) -> (u64, u64) {
    let [mut r0, mut r1, mut r2, mut r3] = rxs;
    let mut t = Tally::new();
    while t.live() {
        let [o0, o1, o2, o3] = t.open;
        let (i, v) = tokio::select! {
            v = r0.recv(), if o0 => (0, v),
            v = r1.recv(), if o1 => (1, v),
            v = r2.recv(), if o2 => (2, v),
            v = r3.recv(), if o3 => (3, v),
        };
        t.take(i, v);
    }
    t.result()
}

// ---------------------------------------------------------------------------------------------
// select2ready: one thread or task, 2 channels of capacity 1 that are full whenever it selects.

const CLOSED: &str = "select2ready: a channel reported closed while its sender is alive";
const REFILL: &str = "select2ready: try_send could not put the value back";

/// How often each `select2ready` case fired and what it received.
struct Fired {
    counts: [u64; 2],
    sums: [u64; 2],
}

impl Fired {
    fn new() -> Fired {
        Fired {
            counts: [0; 2],
            sums: [0; 2],
        }
    }

    fn take(&mut self, i: usize, v: u64) {
        self.counts[i] += 1;
        self.sums[i] = self.sums[i].wrapping_add(v);
    }

    /// Checks that `n` selects ran, each case got only its own channel's value, both cases
    /// fired at least `n / 8` times, and `left` (each channel drained at the end) is `READY`.
    fn check(&self, n: u64, left: [Vec<u64>; 2], elapsed: Duration) -> Result<Duration, String> {
        let fired = self.counts[0] + self.counts[1];
        if fired != n {
            return Err(format!("check failed: {fired} selects fired, expected {n}"));
        }
        for i in 0..2 {
            if self.sums[i] != self.counts[i].wrapping_mul(READY[i]) {
                return Err(format!(
                    "check failed: case {i} fired {} times but received values summing to {}, \
                     expected {} (a value from the other case's channel?)",
                    self.counts[i],
                    self.sums[i],
                    self.counts[i].wrapping_mul(READY[i])
                ));
            }
            if self.counts[i] < n / 8 {
                return Err(format!(
                    "check failed: case {i} fired {} times of {n}: the choice among ready \
                     cases is not uniform",
                    self.counts[i]
                ));
            }
            if left[i] != [READY[i]] {
                return Err(format!(
                    "check failed: channel {i} holds {:?} at the end, expected [{}]",
                    left[i], READY[i]
                ));
            }
        }
        Ok(elapsed)
    }
}

/// Everything `try_recv` still yields.
fn drain<E>(mut try_recv: impl FnMut() -> Result<u64, E>) -> Vec<u64> {
    std::iter::from_fn(|| try_recv().ok()).collect()
}

fn ready_hoare(n: u64) -> Result<Duration, String> {
    let (tx0, rx0) = hoare::chan::<u64>(1);
    let (tx1, rx1) = hoare::chan::<u64>(1);
    let txs = [&tx0, &tx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let (i, v) = hoare::select! {
            recv(&rx0) -> v => (0, v),
            recv(&rx1) -> v => (1, v),
        };
        let v = v.ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

async fn ready_hoare_async(n: u64) -> Result<Duration, String> {
    let (tx0, rx0) = hoare::chan::<u64>(1);
    let (tx1, rx1) = hoare::chan::<u64>(1);
    let txs = [&tx0, &tx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let (i, v) = hoare::select_async! {
            recv(&rx0) -> v => (0, v),
            recv(&rx1) -> v => (1, v),
        };
        let v = v.ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

fn ready_crossbeam_macro(n: u64) -> Result<Duration, String> {
    let (tx0, rx0) = crossbeam_channel::bounded::<u64>(1);
    let (tx1, rx1) = crossbeam_channel::bounded::<u64>(1);
    let txs = [&tx0, &tx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let (i, v) = crossbeam_channel::select! {
            recv(rx0) -> v => (0, v.ok()),
            recv(rx1) -> v => (1, v.ok()),
        };
        let v = v.ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

fn ready_crossbeam_dynamic(n: u64) -> Result<Duration, String> {
    let (tx0, rx0) = crossbeam_channel::bounded::<u64>(1);
    let (tx1, rx1) = crossbeam_channel::bounded::<u64>(1);
    let txs = [&tx0, &tx1];
    let rxs = [&rx0, &rx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut sel = crossbeam_channel::Select::new();
    sel.recv(&rx0);
    sel.recv(&rx1);
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let op = sel.select();
        let i = op.index();
        let v = op.recv(rxs[i]).ok().ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

fn ready_flume(n: u64) -> Result<Duration, String> {
    let (tx0, rx0) = flume::bounded::<u64>(1);
    let (tx1, rx1) = flume::bounded::<u64>(1);
    let txs = [&tx0, &tx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let (i, v) = flume::Selector::new()
            .recv(&rx0, |v| (0, v.ok()))
            .recv(&rx1, |v| (1, v.ok()))
            .wait();
        let v = v.ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

async fn ready_tokio(n: u64) -> Result<Duration, String> {
    let (tx0, mut rx0) = tokio::sync::mpsc::channel::<u64>(1);
    let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u64>(1);
    let txs = [&tx0, &tx1];
    for (tx, v) in txs.iter().zip(READY) {
        tx.try_send(v).map_err(|_| REFILL)?;
    }
    let mut f = Fired::new();
    let start = Instant::now();
    for _ in 0..n {
        let (i, v) = tokio::select! {
            v = rx0.recv() => (0, v),
            v = rx1.recv() => (1, v),
        };
        let v = v.ok_or(CLOSED)?;
        txs[i].try_send(v).map_err(|_| REFILL)?;
        f.take(i, v);
    }
    let elapsed = start.elapsed();
    f.check(
        n,
        [drain(|| rx0.try_recv()), drain(|| rx1.try_recv())],
        elapsed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_all(keep: impl Fn(&Case) -> bool) {
        crate::harness::run_every_case(scenarios(), keep);
    }

    #[test]
    fn every_peer_case_runs_and_checks() {
        run_all(|c| c.imp != "hoare");
    }

    #[test]
    fn every_hoare_case_runs_and_checks() {
        run_all(|c| c.imp == "hoare");
    }

    #[test]
    fn ready_check_rejects_misrouted_unfair_or_lost_values() {
        let ok = |f: &Fired, left: [Vec<u64>; 2]| f.check(64, left, Duration::ZERO).is_ok();
        let full = || [vec![READY[0]], vec![READY[1]]];
        let mut f = Fired::new();
        (0..32).for_each(|_| f.take(0, READY[0]));
        (0..32).for_each(|_| f.take(1, READY[1]));
        assert!(ok(&f, full()));
        assert!(!ok(&f, [vec![], vec![READY[1]]]));
        let mut g = Fired::new();
        (0..64).for_each(|_| g.take(0, READY[0]));
        assert!(!ok(&g, full()), "one case never fired");
        let mut h = Fired::new();
        (0..32).for_each(|_| h.take(0, READY[0]));
        (0..32).for_each(|_| h.take(1, READY[0]));
        assert!(!ok(&h, full()), "case 1 got case 0's value");
    }
}

//! The channel family: `pingpong0`, `spsc1024`, `mpsc` and `mpmc`, each blocking and async.
//!
//! Every repetition builds fresh channels and fresh threads (blocking) or tasks (async, on a
//! multi-thread tokio runtime with 2 workers that lives for the whole measurement), and checks
//! that every message arrived exactly once (count and sum) before its time is accepted.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Case, Mode, Rep, Scenario};
use crate::peers::{AsyncChan, AsyncChannel, Crossbeam, Flume, Hoare, Kanal, Std, SyncChan, Tokio};

/// Family name: results go to `bench/results/channels.{md,svg}`.
pub const FAMILY: &str = "channels";

/// Capacity of the buffered scenarios.
const CAP: usize = 1024;

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "pingpong0",
            family: FAMILY,
            description: "rendezvous round trip: A sends on ch1, B replies on ch2 (capacity 0)",
            unit: "round trip",
            cases: pingpong_cases,
        },
        Scenario {
            name: "spsc1024",
            family: FAMILY,
            description: "bounded(1024), 1 producer, 1 consumer, u64",
            unit: "message",
            cases: spsc_cases,
        },
        Scenario {
            name: "mpsc",
            family: FAMILY,
            description: "bounded(1024), 2 producers, 1 consumer, u64",
            unit: "message",
            cases: mpsc_cases,
        },
        Scenario {
            name: "mpmc",
            family: FAMILY,
            description: "bounded(1024), 2 producers, 2 consumers, u64 (std, tokio: single consumer, skipped)",
            unit: "message",
            cases: mpmc_cases,
        },
    ]
}

fn pingpong_cases() -> Vec<Case> {
    fn blocking<C: SyncChan>() -> Case {
        Case::new(Mode::Blocking, C::NAME, "", || pingpong_blocking::<C>(0))
    }
    fn asynch<C: AsyncChan>() -> Case {
        let (cap, note) = if C::ZERO_CAP {
            (0, "")
        } else {
            (1, "cap 1 (no cap 0)")
        };
        Case::new(Mode::Async, C::NAME, note, move || pingpong_async::<C>(cap))
    }
    vec![
        blocking::<Hoare>(),
        blocking::<Crossbeam>(),
        blocking::<Flume>(),
        blocking::<Kanal>(),
        blocking::<Std>(),
        asynch::<Hoare>(),
        asynch::<Tokio>(),
        asynch::<AsyncChannel>(),
        asynch::<Flume>(),
        asynch::<Kanal>(),
    ]
}

/// A blocking throughput case with `producers` producer threads; `split` makes the consumers.
fn blocking_tp<C: SyncChan>(producers: usize, split: fn(C::Rx) -> Vec<C::Rx>) -> Case {
    Case::new(Mode::Blocking, C::NAME, "", move || {
        throughput_blocking::<C>(producers, split)
    })
}

/// An async throughput case with `producers` producer tasks; `split` makes the consumers.
fn async_tp<C: AsyncChan>(producers: usize, split: fn(C::Rx) -> Vec<C::Rx>) -> Case {
    Case::new(Mode::Async, C::NAME, "", move || {
        throughput_async::<C>(producers, split)
    })
}

fn one<R>(rx: R) -> Vec<R> {
    vec![rx]
}

fn two<R: Clone>(rx: R) -> Vec<R> {
    vec![rx.clone(), rx]
}

/// Single-consumer throughput cases for every implementation.
fn single_consumer_cases(producers: usize) -> Vec<Case> {
    vec![
        blocking_tp::<Hoare>(producers, one),
        blocking_tp::<Crossbeam>(producers, one),
        blocking_tp::<Flume>(producers, one),
        blocking_tp::<Kanal>(producers, one),
        blocking_tp::<Std>(producers, one),
        async_tp::<Hoare>(producers, one),
        async_tp::<Tokio>(producers, one),
        async_tp::<AsyncChannel>(producers, one),
        async_tp::<Flume>(producers, one),
        async_tp::<Kanal>(producers, one),
    ]
}

fn spsc_cases() -> Vec<Case> {
    single_consumer_cases(1)
}

fn mpsc_cases() -> Vec<Case> {
    single_consumer_cases(2)
}

fn mpmc_cases() -> Vec<Case> {
    vec![
        blocking_tp::<Hoare>(2, two),
        blocking_tp::<Crossbeam>(2, two),
        blocking_tp::<Flume>(2, two),
        blocking_tp::<Kanal>(2, two),
        async_tp::<Hoare>(2, two),
        async_tp::<AsyncChannel>(2, two),
        async_tp::<Flume>(2, two),
        async_tp::<Kanal>(2, two),
    ]
}

/// The tokio runtime of one async measurement: multi-thread, 2 workers.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build tokio runtime")
}

/// Sum of 0..n, what the receivers must add up to.
fn expected_sum(n: u64) -> u64 {
    (n as u128 * n.saturating_sub(1) as u128 / 2) as u64
}

/// Checks that `n` messages summing to `expected_sum(n)` were received.
fn check(n: u64, count: u64, sum: u64) -> Result<(), String> {
    if count != n || sum != expected_sum(n) {
        return Err(format!(
            "check failed: received {count} messages summing to {sum}, expected {n} summing to {}",
            expected_sum(n)
        ));
    }
    Ok(())
}

pub(crate) fn join<T>(h: thread::JoinHandle<T>) -> Result<T, String> {
    h.join()
        .map_err(|_| "a benchmark thread panicked".to_string())
}

pub(crate) async fn join_task<T>(h: tokio::task::JoinHandle<T>) -> Result<T, String> {
    h.await.map_err(|e| format!("a benchmark task failed: {e}"))
}

/// Round trips between two threads over two channels of capacity `cap`.
fn pingpong_blocking<C: SyncChan>(cap: usize) -> Rep {
    Box::new(move |n| {
        let (tx1, rx1) = C::bounded(cap);
        let (tx2, rx2) = C::bounded(cap);
        let barrier = Arc::new(Barrier::new(3));
        let b = barrier.clone();
        let echo = thread::spawn(move || {
            b.wait();
            let mut k = 0u64;
            while let Some(v) = C::recv(&rx1) {
                if !C::send(&tx2, v) {
                    break;
                }
                k += 1;
            }
            k
        });
        let b = barrier.clone();
        let ping = thread::spawn(move || {
            b.wait();
            let (mut count, mut sum) = (0u64, 0u64);
            for i in 0..n {
                if !C::send(&tx1, i) {
                    break;
                }
                match C::recv(&rx2) {
                    Some(v) => (count, sum) = (count + 1, sum.wrapping_add(v)),
                    None => break,
                }
            }
            (count, sum)
        });
        barrier.wait();
        let start = Instant::now();
        let pinged = join(ping);
        let echoed = join(echo);
        let elapsed = start.elapsed();
        let (count, sum) = pinged?;
        check(n, count, sum)?;
        check(n, echoed?, expected_sum(n)).map(|_| elapsed)
    })
}

/// Round trips between two tasks over two channels of capacity `cap`.
fn pingpong_async<C: AsyncChan>(cap: usize) -> Rep {
    let rt = runtime();
    Box::new(move |n| {
        rt.block_on(async move {
            let (tx1, mut rx1) = C::bounded(cap);
            let (tx2, mut rx2) = C::bounded(cap);
            let start = Instant::now();
            let echo = tokio::spawn(async move {
                let mut k = 0u64;
                while let Some(v) = C::recv(&mut rx1).await {
                    if !C::send(&tx2, v).await {
                        break;
                    }
                    k += 1;
                }
                k
            });
            let ping = tokio::spawn(async move {
                let (mut count, mut sum) = (0u64, 0u64);
                for i in 0..n {
                    if !C::send(&tx1, i).await {
                        break;
                    }
                    match C::recv(&mut rx2).await {
                        Some(v) => (count, sum) = (count + 1, sum.wrapping_add(v)),
                        None => break,
                    }
                }
                (count, sum)
            });
            let pinged = join_task(ping).await;
            let echoed = join_task(echo).await;
            let elapsed = start.elapsed();
            let (count, sum) = pinged?;
            check(n, count, sum)?;
            check(n, echoed?, expected_sum(n)).map(|_| elapsed)
        })
    })
}

/// Adds up what the consumers returned and checks it against `n` messages.
fn check_consumers(n: u64, got: Vec<Result<(u64, u64), String>>) -> Result<(), String> {
    let (mut count, mut sum) = (0u64, 0u64);
    for g in got {
        let (c, s) = g?;
        count += c;
        sum = sum.wrapping_add(s);
    }
    check(n, count, sum)
}

/// `producers` threads send `n` messages in total to the consumer threads made by `split`.
fn throughput_blocking<C: SyncChan>(producers: usize, split: fn(C::Rx) -> Vec<C::Rx>) -> Rep {
    Box::new(move |n| {
        let per = n / producers as u64;
        let (tx, rx) = C::bounded(CAP);
        let rxs = split(rx);
        let barrier = Arc::new(Barrier::new(producers + rxs.len() + 1));
        let consumers: Vec<_> = rxs
            .into_iter()
            .map(|rx| {
                let b = barrier.clone();
                thread::spawn(move || {
                    b.wait();
                    let (mut count, mut sum) = (0u64, 0u64);
                    while let Some(v) = C::recv(&rx) {
                        (count, sum) = (count + 1, sum.wrapping_add(v));
                    }
                    (count, sum)
                })
            })
            .collect();
        let senders: Vec<_> = (0..producers as u64)
            .map(|p| {
                let (b, tx) = (barrier.clone(), tx.clone());
                thread::spawn(move || {
                    b.wait();
                    (p * per..(p + 1) * per).all(|v| C::send(&tx, v))
                })
            })
            .collect();
        drop(tx);
        barrier.wait();
        let start = Instant::now();
        let sent: Vec<_> = senders.into_iter().map(join).collect();
        let got: Vec<_> = consumers.into_iter().map(join).collect();
        let elapsed = start.elapsed();
        finish(per * producers as u64, sent, got, elapsed)
    })
}

/// `producers` tasks send `n` messages in total to the consumer tasks made by `split`.
fn throughput_async<C: AsyncChan>(producers: usize, split: fn(C::Rx) -> Vec<C::Rx>) -> Rep {
    let rt = runtime();
    Box::new(move |n| {
        rt.block_on(async move {
            let per = n / producers as u64;
            let (tx, rx) = C::bounded(CAP);
            let rxs = split(rx);
            let start = Instant::now();
            let consumers: Vec<_> = rxs
                .into_iter()
                .map(|mut rx| {
                    tokio::spawn(async move {
                        let (mut count, mut sum) = (0u64, 0u64);
                        while let Some(v) = C::recv(&mut rx).await {
                            (count, sum) = (count + 1, sum.wrapping_add(v));
                        }
                        (count, sum)
                    })
                })
                .collect();
            let senders: Vec<_> = (0..producers as u64)
                .map(|p| {
                    let tx = tx.clone();
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
            drop(tx);
            let mut sent = Vec::new();
            for h in senders {
                sent.push(join_task(h).await);
            }
            let mut got = Vec::new();
            for h in consumers {
                got.push(join_task(h).await);
            }
            let elapsed = start.elapsed();
            finish(per * producers as u64, sent, got, elapsed)
        })
    })
}

/// Common end of a throughput repetition: all sends succeeded and all `n` messages arrived.
pub(crate) fn finish(
    n: u64,
    sent: Vec<Result<bool, String>>,
    got: Vec<Result<(u64, u64), String>>,
    elapsed: Duration,
) -> Result<Duration, String> {
    for s in sent {
        if !s? {
            return Err("a send failed: channel closed early".into());
        }
    }
    check_consumers(n, got).map(|_| elapsed)
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
    fn check_rejects_a_lost_message() {
        assert!(check(10, 10, 45).is_ok());
        assert!(check(10, 9, 45).is_err());
        assert!(check(10, 10, 44).is_err());
    }
}

//! The pattern family: the book's chapter-4 adapters (`or_done`, `tee`, `bridge`, `fan_in8`)
//! per value, beside the same values through one bare hoare channel hop (impl `chan-hop`, the
//! baseline) and the book's goroutine versions in Go; and `primes`, the book's fan-out prime
//! finder with one worker (`hoare-1`) and with one per core (`hoare`).
//!
//! All async mode: a producer task sends `0..n` into an unbuffered hoare channel, the pattern
//! runs on hoare goroutines (tokio tasks), and a consumer task receives; the repetition counts
//! only if the consumer saw every value once (by count and sum).
//!
//! - `or_done`: consumer reads `or_done(ctx, source)`; baseline reads `source`.
//! - `tee`: two consumer tasks read the two outputs of `tee(ctx, source)`, each must see all
//!   `n`; baseline: one consumer reads `source`; and `chan-hop-x2`, the same two deliveries
//!   per value by bare hops (the producer sends each value to each consumer's channel).
//! - `bridge`: the producer sends streams of 64 values (buffered, filled, closed) over an
//!   unbuffered channel of streams; consumer reads `bridge(ctx, streams)`; baseline: the `n`
//!   values over one unbuffered channel.
//! - `fan_in8`: 8 producer tasks each send `n / 8` values on their own unbuffered channel;
//!   consumer reads `fan_in(ctx, the 8)`; baseline: the 8 producers share one channel.
//! - `primes`: random ints below 200,000 (a xorshift `repeat_fn`) → the book's slow prime
//!   finder (every divisor from n - 1 down) fanned out → `fan_in` → the consumer takes `n`
//!   primes; ns per prime found. (The book draws below 50,000,000; smaller numbers keep a
//!   repetition short.)

use std::time::{Duration, Instant};

use hoare::chan::{chan, Receiver};
use hoare::context::Context;
use hoare::pattern;

use crate::channels::join_task;
use crate::context::async_case;
use crate::harness::{Case, Scenario};

/// Family name: results go to `bench/results/pattern.{md,svg}`.
pub const FAMILY: &str = "pattern";

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "or_done",
            family: FAMILY,
            description: "a producer task sends n values on an unbuffered channel; a consumer \
                          task reads them through or_done (chan-hop: directly)",
            unit: "value",
            cases: or_done_cases,
        },
        Scenario {
            name: "tee",
            family: FAMILY,
            description: "tee of one unbuffered source; two consumer tasks each read all n \
                          values (chan-hop: one consumer reads the source)",
            unit: "value",
            cases: tee_cases,
        },
        Scenario {
            name: "bridge",
            family: FAMILY,
            description: "streams of 64 values sent over an unbuffered channel of streams, \
                          flattened by bridge (chan-hop: the values over one unbuffered channel)",
            unit: "value",
            cases: bridge_cases,
        },
        Scenario {
            name: "fan_in8",
            family: FAMILY,
            description: "8 producer tasks, each on its own unbuffered channel, merged by \
                          fan_in (chan-hop: the 8 share one channel)",
            unit: "value",
            cases: fan_in8_cases,
        },
        Scenario {
            name: "pipeline",
            family: FAMILY,
            description: "the book's pipeline: generator → multiply(2) → add(1) → multiply(2), \
                          one goroutine per stage, unbuffered (chain: the same goroutines and \
                          channels written by hand, no counters)",
            unit: "value",
            cases: pipeline_cases,
        },
        Scenario {
            name: "primes",
            family: FAMILY,
            description: "the book's prime finder: random ints below 200,000 → the book's slow \
                          prime test fanned out → fan_in; ns per prime found",
            unit: "prime",
            cases: primes_cases,
        },
    ]
}

fn or_done_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "or_done(ctx, source)", |n| {
            one_stream(n, Adapter::OrDone)
        }),
        async_case("chan-hop", "the source itself", |n| {
            one_stream(n, Adapter::None)
        }),
    ]
}

fn tee_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "tee(ctx, source), two consumers", tee),
        async_case("chan-hop", "the source itself, one consumer", |n| {
            one_stream(n, Adapter::None)
        }),
        async_case(
            "chan-hop-x2",
            "the same two deliveries by bare hops: the producer sends each value on \
             two channels, one per consumer",
            two_hops,
        ),
    ]
}

fn bridge_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "bridge(ctx, streams of 64)", bridge),
        async_case("chan-hop", "one unbuffered channel", |n| {
            one_stream(n, Adapter::None)
        }),
    ]
}

fn fan_in8_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "fan_in(ctx, 8 channels)", |n| fan_in8(n, true)),
        async_case("chan-hop", "8 producers on one channel", |n| {
            fan_in8(n, false)
        }),
    ]
}

fn pipeline_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "Pipeline with per-stage counters", |n| {
            pipeline(n, Build::Counted)
        }),
        async_case(
            "hoare-uncounted",
            "Pipeline::without_counters(): the counters' cost is hoare / this",
            |n| pipeline(n, Build::Uncounted),
        ),
        async_case("chain", "hand-written stage goroutines", |n| {
            pipeline(n, Build::Chain)
        }),
    ]
}

/// One hand-written stage: a goroutine applying `f` to each value of `input`.
fn chain_stage(
    ctx: &Context,
    input: Receiver<u64>,
    f: impl Fn(u64) -> u64 + Send + 'static,
) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    let done = ctx.done();
    drop(hoare::go(async move {
        while let Some(v) = input.recv_async().await {
            // As the library's stages do: hand over directly when the next stage is
            // waiting, select against the context only when it is not.
            let v = match tx.try_send(f(v)) {
                Ok(()) => continue,
                Err(hoare::chan::TrySendError::Closed(_)) => return,
                Err(hoare::chan::TrySendError::Full(v)) => v,
            };
            hoare::select_async! {
                send(&tx, v) -> sent => if sent.is_err() { return },
                recv(&done) -> _ => return,
            }
        }
    }));
    rx
}

/// How the pipeline scenario builds its stages.
#[derive(Clone, Copy, PartialEq)]
enum Build {
    /// `Pipeline`, counting.
    Counted,
    /// `Pipeline::without_counters()`.
    Uncounted,
    /// Goroutines and channels by hand.
    Chain,
}

async fn pipeline(n: u64, build: Build) -> Result<Duration, String> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let (mut count, mut sum) = (0u64, 0u64);
    if build != Build::Chain {
        let mut p = pattern::Pipeline::new(&ctx, 0..n);
        if build == Build::Uncounted {
            p = p.without_counters();
        }
        let p = p
            .stage("multiply", 1, |v: u64| v * 2)
            .stage("add", 1, |v| v + 1)
            .stage("multiply", 1, |v| v * 2);
        let out = p.output();
        while let Some(v) = out.recv_async().await {
            let v = v.map_err(|e| format!("check failed: {e}"))?;
            (count, sum) = (count + 1, sum.wrapping_add(v));
        }
    } else {
        let (src, producer) = source(n);
        let out = chain_stage(&ctx, src, |v| v * 2);
        let out = chain_stage(&ctx, out, |v| v + 1);
        let out = chain_stage(&ctx, out, |v| v * 2);
        while let Some(v) = out.recv_async().await {
            (count, sum) = (count + 1, sum.wrapping_add(v));
        }
        join_task(producer).await?;
    }
    let want = (0..n).fold(0u64, |s, v| s.wrapping_add(4 * v + 2));
    if count != n || sum != want {
        return Err(format!(
            "check failed: {count} values summing to {sum}, expected {n} summing to {want}"
        ));
    }
    Ok(start.elapsed())
}

fn primes_cases() -> Vec<Case> {
    vec![
        async_case("hoare", "fan_out to one worker per core, fan_in", |n| {
            primes(n, cores())
        }),
        async_case("hoare-1", "one worker", |n| primes(n, 1)),
    ]
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// What sits between the source and the consumer.
#[derive(Clone, Copy)]
enum Adapter {
    None,
    OrDone,
}

/// A producer task sending `0..n` on a fresh unbuffered channel.
fn source(n: u64) -> (Receiver<u64>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = chan(0);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            if tx.send_async(i).await.is_err() {
                return;
            }
        }
    });
    (rx, producer)
}

/// Receives everything from `rx` and checks it was `0..n` (in any order).
async fn consume(rx: Receiver<u64>, n: u64) -> Result<(), String> {
    let (mut count, mut sum) = (0u64, 0u64);
    while let Some(v) = rx.recv_async().await {
        count += 1;
        sum = sum.wrapping_add(v);
    }
    let want = (0..n).fold(0u64, u64::wrapping_add);
    if count != n || sum != want {
        return Err(format!(
            "check failed: received {count} values summing to {sum}, expected {n} summing to {want}"
        ));
    }
    Ok(())
}

async fn one_stream(n: u64, adapter: Adapter) -> Result<Duration, String> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let (rx, producer) = source(n);
    let rx = match adapter {
        Adapter::None => rx,
        Adapter::OrDone => pattern::or_done(&ctx, rx),
    };
    consume(rx, n).await?;
    join_task(producer).await?;
    Ok(start.elapsed())
}

async fn tee(n: u64) -> Result<Duration, String> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let (rx, producer) = source(n);
    let (a, b) = pattern::tee(&ctx, rx);
    let other = tokio::spawn(consume(b, n));
    consume(a, n).await?;
    join_task(other).await??;
    join_task(producer).await?;
    Ok(start.elapsed())
}

/// The deliveries `tee` makes, by bare hops: each value to each of two consumers,
/// the next value only once both have the current one.
async fn two_hops(n: u64) -> Result<Duration, String> {
    let start = Instant::now();
    let (tx_a, a) = chan(0);
    let (tx_b, b) = chan(0);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            if tx_a.send_async(i).await.is_err() || tx_b.send_async(i).await.is_err() {
                return;
            }
        }
    });
    let other = tokio::spawn(consume(b, n));
    consume(a, n).await?;
    join_task(other).await??;
    join_task(producer).await?;
    Ok(start.elapsed())
}

async fn bridge(n: u64) -> Result<Duration, String> {
    const PER_STREAM: u64 = 64;
    let (ctx, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let (tx, streams) = chan::<Receiver<u64>>(0);
    let producer = tokio::spawn(async move {
        let mut next = 0;
        while next < n {
            let len = PER_STREAM.min(n - next);
            let (stx, stream) = chan(len as usize);
            for v in next..next + len {
                let _ = stx.try_send(v);
            }
            next += len;
            drop(stx);
            if tx.send_async(stream).await.is_err() {
                return;
            }
        }
    });
    consume(pattern::bridge(&ctx, streams), n).await?;
    join_task(producer).await?;
    Ok(start.elapsed())
}

async fn fan_in8(n: u64, fan_in: bool) -> Result<Duration, String> {
    const INPUTS: u64 = 8;
    let (ctx, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let (shared_tx, shared_rx) = chan::<u64>(0);
    let mut inputs = Vec::new();
    let mut producers = Vec::new();
    for p in 0..INPUTS {
        let tx = if fan_in {
            let (tx, rx) = chan(0);
            inputs.push(rx);
            tx
        } else {
            shared_tx.clone()
        };
        producers.push(tokio::spawn(async move {
            let mut i = p;
            while i < n {
                if tx.send_async(i).await.is_err() {
                    return;
                }
                i += INPUTS;
            }
        }));
    }
    drop(shared_tx);
    let rx = if fan_in {
        pattern::fan_in(&ctx, inputs)
    } else {
        shared_rx
    };
    consume(rx, n).await?;
    for p in producers {
        join_task(p).await?;
    }
    Ok(start.elapsed())
}

/// The book's deliberately slow prime test (every divisor from `n - 1` down), which is
/// what makes the stage worth fanning out.
fn is_prime(n: u64) -> bool {
    n >= 2 && (2..n).rev().all(|d| n % d != 0)
}

/// Whether `n` is prime, the quick way, to check the finders' answers.
fn check_prime(n: u64) -> bool {
    n >= 2 && (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

async fn primes(n: u64, workers: usize) -> Result<Duration, String> {
    let (ctx, cancel) = Context::background().with_cancel();
    let start = Instant::now();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let rand_ints = pattern::repeat_fn(&ctx, move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 200_000
    });
    let finders = pattern::fan_out(&ctx, rand_ints, workers, |v| is_prime(v).then_some(v));
    let found = pattern::fan_in(&ctx, finders);
    let mut got = 0u64;
    while got < n {
        match found.recv_async().await {
            Some(Some(p)) if check_prime(p) => got += 1,
            Some(Some(p)) => return Err(format!("check failed: {p} is not prime")),
            Some(None) => {}
            None => return Err("check failed: the prime stream closed early".into()),
        }
    }
    let elapsed = start.elapsed();
    cancel.cancel();
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_and_checks() {
        let quick: Vec<Scenario> = scenarios()
            .into_iter()
            .filter(|s| s.name != "primes")
            .collect();
        crate::harness::run_every_case(quick, |_| true);
    }

    /// `primes` costs milliseconds per prime, so it is checked on a few.
    #[test]
    fn primes_finds_primes() {
        for case in primes_cases() {
            let mut rep = (case.setup)();
            assert!(rep(4).is_ok(), "{}", case.imp);
        }
    }
}

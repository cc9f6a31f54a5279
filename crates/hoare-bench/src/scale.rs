//! The scale family: chapter 5 of the book at run time.
//!
//! - `heartbeat`: a worker task does `n` small units of work (a xorshift step each),
//!   pulsing a per-unit heartbeat before each (`hoare`) or not (`bare`); a monitor task
//!   drains the pulses every millisecond, as a watcher samples a heartbeat. ns per unit.
//! - `steward_restart`: a steward with a 1 ms timeout over wards that never pulse; ns
//!   from the steward's deadline firing (its `Unhealthy` event) to the new ward's start
//!   function running, averaged over `n` restarts. (The deadline itself fires on tokio's
//!   timer, whose resolution is a millisecond; that lateness is not counted.)
//! - `hedge_p99`, `hedge_p999`: 32 client tasks call a synthetic long-tail service (each
//!   attempt takes 1 ms, or 50 ms for 2% of attempts) 4,000 times in all, through a
//!   [`Hedger`] (percentile 95, at most 10% extra requests: impl `hoare`) or directly
//!   (`unhedged`). The figure is that latency percentile of the calls, in ns; `n` only
//!   scales it for the harness. A table of p50/p99/p99.9 and the extra load is printed on
//!   stderr. (2% rather than the 1% of "The Tail at Scale" so that the unhedged p99 falls
//!   among the slow calls rather than on the boundary.)

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoare::chan::chan;
use hoare::context::Context;
use hoare::hedge::{HedgePolicy, Hedger};
use hoare::supervise::{heartbeat, Steward, StewardEvent};

use crate::harness::{Case, Mode, Rep, Scenario};

/// Family name: results go to `bench/results/scale.{md,svg}`.
pub const FAMILY: &str = "scale";

/// Calls per hedge repetition, and the clients making them.
const CALLS: usize = 4_000;
const CLIENTS: usize = 32;
/// The synthetic service: most attempts take `FAST`, one in `SLOW_ONE_IN` takes `SLOW`.
const FAST: Duration = Duration::from_millis(1);
const SLOW: Duration = Duration::from_millis(50);
const SLOW_ONE_IN: u64 = 50;

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "heartbeat",
            family: FAMILY,
            description: "a worker task pulses a per-unit heartbeat before each small unit of \
                          work, a monitor drains pulses every ms (bare: no heartbeat)",
            unit: "unit of work",
            cases: heartbeat_cases,
        },
        Scenario {
            name: "steward_restart",
            family: FAMILY,
            description: "steward with a 1 ms timeout over silent wards: from its deadline \
                          firing to the new ward running",
            unit: "restart",
            cases: steward_cases,
        },
        Scenario {
            name: "hedge_p99",
            family: FAMILY,
            description: "p99 latency of 4,000 calls by 32 clients to a service taking 1 ms, \
                          50 ms for 2% of attempts (hoare: hedged at the p95, <= 10% extra)",
            unit: "p99 call",
            cases: || hedge_cases(99.0),
        },
        Scenario {
            name: "hedge_p999",
            family: FAMILY,
            description: "p99.9 latency of the same calls",
            unit: "p99.9 call",
            cases: || hedge_cases(99.9),
        },
    ]
}

/// A multi-thread runtime with 2 workers and tokio's timer (which hoare's timers use).
fn timed_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build tokio runtime")
}

/// An async case on a timed runtime.
fn timed_case<F>(imp: &'static str, note: &'static str, run: impl Fn(u64) -> F + 'static) -> Case
where
    F: Future<Output = Result<Duration, String>> + Send + 'static,
{
    let run = Arc::new(run);
    Case::new(Mode::Async, imp, note, move || -> Rep {
        let rt = timed_runtime();
        let run = run.clone();
        Box::new(move |n| rt.block_on(run(n)))
    })
}

// ---------------------------------------------------------------------------------------------
// heartbeat

fn heartbeat_cases() -> Vec<Case> {
    vec![
        timed_case("hoare", "Heartbeat::beat() per unit", |n| units(n, true)),
        timed_case("bare", "no heartbeat", |n| units(n, false)),
    ]
}

/// `n` units of work on a worker task, with or without a beat before each.
async fn units(n: u64, beat: bool) -> Result<Duration, String> {
    let (heart, pulses) = heartbeat();
    let (ctx, stop) = Context::background().with_cancel();
    let monitor = tokio::spawn(async move {
        let mut seen = 0u64;
        while ctx.err().is_none() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            while pulses.try_recv().is_ok() {
                seen += 1;
            }
        }
        seen
    });
    let worker = tokio::spawn(async move {
        let start = Instant::now();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..n {
            if beat {
                heart.beat();
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x = std::hint::black_box(x);
        }
        (start.elapsed(), x)
    });
    let (elapsed, x) = worker.await.map_err(|e| e.to_string())?;
    stop.cancel();
    let seen = monitor.await.map_err(|e| e.to_string())?;
    if x == 0 || (beat && n > 0 && seen == 0 && elapsed > Duration::from_millis(5)) {
        return Err(format!("worker state {x}, {seen} pulses seen"));
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// steward_restart

fn steward_cases() -> Vec<Case> {
    vec![timed_case("hoare", "Steward, 1 ms timeout", restarts)]
}

/// `n` restarts of a silent ward; the sum of the times from each `Unhealthy` event to the
/// next ward's start.
async fn restarts(n: u64) -> Result<Duration, String> {
    let n = n.clamp(1, 2_000);
    let (started_tx, started) = chan::<Instant>(n as usize + 8);
    let (unhealthy_tx, unhealthy) = chan::<Instant>(n as usize + 8);
    let steward = Steward::new(FAST, move |_: &Context, _| {
        let _ = started_tx.try_send(Instant::now());
        hoare::chan::never()
    })
    .map_err(|e| e.to_string())?
    .on_event(move |e| {
        if let StewardEvent::Unhealthy { .. } = e {
            let _ = unhealthy_tx.try_send(Instant::now());
        }
    });
    let (ctx, stop) = Context::background().with_cancel();
    let (_pulses, handle) = steward
        .start(&ctx, Duration::from_secs(3600))
        .map_err(|e| e.to_string())?;
    started
        .recv_async()
        .await
        .ok_or("the first ward never started")?;
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let deadline = unhealthy.recv_async().await.ok_or("no deadline fired")?;
        let restarted = started.recv_async().await.ok_or("no ward restarted")?;
        total += restarted.saturating_duration_since(deadline);
    }
    stop.cancel();
    handle
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// hedge_p99, hedge_p999

fn hedge_cases(percentile: f64) -> Vec<Case> {
    let hedged = move || -> Rep {
        let rt = timed_runtime();
        let policy = HedgePolicy::percentile(95.0)
            .and_then(|p| p.max_extra_load(0.1))
            .expect("a valid policy");
        let hedger = Arc::new(Hedger::new(policy));
        Box::new(move |n| {
            let hedger = hedger.clone();
            let before = hedger.stats();
            let mut latencies = rt.block_on(calls(Some(hedger.clone())))?;
            let after = hedger.stats();
            let extra = (after.hedges - before.hedges) as f64 / (after.calls - before.calls) as f64;
            summarize("hoare", &mut latencies, extra);
            Ok(figure(&latencies, percentile, n))
        })
    };
    let unhedged = move || -> Rep {
        let rt = timed_runtime();
        Box::new(move |n| {
            let mut latencies = rt.block_on(calls(None))?;
            summarize("unhedged", &mut latencies, 0.0);
            Ok(figure(&latencies, percentile, n))
        })
    };
    vec![
        Case::new(
            Mode::Async,
            "hoare",
            "Hedger, p95 delay, <= 10% extra",
            hedged,
        ),
        Case::new(Mode::Async, "unhedged", "one request per call", unhedged),
    ]
}

/// The seed of the service's random choice of slow attempts.
static SEED: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);

/// Whether the next attempt is a slow one (a shared xorshift; good enough for 2%).
fn slow_attempt() -> bool {
    let mut x = SEED.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    SEED.store(x, Ordering::Relaxed);
    x % SLOW_ONE_IN == 0
}

/// One attempt at the synthetic service; it stops early when `ctx` is done.
async fn service(ctx: Context) -> Result<(), ()> {
    let load = if slow_attempt() { SLOW } else { FAST };
    let done = ctx.done();
    tokio::select! {
        _ = tokio::time::sleep(load) => Ok(()),
        _ = done.recv_async() => Err(()),
    }
}

/// `CALLS` calls by `CLIENTS` concurrent clients; each call's latency.
async fn calls(hedger: Option<Arc<Hedger>>) -> Result<Vec<Duration>, String> {
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(CALLS)));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (hedger, latencies) = (hedger.clone(), latencies.clone());
        clients.push(tokio::spawn(async move {
            let ctx = Context::background();
            for _ in 0..CALLS / CLIENTS {
                let start = Instant::now();
                let ok = match &hedger {
                    Some(h) => h.run(&ctx, |ctx, _| service(ctx)).await.is_ok(),
                    None => service(ctx.clone()).await.is_ok(),
                };
                if !ok {
                    return Err("a call failed".to_string());
                }
                latencies.lock().unwrap().push(start.elapsed());
            }
            Ok(())
        }));
    }
    for c in clients {
        c.await.map_err(|e| e.to_string())??;
    }
    let latencies = std::mem::take(&mut *latencies.lock().unwrap());
    Ok(latencies)
}

/// The `p`-th percentile of sorted `latencies` (nearest rank).
fn percentile_of(sorted: &[Duration], p: f64) -> Duration {
    // The small subtraction keeps float error (0.999 * 1000 = 999.0000000000001) from
    // moving the rank up by one.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The percentile as the harness's figure: a duration that divided by `n` gives it.
fn figure(sorted: &[Duration], p: f64, n: u64) -> Duration {
    percentile_of(sorted, p).saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The last hedge repetition of each impl: p50, p99, p99.9 (ms) and the extra load.
static LAST_HEDGE_RUN: Mutex<BTreeMap<&'static str, [f64; 4]>> = Mutex::new(BTreeMap::new());

/// Sorts `latencies`, prints p50/p99/p99.9 and the extra load on stderr, and keeps them
/// for [`hedge_section`].
fn summarize(imp: &'static str, latencies: &mut [Duration], extra_load: f64) {
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = [
        ms(percentile_of(latencies, 50.0)),
        ms(percentile_of(latencies, 99.0)),
        ms(percentile_of(latencies, 99.9)),
        extra_load * 100.0,
    ];
    eprintln!(
        "      hedge {imp:<9} p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  extra load {:>5.1}%",
        row[0], row[1], row[2], row[3]
    );
    LAST_HEDGE_RUN.lock().unwrap().insert(imp, row);
}

/// A markdown section with the latency percentiles and extra load of the last hedge
/// repetitions, for `scale.md`; `None` when no hedge scenario ran.
pub fn hedge_section() -> Option<String> {
    let runs = LAST_HEDGE_RUN.lock().unwrap();
    if runs.is_empty() {
        return None;
    }
    let mut md = String::from(
        "\n## hedge: latency percentiles and extra load (last repetition)\n\n\
         | impl | p50 ms | p99 ms | p99.9 ms | extra requests |\n|---|---:|---:|---:|---:|\n",
    );
    for (imp, [p50, p99, p999, extra]) in runs.iter() {
        md.push_str(&format!(
            "| {imp} | {p50:.2} | {p99:.2} | {p999:.2} | {extra:.1}% |\n"
        ));
    }
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_and_checks() {
        let quick: Vec<Scenario> = scenarios()
            .into_iter()
            .filter(|s| s.name == "heartbeat" || s.name == "steward_restart")
            .collect();
        crate::harness::run_every_case(quick, |_| true);
    }

    #[test]
    fn percentile_by_nearest_rank() {
        let sorted: Vec<Duration> = (1..=1000).map(Duration::from_millis).collect();
        assert_eq!(percentile_of(&sorted, 50.0), Duration::from_millis(500));
        assert_eq!(percentile_of(&sorted, 99.0), Duration::from_millis(990));
        assert_eq!(percentile_of(&sorted, 99.9), Duration::from_millis(999));
    }
}

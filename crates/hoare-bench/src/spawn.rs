//! The spawn family: `spawn`, the cost of starting a goroutine (task) and waiting for its
//! result, hoare's `go` beside `tokio::spawn` and Go's `go` statement.
//!
//! Async mode only. A repetition of `n` ops runs `n / 100,000` whole batches (rounded, at
//! least 1; see [`batches`]): one task spawns 100,000 tasks, each returning its
//! index, then awaits their handles in order and adds up the results. The whole batch is
//! timed, and counts only if the sum is right.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::channels::join_task;
use crate::context::{async_case, batches, scale};
use crate::harness::{Case, Scenario};

/// Family name: results go to `bench/results/spawn.{md,svg}`.
pub const FAMILY: &str = "spawn";

/// Tasks spawned, then joined, per batch.
const BATCH: u64 = 100_000;

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        name: "spawn",
        family: FAMILY,
        description: "one task spawns 100,000 tasks (goroutines) that each return their index, \
                      then joins them in order and adds up the results (Go: a WaitGroup, each \
                      goroutine storing its result in a slice)",
        unit: "spawn+join",
        cases,
    }]
}

fn cases() -> Vec<Case> {
    vec![
        async_case("hoare", "hoare::go, await JoinHandle", spawn_hoare),
        async_case("tokio", "tokio::spawn, await JoinHandle", spawn_tokio),
    ]
}

/// Checks the sum of one batch's results.
fn check(sum: u64) -> Result<(), String> {
    let want = BATCH * (BATCH - 1) / 2;
    if sum != want {
        return Err(format!(
            "check failed: the {BATCH} tasks' results sum to {sum}, expected {want}"
        ));
    }
    Ok(())
}

/// Runs whole batches for `n` ops, `batch` timing one and returning the sum of its results.
async fn batched<F>(n: u64, batch: fn() -> F) -> Result<Duration, String>
where
    F: Future<Output = Result<u64, String>>,
{
    let k = batches(n, BATCH);
    let mut total = Duration::ZERO;
    for _ in 0..k {
        let start = Instant::now();
        let sum = batch().await?;
        total += start.elapsed();
        check(sum)?;
    }
    Ok(scale(total, n, k * BATCH))
}

async fn spawn_hoare(n: u64) -> Result<Duration, String> {
    batched(n, || async {
        let handles: Vec<_> = (0..BATCH).map(|i| hoare::go(async move { i })).collect();
        let mut sum = 0u64;
        for h in handles {
            let v = h.await.map_err(|e| format!("a goroutine failed: {e}"))?;
            sum = sum.wrapping_add(v);
        }
        Ok(sum)
    })
    .await
}

async fn spawn_tokio(n: u64) -> Result<Duration, String> {
    batched(n, || async {
        let handles: Vec<_> = (0..BATCH).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0u64;
        for h in handles {
            sum = sum.wrapping_add(join_task(h).await?);
        }
        Ok(sum)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_and_checks() {
        crate::harness::run_every_case(scenarios(), |_| true);
        assert!(check(BATCH * (BATCH - 1) / 2).is_ok());
        assert!(check(0).is_err());
    }

    #[test]
    fn batches_are_whole() {
        assert_eq!(batches(2048, BATCH), 1);
        assert_eq!(batches(250_000, BATCH), 3);
    }
}

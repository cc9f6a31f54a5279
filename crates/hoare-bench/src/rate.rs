//! The rate family: the admission check of a token-bucket limiter with a quota that never
//! denies, hoare's `rate::Limiter::allow` beside governor's direct limiter (`check`) and Go's
//! x/time/rate `Allow`.
//!
//! - `rate_allow_1t`: one thread calls `allow()` `n` times; ns per call.
//! - `rate_allow_2t`: two threads share one limiter and call it `n / 2` times each; wall time
//!   over all `n` calls.
//!
//! The quota is 10^9 events per second with a burst of 10^9 (governor:
//! `Quota::per_second(1_000_000_000)`, whose burst is the same), so no call is ever denied; a
//! repetition counts only if every call was allowed.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Case, Mode, Rep, Scenario};

/// Family name: results go to `bench/results/rate.{md,svg}`.
pub const FAMILY: &str = "rate";

/// Events per second and burst of the never-denying quota.
const QUOTA: u32 = 1_000_000_000;

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "rate_allow_1t",
            family: FAMILY,
            description: "1 thread calls allow() on a limiter of 1e9/s, burst 1e9 (never denies)",
            unit: "allow() call",
            cases: || allow_cases(1),
        },
        Scenario {
            name: "rate_allow_2t",
            family: FAMILY,
            description: "2 threads share one limiter of 1e9/s, burst 1e9 and call allow(); wall \
                          time / total calls",
            unit: "allow() call",
            cases: || allow_cases(2),
        },
    ]
}

fn allow_cases(threads: u64) -> Vec<Case> {
    fn case<L: Allow>(threads: u64, note: &'static str) -> Case {
        Case::new(Mode::Blocking, L::NAME, note, move || -> Rep {
            Box::new(move |n| allow::<L>(threads, n))
        })
    }
    vec![
        case::<HoareLimiter>(threads, "Limiter::new(1e9, 1e9).allow()"),
        case::<Governor>(threads, "Quota::per_second(1e9), default clock, check()"),
    ]
}

/// A limiter as the scenarios use it, so they are written once.
trait Allow: Send + Sync + 'static {
    /// Implementation name as reported.
    const NAME: &'static str;
    /// A limiter of `QUOTA` events per second and a burst of `QUOTA`.
    fn never_denying() -> Self;
    /// One admission check.
    fn allow(&self) -> bool;
}

/// `hoare::rate::Limiter`.
struct HoareLimiter(hoare::rate::Limiter);

impl Allow for HoareLimiter {
    const NAME: &'static str = "hoare";
    fn never_denying() -> Self {
        HoareLimiter(hoare::rate::Limiter::new(
            f64::from(QUOTA).into(),
            QUOTA as usize,
        ))
    }
    #[inline]
    fn allow(&self) -> bool {
        self.0.allow()
    }
}

/// governor's direct (not keyed) in-memory limiter with its default (quanta) clock.
struct Governor(governor::DefaultDirectRateLimiter);

impl Allow for Governor {
    const NAME: &'static str = "governor";
    fn never_denying() -> Self {
        let quota = governor::Quota::per_second(NonZeroU32::new(QUOTA).expect("non-zero"));
        Governor(governor::RateLimiter::direct(quota))
    }
    #[inline]
    fn allow(&self) -> bool {
        self.0.check().is_ok()
    }
}

/// `n` checks split over `threads` threads sharing one limiter; fails if any was denied.
fn allow<L: Allow>(threads: u64, n: u64) -> Result<Duration, String> {
    let lim = Arc::new(L::never_denying());
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let lim = lim.clone();
            let calls = n / threads + u64::from(i < n % threads);
            thread::spawn(move || (0..calls).filter(|_| lim.allow()).count() as u64)
        })
        .collect();
    let mut allowed = 0;
    for w in workers {
        allowed += w
            .join()
            .map_err(|_| "a worker thread panicked".to_string())?;
    }
    let elapsed = start.elapsed();
    if allowed != n {
        return Err(format!(
            "check failed: {allowed} of {n} calls allowed by a never-denying limiter"
        ));
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_and_checks() {
        crate::harness::run_every_case(scenarios(), |_| true);
    }
}

//! The rate family: the admission check of a token-bucket limiter with a quota that never
//! denies, hoare's `rate::Limiter::allow` beside governor's direct limiter (`check`) and Go's
//! x/time/rate `Allow`.
//!
//! - `rate_allow_1t`: one thread calls `allow()` `n` times; ns per call.
//! - `rate_allow_2t`: two threads share one limiter and call it `n / 2` times each; wall time
//!   over all `n` calls.
//!
//! - `rate_redis` / `rate_redis_pipe64`: `hoare::rate::redis::RedisLimiter` against a
//!   `redis-server` that the case starts on a free loopback port (no persistence) and stops
//!   when the measurement ends; one task asks for one decision per round trip, or for 64 per
//!   pipelined round trip; ns per decision. Skipped, with a note, without `redis-server`.
//!
//! The quota is 10^9 events per second with a burst of 10^9 (governor:
//! `Quota::per_second(1_000_000_000)`, whose burst is the same), so no call is ever denied; a
//! repetition counts only if every call was allowed.

use std::net::{TcpListener, TcpStream};
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hoare::rate::redis::RedisLimiter;

use crate::context::{batches, scale};
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
        Scenario {
            name: "rate_redis",
            family: FAMILY,
            description: "1 task asks a local redis-server for one limiter decision per round \
                          trip (server-side script, never denies)",
            unit: "decision",
            cases: || redis_cases(1),
        },
        Scenario {
            name: "rate_redis_pipe64",
            family: FAMILY,
            description: "1 task asks a local redis-server for 64 limiter decisions per \
                          pipelined round trip (never denies)",
            unit: "decision",
            cases: || redis_cases(PIPELINE),
        },
    ]
}

/// Decisions per round trip of `rate_redis_pipe64`.
const PIPELINE: u64 = 64;

fn redis_cases(per_trip: u64) -> Vec<Case> {
    if let Err(e) = Command::new("redis-server").arg("--version").output() {
        eprintln!("note: skipping the redis scenarios: cannot run redis-server: {e}");
        return Vec::new();
    }
    let note = if per_trip == 1 {
        "RedisLimiter::allow_n(1), one EVALSHA per round trip".to_string()
    } else {
        format!("RedisLimiter::allow_batch({per_trip}): {per_trip} EVALSHA per pipeline")
    };
    vec![Case::new(Mode::Async, "hoare", note, move || -> Rep {
        // The redis client needs the runtime's timers (its response timeout).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let server = RedisServer::start();
        let limiter = server.as_ref().ok().map(|s| {
            let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port));
            rt.block_on(async {
                let client = client.map_err(|e| e.to_string())?;
                RedisLimiter::connect(client, "bench", f64::from(QUOTA).into(), QUOTA as usize)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        Box::new(move |n| {
            let _server = server.as_ref().map_err(Clone::clone)?;
            let lim = limiter.clone().expect("a server")?;
            rt.block_on(async move {
                let trips = batches(n, per_trip);
                let start = Instant::now();
                let mut allowed = 0;
                for _ in 0..trips {
                    allowed += if per_trip == 1 {
                        u64::from(lim.allow_n(1).await.map_err(|e| e.to_string())?)
                    } else {
                        let got = lim
                            .allow_batch(per_trip as usize)
                            .await
                            .map_err(|e| e.to_string())?;
                        got.into_iter().filter(|&ok| ok).count() as u64
                    };
                }
                let elapsed = start.elapsed();
                if allowed != trips * per_trip {
                    return Err(format!(
                        "check failed: {allowed} of {} decisions allowed",
                        trips * per_trip
                    ));
                }
                Ok(scale(elapsed, n, trips * per_trip))
            })
        })
    })]
}

/// A `redis-server` on a free loopback port, without persistence; stopped on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Result<RedisServer, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start listening".into());
            }
            thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

//! The pool and singleflight scenarios of the sync family: `pool` (a get/put cycle on one
//! thread, and on two threads sharing one pool), `pool_warm` (the seed's warm connection cache
//! against making a connection per request) and `singleflight` (the cost of one uncontended
//! call), hoare's `sync` beside the `object-pool` and `lockfree-object-pool` crates.
//!
//! - `pool`, modes `blocking` (1 thread, `n` cycles) and `contended` (2 threads sharing one
//!   pool, `n / 2` cycles each): a cycle takes a 4 KiB buffer, writes a byte, and returns it.
//!   The repetition counts only if every cycle saw a 4 KiB buffer and the pool made at most a
//!   handful of buffers (it reused them).
//! - `pool_warm`, blocking: one thread serves `n` requests; each needs a "service connection"
//!   whose constructor does ~10 µs of work. `hoare` takes it from a pool warmed with 10
//!   connections (the seed's `warmServiceConnCache`); `create-each-time` makes one per request.
//! - `singleflight`, blocking: one thread calls `run(key, f)` `n` times with no other caller;
//!   the figure is the suppression machinery's own cost per call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Case, Mode, Rep, Scenario};
use crate::sync::FAMILY;

/// Size of the pooled buffers.
const BUF: usize = 4096;
/// The most buffers a pool may make in a repetition and still count as reusing them.
const MOST_MADE: u64 = 64;

/// The scenarios of this module, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "pool",
            family: FAMILY,
            description: "take a 4 KiB buffer from a pool, write a byte, put it back; blocking: 1 \
                          thread; contended: 2 threads sharing one pool",
            unit: "get+put",
            cases: pool_cases,
        },
        Scenario {
            name: "pool_warm",
            family: FAMILY,
            description: "1 thread serves requests that each need a service connection costing \
                          ~10 µs to make: from a pool warmed with 10 (the seed's \
                          warmServiceConnCache) or made per request",
            unit: "request",
            cases: pool_warm_cases,
        },
        Scenario {
            name: "singleflight",
            family: FAMILY,
            description: "1 thread calls run(key, f) with no other caller: the cost of the \
                          duplicate suppression itself",
            unit: "call",
            cases: singleflight_cases,
        },
    ]
}

fn pool_cases() -> Vec<Case> {
    fn both<P: BufPool>(note: &'static str) -> [Case; 2] {
        [
            Case::new(Mode::Blocking, P::NAME, note, || -> Rep {
                Box::new(|n| pool_cycles::<P>(n, 1))
            })
            .variant(P::VARIANT),
            Case::new(Mode::Contended, P::NAME, note, || -> Rep {
                Box::new(|n| pool_cycles::<P>(n, 2))
            })
            .variant(P::VARIANT),
        ]
    }
    let mut cases = Vec::new();
    cases.extend(both::<HoarePool>("get(), drop guard"));
    cases.extend(both::<ObjectPool>("pull(make), drop guard"));
    cases.extend(both::<LinearPool>("LinearObjectPool: pull(), drop guard"));
    cases.extend(both::<SpinLockPool>(
        "SpinLockObjectPool: pull(), drop guard",
    ));
    cases
}

// ---------------------------------------------------------------------------------------------
// pool

/// A pool of buffers as the `pool` scenario uses it, so the scenario is written once.
trait BufPool: Send + Sync + 'static {
    /// Implementation name as reported.
    const NAME: &'static str;
    /// Variant name, for crates measured several ways (empty otherwise).
    const VARIANT: &'static str;
    /// A pool whose constructor counts what it makes in `made`.
    fn new(made: Arc<AtomicU64>) -> Self;
    /// One cycle: take a buffer, write a byte, give it back; returns the buffer's capacity.
    fn cycle(&self, byte: u8) -> usize;
}

fn counted_buf(made: &AtomicU64) -> Vec<u8> {
    made.fetch_add(1, Ordering::Relaxed);
    Vec::with_capacity(BUF)
}

/// `hoare::sync::Pool`.
struct HoarePool(hoare::sync::Pool<Vec<u8>>);

impl BufPool for HoarePool {
    const NAME: &'static str = "hoare";
    const VARIANT: &'static str = "";
    fn new(made: Arc<AtomicU64>) -> Self {
        HoarePool(hoare::sync::Pool::new(move || counted_buf(&made)))
    }
    fn cycle(&self, byte: u8) -> usize {
        let mut buf = self.0.get();
        buf.clear();
        buf.push(byte);
        buf.capacity()
    }
}

/// `object_pool::Pool`: a mutex-guarded stack; `pull` falls back to the closure when empty.
struct ObjectPool {
    pool: object_pool::Pool<Vec<u8>>,
    made: Arc<AtomicU64>,
}

impl BufPool for ObjectPool {
    const NAME: &'static str = "object-pool";
    const VARIANT: &'static str = "";
    fn new(made: Arc<AtomicU64>) -> Self {
        ObjectPool {
            pool: object_pool::Pool::new(0, Vec::new),
            made,
        }
    }
    fn cycle(&self, byte: u8) -> usize {
        let mut buf = self.pool.pull(|| counted_buf(&self.made));
        buf.clear();
        buf.push(byte);
        buf.capacity()
    }
}

/// `lockfree_object_pool::LinearObjectPool`.
struct LinearPool(lockfree_object_pool::LinearObjectPool<Vec<u8>>);

impl BufPool for LinearPool {
    const NAME: &'static str = "lockfree-object-pool";
    const VARIANT: &'static str = "linear";
    fn new(made: Arc<AtomicU64>) -> Self {
        LinearPool(lockfree_object_pool::LinearObjectPool::new(
            move || counted_buf(&made),
            |_| {},
        ))
    }
    fn cycle(&self, byte: u8) -> usize {
        let mut buf = self.0.pull();
        buf.clear();
        buf.push(byte);
        buf.capacity()
    }
}

/// `lockfree_object_pool::SpinLockObjectPool`.
struct SpinLockPool(lockfree_object_pool::SpinLockObjectPool<Vec<u8>>);

impl BufPool for SpinLockPool {
    const NAME: &'static str = "lockfree-object-pool";
    const VARIANT: &'static str = "spin-lock";
    fn new(made: Arc<AtomicU64>) -> Self {
        SpinLockPool(lockfree_object_pool::SpinLockObjectPool::new(
            move || counted_buf(&made),
            |_| {},
        ))
    }
    fn cycle(&self, byte: u8) -> usize {
        let mut buf = self.0.pull();
        buf.clear();
        buf.push(byte);
        buf.capacity()
    }
}

/// `n` get/put cycles split over `threads` threads sharing one pool.
fn pool_cycles<P: BufPool>(n: u64, threads: u64) -> Result<Duration, String> {
    let made = Arc::new(AtomicU64::new(0));
    let pool = Arc::new(P::new(made.clone()));
    let run = |pool: Arc<P>, cycles: u64| {
        let mut short = 0u64;
        for i in 0..cycles {
            if pool.cycle(i as u8) < BUF {
                short += 1;
            }
        }
        short
    };
    let start = Instant::now();
    let helpers: Vec<_> = (1..threads)
        .map(|_| {
            let pool = pool.clone();
            thread::spawn(move || run(pool, n / threads))
        })
        .collect();
    let mut short = run(pool.clone(), n - n / threads * (threads - 1));
    for h in helpers {
        short += h.join().map_err(|_| "a pool thread panicked".to_string())?;
    }
    let elapsed = start.elapsed();
    if short > 0 {
        return Err(format!("check failed: {short} cycles got a short buffer"));
    }
    let made = made.load(Ordering::Relaxed);
    if made > MOST_MADE {
        return Err(format!(
            "check failed: the pool made {made} buffers for {n} cycles"
        ));
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// pool_warm

fn pool_warm_cases() -> Vec<Case> {
    vec![
        Case::new(
            Mode::Blocking,
            "hoare",
            "Pool warmed with 10 connections; get() per request",
            || -> Rep { Box::new(|n| serve(n, true)) },
        ),
        Case::new(
            Mode::Blocking,
            "create-each-time",
            "connect() per request",
            || -> Rep { Box::new(|n| serve(n, false)) },
        ),
    ]
}

/// A stand-in for a connection to a service: its constructor does a fixed amount of work
/// (filling and checksumming a 16 KiB buffer, ~10 µs) where the seed's slept for a second.
struct ServiceConn {
    buf: Vec<u8>,
    checksum: u64,
}

fn connect() -> ServiceConn {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let buf: Vec<u8> = (0..16 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let checksum = buf.iter().map(|&b| u64::from(b)).sum();
    ServiceConn { buf, checksum }
}

/// Serves `n` requests, each answered with one byte of a connection.
fn serve(n: u64, pooled: bool) -> Result<Duration, String> {
    let pool = hoare::sync::Pool::new(connect);
    if pooled {
        for _ in 0..10 {
            pool.put(connect());
        }
    }
    let mut answered = 0u64;
    let start = Instant::now();
    for i in 0..n {
        let byte = if pooled {
            let conn = pool.get();
            conn.buf[i as usize % conn.buf.len()]
        } else {
            let conn = connect();
            conn.buf[i as usize % conn.buf.len()]
        };
        answered += u64::from(std::hint::black_box(byte) == byte);
    }
    let elapsed = start.elapsed();
    let sample = connect().checksum;
    if answered != n || sample == 0 {
        return Err(format!("check failed: {answered} of {n} requests answered"));
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// singleflight

fn singleflight_cases() -> Vec<Case> {
    vec![Case::new(
        Mode::Blocking,
        "hoare",
        "SingleFlight::run(key, f), no other caller",
        || -> Rep { Box::new(singleflight) },
    )]
}

/// `n` uncontended calls, cycling over 8 keys.
fn singleflight(n: u64) -> Result<Duration, String> {
    let flights = hoare::sync::SingleFlight::<u64, u64>::new();
    let mut sum = 0u64;
    let start = Instant::now();
    for i in 0..n {
        let got = flights
            .run(i & 7, || i)
            .map_err(|e| format!("check failed: {e}"))?;
        if got.shared {
            return Err("check failed: a lone call was marked shared".into());
        }
        sum = sum.wrapping_add(got.value);
    }
    let elapsed = start.elapsed();
    if sum != (0..n).fold(0u64, u64::wrapping_add) {
        return Err("check failed: a call returned another's value".into());
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

//! Per-stage counters of a pipeline, and the figures of Little's law read off them.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one stage's workers add up as they go; all relaxed counters, read as a
/// snapshot by [`StageStats`].
#[derive(Debug)]
pub(crate) struct StageCounters {
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) items_in: AtomicU64,
    pub(crate) items_out: AtomicU64,
    /// Sum over items of the time from being received to being handed on.
    pub(crate) in_stage_ns: AtomicU64,
    /// Time the workers spent waiting for input.
    pub(crate) recv_wait_ns: AtomicU64,
    /// Time the workers spent waiting for the next stage to take their output.
    pub(crate) send_wait_ns: AtomicU64,
}

impl StageCounters {
    pub(crate) fn new(name: String, workers: usize) -> Self {
        StageCounters {
            name,
            workers,
            items_in: AtomicU64::new(0),
            items_out: AtomicU64::new(0),
            in_stage_ns: AtomicU64::new(0),
            recv_wait_ns: AtomicU64::new(0),
            send_wait_ns: AtomicU64::new(0),
        }
    }

    /// Adds `d` to a nanosecond counter.
    pub(crate) fn add(counter: &AtomicU64, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // ORDERING: statistics only; a snapshot may be a moment behind.
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, since: Instant) -> StageStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StageStats {
            name: self.name.clone(),
            workers: self.workers,
            items_in: load(&self.items_in),
            items_out: load(&self.items_out),
            elapsed: since.elapsed(),
            time_in_stage: Duration::from_nanos(load(&self.in_stage_ns)),
            blocked_on_recv: Duration::from_nanos(load(&self.recv_wait_ns)),
            blocked_on_send: Duration::from_nanos(load(&self.send_wait_ns)),
        }
    }
}

/// A snapshot of one pipeline stage, with the quantities of the book's Queuing
/// section: throughput λ, mean time in the stage W, and mean occupancy L, which
/// obey Little's law L = λW.
///
/// The stage whose workers are busiest ([`utilization`](StageStats::utilization)
/// near 1) is the bottleneck: the stages before it block on send, the ones after
/// it block on receive.
///
/// ```
/// use hoare::{context::Context, pattern::Pipeline};
///
/// let ctx = Context::background();
/// let p = Pipeline::new(&ctx, 0..100u32).stage("double", 1, |v| v * 2);
/// assert_eq!(p.output().into_iter().count(), 100);
/// let s = &p.stats()[0];
/// assert_eq!((s.name.as_str(), s.items_in, s.items_out), ("double", 100, 100));
/// // Little's law: occupancy equals throughput times time in stage (up to W's
/// // rounding to whole nanoseconds).
/// let (l, lambda_w) = (s.mean_occupancy(), s.throughput() * s.mean_time_in_stage().as_secs_f64());
/// assert!((l - lambda_w).abs() <= 1e-6 + l * 1e-2);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StageStats {
    /// The stage's name, as given when it was added.
    pub name: String,
    /// How many workers run the stage.
    pub workers: usize,
    /// Items the stage has received (values and error values passed through).
    pub items_in: u64,
    /// Items the stage has handed to the next one.
    pub items_out: u64,
    /// Time since the pipeline was built.
    pub elapsed: Duration,
    /// Total over items of the time from being received to being handed on
    /// (processing plus waiting to hand on).
    pub time_in_stage: Duration,
    /// Total time the workers waited for input (the stage was starved).
    pub blocked_on_recv: Duration,
    /// Total time the workers waited for the next stage (back-pressure).
    pub blocked_on_send: Duration,
}

impl StageStats {
    /// λ: items handed on per second since the pipeline was built.
    ///
    /// ```
    /// # use hoare::{context::Context, pattern::Pipeline};
    /// # let ctx = Context::background();
    /// let p = Pipeline::new(&ctx, [1, 2, 3]).stage("id", 1, |v: i32| v);
    /// p.output().into_iter().for_each(drop);
    /// assert!(p.stats()[0].throughput() > 0.0);
    /// ```
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.items_out as f64 / secs
        } else {
            0.0
        }
    }

    /// W: the mean time an item spends in the stage (zero before any item left).
    ///
    /// ```
    /// # use hoare::{context::Context, pattern::Pipeline};
    /// # let ctx = Context::background();
    /// let p = Pipeline::new(&ctx, [1, 2, 3]).stage("id", 1, |v: i32| v);
    /// p.output().into_iter().for_each(drop);
    /// assert!(p.stats()[0].mean_time_in_stage() <= p.stats()[0].time_in_stage);
    /// ```
    pub fn mean_time_in_stage(&self) -> Duration {
        match u32::try_from(self.items_out) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.time_in_stage / n,
            Err(_) => {
                Duration::from_secs_f64(self.time_in_stage.as_secs_f64() / self.items_out as f64)
            }
        }
    }

    /// L: the mean number of items in the stage at once, over the pipeline's
    /// life (the time integral of occupancy divided by the elapsed time).
    ///
    /// ```
    /// # use hoare::{context::Context, pattern::Pipeline};
    /// # let ctx = Context::background();
    /// let p = Pipeline::new(&ctx, [1, 2, 3]).stage("id", 2, |v: i32| v);
    /// p.output().into_iter().for_each(drop);
    /// assert!(p.stats()[0].mean_occupancy() <= 2.0 + 1e-9); // at most one per worker
    /// ```
    pub fn mean_occupancy(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.time_in_stage.as_secs_f64() / secs
        } else {
            0.0
        }
    }

    /// The share of the workers' time spent working (in the stage but not waiting
    /// to hand on), from 0 to 1: the bottleneck stage has the highest.
    ///
    /// ```
    /// # use hoare::{context::Context, pattern::Pipeline};
    /// # let ctx = Context::background();
    /// let p = Pipeline::new(&ctx, [1, 2, 3]).stage("id", 1, |v: i32| v);
    /// p.output().into_iter().for_each(drop);
    /// let u = p.stats()[0].utilization();
    /// assert!((0.0..=1.0).contains(&u));
    /// ```
    pub fn utilization(&self) -> f64 {
        let capacity = self.elapsed.as_secs_f64() * self.workers as f64;
        let working = self.time_in_stage.saturating_sub(self.blocked_on_send);
        if capacity > 0.0 {
            (working.as_secs_f64() / capacity).min(1.0)
        } else {
            0.0
        }
    }
}

impl fmt::Display for StageStats {
    /// One line: name, workers, items, λ, W, L, utilization and blocked times.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (x{}): in {} out {}, λ = {:.1}/s, W = {:?}, L = {:.2}, busy {:.0}%, \
             blocked on recv {:?}, on send {:?}",
            self.name,
            self.workers,
            self.items_in,
            self.items_out,
            self.throughput(),
            self.mean_time_in_stage(),
            self.mean_occupancy(),
            self.utilization() * 100.0,
            self.blocked_on_recv,
            self.blocked_on_send,
        )
    }
}

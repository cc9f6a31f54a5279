//! Per-stage counters of a pipeline, and the figures of Little's law read off them.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

/// What one stage's workers add up as they go, each worker in its own slot (on
/// its own cache line, written by that worker only, so counting costs no
/// read-modify-write and no cache-line traffic between workers); a snapshot sums
/// the slots.
#[derive(Debug)]
pub(crate) struct StageCounters {
    pub(crate) name: String,
    pub(crate) workers: usize,
    slots: Box<[CachePadded<WorkerCounters>]>,
}

/// One worker's counters. Only that worker writes them; readers may be a moment
/// behind.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    items_in: AtomicU64,
    items_out: AtomicU64,
    /// Sum over items of the clock ticks from being received to being handed on.
    in_stage_ticks: AtomicU64,
    /// Clock ticks spent waiting for input.
    recv_ticks: AtomicU64,
    /// Clock ticks spent waiting for the next stage to take the output.
    send_ticks: AtomicU64,
}

/// Adds `n` to a counter that only the calling worker writes.
fn bump(counter: &AtomicU64, n: u64) {
    // ORDERING: statistics only, and this worker is the only writer, so a load
    // and a store do what a read-modify-write would.
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// A raw reading of the CPU's time-stamp counter (through `quanta`, calibrated
/// against the monotonic clock): a few nanoseconds, a fraction of the cost of
/// `Instant::now()`. The counters add up raw differences and convert the sums to
/// nanoseconds only when read, as the conversion is linear.
pub(crate) type Tick = u64;

fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Reads the counters' clock.
pub(crate) fn tick() -> Tick {
    clock().raw()
}

/// Clock ticks between two readings (zero if the second is not later, as
/// readings on two cores may be).
fn ticks(from: Tick, to: Tick) -> u64 {
    to.saturating_sub(from)
}

/// A sum of ticks as a duration.
fn duration(sum: u64) -> Duration {
    Duration::from_nanos(clock().delta_as_nanos(0, sum))
}

impl WorkerCounters {
    /// An item was received at `at`, after waiting since `since`.
    pub(crate) fn received(&self, since: Tick, at: Tick) {
        bump(&self.items_in, 1);
        bump(&self.recv_ticks, ticks(since, at));
    }

    /// The item received at `received` was handed on (`sent`) or not at `at`;
    /// the worker waited for the next stage from `produced` (`None`: it did not).
    pub(crate) fn handed_on(&self, sent: bool, received: Tick, produced: Option<Tick>, at: Tick) {
        bump(&self.items_out, u64::from(sent));
        bump(&self.in_stage_ticks, ticks(received, at));
        if let Some(p) = produced {
            bump(&self.send_ticks, ticks(p, at));
        }
    }
}

impl StageCounters {
    pub(crate) fn new(name: String, workers: usize) -> Self {
        StageCounters {
            name,
            workers,
            slots: (0..workers).map(|_| CachePadded::default()).collect(),
        }
    }

    /// The counters of worker `i`.
    pub(crate) fn worker(&self, i: usize) -> &WorkerCounters {
        &self.slots[i]
    }

    pub(crate) fn snapshot(&self, since: Instant) -> StageStats {
        let sum = |f: fn(&WorkerCounters) -> &AtomicU64| -> u64 {
            self.slots
                .iter()
                .map(|w| f(w).load(Ordering::Relaxed))
                .fold(0, u64::wrapping_add)
        };
        StageStats {
            name: self.name.clone(),
            workers: self.workers,
            items_in: sum(|w| &w.items_in),
            items_out: sum(|w| &w.items_out),
            elapsed: since.elapsed(),
            time_in_stage: duration(sum(|w| &w.in_stage_ticks)),
            blocked_on_recv: duration(sum(|w| &w.recv_ticks)),
            blocked_on_send: duration(sum(|w| &w.send_ticks)),
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

//! Hedged requests: a second attempt when the first is slow, within a load cap.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::{Attempts, HedgeError, Outcome};
use crate::context::Context;
use crate::sync::unwind::{panic_message, CatchUnwind};

/// Latencies are recorded in microseconds, from 1 µs to an hour.
const HIGHEST_MICROS: u64 = 3_600_000_000;
/// A percentile delay is used once this many latencies are recorded; before
/// that, no hedge is sent.
///
/// ```
/// use hoare::{context::Context, hedge::{HedgePolicy, Hedger, MIN_SAMPLES}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hedger = Hedger::new(HedgePolicy::percentile(90.0).unwrap());
/// let ctx = Context::background();
/// for i in 0..MIN_SAMPLES {
///     assert_eq!(hedger.delay(), None); // still learning: no hedges yet
///     hedger.run(&ctx, |_ctx, _attempt| async move { Ok::<_, ()>(i) }).await.unwrap();
/// }
/// assert!(hedger.delay().is_some());
/// # }
/// ```
pub const MIN_SAMPLES: u64 = 20;
/// The most hedges a quiet spell can save up for a burst.
const MAX_SAVED_HEDGES: f64 = 10.0;

/// When a hedge is sent: a [`HedgePolicy`]'s rule, as
/// [`HedgePolicy::delay`] reports it.
///
/// ```
/// use std::time::Duration;
/// use hoare::hedge::{Delay, HedgePolicy};
///
/// let fixed = HedgePolicy::fixed(Duration::from_millis(10));
/// assert_eq!(fixed.delay(), Delay::Fixed(Duration::from_millis(10)));
/// match HedgePolicy::percentile(95.0).unwrap().delay() {
///     Delay::Percentile(p) => assert_eq!(p, 95.0),
///     Delay::Fixed(_) => unreachable!(),
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    /// After this long without an answer. Zero sends both requests at once
    /// (within the load cap).
    Fixed(Duration),
    /// After the p-th percentile of the latencies seen so far, 0 < p < 100, once
    /// [`MIN_SAMPLES`] are recorded. The latencies are those of whole successful
    /// calls, hedged ones included, kept in an HDR histogram (2 significant
    /// digits, 1 µs to 1 h).
    Percentile(f64),
}

/// Why a [`HedgePolicy`] is invalid.
///
/// ```
/// use hoare::hedge::{HedgePolicy, PolicyError};
///
/// assert_eq!(HedgePolicy::percentile(100.0).unwrap_err(), PolicyError::Percentile(100.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PolicyError {
    /// The percentile was not strictly between 0 and 100.
    Percentile(f64),
    /// The extra-load cap was negative or not a finite number.
    ExtraLoad(f64),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Percentile(p) => {
                write!(
                    f,
                    "hedge percentile must be between 0 and 100 (exclusive), got {p}"
                )
            }
            PolicyError::ExtraLoad(x) => {
                write!(
                    f,
                    "hedge extra load must be a finite fraction >= 0, got {x}"
                )
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// When to hedge, and how much extra load hedging may add.
///
/// ```
/// use std::time::Duration;
/// use hoare::hedge::HedgePolicy;
///
/// let p = HedgePolicy::percentile(95.0).unwrap().max_extra_load(0.05).unwrap();
/// assert_eq!(p.extra_load_cap(), 0.05);
/// let q = HedgePolicy::fixed(Duration::from_millis(10));
/// assert_eq!(q.extra_load_cap(), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgePolicy {
    delay: Delay,
    max_extra_load: f64,
}

impl HedgePolicy {
    /// Hedge after `delay` without an answer, with the default 10% load cap.
    ///
    /// ```
    /// let p = hoare::hedge::HedgePolicy::fixed(std::time::Duration::from_millis(5));
    /// # drop(p);
    /// ```
    pub fn fixed(delay: Duration) -> Self {
        Self {
            delay: Delay::Fixed(delay),
            max_extra_load: 0.1,
        }
    }

    /// Hedge after the `p`-th percentile of observed latencies, with the default
    /// 10% load cap.
    ///
    /// # Errors
    /// [`PolicyError::Percentile`] unless 0 < `p` < 100.
    ///
    /// ```
    /// assert!(hoare::hedge::HedgePolicy::percentile(99.0).is_ok());
    /// assert!(hoare::hedge::HedgePolicy::percentile(0.0).is_err());
    /// ```
    pub fn percentile(p: f64) -> Result<Self, PolicyError> {
        if !(p > 0.0 && p < 100.0) {
            return Err(PolicyError::Percentile(p));
        }
        Ok(Self {
            delay: Delay::Percentile(p),
            max_extra_load: 0.1,
        })
    }

    /// Caps hedges at `fraction` of the calls (0.1: at most one hedge per ten
    /// calls, over time; a quiet spell saves up at most ten).
    ///
    /// # Errors
    /// [`PolicyError::ExtraLoad`] for a negative or non-finite fraction.
    ///
    /// ```
    /// let p = hoare::hedge::HedgePolicy::percentile(90.0).unwrap();
    /// assert!(p.max_extra_load(-0.5).is_err());
    /// ```
    pub fn max_extra_load(mut self, fraction: f64) -> Result<Self, PolicyError> {
        if !(fraction.is_finite() && fraction >= 0.0) {
            return Err(PolicyError::ExtraLoad(fraction));
        }
        self.max_extra_load = fraction;
        Ok(self)
    }

    /// When this policy sends a hedge.
    ///
    /// ```
    /// use hoare::hedge::{Delay, HedgePolicy};
    ///
    /// assert_eq!(HedgePolicy::percentile(99.0).unwrap().delay(), Delay::Percentile(99.0));
    /// ```
    pub fn delay(&self) -> Delay {
        self.delay
    }

    /// The cap on extra load, as a fraction of calls.
    ///
    /// ```
    /// assert_eq!(hoare::hedge::HedgePolicy::percentile(50.0).unwrap().extra_load_cap(), 0.1);
    /// ```
    pub fn extra_load_cap(&self) -> f64 {
        self.max_extra_load
    }
}

/// Counts of a [`Hedger`]'s calls and the hedges it sent.
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, hedge::{HedgePolicy, HedgeStats, Hedger}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hedger = Hedger::new(HedgePolicy::fixed(Duration::from_secs(60)));
/// let ctx = Context::background();
/// hedger.run(&ctx, |_ctx, _attempt| async { Ok::<_, ()>("fast") }).await.unwrap();
/// // The answer came long before the hedge was due: one call, no hedge.
/// assert_eq!(hedger.stats(), HedgeStats { calls: 1, hedges: 0 });
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HedgeStats {
    /// Calls made.
    pub calls: u64,
    /// Hedges sent.
    pub hedges: u64,
}

impl HedgeStats {
    /// Hedges per call: the extra load hedging cost.
    ///
    /// ```
    /// let s = hoare::hedge::HedgeStats { calls: 200, hedges: 10 };
    /// assert_eq!(s.extra_load(), 0.05);
    /// ```
    pub fn extra_load(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.hedges as f64 / self.calls as f64
        }
    }
}

/// What the hedger learns between calls.
struct Learned {
    /// Latencies of successful calls, in microseconds.
    latencies: Histogram<u64>,
    /// Hedges that may be sent now (a token bucket filled by calls).
    saved: f64,
}

/// Hedged requests: one request, and a second (the hedge) when the first is slow
/// by the [`HedgePolicy`]; the first success wins, the other attempt is cancelled
/// and awaited. Shared by the calls to one service, so it learns their latency.
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, hedge::{HedgePolicy, Hedger}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hedger = Hedger::new(HedgePolicy::percentile(95.0).unwrap());
/// let ctx = Context::background();
/// for i in 0..30 {
///     let v = hedger.run(&ctx, |_ctx, _attempt| async move { Ok::<_, ()>(i) }).await;
///     assert_eq!(v.unwrap(), i);
/// }
/// assert!(hedger.delay().is_some()); // it has learned the latency
/// assert!(hedger.delay() < Some(Duration::from_secs(1)));
/// # }
/// ```
pub struct Hedger {
    policy: HedgePolicy,
    learned: Mutex<Learned>,
    calls: AtomicU64,
    hedges: AtomicU64,
}

impl Hedger {
    /// A hedger following `policy`.
    ///
    /// ```
    /// let h = hoare::hedge::Hedger::new(hoare::hedge::HedgePolicy::percentile(95.0).unwrap());
    /// assert_eq!(h.stats().calls, 0);
    /// ```
    pub fn new(policy: HedgePolicy) -> Self {
        let latencies = Histogram::new_with_bounds(1, HIGHEST_MICROS, 2)
            .expect("the histogram bounds are constants that hdrhistogram accepts");
        Self {
            policy,
            learned: Mutex::new(Learned {
                latencies,
                saved: 0.0,
            }),
            calls: AtomicU64::new(0),
            hedges: AtomicU64::new(0),
        }
    }

    /// The calls made and hedges sent so far.
    ///
    /// ```
    /// let h = hoare::hedge::Hedger::new(hoare::hedge::HedgePolicy::fixed(std::time::Duration::ZERO));
    /// assert_eq!(h.stats().extra_load(), 0.0);
    /// ```
    pub fn stats(&self) -> HedgeStats {
        HedgeStats {
            // ORDERING: independent counters, read for reporting only.
            calls: self.calls.load(Ordering::Relaxed),
            hedges: self.hedges.load(Ordering::Relaxed),
        }
    }

    /// The delay after which a call would hedge now; `None` while a percentile
    /// policy has too few samples.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::hedge::{HedgePolicy, Hedger};
    ///
    /// assert_eq!(Hedger::new(HedgePolicy::fixed(Duration::from_millis(3))).delay(), Some(Duration::from_millis(3)));
    /// assert_eq!(Hedger::new(HedgePolicy::percentile(95.0).unwrap()).delay(), None);
    /// ```
    pub fn delay(&self) -> Option<Duration> {
        match self.policy.delay {
            Delay::Fixed(d) => Some(d),
            Delay::Percentile(p) => {
                let learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
                (learned.latencies.len() >= MIN_SAMPLES)
                    .then(|| Duration::from_micros(learned.latencies.value_at_quantile(p / 100.0)))
            }
        }
    }

    /// Makes one call: `request(ctx, 0)` at once and, if it has not succeeded by
    /// the policy's delay and the load cap allows, `request(ctx, 1)`; returns the
    /// first success, cancels the other attempt's context and waits for it to end.
    /// A failed first attempt is not retried by a hedge sent after it failed.
    ///
    /// The first attempt runs on the caller's task (most calls need no hedge, and
    /// pay for no goroutine); the hedge runs as a goroutine.
    ///
    /// # Cancel safety
    /// Dropping the future drops the first attempt and cancels the attempts'
    /// context; a hedge already sent ends on its own once it observes that.
    ///
    /// # Errors
    /// [`HedgeError::Canceled`] when `ctx` is done before any attempt succeeds;
    /// [`HedgeError::AllFailed`] when every attempt sent failed or panicked.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::{context::Context, hedge::{HedgePolicy, Hedger}, select_async, time};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let hedger = Hedger::new(HedgePolicy::fixed(Duration::from_millis(10)).max_extra_load(1.0).unwrap());
    /// // Saved-up hedges start at zero: make a call first to earn one.
    /// hedger.run(&Context::background(), |_, _| async { Ok::<_, ()>(0) }).await.unwrap();
    /// let winner = hedger
    ///     .run(&Context::background(), |ctx, attempt| async move {
    ///         let load = if attempt == 0 { Duration::from_secs(5) } else { Duration::from_millis(1) };
    ///         select_async! {
    ///             recv(time::after(load)) -> _ => Ok(attempt),
    ///             recv(ctx.done()) -> _ => Err("canceled"),
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(winner.unwrap(), 1); // the hedge won
    /// assert_eq!(hedger.stats().hedges, 1);
    /// # }
    /// ```
    pub async fn run<T, E, F, Fut>(&self, ctx: &Context, request: F) -> Result<T, HedgeError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: Fn(Context, usize) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let started = Instant::now();
        // ORDERING: a counter read for reporting only.
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.earn();
        let mut attempts = Attempts::new(ctx, 1);
        // The first attempt runs here, on the caller's task: the common call (no
        // hedge) costs no goroutine and no channel hop. Only the hedge is spawned.
        let mut first = pin!(CatchUnwind {
            future: request(attempts.ctx.clone(), 0),
        });
        let mut first_running = true;
        let mut hedge_running = false;
        let mut hedge_at = self.delay();
        let mut winner = None;
        while winner.is_none() && (first_running || hedge_running) {
            let step = {
                let timer = hedge_at
                    .map(|delay| crate::time::after(delay.saturating_sub(started.elapsed())));
                let mut hedge_time = pin!(async {
                    match &timer {
                        Some(timer) => timer.recv_async().await,
                        None => std::future::pending().await,
                    }
                });
                let mut hedge_result = pin!(async {
                    if hedge_running {
                        attempts.rx.recv_async().await
                    } else {
                        std::future::pending().await
                    }
                });
                poll_fn(|cx| {
                    if first_running {
                        if let Poll::Ready(out) = first.as_mut().poll(cx) {
                            return Poll::Ready(Step::First(out.map_err(|p| panic_message(&*p))));
                        }
                    }
                    if let Poll::Ready(out) = hedge_result.as_mut().poll(cx) {
                        return Poll::Ready(Step::Hedge(out));
                    }
                    if hedge_time.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Step::HedgeTime);
                    }
                    Poll::Pending
                })
                .await
            };
            match step {
                Step::First(out) => {
                    first_running = false;
                    winner = attempts.settle((0, out));
                    // A first attempt that failed before the hedge's time is not retried.
                    if !hedge_running {
                        hedge_at = None;
                    }
                }
                Step::Hedge(out) => {
                    hedge_running = false;
                    if let Some(out) = out {
                        winner = attempts.settle(out);
                    }
                }
                // The hedge's time came: send it if the cap allows, once.
                Step::HedgeTime => {
                    hedge_at = None;
                    if self.spend() {
                        attempts.spawn(1, request(attempts.ctx.clone(), 1));
                        hedge_running = true;
                    }
                    attempts.close();
                }
            }
        }
        // Stop the attempt still running, if any, and wait until it has ended.
        attempts.cancel.cancel();
        if first_running {
            let out = first.as_mut().await.map_err(|p| panic_message(&*p));
            if let Some(v) = attempts.settle((0, out)) {
                winner.get_or_insert(v);
            }
        }
        let result = attempts.finish(winner, ctx).await;
        if result.is_ok() {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
            learned
                .latencies
                .saturating_record(micros.clamp(1, HIGHEST_MICROS));
        }
        result
    }

    /// [`run`](Hedger::run) from a thread: blocks the calling thread until the
    /// call is over. The attempts still run as goroutines.
    ///
    /// # Blocking
    /// Blocks the thread; in async code, await [`run`](Hedger::run) instead.
    ///
    /// # Errors
    /// As [`run`](Hedger::run).
    ///
    /// ```
    /// use hoare::{context::Context, hedge::{HedgePolicy, Hedger}};
    ///
    /// let hedger = Hedger::new(HedgePolicy::percentile(99.0).unwrap());
    /// let v = hedger.run_blocking(&Context::background(), |_, _| async { Ok::<_, ()>(3) });
    /// assert_eq!(v.unwrap(), 3);
    /// ```
    pub fn run_blocking<T, E, F, Fut>(&self, ctx: &Context, request: F) -> Result<T, HedgeError<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: Fn(Context, usize) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        crate::go::block_on(self.run(ctx, request))
    }

    /// A call earns a fraction of a hedge.
    fn earn(&self) {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        learned.saved = (learned.saved + self.policy.max_extra_load).min(MAX_SAVED_HEDGES);
    }

    /// Takes one saved hedge, if there is one.
    fn spend(&self) -> bool {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        if learned.saved < 1.0 {
            return false;
        }
        learned.saved -= 1.0;
        drop(learned);
        self.hedges.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// What woke a hedged call.
enum Step<T, E> {
    /// The first attempt ended (a panic as its message).
    First(Result<Result<T, E>, String>),
    /// The hedge reported (`None`: it ended without a report).
    Hedge(Option<Outcome<T, E>>),
    /// The hedge's time came.
    HedgeTime,
}

impl fmt::Debug for Hedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hedger")
            .field("policy", &self.policy)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Runs `request` through `hedger` (the free-function form of [`Hedger::run`]).
///
/// # Errors
/// As [`Hedger::run`].
///
/// ```
/// use hoare::{context::Context, hedge::{self, HedgePolicy, Hedger}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hedger = Hedger::new(HedgePolicy::percentile(95.0).unwrap());
/// let v = hedge::hedge(&Context::background(), &hedger, |_, _| async { Ok::<_, ()>(5) }).await;
/// assert_eq!(v.unwrap(), 5);
/// # }
/// ```
pub async fn hedge<T, E, F, Fut>(
    ctx: &Context,
    hedger: &Hedger,
    request: F,
) -> Result<T, HedgeError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(Context, usize) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    hedger.run(ctx, request).await
}

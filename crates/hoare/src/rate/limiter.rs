//! [`Limiter`]: x/time/rate's token-bucket limiter.

use std::fmt;
use std::time::Instant;

use super::bucket::{self, Bucket};
use super::clock;
use super::limit::Limit;
use super::reservation::Reservation;

/// A token bucket of `burst` tokens, initially full, refilled at `limit` tokens per
/// second: x/time/rate's `Limiter`.
///
/// Each event takes one token (or `n`, with the `_n` forms). There are three ways
/// to spend them, for three kinds of caller:
///
/// - [`allow`](Limiter::allow) / [`allow_n`](Limiter::allow_n): take the tokens if
///   they are there now, else report `false` and take nothing (drop the event);
/// - [`reserve`](Limiter::reserve) / [`reserve_n`](Limiter::reserve_n): take them
///   now and learn how long to wait before acting ([`Reservation::delay`]); a
///   reservation can be given back ([`Reservation::cancel`]);
/// - [`wait`](Limiter::wait) / [`wait_async`](Limiter::wait_async) (and their `_n`
///   forms): wait until the tokens are there, or until the [`Context`] is done.
///   Most callers should use these.
///
/// Every time-dependent call has a form that takes the instant as a parameter
/// (`allow_n(at, n)`, `reserve_n(at, n)`, [`tokens_at`](Limiter::tokens_at),
/// [`set_limit_at`](Limiter::set_limit_at), ...), so a limiter can be tested from a
/// table of instants without sleeping. An instant earlier than the limiter's last
/// update is taken as x/time/rate takes it: no tokens accrue for it.
///
/// A limiter is `Send + Sync`; share it with an `Arc` (or a reference) between
/// threads and tasks. [`Limit::INF`] allows everything, whatever the burst; a burst
/// of 0 allows nothing unless the limit is infinite.
///
/// # Performance
///
/// `allow()` on a limiter below its limit takes no lock (see the `bucket` module's
/// docs in the source), and reads the CPU's time-stamp counter rather than
/// `Instant::now()`. The first limiter made in a process calibrates that counter
/// against the monotonic clock, which takes about a millisecond, once.
///
/// # Clocks and paused-clock tests
///
/// The async waits read tokio's clock, so they follow a paused clock. The other
/// "now" forms read the time-stamp counter unless the feature `test-util` is on:
/// then, inside a tokio runtime, they read tokio's clock too. A test that pauses
/// tokio's clock and calls `allow()`, `reserve()` or `tokens()` should enable it
/// (`hoare = { ..., features = ["test-util"] }` in `[dev-dependencies]`), or pass
/// `tokio::time::Instant::now().into_std()` to the `_at` forms.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hoare::rate::Limiter;
///
/// let lim = Limiter::new(10.0.into(), 3); // 10 events/s, bursts of 3
/// let t0 = Instant::now();
/// assert!(lim.allow_n(t0, 3)); // the initial burst
/// assert!(!lim.allow_n(t0, 1)); // empty
/// assert!(lim.allow_n(t0 + Duration::from_millis(100), 1)); // one token per 100ms
/// ```
///
/// [`Context`]: crate::context::Context
pub struct Limiter {
    pub(crate) bucket: Bucket,
}

impl Limiter {
    /// A limiter of `limit` events per second and bursts of at most `burst`, full.
    ///
    /// ```
    /// use hoare::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::from(2.0), 5);
    /// assert_eq!(lim.limit(), Limit::from(2.0));
    /// assert_eq!(lim.burst(), 5);
    /// ```
    pub fn new(limit: Limit, burst: usize) -> Limiter {
        Limiter {
            bucket: Bucket::new(limit, burst),
        }
    }

    /// The maximum overall event rate.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(hoare::rate::Limit::INF, 0);
    /// assert!(lim.limit().is_inf());
    /// ```
    pub fn limit(&self) -> Limit {
        self.bucket.limit()
    }

    /// The maximum burst size: the most tokens one call can take.
    ///
    /// ```
    /// assert_eq!(hoare::rate::Limiter::new(1.0.into(), 4).burst(), 4);
    /// ```
    pub fn burst(&self) -> usize {
        self.bucket.burst()
    }

    /// Whether one event may happen now; takes its token if so.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// assert!(lim.allow());
    /// assert!(!lim.allow()); // the next token comes in a second
    /// ```
    #[inline]
    pub fn allow(&self) -> bool {
        self.bucket.reserve(self.bucket.now(), 1, 0).ok
    }

    /// Whether `n` events may happen at `at`; takes their tokens if so. For callers
    /// that drop or skip the events that exceed the limit; others should
    /// [`reserve`](Limiter::reserve) or [`wait`](Limiter::wait).
    ///
    /// `n` above the burst is never allowed (unless the limit is infinite).
    ///
    /// ```
    /// use std::time::Instant;
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 3);
    /// let t0 = Instant::now();
    /// assert!(!lim.allow_n(t0, 4)); // more than the burst
    /// assert!(lim.allow_n(t0, 2));
    /// assert!(!lim.allow_n(t0, 2)); // one left
    /// ```
    #[inline]
    pub fn allow_n(&self, at: Instant, n: usize) -> bool {
        self.bucket.reserve(clock::from_instant(at), n, 0).ok
    }

    /// Reserves one token now: [`reserve_n`](Limiter::reserve_n) at now.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 1);
    /// assert!(lim.reserve().delay().is_zero());
    /// let r = lim.reserve();
    /// assert!(r.ok());
    /// assert!(r.delay() > std::time::Duration::ZERO); // act later
    /// ```
    pub fn reserve(&self) -> Reservation<'_> {
        Reservation::new(self, self.bucket.reserve(clock::now(), 1, i64::MAX))
    }

    /// Reserves `n` tokens at `at`, for events that will happen after the
    /// reservation's [`delay`](Reservation::delay): x/time/rate's `ReserveN`. The
    /// reservation is not [`ok`](Reservation::ok) only when `n` exceeds the burst
    /// (and the limit is finite); then nothing is reserved.
    ///
    /// The caller must wait out the delay, or [`cancel`](Reservation::cancel) the
    /// reservation to give its tokens back.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 2);
    /// let t0 = Instant::now();
    /// assert_eq!(lim.reserve_n(t0, 2).delay_from(t0), Duration::ZERO);
    /// assert_eq!(lim.reserve_n(t0, 2).delay_from(t0), Duration::from_millis(200));
    /// assert!(!lim.reserve_n(t0, 3).ok());
    /// ```
    pub fn reserve_n(&self, at: Instant, n: usize) -> Reservation<'_> {
        Reservation::new(
            self,
            self.bucket.reserve(clock::from_instant(at), n, i64::MAX),
        )
    }

    /// The tokens available now (negative while reservations are waiting).
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 3);
    /// assert_eq!(lim.tokens(), 3.0);
    /// ```
    pub fn tokens(&self) -> f64 {
        self.bucket.tokens_at(clock::now())
    }

    /// The tokens available at `at`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 3);
    /// let t0 = Instant::now();
    /// assert!(lim.allow_n(t0, 3));
    /// assert_eq!(lim.tokens_at(t0), 0.0);
    /// assert_eq!(lim.tokens_at(t0 + Duration::from_millis(200)), 2.0);
    /// ```
    pub fn tokens_at(&self, at: Instant) -> f64 {
        self.bucket.tokens_at(clock::from_instant(at))
    }

    /// Sets a new limit from now on: [`set_limit_at`](Limiter::set_limit_at) now.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// lim.set_limit(5.0.into());
    /// assert_eq!(lim.limit().as_f64(), 5.0);
    /// ```
    pub fn set_limit(&self, limit: Limit) {
        self.set_limit_nanos(clock::now(), limit);
    }

    /// Sets a new limit from `at` on; tokens accrued until `at` are counted at the
    /// old limit. Reservations already made keep their delays (and are given back,
    /// if canceled, at the limit they were made with), as in x/time/rate.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(5.0.into(), 2);
    /// let t0 = Instant::now();
    /// assert!(lim.allow_n(t0, 2));
    /// lim.set_limit_at(t0, 10.0.into());
    /// assert_eq!(lim.tokens_at(t0 + Duration::from_millis(100)), 1.0);
    /// ```
    pub fn set_limit_at(&self, at: Instant, limit: Limit) {
        self.set_limit_nanos(clock::from_instant(at), limit);
    }

    fn set_limit_nanos(&self, t: i64, limit: Limit) {
        self.bucket.with_slow(|st| {
            let (t, tokens) = bucket::advance(st, t);
            st.last = t;
            st.tokens = tokens;
            st.limit = limit;
        });
    }

    /// Sets a new burst from now on: [`set_burst_at`](Limiter::set_burst_at) now.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// lim.set_burst(3);
    /// assert_eq!(lim.burst(), 3);
    /// ```
    pub fn set_burst(&self, burst: usize) {
        self.set_burst_nanos(clock::now(), burst);
    }

    /// Sets a new burst from `at` on. The tokens held are those at `at` under the
    /// old burst (so raising the burst does not fill the bucket).
    ///
    /// ```
    /// use std::time::Instant;
    ///
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// let t0 = Instant::now();
    /// lim.set_burst_at(t0, 3);
    /// assert_eq!(lim.tokens_at(t0), 1.0);
    /// ```
    pub fn set_burst_at(&self, at: Instant, burst: usize) {
        self.set_burst_nanos(clock::from_instant(at), burst);
    }

    fn set_burst_nanos(&self, t: i64, burst: usize) {
        self.bucket.with_slow(|st| {
            let (t, tokens) = bucket::advance(st, t);
            st.last = t;
            st.tokens = tokens;
            st.burst = burst;
        });
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit())
            .field("burst", &self.burst())
            .finish_non_exhaustive()
    }
}

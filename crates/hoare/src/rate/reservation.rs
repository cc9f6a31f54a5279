//! [`Reservation`]: tokens taken now for events that happen after a delay.

use std::fmt;
use std::time::{Duration, Instant};

use super::bucket::{self, Reserved};
use super::clock;
use super::limit::Limit;
use super::limiter::Limiter;

/// Tokens a [`Limiter`] has set aside for events that may happen after
/// [`delay`](Reservation::delay): x/time/rate's `Reservation`.
///
/// A reservation that is not [`ok`](Reservation::ok) holds nothing: its delay is
/// [`Duration::MAX`] and canceling it does nothing. An ok one can be given back with
/// [`cancel`](Reservation::cancel), which restores as many tokens as later
/// reservations have not already counted on. Dropping a reservation keeps its
/// tokens spent (the events are assumed to happen).
///
/// ```
/// use std::time::{Duration, Instant};
/// use hoare::rate::Limiter;
///
/// let lim = Limiter::new(10.0.into(), 2);
/// let t0 = Instant::now();
/// assert!(lim.allow_n(t0, 2));
/// let r = lim.reserve_n(t0, 2);
/// assert_eq!(r.delay_from(t0), Duration::from_millis(200));
/// r.cancel_at(t0 + Duration::from_millis(100)); // changed our mind: 2 tokens back
/// assert_eq!(lim.tokens_at(t0 + Duration::from_millis(100)), 1.0);
/// ```
pub struct Reservation<'a> {
    limiter: &'a Limiter,
    r: Reserved,
}

impl<'a> Reservation<'a> {
    pub(crate) fn new(limiter: &'a Limiter, r: Reserved) -> Self {
        Reservation { limiter, r }
    }

    /// Whether the limiter can provide the tokens (it cannot when more than the
    /// burst were asked for, or, for a wait, not before the context's deadline).
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// assert!(lim.reserve().ok());
    /// assert!(!lim.reserve_n(std::time::Instant::now(), 2).ok());
    /// ```
    pub fn ok(&self) -> bool {
        self.r.ok
    }

    /// How long to wait from now before acting: [`delay_from`](Self::delay_from)
    /// now. Zero when the events may happen at once; [`Duration::MAX`] (never) when
    /// the reservation is not ok.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(1.0.into(), 1);
    /// assert_eq!(lim.reserve().delay(), std::time::Duration::ZERO);
    /// ```
    pub fn delay(&self) -> Duration {
        self.delay_nanos(clock::now())
    }

    /// How long to wait from `at` before acting.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 1);
    /// let t0 = Instant::now();
    /// lim.reserve_n(t0, 1);
    /// let r = lim.reserve_n(t0, 1);
    /// assert_eq!(r.delay_from(t0), Duration::from_millis(100));
    /// assert_eq!(r.delay_from(t0 + Duration::from_millis(40)), Duration::from_millis(60));
    /// assert_eq!(r.delay_from(t0 + Duration::from_secs(1)), Duration::ZERO);
    /// ```
    pub fn delay_from(&self, at: Instant) -> Duration {
        self.delay_nanos(clock::from_instant(at))
    }

    pub(crate) fn delay_nanos(&self, t: i64) -> Duration {
        if !self.r.ok {
            return Duration::MAX;
        }
        if self.r.time_to_act == i64::MAX {
            // The time to act saturated. Go's `Time` holds the sum, and `Sub`
            // then saturates to the longest Duration; so does this, whichever
            // anchor the clock counts from (the instants a program asks at are
            // not centuries apart, so no other answer is lost).
            return Duration::from_nanos(i64::MAX as u64);
        }
        let delay = clock::sub(self.r.time_to_act, t);
        Duration::from_nanos(delay.max(0) as u64)
    }

    /// When the reserved events may happen; `None` when the reservation is not ok.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 1);
    /// let t0 = Instant::now();
    /// assert_eq!(lim.reserve_n(t0, 1).time_to_act(), Some(t0));
    /// assert_eq!(lim.reserve_n(t0, 1).time_to_act(), Some(t0 + Duration::from_millis(100)));
    /// ```
    pub fn time_to_act(&self) -> Option<Instant> {
        if !self.r.ok {
            return None;
        }
        clock::to_instant(self.r.time_to_act)
    }

    /// The limit in force when the reservation was made.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(4.0.into(), 1);
    /// assert_eq!(lim.reserve().limit().as_f64(), 4.0);
    /// ```
    pub fn limit(&self) -> Limit {
        self.r.limit
    }

    /// Gives the tokens back now: [`cancel_at`](Self::cancel_at) now.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(0.001.into(), 1);
    /// let r = lim.reserve();
    /// assert!(r.ok());
    /// r.cancel(); // acted at once: nothing to give back
    /// assert!(lim.tokens() < 1.0);
    /// ```
    pub fn cancel(self) {
        let t = clock::now();
        self.cancel_nanos(t);
    }

    /// Gives the tokens back as of `at`, as x/time/rate's `CancelAt` does: nothing
    /// if the reservation was not ok, or its time to act is before `at` (the events
    /// have happened); else the reserved tokens minus those that reservations made
    /// after it already count on.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let lim = hoare::rate::Limiter::new(10.0.into(), 2);
    /// let t0 = Instant::now();
    /// lim.reserve_n(t0, 2);
    /// let r = lim.reserve_n(t0, 2); // acts at t0 + 200ms
    /// r.cancel_at(t0 + Duration::from_millis(100));
    /// // Both tokens are back, plus the one accrued meanwhile:
    /// assert_eq!(lim.reserve_n(t0 + Duration::from_millis(100), 2).delay_from(t0 + Duration::from_millis(100)), Duration::from_millis(100));
    /// ```
    pub fn cancel_at(self, at: Instant) {
        self.cancel_nanos(clock::from_instant(at));
    }

    pub(crate) fn cancel_nanos(&self, t: i64) {
        if !self.r.ok {
            return;
        }
        self.limiter
            .bucket
            .with_slow(|st| bucket::cancel_slow(st, &self.r, t));
    }
}

impl fmt::Debug for Reservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("ok", &self.r.ok)
            .field("tokens", &self.r.tokens)
            .field("time_to_act", &self.time_to_act())
            .field("limit", &self.r.limit)
            .finish()
    }
}

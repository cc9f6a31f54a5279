//! [`Limit`]: a rate of events per second, and the conversions between tokens and
//! durations that every limiter computation goes through.

use std::fmt;
use std::time::Duration;

/// A maximum frequency of events, in events per second: x/time/rate's `Limit`.
///
/// A limit is a plain `f64`. [`Limit::INF`] allows every event (bursts included);
/// zero allows only the events of the initial burst. A negative or NaN value makes
/// no sense as a rate and is read as zero, so no input can make a limiter panic.
///
/// ```
/// use std::time::Duration;
/// use hoare::rate::{per, Limit};
///
/// assert_eq!(Limit::from(10.0).as_f64(), 10.0);
/// assert_eq!(Limit::every(Duration::from_millis(100)), Limit::from(10.0));
/// assert_eq!(per(2, Duration::from_secs(1)), Limit::from(2.0));
/// assert_eq!(Limit::from(-1.0), Limit::ZERO);
/// assert!(Limit::INF.is_inf());
/// ```
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub struct Limit(f64);

impl Limit {
    /// No limit: every event is allowed, whatever the burst (x/time/rate's `Inf`).
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(hoare::rate::Limit::INF, 0);
    /// assert!(lim.allow());
    /// ```
    pub const INF: Limit = Limit(f64::INFINITY);

    /// No events beyond the initial burst.
    ///
    /// ```
    /// let lim = hoare::rate::Limiter::new(hoare::rate::Limit::ZERO, 1);
    /// assert!(lim.allow());
    /// assert!(!lim.allow());
    /// ```
    pub const ZERO: Limit = Limit(0.0);

    /// One event every `interval` (x/time/rate's `Every`); a zero interval is
    /// [`Limit::INF`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::rate::Limit;
    ///
    /// assert_eq!(Limit::every(Duration::from_secs(2)).as_f64(), 0.5);
    /// assert_eq!(Limit::every(Duration::ZERO), Limit::INF);
    /// ```
    pub fn every(interval: Duration) -> Limit {
        if interval.is_zero() {
            return Limit::INF;
        }
        Limit(1.0 / seconds(duration_nanos(interval)))
    }

    /// The limit in events per second.
    ///
    /// ```
    /// assert_eq!(hoare::rate::Limit::from(3.5).as_f64(), 3.5);
    /// ```
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// Whether this is [`Limit::INF`].
    ///
    /// ```
    /// assert!(!hoare::rate::Limit::from(1e9).is_inf());
    /// ```
    pub fn is_inf(self) -> bool {
        self.0 == f64::INFINITY
    }

    /// The time it takes to accumulate `tokens` at this limit, in nanoseconds
    /// (x/time/rate's `durationFromTokens`: truncated, and saturated where Go's
    /// float-to-int conversion would overflow). `i64::MAX` ("never") for a limit
    /// that is not positive.
    pub(crate) fn nanos_from_tokens(self, tokens: f64) -> i64 {
        if self.0 <= 0.0 {
            return i64::MAX;
        }
        let seconds = tokens / self.0;
        // `as` truncates toward zero and saturates at the bounds of i64.
        (1e9 * seconds) as i64
    }

    /// The tokens that accumulate in `nanos` at this limit (x/time/rate's
    /// `tokensFromDuration`); zero for a limit that is not positive.
    pub(crate) fn tokens_from_nanos(self, nanos: i64) -> f64 {
        if self.0 <= 0.0 {
            return 0.0;
        }
        seconds(nanos) * self.0
    }
}

/// `nanos` in seconds, computed as Go's `Duration.Seconds` does (whole seconds plus
/// the fraction), so token counts match x/time/rate's to the last bit.
#[inline]
pub(crate) fn seconds(nanos: i64) -> f64 {
    let whole = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    whole as f64 + frac as f64 / 1e9
}

/// `d` in nanoseconds, saturated at `i64::MAX` (Go's `Duration` range).
pub(crate) fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl From<f64> for Limit {
    /// Events per second; negative and NaN values become [`Limit::ZERO`].
    fn from(events_per_second: f64) -> Limit {
        if events_per_second.is_nan() || events_per_second < 0.0 {
            Limit::ZERO
        } else {
            Limit(events_per_second)
        }
    }
}

impl From<Limit> for f64 {
    fn from(limit: Limit) -> f64 {
        limit.0
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Limit({})", self)
    }
}

impl fmt::Display for Limit {
    /// `10/s`, or `inf`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_inf() {
            f.write_str("inf")
        } else {
            write!(f, "{}/s", self.0)
        }
    }
}

/// `n` events per `d`: the book's `Per(eventCount, duration)`, which is
/// `Every(duration / eventCount)`. `per(0, d)` and `per(n, 0)` are not rates the
/// book defines: the first is [`Limit::ZERO`] (no events), the second
/// [`Limit::INF`] (no interval between events).
///
/// ```
/// use std::time::Duration;
/// use hoare::rate::{per, Limit};
///
/// assert_eq!(per(10, Duration::from_secs(60)), Limit::every(Duration::from_secs(6)));
/// assert_eq!(per(0, Duration::from_secs(1)), Limit::ZERO);
/// ```
pub fn per(n: u32, d: Duration) -> Limit {
    if n == 0 {
        return Limit::ZERO;
    }
    Limit::every(d / n)
}

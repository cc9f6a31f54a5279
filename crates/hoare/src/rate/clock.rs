//! Instants as signed nanoseconds from one process-wide anchor, and the clock that
//! the limiter's "now" forms read.
//!
//! Every limiter keeps its times as `i64` nanoseconds relative to the same anchor
//! (the first time any limiter looked at the clock), so an instant converts once
//! and the arithmetic is Go's `time.Duration` arithmetic. [`NEVER`] stands for Go's
//! zero `time.Time`: earlier than any instant, and a difference with it saturates
//! as Go's `Time.Sub` does.
//!
//! The clocks: the "now" forms (`allow`, `reserve`, `tokens`, ...) read the CPU's
//! time-stamp counter through `quanta`, calibrated against the monotonic clock,
//! which costs about a third of `Instant::now()` here; that is what keeps
//! `allow()` as cheap as it is. The async waits read tokio's clock
//! ([`crate::time::now`]), so they follow a paused clock in tests. With the feature
//! `test-util`, the "now" forms too read tokio's clock when called inside a tokio
//! runtime (the check costs a few nanoseconds per call, which is why it is not the
//! default), so a test that pauses tokio's clock sees every limiter follow it.
//! Both clocks count from the same anchor; the counter is calibrated against the
//! monotonic clock when the anchor is taken, so the two agree to within the
//! calibration's drift, and a reading that goes back in time is handled as
//! x/time/rate handles one (no tokens accrue).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Go's zero `time.Time`: before every instant.
pub(crate) const NEVER: i64 = i64::MIN;

#[derive(Clone)]
pub(crate) struct Anchor {
    at: Instant,
    #[cfg(not(any(loom, miri)))]
    counter: quanta::Clock,
    #[cfg(not(any(loom, miri)))]
    counter_at: u64,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

pub(crate) fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        #[cfg(not(any(loom, miri)))]
        {
            let counter = quanta::Clock::new();
            let counter_at = counter.raw();
            Anchor {
                at: Instant::now(),
                counter,
                counter_at,
            }
        }
        #[cfg(any(loom, miri))]
        Anchor { at: Instant::now() }
    })
}

/// Now, in nanoseconds from the anchor.
#[inline]
pub(crate) fn now() -> i64 {
    now_from(anchor())
}

/// [`now`], for a caller that keeps the anchor at hand.
#[inline]
pub(crate) fn now_from(anchor: &Anchor) -> i64 {
    #[cfg(not(any(loom, miri)))]
    {
        #[cfg(feature = "test-util")]
        if tokio::runtime::Handle::try_current().is_ok() {
            return from_instant_with(anchor, crate::time::now());
        }
        let ticks = anchor.counter.raw();
        let elapsed = anchor.counter.delta_as_nanos(anchor.counter_at, ticks);
        i64::try_from(elapsed).unwrap_or(i64::MAX)
    }
    #[cfg(any(loom, miri))]
    from_instant_with(anchor, crate::time::now())
}

/// Now on tokio's clock (which follows a paused clock in tests), for the async
/// waits, whose timers run on that clock.
pub(crate) fn tokio_now() -> i64 {
    from_instant(crate::time::now())
}

/// `at` in nanoseconds from the anchor (saturating; never [`NEVER`]).
pub(crate) fn from_instant(at: Instant) -> i64 {
    from_instant_with(anchor(), at)
}

fn from_instant_with(anchor: &Anchor, at: Instant) -> i64 {
    match at.checked_duration_since(anchor.at) {
        Some(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        None => {
            let before = anchor.at.duration_since(at).as_nanos();
            // NEVER + 1 at most, so that a real instant is never taken for NEVER.
            i64::try_from(before).map_or(NEVER + 1, |b| (-b).max(NEVER + 1))
        }
    }
}

/// The instant `nanos` from the anchor, or `None` for [`NEVER`] or an instant the
/// platform cannot represent.
pub(crate) fn to_instant(nanos: i64) -> Option<Instant> {
    let anchor = anchor().at;
    if nanos == NEVER {
        None
    } else if nanos >= 0 {
        anchor.checked_add(Duration::from_nanos(nanos as u64))
    } else {
        anchor.checked_sub(Duration::from_nanos(nanos.unsigned_abs()))
    }
}

/// `a - b` with Go's `Time.Sub` saturation.
#[inline]
pub(crate) fn sub(a: i64, b: i64) -> i64 {
    a.saturating_sub(b)
}

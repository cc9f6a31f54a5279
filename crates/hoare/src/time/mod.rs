//! Timer channels: Go's `time.After`, `time.Tick` and the nil channel.
//!
//! Each returns a [`Receiver<Instant>`](crate::chan::Receiver), usable anywhere a
//! channel is: `recv`, `recv_async`, iteration, and as a [`select!`](crate::select!)
//! case. There is no goroutine (helper thread or task) behind them:
//!
//! - a blocking receive, or a blocking `select!` with a timer case, sleeps the calling
//!   thread until the timer is due (or another case fires first);
//! - an async receive or `select_async!` waits on tokio's timer when it runs inside a
//!   tokio runtime, so tests can use tokio's paused clock
//!   (`#[tokio::test(start_paused = true)]`). That runtime needs its time driver
//!   (`enable_time`/`enable_all`), as `tokio::time::sleep` does. On other executors
//!   one shared timer thread wakes the task, and exits when no timer is waiting.
//!
//! Timers read tokio's clock, which is the system's monotonic clock except in a
//! tokio runtime whose clock is paused (tests); a paused clock moves only for async
//! waits, so use blocking receives on timers with the real clock only.
//!
//! | Go | hoare |
//! |---|---|
//! | `<-time.After(d)` | `time::after(d).recv()` |
//! | `time.Tick(d)` | `time::tick(d)` |
//! | `var ch chan T` (nil) | `time::never()` |
//!
//! ```
//! use std::time::Duration;
//! use hoare::{chan, select, time};
//!
//! let (_tx, rx) = chan::<i32>(0); // nobody sends
//! let timeout = time::after(Duration::from_millis(10));
//! let got = select! {
//!     recv(&rx) -> v => format!("got {v:?}"),
//!     recv(&timeout) -> _ => "timed out".to_string(),
//! };
//! assert_eq!(got, "timed out");
//! ```

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::chan::Receiver;
use crate::loom::AtomicU64;

mod wake;

pub(crate) use wake::TimerWait;

/// A receiver that delivers one value once `d` has elapsed, then reports closed:
/// Go's `time.After(d)`.
///
/// The value is the instant the timer was due. Only one receive gets it, even when
/// the receiver is cloned. A duration too long to represent never fires.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hoare::time;
///
/// let start = Instant::now();
/// let timer = time::after(Duration::from_millis(5));
/// let due = timer.recv().expect("fires once");
/// assert!(due >= start + Duration::from_millis(5));
/// assert_eq!(timer.recv(), None); // then closed
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Timer::new(Kind::After, d).map_or_else(crate::chan::never, Receiver::timer)
}

/// A receiver that delivers a value every `period`: Go's `time.Tick(period)`.
///
/// Like Go's ticker, it keeps at most one tick for a slow receiver and drops the
/// rest, so a receiver that comes back late gets one stale tick at once and the next
/// one at the next period boundary, never a burst. The value is the instant the
/// delivered tick was due.
///
/// A zero `period` gives a receiver that never delivers, as Go's `time.Tick` returns
/// nil for a period that is not positive.
///
/// ```
/// use std::time::Duration;
/// use hoare::time;
///
/// let ticks = time::tick(Duration::from_millis(2));
/// let first = ticks.recv().unwrap();
/// let second = ticks.recv().unwrap();
/// assert!(second >= first + Duration::from_millis(2));
/// ```
pub fn tick(period: Duration) -> Receiver<Instant> {
    if period.is_zero() {
        return crate::chan::never();
    }
    Timer::new(Kind::Tick(period), period).map_or_else(crate::chan::never, Receiver::timer)
}

/// A receiver that never receives: Go's nil channel. The same as
/// [`chan::never`](crate::chan::never()), here beside the timers for code that
/// swaps a timer for "no timeout".
///
/// ```
/// use std::time::{Duration, Instant};
/// use hoare::time;
///
/// let timeout: Option<Duration> = None;
/// let timer = timeout.map_or_else(time::never, time::after);
/// assert!(timer.try_recv().is_err());
/// # let _: hoare::chan::Receiver<Instant> = timer;
/// ```
pub fn never() -> Receiver<Instant> {
    crate::chan::never()
}

/// The current time on the clock the timers use: tokio's, which outside a paused
/// tokio runtime is the system's monotonic clock.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    After,
    Tick(Duration),
}

/// `next` once an `after` timer has fired: closed.
const FIRED: u64 = u64::MAX;

/// The shared state of a timer channel.
pub(crate) struct Timer {
    kind: Kind,
    /// The origin of `next`.
    start: Instant,
    /// When the next value is due, in nanoseconds after `start`, or `FIRED`.
    next: AtomicU64,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("kind", &self.kind)
            .field("due", &self.due())
            .finish()
    }
}

/// Nanoseconds in `d`, if they fit the timer's range.
fn nanos(d: Duration) -> Option<u64> {
    u64::try_from(d.as_nanos()).ok().filter(|&n| n < FIRED)
}

impl Timer {
    /// A timer first due `first` from now; `None` when that is beyond its range.
    fn new(kind: Kind, first: Duration) -> Option<Arc<Timer>> {
        let start = now();
        start.checked_add(first)?;
        Some(Arc::new(Timer {
            kind,
            start,
            next: AtomicU64::new(nanos(first)?),
        }))
    }

    /// When the next value is due, or `None` once an `after` timer has fired.
    pub(crate) fn due(&self) -> Option<Instant> {
        // ORDERING: the value is plain data; the CAS in `try_recv` decides who takes it.
        match self.next.load(Ordering::Acquire) {
            FIRED => None,
            n => Some(self.start + Duration::from_nanos(n)),
        }
    }

    /// When a select waiting on this timer should look again: when it is due, or at
    /// once (its start, long past) if it is closed, since a closed channel is ready.
    pub(crate) fn wake_at(&self) -> Instant {
        self.due().unwrap_or(self.start)
    }

    /// Takes the due value, if any. `Err(true)` when closed, `Err(false)` when not due.
    pub(crate) fn try_recv(&self) -> Result<Instant, bool> {
        let now = now();
        // ORDERING: AcqRel CAS below; a plain load to start from.
        let mut next = self.next.load(Ordering::Acquire);
        loop {
            if next == FIRED {
                return Err(true);
            }
            let due = self.start + Duration::from_nanos(next);
            if now < due {
                return Err(false);
            }
            let after = match self.kind {
                Kind::After => FIRED,
                Kind::Tick(period) => {
                    // The first period boundary after `now`: ticks missed meanwhile are
                    // dropped (Go's ticker keeps one), so there is never a burst.
                    let period = period.as_nanos();
                    let late = (now - due).as_nanos();
                    let skip = (late / period + 1) * period;
                    u64::try_from(u128::from(next) + skip)
                        .ok()
                        .filter(|&n| n < FIRED)
                        .unwrap_or(FIRED - 1)
                }
            };
            // ORDERING: AcqRel so one receiver at a time moves the schedule.
            match self
                .next
                .compare_exchange(next, after, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(due),
                Err(actual) => next = actual,
            }
        }
    }

    /// Receives, sleeping the calling thread until due or `deadline`. `Err(true)`
    /// when closed, `Err(false)` at the deadline.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Instant, bool> {
        loop {
            match self.try_recv() {
                Err(false) => {}
                done => return done,
            }
            let Some(due) = self.due() else {
                return Err(true);
            };
            let wake = deadline.map_or(due, |d| d.min(due));
            let now = now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(false);
            }
            if wake > now {
                std::thread::sleep(wake - now);
            }
        }
    }

    /// One poll of an async receive, waiting with `wait`.
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        wait: &mut TimerWait,
    ) -> Poll<Option<Instant>> {
        loop {
            match self.try_recv() {
                Ok(at) => return Poll::Ready(Some(at)),
                Err(true) => return Poll::Ready(None),
                Err(false) => {}
            }
            let Some(due) = self.due() else {
                return Poll::Ready(None);
            };
            if wait.poll_until(cx, due).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Whether a receive would take a value (or see the close) now.
    pub(crate) fn is_ready(&self) -> bool {
        self.due().is_none_or(|due| now() >= due)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.due().is_none()
    }
}

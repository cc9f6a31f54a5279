//! The steward: restarts a ward whose heartbeat falls silent.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::heartbeat::{interval_heartbeat, IntervalHeartbeat};
use crate::chan::{self, Receiver};
use crate::context::{CancelGuard, Context};
use crate::pattern::source::or_cancelled;
use crate::sync::unwind::panic_message;
use crate::JoinHandle;

/// Why a steward could not start, or why it stopped before its context was done.
///
/// ```
/// use std::time::Duration;
/// use hoare::supervise::{Steward, StewardError};
///
/// let err = Steward::new(Duration::ZERO, |_ctx: &_, _pulse| hoare::chan::never()).unwrap_err();
/// assert_eq!(err, StewardError::ZeroTimeout);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StewardError {
    /// The health timeout was zero: no ward could ever be healthy.
    ZeroTimeout,
    /// The steward's own pulse interval was zero.
    ZeroPulseInterval,
    /// The ward needed more restarts than the budget allows; the last ward was
    /// cancelled and the steward stopped.
    RestartBudgetExhausted {
        /// The restarts allowed within `window`.
        max_restarts: usize,
        /// The window of the budget.
        window: Duration,
    },
}

impl fmt::Display for StewardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StewardError::ZeroTimeout => f.write_str("steward timeout must be above zero"),
            StewardError::ZeroPulseInterval => {
                f.write_str("steward pulse interval must be above zero")
            }
            StewardError::RestartBudgetExhausted {
                max_restarts,
                window,
            } => write!(
                f,
                "ward still unhealthy after {max_restarts} restarts within {window:?}; steward gave up"
            ),
        }
    }
}

impl std::error::Error for StewardError {}

/// What a steward saw and did, in order; each is also logged through `tracing`.
/// Wards are numbered from 0 in the order they were started.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use hoare::{context::Context, supervise::{Steward, StewardEvent}};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// // A ward that dies at once: its heartbeat is closed from the start.
/// let steward = Steward::new(Duration::from_secs(1), |_: &Context, _| hoare::chan::<()>(0).1)
///     .unwrap()
///     .restart_budget(1, Duration::from_secs(60))
///     .on_event(move |event| log.lock().unwrap().push(event.clone()));
/// let (_pulses, stopped) = steward.start(&Context::background(), Duration::from_secs(1)).unwrap();
/// assert!(stopped.await.unwrap().is_err()); // gave up after one restart
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[..2], [StewardEvent::Started { ward: 0 }, StewardEvent::HeartbeatClosed { ward: 0 }]);
/// assert!(matches!(seen.last(), Some(StewardEvent::GaveUp { .. })));
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StewardEvent {
    /// Ward `ward` was started.
    Started {
        /// The ward's number.
        ward: u64,
    },
    /// The start function panicked; the ward counts as silent and is restarted
    /// when the timeout passes.
    StartPanicked {
        /// The ward's number.
        ward: u64,
        /// The panic's message.
        message: String,
    },
    /// The ward's heartbeat closed: the ward ended or panicked. It counts as
    /// silent and is restarted when the timeout passes.
    HeartbeatClosed {
        /// The ward's number.
        ward: u64,
    },
    /// No pulse within the timeout: the ward is cancelled and restarted (the
    /// book's "steward: ward unhealthy; restarting").
    Unhealthy {
        /// The ward's number.
        ward: u64,
    },
    /// The restart budget is spent; the steward stops.
    GaveUp {
        /// The last ward's number.
        ward: u64,
    },
}

type Observer = Arc<dyn Fn(&StewardEvent) + Send + Sync>;

/// A steward (the book's `newSteward`): starts a ward with `start(&ctx,
/// pulse_interval)`, which returns the ward's heartbeat, and watches it; when no
/// pulse arrives within `timeout`, it cancels the ward's context and starts a new
/// ward. The ward is given a pulse interval of `timeout / 2`.
///
/// A ward whose heartbeat closes (it ended, or panicked and dropped its
/// [`Heartbeat`](super::Heartbeat)) and a start function that panics count as
/// silent: the steward reports it ([`StewardEvent`], `tracing`) and restarts the
/// ward when the timeout passes, so a ward that fails at once is retried once per
/// timeout, never in a busy loop. A [restart budget](Steward::restart_budget)
/// bounds the retries and a [backoff](Steward::backoff) spaces them.
///
/// The steward is a ward itself: [`start`](Steward::start) returns its own
/// heartbeat, so stewards can be stacked.
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, supervise::{interval_heartbeat, Steward}};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (ctx, cancel) = Context::background().with_cancel();
/// let steward = Steward::new(Duration::from_secs(1), |ctx: &Context, pulse| {
///     let (heart, pulses) = interval_heartbeat(pulse).unwrap();
///     let ctx = ctx.clone();
///     hoare::go(async move { heart.pulsing(&ctx, std::future::pending::<()>()).await });
///     pulses
/// })
/// .unwrap();
/// let (pulses, stopped) = steward.start(&ctx, Duration::from_secs(1)).unwrap();
/// assert_eq!(pulses.recv_async().await, Some(()));
/// drop(cancel);
/// assert_eq!(stopped.await.unwrap(), Ok(0)); // a healthy ward: no restarts
/// # }
/// ```
pub struct Steward<F> {
    timeout: Duration,
    start: F,
    budget: Option<(usize, Duration)>,
    backoff: Option<(Duration, Duration)>,
    observer: Option<Observer>,
}

impl<F> Steward<F>
where
    F: FnMut(&Context, Duration) -> Receiver<()> + Send + 'static,
{
    /// A steward that restarts the ward started by `start` when its heartbeat is
    /// silent for `timeout`.
    ///
    /// # Errors
    /// [`StewardError::ZeroTimeout`] for a zero timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = hoare::supervise::Steward::new(Duration::from_secs(4), |_: &_, _| hoare::chan::never());
    /// assert!(s.is_ok());
    /// ```
    pub fn new(timeout: Duration, start: F) -> Result<Self, StewardError> {
        if timeout.is_zero() {
            return Err(StewardError::ZeroTimeout);
        }
        Ok(Self {
            timeout,
            start,
            budget: None,
            backoff: None,
            observer: None,
        })
    }

    /// Allows at most `max_restarts` restarts within any `window`; one more and
    /// the steward cancels the ward and stops with
    /// [`StewardError::RestartBudgetExhausted`]. Without a budget it restarts for
    /// as long as its context lives.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = hoare::supervise::Steward::new(Duration::from_secs(1), |_: &_, _| hoare::chan::never())
    ///     .unwrap()
    ///     .restart_budget(3, Duration::from_secs(60));
    /// # drop(s);
    /// ```
    #[must_use]
    pub fn restart_budget(mut self, max_restarts: usize, window: Duration) -> Self {
        self.budget = Some((max_restarts, window));
        self
    }

    /// Waits before each restart: `initial`, doubling with each restart that
    /// follows without a pulse in between, up to `max`. A pulse resets it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = hoare::supervise::Steward::new(Duration::from_secs(1), |_: &_, _| hoare::chan::never())
    ///     .unwrap()
    ///     .backoff(Duration::from_millis(100), Duration::from_secs(10));
    /// # drop(s);
    /// ```
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Some((initial, max.max(initial)));
        self
    }

    /// Calls `observer` with each [`StewardEvent`], on the steward's goroutine
    /// (keep it short).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = hoare::supervise::Steward::new(Duration::from_secs(1), |_: &_, _| hoare::chan::never())
    ///     .unwrap()
    ///     .on_event(|event| println!("{event:?}"));
    /// # drop(s);
    /// ```
    #[must_use]
    pub fn on_event(mut self, observer: impl Fn(&StewardEvent) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Starts the first ward and the steward's goroutine, which pulses every
    /// `pulse_interval` on the returned heartbeat. The handle gives the number of
    /// restarts once `ctx` is done (the last ward is cancelled with it), or the
    /// error that stopped the steward early.
    ///
    /// # Errors
    /// [`StewardError::ZeroPulseInterval`] for a zero `pulse_interval`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::{context::Context, supervise::Steward};
    ///
    /// let s = Steward::new(Duration::from_secs(1), |_: &_, _| hoare::chan::never()).unwrap();
    /// let err = s.start(&Context::background(), Duration::ZERO).unwrap_err();
    /// assert_eq!(err.to_string(), "steward pulse interval must be above zero");
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn start(
        self,
        ctx: &Context,
        pulse_interval: Duration,
    ) -> Result<(Receiver<()>, JoinHandle<Result<usize, StewardError>>), StewardError> {
        let (own, pulses) =
            interval_heartbeat(pulse_interval).map_err(|_| StewardError::ZeroPulseInterval)?;
        let ctx = ctx.clone();
        Ok((pulses, crate::go(self.run(ctx, own))))
    }

    /// The monitor loop (the book's `monitorLoop`).
    async fn run(mut self, ctx: Context, own: IntervalHeartbeat) -> Result<usize, StewardError> {
        let mut ward = 0;
        let mut restarts = 0;
        let mut recent: VecDeque<Instant> = VecDeque::new();
        let mut delay = self.backoff.map(|(initial, _)| initial);
        let (mut ward_pulses, mut ward_guard) = self.start_ward(&ctx, ward);
        loop {
            // Wait for a pulse, or for the timeout to pass in silence.
            let silent = crate::time::after(self.timeout);
            let healthy = loop {
                let pulse = or_cancelled(ward_pulses.recv_async(), silent.recv_async());
                match own.pulsing(&ctx, pulse).await {
                    None => return Ok(restarts), // dropping `ward_guard` cancels the ward
                    Some(Some(Some(()))) => break true,
                    Some(Some(None)) => {
                        self.emit(StewardEvent::HeartbeatClosed { ward });
                        ward_pulses = chan::never();
                    }
                    Some(None) => break false,
                }
            };
            if healthy {
                delay = self.backoff.map(|(initial, _)| initial);
                continue;
            }
            self.emit(StewardEvent::Unhealthy { ward });
            drop(ward_guard); // cancels the old ward
            if let Some((max_restarts, window)) = self.budget {
                let now = Instant::now();
                while recent
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) >= window)
                {
                    recent.pop_front();
                }
                if recent.len() >= max_restarts {
                    self.emit(StewardEvent::GaveUp { ward });
                    return Err(StewardError::RestartBudgetExhausted {
                        max_restarts,
                        window,
                    });
                }
                recent.push_back(now);
            }
            if let (Some(wait), Some((_, max))) = (delay, self.backoff) {
                let pause = crate::time::after(wait);
                if own.pulsing(&ctx, pause.recv_async()).await.is_none() {
                    return Ok(restarts);
                }
                delay = Some(wait.saturating_mul(2).min(max));
            }
            restarts += 1;
            ward += 1;
            (ward_pulses, ward_guard) = self.start_ward(&ctx, ward);
        }
    }

    /// Starts ward number `ward` under a child of `ctx`; a panicking start gives a
    /// ward that never pulses.
    fn start_ward(&mut self, ctx: &Context, ward: u64) -> (Receiver<()>, CancelGuard) {
        let (ward_ctx, guard) = ctx.with_cancel();
        let interval = self.timeout / 2;
        let start = &mut self.start;
        match catch_unwind(AssertUnwindSafe(|| start(&ward_ctx, interval))) {
            Ok(pulses) => {
                self.emit(StewardEvent::Started { ward });
                (pulses, guard)
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                self.emit(StewardEvent::StartPanicked { ward, message });
                (chan::never(), guard)
            }
        }
    }

    fn emit(&self, event: StewardEvent) {
        match &event {
            StewardEvent::Started { ward } => tracing::debug!(ward, "steward: ward started"),
            StewardEvent::StartPanicked { ward, message } => {
                tracing::error!(ward, %message, "steward: ward panicked on start")
            }
            StewardEvent::HeartbeatClosed { ward } => {
                tracing::warn!(ward, "steward: ward heartbeat closed (ended or panicked)")
            }
            StewardEvent::Unhealthy { ward } => {
                tracing::warn!(ward, "steward: ward unhealthy; restarting")
            }
            StewardEvent::GaveUp { ward } => {
                tracing::error!(ward, "steward: restart budget exhausted; giving up")
            }
        }
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }
}

impl<F> fmt::Debug for Steward<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Steward")
            .field("timeout", &self.timeout)
            .field("restart_budget", &self.budget)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

//! Heartbeats: a worker's way of saying "I am alive" to whoever watches it.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use crate::chan::{chan, Receiver, Sender, TrySendError};
use crate::context::Context;

/// Why a heartbeat could not be made.
///
/// ```
/// use std::time::Duration;
/// use hoare::supervise::{interval_heartbeat, HeartbeatError};
///
/// assert_eq!(interval_heartbeat(Duration::ZERO).unwrap_err(), HeartbeatError::ZeroInterval);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeartbeatError {
    /// The pulse interval was zero: a worker would do nothing but pulse.
    ZeroInterval,
}

impl fmt::Display for HeartbeatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeartbeatError::ZeroInterval => f.write_str("heartbeat interval must be above zero"),
        }
    }
}

impl std::error::Error for HeartbeatError {}

/// The sending side of a heartbeat: [`beat`](Heartbeat::beat) offers a pulse and
/// never blocks. Dropping the last `Heartbeat` closes the pulse stream, which is
/// how a watcher learns that the worker ended (or panicked).
///
/// The pulse channel holds one pulse: a pulse not yet taken is not repeated, and
/// a pulse that finds the channel full is dropped (nobody is listening, or the
/// listener is already told the worker is alive).
///
/// ```
/// use hoare::supervise::heartbeat;
///
/// let (heart, pulses) = heartbeat();
/// heart.beat();
/// heart.beat(); // dropped: one pulse is already waiting
/// assert_eq!(pulses.try_recv(), Ok(()));
/// assert!(pulses.try_recv().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Heartbeat {
    pulses: Sender<()>,
}

/// A heartbeat per unit of work (the book's `heartbeatStream := make(chan
/// interface{}, 1)`): call [`Heartbeat::beat`] at the start of each unit. The
/// receiver is an ordinary channel: receive from it, or use it in
/// [`select!`](crate::select!).
///
/// A beat costs one [`try_send`](Sender::try_send).
///
/// ```
/// use hoare::{chan, supervise::heartbeat};
///
/// let (heart, pulses) = heartbeat();
/// let (tx, results) = chan::<u32>(0);
/// let worker = std::thread::spawn(move || {
///     for n in 0..3 {
///         heart.beat();
///         tx.send(n).unwrap();
///     }
/// });
/// assert_eq!(pulses.recv(), Some(())); // the worker started its first unit
/// assert_eq!(results.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// worker.join().unwrap();
/// ```
pub fn heartbeat() -> (Heartbeat, Receiver<()>) {
    let (pulses, rx) = chan(1);
    (Heartbeat { pulses }, rx)
}

impl Heartbeat {
    /// Offers a pulse; returns whether it was taken into the channel (false when
    /// one is already waiting or nobody listens any more). Never blocks.
    ///
    /// ```
    /// let (heart, pulses) = hoare::supervise::heartbeat();
    /// assert!(heart.beat());
    /// drop(pulses);
    /// assert!(!heart.beat());
    /// ```
    #[inline]
    pub fn beat(&self) -> bool {
        match self.pulses.try_send(()) {
            Ok(()) => true,
            Err(TrySendError::Full(())) | Err(TrySendError::Closed(())) => false,
        }
    }
}

/// A heartbeat on an interval (the book's `pulse := time.Tick(pulseInterval)`):
/// the worker pulses every interval while it waits, whether it is waiting for
/// input or blocked sending output, by running its waits through
/// [`pulsing`](IntervalHeartbeat::pulsing).
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, supervise::interval_heartbeat};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (heart, pulses) = interval_heartbeat(Duration::from_secs(1)).unwrap();
/// let ctx = Context::background();
/// let worker = hoare::go(async move {
///     // Three seconds of work, pulsing each second while it lasts.
///     heart.pulsing(&ctx, tokio::time::sleep(Duration::from_secs(3))).await
/// });
/// assert_eq!(pulses.recv_async().await, Some(())); // at one second
/// assert_eq!(pulses.recv_async().await, Some(())); // at two
/// assert_eq!(worker.await.unwrap(), Some(()));
/// # }
/// ```
pub struct IntervalHeartbeat {
    heart: Heartbeat,
    interval: Duration,
    /// When the heartbeat was made; pulses are due at whole intervals after it.
    origin: Instant,
    /// Nanoseconds after `origin` at which the next pulse is due. Only the
    /// worker's `pulsing` calls touch it, one at a time in practice; an atomic
    /// keeps the type `Sync` so its futures are `Send`.
    next_due: AtomicU64,
}

/// Makes an [`IntervalHeartbeat`] that pulses every `interval`, and the stream
/// of its pulses.
///
/// # Errors
/// [`HeartbeatError::ZeroInterval`] for a zero interval.
///
/// ```
/// use std::time::Duration;
///
/// let (heart, _pulses) = hoare::supervise::interval_heartbeat(Duration::from_millis(500)).unwrap();
/// assert_eq!(heart.interval(), Duration::from_millis(500));
/// ```
pub fn interval_heartbeat(
    interval: Duration,
) -> Result<(IntervalHeartbeat, Receiver<()>), HeartbeatError> {
    if interval.is_zero() {
        return Err(HeartbeatError::ZeroInterval);
    }
    let (heart, pulses) = heartbeat();
    let first = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let heart = IntervalHeartbeat {
        heart,
        interval,
        origin: Instant::now(),
        next_due: AtomicU64::new(first),
    };
    Ok((heart, pulses))
}

impl IntervalHeartbeat {
    /// The interval between pulses.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (h, _) = hoare::supervise::interval_heartbeat(Duration::from_secs(2)).unwrap();
    /// assert_eq!(h.interval(), Duration::from_secs(2));
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Pulses once now (as a per-unit heartbeat does); see [`Heartbeat::beat`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (h, pulses) = hoare::supervise::interval_heartbeat(Duration::from_secs(1)).unwrap();
    /// h.beat();
    /// assert_eq!(pulses.try_recv(), Ok(()));
    /// ```
    #[inline]
    pub fn beat(&self) -> bool {
        self.heart.beat()
    }

    /// Awaits `op`, pulsing every interval until it completes; `None` if `ctx` is
    /// done first (then `op` is dropped, which withdraws a channel operation: it
    /// happened before or not at all). Pulses keep the heartbeat's cadence across
    /// calls: one is due at each whole interval after the heartbeat was made.
    ///
    /// This is the book's worker loop `select { case <-done: case <-pulse:
    /// sendPulse() case r := <-work: }` in one call; use it around a receive and
    /// around a send, and the worker pulses both while it waits for input and
    /// while it is blocked on output.
    ///
    /// # Cancel safety
    /// Dropping the future drops `op`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::{chan, context::Context, supervise::interval_heartbeat};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (heart, pulses) = interval_heartbeat(Duration::from_secs(1)).unwrap();
    /// let (tx, rx) = chan::<u8>(0);
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let worker = hoare::go(async move { heart.pulsing(&ctx, tx.send_async(7)).await });
    /// assert_eq!(pulses.recv_async().await, Some(())); // blocked sending, still alive
    /// assert_eq!(rx.recv_async().await, Some(7));
    /// assert!(matches!(worker.await, Ok(Some(Ok(())))));
    /// drop(cancel);
    /// # }
    /// ```
    pub async fn pulsing<F: Future>(&self, ctx: &Context, op: F) -> Option<F::Output> {
        let mut op = pin!(op);
        let done = ctx.done();
        let mut cancelled = pin!(done.recv_async());
        loop {
            // ORDERING: a schedule, not a synchronisation point.
            let offset = Duration::from_nanos(self.next_due.load(Ordering::Relaxed));
            let due = self
                .origin
                .checked_add(offset)
                .unwrap_or(self.origin + Duration::from_secs(86_400 * 365 * 100));
            let timer = crate::time::after(due.saturating_duration_since(Instant::now()));
            let mut tick = pin!(timer.recv_async());
            // A pulse that is due goes out before the operation's result, so the
            // cadence holds even when both are ready at once.
            let step = poll_fn(|cx| {
                if cancelled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                if tick.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(())));
                }
                if let Poll::Ready(out) = op.as_mut().poll(cx) {
                    return Poll::Ready(Some(Ok(out)));
                }
                Poll::Pending
            })
            .await;
            match step {
                Some(Ok(out)) => return Some(out),
                None => return None,
                Some(Err(())) => {
                    self.heart.beat();
                    self.schedule_next(due);
                }
            }
        }
    }

    /// Moves the next pulse one interval past `due`; after a stall longer than
    /// an interval, one interval from now (pulses missed are not caught up).
    fn schedule_next(&self, due: Instant) {
        let now = Instant::now();
        let next = match due.checked_add(self.interval) {
            Some(next) if next > now => Some(next),
            _ => now.checked_add(self.interval),
        };
        // An interval too long to represent means no further pulse.
        let nanos = next.map_or(u64::MAX, |next| {
            u64::try_from(next.duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
        });
        // ORDERING: see `pulsing`.
        self.next_due.store(nanos, Ordering::Relaxed);
    }

    /// The per-unit [`Heartbeat`] behind this one, for a worker that also pulses
    /// per unit of work.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (h, pulses) = hoare::supervise::interval_heartbeat(Duration::from_secs(1)).unwrap();
    /// h.heartbeat().beat();
    /// assert_eq!(pulses.try_recv(), Ok(()));
    /// ```
    pub fn heartbeat(&self) -> &Heartbeat {
        &self.heart
    }
}

impl fmt::Debug for IntervalHeartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntervalHeartbeat")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

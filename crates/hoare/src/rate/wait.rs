//! Waiting for tokens: [`Limiter::wait`] and friends, and [`WaitError`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use super::clock;
use super::limiter::Limiter;
use super::reservation::Reservation;
use crate::chan::RecvTimeoutError;
use crate::context::{self, Context};

/// Why a wait for tokens failed.
///
/// ```
/// use hoare::rate::WaitError;
///
/// let e = WaitError::ExceedsBurst { n: 4, burst: 3 };
/// assert_eq!(e.to_string(), "rate: wait(n=4) exceeds limiter's burst 3");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum WaitError {
    /// More tokens were asked for than the burst: the wait could never succeed.
    /// It failed at once and reserved nothing.
    ExceedsBurst {
        /// The tokens asked for.
        n: usize,
        /// The limiter's burst.
        burst: usize,
    },
    /// The tokens would come only after the context's deadline. The wait failed at
    /// once, without waiting, and reserved nothing.
    WouldExceedDeadline {
        /// The tokens asked for.
        n: usize,
    },
    /// The context was done before the tokens came (or already done when the wait
    /// began); the tokens reserved for the wait were given back.
    Canceled(context::Error),
    /// A limiter whose state lives elsewhere (such as
    /// [`redis::RedisLimiter`](crate::rate)) could not reach it. Whether to go on
    /// (fail open) or not (fail closed) is the caller's choice.
    Unavailable(Arc<dyn StdError + Send + Sync>),
}

impl WaitError {
    /// Whether the error comes from the context (canceled, or its deadline is too
    /// close), as opposed to a request that can never succeed or a store that is
    /// down.
    ///
    /// ```
    /// use hoare::context::Error;
    /// use hoare::rate::WaitError;
    ///
    /// assert!(WaitError::Canceled(Error::Canceled).is_context());
    /// assert!(!WaitError::ExceedsBurst { n: 2, burst: 1 }.is_context());
    /// ```
    pub fn is_context(&self) -> bool {
        matches!(
            self,
            WaitError::Canceled(_) | WaitError::WouldExceedDeadline { .. }
        )
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::ExceedsBurst { n, burst } => {
                write!(f, "rate: wait(n={n}) exceeds limiter's burst {burst}")
            }
            WaitError::WouldExceedDeadline { n } => {
                write!(f, "rate: wait(n={n}) would exceed context deadline")
            }
            WaitError::Canceled(e) => write!(f, "rate: wait canceled: {e}"),
            WaitError::Unavailable(e) => write!(f, "rate: limiter unavailable: {e}"),
        }
    }
}

impl StdError for WaitError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            WaitError::Canceled(e) => Some(e),
            WaitError::Unavailable(e) => Some(&**e),
            _ => None,
        }
    }
}

impl PartialEq for WaitError {
    /// Equal variants with equal fields; two `Unavailable` errors are equal when
    /// they are the same error.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                WaitError::ExceedsBurst { n, burst },
                WaitError::ExceedsBurst {
                    n: n2,
                    burst: burst2,
                },
            ) => n == n2 && burst == burst2,
            (WaitError::WouldExceedDeadline { n }, WaitError::WouldExceedDeadline { n: n2 }) => {
                n == n2
            }
            (WaitError::Canceled(a), WaitError::Canceled(b)) => a == b,
            (WaitError::Unavailable(a), WaitError::Unavailable(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Gives a reservation back when dropped, unless disarmed: a wait that does not
/// finish (canceled context, dropped future) leaves no tokens spent. It reads the
/// clock the wait was timed with.
struct GiveBack<'a>(Option<Reservation<'a>>, fn() -> i64);

impl GiveBack<'_> {
    /// Ends the wait: kept if the timer fired, or if the context ended it at or
    /// after the time to act (the deadline and the tokens can fall due at the same
    /// instant; the tokens win); else given back, with the context's error.
    fn finish(mut self, due: bool, ctx: &Context) -> Result<(), WaitError> {
        let in_time = self
            .0
            .as_ref()
            .is_some_and(|r| r.delay_nanos((self.1)()).is_zero());
        if due || in_time {
            self.0 = None;
            return Ok(());
        }
        Err(WaitError::Canceled(
            ctx.err().unwrap_or(context::Error::Canceled),
        ))
    }
}

impl Drop for GiveBack<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            r.cancel_nanos((self.1)());
        }
    }
}

impl Limiter {
    /// Waits for one token: [`wait_n`](Limiter::wait_n) with `n = 1`.
    ///
    /// # Errors
    /// As [`wait_n`](Limiter::wait_n).
    ///
    /// # Blocking
    /// Blocks the calling thread; in async code use
    /// [`wait_async`](Limiter::wait_async).
    ///
    /// ```
    /// use hoare::context::Context;
    ///
    /// let lim = hoare::rate::Limiter::new(1000.0.into(), 1);
    /// lim.wait(&Context::background()).unwrap();
    /// lim.wait(&Context::background()).unwrap(); // about a millisecond later
    /// ```
    pub fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        self.wait_n(ctx, 1)
    }

    /// Blocks until `n` tokens are there, then takes them, as x/time/rate's `WaitN`.
    ///
    /// # Errors
    /// At once, reserving nothing: [`WaitError::ExceedsBurst`] if `n` exceeds the
    /// burst (and the limit is finite), [`WaitError::Canceled`] if `ctx` is already
    /// done, [`WaitError::WouldExceedDeadline`] if the tokens would come after
    /// `ctx`'s deadline. [`WaitError::Canceled`] if `ctx` is done while waiting; the
    /// reserved tokens are then given back.
    ///
    /// # Blocking
    /// Blocks the calling thread until the tokens come or `ctx` is done; in async
    /// code use [`wait_n_async`](Limiter::wait_n_async).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::context::Context;
    /// use hoare::rate::{Limiter, WaitError};
    ///
    /// let lim = Limiter::new(1.0.into(), 3);
    /// let bg = Context::background();
    /// assert_eq!(lim.wait_n(&bg, 4), Err(WaitError::ExceedsBurst { n: 4, burst: 3 }));
    /// lim.wait_n(&bg, 3).unwrap(); // the initial burst: no wait
    /// let (ctx, _cancel) = bg.with_timeout(Duration::from_millis(100));
    /// // The next token is a second away: fail now rather than at the deadline.
    /// assert_eq!(lim.wait_n(&ctx, 1), Err(WaitError::WouldExceedDeadline { n: 1 }));
    /// ```
    pub fn wait_n(&self, ctx: &Context, n: usize) -> Result<(), WaitError> {
        let t = clock::now();
        let Some(r) = self.reserve_for_wait(ctx, n, t)? else {
            return Ok(());
        };
        let delay = r.delay_nanos(t);
        let guard = GiveBack(Some(r), clock::now);
        let timed_out = matches!(
            ctx.done().recv_timeout(delay),
            Err(RecvTimeoutError::Timeout)
        );
        guard.finish(timed_out, ctx)
    }

    /// Waits in a task for one token: [`wait_n_async`](Limiter::wait_n_async) with
    /// `n = 1`.
    ///
    /// # Errors
    /// As [`wait_n`](Limiter::wait_n).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use hoare::context::Context;
    /// use hoare::rate::Limiter;
    ///
    /// let lim = Limiter::new(2.0.into(), 1);
    /// let start = tokio::time::Instant::now();
    /// for _ in 0..3 {
    ///     lim.wait_async(&Context::background()).await.unwrap();
    /// }
    /// assert_eq!(start.elapsed(), Duration::from_secs(1)); // at 0, 0.5s and 1s
    /// # }
    /// ```
    pub async fn wait_async(&self, ctx: &Context) -> Result<(), WaitError> {
        self.wait_n_async(ctx, 1).await
    }

    /// Waits in a task until `n` tokens are there, then takes them: the async form
    /// of [`wait_n`](Limiter::wait_n), with the same errors. The wait reads tokio's
    /// clock and waits on hoare's timers (tokio's inside a tokio runtime), so a
    /// paused clock applies.
    ///
    /// # Errors
    /// As [`wait_n`](Limiter::wait_n).
    ///
    /// # Cancel safety
    /// Dropping the future before it finishes gives the reserved tokens back, as a
    /// canceled context does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use hoare::context::{Context, Error};
    /// use hoare::rate::{Limiter, WaitError};
    ///
    /// let lim = Limiter::new(1.0.into(), 2);
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// lim.wait_n_async(&ctx, 2).await.unwrap();
    /// let waiting = lim.wait_n_async(&ctx, 2); // two seconds away
    /// let canceler = async {
    ///     tokio::time::sleep(Duration::from_millis(500)).await;
    ///     cancel.cancel();
    /// };
    /// let (got, ()) = tokio::join!(waiting, canceler);
    /// assert_eq!(got, Err(WaitError::Canceled(Error::Canceled)));
    /// // The two tokens came back (read on tokio's paused clock):
    /// assert_eq!(lim.tokens_at(tokio::time::Instant::now().into_std()), 0.5);
    /// # }
    /// ```
    pub async fn wait_n_async(&self, ctx: &Context, n: usize) -> Result<(), WaitError> {
        let t = clock::tokio_now();
        let Some(r) = self.reserve_for_wait(ctx, n, t)? else {
            return Ok(());
        };
        let delay = r.delay_nanos(t);
        let guard = GiveBack(Some(r), clock::tokio_now);
        let timer = crate::time::after(delay);
        let done = ctx.done();
        let due = crate::select_async! {
            recv(&timer) -> _ => true,
            recv(&done) -> _ => false,
        };
        guard.finish(due, ctx)
    }

    /// The checks and the reservation of x/time/rate's `wait`: `None` when the
    /// tokens are there now.
    fn reserve_for_wait(
        &self,
        ctx: &Context,
        n: usize,
        t: i64,
    ) -> Result<Option<Reservation<'_>>, WaitError> {
        let burst = self.burst();
        if n > burst && !self.limit().is_inf() {
            return Err(WaitError::ExceedsBurst { n, burst });
        }
        if let Some(e) = ctx.err() {
            return Err(WaitError::Canceled(e));
        }
        let max_wait = match ctx.deadline() {
            Some(d) => clock::sub(clock::from_instant(d), t),
            None => i64::MAX,
        };
        let r = Reservation::new(self, self.bucket.reserve(t, n, max_wait));
        if !r.ok() {
            return Err(WaitError::WouldExceedDeadline { n });
        }
        if r.delay_nanos(t).is_zero() {
            return Ok(None);
        }
        Ok(Some(r))
    }
}

//! Timeouts and preemptible work (the book's "Timeouts and Cancellation").
//!
//! Work is cancellable only where it looks at its context. The book's
//! `reallyLongCalculation` checks `done` between two `longCalculation`s, and is
//! still stuck inside each: preemption has to reach the smallest atomic steps.
//! [`checkpoint`] is that check for blocking code (`checkpoint(&ctx)?` between
//! steps), [`preemptible`] puts it in a loop, and [`timeout`](timeout()) bounds any future.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::context::{self, Context};
use crate::pattern::source::or_cancelled;

/// Why [`timeout`] gave no output.
///
/// ```
/// use hoare::supervise::TimeoutError;
/// assert_eq!(TimeoutError::Elapsed.to_string(), "operation timed out");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutError {
    /// The duration passed first.
    Elapsed,
    /// The caller's context was done first.
    Context(context::Error),
    /// The duration was zero: the operation could only ever time out, so it was
    /// not started.
    ZeroTimeout,
}

impl TimeoutError {
    /// Whether the time ran out (the duration, or the context's deadline).
    ///
    /// ```
    /// use hoare::{context::Error, supervise::TimeoutError};
    /// assert!(TimeoutError::Context(Error::DeadlineExceeded).is_timeout());
    /// assert!(!TimeoutError::Context(Error::Canceled).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            TimeoutError::Elapsed => true,
            TimeoutError::Context(e) => e.is_timeout(),
            TimeoutError::ZeroTimeout => false,
        }
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutError::Elapsed => f.write_str("operation timed out"),
            TimeoutError::Context(e) => write!(f, "operation abandoned: {e}"),
            TimeoutError::ZeroTimeout => f.write_str("timeout must be above zero"),
        }
    }
}

impl std::error::Error for TimeoutError {}

/// Awaits `fut` for at most `d`, and no longer than `ctx` lives. When time runs
/// out or `ctx` is done, `fut` is dropped (a channel operation in it then
/// happened before or not at all).
///
/// To let the work itself see the deadline, give it a context:
/// `let (ctx, _guard) = ctx.with_timeout(d);` and pass `ctx` down.
///
/// # Errors
/// [`TimeoutError::Elapsed`], [`TimeoutError::Context`], or
/// [`TimeoutError::ZeroTimeout`] for a zero `d` (then `fut` is not polled).
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, supervise::{timeout, TimeoutError}};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ctx = Context::background();
/// let slow = tokio::time::sleep(Duration::from_secs(5));
/// assert_eq!(timeout(&ctx, Duration::from_secs(1), slow).await, Err(TimeoutError::Elapsed));
/// assert_eq!(timeout(&ctx, Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # }
/// ```
pub async fn timeout<F: Future>(
    ctx: &Context,
    d: Duration,
    fut: F,
) -> Result<F::Output, TimeoutError> {
    if d.is_zero() {
        return Err(TimeoutError::ZeroTimeout);
    }
    if let Some(e) = ctx.err() {
        return Err(TimeoutError::Context(e));
    }
    let timer = crate::time::after(d);
    let done = ctx.done();
    let either = async {
        or_cancelled(timer.recv_async(), done.recv_async()).await;
    };
    match or_cancelled(fut, either).await {
        Some(out) => Ok(out),
        None => Err(ctx
            .err()
            .map_or(TimeoutError::Elapsed, TimeoutError::Context)),
    }
}

/// `Err` with the context's reason once `ctx` is done: the check to put between
/// the atomic steps of long blocking work (`checkpoint(&ctx)?;`). One atomic load.
///
/// # Errors
/// The context's [`Error`](context::Error) once it is done.
///
/// ```
/// use hoare::{context::{Context, Error}, supervise::checkpoint};
///
/// fn long_calculation(ctx: &Context, mut v: u64) -> Result<u64, Error> {
///     for _ in 0..1_000 {
///         checkpoint(ctx)?; // preemptible between steps
///         v = v.wrapping_mul(31).wrapping_add(7);
///     }
///     Ok(v)
/// }
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// assert!(long_calculation(&ctx, 1).is_ok());
/// cancel.cancel();
/// assert_eq!(long_calculation(&ctx, 1), Err(Error::Canceled));
/// ```
#[inline]
pub fn checkpoint(ctx: &Context) -> Result<(), context::Error> {
    match ctx.err() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The items of `iter` until it ends or `ctx` is done, checking the context
/// before each item; [`Preemptible::interrupted`] then tells which.
///
/// ```
/// use hoare::{context::Context, supervise::preemptible};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let mut steps = preemptible(&ctx, 0..);
/// let mut sum = 0u64;
/// for n in &mut steps {
///     sum += n;
///     if n == 9 {
///         cancel.cancel(); // a user pressed "stop"
///     }
/// }
/// assert_eq!(sum, 45);
/// assert!(steps.interrupted());
/// ```
pub fn preemptible<I: IntoIterator>(ctx: &Context, iter: I) -> Preemptible<I::IntoIter> {
    Preemptible {
        ctx: ctx.clone(),
        iter: iter.into_iter(),
        interrupted: false,
    }
}

/// The iterator of [`preemptible`]: the items of the inner iterator until the
/// context is done.
///
/// ```
/// use hoare::{context::Context, supervise::{preemptible, Preemptible}};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let mut steps: Preemptible<_> = preemptible(&ctx, 1..);
/// assert_eq!(steps.next(), Some(1));
/// cancel.cancel();
/// assert_eq!(steps.next(), None); // the endless range is abandoned
/// assert!(steps.interrupted());
/// ```
#[derive(Debug)]
pub struct Preemptible<I> {
    ctx: Context,
    iter: I,
    interrupted: bool,
}

impl<I> Preemptible<I> {
    /// Whether iteration stopped because the context was done.
    ///
    /// ```
    /// use hoare::{context::Context, supervise::preemptible};
    ///
    /// let mut all = preemptible(&Context::background(), [1, 2]);
    /// assert_eq!(all.by_ref().count(), 2);
    /// assert!(!all.interrupted());
    /// ```
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }
}

impl<I: Iterator> Iterator for Preemptible<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        if self.interrupted {
            return None;
        }
        if self.ctx.err().is_some() {
            self.interrupted = true;
            return None;
        }
        self.iter.next()
    }
}

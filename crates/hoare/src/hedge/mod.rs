//! Replicated and hedged requests (the book's "Replicated Requests").
//!
//! [`replicate`] sends the same request to `n` replicas at once and takes the first
//! answer: the tail latency of the slowest paths stops mattering, at `n` times the
//! load. [`Hedger`] spends far less: it sends one request, and a second (the
//! *hedge*) only when the first has not answered after a fixed delay or after the
//! p-th percentile of the latencies it has seen, within a cap on the extra load
//! ("The Tail at Scale", Dean and Barroso).
//!
//! Each request is a function of a [`Context`] and the attempt's number; the
//! context is cancelled as soon as one attempt succeeds, and the call returns only
//! once every attempt has ended, so no request outlives the call. An attempt that
//! ignores its context holds the call up until it ends, as the book's
//! `wg.Wait()` does. A panicking attempt is reported as
//! [`AttemptFailure::Panicked`], not lost.
//!
//! From a thread, [`replicate_blocking`] and [`Hedger::run_blocking`] do the same.
//!
//! | The book | hoare |
//! |---|---|
//! | `for i := 0; i < 10; i++ { go doWork(done, i, &wg, result) }; first := <-result; close(done); wg.Wait()` | [`replicate(&ctx, 10, do_work).await`](replicate) |
//!
//! ```
//! use hoare::{context::Context, hedge};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ctx = Context::background();
//! let first = hedge::replicate(&ctx, 3, |_ctx, replica| async move { Ok::<_, ()>(replica * 10) })
//!     .await
//!     .unwrap();
//! assert!([0, 10, 20].contains(&first));
//! # }
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;

use crate::chan::{chan, Receiver, Sender};
use crate::context::{self, Context};
use crate::sync::unwind::{panic_message, CatchUnwind};

mod hedger;

pub use hedger::{hedge, Delay, HedgePolicy, HedgeStats, Hedger, PolicyError, MIN_SAMPLES};

/// Why a replicated or hedged request gave no answer.
///
/// ```
/// use hoare::{context::Context, hedge::{self, HedgeError}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let none = hedge::replicate(&Context::background(), 0, |_, _| async { Ok::<u8, ()>(1) }).await;
/// assert!(matches!(none, Err(HedgeError::NoReplicas)));
/// # }
/// ```
#[derive(Debug)]
pub enum HedgeError<E> {
    /// `replicate` was asked for zero replicas.
    NoReplicas,
    /// The caller's context was done before any attempt succeeded.
    Canceled(context::Error),
    /// Every attempt failed; their failures, by attempt number.
    AllFailed(Vec<(usize, AttemptFailure<E>)>),
}

impl<E: fmt::Display> fmt::Display for HedgeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HedgeError::NoReplicas => f.write_str("replicate needs at least one replica"),
            HedgeError::Canceled(e) => write!(f, "request abandoned: {e}"),
            HedgeError::AllFailed(failures) => {
                write!(f, "all {} attempts failed", failures.len())?;
                if let Some((i, first)) = failures.first() {
                    write!(f, "; attempt {i}: {first}")?;
                }
                Ok(())
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for HedgeError<E> {}

/// How one attempt failed.
///
/// ```
/// use hoare::{context::Context, hedge::{self, AttemptFailure, HedgeError}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let got = hedge::replicate(&Context::background(), 2, |_ctx, attempt| async move {
///     Err::<(), _>(format!("replica {attempt} is down"))
/// })
/// .await;
/// let Err(HedgeError::AllFailed(failures)) = got else { unreachable!() };
/// assert_eq!(failures.len(), 2);
/// for (attempt, failure) in &failures {
///     match failure {
///         AttemptFailure::Failed(e) => assert_eq!(e, &format!("replica {attempt} is down")),
///         AttemptFailure::Panicked(message) => unreachable!("{message}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub enum AttemptFailure<E> {
    /// It returned this error.
    Failed(E),
    /// It panicked; the panic's message.
    Panicked(String),
}

impl<E: fmt::Display> fmt::Display for AttemptFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::Failed(e) => write!(f, "{e}"),
            AttemptFailure::Panicked(msg) => write!(f, "panicked: {msg}"),
        }
    }
}

type Outcome<T, E> = (usize, Result<Result<T, E>, String>);

/// The attempts of one call: their shared context and where they report.
struct Attempts<T, E> {
    ctx: Context,
    cancel: context::CancelGuard,
    tx: Option<Sender<Outcome<T, E>>>,
    rx: Receiver<Outcome<T, E>>,
    failures: Vec<(usize, AttemptFailure<E>)>,
}

impl<T: Send + 'static, E: Send + 'static> Attempts<T, E> {
    fn new(parent: &Context, capacity: usize) -> Self {
        let (ctx, cancel) = parent.with_cancel();
        let (tx, rx) = chan(capacity);
        Self {
            ctx,
            cancel,
            tx: Some(tx),
            rx,
            failures: Vec::new(),
        }
    }

    /// Starts attempt `i` as a goroutine; it reports into the channel, which
    /// closes once every attempt has ended and no more can start.
    #[track_caller]
    fn spawn<Fut>(&self, i: usize, attempt: Fut)
    where
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let Some(tx) = self.tx.clone() else { return };
        drop(crate::go(async move {
            let outcome = CatchUnwind { future: attempt }.await;
            // The channel has room for every attempt: this never waits.
            let _ = tx.try_send((i, outcome.map_err(|p| panic_message(&*p))));
        }));
    }

    /// Records a failure, or returns the value of a success.
    fn settle(&mut self, (i, outcome): Outcome<T, E>) -> Option<T> {
        match outcome {
            Ok(Ok(v)) => return Some(v),
            Ok(Err(e)) => self.failures.push((i, AttemptFailure::Failed(e))),
            Err(msg) => self.failures.push((i, AttemptFailure::Panicked(msg))),
        }
        None
    }

    /// No more attempts will start.
    fn close(&mut self) {
        self.tx = None;
    }

    /// Cancels the attempts still running, waits until all have ended, and gives
    /// the call's result.
    async fn finish(mut self, winner: Option<T>, parent: &Context) -> Result<T, HedgeError<E>> {
        self.close();
        self.cancel.cancel();
        let mut winner = winner;
        loop {
            let outcome = self.rx.recv_async().await;
            let Some(outcome) = outcome else { break };
            if let Some(v) = self.settle(outcome) {
                winner.get_or_insert(v);
            }
        }
        match (winner, parent.err()) {
            (Some(v), _) => Ok(v),
            (None, Some(e)) => Err(HedgeError::Canceled(e)),
            (None, None) => {
                self.failures.sort_by_key(|(i, _)| *i);
                Err(HedgeError::AllFailed(self.failures))
            }
        }
    }
}

/// Runs `n` replicas of a request at once, `request(ctx, replica)` for replica
/// 0..n, each on its own goroutine; returns the first success, cancels the
/// others' context, and waits until each has ended.
///
/// # Errors
/// - [`HedgeError::NoReplicas`] when `n` is 0;
/// - [`HedgeError::Canceled`] when `ctx` is done before any replica succeeds;
/// - [`HedgeError::AllFailed`] when every replica fails or panics.
///
/// ```
/// use std::time::Duration;
/// use hoare::{context::Context, hedge, select_async, time};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ctx = Context::background();
/// let fastest = hedge::replicate(&ctx, 4, |ctx, replica| async move {
///     let load = Duration::from_secs(4 - replica as u64); // replica 3 is fastest
///     select_async! {
///         recv(time::after(load)) -> _ => Ok(replica),
///         recv(ctx.done()) -> _ => Err("canceled"),
///     }
/// })
/// .await;
/// assert_eq!(fastest.unwrap(), 3);
/// # }
/// ```
pub async fn replicate<T, E, F, Fut>(
    ctx: &Context,
    n: usize,
    request: F,
) -> Result<T, HedgeError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(Context, usize) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    if n == 0 {
        return Err(HedgeError::NoReplicas);
    }
    let mut attempts = Attempts::new(ctx, n);
    for i in 0..n {
        attempts.spawn(i, request(attempts.ctx.clone(), i));
    }
    attempts.close();
    loop {
        let outcome = attempts.rx.recv_async().await;
        let Some(outcome) = outcome else { break };
        if let Some(v) = attempts.settle(outcome) {
            return attempts.finish(Some(v), ctx).await;
        }
    }
    attempts.finish(None, ctx).await
}

/// [`replicate`] from a thread: blocks the calling thread until the call is
/// over. The replicas still run as goroutines.
///
/// # Blocking
/// Blocks the thread; in async code, await [`replicate`] instead.
///
/// # Errors
/// As [`replicate`].
///
/// ```
/// use hoare::{context::Context, hedge};
///
/// let answer = hedge::replicate_blocking(&Context::background(), 3, |_ctx, replica| async move {
///     if replica == 0 { Err("replica 0 is down") } else { Ok("pong") }
/// });
/// assert_eq!(answer.unwrap(), "pong");
/// ```
pub fn replicate_blocking<T, E, F, Fut>(
    ctx: &Context,
    n: usize,
    request: F,
) -> Result<T, HedgeError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(Context, usize) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    crate::go::block_on(replicate(ctx, n, request))
}

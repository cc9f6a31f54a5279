//! Stream sources: `generator`, `repeat`, `repeat_fn`.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use crate::chan::{chan, Receiver, Sender, TrySendError};
use crate::context::Context;

/// Sends `value` on `tx` unless `ctx` is done first. Returns false when the stream
/// should stop: the context is done or every receiver is gone.
pub(crate) async fn send_or_done<T: Send>(ctx: &Context, tx: &Sender<T>, value: T) -> bool {
    if ctx.is_done() {
        return false;
    }
    // A receiver already waiting (or room in the buffer) takes the value at once.
    let value = match tx.try_send(value) {
        Ok(()) => return true,
        Err(TrySendError::Closed(_)) => return false,
        Err(TrySendError::Full(value)) => value,
    };
    let done = ctx.done();
    match or_cancelled(tx.send_async(value), done.recv_async()).await {
        Some(sent) => sent.is_ok(),
        None => false,
    }
}

/// Awaits `op`, unless `cancelled` completes first (then `op` is dropped, which
/// withdraws it: a channel operation either happened before or not at all). `op`
/// is polled first, so the context is only waited on while `op` is pending.
///
/// This is a two-case select for the common shape "operation or cancellation",
/// lighter than the general machinery.
pub(crate) async fn or_cancelled<F: Future, C: Future>(op: F, cancelled: C) -> Option<F::Output> {
    let mut op = pin!(op);
    let mut cancelled = pin!(cancelled);
    poll_fn(|cx| {
        if let Poll::Ready(out) = op.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Spawns `body` as a goroutine that owns the sending end of a fresh unbuffered
/// channel, and returns the receiving end. The channel closes when `body` returns.
#[track_caller]
pub(crate) fn stream<T, F, Fut>(body: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnOnce(Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = chan(0);
    drop(crate::go(body(tx)));
    rx
}

/// The book's `generator`: a stream of `items`, one at a time, until they run out
/// or `ctx` is done.
///
/// A goroutine sends them (the channel is unbuffered, as the book's, so it never
/// runs ahead of the consumer); it ends when the items run out, `ctx` is done, or
/// every receiver is dropped.
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let ctx = Context::background();
/// let got: Vec<i32> = pattern::generator(&ctx, [1, 2, 3, 4]).into_iter().collect();
/// assert_eq!(got, [1, 2, 3, 4]);
/// ```
#[track_caller]
pub fn generator<I>(ctx: &Context, items: I) -> Receiver<I::Item>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let (ctx, items) = (ctx.clone(), items.into_iter());
    stream(move |tx| async move {
        for item in items {
            if !send_or_done(&ctx, &tx, item).await {
                return;
            }
        }
    })
}

/// The book's `repeat`: `values` over and over, until `ctx` is done or every
/// receiver is dropped. An empty `values` gives a stream that closes at once.
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let got: Vec<i32> = pattern::take(&ctx, pattern::repeat(&ctx, [1, 2]), 5)
///     .into_iter()
///     .collect();
/// assert_eq!(got, [1, 2, 1, 2, 1]);
/// cancel.cancel(); // stops the repeat
/// ```
#[track_caller]
pub fn repeat<T, I>(ctx: &Context, values: I) -> Receiver<T>
where
    T: Clone + Send + Sync + 'static,
    I: IntoIterator<Item = T>,
{
    let (ctx, values): (_, Vec<T>) = (ctx.clone(), values.into_iter().collect());
    stream(move |tx| async move {
        if values.is_empty() {
            return;
        }
        loop {
            for v in &values {
                if !send_or_done(&ctx, &tx, v.clone()).await {
                    return;
                }
            }
        }
    })
}

/// The book's `repeatFn`: calls `f` for each value, over and over, until `ctx` is
/// done or every receiver is dropped.
///
/// `f` runs on the goroutine between sends; keep it short or use
/// [`go_blocking`](crate::go_blocking()) for blocking work.
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let (ctx, _cancel) = Context::background().with_cancel();
/// let mut n = 0;
/// let squares = pattern::repeat_fn(&ctx, move || {
///     n += 1;
///     n * n
/// });
/// let got: Vec<u32> = pattern::take(&ctx, squares, 4).into_iter().collect();
/// assert_eq!(got, [1, 4, 9, 16]);
/// ```
#[track_caller]
pub fn repeat_fn<T, F>(ctx: &Context, mut f: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut() -> T + Send + 'static,
{
    let ctx = ctx.clone();
    stream(move |tx| async move { while send_or_done(&ctx, &tx, f()).await {} })
}

//! Stream sources: `generator`, `repeat`, `repeat_fn`.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use atomic_waker::AtomicWaker;

use crate::chan::{chan, Receiver, Sender};
use crate::context::Context;

/// Sends `value` on `tx`; false when the stream should stop: the context is done
/// or every receiver is gone.
///
/// For a goroutine started by [`stream`] (or run under [`until_done`]): the send
/// itself does not wait on the context, the goroutine as a whole does, so a
/// blocked hand-over costs no registration with the context.
pub(crate) async fn send_or_done<T: Send>(ctx: &Context, tx: &Sender<T>, value: T) -> bool {
    if ctx.is_done() {
        return false;
    }
    // The future's first poll hands the value to a waiting receiver (or into the
    // buffer) without registering; it waits only if it must.
    tx.send_async(value).await.is_ok()
}

/// Receives from `rx`; `None` when `rx` is closed and drained or the context is
/// done. For goroutines under [`until_done`], as [`send_or_done`].
pub(crate) async fn recv_or_done<T: Send>(ctx: &Context, rx: &Receiver<T>) -> Option<T> {
    if ctx.is_done() {
        return None;
    }
    rx.recv_async().await
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

/// What a goroutine under [`until_done`] hears from its context: the context's
/// done wait is registered once, with this as its waker, and passes the wake-up
/// on to the goroutine's task.
struct DoneSignal {
    /// The done wait was woken since the goroutine last looked.
    woken: AtomicBool,
    /// The goroutine's task, as of its last poll.
    task: AtomicWaker,
}

impl Wake for DoneSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // ORDERING: pairs with the swap in `until_done`; the task's waker is
        // registered before that swap, so this wake reaches a poll that sees it.
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Runs `body` until it finishes or `ctx` is done; in the second case `body` is
/// dropped at the await where it is, which withdraws a pending channel operation
/// (it either happened or not at all).
///
/// This is the book's `select { case <-done: return; case out <- v: }` for every
/// hand-over of a goroutine at once: the context's done wait is registered once
/// per goroutine, not once per blocked send or receive. A body that never has to
/// wait is not interrupted, so it checks `ctx.is_done()` (one atomic load) before
/// each hand-over, as [`send_or_done`] and [`recv_or_done`] do.
pub(crate) async fn until_done<F: Future<Output = ()>>(ctx: &Context, body: F) {
    if ctx.done_waiters().is_none() {
        return body.await; // never done
    }
    let signal = Arc::new(DoneSignal {
        woken: AtomicBool::new(true), // so the first poll registers the done wait
        task: AtomicWaker::new(),
    });
    let done_waker = Waker::from(signal.clone());
    let done = ctx.done();
    let mut done_wait = pin!(done.recv_async());
    let mut body = pin!(body);
    // The waker `signal.task` holds, as far as this goroutine knows: a wake-up
    // takes it out, and sets `woken` first.
    let mut registered: Option<Waker> = None;
    poll_fn(|cx| {
        // The waker we registered stays in `signal.task` until a wake-up takes it,
        // and a wake-up sets `woken` first: so unless `woken` is set (or the task's
        // waker changed), it is still there and need not be registered again. When
        // it is set, register first, then look: a wake-up after the look finds
        // the new waker.
        // ORDERING: Relaxed: a wake-up this load misses has set `woken` and then
        // woken the very waker we hold, so the task is polled again and looks
        // again (its wake-up orders that poll after the store).
        let signalled = signal.woken.load(Ordering::Relaxed);
        if signalled || !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            signal.task.register(cx.waker());
            registered = Some(cx.waker().clone());
        }
        // ORDERING: pairs with the store in `wake_by_ref`.
        if signalled && signal.woken.swap(false, Ordering::Acquire) {
            let mut done_cx = TaskContext::from_waker(&done_waker);
            if done_wait.as_mut().poll(&mut done_cx).is_ready() {
                return Poll::Ready(());
            }
        }
        body.as_mut().poll(cx)
    })
    .await;
}

/// Spawns `body` as a goroutine that owns the sending end of a fresh unbuffered
/// channel, and returns the receiving end. The goroutine ends when `body` returns
/// or `ctx` is done (see [`until_done`]); the channel closes then.
#[track_caller]
pub(crate) fn stream<T, F, Fut>(ctx: &Context, body: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnOnce(Sender<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = chan(0);
    let (ctx, body) = (ctx.clone(), body(tx));
    drop(crate::go(async move { until_done(&ctx, body).await }));
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
    let (c, items) = (ctx.clone(), items.into_iter());
    stream(ctx, move |tx| async move {
        for item in items {
            if !send_or_done(&c, &tx, item).await {
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
    let (c, values): (_, Vec<T>) = (ctx.clone(), values.into_iter().collect());
    stream(ctx, move |tx| async move {
        if values.is_empty() {
            return;
        }
        loop {
            for v in &values {
                if !send_or_done(&c, &tx, v.clone()).await {
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
    let c = ctx.clone();
    stream(ctx, move |tx| async move {
        while send_or_done(&c, &tx, f()).await {}
    })
}

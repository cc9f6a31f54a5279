//! Fan-out, fan-in, and `or` over any number of done signals.

use std::sync::Arc;

use super::source::{recv_or_done, send_or_done, stream};
use crate::chan::{self, Receiver};
use crate::context::Context;
use crate::select::Select;

/// The book's `fanIn`: merges any number of streams into one, taking values in
/// whichever order they come, until every input is closed and drained or `ctx` is
/// done. An empty `receivers` gives a stream that is closed at once.
///
/// No goroutine is involved: the returned receiver reads its inputs directly
/// (starting from a random one each time, so none is favoured), waits on all of
/// them at once when none has a value, and works in `select!` like any receiver.
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let ctx = Context::background();
/// let inputs = vec![
///     pattern::generator(&ctx, [1, 2]),
///     pattern::generator(&ctx, [10, 20]),
/// ];
/// let mut got: Vec<i32> = pattern::fan_in(&ctx, inputs).into_iter().collect();
/// got.sort();
/// assert_eq!(got, [1, 2, 10, 20]);
/// ```
pub fn fan_in<T, I>(ctx: &Context, receivers: I) -> Receiver<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = Receiver<T>>,
{
    Receiver::merge(receivers.into_iter().collect(), Some(ctx.clone()))
}

/// The book's fan-out: `workers` goroutines each take values from `rx` and send
/// `f(value)` on a stream of their own; merge the returned streams with
/// [`fan_in`] (order across workers is not kept). Each worker stops when `rx` is
/// closed or `ctx` is done. With `workers == 0` nothing reads `rx` and the result
/// is empty.
///
/// `f` runs on the goroutines, which are tasks: CPU-bound work is fine (as in the
/// book's prime finder), but blocking calls belong in
/// [`go_blocking`](crate::go_blocking()).
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let ctx = Context::background();
/// let squares = pattern::fan_out(&ctx, pattern::generator(&ctx, 1..=6), 3, |n: u64| n * n);
/// assert_eq!(squares.len(), 3);
/// let mut got: Vec<u64> = pattern::fan_in(&ctx, squares).into_iter().collect();
/// got.sort();
/// assert_eq!(got, [1, 4, 9, 16, 25, 36]);
/// ```
#[track_caller]
pub fn fan_out<T, U, F>(ctx: &Context, rx: Receiver<T>, workers: usize, f: F) -> Vec<Receiver<U>>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    let f = Arc::new(f);
    (0..workers)
        .map(|_| {
            let (c, rx, f) = (ctx.clone(), rx.clone(), f.clone());
            stream(ctx, move |tx| async move {
                while let Some(v) = recv_or_done(&c, &rx).await {
                    if !send_or_done(&c, &tx, f(v)).await {
                        return;
                    }
                }
            })
        })
        .collect()
}

/// The book's or-channel: a done signal that fires (closes) as soon as any of
/// `signals` fires, that is, receives a value or is closed.
///
/// The book builds a tree of N/2 goroutines; here one goroutine waits on all the
/// signals at once through a dynamic [`Select`], and ends as soon as one fires.
/// With no signals at all the result never fires, like the book's `nil` (it is
/// [`chan::never`]). A signal that never fires keeps the goroutine waiting until
/// another one does, so include a context's `done()` among the signals when the
/// wait must be bounded.
///
/// ```
/// use std::time::Duration;
/// use hoare::{pattern, time};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let any = pattern::or([
///     time::after(Duration::from_secs(3600)),
///     time::after(Duration::from_secs(1)),
///     time::after(Duration::from_secs(60)),
/// ]);
/// assert_eq!(any.recv_async().await, None); // closed: one of them fired
/// let took = start.elapsed();
/// assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(2));
/// # }
/// ```
#[track_caller]
pub fn or<T, I>(signals: I) -> Receiver<()>
where
    T: Send + 'static,
    I: IntoIterator<Item = Receiver<T>>,
{
    let signals: Vec<Receiver<T>> = signals.into_iter().collect();
    if signals.is_empty() {
        return chan::never();
    }
    stream(
        &Context::background(),
        move |fired: chan::Sender<()>| async move {
            let _fired = fired; // held until one signal fires
            let mut sel = Select::new();
            for s in &signals {
                sel.recv(s, |_| ());
            }
            sel.wait_async().await;
            // Returning drops `_fired`, which closes the stream: the signal.
        },
    )
}

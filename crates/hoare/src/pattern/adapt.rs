//! Stream adapters: `take`, `or_done`, `tee`, `bridge`.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use super::source::{recv_or_done, stream};
use crate::chan::{chan, Receiver};
use crate::context::Context;

/// The book's `take`: the first `n` values of `rx`, then the stream closes (also
/// when `rx` closes first or `ctx` is done). `take(ctx, rx, 0)` is closed at once
/// and drops `rx` untouched.
///
/// No goroutine is involved: the returned receiver reads `rx` directly and counts
/// what it delivers, in `select!` too, and however many clones receive at once.
/// Once the `n`th value is taken, `rx` is dropped (its senders learn nobody reads
/// it any more, as when the book's goroutine returns).
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let ctx = Context::background();
/// let first: Vec<u8> = pattern::take(&ctx, pattern::generator(&ctx, 1..=9), 3)
///     .into_iter()
///     .collect();
/// assert_eq!(first, [1, 2, 3]);
/// ```
pub fn take<T: Send + 'static>(ctx: &Context, rx: Receiver<T>, n: usize) -> Receiver<T> {
    Receiver::take(rx, n, ctx)
}

/// The book's `orDone`: the values of `rx` until it closes or `ctx` is done, so a
/// plain `for v in or_done(&ctx, rx)` loop stops on cancellation without a
/// `select!` of its own.
///
/// No goroutine is involved: the returned receiver reads `rx` directly and checks
/// the context as it does (one atomic load per value), and it works in `select!`
/// like any receiver. A receive that must wait waits in `rx` alone: the receiver
/// registers once with `ctx`, whose cancel wakes such receives. (Under a context
/// with a deadline, a waiting receive also waits on the context itself, whose
/// deadline only a waiter notices.) When `ctx` can never be done, `rx` itself is
/// returned.
///
/// ```
/// use hoare::{chan, context::Context, pattern};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let (tx, rx) = chan::<i32>(1);
/// tx.send(1).unwrap();
/// let values = pattern::or_done(&ctx, rx);
/// assert_eq!(values.recv(), Some(1));
/// cancel.cancel(); // `tx` is still open, but the loop ends
/// assert_eq!(values.recv(), None);
/// ```
pub fn or_done<T: Send + 'static>(ctx: &Context, rx: Receiver<T>) -> Receiver<T> {
    Receiver::or_done(rx, ctx.clone())
}

/// The book's `tee`: every value of `rx` goes to both returned streams, in
/// whichever order they are ready to take it; the next value is read only once
/// both have the current one (back-pressure, as in the book: the slower reader
/// paces both). If one stream's receivers are all dropped, the other still gets
/// every value.
///
/// ```
/// use hoare::{context::Context, pattern};
///
/// let ctx = Context::background();
/// let (a, b) = pattern::tee(&ctx, pattern::generator(&ctx, ["x", "y"]));
/// for va in &a {
///     assert_eq!(b.recv(), Some(va));
/// }
/// ```
#[track_caller]
pub fn tee<T: Clone + Send + 'static>(
    ctx: &Context,
    rx: Receiver<T>,
) -> (Receiver<T>, Receiver<T>) {
    let c = ctx.clone();
    let (tx2, out2) = chan::<T>(0);
    let out1 = stream(ctx, move |tx1| async move {
        let (mut open1, mut open2) = (true, true);
        while let Some(v) = recv_or_done(&c, &rx).await {
            // Offer the value to both readers at once, until both took it (or
            // left); a reader already waiting takes it on the first poll. A done
            // context drops the goroutine here, which withdraws the offers still
            // pending.
            let (v1, v2) = match (open1, open2) {
                (true, true) => (Some(v.clone()), Some(v)),
                (true, false) => (Some(v), None),
                (false, _) => (None, Some(v)),
            };
            let mut s1 = pin!(v1.map(|v| tx1.send_async(v)));
            let mut s2 = pin!(v2.map(|v| tx2.send_async(v)));
            poll_fn(|cx| {
                for (send, open) in [(s1.as_mut(), &mut open1), (s2.as_mut(), &mut open2)] {
                    let mut send = send;
                    if let Some(f) = send.as_mut().as_pin_mut() {
                        if let Poll::Ready(sent) = f.poll(cx) {
                            *open &= sent.is_ok();
                            send.set(None);
                        }
                    }
                }
                if s1.is_none() && s2.is_none() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            if !open1 && !open2 {
                return;
            }
        }
    });
    (out1, out2)
}

/// The book's `bridge`: flattens a stream of streams, reading each inner stream to
/// its end before taking the next, until the outer stream closes or `ctx` is done.
///
/// No goroutine is involved: the returned receiver reads the current stream
/// directly (a buffered stream's values cost a buffered receive each), and the
/// receive that finds it ended takes the next stream from `streams` itself. It
/// works in `select!` like any receiver, and its clones share the current stream.
///
/// ```
/// use hoare::{chan, context::Context, pattern};
///
/// let ctx = Context::background();
/// let streams = pattern::generator(
///     &ctx,
///     (0..3).map(|i| {
///         let (tx, rx) = chan(1);
///         tx.send(i).unwrap();
///         rx // closed when `tx` drops here
///     }),
/// );
/// let got: Vec<i32> = pattern::bridge(&ctx, streams).into_iter().collect();
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub fn bridge<T: Send + 'static>(ctx: &Context, streams: Receiver<Receiver<T>>) -> Receiver<T> {
    Receiver::bridge(streams, ctx)
}

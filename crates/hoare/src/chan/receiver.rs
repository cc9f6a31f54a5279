//! The receiving end, and its iterators.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bridge::Bridge;
use super::done_hook::DoneHook;
use super::error::{RecvTimeoutError, TryRecvError};
use super::future::{RecvFuture, RecvStream};
use super::merge::Merge;
use super::take::Take;
use super::{block_until, deadline_after, FlavorRef, Handle};
use crate::context::Context;
use crate::time::Timer;

/// The receiving end of a channel: Go's `<-chan T`.
///
/// Cloning gives another receiver of the same channel; each value goes to exactly
/// one receiver. When the last receiver is dropped, sends fail and values still
/// buffered are dropped.
///
/// ```
/// use hoare::chan;
///
/// let (tx, rx) = chan::<i32>(3);
/// for i in 0..3 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// let got: Vec<i32> = rx.into_iter().collect();
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub struct Receiver<T> {
    pub(crate) inner: RecvInner<T>,
}

pub(crate) enum RecvInner<T> {
    Chan(Handle<T>),
    /// A nil channel: never ready.
    Never,
    /// A timer channel (`hoare::time`); only ever made for `T = Instant`, and the
    /// function turns the timer's `Instant` into `T` (it is the identity).
    Timer(Arc<Timer>, fn(Instant) -> T),
    /// A context's done channel: never holds a value, closes when the context
    /// (a cancelable one) is done.
    Done(Context),
    /// `pattern::or_done`: the values of another receiver until a context is done,
    /// read straight from it (no goroutine in between).
    OrDone(Box<OrDone<T>>),
    /// `pattern::fan_in`: the values of several receivers, read straight from them.
    Merge(Box<Merge<T>>),
    /// `pattern::bridge`: the values of a stream of streams, read straight from
    /// each stream in turn.
    Bridge(Arc<Bridge<T>>),
    /// `pattern::take`: the first values of another receiver, read straight from
    /// it.
    Take(Arc<Take<T>>),
}

/// The parts of an [`RecvInner::OrDone`] receiver.
pub(crate) struct OrDone<T> {
    pub(crate) source: Receiver<T>,
    pub(crate) ctx: Context,
    /// For a channel source and a context without a deadline: what wakes the
    /// receives waiting in the source when the context is done, so that they wait
    /// there alone.
    pub(crate) hook: Option<Arc<DoneHook<T>>>,
}

impl<T> Receiver<T> {
    pub(crate) fn from_handle(handle: Handle<T>) -> Self {
        Self {
            inner: RecvInner::Chan(handle),
        }
    }

    pub(crate) fn never() -> Self {
        Self {
            inner: RecvInner::Never,
        }
    }

    /// Receives a value, blocking until one arrives. Returns `None` once the channel
    /// is closed and drained (Go's `v, ok := <-ch` with `ok == false`).
    ///
    /// # Blocking
    /// Blocks the thread; in async code use [`recv_async`](Receiver::recv_async). On
    /// a nil channel ([`never`](super::never)) it blocks forever, as in Go.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Some(1));
    /// assert_eq!(rx.recv(), None);
    /// ```
    pub fn recv(&self) -> Option<T> {
        self.recv_until(None).ok()
    }

    /// Receives a value if one is ready now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when none is ready (unbuffered: no sender waiting),
    /// [`TryRecvError::Closed`] when the channel is closed and drained.
    ///
    /// ```
    /// use hoare::chan;
    /// use hoare::chan::{TryRecvError};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.inner {
            RecvInner::Never => Err(TryRecvError::Empty),
            RecvInner::Timer(t, cast) => match t.try_recv() {
                Ok(at) => Ok(cast(at)),
                Err(true) => Err(TryRecvError::Closed),
                Err(false) => Err(TryRecvError::Empty),
            },
            RecvInner::Done(c) if c.is_done() => Err(TryRecvError::Closed),
            RecvInner::Done(_) => Err(TryRecvError::Empty),
            RecvInner::OrDone(a) if a.ctx.is_done() => Err(TryRecvError::Closed),
            RecvInner::OrDone(a) => a.source.try_recv(),
            RecvInner::Merge(m) => m.try_recv(),
            RecvInner::Bridge(b) => b.try_recv(),
            RecvInner::Take(t) => t.try_recv(),
            RecvInner::Chan(s) => match s.flavor() {
                FlavorRef::Array(c) => c.try_recv(),
                FlavorRef::Zero(c) => c.try_recv(),
            },
        }
    }

    /// Receives a value, waiting at most `timeout`. A zero timeout behaves as
    /// [`try_recv`](Receiver::try_recv); one too long to represent waits forever.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::chan;
    /// use hoare::chan::{RecvTimeoutError};
    ///
    /// let (_tx, rx) = chan::<i32>(0);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Receives a value, waiting until `deadline` at the latest.
    ///
    /// # Errors
    /// As [`recv_timeout`](Receiver::recv_timeout).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.recv_deadline(Instant::now() + Duration::from_secs(1)), Ok(2));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match &self.inner {
            RecvInner::Never => {
                block_until(deadline);
                Err(RecvTimeoutError::Timeout)
            }
            RecvInner::Timer(t, cast) => match t.recv(deadline) {
                Ok(at) => Ok(cast(at)),
                Err(true) => Err(RecvTimeoutError::Closed),
                Err(false) => Err(RecvTimeoutError::Timeout),
            },
            RecvInner::Done(c) => wait_done(c, deadline),
            RecvInner::OrDone(a) => recv_or_done(a, deadline),
            RecvInner::Merge(m) => (m.blocking)(m, deadline),
            RecvInner::Bridge(_) | RecvInner::Take(_) => {
                super::future::recv_blocking(self, deadline)
            }
            RecvInner::Chan(s) => match s.flavor() {
                FlavorRef::Array(c) => c.recv(deadline),
                FlavorRef::Zero(c) => c.recv(deadline),
            },
        }
    }

    /// Receives a value from async code. The future resolves to `None` once the
    /// channel is closed and drained.
    ///
    /// # Cancel safety
    /// Dropping the future never loses a value: if a sender had already handed it a
    /// value, that value goes to another receiver.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(0);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv_async().await, Some(7));
    /// # }
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self)
    }

    /// The values as a [`Stream`](futures_core::Stream), ending when the channel is
    /// closed and drained.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures_util::StreamExt;
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(4);
    /// tokio::spawn(async move {
    ///     for i in 0..4 {
    ///         tx.send_async(i).await.unwrap();
    ///     }
    /// });
    /// let all: Vec<i32> = rx.stream().collect().await;
    /// assert_eq!(all, [0, 1, 2, 3]);
    /// # }
    /// ```
    pub fn stream(&self) -> RecvStream<'_, T> {
        RecvStream::borrowed(self)
    }

    /// Turns the receiver into a [`Stream`](futures_core::Stream) that owns it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures_util::StreamExt;
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// let reader = tokio::spawn(rx.into_stream().collect::<Vec<_>>());
    /// tx.send_async(1).await.unwrap();
    /// drop(tx);
    /// assert_eq!(reader.await.unwrap(), [1]);
    /// # }
    /// ```
    pub fn into_stream(self) -> RecvStream<'static, T> {
        RecvStream::owned(self)
    }

    /// A blocking iterator over the values, ending when the channel is closed and
    /// drained (Go's `for v := range ch`).
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(2);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; it never blocks.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(2);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether the channel is closed (it may still hold buffered values). A nil
    /// channel is never closed.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// assert_eq!(rx.recv(), Some(1));
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            RecvInner::Never => false,
            RecvInner::Chan(s) => s.is_closed(),
            RecvInner::Timer(t, _) => t.is_closed(),
            RecvInner::Done(c) => c.is_done(),
            RecvInner::OrDone(a) => a.ctx.is_done() || a.source.is_closed(),
            RecvInner::Merge(m) => m.is_closed(),
            RecvInner::Bridge(b) => b.is_closed(),
            RecvInner::Take(t) => t.is_closed(),
        }
    }

    /// The number of values in the buffer (Go's `len(ch)`); for a timer channel, 1
    /// when a value is due. An unbuffered channel reports 0, except while a value
    /// that a sender handed to a receive (or select) whose future was then dropped
    /// waits there for the next receiver.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match &self.inner {
            RecvInner::Never => 0,
            RecvInner::Chan(s) => s.len(),
            RecvInner::Timer(t, _) => usize::from(!t.is_closed() && t.is_ready()),
            RecvInner::Done(_) => 0,
            RecvInner::OrDone(a) => a.source.len(),
            RecvInner::Merge(m) => m.len(),
            RecvInner::Bridge(b) => b.len(),
            RecvInner::Take(t) => t.len(),
        }
    }

    /// Whether the buffer holds no value.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (_tx, rx) = chan::<i32>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (Go's `cap(ch)`); 0 when unbuffered or nil, 1 for a
    /// timer channel (as Go's).
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (_tx, rx) = chan::<i32>(0);
    /// assert_eq!(rx.capacity(), 0);
    /// ```
    pub fn capacity(&self) -> usize {
        match &self.inner {
            RecvInner::Never => 0,
            RecvInner::Chan(s) => s.capacity(),
            RecvInner::Timer(..) => 1,
            RecvInner::Done(_) => 0,
            RecvInner::OrDone(a) => a.source.capacity(),
            RecvInner::Merge(m) => m.capacity(),
            RecvInner::Bridge(_) => 0,
            RecvInner::Take(t) => t.capacity(),
        }
    }
}

impl<T> Receiver<T> {
    /// The done channel of `ctx`, a cancelable context.
    pub(crate) fn done(ctx: Context) -> Self {
        Self {
            inner: RecvInner::Done(ctx),
        }
    }
}

/// Blocks the calling thread until `ctx` is done (then `Closed`) or `deadline`
/// passes (then `Timeout`); wakes at the context's own deadline to notice it.
/// A blocking receive on an or-done receiver: from its source, unless its context
/// is done first.
fn recv_or_done<T>(a: &OrDone<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
    if a.ctx.is_done() {
        return Err(RecvTimeoutError::Closed);
    }
    if let Some(hook) = &a.hook {
        // The hook wakes the wait when the context is done; `stop` covers a
        // cancel that came before the wait was registered.
        let stop = || a.ctx.is_done();
        return match hook.chan() {
            FlavorRef::Array(c) => c.recv_as(deadline, hook.thread_oper(), stop),
            FlavorRef::Zero(c) => c.recv_as(deadline, hook.thread_oper(), stop),
        };
    }
    match a.source.try_recv() {
        Ok(v) => return Ok(v),
        Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
        Err(TryRecvError::Empty) => {}
    }
    let done = a.ctx.done();
    let timeout = match deadline {
        Some(d) => crate::time::after(d.saturating_duration_since(crate::time::now())),
        None => crate::chan::never(),
    };
    crate::select! {
        recv(&a.source) -> v => v.ok_or(RecvTimeoutError::Closed),
        recv(&done) -> _ => Err(RecvTimeoutError::Closed),
        recv(&timeout) -> _ => Err(RecvTimeoutError::Timeout),
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// A receiver of `source`'s values until `ctx` is done (then it reports
    /// closed), with no goroutine in between; `source` itself when `ctx` can never
    /// be done.
    pub(crate) fn or_done(source: Receiver<T>, ctx: Context) -> Receiver<T> {
        if ctx.done_waiters().is_none() {
            return source;
        }
        let hook = match &source.inner {
            RecvInner::Chan(chan) => DoneHook::new(&ctx, chan).map(Arc::new),
            _ => None,
        };
        Receiver {
            inner: RecvInner::OrDone(Box::new(OrDone { source, ctx, hook })),
        }
    }
}

fn wait_done<T>(ctx: &Context, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
    let Some(queue) = ctx.done_waiters() else {
        block_until(deadline);
        return Err(RecvTimeoutError::Timeout);
    };
    loop {
        if ctx.is_done() {
            return Err(RecvTimeoutError::Closed);
        }
        if deadline.is_some_and(|d| crate::time::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        let wake = match (deadline, ctx.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        super::queue::block_in(queue, || ctx.is_done(), wake);
    }
}

impl Receiver<Instant> {
    /// A receiver of the timer channel `timer`.
    pub(crate) fn timer(timer: Arc<Timer>) -> Self {
        Self {
            inner: RecvInner::Timer(timer, std::convert::identity),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        match &self.inner {
            RecvInner::Never => Receiver::never(),
            RecvInner::Timer(t, cast) => Receiver {
                inner: RecvInner::Timer(t.clone(), *cast),
            },
            RecvInner::Done(c) => Receiver {
                inner: RecvInner::Done(c.clone()),
            },
            RecvInner::Merge(m) => Receiver {
                inner: RecvInner::Merge(Box::new((**m).clone())),
            },
            RecvInner::Bridge(b) => Receiver {
                inner: RecvInner::Bridge(b.clone()),
            },
            RecvInner::Take(t) => Receiver {
                inner: RecvInner::Take(t.clone()),
            },
            RecvInner::OrDone(a) => Receiver {
                inner: RecvInner::OrDone(Box::new(OrDone {
                    source: a.source.clone(),
                    ctx: a.ctx.clone(),
                    hook: a.hook.clone(),
                })),
            },
            RecvInner::Chan(s) => {
                s.add_receiver();
                Receiver::from_handle(s.clone())
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let RecvInner::Chan(s) = &self.inner {
            s.drop_receiver();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            RecvInner::Never => f.write_str("Receiver { nil }"),
            RecvInner::Timer(t, _) => f.debug_struct("Receiver").field("timer", t).finish(),
            RecvInner::Done(c) => f.debug_struct("Receiver").field("done_of", c).finish(),
            RecvInner::Merge(m) => f
                .debug_struct("Receiver")
                .field("merging", &m.sources)
                .field("until_done_of", &m.ctx)
                .finish(),
            RecvInner::Bridge(b) => f.debug_struct("Receiver").field("bridge", b).finish(),
            RecvInner::Take(t) => f.debug_struct("Receiver").field("take", t).finish(),
            RecvInner::OrDone(a) => f
                .debug_struct("Receiver")
                .field("source", &a.source)
                .field("until_done_of", &a.ctx)
                .finish(),
            RecvInner::Chan(s) => f
                .debug_struct("Receiver")
                .field("len", &s.len())
                .field("capacity", &s.capacity())
                .field("closed", &s.is_closed())
                .finish(),
        }
    }
}

/// Blocking iterator over a receiver's values; see [`Receiver::iter`].
///
/// ```
/// use hoare::chan;
///
/// let (tx, rx) = chan::<i32>(1);
/// tx.send(5).unwrap();
/// drop(tx);
/// for v in &rx {
///     assert_eq!(v, 5);
/// }
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

/// Non-blocking iterator over the values ready now; see [`Receiver::try_iter`].
///
/// ```
/// use hoare::chan;
///
/// let (_tx, rx) = chan::<i32>(1);
/// assert_eq!(rx.try_iter().count(), 0);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Blocking iterator that owns its receiver; see `impl IntoIterator for Receiver`.
///
/// ```
/// use hoare::chan;
///
/// let (tx, rx) = chan::<i32>(1);
/// tx.send(5).unwrap();
/// drop(tx);
/// assert_eq!(rx.into_iter().next(), Some(5));
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

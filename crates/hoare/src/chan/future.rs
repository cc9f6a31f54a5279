//! The futures and the stream of async channel operations.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::error::SendError;
use super::receiver::RecvInner;
use super::{array, zero, FlavorRef, Receiver, Sender};

/// What an async operation keeps between polls, whichever the flavor.
struct AsyncState<T> {
    reg: array::Registration,
    op: zero::AsyncOp<T>,
}

impl<T> Default for AsyncState<T> {
    fn default() -> Self {
        Self {
            reg: array::Registration::default(),
            op: zero::AsyncOp::default(),
        }
    }
}

/// The future of [`Sender::send_async`]; resolves to `Ok(())` once the value is sent,
/// or `Err(SendError(value))` if the channel is closed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = hoare::chan::<u8>(1);
/// let fut: hoare::chan::SendFuture<'_, u8> = tx.send_async(1);
/// fut.await.unwrap();
/// assert_eq!(rx.recv_async().await, Some(1));
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    /// The value, until it is handed to the channel.
    msg: Option<T>,
    state: AsyncState<T>,
    done: bool,
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(sender: &'a Sender<T>, msg: T) -> Self {
        Self {
            sender,
            msg: Some(msg),
            state: AsyncState::default(),
            done: false,
        }
    }
}

// The future never hands out a pinned reference to `T` and its own fields are
// address-independent (the zero flavor's packet is boxed), so moving it is fine.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(shared) = &this.sender.shared else {
            return Poll::Pending; // a nil channel never sends
        };
        let r = match shared.flavor() {
            FlavorRef::Array(c) => c.poll_send(cx, &mut this.msg, &mut this.state.reg),
            FlavorRef::Zero(c) => c.poll_send(cx, &mut this.msg, &mut this.state.op),
        };
        match r {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                this.done = true;
                Poll::Ready(r.map_err(SendError))
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(shared) = &self.sender.shared {
            match shared.flavor() {
                FlavorRef::Array(c) => c.cancel_send(&mut self.state.reg),
                FlavorRef::Zero(c) => c.cancel_send(&mut self.state.op),
            }
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Polls one receive on `rx` with `state`.
fn poll_recv<T>(
    rx: &Receiver<T>,
    cx: &mut Context<'_>,
    state: &mut AsyncState<T>,
) -> Poll<Option<T>> {
    match &rx.inner {
        RecvInner::Never => Poll::Pending,
        RecvInner::Chan(shared) => match shared.flavor() {
            FlavorRef::Array(c) => c.poll_recv(cx, &mut state.reg),
            FlavorRef::Zero(c) => c.poll_recv(cx, &mut state.op),
        },
    }
}

/// Withdraws an unfinished receive.
fn cancel_recv<T>(rx: &Receiver<T>, state: &mut AsyncState<T>) {
    if let RecvInner::Chan(shared) = &rx.inner {
        match shared.flavor() {
            FlavorRef::Array(c) => c.cancel_recv(&mut state.reg),
            FlavorRef::Zero(c) => c.cancel_recv(&mut state.op),
        }
    }
}

/// The future of [`Receiver::recv_async`]; resolves to `Some(value)`, or `None` once
/// the channel is closed and drained.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = hoare::chan::<u8>(1);
/// tx.send(1).unwrap();
/// let fut: hoare::chan::RecvFuture<'_, u8> = rx.recv_async();
/// assert_eq!(fut.await, Some(1));
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    state: AsyncState<T>,
    done: bool,
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(receiver: &'a Receiver<T>) -> Self {
        Self {
            receiver,
            state: AsyncState::default(),
            done: false,
        }
    }
}

// As for `SendFuture`: no pinned `T` is ever exposed.
impl<T> Unpin for RecvFuture<'_, T> {}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let r = poll_recv(this.receiver, cx, &mut this.state);
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            cancel_recv(self.receiver, &mut self.state);
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

enum StreamSource<'a, T> {
    Borrowed(&'a Receiver<T>),
    Owned(Receiver<T>),
}

/// A receiver as a [`Stream`]; see [`Receiver::stream`] and [`Receiver::into_stream`].
///
/// Dropping the stream between items loses nothing, as for [`RecvFuture`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures_util::StreamExt;
/// let (tx, rx) = hoare::chan::<u8>(2);
/// tx.send(1).unwrap();
/// drop(tx);
/// let mut s: hoare::chan::RecvStream<'_, u8> = rx.stream();
/// assert_eq!(s.next().await, Some(1));
/// assert_eq!(s.next().await, None);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct RecvStream<'a, T> {
    source: StreamSource<'a, T>,
    state: AsyncState<T>,
    /// A receive is in progress (registered and not yet completed).
    pending: bool,
}

impl<'a, T> RecvStream<'a, T> {
    pub(crate) fn borrowed(rx: &'a Receiver<T>) -> Self {
        Self::with(StreamSource::Borrowed(rx))
    }

    fn with(source: StreamSource<'a, T>) -> Self {
        Self {
            source,
            state: AsyncState::default(),
            pending: false,
        }
    }

    fn receiver(&self) -> &Receiver<T> {
        match &self.source {
            StreamSource::Borrowed(rx) => rx,
            StreamSource::Owned(rx) => rx,
        }
    }
}

impl<T> RecvStream<'static, T> {
    pub(crate) fn owned(rx: Receiver<T>) -> Self {
        Self::with(StreamSource::Owned(rx))
    }
}

// As for `SendFuture`: no pinned `T` is ever exposed.
impl<T> Unpin for RecvStream<'_, T> {}

impl<T> Stream for RecvStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let rx = match &this.source {
            StreamSource::Borrowed(rx) => *rx,
            StreamSource::Owned(rx) => rx,
        };
        let r = poll_recv(rx, cx, &mut this.state);
        this.pending = r.is_pending();
        r
    }
}

impl<T> Drop for RecvStream<'_, T> {
    fn drop(&mut self) {
        if self.pending {
            let mut state = std::mem::take(&mut self.state);
            cancel_recv(self.receiver(), &mut state);
            // Put it back so its packet outlives the cancel (it is dropped with self).
            self.state = state;
        }
    }
}

impl<T> fmt::Debug for RecvStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

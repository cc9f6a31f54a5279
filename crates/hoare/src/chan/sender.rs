//! The sending end.

use std::fmt;
use std::time::{Duration, Instant};

use super::error::{CloseError, SendError, SendTimeoutError, TrySendError};
use super::future::SendFuture;
use super::{block_until, deadline_after, FlavorRef, Handle};

/// The sending end of a channel: Go's `chan<- T`.
///
/// Cloning gives another sender of the same channel. Dropping the last sender
/// closes the channel, so receivers see the values already sent and then `None`.
///
/// ```
/// use hoare::chan;
///
/// let (tx, rx) = chan::<u32>(8);
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.iter().sum::<u32>(), 3);
/// ```
pub struct Sender<T> {
    /// `None` for a nil channel.
    pub(crate) shared: Option<Handle<T>>,
}

impl<T> Sender<T> {
    pub(crate) fn new(shared: Option<Handle<T>>) -> Self {
        Self { shared }
    }

    /// Sends `value`, blocking while the buffer is full (unbuffered: until a receiver
    /// takes it).
    ///
    /// # Errors
    /// [`SendError`] with the value when the channel is closed or has no receiver
    /// left, including when that happens while the send is blocked.
    ///
    /// # Blocking
    /// Blocks the thread; in async code use [`send_async`](Sender::send_async). On a
    /// nil channel it blocks forever, as in Go.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(0);
    /// let t = std::thread::spawn(move || rx.recv());
    /// tx.send(42).unwrap(); // returns once the other thread has the value
    /// assert_eq!(t.join().unwrap(), Some(42));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value` if that can be done at once.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full (unbuffered: no receiver is
    /// waiting), [`TrySendError::Closed`] when the channel is closed.
    ///
    /// ```
    /// use hoare::chan;
    /// use hoare::chan::{TrySendError};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.shared {
            None => Err(TrySendError::Full(value)),
            Some(s) => match s.flavor() {
                FlavorRef::Array(c) => c.try_send(value),
                FlavorRef::Zero(c) => c.try_send(value),
            },
        }
    }

    /// Sends `value`, waiting at most `timeout`. A zero timeout behaves as
    /// [`try_send`](Sender::try_send); one too long to represent waits forever.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with the value.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::chan;
    /// use hoare::chan::{SendTimeoutError};
    ///
    /// let (tx, _rx) = chan::<i32>(0);
    /// let r = tx.send_timeout(9, Duration::from_millis(5));
    /// assert_eq!(r, Err(SendTimeoutError::Timeout(9)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match deadline_after(timeout) {
            Some(d) => self.send_deadline(value, d),
            None => self.send_until(value, None),
        }
    }

    /// Sends `value`, waiting until `deadline` at the latest.
    ///
    /// # Errors
    /// As [`send_timeout`](Sender::send_timeout).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send_deadline(1, Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(rx.recv(), Some(1));
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match &self.shared {
            None => {
                block_until(deadline);
                Err(SendTimeoutError::Timeout(value))
            }
            Some(s) => match s.flavor() {
                FlavorRef::Array(c) => c.send(value, deadline),
                FlavorRef::Zero(c) => c.send(value, deadline),
            },
        }
    }

    /// Sends `value` from async code: the returned future completes when the value
    /// is in the buffer (unbuffered: taken by a receiver).
    ///
    /// The future resolves to `Err(SendError(value))` if the channel is closed.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes either leaves the value unsent (it is
    /// dropped with the future) or, if a receiver already took it, changes nothing:
    /// a value is never both sent and lost, nor sent twice.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(0);
    /// let task = tokio::spawn(async move { rx.recv_async().await });
    /// tx.send_async(5).await.unwrap();
    /// assert_eq!(task.await.unwrap(), Some(5));
    /// # }
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self, value)
    }

    /// Closes the channel: later sends fail, and receivers get the values already
    /// sent, then `None`. Blocked senders are woken with their value returned.
    ///
    /// # Errors
    /// [`CloseError::Closed`] if the channel was already closed with `close`,
    /// [`CloseError::Nil`] for a nil channel (Go panics in both cases).
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(2);
    /// tx.send(1).unwrap();
    /// tx.close().unwrap();
    /// assert_eq!(rx.recv(), Some(1));
    /// assert_eq!(rx.recv(), None);
    /// ```
    pub fn close(&self) -> Result<(), CloseError> {
        match &self.shared {
            None => Err(CloseError::Nil),
            Some(s) => s.close(),
        }
    }

    /// Whether the channel is closed (by `close`, or because every sender or every
    /// receiver is gone). A nil channel is never closed.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.is_closed())
    }

    /// The number of values in the buffer (Go's `len(ch)`).
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, _rx) = chan::<i32>(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the buffer holds no value.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, _rx) = chan::<i32>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (Go's `cap(ch)`); 0 for an unbuffered or nil channel.
    ///
    /// ```
    /// use hoare::chan;
    ///
    /// let (tx, _rx) = chan::<i32>(4);
    /// assert_eq!(tx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.capacity())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        if let Some(s) = &self.shared {
            s.add_sender();
        }
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(s) = &self.shared {
            s.drop_sender();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shared {
            None => f.write_str("Sender { nil }"),
            Some(s) => f
                .debug_struct("Sender")
                .field("len", &s.len())
                .field("capacity", &s.capacity())
                .field("closed", &s.is_closed())
                .finish(),
        }
    }
}

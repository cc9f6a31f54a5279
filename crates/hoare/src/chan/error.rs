//! Errors of channel operations. Each send error gives the value back.

use std::fmt;

macro_rules! debug_without_value {
    ($ty:ident { $($variant:ident),* }) => {
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($ty::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")),)*
                }
            }
        }
    };
}

/// A blocking or async send failed because the channel is closed (explicitly, or
/// because every [`Receiver`](super::Receiver) is gone). Holds the value that was
/// not sent.
///
/// Go panics here ("send on closed channel"); since a close can race with a send,
/// hoare makes it an error the sender can handle.
///
/// ```
/// use hoare::chan;
/// use hoare::chan::{SendError};
/// let (tx, rx) = chan::<i32>(1);
/// drop(rx);
/// assert_eq!(tx.send(7), Err(SendError(7)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// # use hoare::chan;
    /// let (tx, rx) = chan::<String>(0);
    /// drop(rx);
    /// assert_eq!(tx.send("hi".into()).unwrap_err().into_inner(), "hi");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// A [`try_send`](super::Sender::try_send) could not send at once.
///
/// ```
/// use hoare::chan;
/// use hoare::chan::{TrySendError};
/// let (tx, _rx) = chan::<i32>(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is full, or (unbuffered channel) no receiver is waiting.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

debug_without_value!(TrySendError { Full, Closed });

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// # use hoare::chan;
    /// let (tx, _rx) = chan::<i32>(0);
    /// assert_eq!(tx.try_send(5).unwrap_err().into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the send failed because there was no room.
    ///
    /// ```
    /// # use hoare::chan;
    /// let (tx, _rx) = chan::<i32>(0);
    /// assert!(tx.try_send(5).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the send failed because the channel is closed.
    ///
    /// ```
    /// # use hoare::chan;
    /// let (tx, _rx) = chan::<i32>(1);
    /// tx.close().unwrap();
    /// assert!(tx.try_send(5).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "sending on a full channel",
            TrySendError::Closed(_) => "send on closed channel",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

/// A [`send_timeout`](super::Sender::send_timeout) or
/// [`send_deadline`](super::Sender::send_deadline) did not send.
///
/// ```
/// use std::time::Duration;
/// use hoare::chan;
/// use hoare::chan::{SendTimeoutError};
/// let (tx, _rx) = chan::<i32>(0);
/// assert_eq!(tx.send_timeout(1, Duration::from_millis(1)), Err(SendTimeoutError::Timeout(1)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The time ran out before there was room or a receiver.
    Timeout(T),
    /// The channel is closed.
    Closed(T),
}

debug_without_value!(SendTimeoutError { Timeout, Closed });

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use hoare::chan;
    /// let (tx, _rx) = chan::<i32>(0);
    /// assert_eq!(tx.send_timeout(3, Duration::ZERO).unwrap_err().into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }

    /// Whether the time ran out.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use hoare::chan;
    /// let (tx, _rx) = chan::<i32>(0);
    /// assert!(tx.send_timeout(3, Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(_) => "timed out waiting on send operation",
            SendTimeoutError::Closed(_) => "send on closed channel",
        })
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        SendTimeoutError::Closed(e.0)
    }
}

/// A [`try_recv`](super::Receiver::try_recv) found nothing to receive.
///
/// ```
/// use hoare::chan;
/// use hoare::chan::{TryRecvError};
/// let (tx, rx) = chan::<i32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No value is ready (and, unbuffered, no sender is waiting).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Closed => "receiving on a closed channel",
        })
    }
}

impl std::error::Error for TryRecvError {}

/// A [`recv_timeout`](super::Receiver::recv_timeout) or
/// [`recv_deadline`](super::Receiver::recv_deadline) received nothing.
///
/// ```
/// use std::time::Duration;
/// use hoare::chan;
/// use hoare::chan::{RecvTimeoutError};
/// let (_tx, rx) = chan::<i32>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The time ran out before a value arrived.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

impl RecvTimeoutError {
    /// Whether the time ran out.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use hoare::chan;
    /// let (_tx, rx) = chan::<i32>(1);
    /// assert!(rx.recv_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "timed out waiting on receive operation",
            RecvTimeoutError::Closed => "receiving on a closed channel",
        })
    }
}

impl std::error::Error for RecvTimeoutError {}

/// [`close`](super::Sender::close) did not close the channel.
///
/// Go panics in both cases; hoare reports them.
///
/// ```
/// use hoare::chan;
/// use hoare::chan::{CloseError};
/// let (tx, _rx) = chan::<i32>(0);
/// assert_eq!(tx.close(), Ok(()));
/// assert_eq!(tx.close(), Err(CloseError::Closed));
/// let (nil, _) = chan::nil::<i32>();
/// assert_eq!(nil.close(), Err(CloseError::Nil));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseError {
    /// The channel was already closed.
    Closed,
    /// The sender belongs to a nil channel, which cannot be closed.
    Nil,
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseError::Closed => "close of closed channel",
            CloseError::Nil => "close of nil channel",
        })
    }
}

impl std::error::Error for CloseError {}

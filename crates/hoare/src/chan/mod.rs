//! Channels with Go's semantics, for threads and async tasks alike.
//!
//! `chan::<T>(n)` makes a channel and returns its two ends: a [`Sender`] (Go's
//! `chan<- T`) and a [`Receiver`] (Go's `<-chan T`). With `n == 0` the channel is
//! unbuffered: a send completes only when a receiver takes the value (a
//! *rendezvous*). With `n > 0` up to `n` values wait in a buffer. Both ends are
//! `Clone` (many senders, many receivers) and `Send + Sync` when `T: Send`, and every
//! operation comes in a blocking form for threads and an async form for tasks, so one
//! channel can connect threads and tasks in any mix.
//!
//! ```
//! use hoare::chan;
//!
//! let (tx, rx) = chan::<i32>(0);
//! let producer = std::thread::spawn(move || {
//!     for i in 1..=3 {
//!         tx.send(i).unwrap();
//!     }
//!     // Dropping the last sender closes the channel, ending the loop below.
//! });
//! let got: Vec<i32> = rx.iter().collect();
//! assert_eq!(got, [1, 2, 3]);
//! producer.join().unwrap();
//! ```
//!
//! | Go | hoare |
//! |---|---|
//! | `make(chan T)` / `make(chan T, n)` | `let (tx, rx) = chan::<T>(0)` / `chan::<T>(n)` |
//! | `ch <- v` | `tx.send(v)?` · `tx.send_async(v).await?` |
//! | `v, ok := <-ch` | `rx.recv()` → `Option<T>` · `rx.recv_async().await` |
//! | `for v := range ch` | `for v in &rx` · `rx.stream()` |
//! | `close(ch)` | `tx.close()` |
//! | `len(ch)`, `cap(ch)` | `rx.len()`, `rx.capacity()` |
//! | `var ch chan T` (nil) | [`chan::nil()`](nil()) · [`chan::never()`](never()) |
//!
//! # Go's channel state table, in hoare
//!
//! Each row of the table in *Concurrency in Go* (chapter 3), with what hoare does.
//! Where Go panics on a condition that can race at run time, hoare returns an error
//! carrying the value back; where Go refuses to compile, so does hoare.
//!
//! | Operation | Channel state | Go | hoare |
//! |---|---|---|---|
//! | Read | nil | block | `never().recv()` blocks forever; `recv_timeout` times out |
//! | Read | open, not empty | value | `Some(v)` / `Ok(v)` |
//! | Read | open, empty | block | blocks (`try_recv` → `Err(Empty)`) |
//! | Read | closed | default value, `false` | `None` once drained (`Err(Closed)`) |
//! | Read | write-only | compile error | `Sender` has no `recv` (compile error) |
//! | Write | nil | block | `nil().0.send(v)` blocks forever; `send_timeout` → `Err(Timeout(v))` |
//! | Write | open, full | block | blocks (`try_send` → `Err(Full(v))`) |
//! | Write | open, not full | write value | `Ok(())` |
//! | Write | closed | **panic** | `Err(SendError(v))`, the value returned |
//! | Write | read-only | compile error | `Receiver` has no `send` (compile error) |
//! | Close | nil | **panic** | `Err(CloseError::Nil)` |
//! | Close | open, not empty | closes; reads drain, then default | `Ok(())`; receivers get the buffered values, then `None` |
//! | Close | open, empty | closes; reads get default | `Ok(())`; receivers get `None` |
//! | Close | closed | **panic** | `Err(CloseError::Closed)` |
//! | Close | read-only | compile error | `Receiver` has no `close` (compile error) |
//!
//! The compile errors, checked:
//!
//! ```compile_fail
//! let (tx, _rx) = hoare::chan::<i32>(1);
//! let _ = tx.recv(); // a Sender cannot receive
//! ```
//!
//! ```compile_fail
//! let (_tx, rx) = hoare::chan::<i32>(1);
//! rx.send(1); // a Receiver cannot send
//! ```
//!
//! ```compile_fail
//! let (_tx, rx) = hoare::chan::<i32>(1);
//! rx.close(); // a Receiver cannot close
//! ```
//!
//! # Better than Go where Rust lets us
//!
//! - Dropping the last `Sender` closes the channel, and dropping the last `Receiver`
//!   makes every pending and later send fail with its value returned: a goroutine
//!   blocked sending to a receiver that left cannot leak.
//! - No value is lost or duplicated: not under contention, not when an async send or
//!   receive future is dropped at any point, not on close.
//!
//! # Memory
//!
//! An unbuffered channel is one heap allocation. A buffered channel of capacity `n`
//! allocates its first `min(n, 1024)` slots up front and the rest in doubling chunks
//! as they are first used, so `chan(usize::MAX)` is valid and costs what it holds.
//! Capacities above 2⁶⁰ behave as 2⁶⁰, which nothing can fill; `capacity()` still
//! reports the number asked for.

pub(crate) mod array;
pub(crate) mod bridge;
mod buffer;
mod done_hook;
mod error;
mod future;
mod merge;
pub(crate) mod queue;
pub(crate) mod receiver;
mod sender;
pub(crate) mod take;
pub(crate) mod waiter;
pub(crate) mod zero;

#[cfg(all(test, not(loom)))]
mod tests;

use std::sync::atomic::Ordering;
use std::sync::Arc;

pub use error::{
    CloseError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use future::{RecvFuture, RecvStream, SendFuture};
pub use receiver::{IntoIter, Iter, Receiver, TryIter};
pub use sender::Sender;

use crate::loom::{AtomicBool, AtomicUsize};

/// Makes a channel of `T` with room for `cap` buffered values; `cap == 0` makes an
/// unbuffered (rendezvous) channel. Returns its sending and receiving ends.
///
/// Any capacity is valid: buffer memory beyond the first 1024 slots is allocated as
/// it is first used (see the [module docs](self#memory)).
///
/// ```
/// use hoare::chan;
///
/// let (tx, rx) = chan::<&str>(1);
/// tx.send("hello").unwrap();
/// assert_eq!(rx.recv(), Some("hello"));
/// ```
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let handle = if cap == 0 {
        Handle::Zero(Arc::new(Shared::new(zero::Channel::new())))
    } else {
        Handle::Array(Arc::new(Shared::new(array::Channel::new(cap))))
    };
    (
        Sender::new(Some(handle.clone())),
        Receiver::from_handle(handle),
    )
}

/// Both ends of a nil channel (Go's `var ch chan T`): sends and receives block
/// forever (or until their timeout), and closing it is an error.
///
/// In Go a nil channel disables a `select` case; in hoare's `select!` an operand of
/// `None` does the same, and this is for the rare code that wants a nil value.
///
/// ```
/// use std::time::Duration;
/// use hoare::chan;
/// use hoare::chan::{CloseError, SendTimeoutError};
///
/// let (tx, rx) = chan::nil::<i32>();
/// assert_eq!(tx.send_timeout(1, Duration::from_millis(1)), Err(SendTimeoutError::Timeout(1)));
/// assert!(rx.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
/// assert_eq!(tx.close(), Err(CloseError::Nil));
/// ```
pub fn nil<T>() -> (Sender<T>, Receiver<T>) {
    (Sender::new(None), Receiver::never())
}

/// A receiver that never receives: Go's nil channel seen from the reading side.
/// `recv` blocks forever, `recv_async` stays pending, `try_recv` says `Empty`.
///
/// ```
/// use hoare::chan;
/// use hoare::chan::{TryRecvError};
///
/// let rx = chan::never::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// assert!(!rx.is_closed());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver::never()
}

/// What the ends of one channel share: the flavor's channel and the handle counts.
pub(crate) struct Shared<C> {
    pub(crate) chan: C,
    /// Live `Sender` handles; the last one to go closes the channel.
    senders: AtomicUsize,
    /// Live `Receiver` handles; the last one to go closes the channel and drops
    /// what is buffered.
    receivers: AtomicUsize,
    /// `close` was called (so a second call is an error).
    close_called: AtomicBool,
}

impl<C> Shared<C> {
    fn new(chan: C) -> Self {
        Self {
            chan,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            close_called: AtomicBool::new(false),
        }
    }
}

/// A counted reference to a channel of either flavor. Each flavor has its own
/// allocation, so an unbuffered channel does not pay for a ring's padded indices.
pub(crate) enum Handle<T> {
    Array(Arc<Shared<array::Channel<T>>>),
    Zero(Arc<Shared<zero::Channel<T>>>),
}

/// A borrowed flavor, for dispatching one operation.
pub(crate) enum FlavorRef<'a, T> {
    Array(&'a array::Channel<T>),
    Zero(&'a zero::Channel<T>),
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        match self {
            Handle::Array(s) => Handle::Array(s.clone()),
            Handle::Zero(s) => Handle::Zero(s.clone()),
        }
    }
}

impl<T> Handle<T> {
    pub(crate) fn flavor(&self) -> FlavorRef<'_, T> {
        match self {
            Handle::Array(s) => FlavorRef::Array(&s.chan),
            Handle::Zero(s) => FlavorRef::Zero(&s.chan),
        }
    }

    fn counts(&self) -> (&AtomicUsize, &AtomicUsize, &AtomicBool) {
        match self {
            Handle::Array(s) => (&s.senders, &s.receivers, &s.close_called),
            Handle::Zero(s) => (&s.senders, &s.receivers, &s.close_called),
        }
    }

    fn disconnect(&self) -> bool {
        match self.flavor() {
            FlavorRef::Array(c) => c.disconnect(),
            FlavorRef::Zero(c) => c.disconnect(),
        }
    }

    fn close(&self) -> Result<(), CloseError> {
        // ORDERING: the flag only decides which call reports the error; the close
        // itself is ordered by the flavor's own SeqCst/locked operations.
        let already = self.counts().2.swap(true, Ordering::AcqRel);
        // Even when another call got there first, make sure the close has taken
        // effect before returning: `Err(Closed)` promises a closed channel, and the
        // first caller may still be on its way into `disconnect`.
        self.disconnect();
        if already {
            Err(CloseError::Closed)
        } else {
            Ok(())
        }
    }

    fn add_sender(&self) {
        // ORDERING: as for `Arc::clone`, a new handle comes from an existing one.
        self.counts().0.fetch_add(1, Ordering::Relaxed);
    }

    fn drop_sender(&self) {
        // ORDERING: AcqRel so the last handle sees every other handle's sends.
        if self.counts().0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.disconnect();
        }
    }

    fn add_receiver(&self) {
        // ORDERING: as in `add_sender`.
        self.counts().1.fetch_add(1, Ordering::Relaxed);
    }

    fn drop_receiver(&self) {
        // ORDERING: as in `drop_sender`.
        if self.counts().1.fetch_sub(1, Ordering::AcqRel) == 1 {
            match self.flavor() {
                FlavorRef::Array(c) => c.disconnect_receivers(),
                FlavorRef::Zero(c) => c.disconnect_receivers(),
            }
        }
    }

    fn is_closed(&self) -> bool {
        match self.flavor() {
            FlavorRef::Array(c) => c.is_closed(),
            FlavorRef::Zero(c) => c.is_closed(),
        }
    }

    fn len(&self) -> usize {
        match self.flavor() {
            FlavorRef::Array(c) => c.len(),
            FlavorRef::Zero(c) => c.len(),
        }
    }

    fn capacity(&self) -> usize {
        match self.flavor() {
            FlavorRef::Array(c) => c.capacity(),
            FlavorRef::Zero(_) => 0,
        }
    }
}

/// Turns a timeout into a deadline; one too far away to represent means "none".
fn deadline_after(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}

/// Blocks the calling thread until `deadline` (forever with `None`): a nil channel.
fn block_until(deadline: Option<std::time::Instant>) {
    loop {
        match deadline {
            None => std::thread::park(),
            Some(d) => {
                let now = std::time::Instant::now();
                if now >= d {
                    return;
                }
                std::thread::park_timeout(d - now);
            }
        }
    }
}

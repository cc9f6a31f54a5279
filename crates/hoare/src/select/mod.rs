//! Go's `select`: wait on several channel operations, and take exactly one.
//!
//! - [`select!`](crate::select!) for threads and [`select_async!`](crate::select_async!)
//!   for async code share one grammar:
//!
//!   ```text
//!   select! {
//!       recv(rx) -> v => …,           // v: Option<T>
//!       send(tx, value) -> res => …,  // res: Result<(), SendError<T>>
//!       default => …,                 // optional
//!   }
//!   ```
//!
//! - [`Select`] serves a number of cases known only at run time (Go's
//!   `reflect.Select`).
//! - Timers ([`time::after`](crate::time::after), [`time::tick`](crate::time::tick))
//!   are ordinary receive cases.
//!
//! # Guarantees (Go's)
//! - Exactly one case takes effect. When several are ready, each is equally likely
//!   to be chosen.
//! - A send case that is not chosen sends nothing; a receive case that is not
//!   chosen takes nothing.
//! - A select sending on an unbuffered channel meets a select receiving on it
//!   (each may be either side of the rendezvous), and a select never meets itself.
//! - Dropping an async select at any point loses no value.
//! - A `None` operand disables its case (Go's nil channel). With no enabled case
//!   and no `default`, a select blocks forever, as Go's does; the async form can
//!   still be cancelled by dropping it.
//!
//! # Cost
//! A select over k cases is O(k): it tries the cases in random order and, if none
//! is ready, registers with each channel and waits. A ready select allocates
//! nothing. A waiting one allocates nothing either (its waiter and transfer slots
//! live on the stack or in the future), except that a channel's wait queue may grow
//! when more than one party waits on it.
//!
//! # How it works
//! One waiter stands for the whole select and is registered with every channel,
//! one operation per case. Whoever completes the select moves the waiter's state
//! from "waiting" to its case's operation with one compare-and-swap; that CAS is
//! the single point that decides which case wins. On an unbuffered channel the
//! winner also completes the transfer (a select waiting to send keeps its value in
//! a slot the receiver takes it from); on a buffered channel the winner only tells
//! the select to try again, and the select passes the news on if it ends another
//! way, so no waiting party misses a value or free slot.
//!
//! ```
//! use hoare::{chan, select};
//!
//! let (tx, rx) = chan::<i32>(1);
//! let (done_tx, done_rx) = chan::<()>(0);
//! drop(done_tx); // closed: its case is always ready
//! tx.send(1).unwrap();
//! let mut seen = (0, 0);
//! for _ in 0..2 {
//!     select! {
//!         recv(&rx) -> v => { assert_eq!(v, Some(1)); seen.0 += 1 },
//!         recv(&done_rx) -> v => { assert_eq!(v, None); seen.1 += 1 },
//!     }
//! }
//! assert!(seen.0 <= 1 && seen.0 + seen.1 == 2);
//! ```

mod adapter;
pub(crate) mod case;
mod dynamic;
mod future;
mod macros;
mod run;

use std::fmt;

pub use case::{RecvOperand, SendOperand};
pub use dynamic::Select;

/// What `select!` and `select_async!` expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::case::{RecvCase, SendCase};
    pub use super::future::{blocking, SelectFuture};
    pub use super::run::CaseRef;
}

/// [`Select::try_wait`] found no case ready.
///
/// ```
/// let err = hoare::select::TrySelectError;
/// assert_eq!(err.to_string(), "no select case is ready");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TrySelectError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no select case is ready")
    }
}

impl std::error::Error for TrySelectError {}

/// No case of a [`Select`] fired before its timeout or deadline.
///
/// ```
/// let err = hoare::select::SelectTimeoutError;
/// assert_eq!(err.to_string(), "no select case fired before the deadline");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no select case fired before the deadline")
    }
}

impl std::error::Error for SelectTimeoutError {}

#[cfg(all(test, not(loom)))]
mod tests;

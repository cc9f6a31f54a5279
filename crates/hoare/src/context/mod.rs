//! Go's `context` package: cancellation, deadlines and request-scoped values that
//! flow down a tree of contexts.
//!
//! A [`Context`] is cheap to clone (one reference count) and `Send + Sync`. Derive
//! children with [`with_cancel`](Context::with_cancel),
//! [`with_timeout`](Context::with_timeout), [`with_deadline`](Context::with_deadline)
//! and [`with_value`](Context::with_value). Cancelling a context cancels every
//! context derived from it; its [`done`](Context::done) channel closes, which a
//! `select!` sees as a ready `recv` case, a task as the end of
//! `done().recv_async()`, and a thread as the end of `done().recv()`.
//!
//! | Go | hoare |
//! |---|---|
//! | `context.Background()`, `context.TODO()` | [`Context::background()`], [`Context::todo()`] |
//! | `ctx, cancel := context.WithCancel(parent)` | `let (ctx, cancel) = parent.with_cancel();` |
//! | `defer cancel()` | nothing: dropping the [`CancelGuard`] cancels |
//! | `context.WithTimeout(parent, d)` | `parent.with_timeout(d)` |
//! | `context.WithValue(parent, key, v)` | `parent.with_value(&KEY, v)` with `static KEY: Key<T>` |
//! | `case <-ctx.Done():` | `recv(ctx.done()) -> _ =>` |
//! | `ctx.Err()` | [`ctx.err()`](Context::err) → `Option<Error>` |
//! | `context.Cause(ctx)` | [`ctx.cause()`](Context::cause) |
//!
//! Deadlines cost no thread: a context notices its deadline when someone looks
//! (`err()`, `done()`, a waiting select or receive, which sleep until the deadline
//! at the latest), and a child's deadline is never later than its parent's. The
//! clock is tokio's (see [`time`](crate::time)), so tests can pause it.
//!
//! ```
//! use std::time::Duration;
//! use hoare::context::{Context, Error};
//! use hoare::{chan, select};
//!
//! let (ctx, cancel) = Context::background().with_cancel();
//! let worker = {
//!     let ctx = ctx.clone();
//!     std::thread::spawn(move || {
//!         let (_tx, jobs) = chan::<u32>(0); // no job ever comes
//!         select! {
//!             recv(&jobs) -> _ => Ok(()),
//!             recv(ctx.done()) -> _ => Err(ctx.err()),
//!         }
//!     })
//! };
//! cancel.cancel();
//! assert_eq!(worker.join().unwrap(), Err(Some(Error::Canceled)));
//! ```

mod after;
mod key;
mod state;

pub use after::{after_func, AfterFunc};

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use key::Key;

use crate::chan::Receiver;
use state::{CancelState, Cause};

/// Why a context is done: Go's `context.Canceled` and `context.DeadlineExceeded`.
///
/// ```
/// use hoare::context::Error;
///
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert!(Error::DeadlineExceeded.is_timeout());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The context was canceled: its guard was dropped or called, or a parent's was.
    Canceled,
    /// The context's deadline (or a parent's) passed.
    DeadlineExceeded,
}

impl Error {
    /// Whether the context timed out (Go's `os.IsTimeout` on the error).
    ///
    /// ```
    /// assert!(!hoare::context::Error::Canceled.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::DeadlineExceeded)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl StdError for Error {}

/// A carrier of a cancellation signal, a deadline and values across API boundaries
/// and between goroutines: Go's `context.Context`. See the [module docs](self).
///
/// ```
/// use hoare::context::Context;
///
/// let ctx = Context::background();
/// assert!(ctx.err().is_none());
/// assert!(ctx.deadline().is_none());
/// ```
#[derive(Clone)]
pub struct Context(Arc<Node>);

/// One context in the tree.
// `cancel` first: a cancelable node's hot fields then follow its reference counts.
#[repr(C)]
pub(crate) struct Node {
    cancel: CancelRef,
    /// The context this one was derived from.
    parent: Option<Context>,
    /// The value a `with_value` context carries, under its key's identity.
    value: Option<(usize, Box<dyn Any + Send + Sync>)>,
    kind: Kind,
}

/// How a context was made, for `Debug`.
#[derive(Clone, Copy)]
enum Kind {
    Background,
    Todo,
    WithCancel,
    WithCancelCause,
    WithDeadline,
    WithValue,
    WithoutCancel,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Background => "background",
            Kind::Todo => "todo",
            Kind::WithCancel => "with_cancel",
            Kind::WithCancelCause => "with_cancel_cause",
            Kind::WithDeadline => "with_deadline",
            Kind::WithValue => "with_value",
            Kind::WithoutCancel => "without_cancel",
        })
    }
}

/// Whose cancellation a context follows.
// The cancel state is kept inline: boxing it would cost cancelable contexts, the
// common kind, a second allocation, to save memory in value contexts.
#[allow(clippy::large_enum_variant)]
enum CancelRef {
    /// Nobody's: it is never canceled (background, todo, `without_cancel`).
    Never,
    /// Its own: it can be canceled.
    Own(CancelState),
    /// That of its nearest cancelable ancestor (a `with_value` context); `None`
    /// only while the node is being dropped.
    Inherit(Option<Context>),
}

impl Node {
    /// Takes out this node's references to other nodes, for [`Drop`].
    fn take_links(&mut self) -> [Option<Arc<Node>>; 2] {
        let other = match &mut self.cancel {
            CancelRef::Inherit(c) => c.take().map(|c| c.0),
            CancelRef::Own(s) => s.take_parent_link(),
            CancelRef::Never => None,
        };
        [self.parent.take().map(|c| c.0), other]
    }

    /// The cancel state of a cancelable node.
    #[inline]
    pub(crate) fn own_state(&self) -> Option<&CancelState> {
        match &self.cancel {
            CancelRef::Own(s) => Some(s),
            _ => None,
        }
    }
}

impl Context {
    fn new(
        parent: Option<Context>,
        value: Option<(usize, Box<dyn Any + Send + Sync>)>,
        cancel: CancelRef,
        kind: Kind,
    ) -> Self {
        Context(Arc::new(Node {
            parent,
            value,
            cancel,
            kind,
        }))
    }

    /// The root of every context tree: never canceled, no deadline, no values (Go's
    /// `context.Background()`).
    ///
    /// ```
    /// assert!(hoare::context::Context::background().err().is_none());
    /// ```
    pub fn background() -> Self {
        Self::new(None, None, CancelRef::Never, Kind::Background)
    }

    /// A placeholder root for code not yet given a context (Go's `context.TODO()`);
    /// it behaves as [`background`](Context::background).
    ///
    /// ```
    /// assert!(hoare::context::Context::todo().deadline().is_none());
    /// ```
    pub fn todo() -> Self {
        Self::new(None, None, CancelRef::Never, Kind::Todo)
    }

    /// The cancelable node this context follows, if any.
    #[inline]
    fn canceler(&self) -> Option<&Context> {
        match &self.0.cancel {
            CancelRef::Never => None,
            CancelRef::Own(_) => Some(self),
            CancelRef::Inherit(c) => c.as_ref(),
        }
    }

    #[inline]
    fn state(&self) -> Option<&CancelState> {
        self.canceler().and_then(|c| c.0.own_state())
    }

    /// A child that is canceled when its guard is called or dropped, or when this
    /// context is (Go's `context.WithCancel`).
    ///
    /// ```
    /// use hoare::context::{Context, Error};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// drop(cancel);
    /// assert_eq!(ctx.err(), Some(Error::Canceled));
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelGuard) {
        self.child(self.deadline(), Kind::WithCancel)
    }

    /// As [`with_cancel`](Context::with_cancel); the guard's
    /// [`cancel_with_cause`](CancelGuard::cancel_with_cause) records why (Go's
    /// `context.WithCancelCause`).
    ///
    /// ```
    /// use hoare::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// cancel.cancel_with_cause(std::io::Error::other("disk full"));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
    /// ```
    pub fn with_cancel_cause(&self) -> (Context, CancelGuard) {
        self.child(self.deadline(), Kind::WithCancelCause)
    }

    /// A child that is done at `deadline` at the latest (Go's
    /// `context.WithDeadline`). A deadline later than this context's changes
    /// nothing; one already past gives a context that is already done.
    ///
    /// ```
    /// use std::time::Instant;
    /// use hoare::context::{Context, Error};
    ///
    /// let (ctx, _cancel) = Context::background().with_deadline(Instant::now());
    /// assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    /// ```
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelGuard) {
        let deadline = Some(self.deadline().map_or(deadline, |d| d.min(deadline)));
        self.child(deadline, Kind::WithDeadline)
    }

    /// A child that is done `timeout` from now at the latest (Go's
    /// `context.WithTimeout`). A zero timeout gives a context that is already
    /// done; one too long to represent sets no deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::context::Context;
    ///
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(60));
    /// assert!(ctx.deadline().is_some());
    /// assert!(ctx.err().is_none());
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelGuard) {
        match crate::time::now().checked_add(timeout) {
            Some(deadline) => self.with_deadline(deadline),
            None => self.with_cancel(),
        }
    }

    fn child(&self, deadline: Option<Instant>, kind: Kind) -> (Context, CancelGuard) {
        let make = |link| Node {
            parent: Some(self.clone()),
            value: None,
            cancel: CancelRef::Own(CancelState::new(deadline, link)),
            kind,
        };
        let child = Context(match self.canceler() {
            Some(parent) => {
                let direct = Arc::ptr_eq(&parent.0, &self.0);
                state::make_child(&parent.0, direct, make)
            }
            None => Arc::new(make(None)),
        });
        if deadline.is_some() {
            state::check(&child.0); // a deadline already past
        }
        let guard = CancelGuard {
            node: child.0.clone(),
        };
        (child, guard)
    }

    /// A child carrying `value` under `key` (Go's `context.WithValue`); it is
    /// canceled with this context. Keys are `static`s, so two keys never collide.
    ///
    /// ```
    /// use hoare::context::{Context, Key};
    ///
    /// static USER: Key<String> = Key::new("user");
    /// let ctx = Context::background().with_value(&USER, "gopher".to_string());
    /// assert_eq!(ctx.value(&USER).map(String::as_str), Some("gopher"));
    /// ```
    pub fn with_value<T: Send + Sync + 'static>(&self, key: &'static Key<T>, value: T) -> Context {
        let cancel = match self.canceler() {
            Some(c) => CancelRef::Inherit(Some(c.clone())),
            None => CancelRef::Never,
        };
        Self::new(
            Some(self.clone()),
            Some((key.id(), Box::new(value))),
            cancel,
            Kind::WithValue,
        )
    }

    /// The value stored under `key` by this context or the nearest ancestor that
    /// has one; `None` if none has.
    ///
    /// ```
    /// use hoare::context::{Context, Key};
    ///
    /// static ID: Key<u64> = Key::new("request-id");
    /// let ctx = Context::background().with_value(&ID, 7);
    /// let (child, _cancel) = ctx.with_cancel();
    /// assert_eq!(child.value(&ID), Some(&7));
    /// assert_eq!(Context::background().value(&ID), None);
    /// ```
    pub fn value<T: 'static>(&self, key: &'static Key<T>) -> Option<&T> {
        let id = key.id();
        let mut node: &Node = &self.0;
        loop {
            if let Some((k, v)) = &node.value {
                if *k == id {
                    return v.downcast_ref::<T>();
                }
            }
            node = &node.parent.as_ref()?.0;
        }
    }

    /// A child with this context's values but none of its cancellation or
    /// deadline (Go's `context.WithoutCancel`).
    ///
    /// ```
    /// use hoare::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let detached = ctx.without_cancel();
    /// drop(cancel);
    /// assert!(ctx.err().is_some());
    /// assert!(detached.err().is_none());
    /// ```
    pub fn without_cancel(&self) -> Context {
        Self::new(
            Some(self.clone()),
            None,
            CancelRef::Never,
            Kind::WithoutCancel,
        )
    }

    /// A channel that is closed when the context is done (Go's `ctx.Done()`): a
    /// `select!` case `recv(ctx.done()) -> _`, awaitable with `recv_async`, and
    /// waitable from a thread with `recv`; each returns `None` once done. A context
    /// that is never canceled gives a channel that never closes (Go's nil channel).
    ///
    /// ```
    /// use hoare::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let done = ctx.done();
    /// assert!(!done.is_closed());
    /// cancel.cancel();
    /// assert_eq!(done.recv(), None); // returns at once: closed
    /// ```
    pub fn done(&self) -> Receiver<()> {
        match self.canceler() {
            Some(c) => Receiver::done(c.clone()),
            None => crate::chan::never(),
        }
    }

    /// `None` while the context is live; then why it is done (Go's `ctx.Err()`).
    ///
    /// ```
    /// use hoare::context::{Context, Error};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(Error::Canceled));
    /// ```
    pub fn err(&self) -> Option<Error> {
        state::check(&self.canceler()?.0)
    }

    /// Why the context is done: the cause given to
    /// [`cancel_with_cause`](CancelGuard::cancel_with_cause), else the [`Error`];
    /// `None` while it is live (Go's `context.Cause`).
    ///
    /// ```
    /// use hoare::context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert!(ctx.cause().is_none());
    /// cancel.cancel();
    /// assert_eq!(ctx.cause().unwrap().to_string(), "context canceled");
    /// ```
    pub fn cause(&self) -> Option<Arc<dyn StdError + Send + Sync + 'static>> {
        self.err()?;
        self.state()?.cause()
    }

    /// When the context will be done by itself, if ever (Go's `ctx.Deadline()`).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use hoare::context::Context;
    ///
    /// let at = Instant::now() + Duration::from_secs(5);
    /// let (ctx, _cancel) = Context::background().with_deadline(at);
    /// assert_eq!(ctx.deadline(), Some(at));
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.state()?.deadline
    }

    /// The number of live children directly under this context's cancellation.
    #[doc(hidden)]
    pub fn __children(&self) -> usize {
        self.canceler().map_or(0, |c| state::children(&c.0))
    }

    /// Whether `done()` is closed now, for the done receiver: inlined, as the
    /// adapters ask it once per value.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        match self.state() {
            None => false,
            Some(s) if s.err().is_some() => true,
            Some(s) if s.deadline.is_none() => false,
            Some(_) => self.err().is_some(), // notices a passed deadline
        }
    }

    /// The waiters of `done()`, for the done receiver.
    pub(crate) fn done_waiters(&self) -> Option<&crate::chan::queue::WaitQueue> {
        self.state().map(CancelState::waiters)
    }
}

/// Dropping a long chain of contexts must not recurse once per link: the links
/// are taken out and the nodes that become unreferenced are dropped in a loop.
impl Drop for Node {
    fn drop(&mut self) {
        // Allocated only when a link was the last reference to its node.
        let mut pending: Vec<Arc<Node>> = Vec::new();
        let [a, b] = self.take_links();
        for link in [a, b] {
            let Some(link) = link else { continue };
            if let Some(mut node) = Arc::into_inner(link) {
                let [a, b] = node.take_links();
                pending.extend(a);
                pending.extend(b);
            }
        }
        while let Some(link) = pending.pop() {
            if let Some(mut node) = Arc::into_inner(link) {
                let [a, b] = node.take_links();
                pending.extend(a);
                pending.extend(b);
            }
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("kind", &self.0.kind)
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

/// Cancels its context when called or dropped (Go's `CancelFunc`, with
/// `defer cancel()` built in). Cancelling twice does nothing.
///
/// ```
/// use hoare::context::{Context, Error};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// cancel.cancel();
/// cancel.cancel(); // no-op
/// assert_eq!(ctx.err(), Some(Error::Canceled));
/// ```
#[must_use = "dropping the guard cancels the context at once"]
pub struct CancelGuard {
    node: Arc<Node>,
}

impl CancelGuard {
    /// Cancels the context (and its descendants) with [`Error::Canceled`].
    ///
    /// ```
    /// let (ctx, cancel) = hoare::context::Context::background().with_cancel();
    /// cancel.cancel();
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn cancel(&self) {
        state::cancel(&self.node, Error::Canceled, None);
    }

    /// Cancels the context with [`Error::Canceled`], recording `cause` as the
    /// reason [`Context::cause`] reports. Does nothing if it is already done.
    ///
    /// ```
    /// use hoare::context::{Context, Error};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// cancel.cancel_with_cause(std::io::Error::other("shutting down"));
    /// assert_eq!(ctx.err(), Some(Error::Canceled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "shutting down");
    /// ```
    pub fn cancel_with_cause<E: StdError + Send + Sync + 'static>(&self, cause: E) {
        let cause: Cause = Arc::new(cause);
        state::cancel(&self.node, Error::Canceled, Some(cause));
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelGuard")
            .field(
                "canceled",
                &self.node.own_state().and_then(CancelState::err).is_some(),
            )
            .finish()
    }
}

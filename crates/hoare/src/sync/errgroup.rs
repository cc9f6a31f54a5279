//! [`ErrGroup`]: a group of goroutines working on one task, as
//! `golang.org/x/sync/errgroup`.
//!
//! # Design
//! A [`WaitGroup`] counts the goroutines for [`ErrGroup::wait`]; an optional
//! [`Semaphore`] of `limit` tokens bounds how many run at once. Each goroutine owns
//! a `Slot` whose drop gives its token back, lowers the active count and calls
//! `done`, in that order, so a waiter that sees the count at zero also sees every
//! error recorded (an error is recorded before the slot drops). The first error is
//! kept under a mutex; later ones are dropped, as in Go.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::unwind::{panic_message, CatchUnwind};
use super::{Semaphore, WaitGroup};
use crate::context::{CancelGuard, Context};
use crate::loom::{lock, AtomicUsize, Mutex};

/// A collection of goroutines working on subtasks of one task, as Go's
/// `errgroup.Group`: [`wait`](ErrGroup::wait) waits for all of them and returns the
/// first error one of them returned.
///
/// A goroutine that panics is an error too ([`GroupError::Panicked`]), not a lost
/// panic. With [`with_context`](ErrGroup::with_context), the first error also
/// cancels a derived [`Context`], so the others can stop early.
/// [`set_limit`](ErrGroup::set_limit) bounds how many goroutines are active at once.
///
/// An `ErrGroup` is a handle: clones share one group (so a goroutine can start more
/// work in its own group). It is `Send + Sync` when `E: Send`.
///
/// | Go | hoare |
/// |---|---|
/// | `var g errgroup.Group` | `let g = ErrGroup::<E>::new();` |
/// | `g, ctx := errgroup.WithContext(parent)` | `let (g, ctx) = ErrGroup::with_context(&parent);` |
/// | `g.Go(f)` | `g.go(f)` / `g.go_async(fut)` |
/// | `g.TryGo(f)` | `g.try_go(f)` |
/// | `g.SetLimit(n)` | `g.set_limit(Some(n))?` (`None`: no limit) |
/// | `err := g.Wait()` | `g.wait()` / `g.wait_async().await` → `Result<(), GroupError<E>>` |
///
/// Where Go panics or deadlocks, hoare returns an error: see
/// [`set_limit`](ErrGroup::set_limit).
///
/// ```
/// use hoare::sync::{ErrGroup, GroupError};
///
/// let g = ErrGroup::new();
/// for i in 0..4u32 {
///     g.go(move || if i == 2 { Err(format!("job {i} failed")) } else { Ok(()) });
/// }
/// assert_eq!(g.wait(), Err(GroupError::Failed("job 2 failed".to_string())));
/// ```
pub struct ErrGroup<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    /// The goroutines not yet finished.
    wg: WaitGroup,
    /// Goroutines started and not finished, including those waiting for a slot;
    /// changed under `limit`'s lock when raised.
    active: AtomicUsize,
    /// The first error since the last `wait` took it.
    err: Mutex<Option<GroupError<E>>>,
    /// The limit's tokens, if there is a limit.
    limit: Mutex<Option<Arc<Semaphore>>>,
    /// Cancels the derived context of `with_context`.
    cancel: Option<CancelGuard>,
}

/// Why an [`ErrGroup`] failed: the first error of one of its goroutines.
///
/// ```
/// use hoare::sync::{ErrGroup, GroupError};
///
/// let g = ErrGroup::<std::io::Error>::new();
/// g.go(|| panic!("boom"));
/// let err = g.wait().unwrap_err();
/// assert!(matches!(&err, GroupError::Panicked(msg) if msg == "boom"));
/// assert_eq!(err.to_string(), "errgroup: goroutine panicked: boom");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError<E> {
    /// A goroutine returned this error.
    Failed(E),
    /// A goroutine panicked; the panic's message.
    Panicked(String),
    /// A goroutine was dropped before it finished: its runtime shut down, or none
    /// could be started to run it.
    Canceled,
}

impl<E> GroupError<E> {
    /// The goroutine's own error, if it returned one (rather than panicking or being
    /// canceled).
    ///
    /// ```
    /// use hoare::sync::GroupError;
    ///
    /// assert_eq!(GroupError::Failed(7).into_failed(), Some(7));
    /// assert_eq!(GroupError::<u8>::Canceled.into_failed(), None);
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            GroupError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => e.fmt(f),
            GroupError::Panicked(msg) => write!(f, "errgroup: goroutine panicked: {msg}"),
            GroupError::Canceled => f.write_str("errgroup: goroutine canceled before it finished"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GroupError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A misuse of [`ErrGroup::set_limit`] (where Go panics or would deadlock).
///
/// ```
/// use hoare::sync::{ErrGroup, ErrGroupError};
///
/// let g = ErrGroup::<()>::new();
/// assert_eq!(g.set_limit(Some(0)), Err(ErrGroupError::ZeroLimit));
/// assert_eq!(
///     ErrGroupError::ZeroLimit.to_string(),
///     "errgroup: a limit of 0 would never run a goroutine"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrGroupError {
    /// The limit was changed while goroutines were active (Go panics: "errgroup:
    /// modify limit while N goroutines in the group are still active"). The limit
    /// is unchanged.
    Active(usize),
    /// A limit of zero, which would block every `go` forever. The limit is
    /// unchanged.
    ZeroLimit,
}

impl fmt::Display for ErrGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrGroupError::Active(n) => write!(
                f,
                "errgroup: modify limit while {n} goroutines in the group are still active"
            ),
            ErrGroupError::ZeroLimit => {
                f.write_str("errgroup: a limit of 0 would never run a goroutine")
            }
        }
    }
}

impl std::error::Error for ErrGroupError {}

impl<E> Clone for ErrGroup<E> {
    fn clone(&self) -> Self {
        ErrGroup {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    fn default() -> Self {
        Self::build(None)
    }
}

impl<E: Send + 'static> ErrGroup<E> {
    fn build(cancel: Option<CancelGuard>) -> Self {
        ErrGroup {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                active: AtomicUsize::new(0),
                err: Mutex::new(None),
                limit: Mutex::new(None),
                cancel,
            }),
        }
    }

    /// A group with no limit and no context (Go's zero `errgroup.Group`).
    ///
    /// ```
    /// let g = hoare::sync::ErrGroup::<String>::new();
    /// assert_eq!(g.wait(), Ok(())); // nothing to wait for
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A group and a context derived from `ctx` (Go's `errgroup.WithContext`). The
    /// context is canceled the first time a goroutine of the group fails (returns
    /// an error or panics), or when [`wait`](ErrGroup::wait) returns, whichever
    /// comes first; also when the last handle to the group is dropped.
    ///
    /// It is canceled plainly: its [`err`](Context::err) is
    /// [`Canceled`](crate::context::Error::Canceled) and its
    /// [`cause`](Context::cause) reports just that, since `E` need not be a
    /// `std::error::Error`. The error itself comes from `wait`.
    ///
    /// ```
    /// use hoare::context::{Context, Error};
    /// use hoare::sync::{ErrGroup, GroupError};
    ///
    /// let (g, ctx) = ErrGroup::with_context(&Context::background());
    /// g.go(|| Err("no route"));
    /// {
    ///     let ctx = ctx.clone();
    ///     g.go(move || {
    ///         ctx.done().recv(); // stops once a sibling fails
    ///         Ok(())
    ///     });
    /// }
    /// assert_eq!(g.wait(), Err(GroupError::Failed("no route")));
    /// assert_eq!(ctx.err(), Some(Error::Canceled));
    /// ```
    pub fn with_context(ctx: &Context) -> (Self, Context) {
        let (ctx, cancel) = ctx.with_cancel();
        (Self::build(Some(cancel)), ctx)
    }

    /// Runs blocking code `f` as a goroutine of the group
    /// ([`go_blocking`](crate::go_blocking())). Its error, or its panic, is
    /// recorded if it is the group's first.
    ///
    /// With a limit ([`set_limit`](ErrGroup::set_limit)), `go` blocks the calling
    /// thread until a goroutine of the group finishes and frees a slot, as Go's
    /// does; from async code use [`go_async`](ErrGroup::go_async), which does not
    /// block.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// let g = hoare::sync::ErrGroup::<()>::new();
    /// let sum = Arc::new(AtomicU32::new(0));
    /// for i in 1..=4 {
    ///     let sum = Arc::clone(&sum);
    ///     g.go(move || {
    ///         sum.fetch_add(i, Ordering::Relaxed);
    ///         Ok(())
    ///     });
    /// }
    /// g.wait().unwrap();
    /// assert_eq!(sum.load(Ordering::Relaxed), 10);
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let (mut slot, sem) = self.enter();
        if let Some(sem) = sem {
            // Cannot fail: the limit is at least 1, so a request of 1 fits.
            if sem.acquire(1).is_ok() {
                slot.sem = Some(sem);
            }
        }
        self.spawn_blocking(slot, f);
    }

    /// Runs `f` as [`go`](ErrGroup::go) does if a slot is free now, and returns
    /// `true`; returns `false` without running it if the group is at its limit
    /// (Go's `TryGo`).
    ///
    /// ```
    /// use hoare::sync::ErrGroup;
    ///
    /// let g = ErrGroup::<()>::new();
    /// g.set_limit(Some(1)).unwrap();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// assert!(g.try_go(move || {
    ///     rx.recv(); // hold the only slot until told
    ///     Ok(())
    /// }));
    /// assert!(!g.try_go(|| Ok(()))); // full
    /// tx.send(()).unwrap();
    /// g.wait().unwrap();
    /// assert!(g.try_go(|| Ok(()))); // free again
    /// g.wait().unwrap();
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let slot = {
            let limit = lock(&self.inner.limit);
            match &*limit {
                Some(sem) if !sem.try_acquire(1) => return false,
                sem => {
                    let mut slot = self.slot_locked();
                    slot.sem = sem.clone();
                    slot
                }
            }
        };
        self.spawn_blocking(slot, f);
        true
    }

    /// Runs `future` as a goroutine of the group ([`go`](crate::go())). Its error,
    /// or its panic, is recorded if it is the group's first.
    ///
    /// This never blocks. With a limit, the goroutine is started at once but waits
    /// (asynchronously) for a free slot before it polls `future`, so no more than
    /// the limit run at once; it counts as active while it waits.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::sync::{ErrGroup, GroupError};
    ///
    /// let g = ErrGroup::new();
    /// g.set_limit(Some(2)).unwrap();
    /// for i in 0..5u8 {
    ///     g.go_async(async move { if i == 3 { Err(i) } else { Ok(()) } });
    /// }
    /// assert_eq!(g.wait_async().await, Err(GroupError::Failed(3)));
    /// # }
    /// ```
    #[track_caller]
    pub fn go_async<F>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (mut slot, sem) = self.enter();
        drop(crate::go(async move {
            if let Some(sem) = sem {
                if sem.acquire_async(1).await.is_ok() {
                    slot.sem = Some(sem);
                }
            }
            let result = CatchUnwind { future }.await;
            slot.finish(result);
        }));
    }

    /// Sets how many goroutines of the group may be active at once; `None` removes
    /// the limit (Go's `SetLimit`, where a negative `n` means no limit).
    ///
    /// # Errors
    /// - [`ErrGroupError::Active`] if goroutines of the group are active (Go
    ///   panics);
    /// - [`ErrGroupError::ZeroLimit`] for `Some(0)`, which would block every
    ///   [`go`](ErrGroup::go) forever.
    ///
    /// Either way the limit is unchanged.
    ///
    /// ```
    /// use hoare::sync::{ErrGroup, ErrGroupError};
    ///
    /// let g = ErrGroup::<()>::new();
    /// g.set_limit(Some(1)).unwrap();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// g.go(move || {
    ///     rx.recv();
    ///     Ok(())
    /// });
    /// assert_eq!(g.set_limit(None), Err(ErrGroupError::Active(1)));
    /// tx.send(()).unwrap();
    /// g.wait().unwrap();
    /// assert_eq!(g.set_limit(None), Ok(()));
    /// ```
    pub fn set_limit(&self, limit: Option<usize>) -> Result<(), ErrGroupError> {
        let mut cur = lock(&self.inner.limit);
        // ORDERING: raised under this lock; lowered (without it) only after the
        // goroutine's slot token was given back.
        let active = self.inner.active.load(Ordering::SeqCst);
        if active != 0 {
            return Err(ErrGroupError::Active(active));
        }
        *cur = match limit {
            Some(0) => return Err(ErrGroupError::ZeroLimit),
            Some(n) => Some(Arc::new(Semaphore::new(n as u64))),
            None => None,
        };
        Ok(())
    }

    /// Blocks the calling thread until every goroutine of the group has finished,
    /// then returns the first error (Go's `Wait`), and cancels the context of
    /// [`with_context`](ErrGroup::with_context).
    ///
    /// The error is handed to one `wait`: a later `wait` (or a concurrent one) sees
    /// only errors recorded after it was taken, so the group can be reused. In
    /// async code use [`wait_async`](ErrGroup::wait_async).
    ///
    /// # Errors
    /// The first [`GroupError`] of the group's goroutines.
    ///
    /// ```
    /// use hoare::sync::{ErrGroup, GroupError};
    ///
    /// let g = ErrGroup::new();
    /// g.go(|| Err(1));
    /// assert_eq!(g.wait(), Err(GroupError::Failed(1)));
    /// assert_eq!(g.wait(), Ok(())); // taken
    /// ```
    pub fn wait(&self) -> Result<(), GroupError<E>> {
        self.inner.wg.wait();
        self.finish_wait()
    }

    /// As [`wait`](ErrGroup::wait), in a task: waits without blocking a thread.
    ///
    /// # Errors
    /// The first [`GroupError`] of the group's goroutines.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let g = hoare::sync::ErrGroup::<std::io::Error>::new();
    /// g.go_async(async { Ok(()) });
    /// g.go(|| Ok(()));
    /// assert!(g.wait_async().await.is_ok());
    /// # }
    /// ```
    pub async fn wait_async(&self) -> Result<(), GroupError<E>> {
        self.inner.wg.wait_async().await;
        self.finish_wait()
    }

    fn finish_wait(&self) -> Result<(), GroupError<E>> {
        if let Some(cancel) = &self.inner.cancel {
            cancel.cancel();
        }
        match lock(&self.inner.err).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Counts a new goroutine; gives its slot (holding no token yet) and the
    /// limit's semaphore to take a token from, if there is a limit.
    fn enter(&self) -> (Slot<E>, Option<Arc<Semaphore>>) {
        let limit = lock(&self.inner.limit);
        (self.slot_locked(), limit.clone())
    }

    /// Counts a new goroutine; the caller holds the `limit` lock.
    fn slot_locked(&self) -> Slot<E> {
        // ORDERING: see `set_limit`.
        self.inner.active.fetch_add(1, Ordering::SeqCst);
        // Cannot overflow: every counted goroutine holds an `Arc` of the group,
        // so there are fewer than `usize::MAX` of them.
        let _ = self.inner.wg.add(1);
        Slot {
            group: Arc::clone(&self.inner),
            sem: None,
            finished: false,
        }
    }

    #[track_caller]
    fn spawn_blocking<F>(&self, slot: Slot<E>, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        drop(crate::go_blocking(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            slot.finish(result);
        }));
    }
}

impl<E> Inner<E> {
    /// Keeps `e` if it is the first error, and cancels the context.
    fn record(&self, e: GroupError<E>) {
        {
            let mut first = lock(&self.err);
            if first.is_some() {
                return;
            }
            *first = Some(e);
        }
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
    }
}

/// One goroutine's place in the group: when dropped, gives back its token, stops
/// counting as active and calls `done`; dropped unfinished (aborted, or never run),
/// records [`GroupError::Canceled`].
struct Slot<E> {
    group: Arc<Inner<E>>,
    sem: Option<Arc<Semaphore>>,
    finished: bool,
}

impl<E> Slot<E> {
    fn finish(mut self, result: Result<Result<(), E>, Box<dyn Any + Send>>) {
        self.finished = true;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.group.record(GroupError::Failed(e)),
            Err(payload) => self
                .group
                .record(GroupError::Panicked(panic_message(&*payload))),
        }
    }
}

impl<E> Drop for Slot<E> {
    fn drop(&mut self) {
        if !self.finished {
            self.group.record(GroupError::Canceled);
        }
        if let Some(sem) = self.sem.take() {
            // Cannot fail: this token was taken by this slot.
            let _ = sem.release(1);
        }
        // ORDERING: see `set_limit`.
        self.group.active.fetch_sub(1, Ordering::SeqCst);
        // Balanced by the `add` of `slot_locked`.
        let _ = self.group.wg.done();
    }
}

impl<E> fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = lock(&self.inner.limit).as_ref().map(|s| s.size());
        f.debug_struct("ErrGroup")
            .field("active", &self.inner.active.load(Ordering::Relaxed))
            .field("limit", &limit)
            .field("failed", &lock(&self.inner.err).is_some())
            .field("with_context", &self.inner.cancel.is_some())
            .finish()
    }
}

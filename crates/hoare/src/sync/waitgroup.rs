//! [`WaitGroup`]: wait for a collection of goroutines to finish.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::chan::queue::{self, WaitQueue};
use crate::chan::waiter::AsyncWait;
use crate::go::JoinHandle;
use crate::loom::AtomicUsize;

/// A counter of outstanding work that can be waited on until it reaches zero, as
/// Go's `sync.WaitGroup`.
///
/// [`add`](WaitGroup::add) raises the counter, [`done`](WaitGroup::done) lowers it by
/// one, and [`wait`](WaitGroup::wait) (threads) or
/// [`wait_async`](WaitGroup::wait_async) (tasks) block until it is zero.
/// [`go`](WaitGroup::go) and [`go_async`](WaitGroup::go_async) do all three steps of
/// the usual pattern at once, as Go 1.25's `WaitGroup.Go`.
///
/// A `WaitGroup` is a handle: clones share one counter, so a clone can be moved into
/// each goroutine (or share one by reference). It is `Send + Sync`.
///
/// Unlike Go, misuse is an error rather than a panic: calling `done` more often
/// than `add` returns [`WaitGroupError::Negative`] and leaves the counter at zero,
/// and raising it past `usize::MAX` returns [`WaitGroupError::Overflow`].
///
/// A waiter returns once the counter has been zero at some moment after the wait
/// began: if the group is reused (`add` right after reaching zero), a waiter that
/// was woken by the zero still returns.
///
/// ```
/// use hoare::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// wg.add(2).unwrap();
/// for _ in 0..2 {
///     let wg = wg.clone();
///     std::thread::spawn(move || wg.done().unwrap());
/// }
/// wg.wait();
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    /// Outstanding work.
    count: AtomicUsize,
    /// How many times the counter has dropped to zero; bumped before the waiters
    /// are woken, so a woken waiter returns even if the counter rose again.
    epoch: AtomicUsize,
    /// Blocked waiters, all woken (with `disconnect_all`) when the count hits zero.
    waiters: WaitQueue,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            count: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            waiters: WaitQueue::new(),
        }
    }
}

/// A misuse of a [`WaitGroup`]'s counter.
///
/// ```
/// use hoare::sync::{WaitGroup, WaitGroupError};
///
/// let wg = WaitGroup::new();
/// assert_eq!(wg.done(), Err(WaitGroupError::Negative));
/// assert_eq!(
///     WaitGroupError::Negative.to_string(),
///     "sync: negative WaitGroup counter"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitGroupError {
    /// [`done`](WaitGroup::done) was called with the counter at zero (Go panics with
    /// "sync: negative WaitGroup counter"). The counter stays at zero.
    Negative,
    /// [`add`](WaitGroup::add) would raise the counter past `usize::MAX`. The
    /// counter is left as it was.
    Overflow,
}

impl fmt::Display for WaitGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitGroupError::Negative => "sync: negative WaitGroup counter",
            WaitGroupError::Overflow => "sync: WaitGroup counter overflows usize",
        })
    }
}

impl std::error::Error for WaitGroupError {}

impl WaitGroup {
    /// A group with the counter at zero.
    ///
    /// ```
    /// let wg = hoare::sync::WaitGroup::new();
    /// wg.wait(); // zero: returns at once
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to the counter. `add(0)` does nothing.
    ///
    /// As in Go, an `add` that starts work should happen before the
    /// [`wait`](WaitGroup::wait) that waits for it, typically before the goroutine
    /// is spawned.
    ///
    /// # Errors
    /// [`WaitGroupError::Overflow`] if the counter would pass `usize::MAX`; the
    /// counter is then unchanged.
    ///
    /// ```
    /// use hoare::sync::{WaitGroup, WaitGroupError};
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1).unwrap();
    /// assert_eq!(wg.add(usize::MAX), Err(WaitGroupError::Overflow));
    /// wg.done().unwrap();
    /// wg.wait();
    /// ```
    pub fn add(&self, n: usize) -> Result<(), WaitGroupError> {
        let count = &self.inner.count;
        // ORDERING: SeqCst, like every access to the counter, so the zero test of a
        // waiter and the waker's queue check pair up (see `done`).
        let mut cur = count.load(Ordering::SeqCst);
        loop {
            let new = cur.checked_add(n).ok_or(WaitGroupError::Overflow)?;
            match count.compare_exchange_weak(cur, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Lowers the counter by one; at zero, wakes every waiter.
    ///
    /// # Errors
    /// [`WaitGroupError::Negative`] if the counter is already zero (more `done`s
    /// than `add`s); the counter stays at zero.
    ///
    /// ```
    /// use hoare::sync::{WaitGroup, WaitGroupError};
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1).unwrap();
    /// assert_eq!(wg.done(), Ok(()));
    /// assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    /// ```
    pub fn done(&self) -> Result<(), WaitGroupError> {
        let inner = &*self.inner;
        // ORDERING: see `add`.
        let mut cur = inner.count.load(Ordering::SeqCst);
        loop {
            let new = cur.checked_sub(1).ok_or(WaitGroupError::Negative)?;
            match inner
                .count
                .compare_exchange_weak(cur, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) if new == 0 => break,
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
        // ORDERING: the SeqCst writes of the count and the epoch come before
        // `disconnect_all`'s SeqCst check of its queue; a waiter registers and then
        // loads both with SeqCst, so either it sees the zero or it is woken.
        inner.epoch.fetch_add(1, Ordering::SeqCst);
        inner.waiters.disconnect_all();
        Ok(())
    }

    /// Blocks the calling thread until the counter is zero. Returns at once if it
    /// is zero already. In async code use [`wait_async`](WaitGroup::wait_async).
    ///
    /// ```
    /// use hoare::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// for _ in 0..4 {
    ///     let _ = wg.go(|| std::thread::yield_now()).unwrap();
    /// }
    /// wg.wait();
    /// ```
    pub fn wait(&self) {
        let inner = &*self.inner;
        let epoch = inner.epoch.load(Ordering::SeqCst);
        while !inner.reached_zero(epoch) {
            queue::block_in(&inner.waiters, || inner.reached_zero(epoch), None);
        }
    }

    /// Waits in a task until the counter is zero: the future resolves at once if it
    /// is zero already.
    ///
    /// The future is `!Unpin` (the group's queue holds the address of its waiter
    /// while it waits); `.await` pins it. Dropping it unfinished withdraws it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// for _ in 0..3 {
    ///     let _ = wg.go_async(async {}).unwrap();
    /// }
    /// wg.wait_async().await;
    /// # }
    /// ```
    pub fn wait_async(&self) -> WaitGroupWait<'_> {
        WaitGroupWait {
            inner: &self.inner,
            epoch: self.inner.epoch.load(Ordering::SeqCst),
            wait: None,
            done: false,
        }
    }

    /// Runs blocking code `f` as a goroutine ([`go_blocking`](crate::go_blocking()))
    /// counted by this group: adds one, and calls [`done`](WaitGroup::done) when `f`
    /// returns or panics (Go 1.25's `WaitGroup.Go`). The handle gives `f`'s result,
    /// or its panic as [`JoinError::Panicked`](crate::JoinError::Panicked).
    ///
    /// # Errors
    /// [`WaitGroupError::Overflow`] if the counter is full; `f` is then not run.
    ///
    /// ```
    /// use hoare::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let ok = wg.go(|| 1 + 1).unwrap();
    /// let boom = wg.go(|| -> u8 { panic!("boom") }).unwrap();
    /// wg.wait(); // both finished, the panicking one included
    /// assert_eq!(ok.join(), Ok(2));
    /// assert!(boom.join().is_err());
    /// ```
    #[track_caller]
    pub fn go<F, R>(&self, f: F) -> Result<JoinHandle<R>, WaitGroupError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let done = self.enter()?;
        Ok(crate::go_blocking(move || {
            let _done = done;
            f()
        }))
    }

    /// Runs `future` as a goroutine ([`go`](crate::go())) counted by this group:
    /// adds one, and calls [`done`](WaitGroup::done) when the future completes,
    /// panics, or is aborted.
    ///
    /// # Errors
    /// [`WaitGroupError::Overflow`] if the counter is full; `future` is then not run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let h = wg.go_async(async { "fetched" }).unwrap();
    /// wg.wait_async().await;
    /// assert_eq!(h.await, Ok("fetched"));
    /// # }
    /// ```
    #[track_caller]
    pub fn go_async<F>(&self, future: F) -> Result<JoinHandle<F::Output>, WaitGroupError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let done = self.enter()?;
        Ok(crate::go(async move {
            let _done = done;
            future.await
        }))
    }

    /// Adds one and returns the guard that takes it back.
    fn enter(&self) -> Result<DoneOnDrop, WaitGroupError> {
        self.add(1)?;
        Ok(DoneOnDrop(self.clone()))
    }
}

/// Calls `done` when dropped: when a goroutine of [`WaitGroup::go`] returns, unwinds,
/// is aborted, or cannot be started.
struct DoneOnDrop(WaitGroup);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        // Balanced by the `add` of `enter`, so this cannot go negative unless the
        // user called `done` too often; that error is theirs and is dropped here
        // rather than turned into a panic inside a destructor.
        let _ = self.0.done();
    }
}

impl Inner {
    /// Whether the counter is zero, or has been since the epoch `epoch`.
    fn reached_zero(&self, epoch: usize) -> bool {
        // ORDERING: see `WaitGroup::done`.
        self.count.load(Ordering::SeqCst) == 0 || self.epoch.load(Ordering::SeqCst) != epoch
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.inner.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The future of [`WaitGroup::wait_async`]; resolves once the counter is zero.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let wg = hoare::sync::WaitGroup::new();
/// let wait: hoare::sync::WaitGroupWait<'_> = wg.wait_async();
/// wait.await;
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitGroupWait<'a> {
    inner: &'a Inner,
    epoch: usize,
    /// Made on first need: a wait on a zero counter never registers.
    wait: Option<AsyncWait<()>>,
    done: bool,
}

impl Future for WaitGroupWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out of `this`; `wait` is only used in place, and
        // `Drop` withdraws its registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        let (inner, epoch) = (this.inner, this.epoch);
        loop {
            if inner.reached_zero(epoch) {
                queue::finish(&mut this.wait, &inner.waiters);
                this.done = true;
                return Poll::Ready(());
            }
            // SAFETY: `this.wait` stays in place (we are pinned) until `finish` runs
            // on it, here or in `Drop`.
            let pending = unsafe {
                queue::park(&mut this.wait, cx, &inner.waiters, || {
                    inner.reached_zero(epoch)
                })
            };
            if pending {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for WaitGroupWait<'_> {
    fn drop(&mut self) {
        if !self.done {
            queue::finish(&mut self.wait, &self.inner.waiters);
        }
    }
}

impl fmt::Debug for WaitGroupWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroupWait")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

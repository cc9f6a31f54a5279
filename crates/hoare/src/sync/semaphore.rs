//! [`Semaphore`]: a weighted semaphore, as `golang.org/x/sync/semaphore`.
//!
//! # Design
//! All state (tokens held, and the queue of blocked acquires with their weights)
//! sits behind one mutex, as in x/sync. A blocked acquire is a [`Waiter`] of the
//! crate's waiter protocol (see `chan/waiter.rs`) whose [`Entry`] is queued with its
//! weight. Whoever frees tokens ([`Semaphore::release`], or an acquire that gives up)
//! hands them out, holding the lock, to the waiters at the front of the queue while
//! the front one fits (x/sync's `notifyWaiters`): it adds the waiter's weight to the
//! tokens held and *selects* the waiter with its CAS, so the tokens belong to the
//! waiter from that moment, whether or not it is still there to see them.
//!
//! An acquire that gives up (its context is done, or its future is dropped) first
//! tries to abort its waiter. If the abort wins, nobody granted it anything; it takes
//! its entry out (the entry may already have been dropped as stale by a granter) and
//! hands out tokens to whoever is now at the front. If the abort loses, the tokens
//! were granted: it gives them back, which hands them on in turn. Either way no
//! token is lost, and a queue whose front entry is stale is unblocked by that entry's
//! owner, who always comes back to withdraw it.
//!
//! Invariant, after every critical section: the queue is empty, or its front entry
//! does not fit in the free tokens, or its front entry is stale and its owner is on
//! the way to withdraw it (and hand out tokens then).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{self, Poll};

use crate::chan::waiter::{AsyncWait, Entry, Operation, Unparker, Waiter, ABORTED, WAITING};
use crate::context::{self, Context};
use crate::loom::{lock, park, park_timeout, yield_now, Mutex};

/// The operation a granter selects a queued waiter with.
const GRANT: Operation = Operation::case(0);
/// A blocked thread's registration with its context's done queue.
const DONE: Operation = Operation::case(1);

/// A weighted semaphore, as Go's `golang.org/x/sync/semaphore.Weighted`: it holds
/// `size` tokens, [`acquire`](Semaphore::acquire) takes `n` of them (waiting until
/// they are free) and [`release`](Semaphore::release) gives `n` back.
///
/// Waiters are served first come, first served: an acquire that cannot proceed
/// blocks every acquire after it, even smaller ones that would fit. So a large
/// request (a writer taking every token) is never starved by a stream of small
/// ones. The same semaphore can be used from threads ([`acquire`](Semaphore::acquire),
/// [`acquire_ctx`](Semaphore::acquire_ctx)) and tasks
/// ([`acquire_async`](Semaphore::acquire_async),
/// [`acquire_ctx_async`](Semaphore::acquire_ctx_async)) at once, in one queue.
///
/// Tokens are not tied to who took them (as in Go): any code may release them.
/// Share a semaphore between goroutines with an [`Arc`](std::sync::Arc) (or by
/// reference); it is `Send + Sync`.
///
/// | Go | hoare |
/// |---|---|
/// | `s := semaphore.NewWeighted(n)` | `let s = Semaphore::new(n);` |
/// | `s.Acquire(ctx, n)` | `s.acquire_ctx(&ctx, n)` / `s.acquire_ctx_async(&ctx, n).await` |
/// | (no context) | `s.acquire(n)` / `s.acquire_async(n).await` |
/// | `s.TryAcquire(n)` | `s.try_acquire(n)` |
/// | `s.Release(n)` | `s.release(n)?` |
///
/// Where Go panics or blocks forever, hoare returns an error:
/// - an acquire of more than `size` tokens can never succeed; it fails at once with
///   [`SemaphoreError::TooLarge`] (x/sync blocks until the context is done);
/// - releasing more tokens than are held returns [`SemaphoreError::ReleasedTooMuch`]
///   and changes nothing (x/sync panics).
///
/// A weight of zero takes nothing, so every acquire of zero succeeds at once, even
/// while others wait (x/sync queues it behind them when its context is live).
///
/// ```
/// use std::sync::Arc;
/// use hoare::sync::Semaphore;
///
/// // At most 2 workers at once.
/// let sem = Arc::new(Semaphore::new(2));
/// let workers: Vec<_> = (0..6)
///     .map(|i| {
///         let sem = Arc::clone(&sem);
///         std::thread::spawn(move || {
///             sem.acquire(1).unwrap();
///             let result = i * i; // the bounded work
///             sem.release(1).unwrap();
///             result
///         })
///     })
///     .collect();
/// let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
/// assert_eq!(total, 55);
/// assert!(sem.try_acquire(2)); // all tokens are back
/// ```
pub struct Semaphore {
    /// The number of tokens.
    size: u64,
    state: Mutex<State>,
}

struct State {
    /// Tokens held; never more than `size`.
    cur: u64,
    /// Blocked acquires, oldest first. An entry may be stale (its owner aborted it);
    /// its owner then removes it.
    waiters: VecDeque<Waiting>,
}

/// One blocked acquire: its weight and its waiter.
struct Waiting {
    n: u64,
    entry: Entry,
}

impl Waiting {
    fn new(n: u64, waiter: &Waiter) -> Self {
        Waiting {
            n,
            entry: Entry {
                waiter: waiter.into(),
                oper: GRANT,
                packet: std::ptr::null_mut(),
            },
        }
    }
}

/// Owners to wake once the lock is released; the first without allocating.
#[derive(Default)]
struct Wakes {
    first: Option<Unparker>,
    rest: Vec<Unparker>,
}

impl Wakes {
    fn push(&mut self, unparker: Unparker) {
        if self.first.is_none() {
            self.first = Some(unparker);
        } else {
            self.rest.push(unparker);
        }
    }

    fn unpark(self) {
        self.first
            .into_iter()
            .chain(self.rest)
            .for_each(Unparker::unpark);
    }
}

impl State {
    /// Whether an acquire of `n` can take its tokens now, without queueing: a zero
    /// weight always can; otherwise nobody may be waiting (FIFO) and `n` must fit.
    fn fits_now(&self, size: u64, n: u64) -> bool {
        n == 0 || (self.waiters.is_empty() && size - self.cur >= n)
    }

    /// Hands tokens to the waiters at the front while the front one fits (x/sync's
    /// `notifyWaiters`). Stops at the first that does not fit, so later, smaller
    /// waiters cannot overtake it.
    fn grant(&mut self, size: u64, wakes: &mut Wakes) {
        while let Some(front) = self.waiters.front() {
            if size - self.cur < front.n {
                break;
            }
            let Some(next) = self.waiters.pop_front() else {
                break;
            };
            // SAFETY: we hold the semaphore's lock, took the entry out of its queue
            // in this critical section, and release the selection before unlocking.
            if let Some(selected) = unsafe { next.entry.try_select() } {
                self.cur += next.n;
                wakes.push(selected.release());
            }
            // Otherwise stale: its owner gave up and will find the entry gone.
        }
    }

    /// Takes `waiter`'s entry out, if it is still queued.
    fn remove(&mut self, waiter: &Waiter) {
        if let Some(i) = self.waiters.iter().position(|w| w.entry.is(waiter, GRANT)) {
            self.waiters.remove(i);
        }
    }
}

/// Why an acquire or release failed.
///
/// ```
/// use hoare::sync::{Semaphore, SemaphoreError};
///
/// let sem = Semaphore::new(2);
/// assert_eq!(
///     sem.acquire(3),
///     Err(SemaphoreError::TooLarge { weight: 3, size: 2 })
/// );
/// assert_eq!(
///     sem.release(1).unwrap_err().to_string(),
///     "semaphore: released 1 tokens but only 0 are held"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SemaphoreError {
    /// An acquire asked for more tokens than the semaphore has, so it could never
    /// succeed; it failed at once and changed nothing.
    TooLarge {
        /// The weight asked for.
        weight: u64,
        /// The semaphore's size.
        size: u64,
    },
    /// The acquire's context was done before the tokens were acquired; the
    /// semaphore is as if the acquire had never been made.
    Canceled(context::Error),
    /// A release gave back more tokens than were held (x/sync panics with
    /// "semaphore: released more than held"); nothing was released.
    ReleasedTooMuch {
        /// The tokens the call tried to release.
        released: u64,
        /// The tokens held at the time.
        held: u64,
    },
}

impl fmt::Display for SemaphoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SemaphoreError::TooLarge { weight, size } => write!(
                f,
                "semaphore: acquire of weight {weight} exceeds the size {size}"
            ),
            SemaphoreError::Canceled(e) => write!(f, "semaphore: acquire canceled: {e}"),
            SemaphoreError::ReleasedTooMuch { released, held } => write!(
                f,
                "semaphore: released {released} tokens but only {held} are held"
            ),
        }
    }
}

impl std::error::Error for SemaphoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SemaphoreError::Canceled(e) => Some(e),
            _ => None,
        }
    }
}

impl Semaphore {
    /// A semaphore of `size` tokens, all free. A size of zero is allowed: every
    /// acquire of a positive weight then fails with [`SemaphoreError::TooLarge`].
    ///
    /// ```
    /// let sem = hoare::sync::Semaphore::new(10);
    /// assert!(sem.try_acquire(10));
    /// assert!(!sem.try_acquire(1));
    /// ```
    pub fn new(size: u64) -> Self {
        Semaphore {
            size,
            state: Mutex::new(State {
                cur: 0,
                waiters: VecDeque::new(),
            }),
        }
    }

    /// The number of tokens the semaphore was made with.
    ///
    /// ```
    /// assert_eq!(hoare::sync::Semaphore::new(3).size(), 3);
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many acquires are queued (for tests that wait for a waiter to queue).
    #[doc(hidden)]
    pub fn __waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }

    /// Acquires `n` tokens, blocking the calling thread until they are free and
    /// every acquire queued before this one has been served. An acquire of zero
    /// returns at once. In async code use
    /// [`acquire_async`](Semaphore::acquire_async); to give up when a context is
    /// done, [`acquire_ctx`](Semaphore::acquire_ctx).
    ///
    /// # Errors
    /// [`SemaphoreError::TooLarge`] at once if `n` exceeds the size.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hoare::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// sem.acquire(1).unwrap();
    /// let other = {
    ///     let sem = Arc::clone(&sem);
    ///     std::thread::spawn(move || sem.acquire(1)) // blocks until the release
    /// };
    /// sem.release(1).unwrap();
    /// other.join().unwrap().unwrap();
    /// ```
    pub fn acquire(&self, n: u64) -> Result<(), SemaphoreError> {
        let mut st = lock(&self.state);
        if st.fits_now(self.size, n) {
            st.cur += n;
            return Ok(());
        }
        if n > self.size {
            return Err(self.too_large(n));
        }
        let waiter = Waiter::for_thread();
        st.waiters.push_back(Waiting::new(n, &waiter));
        drop(st);
        // Nobody aborts or disconnects this waiter: it returns once granted, when the
        // granter is done with it (so `waiter` may then be dropped).
        waiter.wait_until(None);
        Ok(())
    }

    /// Acquires `n` tokens, blocking the calling thread until they are free or
    /// `ctx` is done, as x/sync's `Acquire(ctx, n)`.
    ///
    /// Which wins when both happen follows x/sync: if `ctx` is done when the call
    /// begins, it fails even if the tokens are free; if the tokens are granted but
    /// `ctx` is found done right after, they are given back (to the next waiter) and
    /// the call fails. On failure the semaphore is as if the call had not been made,
    /// and waiters behind this one that can now proceed are woken.
    ///
    /// # Errors
    /// [`SemaphoreError::Canceled`] with `ctx`'s error;
    /// [`SemaphoreError::TooLarge`] at once if `n` exceeds the size (x/sync waits
    /// for the context instead).
    ///
    /// ```
    /// use hoare::context::{Context, Error};
    /// use hoare::sync::{Semaphore, SemaphoreError};
    ///
    /// let sem = Semaphore::new(1);
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// sem.acquire_ctx(&ctx, 1).unwrap();
    /// cancel.cancel();
    /// // No token is free, and the context is done: fails instead of blocking.
    /// assert_eq!(
    ///     sem.acquire_ctx(&ctx, 1),
    ///     Err(SemaphoreError::Canceled(Error::Canceled))
    /// );
    /// ```
    pub fn acquire_ctx(&self, ctx: &Context, n: u64) -> Result<(), SemaphoreError> {
        if let Some(e) = ctx.err() {
            return Err(SemaphoreError::Canceled(e));
        }
        let Some(done) = ctx.done_waiters() else {
            return self.acquire(n); // a context that is never done
        };
        let mut st = lock(&self.state);
        if st.fits_now(self.size, n) {
            st.cur += n;
            return Ok(());
        }
        if n > self.size {
            return Err(self.too_large(n));
        }
        let waiter = Waiter::for_thread();
        st.waiters.push_back(Waiting::new(n, &waiter));
        drop(st);
        // The waiter waits on two queues at once, as a select does: whichever of the
        // granter and the context's cancellation wins its CAS decides.
        done.register(&waiter, DONE);
        if ctx.is_done() {
            // Done while we queued: give up, unless already granted.
            waiter.try_abort();
        }
        let state = wait_ctx(&waiter, ctx);
        done.unregister(&waiter, DONE);
        if state == GRANT.id() {
            return match ctx.err() {
                None => Ok(()),
                Some(e) => {
                    self.put_back(n);
                    Err(SemaphoreError::Canceled(e))
                }
            };
        }
        self.withdraw(&waiter);
        Err(SemaphoreError::Canceled(
            ctx.err().unwrap_or(context::Error::Canceled),
        ))
    }

    /// Acquires `n` tokens in a task: the future resolves once they are free and
    /// every acquire queued before it has been served (at once if they are free
    /// now and nobody waits, or if `n` is zero).
    ///
    /// The future holds its place in the queue from its first poll. Dropping it
    /// unfinished withdraws it, waking the waiters behind it that can now proceed;
    /// if the tokens had already been granted to it, they are given back. So a
    /// cancelled acquire never loses tokens.
    ///
    /// # Errors
    /// The future resolves to [`SemaphoreError::TooLarge`] at once if `n` exceeds
    /// the size.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// use hoare::sync::Semaphore;
    ///
    /// let sem = Arc::new(Semaphore::new(3));
    /// let tasks: Vec<_> = (0..5)
    ///     .map(|_| {
    ///         let sem = Arc::clone(&sem);
    ///         hoare::go(async move {
    ///             sem.acquire_async(2).await.unwrap();
    ///             tokio::task::yield_now().await;
    ///             sem.release(2).unwrap();
    ///         })
    ///     })
    ///     .collect();
    /// for t in tasks {
    ///     t.await.unwrap();
    /// }
    /// assert!(sem.try_acquire(3));
    /// # }
    /// ```
    pub fn acquire_async(&self, n: u64) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            sem: self,
            n,
            wait: None,
            done: false,
        }
    }

    /// Acquires `n` tokens in a task, giving up when `ctx` is done: the async form
    /// of [`acquire_ctx`](Semaphore::acquire_ctx), with the same rules for which of
    /// the two wins, and the same errors. A context deadline is watched with a timer
    /// (tokio's inside a tokio runtime, so a paused clock applies).
    ///
    /// Dropping the future unfinished withdraws it as
    /// [`acquire_async`](Semaphore::acquire_async) does: no token is lost.
    ///
    /// # Errors
    /// [`SemaphoreError::Canceled`] with `ctx`'s error;
    /// [`SemaphoreError::TooLarge`] at once if `n` exceeds the size.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use hoare::context::{Context, Error};
    /// use hoare::sync::{Semaphore, SemaphoreError};
    ///
    /// let sem = Semaphore::new(4);
    /// sem.acquire_async(4).await.unwrap();
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(1));
    /// assert_eq!(
    ///     sem.acquire_ctx_async(&ctx, 1).await,
    ///     Err(SemaphoreError::Canceled(Error::DeadlineExceeded))
    /// );
    /// sem.release(4).unwrap();
    /// assert!(sem.try_acquire(4)); // the canceled acquire left nothing behind
    /// # }
    /// ```
    pub async fn acquire_ctx_async(&self, ctx: &Context, n: u64) -> Result<(), SemaphoreError> {
        if let Some(e) = ctx.err() {
            return Err(SemaphoreError::Canceled(e));
        }
        let done = ctx.done();
        let mut acquire = pin!(self.acquire_async(n));
        let mut canceled = pin!(done.recv_async());
        std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = acquire.as_mut().poll(cx) {
                return Poll::Ready(r.and_then(|()| match ctx.err() {
                    None => Ok(()),
                    Some(e) => {
                        // Granted, but the context is done: as x/sync, give back.
                        self.put_back(n);
                        Err(SemaphoreError::Canceled(e))
                    }
                }));
            }
            if canceled.as_mut().poll(cx).is_ready() {
                // Dropping `acquire` (when this function returns) withdraws it, or
                // gives back tokens granted meanwhile.
                return Poll::Ready(Err(SemaphoreError::Canceled(
                    ctx.err().unwrap_or(context::Error::Canceled),
                )));
            }
            Poll::Pending
        })
        .await
    }

    /// Acquires `n` tokens if they are free now and nobody is waiting (FIFO: a
    /// waiter is not overtaken); returns whether it did. `try_acquire(0)` is always
    /// true; a weight above the size is always false.
    ///
    /// ```
    /// let sem = hoare::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire(1));
    /// assert!(!sem.try_acquire(2));
    /// assert!(sem.try_acquire(1));
    /// assert!(sem.try_acquire(0));
    /// ```
    pub fn try_acquire(&self, n: u64) -> bool {
        if n == 0 {
            return true;
        }
        let mut st = lock(&self.state);
        if st.fits_now(self.size, n) {
            st.cur += n;
            true
        } else {
            false
        }
    }

    /// Gives back `n` tokens and wakes the waiters at the front of the queue that
    /// they let proceed, in order.
    ///
    /// # Errors
    /// [`SemaphoreError::ReleasedTooMuch`] if fewer than `n` tokens are held (x/sync
    /// panics); nothing is released then.
    ///
    /// ```
    /// use hoare::sync::{Semaphore, SemaphoreError};
    ///
    /// let sem = Semaphore::new(5);
    /// sem.acquire(3).unwrap();
    /// sem.release(2).unwrap();
    /// assert_eq!(
    ///     sem.release(2),
    ///     Err(SemaphoreError::ReleasedTooMuch { released: 2, held: 1 })
    /// );
    /// sem.release(1).unwrap();
    /// ```
    pub fn release(&self, n: u64) -> Result<(), SemaphoreError> {
        let mut wakes = Wakes::default();
        {
            let mut st = lock(&self.state);
            if n > st.cur {
                return Err(SemaphoreError::ReleasedTooMuch {
                    released: n,
                    held: st.cur,
                });
            }
            st.cur -= n;
            st.grant(self.size, &mut wakes);
        }
        wakes.unpark();
        Ok(())
    }

    fn too_large(&self, n: u64) -> SemaphoreError {
        SemaphoreError::TooLarge {
            weight: n,
            size: self.size,
        }
    }

    /// Gives back `n` tokens that were granted to an acquire that will not use them.
    fn put_back(&self, n: u64) {
        let mut wakes = Wakes::default();
        {
            let mut st = lock(&self.state);
            st.cur -= n;
            st.grant(self.size, &mut wakes);
        }
        wakes.unpark();
    }

    /// Takes out the entry of an aborted `waiter` (unless a granter dropped it as
    /// stale already) and hands out tokens to whoever is now at the front: if the
    /// waiter was the front, the waiters behind it may fit now (x/sync: "If we're at
    /// the front and there're extra tokens left, notify other waiters"). Otherwise
    /// the front is unchanged and this hands out nothing.
    fn withdraw(&self, waiter: &Waiter) {
        let mut wakes = Wakes::default();
        {
            let mut st = lock(&self.state);
            st.remove(waiter);
            st.grant(self.size, &mut wakes);
        }
        wakes.unpark();
    }
}

/// Parks the calling thread until `waiter` (queued on the semaphore and on `ctx`'s
/// done queue) is granted or disconnected, or `ctx` turns out done (its deadline
/// is noticed when looked at); then aborts it. Returns the settled state.
fn wait_ctx(waiter: &Waiter, ctx: &Context) -> usize {
    loop {
        let s = waiter.state();
        if s != WAITING {
            return waiter.settled(s);
        }
        if ctx.is_done() {
            if waiter.try_abort() {
                return ABORTED;
            }
            continue; // selected meanwhile: settle above
        }
        match ctx.deadline() {
            None => park(),
            Some(d) => {
                let now = crate::time::now();
                if d > now {
                    park_timeout(d - now);
                } else {
                    yield_now();
                }
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("held", &st.cur)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// The future of [`Semaphore::acquire_async`]; resolves once the tokens are
/// acquired (or at once to [`SemaphoreError::TooLarge`]).
///
/// `!Unpin`: while it waits, the semaphore's queue holds the address of its waiter.
/// `.await` pins it. Dropping it unfinished withdraws it, and gives back tokens that
/// were granted to it but not yet seen.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use hoare::sync::{Semaphore, SemaphoreAcquire};
///
/// let sem = Semaphore::new(1);
/// let acquire: SemaphoreAcquire<'_> = sem.acquire_async(1);
/// acquire.await.unwrap();
/// sem.release(1).unwrap();
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    n: u64,
    /// Made when the acquire first has to wait.
    wait: Option<AsyncWait<()>>,
    /// Resolved: the tokens (if any) are the caller's.
    done: bool,
}

impl Future for SemaphoreAcquire<'_> {
    type Output = Result<(), SemaphoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `this`; `wait` is only used in place, and
        // `Drop` withdraws its registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        if this.done {
            return Poll::Pending;
        }
        let sem = this.sem;
        if let Some(w) = this.wait.as_mut().filter(|w| w.registered) {
            if w.waiter.state() == WAITING {
                if w.same_waker(cx.waker()) {
                    return Poll::Pending;
                }
                // The task's waker changed. Granters reach the waiter only under the
                // semaphore's lock, so with the lock held and the abort won, nobody
                // is at the waiter: re-arm it in place, keeping its place in line.
                let st = lock(&sem.state);
                if w.waiter.try_abort() {
                    // SAFETY: the entry stays queued, but every party that could
                    // select through it needs the lock we hold, and our abort won:
                    // no selector is at the waiter (the condition `arm` asks for).
                    unsafe { w.arm(cx.waker()) };
                    drop(st);
                    return Poll::Pending;
                }
                drop(st);
            }
            // Granted: the granter took our entry out and added our tokens.
            w.waiter.settled(w.waiter.state());
            w.registered = false;
            this.done = true;
            return Poll::Ready(Ok(()));
        }
        let n = this.n;
        let mut st = lock(&sem.state);
        if st.fits_now(sem.size, n) {
            st.cur += n;
            this.done = true;
            return Poll::Ready(Ok(()));
        }
        if n > sem.size {
            this.done = true;
            return Poll::Ready(Err(sem.too_large(n)));
        }
        let w = this.wait.get_or_insert_with(AsyncWait::default);
        // SAFETY: not queued (registered is false), so no selector is at the waiter.
        unsafe { w.arm(cx.waker()) };
        st.waiters.push_back(Waiting::new(n, &w.waiter));
        w.registered = true;
        Poll::Pending
    }
}

impl Drop for SemaphoreAcquire<'_> {
    fn drop(&mut self) {
        let Some(w) = self.wait.as_mut().filter(|w| w.registered) else {
            return;
        };
        w.registered = false;
        if w.waiter.try_abort() {
            self.sem.withdraw(&w.waiter);
        } else {
            // Granted, but the future is gone before it saw the tokens: give them back.
            w.waiter.settled(w.waiter.state());
            self.sem.put_back(self.n);
        }
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("n", &self.n)
            .field("waiting", &self.wait.as_ref().is_some_and(|w| w.registered))
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

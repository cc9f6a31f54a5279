//! [`Cond`]: a condition variable, as Go's `sync.Cond`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use crate::chan::queue::{self, WaitQueue};
use crate::chan::waiter::{AsyncWait, Operation, Waiter};
use crate::loom::AtomicUsize;

/// A lock a [`Cond`] can relock after a wait: Go's `sync.Locker`, with the lock's
/// guard standing for "locked".
///
/// Implemented for [`std::sync::Mutex`]; implement it for other locks (such as a
/// `parking_lot` mutex, or the write side of a lock) to use them with `Cond`.
///
/// ```
/// use hoare::sync::Locker;
/// use std::sync::Mutex;
///
/// let m = Mutex::new(1);
/// let guard = Locker::acquire(&m);
/// assert_eq!(*guard, 1);
/// ```
pub trait Locker {
    /// Proof that the lock is held; dropping it unlocks.
    type Guard<'a>
    where
        Self: 'a;

    /// Blocks until the lock is held.
    fn acquire(&self) -> Self::Guard<'_>;
}

/// Poisoning is ignored, as Go has none: a `Cond` hands back the guard of a
/// poisoned mutex rather than panicking. Check [`Mutex::is_poisoned`] if a panic
/// while the lock was held may have left your data inconsistent.
///
/// [`Mutex::is_poisoned`]: std::sync::Mutex::is_poisoned
impl<T: ?Sized> Locker for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        T: 'a;

    fn acquire(&self) -> Self::Guard<'_> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// loom's mutex, so that models can use a `Cond` (builds with `--cfg loom` only).
#[cfg(loom)]
impl<T> Locker for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        T: 'a;

    fn acquire(&self) -> Self::Guard<'_> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A condition variable, as Go's `sync.Cond`: goroutines wait on it for a condition
/// about data guarded by a mutex, and whoever changes that data wakes one waiter
/// ([`signal`](Cond::signal)) or all of them ([`broadcast`](Cond::broadcast)).
///
/// Go ties a `Cond` to its `Locker` when it is made; std's guards cannot lead back to
/// their mutex, so here the mutex is passed to each wait, with its guard:
/// `guard = cond.wait(&mutex, guard)`. Use one mutex with one `Cond`; passing a
/// guard of another lock is a logic error (that lock is unlocked and `mutex` is
/// locked instead), though never undefined behaviour.
///
/// Waiting unlocks the mutex and sleeps as one step: the waiter is queued before the
/// mutex is released, so a `signal` sent by anyone who locks the mutex after the
/// waiter checked its condition always reaches it.
///
/// # Spurious wake-ups
/// As in Go, a wait can return without the condition being true: another goroutine
/// may have taken the lock first and changed the data, and a `signal` may release
/// more than one waiter when it races waits that are just starting (async waits in
/// particular). Always wait in a loop on the condition:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use hoare::sync::Cond;
///
/// let ready = Arc::new((Mutex::new(false), Cond::new()));
/// let setter = {
///     let ready = Arc::clone(&ready);
///     std::thread::spawn(move || {
///         let (flag, cond) = &*ready;
///         *flag.lock().unwrap() = true;
///         cond.signal();
///     })
/// };
/// let (flag, cond) = &*ready;
/// let mut guard = flag.lock().unwrap();
/// while !*guard {
///     guard = cond.wait(flag, guard);
/// }
/// setter.join().unwrap();
/// ```
///
/// In most code a channel is simpler; `Cond` earns its place with
/// [`broadcast`](Cond::broadcast), which wakes every waiter at once.
pub struct Cond {
    /// Waiting threads and tasks, oldest first.
    waiters: WaitQueue,
    /// Bumped by every `signal` and `broadcast`, so an async wait that unlocked
    /// before it could queue (it is queued on first poll) notices one it missed.
    signals: AtomicUsize,
}

impl Default for Cond {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("waiters", &self.waiters)
            .finish_non_exhaustive()
    }
}

impl Cond {
    /// A condition variable with no waiters.
    ///
    /// ```
    /// let cond = hoare::sync::Cond::new();
    /// cond.signal(); // nobody waits: a no-op
    /// ```
    pub fn new() -> Self {
        Self {
            waiters: WaitQueue::new(),
            signals: AtomicUsize::new(0),
        }
    }

    /// Unlocks `lock` (by consuming `guard`), blocks the calling thread until woken
    /// by [`signal`](Cond::signal) or [`broadcast`](Cond::broadcast), then locks
    /// `lock` again and returns its guard. `guard` must be a guard of `lock`.
    ///
    /// Can return spuriously: call it in a loop on your condition (see [`Cond`]). A
    /// poisoned `std` mutex is relocked as if it were not poisoned. In async code use
    /// [`wait_async`](Cond::wait_async).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use hoare::sync::Cond;
    ///
    /// let shared = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
    /// let producer = {
    ///     let shared = Arc::clone(&shared);
    ///     std::thread::spawn(move || {
    ///         shared.0.lock().unwrap().push(7);
    ///         shared.1.signal();
    ///     })
    /// };
    /// let (items, cond) = &*shared;
    /// let mut guard = items.lock().unwrap();
    /// while guard.is_empty() {
    ///     guard = cond.wait(items, guard);
    /// }
    /// assert_eq!(guard.pop(), Some(7));
    /// # drop(guard);
    /// # producer.join().unwrap();
    /// ```
    pub fn wait<'a, L: Locker + ?Sized>(&self, lock: &'a L, guard: L::Guard<'a>) -> L::Guard<'a> {
        let waiter = Waiter::for_thread();
        // Queued while the lock is still held: whoever locks after us and signals
        // finds us in the queue.
        self.waiters.register(&waiter, Operation::SINGLE);
        let queued = Queued {
            queue: &self.waiters,
            waiter: &waiter,
        };
        drop(guard);
        waiter.wait_until(None);
        // Withdraws nothing (the waker took our entry), or, if dropping the guard
        // panicked, withdraws the entry before `waiter` goes away.
        drop(queued);
        lock.acquire()
    }

    /// Unlocks `lock` (by consuming `guard`) and returns a future that resolves,
    /// once the `Cond` is signalled, to a new guard of `lock`.
    ///
    /// The unlock happens now, in this call, after the wait's place in line is
    /// taken: a `signal` or `broadcast` after this call is never lost, even before
    /// the future is first polled (then it may also release another waiter: a
    /// spurious wake-up, see [`Cond`]). The future holds no guard while it waits, so
    /// it is `Send` whenever `L` is `Sync`; the relock at the end blocks the task's
    /// thread for as long as the lock is contended, as any `std` mutex in async code
    /// does.
    ///
    /// A `std` guard is not `Send`, and the compiler counts a guard variable as held
    /// across an `.await` while it is in scope, even once moved into this call: so in
    /// a task that must be `Send`, make the guard in a block that ends before the
    /// `.await` (as below), or use [`wait_until_async`](Cond::wait_until_async),
    /// which does the whole check-and-wait loop.
    ///
    /// Dropping the future unfinished withdraws it; a wake-up it had already
    /// received is passed on to another waiter.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use hoare::sync::Cond;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let shared = Arc::new((Mutex::new(0u32), Cond::new()));
    /// let waiter = {
    ///     let shared = Arc::clone(&shared);
    ///     hoare::go(async move {
    ///         let (count, cond) = &*shared;
    ///         loop {
    ///             let wait = {
    ///                 let guard = count.lock().unwrap();
    ///                 if *guard >= 3 {
    ///                     break *guard;
    ///                 }
    ///                 cond.wait_async(count, guard)
    ///             };
    ///             drop(wait.await); // relocked; checked again at the loop's top
    ///         }
    ///     })
    /// };
    /// for _ in 0..3 {
    ///     *shared.0.lock().unwrap() += 1;
    ///     shared.1.broadcast();
    ///     tokio::task::yield_now().await;
    /// }
    /// assert_eq!(waiter.await, Ok(3));
    /// # }
    /// ```
    pub fn wait_async<'a, L: Locker + ?Sized>(
        &'a self,
        lock: &'a L,
        guard: L::Guard<'a>,
    ) -> CondWait<'a, L> {
        // ORDERING: read while the lock is held; a signaller that changes the data
        // after we unlock bumps the count after this load (see `Cond::bump`).
        let seen = self.signals.load(Ordering::SeqCst);
        drop(guard);
        CondWait {
            cond: self,
            lock,
            seen,
            wait: None,
            woken: false,
        }
    }

    /// Waits in a task until `condition` holds for the data behind `lock`, and
    /// returns the guard with it holding: locks, checks, and while the check fails,
    /// waits for a signal (as [`wait_async`](Cond::wait_async)) and checks again.
    /// This is the loop every wait needs (see [`Cond`]), and the easiest async form:
    /// no guard is ever held by the caller across an `.await`, so the task stays
    /// `Send`.
    ///
    /// The condition runs with the lock held, once per wake-up. The relocks block
    /// the task's thread while the lock is contended, as any `std` mutex in async
    /// code does. Dropping the future unfinished withdraws it (passing on a wake-up
    /// it had received).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use hoare::sync::Cond;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let shared = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
    /// let consumer = {
    ///     let shared = Arc::clone(&shared);
    ///     hoare::go(async move {
    ///         let (items, cond) = &*shared;
    ///         let mut guard = cond.wait_until_async(items, |v| !v.is_empty()).await;
    ///         guard.pop()
    ///     })
    /// };
    /// shared.0.lock().unwrap().push(9);
    /// shared.1.signal();
    /// assert_eq!(consumer.await, Ok(Some(9)));
    /// # }
    /// ```
    pub fn wait_until_async<'a, L, F>(
        &'a self,
        lock: &'a L,
        condition: F,
    ) -> CondWaitUntil<'a, L, F>
    where
        L: Locker + ?Sized,
        F: FnMut(&mut L::Guard<'a>) -> bool,
    {
        CondWaitUntil {
            cond: self,
            lock,
            condition,
            seen: None,
            wait: None,
            done: false,
        }
    }

    /// Wakes one waiter, the longest waiting, if any. Holding the lock while
    /// signalling is allowed but not required (as in Go).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use hoare::sync::Cond;
    ///
    /// let shared = Arc::new((Mutex::new(None::<&str>), Cond::new()));
    /// let consumer = {
    ///     let shared = Arc::clone(&shared);
    ///     std::thread::spawn(move || {
    ///         let (slot, cond) = &*shared;
    ///         let mut guard = slot.lock().unwrap();
    ///         loop {
    ///             if let Some(msg) = guard.take() {
    ///                 return msg;
    ///             }
    ///             guard = cond.wait(slot, guard);
    ///         }
    ///     })
    /// };
    /// *shared.0.lock().unwrap() = Some("hello");
    /// shared.1.signal();
    /// assert_eq!(consumer.join().unwrap(), "hello");
    /// ```
    pub fn signal(&self) {
        self.bump();
        self.waiters.notify_one();
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use hoare::sync::Cond;
    ///
    /// let shared = Arc::new((Mutex::new(false), Cond::new()));
    /// let waiters: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         let shared = Arc::clone(&shared);
    ///         std::thread::spawn(move || {
    ///             let (open, cond) = &*shared;
    ///             let mut guard = open.lock().unwrap();
    ///             while !*guard {
    ///                 guard = cond.wait(open, guard);
    ///             }
    ///         })
    ///     })
    ///     .collect();
    /// *shared.0.lock().unwrap() = true;
    /// shared.1.broadcast();
    /// for w in waiters {
    ///     w.join().unwrap();
    /// }
    /// ```
    pub fn broadcast(&self) {
        self.bump();
        self.waiters.disconnect_all();
    }

    /// Counts a signal before waking anyone.
    fn bump(&self) {
        // ORDERING: a waiter queues (a SeqCst store and fence in `register`) and then
        // loads `signals`; we bump `signals` and then check the queue with a SeqCst
        // load. One of the two sees the other, so the waiter is woken or sees the
        // bump. loom models SeqCst accesses more weakly than the C++ total order, so
        // its builds spell that out with a fence, as `disconnect_all` does.
        self.signals.fetch_add(1, Ordering::SeqCst);
        #[cfg(loom)]
        crate::loom::fence(Ordering::SeqCst);
    }
}

/// A thread's queued waiter: withdraws it if it is still queued when dropped (on a
/// panic while unlocking), and passes on a wake-up it got but cannot use.
struct Queued<'q> {
    queue: &'q WaitQueue,
    waiter: &'q Waiter,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.waiter.try_abort() {
            self.queue.unregister(self.waiter, Operation::SINGLE);
            return;
        }
        // Woken: wait until the waker is done with the waiter (protocol rule 3).
        let state = self.waiter.settled(self.waiter.state());
        if std::thread::panicking() && state >= Operation::SINGLE.id() {
            self.queue.notify_one();
        }
    }
}

/// The future of [`Cond::wait_async`]; resolves to a new guard of the lock once the
/// `Cond` is signalled.
///
/// `!Unpin`: while it waits, the `Cond` holds the address of its waiter. `.await`
/// pins it.
///
/// ```
/// use std::sync::Mutex;
/// use hoare::sync::{Cond, CondWait};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (m, cond) = (Mutex::new(()), Cond::new());
/// let wait: CondWait<'_, Mutex<()>> = cond.wait_async(&m, m.lock().unwrap());
/// cond.signal(); // after the call, before the first poll: not lost
/// let _guard = wait.await;
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CondWait<'a, L: ?Sized> {
    cond: &'a Cond,
    lock: &'a L,
    /// `cond.signals` when the lock was released.
    seen: usize,
    /// Made on first poll.
    wait: Option<AsyncWait<()>>,
    /// Signalled; what is left is the relock.
    woken: bool,
}

impl<L: ?Sized> CondWait<'_, L> {
    /// Whether a signal or broadcast came since the lock was released.
    fn missed_signal(&self) -> bool {
        // ORDERING: see `Cond::bump`.
        self.cond.signals.load(Ordering::SeqCst) != self.seen
    }
}

impl<'a, L: Locker + ?Sized> Future for CondWait<'a, L> {
    type Output = L::Guard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<L::Guard<'a>> {
        // SAFETY: nothing is moved out of `this`; `wait` is only used in place, and
        // `Drop` withdraws its registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        if !this.woken {
            let (cond, seen) = (this.cond, this.seen);
            let missed = || cond.signals.load(Ordering::SeqCst) != seen;
            // SAFETY: `this.wait` stays in place (we are pinned) until `finish` runs
            // on it, in `Drop`.
            if unsafe { queue::park(&mut this.wait, cx, &cond.waiters, missed) } {
                return Poll::Pending;
            }
            // Woken (our entry is gone), or a signal came before we were queued.
            this.woken = true;
        }
        Poll::Ready(this.lock.acquire())
    }
}

impl<L: ?Sized> Drop for CondWait<'_, L> {
    fn drop(&mut self) {
        if self.woken {
            return;
        }
        let queued = self.wait.as_ref().is_some_and(|w| w.registered);
        // Withdraws our entry, or passes on a signal that reached it.
        queue::finish(&mut self.wait, &self.cond.waiters);
        if !queued && self.missed_signal() {
            // Never queued, but a signal may have counted on us: pass it on.
            self.cond.waiters.notify_one();
        }
    }
}

impl<L: ?Sized> fmt::Debug for CondWait<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondWait")
            .field("woken", &self.woken)
            .finish_non_exhaustive()
    }
}

/// The future of [`Cond::wait_until_async`]; resolves to a guard of the lock with
/// the condition holding.
///
/// `!Unpin`: while it waits, the `Cond` holds the address of its waiter. `.await`
/// pins it.
///
/// ```
/// use std::sync::Mutex;
/// use hoare::sync::Cond;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (ready, cond) = (Mutex::new(true), Cond::new());
/// let guard = cond.wait_until_async(&ready, |r| **r).await; // true already
/// assert!(*guard);
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CondWaitUntil<'a, L: ?Sized, F> {
    cond: &'a Cond,
    lock: &'a L,
    condition: F,
    /// `cond.signals` when the lock was last released to wait; `None` when the
    /// condition is to be checked (first poll, or after a wake-up).
    seen: Option<usize>,
    /// Made on first wait.
    wait: Option<AsyncWait<()>>,
    done: bool,
}

impl<'a, L, F> Future for CondWaitUntil<'a, L, F>
where
    L: Locker + ?Sized,
    F: FnMut(&mut L::Guard<'a>) -> bool,
{
    type Output = L::Guard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<L::Guard<'a>> {
        // SAFETY: nothing is moved out of `this` (the closure is only called in
        // place); `wait` is only used in place, and `Drop` withdraws its
        // registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        let cond = this.cond;
        loop {
            let seen = match this.seen {
                Some(seen) => seen,
                None => {
                    let mut guard = this.lock.acquire();
                    if (this.condition)(&mut guard) {
                        this.done = true;
                        return Poll::Ready(guard);
                    }
                    // ORDERING: as in `Cond::wait_async`.
                    let seen = cond.signals.load(Ordering::SeqCst);
                    drop(guard);
                    this.seen = Some(seen);
                    seen
                }
            };
            let missed = || cond.signals.load(Ordering::SeqCst) != seen;
            // SAFETY: `this.wait` stays in place (we are pinned) until `finish` runs
            // on it, in `Drop`.
            if unsafe { queue::park(&mut this.wait, cx, &cond.waiters, missed) } {
                return Poll::Pending;
            }
            this.seen = None; // woken: check again
        }
    }
}

impl<L: ?Sized, F> Drop for CondWaitUntil<'_, L, F> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let queued = self.wait.as_ref().is_some_and(|w| w.registered);
        queue::finish(&mut self.wait, &self.cond.waiters);
        let missed = self
            .seen
            .is_some_and(|seen| self.cond.signals.load(Ordering::SeqCst) != seen);
        if !queued && missed {
            self.cond.waiters.notify_one();
        }
    }
}

impl<L: ?Sized, F> fmt::Debug for CondWaitUntil<'_, L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondWaitUntil")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

//! A queue of waiters to notify: the buffered channel keeps one for blocked senders
//! (waiting for room) and one for blocked receivers (waiting for a value).
//!
//! Registrations here only ask to be woken; the woken party retries its operation.
//! `is_empty` lets the hot path skip the lock when nobody waits, which is the common
//! case under load.

use std::sync::atomic::Ordering;

use std::task::Context;
use std::time::Instant;

use super::waiter::{AsyncWait, Entry, EntryQueue, Operation, Unparker, Waiter, WAITING};
use crate::loom::{fence, lock, AtomicBool, Mutex};

pub(crate) struct WaitQueue {
    /// The registrations, oldest first. Guarded by the mutex.
    entries: Mutex<EntryQueue>,
    /// Mirrors `entries.is_empty()`; written only with the lock held, read without.
    is_empty: AtomicBool,
}

impl std::fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitQueue")
            .field("is_empty", &self.is_empty.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl WaitQueue {
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(EntryQueue::new()),
            is_empty: AtomicBool::new(true),
        }
    }

    /// Registers `oper` of `waiter`. The caller must call [`WaitQueue::unregister`]
    /// (or have been selected) before `waiter` is dropped or moved.
    ///
    /// # Memory ordering
    /// The `is_empty` store is SeqCst. After registering, the caller re-checks the
    /// channel with SeqCst loads of head and tail; the party that changes the channel
    /// does a SeqCst RMW on head or tail and then a SeqCst load of `is_empty` in
    /// [`WaitQueue::notify_one`]. One of the two must see the other, so a wake-up is
    /// never lost.
    pub(crate) fn register(&self, waiter: &Waiter, oper: Operation) {
        let mut entries = lock(&self.entries);
        entries.as_mut().push_back(Entry {
            waiter: waiter.into(),
            oper,
            packet: std::ptr::null_mut(),
        });
        self.is_empty.store(false, Ordering::SeqCst);
        drop(entries);
        // ORDERING: the caller re-checks its condition next; this fence orders that
        // check after the store above, against the fence in `disconnect_all`
        // (store-buffering: one of the two sides must see the other).
        fence(Ordering::SeqCst);
    }

    /// Removes the registration of `oper` of `waiter`, if it is still queued.
    pub(crate) fn unregister(&self, waiter: &Waiter, oper: Operation) {
        let mut entries = lock(&self.entries);
        if entries.as_mut().remove(waiter, oper) {
            self.is_empty
                .store(entries.as_mut().is_empty(), Ordering::SeqCst);
        }
    }

    /// Wakes one waiter, if any is registered. Called after every change that may
    /// let a waiter proceed.
    #[inline]
    pub(crate) fn notify_one(&self) {
        // ORDERING: as in `disconnect_all`: the caller's SeqCst read-modify-write
        // on head or tail and this SeqCst load are ordered in the single total
        // order; loom, which models SeqCst accesses more weakly, needs the fence.
        #[cfg(loom)]
        fence(Ordering::SeqCst);
        if !self.is_empty.load(Ordering::SeqCst) {
            self.notify_one_slow();
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        let mut entries = lock(&self.entries);
        let mut chosen = None;
        while let Some(entry) = entries.as_mut().pop_front() {
            // SAFETY: we hold the queue's lock, took the entry out of it, and release
            // the selection before unlocking.
            if let Some(selected) = unsafe { entry.try_select() } {
                chosen = Some(selected.release());
                break;
            }
            // Its owner is giving up (and will find the entry gone), or it was
            // selected through another registration: drop the stale entry.
        }
        self.is_empty
            .store(entries.as_mut().is_empty(), Ordering::SeqCst);
        drop(entries);
        if let Some(unparker) = chosen {
            unparker.unpark();
        }
    }

    /// Wakes every waiter registered with the tag of `oper` (see
    /// [`Operation::tagged`]) with `DISCONNECTED`, leaving the others queued: the
    /// reason those waiters wait for is gone (an or-done receiver's context is
    /// done). They retry, and see that first.
    pub(crate) fn disconnect_tagged(&self, oper: Operation) {
        let woken = {
            let mut entries = lock(&self.entries);
            let mut queue = entries.as_mut();
            // SAFETY: we hold the queue's lock.
            let woken = unsafe { queue.disconnect_tagged(oper) };
            self.is_empty.store(queue.is_empty(), Ordering::SeqCst);
            woken
        };
        woken.into_iter().for_each(Unparker::unpark);
    }

    /// Wakes every waiter with `DISCONNECTED`: the channel was closed.
    ///
    /// # Memory ordering
    /// The caller has made the closed state visible (a SeqCst write) before
    /// calling; a party registering stores `is_empty` and, after a SeqCst fence,
    /// re-checks that state (with a SeqCst load). So if `is_empty` still reads true
    /// here, that party will see the close itself, and there is nobody to wake.
    #[inline]
    pub(crate) fn disconnect_all(&self) {
        // ORDERING: the caller's SeqCst write and this SeqCst load are ordered in
        // the single total order already; loom models SeqCst accesses more weakly
        // than that, so its builds spell the ordering out with a fence (pairing
        // with the one in `register`).
        #[cfg(loom)]
        fence(Ordering::SeqCst);
        if !self.is_empty.load(Ordering::SeqCst) {
            self.disconnect_all_slow();
        }
    }

    #[cold]
    fn disconnect_all_slow(&self) {
        // The first waiter is woken without a list: a done channel or a closed
        // channel mostly has one.
        let (first, others): (Option<Unparker>, Vec<Unparker>) = {
            let mut entries = lock(&self.entries);
            self.is_empty.store(true, Ordering::SeqCst);
            let mut queue = entries.as_mut();
            let mut first = None;
            let mut others = Vec::new();
            while let Some(e) = queue.pop_front() {
                // SAFETY: we hold the queue's lock, took the entry out of it, and
                // release the selection before unlocking.
                if let Some(selected) = unsafe { e.try_disconnect() } {
                    let unparker = selected.release();
                    if first.is_none() {
                        first = Some(unparker);
                    } else {
                        others.push(unparker);
                    }
                }
            }
            (first, others)
        };
        first.into_iter().chain(others).for_each(Unparker::unpark);
    }
}

/// Blocks the calling thread in `queue` until it is notified, `ready` turns true
/// (checked once after registering, so no wake-up is lost), or `deadline` passes.
/// The caller then retries its operation.
///
/// A streaming side of a buffered channel first lets the other side work a batch
/// unwatched (`Channel::wait_for_batch` in `array.rs`); any side then retries
/// through a spin of 15 hints, and registers only if its operation still finds
/// the channel not ready. The waiter then spins briefly and yields
/// ([`Waiter::wait_yielding_until`]): on a buffered channel a long spin does not
/// pay (the other side must run to change anything), and a registered waiter is
/// woken by that side directly.
#[inline]
pub(crate) fn block_in(queue: &WaitQueue, ready: impl Fn() -> bool, deadline: Option<Instant>) {
    block_in_as(queue, ready, deadline, Operation::SINGLE);
}

/// [`block_in`], registering as `oper` ([`Operation::SINGLE`] or a tag of
/// [`Operation::tagged`]).
pub(crate) fn block_in_as(
    queue: &WaitQueue,
    ready: impl Fn() -> bool,
    deadline: Option<Instant>,
    oper: Operation,
) {
    let waiter = Waiter::for_thread();
    queue.register(&waiter, oper);
    if ready() {
        waiter.try_abort();
    }
    if waiter.wait_yielding_until(deadline) < Operation::SINGLE.id() {
        // Aborted or disconnected: make sure no entry outlives the waiter.
        queue.unregister(&waiter, oper);
    }
}

/// Registers (or keeps) a task's interest in `queue`, then re-checks `ready`.
/// Returns true when the task should return `Pending`, false when it should retry
/// its operation now.
///
/// The wait state is made on first need: an operation that completes at once
/// never sets one up.
///
/// # Safety
/// `slot` stays in place until [`finish`] has run on it.
pub(crate) unsafe fn park<T>(
    slot: &mut Option<AsyncWait<T>>,
    cx: &mut Context<'_>,
    queue: &WaitQueue,
    ready: impl Fn() -> bool,
) -> bool {
    // SAFETY: the caller's contract.
    unsafe { park_as(slot, cx, queue, ready, Operation::SINGLE) }
}

/// [`park`], registering as `oper` ([`Operation::SINGLE`] or a tag of
/// [`Operation::tagged`]); [`finish_as`] with the same `oper` withdraws it.
///
/// # Safety
/// As for [`park`].
#[inline]
pub(crate) unsafe fn park_as<T>(
    slot: &mut Option<AsyncWait<T>>,
    cx: &mut Context<'_>,
    queue: &WaitQueue,
    ready: impl Fn() -> bool,
    oper: Operation,
) -> bool {
    let w = slot.get_or_insert_with(AsyncWait::default);
    if w.registered {
        let state = w.waiter.state();
        if state != WAITING {
            // Notified (the notifier removed our entry): retry.
            w.waiter.settled(state);
            w.registered = false;
            return false;
        }
        if w.same_waker(cx.waker()) {
            return true;
        }
        // The task's waker changed: withdraw and register afresh below.
        w.registered = false;
        if !w.waiter.try_abort() {
            w.waiter.wait_done();
            return false; // notified meanwhile: retry
        }
        queue.unregister(&w.waiter, oper);
    }
    // SAFETY: no entry of ours is queued and no selector is at the waiter.
    unsafe { w.arm(cx.waker()) };
    queue.register(&w.waiter, oper);
    w.registered = true;
    if ready() {
        // Something changed while we registered: take our entry back and retry.
        if w.waiter.try_abort() {
            queue.unregister(&w.waiter, oper);
        } else {
            w.waiter.wait_done();
        }
        w.registered = false;
        return false;
    }
    true
}

/// The operation completed, or its future is dropped unfinished: withdraw the
/// registration. A future can complete on its fast path while still registered (it
/// was polled for another reason), and a notification may have reached it
/// meanwhile; that notification is then passed on, so the value or room it stood
/// for reaches another waiter instead of being swallowed.
pub(crate) fn finish<T>(slot: &mut Option<AsyncWait<T>>, queue: &WaitQueue) {
    finish_as(slot, queue, Operation::SINGLE);
}

/// [`finish`] for a wait registered by [`park_as`] as `oper`.
#[inline]
pub(crate) fn finish_as<T>(slot: &mut Option<AsyncWait<T>>, queue: &WaitQueue, oper: Operation) {
    let Some(w) = slot.as_mut().filter(|w| w.registered) else {
        return;
    };
    w.registered = false;
    if w.waiter.try_abort() {
        queue.unregister(&w.waiter, oper);
    } else if w.waiter.settled(w.waiter.state()) >= Operation::SINGLE.id() {
        queue.notify_one();
    }
}

/// A future that waits in `queue` until `ready` holds (checked before each wait
/// and after registering, so no wake-up is lost). The party that makes `ready`
/// true changes its state, then wakes the queue (`disconnect_all`).
pub(crate) struct WaitFor<'a, F> {
    queue: &'a WaitQueue,
    ready: F,
    wait: Option<AsyncWait<()>>,
}

impl<'a, F: Fn() -> bool> WaitFor<'a, F> {
    pub(crate) fn new(queue: &'a WaitQueue, ready: F) -> Self {
        Self {
            queue,
            ready,
            wait: None,
        }
    }
}

impl<F: Fn() -> bool> std::future::Future for WaitFor<'_, F> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> std::task::Poll<()> {
        // SAFETY: `wait` is never moved out of the pinned future, and `Drop`
        // withdraws it from the queue before it goes.
        let this = unsafe { self.get_unchecked_mut() };
        loop {
            if (this.ready)() {
                finish(&mut this.wait, this.queue);
                return std::task::Poll::Ready(());
            }
            // SAFETY: as above: pinned, and `Drop` finishes it.
            if unsafe { park(&mut this.wait, cx, this.queue, &this.ready) } {
                return std::task::Poll::Pending;
            }
        }
    }
}

impl<F> Drop for WaitFor<'_, F> {
    fn drop(&mut self) {
        finish(&mut self.wait, self.queue);
    }
}

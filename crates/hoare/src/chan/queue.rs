//! A queue of waiters to notify: the buffered channel keeps one for blocked senders
//! (waiting for room) and one for blocked receivers (waiting for a value).
//!
//! Registrations here only ask to be woken; the woken party retries its operation.
//! `is_empty` lets the hot path skip the lock when nobody waits, which is the common
//! case under load.

use std::sync::atomic::Ordering;

use super::waiter::{Entry, EntryQueue, Operation, Unparker, Waiter};
use crate::loom::{lock, AtomicBool, Mutex};

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
            waiter,
            oper,
            packet: std::ptr::null_mut(),
        });
        self.is_empty.store(false, Ordering::SeqCst);
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

    /// Wakes every waiter with `DISCONNECTED`: the channel was closed.
    pub(crate) fn disconnect_all(&self) {
        let unparkers: Vec<Unparker> = {
            let mut entries = lock(&self.entries);
            self.is_empty.store(true, Ordering::SeqCst);
            entries
                .as_mut()
                .drain()
                .into_iter()
                // SAFETY: we hold the queue's lock, take each entry out of it, and
                // release each selection before unlocking.
                .filter_map(|e| unsafe { e.try_disconnect() }.map(|s| s.release()))
                .collect()
        };
        for unparker in unparkers {
            unparker.unpark();
        }
    }
}

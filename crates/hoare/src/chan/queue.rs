//! A queue of waiters to notify: the buffered channel keeps one for blocked senders
//! (waiting for room) and one for blocked receivers (waiting for a value).
//!
//! Registrations here only ask to be woken; the woken party retries its operation.
//! `is_empty` lets the hot path skip the lock when nobody waits, which is the common
//! case under load.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::waiter::{Entry, Operation, Waiter, DISCONNECTED};
use crate::loom::{lock, AtomicBool, Mutex};

pub(crate) struct WaitQueue {
    /// The registrations, oldest first. Guarded by the mutex.
    entries: Mutex<VecDeque<Entry>>,
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
            entries: Mutex::new(VecDeque::new()),
            is_empty: AtomicBool::new(true),
        }
    }

    /// Registers `oper` of `waiter`.
    ///
    /// # Memory ordering
    /// The `is_empty` store is SeqCst. After registering, the caller must re-check
    /// the channel with a SeqCst load (of head or tail); the party that changes the
    /// channel does a SeqCst RMW on that index and then a SeqCst load of `is_empty`
    /// in [`WaitQueue::notify_one`]. One of the two must see the other, so a wake-up
    /// is never lost.
    pub(crate) fn register(&self, waiter: &Arc<Waiter>, oper: Operation) {
        let mut entries = lock(&self.entries);
        entries.push_back(Entry {
            waiter: waiter.clone(),
            oper,
            packet: std::ptr::null_mut(),
        });
        self.is_empty.store(false, Ordering::SeqCst);
    }

    /// Removes the registration of `oper` of `waiter`, if it is still queued.
    /// Returns whether it was.
    pub(crate) fn unregister(&self, waiter: &Arc<Waiter>, oper: Operation) -> bool {
        let mut entries = lock(&self.entries);
        let found = entries
            .iter()
            .position(|e| e.oper == oper && Arc::ptr_eq(&e.waiter, waiter));
        if let Some(i) = found {
            entries.remove(i);
            self.is_empty.store(entries.is_empty(), Ordering::SeqCst);
        }
        found.is_some()
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
        while let Some(entry) = entries.pop_front() {
            if entry.waiter.try_select(entry.oper.id()).is_ok() {
                chosen = Some(entry.waiter);
                break;
            }
            // Already selected through another of its registrations (select!);
            // the stale entry is simply dropped.
        }
        self.is_empty.store(entries.is_empty(), Ordering::SeqCst);
        drop(entries);
        if let Some(waiter) = chosen {
            waiter.wake();
        }
    }

    /// Wakes every waiter with `DISCONNECTED`: the channel was closed.
    pub(crate) fn disconnect_all(&self) {
        let taken = {
            let mut entries = lock(&self.entries);
            self.is_empty.store(true, Ordering::SeqCst);
            std::mem::take(&mut *entries)
        };
        for entry in taken {
            if entry.waiter.try_select(DISCONNECTED).is_ok() {
                entry.waiter.wake();
            }
        }
    }
}

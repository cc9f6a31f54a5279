//! A pool's per-thread slot: room for one object, lent out and returned with one
//! atomic read-modify-write and one plain store.

use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

use crate::loom::{AtomicU8, UnsafeCell};

/// No object; `object` is null and free to be written by whoever moves the state to
/// `FILLING`.
const EMPTY: u8 = 0;
/// One thread is writing `object`; it will set `FULL`.
const FILLING: u8 = 1;
/// An idle object is in `object`, free to be borrowed.
const FULL: u8 = 2;
/// The object in `object` is lent out; only the borrower touches the slot until it
/// sets `FULL` (returned) or `EMPTY` (kept).
const LOANED: u8 = 3;

/// Room for one object, owned by the slot while the state is `FULL` or `LOANED`.
///
/// Invariant: `object` is accessed only by the one thread that moved the state out
/// of `EMPTY` (to `FILLING`) or out of `FULL` (to `LOANED`), until it moves the
/// state on again; while the state is `FULL` or `LOANED`, `object` is a pointer from
/// `Box::into_raw`.
pub(super) struct Slot<T> {
    state: AtomicU8,
    object: UnsafeCell<*mut T>,
}

impl<T> Slot<T> {
    pub(super) fn new() -> Self {
        Slot {
            state: AtomicU8::new(EMPTY),
            object: UnsafeCell::new(ptr::null_mut()),
        }
    }

    /// Borrows the idle object, if there is one. The caller must end the loan with
    /// [`give_back`](Slot::give_back) or [`keep`](Slot::keep).
    #[inline]
    pub(super) fn borrow(&self) -> Option<NonNull<T>> {
        // ORDERING: Acquire pairs with the Release that made the slot FULL, so the
        // object's pointer and contents are visible.
        self.state
            .compare_exchange(FULL, LOANED, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // SAFETY: we moved the state from FULL to LOANED, so by the invariant we alone
        // touch `object`, which holds a live `Box::into_raw` pointer.
        NonNull::new(self.object.with_mut(|p| unsafe { *p }))
    }

    /// As [`borrow`](Slot::borrow), but leaves an empty slot's cache line alone
    /// (for looking through other threads' slots).
    #[inline]
    pub(super) fn borrow_if_full(&self) -> Option<NonNull<T>> {
        if self.state.load(Ordering::Relaxed) != FULL {
            return None;
        }
        self.borrow()
    }

    /// Ends a loan: the object is idle in the slot again.
    ///
    /// # Safety
    /// The caller holds the loan of this slot (a `borrow` it has not ended).
    #[inline]
    pub(super) unsafe fn give_back(&self) {
        // ORDERING: Release publishes the borrower's writes to the object to the
        // next borrower.
        self.state.store(FULL, Ordering::Release);
    }

    /// Ends a loan by taking the object out of the slot for good.
    ///
    /// # Safety
    /// The caller holds the loan of this slot, and `object` is the pointer that
    /// borrowing it returned.
    pub(super) unsafe fn keep(&self, object: NonNull<T>) -> Box<T> {
        // SAFETY: as the borrower we own the slot's `Box::into_raw` pointer, which
        // is `object`; leaving the slot EMPTY hands that ownership to us.
        let boxed = unsafe { Box::from_raw(object.as_ptr()) };
        // ORDERING: Release orders our last use of `object` before the next filler
        // overwrites it.
        self.state.store(EMPTY, Ordering::Release);
        boxed
    }

    /// Puts `object` in the slot if it is empty; gives it back otherwise.
    pub(super) fn fill(&self, object: Box<T>) -> Result<(), Box<T>> {
        // ORDERING: Acquire pairs with the Release of `keep`/`take`, which last
        // used the cell.
        if self
            .state
            .compare_exchange(EMPTY, FILLING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(object);
        }
        let raw = Box::into_raw(object);
        // SAFETY: we moved the state from EMPTY to FILLING, so we alone touch the cell.
        self.object.with_mut(|p| unsafe { *p = raw });
        // ORDERING: Release publishes the pointer and the object to borrowers.
        self.state.store(FULL, Ordering::Release);
        Ok(())
    }

    /// Takes the idle object out of the slot, if there is one.
    pub(super) fn take(&self) -> Option<Box<T>> {
        let object = self.borrow()?;
        // SAFETY: we hold the loan we just made, of this very object.
        Some(unsafe { self.keep(object) })
    }

    /// Whether an idle object is in the slot (a snapshot).
    pub(super) fn is_full(&self) -> bool {
        self.state.load(Ordering::Acquire) == FULL
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        // No loan can be outstanding: a loan borrows the pool, which owns the slot.
        drop(self.take());
    }
}

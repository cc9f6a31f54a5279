//! The future of `select_async!`, and the entry points the macros expand to.

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::run::{run_blocking, CaseRef, Driver};

/// Runs a `select!` from a thread: the index of the case that fired, or `None` for
/// the default case.
pub fn blocking(cases: &mut [CaseRef<'_>], has_default: bool) -> Option<usize> {
    run_blocking(cases, has_default, None)
}

/// The future a `select_async!` awaits: resolves to the index of the case that
/// fired, or `None` for the default case.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<'a, const N: usize> {
    driver: Driver,
    cases: [CaseRef<'a>; N],
    has_default: bool,
    done: bool,
    /// The channels hold the address of the driver's waiter while it waits.
    _pinned: PhantomPinned,
}

impl<const N: usize> fmt::Debug for SelectFuture<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture")
            .field("cases", &self.cases.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, const N: usize> SelectFuture<'a, N> {
    /// A select over `cases`.
    ///
    /// # Safety
    /// The future must be dropped (not leaked) before the cases move or go away:
    /// `select_async!` awaits it in place, in the block that owns the cases. The
    /// cases must be `Send` whenever the future is sent to another thread, which
    /// holds there because they live in the same future that awaits this one.
    pub unsafe fn new(cases: [CaseRef<'a>; N], has_default: bool) -> Self {
        Self {
            driver: Driver::default(),
            cases,
            has_default,
            done: false,
            _pinned: PhantomPinned,
        }
    }
}

// SAFETY: the cases are owned by the future that awaits this one, in which they are
// held across the await; that future is `Send` only if they are (see `new`). The
// driver is `Send` itself.
unsafe impl<const N: usize> Send for SelectFuture<'_, N> {}

impl<const N: usize> Future for SelectFuture<'_, N> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        // SAFETY: nothing is moved out; the driver is used in place, and `Drop`
        // cancels its registrations before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        if this.done {
            return Poll::Pending;
        }
        // SAFETY: the driver is pinned with `this`; the cases outlive this future
        // (`new`'s contract), and `Drop` cancels.
        let r = unsafe {
            this.driver
                .poll(cx, &mut this.cases[..], this.has_default, None)
        };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl<const N: usize> Drop for SelectFuture<'_, N> {
    fn drop(&mut self) {
        self.driver.cancel(&mut self.cases[..]);
    }
}

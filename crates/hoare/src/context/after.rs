//! `context::after_func`: run a function once a context is done.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{state, Context, Node};

/// Arranges for `f` to run in its own goroutine once `ctx` is done (canceled, or
/// past its deadline), as Go's `context.AfterFunc` does. If `ctx` is already done,
/// `f` starts at once. Returns a handle whose [`stop`](AfterFunc::stop) keeps `f`
/// from running; dropping the handle does not.
///
/// A deadline needs someone to notice it: when `ctx` has one, a small task on the
/// tokio runtime (the caller's, or hoare's default one) waits for it, so `f` runs
/// at the deadline even if nothing else looks at the context.
///
/// ```
/// use hoare::{chan, context};
/// use hoare::context::Context;
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let (tx, rx) = chan::<&str>(1);
/// let _handle = context::after_func(&ctx, move || {
///     let _ = tx.send("cleaned up");
/// });
/// cancel.cancel();
/// assert_eq!(rx.recv(), Some("cleaned up"));
/// ```
#[track_caller]
pub fn after_func<F>(ctx: &Context, f: F) -> AfterFunc
where
    F: FnOnce() + Send + 'static,
{
    let location = Location::caller();
    let Some(node) = ctx.canceler().map(|c| c.0.clone()) else {
        return AfterFunc::new(Target::Never);
    };
    match state::add_after(&node, location, Box::new(f)) {
        Some(id) => {
            if state::needs_watcher(&node) {
                let done = ctx.done();
                crate::go::spawn_internal(async move {
                    // Returns when the context is canceled or its deadline passes;
                    // noticing the deadline cancels it, which runs the functions.
                    let _ = done.recv_async().await;
                });
            }
            AfterFunc::new(Target::Pending(node, id))
        }
        None => AfterFunc::new(Target::Started),
    }
}

/// The handle [`after_func`] returns (Go's `stop` function).
///
/// ```
/// use hoare::context::{self, AfterFunc, Context};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let (tx, rx) = hoare::chan::<u8>(1);
/// let handle: AfterFunc = context::after_func(&ctx, move || {
///     let _ = tx.send(1);
/// });
/// cancel.cancel();
/// assert_eq!(rx.recv(), Some(1));
/// assert!(!handle.stop()); // too late: it has run
/// ```
#[must_use = "the function runs when the context is done unless `stop` is called"]
pub struct AfterFunc {
    target: Target,
    stopped: AtomicBool,
}

/// Where the function is.
enum Target {
    /// The context is never done: the function never runs.
    Never,
    /// The context was already done: the function was started at once.
    Started,
    /// Registered with the context's node, under this number.
    Pending(Arc<Node>, u64),
}

impl AfterFunc {
    fn new(target: Target) -> Self {
        Self {
            target,
            stopped: AtomicBool::new(false),
        }
    }

    /// Keeps the function from running. Returns true if this call stopped it;
    /// false if it had already started (or been stopped, or the context is one
    /// that is never done and the handle was stopped before).
    ///
    /// ```
    /// use hoare::context::{self, Context};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let handle = context::after_func(&ctx, || unreachable!("stopped in time"));
    /// assert!(handle.stop());
    /// assert!(!handle.stop());
    /// cancel.cancel();
    /// ```
    pub fn stop(&self) -> bool {
        // ORDERING: only one call may report success; the function's own removal
        // is decided under the context's lock.
        if self.stopped.swap(true, Ordering::AcqRel) {
            return false;
        }
        match &self.target {
            Target::Never => true,
            Target::Started => false,
            Target::Pending(node, id) => state::remove_after(node, *id),
        }
    }
}

impl fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFunc")
            .field("stopped", &self.stopped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

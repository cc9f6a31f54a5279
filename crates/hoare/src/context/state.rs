//! The cancellation state of a cancelable context, and the tree that carries a
//! cancellation from a context to its descendants.
//!
//! # Invariants
//! - `state` only moves once, from `LIVE` to `CANCELED` or `DEADLINE`, under the
//!   lock; readers may load it without the lock.
//! - A live context is in its parent's `children` (at `slot`), unless the parent
//!   was already done when the child was made (then the child was canceled at once).
//!   A child leaves the list when it is canceled, so a long-lived parent keeps only
//!   its live children, and reuses the slots of the others.
//! - Children are held weakly: a child whose every handle is gone costs its parent
//!   one empty slot until the slot is reused.
//! - A deadline is checked when someone looks (`err`, `done`, a select): the first
//!   look at or after the deadline cancels the context with `DeadlineExceeded`. A
//!   child's deadline is never later than its parent's, so a parent's deadline
//!   reaches its descendants without any thread.

use std::error::Error as StdError;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Instant;

use super::{Error, Node};
use crate::chan::queue::WaitQueue;
use crate::loom::{AtomicU8, Mutex, MutexGuard};

const LIVE: u8 = 0;
const CANCELED: u8 = 1;
const DEADLINE: u8 = 2;

/// Why a context was canceled, as its `cause()` reports it.
pub(crate) type Cause = Arc<dyn StdError + Send + Sync + 'static>;

pub(crate) struct CancelState {
    /// When the context expires, if ever (never later than its parent's).
    pub(crate) deadline: Option<Instant>,
    /// `LIVE`, `CANCELED` or `DEADLINE`.
    state: AtomicU8,
    inner: Mutex<Inner>,
    /// Threads and tasks waiting on `done()`; all are woken by the cancellation.
    pub(crate) waiters: WaitQueue,
}

/// A cancelable node's link to the node that lists it: that node (`None`: the
/// direct parent) and the slot.
pub(crate) type Link = (Option<Arc<Node>>, usize);

/// A function to run when the context is done, with where it was given.
pub(crate) type AfterFn = Box<dyn FnOnce() + Send + 'static>;

/// The `after_func` functions of a context.
#[derive(Default)]
struct Afters {
    /// Waiting for the context to be done, by number, with where they were given.
    list: Vec<(u64, &'static Location<'static>, AfterFn)>,
    next: u64,
    /// A task waits for the deadline on their behalf.
    watched: bool,
}

#[derive(Default)]
struct Inner {
    /// The cause given when canceled; `None` means the error itself.
    cause: Option<Cause>,
    /// The `after_func` functions (boxed: most contexts have none).
    afters: Option<Box<Afters>>,
    /// The live children, by slot; `None` marks a free slot.
    children: Vec<Option<Weak<Node>>>,
    /// Free slots of `children`, to reuse.
    free: Vec<usize>,
    /// The node whose cancel state lists this one, and our slot there. `None` for
    /// the node when it is this one's direct parent (`Node::parent`), which
    /// already holds it: one reference count less per child.
    parent: Option<(Option<Arc<Node>>, usize)>,
}

impl fmt::Debug for CancelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelState")
            .field("deadline", &self.deadline)
            .field("err", &self.err())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    crate::loom::lock(m)
}

impl CancelState {
    /// A live state; `parent` is the listing node (see `Inner::parent`) and this
    /// one's slot there.
    pub(crate) fn new(deadline: Option<Instant>, parent: Option<Link>) -> Self {
        Self {
            deadline,
            state: AtomicU8::new(LIVE),
            inner: Mutex::new(Inner {
                parent,
                ..Inner::default()
            }),
            waiters: WaitQueue::new(),
        }
    }

    /// The error, if the context is done (a passed deadline is noticed by
    /// [`check`], not here).
    pub(crate) fn err(&self) -> Option<Error> {
        // ORDERING: SeqCst, against the SeqCst store in `cancel`: it makes the
        // cause visible with the error, and orders this load after a waiter's
        // registration (see `WaitQueue::disconnect_all`).
        match self.state.load(Ordering::SeqCst) {
            CANCELED => Some(Error::Canceled),
            DEADLINE => Some(Error::DeadlineExceeded),
            _ => None,
        }
    }

    /// Whether the deadline has passed (whether or not anyone noticed yet).
    pub(crate) fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| crate::time::now() >= d)
    }

    /// Takes the link to the parent out (when the node is being dropped).
    pub(crate) fn take_parent_link(&mut self) -> Option<Arc<Node>> {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        inner.parent.take().and_then(|(p, _)| p)
    }

    /// Why the context is done: the cause given, else its error; `None` if live.
    pub(crate) fn cause(&self) -> Option<Cause> {
        let err = self.err()?;
        let given = lock(&self.inner).cause.clone();
        Some(given.unwrap_or_else(|| Arc::new(err)))
    }
}

/// Makes a cancelable child of `parent` (a cancelable node), with `make` given
/// the child's link to its parent, and lists it there; or, when the parent is
/// already done, makes it unlisted and cancels it at once.
pub(crate) fn make_child(
    parent: &Arc<Node>,
    direct: bool,
    make: impl FnOnce(Option<Link>) -> Node,
) -> Arc<Node> {
    let Some(p) = parent.own_state() else {
        return Arc::new(make(None));
    };
    let mut pi = lock(&p.inner);
    let err = p.err();
    if err.is_none() && !p.expired() {
        let slot = match pi.free.pop() {
            Some(slot) => slot,
            None => {
                pi.children.push(None);
                pi.children.len() - 1
            }
        };
        let link = (if direct { None } else { Some(parent.clone()) }, slot);
        let child = new_in_place(|| make(Some(link)));
        pi.children[slot] = Some(Arc::downgrade(&child));
        return child;
    }
    let cause = pi.cause.clone();
    drop(pi);
    let child = Arc::new(make(None));
    match err {
        Some(err) => cancel(&child, err, cause),
        // The parent's deadline passed and nobody looked yet: expire both.
        None => {
            cancel(parent, Error::DeadlineExceeded, None);
            cancel(&child, Error::DeadlineExceeded, None);
        }
    }
    child
}

/// `Arc::new(make())`, with the node written straight into the allocation rather
/// than built on the stack and copied (a node is a few hundred bytes, and making
/// children is a hot path).
fn new_in_place(make: impl FnOnce() -> Node) -> Arc<Node> {
    let mut arc = Arc::<Node>::new_uninit();
    match Arc::get_mut(&mut arc) {
        Some(slot) => {
            slot.write(make());
            // SAFETY: the slot was just initialised, and nothing else refers to it.
            unsafe { arc.assume_init() }
        }
        // Unreachable (the allocation is new, so unique), but never unsound.
        None => Arc::new(make()),
    }
}

/// Cancels `node` (a cancelable node) and every descendant, with `err` and `cause`
/// (no cause: the error is the cause), and detaches it from its parent. Does
/// nothing if it is already done.
pub(crate) fn cancel(node: &Arc<Node>, err: Error, cause: Option<Cause>) {
    if node.own_state().is_none_or(|s| s.err().is_some()) {
        return; // already done: the common case of a guard dropped after a cancel
    }
    let code = match err {
        Error::Canceled => CANCELED,
        Error::DeadlineExceeded => DEADLINE,
    };
    // Depth first with an explicit stack (allocated only for a node with
    // children): a deep chain must not overflow the thread's stack.
    let mut stack: Vec<Arc<Node>> = Vec::new();
    cancel_one(node, code, &cause, true, &mut stack);
    while let Some(n) = stack.pop() {
        cancel_one(&n, code, &cause, false, &mut stack);
    }
}

/// Cancels one node; pushes its live children on `stack`. Only the node canceled
/// directly (`detach`) leaves its parent's list; its descendants leave with it.
fn cancel_one(
    n: &Arc<Node>,
    code: u8,
    cause: &Option<Cause>,
    detach: bool,
    stack: &mut Vec<Arc<Node>>,
) {
    let Some(s) = n.own_state() else { return };
    let (children, parent, after) = {
        let mut inner = lock(&s.inner);
        if s.state.load(Ordering::Relaxed) != LIVE {
            return;
        }
        inner.cause = cause.clone();
        // ORDERING: SeqCst: publishes the cause with the state, and comes before
        // `disconnect_all`'s check for waiters in the single total order.
        s.state.store(code, Ordering::SeqCst);
        if !inner.free.is_empty() {
            inner.free = Vec::new();
        }
        let after = inner.afters.take();
        let children = std::mem::take(&mut inner.children);
        // A descendant keeps its link (dropped with it): its parent is done too.
        let parent = if detach { inner.parent.take() } else { None };
        (children, parent, after)
    };
    s.waiters.disconnect_all();
    if let Some(after) = after {
        for (_, location, f) in after.list {
            crate::go::go_blocking_at(location, f);
        }
    }
    if !children.is_empty() {
        stack.reserve(children.len());
        stack.extend(children.into_iter().flatten().filter_map(|w| w.upgrade()));
    }
    if let Some((p, slot)) = parent {
        let p = match &p {
            Some(p) => p,
            None => match &n.parent {
                Some(direct) => &direct.0,
                None => return,
            },
        };
        if let Some(ps) = p.own_state() {
            let mut pi = lock(&ps.inner);
            if let Some(entry) = pi.children.get_mut(slot) {
                if entry.as_ref().is_some_and(|w| w.as_ptr() == Arc::as_ptr(n)) {
                    *entry = None;
                    pi.free.push(slot);
                }
            }
        }
    }
}

/// Registers `f` to run when `node` (a cancelable node) is done. Returns its number,
/// or `None` if the node is already done, in which case `f` was started now.
pub(crate) fn add_after(
    node: &Arc<Node>,
    location: &'static Location<'static>,
    f: AfterFn,
) -> Option<u64> {
    let s = node.own_state()?;
    check(node);
    let mut inner = lock(&s.inner);
    if s.err().is_some() {
        drop(inner);
        crate::go::go_blocking_at(location, f);
        return None;
    }
    let afters = inner.afters.get_or_insert_with(Default::default);
    afters.next += 1;
    let id = afters.next;
    afters.list.push((id, location, f));
    Some(id)
}

/// Whether a task must wait for `node`'s deadline on behalf of its `after`
/// functions (true once: the first caller starts the task).
pub(crate) fn needs_watcher(node: &Arc<Node>) -> bool {
    let Some(s) = node.own_state() else {
        return false;
    };
    let mut inner = lock(&s.inner);
    let Some(afters) = inner.afters.as_mut() else {
        return false;
    };
    let needed = s.deadline.is_some() && !afters.watched;
    afters.watched |= needed;
    needed
}

/// Withdraws `after` function `id`; true if it had not started.
pub(crate) fn remove_after(node: &Arc<Node>, id: u64) -> bool {
    let Some(s) = node.own_state() else {
        return false;
    };
    let removed = {
        let mut inner = lock(&s.inner);
        inner.afters.as_mut().and_then(|afters| {
            let pos = afters.list.iter().position(|(i, _, _)| *i == id)?;
            Some(afters.list.swap_remove(pos))
        })
    };
    // Dropped outside the lock: the function's captures may touch this context.
    removed.is_some()
}

/// Expires `node` if its deadline has passed; returns its error, if done.
pub(crate) fn check(node: &Arc<Node>) -> Option<Error> {
    let s = node.own_state()?;
    if let Some(err) = s.err() {
        return Some(err);
    }
    if s.expired() {
        cancel(node, Error::DeadlineExceeded, None);
        return s.err();
    }
    None
}

/// How many live children `node` lists (for tests of the detach rule).
pub(crate) fn children(node: &Node) -> usize {
    node.own_state().map_or(0, |s| {
        lock(&s.inner)
            .children
            .iter()
            .filter(|c| c.as_ref().is_some_and(|w| w.strong_count() > 0))
            .count()
    })
}

/// Small cases of the child list and the in-place node construction, sized to run
/// under miri as well.
#[cfg(all(test, not(loom)))]
mod tests {
    use crate::context::Context;

    #[test]
    fn children_are_listed_detached_and_freed() {
        let (root, cancel_root) = Context::background().with_cancel();
        let (a, cancel_a) = root.with_cancel();
        let (b, _cancel_b) = a.with_cancel(); // a grandchild
        static KEY: crate::context::Key<u8> = crate::context::Key::new("k");
        let valued = b.with_value(&KEY, 7);
        let (c, cancel_c) = valued.with_cancel(); // listed by `b`, not its parent
        assert_eq!(
            (root.__children(), a.__children(), b.__children()),
            (1, 1, 1)
        );
        drop(cancel_c);
        assert!(c.err().is_some());
        assert_eq!(b.__children(), 0, "a canceled child leaves its list");
        drop(cancel_a);
        assert!(
            b.err().is_some(),
            "canceling a parent cancels the grandchild"
        );
        assert_eq!(root.__children(), 0);
        let (d, _cancel_d) = a.with_cancel(); // a child of a canceled parent
        assert!(d.err().is_some());
        drop(cancel_root);
        drop((a, b, c, d, valued, root));
    }
}

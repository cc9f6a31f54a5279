//! The cancellation state of a cancelable context, and the tree that carries a
//! cancellation from a context to its descendants.
//!
//! # Invariants
//! - `state` holds the node's status (`LIVE`, `CANCELED` or `DEADLINE`) and the
//!   `ATTACHED` flag. The status only moves once, from `LIVE` to done; readers
//!   may load it without the lock.
//! - `ATTACHED` is set under the lock before the node first lists a child or an
//!   `after_func` function (or finds itself done instead), and never cleared. A node
//!   without it has nothing to hand on when canceled, so a cancel without a cause
//!   moves its status with one compare-and-swap from exactly `LIVE`, without the
//!   lock; any other cancel takes the lock. Either way one party wins, and a child
//!   or function added under the lock either sees the node done (and is not
//!   added) or is added before the winner looks (the flag makes the lock-free
//!   swap fail).
//! - A live context is in the `children` of the node that lists it (its nearest
//!   cancelable ancestor, `listing`), at index `slot`, unless that node was
//!   already done when the child was made (then the child was canceled at once).
//!   A child leaves the list when it is canceled (swapped out with the last
//!   child, whose `slot` is updated), so a long-lived parent keeps only its live
//!   children. `slot` is written and read only under the listing node's lock.
//! - Children are held strongly. That makes no leak: a listed child's guard is
//!   alive (dropping the guard cancels the child, and a cancel takes the child off
//!   the list, or empties the whole list when it is the parent's), so a list entry
//!   never outlives the guard it stands for.
//! - A deadline is checked when someone looks (`err`, `done`, a select): the first
//!   look at or after the deadline cancels the context with `DeadlineExceeded`. A
//!   child's deadline is never later than its parent's, so a parent's deadline
//!   reaches its descendants without any thread.
//!
//! # Deadlock safety
//! A thread holds at most one node's lock at a time; the wait queue of a node is
//! woken after its lock is released.

use std::error::Error as StdError;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::{Error, Node};
use crate::chan::queue::WaitQueue;
use crate::loom::{AtomicU8, AtomicUsize, SpinGuard, SpinLock};

// The status bits of `CancelState::state`, and one flag.
const LIVE: u8 = 0;
const CANCELED: u8 = 1;
const DEADLINE: u8 = 2;
const STATUS: u8 = 0b11;
/// The node has (or had) children or `after_func` functions: cancel it under the
/// lock.
const ATTACHED: u8 = 0b100;

/// Why a context was canceled, as its `cause()` reports it.
pub(crate) type Cause = Arc<dyn StdError + Send + Sync + 'static>;

/// The fields are laid out in the order given, those a cancel and a woken waiter
/// touch first, after the node's reference counts.
#[repr(C)]
pub(crate) struct CancelState {
    /// The status (`LIVE`, `CANCELED` or `DEADLINE`) and the `ATTACHED` flag.
    state: AtomicU8,
    /// The queue of the threads and tasks waiting on `done()`; all are woken by
    /// the cancellation. Kept in the node: a queue allocated apart by the first
    /// waiter costs every waited-on context a second cache miss when a wide tree
    /// is cancelled, more than the bytes it saves the contexts nobody waits on.
    waiters: WaitQueue,
    /// When the context expires, if ever (never later than its parent's).
    pub(crate) deadline: Option<Instant>,
    /// This node's index in the `children` of the node that lists it. Guarded by
    /// that node's lock (an atomic only to be written through a shared reference).
    slot: AtomicUsize,
    /// The node whose `children` list this one (while it is live): `Some(None)` for
    /// the node when it is this one's direct parent (`Node::parent`), which
    /// already holds it: one reference count less per child. `None` if it was
    /// never listed. Set once; taken only when the node is dropped.
    listing: Option<Option<Arc<Node>>>,
    inner: SpinLock<Inner>,
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
    /// The live children, in no order; each knows its index (its `slot`).
    children: Vec<Arc<Node>>,
}

impl fmt::Debug for CancelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelState")
            .field("deadline", &self.deadline)
            .field("err", &self.err())
            .finish_non_exhaustive()
    }
}

/// Locks a node's fields. Every critical section is short, never blocks and runs
/// no user code (at most a vector grows, or a child node is allocated), so a spin
/// lock serves: one compare-and-swap to lock and a plain store to unlock, where
/// making and canceling a child takes the parent's lock twice.
fn lock(m: &SpinLock<Inner>) -> SpinGuard<'_, Inner> {
    m.lock()
}

impl CancelState {
    /// A live state; `parent` is the listing node (see `listing`) and this one's
    /// slot there.
    pub(crate) fn new(deadline: Option<Instant>, parent: Option<Link>) -> Self {
        let (listing, slot) = match parent {
            Some((node, slot)) => (Some(node), slot),
            None => (None, 0),
        };
        Self {
            deadline,
            state: AtomicU8::new(LIVE),
            // ORDERING: published with the node (under the listing node's lock).
            slot: AtomicUsize::new(slot),
            listing,
            inner: SpinLock::new(Inner::default()),
            waiters: WaitQueue::new(),
        }
    }

    /// The error, if the context is done (a passed deadline is noticed by
    /// [`check`], not here).
    #[inline]
    pub(crate) fn err(&self) -> Option<Error> {
        // ORDERING: SeqCst, against the SeqCst swap in `cancel_one`: it orders
        // this load after a waiter's registration (see
        // `WaitQueue::disconnect_all`). The cause is read under the lock.
        match self.state.load(Ordering::SeqCst) & STATUS {
            CANCELED => Some(Error::Canceled),
            DEADLINE => Some(Error::DeadlineExceeded),
            _ => None,
        }
    }

    /// Whether the deadline has passed (whether or not anyone noticed yet).
    pub(crate) fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| crate::time::now() >= d)
    }

    /// Takes the link to the listing node out (when the node is being dropped).
    pub(crate) fn take_parent_link(&mut self) -> Option<Arc<Node>> {
        self.listing.take().flatten()
    }

    /// The wait queue of `done()`.
    ///
    /// # Memory ordering
    /// A waiter registers in the queue and then loads the status (SeqCst); a
    /// cancel moves the status (a SeqCst read-modify-write) and then wakes the
    /// queue ([`wake_waiters`](Self::wake_waiters)): the queue's own protocol
    /// (`WaitQueue::disconnect_all`), as for a channel's close.
    pub(crate) fn waiters(&self) -> &WaitQueue {
        &self.waiters
    }

    /// Wakes every waiter of `done()`; the caller has just moved the status.
    fn wake_waiters(&self) {
        self.waiters.disconnect_all();
    }

    /// Marks the node `ATTACHED` (the caller holds its lock, about to add a child
    /// or a function); returns its error if it is done, and then adds nothing.
    fn attach(&self) -> Option<Error> {
        // ORDERING: SeqCst, as in `err`; the RMW, when the flag is not yet set,
        // orders it against the lock-free compare-and-swap in `cancel_one`: that
        // one fails once the flag is set, and then waits for our lock.
        let mut state = self.state.load(Ordering::SeqCst);
        if state & ATTACHED == 0 {
            state = self.state.fetch_or(ATTACHED, Ordering::SeqCst);
        }
        match state & STATUS {
            CANCELED => Some(Error::Canceled),
            DEADLINE => Some(Error::DeadlineExceeded),
            _ => None,
        }
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
    let err = p.attach();
    if err.is_none() && !p.expired() {
        let link = (
            if direct { None } else { Some(parent.clone()) },
            pi.children.len(),
        );
        let child = Arc::new(make(Some(link)));
        pi.children.push(child.clone());
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
        // A wide tree's nodes are mostly out of the cache: start loading the
        // next one's now.
        if let [.., next] = stack.as_slice() {
            prefetch_node(next);
        }
        cancel_one(&n, code, &cause, false, &mut stack);
    }
}

/// Asks the processor to start loading the cache line at `p` (a hint: it has no
/// effect on what the program does).
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
    // SAFETY: a prefetch reads nothing the program can observe and cannot fault,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
    let _ = p;
}

/// Prefetches the lines of `node` that a cancel touches: its reference counts
/// (16 bytes before it), its status and its wait queue (its first 80 bytes, as
/// `Node` and `CancelState` are laid out in order). Addresses less than a line
/// apart reach every line of that span, however it is aligned.
fn prefetch_node(node: &Arc<Node>) {
    let p = Arc::as_ptr(node).cast::<u8>();
    prefetch(p.wrapping_sub(16));
    prefetch(p.wrapping_add(32));
    prefetch(p.wrapping_add(79));
}

/// Cancels one node; moves its children onto `stack`. Only the node canceled
/// directly (`detach`) leaves its parent's list; its descendants leave with it.
fn cancel_one(
    n: &Arc<Node>,
    code: u8,
    cause: &Option<Cause>,
    detach: bool,
    stack: &mut Vec<Arc<Node>>,
) {
    let Some(s) = n.own_state() else { return };
    if cause.is_none() {
        // Nothing to hand on and nothing to record: one compare-and-swap.
        // ORDERING: SeqCst: comes before the look for waiters in `wake_waiters`
        // in the single total order (and see `attach`). On failure nothing is
        // read but the state itself: Relaxed.
        match s
            .state
            .compare_exchange(LIVE, code, Ordering::SeqCst, Ordering::Relaxed)
        {
            Ok(_) => {
                s.wake_waiters();
                if detach {
                    detach_from_listing(n, s);
                }
                return;
            }
            Err(state) if state & STATUS != LIVE => return,
            Err(_) => {} // attached: take the lock
        }
    }
    let (children, after) = {
        let mut inner = lock(&s.inner);
        // ORDERING: a first look; the compare-and-swap below decides.
        let state = s.state.load(Ordering::Relaxed);
        if state & STATUS != LIVE {
            return;
        }
        // A swap, not a store: without `ATTACHED`, a lock-free cancel may win
        // meanwhile.
        // ORDERING: SeqCst, as above (Relaxed on failure, as above). The cause is
        // written after it, under the lock, which `cause()` takes after it saw
        // the status.
        if s.state
            .compare_exchange(state, state | code, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        if cause.is_some() {
            inner.cause = cause.clone();
        }
        (std::mem::take(&mut inner.children), inner.afters.take())
    };
    s.wake_waiters();
    if let Some(after) = after {
        for (_, location, f) in after.list {
            crate::go::go_blocking_at(location, f);
        }
    }
    if !children.is_empty() {
        if stack.is_empty() {
            *stack = children;
        } else {
            stack.extend(children);
        }
    }
    // A descendant stays in its list, which its canceled parent dropped.
    if detach {
        detach_from_listing(n, s);
    }
}

/// Takes `n` (whose state is `s`) off the list of the node that lists it.
fn detach_from_listing(n: &Arc<Node>, s: &CancelState) {
    let p = match &s.listing {
        None => return,
        Some(Some(p)) => p,
        Some(None) => match &n.parent {
            Some(direct) => &direct.0,
            None => return,
        },
    };
    detach_from(p, n, s);
}

/// Takes `n` (whose state is `s`) off the list of `p`, if it is still there.
fn detach_from(p: &Node, n: &Arc<Node>, s: &CancelState) {
    let Some(ps) = p.own_state() else { return };
    let removed = {
        let mut pi = lock(&ps.inner);
        // ORDERING: `slot` is guarded by `p`'s lock, which we hold.
        let slot = s.slot.load(Ordering::Relaxed);
        if !pi.children.get(slot).is_some_and(|c| Arc::ptr_eq(c, n)) {
            return; // `p` was canceled meanwhile and emptied its list
        }
        let removed = pi.children.swap_remove(slot);
        if let Some(moved) = pi.children.get(slot).and_then(|c| c.own_state()) {
            // ORDERING: as above.
            moved.slot.store(slot, Ordering::Relaxed);
        }
        let (len, cap) = (pi.children.len(), pi.children.capacity());
        if cap >= 64 && len * 4 <= cap {
            pi.children.shrink_to(cap / 2);
        }
        removed
    };
    // Dropped outside the lock (never the last reference: the caller has one).
    drop(removed);
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
    if s.attach().is_some() {
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
    node.own_state()
        .map_or(0, |s| lock(&s.inner).children.len())
}

/// Small cases of the child list and the node construction, sized to run
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

    #[test]
    fn a_detached_child_hands_its_slot_to_the_last() {
        let (root, _cancel_root) = Context::background().with_cancel();
        let mut children: Vec<_> = (0..4).map(|_| root.with_cancel()).collect();
        // The first leaves: the last moves into its slot and must be found there.
        drop(children.remove(0));
        assert_eq!(root.__children(), 3);
        drop(children.pop());
        assert_eq!(root.__children(), 2);
        drop(children.remove(0));
        assert_eq!(root.__children(), 1);
        let (child, guard) = children.pop().unwrap();
        guard.cancel();
        assert!(child.err().is_some());
        assert_eq!(root.__children(), 0);
    }

    #[test]
    fn every_waiter_is_woken_and_a_late_one_returns_at_once() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (idle, _cancel_idle) = ctx.with_cancel(); // nobody waits on it
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let ctx = ctx.clone();
                std::thread::spawn(move || ctx.done().recv())
            })
            .collect();
        cancel.cancel();
        for w in waiters {
            assert_eq!(w.join().unwrap(), None);
        }
        assert!(idle.err().is_some());
        assert_eq!(ctx.done().recv(), None, "a waiter after the cancel");
    }
}

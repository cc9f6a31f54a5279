//! Waiters: how a blocked operation parks, and how another party picks it and wakes it.
//!
//! A [`Waiter`] stands for one blocked party: a thread (woken by `unpark`) or a task
//! (woken through its `Waker`). It is registered, as an [`Entry`], in the wait queue
//! of each channel it waits on. Whoever completes the wait *selects* the waiter by
//! moving its state out of [`WAITING`] with one compare-and-swap; that CAS is the
//! single point that decides who wins, which is what lets one waiter wait on several
//! channels at once (`select!`) without ever taking effect twice.
//!
//! # States
//!
//! | value | name | meaning |
//! |---|---|---|
//! | 0 | `WAITING` | registered, nothing has happened yet |
//! | 1 | `ABORTED` | the waiter gave up (timeout, or it found its own way forward) |
//! | 2 | `DISCONNECTED` | the channel was closed under it |
//! | n ≥ 3 | operation `n` | a peer completed operation `n` (see [`Operation`]) |
//!
//! Only the `WAITING -> *` transition is contended; the waiter resets its own state
//! to `WAITING` before it registers again.

use std::sync::Arc;
use std::time::Instant;

use atomic_waker::AtomicWaker;

use std::sync::atomic::Ordering;

use crate::loom::{current, park, park_timeout, yield_now, AtomicUsize, Thread};

pub(crate) const WAITING: usize = 0;
pub(crate) const ABORTED: usize = 1;
pub(crate) const DISCONNECTED: usize = 2;

/// Identifies one registered operation of a waiter: the value a selector stores in
/// the waiter's state. A waiter blocked on several cases registers one operation per
/// case, so the winner knows which case fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operation(usize);

impl Operation {
    /// The operation of the case with index `case`.
    pub(crate) const fn case(case: usize) -> Self {
        Operation(case + 3)
    }

    /// The only operation of a single (non-select) channel call.
    pub(crate) const SINGLE: Operation = Operation::case(0);

    pub(crate) fn id(self) -> usize {
        self.0
    }
}

/// How a selected waiter is woken.
enum Wake {
    Thread(Thread),
    Task(AtomicWaker),
}

/// A blocked party. See the module docs for the state machine.
pub(crate) struct Waiter {
    /// `WAITING`, `ABORTED`, `DISCONNECTED` or an operation id.
    state: AtomicUsize,
    wake: Wake,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// How many times a thread spins, then yields, before it parks. Waking a parked
/// thread costs tens of microseconds on a virtual machine, while the party that will
/// complete a rendezvous usually answers within a microsecond; so a blocked thread
/// first yields for roughly the price of one park/unpark (2-competitive), then parks.
#[cfg(not(loom))]
const SPINS: u32 = 64;
#[cfg(not(loom))]
const YIELDS: u32 = 64;
#[cfg(loom)]
const SPINS: u32 = 0;
#[cfg(loom)]
const YIELDS: u32 = 0;

impl Waiter {
    /// A waiter for the calling thread.
    pub(crate) fn for_thread() -> Arc<Waiter> {
        Arc::new(Waiter {
            state: AtomicUsize::new(WAITING),
            wake: Wake::Thread(current()),
        })
    }

    /// A waiter for an async task; its waker is set with [`Waiter::set_waker`].
    pub(crate) fn for_task() -> Arc<Waiter> {
        Arc::new(Waiter {
            state: AtomicUsize::new(WAITING),
            wake: Wake::Task(AtomicWaker::new()),
        })
    }

    /// Records the waker to call when this task waiter is selected.
    pub(crate) fn set_waker(&self, waker: &std::task::Waker) {
        if let Wake::Task(w) = &self.wake {
            w.register(waker);
        }
    }

    /// Makes the waiter ready to be registered again. Only its owner calls this,
    /// and only while no queue holds an entry for it.
    pub(crate) fn reset(&self) {
        // ORDERING: no entry refers to this waiter now, so no other thread reads
        // the state until the owner publishes a new entry under a queue's lock.
        self.state.store(WAITING, Ordering::Relaxed);
    }

    /// The current state.
    pub(crate) fn state(&self) -> usize {
        // ORDERING: Acquire pairs with the AcqRel CAS in `try_select`, so what the
        // selector wrote before selecting (a packet, a close) is visible.
        self.state.load(Ordering::Acquire)
    }

    /// Tries to move the waiter from `WAITING` to `to`. Returns the state it
    /// holds afterwards: `to` when this call won, the winner's value otherwise.
    pub(crate) fn try_select(&self, to: usize) -> Result<(), usize> {
        // ORDERING: AcqRel: the winner acquires the waiter's registration and
        // releases what it did before selecting to the waiter's `state()` load.
        self.state
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
    }

    /// Wakes the waiter after it was selected.
    pub(crate) fn wake(&self) {
        match &self.wake {
            Wake::Thread(t) => t.unpark(),
            Wake::Task(w) => w.wake(),
        }
    }

    /// Blocks the calling thread (the waiter's owner) until it is selected or the
    /// deadline passes; on timeout it aborts itself. Returns the final state.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> usize {
        for i in 0..SPINS + YIELDS {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            if i < SPINS {
                std::hint::spin_loop();
            } else {
                yield_now();
            }
        }
        loop {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return match self.try_select(ABORTED) {
                            Ok(()) => ABORTED,
                            Err(s) => s,
                        };
                    }
                    park_timeout(d - now);
                }
            }
        }
    }
}

/// One registration in a wait queue.
pub(crate) struct Entry {
    pub(crate) waiter: Arc<Waiter>,
    pub(crate) oper: Operation,
    /// The waiter's transfer slot for this operation (a `zero::Packet<T>`), or null
    /// when the registration is only a request to be notified.
    pub(crate) packet: *mut (),
}

// SAFETY: `packet` is only dereferenced by the party that won `try_select` on
// `waiter`, while holding the lock of the queue the entry was in; the waiter keeps
// the packet alive until it has observed the outcome. The pointer itself is plain data.
unsafe impl Send for Entry {}

/// Runs `f` with a waiter for the current thread, reusing one cached per thread
/// (allocating only when the cache is in use by an outer call).
#[cfg(not(loom))]
pub(crate) fn with_thread_waiter<R>(f: impl FnOnce(&Arc<Waiter>) -> R) -> R {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<Option<Arc<Waiter>>> = const { Cell::new(None) };
    }
    let waiter = CACHED
        .try_with(|c| c.take())
        .ok()
        .flatten()
        .unwrap_or_else(Waiter::for_thread);
    waiter.reset();
    let r = f(&waiter);
    let _ = CACHED.try_with(|c| c.set(Some(waiter)));
    r
}

#[cfg(loom)]
pub(crate) fn with_thread_waiter<R>(f: impl FnOnce(&Arc<Waiter>) -> R) -> R {
    f(&Waiter::for_thread())
}

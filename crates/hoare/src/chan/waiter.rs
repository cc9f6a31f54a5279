//! Waiters: how a blocked operation parks, and how another party picks it and wakes it.
//!
//! A [`Waiter`] stands for one blocked party: a thread (woken by `unpark`) or a task
//! (woken through its `Waker`). It lives where the blocked operation lives: on the
//! blocked thread's stack, or inside the (pinned) future. It is registered, as an
//! [`Entry`] pointing to it, in the wait queue of each channel it waits on. Whoever
//! completes the wait *selects* the waiter by moving its state out of [`WAITING`]
//! with one compare-and-swap; that CAS is the single point that decides who wins,
//! which is what lets one waiter wait on several channels at once (`select!`)
//! without ever taking effect twice.
//!
//! # States
//!
//! | value | name | meaning |
//! |---|---|---|
//! | 0 | `WAITING` | registered, nothing has happened yet |
//! | 1 | `ABORTED` | the owner gave up (timeout, drop, or it found its own way forward) |
//! | 2 | `DISCONNECTED` | the channel was closed under it |
//! | n ≥ 3 | operation `n` | a peer completed operation `n` (see [`Operation`]) |
//!
//! Only the `WAITING -> *` transition is contended; the owner resets its state to
//! `WAITING` before it registers again. One kind of waiter is not contended at all:
//! an async operation on an unbuffered channel ([`Operation::SINGLE_LOCKED`], or
//! [`Operation::tagged_locked`]) is registered in that one channel, and both its owner and its selectors move its
//! state only under that channel's lock, so the selector's CAS becomes a load and a
//! store there (and a withdrawing owner removes its entry in the same critical
//! section, so such an entry is `WAITING` for as long as it is queued).
//!
//! # Lifetime protocol (why the raw pointers in [`Entry`] are sound)
//!
//! 1. A waiter outlives every queue entry that points to it: before a waiter is
//!    dropped, its owner removes each of its entries, holding that queue's lock,
//!    except an entry that a selector already removed.
//! 2. A selector reaches a waiter only through an entry, holding the lock of the
//!    queue the entry is in, and tries the CAS there. Only the selector whose CAS
//!    wins goes on; from then on the waiter and its packet are that selector's alone
//!    (with or without the lock) until it sets `done`: it fills the packet if the
//!    operation moves a value, takes the waiter's [`Unparker`], and sets `done`
//!    ([`Selected::release`]). After that store it touches the waiter no more.
//! 3. The owner, having seen its state moved by another party, waits for `done`
//!    before it touches its unparker or packet, or leaves. While the state is
//!    `WAITING` the owner touches them only when no entry of the waiter is queued,
//!    so no selector can be at the CAS.

use std::collections::VecDeque;
use std::marker::PhantomPinned;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::Instant;

use crate::loom::{
    current, park, park_timeout, yield_now, AtomicBool, AtomicUsize, Backoff, Thread, UnsafeCell,
};

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

    /// The only operation of a single async call on an unbuffered channel. Every
    /// change of such a waiter's state happens under that channel's lock (its
    /// owner withdraws only while holding it), so a selector claims it with a load
    /// and a store rather than a compare-and-swap (see [`Entry::try_select`]).
    pub(crate) const SINGLE_LOCKED: Operation = Operation(usize::MAX);

    /// The top bit marks an operation whose waiter's state changes only under the
    /// lock of the one channel it is registered in ([`Operation::SINGLE_LOCKED`]
    /// and [`Operation::tagged_locked`]). Case numbers never reach it.
    const LOCKED: usize = !(usize::MAX >> 1);

    /// The next bit marks a tagged operation (see [`Operation::tagged`]).
    const TAGGED: usize = Self::LOCKED >> 1;

    /// The only operation of a single call, as [`Operation::SINGLE`], tagged with
    /// the address of the object that may wake it apart from the channel's own
    /// parties (an or-done receiver's context hook): that object finds its entries
    /// by this tag. `addr` is at least 4-aligned, so tags of distinct objects differ
    /// and no tag equals `SINGLE_LOCKED`.
    pub(crate) const fn tagged(addr: usize) -> Self {
        Operation((addr >> 2) | Self::TAGGED)
    }

    /// [`Operation::tagged`] for an async receive on an unbuffered channel, whose
    /// waiter changes state only under the channel's lock (as with
    /// [`Operation::SINGLE_LOCKED`]).
    pub(crate) const fn tagged_locked(addr: usize) -> Self {
        Operation(Self::tagged(addr).0 | Self::LOCKED)
    }

    /// Whether this operation's waiter changes state only under its channel's lock.
    #[inline]
    pub(crate) const fn is_locked(self) -> bool {
        self.0 & Self::LOCKED != 0
    }

    /// Whether this operation bears the tag of `tagged` (made by
    /// [`Operation::tagged`] or [`Operation::tagged_locked`]), in either form.
    #[inline]
    pub(crate) const fn has_tag_of(self, tagged: Operation) -> bool {
        self.0 | Self::LOCKED == tagged.0 | Self::LOCKED
    }

    pub(crate) fn id(self) -> usize {
        self.0
    }
}

/// How to wake a waiter's owner; taken out of the waiter by its selector.
pub(crate) enum Unparker {
    Thread(Thread),
    Task(Waker),
    /// Nothing to wake: a task waiter not yet given a waker, or already taken.
    Nobody,
}

impl Unparker {
    #[inline]
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Thread(t) => t.unpark(),
            Unparker::Task(w) => w.wake(),
            Unparker::Nobody => {}
        }
    }
}

/// A blocked party. See the module docs for the state machine and the protocol.
pub(crate) struct Waiter {
    /// `WAITING`, `ABORTED`, `DISCONNECTED` or an operation id.
    state: AtomicUsize,
    /// Set (Release) by the winning selector when it is finished with the waiter.
    done: AtomicBool,
    /// How to wake the owner: set by the owner before registering, taken by the
    /// winning selector (rules 2 and 3).
    unparker: UnsafeCell<Unparker>,
    /// Queues hold its address.
    _pinned: PhantomPinned,
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
/// first spins and yields for about the price of one park/unpark (2-competitive),
/// then parks.
#[cfg(not(loom))]
pub(crate) const SPINS: u32 = 64;
#[cfg(not(loom))]
pub(crate) const YIELDS: u32 = 64;
#[cfg(loom)]
pub(crate) const SPINS: u32 = 0;
#[cfg(loom)]
pub(crate) const YIELDS: u32 = 0;

/// How many spin hints, then how many yields, a thread blocked on a buffered
/// channel goes through before it parks (see [`Waiter::wait_yielding_until`]).
#[cfg(not(loom))]
const BUFFERED_SPINS: u32 = 16;
#[cfg(not(loom))]
const BUFFERED_YIELDS: u32 = 256;
#[cfg(loom)]
const BUFFERED_SPINS: u32 = 0;
#[cfg(loom)]
const BUFFERED_YIELDS: u32 = 0;

impl Waiter {
    /// A waiter for the calling thread.
    pub(crate) fn for_thread() -> Waiter {
        Self::with(Unparker::Thread(current()))
    }

    /// A waiter for an async task; its waker is set with [`Waiter::set_waker`].
    #[inline]
    pub(crate) fn for_task() -> Waiter {
        Self::with(Unparker::Nobody)
    }

    #[inline]
    fn with(unparker: Unparker) -> Waiter {
        Waiter {
            state: AtomicUsize::new(WAITING),
            done: AtomicBool::new(false),
            unparker: UnsafeCell::new(unparker),
            _pinned: PhantomPinned,
        }
    }

    /// Stores the waker to wake.
    ///
    /// # Safety
    /// Owner only, while no queue holds an entry of this waiter and no selector is
    /// at it (rule 3).
    #[inline]
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) {
        // SAFETY: the caller guarantees nobody else touches the unparker now.
        self.unparker.with_mut(|p| unsafe {
            match &mut *p {
                Unparker::Task(w) => w.clone_from(waker),
                other => *other = Unparker::Task(waker.clone()),
            }
        });
    }

    /// Makes the waiter ready to be registered again. Owner only, and only while no
    /// queue holds an entry of it and no selector is at it.
    #[inline]
    pub(crate) fn reset(&self) {
        // ORDERING: the owner publishes the next entry under a queue's lock, which
        // orders these stores before any selector's accesses.
        self.done.store(false, Ordering::Relaxed);
        self.state.store(WAITING, Ordering::Relaxed);
    }

    /// The current state.
    #[inline]
    pub(crate) fn state(&self) -> usize {
        // ORDERING: Acquire pairs with the AcqRel CAS in `try_select`.
        self.state.load(Ordering::Acquire)
    }

    /// The owner gives up waiting. Returns false if another party got there first;
    /// the owner must then [`wait_done`](Waiter::wait_done) before it leaves.
    #[inline]
    pub(crate) fn try_abort(&self) -> bool {
        // ORDERING: AcqRel, as in `try_select`.
        self.state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Waits until the party that moved the owner's state is finished with the
    /// waiter (rule 3). That party holds a lock and is a few instructions from the
    /// end, so this is short; it backs off to yielding if that party is preempted.
    #[inline]
    pub(crate) fn wait_done(&self) {
        // ORDERING: Acquire pairs with the Release in `Selected::release`, making the
        // selector's writes (a packet's value, the taken unparker) visible.
        if !self.done.load(Ordering::Acquire) {
            self.wait_done_slow();
        }
    }

    #[cold]
    fn wait_done_slow(&self) {
        let mut backoff = Backoff::new();
        // ORDERING: as in `wait_done`.
        while !self.done.load(Ordering::Acquire) {
            backoff.snooze();
        }
    }

    /// Tries to move the waiter from `WAITING` to `to`. On success the caller holds
    /// a [`Selected`] and must [`release`](Selected::release) it.
    ///
    /// # Safety
    /// The caller holds the lock of a queue that holds an entry of this waiter, so
    /// rule 1 keeps it alive; after a win the owner waits for the release (rule 3).
    #[inline]
    pub(crate) unsafe fn try_select(&self, to: usize) -> Option<Selected> {
        // ORDERING: AcqRel: the winner acquires the owner's registration (its
        // unparker, its packet) and releases what it did before to the owner.
        self.state
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Selected { waiter: self })
    }

    /// [`Waiter::try_select`] for a waiter whose state changes only under a lock
    /// the caller holds (operation [`Operation::SINGLE_LOCKED`]): no other party
    /// can move the state between our load and our store.
    ///
    /// # Safety
    /// As for [`Waiter::try_select`], and every change of this waiter's state
    /// happens under the lock the caller holds.
    #[inline]
    pub(crate) unsafe fn select_locked(&self, to: usize) -> Option<Selected> {
        // ORDERING: the lock orders these against the owner's withdrawal and other
        // selectors, and gives us the owner's registration. The owner learns of our
        // writes through `done` (Acquire in `wait_done`, Release in
        // `Selected::release`), not through this store, so Relaxed suffices.
        if self.state.load(Ordering::Relaxed) != WAITING {
            return None;
        }
        self.state.store(to, Ordering::Relaxed);
        Some(Selected { waiter: self })
    }

    /// Returns state `s` (not `WAITING`) once the owner may act on it: if another
    /// party moved the state, after it is done with the waiter.
    #[inline]
    pub(crate) fn settled(&self, s: usize) -> usize {
        if s != ABORTED {
            self.wait_done();
        }
        s
    }

    /// Blocks the calling thread (the waiter's owner) until it is selected or the
    /// deadline passes; on timeout it aborts itself. Returns the final state, once
    /// settled.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> usize {
        self.wait_phases(deadline, SPINS, YIELDS)
    }

    /// [`Waiter::wait_until`] for a thread blocked on a buffered channel: a short
    /// spin (about a microsecond, for a partner that answers at once), then yields,
    /// then it parks. A full or empty ring stays so until the other side runs, and
    /// when threads outnumber cores a longer spin holds the very core that side
    /// needs: on two cores with two senders and two receivers, the 64-hint spin of
    /// [`Waiter::wait_until`] (after a backoff) made the `mpmc` benchmark about
    /// 1.5x slower. Without any spin, a thread handing work back and forth over a
    /// `chan(1)` (the `waitgroup` benchmark) took 6x longer per round.
    pub(crate) fn wait_yielding_until(&self, deadline: Option<Instant>) -> usize {
        self.wait_phases(deadline, BUFFERED_SPINS, BUFFERED_YIELDS)
    }

    /// Waits: `spins` spin hints, then `yields` yields, then parks; each step
    /// first looks whether the waiter was selected.
    fn wait_phases(&self, deadline: Option<Instant>, spins: u32, yields: u32) -> usize {
        for i in 0..spins + yields {
            let s = self.state();
            if s != WAITING {
                return self.settled(s);
            }
            if i < spins {
                std::hint::spin_loop();
            } else {
                yield_now();
            }
        }
        loop {
            let s = self.state();
            if s != WAITING {
                return self.settled(s);
            }
            match deadline {
                None => park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return if self.try_abort() {
                            ABORTED
                        } else {
                            self.settled(self.state())
                        };
                    }
                    park_timeout(d - now);
                }
            }
        }
    }
}

/// A waiter this thread has just selected (its CAS won). It must be released, after
/// which its owner is unparked; neither needs the queue lock any more.
#[must_use = "a selected waiter must be released"]
pub(crate) struct Selected {
    waiter: *const Waiter,
}

impl Selected {
    /// Takes the owner's unparker and tells the owner we are done (rule 2). The
    /// caller must not touch the waiter afterwards, and should unpark after
    /// releasing its lock.
    #[inline]
    pub(crate) fn release(self) -> Unparker {
        // SAFETY: we won the CAS, so the owner waits for `done` (rule 3): the waiter is
        // alive and its unparker is ours until the store below.
        unsafe {
            let waiter = &*self.waiter;
            let unparker = waiter
                .unparker
                .with_mut(|p| std::mem::replace(&mut *p, Unparker::Nobody));
            // ORDERING: Release publishes our writes to the owner's `wait_done`.
            waiter.done.store(true, Ordering::Release);
            unparker
        }
    }
}

/// One registration in a wait queue.
pub(crate) struct Entry {
    /// The registered waiter; alive while this entry is queued (protocol rule 1).
    /// Never null, which lets an `Option<Entry>` take no more room than an entry.
    pub(crate) waiter: NonNull<Waiter>,
    pub(crate) oper: Operation,
    /// The waiter's transfer slot for this operation (a [`Packet<T>`]), or null
    /// when the registration is only a request to be notified.
    pub(crate) packet: *mut (),
}

// SAFETY: the pointers are only dereferenced under the protocol above, by threads
// holding the queue's lock; the pointees (`Waiter`, `Packet<T>` with `T: Send`) may be
// used from any thread.
unsafe impl Send for Entry {}

impl Entry {
    #[inline]
    pub(crate) fn is(&self, waiter: &Waiter, oper: Operation) -> bool {
        std::ptr::eq(self.waiter.as_ptr(), waiter) && self.oper == oper
    }

    /// Tries to select this entry's waiter for its operation.
    ///
    /// # Safety
    /// The caller holds the lock of the queue this entry was in and took the entry
    /// out of it within the same critical section.
    #[inline]
    pub(crate) unsafe fn try_select(&self) -> Option<Selected> {
        // SAFETY: rule 1 keeps the waiter alive while we hold the lock of the queue
        // the entry was in; the caller's contract is rule 2.
        let waiter = unsafe { self.waiter.as_ref() };
        if self.oper.is_locked() {
            // SAFETY: such a waiter's state only changes under the lock we hold.
            unsafe { waiter.select_locked(self.oper.id()) }
        } else {
            // SAFETY: as above.
            unsafe { waiter.try_select(self.oper.id()) }
        }
    }

    /// Whether this entry's waiter still waits and is not `own`: a party that a
    /// select owning `own` could complete with.
    ///
    /// # Safety
    /// The caller holds the lock of the queue this entry is in (rule 1).
    pub(crate) unsafe fn is_partner_for(&self, own: &Waiter) -> bool {
        // SAFETY: rule 1 keeps the waiter alive while we hold the queue's lock.
        !std::ptr::eq(self.waiter.as_ptr(), own)
            && unsafe { self.waiter.as_ref().state() } == WAITING
    }

    /// Tries to select this entry's waiter with `DISCONNECTED`.
    ///
    /// # Safety
    /// As [`Entry::try_select`].
    pub(crate) unsafe fn try_disconnect(&self) -> Option<Selected> {
        // SAFETY: as in `try_select`.
        unsafe { self.waiter.as_ref().try_select(DISCONNECTED) }
    }
}

/// A transfer slot for a value, beside a waiter of an unbuffered channel: a waiting
/// sender's holds its value, a waiting receiver's is where a sender puts one. Only
/// the owner (rule 3) or the winning selector (rule 2) touch it.
pub(crate) struct Packet<T> {
    msg: UnsafeCell<Option<T>>,
}

impl<T> Packet<T> {
    pub(crate) fn new(msg: Option<T>) -> Self {
        Self {
            msg: UnsafeCell::new(msg),
        }
    }

    /// Takes the value.
    ///
    /// # Safety
    /// The caller has exclusive access under the protocol (owner or winning selector).
    #[inline]
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access is the caller's contract.
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }

    /// Stores a value.
    ///
    /// # Safety
    /// As for [`Packet::take`].
    #[inline]
    pub(crate) unsafe fn put(&self, msg: T) {
        // SAFETY: exclusive access is the caller's contract.
        self.msg.with_mut(|p| unsafe { *p = Some(msg) });
    }
}

/// The state an async operation keeps between polls. It lives in place (inside the
/// pinned future, or boxed in a stream): a queue may hold the addresses of its
/// waiter and packet.
pub(crate) struct AsyncWait<T> {
    pub(crate) waiter: Waiter,
    /// Used by the unbuffered flavor only.
    pub(crate) packet: Packet<T>,
    /// An entry of ours is in a queue (or was, until a selector took it out).
    pub(crate) registered: bool,
    /// Identity of the waker stored at registration (owner-only copy), to notice
    /// when a later poll brings a different one.
    /// (The vtable address is never null, so `None` costs no extra word.)
    waker_id: Option<WakerId>,
}

/// A waker's identity: its data and vtable addresses (what `Waker::will_wake` compares).
type WakerId = (usize, NonZeroUsize);

/// `None` only if the vtable address were null, which a reference never is (and
/// then no two wakers compare the same, which merely costs a re-registration).
#[inline]
fn waker_id(waker: &Waker) -> Option<WakerId> {
    let vtable = NonZeroUsize::new(waker.vtable() as *const _ as usize)?;
    Some((waker.data() as usize, vtable))
}

impl<T> Default for AsyncWait<T> {
    fn default() -> Self {
        Self {
            waiter: Waiter::for_task(),
            packet: Packet::new(None),
            registered: false,
            waker_id: None,
        }
    }
}

impl<T> AsyncWait<T> {
    /// Whether `waker` is the one stored at registration.
    #[inline]
    pub(crate) fn same_waker(&self, waker: &Waker) -> bool {
        self.waker_id.is_some() && self.waker_id == waker_id(waker)
    }

    /// Prepares the waiter for a new registration with `waker`.
    ///
    /// # Safety
    /// No entry of the waiter is queued and no selector is at it.
    #[inline]
    pub(crate) unsafe fn arm(&mut self, waker: &Waker) -> &mut Self {
        self.waiter.reset();
        // SAFETY: the caller's contract.
        unsafe { self.waiter.set_waker(waker) };
        self.waker_id = waker_id(waker);
        self
    }

    /// A new wait state, armed with `waker` (as [`AsyncWait::arm`] leaves it).
    #[inline]
    pub(crate) fn armed(waker: &Waker) -> Self {
        Self {
            waiter: Waiter::with(Unparker::Task(waker.clone())),
            packet: Packet::new(None),
            registered: false,
            waker_id: waker_id(waker),
        }
    }
}

/// A FIFO of entries that keeps its oldest entry inline: a channel's wait queues
/// mostly hold zero or one entry, and then no separate heap line is touched.
#[derive(Default)]
pub(crate) struct EntryQueue {
    /// The oldest entry; `None` only when the queue is empty.
    head: Option<Entry>,
    /// The others, oldest first.
    rest: VecDeque<Entry>,
}

impl EntryQueue {
    pub(crate) const fn new() -> Self {
        Self {
            head: None,
            rest: VecDeque::new(),
        }
    }

    pub(crate) fn as_mut(&mut self) -> EntryQueueMut<'_> {
        EntryQueueMut {
            head: &mut self.head,
            rest: &mut self.rest,
        }
    }
}

/// An [`EntryQueue`] whose two parts may live apart, so that a channel can keep the
/// oldest entry of each of its queues in one cache line.
pub(crate) struct EntryQueueMut<'a> {
    /// The oldest entry; `None` only when the queue is empty.
    pub(crate) head: &'a mut Option<Entry>,
    /// The others, oldest first.
    pub(crate) rest: &'a mut VecDeque<Entry>,
}

impl EntryQueueMut<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    #[inline]
    pub(crate) fn push_back(&mut self, entry: Entry) {
        if self.head.is_none() {
            *self.head = Some(entry);
        } else {
            self.rest.push_back(entry);
        }
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<Entry> {
        self.head.as_ref()?;
        let head = self.head.take()?;
        *self.head = self.rest.pop_front();
        Some(head)
    }

    /// Whether any queued entry satisfies `f`, oldest first.
    pub(crate) fn any(&self, f: impl FnMut(&Entry) -> bool) -> bool {
        self.head.iter().chain(self.rest.iter()).any(f)
    }

    /// Removes the entry of `oper` of `waiter`, if queued. Returns whether it was.
    pub(crate) fn remove(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        if self.head.as_ref().is_some_and(|e| e.is(waiter, oper)) {
            *self.head = self.rest.pop_front();
            return true;
        }
        match self.rest.iter().position(|e| e.is(waiter, oper)) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Takes out every entry bearing the tag of `oper` (see
    /// [`Operation::has_tag_of`]) and selects its waiter with `DISCONNECTED`;
    /// returns the unparkers of those it won, to wake once the lock is released.
    /// The other entries stay, in order.
    ///
    /// # Safety
    /// The caller holds the lock that guards this queue (rules 1 and 2).
    pub(crate) unsafe fn disconnect_tagged(&mut self, oper: Operation) -> Vec<Unparker> {
        let mut woken = Vec::new();
        let mut untagged = |e: &Entry| {
            if !e.oper.has_tag_of(oper) {
                return true;
            }
            // SAFETY: the caller holds the queue's lock, and the entry leaves the
            // queue in this critical section; the selection is released at once.
            if let Some(selected) = unsafe { e.try_disconnect() } {
                woken.push(selected.release());
            }
            false
        };
        if self.head.as_ref().is_some_and(|e| !untagged(e)) {
            *self.head = None;
        }
        self.rest.retain(|e| untagged(e));
        if self.head.is_none() {
            *self.head = self.rest.pop_front();
        }
        woken
    }

    /// Takes every entry out, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<Entry> {
        let mut all = Vec::with_capacity(1 + self.rest.len());
        all.extend(self.head.take());
        all.extend(self.rest.drain(..));
        all
    }
}

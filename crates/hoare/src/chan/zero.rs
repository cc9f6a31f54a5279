//! The rendezvous flavor: `chan(0)`.
//!
//! There is no buffer: a value moves directly from a sender to a receiver, while
//! both are inside an operation. All state sits behind one lock, as in Go's `hchan`:
//! a [`SpinLock`], since no critical section blocks or runs long.
//!
//! # Invariants
//! - At least one of `senders` and `receivers` holds no entry that could still be
//!   selected: a party arriving at the channel first completes with a waiting party
//!   of the other side, and only waits if there is none.
//! - Every waiting entry carries a [`Packet`]: a waiting sender's holds its value, a
//!   waiting receiver's is where a sender puts one. Only the party that wins the
//!   waiter's `try_select` (under the lock) touches a packet, after unlocking and
//!   before it releases the waiter; the owner takes the packet back once the waiter
//!   is settled (see `waiter.rs`). Critical sections are thus a pop and a CAS.
//! - A task's future can be dropped after a sender put a value in its packet. The
//!   value is then offered to the next waiting receiver or, if there is none, kept
//!   in `stash` and handed to the next receiver that comes. So no value is lost, and
//!   a sender is only told "sent" once a receiver took its value. (One narrow race
//!   remains visible: if the channel closes while such a value is in flight, a
//!   receiver may see `None` and a later receive still get the stashed value.)

use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Instant;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::waiter::{
    AsyncWait, Entry, EntryQueueMut, Operation, Packet, Selected, Unparker, Waiter, ABORTED,
    DISCONNECTED, WAITING,
};
use crate::loom::{SpinGuard, SpinLock};

/// The fields every operation touches come first, so that with the lock word
/// they share one cache line (`Channel` is line-aligned): the oldest waiting sender
/// and receiver, and `closed`. The rest of the queues and the stash come after.
#[repr(C)]
struct Inner<T> {
    /// The oldest waiting sender; its packet holds the value to send.
    sender: Option<Entry>,
    /// The oldest waiting receiver; its packet is empty.
    receiver: Option<Entry>,
    /// Closed by `close`, by the last sender, or by the last receiver.
    closed: bool,
    /// The other waiting senders, oldest first.
    more_senders: VecDeque<Entry>,
    /// The other waiting receivers, oldest first.
    more_receivers: VecDeque<Entry>,
    /// Values a receiver had been given but whose future was dropped (see module docs).
    stash: VecDeque<T>,
}

impl<T> Inner<T> {
    /// The waiting senders, oldest first.
    #[inline]
    fn senders(&mut self) -> EntryQueueMut<'_> {
        EntryQueueMut {
            head: &mut self.sender,
            rest: &mut self.more_senders,
        }
    }

    /// The waiting receivers, oldest first.
    #[inline]
    fn receivers(&mut self) -> EntryQueueMut<'_> {
        EntryQueueMut {
            head: &mut self.receiver,
            rest: &mut self.more_receivers,
        }
    }
}

/// Aligned to a cache line: see [`Inner`].
#[repr(align(64))]
pub(crate) struct Channel<T> {
    inner: SpinLock<Inner<T>>,
}

/// Pops entries until one can be selected; returns it, selected. Called with the
/// channel's lock held (the queue is part of it); the caller releases the selection
/// before unlocking.
#[inline]
fn select_first(mut queue: EntryQueueMut<'_>) -> Option<(Entry, Selected)> {
    while let Some(entry) = queue.pop_front() {
        // SAFETY: we hold the channel's lock and took the entry out of its queue;
        // the caller releases the selection under the same lock.
        if let Some(selected) = unsafe { entry.try_select() } {
            return Some((entry, selected));
        }
        // Stale: its waiter timed out or was selected elsewhere.
    }
    None
}

/// Whether `queue` (part of the locked channel) holds a waiting party other than
/// `own`: one a select owning `own` could complete with now.
fn has_partner(queue: EntryQueueMut<'_>, own: &Waiter) -> bool {
    // SAFETY: the caller holds the channel's lock, which guards the queue.
    queue.any(|e| unsafe { e.is_partner_for(own) })
}

/// Withdraws the entry of a blocked thread's `waiter`.
fn remove(mut queue: EntryQueueMut<'_>, waiter: &Waiter) {
    queue.remove(waiter, Operation::SINGLE);
}

/// The entry of a blocked thread's `waiter`. A thread withdraws after a timeout
/// without the lock, so selectors claim it with a compare-and-swap.
fn entry<T>(waiter: &Waiter, packet: &Packet<T>) -> Entry {
    Entry {
        waiter: waiter.into(),
        oper: Operation::SINGLE,
        packet: packet as *const Packet<T> as *mut (),
    }
}

/// The entry of an async operation's waiter, as `oper` ([`Operation::SINGLE_LOCKED`]
/// or a tagged one). Its owner moves the waiter's state (withdraws) only while
/// holding the channel's lock, so a selector claims it with a plain load and store.
#[inline]
fn task_entry<T>(w: &AsyncWait<T>, oper: Operation) -> Entry {
    Entry {
        waiter: (&w.waiter).into(),
        oper,
        packet: &w.packet as *const Packet<T> as *mut (),
    }
}

/// Withdraws the entry of an async operation's waiter, registered as `oper`.
fn remove_task<T>(mut queue: EntryQueueMut<'_>, w: &AsyncWait<T>, oper: Operation) {
    queue.remove(&w.waiter, oper);
}

/// A waiting party this thread has selected: until [`Handoff::give`] or
/// [`Handoff::take`] releases it, its waiter and packet are ours (the owner waits for
/// `done`), so the transfer itself happens after the channel is unlocked.
#[must_use = "a selected party must be released"]
struct Handoff<T> {
    selected: Selected,
    packet: *const Packet<T>,
}

impl<T> Handoff<T> {
    /// Puts `msg` in a waiting receiver's packet and releases it.
    #[inline]
    fn give(self, msg: T) -> Unparker {
        // SAFETY: we won the receiver's CAS, so its packet is alive and ours until
        // we release the waiter (waiter protocol rule 2).
        unsafe { (*self.packet).put(msg) };
        self.selected.release()
    }

    /// Takes the value out of a waiting sender's packet and releases it.
    #[inline]
    fn take(self) -> (T, Unparker) {
        // SAFETY: as in `give`.
        let msg = unsafe { (*self.packet).take() };
        let unparker = self.selected.release();
        (
            msg.expect("a waiting sender's packet holds its value"),
            unparker,
        )
    }
}

impl<T> Inner<T> {
    /// Selects the first waiting receiver.
    #[inline]
    fn receiver(&mut self) -> Option<Handoff<T>> {
        select_first(self.receivers()).map(|(entry, selected)| Handoff {
            selected,
            packet: entry.packet as *const Packet<T>,
        })
    }

    /// Selects the first waiting sender.
    #[inline]
    fn sender(&mut self) -> Option<Handoff<T>> {
        select_first(self.senders()).map(|(entry, selected)| Handoff {
            selected,
            packet: entry.packet as *const Packet<T>,
        })
    }
}

/// Receives from the stash or from a waiting sender, unlocking `inner` first when
/// a sender is involved. `Err` gives the guard back when there is nothing to take.
#[inline]
fn take_now<T>(mut inner: SpinGuard<'_, Inner<T>>) -> Result<T, SpinGuard<'_, Inner<T>>> {
    if let Some(msg) = inner.stash.pop_front() {
        return Ok(msg);
    }
    match inner.sender() {
        Some(handoff) => {
            drop(inner);
            let (msg, sender) = handoff.take();
            sender.unpark();
            Ok(msg)
        }
        None => Err(inner),
    }
}

/// Gives `msg` to a waiting receiver, unlocking `inner` first. `Err` gives the value
/// and the guard back when no receiver waits.
#[inline]
fn give_now<T>(
    mut inner: SpinGuard<'_, Inner<T>>,
    msg: T,
) -> Result<(), (T, SpinGuard<'_, Inner<T>>)> {
    match inner.receiver() {
        Some(handoff) => {
            drop(inner);
            handoff.give(msg).unpark();
            Ok(())
        }
        None => Err((msg, inner)),
    }
}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        Self {
            inner: SpinLock::new(Inner {
                sender: None,
                receiver: None,
                closed: false,
                more_senders: VecDeque::new(),
                more_receivers: VecDeque::new(),
                stash: VecDeque::new(),
            }),
        }
    }

    #[inline]
    fn lock(&self) -> SpinGuard<'_, Inner<T>> {
        self.inner.lock()
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let inner = self.lock();
        if inner.closed {
            return Err(TrySendError::Closed(msg));
        }
        give_now(inner, msg).map_err(|(msg, _)| TrySendError::Full(msg))
    }

    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let inner = self.lock();
        if inner.closed {
            return Err(SendTimeoutError::Closed(msg));
        }
        let (msg, mut inner) = match give_now(inner, msg) {
            Ok(()) => return Ok(()),
            Err(back) => back,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(msg));
        }
        let packet = Packet::new(Some(msg));
        let waiter = Waiter::for_thread();
        inner.senders().push_back(entry(&waiter, &packet));
        drop(inner);
        // `wait_until` returns once nobody else touches `waiter` or `packet`.
        match waiter.wait_until(deadline) {
            ABORTED => {
                remove(self.lock().senders(), &waiter);
                // SAFETY: we aborted: no selector touched or will touch the packet.
                Err(SendTimeoutError::Timeout(
                    unsafe { packet.take() }.expect("value still in packet"),
                ))
            }
            DISCONNECTED => {
                // SAFETY: settled; a disconnect never touches packets.
                Err(SendTimeoutError::Closed(
                    unsafe { packet.take() }.expect("value still in packet"),
                ))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let inner = match take_now(self.lock()) {
            Ok(msg) => return Ok(msg),
            Err(inner) => inner,
        };
        Err(if inner.closed {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        })
    }

    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.recv_as(deadline, Operation::SINGLE, || false)
    }

    /// [`Channel::recv`], waiting registered as `oper` ([`Operation::SINGLE`] or a
    /// tag of [`Operation::tagged`], see [`Channel::disconnect_tagged`]), and
    /// ending with `Closed` once `stop` returns true: it is asked after
    /// registering, so a `stop` that turns true and then disconnects the tag is
    /// never missed. A value handed over meanwhile is still received.
    #[inline]
    pub(crate) fn recv_as(
        &self,
        deadline: Option<Instant>,
        oper: Operation,
        stop: impl Fn() -> bool,
    ) -> Result<T, RecvTimeoutError> {
        let mut inner = match take_now(self.lock()) {
            Ok(msg) => return Ok(msg),
            Err(inner) => inner,
        };
        if inner.closed {
            return Err(RecvTimeoutError::Closed);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        let packet = Packet::<T>::new(None);
        let waiter = Waiter::for_thread();
        inner.receivers().push_back(Entry {
            oper,
            ..entry(&waiter, &packet)
        });
        drop(inner);
        if stop() && waiter.try_abort() {
            self.lock().receivers().remove(&waiter, oper);
            return Err(RecvTimeoutError::Closed);
        }
        match waiter.wait_until(deadline) {
            ABORTED => {
                self.lock().receivers().remove(&waiter, oper);
                Err(RecvTimeoutError::Timeout)
            }
            DISCONNECTED => Err(RecvTimeoutError::Closed),
            // SAFETY: settled: the sender is done with the packet.
            _ => unsafe { packet.take() }.ok_or(RecvTimeoutError::Closed),
        }
    }

    /// Handles a poll of an operation registered as `oper`. Returns `WAITING`
    /// (stay pending) or the settled state. Re-registers when the task's waker
    /// changed.
    #[inline]
    fn poll_registered(
        &self,
        cx: &mut Context<'_>,
        w: &mut AsyncWait<T>,
        is_send: bool,
        oper: Operation,
    ) -> usize {
        let s = w.waiter.state();
        if s != WAITING {
            return w.waiter.settled(s);
        }
        if w.same_waker(cx.waker()) {
            return WAITING; // a spurious poll
        }
        self.reregister(cx, w, is_send, oper)
    }

    /// The task's waker changed while `w` waits: re-register with the new one,
    /// unless selected meanwhile. Returns as [`Channel::poll_registered`].
    #[cold]
    fn reregister(
        &self,
        cx: &mut Context<'_>,
        w: &mut AsyncWait<T>,
        is_send: bool,
        oper: Operation,
    ) -> usize {
        let mut inner = self.lock();
        if w.waiter.try_abort() {
            let mut queue = if is_send {
                inner.senders()
            } else {
                inner.receivers()
            };
            queue.remove(&w.waiter, oper);
            // SAFETY: our entry is out of the queue, and no selector is at the
            // waiter (we aborted it).
            unsafe { w.arm(cx.waker()) };
            queue.push_back(task_entry(w, oper));
            return WAITING;
        }
        drop(inner);
        w.waiter.settled(w.waiter.state())
    }

    /// Registers `w` (whose packet is set up) in `queue` as `oper`, holding the lock.
    ///
    /// # Safety
    /// `w` stays in place until its operation completes or is cancelled.
    #[inline(always)]
    unsafe fn register<'w>(
        cx: &mut Context<'_>,
        slot: &'w mut Option<AsyncWait<T>>,
        mut queue: EntryQueueMut<'_>,
        oper: Operation,
    ) -> &'w mut AsyncWait<T> {
        let w = match slot {
            // SAFETY: not registered anywhere, so no selector is at the waiter.
            Some(w) => unsafe { w.arm(cx.waker()) },
            None => slot.insert(AsyncWait::armed(cx.waker())),
        };
        queue.push_back(task_entry(w, oper));
        w.registered = true;
        w
    }

    /// One poll of an async send; `msg` holds the value until it is handed over.
    ///
    /// # Safety
    /// `w` stays in place until the operation completes or [`Channel::cancel_send`]
    /// has run.
    #[inline]
    pub(crate) unsafe fn poll_send(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<T>,
        slot: &mut Option<AsyncWait<T>>,
    ) -> Poll<Result<(), T>> {
        if let Some(w) = slot.as_mut().filter(|w| w.registered) {
            return match self.poll_registered(cx, w, true, Operation::SINGLE_LOCKED) {
                WAITING => Poll::Pending,
                DISCONNECTED => {
                    w.registered = false;
                    // SAFETY: settled; a disconnect never touches packets.
                    Poll::Ready(Err(
                        unsafe { w.packet.take() }.expect("value still in packet")
                    ))
                }
                _ => {
                    w.registered = false;
                    Poll::Ready(Ok(()))
                }
            };
        }
        let Some(value) = msg.take() else {
            return Poll::Ready(Ok(()));
        };
        let inner = self.lock();
        if inner.closed {
            return Poll::Ready(Err(value));
        }
        match give_now(inner, value) {
            Ok(()) => Poll::Ready(Ok(())),
            Err((value, mut inner)) => {
                // SAFETY: the caller's contract.
                let w =
                    unsafe { Self::register(cx, slot, inner.senders(), Operation::SINGLE_LOCKED) };
                // SAFETY: we hold the lock, so no selector can reach the packet yet.
                unsafe { w.packet.put(value) };
                Poll::Pending
            }
        }
    }

    /// An async send is dropped unfinished: withdraw it (its value is not sent), or
    /// accept that it was already taken.
    pub(crate) fn cancel_send(&self, slot: &mut Option<AsyncWait<T>>) {
        let Some(w) = slot.as_mut().filter(|w| w.registered) else {
            return;
        };
        w.registered = false;
        let mut inner = self.lock();
        if w.waiter.try_abort() {
            remove_task(inner.senders(), w, Operation::SINGLE_LOCKED);
        } else {
            // A receiver took the value, or the channel was closed.
            w.waiter.wait_done();
        }
    }

    /// One poll of an async receive.
    ///
    /// # Safety
    /// As for [`Channel::poll_send`], with [`Channel::cancel_recv`].
    #[inline]
    pub(crate) unsafe fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<AsyncWait<T>>,
    ) -> Poll<Option<T>> {
        // SAFETY: the caller's contract.
        unsafe { self.poll_recv_as(cx, slot, Operation::SINGLE_LOCKED) }
    }

    /// One poll of an async receive that registers (when it must wait) as `oper`:
    /// [`Operation::SINGLE_LOCKED`], or a tag that lets
    /// [`Channel::disconnect_tagged`] find it. A receive woken that way and polled
    /// again retries as if its channel had closed under it, so the caller checks
    /// its own reason to stop first.
    ///
    /// # Safety
    /// As for [`Channel::poll_send`], with [`Channel::cancel_recv_as`] for the same
    /// `oper`.
    #[inline]
    pub(crate) unsafe fn poll_recv_as(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<AsyncWait<T>>,
        oper: Operation,
    ) -> Poll<Option<T>> {
        if let Some(w) = slot.as_mut().filter(|w| w.registered) {
            match self.poll_registered(cx, w, false, oper) {
                WAITING => return Poll::Pending,
                DISCONNECTED => w.registered = false, // fall through: stash, then None
                _ => {
                    w.registered = false;
                    // SAFETY: settled: the sender is done with the packet.
                    return Poll::Ready(unsafe { w.packet.take() });
                }
            }
        }
        let mut inner = match take_now(self.lock()) {
            Ok(msg) => return Poll::Ready(Some(msg)),
            Err(inner) => inner,
        };
        if inner.closed {
            return Poll::Ready(None);
        }
        // SAFETY: the caller's contract.
        unsafe { Self::register(cx, slot, inner.receivers(), oper) };
        Poll::Pending
    }

    /// An async receive is dropped unfinished: withdraw it, or pass on a value that
    /// was already put in its packet.
    pub(crate) fn cancel_recv(&self, slot: &mut Option<AsyncWait<T>>) {
        self.cancel_recv_as(slot, Operation::SINGLE_LOCKED);
    }

    /// [`Channel::cancel_recv`] for a receive polled with
    /// [`Channel::poll_recv_as`] as `oper`.
    pub(crate) fn cancel_recv_as(&self, slot: &mut Option<AsyncWait<T>>, oper: Operation) {
        if let Some(msg) = self.withdraw_recv_as(slot, oper) {
            self.restore(msg);
        }
    }

    /// Withdraws an async receive registered as `oper`, unless a sender has handed
    /// it a value meanwhile: then returns that value, which the caller has
    /// received (and must deliver, or [`restore`](Channel::restore)).
    pub(crate) fn withdraw_recv_as(
        &self,
        slot: &mut Option<AsyncWait<T>>,
        oper: Operation,
    ) -> Option<T> {
        let w = slot.as_mut().filter(|w| w.registered)?;
        w.registered = false;
        let mut inner = self.lock();
        if w.waiter.try_abort() {
            remove_task(inner.receivers(), w, oper);
            return None;
        }
        drop(inner);
        if w.waiter.settled(w.waiter.state()) == DISCONNECTED {
            return None;
        }
        // SAFETY: settled: the sender is done with the packet, which is ours.
        unsafe { w.packet.take() }
    }

    /// Closes the channel. Returns true if this call closed it.
    pub(crate) fn disconnect(&self) -> bool {
        let unparkers: Vec<Unparker> = {
            let mut inner = self.lock();
            if inner.closed {
                return false;
            }
            inner.closed = true;
            let senders = inner.senders().drain();
            let receivers = inner.receivers().drain();
            senders
                .into_iter()
                .chain(receivers)
                // SAFETY: we hold the lock, took the entries out of its queues, and
                // release each selection before unlocking.
                .filter_map(|e| unsafe { e.try_disconnect() }.map(|s| s.release()))
                .collect()
        };
        for unparker in unparkers {
            unparker.unpark();
        }
        true
    }

    /// Wakes every receive waiting with the tag of `oper` (in either form of
    /// [`Operation::tagged`]: tasks and threads) with `DISCONNECTED`, leaving the
    /// channel open and its other waiters waiting: the reason those receives wait
    /// for is gone (an or-done receiver's context is done).
    pub(crate) fn disconnect_tagged(&self, oper: Operation) {
        // SAFETY: the channel's lock, held for this statement, guards the queue.
        let woken = unsafe { self.lock().receivers().disconnect_tagged(oper) };
        woken.into_iter().for_each(Unparker::unpark);
    }

    /// Registers operation `oper` of a select's `waiter` as a receiver whose value
    /// goes into `packet`, unless the select can complete at once: a sender other
    /// than itself waits, a value is stashed, or the channel is closed. Returns true
    /// (ready, nothing registered) in that case.
    ///
    /// # Safety
    /// `waiter` and `packet` stay in place until [`Channel::unregister_recv`] has run
    /// for `oper`, and the waiter has settled.
    pub(crate) unsafe fn register_recv(
        &self,
        waiter: &Waiter,
        oper: Operation,
        packet: &Packet<T>,
    ) -> bool {
        let mut inner = self.lock();
        if inner.closed || !inner.stash.is_empty() || has_partner(inner.senders(), waiter) {
            return true;
        }
        inner.receivers().push_back(Entry {
            waiter: waiter.into(),
            oper,
            packet: packet as *const Packet<T> as *mut (),
        });
        false
    }

    /// Registers operation `oper` of a select's `waiter` as a sender of `msg`, kept
    /// in `packet`, unless the select can complete at once (a receiver other than
    /// itself waits, or the channel is closed): then gives `msg` back.
    ///
    /// # Safety
    /// As for [`Channel::register_recv`], with [`Channel::unregister_send`].
    pub(crate) unsafe fn register_send(
        &self,
        waiter: &Waiter,
        oper: Operation,
        packet: &Packet<T>,
        msg: T,
    ) -> Result<(), T> {
        let mut inner = self.lock();
        if inner.closed || has_partner(inner.receivers(), waiter) {
            return Err(msg);
        }
        // SAFETY: the entry is not queued yet, so nobody else can reach the packet.
        unsafe { packet.put(msg) };
        inner.senders().push_back(Entry {
            waiter: waiter.into(),
            oper,
            packet: packet as *const Packet<T> as *mut (),
        });
        Ok(())
    }

    /// Withdraws a select's receive registration, if still queued.
    pub(crate) fn unregister_recv(&self, waiter: &Waiter, oper: Operation) {
        self.lock().receivers().remove(waiter, oper);
    }

    /// Withdraws a select's send registration, if still queued.
    pub(crate) fn unregister_send(&self, waiter: &Waiter, oper: Operation) {
        self.lock().senders().remove(waiter, oper);
    }

    /// A value a sender handed over, whose receiver went away without taking it:
    /// offer it to the next waiting receiver, or keep it for the next to come.
    pub(crate) fn restore(&self, msg: T) {
        if let Err((msg, mut inner)) = give_now(self.lock(), msg) {
            inner.stash.push_back(msg);
        }
    }

    /// The last receiver is gone: close, and drop what nobody can receive any more.
    pub(crate) fn disconnect_receivers(&self) {
        self.disconnect();
        let stash = std::mem::take(&mut self.lock().stash);
        drop(stash);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().stash.len()
    }
}

//! The rendezvous flavor: `chan(0)`.
//!
//! There is no buffer: a value moves directly from a sender to a receiver, while
//! both are inside an operation. All state sits behind one mutex, as in Go's `hchan`.
//!
//! # Invariants
//! - At least one of `senders` and `receivers` holds no entry that could still be
//!   selected: a party arriving at the channel first completes with a waiting party
//!   of the other side, and only waits if there is none.
//! - Every waiting entry carries a [`Packet`]: a waiting sender's holds its value, a
//!   waiting receiver's is where a sender puts one. Only the party that wins the
//!   waiter's `try_select` touches a packet, and it does so with the lock held; it
//!   then sets `ready`. The waiter owns the packet again once it has seen `ready`
//!   (or, having lost the race, once it holds the lock).
//! - A task's future can be dropped after a sender put a value in its packet. The
//!   value is then offered to the next waiting receiver or, if there is none, kept
//!   in `stash` and handed to the next receiver that comes. So no value is lost, and
//!   a sender is only told "sent" once a receiver took its value.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::waiter::{with_thread_waiter, Entry, Operation, Waiter, ABORTED, DISCONNECTED, WAITING};
use crate::loom::{lock, AtomicBool, Backoff, Mutex, MutexGuard, UnsafeCell};

/// A transfer slot for one waiting operation.
pub(crate) struct Packet<T> {
    /// The value. Accessed only by the owner, or by the selector with the lock held.
    msg: UnsafeCell<Option<T>>,
    /// Set (Release) by the selector once it has finished with `msg`.
    ready: AtomicBool,
}

impl<T> Packet<T> {
    fn new(msg: Option<T>) -> Self {
        Self {
            msg: UnsafeCell::new(msg),
            ready: AtomicBool::new(false),
        }
    }

    fn is_ready(&self) -> bool {
        // ORDERING: Acquire pairs with the selector's Release store, making its
        // write (or take) of `msg` visible.
        self.ready.load(Ordering::Acquire)
    }

    /// Takes the value. Caller: the packet's owner after `ready` or after losing
    /// nothing (no selector touched it), or a selector holding the lock.
    ///
    /// # Safety
    /// The caller has exclusive access to `msg` per the invariants above.
    unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access is the caller's contract.
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }

    /// # Safety
    /// As for [`Packet::take`].
    unsafe fn put(&self, msg: T) {
        // SAFETY: exclusive access is the caller's contract.
        self.msg.with_mut(|p| unsafe { *p = Some(msg) });
    }
}

struct Inner<T> {
    /// Waiting senders, oldest first; each packet holds the value to send.
    senders: VecDeque<Entry>,
    /// Waiting receivers, oldest first; each packet is empty.
    receivers: VecDeque<Entry>,
    /// Values a receiver had been given but whose future was dropped (see module docs).
    stash: VecDeque<T>,
    /// Closed by `close`, by the last sender, or by the last receiver.
    closed: bool,
}

pub(crate) struct Channel<T> {
    inner: Mutex<Inner<T>>,
}

/// The state an async send or receive keeps between polls.
pub(crate) struct AsyncOp<T> {
    waiter: Option<Arc<Waiter>>,
    /// Boxed so its address survives moves of the future.
    packet: Option<Box<Packet<T>>>,
    /// An entry of ours is in a queue (or was, until a selector took it).
    registered: bool,
}

impl<T> Default for AsyncOp<T> {
    fn default() -> Self {
        Self {
            waiter: None,
            packet: None,
            registered: false,
        }
    }
}

/// Pops entries until one can be selected for `oper`; returns it.
fn select_first(queue: &mut VecDeque<Entry>) -> Option<Entry> {
    while let Some(entry) = queue.pop_front() {
        if entry.waiter.try_select(entry.oper.id()).is_ok() {
            return Some(entry);
        }
        // Stale: its waiter timed out or was selected elsewhere.
    }
    None
}

fn remove(queue: &mut VecDeque<Entry>, waiter: &Arc<Waiter>, oper: Operation) {
    if let Some(i) = queue
        .iter()
        .position(|e| e.oper == oper && Arc::ptr_eq(&e.waiter, waiter))
    {
        queue.remove(i);
    }
}

/// Waits until a selector that won against us has finished with our packet.
fn wait_ready<T>(packet: &Packet<T>, inner: &Mutex<Inner<T>>) {
    let mut backoff = Backoff::new();
    while !packet.is_ready() {
        if backoff.is_completed() {
            // The selector sets `ready` before it unlocks: holding the lock once
            // guarantees it is done.
            drop(lock(inner));
        } else {
            backoff.snooze();
        }
    }
}

impl<T> Inner<T> {
    /// Gives `msg` to the first waiting receiver. Returns the waiter to wake.
    fn offer(&mut self, msg: T) -> Result<Arc<Waiter>, T> {
        match select_first(&mut self.receivers) {
            Some(entry) => {
                let packet = entry.packet as *const Packet<T>;
                // SAFETY: we won `try_select` and hold the lock, so the receiver's
                // packet is alive (it waits for `ready` or for the lock) and ours alone.
                unsafe {
                    (*packet).put(msg);
                    (*packet).ready.store(true, Ordering::Release);
                }
                Ok(entry.waiter)
            }
            None => Err(msg),
        }
    }

    /// Takes a value from the stash or from the first waiting sender. Returns it and
    /// the sender to wake.
    fn take(&mut self) -> Option<(T, Option<Arc<Waiter>>)> {
        if let Some(msg) = self.stash.pop_front() {
            return Some((msg, None));
        }
        let entry = select_first(&mut self.senders)?;
        let packet = entry.packet as *const Packet<T>;
        // SAFETY: as in `offer`; a waiting sender's packet always holds its value.
        let msg = unsafe {
            let msg = (*packet).take();
            (*packet).ready.store(true, Ordering::Release);
            msg
        };
        msg.map(|m| (m, Some(entry.waiter)))
    }
}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                senders: VecDeque::new(),
                receivers: VecDeque::new(),
                stash: VecDeque::new(),
                closed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        lock(&self.inner)
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match self.send(msg, Some(Instant::now())) {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Closed(m)) => Err(TrySendError::Closed(m)),
            Err(SendTimeoutError::Timeout(m)) => Err(TrySendError::Full(m)),
        }
    }

    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(SendTimeoutError::Closed(msg));
        }
        let msg = match inner.offer(msg) {
            Ok(receiver) => {
                drop(inner);
                receiver.wake();
                return Ok(());
            }
            Err(msg) => msg,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(msg));
        }
        let packet = Packet::new(Some(msg));
        with_thread_waiter(|w| {
            inner.senders.push_back(Entry {
                waiter: w.clone(),
                oper: Operation::SINGLE,
                packet: &packet as *const Packet<T> as *mut (),
            });
            drop(inner);
            match w.wait_until(deadline) {
                ABORTED => {
                    remove(&mut self.lock().senders, w, Operation::SINGLE);
                    // SAFETY: we aborted, so no selector touched or will touch it.
                    Err(SendTimeoutError::Timeout(
                        unsafe { packet.take() }.expect("value still in packet"),
                    ))
                }
                DISCONNECTED => {
                    // SAFETY: a disconnect never touches packets.
                    Err(SendTimeoutError::Closed(
                        unsafe { packet.take() }.expect("value still in packet"),
                    ))
                }
                _ => {
                    wait_ready(&packet, &self.inner);
                    Ok(())
                }
            }
        })
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.recv(Some(Instant::now())) {
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Closed) => Err(TryRecvError::Closed),
            Err(RecvTimeoutError::Timeout) => Err(TryRecvError::Empty),
        }
    }

    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut inner = self.lock();
        if let Some((msg, sender)) = inner.take() {
            drop(inner);
            if let Some(s) = sender {
                s.wake();
            }
            return Ok(msg);
        }
        if inner.closed {
            return Err(RecvTimeoutError::Closed);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        let packet = Packet::<T>::new(None);
        with_thread_waiter(|w| {
            inner.receivers.push_back(Entry {
                waiter: w.clone(),
                oper: Operation::SINGLE,
                packet: &packet as *const Packet<T> as *mut (),
            });
            drop(inner);
            match w.wait_until(deadline) {
                ABORTED => {
                    remove(&mut self.lock().receivers, w, Operation::SINGLE);
                    Err(RecvTimeoutError::Timeout)
                }
                DISCONNECTED => Err(RecvTimeoutError::Closed),
                _ => {
                    wait_ready(&packet, &self.inner);
                    // SAFETY: `ready` was set, so the sender is done with the packet.
                    unsafe { packet.take() }.ok_or(RecvTimeoutError::Closed)
                }
            }
        })
    }

    /// One poll of an async send; `msg` holds the value until it is handed over.
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<T>,
        op: &mut AsyncOp<T>,
    ) -> Poll<Result<(), T>> {
        if op.registered {
            let waiter = op.waiter.as_ref().expect("registered implies a waiter");
            let packet = op.packet.as_ref().expect("registered implies a packet");
            waiter.set_waker(cx.waker());
            return match waiter.state() {
                WAITING => Poll::Pending,
                DISCONNECTED => {
                    op.registered = false;
                    // SAFETY: a disconnect never touches packets; nobody selected us.
                    Poll::Ready(Err(unsafe { packet.take() }.expect("value still in packet")))
                }
                _ if packet.is_ready() => {
                    op.registered = false;
                    Poll::Ready(Ok(()))
                }
                // Selected; the receiver wakes us again once it has set `ready`.
                _ => Poll::Pending,
            };
        }
        let Some(value) = msg.take() else {
            return Poll::Ready(Ok(()));
        };
        let mut inner = self.lock();
        if inner.closed {
            return Poll::Ready(Err(value));
        }
        match inner.offer(value) {
            Ok(receiver) => {
                drop(inner);
                receiver.wake();
                Poll::Ready(Ok(()))
            }
            Err(value) => {
                let waiter = op.waiter.get_or_insert_with(Waiter::for_task);
                waiter.reset();
                waiter.set_waker(cx.waker());
                let packet = op.packet.get_or_insert_with(|| Box::new(Packet::new(None)));
                packet.ready.store(false, Ordering::Relaxed);
                // SAFETY: not registered, so no selector can reach the packet.
                unsafe { packet.put(value) };
                inner.senders.push_back(Entry {
                    waiter: waiter.clone(),
                    oper: Operation::SINGLE,
                    packet: &**packet as *const Packet<T> as *mut (),
                });
                op.registered = true;
                Poll::Pending
            }
        }
    }

    /// An async send is dropped unfinished: withdraw it (its value is not sent), or
    /// accept that it was already taken.
    pub(crate) fn cancel_send(&self, op: &mut AsyncOp<T>) {
        if !op.registered {
            return;
        }
        op.registered = false;
        let waiter = op.waiter.as_ref().expect("registered implies a waiter");
        let mut inner = self.lock();
        if waiter.try_select(ABORTED).is_ok() {
            remove(&mut inner.senders, waiter, Operation::SINGLE);
        }
        // Otherwise a receiver took the value (and, holding the lock now, we know it
        // has finished with the packet) or the channel was closed.
    }

    /// One poll of an async receive.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>, op: &mut AsyncOp<T>) -> Poll<Option<T>> {
        if op.registered {
            let waiter = op.waiter.as_ref().expect("registered implies a waiter");
            let packet = op.packet.as_ref().expect("registered implies a packet");
            waiter.set_waker(cx.waker());
            match waiter.state() {
                WAITING => return Poll::Pending,
                DISCONNECTED => op.registered = false, // fall through: stash, then None
                _ if packet.is_ready() => {
                    op.registered = false;
                    // SAFETY: `ready` is set: the sender is done with the packet.
                    return Poll::Ready(unsafe { packet.take() });
                }
                _ => return Poll::Pending,
            }
        }
        let mut inner = self.lock();
        if let Some((msg, sender)) = inner.take() {
            drop(inner);
            if let Some(s) = sender {
                s.wake();
            }
            return Poll::Ready(Some(msg));
        }
        if inner.closed {
            return Poll::Ready(None);
        }
        let waiter = op.waiter.get_or_insert_with(Waiter::for_task);
        waiter.reset();
        waiter.set_waker(cx.waker());
        let packet = op.packet.get_or_insert_with(|| Box::new(Packet::new(None)));
        packet.ready.store(false, Ordering::Relaxed);
        inner.receivers.push_back(Entry {
            waiter: waiter.clone(),
            oper: Operation::SINGLE,
            packet: &**packet as *const Packet<T> as *mut (),
        });
        op.registered = true;
        Poll::Pending
    }

    /// An async receive is dropped unfinished: withdraw it, or pass on a value that
    /// was already put in its packet.
    pub(crate) fn cancel_recv(&self, op: &mut AsyncOp<T>) {
        if !op.registered {
            return;
        }
        op.registered = false;
        let waiter = op.waiter.as_ref().expect("registered implies a waiter");
        let packet = op.packet.as_ref().expect("registered implies a packet");
        let mut inner = self.lock();
        if waiter.try_select(ABORTED).is_ok() {
            remove(&mut inner.receivers, waiter, Operation::SINGLE);
            return;
        }
        if waiter.state() == DISCONNECTED {
            return;
        }
        // SAFETY: we were selected and hold the lock, so the sender has finished
        // (it sets `ready` before unlocking); the packet is ours.
        let Some(msg) = (unsafe { packet.take() }) else {
            return;
        };
        match inner.offer(msg) {
            Ok(receiver) => {
                drop(inner);
                receiver.wake();
            }
            Err(msg) => inner.stash.push_back(msg),
        }
    }

    /// Closes the channel. Returns true if this call closed it.
    pub(crate) fn disconnect(&self) -> bool {
        let (senders, receivers) = {
            let mut inner = self.lock();
            if inner.closed {
                return false;
            }
            inner.closed = true;
            (
                std::mem::take(&mut inner.senders),
                std::mem::take(&mut inner.receivers),
            )
        };
        for entry in senders.into_iter().chain(receivers) {
            if entry.waiter.try_select(DISCONNECTED).is_ok() {
                entry.waiter.wake();
            }
        }
        true
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

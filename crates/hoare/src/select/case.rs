//! The cases of a select: one receive or one send, on any kind of channel.
//!
//! A case knows how to try its operation at once, how to register a select's waiter
//! with its channel, and how to finish once that waiter was selected for it. What
//! "selected" means depends on the flavor:
//!
//! - unbuffered (`zero`): the partner has completed the operation with the case's
//!   packet (taken the value sent, or put the value received);
//! - buffered (`array`): the channel only says a retry may succeed, so the case
//!   retries, and passes the news on if the select ends without using it;
//! - timers and nil channels register nothing: a timer only contributes the instant
//!   it is due.

use std::marker::PhantomPinned;
use std::time::Instant;

use super::adapter::AdapterCase;
use crate::chan::receiver::RecvInner;
use crate::chan::waiter::{Operation, Packet, Waiter};
use crate::chan::{FlavorRef, Receiver, SendError, Sender, TryRecvError, TrySendError};

/// What a select needs of each case. Object safe: a select sees `&mut dyn Case`.
pub(crate) trait Case {
    /// Tries the operation now. True when it took effect (its result is kept).
    fn try_fire(&mut self) -> bool;

    /// Registers `waiter` for operation `oper` with the case's channel. Returns true
    /// when the case could fire now instead (the select then retries).
    ///
    /// # Safety
    /// The case and `waiter` stay in place until [`Case::unregister`] ran for `oper`
    /// after the waiter settled.
    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool;

    /// Withdraws the registration of `oper`, once `waiter` has settled; the waiter's
    /// final state says whether this case was the one selected.
    fn unregister(&mut self, waiter: &Waiter, oper: Operation);

    /// The waiter was selected for this case (and unregistered): finish. True when
    /// the case fired; false when the select must try again.
    fn on_selected(&mut self) -> bool;

    /// The waiter was selected for this case, but the select ends without calling
    /// [`Case::on_selected`] (its future was dropped): hand on what was received.
    fn abandon(&mut self);

    /// For a timer case, when the select should look at it again: when it is due,
    /// or at once if it is closed (a closed channel is ready). `None` for channels.
    fn due(&self) -> Option<Instant>;
}

/// A receive case on a stream of streams whose output can be read through the
/// erased type: a bridge's case pulls the next stream with one.
pub(crate) trait PullCase<T>: Case {
    /// The stream received (`None`: the stream of streams ended).
    fn take_output(&mut self) -> Option<Receiver<T>>;
}

/// What may stand in a `recv(…)` case of [`select!`](crate::select!): `&Receiver<T>`,
/// `Receiver<T>` (owned by the select, e.g. a timer), or an `Option` of either (or a
/// reference to one), where `None` disables the case as a nil channel does in Go.
///
/// ```
/// use hoare::{chan, select};
///
/// let (tx, rx) = chan::<i32>(1);
/// tx.send(1).unwrap();
/// let off: Option<&hoare::chan::Receiver<i32>> = None;
/// let got = select! {
///     recv(off) -> _ => unreachable!("a disabled case never fires"),
///     recv(Some(&rx)) -> v => v,
/// };
/// assert_eq!(got, Some(1));
/// ```
pub trait RecvOperand {
    /// The type of the values received.
    type Item;
    /// The receiver, or `None` for a disabled case.
    fn receiver(&self) -> Option<&Receiver<Self::Item>>;
}

impl<T> RecvOperand for Receiver<T> {
    type Item = T;
    fn receiver(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}

impl<T> RecvOperand for &Receiver<T> {
    type Item = T;
    fn receiver(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}

impl<T> RecvOperand for &mut Receiver<T> {
    type Item = T;
    fn receiver(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}

impl<O: RecvOperand> RecvOperand for Option<O> {
    type Item = O::Item;
    fn receiver(&self) -> Option<&Receiver<O::Item>> {
        self.as_ref().and_then(O::receiver)
    }
}

impl<O: RecvOperand> RecvOperand for &Option<O> {
    type Item = O::Item;
    fn receiver(&self) -> Option<&Receiver<O::Item>> {
        self.as_ref().and_then(O::receiver)
    }
}

/// What may stand in a `send(…)` case of [`select!`](crate::select!): `&Sender<T>`,
/// `Sender<T>`, or an `Option` of either (or a reference to one); `None` disables
/// the case.
///
/// ```
/// use hoare::{chan, select};
///
/// let (tx, rx) = chan::<i32>(1);
/// let maybe_tx = Some(&tx);
/// select! {
///     send(maybe_tx, 5) -> res => res.unwrap(),
/// }
/// assert_eq!(rx.recv(), Some(5));
/// ```
pub trait SendOperand {
    /// The type of the values sent.
    type Item;
    /// The sender, or `None` for a disabled case.
    fn sender(&self) -> Option<&Sender<Self::Item>>;
}

impl<T> SendOperand for Sender<T> {
    type Item = T;
    fn sender(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}

impl<T> SendOperand for &Sender<T> {
    type Item = T;
    fn sender(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}

impl<T> SendOperand for &mut Sender<T> {
    type Item = T;
    fn sender(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}

impl<O: SendOperand> SendOperand for Option<O> {
    type Item = O::Item;
    fn sender(&self) -> Option<&Sender<O::Item>> {
        self.as_ref().and_then(O::sender)
    }
}

impl<O: SendOperand> SendOperand for &Option<O> {
    type Item = O::Item;
    fn sender(&self) -> Option<&Sender<O::Item>> {
        self.as_ref().and_then(O::sender)
    }
}

/// The state of a receive case apart from its channel: where a sender puts the
/// value, and the result. Kept apart so that `select!` cases borrow their channel
/// (no drop glue on the hot path) while the dynamic `Select` owns it.
pub(crate) struct RecvSlot<T> {
    /// Where a sender puts the value, when registered with an unbuffered channel.
    packet: Packet<T>,
    /// For a merge receiver: a slot per source, so that a value an unbuffered
    /// source hands over is known to be that source's (and goes back to it if the
    /// select is abandoned). Made on first need; never resized while registered.
    subs: Vec<RecvSlot<T>>,
    /// For a bridge or take receiver: what its case registered with. Made on
    /// first need.
    adapter: Option<Box<AdapterCase<T>>>,
    out: Option<Option<T>>,
    /// A channel may hold the packet's address while the select is registered,
    /// while the select still uses the case through `&mut`; `!Unpin` tells the
    /// aliasing model that a `&mut` here does not claim unique access (as for
    /// futures that point into themselves).
    _pinned: PhantomPinned,
}

impl<T> Default for RecvSlot<T> {
    fn default() -> Self {
        Self {
            packet: Packet::new(None),
            subs: Vec::new(),
            adapter: None,
            out: None,
            _pinned: PhantomPinned,
        }
    }
}

impl<T> RecvSlot<T> {
    /// Takes the result, leaving the slot ready for the next select.
    pub(crate) fn take_output(&mut self) -> Option<T> {
        self.out.take().flatten()
    }

    fn fire(&mut self, v: Option<T>) -> bool {
        self.out = Some(v);
        true
    }

    pub(crate) fn try_fire(&mut self, rx: Option<&Receiver<T>>) -> bool {
        let Some(rx) = rx else {
            return false;
        };
        match rx.try_recv() {
            Ok(v) => self.fire(Some(v)),
            Err(TryRecvError::Closed) => self.fire(None),
            Err(TryRecvError::Empty) => false,
        }
    }

    /// # Safety
    /// As for [`Case::register`].
    pub(crate) unsafe fn register(
        &mut self,
        rx: Option<&Receiver<T>>,
        waiter: &Waiter,
        oper: Operation,
    ) -> bool {
        match rx.map(|rx| &rx.inner) {
            None | Some(RecvInner::Never) => false,
            Some(RecvInner::Timer(t, _)) => t.is_ready(),
            Some(RecvInner::Done(ctx)) => match ctx.done_waiters() {
                Some(queue) => {
                    queue.register(waiter, oper);
                    ctx.is_done()
                }
                None => false,
            },
            Some(RecvInner::Merge(m)) => {
                if self.subs.len() != m.sources.len() {
                    // Nothing of this case is registered now: the slots may move.
                    self.subs = m.sources.iter().map(|_| RecvSlot::default()).collect();
                }
                let (mut ready, mut live) = (false, false);
                for (sub, source) in self.subs.iter_mut().zip(m.sources.iter()) {
                    // A source closed and drained can give nothing (a closed channel
                    // always looks ready): leave it out, or the select would spin.
                    // One that closes later wakes the select, which then retries.
                    if source.is_closed() && source.is_empty() {
                        continue;
                    }
                    live = true;
                    // SAFETY: the caller's contract, passed on for each source: the
                    // sub-slots live in a vector that stays put until unregistered.
                    ready |= unsafe { sub.register(Some(source), waiter, oper) };
                }
                ready |= !live; // all ended: the merge is closed, which is ready
                if let Some(queue) = m.ctx.as_ref().and_then(|c| c.done_waiters()) {
                    queue.register(waiter, oper);
                    ready |= m.is_done();
                }
                ready
            }
            Some(RecvInner::Bridge(b)) => {
                let st = self.adapter.get_or_insert_with(Box::default);
                // SAFETY: the caller's contract; the state is boxed.
                unsafe { st.register(b, waiter, oper) }
            }
            Some(RecvInner::Take(t)) => {
                let st = self.adapter.get_or_insert_with(Box::default);
                // SAFETY: the caller's contract; the state is boxed.
                unsafe { st.register_take(t, waiter, oper) }
            }
            Some(RecvInner::OrDone(a)) => {
                // SAFETY: the caller's contract, passed on for the source.
                let source_ready = unsafe { self.register(Some(&a.source), waiter, oper) };
                let done = match a.ctx.done_waiters() {
                    Some(queue) => {
                        queue.register(waiter, oper);
                        a.ctx.is_done()
                    }
                    None => false,
                };
                source_ready || done
            }
            Some(RecvInner::Chan(h)) => match h.flavor() {
                FlavorRef::Array(c) => c.register_recv(waiter, oper),
                // SAFETY: the packet lives in this slot, which the caller keeps in
                // place until it unregisters.
                FlavorRef::Zero(c) => unsafe { c.register_recv(waiter, oper, &self.packet) },
            },
        }
    }

    pub(crate) fn unregister(
        &mut self,
        rx: Option<&Receiver<T>>,
        waiter: &Waiter,
        oper: Operation,
    ) {
        match rx.map(|rx| &rx.inner) {
            Some(RecvInner::Chan(h)) => match h.flavor() {
                FlavorRef::Array(c) => c.unregister_recv(waiter, oper),
                FlavorRef::Zero(c) => c.unregister_recv(waiter, oper),
            },
            Some(RecvInner::Done(ctx)) => {
                if let Some(queue) = ctx.done_waiters() {
                    queue.unregister(waiter, oper);
                }
            }
            Some(RecvInner::Merge(m)) => {
                for (sub, source) in self.subs.iter_mut().zip(m.sources.iter()) {
                    sub.unregister(Some(source), waiter, oper);
                }
                if let Some(queue) = m.ctx.as_ref().and_then(|c| c.done_waiters()) {
                    queue.unregister(waiter, oper);
                }
            }
            Some(RecvInner::Bridge(b)) => {
                if let Some(st) = self.adapter.as_deref_mut() {
                    st.unregister(b, waiter, oper);
                }
            }
            Some(RecvInner::Take(t)) => {
                if let Some(st) = self.adapter.as_deref_mut() {
                    st.unregister_take(t, waiter, oper);
                }
            }
            Some(RecvInner::OrDone(a)) => {
                self.unregister(Some(&a.source), waiter, oper);
                if let Some(queue) = a.ctx.done_waiters() {
                    queue.unregister(waiter, oper);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn on_selected(&mut self, rx: Option<&Receiver<T>>) -> bool {
        match rx.map(|rx| &rx.inner) {
            Some(RecvInner::Chan(h)) if matches!(h.flavor(), FlavorRef::Zero(_)) => {
                // SAFETY: the waiter settled and is unregistered: the packet is ours.
                match unsafe { self.packet.take() } {
                    Some(v) => self.fire(Some(v)),
                    None => false,
                }
            }
            // An unbuffered source may have handed its value over already;
            // otherwise the context may be done: try.
            Some(RecvInner::Merge(_)) => {
                // An unbuffered source may have handed its value to its sub-slot.
                let handed = self.subs.iter_mut().find_map(|sub| {
                    // SAFETY: as above, for each sub-slot.
                    unsafe { sub.packet.take() }
                });
                match handed {
                    Some(v) => self.fire(Some(v)),
                    None => self.try_fire(rx),
                }
            }
            Some(RecvInner::Bridge(b)) => {
                let handed = self.adapter.as_deref_mut().and_then(|st| st.on_selected(b));
                match handed {
                    Some(v) => self.fire(Some(v)),
                    None => self.try_fire(rx),
                }
            }
            Some(RecvInner::Take(t)) => {
                let handed = self
                    .adapter
                    .as_deref_mut()
                    .and_then(|st| st.on_selected_take(t));
                match handed {
                    Some(v) => self.fire(Some(v)),
                    None => self.try_fire(rx),
                }
            }
            Some(RecvInner::OrDone(_)) => {
                // SAFETY: as above.
                match unsafe { self.packet.take() } {
                    Some(v) => self.fire(Some(v)),
                    None => self.try_fire(rx),
                }
            }
            // Told that a value may be there: try to take it.
            _ => self.try_fire(rx),
        }
    }

    pub(crate) fn abandon(&mut self, rx: Option<&Receiver<T>>) {
        if let Some(RecvInner::Bridge(b)) = rx.map(|rx| &rx.inner) {
            if let Some(st) = self.adapter.as_deref_mut() {
                st.abandon(b);
            }
            return;
        }
        if let Some(RecvInner::Take(t)) = rx.map(|rx| &rx.inner) {
            if let Some(st) = self.adapter.as_deref_mut() {
                st.abandon_take(t);
            }
            return;
        }
        if let Some(RecvInner::OrDone(a)) = rx.map(|rx| &rx.inner) {
            self.abandon(Some(&a.source));
            return;
        }
        if let Some(RecvInner::Merge(m)) = rx.map(|rx| &rx.inner) {
            for (sub, source) in self.subs.iter_mut().zip(m.sources.iter()) {
                sub.abandon(Some(source));
            }
            return;
        }
        if let Some(RecvInner::Chan(h)) = rx.map(|rx| &rx.inner) {
            match h.flavor() {
                FlavorRef::Array(c) => c.pass_on_recv(),
                FlavorRef::Zero(c) => {
                    // SAFETY: as in `on_selected`.
                    if let Some(v) = unsafe { self.packet.take() } {
                        c.restore(v);
                    }
                }
            }
        }
    }

    pub(crate) fn due(rx: Option<&Receiver<T>>) -> Option<Instant> {
        match rx.map(|rx| &rx.inner) {
            Some(RecvInner::Timer(t, _)) => Some(t.wake_at()),
            Some(RecvInner::Done(ctx)) => ctx.deadline(),
            Some(RecvInner::Bridge(b)) => b.ctx.deadline(),
            Some(RecvInner::Take(t)) => t.ctx.deadline(),
            Some(RecvInner::Merge(m)) => m
                .sources
                .iter()
                .filter_map(|s| Self::due(Some(s)))
                .chain(m.ctx.as_ref().and_then(|c| c.deadline()))
                .min(),
            Some(RecvInner::OrDone(a)) => match (a.ctx.deadline(), Self::due(Some(&a.source))) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
            _ => None,
        }
    }
}

/// A `recv` case of `select!`. Its result is `Some(value)`, or `None` once the
/// channel is closed and drained.
pub struct RecvCase<'a, T> {
    rx: Option<&'a Receiver<T>>,
    slot: RecvSlot<T>,
}

impl<T> std::fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvCase")
            .field("fired", &self.slot.out.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, T> RecvCase<'a, T> {
    /// A case receiving from `rx` (`None`: disabled).
    pub fn new(rx: Option<&'a Receiver<T>>) -> Self {
        Self {
            rx,
            slot: RecvSlot::default(),
        }
    }

    /// The result of the fired case.
    pub fn into_output(mut self) -> Option<T> {
        self.slot.take_output()
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn try_fire(&mut self) -> bool {
        self.slot.try_fire(self.rx)
    }
    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.slot.register(self.rx, waiter, oper) }
    }
    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        self.slot.unregister(self.rx, waiter, oper);
    }
    fn on_selected(&mut self) -> bool {
        self.slot.on_selected(self.rx)
    }
    fn abandon(&mut self) {
        self.slot.abandon(self.rx);
    }
    fn due(&self) -> Option<Instant> {
        RecvSlot::due(self.rx)
    }
}

/// The state of a send case apart from its channel: the value and the result.
pub(crate) struct SendSlot<T> {
    /// The value, while not registered with an unbuffered channel; `None` once
    /// sent (the case is then spent).
    msg: Option<T>,
    /// Holds the value while registered with an unbuffered channel.
    packet: Packet<T>,
    out: Option<Result<(), SendError<T>>>,
    /// See [`RecvSlot`]'s field of the same name.
    _pinned: PhantomPinned,
}

impl<T> SendSlot<T> {
    pub(crate) fn new(msg: T) -> Self {
        Self {
            msg: Some(msg),
            packet: Packet::new(None),
            out: None,
            _pinned: PhantomPinned,
        }
    }

    /// Takes the result. The slot is spent (it has no value left to send).
    pub(crate) fn take_output(&mut self) -> Result<(), SendError<T>> {
        self.out.take().unwrap_or(Ok(()))
    }

    /// Spends the slot: its value, if not sent, is dropped.
    pub(crate) fn disable(&mut self) {
        self.msg = None;
    }

    pub(crate) fn try_fire(&mut self, tx: Option<&Sender<T>>) -> bool {
        let (Some(tx), Some(msg)) = (tx, self.msg.take()) else {
            return false;
        };
        match tx.try_send(msg) {
            Ok(()) => self.out = Some(Ok(())),
            Err(TrySendError::Closed(m)) => self.out = Some(Err(SendError(m))),
            Err(TrySendError::Full(m)) => {
                self.msg = Some(m);
                return false;
            }
        }
        true
    }

    /// # Safety
    /// As for [`Case::register`].
    pub(crate) unsafe fn register(
        &mut self,
        tx: Option<&Sender<T>>,
        waiter: &Waiter,
        oper: Operation,
    ) -> bool {
        let Some(h) = tx.and_then(|tx| tx.shared.as_ref()) else {
            return false; // disabled, or a nil channel: never ready
        };
        let Some(msg) = self.msg.take() else {
            return false; // spent
        };
        match h.flavor() {
            FlavorRef::Array(c) => {
                self.msg = Some(msg);
                c.register_send(waiter, oper)
            }
            // SAFETY: the packet lives in this slot, which the caller keeps in place
            // until it unregisters.
            FlavorRef::Zero(c) => match unsafe { c.register_send(waiter, oper, &self.packet, msg) }
            {
                Ok(()) => false,
                Err(msg) => {
                    self.msg = Some(msg);
                    true
                }
            },
        }
    }

    pub(crate) fn unregister(&mut self, tx: Option<&Sender<T>>, waiter: &Waiter, oper: Operation) {
        let Some(h) = tx.and_then(|tx| tx.shared.as_ref()) else {
            return;
        };
        match h.flavor() {
            FlavorRef::Array(c) => c.unregister_send(waiter, oper),
            FlavorRef::Zero(c) => {
                c.unregister_send(waiter, oper);
                if waiter.state() != oper.id() {
                    // Not taken: the packet still holds the value (or nothing, if
                    // this case was not registered this round).
                    // SAFETY: the waiter settled and our entry is gone: nobody else
                    // can reach the packet.
                    if let Some(msg) = unsafe { self.packet.take() } {
                        self.msg = Some(msg);
                    }
                }
            }
        }
    }

    pub(crate) fn on_selected(&mut self, tx: Option<&Sender<T>>) -> bool {
        let zero = matches!(
            tx.and_then(|tx| tx.shared.as_ref()).map(|h| h.flavor()),
            Some(FlavorRef::Zero(_))
        );
        if zero {
            // A receiver took the value from our packet.
            self.out = Some(Ok(()));
            true
        } else {
            self.try_fire(tx)
        }
    }

    pub(crate) fn abandon(&mut self, tx: Option<&Sender<T>>) {
        if let Some(h) = tx.and_then(|tx| tx.shared.as_ref()) {
            if let FlavorRef::Array(c) = h.flavor() {
                c.pass_on_send();
            }
            // Unbuffered: the receiver has the value; it was sent.
        }
    }
}

/// A `send` case of `select!`. Its result is `Ok(())` once sent, or
/// `Err(SendError(value))` when the channel is closed. The value is given when the
/// select starts, as in Go; if another case fires, it is dropped without reaching
/// the channel.
pub struct SendCase<'a, T> {
    tx: Option<&'a Sender<T>>,
    slot: SendSlot<T>,
}

impl<T> std::fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendCase")
            .field("fired", &self.slot.out.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, T> SendCase<'a, T> {
    /// A case sending `msg` on `tx` (`None`: disabled).
    pub fn new(tx: Option<&'a Sender<T>>, msg: T) -> Self {
        Self {
            tx,
            slot: SendSlot::new(msg),
        }
    }

    /// The result of the fired case.
    pub fn into_output(mut self) -> Result<(), SendError<T>> {
        self.slot.take_output()
    }
}

impl<T> Case for SendCase<'_, T> {
    fn try_fire(&mut self) -> bool {
        self.slot.try_fire(self.tx)
    }
    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.slot.register(self.tx, waiter, oper) }
    }
    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        self.slot.unregister(self.tx, waiter, oper);
    }
    fn on_selected(&mut self) -> bool {
        self.slot.on_selected(self.tx)
    }
    fn abandon(&mut self) {
        self.slot.abandon(self.tx);
    }
    fn due(&self) -> Option<Instant> {
        None
    }
}

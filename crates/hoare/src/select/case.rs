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
use std::task::Context;
use std::time::Instant;

use crate::chan::receiver::RecvInner;
use crate::chan::waiter::{Operation, Packet, Waiter};
use crate::chan::{FlavorRef, Receiver, SendError, Sender, TryRecvError, TrySendError};
use crate::time::TimerWait;

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

    /// When a timer case is next due (`None` for channels).
    fn due(&self) -> Option<Instant>;

    /// Async: whether a timer case is due; if not, arranges a wake-up for then.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool;

    /// Drops any timer state (called between selects).
    fn clear_timer(&mut self) {}
}

/// A channel end taken by reference or by value, or absent (a disabled case).
#[derive(Debug)]
pub enum Operand<'a, C> {
    /// Borrowed: `recv(&rx)`.
    Borrowed(&'a C),
    /// Owned by the select: `recv(time::after(d))`.
    Owned(C),
    /// No channel: the case never fires, like a nil channel in Go.
    Disabled,
}

impl<C> Operand<'_, C> {
    fn get(&self) -> Option<&C> {
        match self {
            Operand::Borrowed(c) => Some(c),
            Operand::Owned(c) => Some(c),
            Operand::Disabled => None,
        }
    }
}

/// What may stand in a `recv(…)` case of [`select!`](crate::select!): `&Receiver<T>`,
/// `Receiver<T>` (owned by the select, e.g. a timer), or an `Option` of either,
/// where `None` disables the case as a nil channel does in Go.
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
pub trait RecvOperand<'a> {
    /// The type of the values received.
    type Item;
    /// The channel end (or its absence).
    fn into_operand(self) -> Operand<'a, Receiver<Self::Item>>;
}

impl<'a, T> RecvOperand<'a> for &'a Receiver<T> {
    type Item = T;
    fn into_operand(self) -> Operand<'a, Receiver<T>> {
        Operand::Borrowed(self)
    }
}

impl<'a, T> RecvOperand<'a> for Receiver<T> {
    type Item = T;
    fn into_operand(self) -> Operand<'a, Receiver<T>> {
        Operand::Owned(self)
    }
}

impl<'a, T> RecvOperand<'a> for &'a mut Receiver<T> {
    type Item = T;
    fn into_operand(self) -> Operand<'a, Receiver<T>> {
        Operand::Borrowed(self)
    }
}

impl<'a, O: RecvOperand<'a>> RecvOperand<'a> for Option<O> {
    type Item = O::Item;
    fn into_operand(self) -> Operand<'a, Receiver<O::Item>> {
        self.map_or(Operand::Disabled, O::into_operand)
    }
}

/// What may stand in a `send(…)` case of [`select!`](crate::select!): `&Sender<T>`,
/// `Sender<T>`, or an `Option` of either (`None` disables the case).
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
pub trait SendOperand<'a> {
    /// The type of the values sent.
    type Item;
    /// The channel end (or its absence).
    fn into_operand(self) -> Operand<'a, Sender<Self::Item>>;
}

impl<'a, T> SendOperand<'a> for &'a Sender<T> {
    type Item = T;
    fn into_operand(self) -> Operand<'a, Sender<T>> {
        Operand::Borrowed(self)
    }
}

impl<'a, T> SendOperand<'a> for Sender<T> {
    type Item = T;
    fn into_operand(self) -> Operand<'a, Sender<T>> {
        Operand::Owned(self)
    }
}

impl<'a, O: SendOperand<'a>> SendOperand<'a> for Option<O> {
    type Item = O::Item;
    fn into_operand(self) -> Operand<'a, Sender<O::Item>> {
        self.map_or(Operand::Disabled, O::into_operand)
    }
}

/// A `recv` case. Its result is `Some(value)`, or `None` once the channel is closed
/// and drained.
pub struct RecvCase<'a, T> {
    rx: Operand<'a, Receiver<T>>,
    /// Where a sender puts the value, when registered with an unbuffered channel.
    packet: Packet<T>,
    /// The wait of a timer case in async code.
    timer: Option<Box<TimerWait>>,
    out: Option<Option<T>>,
    /// A channel may hold the packet's address while the select is registered,
    /// while the select still uses the case through `&mut`; `!Unpin` tells the
    /// aliasing model that a `&mut` here does not claim unique access (as for
    /// futures that point into themselves).
    _pinned: PhantomPinned,
}

impl<T> std::fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvCase")
            .field("fired", &self.out.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, T> RecvCase<'a, T> {
    /// A case receiving from `rx`.
    pub fn new(rx: impl RecvOperand<'a, Item = T>) -> Self {
        Self {
            rx: rx.into_operand(),
            packet: Packet::new(None),
            timer: None,
            out: None,
            _pinned: PhantomPinned,
        }
    }

    /// The result of the fired case.
    pub fn into_output(mut self) -> Option<T> {
        self.take_output()
    }

    /// Takes the result, leaving the case ready to fire again.
    pub(crate) fn take_output(&mut self) -> Option<T> {
        self.out.take().flatten()
    }

    fn fire(&mut self, v: Option<T>) -> bool {
        self.out = Some(v);
        true
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn try_fire(&mut self) -> bool {
        let Some(rx) = self.rx.get() else {
            return false;
        };
        match rx.try_recv() {
            Ok(v) => self.fire(Some(v)),
            Err(TryRecvError::Closed) => self.fire(None),
            Err(TryRecvError::Empty) => false,
        }
    }

    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        let Some(rx) = self.rx.get() else {
            return false;
        };
        match &rx.inner {
            RecvInner::Never => false,
            RecvInner::Timer(t, _) => t.is_ready(),
            RecvInner::Chan(h) => match h.flavor() {
                FlavorRef::Array(c) => c.register_recv(waiter, oper),
                // SAFETY: the packet lives in this case, which the caller keeps in
                // place until it unregisters.
                FlavorRef::Zero(c) => unsafe { c.register_recv(waiter, oper, &self.packet) },
            },
        }
    }

    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        if let Some(RecvInner::Chan(h)) = self.rx.get().map(|rx| &rx.inner) {
            match h.flavor() {
                FlavorRef::Array(c) => c.unregister_recv(waiter, oper),
                FlavorRef::Zero(c) => c.unregister_recv(waiter, oper),
            }
        }
    }

    fn on_selected(&mut self) -> bool {
        match self.rx.get().map(|rx| &rx.inner) {
            Some(RecvInner::Chan(h)) if matches!(h.flavor(), FlavorRef::Zero(_)) => {
                // SAFETY: the waiter settled and is unregistered: the packet is ours.
                match unsafe { self.packet.take() } {
                    Some(v) => self.fire(Some(v)),
                    None => false,
                }
            }
            // Told that a value may be there: try to take it.
            _ => self.try_fire(),
        }
    }

    fn abandon(&mut self) {
        if let Some(RecvInner::Chan(h)) = self.rx.get().map(|rx| &rx.inner) {
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

    fn due(&self) -> Option<Instant> {
        match self.rx.get().map(|rx| &rx.inner) {
            Some(RecvInner::Timer(t, _)) => t.due(),
            _ => None,
        }
    }

    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(due) = self.due() else {
            return false;
        };
        self.timer
            .get_or_insert_with(Default::default)
            .poll_until(cx, due)
            .is_ready()
    }

    fn clear_timer(&mut self) {
        self.timer = None;
    }
}

/// A `send` case. Its result is `Ok(())` once sent, or `Err(SendError(value))` when
/// the channel is closed. The value is given when the select starts, as in Go; if
/// another case fires, it is dropped without reaching the channel.
pub struct SendCase<'a, T> {
    tx: Operand<'a, Sender<T>>,
    /// The value, while not registered with an unbuffered channel.
    msg: Option<T>,
    /// Holds the value while registered with an unbuffered channel.
    packet: Packet<T>,
    out: Option<Result<(), SendError<T>>>,
    /// See [`RecvCase`]'s field of the same name.
    _pinned: PhantomPinned,
}

impl<T> std::fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendCase")
            .field("fired", &self.out.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, T> SendCase<'a, T> {
    /// A case sending `msg` on `tx`.
    pub fn new(tx: impl SendOperand<'a, Item = T>, msg: T) -> Self {
        Self {
            tx: tx.into_operand(),
            msg: Some(msg),
            packet: Packet::new(None),
            out: None,
            _pinned: PhantomPinned,
        }
    }

    /// The result of the fired case.
    pub fn into_output(mut self) -> Result<(), SendError<T>> {
        self.take_output()
    }

    /// Takes the result. The case stays disabled until given a new value.
    pub(crate) fn take_output(&mut self) -> Result<(), SendError<T>> {
        self.out.take().unwrap_or(Ok(()))
    }

    /// Disables the case for good; its value, if not sent, is dropped.
    pub(crate) fn disable(&mut self) {
        self.tx = Operand::Disabled;
        self.msg = None;
    }

    fn is_zero(&self) -> bool {
        matches!(
            self.tx
                .get()
                .and_then(|tx| tx.shared.as_ref())
                .map(|h| h.flavor()),
            Some(FlavorRef::Zero(_))
        )
    }
}

impl<T> Case for SendCase<'_, T> {
    fn try_fire(&mut self) -> bool {
        let (Some(tx), Some(msg)) = (self.tx.get(), self.msg.take()) else {
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

    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        let Some(h) = self.tx.get().and_then(|tx| tx.shared.as_ref()) else {
            return false; // disabled, or a nil channel: never ready
        };
        if self.msg.is_none() {
            return false; // already sent: disabled until given a new value
        }
        match h.flavor() {
            FlavorRef::Array(c) => c.register_send(waiter, oper),
            FlavorRef::Zero(c) => {
                let msg = self.msg.take().expect("checked above");
                // SAFETY: the packet lives in this case, which the caller keeps in
                // place until it unregisters.
                match unsafe { c.register_send(waiter, oper, &self.packet, msg) } {
                    Ok(()) => false,
                    Err(msg) => {
                        self.msg = Some(msg);
                        true
                    }
                }
            }
        }
    }

    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        let Some(h) = self.tx.get().and_then(|tx| tx.shared.as_ref()) else {
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

    fn on_selected(&mut self) -> bool {
        if self.is_zero() {
            // A receiver took the value from our packet.
            self.out = Some(Ok(()));
            true
        } else {
            self.try_fire()
        }
    }

    fn abandon(&mut self) {
        if let Some(h) = self.tx.get().and_then(|tx| tx.shared.as_ref()) {
            if let FlavorRef::Array(c) = h.flavor() {
                c.pass_on_send();
            }
            // Unbuffered: the receiver has the value; it was sent.
        }
    }

    fn due(&self) -> Option<Instant> {
        None
    }

    fn poll_due(&mut self, _: &mut Context<'_>) -> bool {
        false
    }
}

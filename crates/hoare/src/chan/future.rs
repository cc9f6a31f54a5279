//! The futures and the stream of async channel operations.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::bridge::{Bridge, BridgeWait};
use super::done_hook::DoneHook;
use super::error::{SendError, TryRecvError};
use super::merge::Merge;
use super::receiver::{OrDone, RecvInner};
use super::take::{self, Take};
use super::waiter::AsyncWait;
use super::{FlavorRef, Handle, Receiver, Sender};
use crate::context::Context as Ctx;
use crate::time::TimerWait;

/// The future of [`Sender::send_async`]; resolves to `Ok(())` once the value is sent,
/// or `Err(SendError(value))` if the channel is closed.
///
/// While it waits, the channel holds the address of the waiter inside it (so waiting
/// allocates nothing); it is therefore `!Unpin`. `.await` pins it for you; to poll
/// it by hand, pin it first (`std::pin::pin!`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = hoare::chan::<u8>(1);
/// let fut: hoare::chan::SendFuture<'_, u8> = tx.send_async(1);
/// fut.await.unwrap();
/// assert_eq!(rx.recv_async().await, Some(1));
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    /// The value, until it is handed to the channel.
    msg: Option<T>,
    /// Made on first need: most sends complete at once and never register.
    state: Option<AsyncWait<T>>,
    done: bool,
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(sender: &'a Sender<T>, msg: T) -> Self {
        Self {
            sender,
            msg: Some(msg),
            state: None,
            done: false,
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `this`; `state` is only used in place, and
        // `Drop` withdraws its registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(shared) = &this.sender.shared else {
            return Poll::Pending; // a nil channel never sends
        };
        if this.done {
            return Poll::Ready(Ok(()));
        }
        let r = match shared.flavor() {
            FlavorRef::Array(c) => c.poll_send(cx, &mut this.msg, &mut this.state),
            // SAFETY: `this.state` is pinned (see above).
            FlavorRef::Zero(c) => unsafe { c.poll_send(cx, &mut this.msg, &mut this.state) },
        };
        match r {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                this.done = true;
                Poll::Ready(r.map_err(SendError))
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            self.cancel();
        }
    }
}

impl<T> SendFuture<'_, T> {
    /// Withdraws an unfinished send.
    #[inline(never)]
    fn cancel(&mut self) {
        if let Some(shared) = &self.sender.shared {
            match shared.flavor() {
                FlavorRef::Array(c) => c.cancel_send(&mut self.state),
                FlavorRef::Zero(c) => c.cancel_send(&mut self.state),
            }
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The wait state of an async receive, made on first need.
pub(crate) struct RecvState<T> {
    /// For a channel (most receives on a busy channel complete at once), or for the
    /// context of a done, or-done or merge receiver.
    wait: Option<AsyncWait<T>>,
    /// What the other receivers need besides `wait`, boxed on first need: a plain
    /// channel's future carries one pointer for it, and never allocates it.
    more: Option<Box<MoreState<T>>>,
}

impl<T> Default for RecvState<T> {
    fn default() -> Self {
        Self {
            wait: None,
            more: None,
        }
    }
}

impl<T> RecvState<T> {
    /// Nothing was set up yet: the receive was never polled, or never had to wait.
    #[inline]
    fn is_fresh(&self) -> bool {
        self.wait.is_none() && self.more.is_none()
    }

    /// The part beyond `wait`, made on first call.
    fn more(&mut self) -> &mut MoreState<T> {
        self.more.get_or_insert_with(|| {
            Box::new(MoreState {
                timer: TimerWait::default(),
                made: 0,
                first: SourceState::default(),
                rest: Box::default(),
                boxed: None,
                claimed: None,
            })
        })
    }

    /// How many source states are made (0 until the first wait of an or-done or
    /// merge receiver; they are never replaced while any may be registered).
    fn sources_made(&self) -> usize {
        self.more.as_ref().map_or(0, |m| m.made)
    }
}

/// The state a timer, or-done or merge receive needs besides its `wait`.
struct MoreState<T> {
    /// For a timer channel, or a context's deadline.
    timer: TimerWait,
    /// Source states made: 1 for an or-done receiver, one per source for a merge.
    made: usize,
    /// Source 0's receive (an or-done receiver's only one), kept inline so an
    /// or-done wait allocates once.
    first: SourceState<T>,
    /// Sources 1.. of a merge.
    rest: Box<[SourceState<T>]>,
    /// A bridge's receive that had to wait.
    boxed: Option<BridgeWait<T>>,
    /// A take's receive holds a claim and waits on the take's source (in
    /// `first`).
    claimed: Option<std::sync::Arc<Receiver<T>>>,
}

impl<T> MoreState<T> {
    /// Makes the states of `n ≥ 1` sources.
    fn make_sources(&mut self, n: usize) {
        self.rest = (1..n).map(|_| SourceState::default()).collect();
        self.made = n;
    }

    /// The state of source `i < made`.
    fn source(&mut self, i: usize) -> &mut SourceState<T> {
        match i.checked_sub(1) {
            None => &mut self.first,
            Some(j) => &mut self.rest[j],
        }
    }

    /// The states made, in source order.
    fn sources(&mut self) -> impl Iterator<Item = &mut SourceState<T>> {
        let made = self.made;
        std::iter::once(&mut self.first)
            .chain(self.rest.iter_mut())
            .take(made)
    }
}

/// One source's receive within an or-done or merge receive.
struct SourceState<T> {
    state: RecvState<T>,
    /// In a merge: this source is closed and drained.
    closed: bool,
}

impl<T> Default for SourceState<T> {
    fn default() -> Self {
        Self {
            state: RecvState::default(),
            closed: false,
        }
    }
}

/// Polls one receive on `rx` with `state`.
///
/// # Safety
/// `state` is pinned, and [`cancel_recv`] runs before it moves if the poll was
/// pending.
unsafe fn poll_recv<T>(
    rx: &Receiver<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    let state_wait = &mut state.wait;
    match &rx.inner {
        RecvInner::Never => Poll::Pending,
        RecvInner::Timer(t, cast) => t
            .poll_recv(cx, &mut state.more().timer)
            .map(|at| at.map(cast)),
        // SAFETY: the caller's contract.
        RecvInner::Done(ctx) => unsafe { poll_done(ctx, cx, state) },
        // SAFETY: the caller's contract.
        RecvInner::OrDone(a) => unsafe { poll_or_done(a, cx, state) },
        // SAFETY: the caller's contract.
        RecvInner::Merge(m) => unsafe { poll_merge(m, cx, state) },
        RecvInner::Bridge(b) => poll_bridge(b, cx, state),
        // SAFETY: the caller's contract.
        RecvInner::Take(t) => unsafe { poll_take(t, cx, state) },
        RecvInner::Chan(shared) => match shared.flavor() {
            FlavorRef::Array(c) => c.poll_recv(cx, state_wait),
            // SAFETY: the caller's contract.
            FlavorRef::Zero(c) => unsafe { c.poll_recv(cx, state_wait) },
        },
    }
}

/// One poll of a receive on a context's done channel: ready (with `None`) once the
/// context is done; a timer wakes the task at the context's deadline.
///
/// # Safety
/// As for [`poll_recv`].
unsafe fn poll_done<T>(
    ctx: &Ctx,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    let Some(queue) = ctx.done_waiters() else {
        return Poll::Pending;
    };
    loop {
        if ctx.is_done() {
            super::queue::finish(&mut state.wait, queue);
            return Poll::Ready(None);
        }
        if let Some(d) = ctx.deadline() {
            if state.more().timer.poll_until(cx, d).is_ready() {
                continue; // the deadline passed: `is_done` now says so
            }
        }
        // SAFETY: the caller's contract.
        if unsafe { super::queue::park(&mut state.wait, cx, queue, || ctx.is_done()) } {
            return Poll::Pending;
        }
    }
}

/// One poll of a receive on an or-done receiver: its source's next value, or
/// `None` once its context is done. The context's queue is joined only when the
/// source has nothing yet, so a busy source costs one context check per value.
///
/// # Safety
/// As for [`poll_recv`]; the source's state lives (boxed) inside `state`.
unsafe fn poll_or_done<T>(
    a: &OrDone<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    if let Some(hook) = &a.hook {
        // SAFETY: the caller's contract.
        return unsafe { poll_hooked(a, hook, cx, state) };
    }
    if !a.ctx.is_done() {
        if state.sources_made() == 0 {
            // First poll: nothing is registered yet. A value ready now (or the
            // end) needs no registration and no state.
            match a.source.try_recv() {
                Ok(v) => return Poll::Ready(Some(v)),
                Err(TryRecvError::Closed) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {}
            }
            state.more().make_sources(1);
        }
        let source = &mut state.more().first.state;
        // SAFETY: the caller's contract, which covers the boxed source state.
        if let Poll::Ready(v) = unsafe { poll_recv(&a.source, cx, source) } {
            finish_done(&a.ctx, state);
            return Poll::Ready(v);
        }
    }
    // SAFETY: the caller's contract.
    match unsafe { poll_done::<T>(&a.ctx, cx, state) } {
        Poll::Pending => Poll::Pending,
        Poll::Ready(_) => {
            // Done: no more values. Withdraw from the source (a value already
            // handed to us there goes back to the channel).
            cancel_or_done_source(a, state);
            Poll::Ready(None)
        }
    }
}

/// One poll of a receive on an or-done receiver with a [`DoneHook`] (a channel
/// source): it waits in the source alone, and the hook wakes it when the context
/// is done.
///
/// # Safety
/// As for [`poll_recv`].
#[inline]
unsafe fn poll_hooked<T>(
    a: &OrDone<T>,
    hook: &DoneHook<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    let oper = hook.oper();
    if !a.ctx.is_done() {
        let polled = match hook.chan() {
            FlavorRef::Array(c) => c.poll_recv_as(cx, &mut state.wait, oper),
            // SAFETY: the caller's contract.
            FlavorRef::Zero(c) => unsafe { c.poll_recv_as(cx, &mut state.wait, oper) },
        };
        match polled {
            Poll::Ready(v) => return Poll::Ready(v),
            // Registered (under the lock of the source's receive queue) before this
            // look: a cancel after it finds our entry, and one before it is seen
            // here.
            Poll::Pending if !a.ctx.is_done() => return Poll::Pending,
            Poll::Pending => {}
        }
    }
    match hook.chan() {
        // Done: withdraw (a notification we got meanwhile goes to another
        // receiver; the values stay in the buffer).
        FlavorRef::Array(c) => {
            c.cancel_recv_as(&mut state.wait, oper);
            Poll::Ready(None)
        }
        // Done: withdraw, unless a sender handed us a value meanwhile. Then we have
        // received it (its sender was told so): deliver it, as a select that found
        // both cases ready may.
        FlavorRef::Zero(c) => Poll::Ready(c.withdraw_recv_as(&mut state.wait, oper)),
    }
}

/// One poll of a receive on a merge receiver: a value of any source (scanned from
/// a random one), or `None` once all are closed and drained or the context is
/// done. The context's queue is joined only when no source has a value.
///
/// # Safety
/// As for [`poll_recv`]; the sources' states live (in a vector that is never
/// resized once made) inside `state`.
unsafe fn poll_merge<T>(
    m: &Merge<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    let n = m.sources.len();
    if state.sources_made() != n {
        // First poll: nothing is registered yet. A value ready now (or the end)
        // needs no registration with any source, and no states.
        match m.try_recv() {
            Ok(v) => return Poll::Ready(Some(v)),
            Err(TryRecvError::Closed) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        state.more().make_sources(n);
    }
    if !m.is_done() {
        let start = m.start();
        let mut open = false;
        for k in 0..n {
            let i = (start + k) % n;
            let sub = state.more().source(i);
            if sub.closed {
                continue;
            }
            // SAFETY: the caller's contract, which covers the sub-states.
            match unsafe { poll_recv(&m.sources[i], cx, &mut sub.state) } {
                Poll::Ready(Some(v)) => {
                    cancel_merge_sources(m, state, Some(i));
                    if let Some(ctx) = &m.ctx {
                        finish_done(ctx, state);
                    }
                    return Poll::Ready(Some(v));
                }
                Poll::Ready(None) => sub.closed = true,
                Poll::Pending => open = true,
            }
        }
        if !open {
            if let Some(ctx) = &m.ctx {
                finish_done(ctx, state);
            }
            return Poll::Ready(None);
        }
    }
    let Some(ctx) = &m.ctx else {
        return Poll::Pending;
    };
    // SAFETY: the caller's contract.
    match unsafe { poll_done::<T>(ctx, cx, state) } {
        Poll::Pending => Poll::Pending,
        Poll::Ready(_) => {
            cancel_merge_sources(m, state, None);
            Poll::Ready(None)
        }
    }
}

/// One poll of a receive on a bridge: a value ready now is taken without a wait
/// state; a receive that must wait runs as a boxed future (see `bridge.rs`).
fn poll_bridge<T>(
    b: &std::sync::Arc<Bridge<T>>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    if state.more.as_ref().is_none_or(|m| m.boxed.is_none()) {
        match b.try_recv() {
            Ok(v) => return Poll::Ready(Some(v)),
            Err(TryRecvError::Closed) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
    }
    let more = state.more();
    let polled = more
        .boxed
        .get_or_insert_with(|| (b.wait)(b.clone()))
        .as_mut()
        .poll(cx);
    if polled.is_ready() {
        more.boxed = None;
    }
    polled
}

/// One poll of a receive on a take (see `take.rs`): a value the source has now,
/// or, holding a claim, a wait on the source; or, when every value left is
/// claimed, a wait on the take's `changed` queue (in `wait`).
///
/// # Safety
/// As for [`poll_recv`]; the source's state lives (boxed) inside `state`.
unsafe fn poll_take<T>(
    t: &Take<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    // The wait slot's address, which stays put while the receive lasts, names its
    // claim when the source's receive needs no more than that slot.
    let me = std::ptr::addr_of!(state.wait) as usize;
    loop {
        // (A slot never used holds no claim: the first poll skips the look.)
        if let Some(source) = state.wait.as_ref().and_then(|_| t.held_by(me)) {
            // SAFETY: the caller's contract.
            return unsafe { poll_claimed(t, Some(me), &source, cx, state) };
        }
        if let Some(more) = state.more.as_deref_mut() {
            if let Some(source) = more.claimed.clone() {
                // SAFETY: the caller's contract, which covers the boxed state.
                let polled = unsafe { poll_claimed(t, None, &source, cx, &mut more.first.state) };
                if polled.is_ready() {
                    more.claimed = None;
                }
                return polled;
            }
        }
        if t.ctx.is_done() {
            super::queue::finish(&mut state.wait, &t.changed);
            return Poll::Ready(None);
        }
        match t.look(Some(me)) {
            take::Look::Held(source) => {
                // Registered with `changed` before, perhaps: the slot moves to the
                // source now.
                super::queue::finish(&mut state.wait, &t.changed);
                // SAFETY: the caller's contract.
                return unsafe { poll_claimed(t, Some(me), &source, cx, state) };
            }
            take::Look::Value(v) => {
                super::queue::finish(&mut state.wait, &t.changed);
                return Poll::Ready(Some(v));
            }
            take::Look::End => {
                super::queue::finish(&mut state.wait, &t.changed);
                return Poll::Ready(None);
            }
            take::Look::Empty => unreachable!("a look with a holder finds a source or a value"),
            take::Look::Source(source) => {
                super::queue::finish(&mut state.wait, &t.changed);
                let more = state.more();
                if more.made == 0 {
                    more.make_sources(1);
                }
                more.claimed = Some(source);
            }
            take::Look::Claimed => {
                // SAFETY: the caller's contract.
                if unsafe { super::queue::park(&mut state.wait, cx, &t.changed, || t.may_look()) } {
                    return Poll::Pending;
                }
            }
        }
    }
}

/// One poll of a claimed receive on a take's source, with `state` (the receive's
/// own, when the claim is kept under `holder`, the address of its wait slot; a
/// boxed one otherwise). Settles the claim once the receive completes.
///
/// # Safety
/// As for [`poll_recv`].
unsafe fn poll_claimed<T>(
    t: &Take<T>,
    holder: Option<usize>,
    source: &Receiver<T>,
    cx: &mut Context<'_>,
    state: &mut RecvState<T>,
) -> Poll<Option<T>> {
    // SAFETY: the caller's contract.
    let Poll::Ready(got) = (unsafe { poll_recv(source, cx, state) }) else {
        return Poll::Pending;
    };
    match holder {
        Some(h) => t.settle_held(h, got.is_some()),
        None => t.settle(got.is_some()),
    }
    // `None`: the source ended, or the context is done.
    Poll::Ready(got)
}

/// Withdraws a take's receive: from the source, giving its claim back (a value
/// the source handed over meanwhile goes back to it), or from `changed`.
fn cancel_take<T>(t: &Take<T>, state: &mut RecvState<T>) {
    let me = std::ptr::addr_of!(state.wait) as usize;
    if let Some(source) = t.held_by(me) {
        // The slot waits on the source: withdraw it there.
        cancel_recv(&source, state);
        t.settle_held(me, false);
        return;
    }
    super::queue::finish(&mut state.wait, &t.changed);
    if let Some(more) = state.more.as_deref_mut() {
        if let Some(source) = more.claimed.take() {
            cancel_recv(&source, &mut more.first.state);
            t.settle(false);
        }
    }
}

/// Withdraws the receives on a merge's sources, except `keep` (the one that just
/// completed). A value already handed to one of them goes back to its channel.
fn cancel_merge_sources<T>(m: &Merge<T>, state: &mut RecvState<T>, keep: Option<usize>) {
    let Some(more) = state.more.as_deref_mut() else {
        return;
    };
    for (i, (source, sub)) in m.sources.iter().zip(more.sources()).enumerate() {
        if Some(i) != keep && !sub.closed {
            cancel_recv(source, &mut sub.state);
        }
    }
}

/// Withdraws an or-done receive from its source, if it got that far.
fn cancel_or_done_source<T>(a: &OrDone<T>, state: &mut RecvState<T>) {
    if let Some(more) = state.more.as_deref_mut().filter(|m| m.made > 0) {
        cancel_recv(&a.source, &mut more.first.state);
    }
}

/// Withdraws a wait on `ctx`'s done queue, if there is one.
fn finish_done<T>(ctx: &Ctx, state: &mut RecvState<T>) {
    if let Some(queue) = ctx.done_waiters() {
        super::queue::finish(&mut state.wait, queue);
    }
}

/// Withdraws an unfinished receive.
fn cancel_recv<T>(rx: &Receiver<T>, state: &mut RecvState<T>) {
    if let RecvInner::Merge(m) = &rx.inner {
        if let Some(ctx) = &m.ctx {
            finish_done(ctx, state);
        }
        if state.sources_made() == m.sources.len() {
            cancel_merge_sources(m, state, None);
        }
        return;
    }
    if let RecvInner::Bridge(_) = &rx.inner {
        // Dropping the wait withdraws it (and lets go of the pull role).
        if let Some(more) = state.more.as_deref_mut() {
            more.boxed = None;
        }
        return;
    }
    if let RecvInner::Take(t) = &rx.inner {
        cancel_take(t, state);
        return;
    }
    if let RecvInner::OrDone(a) = &rx.inner {
        if let Some(hook) = &a.hook {
            match hook.chan() {
                FlavorRef::Array(c) => c.cancel_recv_as(&mut state.wait, hook.oper()),
                FlavorRef::Zero(c) => c.cancel_recv_as(&mut state.wait, hook.oper()),
            }
            return;
        }
        finish_done(&a.ctx, state);
        cancel_or_done_source(a, state);
        return;
    }
    if let RecvInner::Done(ctx) = &rx.inner {
        if let Some(queue) = ctx.done_waiters() {
            super::queue::finish(&mut state.wait, queue);
        }
        return;
    }
    if let RecvInner::Chan(shared) = &rx.inner {
        match shared.flavor() {
            FlavorRef::Array(c) => c.cancel_recv(&mut state.wait),
            FlavorRef::Zero(c) => c.cancel_recv(&mut state.wait),
        }
    }
}

/// The future of [`Receiver::recv_async`]; resolves to `Some(value)`, or `None` once
/// the channel is closed and drained.
///
/// `!Unpin` for the same reason as [`SendFuture`]; [`RecvStream`] is `Unpin` (it keeps
/// its wait state boxed, once per stream).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = hoare::chan::<u8>(1);
/// tx.send(1).unwrap();
/// let fut: hoare::chan::RecvFuture<'_, u8> = rx.recv_async();
/// assert_eq!(fut.await, Some(1));
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    /// Dropped in `Drop`: a plain channel's receive only ever uses `wait`, so only
    /// that part is dropped then (the rest holds nothing to free).
    state: ManuallyDrop<RecvState<T>>,
    done: bool,
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(receiver: &'a Receiver<T>) -> Self {
        Self {
            receiver,
            state: ManuallyDrop::new(RecvState::default()),
            done: false,
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // SAFETY: as in `SendFuture::poll`.
        let this = unsafe { self.get_unchecked_mut() };
        if this.done {
            return Poll::Pending;
        }
        let r = match &this.receiver.inner {
            // The plain unbuffered channel goes straight to its flavor.
            // SAFETY: `this.state` is pinned; `Drop` cancels a pending receive.
            RecvInner::Chan(Handle::Zero(s)) => unsafe {
                s.chan.poll_recv(cx, &mut this.state.wait)
            },
            // The buffered one too: its first try is inlined here.
            RecvInner::Chan(Handle::Array(s)) => {
                s.chan.poll_recv_or_yield(cx, &mut this.state.wait)
            }
            // An or-done receiver of a buffered channel, on its first poll: a value
            // ready now is taken here, without the general path.
            RecvInner::OrDone(a) => match &a.source.inner {
                RecvInner::Chan(Handle::Array(s)) if this.state.is_fresh() && !a.ctx.is_done() => {
                    match s.chan.try_recv_once() {
                        Some(v) => Poll::Ready(Some(v)),
                        // SAFETY: as above.
                        None => unsafe { poll_recv(this.receiver, cx, &mut this.state) },
                    }
                }
                // SAFETY: as above.
                _ => unsafe { poll_recv(this.receiver, cx, &mut this.state) },
            },
            // SAFETY: as above.
            _ => unsafe { poll_recv(this.receiver, cx, &mut this.state) },
        };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.done && self.state.wait.is_none() && self.state.more.is_none() {
            return; // completed without waiting: nothing queued, nothing owned
        }
        self.finish();
    }
}

impl<T> RecvFuture<'_, T> {
    /// Withdraws an unfinished receive and drops the wait state. Called once,
    /// from `Drop` only: it drops `state`.
    #[inline(never)]
    fn finish(&mut self) {
        if !self.done {
            cancel_recv(self.receiver, &mut self.state);
        }
        if let RecvInner::Chan(_) = &self.receiver.inner {
            debug_assert!(self.state.more.is_none());
            // SAFETY: `state` is dropped only here, once. A channel's receive uses
            // `wait` alone: `more` is `None`, which owns nothing, so leaving it
            // undropped frees all there is.
            unsafe { std::ptr::drop_in_place(&mut self.state.wait) };
        } else {
            // SAFETY: `state` is dropped only here, once.
            unsafe { ManuallyDrop::drop(&mut self.state) };
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

enum StreamSource<'a, T> {
    Borrowed(&'a Receiver<T>),
    Owned(Receiver<T>),
}

/// A receiver as a [`Stream`]; see [`Receiver::stream`] and [`Receiver::into_stream`].
///
/// Dropping the stream between items loses nothing, as for [`RecvFuture`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures_util::StreamExt;
/// let (tx, rx) = hoare::chan::<u8>(2);
/// tx.send(1).unwrap();
/// drop(tx);
/// let mut s: hoare::chan::RecvStream<'_, u8> = rx.stream();
/// assert_eq!(s.next().await, Some(1));
/// assert_eq!(s.next().await, None);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct RecvStream<'a, T> {
    source: StreamSource<'a, T>,
    /// Boxed so the stream can be `Unpin` while queues hold addresses inside it.
    state: Box<RecvState<T>>,
    /// A receive is in progress (registered and not yet completed).
    pending: bool,
}

impl<'a, T> RecvStream<'a, T> {
    pub(crate) fn borrowed(rx: &'a Receiver<T>) -> Self {
        Self::with(StreamSource::Borrowed(rx))
    }

    fn with(source: StreamSource<'a, T>) -> Self {
        Self {
            source,
            state: Box::default(),
            pending: false,
        }
    }
}

impl<T> RecvStream<'static, T> {
    pub(crate) fn owned(rx: Receiver<T>) -> Self {
        Self::with(StreamSource::Owned(rx))
    }
}

// The state is boxed (its address never changes) and no pinned `T` is exposed.
impl<T> Unpin for RecvStream<'_, T> {}

impl<T> Stream for RecvStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let rx = match &this.source {
            StreamSource::Borrowed(rx) => *rx,
            StreamSource::Owned(rx) => rx,
        };
        // SAFETY: the boxed state never moves; `Drop` cancels a pending receive.
        let r = unsafe { poll_recv(rx, cx, &mut this.state) };
        this.pending = r.is_pending();
        r
    }
}

impl<T> Drop for RecvStream<'_, T> {
    fn drop(&mut self) {
        if self.pending {
            let rx = match &self.source {
                StreamSource::Borrowed(rx) => *rx,
                StreamSource::Owned(rx) => rx,
            };
            cancel_recv(rx, &mut self.state);
        }
    }
}

impl<T> fmt::Debug for RecvStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// A blocking receive on a receiver whose async receive does the work (a bridge,
/// a take), driven on this thread.
pub(crate) fn recv_blocking<T>(
    rx: &Receiver<T>,
    deadline: Option<std::time::Instant>,
) -> Result<T, super::RecvTimeoutError> {
    match crate::go::block_on_until(RecvFuture::new(rx), deadline) {
        Some(Some(v)) => Ok(v),
        Some(None) => Err(super::RecvTimeoutError::Closed),
        None => Err(super::RecvTimeoutError::Timeout),
    }
}

//! The buffered flavor: `chan(n)` with `n ≥ 1`.
//!
//! A bounded lock-free ring in the manner of Dmitry Vyukov's MPMC queue. Every slot
//! has a *stamp*; `head` and `tail` are *positions*, each a lap number and an index:
//!
//! ```text
//!   position = lap | mark | index      (index < mark_bit, mark_bit = one_lap / 2)
//! ```
//!
//! # Invariants
//! - A slot whose stamp equals `tail` is empty and may be written by the sender that
//!   advances `tail` past it; after writing, that sender sets the stamp to `tail + 1`.
//! - A slot whose stamp equals `head + 1` is full and may be read by the receiver
//!   that advances `head` past it; after reading, it sets the stamp to
//!   `head + one_lap` (the position a sender will have one lap later).
//! - The mark bit in `tail` means *closed*: once set, no send can claim a slot, so
//!   exactly the values sent before the close are received, then `Closed`.
//! - Blocked parties wait in `senders`/`receivers`; see `queue.rs` for why a
//!   wake-up cannot be lost (SeqCst RMW on `head`/`tail` against SeqCst `is_empty`).

use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::buffer::{Buffer, Slot};
use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::queue::WaitQueue;
use super::waiter::{AsyncWait, Operation, Waiter};
use crate::loom::{fence, AtomicUsize, Backoff};

/// The largest capacity kept exactly; larger requests are clamped to it, which no
/// program can tell apart since filling it would take more memory than exists.
pub(crate) const MAX_CAP: usize = 1 << (usize::BITS - 4);

/// How many times a thread that found the ring full (empty) yields while it waits
/// for a batch of room (values) before it registers; see [`Channel::wait_for_batch`].
const BATCH_POLLS: u32 = 16;

/// The most room (values) a thread waits for: a batch is half the ring, up to this.
const MAX_BATCH: usize = 256;

pub(crate) struct Channel<T> {
    /// Position of the next slot to read. Written by receivers.
    head: CachePadded<AtomicUsize>,
    /// Position of the next slot to write, with the mark bit. Written by senders
    /// and by `disconnect`.
    tail: CachePadded<AtomicUsize>,
    buffer: Buffer<T>,
    /// Slots in the ring (the requested capacity, clamped to `MAX_CAP`).
    cap: usize,
    /// The capacity asked for, which `capacity()` reports as Go's `cap(ch)` does.
    requested: usize,
    one_lap: usize,
    mark_bit: usize,
    /// Senders waiting for room. Each side's waiting state has cache lines of its
    /// own: it is written when a party of that side waits, and the fields above
    /// are read by every operation.
    senders: CachePadded<Waiting>,
    /// Receivers waiting for a value.
    receivers: CachePadded<Waiting>,
}

/// How far a side must have got since its last wait (in values received, or
/// sent) for a thread of that side that finds the ring not ready to wait for a
/// batch rather than register at once; see [`Channel::streams`].
const STREAM_RUN: usize = 4;

/// One side's waiting parties, and where that side last had to wait.
struct Waiting {
    queue: WaitQueue,
    /// `head` (for the receivers) or `tail` without the mark bit (for the
    /// senders) when a thread of this side last found the ring not ready.
    last_wait: AtomicUsize,
}

impl Waiting {
    fn new() -> Self {
        Self {
            queue: WaitQueue::new(),
            last_wait: AtomicUsize::new(0),
        }
    }
}

impl std::ops::Deref for Waiting {
    type Target = WaitQueue;

    fn deref(&self) -> &WaitQueue {
        &self.queue
    }
}

/// Whether a thread that found the ring not ready, and did not (or no longer)
/// wait for a batch, should try again before it registers: after a spin as brief
/// as a task's ([`Backoff::spin_for_task`], 15 spin hints in all), for a value or
/// a slot that comes alone, as a reply does. Registering costs the thread a lock
/// and the other side a lock and a wake-up; the spin halved a round trip over two
/// buffered channels between two threads, from 0.32–0.61 µs to 0.14–0.34 µs.
/// Never under loom, where each retry would multiply the interleavings.
#[inline]
fn spin_before_registering(backoff: &mut Backoff) -> bool {
    !cfg!(loom) && backoff.spin_for_task()
}

/// Which side of the ring a thread waits on ([`Channel::streams`],
/// [`Channel::wait_for_batch`]).
#[derive(Clone, Copy)]
enum Side {
    /// A sender, for room.
    Send,
    /// A receiver, for values.
    Recv,
}

impl<T> Channel<T> {
    pub(crate) fn new(requested: usize) -> Self {
        let cap = requested.clamp(1, MAX_CAP);
        let mark_bit = (cap + 1).next_power_of_two();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buffer: Buffer::new(cap),
            cap,
            requested,
            one_lap: mark_bit * 2,
            mark_bit,
            senders: CachePadded::new(Waiting::new()),
            receivers: CachePadded::new(Waiting::new()),
        }
    }

    /// The position after `pos` (same lap, next index; or next lap, index 0).
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Writes `msg` into `slot`, claimed at position `tail`, and hands it to the
    /// receivers.
    ///
    /// # Safety
    /// This thread won the CAS that moved `tail` past the slot while its stamp
    /// was `tail`: it alone may write the slot, which holds no value, until the
    /// new stamp is published.
    #[inline(always)]
    unsafe fn fill(&self, slot: &Slot<T>, tail: usize, msg: T) {
        // SAFETY: the caller's contract.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // ORDERING: Release publishes the value to the receiver that
        // Acquire-loads stamp `tail + 1`.
        slot.stamp.store(tail + 1, Ordering::Release);
        self.receivers.notify_one();
    }

    /// Takes the value out of `slot`, claimed at position `head`, and hands the
    /// slot to the senders.
    ///
    /// # Safety
    /// This thread won the CAS that moved `head` past the slot while its stamp
    /// was `head + 1`: the slot holds an initialised value and this thread is
    /// its only reader.
    #[inline(always)]
    unsafe fn empty(&self, slot: &Slot<T>, head: usize) -> T {
        // SAFETY: the caller's contract.
        let msg = slot.msg.with_mut(|p| unsafe { (*p).assume_init_read() });
        // ORDERING: Release hands the now-empty slot to the sender of the next lap.
        slot.stamp
            .store(head.wrapping_add(self.one_lap), Ordering::Release);
        self.senders.notify_one();
        msg
    }

    /// One attempt at the common case of [`Channel::try_send`]: the slot at `tail`
    /// is empty and no other sender takes it first. Gives `msg` back otherwise
    /// (full, closed, or a lost race), for the full version to decide.
    #[inline(always)]
    fn try_send_once(&self, msg: T) -> Result<(), T> {
        // ORDERING: as in `try_send`.
        let tail = self.tail.load(Ordering::Relaxed);
        let slot = self.buffer.get(tail & (self.mark_bit - 1));
        if tail & self.mark_bit == 0
            && slot.stamp.load(Ordering::Acquire) == tail
            && self
                .tail
                .compare_exchange_weak(tail, self.next(tail), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            // SAFETY: the CAS above, at a slot stamped `tail`.
            unsafe { self.fill(slot, tail, msg) };
            return Ok(());
        }
        Err(msg)
    }

    /// One attempt at the common case of [`Channel::try_recv`]: the slot at `head`
    /// is full and no other receiver takes it first. `None` otherwise (empty,
    /// closed, or a lost race), for the full version to decide.
    #[inline(always)]
    pub(crate) fn try_recv_once(&self) -> Option<T> {
        let head = self.head.load(Ordering::Relaxed);
        let slot = self.buffer.get(head & (self.mark_bit - 1));
        // ORDERING: as in `try_recv`.
        if slot.stamp.load(Ordering::Acquire) == head + 1
            && self
                .head
                .compare_exchange_weak(head, self.next(head), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            // SAFETY: the CAS above, at a slot stamped `head + 1`.
            return Some(unsafe { self.empty(slot, head) });
        }
        None
    }

    /// Claims a slot and writes `msg` into it, without blocking.
    #[inline]
    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut backoff = Backoff::new();
        // ORDERING: Relaxed; the slot's stamp (Acquire) is what licenses a write.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(TrySendError::Closed(msg));
            }
            let slot = self.buffer.get(tail & (self.mark_bit - 1));
            // ORDERING: Acquire pairs with the receiver's Release stamp store, so
            // its read of the previous value happened before we overwrite.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // The slot is empty for this lap: claim it.
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won the CAS at a slot whose stamp was `tail`.
                        unsafe { self.fill(slot, tail, msg) };
                        return Ok(());
                    }
                    Err(t) => {
                        tail = t;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds last lap's value: the buffer may be full.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(TrySendError::Full(msg));
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another sender claimed it and has not finished: wait for it.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the oldest value, without blocking.
    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.buffer.get(head & (self.mark_bit - 1));
            // ORDERING: Acquire pairs with the sender's Release stamp store.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won the CAS at a slot whose stamp was `head + 1`.
                        return Ok(unsafe { self.empty(slot, head) });
                    }
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // The slot is empty: the channel may be empty.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if tail & !self.mark_bit == head {
                    return Err(if tail & self.mark_bit != 0 {
                        TryRecvError::Closed
                    } else {
                        TryRecvError::Empty
                    });
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // A sender is writing this slot, or another receiver is reading it.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a receive would find a value (or the close) right now.
    fn can_recv(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        tail & !self.mark_bit != head || tail & self.mark_bit != 0
    }

    /// Whether a send would find room (or the close) right now.
    fn can_send(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        head.wrapping_add(self.one_lap) != tail & !self.mark_bit || tail & self.mark_bit != 0
    }

    /// After a first attempt at a send failed: whether another sender took the
    /// slot (the channel is open and has room), rather than the channel being full
    /// or closed.
    ///
    /// An async send that lost so backs off and yields its worker
    /// ([`back_off_and_yield`]) instead of trying again at once. Senders that keep
    /// racing on two workers move the ring's lines between cores on every message,
    /// which costs most when the two cores share no cache (the VM's vCPUs can sit
    /// on different dies); while this sender's task waits its turn, the winner's
    /// worker has the ring to itself, and this worker then runs another task,
    /// often one of the receivers.
    ///
    /// (The first attempt's compare-and-swap is a weak one: where it can fail
    /// spuriously, on machines with load-linked/store-conditional, such a failure
    /// counts as a lost race too, and costs a backoff.)
    fn send_lost_race(&self) -> bool {
        // ORDERING: a hint: a stale answer costs one extra backoff or a
        // registration that finds room, never a value.
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        tail & self.mark_bit == 0 && head.wrapping_add(self.one_lap) != tail
    }

    /// After a first attempt at a receive failed: whether another receiver took
    /// the value (or a sender is still writing it), rather than the channel being
    /// empty. As for [`Channel::send_lost_race`], a receive of the task's own then
    /// backs off and yields ([`Channel::poll_recv_or_yield`]).
    fn recv_lost_race(&self) -> bool {
        // ORDERING: as in `send_lost_race`.
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        tail & !self.mark_bit != head
    }

    /// Called when a thread of `side` finds the ring not ready: whether that side
    /// got at least [`STREAM_RUN`] values through since a thread of it last
    /// found the ring not ready, so that it streams and should wait for a batch
    /// ([`Channel::wait_for_batch`]). A side that passes single values (a request
    /// and its reply, a hand-off) waits for nearly every one; it registers at
    /// once, to be woken by the very value it waits for. Records this wait.
    fn streams(&self, side: Side) -> bool {
        if cfg!(loom) {
            return false;
        }
        // ORDERING: a hint about the past; any answer is safe.
        let (now, waiting) = match side {
            Side::Send => (
                self.tail.load(Ordering::Relaxed) & !self.mark_bit,
                &self.senders,
            ),
            Side::Recv => (self.head.load(Ordering::Relaxed), &self.receivers),
        };
        let last = waiting.last_wait.swap(now, Ordering::Relaxed);
        self.distance(last, now) >= STREAM_RUN
    }

    /// How many positions lie from `from` to `to` (both without the mark bit),
    /// counting whole laps; a `from` ahead of `to` (a stale hint) reads as far.
    fn distance(&self, from: usize, to: usize) -> usize {
        let laps =
            (to & !(self.one_lap - 1)).wrapping_sub(from & !(self.one_lap - 1)) / self.one_lap;
        let index = |pos: usize| pos & (self.mark_bit - 1);
        laps.wrapping_mul(self.cap)
            .wrapping_add(index(to))
            .wrapping_sub(index(from))
    }

    /// Before a thread of a streaming side ([`Channel::streams`]) registers on a
    /// full (`Side::Send`) or empty (`Side::Recv`) ring: yields its CPU up to
    /// [`BATCH_POLLS`] times, looking after each yield whether a batch of room
    /// (values) is ready, and returns when it is, when the other side has stopped
    /// since the last look with some ready, when the channel closes, when `stop`
    /// turns true, or when `deadline` passes.
    ///
    /// A thread that registered at once was woken as soon as one slot was ready:
    /// the two sides then worked on the same slot, and its cache line crossed
    /// between their cores once per message rather than once per line of slots,
    /// with a registration and a wake-up every few messages on top. Waiting for a
    /// batch lets each side work on lines the other is not touching. Yielding,
    /// rather than spinning, gives the CPU to the other side where threads
    /// outnumber cores; where they do not, a yield is a pause of under a
    /// microsecond. A value that comes alone waits one look more than a registered
    /// receiver would (the sender must be seen to have stopped): that is why a
    /// side that passes single values registers at once instead.
    ///
    /// Never under loom, where each look would multiply the interleavings; the
    /// registration that follows is what keeps a wake-up from being lost.
    ///
    /// Returns how many looks it took.
    #[cold]
    fn wait_for_batch(
        &self,
        side: Side,
        deadline: Option<Instant>,
        stop: impl Fn() -> bool,
    ) -> u32 {
        if cfg!(loom) {
            return 0;
        }
        let batch = (self.cap / 2).clamp(1, MAX_BATCH);
        let mut last = None;
        for look in 1..=BATCH_POLLS {
            if stop() || deadline.is_some_and(|d| Instant::now() >= d) {
                return look - 1;
            }
            crate::loom::yield_now();
            // ORDERING: a hint; the operation that follows decides.
            let tail = self.tail.load(Ordering::Relaxed);
            let head = self.head.load(Ordering::Relaxed);
            if tail & self.mark_bit != 0 {
                return look;
            }
            let len = self.len_of(head, tail);
            let (ready, other) = match side {
                Side::Send => (self.cap - len, head),
                Side::Recv => (len, tail),
            };
            if ready >= batch || (ready > 0 && last == Some(other)) {
                return look;
            }
            last = Some(other);
        }
        BATCH_POLLS
    }

    /// Sends, blocking until there is room, the channel closes, or `deadline`.
    #[inline]
    pub(crate) fn send(
        &self,
        mut msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut waited = false;
        let mut backoff = Backoff::new();
        loop {
            match self.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(m)) => return Err(SendTimeoutError::Closed(m)),
                Err(TrySendError::Full(m)) => msg = m,
            }
            if !waited {
                waited = true;
                if self.streams(Side::Send) {
                    let _looks = self.wait_for_batch(Side::Send, deadline, || false);
                    continue;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(SendTimeoutError::Timeout(msg));
            }
            if spin_before_registering(&mut backoff) {
                continue;
            }
            super::queue::block_in(&self.senders, || self.can_send(), deadline);
        }
    }

    /// Receives, blocking until a value arrives, the channel closes, or `deadline`.
    #[inline]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.recv_as(deadline, Operation::SINGLE, || false)
    }

    /// [`Channel::recv`], waiting registered as `oper` (see
    /// [`Channel::disconnect_tagged`]), and ending with `Closed` once `stop`
    /// returns true: it is asked before each attempt, and after registering.
    #[inline]
    pub(crate) fn recv_as(
        &self,
        deadline: Option<Instant>,
        oper: Operation,
        stop: impl Fn() -> bool,
    ) -> Result<T, RecvTimeoutError> {
        let mut waited = false;
        let mut backoff = Backoff::new();
        loop {
            if stop() {
                return Err(RecvTimeoutError::Closed);
            }
            match self.try_recv() {
                Ok(msg) => return Ok(msg),
                Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            if !waited {
                waited = true;
                if self.streams(Side::Recv) {
                    let _looks = self.wait_for_batch(Side::Recv, deadline, &stop);
                    continue;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RecvTimeoutError::Timeout);
            }
            if spin_before_registering(&mut backoff) {
                continue;
            }
            let ready = || self.can_recv() || stop();
            super::queue::block_in_as(&self.receivers, ready, deadline, oper);
        }
    }

    /// One poll of an async send. `msg` holds the value until it is sent.
    ///
    /// A future's first poll makes one attempt before anything else: on a channel
    /// with room that is the whole send, inlined into the caller.
    #[inline]
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<T>,
        w: &mut Option<AsyncWait<T>>,
    ) -> Poll<Result<(), T>> {
        if w.is_none() {
            let Some(m) = msg.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.try_send_once(m) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(m) => *msg = Some(m),
            }
        }
        self.poll_send_slow(cx, msg, w)
    }

    #[inline(never)]
    fn poll_send_slow(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<T>,
        w: &mut Option<AsyncWait<T>>,
    ) -> Poll<Result<(), T>> {
        if w.is_none() && self.send_lost_race() {
            return back_off_and_yield(cx);
        }
        let mut backoff = Backoff::new();
        loop {
            let Some(m) = msg.take() else {
                return Poll::Ready(Ok(()));
            };
            match self.try_send(m) {
                Ok(()) => {
                    super::queue::finish(w, &self.senders);
                    return Poll::Ready(Ok(()));
                }
                Err(TrySendError::Closed(m)) => {
                    super::queue::finish(w, &self.senders);
                    return Poll::Ready(Err(m));
                }
                Err(TrySendError::Full(m)) => *msg = Some(m),
            }
            if spin_before_parking(&mut backoff, w) {
                continue;
            }
            // SAFETY: the registration lives in a pinned future, which calls
            // `cancel_send` before it is dropped.
            if unsafe { super::queue::park(w, cx, &self.senders, || self.can_send()) } {
                return Poll::Pending;
            }
        }
    }

    /// One poll of an async receive; as [`Channel::poll_send`], a first poll
    /// makes one inlined attempt before anything else.
    #[inline]
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        w: &mut Option<AsyncWait<T>>,
    ) -> Poll<Option<T>> {
        self.poll_recv_as(cx, w, Operation::SINGLE)
    }

    /// [`Channel::poll_recv`] for a receive that is its task's own (a
    /// `recv_async` on the channel itself): a first attempt that lost its value
    /// to another receiver backs off and yields the task (see
    /// [`Channel::send_lost_race`]).
    ///
    /// Adapters that receive from a channel on a receive's behalf (`take`,
    /// `bridge`, `or_done`, `fan_in`) use [`Channel::poll_recv`], which never
    /// returns `Pending` without having registered `w`: some of them tell by `w`
    /// whether their receive is waiting.
    #[inline]
    pub(crate) fn poll_recv_or_yield(
        &self,
        cx: &mut Context<'_>,
        w: &mut Option<AsyncWait<T>>,
    ) -> Poll<Option<T>> {
        if w.is_none() {
            if let Some(msg) = self.try_recv_once() {
                return Poll::Ready(Some(msg));
            }
            if self.recv_lost_race() {
                return back_off_and_yield(cx);
            }
        }
        self.poll_recv_slow(cx, w, Operation::SINGLE)
    }

    /// [`Channel::poll_recv`], registering (when it must wait) as `oper`:
    /// [`Operation::SINGLE`], or a tag that lets [`Channel::disconnect_tagged`]
    /// find it. [`Channel::cancel_recv_as`] with the same `oper` withdraws it.
    #[inline]
    pub(crate) fn poll_recv_as(
        &self,
        cx: &mut Context<'_>,
        w: &mut Option<AsyncWait<T>>,
        oper: Operation,
    ) -> Poll<Option<T>> {
        if w.is_none() {
            if let Some(msg) = self.try_recv_once() {
                return Poll::Ready(Some(msg));
            }
        }
        self.poll_recv_slow(cx, w, oper)
    }

    #[inline(never)]
    fn poll_recv_slow(
        &self,
        cx: &mut Context<'_>,
        w: &mut Option<AsyncWait<T>>,
        oper: Operation,
    ) -> Poll<Option<T>> {
        let mut backoff = Backoff::new();
        loop {
            match self.try_recv() {
                Ok(msg) => {
                    super::queue::finish_as(w, &self.receivers, oper);
                    return Poll::Ready(Some(msg));
                }
                Err(TryRecvError::Closed) => {
                    super::queue::finish_as(w, &self.receivers, oper);
                    return Poll::Ready(None);
                }
                Err(TryRecvError::Empty) => {}
            }
            if spin_before_parking(&mut backoff, w) {
                continue;
            }
            // SAFETY: as in `poll_send`.
            if unsafe { super::queue::park_as(w, cx, &self.receivers, || self.can_recv(), oper) } {
                return Poll::Pending;
            }
        }
    }

    /// Called when an async send is dropped unfinished.
    pub(crate) fn cancel_send(&self, w: &mut Option<AsyncWait<T>>) {
        super::queue::finish(w, &self.senders);
    }

    /// Called when an async receive is dropped unfinished.
    pub(crate) fn cancel_recv(&self, w: &mut Option<AsyncWait<T>>) {
        self.cancel_recv_as(w, Operation::SINGLE);
    }

    /// [`Channel::cancel_recv`] for a receive polled with
    /// [`Channel::poll_recv_as`] as `oper`. A notification it got meanwhile is
    /// passed on to another receiver.
    pub(crate) fn cancel_recv_as(&self, w: &mut Option<AsyncWait<T>>, oper: Operation) {
        super::queue::finish_as(w, &self.receivers, oper);
    }

    /// Wakes the receives waiting as `oper` (see [`WaitQueue::disconnect_tagged`]).
    pub(crate) fn disconnect_tagged(&self, oper: Operation) {
        self.receivers.disconnect_tagged(oper);
    }

    /// Registers operation `oper` of a select's `waiter` to be told when a receive
    /// may succeed. Returns whether one may succeed already (then the select retries
    /// instead of waiting).
    pub(crate) fn register_recv(&self, waiter: &Waiter, oper: Operation) -> bool {
        self.receivers.register(waiter, oper);
        self.can_recv()
    }

    /// Registers operation `oper` of a select's `waiter` to be told when a send may
    /// succeed. Returns whether one may succeed already.
    pub(crate) fn register_send(&self, waiter: &Waiter, oper: Operation) -> bool {
        self.senders.register(waiter, oper);
        self.can_send()
    }

    /// Withdraws a select's receive registration, if still queued.
    pub(crate) fn unregister_recv(&self, waiter: &Waiter, oper: Operation) {
        self.receivers.unregister(waiter, oper);
    }

    /// Withdraws a select's send registration, if still queued.
    pub(crate) fn unregister_send(&self, waiter: &Waiter, oper: Operation) {
        self.senders.unregister(waiter, oper);
    }

    /// A select was told a receive may succeed but did not receive here: pass the
    /// news on to another waiting receiver, so the value is not left unclaimed.
    pub(crate) fn pass_on_recv(&self) {
        self.receivers.notify_one();
    }

    /// As [`Channel::pass_on_recv`], for room to send.
    pub(crate) fn pass_on_send(&self) {
        self.senders.notify_one();
    }

    /// Sets the mark bit. Returns true if this call closed the channel.
    pub(crate) fn disconnect(&self) -> bool {
        let tail = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        if tail & self.mark_bit == 0 {
            self.senders.disconnect_all();
            self.receivers.disconnect_all();
            true
        } else {
            false
        }
    }

    /// The last receiver is gone: close, and drop what nobody can receive any more.
    pub(crate) fn disconnect_receivers(&self) {
        self.disconnect();
        while self.try_recv().is_ok() {}
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    pub(crate) fn capacity(&self) -> usize {
        self.requested
    }

    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: tail did not move while head was read.
            if self.tail.load(Ordering::SeqCst) == tail {
                return self.len_of(head, tail);
            }
        }
    }

    /// The number of values between positions `head` and `tail` (with or without
    /// the mark bit).
    fn len_of(&self, head: usize, tail: usize) -> usize {
        let hix = head & (self.mark_bit - 1);
        let tix = tail & (self.mark_bit - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if tail & !self.mark_bit == head {
            0
        } else {
            self.cap
        }
    }
}

/// Spin hints an async operation that lost a race spins before it yields (see
/// [`back_off_and_yield`]): about 4 µs where a hint takes 30 ns, as on the
/// machines the benchmarks ran on, and less where it is shorter.
#[cfg(not(loom))]
const LOST_RACE_SPINS: u32 = 128;

/// For an async operation that lost a race on the ring (another sender took its
/// slot, or a receiver found a value taken or still being written): backs off
/// for [`LOST_RACE_SPINS`] spin hints without touching the ring, then returns
/// `Pending` with the task already woken, so that it is polled again after the
/// other tasks its executor has ready (tokio puts a task that wakes itself while
/// being polled at the back of its worker's queue).
///
/// The race was lost to a party on another thread, which is using the ring right
/// now. While this worker keeps away, that thread sends and receives from its own
/// core's cache; were both to go on, the ring's lines would cross between the
/// cores on nearly every message, which costs most when the two cores share no
/// cache. The backoff is bounded and short, no longer than one round of a
/// spinning lock's backoff (kanal's spins 64 to 192 hints), and it comes only
/// while another thread works on the same slots. Measured on the bench's async
/// `mpmc` (2 × 2 tasks, 2 workers), in 30 runs alternating with a build that
/// yielded at once: hoare / kanal went from 0.48–1.89 to 0.43–1.03.
fn back_off_and_yield<R>(cx: &mut Context<'_>) -> Poll<R> {
    // Under loom, whose executor polls a woken future again at once, the thread
    // yields instead, so that the model runs the other side (as `Backoff` does).
    #[cfg(loom)]
    crate::loom::yield_now();
    #[cfg(not(loom))]
    for _ in 0..LOST_RACE_SPINS {
        std::hint::spin_loop();
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Whether an async operation that found the channel full (or empty) should try
/// again before it registers: [`spin_before_registering`], on a task's first
/// attempt only, since the other side is often just freeing (or filling) a slot,
/// and a registration, a wake-up through the executor and a second poll cost far
/// more.
#[inline]
fn spin_before_parking<T>(backoff: &mut Backoff, w: &Option<AsyncWait<T>>) -> bool {
    !w.as_ref().is_some_and(|w| w.registered) && spin_before_registering(backoff)
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // Drop the values still buffered: from head up to tail.
        // ORDERING: `&mut self` means no other thread touches the channel.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        let mut pos = head;
        while pos != tail {
            let slot = self.buffer.get(pos & (self.mark_bit - 1));
            // SAFETY: we have exclusive access (`&mut self`), and every slot between
            // head and tail holds an initialised value that nobody received.
            slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() });
            pos = self.next(pos);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;

    /// A waker that counts how often it is woken.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes::default());
        (wakes.clone(), Waker::from(wakes))
    }

    /// Polls until ready, as an executor polls a task that keeps waking itself.
    /// (A first attempt's compare-and-swap is a weak one, which may fail
    /// spuriously, as miri makes it do now and then; that counts as a lost race,
    /// and the poll yields again.) Panics if a `Pending` did not wake the task, or
    /// after 1,000 polls.
    fn poll_until_ready<R>(wakes: &Wakes, mut poll: impl FnMut() -> Poll<R>) -> R {
        for _ in 0..1000 {
            let before = wakes.0.load(Ordering::SeqCst);
            match poll() {
                Poll::Ready(r) => return r,
                Poll::Pending => assert_eq!(wakes.0.load(Ordering::SeqCst), before + 1),
            }
        }
        panic!("still pending after 1,000 polls");
    }

    /// The slow path of a first poll is reached only after the inlined attempt
    /// failed. Entered while the channel has room, it stands for an attempt that
    /// lost its slot to another sender: the send yields (wakes its own task and
    /// returns `Pending` with nothing registered and the value kept), and a later
    /// poll sends.
    #[test]
    fn a_send_that_lost_its_slot_yields_then_sends() {
        let chan = Channel::<u32>::new(2);
        let (wakes, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let (mut msg, mut w) = (Some(7), None);
        assert!(chan.send_lost_race());
        assert!(chan.poll_send_slow(&mut cx, &mut msg, &mut w).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(w.is_none());
        assert_eq!(msg, Some(7));
        let sent = poll_until_ready(&wakes, || chan.poll_send(&mut cx, &mut msg, &mut w));
        assert_eq!(sent, Ok(()));
        assert_eq!(chan.try_recv(), Ok(7));
    }

    /// A receive of the task's own that finds a value still being written (a
    /// sender moved `tail` past its slot and has not stamped it yet) yields
    /// instead of spinning or registering; once the value is written, a later
    /// poll takes it.
    #[test]
    fn a_receive_that_finds_a_value_being_written_yields_then_receives() {
        let chan = Channel::<u32>::new(2);
        // A sender claims the first slot...
        let tail = chan.tail.load(Ordering::SeqCst);
        chan.tail.store(chan.next(tail), Ordering::SeqCst);
        let (wakes, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut w = None;
        assert!(chan.recv_lost_race());
        assert!(chan.poll_recv_or_yield(&mut cx, &mut w).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(w.is_none(), "a yield registers nothing");
        // ...and writes it.
        // SAFETY: this test stands for the sender that moved `tail` past the slot,
        // whose stamp is still `tail`.
        unsafe { chan.fill(chan.buffer.get(0), tail, 5) };
        let got = poll_until_ready(&wakes, || chan.poll_recv_or_yield(&mut cx, &mut w));
        assert_eq!(got, Some(5));
    }

    /// A full or closed channel, or an empty one, is no lost race: those waits
    /// register as before (and are woken by the other side, not by themselves).
    #[test]
    fn full_empty_and_closed_channels_are_no_lost_race() {
        let chan = Channel::<u32>::new(1);
        assert!(!chan.recv_lost_race());
        chan.try_send(1).unwrap();
        assert!(!chan.send_lost_race());
        let (wakes, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let (mut msg, mut w) = (Some(2), None);
        assert!(chan.poll_send(&mut cx, &mut msg, &mut w).is_pending());
        assert!(w.is_some(), "a full channel registers the send");
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        assert_eq!(chan.try_recv(), Ok(1));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the receive woke it");
        chan.cancel_send(&mut w);
        chan.disconnect();
        assert!(!chan.send_lost_race());
    }

    #[test]
    fn a_receiver_waits_for_a_batch_or_a_sender_that_stopped() {
        let chan = Channel::<u64>::new(8);
        // Nothing comes: every look is taken.
        assert_eq!(chan.wait_for_batch(Side::Recv, None, || false), BATCH_POLLS);
        // Half the ring is a batch: the first look ends the wait.
        for v in 0..4 {
            chan.try_send(v).unwrap();
        }
        assert_eq!(chan.wait_for_batch(Side::Recv, None, || false), 1);
        // Fewer values, and no sender at work: the second look sees it stopped.
        for _ in 0..3 {
            chan.try_recv().unwrap();
        }
        assert_eq!(chan.wait_for_batch(Side::Recv, None, || false), 2);
    }

    #[test]
    fn a_sender_waits_for_a_batch_of_room_or_a_receiver_that_stopped() {
        let chan = Channel::<u64>::new(8);
        for v in 0..8 {
            chan.try_send(v).unwrap();
        }
        assert_eq!(chan.wait_for_batch(Side::Send, None, || false), BATCH_POLLS);
        chan.try_recv().unwrap();
        assert_eq!(chan.wait_for_batch(Side::Send, None, || false), 2);
        for _ in 0..3 {
            chan.try_recv().unwrap();
        }
        assert_eq!(chan.wait_for_batch(Side::Send, None, || false), 1);
    }

    #[test]
    fn waiting_for_a_batch_ends_on_close_stop_and_deadline() {
        let chan = Channel::<u64>::new(8);
        assert_eq!(chan.wait_for_batch(Side::Recv, None, || true), 0);
        assert_eq!(
            chan.wait_for_batch(Side::Recv, Some(Instant::now()), || false),
            0
        );
        chan.disconnect();
        assert_eq!(chan.wait_for_batch(Side::Recv, None, || false), 1);
        assert_eq!(chan.wait_for_batch(Side::Send, None, || false), 1);
    }

    #[test]
    fn a_side_streams_once_it_got_a_run_of_values_through_between_waits() {
        let chan = Channel::<u64>::new(8);
        let pass = |n: u64| {
            for v in 0..n {
                chan.try_send(v).unwrap();
                chan.try_recv().unwrap();
            }
        };
        // Single values between waits: a request and its reply.
        assert!(!chan.streams(Side::Recv));
        assert!(!chan.streams(Side::Send));
        pass(1);
        assert!(!chan.streams(Side::Recv));
        assert!(!chan.streams(Side::Send));
        // A run of STREAM_RUN values, then one that crosses into the next lap.
        pass(STREAM_RUN as u64);
        assert!(chan.streams(Side::Recv));
        assert!(chan.streams(Side::Send));
        pass(8);
        assert!(chan.streams(Side::Recv));
        assert!(chan.streams(Side::Send));
        // Each call records its wait: with nothing passed since, no run.
        assert!(!chan.streams(Side::Recv));
        assert!(!chan.streams(Side::Send));
    }

    #[test]
    fn distance_counts_whole_laps() {
        let chan = Channel::<u64>::new(3);
        let mut pos = 0;
        for n in 0..10 {
            assert_eq!(chan.distance(0, pos), n);
            pos = chan.next(pos);
        }
    }
}

//! How an or-done receive on a channel learns that its context is done without
//! joining the context's wait queue each time it waits.
//!
//! An or-done receiver made on a channel registers one [`DoneHook`] with its
//! context, once. Its receives (async and blocking) then wait in the channel
//! alone, registered under the hook's tag ([`Operation::tagged`]). When the
//! context is done, its cancel wakes the hook, which wakes the receives bearing
//! its tag with `DISCONNECTED` (`disconnect_tagged` of either flavor); each then
//! sees the context done and ends. A receive that registers just as the cancel runs checks
//! the context after registering: the lock of the channel's receive queue orders
//! the two, so either the hook finds the entry or the receive sees the context
//! done.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::waiter::{Operation, Waiter};
use super::{FlavorRef, Handle};
use crate::context::Context;

/// One or-done receiver's registration with its context (shared by its clones).
pub(crate) struct DoneHook<T> {
    /// Waits in the context's done queue; its waker is `target`.
    waiter: Pin<Box<Waiter>>,
    /// What the context's cancel wakes; its address is the receives' tag, unique
    /// while this hook lives.
    target: Arc<Target<T>>,
    /// `target.oper()` and `target.thread_oper()`, kept at hand.
    oper: Operation,
    thread_oper: Operation,
    /// Whose done queue holds `waiter`.
    ctx: Context,
}

// SAFETY: the hook's own code touches `waiter` only when it is made and dropped,
// with exclusive access; otherwise only the context's cancel reaches it, through
// the wait-queue protocol (see `waiter.rs`), which is made for waiters shared
// between threads. The methods shared references can call read only `target`,
// a channel that is itself `Send + Sync` for `T: Send`.
unsafe impl<T: Send> Send for DoneHook<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for DoneHook<T> {}

/// Wakes the receives of one hook on its channel.
struct Target<T> {
    /// Not a receiver: the channel's receiver count does not include it.
    chan: Handle<T>,
}

impl<T> Target<T> {
    /// The operation the hook's async receives register as: the unbuffered
    /// flavor's async waiters change state only under its lock, the buffered
    /// flavor's do not.
    fn oper(self: &Arc<Self>) -> Operation {
        match self.chan {
            Handle::Zero(_) => Operation::tagged_locked(self.addr()),
            Handle::Array(_) => Operation::tagged(self.addr()),
        }
    }

    /// The operation the hook's blocking receives register as (a thread's waiter
    /// gives up without the channel's lock).
    fn thread_oper(self: &Arc<Self>) -> Operation {
        Operation::tagged(self.addr())
    }

    fn addr(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }
}

impl<T: Send + 'static> Wake for Target<T> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.chan.flavor() {
            FlavorRef::Zero(c) => c.disconnect_tagged(self.oper()),
            FlavorRef::Array(c) => c.disconnect_tagged(self.oper()),
        }
    }
}

impl<T: Send + 'static> DoneHook<T> {
    /// Registers a hook for receives on `chan` with `ctx`. `None` when the hook
    /// cannot serve: `ctx` is never done, or it has a deadline (which a hook would
    /// not notice: receives then wait on the context themselves).
    pub(crate) fn new(ctx: &Context, chan: &Handle<T>) -> Option<Self> {
        if ctx.deadline().is_some() {
            return None;
        }
        let queue = ctx.done_waiters()?;
        let target = Arc::new(Target { chan: chan.clone() });
        let waiter = Box::pin(Waiter::for_task());
        // SAFETY: the waiter is not registered anywhere yet.
        unsafe { waiter.set_waker(&Waker::from(target.clone())) };
        // The waiter stays in its box, which lives until `Drop` has withdrawn it.
        queue.register(&waiter, Operation::SINGLE);
        // A context done already (or meanwhile) has woken, or will wake, the
        // waiter; receives check the context before they wait, so either way the
        // hook has nothing more to do.
        Some(Self {
            waiter,
            oper: target.oper(),
            thread_oper: target.thread_oper(),
            target,
            ctx: ctx.clone(),
        })
    }
}

impl<T> DoneHook<T> {
    /// The operation the hook's async receives register as.
    #[inline]
    pub(crate) fn oper(&self) -> Operation {
        self.oper
    }

    /// The operation the hook's blocking receives register as.
    #[inline]
    pub(crate) fn thread_oper(&self) -> Operation {
        self.thread_oper
    }

    /// The channel the hook serves.
    #[inline]
    pub(crate) fn chan(&self) -> FlavorRef<'_, T> {
        self.target.chan.flavor()
    }
}

impl<T> Drop for DoneHook<T> {
    fn drop(&mut self) {
        if self.waiter.try_abort() {
            if let Some(queue) = self.ctx.done_waiters() {
                queue.unregister(&self.waiter, Operation::SINGLE);
            }
        } else {
            // The cancel selected the waiter: let it finish with it.
            self.waiter.wait_done();
        }
    }
}

/// Small cases that also run under miri, which would catch a hook left in a
/// context's queue after it is freed.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context as TaskContext, Poll, Wake, Waker};

    use crate::chan::chan;
    use crate::context::Context;
    use crate::pattern::or_done;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Count {
        fn woken(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn a_cancel_wakes_the_or_done_receives_and_no_other() {
        for cap in [0, 1] {
            cancel_wakes_the_or_done_receives_and_no_other(cap);
        }
    }

    fn cancel_wakes_the_or_done_receives_and_no_other(cap: usize) {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u8>(cap);
        let plain = rx.clone();
        let guarded = or_done(&ctx, rx);
        let clone = guarded.clone();
        let counts: [Arc<Count>; 3] = Default::default();
        let wakers = counts.clone().map(Waker::from);
        let mut cxs = wakers.each_ref().map(TaskContext::from_waker);
        let mut a = pin!(guarded.recv_async());
        let mut b = pin!(clone.recv_async());
        let mut p = pin!(plain.recv_async());
        assert_eq!(a.as_mut().poll(&mut cxs[0]), Poll::Pending);
        assert_eq!(b.as_mut().poll(&mut cxs[1]), Poll::Pending);
        assert_eq!(p.as_mut().poll(&mut cxs[2]), Poll::Pending);
        cancel.cancel();
        assert_eq!([0, 1, 2].map(|i| counts[i].woken()), [1, 1, 0]);
        assert_eq!(a.as_mut().poll(&mut cxs[0]), Poll::Ready(None));
        assert_eq!(b.as_mut().poll(&mut cxs[1]), Poll::Ready(None));
        // The plain receive still waits, and takes the next value.
        assert_eq!(p.as_mut().poll(&mut cxs[2]), Poll::Pending);
        let sender = std::thread::spawn(move || tx.send(4));
        sender.join().unwrap().unwrap();
        assert_eq!(counts[2].woken(), 1);
        assert_eq!(p.as_mut().poll(&mut cxs[2]), Poll::Ready(Some(4)));
    }

    #[test]
    fn a_receiver_dropped_before_the_cancel_leaves_the_context() {
        for cap in [0, 1] {
            let (ctx, cancel) = Context::background().with_cancel();
            let (_tx, rx) = chan::<u8>(cap);
            let guarded = or_done(&ctx, rx.clone());
            let clone = guarded.clone();
            drop(guarded);
            drop(clone);
            // The hook's waiter is gone; a cancel must not reach it.
            cancel.cancel();
            assert_eq!(or_done(&ctx, rx).recv(), None);
        }
    }

    /// On a buffered source, a receive that was notified of a value and then sees
    /// the context done passes the notification on: the value stays in the buffer
    /// and another waiting receiver is woken for it.
    #[test]
    fn a_notification_a_cancelled_receive_got_goes_to_another_receiver() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u8>(1);
        let plain = rx.clone();
        let guarded = or_done(&ctx, rx);
        let counts: [Arc<Count>; 2] = Default::default();
        let wakers = counts.clone().map(Waker::from);
        let mut cxs = wakers.each_ref().map(TaskContext::from_waker);
        let mut g = pin!(guarded.recv_async());
        let mut p = pin!(plain.recv_async());
        assert_eq!(g.as_mut().poll(&mut cxs[0]), Poll::Pending);
        assert_eq!(p.as_mut().poll(&mut cxs[1]), Poll::Pending);
        tx.send(5).unwrap(); // notifies the oldest waiter: the or-done receive
        assert_eq!(counts.each_ref().map(|c| c.woken()), [1, 0]);
        cancel.cancel();
        assert_eq!(g.as_mut().poll(&mut cxs[0]), Poll::Ready(None));
        assert_eq!(counts[1].woken(), 1, "the notification was passed on");
        assert_eq!(p.as_mut().poll(&mut cxs[1]), Poll::Ready(Some(5)));
    }

    #[test]
    fn a_cancel_ends_a_blocking_or_done_receive() {
        for cap in [0, 1] {
            let (ctx, cancel) = Context::background().with_cancel();
            let (tx, rx) = chan::<u8>(cap);
            let plain = rx.clone();
            let guarded = or_done(&ctx, rx);
            std::thread::scope(|s| {
                let waiter = s.spawn(|| guarded.recv());
                cancel.cancel();
                assert_eq!(waiter.join().unwrap(), None);
            });
            // The channel stays open: its other receivers still get its values.
            std::thread::scope(|s| {
                s.spawn(|| tx.send(1).unwrap());
                assert_eq!(plain.recv(), Some(1));
            });
        }
    }

    #[test]
    fn a_receive_after_the_cancel_ends_without_waiting() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (_tx, rx) = chan::<u8>(0);
        let guarded = or_done(&ctx, rx);
        cancel.cancel();
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert_eq!(pin!(guarded.recv_async()).poll(&mut cx), Poll::Ready(None));
        // And a hook made on a done context.
        let (_tx, rx) = chan::<u8>(0);
        let late = or_done(&ctx, rx);
        assert_eq!(pin!(late.recv_async()).poll(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn a_value_handed_over_before_the_cancel_is_delivered() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u8>(0);
        let plain = rx.clone();
        let guarded = or_done(&ctx, rx);
        let mut cx = TaskContext::from_waker(Waker::noop());
        let mut fut = pin!(guarded.recv_async());
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
        std::thread::spawn(move || tx.send(6))
            .join()
            .unwrap()
            .unwrap();
        cancel.cancel();
        // Its sender was told "sent": the receive has it.
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Some(6)));
        assert!(plain.try_recv().is_err());
    }
}

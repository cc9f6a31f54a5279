//! The bridge receiver flavor: `pattern::bridge` with no goroutine in between.
//!
//! A bridge receiver reads the current stream straight from its channel. When that
//! stream is closed and drained, the receive that finds it so takes the *pull*
//! role, receives the next stream from the stream of streams, and installs it for
//! every clone of the receiver. Only the holder of the role reads the stream of
//! streams, so the streams are read one after the other, in order, even when
//! several clones receive at once. A receive that finds the role taken waits for
//! the holder to finish (on the `changed` queue, which the holder wakes whenever
//! it lets go).
//!
//! The installed streams are or-done receivers of the bridge's context, and the
//! stream of streams is one too: a cancel wakes every receive waiting on either,
//! and so, through the holder letting go, those waiting on `changed`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::error::TryRecvError;
use super::queue::{WaitFor, WaitQueue};
use super::receiver::RecvInner;
use super::Receiver;
use crate::context::Context;
use crate::loom::{lock, Mutex};
use crate::select::case::{Case, PullCase};

/// A receive of a bridge that had to wait, as a boxed future.
pub(crate) type BridgeWait<T> = Pin<Box<dyn Future<Output = Option<T>> + Send>>;

/// What the clones of a bridge receiver share.
pub(crate) struct Bridge<T> {
    /// The stream of streams, until `ctx` is done (an or-done receiver; behind a
    /// trait object, as a `Receiver<Receiver<T>>` field would make the type
    /// infinite: its bridge would hold a `Receiver<Receiver<Receiver<T>>>`...).
    pub(crate) streams: Box<dyn Streams<T>>,
    pub(crate) ctx: Context,
    /// The stream being read, and who reads the next.
    current: Mutex<Current<T>>,
    /// Receives that wait for the holder of the pull role to let go.
    pub(crate) changed: WaitQueue,
    /// What needs `T: Send + 'static`, made where the bridge is made: an or-done
    /// receiver of a stream, and a receive that waits.
    or_done: fn(Receiver<T>, Context) -> Receiver<T>,
    pub(crate) wait: fn(Arc<Bridge<T>>) -> BridgeWait<T>,
}

/// A bridge's stream of streams.
pub(crate) trait Streams<T>: Send + Sync {
    fn try_recv(&self) -> Result<Receiver<T>, TryRecvError>;
    /// A receive that may wait.
    fn recv(&self) -> Pin<Box<dyn Future<Output = Option<Receiver<T>>> + Send + '_>>;
    /// A select case receiving the next stream.
    fn pull_case(&self) -> Box<dyn PullCase<T> + Send>;
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: Send + 'static> Streams<T> for Receiver<Receiver<T>> {
    fn try_recv(&self) -> Result<Receiver<T>, TryRecvError> {
        Receiver::try_recv(self)
    }
    fn recv(&self) -> Pin<Box<dyn Future<Output = Option<Receiver<T>>> + Send + '_>> {
        Box::pin(self.recv_async())
    }
    fn pull_case(&self) -> Box<dyn PullCase<T> + Send> {
        Box::new(OwnedRecvCase::new(self.clone()))
    }
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The stream being read, and how many were installed before it.
struct Current<T> {
    /// Shared with the receives that wait on it.
    stream: Option<Arc<Receiver<T>>>,
    number: u64,
    /// The stream of streams ended: no stream will follow.
    ended: bool,
    /// A receive holds the pull role: it alone reads `streams` for the next
    /// stream.
    pulling: bool,
}

/// What a receive found, and what it should wait for if it found nothing.
pub(crate) enum Step<'a, T> {
    Value(T),
    /// The bridge has ended.
    End,
    /// The current stream has nothing yet: wait on it (`Some` if asked for).
    Stream(Option<Arc<Receiver<T>>>),
    /// The current stream is done and this receive holds the pull role.
    Pull(PullRole<'a, T>),
    /// Another receive holds the pull role: wait on `changed`.
    Changed,
}

/// The pull role, held; dropping it lets go without a new stream.
pub(crate) struct PullRole<'a, T> {
    bridge: &'a Bridge<T>,
    held: bool,
}

impl<T> PullRole<'_, T> {
    /// Installs the stream received (`None`: the stream of streams ended), and
    /// lets go of the role.
    pub(crate) fn install(mut self, next: Option<Receiver<T>>) {
        let b = self.bridge;
        let mut cur = lock(&b.current);
        cur.number += 1;
        cur.pulling = false;
        let old = match next {
            Some(stream) => cur
                .stream
                .replace(Arc::new((b.or_done)(stream, b.ctx.clone()))),
            None => {
                cur.ended = true;
                cur.stream.take()
            }
        };
        drop(cur);
        self.held = false;
        b.changed.disconnect_all();
        drop(old); // outside the lock: dropping a stream may wake its senders
    }

    /// Keeps the role past this value's life: a select case holds it between
    /// registering and finishing, and [`Bridge::resume_role`] takes it back.
    pub(crate) fn keep(mut self) {
        self.held = false;
    }
}

impl<T> Drop for PullRole<'_, T> {
    fn drop(&mut self) {
        if self.held {
            self.bridge.release();
        }
    }
}

impl<T> Current<T> {
    fn initial() -> Self {
        Current {
            stream: None,
            number: 0,
            ended: false,
            pulling: false,
        }
    }
}

/// What a select case registers with (see [`Bridge::look`]).
pub(crate) enum Look<'a, T> {
    /// The bridge has ended.
    End,
    /// The current stream, which may still deliver.
    Stream(Arc<Receiver<T>>),
    /// The current stream is done and the case holds the pull role.
    Pull(PullRole<'a, T>),
    /// Another receive holds the pull role.
    Changed,
}

impl<T> Bridge<T> {
    /// Lets go of the pull role and wakes every receive waiting for that.
    ///
    /// The flag is written and read under the lock of `current`, and a waiter
    /// registers with `changed` before it looks: so either it sees the role free,
    /// or its registration happened before this release's look at `changed`.
    pub(crate) fn release(&self) {
        lock(&self.current).pulling = false;
        self.changed.disconnect_all();
    }

    /// Whether nobody holds the pull role (a waiter on `changed` may retry).
    pub(crate) fn pull_free(&self) -> bool {
        !lock(&self.current).pulling
    }

    /// A held pull role, given up by [`PullRole::keep`].
    pub(crate) fn resume_role(&self) -> PullRole<'_, T> {
        PullRole {
            bridge: self,
            held: true,
        }
    }

    /// Takes the pull role, unless another receive holds it or a stream newer
    /// than `number` is installed (`None` either way).
    fn claim(&self, number: u64) -> Option<Option<PullRole<'_, T>>> {
        let mut cur = lock(&self.current);
        if cur.pulling {
            return None;
        }
        if cur.number != number {
            // Another receive installed a stream meanwhile: look again.
            return Some(None);
        }
        cur.pulling = true;
        Some(Some(PullRole {
            bridge: self,
            held: true,
        }))
    }

    /// What a select case registers with, taking nothing: the current stream
    /// unless it is closed and drained; otherwise the pull role, if free.
    pub(crate) fn look(&self) -> Look<'_, T> {
        loop {
            let cur = lock(&self.current);
            let number = cur.number;
            match &cur.stream {
                Some(s) if !(s.is_closed() && s.is_empty()) => return Look::Stream(s.clone()),
                None if cur.ended => return Look::End,
                _ => {}
            }
            drop(cur);
            match self.claim(number) {
                None => return Look::Changed,
                Some(Some(role)) => return Look::Pull(role),
                Some(None) => {}
            }
        }
    }

    /// One look at the bridge: a value of the current stream, or what to wait for.
    /// With `want_stream`, a wait on the current stream comes with a clone of it.
    pub(crate) fn step(&self, want_stream: bool) -> Step<'_, T> {
        loop {
            let cur = lock(&self.current);
            let number = cur.number;
            match &cur.stream {
                Some(s) => match s.try_recv() {
                    Ok(v) => return Step::Value(v),
                    Err(TryRecvError::Empty) => {
                        return Step::Stream(want_stream.then(|| s.clone()));
                    }
                    Err(TryRecvError::Closed) => {}
                },
                None if cur.ended => return Step::End,
                None => {}
            }
            drop(cur);
            // The current stream is done (or none was installed yet).
            match self.claim(number) {
                None => return Step::Changed,
                Some(Some(role)) => return Step::Pull(role),
                Some(None) => {}
            }
        }
    }

    /// A receive that does not wait.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        loop {
            if self.ctx.is_done() {
                return Err(TryRecvError::Closed);
            }
            match self.step(false) {
                Step::Value(v) => return Ok(v),
                Step::End => return Err(TryRecvError::Closed),
                Step::Stream(_) | Step::Changed => return Err(TryRecvError::Empty),
                Step::Pull(role) => match self.streams.try_recv() {
                    Ok(next) => role.install(Some(next)),
                    Err(TryRecvError::Closed) => role.install(None),
                    Err(TryRecvError::Empty) => return Err(TryRecvError::Empty),
                },
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.ctx.is_done() || lock(&self.current).ended
    }

    /// The values waiting in the current stream.
    pub(crate) fn len(&self) -> usize {
        lock(&self.current).stream.as_ref().map_or(0, |s| s.len())
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// A receiver of the values of each stream `streams` delivers, one stream after
    /// the other, until `streams` ends or `ctx` is done.
    pub(crate) fn bridge(streams: Receiver<Receiver<T>>, ctx: &Context) -> Receiver<T> {
        Receiver {
            inner: RecvInner::Bridge(Arc::new(Bridge {
                streams: Box::new(Receiver::or_done(streams, ctx.clone())),
                ctx: ctx.clone(),
                current: Mutex::new(Current::initial()),
                changed: WaitQueue::new(),
                or_done: Receiver::or_done,
                wait: |b| Box::pin(recv_waiting(b)),
            })),
        }
    }
}

/// A receive of a bridge that may wait.
async fn recv_waiting<T: Send + 'static>(b: Arc<Bridge<T>>) -> Option<T> {
    loop {
        if b.ctx.is_done() {
            return None;
        }
        match b.step(true) {
            Step::Value(v) => return Some(v),
            Step::End => return None,
            Step::Stream(Some(stream)) => {
                if let Some(v) = stream.recv_async().await {
                    return Some(v);
                }
                // It ended (or the context is done): look again.
            }
            Step::Stream(None) => unreachable!("asked for the stream"),
            Step::Pull(role) => {
                let next = b.streams.recv().await;
                role.install(next);
            }
            Step::Changed => WaitFor::new(&b.changed, || b.pull_free()).await,
        }
    }
}

/// A receive case that owns its receiver: a bridge's select case uses one, boxed,
/// to pull the next stream.
struct OwnedRecvCase<U> {
    rx: Receiver<U>,
    slot: crate::select::case::RecvSlot<U>,
}

impl<U> OwnedRecvCase<U> {
    fn new(rx: Receiver<U>) -> Self {
        Self {
            rx,
            slot: Default::default(),
        }
    }
}

impl<U> Case for OwnedRecvCase<U> {
    fn try_fire(&mut self) -> bool {
        self.slot.try_fire(Some(&self.rx))
    }
    unsafe fn register(
        &mut self,
        waiter: &super::waiter::Waiter,
        oper: super::waiter::Operation,
    ) -> bool {
        // SAFETY: the caller's contract; the case is boxed, so it stays put.
        unsafe { self.slot.register(Some(&self.rx), waiter, oper) }
    }
    fn unregister(&mut self, waiter: &super::waiter::Waiter, oper: super::waiter::Operation) {
        self.slot.unregister(Some(&self.rx), waiter, oper);
    }
    fn on_selected(&mut self) -> bool {
        self.slot.on_selected(Some(&self.rx))
    }
    fn abandon(&mut self) {
        self.slot.abandon(Some(&self.rx));
    }
    fn due(&self) -> Option<Instant> {
        crate::select::case::RecvSlot::due(Some(&self.rx))
    }
}

impl<T: Send> PullCase<T> for OwnedRecvCase<Receiver<T>> {
    fn take_output(&mut self) -> Option<Receiver<T>> {
        self.slot.take_output()
    }
}

impl<T> fmt::Debug for Bridge<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("streams", &StreamsDebug(&*self.streams))
            .field("until_done_of", &self.ctx)
            .finish_non_exhaustive()
    }
}

struct StreamsDebug<'a, T>(&'a dyn Streams<T>);

impl<T> fmt::Debug for StreamsDebug<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Small cases that also run under miri: the select case's registrations (with a
/// stream, with the stream of streams, and on `changed`) are withdrawn, and what
/// a channel handed over before the select was dropped goes back to it.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context as TaskContext, Poll, Waker};

    use crate::chan::{chan, Receiver, TryRecvError};
    use crate::context::Context;
    use crate::pattern::bridge;

    #[test]
    fn a_dropped_select_gives_back_a_stream_and_a_value_handed_to_it() {
        let ctx = Context::background();
        let (stx, streams) = chan::<Receiver<u8>>(0);
        let bridged = bridge(&ctx, streams);
        let mut cx = TaskContext::from_waker(Waker::noop());
        // The case pulls (the stream of streams is empty): a stream handed to it
        // goes back when the select is dropped.
        let (vtx, vrx) = chan::<u8>(0);
        {
            let mut sel = pin!(async {
                crate::select_async! { recv(&bridged) -> v => v }
            });
            assert_eq!(sel.as_mut().poll(&mut cx), Poll::Pending);
            std::thread::spawn(move || stx.send(vrx).unwrap())
                .join()
                .unwrap();
        }
        // The next receive installs that stream, and waits on it: a value handed
        // to a dropped receive goes back to the stream too.
        {
            let mut fut = pin!(bridged.recv_async());
            assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
            let vtx = vtx.clone();
            std::thread::spawn(move || vtx.send(5).unwrap())
                .join()
                .unwrap();
        }
        assert_eq!(bridged.try_recv(), Ok(5));
        drop(vtx);
        assert_eq!(bridged.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn a_clone_waits_on_changed_while_another_pulls() {
        let ctx = Context::background();
        let (stx, streams) = chan::<Receiver<u8>>(1);
        let a = bridge(&ctx, streams);
        let b = a.clone();
        let mut cx = TaskContext::from_waker(Waker::noop());
        let mut pulling = pin!(a.recv_async());
        assert_eq!(pulling.as_mut().poll(&mut cx), Poll::Pending);
        {
            // `b` finds the pull role taken: it waits on `changed`, and its
            // select is withdrawn when dropped.
            let mut waiting = pin!(async {
                crate::select_async! { recv(&b) -> v => v }
            });
            assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Pending);
        }
        let (vtx, vrx) = chan::<u8>(1);
        vtx.send(9).unwrap();
        stx.send(vrx).unwrap();
        assert_eq!(pulling.as_mut().poll(&mut cx), Poll::Ready(Some(9)));
        drop((stx, vtx));
        assert_eq!(b.recv(), None);
    }
}

//! The take receiver flavor: `pattern::take` with no goroutine in between.
//!
//! A take receiver reads its source directly and counts what it delivers. A
//! receive that must wait on the source first *claims* one of the values still
//! to take, so that however many clones wait at once, no more than `limit`
//! values are ever taken; a receive that finds every value left claimed waits on
//! `changed` until a claim is settled (its receive got a value, or gave up). Once
//! `limit` values were taken the source is dropped, which tells its senders that
//! nobody reads it any more, as the book's goroutine does by returning.
//!
//! The source is an or-done receiver of the take's context: a cancel wakes the
//! receives waiting on it, and their claims, settled, wake those on `changed`.

use std::fmt;
use std::sync::Arc;

use super::error::TryRecvError;
use super::queue::WaitQueue;
use super::receiver::RecvInner;
use super::Receiver;
use crate::context::Context;
use crate::loom::{lock, Mutex};

/// What the clones of a take receiver share.
pub(crate) struct Take<T> {
    pub(crate) ctx: Context,
    /// How many values to take.
    limit: usize,
    state: Mutex<TakeState<T>>,
    /// Receives waiting for a claim to be settled.
    pub(crate) changed: WaitQueue,
}

struct TakeState<T> {
    /// The source, until `limit` values were taken. Shared with the receives
    /// that wait on it (none is left once `limit` values were taken).
    source: Option<Arc<Receiver<T>>>,
    taken: usize,
    /// Values claimed by receives waiting on the source.
    claimed: usize,
    /// The async receives among those that keep their claim by the address of
    /// their wait slot (see [`Take::held_by`]).
    holders: Vec<usize>,
}

/// What a look at a take found.
pub(crate) enum Look<T> {
    Value(T),
    /// The take has ended: `limit` values taken, or the source ended.
    End,
    /// The source has nothing now (asked without a holder).
    Empty,
    /// The source has nothing now: the caller holds a claim, and waits on it.
    Source(Arc<Receiver<T>>),
    /// As `Source`, and the claim is kept under the holder's address: the
    /// source's receive needs nothing but the holder's wait slot.
    Held(Arc<Receiver<T>>),
    /// Every value left is claimed by a waiting receive: wait on `changed`.
    Claimed,
}

impl<T> Take<T> {
    /// Takes a value if the source has one now and one is left to take. With a
    /// `holder` (the address of an async receive's wait slot), a receive that
    /// finds none claims one of those left and gets the source to wait on (it
    /// must settle the claim); the claim is kept under `holder` when the source's
    /// receive waits in that slot alone ([`Look::Held`]).
    pub(crate) fn look(&self, holder: Option<usize>) -> Look<T> {
        let mut st = lock(&self.state);
        let Some(source) = &st.source else {
            return Look::End;
        };
        if st.taken + st.claimed >= self.limit {
            return Look::Claimed;
        }
        if let Some(h) = holder.filter(|_| waits_in_slot(source)) {
            // The holder's receive on the source tries it first anyway: claim at
            // once rather than try it twice.
            let source = source.clone();
            st.claimed += 1;
            st.holders.push(h);
            return Look::Held(source);
        }
        match source.try_recv() {
            Ok(v) => {
                st.taken += 1;
                let spent = self.spent(&mut st);
                drop(st);
                if spent.is_some() {
                    drop(spent);
                    self.changed.disconnect_all();
                }
                Look::Value(v)
            }
            Err(TryRecvError::Closed) => Look::End,
            Err(TryRecvError::Empty) if holder.is_some() => {
                let source = source.clone();
                st.claimed += 1;
                Look::Source(source)
            }
            Err(TryRecvError::Empty) => Look::Empty,
        }
    }

    /// Registers a claim without taking anything (for a select, which must not
    /// take a value while it registers): the source to register with, or what
    /// else was found.
    pub(crate) fn claim(&self) -> Look<T> {
        let mut st = lock(&self.state);
        match &st.source {
            None => Look::End,
            Some(_) if st.taken + st.claimed >= self.limit => Look::Claimed,
            Some(source) => {
                let source = source.clone();
                st.claimed += 1;
                Look::Source(source)
            }
        }
    }

    /// The source, if `holder` holds a claim (see [`Take::look`]).
    pub(crate) fn held_by(&self, holder: usize) -> Option<Arc<Receiver<T>>> {
        let st = lock(&self.state);
        if st.holders.contains(&holder) {
            st.source.clone()
        } else {
            None
        }
    }

    /// Settles the claim `holder` holds, as [`Take::settle`].
    pub(crate) fn settle_held(&self, holder: usize, got: bool) {
        let mut st = lock(&self.state);
        st.holders.retain(|&h| h != holder);
        self.settle_locked(st, got);
    }

    /// Settles a claim: its receive got `got` (`Some` counts as taken), or gave up.
    pub(crate) fn settle(&self, got: bool) {
        self.settle_locked(lock(&self.state), got);
    }

    fn settle_locked(&self, mut st: crate::loom::MutexGuard<'_, TakeState<T>>, got: bool) {
        st.claimed -= 1;
        st.taken += usize::from(got);
        let spent = self.spent(&mut st);
        drop(st);
        drop(spent); // outside the lock: its senders may be woken
        self.changed.disconnect_all();
    }

    /// The source, taken out once `limit` values were taken.
    fn spent(&self, st: &mut TakeState<T>) -> Option<Arc<Receiver<T>>> {
        if st.taken >= self.limit {
            st.source.take()
        } else {
            None
        }
    }

    /// Whether a receive waiting on `changed` may look again.
    pub(crate) fn may_look(&self) -> bool {
        let st = lock(&self.state);
        st.source.is_none() || st.taken + st.claimed < self.limit
    }

    /// A receive that does not wait.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.ctx.is_done() {
            return Err(TryRecvError::Closed);
        }
        match self.look(None) {
            Look::Value(v) => Ok(v),
            Look::End => Err(TryRecvError::Closed),
            Look::Empty | Look::Source(_) | Look::Held(_) | Look::Claimed => {
                Err(TryRecvError::Empty)
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.ctx.is_done()
            || lock(&self.state)
                .source
                .as_ref()
                .is_none_or(|s| s.is_closed())
    }

    /// The values ready in the source, up to those left to take.
    pub(crate) fn len(&self) -> usize {
        let st = lock(&self.state);
        let left = self.limit.saturating_sub(st.taken);
        st.source.as_ref().map_or(0, |s| s.len().min(left))
    }

    pub(crate) fn capacity(&self) -> usize {
        lock(&self.state)
            .source
            .as_ref()
            .map_or(0, |s| s.capacity())
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// A receiver of the first `limit` values of `source`, until `ctx` is done.
    pub(crate) fn take(source: Receiver<T>, limit: usize, ctx: &Context) -> Receiver<T> {
        Receiver {
            inner: RecvInner::Take(Arc::new(Take {
                ctx: ctx.clone(),
                limit,
                state: Mutex::new(TakeState {
                    source: (limit > 0).then(|| Arc::new(Receiver::or_done(source, ctx.clone()))),
                    taken: 0,
                    claimed: 0,
                    holders: Vec::new(),
                }),
                changed: WaitQueue::new(),
            })),
        }
    }
}

/// Whether a receive on `source` keeps its whole wait in a future's one wait
/// slot: a channel, or an or-done receiver of one with a hook.
fn waits_in_slot<T>(source: &Receiver<T>) -> bool {
    match &source.inner {
        RecvInner::Chan(_) => true,
        RecvInner::OrDone(a) => a.hook.is_some() && matches!(a.source.inner, RecvInner::Chan(_)),
        _ => false,
    }
}

impl<T> fmt::Debug for Take<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("Take")
            .field("limit", &self.limit)
            .field("taken", &st.taken)
            .field("source", &st.source)
            .finish_non_exhaustive()
    }
}

/// Small cases that also run under miri: a select's claim is given back when it
/// is withdrawn, and a value handed to a dropped select goes back to the source.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context as TaskContext, Poll, Waker};

    use crate::chan::{chan, TryRecvError};
    use crate::context::Context;
    use crate::pattern::take;

    #[test]
    fn a_dropped_select_gives_back_its_claim_and_the_value_handed_to_it() {
        let ctx = Context::background();
        let (tx, rx) = chan::<u8>(0);
        let one = take(&ctx, rx, 1);
        let other = one.clone();
        let mut cx = TaskContext::from_waker(Waker::noop());
        {
            let mut sel = pin!(async {
                crate::select_async! { recv(&one) -> v => v }
            });
            assert_eq!(sel.as_mut().poll(&mut cx), Poll::Pending);
            // The select holds the only claim: the clone finds nothing to take.
            assert_eq!(other.try_recv(), Err(TryRecvError::Empty));
            let tx = tx.clone();
            std::thread::spawn(move || tx.send(4).unwrap())
                .join()
                .unwrap();
        }
        assert_eq!(other.try_recv(), Ok(4));
        assert_eq!(other.try_recv(), Err(TryRecvError::Closed));
        assert!(tx.send(5).is_err(), "the take let go of its source");
    }

    #[test]
    fn a_select_waits_for_a_claim_and_sees_the_end() {
        let ctx = Context::background();
        let (tx, rx) = chan::<u8>(1);
        let one = take(&ctx, rx, 1);
        let mut cx = TaskContext::from_waker(Waker::noop());
        let mut claiming = pin!(one.recv_async());
        assert_eq!(claiming.as_mut().poll(&mut cx), Poll::Pending);
        let mut waiting = pin!(async {
            crate::select_async! { recv(&one) -> v => v }
        });
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Pending);
        tx.send(3).unwrap();
        assert_eq!(claiming.as_mut().poll(&mut cx), Poll::Ready(Some(3)));
        assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(None));
    }
}

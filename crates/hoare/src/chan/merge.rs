//! The merge receiver flavor: the values of several receivers through one, until a
//! context is done, with no goroutine in between (`pattern::fan_in`).

use std::time::Instant;

use super::error::{RecvTimeoutError, TryRecvError};
use super::Receiver;
use crate::context::Context;
use crate::select::Select;

/// The parts of a merge receiver.
pub(crate) struct Merge<T> {
    pub(crate) sources: Box<[Receiver<T>]>,
    /// Once it is done, the merge reports closed.
    pub(crate) ctx: Option<Context>,
    /// The blocking receive. It uses the dynamic select, which needs `T: Send`; the
    /// constructor, where that is known, picks it.
    pub(crate) blocking: fn(&Merge<T>, Option<Instant>) -> Result<T, RecvTimeoutError>,
}

impl<T> Merge<T> {
    /// Whether the context is done.
    pub(crate) fn is_done(&self) -> bool {
        self.ctx.as_ref().is_some_and(Context::is_done)
    }

    /// Where a scan of the sources starts: random, so no source is always served
    /// first (as a select chooses among ready cases).
    pub(crate) fn start(&self) -> usize {
        // A multiply and a shift map the random number onto 0..len, where a
        // division would cost more than the rest of a scan's first step.
        ((u128::from(crate::loom::random_u64()) * self.sources.len() as u128) >> 64) as usize
    }

    /// A value of any source that has one; closed once every source is closed and
    /// drained, or the context is done.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.is_done() {
            return Err(TryRecvError::Closed);
        }
        let (n, start) = (self.sources.len(), self.start());
        let mut open = false;
        for k in 0..n {
            match self.sources[(start + k) % n].try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Empty) => open = true,
                Err(TryRecvError::Closed) => {}
            }
        }
        if open {
            Err(TryRecvError::Empty)
        } else {
            Err(TryRecvError::Closed)
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.is_done() || self.sources.iter().all(Receiver::is_closed)
    }

    pub(crate) fn len(&self) -> usize {
        self.sources.iter().map(Receiver::len).sum()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.sources
            .iter()
            .map(Receiver::capacity)
            .fold(0, usize::saturating_add)
    }
}

impl<T> Clone for Merge<T> {
    fn clone(&self) -> Self {
        Merge {
            sources: self.sources.clone(),
            ctx: self.ctx.clone(),
            blocking: self.blocking,
        }
    }
}

/// The blocking receive of a merge: a select over the sources that may still
/// deliver and the context's done signal, until a value, the end, or `deadline`.
pub(crate) fn recv_blocking<T: Send>(
    m: &Merge<T>,
    deadline: Option<Instant>,
) -> Result<T, RecvTimeoutError> {
    loop {
        match m.try_recv() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => {}
        }
        let done = m.ctx.as_ref().map(Context::done);
        let mut sel = Select::new();
        let mut any_live = false;
        for s in m.sources.iter() {
            // A source closed and drained would fire at once: leave it out.
            let live = !(s.is_closed() && s.is_empty());
            any_live |= live;
            sel.recv(live.then_some(s), |v| v);
        }
        if !any_live {
            continue; // every source ended since `try_recv` looked: it says so now
        }
        sel.recv(done.as_ref(), |_| None);
        let fired = match deadline {
            None => sel.wait().1,
            Some(d) => match sel.wait_deadline(d) {
                Ok((_, v)) => v,
                Err(_) => return Err(RecvTimeoutError::Timeout),
            },
        };
        if let Some(v) = fired {
            return Ok(v);
        }
        // A source closed or the context is done: `try_recv` tells which.
    }
}

impl<T: Send> Receiver<T> {
    /// A receiver of the values of all `sources`, until every one is closed and
    /// drained or `ctx` is done, read straight from them.
    pub(crate) fn merge(sources: Vec<Receiver<T>>, ctx: Option<Context>) -> Receiver<T> {
        let ctx = ctx.filter(|c| c.done_waiters().is_some());
        Receiver {
            inner: super::receiver::RecvInner::Merge(Box::new(Merge {
                sources: sources.into_boxed_slice(),
                ctx,
                blocking: recv_blocking::<T>,
            })),
        }
    }
}

/// The per-source slots and states, in small cases that also run under miri.
#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context as TaskContext, Poll, Waker};

    use crate::chan::{chan, TryRecvError};
    use crate::context::Context;

    #[test]
    fn handed_values_go_back_to_their_own_channel() {
        let (ctx, _cancel) = Context::background().with_cancel();
        let (a_tx, a) = chan::<u8>(0);
        let (b_tx, b) = chan::<u8>(0);
        let merged = crate::pattern::fan_in(&ctx, [a.clone(), b.clone()]);
        let mut cx = TaskContext::from_waker(Waker::noop());
        // A pending receive, handed a value by `b`, dropped: back to `b`.
        {
            let mut fut = pin!(merged.recv_async());
            assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
            std::thread::spawn(move || b_tx.send(2))
                .join()
                .unwrap()
                .unwrap();
        }
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(b.recv(), Some(2));
        // A select selected through `a`, dropped before its arm: back to `a`.
        {
            let mut fut = pin!(async {
                crate::select_async! { recv(&merged) -> v => v }
            });
            assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
            std::thread::spawn(move || a_tx.send(1))
                .join()
                .unwrap()
                .unwrap();
        }
        assert_eq!(
            b.try_recv(),
            Err(TryRecvError::Closed),
            "b's sender is gone"
        );
        assert_eq!(a.recv(), Some(1));
        // And a blocking select takes it.
        let (c_tx, c) = chan::<u8>(1);
        c_tx.send(3).unwrap();
        let merged = crate::pattern::fan_in(&ctx, [c]);
        assert_eq!(crate::select! { recv(&merged) -> v => v }, Some(3));
    }
}

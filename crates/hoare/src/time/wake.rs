//! Waking a task when a timer is due: through tokio's timer inside a tokio runtime,
//! through one shared timer thread elsewhere.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The timer state of one async wait (a receive or a select on a timer channel).
#[derive(Default)]
pub(crate) struct TimerWait {
    /// The tokio sleep, boxed because `Sleep` is `!Unpin` and the wait state of a
    /// select case may move between selects.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// What was last handed to the timer thread, so repeated polls do not pile up.
    fallback: Option<(Instant, Waker)>,
}

impl std::fmt::Debug for TimerWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerWait")
            .field("tokio", &self.sleep.is_some())
            .finish_non_exhaustive()
    }
}

impl TimerWait {
    /// Ready once `due` has passed; otherwise arranges for `cx`'s task to be woken
    /// then.
    pub(crate) fn poll_until(&mut self, cx: &mut Context<'_>, due: Instant) -> Poll<()> {
        if tokio::runtime::Handle::try_current().is_ok() {
            let deadline = tokio::time::Instant::from_std(due);
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != deadline {
                        sleep.as_mut().reset(deadline);
                    }
                    sleep
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            return sleep.as_mut().poll(cx);
        }
        if super::now() >= due {
            return Poll::Ready(());
        }
        let same = self
            .fallback
            .as_ref()
            .is_some_and(|(at, w)| *at == due && w.will_wake(cx.waker()));
        if !same {
            self.fallback = Some((due, cx.waker().clone()));
            wake_at(due, cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The wakers the timer thread holds, and whether it runs.
struct Sleepers {
    due: Vec<(Instant, Waker)>,
    running: bool,
}

static SLEEPERS: Mutex<Sleepers> = Mutex::new(Sleepers {
    due: Vec::new(),
    running: false,
});
static CHANGED: Condvar = Condvar::new();

/// Wakes `waker` at `at`, from the shared timer thread (started on demand).
fn wake_at(at: Instant, waker: Waker) {
    let mut s = SLEEPERS.lock().unwrap_or_else(PoisonError::into_inner);
    s.due.push((at, waker));
    if s.running {
        CHANGED.notify_one();
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("hoare-timer".into())
        .spawn(timer_thread);
    match spawned {
        Ok(_) => s.running = true,
        Err(_) => {
            // No thread to be had: wake the task now; it polls again and, finding
            // the timer not yet due, asks again. Slow, but it never hangs.
            let (_, waker) = s.due.pop().expect("just pushed");
            drop(s);
            waker.wake();
        }
    }
}

/// Sleeps until the earliest registered instant and wakes what is due; exits when
/// nothing is left to wait for, so an idle program keeps no extra thread.
fn timer_thread() {
    let mut s = SLEEPERS.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let Some(earliest) = s.due.iter().map(|(at, _)| *at).min() else {
            s.running = false;
            return;
        };
        let now = super::now();
        if earliest > now {
            s = CHANGED
                .wait_timeout(s, earliest - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        let mut ready = Vec::new();
        s.due.retain(|(at, waker)| {
            let due = *at <= now;
            if due {
                ready.push(waker.clone());
            }
            !due
        });
        drop(s);
        ready.into_iter().for_each(Waker::wake);
        s = SLEEPERS.lock().unwrap_or_else(PoisonError::into_inner);
    }
}

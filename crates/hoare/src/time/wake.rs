//! Waking a task when a timer is due: through tokio's timer inside a tokio runtime,
//! through one shared timer thread elsewhere.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The timer state of one async wait (a receive or a select on a timer channel).
#[derive(Default)]
pub(crate) struct TimerWait {
    /// The tokio sleep, boxed because `Sleep` is `!Unpin` and the wait state of a
    /// select case may move between selects.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// What was handed to the timer thread: its key there, and the waker, so that
    /// repeated polls do not pile up and a dropped wait leaves nothing behind.
    fallback: Option<(Key, Waker)>,
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
            .is_some_and(|((at, _), w)| *at == due && w.will_wake(cx.waker()));
        if !same {
            if let Some((key, _)) = self.fallback.take() {
                cancel(key);
            }
            let key = wake_at(due, cx.waker().clone());
            self.fallback = Some((key, cx.waker().clone()));
        }
        Poll::Pending
    }
}

impl Drop for TimerWait {
    fn drop(&mut self) {
        if let Some((key, _)) = self.fallback.take() {
            cancel(key);
        }
    }
}

/// A registration with the timer thread: when, and a number to tell apart
/// registrations for the same instant.
type Key = (Instant, u64);

/// The wakers the timer thread holds, earliest first, and whether it runs.
struct Sleepers {
    due: BTreeMap<Key, Waker>,
    next_id: u64,
    running: bool,
}

static SLEEPERS: Mutex<Sleepers> = Mutex::new(Sleepers {
    due: BTreeMap::new(),
    next_id: 0,
    running: false,
});
static CHANGED: Condvar = Condvar::new();

fn sleepers() -> MutexGuard<'static, Sleepers> {
    SLEEPERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wakes `waker` at `at`, from the shared timer thread (started on demand).
/// Returns the registration's key, for [`cancel`].
fn wake_at(at: Instant, waker: Waker) -> Key {
    let mut s = sleepers();
    let key = (at, s.next_id);
    s.next_id += 1;
    let earliest = s
        .due
        .first_key_value()
        .is_none_or(|(first, _)| key < *first);
    s.due.insert(key, waker);
    if s.running {
        if earliest {
            CHANGED.notify_one();
        }
        return key;
    }
    let spawned = std::thread::Builder::new()
        .name("hoare-timer".into())
        .spawn(timer_thread);
    match spawned {
        Ok(_) => s.running = true,
        Err(_) => {
            // No thread to be had: wake the task now; it polls again and, finding
            // the timer not yet due, asks again. Slow, but it never hangs.
            let waker = s.due.remove(&key).expect("just inserted");
            drop(s);
            waker.wake();
        }
    }
    key
}

/// Withdraws a registration that is no longer needed (if it is still there). When
/// none is left, the timer thread is told, so that it exits now.
fn cancel(key: Key) {
    let mut s = sleepers();
    if s.due.remove(&key).is_some() && s.due.is_empty() && s.running {
        CHANGED.notify_one();
    }
}

/// Sleeps until the earliest registered instant and wakes what is due; exits when
/// nothing is left to wait for, so an idle program keeps no extra thread.
fn timer_thread() {
    let mut s = sleepers();
    loop {
        let Some((&(earliest, _), _)) = s.due.first_key_value() else {
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
        while let Some(entry) = s.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            ready.push(entry.remove());
        }
        drop(s);
        ready.into_iter().for_each(Waker::wake);
        s = sleepers();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::task::{Context, Waker};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_dropped_wait_leaves_nothing_with_the_timer_thread() {
        let mut cx = Context::from_waker(Waker::noop());
        let due = super::super::now() + Duration::from_secs(3600);
        let mut wait = TimerWait::default();
        assert!(wait.poll_until(&mut cx, due).is_pending());
        assert!(wait.poll_until(&mut cx, due).is_pending());
        let (key, _) = wait.fallback.as_ref().expect("registered");
        let key = *key;
        assert!(sleepers().due.contains_key(&key));
        // Polling again for the same instant and waker does not register twice.
        assert_eq!(sleepers().due.keys().filter(|k| k.0 == due).count(), 1);
        drop(wait);
        assert!(!sleepers().due.contains_key(&key));
    }
}

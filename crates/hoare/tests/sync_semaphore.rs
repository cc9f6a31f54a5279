//! `hoare::sync::Semaphore`: ports of the behaviours of x/sync's
//! `semaphore_test.go` (TestWeighted, TestWeightedPanic, TestWeightedTryAcquire,
//! TestWeightedAcquire, TestWeightedDoesntBlockIfTooBig,
//! TestLargeAcquireDoesntStarve, TestAllocCancelDoesntStarve), FIFO order,
//! cancelled async acquires that must not lose tokens, and threads and tasks mixed.
//!
//! No test sleeps to synchronise: "queued" is observed by polling a future once
//! (registration happens under the semaphore's lock during that poll) or, for a
//! blocked thread, by waiting until the semaphore's `Debug` output counts it.
//! Timeouts run on tokio's paused clock. Each threaded scenario runs under a
//! watchdog, so a lost wake-up fails instead of hanging.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use hoare::context::{Context, Error};
use hoare::sync::{Semaphore, SemaphoreError};

mod common;
use common::{runtime, within};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountWaker(AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker::default());
    (Arc::clone(&c), Waker::from(c))
}

fn poll_with<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut TaskContext::from_waker(waker))
}

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(fut, Waker::noop())
}

/// How many acquires wait in `sem`'s queue (read from its `Debug` output).
fn queued(sem: &Semaphore) -> usize {
    sem.__waiters()
}

/// Waits (yielding, without sleeping) until `n` acquires are queued in `sem`.
fn until_queued(sem: &Semaphore, n: usize) {
    while queued(sem) != n {
        std::thread::yield_now();
    }
}

/// Every token is free and nobody waits.
fn assert_all_free(sem: &Semaphore) {
    assert_eq!(queued(sem), 0, "{sem:?}");
    assert!(sem.try_acquire(sem.size()), "tokens lost: {sem:?}");
    sem.release(sem.size()).unwrap();
}

// ---------------------------------------------------------------------------
// TestWeighted: many goroutines hammer one semaphore with different weights.
// ---------------------------------------------------------------------------

fn hammer(sem: &Semaphore, n: u64, loops: usize) {
    for _ in 0..loops {
        sem.acquire(n).unwrap();
        std::thread::yield_now();
        sem.release(n).unwrap();
    }
}

#[test]
fn weighted_hammer_threads() {
    within(|| {
        let n = 4u64;
        let loops = 10_000 / n as usize;
        let sem = Arc::new(Semaphore::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let sem = Arc::clone(&sem);
                std::thread::spawn(move || hammer(&sem, i, loops))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_all_free(&sem);
    });
}

#[test]
fn weighted_hammer_threads_and_tasks_mixed() {
    within(|| {
        let n = 4u64;
        let loops = 2_000;
        let sem = Arc::new(Semaphore::new(n));
        let rt = runtime();
        let tasks: Vec<_> = (1..=n)
            .map(|i| {
                let sem = Arc::clone(&sem);
                rt.spawn(async move {
                    for _ in 0..loops {
                        sem.acquire_async(i).await.unwrap();
                        tokio::task::yield_now().await;
                        sem.release(i).unwrap();
                    }
                })
            })
            .collect();
        let threads: Vec<_> = (1..=n)
            .map(|i| {
                let sem = Arc::clone(&sem);
                std::thread::spawn(move || hammer(&sem, i, loops))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_all_free(&sem);
    });
}

/// Tasks that give up on a context (cancelled at random points by a canceller
/// thread) mixed with threads that never give up: whatever interleaving, no token
/// is lost and nobody is left waiting.
#[test]
fn ctx_acquires_cancelled_while_others_hammer() {
    within(|| {
        let sem = Arc::new(Semaphore::new(3));
        let rt = runtime();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..4u64)
            .map(|i| {
                let sem = Arc::clone(&sem);
                rt.spawn(async move {
                    let mut acquired = 0;
                    for _ in 0..300 {
                        let (ctx, cancel) = Context::background().with_cancel();
                        let canceller = hoare::go(async move {
                            tokio::task::yield_now().await;
                            cancel.cancel();
                        });
                        match sem.acquire_ctx_async(&ctx, 1 + i % 3).await {
                            Ok(()) => {
                                acquired += 1;
                                sem.release(1 + i % 3).unwrap();
                            }
                            Err(e) => assert_eq!(e, SemaphoreError::Canceled(Error::Canceled)),
                        }
                        canceller.await.unwrap();
                    }
                    acquired
                })
            })
            .collect();
        let threads: Vec<_> = (0..2u64)
            .map(|i| {
                let sem = Arc::clone(&sem);
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let (ctx, cancel) = Context::background().with_cancel();
                        if i == 1 {
                            cancel.cancel();
                        }
                        if sem.acquire_ctx(&ctx, 2).is_ok() {
                            std::thread::yield_now();
                            sem.release(2).unwrap();
                        }
                    }
                })
            })
            .collect();
        rt.block_on(async {
            for t in tasks {
                t.await.unwrap();
            }
        });
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        assert_all_free(&sem);
    });
}

// ---------------------------------------------------------------------------
// TestWeightedPanic: releasing more than held is an error, not a panic.
// ---------------------------------------------------------------------------

#[test]
fn release_more_than_held_is_an_error() {
    let sem = Semaphore::new(1);
    assert_eq!(
        sem.release(1),
        Err(SemaphoreError::ReleasedTooMuch {
            released: 1,
            held: 0
        })
    );
    // Nothing changed.
    sem.acquire(1).unwrap();
    assert_eq!(
        sem.release(2),
        Err(SemaphoreError::ReleasedTooMuch {
            released: 2,
            held: 1
        })
    );
    sem.release(1).unwrap();
    assert_all_free(&sem);
    assert_eq!(
        sem.release(u64::MAX).unwrap_err().to_string(),
        format!(
            "semaphore: released {} tokens but only 0 are held",
            u64::MAX
        )
    );
}

// ---------------------------------------------------------------------------
// TestWeightedTryAcquire.
// ---------------------------------------------------------------------------

#[test]
fn try_acquire() {
    let sem = Semaphore::new(2);
    let mut tries = vec![];
    sem.acquire(1).unwrap();
    tries.push(sem.try_acquire(1));
    tries.push(sem.try_acquire(1));
    sem.release(2).unwrap();
    tries.push(sem.try_acquire(1));
    sem.acquire(1).unwrap();
    tries.push(sem.try_acquire(1));
    assert_eq!(tries, [true, false, true, false]);
}

// ---------------------------------------------------------------------------
// TestWeightedAcquire: acquires with a 10ms timeout, on tokio's paused clock.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn acquire_with_timeout_ctx() {
    let sem = Semaphore::new(2);
    let try_acquire = |n| {
        let sem = &sem;
        async move {
            let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(10));
            sem.acquire_ctx_async(&ctx, n).await
        }
    };
    let mut tries = vec![];
    sem.acquire_async(1).await.unwrap();
    tries.push(try_acquire(1).await.is_ok());
    let failed = try_acquire(1).await;
    assert_eq!(
        failed,
        Err(SemaphoreError::Canceled(Error::DeadlineExceeded))
    );
    tries.push(failed.is_ok());
    sem.release(2).unwrap();
    tries.push(try_acquire(1).await.is_ok());
    sem.acquire_async(1).await.unwrap();
    tries.push(try_acquire(1).await.is_ok());
    assert_eq!(tries, [true, false, true, false]);
    sem.release(2).unwrap();
    assert_all_free(&sem);
}

/// The blocking form with contexts: a canceled context fails even when tokens are
/// free (x/sync's rule); a cancel from another thread releases a blocked acquire.
#[test]
fn acquire_ctx_blocking() {
    within(|| {
        let sem = Arc::new(Semaphore::new(2));
        let (done_ctx, cancel) = Context::background().with_cancel();
        cancel.cancel();
        assert_eq!(
            sem.acquire_ctx(&done_ctx, 1),
            Err(SemaphoreError::Canceled(Error::Canceled))
        );
        // A live context: acquires while tokens are free.
        let (ctx, cancel) = Context::background().with_cancel();
        sem.acquire_ctx(&ctx, 2).unwrap();
        let blocked = {
            let (sem, ctx) = (Arc::clone(&sem), ctx.clone());
            std::thread::spawn(move || sem.acquire_ctx(&ctx, 1))
        };
        until_queued(&sem, 1);
        cancel.cancel();
        assert_eq!(
            blocked.join().unwrap(),
            Err(SemaphoreError::Canceled(Error::Canceled))
        );
        assert_eq!(queued(&sem), 0);
        sem.release(2).unwrap();
        assert_all_free(&sem);
        // A context that is never done behaves as a plain acquire.
        sem.acquire_ctx(&Context::background(), 2).unwrap();
        sem.release(2).unwrap();
    });
}

/// A blocked thread gives up at its context's deadline.
#[test]
fn acquire_ctx_blocking_deadline() {
    within(|| {
        let sem = Semaphore::new(1);
        sem.acquire(1).unwrap();
        let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
        assert_eq!(
            sem.acquire_ctx(&ctx, 1),
            Err(SemaphoreError::Canceled(Error::DeadlineExceeded))
        );
        sem.release(1).unwrap();
        assert_all_free(&sem);
    });
}

// ---------------------------------------------------------------------------
// TestWeightedDoesntBlockIfTooBig: too large fails at once; others proceed.
// ---------------------------------------------------------------------------

#[test]
fn too_big_fails_at_once_and_does_not_block_others() {
    within(|| {
        const N: u64 = 2;
        let sem = Arc::new(Semaphore::new(N));
        let too_large = SemaphoreError::TooLarge {
            weight: N + 1,
            size: N,
        };
        assert_eq!(sem.acquire(N + 1), Err(too_large));
        let (ctx, _cancel) = Context::background().with_cancel();
        assert_eq!(sem.acquire_ctx(&ctx, N + 1), Err(too_large));
        assert_eq!(
            poll_once(pin!(sem.acquire_async(N + 1))),
            Poll::Ready(Err(too_large))
        );
        assert_eq!(
            poll_once(pin!(sem.acquire_ctx_async(&ctx, N + 1))),
            Poll::Ready(Err(too_large))
        );
        assert!(!sem.try_acquire(N + 1));
        assert_eq!(
            too_large.to_string(),
            "semaphore: acquire of weight 3 exceeds the size 2"
        );
        // Even while the semaphore is busy, too large fails at once, not queued.
        sem.acquire(1).unwrap();
        assert_eq!(
            sem.acquire(u64::MAX),
            Err(SemaphoreError::TooLarge {
                weight: u64::MAX,
                size: N
            })
        );
        sem.release(1).unwrap();

        let workers: Vec<_> = (0..N * 3)
            .map(|_| {
                let sem = Arc::clone(&sem);
                std::thread::spawn(move || {
                    sem.acquire(1)?;
                    std::thread::yield_now();
                    sem.release(1)
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap().unwrap();
        }
        assert_all_free(&sem);
        // A semaphore of size zero: every positive weight is too large.
        let empty = Semaphore::new(0);
        assert_eq!(
            empty.acquire(1),
            Err(SemaphoreError::TooLarge { weight: 1, size: 0 })
        );
        assert_eq!(empty.acquire(0), Ok(()));
    });
}

/// Zero weight: succeeds at once, even while others wait.
#[test]
fn zero_weight_succeeds_at_once() {
    let sem = Semaphore::new(1);
    sem.acquire(1).unwrap();
    let mut waiting = pin!(sem.acquire_async(1));
    assert!(poll_once(waiting.as_mut()).is_pending());
    assert_eq!(sem.acquire(0), Ok(()));
    assert!(sem.try_acquire(0));
    assert_eq!(poll_once(pin!(sem.acquire_async(0))), Poll::Ready(Ok(())));
    let (ctx, _cancel) = Context::background().with_cancel();
    assert_eq!(sem.acquire_ctx(&ctx, 0), Ok(()));
    assert_eq!(sem.release(0), Ok(()));
    sem.release(1).unwrap();
    assert_eq!(poll_once(waiting.as_mut()), Poll::Ready(Ok(())));
    sem.release(1).unwrap();
    assert_all_free(&sem);
}

// ---------------------------------------------------------------------------
// TestLargeAcquireDoesntStarve: FIFO lets a large acquire through a stream of
// small ones.
// ---------------------------------------------------------------------------

#[test]
fn large_acquire_doesnt_starve() {
    within(|| {
        let n = 4u64;
        let sem = Arc::new(Semaphore::new(n));
        let running = Arc::new(AtomicBool::new(true));
        let workers: Vec<_> = (0..n)
            .map(|_| {
                sem.acquire(1).unwrap();
                let (sem, running) = (Arc::clone(&sem), Arc::clone(&running));
                std::thread::spawn(move || {
                    while running.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                        sem.release(1).unwrap();
                        sem.acquire(1).unwrap();
                    }
                    sem.release(1).unwrap();
                })
            })
            .collect();
        sem.acquire(n).unwrap();
        running.store(false, Ordering::SeqCst);
        sem.release(n).unwrap();
        for w in workers {
            w.join().unwrap();
        }
        assert_all_free(&sem);
    });
}

/// The same with tasks as the small acquirers.
#[test]
fn large_acquire_doesnt_starve_tasks() {
    within(|| {
        let n = 4u64;
        let sem = Arc::new(Semaphore::new(n));
        let running = Arc::new(AtomicBool::new(true));
        let rt = runtime();
        let workers: Vec<_> = (0..n)
            .map(|_| {
                sem.acquire(1).unwrap();
                let (sem, running) = (Arc::clone(&sem), Arc::clone(&running));
                rt.spawn(async move {
                    while running.load(Ordering::SeqCst) {
                        tokio::task::yield_now().await;
                        sem.release(1).unwrap();
                        sem.acquire_async(1).await.unwrap();
                    }
                    sem.release(1).unwrap();
                })
            })
            .collect();
        sem.acquire(n).unwrap();
        running.store(false, Ordering::SeqCst);
        sem.release(n).unwrap();
        rt.block_on(async {
            for w in workers {
                w.await.unwrap();
            }
        });
        assert_all_free(&sem);
    });
}

/// A queued acquire blocks later, smaller ones that would fit; a release serves
/// them in order.
#[test]
fn fifo_small_waiters_do_not_overtake() {
    let sem = Semaphore::new(3);
    sem.acquire(2).unwrap();
    let mut big = pin!(sem.acquire_async(2));
    assert!(poll_once(big.as_mut()).is_pending()); // 1 free < 2: queued
    let mut small = pin!(sem.acquire_async(1));
    assert!(poll_once(small.as_mut()).is_pending()); // 1 free, but behind `big`
    assert!(!sem.try_acquire(1));
    sem.release(1).unwrap(); // 2 free: `big` fits, then nothing is left for `small`
    assert_eq!(poll_once(big.as_mut()), Poll::Ready(Ok(())));
    assert!(poll_once(small.as_mut()).is_pending());
    sem.release(1).unwrap();
    assert_eq!(poll_once(small.as_mut()), Poll::Ready(Ok(())));
    sem.release(3).unwrap();
    assert_all_free(&sem);
}

/// Threads are served in the order they queued.
#[test]
fn fifo_threads_served_in_order() {
    within(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1).unwrap();
        let (tx, rx) = mpsc::channel();
        let threads: Vec<_> = (0..3)
            .map(|i| {
                let (mine, tx) = (Arc::clone(&sem), tx.clone());
                let t = std::thread::spawn(move || {
                    mine.acquire(1).unwrap();
                    tx.send(i).unwrap();
                    mine.release(1).unwrap();
                });
                until_queued(&sem, i + 1);
                t
            })
            .collect();
        sem.release(1).unwrap();
        for t in threads {
            t.join().unwrap();
        }
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
        assert_all_free(&sem);
    });
}

// ---------------------------------------------------------------------------
// TestAllocCancelDoesntStarve: a canceled front waiter wakes those behind it.
// ---------------------------------------------------------------------------

#[test]
fn alloc_cancel_doesnt_starve_threads() {
    within(|| {
        let sem = Arc::new(Semaphore::new(10));
        sem.acquire(1).unwrap(); // hold one read lock
        let (ctx, cancel) = Context::background().with_cancel();
        let writer = {
            let sem = Arc::clone(&sem);
            std::thread::spawn(move || sem.acquire_ctx(&ctx, 10))
        };
        until_queued(&sem, 1);
        let reader = {
            let sem = Arc::clone(&sem);
            std::thread::spawn(move || {
                sem.acquire(1)?; // queued behind the writer
                sem.release(1)
            })
        };
        until_queued(&sem, 2);
        cancel.cancel(); // the writer gives up: the reader must be woken
        assert_eq!(
            writer.join().unwrap(),
            Err(SemaphoreError::Canceled(Error::Canceled))
        );
        reader.join().unwrap().unwrap();
        sem.release(1).unwrap();
        assert_all_free(&sem);
    });
}

/// The same with a deadline on tokio's paused clock, and tasks.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn alloc_cancel_doesnt_starve_tasks() {
    let sem = Arc::new(Semaphore::new(10));
    sem.acquire(1).unwrap();
    let writer = {
        let sem = Arc::clone(&sem);
        hoare::go(async move {
            let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(300));
            sem.acquire_ctx_async(&ctx, 10).await
        })
    };
    while queued(&sem) != 1 {
        tokio::task::yield_now().await;
    }
    let reader = {
        let sem = Arc::clone(&sem);
        hoare::go(async move {
            sem.acquire_async(1).await?;
            sem.release(1)
        })
    };
    while queued(&sem) != 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        writer.await.unwrap(),
        Err(SemaphoreError::Canceled(Error::DeadlineExceeded))
    );
    reader.await.unwrap().unwrap();
    sem.release(1).unwrap();
    assert_all_free(&sem);
}

/// Dropping the front waiter's future wakes the one behind it.
#[test]
fn dropped_front_future_wakes_the_next() {
    let sem = Semaphore::new(10);
    sem.acquire(1).unwrap();
    let mut writer = Box::pin(sem.acquire_async(10));
    assert!(poll_once(writer.as_mut()).is_pending());
    let (woken, waker) = counting();
    let mut reader = pin!(sem.acquire_async(1));
    assert!(poll_with(reader.as_mut(), &waker).is_pending());
    drop(writer);
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_with(reader.as_mut(), &waker), Poll::Ready(Ok(())));
    sem.release(2).unwrap();
    assert_all_free(&sem);
}

// ---------------------------------------------------------------------------
// Cancelled async acquires never lose tokens.
// ---------------------------------------------------------------------------

/// Granted, then dropped before it saw the tokens: they come back.
#[test]
fn granted_then_dropped_gives_tokens_back() {
    let sem = Semaphore::new(2);
    sem.acquire(2).unwrap();
    let mut fut = Box::pin(sem.acquire_async(2));
    assert!(poll_once(fut.as_mut()).is_pending());
    sem.release(2).unwrap(); // granted to `fut`
    assert!(!sem.try_acquire(1));
    drop(fut);
    assert_all_free(&sem);
}

/// Granted, then dropped: the tokens go on to the next waiter, who is woken.
#[test]
fn granted_then_dropped_passes_tokens_on() {
    let sem = Semaphore::new(1);
    sem.acquire(1).unwrap();
    let mut first = Box::pin(sem.acquire_async(1));
    assert!(poll_once(first.as_mut()).is_pending());
    let (woken, waker) = counting();
    let mut second = pin!(sem.acquire_async(1));
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    sem.release(1).unwrap(); // to `first`
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    drop(first);
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_with(second.as_mut(), &waker), Poll::Ready(Ok(())));
    sem.release(1).unwrap();
    assert_all_free(&sem);
}

/// `acquire_ctx_async`: granted while the context is done gives the tokens back
/// (x/sync's rule); canceled while queued withdraws.
#[test]
fn ctx_async_granted_after_cancel_gives_back() {
    let sem = Semaphore::new(1);
    sem.acquire(1).unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let mut fut = Box::pin(sem.acquire_ctx_async(&ctx, 1));
    assert!(poll_once(fut.as_mut()).is_pending());
    sem.release(1).unwrap(); // granted
    cancel.cancel(); // ...but the context is done before the future sees it
    assert_eq!(
        poll_once(fut.as_mut()),
        Poll::Ready(Err(SemaphoreError::Canceled(Error::Canceled)))
    );
    drop(fut);
    assert_all_free(&sem);

    sem.acquire(1).unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let mut fut = Box::pin(sem.acquire_ctx_async(&ctx, 1));
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(queued(&sem), 1);
    cancel.cancel();
    assert_eq!(
        poll_once(fut.as_mut()),
        Poll::Ready(Err(SemaphoreError::Canceled(Error::Canceled)))
    );
    assert_eq!(queued(&sem), 0);
    sem.release(1).unwrap();
    assert_all_free(&sem);
}

/// A new waker keeps the future's place in line, and the new waker is the one
/// woken.
#[test]
fn waker_change_keeps_place_in_line() {
    let sem = Semaphore::new(1);
    sem.acquire(1).unwrap();
    let (old, old_waker) = counting();
    let (new, new_waker) = counting();
    let mut first = pin!(sem.acquire_async(1));
    assert!(poll_with(first.as_mut(), &old_waker).is_pending());
    let mut second = pin!(sem.acquire_async(1));
    assert!(poll_once(second.as_mut()).is_pending());
    assert!(poll_with(first.as_mut(), &new_waker).is_pending());
    assert_eq!(queued(&sem), 2);
    sem.release(1).unwrap();
    assert_eq!(old.0.load(Ordering::SeqCst), 0);
    assert_eq!(new.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_with(first.as_mut(), &new_waker), Poll::Ready(Ok(())));
    assert!(poll_once(second.as_mut()).is_pending());
    sem.release(1).unwrap();
    assert_eq!(poll_once(second.as_mut()), Poll::Ready(Ok(())));
    sem.release(1).unwrap();
    assert_all_free(&sem);
}

// ---------------------------------------------------------------------------
// Types.
// ---------------------------------------------------------------------------

#[test]
fn types_are_send_sync_and_debug() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync>() {}
    sync::<Semaphore>();
    sync::<SemaphoreError>();
    let sem = Semaphore::new(2);
    let (ctx, _cancel) = Context::background().with_cancel();
    let fut = sem.acquire_async(1);
    send(&fut);
    assert!(format!("{fut:?}").starts_with("SemaphoreAcquire"));
    drop(fut);
    send(&sem.acquire_ctx_async(&ctx, 1));
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { size: 2, held: 0, waiters: 0 }"
    );
    let err = SemaphoreError::Canceled(Error::DeadlineExceeded);
    assert_eq!(
        err.to_string(),
        "semaphore: acquire canceled: context deadline exceeded"
    );
    assert!(std::error::Error::source(&err).is_some());
}

//! loom models of `hoare::sync::Semaphore`: a release racing a blocked acquire, a
//! dropped (cancelled) async acquire racing a release, a context's cancel racing a
//! grant, and a front waiter that withdraws while a waiter behind it queues.
//!
//! Every model ends by checking that no token was lost: all tokens are free and
//! nobody waits.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3
//! CARGO_TARGET_DIR=target/loom cargo test -p hoare --release --test loom_semaphore`.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use hoare::context::{Context, Error};
use hoare::sync::{Semaphore, SemaphoreError};
use loom::sync::Arc;
use loom::thread;

fn assert_all_free(sem: &Semaphore) {
    assert!(sem.try_acquire(sem.size()), "tokens lost: {sem:?}");
    sem.release(sem.size()).unwrap();
}

/// A release races a thread that is queueing or parked in `acquire`: the thread is
/// always granted and woken.
#[test]
fn release_races_a_blocked_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1).unwrap();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                sem.acquire(1).unwrap();
                sem.release(1).unwrap();
            })
        };
        sem.release(1).unwrap();
        waiter.join().unwrap();
        assert_all_free(&sem);
    });
}

/// A release races a task's acquire, which is polled once and dropped: whether it
/// completed, was granted without seeing it, or was still queued, no token is lost.
#[test]
fn dropped_async_acquire_races_a_release() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1).unwrap();
        let task = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                let mut fut = pin!(sem.acquire_async(1));
                let first = fut
                    .as_mut()
                    .poll(&mut TaskContext::from_waker(Waker::noop()));
                if first == Poll::Ready(Ok(())) {
                    sem.release(1).unwrap();
                }
                // Dropped here: pending means queued or granted unseen.
            })
        };
        sem.release(1).unwrap();
        task.join().unwrap();
        assert_all_free(&sem);
    });
}

/// A release races a waiting task's future being dropped, with a second waiter
/// queued behind it: the token reaches the second waiter either way.
#[test]
fn dropped_front_future_passes_the_grant_on() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1).unwrap();
        let mut front = Box::pin(sem.acquire_async(1));
        assert!(front
            .as_mut()
            .poll(&mut TaskContext::from_waker(Waker::noop()))
            .is_pending());
        let behind = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                loom::future::block_on(sem.acquire_async(1)).unwrap();
                sem.release(1).unwrap();
            })
        };
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.release(1).unwrap())
        };
        drop(front);
        releaser.join().unwrap();
        behind.join().unwrap();
        assert_all_free(&sem);
    });
}

/// A context's cancel races a release into a thread blocked in `acquire_ctx`: it
/// either acquires (and releases) or fails with the context's error, and no token
/// is lost.
#[test]
fn cancel_races_a_release_into_acquire_ctx() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire(1).unwrap();
        let (ctx, cancel) = Context::background().with_cancel();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || match sem.acquire_ctx(&ctx, 1) {
                Ok(()) => sem.release(1).unwrap(),
                Err(e) => assert_eq!(e, SemaphoreError::Canceled(Error::Canceled)),
            })
        };
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.release(1).unwrap())
        };
        cancel.cancel();
        releaser.join().unwrap();
        waiter.join().unwrap();
        assert_all_free(&sem);
    });
}

/// A large front waiter is canceled while a small one queues behind it: the small
/// one is woken when the large one withdraws (x/sync's "notify other waiters").
#[test]
fn canceled_front_waiter_wakes_the_one_behind() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(2));
        sem.acquire(1).unwrap();
        let (ctx, cancel) = Context::background().with_cancel();
        let large = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                assert_eq!(
                    sem.acquire_ctx(&ctx, 2),
                    Err(SemaphoreError::Canceled(Error::Canceled))
                );
            })
        };
        let small = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                sem.acquire(1).unwrap();
                sem.release(1).unwrap();
            })
        };
        cancel.cancel();
        large.join().unwrap();
        small.join().unwrap();
        sem.release(1).unwrap();
        assert_all_free(&sem);
    });
}

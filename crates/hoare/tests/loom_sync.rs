//! loom models of `hoare::sync`: a `WaitGroup`'s last `done` racing its waiters, and
//! a `Cond` signal racing a waiter that has released the lock but not yet parked.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p hoare
//! --release --test loom_sync`. The `Cond` models use loom's `Mutex`, which hoare
//! implements `Locker` for in loom builds.
#![cfg(loom)]

use hoare::sync::{Cond, WaitGroup, WaitGroupError};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The last `done` races a thread that is checking the counter, registering, or
/// parked: the waiter always returns.
#[test]
fn waitgroup_done_races_wait() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(1).unwrap();
        let worker = {
            let wg = wg.clone();
            thread::spawn(move || wg.done())
        };
        wg.wait();
        assert_eq!(worker.join().unwrap(), Ok(()));
        assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    });
}

/// Two `done`s race each other and a waiter: the counter never goes below zero and
/// the waiter returns only after both.
#[test]
fn waitgroup_two_dones_race_wait() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(2).unwrap();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let wg = wg.clone();
                thread::spawn(move || wg.done().unwrap())
            })
            .collect();
        wg.wait();
        assert_eq!(wg.done(), Err(WaitGroupError::Negative));
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// A task's `wait_async` races the last `done`.
#[test]
fn waitgroup_done_races_wait_async() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(1).unwrap();
        let worker = {
            let wg = wg.clone();
            thread::spawn(move || wg.done().unwrap())
        };
        loom::future::block_on(wg.wait_async());
        worker.join().unwrap();
    });
}

/// The signaller sets the condition under the lock and signals after unlocking; the
/// waiter may be anywhere: before its check, between `register`+unlock and its
/// park, or parked. It is never left asleep.
#[test]
fn cond_signal_races_a_waiter_between_unlock_and_park() {
    loom::model(|| {
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let waiter = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let (ready, cond) = &*shared;
                let mut guard = ready.lock().unwrap();
                while !*guard {
                    guard = cond.wait(ready, guard);
                }
            })
        };
        let (ready, cond) = &*shared;
        *ready.lock().unwrap() = true;
        cond.signal();
        waiter.join().unwrap();
    });
}

/// The same race with the signal sent while the lock is held.
#[test]
fn cond_signal_under_the_lock_races_a_waiter() {
    loom::model(|| {
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let waiter = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let (ready, cond) = &*shared;
                let mut guard = ready.lock().unwrap();
                while !*guard {
                    guard = cond.wait(ready, guard);
                }
            })
        };
        let (ready, cond) = &*shared;
        let mut guard = ready.lock().unwrap();
        *guard = true;
        cond.signal();
        drop(guard);
        waiter.join().unwrap();
    });
}

/// A task waiter unlocks in `wait_until_async` and is queued only when polled: a
/// signal in that window is caught by the signal count.
#[test]
fn cond_signal_races_an_async_waiter_before_it_is_queued() {
    loom::model(|| {
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let waiter = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let (ready, cond) = &*shared;
                let guard = loom::future::block_on(cond.wait_until_async(ready, |r| **r));
                assert!(*guard);
            })
        };
        let (ready, cond) = &*shared;
        *ready.lock().unwrap() = true;
        cond.signal();
        waiter.join().unwrap();
    });
}

/// Broadcast races two waiters: both return.
#[test]
fn cond_broadcast_races_two_waiters() {
    loom::model(|| {
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let (ready, cond) = &*shared;
                    let mut guard = ready.lock().unwrap();
                    while !*guard {
                        guard = cond.wait(ready, guard);
                    }
                })
            })
            .collect();
        let (ready, cond) = &*shared;
        *ready.lock().unwrap() = true;
        cond.broadcast();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

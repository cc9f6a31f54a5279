//! Stress tests of `hoare::sync` across threads and tasks at once: a `WaitGroup`
//! reused round after round, a `Cond`-guarded queue with thread and task producers
//! and consumers, and many `ErrGroup`s with limits and failures. (The semaphore's
//! hammer tests are in `sync_semaphore.rs`, the pool's and singleflight's in their
//! own files.) Each runs under a watchdog, so a lost wake-up fails instead of hanging.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hoare::sync::{Cond, ErrGroup, GroupError, WaitGroup};

mod common;
use common::{runtime, within};

/// Round after round, one group counts goroutines on threads and on tasks; a
/// thread and a task both wait for each round, and each sees all its work done.
#[test]
fn waitgroup_reused_round_after_round_by_threads_and_tasks() {
    within(|| {
        let rt = runtime();
        let _enter = rt.enter();
        let wg = WaitGroup::new();
        let done = Arc::new(AtomicUsize::new(0));
        for round in 1..=200usize {
            for i in 0..4 {
                let done = done.clone();
                if i % 2 == 0 {
                    drop(wg.go(move || done.fetch_add(1, Ordering::SeqCst)).unwrap());
                } else {
                    let handle = wg.go_async(async move {
                        tokio::task::yield_now().await;
                        done.fetch_add(1, Ordering::SeqCst)
                    });
                    drop(handle.unwrap()); // detached: the group waits for it
                }
            }
            let task_wait = {
                let (wg, done) = (wg.clone(), done.clone());
                rt.spawn(async move {
                    wg.wait_async().await;
                    done.load(Ordering::SeqCst)
                })
            };
            wg.wait();
            assert_eq!(done.load(Ordering::SeqCst), round * 4);
            let seen = rt.block_on(task_wait).unwrap();
            assert!(seen >= round * 4, "a task's wait returned early: {seen}");
        }
    });
}

/// A queue guarded by a mutex and a `Cond`: two producer threads and two producer
/// tasks push, two consumer threads and two consumer tasks pop; every item is
/// consumed exactly once, and a sentinel per consumer ends the run.
#[test]
fn cond_queue_with_thread_and_task_producers_and_consumers() {
    const PER_PRODUCER: u64 = 2_000;
    within(|| {
        let rt = runtime();
        let shared = Arc::new((Mutex::new(VecDeque::<Option<u64>>::new()), Cond::new()));
        let push = |shared: &(Mutex<VecDeque<Option<u64>>>, Cond), item: Option<u64>| {
            shared.0.lock().unwrap().push_back(item);
            shared.1.signal();
        };

        let thread_consumers: Vec<_> = (0..2)
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let (items, cond) = &*shared;
                    let (mut sum, mut count) = (0u64, 0u64);
                    loop {
                        let mut q = items.lock().unwrap();
                        while q.is_empty() {
                            q = cond.wait(items, q);
                        }
                        match q.pop_front().flatten() {
                            Some(v) => (sum, count) = (sum + v, count + 1),
                            None => return (sum, count),
                        }
                    }
                })
            })
            .collect();
        let task_consumers: Vec<_> = (0..2)
            .map(|_| {
                let shared = shared.clone();
                rt.spawn(async move {
                    let (items, cond) = &*shared;
                    let (mut sum, mut count) = (0u64, 0u64);
                    loop {
                        let mut q = cond.wait_until_async(items, |q| !q.is_empty()).await;
                        match q.pop_front().flatten() {
                            Some(v) => (sum, count) = (sum + v, count + 1),
                            None => return (sum, count),
                        }
                    }
                })
            })
            .collect();

        let producer_threads: Vec<_> = (0..2u64)
            .map(|p| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        push(&shared, Some(p * PER_PRODUCER + i));
                    }
                })
            })
            .collect();
        let producer_tasks: Vec<_> = (2..4u64)
            .map(|p| {
                let shared = shared.clone();
                rt.spawn(async move {
                    for i in 0..PER_PRODUCER {
                        push(&shared, Some(p * PER_PRODUCER + i));
                        if i % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for p in producer_threads {
            p.join().unwrap();
        }
        for p in producer_tasks {
            rt.block_on(p).unwrap();
        }
        for _ in 0..4 {
            push(&shared, None); // one sentinel per consumer
        }

        let (mut sum, mut count) = (0, 0);
        for c in thread_consumers {
            let (s, n) = c.join().unwrap();
            (sum, count) = (sum + s, count + n);
        }
        for c in task_consumers {
            let (s, n) = rt.block_on(c).unwrap();
            (sum, count) = (sum + s, count + n);
        }
        let total = 4 * PER_PRODUCER;
        assert_eq!(count, total, "every item consumed once");
        assert_eq!(sum, total * (total - 1) / 2);
    });
}

/// Many groups, each limited to 2 at a time, mixing thread and task goroutines of
/// which some fail: the limit always holds and `wait` returns one of the failures.
#[test]
fn errgroups_with_limits_and_failures_on_threads_and_tasks() {
    within(|| {
        let rt = runtime();
        let _enter = rt.enter();
        for round in 0..100usize {
            let (g, ctx) = ErrGroup::<usize>::with_context(&hoare::context::Context::background());
            g.set_limit(Some(2)).unwrap();
            let running = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let failing = [round % 10, (round + 3) % 10];
            for i in 0..10usize {
                let enter = {
                    let (running, most) = (running.clone(), most.clone());
                    move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                    }
                };
                let leave = {
                    let running = running.clone();
                    move || {
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                };
                let result = if failing.contains(&i) { Err(i) } else { Ok(()) };
                if i % 2 == 0 {
                    g.go(move || {
                        enter();
                        std::thread::yield_now();
                        leave();
                        result
                    });
                } else {
                    g.go_async(async move {
                        enter();
                        tokio::task::yield_now().await;
                        leave();
                        result
                    });
                }
            }
            match g.wait() {
                Err(GroupError::Failed(i)) => assert!(failing.contains(&i), "error {i}"),
                other => panic!("round {round}: expected a failure, got {other:?}"),
            }
            assert!(
                ctx.err().is_some(),
                "the first failure canceled the context"
            );
            let most = most.load(Ordering::SeqCst);
            assert!(
                most <= 2,
                "round {round}: {most} ran at once with a limit of 2"
            );
        }
    });
}

//! `hoare::sync::SingleFlight`: ports of the behaviours of x/sync's
//! `singleflight_test.go` (TestDo, TestDoErr, TestDoDupSuppress, TestForget,
//! TestForgetUnshared, TestPanicDo), a dropped async leader handing over to a
//! waiter, and a stress test across threads and tasks.
//!
//! No test sleeps to synchronise: a caller has "joined" a flight once
//! `SingleFlight::waiting` counts it, and the running call is held open on a
//! channel until the test releases it. Threaded scenarios run under a watchdog, so
//! a lost wake-up fails instead of hanging.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hoare::sync::{Flight, SingleFlight, SingleFlightError};

mod common;
use common::within;

/// Waits until `n` callers have joined the flight for `key`.
fn until_joined<V: Clone>(g: &SingleFlight<&'static str, V>, key: &'static str, n: usize) {
    while g.waiting(&key) < n {
        std::thread::yield_now();
    }
}

#[test]
fn single_flight_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SingleFlight<String, Vec<u8>>>();
    send_sync::<SingleFlightError>();
}

#[test]
fn do_returns_the_value_unshared() {
    let g = SingleFlight::<&str, String>::new();
    let got = g.run("key", || "bar".to_string()).unwrap();
    assert_eq!(
        got,
        Flight {
            value: "bar".to_string(),
            shared: false
        }
    );
}

#[test]
fn do_returns_the_calls_error_as_its_value() {
    let g = SingleFlight::<&str, Result<u32, String>>::new();
    let got = g.run("key", || Err("some error".to_string())).unwrap();
    assert_eq!(got.value, Err("some error".to_string()));
}

#[test]
fn duplicate_callers_share_one_call() {
    within(|| {
        const N: usize = 10;
        let g = Arc::new(SingleFlight::<&str, String>::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = hoare::chan::<String>(1);
        let (started_tx, started_rx) = hoare::chan::<()>(0);
        let callers: Vec<_> = (0..N)
            .map(|_| {
                let (g, calls, rx, started) = (
                    g.clone(),
                    calls.clone(),
                    release_rx.clone(),
                    started_tx.clone(),
                );
                std::thread::spawn(move || {
                    g.run("key", || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        started.send(()).unwrap();
                        rx.recv().unwrap()
                    })
                })
            })
            .collect();
        started_rx.recv().unwrap(); // one call is running
        until_joined(&g, "key", N - 1); // and everyone else waits for it
        release_tx.send("bar".to_string()).unwrap();
        for caller in callers {
            let got = caller.join().unwrap().unwrap();
            assert_eq!(
                got,
                Flight {
                    value: "bar".to_string(),
                    shared: true
                }
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one call for ten callers");
    });
}

#[test]
fn forget_lets_the_next_caller_start_a_new_call() {
    within(|| {
        let g = Arc::new(SingleFlight::<&str, u32>::new());
        let (first_started_tx, first_started) = hoare::chan::<()>(0);
        let (release_first, first_release) = hoare::chan::<()>(0);
        let first = {
            let g = g.clone();
            std::thread::spawn(move || {
                g.run("key", || {
                    first_started_tx.send(()).unwrap();
                    let _ = first_release.recv();
                    1
                })
            })
        };
        first_started.recv().unwrap();
        g.forget("key");

        // A new call starts although the first is still running...
        let (second_started_tx, second_started) = hoare::chan::<()>(0);
        let (release_second, second_release) = hoare::chan::<()>(0);
        let second = {
            let g = g.clone();
            std::thread::spawn(move || {
                g.run("key", || {
                    second_started_tx.send(()).unwrap();
                    let _ = second_release.recv();
                    2
                })
            })
        };
        second_started.recv().unwrap();
        // ...and a third caller joins the second call, not the first.
        let third = {
            let g = g.clone();
            std::thread::spawn(move || g.run("key", || 3))
        };
        until_joined(&g, "key", 1);
        drop(release_second);
        drop(release_first);
        assert_eq!(
            first.join().unwrap().unwrap(),
            Flight {
                value: 1,
                shared: false
            }
        );
        assert_eq!(
            second.join().unwrap().unwrap(),
            Flight {
                value: 2,
                shared: true
            }
        );
        assert_eq!(
            third.join().unwrap().unwrap(),
            Flight {
                value: 2,
                shared: true
            }
        );
    });
}

#[test]
fn forget_of_a_finished_or_unknown_key_changes_nothing() {
    let g = SingleFlight::<&str, u32>::new();
    g.forget("key"); // nothing in flight
    assert_eq!(g.run("key", || 1).unwrap().value, 1);
    g.forget("key"); // its call finished already
    assert_eq!(
        g.run("key", || 2).unwrap().value,
        2,
        "a finished call is not cached"
    );
}

#[test]
fn a_panic_reaches_the_caller_and_every_waiter_as_an_error() {
    within(|| {
        let g = Arc::new(SingleFlight::<&str, u32>::new());
        let (started_tx, started) = hoare::chan::<()>(0);
        let (release, release_rx) = hoare::chan::<()>(0);
        let leader = {
            let g = g.clone();
            std::thread::spawn(move || {
                g.run("key", || {
                    started_tx.send(()).unwrap();
                    let _ = release_rx.recv();
                    panic!("invalid memory address")
                })
            })
        };
        started.recv().unwrap();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || g.run("key", || 0))
            })
            .collect();
        until_joined(&g, "key", 3);
        drop(release);
        let want = SingleFlightError::Panicked("invalid memory address".to_string());
        assert_eq!(leader.join().unwrap(), Err(want.clone()));
        for w in waiters {
            assert_eq!(w.join().unwrap(), Err(want.clone()));
        }
        // The group is not poisoned: the next call runs.
        assert_eq!(g.run("key", || 5).unwrap().value, 5);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_and_tasks_share_one_flight() {
    let g = Arc::new(SingleFlight::<&'static str, u64>::new());
    let (started_tx, started) = hoare::chan::<()>(0);
    let (release, release_rx) = hoare::chan::<()>(0);
    let leader = {
        let g = g.clone();
        tokio::spawn(async move {
            g.run_async("key", async move {
                started_tx.send_async(()).await.unwrap();
                let _ = release_rx.recv_async().await;
                42
            })
            .await
        })
    };
    started.recv_async().await.unwrap();
    let task = {
        let g = g.clone();
        tokio::spawn(async move { g.run_async("key", async { 0 }).await })
    };
    let thread = {
        let g = g.clone();
        std::thread::spawn(move || g.run("key", || 0))
    };
    while g.waiting(&"key") < 2 {
        tokio::task::yield_now().await;
    }
    drop(release);
    let want = Ok(Flight {
        value: 42,
        shared: true,
    });
    assert_eq!(leader.await.unwrap(), want);
    assert_eq!(task.await.unwrap(), want);
    assert_eq!(thread.join().unwrap(), want);
}

/// The task running a call is aborted: the waiter is not stranded, it runs its
/// own call instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_leader_hands_over_to_a_waiter() {
    let g = Arc::new(SingleFlight::<&'static str, &'static str>::new());
    let (started_tx, started) = hoare::chan::<()>(0);
    let leader = {
        let g = g.clone();
        tokio::spawn(async move {
            g.run_async("key", async move {
                started_tx.send_async(()).await.unwrap();
                std::future::pending::<&str>().await
            })
            .await
        })
    };
    started.recv_async().await.unwrap();
    let waiter = {
        let g = g.clone();
        tokio::spawn(async move { g.run_async("key", async { "from the waiter" }).await })
    };
    while g.waiting(&"key") < 1 {
        tokio::task::yield_now().await;
    }
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    let got = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("the waiter was stranded")
        .unwrap();
    assert_eq!(
        got,
        Ok(Flight {
            value: "from the waiter",
            shared: false
        })
    );
}

/// Threads and tasks hammer a few keys. Each call returns a unique execution id;
/// every caller must get an id of its own key, and `shared` must be true exactly
/// when more than one caller received that id.
#[test]
fn stress_threads_and_tasks() {
    use std::collections::HashMap;
    use std::sync::Mutex;

    const KEYS: u64 = 3;
    let g = Arc::new(SingleFlight::<u64, (u64, u64)>::new());
    let next_id = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::<(u64, (u64, u64), bool)>::new()));
    let call = {
        let next_id = next_id.clone();
        move |key: u64| {
            let id = next_id.fetch_add(1, Ordering::SeqCst) as u64;
            std::thread::yield_now(); // widen the window for joiners
            (key, id)
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    within(move || {
        rt.block_on(async {
            let mut tasks = Vec::new();
            for t in 0..4u64 {
                let (g, seen, call) = (g.clone(), seen.clone(), call.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 0..500u64 {
                        let key = (t + i) % KEYS;
                        let call = call.clone();
                        let got = g.run_async(key, async move { call(key) }).await.unwrap();
                        seen.lock().unwrap().push((key, got.value, got.shared));
                    }
                }));
            }
            let threads: Vec<_> = (0..2u64)
                .map(|t| {
                    let (g, seen, call) = (g.clone(), seen.clone(), call.clone());
                    std::thread::spawn(move || {
                        for i in 0..500u64 {
                            let key = (t + i) % KEYS;
                            let got = g.run(key, || call(key)).unwrap();
                            seen.lock().unwrap().push((key, got.value, got.shared));
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            for t in threads {
                t.join().unwrap();
            }
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3_000);
        let mut receivers: HashMap<u64, usize> = HashMap::new();
        for &(key, (value_key, id), _) in seen.iter() {
            assert_eq!(key, value_key, "a caller got another key's result");
            *receivers.entry(id).or_default() += 1;
        }
        for &(_, (_, id), shared) in seen.iter() {
            assert_eq!(shared, receivers[&id] > 1, "execution {id}");
        }
        assert!(next_id.load(Ordering::SeqCst) <= 3_000);
    });
}

//! `hoare::sync::ErrGroup`: ports of the behaviours of x/sync's `errgroup_test.go`
//! (TestZeroGroup, TestWithContext, TestGoLimit, TestTryGo, TestPanic), with
//! threads and tasks, and hoare's errors where Go panics.
//!
//! No test sleeps to synchronise: goroutines are held with channels. Each threaded
//! scenario runs under a watchdog, so a lost wake-up fails instead of hanging.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hoare::context::{Context, Error};
use hoare::sync::{ErrGroup, ErrGroupError, GroupError};

mod common;
use common::{runtime, within};

#[test]
fn send_sync() {
    fn check<T: Send + Sync>() {}
    check::<ErrGroup<String>>();
    check::<GroupError<std::io::Error>>();
    check::<ErrGroupError>();
}

/// TestZeroGroup: `Wait` returns the first error; with hoare the error is handed
/// to one `wait`, so each `wait` returns the first error since the last one.
#[test]
fn zero_group_first_error() {
    within(|| {
        let cases: [&[Option<&str>]; 5] = [
            &[],
            &[None],
            &[Some("doom")],
            &[Some("doom"), None],
            &[None, Some("doom"), Some("gloom")],
        ];
        for errs in cases {
            let g = ErrGroup::<&str>::new();
            for &err in errs {
                g.go(move || err.map_or(Ok(()), Err));
                let want = err.map_or(Ok(()), |e| Err(GroupError::Failed(e)));
                assert_eq!(g.wait(), want, "case {errs:?}");
            }
            assert_eq!(g.wait(), Ok(()));
        }
    });
}

/// Several concurrent failures: exactly one of them is returned.
#[test]
fn concurrent_failures_return_one() {
    within(|| {
        let g = ErrGroup::<u32>::new();
        for i in 0..64 {
            g.go(move || if i % 3 == 0 { Err(i) } else { Ok(()) });
        }
        match g.wait() {
            Err(GroupError::Failed(i)) => assert_eq!(i % 3, 0),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(g.wait(), Ok(()));
    });
}

/// TestWithContext: the error is returned and the derived context is canceled.
#[test]
fn with_context_cancels() {
    within(|| {
        let cases: [&[Option<&str>]; 4] = [&[], &[None], &[Some("doom")], &[Some("doom"), None]];
        for errs in cases {
            let (g, ctx) = ErrGroup::<&str>::with_context(&Context::background());
            for &err in errs {
                g.go(move || err.map_or(Ok(()), Err));
            }
            let want = errs
                .iter()
                .flatten()
                .next()
                .map_or(Ok(()), |&e| Err(GroupError::Failed(e)));
            assert_eq!(g.wait(), want, "case {errs:?}");
            // Canceled either by the error or by `wait`.
            assert_eq!(ctx.done().recv(), None);
            assert_eq!(ctx.err(), Some(Error::Canceled));
        }
    });
}

/// The first error cancels the context before `wait`: a sibling blocked on it
/// returns.
#[test]
fn first_error_cancels_siblings() {
    within(|| {
        let (g, ctx) = ErrGroup::<String>::with_context(&Context::background());
        for _ in 0..4 {
            let ctx = ctx.clone();
            g.go(move || {
                ctx.done().recv();
                Err("canceled".to_string())
            });
        }
        let (tx, rx) = hoare::chan::<()>(0);
        g.go(move || {
            rx.recv();
            Err("first".to_string())
        });
        assert!(ctx.err().is_none());
        tx.send(()).unwrap();
        assert_eq!(g.wait(), Err(GroupError::Failed("first".to_string())));
    });
}

/// The same in tasks.
#[test]
fn first_error_cancels_siblings_async() {
    let rt = runtime();
    rt.block_on(async {
        let (g, ctx) = ErrGroup::<u8>::with_context(&Context::background());
        for _ in 0..4 {
            let ctx = ctx.clone();
            g.go_async(async move {
                ctx.done().recv_async().await;
                Err(0)
            });
        }
        g.go_async(async { Err(1) });
        assert_eq!(g.wait_async().await, Err(GroupError::Failed(1)));
        assert_eq!(ctx.err(), Some(Error::Canceled));
    });
}

/// Runs `n` goroutines under `limit`, checking none sees more than `limit` active.
fn check_limit(
    g: &ErrGroup<usize>,
    limit: usize,
    n: usize,
    spawn: impl Fn(Box<dyn FnOnce() -> Result<(), usize> + Send>),
) {
    let active = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (active, max) = (Arc::clone(&active), Arc::clone(&max));
        spawn(Box::new(move || {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            for _ in 0..10 {
                std::thread::yield_now();
            }
            active.fetch_sub(1, Ordering::SeqCst);
            if now > limit {
                Err(now)
            } else {
                Ok(())
            }
        }));
    }
    assert_eq!(g.wait(), Ok(()));
    assert!(max.load(Ordering::SeqCst) <= limit);
    assert_eq!(active.load(Ordering::SeqCst), 0);
}

/// TestGoLimit, with threads: never more than the limit active.
#[test]
fn go_limit_threads() {
    within(|| {
        const LIMIT: usize = 3;
        let g = ErrGroup::<usize>::new();
        g.set_limit(Some(LIMIT)).unwrap();
        check_limit(&g, LIMIT, 200, |f| g.go(f));
    });
}

/// TestGoLimit, with tasks: `go_async` waits for a slot inside the goroutine.
#[test]
fn go_limit_tasks() {
    let rt = runtime();
    let _enter = rt.enter();
    within(|| {
        const LIMIT: usize = 2;
        let g = ErrGroup::<usize>::new();
        g.set_limit(Some(LIMIT)).unwrap();
        check_limit(&g, LIMIT, 200, |f| g.go_async(async move { f() }));
    });
}

/// Threads and tasks under one limit.
#[test]
fn go_limit_mixed() {
    within(|| {
        const LIMIT: usize = 4;
        let g = ErrGroup::<usize>::new();
        g.set_limit(Some(LIMIT)).unwrap();
        let flip = AtomicUsize::new(0);
        check_limit(&g, LIMIT, 200, |f| {
            if flip.fetch_add(1, Ordering::Relaxed) % 2 == 0 {
                g.go(f)
            } else {
                g.go_async(async move { f() })
            }
        });
    });
}

/// TestTryGo.
#[test]
fn try_go() {
    within(|| {
        let g = ErrGroup::<()>::new();
        let n = 42;
        g.set_limit(Some(n)).unwrap();
        let (tx, rx) = hoare::chan::<()>(0);
        let job = move || {
            let tx = tx.clone();
            move || {
                tx.send(()).unwrap();
                Ok(())
            }
        };
        for _ in 0..n {
            assert!(g.try_go(job()), "try_go should succeed below the limit");
        }
        assert!(!g.try_go(job()), "try_go should fail at the limit");
        let drain = {
            let rx = rx.clone();
            std::thread::spawn(move || {
                for _ in 0..n {
                    rx.recv().unwrap();
                }
            })
        };
        g.wait().unwrap();
        drain.join().unwrap();
        assert!(g.try_go(job()), "try_go should succeed after wait");
        rx.recv().unwrap();
        g.wait().unwrap();

        // Switch the limit.
        g.set_limit(Some(1)).unwrap();
        assert!(g.try_go(job()));
        assert!(!g.try_go(job()));
        rx.recv().unwrap();
        g.wait().unwrap();
    });
}

/// TestPanic: a panicking goroutine is an error from `wait`, from a thread or a
/// task, with a `&str` or `String` payload; with a context it cancels it.
#[test]
fn panic_becomes_error() {
    within(|| {
        let g = ErrGroup::<()>::new();
        g.go(|| panic!("boom"));
        assert_eq!(g.wait(), Err(GroupError::Panicked("boom".to_string())));

        let (g, ctx) = ErrGroup::<()>::with_context(&Context::background());
        let n = 7;
        g.go(move || panic!("boom {n}"));
        assert_eq!(ctx.done().recv(), None); // canceled by the panic
        assert_eq!(g.wait(), Err(GroupError::Panicked("boom 7".to_string())));
    });
    let rt = runtime();
    rt.block_on(async {
        let g = ErrGroup::<()>::new();
        g.go_async(async { panic!("task boom") });
        assert_eq!(
            g.wait_async().await,
            Err(GroupError::Panicked("task boom".to_string()))
        );
    });
}

/// A goroutine dropped unfinished (its runtime shut down) is an error, not a
/// silent success.
#[test]
fn runtime_shutdown_is_canceled() {
    let g = ErrGroup::<()>::new();
    let rt = runtime();
    {
        let _enter = rt.enter();
        g.go_async(std::future::pending());
    }
    drop(rt);
    assert_eq!(within(move || g.wait()), Err(GroupError::Canceled));
}

/// Bad input: Go panics on `SetLimit` while goroutines run; hoare returns an error
/// and keeps the limit. A limit of zero would deadlock: an error too.
#[test]
fn set_limit_errors() {
    within(|| {
        let g = ErrGroup::<()>::new();
        assert_eq!(g.set_limit(Some(0)), Err(ErrGroupError::ZeroLimit));
        g.set_limit(Some(1)).unwrap();
        let (tx, rx) = hoare::chan::<()>(0);
        g.go(move || {
            rx.recv();
            Ok(())
        });
        assert_eq!(g.set_limit(Some(5)), Err(ErrGroupError::Active(1)));
        assert_eq!(g.set_limit(None), Err(ErrGroupError::Active(1)));
        assert!(!g.try_go(|| Ok(())), "the limit of 1 still holds");
        tx.send(()).unwrap();
        g.wait().unwrap();
        g.set_limit(None).unwrap();
        assert!(format!("{g:?}").contains("limit: None"));

        // With no limit, Go allows SetLimit only with no goroutines either.
        let (tx, rx) = hoare::chan::<()>(0);
        g.go(move || {
            rx.recv();
            Ok(())
        });
        assert_eq!(g.set_limit(Some(2)), Err(ErrGroupError::Active(1)));
        tx.send(()).unwrap();
        g.wait().unwrap();
        g.set_limit(Some(2)).unwrap();
    });
}

/// `go` with a limit blocks until a slot is free, and clones share the group.
#[test]
fn go_blocks_at_limit() {
    within(|| {
        let g = ErrGroup::<()>::new();
        g.set_limit(Some(1)).unwrap();
        let (tx, rx) = hoare::chan::<()>(0);
        g.go(move || {
            rx.recv();
            Ok(())
        });
        let (started_tx, started_rx) = hoare::chan::<()>(1);
        let g2 = g.clone();
        let spawner = std::thread::spawn(move || {
            g2.go(move || {
                started_tx.send(()).unwrap();
                Ok(())
            });
        });
        // The second goroutine cannot start while the first holds the slot.
        assert!(started_rx.try_recv().is_err());
        tx.send(()).unwrap();
        started_rx.recv().unwrap();
        spawner.join().unwrap();
        g.wait().unwrap();
    });
}

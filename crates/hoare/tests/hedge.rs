//! The seed notes' Replicated Requests example (chapter 5) with `hedge::replicate`,
//! and hedged requests, on tokio's paused clock. Every test ends with
//! `leak::verify_none()`: no replica outlives its call. They run one at a time.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoare::context::{self, Context};
use hoare::hedge::{self, AttemptFailure, HedgeError, HedgePolicy, Hedger, PolicyError};
use hoare::{leak, select_async, time};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MILLI: Duration = Duration::from_millis(1);

mod common;
use common::{one_at_a_time, paused};

/// A random whole number of seconds in 1..=5 (the book's `1+rand.Intn(5)`).
fn simulated_load() -> Duration {
    SECOND * (1 + (RandomState::new().hash_one(0u8) % 5) as u32)
}

/// Waits `load` unless `ctx` is done first; whether it ran to the end.
async fn work(ctx: &Context, load: Duration) -> bool {
    select_async! {
        recv(time::after(load)) -> _ => true,
        recv(ctx.done()) -> _ => false,
    }
}

/// The book's ten replicas of `doWork`: each simulates 1–5 s of load; the first
/// to answer wins ("Received an answer from #8"), the others are cancelled, and
/// every replica has reported ("N took …") before the answer is used.
#[test]
fn first_of_ten_replicas_wins_and_the_rest_are_cancelled() {
    let (winner, took_call, reports) = paused(async {
        let start = Instant::now();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        let winner = hedge::replicate(&Context::background(), 10, move |ctx, id| {
            let seen = seen.clone();
            async move {
                let started = Instant::now();
                let load = simulated_load();
                let finished = work(&ctx, load).await;
                // As the book, show how long the handler would have taken.
                let took = started.elapsed().max(load);
                seen.lock()
                    .unwrap()
                    .push((id, load, started.elapsed(), took));
                if finished {
                    Ok(id)
                } else {
                    Err(context::Error::Canceled)
                }
            }
        })
        .await
        .unwrap();
        let took_call = start.elapsed();
        let reports = reports.lock().unwrap().clone();
        (winner, took_call, reports)
    });
    assert_eq!(
        reports.len(),
        10,
        "every replica reported before the call returned"
    );
    let fastest = reports.iter().map(|r| r.1).min().unwrap();
    let (_, winner_load, _, _) = reports.iter().find(|r| r.0 == winner).unwrap();
    assert_eq!(*winner_load, fastest, "the winner had the least load");
    assert_eq!(
        took_call, fastest,
        "the answer came with the fastest replica"
    );
    for (id, load, ran, took) in &reports {
        assert_eq!(
            *ran, fastest,
            "replica {id} stopped when the winner answered"
        );
        assert_eq!(
            took, load,
            "replica {id} shows its simulated load, as the book's"
        );
    }
    for (id, _, _, took) in &reports {
        println!("{id} took {took:?}");
    }
    println!("Received an answer from #{winner}");
}

/// Zero replicas is an error, not a hang.
#[test]
fn zero_replicas_is_an_error() {
    let result = paused(hedge::replicate(&Context::background(), 0, |_, _| async {
        Ok::<u8, ()>(1)
    }));
    assert!(matches!(result, Err(HedgeError::NoReplicas)));
    assert_eq!(
        HedgeError::<String>::NoReplicas.to_string(),
        "replicate needs at least one replica"
    );
}

/// A replica that panics is reported with its message; when all fail, each
/// failure is returned, by replica number.
#[test]
fn panicking_and_failing_replicas_are_reported() {
    let result = paused(hedge::replicate(
        &Context::background(),
        3,
        |_, id| async move {
            if id == 1 {
                panic!("replica {id} lost its connection");
            }
            Err::<u8, String>(format!("replica {id} refused"))
        },
    ));
    let Err(HedgeError::AllFailed(failures)) = result else {
        panic!("expected every replica to fail");
    };
    let described: Vec<String> = failures
        .iter()
        .map(|(i, f)| match f {
            AttemptFailure::Failed(e) => format!("{i}: {e}"),
            AttemptFailure::Panicked(msg) => format!("{i}: panicked: {msg}"),
        })
        .collect();
    assert_eq!(
        described,
        [
            "0: replica 0 refused",
            "1: panicked: replica 1 lost its connection",
            "2: replica 2 refused"
        ]
    );
}

/// A panicking replica does not stop a healthy one from answering.
#[test]
fn a_panicking_replica_does_not_lose_the_answer() {
    let result = paused(hedge::replicate(
        &Context::background(),
        2,
        |ctx, id| async move {
            if id == 0 {
                panic!("boom");
            }
            work(&ctx, SECOND).await;
            Ok::<_, ()>(id)
        },
    ));
    assert_eq!(result.unwrap(), 1);
}

/// Cancelling the caller's context ends the call with `Canceled` once every
/// replica has stopped.
#[test]
fn cancelled_caller_gets_canceled() {
    let (result, stopped) = paused(async {
        let (ctx, cancel) = Context::background().with_timeout(2 * SECOND);
        let stopped = Arc::new(AtomicUsize::new(0));
        let count = stopped.clone();
        let result = hedge::replicate(&ctx, 4, move |ctx, _| {
            let count = count.clone();
            async move {
                let finished = work(&ctx, 60 * SECOND).await;
                count.fetch_add(1, Ordering::SeqCst);
                if finished {
                    Ok(())
                } else {
                    Err(())
                }
            }
        })
        .await;
        drop(cancel);
        (result, stopped.load(Ordering::SeqCst))
    });
    assert!(matches!(
        result,
        Err(HedgeError::Canceled(context::Error::DeadlineExceeded))
    ));
    assert_eq!(stopped, 4, "the call returned after every replica stopped");
}

/// Percentiles outside (0, 100) and negative load caps are errors.
#[test]
fn bad_policies_are_errors() {
    for p in [0.0, 100.0, -1.0, 150.0, f64::NAN] {
        let err = HedgePolicy::percentile(p).unwrap_err();
        assert!(matches!(err, PolicyError::Percentile(_)), "{p}");
    }
    assert_eq!(
        HedgePolicy::percentile(100.0).unwrap_err().to_string(),
        "hedge percentile must be between 0 and 100 (exclusive), got 100"
    );
    let p = HedgePolicy::percentile(99.0).unwrap();
    assert!(p.max_extra_load(-0.1).is_err());
    assert!(p.max_extra_load(f64::INFINITY).is_err());
    assert!(p.max_extra_load(0.0).is_ok());
}

/// A slow first attempt is hedged after the fixed delay; the hedge's answer
/// wins, the first attempt is cancelled, and the call takes delay + hedge time.
#[test]
fn fixed_delay_hedge_wins_over_a_slow_first_attempt() {
    let (winner, took, stats, cancelled) = paused(async {
        let hedger = Hedger::new(HedgePolicy::fixed(10 * MILLI).max_extra_load(1.0).unwrap());
        let ctx = Context::background();
        // The first call earns the hedge the second spends.
        hedger
            .run(&ctx, |_, _| async { Ok::<_, ()>(9) })
            .await
            .unwrap();
        let cancelled = Arc::new(AtomicUsize::new(0));
        let seen = cancelled.clone();
        let start = Instant::now();
        let winner = hedger
            .run(&ctx, move |ctx, attempt| {
                let seen = seen.clone();
                async move {
                    let load = if attempt == 0 { 5 * SECOND } else { 2 * MILLI };
                    if work(&ctx, load).await {
                        Ok(attempt)
                    } else {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Err(())
                    }
                }
            })
            .await
            .unwrap();
        (
            winner,
            start.elapsed(),
            hedger.stats(),
            cancelled.load(Ordering::SeqCst),
        )
    });
    assert_eq!(winner, 1);
    assert_eq!(took, 12 * MILLI);
    assert_eq!(stats.calls, 2);
    assert_eq!(stats.hedges, 1);
    assert_eq!(cancelled, 1, "the slow attempt observed the cancellation");
}

/// However slow every call is, hedges stay within the load cap.
#[test]
fn hedges_stay_within_the_extra_load_cap() {
    let stats = paused(async {
        let hedger = Hedger::new(HedgePolicy::fixed(MILLI).max_extra_load(0.1).unwrap());
        let ctx = Context::background();
        for _ in 0..200 {
            hedger
                .run(&ctx, |ctx, _| async move {
                    work(&ctx, 5 * MILLI).await;
                    Ok::<_, ()>(())
                })
                .await
                .unwrap();
        }
        hedger.stats()
    });
    assert_eq!(stats.calls, 200);
    assert!(stats.hedges > 0, "slow calls are hedged");
    assert!(stats.extra_load() <= 0.1, "{stats:?}");
}

/// A percentile policy learns the latency: no hedge until it has samples, then
/// the delay is the observed percentile.
#[test]
fn percentile_delay_follows_observed_latency() {
    let (before, after) = paused(async {
        let hedger = Hedger::new(HedgePolicy::percentile(90.0).unwrap());
        let before = hedger.delay();
        let ctx = Context::background();
        for i in 0..100u64 {
            // 90 calls of 10 ms, 10 of 50 ms.
            let load = if i % 10 == 9 { 50 * MILLI } else { 10 * MILLI };
            hedger
                .run(&ctx, move |ctx, _| async move {
                    work(&ctx, load).await;
                    Ok::<_, ()>(())
                })
                .await
                .unwrap();
        }
        (before, hedger.delay().unwrap())
    });
    assert_eq!(before, None);
    assert!(
        after >= 10 * MILLI && after < 11 * MILLI,
        "p90 of 90×10 ms and 10×50 ms is 10 ms, got {after:?}"
    );
}

/// The public types of `hedge` cross threads.
#[test]
fn hedge_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Hedger>();
    send_sync::<HedgePolicy>();
    send_sync::<HedgeError<std::io::Error>>();
    send_sync::<AttemptFailure<std::io::Error>>();
    send_sync::<hedge::HedgeStats>();
    send_sync::<PolicyError>();
}

/// From a plain thread: the blocking forms give the same answers, report a
/// panicking replica, and leave no goroutine behind.
#[test]
fn blocking_forms_work_from_a_thread() {
    let _one_at_a_time = one_at_a_time();
    let ctx = Context::background();
    let answer = hedge::replicate_blocking(&ctx, 3, |_, id| async move {
        match id {
            0 => panic!("replica 0 crashed"),
            1 => Err("replica 1 refused"),
            _ => Ok(id),
        }
    });
    assert_eq!(answer.unwrap(), 2);
    let all_down = hedge::replicate_blocking(&ctx, 2, |_, id| async move {
        if id == 0 {
            panic!("replica 0 crashed");
        }
        Err::<(), _>("replica 1 refused")
    });
    let Err(HedgeError::AllFailed(failures)) = all_down else {
        panic!("expected both replicas to fail");
    };
    assert!(matches!(&failures[0], (0, AttemptFailure::Panicked(m)) if m == "replica 0 crashed"));
    assert!(matches!(
        &failures[1],
        (1, AttemptFailure::Failed("replica 1 refused"))
    ));
    let hedger = Hedger::new(HedgePolicy::fixed(SECOND));
    assert_eq!(
        hedger
            .run_blocking(&ctx, |_, _| async { Ok::<_, ()>(7) })
            .unwrap(),
        7
    );
    leak::verify_none();
}

//! The seed notes' Heartbeats and Healing Unhealthy Goroutines examples (chapter
//! 5), on tokio's paused clock, each asserting the output the book shows; plus
//! the steward's restart budget, backoff and bad input. Every test ends with
//! `leak::verify_none()`, so they run one at a time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoare::context::Context;
use hoare::supervise::{
    heartbeat, interval_heartbeat, HeartbeatError, Steward, StewardError, StewardEvent,
};
use hoare::{chan, go, pattern, select_async, time};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

mod common;
use common::paused;

/// Whole seconds since `start` on the paused clock.
fn secs(start: Instant) -> u64 {
    start.elapsed().as_secs()
}

/// A log of `(second, line)` entries, shared with goroutines.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(u64, String)>>>);

impl Log {
    fn push(&self, start: Instant, line: impl Into<String>) {
        self.0.lock().unwrap().push((secs(start), line.into()));
    }
    fn lines(&self) -> Vec<(u64, String)> {
        self.0.lock().unwrap().clone()
    }
}

/// The book's interval `doWork`: a result every two pulse intervals, pulsing
/// while waiting for work and while blocked sending; ends when `ctx` is done.
fn do_work(ctx: &Context, pulse_interval: Duration) -> (chan::Receiver<()>, chan::Receiver<u64>) {
    let (heart, pulses) = interval_heartbeat(pulse_interval).unwrap();
    let (tx, results) = chan::<u64>(0);
    let ctx = ctx.clone();
    let start = Instant::now();
    drop(go(async move {
        let work = time::tick(2 * pulse_interval);
        loop {
            let Some(Some(_)) = heart.pulsing(&ctx, work.recv_async()).await else {
                return;
            };
            match heart.pulsing(&ctx, tx.send_async(secs(start))).await {
                Some(Ok(())) => {}
                _ => return,
            }
        }
    }));
    (pulses, results)
}

/// pulse, pulse, results 52, pulse, pulse, results 54, … pulse: two pulses per
/// result, a result every two seconds, until `done` closes at ten seconds.
#[test]
fn interval_heartbeat_pulses_twice_per_result() {
    let lines = paused(async {
        let (ctx, _cancel) = Context::background().with_timeout(10 * SECOND);
        let timeout = 2 * SECOND;
        let (pulses, results) = do_work(&ctx, timeout / 2);
        let mut out = Vec::new();
        loop {
            let line = select_async! {
                recv(&pulses) -> p => p.map(|()| "pulse".to_string()),
                recv(&results) -> r => r.map(|s| format!("results {s}")),
                recv(time::after(timeout)) -> _ => None,
            };
            match line {
                Some(line) => out.push(line),
                None => break,
            }
        }
        out
    });
    let expected: Vec<String> = (1..=4)
        .flat_map(|i| ["pulse".into(), "pulse".into(), format!("results {}", 2 * i)])
        .chain(["pulse".into()])
        .collect();
    assert_eq!(lines, expected);
}

/// A worker that stops after two loop iterations (the book's simulated panic)
/// is reported two seconds after its last sign of life: pulse, pulse, "worker
/// goroutine is not healthy!" (or a result in place of, or after, the second
/// pulse).
#[test]
fn silent_worker_is_reported_unhealthy() {
    let (lines, at) = paused(async {
        let start = Instant::now();
        let (ctx, cancel) = Context::background().with_timeout(10 * SECOND);
        let timeout = 2 * SECOND;
        let (heart, pulses) = interval_heartbeat(timeout / 2).unwrap();
        let (tx, results) = chan::<u64>(0);
        let worker_ctx = ctx.clone();
        let worker = go(async move {
            let pulse = time::tick(timeout / 2);
            let work = time::tick(timeout);
            for _ in 0..2 {
                select_async! {
                    recv(worker_ctx.done()) -> _ => return,
                    recv(&pulse) -> _ => { heart.beat(); },
                    recv(&work) -> _ => {
                        let _ = heart.pulsing(&worker_ctx, tx.send_async(secs(start))).await;
                    },
                }
            }
            // Stuck: no more pulses, but the heartbeat is still held.
            worker_ctx.done().recv_async().await;
        });
        let mut out = Vec::new();
        loop {
            select_async! {
                recv(&pulses) -> p => if p.is_none() { break } else { out.push("pulse".to_string()) },
                recv(&results) -> r => match r {
                    Some(s) => out.push(format!("results {s}")),
                    None => break,
                },
                recv(time::after(timeout)) -> _ => {
                    out.push("worker goroutine is not healthy!".to_string());
                    break;
                },
            }
        }
        let at = secs(start);
        drop(cancel);
        worker.await.unwrap();
        (out, at)
    });
    // At two seconds both the pulse and the work are ready, and select picks
    // either (in Go too); with the work, one more pulse may precede its result.
    let (last, middle) = lines.split_last().unwrap();
    assert_eq!(last, "worker goroutine is not healthy!");
    assert_eq!(middle[0], "pulse", "{lines:?}");
    assert!(
        matches!(middle.len(), 2 | 3)
            && middle[1..].iter().all(|l| l == "pulse" || l == "results 2")
            && middle.iter().filter(|l| *l == "results 2").count() <= 1,
        "{lines:?}"
    );
    assert_eq!(at, 4, "reported two seconds after the last sign of life");
}

/// The per-unit heartbeat: pulse, results, pulse, results, … ten times (the
/// book's random numbers are any digits here).
#[test]
fn per_unit_heartbeat_pulses_before_each_result() {
    let lines = paused(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let (heart, pulses) = heartbeat();
        let (tx, results) = chan::<u32>(0);
        let worker = go(async move {
            for i in 0..10 {
                heart.beat();
                let sent = select_async! {
                    send(&tx, (i * 7) % 10) -> r => r.is_ok(),
                    recv(ctx.done()) -> _ => false,
                };
                if !sent {
                    return;
                }
            }
        });
        let mut out = Vec::new();
        loop {
            select_async! {
                recv(&pulses) -> p => match p {
                    Some(()) => out.push("pulse".to_string()),
                    None => break,
                },
                recv(&results) -> r => match r {
                    Some(r) if r < 10 => out.push("results".to_string()),
                    Some(r) => panic!("not a digit: {r}"),
                    None => break,
                },
            }
        }
        worker.await.unwrap();
        drop(cancel);
        out
    });
    let expected: Vec<String> = (0..10)
        .flat_map(|_| ["pulse".to_string(), "results".to_string()])
        .collect();
    assert_eq!(lines, expected);
}

/// The book's `DoWork(done, nums...)`, which sleeps two seconds before its first
/// unit of work.
fn delayed_do_work(ctx: &Context, nums: Vec<i32>) -> (chan::Receiver<()>, chan::Receiver<i32>) {
    let (heart, pulses) = heartbeat();
    let (tx, results) = chan::<i32>(0);
    let ctx = ctx.clone();
    drop(go(async move {
        tokio::time::sleep(2 * SECOND).await;
        for n in nums {
            heart.beat();
            let sent = select_async! {
                send(&tx, n) -> r => r.is_ok(),
                recv(ctx.done()) -> _ => false,
            };
            if !sent {
                return;
            }
        }
    }));
    (pulses, results)
}

/// TestDoWork_GeneratesAllNumbers, rewritten as the book does: wait for the
/// first pulse instead of a one-second timeout (which the two-second delay
/// would trip), then read every number.
#[test]
fn do_work_generates_all_numbers_after_the_first_pulse() {
    let (got, waited) = paused(async {
        let start = Instant::now();
        let (ctx, cancel) = Context::background().with_cancel();
        let input = vec![0, 1, 2, 3, 5];
        let (pulses, results) = delayed_do_work(&ctx, input.clone());
        pulses.recv_async().await.expect("the worker pulses");
        let waited = secs(start);
        let mut got = Vec::new();
        while let Some(r) = results.recv_async().await {
            got.push(r);
        }
        drop(cancel);
        (got == input, waited)
    });
    assert!(got, "every number, in order");
    assert_eq!(waited, 2, "the first pulse came after the worker's delay");
}

/// The interval version of the same test: pulses keep the test's timeout from
/// firing while the worker is alive.
#[test]
fn interval_do_work_generates_all_numbers() {
    let got = paused(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let input = vec![0, 1, 2, 3, 5];
        let timeout = 2 * SECOND;
        let (heart, pulses) = interval_heartbeat(timeout / 2).unwrap();
        let (tx, results) = chan::<i32>(0);
        let nums = input.clone();
        let worker_ctx = ctx.clone();
        let worker = go(async move {
            tokio::time::sleep(2 * SECOND).await;
            for n in nums {
                if !matches!(
                    heart.pulsing(&worker_ctx, tx.send_async(n)).await,
                    Some(Ok(()))
                ) {
                    return;
                }
            }
        });
        pulses.recv_async().await.expect("the worker pulses");
        let mut got = Vec::new();
        loop {
            select_async! {
                recv(&results) -> r => match r { Some(r) => got.push(r), None => break },
                recv(&pulses) -> _ => {},
                recv(time::after(timeout)) -> _ => panic!("test timed out"),
            }
        }
        worker.await.unwrap();
        drop(cancel);
        got == input
    });
    assert!(got);
}

/// A zero interval is an error, not a busy loop.
#[test]
fn zero_intervals_are_errors() {
    assert_eq!(
        interval_heartbeat(Duration::ZERO).unwrap_err(),
        HeartbeatError::ZeroInterval
    );
    let never = |_: &Context, _| chan::never();
    assert_eq!(
        Steward::new(Duration::ZERO, never).unwrap_err(),
        StewardError::ZeroTimeout
    );
    let steward = Steward::new(SECOND, never).unwrap();
    assert_eq!(
        steward
            .start(&Context::background(), Duration::ZERO)
            .unwrap_err(),
        StewardError::ZeroPulseInterval
    );
}

/// The book's irresponsible ward under a four-second steward, halted at nine
/// seconds:
///
/// ```text
/// 18:28:07 ward: Hello, I'm irresponsible!
/// 18:28:11 steward: ward unhealthy; restarting
/// 18:28:11 ward: Hello, I'm irresponsible!
/// 18:28:11 ward: I am halting.
/// 18:28:15 steward: ward unhealthy; restarting
/// 18:28:15 ward: Hello, I'm irresponsible!
/// 18:28:15 ward: I am halting.
/// 18:28:16 main: halting steward and ward.
/// 18:28:16 ward: I am halting.
/// 18:28:16 Done
/// ```
#[test]
fn steward_restarts_an_irresponsible_ward() {
    let (lines, restarts) = paused(async {
        let start = Instant::now();
        let log = Log::default();
        let ward_log = log.clone();
        let do_work = move |ctx: &Context, _pulse: Duration| {
            ward_log.push(start, "ward: Hello, I'm irresponsible!");
            let (ctx, log) = (ctx.clone(), ward_log.clone());
            drop(go(async move {
                ctx.done().recv_async().await;
                log.push(start, "ward: I am halting.");
            }));
            chan::never()
        };
        let steward_log = log.clone();
        let steward = Steward::new(4 * SECOND, do_work)
            .unwrap()
            .on_event(move |e| {
                if let StewardEvent::Unhealthy { .. } = e {
                    steward_log.push(start, "steward: ward unhealthy; restarting");
                }
            });
        let (ctx, cancel) = Context::background().with_cancel();
        let main_log = log.clone();
        let _halt = go(async move {
            tokio::time::sleep(9 * SECOND).await;
            main_log.push(start, "main: halting steward and ward.");
            drop(cancel);
        });
        let (pulses, stopped) = steward.start(&ctx, 4 * SECOND).unwrap();
        while pulses.recv_async().await.is_some() {}
        let restarts = stopped.await.unwrap().unwrap();
        // The last ward's goroutine ends with the context; let it log first.
        while log.lines().len() < 9 {
            tokio::task::yield_now().await;
        }
        log.push(start, "Done");
        (log.lines(), restarts)
    });
    let expected = [
        (0, "ward: Hello, I'm irresponsible!"),
        (4, "steward: ward unhealthy; restarting"),
        (4, "ward: Hello, I'm irresponsible!"),
        (4, "ward: I am halting."),
        (8, "steward: ward unhealthy; restarting"),
        (8, "ward: Hello, I'm irresponsible!"),
        (8, "ward: I am halting."),
        (9, "main: halting steward and ward."),
        (9, "ward: I am halting."),
        (9, "Done"),
    ]
    .map(|(s, l)| (s, l.to_string()));
    assert_eq!(lines, expected);
    assert_eq!(restarts, 2);
}

/// The book's `doWorkFn` + `bridge`: the ward sends 1, 2, then stops at -1; the
/// steward (timeout 1 ms) restarts it, and the consumer's `take(6)` receives
/// 1, 2, 1, 2, 1, 2.
#[test]
fn steward_with_bridge_receives_1_2_1_2_1_2() {
    let (got, negatives) = paused(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let int_list = vec![1, 2, -1, 3, 4, 5];
        let (streams_tx, streams) = chan::<chan::Receiver<i32>>(0);
        let int_stream = pattern::bridge(&ctx, streams);
        let negatives = Arc::new(Mutex::new(Vec::new()));
        let seen = negatives.clone();
        let do_work = move |ctx: &Context, pulse_interval: Duration| {
            let (heart, pulses) = interval_heartbeat(pulse_interval).unwrap();
            let (tx, rx) = chan::<i32>(0);
            let (ctx, streams_tx, list, seen) = (
                ctx.clone(),
                streams_tx.clone(),
                int_list.clone(),
                seen.clone(),
            );
            drop(go(async move {
                if !matches!(
                    heart.pulsing(&ctx, streams_tx.send_async(rx)).await,
                    Some(Ok(()))
                ) {
                    return;
                }
                loop {
                    for &v in &list {
                        if v < 0 {
                            seen.lock().unwrap().push(v); // the book's "negative value: -1"
                            return;
                        }
                        if !matches!(heart.pulsing(&ctx, tx.send_async(v)).await, Some(Ok(()))) {
                            return;
                        }
                    }
                }
            }));
            pulses
        };
        let steward = Steward::new(Duration::from_millis(1), do_work).unwrap();
        let (_pulses, stopped) = steward.start(&ctx, Duration::from_secs(3600)).unwrap();
        let mut got = Vec::new();
        let first_six = pattern::take(&ctx, int_stream, 6);
        while let Some(v) = first_six.recv_async().await {
            got.push(v);
        }
        drop(cancel);
        assert!(stopped.await.unwrap().unwrap() >= 2);
        let negatives = negatives.lock().unwrap().clone();
        (got, negatives)
    });
    assert_eq!(got, [1, 2, 1, 2, 1, 2]);
    assert!(negatives.len() >= 2 && negatives.iter().all(|&v| v == -1));
}

/// A ward that never pulses, under a budget of two restarts a minute: restarted
/// at one and two seconds, given up at three, with the last ward cancelled.
#[test]
fn steward_gives_up_when_the_restart_budget_is_spent() {
    let (result, at, events, wards_cancelled) = paused(async {
        let start = Instant::now();
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let (cancelled_tx, cancelled) = chan::<()>(8);
        let steward = Steward::new(SECOND, move |ctx: &Context, _| {
            let (ctx, tx) = (ctx.clone(), cancelled_tx.clone());
            drop(go(async move {
                ctx.done().recv_async().await;
                let _ = tx.send_async(()).await;
            }));
            chan::never()
        })
        .unwrap()
        .restart_budget(2, 60 * SECOND)
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
        let ctx = Context::background();
        let (pulses, stopped) = steward.start(&ctx, SECOND).unwrap();
        let result = stopped.await.unwrap();
        let at = secs(start);
        // The steward's heartbeat closes when it stops.
        while pulses.recv_async().await.is_some() {}
        let mut wards_cancelled = 0;
        for _ in 0..3 {
            cancelled.recv_async().await.unwrap();
            wards_cancelled += 1;
        }
        let events = events.lock().unwrap().clone();
        (result, at, events, wards_cancelled)
    });
    assert_eq!(
        result,
        Err(StewardError::RestartBudgetExhausted {
            max_restarts: 2,
            window: 60 * SECOND
        })
    );
    assert_eq!(at, 3);
    assert_eq!(
        wards_cancelled, 3,
        "every ward, the last one too, was cancelled"
    );
    assert_eq!(events.last(), Some(&StewardEvent::GaveUp { ward: 2 }));
    let unhealthy = events
        .iter()
        .filter(|e| matches!(e, StewardEvent::Unhealthy { .. }))
        .count();
    assert_eq!(unhealthy, 3);
}

/// A start function that panics is reported and retried after the timeout,
/// never in a busy loop; a ward that then pulses is left alone.
#[test]
fn steward_reports_a_ward_that_panics_on_start() {
    let (events, started_at) = paused(async {
        let start = Instant::now();
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let started_at = Arc::new(Mutex::new(Vec::new()));
        let starts = started_at.clone();
        let mut calls = 0;
        let steward = Steward::new(SECOND, move |ctx: &Context, pulse| {
            calls += 1;
            starts.lock().unwrap().push(secs(start));
            if calls == 1 {
                panic!("cannot open the job queue");
            }
            let (heart, pulses) = interval_heartbeat(pulse).unwrap();
            let ctx = ctx.clone();
            drop(go(async move {
                heart.pulsing(&ctx, std::future::pending::<()>()).await;
            }));
            pulses
        })
        .unwrap()
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
        let (ctx, cancel) = Context::background().with_timeout(10 * SECOND);
        let (_pulses, stopped) = steward.start(&ctx, SECOND).unwrap();
        assert_eq!(stopped.await.unwrap(), Ok(1));
        drop(cancel);
        let events = events.lock().unwrap().clone();
        let started_at = started_at.lock().unwrap().clone();
        (events, started_at)
    });
    assert_eq!(
        events,
        [
            StewardEvent::StartPanicked {
                ward: 0,
                message: "cannot open the job queue".into()
            },
            StewardEvent::Unhealthy { ward: 0 },
            StewardEvent::Started { ward: 1 },
        ]
    );
    assert_eq!(started_at, [0, 1]);
}

/// With backoff, restarts of a ward that stays silent are spaced by the timeout
/// plus 1, 2, 4 seconds.
#[test]
fn steward_backs_off_between_restarts() {
    let started_at = paused(async {
        let start = Instant::now();
        let started_at = Arc::new(Mutex::new(Vec::new()));
        let starts = started_at.clone();
        let steward = Steward::new(SECOND, move |_: &Context, _| {
            starts.lock().unwrap().push(secs(start));
            chan::never()
        })
        .unwrap()
        .backoff(SECOND, 4 * SECOND);
        let (ctx, cancel) = Context::background().with_timeout(Duration::from_millis(15_500));
        let (_pulses, stopped) = steward.start(&ctx, SECOND).unwrap();
        assert_eq!(stopped.await.unwrap(), Ok(4));
        drop(cancel);
        let got = started_at.lock().unwrap().clone();
        got
    });
    // Silent for 1 s, then wait 1, 2, 4, 4 s before each restart.
    assert_eq!(started_at, [0, 2, 5, 10, 15]);
}

/// The steward's own heartbeat: it pulses while it supervises, and its stream
/// closes when it stops.
#[test]
fn steward_pulses_on_its_own_heartbeat() {
    let pulses_seen = paused(async {
        let (ctx, cancel) = Context::background().with_timeout(Duration::from_millis(3_500));
        let steward = Steward::new(10 * SECOND, |_: &Context, _| chan::never()).unwrap();
        let (pulses, stopped) = steward.start(&ctx, SECOND).unwrap();
        let mut n = 0;
        while pulses.recv_async().await.is_some() {
            n += 1;
        }
        assert_eq!(stopped.await.unwrap(), Ok(0));
        drop(cancel);
        n
    });
    assert_eq!(pulses_seen, 3);
}

/// The book's `reallyLongCalculation`, preemptible at each step of each
/// `longCalculation`: cancelled mid-way, it stops within one step.
#[test]
fn really_long_calculation_stops_within_one_step() {
    use hoare::context::Error;
    use hoare::supervise::{checkpoint, preemptible};

    fn long_calculation(ctx: &Context, value: u64, steps: &mut u32) -> Result<u64, Error> {
        let mut v = value;
        for i in preemptible(ctx, 0..1_000u64) {
            v = v.wrapping_mul(31).wrapping_add(i);
            *steps += 1;
        }
        checkpoint(ctx)?;
        Ok(v)
    }
    fn really_long_calculation(ctx: &Context, value: u64, steps: &mut u32) -> Result<u64, Error> {
        let intermediate = long_calculation(ctx, value, steps)?;
        long_calculation(ctx, intermediate, steps)
    }

    let (ctx, cancel) = Context::background().with_cancel();
    let mut steps = 0;
    assert!(really_long_calculation(&ctx, 1, &mut steps).is_ok());
    assert_eq!(steps, 2_000);

    // Cancel from inside the work, after 1 500 steps.
    let (ctx2, cancel2) = Context::background().with_cancel();
    let mut steps = 0;
    let mut v = 1u64;
    let mut outcome = Ok(());
    for round in 0..2 {
        for i in preemptible(&ctx2, 0..1_000u64) {
            v = v.wrapping_add(i);
            steps += 1;
            if round == 1 && i == 499 {
                cancel2.cancel();
            }
        }
        outcome = checkpoint(&ctx2);
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome, Err(Error::Canceled));
    assert_eq!(steps, 1_500, "no step ran after the cancel");
    drop(cancel);
}

/// `timeout`: the duration, the caller's context, and a zero duration.
#[test]
fn timeout_reports_why_it_gave_up() {
    use hoare::supervise::{timeout, TimeoutError};

    paused(async {
        let start = Instant::now();
        let ctx = Context::background();
        let slow = || tokio::time::sleep(60 * SECOND);
        assert_eq!(
            timeout(&ctx, 2 * SECOND, slow()).await,
            Err(TimeoutError::Elapsed)
        );
        assert_eq!(secs(start), 2);
        let (short, _guard) = ctx.with_timeout(SECOND);
        let got = timeout(&short, 10 * SECOND, slow()).await;
        assert_eq!(
            got,
            Err(TimeoutError::Context(
                hoare::context::Error::DeadlineExceeded
            ))
        );
        assert!(got.unwrap_err().is_timeout());
        assert_eq!(secs(start), 3);
        let polled = std::sync::atomic::AtomicBool::new(false);
        let got = timeout(&ctx, Duration::ZERO, async {
            polled.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
        assert_eq!(got, Err(TimeoutError::ZeroTimeout));
        assert!(!polled.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(timeout(&ctx, SECOND, async { 5 }).await, Ok(5));
    });
}

/// The public types of `supervise` cross threads; the steward's and heartbeat's
/// futures are `Send`, so they run on any worker.
#[test]
fn supervise_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<hoare::supervise::Heartbeat>();
    send_sync::<hoare::supervise::IntervalHeartbeat>();
    send_sync::<StewardError>();
    send_sync::<StewardEvent>();
    send_sync::<hoare::supervise::TimeoutError>();
    let (heart, _pulses) = interval_heartbeat(SECOND).unwrap();
    let ctx = Context::background();
    send(&heart.pulsing(&ctx, async {}));
    send(&hoare::supervise::timeout(&ctx, SECOND, async {}));
    let steward = Steward::new(SECOND, |_: &Context, _| chan::never()).unwrap();
    fn send_value<T: Send>(_: T) {}
    send_value(steward);
}

/// A ward that panics after it started drops its heartbeat: the steward reports
/// the closed heartbeat and restarts the ward when the timeout passes.
#[test]
fn steward_reports_a_ward_that_panics_while_running() {
    let (events, started_at) = paused(async {
        let start = Instant::now();
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let started_at = Arc::new(Mutex::new(Vec::new()));
        let starts = started_at.clone();
        let steward = Steward::new(SECOND, move |ctx: &Context, pulse| {
            starts.lock().unwrap().push(secs(start));
            let first = starts.lock().unwrap().len() == 1;
            let (heart, pulses) = interval_heartbeat(pulse).unwrap();
            let ctx = ctx.clone();
            drop(go(async move {
                if first {
                    heart.beat();
                    panic!("the ward lost its database");
                }
                heart.pulsing(&ctx, std::future::pending::<()>()).await;
            }));
            pulses
        })
        .unwrap()
        .on_event(move |e| seen.lock().unwrap().push(e.clone()));
        let (ctx, cancel) = Context::background().with_timeout(5 * SECOND);
        let (_pulses, stopped) = steward.start(&ctx, SECOND).unwrap();
        assert_eq!(stopped.await.unwrap(), Ok(1));
        drop(cancel);
        let events = events.lock().unwrap().clone();
        let started_at = started_at.lock().unwrap().clone();
        (events, started_at)
    });
    assert_eq!(
        events,
        [
            StewardEvent::Started { ward: 0 },
            StewardEvent::HeartbeatClosed { ward: 0 },
            StewardEvent::Unhealthy { ward: 0 },
            StewardEvent::Started { ward: 1 },
        ]
    );
    // The pulse it sent before panicking counted: silent from then for a second.
    assert_eq!(started_at, [0, 1]);
}

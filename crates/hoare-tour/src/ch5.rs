//! Chapter 5: concurrency at scale — error propagation, heartbeats, replicated
//! requests and stewards.
//!
//! The book's waits run at the book's pace, scaled by `--speed`
//! ([`crate::book`]). What each example prints has the book's shape.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoare::context::Context;
use hoare::report::{CliHandler, Report};
use hoare::supervise::{interval_heartbeat, Steward, StewardEvent};
use hoare::{chan, go, hedge, select_async, time};

use crate::Example;

/// One of the book's seconds, scaled by `--speed`.
fn second() -> Duration {
    crate::book_secs(1.0)
}

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "error-propagation",
            chapter: 5,
            summary: "the job runner: a bug line before the fix, the module's message after",
            run: error_propagation,
        },
        Example {
            name: "heartbeat-interval",
            chapter: 5,
            summary: "doWork pulses every second and sends a result every two",
            run: heartbeat_interval,
        },
        Example {
            name: "replicated-requests",
            chapter: 5,
            summary: "ten replicas with 1-5 s of load: the first answer wins, the rest stop",
            run: replicated_requests,
        },
        Example {
            name: "steward",
            chapter: 5,
            summary: "an irresponsible ward, restarted by its steward every four seconds",
            run: steward,
        },
    ]
}

hoare::module_error!(
    /// The low-level module's errors.
    LowLevelError
);
hoare::module_error!(
    /// The intermediate module's errors.
    IntermediateError
);

/// The book's `isGloballyExec` on a path that does not exist.
fn is_globally_exec(path: &str) -> Result<bool, LowLevelError> {
    let info = std::fs::metadata(path).map_err(|e| {
        let message = format!("stat {path}: {e}");
        LowLevelError(Report::wrap(e, message))
    })?;
    Ok(info.is_file())
}

/// The book's job runner, before (`wrap = false`) and after its fix.
fn error_propagation(out: &mut dyn Write) -> io::Result<()> {
    for wrap in [false, true] {
        let run_job = |id: &str| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            match is_globally_exec("/bad/job/binary") {
                Err(e) if wrap => Err(IntermediateError(Report::wrap(
                    e,
                    format!("cannot run job {id:?}: requisite binaries not available"),
                ))
                .into()),
                Err(e) => Err(e.into()),
                Ok(_) => Ok(()),
            }
        };
        let mut log = Vec::new();
        let cli = CliHandler::new(&mut log).known::<IntermediateError>();
        if let Err(err) = run_job("1") {
            let shown = cli.handle_with_id(1, err.as_ref());
            drop(cli);
            let first = String::from_utf8_lossy(&log);
            let first = first.lines().next().unwrap_or_default();
            writeln!(out, "log:  {first} …")?;
            writeln!(out, "user: {shown}")?;
        }
    }
    Ok(())
}

/// The book's interval heartbeat: pulse, pulse, results, … until done at 10 s.
fn heartbeat_interval(out: &mut dyn Write) -> io::Result<()> {
    let lines = go(async {
        let (ctx, _cancel) = Context::background().with_timeout(10 * second());
        let timeout = 2 * second();
        let (heart, pulses) = interval_heartbeat(timeout / 2).expect("a nonzero interval");
        let (tx, results) = chan::<u64>(0);
        let start = Instant::now();
        let worker_ctx = ctx.clone();
        drop(go(async move {
            let work = time::tick(timeout);
            while let Some(Some(_)) = heart.pulsing(&worker_ctx, work.recv_async()).await {
                let at = (start.elapsed().as_secs_f64() / second().as_secs_f64()).round() as u64;
                if !matches!(
                    heart.pulsing(&worker_ctx, tx.send_async(at)).await,
                    Some(Ok(()))
                ) {
                    return;
                }
            }
        }));
        let mut lines = Vec::new();
        loop {
            select_async! {
                recv(&pulses) -> p => match p {
                    Some(()) => lines.push("pulse".to_string()),
                    None => break,
                },
                recv(&results) -> r => match r {
                    Some(s) => lines.push(format!("results {s}")),
                    None => break,
                },
                recv(time::after(timeout)) -> _ => break,
            }
        }
        lines
    })
    .join()
    .unwrap_or_default();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The book's ten replicas of doWork.
fn replicated_requests(out: &mut dyn Write) -> io::Result<()> {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let winner = go(async move {
        let mut seed = u64::from(std::process::id()) | 1;
        let loads: Vec<Duration> = (0..10)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                second() * (1 + (seed % 5) as u32)
            })
            .collect();
        hedge::replicate(&Context::background(), 10, move |ctx, id| {
            let (seen, load) = (seen.clone(), loads[id]);
            async move {
                let started = Instant::now();
                let finished = select_async! {
                    recv(time::after(load)) -> _ => true,
                    recv(ctx.done()) -> _ => false,
                };
                let took = started.elapsed().max(load);
                seen.lock().unwrap().push(format!("{id} took {took:?}"));
                if finished {
                    Ok(id)
                } else {
                    Err("canceled")
                }
            }
        })
        .await
    })
    .join();
    for line in reports.lock().unwrap().iter() {
        writeln!(out, "{line}")?;
    }
    match winner {
        Ok(Ok(id)) => writeln!(out, "Received an answer from #{id}"),
        other => writeln!(out, "no answer: {other:?}"),
    }
}

/// The book's irresponsible ward under a four-second steward, halted at nine.
fn steward(out: &mut dyn Write) -> io::Result<()> {
    let start = Instant::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let stamp = move |log: &Mutex<Vec<String>>, line: &str| {
        let s = (start.elapsed().as_secs_f64() / second().as_secs_f64()).round();
        log.lock().unwrap().push(format!("{s:>2} s  {line}"));
    };
    let ward_log = log.clone();
    let do_work = move |ctx: &Context, _pulse: Duration| {
        stamp(&ward_log, "ward: Hello, I'm irresponsible!");
        let (ctx, log) = (ctx.clone(), ward_log.clone());
        drop(go(async move {
            ctx.done().recv_async().await;
            stamp(&log, "ward: I am halting.");
        }));
        chan::never()
    };
    let steward_log = log.clone();
    let steward = Steward::new(4 * second(), do_work)
        .expect("a nonzero timeout")
        .on_event(move |e| {
            if let StewardEvent::Unhealthy { .. } = e {
                stamp(&steward_log, "steward: ward unhealthy; restarting");
            }
        });
    let (ctx, cancel) = Context::background().with_cancel();
    let main_log = log.clone();
    drop(go(async move {
        time::after(9 * second()).recv_async().await;
        stamp(&main_log, "main: halting steward and ward.");
        drop(cancel);
    }));
    let (pulses, stopped) = steward
        .start(&ctx, 4 * second())
        .expect("a nonzero interval");
    for _ in &pulses {}
    let _ = stopped.join();
    std::thread::sleep(second() / 5); // let the last ward's goroutine log its halt
    stamp(&log, "Done");
    for line in log.lock().unwrap().iter() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

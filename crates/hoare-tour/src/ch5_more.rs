//! Chapter 5, more: timeouts and cancellation (a long calculation made
//! preemptible), the per-unit heartbeat, the unhealthy worker a heartbeat exposes,
//! and a steward whose ward feeds a `bridge`.

use std::io::{self, Write};
use std::time::Duration;

use hoare::context::Context;
use hoare::supervise::{heartbeat, interval_heartbeat, preemptible, Steward};
use hoare::{chan, go, pattern, select, select_async, time};

use crate::{book, book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "timeout-preemptible",
            chapter: 5,
            summary: "reallyLongCalculation checks its context between steps and stops on time",
            run: timeout_preemptible,
        },
        Example {
            name: "heartbeat-per-unit",
            chapter: 5,
            summary: "a pulse before each unit of work: pulse, results, pulse, results, ...",
            run: heartbeat_per_unit,
        },
        Example {
            name: "heartbeat-unhealthy",
            chapter: 5,
            summary: "the worker stops pulsing after two beats: the consumer notices",
            run: heartbeat_unhealthy,
        },
        Example {
            name: "steward-bridge",
            chapter: 5,
            summary:
                "a ward that stops at -1 is restarted; through bridge the consumer sees 1 2 1 2 1 2",
            run: steward_bridge,
        },
    ]
}

/// The book's doWorkFn under a steward: each ward sends its stream of values into
/// a stream of streams, which `bridge` flattens; the ward gives up at -1, its
/// heartbeat falls silent, and the steward starts a new one.
fn steward_bridge(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, cancel) = Context::background().with_cancel();
    let int_list = vec![1, 2, -1, 3, 4, 5];
    let (streams_tx, streams) = chan::<chan::Receiver<i32>>(0);
    let int_stream = pattern::bridge(&ctx, streams);
    let (log_tx, log) = chan::<String>(64);
    let do_work = move |ctx: &Context, pulse_interval: Duration| {
        let (heart, pulses) = match interval_heartbeat(pulse_interval) {
            Ok(h) => h,
            Err(_) => return chan::never(), // a zero interval: no pulses, restarted
        };
        let (tx, rx) = chan::<i32>(0);
        let (ctx, streams_tx, list, log_tx) = (
            ctx.clone(),
            streams_tx.clone(),
            int_list.clone(),
            log_tx.clone(),
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
                        let _ = log_tx.try_send(format!("negative value: {v}"));
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
    let timeout = book(Duration::from_millis(1)).max(Duration::from_micros(100));
    let steward = Steward::new(timeout, do_work).map_err(io::Error::other)?;
    let (_pulses, stopped) = steward
        .start(&ctx, book_secs(3600.0))
        .map_err(io::Error::other)?;
    let first_six = pattern::take(&ctx, int_stream, 6);
    let got: Vec<String> = first_six.iter().map(|v| v.to_string()).collect();
    cancel.cancel();
    let _ = stopped.join();
    for line in log.try_iter() {
        writeln!(out, "ward: {line}")?;
    }
    writeln!(out, "Received: {}", got.join(" "))
}

/// The book's reallyLongCalculation: many small steps, each preemptible, under a
/// timeout (book: 1 s), so cancellation takes effect within one step.
fn timeout_preemptible(out: &mut dyn Write) -> io::Result<()> {
    const STEPS: u64 = 1_000_000_000;
    let (ctx, _cancel) = Context::background().with_timeout(book_secs(1.0));
    let mut steps = preemptible(&ctx, 0..STEPS);
    let mut acc = 0u64;
    let mut done = 0u64;
    for i in &mut steps {
        acc = acc.wrapping_mul(31).wrapping_add(i); // one small step of work
        done += 1;
    }
    std::hint::black_box(acc);
    match ctx.err() {
        Some(e) if steps.interrupted() => writeln!(
            out,
            "reallyLongCalculation stopped after {done} of {STEPS} steps: {e}"
        ),
        _ => writeln!(out, "reallyLongCalculation finished all {STEPS} steps"),
    }
}

/// The book's per-unit-of-work heartbeat: `doWork` beats before sending each
/// result, and the pulses are dropped when nobody is listening.
fn heartbeat_per_unit(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (heart, pulses) = heartbeat();
    let (tx, results) = chan::<u32>(0);
    let worker = {
        let ctx = ctx.clone();
        go(async move {
            for i in 0..10u32 {
                heart.beat(); // one try_send: never blocks
                let sent = select_async! {
                    send(&tx, (i * 7 + 3) % 10) -> r => r.is_ok(),
                    recv(ctx.done()) -> _ => false,
                };
                if !sent {
                    return;
                }
            }
        })
    };
    loop {
        select! {
            recv(&pulses) -> p => match p {
                Some(()) => writeln!(out, "pulse")?,
                None => break,
            },
            recv(&results) -> r => match r {
                Some(r) => writeln!(out, "results {r}")?,
                None => break,
            },
        }
    }
    let _ = worker.join();
    Ok(())
}

/// The book's unhealthy worker: it pulses twice, then hangs; with a timeout of
/// two pulse intervals the consumer declares it unhealthy instead of waiting.
fn heartbeat_unhealthy(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, cancel) = Context::background().with_cancel();
    let (heart, pulses) = heartbeat();
    let (_tx, results) = chan::<u32>(0);
    let interval = book_secs(1.0);
    let worker = {
        let ctx = ctx.clone();
        go(async move {
            for _ in 0..2 {
                heart.beat();
                time::after(interval).recv_async().await;
            }
            ctx.done().recv_async().await; // hangs: no more pulses, no results
        })
    };
    loop {
        select! {
            recv(&pulses) -> p => match p {
                Some(()) => writeln!(out, "pulse")?,
                None => break,
            },
            recv(&results) -> r => writeln!(out, "results {r:?}")?,
            recv(time::after(2 * interval)) -> _ => {
                writeln!(out, "worker goroutine is not healthy!")?;
                break;
            },
        }
    }
    cancel.cancel();
    let _ = worker.join();
    Ok(())
}

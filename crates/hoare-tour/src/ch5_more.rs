//! Chapter 5, more: timeouts and cancellation (a long calculation made
//! preemptible), the per-unit heartbeat, and the unhealthy worker a heartbeat
//! exposes.

use std::io::{self, Write};

use hoare::context::Context;
use hoare::supervise::{heartbeat, preemptible};
use hoare::{chan, go, select, select_async, time};

use crate::{book_secs, Example};

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
    ]
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

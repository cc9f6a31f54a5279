//! Chapter 3, goroutines: the loop-variable capture bug (which Rust refuses to
//! compile), what an idle goroutine costs in memory, and an OS thread switch
//! against a channel hand-off between tasks.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use hoare::chan;
use hoare::sync::WaitGroup;

use crate::Example;

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "goroutine-closure",
            chapter: 3,
            summary:
                "the loop-variable capture bug: Go printed `good day` 3 times; Rust refuses it",
            run: goroutine_closure,
        },
        Example {
            name: "goroutine-memory",
            chapter: 3,
            summary: "the memory of 10,000 idle goroutines (tasks blocked on a channel)",
            run: goroutine_memory,
        },
        Example {
            name: "context-switch",
            chapter: 3,
            summary: "a hand-off between OS threads against one between tasks, per switch",
            run: context_switch,
        },
    ]
}

/// The book's salutations. Without `move`, the closure would borrow `salutation`
/// past its loop iteration: E0373, so the bug cannot be written; with `move` each
/// goroutine owns its own string.
fn goroutine_closure(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Go (before 1.22) printed `good day` three times: the goroutines shared the loop variable."
    )?;
    writeln!(
        out,
        "Rust: `go_blocking(|| println!(\"{{salutation}}\"))` is error[E0373]: the closure may outlive \
         the loop iteration that owns `salutation`; `move` gives each goroutine its own:"
    )?;
    let wg = WaitGroup::new();
    let (said_tx, said) = chan::<String>(3);
    for salutation in ["hello", "greetings", "good day"] {
        let said_tx = said_tx.clone();
        drop(wg.go(move || said_tx.send(salutation.to_string())));
    }
    wg.wait();
    drop(said_tx);
    let mut lines: Vec<String> = said.iter().collect();
    lines.sort(); // goroutines finish in any order
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Resident memory of the process, in bytes (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The book's measurement: goroutines that never finish (they wait on a channel
/// nobody writes), counted by the memory they add. The book found ~2.8 KB each.
fn goroutine_memory(out: &mut dyn Write) -> io::Result<()> {
    const N: u64 = 10_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let (release, blocked) = chan::<()>(0);
    let (started_tx, started) = chan::<()>(N as usize);
    let before = resident_bytes();
    for _ in 0..N {
        let (blocked, started_tx) = (blocked.clone(), started_tx.clone());
        rt.spawn(async move {
            let _ = started_tx.try_send(());
            let _ = blocked.recv_async().await; // idle until released
        });
    }
    for _ in 0..N {
        let _ = started.recv();
    }
    let after = resident_bytes();
    drop(release); // every goroutine returns
    drop(rt);
    match (before, after) {
        (Some(b), Some(a)) => writeln!(
            out,
            "{N} idle goroutines: {:.2} KB each (the book: ~2.8 KB per goroutine)",
            a.saturating_sub(b) as f64 / N as f64 / 1000.0
        ),
        _ => writeln!(out, "resident memory is not readable on this system"),
    }
}

/// The book compares an OS thread context switch (1.467 µs) with a goroutine
/// channel hand-off (0.225 µs). Here: a round trip between two OS threads blocked
/// on a hoare channel (each hand-off wakes a parked thread), and between two
/// tasks on one runtime thread (each hand-off is a task switch).
fn context_switch(out: &mut dyn Write) -> io::Result<()> {
    const ROUND_TRIPS: u32 = 20_000;
    let per_switch = |d: Duration| d / (2 * ROUND_TRIPS);

    let (ping_tx, ping) = chan::<u32>(0);
    let (pong_tx, pong) = chan::<u32>(0);
    let echo = std::thread::spawn(move || {
        for v in &ping {
            if pong_tx.send(v).is_err() {
                return;
            }
        }
    });
    let start = Instant::now();
    for i in 0..ROUND_TRIPS {
        let _ = ping_tx.send(i);
        let _ = pong.recv();
    }
    let threads = per_switch(start.elapsed());
    drop(ping_tx);
    let _ = echo.join();

    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let tasks = rt.block_on(async {
        let (ping_tx, ping) = chan::<u32>(0);
        let (pong_tx, pong) = chan::<u32>(0);
        let echo = tokio::spawn(async move {
            while let Some(v) = ping.recv_async().await {
                if pong_tx.send_async(v).await.is_err() {
                    return;
                }
            }
        });
        let start = Instant::now();
        for i in 0..ROUND_TRIPS {
            let _ = ping_tx.send_async(i).await;
            let _ = pong.recv_async().await;
        }
        let took = per_switch(start.elapsed());
        drop(ping_tx);
        let _ = echo.await;
        took
    });
    writeln!(
        out,
        "OS threads, hand-off over a channel: {threads:>10.2?} per switch"
    )?;
    writeln!(
        out,
        "tasks, hand-off over a channel:      {tasks:>10.2?} per switch"
    )?;
    writeln!(
        out,
        "the task hand-off is {:.0}% faster (the book: 92%)",
        100.0 * (1.0 - tasks.as_secs_f64() / threads.as_secs_f64().max(1e-12))
    )
}

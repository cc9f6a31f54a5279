//! Chapter 3: the sync package: `Cond` (a queue capped at two with `Signal`; the
//! button whose click `Broadcast`s to every handler) and `Pool` (a warm cache of
//! expensive connections against making one per request).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoare::sync::{Cond, Pool, WaitGroup};

use crate::{book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "cond-queue",
            chapter: 3,
            summary: "a queue capped at two: removals Signal the goroutine waiting to add",
            run: cond_queue,
        },
        Example {
            name: "cond-broadcast",
            chapter: 3,
            summary: "a button click Broadcasts to every subscribed handler",
            run: cond_broadcast,
        },
        Example {
            name: "pool-warm-cache",
            chapter: 3,
            summary: "a pool warmed with connections against connecting per request",
            run: pool_warm_cache,
        },
    ]
}

/// The book's queue of length 2: ten items are added; whenever two are queued
/// the adder waits until a delayed removal signals it.
fn cond_queue(out: &mut dyn Write) -> io::Result<()> {
    let shared = Arc::new((Mutex::new(VecDeque::<u32>::new()), Cond::new()));
    let (lines_tx, lines) = hoare::chan::<String>(32);
    let wg = WaitGroup::new();
    for i in 0..10 {
        let mut queue = shared.0.lock().unwrap_or_else(|p| p.into_inner());
        while queue.len() == 2 {
            queue = shared.1.wait(&shared.0, queue);
        }
        writeln!(out, "Adding to queue")?;
        queue.push_back(i);
        drop(queue);
        let (shared, lines_tx) = (shared.clone(), lines_tx.clone());
        drop(wg.go(move || {
            std::thread::sleep(book_secs(1.0));
            let mut queue = shared.0.lock().unwrap_or_else(|p| p.into_inner());
            queue.pop_front();
            let _ = lines_tx.send("Removed from queue".to_string());
            drop(queue);
            shared.1.signal();
        }));
        for line in lines.try_iter() {
            writeln!(out, "{line}")?;
        }
    }
    wg.wait();
    drop(lines_tx);
    for line in lines.iter() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The book's button: three handlers subscribe to its click with `Broadcast`;
/// one click runs them all.
fn cond_broadcast(out: &mut dyn Write) -> io::Result<()> {
    struct Button {
        clicked: Cond,
        lock: Mutex<bool>,
    }
    let button = Arc::new(Button {
        clicked: Cond::new(),
        lock: Mutex::new(false),
    });
    let (said_tx, said) = hoare::chan::<&str>(3);
    let handlers = WaitGroup::new();
    let subscribe = |message: &'static str| {
        let (running_tx, running) = hoare::chan::<()>(0);
        let (button, said_tx) = (button.clone(), said_tx.clone());
        drop(handlers.go(move || {
            let mut clicked = button.lock.lock().unwrap_or_else(|p| p.into_inner());
            drop(running_tx); // subscribed: the book's goroutineRunning.Done()
            while !*clicked {
                clicked = button.clicked.wait(&button.lock, clicked);
            }
            let _ = said_tx.send(message);
        }));
        let _ = running.recv(); // wait until the handler holds the lock
    };
    subscribe("Maximizing window.");
    subscribe("Displaying annoying dialog box!");
    subscribe("Mouse clicked.");
    *button.lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
    button.clicked.broadcast();
    handlers.wait();
    drop(said_tx);
    for line in said.iter() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A stand-in for `connectToService`: the book sleeps a second; this does a
/// fixed ~10 µs of work, so the comparison runs in a moment.
fn connect_to_service() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..16 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The book's warmServiceConnCache against connecting per request: the same
/// number of requests each way, and the speed-up the pool gives.
fn pool_warm_cache(out: &mut dyn Write) -> io::Result<()> {
    const REQUESTS: usize = 2_000;
    let pool = Pool::new(connect_to_service);
    for _ in 0..10 {
        pool.put(connect_to_service());
    }
    let mut checksum = 0u64;
    let start = Instant::now();
    for i in 0..REQUESTS {
        let conn = pool.get();
        checksum += u64::from(conn[i % conn.len()]);
    }
    let pooled = start.elapsed();
    let start = Instant::now();
    for i in 0..REQUESTS {
        let conn = connect_to_service();
        checksum += u64::from(conn[i % conn.len()]);
    }
    let each_time = start.elapsed();
    std::hint::black_box(checksum);
    let per = |d: Duration| d / REQUESTS as u32;
    writeln!(out, "warm pool:        {:>10?} per request", per(pooled))?;
    writeln!(out, "connect per call: {:>10?} per request", per(each_time))?;
    writeln!(
        out,
        "the pool is {:.0}x faster (the book measured 344x with a 1 s connect)",
        each_time.as_secs_f64() / pooled.as_secs_f64().max(1e-9)
    )
}

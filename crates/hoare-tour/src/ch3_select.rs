//! Chapter 3, the `select` statement: waiting on several channels at once.
//!
//! The book's waits run at the book's pace, scaled by `--speed`
//! ([`crate::book`]). What each example prints has the book's shape.

use std::io::{self, Write};
use std::thread;
use std::time::Instant;

use hoare::{chan, select, time};

use crate::{book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "select-unblock",
            chapter: 3,
            summary: "a select blocks until one of its channels is ready (here: closed)",
            run: select_unblock,
        },
        Example {
            name: "select-fair",
            chapter: 3,
            summary: "two always-ready cases: each is chosen about half the time",
            run: select_fair,
        },
        Example {
            name: "select-timeout",
            chapter: 3,
            summary: "time::after as a select case: give up on a channel nobody uses",
            run: select_timeout,
        },
        Example {
            name: "select-default",
            chapter: 3,
            summary: "for-select with default: do work until told to stop",
            run: select_default,
        },
    ]
}

/// The book's first select: a goroutine closes `c` after a while; the select on it
/// returns then. (Book: 5 s.)
fn select_unblock(out: &mut dyn Write) -> io::Result<()> {
    let start = Instant::now();
    let (c_tx, c) = chan::<()>(0);
    let closer = thread::spawn(move || {
        thread::sleep(book_secs(5.0));
        // Closing wakes the select; `close` cannot fail on a fresh channel.
        let _ = c_tx.close();
    });
    writeln!(out, "Blocking on read...")?;
    select! {
        recv(&c) -> _ => writeln!(out, "Unblocked {:?} later.", start.elapsed())?,
    }
    closer.join().expect("the closer does not panic");
    Ok(())
}

/// The book's `c1Count`/`c2Count`: two closed channels are always ready, and Go
/// picks between them uniformly at random; so does hoare.
fn select_fair(out: &mut dyn Write) -> io::Result<()> {
    let (c1_tx, c1) = chan::<()>(0);
    let (c2_tx, c2) = chan::<()>(0);
    drop((c1_tx, c2_tx)); // both closed
    let (mut c1_count, mut c2_count) = (0, 0);
    for _ in 0..1000 {
        select! {
            recv(&c1) -> _ => c1_count += 1,
            recv(&c2) -> _ => c2_count += 1,
        }
    }
    writeln!(out, "c1Count: {c1_count}")?;
    writeln!(out, "c2Count: {c2_count}")
}

/// The book's timeout: nobody ever sends on `c`, so the timer case fires.
/// (Book: 1 s.)
fn select_timeout(out: &mut dyn Write) -> io::Result<()> {
    let (_c_tx, c) = chan::<()>(0);
    select! {
        recv(&c) -> _ => writeln!(out, "Received from c.")?,
        recv(time::after(book_secs(1.0))) -> _ => writeln!(out, "Timed out.")?,
    }
    Ok(())
}

/// The book's for-select loop with `default`: count work cycles until `done`
/// closes. (Book: 5 s and 1 s of work per cycle.)
fn select_default(out: &mut dyn Write) -> io::Result<()> {
    let (done_tx, done) = chan::<()>(0);
    let closer = thread::spawn(move || {
        thread::sleep(book_secs(5.0));
        drop(done_tx); // the last sender gone: `done` is closed
    });
    let mut work_counter = 0;
    loop {
        select! {
            recv(&done) -> _ => break,
            default => {}
        }
        // Simulate work.
        work_counter += 1;
        thread::sleep(book_secs(1.0));
    }
    closer.join().expect("the closer does not panic");
    writeln!(
        out,
        "Achieved {work_counter} cycles of work before signalled to stop."
    )
}

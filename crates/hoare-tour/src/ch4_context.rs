//! Chapter 4: preventing goroutine leaks, and the context package.
//!
//! The book's waits run at the book's pace, scaled by `--speed`
//! ([`crate::book`]). What each example prints has the book's shape.

use std::io::{self, Write};
use std::time::Duration;

use hoare::context::{Context, Error};
use hoare::{chan, go, leak, select, time};

use crate::{book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "leak-do-work",
            chapter: 4,
            summary: "doWork on a nil channel: a done signal lets the parent end it; no leak",
            run: leak_do_work,
        },
        Example {
            name: "leak-rand-stream",
            chapter: 4,
            summary: "newRandStream: the producer ends when told, and the leak check agrees",
            run: leak_rand_stream,
        },
        Example {
            name: "context-greeting",
            chapter: 4,
            summary: "greeting times out, which cancels farewell through the shared context",
            run: context_greeting,
        },
    ]
}

/// The book's doWork, given a done signal: with `strings` nil (None) it would wait
/// forever; canceling the context ends it.
fn leak_do_work(out: &mut dyn Write) -> io::Result<()> {
    let tracker = leak::track();
    let (ctx, cancel) = Context::background().with_cancel();
    let (terminated_tx, terminated) = chan::<()>(0);
    let strings: Option<chan::Receiver<String>> = None;
    let (log_tx, log) = chan::<&str>(1);
    drop(go(async move {
        let _terminated = terminated_tx; // closed when this goroutine ends
        loop {
            hoare::select_async! {
                recv(&strings) -> s => if let Some(s) = s { let _ = s; },
                recv(ctx.done()) -> _ => break,
            }
        }
        let _ = log_tx.send_async("doWork exited.").await;
    }));
    std::thread::sleep(book_secs(1.0));
    writeln!(out, "Canceling doWork goroutine...")?;
    cancel.cancel();
    let _ = terminated.recv(); // <-terminated
    if let Some(line) = log.recv() {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "Done.")?;
    match tracker.wait_none(Duration::from_secs(1)) {
        Ok(()) => writeln!(out, "leak check: no goroutine left"),
        Err(leaked) => writeln!(out, "leak check: {leaked}"),
    }
}

/// The book's newRandStream: the consumer takes three numbers, then closes done.
fn leak_rand_stream(out: &mut dyn Write) -> io::Result<()> {
    let tracker = leak::track();
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rand_stream) = chan::<u64>(0);
    let (log_tx, log) = chan::<&str>(1);
    drop(go(async move {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        loop {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hoare::select_async! {
                send(&tx, x % 1000) -> res => if res.is_err() { break },
                recv(ctx.done()) -> _ => break,
            }
        }
        let _ = log_tx.send_async("newRandStream closure exited.").await;
    }));
    writeln!(out, "3 random ints:")?;
    for i in 1..=3 {
        writeln!(out, "{i}: {}", rand_stream.recv().unwrap_or_default())?;
    }
    cancel.cancel();
    if let Some(line) = log.recv() {
        writeln!(out, "{line}")?;
    }
    match tracker.wait_none(Duration::from_secs(1)) {
        Ok(()) => writeln!(out, "leak check: no goroutine left"),
        Err(leaked) => writeln!(out, "leak check: {leaked}"),
    }
}

/// The book's greeting/farewell with context: genGreeting allows its locale call
/// a short timeout (book: 1 s), locale needs longer (book: 1 min), so the greeting
/// fails with "context deadline exceeded", and its failure cancels the shared
/// context, so the farewell fails with "context canceled".
fn context_greeting(out: &mut dyn Write) -> io::Result<()> {
    fn locale(ctx: &Context) -> Result<&'static str, Error> {
        select! {
            recv(ctx.done()) -> _ => Err(ctx.err().unwrap_or(Error::Canceled)),
            recv(time::after(book_secs(60.0))) -> _ => Ok("EN/US"),
        }
    }
    fn gen_greeting(ctx: &Context) -> Result<&'static str, Error> {
        let (ctx, _cancel) = ctx.with_timeout(book_secs(1.0));
        locale(&ctx).map(|_| "hello")
    }
    fn gen_farewell(ctx: &Context) -> Result<&'static str, Error> {
        locale(ctx).map(|_| "goodbye")
    }

    let (ctx, cancel) = Context::background().with_cancel();
    let greeting = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let r = gen_greeting(&ctx);
            if r.is_err() {
                cancel.cancel();
            }
            r
        })
    };
    let farewell = std::thread::spawn(move || gen_farewell(&ctx));
    let greeting = greeting.join().expect("greeting does not panic");
    let farewell = farewell.join().expect("farewell does not panic");
    match greeting {
        Ok(g) => writeln!(out, "{g} world!")?,
        Err(e) => writeln!(out, "cannot print greeting: {e}")?,
    }
    match farewell {
        Ok(f) => writeln!(out, "{f} world!"),
        Err(e) => writeln!(out, "cannot print farewell: {e}"),
    }
}

//! Chapter 4: confinement, the or-channel, error handling, pipelines, fan-out and
//! fan-in, or-done, tee, bridge, and queuing, with `hoare::pattern`.
//!
//! The book's waits run at the book's pace, scaled by `--speed`
//! ([`crate::book`]). What each example prints has the book's shape.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use hoare::context::Context;
use hoare::pattern::{self, Pipeline, PipelineError};
use hoare::{chan, go_blocking, time};

use crate::{book, book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "confinement-ad-hoc",
            chapter: 4,
            summary: "loopData alone reads `data`: Go's convention, Rust's move",
            run: confinement_ad_hoc,
        },
        Example {
            name: "confinement-lexical",
            chapter: 4,
            summary: "the channel's owner writes, the consumer only reads; printData on halves",
            run: confinement_lexical,
        },
        Example {
            name: "for-select",
            chapter: 4,
            summary: "sending iteration values until done; looping with a default until done",
            run: for_select,
        },
        Example {
            name: "or-channel",
            chapter: 4,
            summary: "or over signals of 2h, 5m, 1s, 1h, 1m fires with the first",
            run: or_channel,
        },
        Example {
            name: "error-handling",
            chapter: 4,
            summary: "checkStatus against a loopback HTTP server and a bad host; stop at 3 errors",
            run: error_handling,
        },
        Example {
            name: "pipeline",
            chapter: 4,
            summary: "generator → multiply(2) → add(1) → multiply(2) over 1, 2, 3, 4",
            run: pipeline_example,
        },
        Example {
            name: "fan-out-primes",
            chapter: 4,
            summary: "the slow prime finder, alone and fanned out to every core, timed",
            run: fan_out_primes,
        },
        Example {
            name: "or-done",
            chapter: 4,
            summary: "a plain for loop over or_done stops when the context is cancelled",
            run: or_done_example,
        },
        Example {
            name: "tee",
            chapter: 4,
            summary: "tee of take(repeat(1, 2), 4): both outputs get every value",
            run: tee_example,
        },
        Example {
            name: "bridge",
            chapter: 4,
            summary: "bridge flattens a channel of ten one-value channels, in order",
            run: bridge_example,
        },
        Example {
            name: "queuing",
            chapter: 4,
            summary: "a pipeline with a slow stage: per-stage λ, W, L and the bottleneck",
            run: queuing,
        },
    ]
}

/// The book's ad hoc confinement: only `loop_data` touches `data`, by convention
/// in Go; in Rust `data` moves into the goroutine, so the convention is checked.
fn confinement_ad_hoc(out: &mut dyn Write) -> io::Result<()> {
    let data = vec![0, 0, 0, 0];
    let (handle_data, rx) = chan::<i32>(0);
    drop(go_blocking(move || {
        for d in data {
            if handle_data.send(d).is_err() {
                return;
            }
        }
    }));
    for num in &rx {
        writeln!(out, "{num}")?;
    }
    Ok(())
}

/// The two for-select loops of the book: send each value of a slice unless done;
/// and do work in a loop, checking done without blocking (`default`).
fn for_select(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, cancel) = Context::background().with_cancel();
    let (string_stream, rx) = chan::<&str>(0);
    let sender = {
        let ctx = ctx.clone();
        go_blocking(move || {
            for s in ["a", "b", "c"] {
                hoare::select! {
                    recv(ctx.done()) -> _ => return,
                    send(&string_stream, s) -> _ => {},
                }
            }
        })
    };
    let got: Vec<&str> = rx.iter().collect();
    writeln!(out, "sent until done: {got:?}")?;
    let _ = sender.join();

    let mut cycles = 0;
    let stop_after = time::after(book_secs(1.0));
    loop {
        hoare::select! {
            recv(ctx.done()) -> _ => break,
            recv(&stop_after) -> _ => cancel.cancel(),
            default => {}
        }
        cycles += 1; // work that must not wait on the select
        std::thread::yield_now();
    }
    writeln!(
        out,
        "did {} units of work before done",
        if cycles > 0 { "some" } else { "no" }
    )
}

/// The book's chanOwner and consumer, then printData over the two halves of
/// "golang": each goroutine can only reach its own half.
fn confinement_lexical(out: &mut dyn Write) -> io::Result<()> {
    let chan_owner = || {
        let (results, rx) = chan::<i32>(5);
        drop(go_blocking(move || {
            for i in 0..=5 {
                let _ = results.send(i);
            }
        }));
        rx
    };
    for result in &chan_owner() {
        writeln!(out, "Received: {result}")?;
    }
    writeln!(out, "Done receiving!")?;

    let data = b"golang".to_vec();
    let (front, back) = data.split_at(3);
    let printed: Vec<String> = std::thread::scope(|s| {
        let a = s.spawn(|| String::from_utf8_lossy(front).into_owned());
        let b = s.spawn(|| String::from_utf8_lossy(back).into_owned());
        [a, b].map(|h| h.join().unwrap_or_default()).to_vec()
    });
    for p in printed {
        writeln!(out, "{p}")?;
    }
    Ok(())
}

/// The or-channel over five signals; the shortest (the book's 1 s) wins. One goroutine watches all five, where the book grows a tree.
fn or_channel(out: &mut dyn Write) -> io::Result<()> {
    let start = Instant::now();
    let sig = |secs: f64| time::after(book_secs(secs));
    let done = pattern::or([
        sig(2.0 * 3600.0),
        sig(5.0 * 60.0),
        sig(1.0),
        sig(3600.0),
        sig(60.0),
    ]);
    let _ = done.recv();
    writeln!(out, "done after {:?}", start.elapsed())
}

/// A one-request HTTP server on loopback, answering `200 OK` to every request
/// until the returned guard's channel closes.
fn loopback_server() -> io::Result<(String, chan::Sender<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/", listener.local_addr()?);
    let (stop, stopped) = chan::<()>(0);
    drop(go_blocking(move || loop {
        match listener.accept() {
            Ok((mut conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let mut line = String::new();
                let _ = BufReader::new(&conn).read_line(&mut line);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stopped.recv_timeout(Duration::from_millis(5)).is_err() && stopped.is_closed() {
                    return;
                }
            }
            Err(_) => return,
        }
    }));
    Ok((url, stop))
}

/// A minimal `http.Get`: the status line of `url`, or Go's error for a URL
/// without a scheme.
fn http_get(url: &str) -> Result<String, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("Get \"{url}\": unsupported protocol scheme \"\""));
    };
    let host = rest.split('/').next().unwrap_or(rest);
    let mut conn = TcpStream::connect(host).map_err(|e| format!("Get \"{url}\": {e}"))?;
    conn.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut status = String::new();
    BufReader::new(conn)
        .read_line(&mut status)
        .map_err(|e| e.to_string())?;
    Ok(status
        .trim_start_matches("HTTP/1.1 ")
        .trim_end()
        .to_string())
}

/// The book's checkStatus loop, with a result type: the consumer sees each error
/// and stops after three.
fn error_handling(out: &mut dyn Write) -> io::Result<()> {
    let (server, _stop) = loopback_server()?;
    let (ctx, _cancel) = Context::background().with_cancel(); // defer close(done)

    // The book's first check: a live server and a bad host (here a loopback port
    // nobody listens on), each result carrying its error.
    let bad_host = "http://127.0.0.1:9/".to_string();
    let first = Pipeline::new(&ctx, [server.clone(), bad_host])
        .try_stage("get", 1, |u: String| http_get(&u));
    for result in first.output() {
        match result {
            Ok(status) => writeln!(out, "Response: {status}")?,
            Err(PipelineError::Stage { source, .. }) => writeln!(out, "error: {source}")?,
            Err(other) => writeln!(out, "error: {other}")?,
        }
    }

    // Then the consumer decides: three errors are too many.
    let urls = vec!["a".to_string(), server, "b".into(), "c".into(), "d".into()];
    let check_status = Pipeline::new(&ctx, urls).try_stage("get", 1, |u: String| http_get(&u));
    let mut err_count = 0;
    for result in check_status.output() {
        match result {
            Err(PipelineError::Stage { source, .. }) => {
                writeln!(out, "error: {source}")?;
                err_count += 1;
                if err_count >= 3 {
                    writeln!(out, "Too many errors, breaking!")?;
                    break;
                }
            }
            Err(other) => writeln!(out, "error: {other}")?,
            Ok(status) => writeln!(out, "Response: {status}")?,
        }
    }
    Ok(())
}

/// The book's channel pipeline.
fn pipeline_example(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let p = Pipeline::new(&ctx, [1, 2, 3, 4])
        .stage("multiply", 1, |v: i32| v * 2)
        .stage("add", 1, |v| v + 1)
        .stage("multiply", 1, |v| v * 2);
    for v in p.output().into_iter().flatten() {
        writeln!(out, "{v}")?;
    }
    Ok(())
}

/// The book's deliberately slow prime test: every divisor from n - 1 down.
fn is_prime(n: u64) -> bool {
    n >= 2 && (2..n).rev().all(|d| n % d != 0)
}

/// Ten primes among random ints, found by one finder and then by one per core.
fn fan_out_primes(out: &mut dyn Write) -> io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for workers in [1, cores] {
        let (ctx, cancel) = Context::background().with_cancel();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let rand_ints = pattern::repeat_fn(&ctx, move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % 1_000_000
        });
        let start = Instant::now();
        let finders = pattern::fan_out(&ctx, rand_ints, workers, |n| is_prime(n).then_some(n));
        let primes: Vec<u64> = pattern::fan_in(&ctx, finders)
            .iter()
            .flatten()
            .take(10)
            .collect();
        let took = start.elapsed();
        cancel.cancel();
        writeln!(out, "{workers} finder(s): primes {primes:?}")?;
        writeln!(out, "  Search took: {took:?}")?;
    }
    Ok(())
}

/// or-done: the loop body is plain; cancellation ends it.
fn or_done_example(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, cancel) = Context::background().with_cancel();
    let my_chan = pattern::repeat(&ctx, ["tick"]);
    let (inner, _keep) = Context::background().with_cancel();
    for (i, val) in pattern::or_done(&inner, my_chan).into_iter().enumerate() {
        writeln!(out, "{i}: {val}")?;
        if i == 2 {
            cancel.cancel(); // the source stops; or_done ends the loop
        }
    }
    writeln!(out, "loop ended after the cancel")
}

/// The book's tee of take(repeat(1, 2), 4).
fn tee_example(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let (out1, out2) = pattern::tee(&ctx, pattern::take(&ctx, pattern::repeat(&ctx, [1, 2]), 4));
    for val1 in &out1 {
        writeln!(
            out,
            "out1: {val1}, out2: {}",
            out2.recv().unwrap_or_default()
        )?;
    }
    Ok(())
}

/// The book's bridge over genVals.
fn bridge_example(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let gen_vals = pattern::generator(
        &ctx,
        (0..10).map(|i| {
            let (tx, stream) = chan(1);
            let _ = tx.try_send(i);
            stream // closed: its sender is dropped here
        }),
    );
    let vals: Vec<String> = pattern::bridge(&ctx, gen_vals)
        .iter()
        .map(|v: i32| v.to_string())
        .collect();
    writeln!(out, "{}", vals.join(" "))
}

/// The Queuing section made visible: a pipeline whose middle stage is slow. The
/// stage before it blocks on send, the one after it waits on receive, and Little's
/// law L = λW holds for each.
fn queuing(out: &mut dyn Write) -> io::Result<()> {
    let (ctx, _cancel) = Context::background().with_cancel();
    let p = Pipeline::new(&ctx, 0..200u64)
        .buffer(4)
        .stage("parse", 1, |v| v)
        .stage_async("slow lookup", 1, |v| async move {
            time::after(book(Duration::from_millis(1)))
                .recv_async()
                .await; // a slow call
            v
        })
        .stage("format", 1, |v| v.to_string());
    let count = p.output().into_iter().count();
    writeln!(out, "{count} items through 3 stages")?;
    let stats = p.stats();
    for s in &stats {
        writeln!(out, "  {s}")?;
        let lambda_w = s.throughput() * s.mean_time_in_stage().as_secs_f64();
        writeln!(
            out,
            "    L = {:.3}, λW = {:.3}",
            s.mean_occupancy(),
            lambda_w
        )?;
    }
    if let Some(b) = stats
        .iter()
        .max_by(|a, b| a.utilization().total_cmp(&b.utilization()))
    {
        writeln!(
            out,
            "bottleneck: {} ({:.0}% busy)",
            b.name,
            b.utilization() * 100.0
        )?;
    }
    Ok(())
}

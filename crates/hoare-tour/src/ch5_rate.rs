//! Chapter 5, rate limiting: the book's `APIConnection` with one limiter, then a
//! `MultiLimiter` of a per-second and a per-minute limit, then separate api, disk
//! and network limits. Each call's time is printed in the book's seconds.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

use hoare::context::Context;
use hoare::go_blocking;
use hoare::rate::{per, Limit, Limiter, MultiLimiter, RateLimiter};

use crate::{book_seconds_of, book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "rate-single",
            chapter: 5,
            summary: "one limiter of 1 per second, burst 1: the 20 calls come one a second",
            run: rate_single,
        },
        Example {
            name: "rate-multi",
            chapter: 5,
            summary: "2 per second and 10 per minute: ten calls quickly, then one every 6 s",
            run: rate_multi,
        },
        Example {
            name: "rate-api-disk-network",
            chapter: 5,
            summary: "ReadFile waits on api and disk limits, ResolveAddress on api and network",
            run: rate_api_disk_network,
        },
    ]
}

/// A limiter of `n` events per `secs` of the book's time, with `burst`.
fn limiter(n: u32, secs: f64, burst: usize) -> Arc<dyn RateLimiter> {
    Arc::new(Limiter::new(per(n, book_secs(secs)), burst))
}

/// The book's `APIConnection`: what each call waits on.
struct ApiConnection {
    read_file: Arc<dyn RateLimiter>,
    resolve_address: Arc<dyn RateLimiter>,
}

/// The book's `main`: ten `ReadFile` and ten `ResolveAddress` calls at once, each
/// logged with the time it got through.
fn run_calls(conn: ApiConnection, out: &mut dyn Write) -> io::Result<()> {
    let conn = Arc::new(conn);
    let ctx = Context::background();
    let start = Instant::now();
    let (log_tx, log) = hoare::chan::<(f64, String)>(20);
    for i in 0..20 {
        let (conn, ctx, log_tx) = (conn.clone(), ctx.clone(), log_tx.clone());
        drop(go_blocking(move || {
            let (name, limit) = if i < 10 {
                ("ReadFile", &conn.read_file)
            } else {
                ("ResolveAddress", &conn.resolve_address)
            };
            let line = match limit.wait(&ctx) {
                Ok(()) => name.to_string(),
                Err(e) => format!("cannot {name}: {e}"),
            };
            let _ = log_tx.send((book_seconds_of(start.elapsed()), line));
        }));
    }
    drop(log_tx);
    for (at, line) in &log {
        writeln!(out, "{at:>6.1}s {line}")?;
    }
    writeln!(out, "Done.")
}

/// One limiter, `rate.NewLimiter(rate.Limit(1), 1)`, for both calls.
fn rate_single(out: &mut dyn Write) -> io::Result<()> {
    let one: Arc<dyn RateLimiter> = Arc::new(Limiter::new(
        Limit::from(1.0 / book_secs(1.0).as_secs_f64()),
        1,
    ));
    run_calls(
        ApiConnection {
            read_file: one.clone(),
            resolve_address: one,
        },
        out,
    )
}

/// `MultiLimiter(Per(2, time.Second) burst 1, Per(10, time.Minute) burst 10)`.
fn rate_multi(out: &mut dyn Write) -> io::Result<()> {
    let api: Arc<dyn RateLimiter> = Arc::new(MultiLimiter::new([
        limiter(2, 1.0, 1),
        limiter(10, 60.0, 10),
    ]));
    run_calls(
        ApiConnection {
            read_file: api.clone(),
            resolve_address: api,
        },
        out,
    )
}

/// The book's last `Open`: api (2/s burst 2, 10/min burst 10), disk (1/s) and
/// network (3/s burst 3) limits, combined per call.
fn rate_api_disk_network(out: &mut dyn Write) -> io::Result<()> {
    let api: Arc<dyn RateLimiter> = Arc::new(MultiLimiter::new([
        limiter(2, 1.0, 2),
        limiter(10, 60.0, 10),
    ]));
    let disk = limiter(1, 1.0, 1);
    let network = limiter(3, 1.0, 3);
    run_calls(
        ApiConnection {
            read_file: Arc::new(MultiLimiter::new([api.clone(), disk])),
            resolve_address: Arc::new(MultiLimiter::new([api, network])),
        },
        out,
    )
}

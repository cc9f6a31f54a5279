//! The Redis-backed limiter against a real `redis-server`, started on a free
//! loopback port for each test and killed when the test ends (even when it fails).
//!
//! Without `redis-server` on the PATH each test prints that it was skipped, and why,
//! and passes, unless `HOARE_REQUIRE_REDIS=1`, which makes a missing server fail
//! (CI sets it after installing Redis).
#![cfg(feature = "redis")]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoare::context::Context;
use hoare::rate::redis::{FailMode, RedisLimitError, RedisLimiter};
use hoare::rate::{Limit, RateLimiter, WaitError};

/// A `redis-server` child process; killed and reaped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts a server with no persistence on a free port, or `None` (after saying
    /// why) when there is no `redis-server` and the environment allows skipping.
    fn start(test: &str) -> Option<Server> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let why = format!("cannot start redis-server: {e}");
                if std::env::var("HOARE_REQUIRE_REDIS").as_deref() == Ok("1") {
                    panic!("{test}: {why} (HOARE_REQUIRE_REDIS=1)");
                }
                eprintln!("SKIPPED {test}: {why}; install Redis or run .ci/run");
                return None;
            }
        };
        let server = Server { child, port };
        // Bounded wait for the server to accept connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn limiter(server: &Server, key: &str, limit: f64, burst: usize) -> RedisLimiter {
    RedisLimiter::connect(server.client(), key, Limit::from(limit), burst)
        .await
        .expect("connect to the test server")
}

/// Two clients with their own connections share one key: between them they get
/// exactly the burst of a bucket that does not refill in the test's time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_share_one_bucket() {
    let Some(server) = Server::start("two_clients_share_one_bucket") else {
        return;
    };
    let a = limiter(&server, "shared", 0.001, 3).await;
    let b = limiter(&server, "shared", 0.001, 3).await;
    let mut allowed = 0;
    for i in 0..10 {
        let lim = if i % 2 == 0 { &a } else { &b };
        if lim.allow_n(1).await.unwrap() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3);
    // Another key is another bucket.
    assert!(a.for_key("other").allow_n(3).await.unwrap());
}

/// Two clients hammer one key at once: together they never exceed the limit (the
/// server's clock decides, so the window the clients measure bounds it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_never_exceed_the_limit() {
    let Some(server) = Server::start("concurrent_clients_never_exceed_the_limit") else {
        return;
    };
    const LIMIT: f64 = 200.0;
    const BURST: usize = 10;
    let a = limiter(&server, "hammered", LIMIT, BURST).await;
    let b = limiter(&server, "hammered", LIMIT, BURST).await;
    let start = Instant::now();
    let run = |lim: RedisLimiter| async move {
        let mut allowed = 0u64;
        for _ in 0..600 {
            allowed += u64::from(lim.allow_n(1).await.unwrap());
        }
        allowed
    };
    let (x, y) = tokio::join!(tokio::spawn(run(a)), tokio::spawn(run(b)));
    let elapsed = start.elapsed().as_secs_f64();
    let total = x.unwrap() + y.unwrap();
    let most = BURST as f64 + LIMIT * elapsed + 1.0;
    assert!(
        total as f64 <= most,
        "{total} allowed in {elapsed}s, at most {most}"
    );
    assert!(total >= BURST as u64, "{total} allowed: not even the burst");
}

/// Reservations report the wait; a deadline too close fails at once; a batch in
/// one round trip gives one decision per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_wait_and_batch() {
    let Some(server) = Server::start("reserve_wait_and_batch") else {
        return;
    };
    let lim = limiter(&server, "reserve", 1.0, 1).await;
    assert_eq!(lim.reserve_n(1, None).await.unwrap(), Some(Duration::ZERO));
    let wait = lim.reserve_n(1, None).await.unwrap().unwrap();
    assert!(
        wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert!(matches!(
        lim.reserve_n(2, None).await,
        Err(RedisLimitError::ExceedsBurst { n: 2, burst: 1 })
    ));

    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(100));
    let started = Instant::now();
    assert_eq!(
        lim.wait_async(&ctx).await,
        Err(WaitError::WouldExceedDeadline { n: 1 })
    );
    assert!(started.elapsed() < Duration::from_secs(5), "failed at once");

    let never_refills = limiter(&server, "zero", 0.0, 2).await;
    assert!(never_refills.allow_n(2).await.unwrap());
    assert!(!never_refills.allow_n(1).await.unwrap());

    let batch = limiter(&server, "batch", 0.001, 4).await;
    let got = batch.allow_batch(6).await.unwrap();
    assert_eq!(got, [true, true, true, true, false, false]);
}

/// The blocking wait of the trait, from plain threads, shares the bucket too.
#[test]
fn blocking_wait_from_threads() {
    let Some(server) = Server::start("blocking_wait_from_threads") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lim = Arc::new(rt.block_on(limiter(&server, "threads", 50.0, 2)));
    let start = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let lim = lim.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    lim.wait(&Context::background()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 6 tokens at 50/s with a burst of 2: the last comes 80ms in.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(70), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Redis down: a typed error (fail closed), or a pass (fail open).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_is_a_typed_error() {
    let Some(mut server) = Server::start("unreachable_redis_is_a_typed_error") else {
        return;
    };
    let closed = limiter(&server, "down", 1.0, 1).await;
    let open = closed.clone().on_unavailable(FailMode::Open);
    assert!(closed.allow_n(1).await.unwrap());
    let _ = server.child.kill();
    let _ = server.child.wait();

    let err = closed.allow_n(1).await.unwrap_err();
    assert!(matches!(err, RedisLimitError::Unavailable(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("rate: redis unavailable: "),
        "{err}"
    );
    assert!(matches!(
        closed.wait_async(&Context::background()).await,
        Err(WaitError::Unavailable(_))
    ));
    assert!(open.allow_n(1).await.unwrap(), "fail open lets it through");

    let refused = RedisLimiter::connect(server.client(), "k", Limit::from(1.0), 1).await;
    assert!(matches!(refused, Err(RedisLimitError::Unavailable(_))));
}

#[test]
fn redis_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RedisLimiter>();
    send_sync::<RedisLimitError>();
    send_sync::<FailMode>();
}

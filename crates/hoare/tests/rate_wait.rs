//! Waiting on limiters: ports of x/time/rate's `Wait` tests (on tokio's paused
//! clock, and from threads), and the book's `MultiLimiter` schedule.

use std::sync::Arc;
use std::time::Duration;

use hoare::context::{Context, Error};
use hoare::rate::{per, Limit, Limiter, MultiLimiter, RateLimiter, WaitError};
use tokio::time::Instant;

const D: Duration = Duration::from_millis(100);

/// Now on tokio's (paused) clock, for the `_at` forms.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// x/time/rate's `TestWaitSimple`.
#[tokio::test(start_paused = true)]
async fn wait_simple() {
    let lim = Limiter::new(10.0.into(), 3);

    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    assert_eq!(
        lim.wait_n_async(&ctx, 1).await,
        Err(WaitError::Canceled(Error::Canceled)),
        "already canceled"
    );

    let bg = Context::background();
    assert_eq!(
        lim.wait_n_async(&bg, 4).await,
        Err(WaitError::ExceedsBurst { n: 4, burst: 3 })
    );

    let start = Instant::now();
    lim.wait_n_async(&bg, 2).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "act now");
    lim.wait_n_async(&bg, 3).await.unwrap();
    assert_eq!(
        start.elapsed(),
        2 * D,
        "act later: 1 token left, 2 more at 10/s"
    );
}

/// x/time/rate's `TestWaitCancel`: a wait canceled half way gives its tokens back.
#[tokio::test(start_paused = true)]
async fn wait_cancel() {
    let lim = Limiter::new(10.0.into(), 3);
    let (ctx, cancel) = Context::background().with_cancel();
    lim.wait_n_async(&ctx, 2).await.unwrap(); // 1 token left

    let start = Instant::now();
    let canceler = async {
        tokio::time::sleep(D).await;
        cancel.cancel();
    };
    let (got, ()) = tokio::join!(lim.wait_n_async(&ctx, 3), canceler);
    assert_eq!(got, Err(WaitError::Canceled(Error::Canceled)));
    assert_eq!(start.elapsed(), D, "returned when canceled");

    // The 3 tokens are back: 1 + 1 accrued = 2, so 2 may go at once.
    let start = Instant::now();
    lim.wait_n_async(&Context::background(), 2).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// x/time/rate's `TestWaitTimeout`: a deadline before the tokens come fails at
/// once and reserves nothing.
#[tokio::test(start_paused = true)]
async fn wait_timeout() {
    let lim = Limiter::new(10.0.into(), 3);
    let (ctx, _cancel) = Context::background().with_timeout(D);
    lim.wait_n_async(&ctx, 2).await.unwrap();
    let start = Instant::now();
    assert_eq!(
        lim.wait_n_async(&ctx, 3).await,
        Err(WaitError::WouldExceedDeadline { n: 3 })
    );
    assert_eq!(start.elapsed(), Duration::ZERO, "failed at once");
    assert_eq!(lim.tokens_at(now()), 1.0, "reserved nothing");
}

/// x/time/rate's `TestReserveMax`, through waits bounded by a context deadline of
/// one `d`: a token one `d` away is waited for, one two `d` away fails at once.
#[tokio::test(start_paused = true)]
async fn reserve_max() {
    let lim = Limiter::new(10.0.into(), 2);
    let (ctx, _cancel) = Context::background().with_timeout(D);
    lim.wait_n_async(&ctx, 2).await.unwrap();
    let start = Instant::now();
    let (near, far) = tokio::join!(lim.wait_n_async(&ctx, 1), async {
        let far = lim.wait_n_async(&ctx, 1).await;
        (far, start.elapsed())
    });
    assert_eq!(near, Ok(()), "reserved for the close future");
    assert_eq!(
        far,
        (Err(WaitError::WouldExceedDeadline { n: 1 }), Duration::ZERO)
    );
    assert_eq!(start.elapsed(), D);
}

/// x/time/rate's `TestWaitInf`: an infinite limit ignores the burst.
#[tokio::test(start_paused = true)]
async fn wait_inf() {
    let lim = Limiter::new(Limit::INF, 0);
    let start = Instant::now();
    lim.wait_n_async(&Context::background(), 3).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// Dropping a waiting future gives its tokens back.
#[tokio::test(start_paused = true)]
async fn dropped_wait_gives_tokens_back() {
    let lim = Limiter::new(1.0.into(), 1);
    lim.wait_async(&Context::background()).await.unwrap();
    let bg = Context::background();
    let waiting = lim.wait_async(&bg);
    assert!(tokio::time::timeout(Duration::from_millis(300), waiting)
        .await
        .is_err());
    // 0.3 tokens accrued; the dropped wait's token is back.
    let tokens = lim.tokens_at(now());
    assert!((tokens - 0.3).abs() < 1e-9, "tokens {tokens}");
}

/// The blocking wait from a thread: the errors come at once, a cancel from another
/// thread ends the wait and gives the tokens back.
#[test]
fn wait_blocking() {
    let lim = Arc::new(Limiter::new(0.5.into(), 1)); // a token every 2s
    let bg = Context::background();
    lim.wait(&bg).unwrap();

    let (ctx, _cancel) = bg.with_timeout(Duration::from_millis(50));
    assert_eq!(lim.wait(&ctx), Err(WaitError::WouldExceedDeadline { n: 1 }));

    let (ctx, cancel) = bg.with_cancel();
    let (started_tx, started_rx) = hoare::chan::<()>(0);
    let waiter = {
        let lim = lim.clone();
        std::thread::spawn(move || {
            drop(started_tx);
            lim.wait(&ctx)
        })
    };
    assert_eq!(started_rx.recv(), None); // the waiter is running
    cancel.cancel();
    assert_eq!(
        waiter.join().unwrap(),
        Err(WaitError::Canceled(Error::Canceled))
    );
    assert!(lim.tokens() > 0.0, "the canceled wait's token is back");
}

/// A short blocking wait really waits (generous bounds: real clock).
#[test]
fn wait_blocking_waits() {
    let lim = Limiter::new(per(1, Duration::from_millis(20)), 1);
    let bg = Context::background();
    let start = std::time::Instant::now();
    for _ in 0..3 {
        lim.wait(&bg).unwrap();
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(35), "took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// The book's `APIConnection` with `MultiLimiter(Per(2, time.Second) burst 1,
/// Per(10, time.Minute) burst 10)`: 20 goroutines call it at once. The per-minute
/// limit is the most restrictive, so it is waited on first: 10 calls get its burst
/// at once and the rest one every 6 seconds; the per-second limit then spaces the
/// first 10 half a second apart. The book's log shows exactly this: ten calls
/// half a second apart, then one every 6 seconds.
#[tokio::test(start_paused = true)]
async fn book_multi_limiter_schedule() {
    let second = Arc::new(Limiter::new(per(2, Duration::from_secs(1)), 1));
    let minute = Arc::new(Limiter::new(per(10, Duration::from_secs(60)), 10));
    let api = Arc::new(MultiLimiter::new([
        second.clone() as Arc<dyn RateLimiter>,
        minute.clone() as Arc<dyn RateLimiter>,
    ]));
    assert_eq!(api.limit(), per(10, Duration::from_secs(60)));

    let start = Instant::now();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.wait_async(&Context::background()).await.unwrap();
                start.elapsed()
            })
        })
        .collect();
    let mut done = Vec::new();
    for c in calls {
        done.push(c.await.unwrap());
    }
    done.sort();

    let mut want: Vec<Duration> = (0..10).map(|i| Duration::from_millis(500 * i)).collect();
    want.extend((1..=10).map(|i| Duration::from_secs(6 * i)));
    assert_eq!(done, want);
}

/// The same schedule from threads, with the second limiter of the book's last
/// version (burst 2), on explicit instants: `MultiLimiter`'s order is what makes it.
#[test]
fn multi_limiter_orders_by_limit() {
    let fast = Arc::new(Limiter::new(Limit::from(100.0), 1)) as Arc<dyn RateLimiter>;
    let slow = Arc::new(Limiter::new(Limit::from(0.5), 1)) as Arc<dyn RateLimiter>;
    let multi = MultiLimiter::new([fast, slow]);
    assert_eq!(multi.limit(), Limit::from(0.5));
    assert_eq!(format!("{multi:?}"), "[Limit(0.5/s), Limit(100/s)]");
    assert_eq!(MultiLimiter::new([]).limit(), Limit::INF);
    MultiLimiter::new([]).wait(&Context::background()).unwrap();
}

/// With `test-util`, the "now" forms follow tokio's paused clock too.
#[cfg(feature = "test-util")]
#[tokio::test(start_paused = true)]
async fn now_forms_follow_a_paused_clock() {
    let lim = Limiter::new(1.0.into(), 1);
    assert!(lim.allow());
    assert!(!lim.allow());
    tokio::time::advance(Duration::from_millis(999)).await;
    assert!(!lim.allow());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(lim.tokens(), 1.0);
    assert!(lim.allow());
    assert_eq!(lim.reserve().delay(), Duration::from_secs(1));
}

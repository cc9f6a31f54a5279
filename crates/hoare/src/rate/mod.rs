//! Rate limiting: x/time/rate's token-bucket [`Limiter`], the book's
//! [`MultiLimiter`], and (feature `redis`) a limiter shared by a fleet of processes.
//!
//! A [`Limiter`] holds a bucket of `burst` tokens refilled at a [`Limit`] of tokens
//! per second; each event spends a token. Callers that can drop events use
//! [`allow`](Limiter::allow); callers that must go on wait for their turn with
//! [`wait`](Limiter::wait) (threads) or [`wait_async`](Limiter::wait_async) (tasks),
//! which give up when their [`Context`](crate::context::Context) is done, and fail
//! at once when its deadline is too close for the tokens to come in time.
//!
//! Time is a parameter: every call that reads the clock has a form that takes the
//! instant, so a limiter's behaviour can be checked against a table of instants.
//! Otherwise the async waits read tokio's clock (tests may pause it) and the other
//! calls a cheap time-stamp counter; with the feature `test-util` they too read
//! tokio's clock inside a tokio runtime (see [`Limiter`]'s docs).
//!
//! | Go | hoare |
//! |---|---|
//! | `rate.NewLimiter(r, b)` | `Limiter::new(r, b)` |
//! | `rate.Limit(10)` / `rate.Every(d)` / `rate.Inf` | `Limit::from(10.0)` / `Limit::every(d)` / `Limit::INF` |
//! | the book's `Per(n, d)` | [`per(n, d)`](per) |
//! | `lim.Allow()` / `lim.AllowN(t, n)` | `lim.allow()` / `lim.allow_n(t, n)` |
//! | `lim.Reserve()` / `lim.ReserveN(t, n)` | `lim.reserve()` / `lim.reserve_n(t, n)` |
//! | `r.OK()`, `r.Delay()`, `r.DelayFrom(t)`, `r.Cancel()`, `r.CancelAt(t)` | the same, in snake case |
//! | `lim.Wait(ctx)` / `lim.WaitN(ctx, n)` | `lim.wait(&ctx)` / `lim.wait_n(&ctx, n)` (and `_async`) |
//! | `lim.SetLimit(r)` / `SetLimitAt(t, r)`, `SetBurst` / `SetBurstAt` | `set_limit` / `set_limit_at`, `set_burst` / `set_burst_at` |
//! | `lim.Tokens()` / `lim.TokensAt(t)` | `lim.tokens()` / `lim.tokens_at(t)` |
//! | the book's `RateLimiter` interface and `MultiLimiter(...)` | [`RateLimiter`], [`MultiLimiter::new`] |
//!
//! Differences from x/time/rate, all on inputs Go leaves undefined: a negative or
//! NaN limit is read as zero; `n` and the burst are unsigned; a delay that Go's
//! float-to-integer conversion would overflow saturates at the longest duration;
//! an infinite delay is [`Duration::MAX`](std::time::Duration::MAX) rather than
//! Go's `InfDuration`; a [`Reservation`] is canceled at most once (`cancel` takes
//! it); a wait whose future is dropped gives its tokens back; a wait whose tokens
//! fall due at the very instant its context's deadline passes succeeds (Go's
//! `select` picks either at random); and a limit set back
//! from [`Limit::INF`] to a finite one starts from a full bucket (x/time/rate 0.3
//! computes `0 · Inf = NaN` tokens there and then allows everything). Token counts
//! and delays are otherwise x/time/rate's to the bit: the lock-free path computes
//! exactly what its mutex-guarded code would (the tests check it against a
//! transcription of that code on random operations).
//!
//! ```
//! use std::time::Duration;
//! use hoare::context::Context;
//! use hoare::rate::{per, Limiter};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let lim = Limiter::new(per(2, Duration::from_secs(1)), 1); // 2 per second
//! let start = tokio::time::Instant::now();
//! for _ in 0..5 {
//!     lim.wait_async(&Context::background()).await.unwrap();
//! }
//! assert_eq!(start.elapsed(), Duration::from_secs(2)); // at 0, 0.5, 1, 1.5 and 2s
//! # }
//! ```

mod bucket;
mod clock;
mod limit;
mod limiter;
mod multi;
#[cfg(feature = "redis")]
pub mod redis;
mod reservation;
mod wait;

pub use limit::{per, Limit};
pub use limiter::Limiter;
pub use multi::{MultiLimiter, RateLimiter, WaitFuture};
pub use reservation::Reservation;
pub use wait::WaitError;

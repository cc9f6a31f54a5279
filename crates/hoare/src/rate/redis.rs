//! A limiter whose bucket lives in Redis, so that one limit holds across a fleet
//! of processes (feature `redis`).
//!
//! [`RedisLimiter`] keeps one key per limited resource. Each decision runs one Lua
//! script on the server, which reads the server's clock (`TIME`) and updates the
//! key atomically, so clients' clocks do not matter and two clients can never
//! spend the same token. The algorithm is GCRA, the token bucket written as one
//! number: the key holds the instant (µs, server time) at which the bucket will be
//! full again; a request for `n` tokens pushes it `n / limit` seconds later, and
//! has to wait for whatever of that lies beyond `burst / limit` from now. A key
//! expires when its bucket is full, so idle resources cost no memory.
//!
//! The semantics are x/time/rate's for a limiter used only at the current time:
//! a bucket of `burst` tokens, initially full, refilled at `limit` per second, and
//! `allow`, `reserve` and `wait` as in [`Limiter`](super::Limiter).
//!
//! # When Redis is unreachable
//!
//! Every call returns [`RedisLimitError::Unavailable`] (the trait's waits return
//! [`WaitError::Unavailable`]). What to do then is the caller's policy: fail closed
//! (refuse the work: the default) or fail open (let it through, unlimited while
//! Redis is down): [`RedisLimiter::on_unavailable`] with [`FailMode::Open`] makes
//! the limiter allow every request it cannot check.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hoare::context::Context;
//! use hoare::rate::redis::{FailMode, RedisLimiter};
//! use hoare::rate::RateLimiter;
//!
//! let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//! let api = RedisLimiter::connect(client, "rate:api:customer-42", 10.0.into(), 20)
//!     .await?
//!     .on_unavailable(FailMode::Open);
//! api.wait_async(&Context::background()).await?; // shared by every process
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Script};

use super::limit::Limit;
use super::multi::{RateLimiter, WaitFuture};
use super::wait::WaitError;
use crate::context::{self, Context};

/// The decision, on the server: `{ok, wait in µs}` for `n` tokens at most
/// `max_wait` µs away (negative: no bound). See the module docs.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local full_at = tonumber(redis.call('GET', KEYS[1]) or now)
if full_at < now then full_at = now end
local next_full = full_at + n * interval
local wait = next_full - now - burst * interval
if wait < 0 then wait = 0 end
if n > burst or (max_wait >= 0 and wait > max_wait) then
  return {0, 0}
end
local ttl = math.ceil((next_full - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.3f', next_full), 'PX', ttl)
return {1, math.ceil(wait)}
";

/// What a [`RedisLimiter`] does when it cannot reach Redis.
///
/// ```
/// assert_eq!(hoare::rate::redis::FailMode::default(), hoare::rate::redis::FailMode::Closed);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailMode {
    /// Report [`RedisLimitError::Unavailable`]: nothing goes through unchecked.
    #[default]
    Closed,
    /// Allow the request, as if the limit were infinite while Redis is down.
    Open,
}

/// Why a [`RedisLimiter`] call failed.
///
/// ```
/// use hoare::rate::redis::RedisLimitError;
///
/// let e = RedisLimitError::ExceedsBurst { n: 5, burst: 2 };
/// assert_eq!(e.to_string(), "rate: request for 5 tokens exceeds the burst 2");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RedisLimitError {
    /// More tokens were asked for than the burst: it could never succeed.
    ExceedsBurst {
        /// The tokens asked for.
        n: usize,
        /// The limiter's burst.
        burst: usize,
    },
    /// Redis could not be reached, or failed the script (the error says which).
    Unavailable(Arc<RedisError>),
}

impl fmt::Display for RedisLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisLimitError::ExceedsBurst { n, burst } => {
                write!(f, "rate: request for {n} tokens exceeds the burst {burst}")
            }
            RedisLimitError::Unavailable(e) => write!(f, "rate: redis unavailable: {e}"),
        }
    }
}

impl std::error::Error for RedisLimitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisLimitError::Unavailable(e) => Some(&**e),
            RedisLimitError::ExceedsBurst { .. } => None,
        }
    }
}

impl From<RedisError> for RedisLimitError {
    fn from(e: RedisError) -> Self {
        RedisLimitError::Unavailable(Arc::new(e))
    }
}

impl From<RedisLimitError> for WaitError {
    fn from(e: RedisLimitError) -> Self {
        match e {
            RedisLimitError::ExceedsBurst { n, burst } => WaitError::ExceedsBurst { n, burst },
            RedisLimitError::Unavailable(e) => WaitError::Unavailable(e),
        }
    }
}

/// A token bucket stored in Redis under one key; see the [module docs](self).
///
/// Cloning is cheap and shares the connection; [`for_key`](RedisLimiter::for_key)
/// makes a limiter of the same rate for another resource on the same connection.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hoare::rate::redis::RedisLimiter;
///
/// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
/// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
/// println!("{lim:?}");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Arc<Script>,
    key: Arc<str>,
    limit: Limit,
    burst: usize,
    fail: FailMode,
}

impl RedisLimiter {
    /// Connects to Redis and makes a limiter of `limit` per second and bursts of
    /// `burst` on `key`. The connection reconnects by itself; a call that finds
    /// Redis down fails after about a second.
    ///
    /// # Errors
    /// [`RedisLimitError::Unavailable`] if Redis cannot be reached.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(
        client: Client,
        key: impl Into<String>,
        limit: Limit,
        burst: usize,
    ) -> Result<Self, RedisLimitError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self::with_connection(conn, key, limit, burst))
    }

    /// A limiter on an existing connection.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let conn = redis::aio::ConnectionManager::new(client).await?;
    /// let lim = RedisLimiter::with_connection(conn, "rate:api", 10.0.into(), 5);
    /// assert_eq!(lim.key(), "rate:api");
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_connection(
        conn: ConnectionManager,
        key: impl Into<String>,
        limit: Limit,
        burst: usize,
    ) -> Self {
        RedisLimiter {
            conn,
            script: Arc::new(Script::new(GCRA)),
            key: Arc::from(key.into()),
            limit,
            burst,
            fail: FailMode::Closed,
        }
    }

    /// Sets what happens when Redis is unreachable (default [`FailMode::Closed`]).
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?
    ///     .on_unavailable(hoare::rate::redis::FailMode::Open);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_unavailable(mut self, fail: FailMode) -> Self {
        self.fail = fail;
        self
    }

    /// The same limit and burst, for another resource.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// let other = lim.for_key("rate:api:customer-7");
    /// assert_eq!(other.burst(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(&self, key: impl Into<String>) -> Self {
        RedisLimiter {
            key: Arc::from(key.into()),
            ..self.clone()
        }
    }

    /// The Redis key of the bucket.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// assert_eq!(lim.key(), "rate:api");
    /// # Ok(())
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The burst.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// assert_eq!(lim.burst(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn burst(&self) -> usize {
        self.burst
    }

    /// Whether `n` tokens are there now; takes them if so.
    ///
    /// # Errors
    /// [`RedisLimitError::ExceedsBurst`] never (an `n` above the burst is simply not
    /// allowed); [`RedisLimitError::Unavailable`] when Redis fails and the limiter
    /// fails closed.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// if lim.allow_n(1).await? {
    ///     // handle the request
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn allow_n(&self, n: usize) -> Result<bool, RedisLimitError> {
        Ok(self.decide(n, 0).await?.is_some())
    }

    /// Reserves `n` tokens if they come within `max_wait` (`None`: however long),
    /// and returns how long to wait before acting; `None` if they would not come in
    /// time (then nothing is reserved). Reservations on Redis cannot be canceled.
    ///
    /// # Errors
    /// [`RedisLimitError::ExceedsBurst`] if `n` exceeds the burst (and the limit is
    /// finite); [`RedisLimitError::Unavailable`] when Redis fails and the limiter
    /// fails closed.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// if let Some(delay) = lim.reserve_n(1, Some(std::time::Duration::from_secs(1))).await? {
    ///     tokio::time::sleep(delay).await;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reserve_n(
        &self,
        n: usize,
        max_wait: Option<Duration>,
    ) -> Result<Option<Duration>, RedisLimitError> {
        if n > self.burst && !self.limit.is_inf() {
            return Err(RedisLimitError::ExceedsBurst {
                n,
                burst: self.burst,
            });
        }
        let max = max_wait.map_or(-1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        self.decide(n, max).await
    }

    /// Decisions for `requests` single-token requests in one round trip (a
    /// pipeline), in order.
    ///
    /// # Errors
    /// [`RedisLimitError::Unavailable`] when Redis fails and the limiter fails
    /// closed.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// let decisions = lim.allow_batch(64).await?;
    /// assert_eq!(decisions.len(), 64);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn allow_batch(&self, requests: usize) -> Result<Vec<bool>, RedisLimitError> {
        if self.limit.is_inf() {
            return Ok(vec![true; requests]);
        }
        let mut pipe = redis::pipe();
        for _ in 0..requests {
            pipe.cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(1)
                .arg(&*self.key)
                .arg(self.interval_micros())
                .arg(self.burst)
                .arg(1)
                .arg(0);
        }
        let mut conn = self.conn.clone();
        let mut answer: Result<Vec<(i64, i64)>, RedisError> = pipe.query_async(&mut conn).await;
        if matches!(&answer, Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
        {
            // The server lost its script cache (a restart): load it and retry.
            let loaded: Result<String, RedisError> =
                self.script.prepare_invoke().load_async(&mut conn).await;
            answer = match loaded {
                Ok(_) => pipe.query_async(&mut conn).await,
                Err(e) => Err(e),
            };
        }
        match answer {
            Ok(v) => Ok(v.into_iter().map(|(ok, _)| ok == 1).collect()),
            Err(_) if self.fail == FailMode::Open => Ok(vec![true; requests]),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits in a task until `n` tokens are there, or `ctx` is done; fails at once
    /// when the tokens would come after `ctx`'s deadline.
    ///
    /// # Errors
    /// As [`Limiter::wait_n`](super::Limiter::wait_n), plus
    /// [`WaitError::Unavailable`] when Redis fails and the limiter fails closed.
    /// Tokens reserved by a wait whose context is then canceled stay spent.
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hoare::rate::redis::RedisLimiter;
    /// # let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let lim = RedisLimiter::connect(client, "rate:api", 10.0.into(), 5).await?;
    /// lim.wait_n_async(&hoare::context::Context::background(), 2).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_n_async(&self, ctx: &Context, n: usize) -> Result<(), WaitError> {
        if let Some(e) = ctx.err() {
            return Err(WaitError::Canceled(e));
        }
        let max_wait = ctx
            .deadline()
            .map(|d| d.saturating_duration_since(crate::time::now()));
        let delay = match self.reserve_n(n, max_wait).await? {
            Some(delay) => delay,
            None => return Err(WaitError::WouldExceedDeadline { n }),
        };
        if delay.is_zero() {
            return Ok(());
        }
        let timer = crate::time::after(delay);
        let done = ctx.done();
        crate::select_async! {
            recv(&timer) -> _ => Ok(()),
            recv(&done) -> _ => Err(WaitError::Canceled(ctx.err().unwrap_or(context::Error::Canceled))),
        }
    }

    /// Microseconds per token; a zero limit (no refill) is an interval of some
    /// thirty thousand years, which the script's arithmetic handles.
    fn interval_micros(&self) -> f64 {
        (1e6 / self.limit.as_f64()).min(1e18)
    }

    /// Runs the script: `Some(wait)` when the tokens were reserved.
    async fn decide(
        &self,
        n: usize,
        max_wait_micros: i64,
    ) -> Result<Option<Duration>, RedisLimitError> {
        if self.limit.is_inf() {
            return Ok(Some(Duration::ZERO));
        }
        let mut conn = self.conn.clone();
        let answer: Result<(i64, i64), RedisError> = self
            .script
            .key(&*self.key)
            .arg(self.interval_micros())
            .arg(self.burst)
            .arg(n)
            .arg(max_wait_micros)
            .invoke_async(&mut conn)
            .await;
        match answer {
            Ok((1, wait)) => Ok(Some(Duration::from_micros(wait.max(0) as u64))),
            Ok(_) => Ok(None),
            Err(_) if self.fail == FailMode::Open => Ok(Some(Duration::ZERO)),
            Err(e) => Err(e.into()),
        }
    }
}

impl RateLimiter for RedisLimiter {
    /// # Blocking
    /// Runs the wait on hoare's goroutine runtime and blocks the calling thread
    /// until it ends; from async code use [`wait_async`](RateLimiter::wait_async).
    fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        let (this, ctx) = (self.clone(), ctx.clone());
        crate::go(async move { this.wait_n_async(&ctx, 1).await })
            .join()
            .unwrap_or_else(|e| Err(WaitError::Unavailable(Arc::new(e))))
    }

    fn wait_async<'a>(&'a self, ctx: &'a Context) -> WaitFuture<'a> {
        Box::pin(self.wait_n_async(ctx, 1))
    }

    fn limit(&self) -> Limit {
        self.limit
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("key", &self.key)
            .field("limit", &self.limit)
            .field("burst", &self.burst)
            .field("fail", &self.fail)
            .finish_non_exhaustive()
    }
}

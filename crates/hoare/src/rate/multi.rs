//! [`RateLimiter`], the interface the book gives its limiters, and [`MultiLimiter`],
//! which combines several.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::limit::Limit;
use super::limiter::Limiter;
use super::wait::WaitError;
use crate::context::Context;

/// The future of [`RateLimiter::wait_async`].
///
/// ```
/// use hoare::context::Context;
/// use hoare::rate::{Limit, Limiter, RateLimiter, WaitFuture};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limiter = Limiter::new(Limit::INF, 0);
/// let ctx = Context::background();
/// let turn: WaitFuture<'_> = RateLimiter::wait_async(&limiter, &ctx);
/// assert!(turn.await.is_ok());
/// # }
/// ```
pub type WaitFuture<'a> = Pin<Box<dyn Future<Output = Result<(), WaitError>> + Send + 'a>>;

/// Anything that can make a caller wait for its turn: the book's `RateLimiter`
/// interface (`Wait(ctx) error`, `Limit() rate.Limit`), with an async form.
///
/// [`Limiter`], [`MultiLimiter`] and the Redis limiter implement it; so does an
/// `Arc` of any of them, so one limiter can be part of several combinations.
///
/// ```
/// use hoare::context::Context;
/// use hoare::rate::{Limit, Limiter, RateLimiter};
///
/// fn call_api(limiter: &dyn RateLimiter, ctx: &Context) -> Result<(), hoare::rate::WaitError> {
///     limiter.wait(ctx)?;
///     // ... the call ...
///     Ok(())
/// }
/// let lim = Limiter::new(Limit::INF, 0);
/// call_api(&lim, &Context::background()).unwrap();
/// assert!(RateLimiter::limit(&lim).is_inf());
/// ```
pub trait RateLimiter: Send + Sync {
    /// Blocks until the caller may go on, or `ctx` is done.
    ///
    /// # Errors
    /// The limiter's: see [`WaitError`].
    fn wait(&self, ctx: &Context) -> Result<(), WaitError>;

    /// Waits in a task until the caller may go on, or `ctx` is done.
    ///
    /// # Errors
    /// As [`wait`](RateLimiter::wait).
    fn wait_async<'a>(&'a self, ctx: &'a Context) -> WaitFuture<'a>;

    /// The limiter's rate; [`MultiLimiter`] orders its parts by it.
    fn limit(&self) -> Limit;
}

impl RateLimiter for Limiter {
    fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        Limiter::wait(self, ctx)
    }

    fn wait_async<'a>(&'a self, ctx: &'a Context) -> WaitFuture<'a> {
        Box::pin(Limiter::wait_async(self, ctx))
    }

    fn limit(&self) -> Limit {
        Limiter::limit(self)
    }
}

impl<L: RateLimiter + ?Sized> RateLimiter for Arc<L> {
    fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        (**self).wait(ctx)
    }

    fn wait_async<'a>(&'a self, ctx: &'a Context) -> WaitFuture<'a> {
        (**self).wait_async(ctx)
    }

    fn limit(&self) -> Limit {
        (**self).limit()
    }
}

/// Several limiters as one: a wait waits on each in turn, the most restrictive
/// (lowest limit) first, as the book's `MultiLimiter` does. Its own
/// [`limit`](RateLimiter::limit) is the lowest.
///
/// The book's `APIConnection`, whose API calls are limited to 2 per second and 10
/// per minute, and whose file reads and address lookups are also limited by the
/// disk and the network:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use hoare::context::Context;
/// use hoare::rate::{per, Limit, Limiter, MultiLimiter, RateLimiter, WaitError};
///
/// const SECOND: Duration = Duration::from_secs(1);
/// const MINUTE: Duration = Duration::from_secs(60);
///
/// struct ApiConnection {
///     api_limit: Arc<MultiLimiter>,
///     disk_limit: Arc<MultiLimiter>,
///     network_limit: Arc<MultiLimiter>,
/// }
///
/// impl ApiConnection {
///     fn open() -> Self {
///         ApiConnection {
///             api_limit: Arc::new(MultiLimiter::new([
///                 Arc::new(Limiter::new(per(2, SECOND), 2)) as Arc<dyn RateLimiter>,
///                 Arc::new(Limiter::new(per(10, MINUTE), 10)),
///             ])),
///             disk_limit: Arc::new(MultiLimiter::new([
///                 Arc::new(Limiter::new(Limit::from(1.0), 1)) as Arc<dyn RateLimiter>,
///             ])),
///             network_limit: Arc::new(MultiLimiter::new([
///                 Arc::new(Limiter::new(per(3, SECOND), 3)) as Arc<dyn RateLimiter>,
///             ])),
///         }
///     }
///
///     fn read_file(&self, ctx: &Context) -> Result<(), WaitError> {
///         MultiLimiter::new([self.api_limit.clone() as _, self.disk_limit.clone() as _])
///             .wait(ctx)?;
///         // Pretend we do work here
///         Ok(())
///     }
///
///     fn resolve_address(&self, ctx: &Context) -> Result<(), WaitError> {
///         MultiLimiter::new([self.api_limit.clone() as _, self.network_limit.clone() as _])
///             .wait(ctx)?;
///         // Pretend we do work here
///         Ok(())
///     }
/// }
///
/// let conn = ApiConnection::open();
/// conn.read_file(&Context::background()).unwrap();
/// conn.resolve_address(&Context::background()).unwrap();
/// assert_eq!(conn.api_limit.limit(), per(10, MINUTE));
/// ```
pub struct MultiLimiter {
    /// Sorted by limit, lowest first.
    limiters: Vec<Arc<dyn RateLimiter>>,
}

impl MultiLimiter {
    /// Combines `limiters`, ordering them by limit, lowest first (a stable order
    /// among equal limits).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hoare::rate::{Limit, Limiter, MultiLimiter, RateLimiter};
    ///
    /// let multi = MultiLimiter::new([
    ///     Arc::new(Limiter::new(Limit::from(5.0), 1)) as Arc<dyn RateLimiter>,
    ///     Arc::new(Limiter::new(Limit::from(0.5), 1)),
    /// ]);
    /// assert_eq!(multi.limit(), Limit::from(0.5));
    /// assert_eq!(multi.len(), 2);
    /// ```
    pub fn new(limiters: impl IntoIterator<Item = Arc<dyn RateLimiter>>) -> Self {
        let mut limiters: Vec<Arc<dyn RateLimiter>> = limiters.into_iter().collect();
        limiters.sort_by(|a, b| a.limit().as_f64().total_cmp(&b.limit().as_f64()));
        MultiLimiter { limiters }
    }

    /// How many limiters this combines.
    ///
    /// ```
    /// assert_eq!(hoare::rate::MultiLimiter::new([]).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.limiters.len()
    }

    /// Whether this combines no limiter (then it never makes anyone wait).
    ///
    /// ```
    /// assert!(hoare::rate::MultiLimiter::new([]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.limiters.is_empty()
    }
}

impl RateLimiter for MultiLimiter {
    /// Waits on each limiter in turn, most restrictive first; stops at the first
    /// error (tokens already taken from the limiters before it stay taken, as in
    /// the book).
    fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        self.limiters.iter().try_for_each(|l| l.wait(ctx))
    }

    fn wait_async<'a>(&'a self, ctx: &'a Context) -> WaitFuture<'a> {
        Box::pin(async move {
            for l in &self.limiters {
                l.wait_async(ctx).await?;
            }
            Ok(())
        })
    }

    /// The lowest limit, or [`Limit::INF`] for an empty combination.
    fn limit(&self) -> Limit {
        self.limiters.first().map_or(Limit::INF, |l| l.limit())
    }
}

impl fmt::Debug for MultiLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.limiters.iter().map(|l| l.limit()))
            .finish()
    }
}

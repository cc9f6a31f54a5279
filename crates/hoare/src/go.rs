//! Goroutines: Go's `go` statement, on tokio.
//!
//! [`go`](crate::go()) spawns a future on the tokio runtime the caller runs in, or,
//! when there is none (a plain `fn main`, a thread), on a default multi-thread
//! runtime started on first use, so `go` works anywhere, as in Go.
//! [`go_blocking`](crate::go_blocking()) runs blocking code on that runtime's
//! blocking pool. Either way the [`JoinHandle`] can be awaited, or joined from a
//! thread, and a panic in the goroutine comes back as [`JoinError::Panicked`]
//! instead of being lost. Every goroutine is counted for [`leak`](crate::leak)
//! checks.
//!
//! The default runtime (tokio's multi-thread runtime: a worker thread per CPU,
//! named `hoare-go`, with the time and I/O drivers) is started by the first `go`
//! that finds no runtime, and lives until the process exits, as Go's scheduler
//! does. Code that runs its own tokio runtime never starts it.
//!
//! ```
//! use hoare::{chan, go};
//!
//! // From plain `fn main` code: no runtime needed.
//! let (tx, rx) = chan::<String>(0);
//! let greeter = go(async move {
//!     tx.send_async("hello from a goroutine".to_string()).await.unwrap();
//! });
//! assert_eq!(rx.recv().as_deref(), Some("hello from a goroutine"));
//! greeter.join().unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::leak::Record;

/// The runtime `go` uses outside any tokio runtime, made on first use; `None` if
/// it could not be made (the error is kept to report).
static DEFAULT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// The runtime to spawn on: the caller's, or the default one.
fn runtime() -> Result<tokio::runtime::Handle, JoinError> {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return Ok(handle);
    }
    let default = DEFAULT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("hoare-go")
            .build()
            .map_err(|e| e.to_string())
    });
    match default {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(JoinError::NoRuntime(e.clone())),
    }
}

pin_project_lite::pin_project! {
    /// A goroutine's future with its leak record, which is dropped with it: when
    /// the goroutine ends or is aborted. (A struct rather than an `async` block,
    /// which would keep the future twice in the task.)
    struct Tracked<F> {
        record: Record,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

/// Spawns `future` as a goroutine: on the current tokio runtime, or on hoare's
/// default runtime when there is none. Returns a handle to await or join; dropping
/// the handle detaches the goroutine, which runs on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = hoare::go(async { 6 * 7 });
/// assert_eq!(answer.await, Ok(42));
/// # }
/// ```
#[track_caller]
pub fn go<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let goroutine = Tracked {
        record: Record::new(Location::caller(), false),
        future,
    };
    // Inside a task there is a runtime: spawn on it without cloning its handle.
    if tokio::task::try_id().is_some() {
        return JoinHandle::spawned(tokio::spawn(goroutine));
    }
    match runtime() {
        Ok(rt) => JoinHandle::spawned(rt.spawn(goroutine)),
        Err(e) => JoinHandle::failed(e),
    }
}

/// Runs `f` as a goroutine spawned at `location` (for callbacks hoare runs on the
/// user's behalf, such as `context::after_func`). A goroutine that cannot be
/// started is reported on stderr, since nobody waits for it.
pub(crate) fn go_blocking_at<F>(location: &'static Location<'static>, f: F)
where
    F: FnOnce() + Send + 'static,
{
    let record = Record::new(location, true);
    match runtime() {
        Ok(rt) => {
            drop(rt.spawn_blocking(move || {
                let _record = record;
                f()
            }));
        }
        Err(e) => eprintln!("hoare: cannot run the function given at {location}: {e}"),
    }
}

/// Spawns hoare's own bookkeeping task (not a user goroutine, so not counted by
/// `leak`); a task that cannot be started is skipped.
pub(crate) fn spawn_internal<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(rt) = runtime() {
        drop(rt.spawn(future));
    }
}

/// Runs blocking code `f` as a goroutine, on the blocking thread pool of the
/// current tokio runtime (or of hoare's default runtime).
///
/// ```
/// let sum = hoare::go_blocking(|| (1..=10).sum::<u32>());
/// assert_eq!(sum.join(), Ok(55));
/// ```
#[track_caller]
pub fn go_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let record = Record::new(Location::caller(), true);
    match runtime() {
        Ok(rt) => JoinHandle::spawned(rt.spawn_blocking(move || {
            let _record = record;
            f()
        })),
        Err(e) => JoinHandle::failed(e),
    }
}

/// Why a goroutine gave no result.
///
/// ```
/// let err = hoare::go_blocking(|| -> u8 { panic!("boom") }).join().unwrap_err();
/// assert_eq!(err.to_string(), "goroutine panicked: boom");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// It panicked; the panic's message.
    Panicked(String),
    /// It was aborted ([`JoinHandle::abort`]) or its runtime shut down first.
    Canceled,
    /// No runtime could be started to run it (the operating system's reason).
    NoRuntime(String),
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(msg) => write!(f, "goroutine panicked: {msg}"),
            JoinError::Canceled => f.write_str("goroutine canceled before it finished"),
            JoinError::NoRuntime(why) => write!(f, "no runtime to run the goroutine: {why}"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<tokio::task::JoinError> for JoinError {
    fn from(e: tokio::task::JoinError) -> Self {
        match e.try_into_panic() {
            Ok(payload) => JoinError::Panicked(crate::sync::unwind::panic_message(&*payload)),
            Err(_) => JoinError::Canceled,
        }
    }
}

/// A handle to a goroutine: await it (`Result<T, JoinError>`), or
/// [`join`](JoinHandle::join) it from a thread.
///
/// ```
/// let h = hoare::go(async { "done" });
/// assert_eq!(h.join(), Ok("done"));
/// ```
#[must_use = "dropping the handle detaches the goroutine; join or await it to see its result"]
pub struct JoinHandle<T> {
    /// The task, or why there is none (boxed: the failure is rare, and a handle
    /// should stay as small as tokio's).
    inner: Result<tokio::task::JoinHandle<T>, Option<Box<JoinError>>>,
}

impl<T> JoinHandle<T> {
    fn spawned(handle: tokio::task::JoinHandle<T>) -> Self {
        Self { inner: Ok(handle) }
    }

    fn failed(e: JoinError) -> Self {
        Self {
            inner: Err(Some(Box::new(e))),
        }
    }

    /// Waits for the goroutine from a thread (blocking it) and returns its result.
    /// In async code, `.await` the handle instead.
    ///
    /// # Errors
    /// [`JoinError`] if it panicked, was aborted, or could not be started.
    ///
    /// ```
    /// assert_eq!(hoare::go(async { 1 }).join(), Ok(1));
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        block_on(self)
    }

    /// Stops the goroutine at its next await point; awaiting it then gives
    /// [`JoinError::Canceled`] (unless it finished first).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let h = hoare::go(std::future::pending::<()>());
    /// h.abort();
    /// assert_eq!(h.await, Err(hoare::JoinError::Canceled));
    /// # }
    /// ```
    pub fn abort(&self) {
        if let Ok(h) = &self.inner {
            h.abort();
        }
    }

    /// Whether the goroutine has ended.
    ///
    /// ```
    /// let h = hoare::go(async {});
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert!(h.join().is_ok());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.as_ref().map_or(true, |h| h.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Ok(h) => Pin::new(h).poll(cx).map(|r| r.map_err(JoinError::from)),
            Err(e) => Poll::Ready(Err(e.take().map_or(JoinError::Canceled, |e| *e))),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Runs `fut` on the calling thread until it completes (`Some`) or `deadline`
/// passes (`None`; the future is dropped). While it is pending the thread first
/// spins briefly and yields, as a thread blocked on a channel does (the other
/// side is often about to act, and a park and wake-up cost far more), then parks.
/// Parks through `crate::loom`, so loom models can drive it.
pub(crate) fn block_on_until<F: Future>(fut: F, deadline: Option<Instant>) -> Option<F::Output> {
    let signal = Arc::new(WokenSignal {
        thread: crate::loom::current(),
        woken: crate::loom::AtomicBool::new(false),
    });
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        if signal.spin_until_woken() {
            continue;
        }
        match deadline {
            None => crate::loom::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                crate::loom::park_timeout(d - now);
            }
        }
        signal
            .woken
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Wakes a thread blocked in [`block_on_until`], and tells its spin.
struct WokenSignal {
    thread: crate::loom::Thread,
    woken: crate::loom::AtomicBool,
}

impl WokenSignal {
    /// Spins and yields until woken, as a thread blocked on an unbuffered channel
    /// does (`waiter::SPINS` hints, then up to `waiter::YIELDS` yields; none under
    /// loom); false if not woken.
    fn spin_until_woken(&self) -> bool {
        use crate::chan::waiter::{SPINS, YIELDS};
        use std::sync::atomic::Ordering;
        for _ in 0..SPINS {
            // ORDERING: Acquire pairs with the waker's Release store, so what the
            // waking side did before waking is visible to the next poll.
            if self.woken.swap(false, Ordering::Acquire) {
                return true;
            }
            std::hint::spin_loop();
        }
        for _ in 0..YIELDS {
            if self.woken.swap(false, Ordering::Acquire) {
                return true;
            }
            std::thread::yield_now();
        }
        false
    }
}

impl Wake for WokenSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // ORDERING: see `spin_until_woken`.
        self.woken.store(true, std::sync::atomic::Ordering::Release);
        self.thread.unpark();
    }
}

/// Runs `fut` to completion on the calling thread: [`block_on_until`] without a
/// deadline (a brief spin, then parking, while it is pending).
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    match block_on_until(fut, None) {
        Some(out) => out,
        None => unreachable!("without a deadline, only completion ends the wait"),
    }
}

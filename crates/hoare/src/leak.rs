//! Goroutine-leak checking, which Go itself lacks (uber-go/goleak's idea, built in).
//!
//! Every goroutine spawned with [`go`](crate::go()) or [`go_blocking`](crate::go_blocking)
//! is counted ([`live`]). While a [`Tracker`] exists, each new goroutine is also
//! recorded with the source location that spawned it, until it ends; a test then
//! asks the tracker which of them are still running:
//!
//! ```
//! use hoare::{chan, go, leak};
//!
//! let tracker = leak::track();
//! let (tx, rx) = chan::<u32>(0);
//! let worker = go(async move {
//!     while let Some(v) = rx.recv_async().await {
//!         let _ = v;
//!     }
//! });
//! tx.send(1).unwrap();
//! drop(tx); // closes the channel: the worker's loop ends
//! worker.join().unwrap();
//! tracker.verify_none(); // panics with a list of the goroutines still alive
//! ```
//!
//! # Cost
//! Without a tracker, a spawn and an exit each cost one relaxed counter update
//! (and a relaxed load of the tracker count). With one, each also takes a lock to
//! record or forget the goroutine.
//!
//! # Tests running in parallel
//! A tracker sees every goroutine spawned after it was made, by any thread. When
//! other tests of the same binary spawn goroutines at the same time, run the
//! leak-checked tests one at a time (behind a shared mutex), or check
//! [`Goroutine::location`] to keep only your own.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Goroutines alive now, tracked or not: a counter per thread (a goroutine may end
/// on another thread than the one that spawned it, so a shard can go negative;
/// the sum is right). Threads update only their own shard, so spawning from one
/// thread while goroutines end on others does not bounce one cache line.
mod live {
    use std::sync::atomic::{AtomicIsize, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    /// The shards of live threads, and what exited threads left.
    static SHARDS: Mutex<Vec<Arc<AtomicIsize>>> = Mutex::new(Vec::new());
    static LEFT: AtomicIsize = AtomicIsize::new(0);

    struct Shard(Arc<AtomicIsize>);

    impl Drop for Shard {
        fn drop(&mut self) {
            let mut shards = SHARDS.lock().unwrap_or_else(PoisonError::into_inner);
            shards.retain(|s| !Arc::ptr_eq(s, &self.0));
            // ORDERING: a counter; `total` reads it under the same lock.
            LEFT.fetch_add(self.0.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    thread_local! {
        static SHARD: Shard = {
            let shard = Arc::new(AtomicIsize::new(0));
            SHARDS.lock().unwrap_or_else(PoisonError::into_inner).push(shard.clone());
            Shard(shard)
        };
    }

    /// Adds `delta` to the count: one relaxed update of this thread's shard.
    #[inline]
    pub(super) fn add(delta: isize) {
        // ORDERING: a counter only.
        if SHARD
            .try_with(|s| s.0.fetch_add(delta, Ordering::Relaxed))
            .is_err()
        {
            // The thread is exiting and its shard is gone.
            LEFT.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// The sum of the shards.
    pub(super) fn total() -> usize {
        let shards = SHARDS.lock().unwrap_or_else(PoisonError::into_inner);
        // ORDERING: counters only; the sum is a snapshot.
        let sum: isize = shards
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .sum::<isize>()
            + LEFT.load(Ordering::Relaxed);
        usize::try_from(sum).unwrap_or(0)
    }
}
/// Trackers alive now; while there is one, spawns are recorded.
static TRACKERS: AtomicUsize = AtomicUsize::new(0);
/// Identities of recorded goroutines; 0 means "not recorded".
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The recorded goroutines still alive, by identity.
static RECORDED: Mutex<BTreeMap<u64, Goroutine>> = Mutex::new(BTreeMap::new());
/// Signalled when a recorded goroutine ends.
static ENDED: Condvar = Condvar::new();

fn recorded() -> MutexGuard<'static, BTreeMap<u64, Goroutine>> {
    RECORDED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many goroutines spawned through hoare are alive now.
///
/// ```
/// let before = hoare::leak::live();
/// let g = hoare::go(async {});
/// g.join().unwrap();
/// // Other tests may spawn meanwhile; this one's goroutine is gone.
/// # let _ = before;
/// ```
pub fn live() -> usize {
    live::total()
}

/// A goroutine that was alive when checked: what [`check`] and
/// [`Tracker::check`] list.
///
/// ```
/// let tracker = hoare::leak::track();
/// let (tx, rx) = hoare::chan::<()>(0);
/// let g = hoare::go(async move { rx.recv_async().await });
/// let alive: Vec<hoare::leak::Goroutine> = tracker.check();
/// assert_eq!(alive.len(), 1);
/// assert_eq!(alive[0].location().file(), file!()); // spawned here
/// drop(tx); // its receive ends
/// g.join().unwrap();
/// assert!(tracker.check().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Goroutine {
    id: u64,
    location: &'static Location<'static>,
    spawned: Instant,
    blocking: bool,
}

impl Goroutine {
    /// Where it was spawned (the caller of `go` or `go_blocking`).
    ///
    /// ```
    /// let tracker = hoare::leak::track();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// let g = hoare::go(async move { rx.recv_async().await });
    /// let alive = tracker.check();
    /// assert!(alive.iter().any(|g| g.location().file().ends_with(".rs")));
    /// drop(tx);
    /// g.join().unwrap();
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// How long it has been running.
    ///
    /// ```
    /// let tracker = hoare::leak::track();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// let g = hoare::go(async move { rx.recv_async().await });
    /// assert!(tracker.check()[0].age() < std::time::Duration::from_secs(3600));
    /// drop(tx);
    /// g.join().unwrap();
    /// ```
    pub fn age(&self) -> Duration {
        self.spawned.elapsed()
    }
}

impl fmt::Display for Goroutine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "goroutine {} ({}) spawned at {}, running for {:?}",
            self.id,
            if self.blocking { "go_blocking" } else { "go" },
            self.location,
            self.age()
        )
    }
}

/// The bookkeeping of one goroutine: made when it is spawned, dropped when it ends
/// (completes, panics, or is aborted).
pub(crate) struct Record {
    id: u64,
}

impl Record {
    pub(crate) fn new(location: &'static Location<'static>, blocking: bool) -> Self {
        live::add(1);
        // ORDERING: a spawn racing with `track` may or may not be recorded.
        if TRACKERS.load(Ordering::Relaxed) == 0 {
            return Record { id: 0 };
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let g = Goroutine {
            id,
            location,
            spawned: Instant::now(),
            blocking,
        };
        recorded().insert(id, g);
        Record { id }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        live::add(-1);
        if self.id != 0 {
            recorded().remove(&self.id);
            ENDED.notify_all();
        }
    }
}

/// The recorded goroutines still alive: those spawned while a [`Tracker`] existed
/// (whichever tracker). Without a tracker, nothing is recorded; [`live`] still
/// counts every goroutine.
///
/// ```
/// let tracker = hoare::leak::track();
/// let (tx, rx) = hoare::chan::<()>(0);
/// let g = hoare::go(async move { rx.recv_async().await });
/// assert!(!hoare::leak::check().is_empty());
/// drop(tx);
/// g.join().unwrap();
/// # drop(tracker);
/// ```
pub fn check() -> Vec<Goroutine> {
    recorded().values().cloned().collect()
}

/// For tests: waits up to a second for every recorded goroutine to end, and
/// panics with a readable list of those still alive (goleak's `VerifyNone`).
/// Goroutines are recorded while a [`Tracker`] exists; prefer
/// [`Tracker::verify_none`], which looks only at those spawned since the tracker
/// was made.
///
/// # Panics
/// When recorded goroutines are still alive after the grace period.
///
/// ```
/// let _tracker = hoare::leak::track();
/// hoare::go(async {}).join().unwrap();
/// hoare::leak::verify_none();
/// ```
#[track_caller]
pub fn verify_none() {
    if let Err(leaked) = wait_for_end(0, Duration::from_secs(1)) {
        panic!("{leaked}");
    }
}

/// Waits up to `grace` for the recorded goroutines numbered `first` or later to end.
fn wait_for_end(first: u64, grace: Duration) -> Result<(), Leaked> {
    let deadline = Instant::now() + grace;
    let mut map = recorded();
    loop {
        if map.range(first..).next().is_none() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Leaked {
                goroutines: map.range(first..).map(|(_, g)| g.clone()).collect(),
            });
        }
        map = ENDED
            .wait_timeout(map, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Records goroutines spawned while it exists; see the [module docs](self).
///
/// ```
/// let tracker = hoare::leak::track();
/// assert!(tracker.check().is_empty());
/// ```
#[must_use = "a tracker records goroutines only while it exists"]
pub struct Tracker {
    /// Goroutines with this identity or a later one were spawned after it.
    first: u64,
}

/// Starts recording goroutines (until the returned tracker is dropped).
///
/// ```
/// let tracker = hoare::leak::track();
/// hoare::go(async {}).join().unwrap();
/// tracker.verify_none();
/// ```
pub fn track() -> Tracker {
    // ORDERING: a spawn racing with this call may or may not be recorded; the
    // tracker only promises to see goroutines spawned after it returns, which the
    // happens-before of the caller's own later spawns guarantees (same thread) or
    // the synchronisation that orders other threads' spawns after it.
    TRACKERS.fetch_add(1, Ordering::SeqCst);
    Tracker {
        first: NEXT_ID.load(Ordering::SeqCst),
    }
}

impl Tracker {
    /// The goroutines spawned since the tracker was made that are still alive.
    ///
    /// ```
    /// let tracker = hoare::leak::track();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// let g = hoare::go(async move { rx.recv_async().await });
    /// assert_eq!(tracker.check().len(), 1);
    /// drop(tx);
    /// g.join().unwrap();
    /// assert!(tracker.check().is_empty());
    /// ```
    pub fn check(&self) -> Vec<Goroutine> {
        recorded()
            .range(self.first..)
            .map(|(_, g)| g.clone())
            .collect()
    }

    /// Waits up to `grace` for the goroutines spawned since the tracker was made to
    /// end. Returns those still alive then.
    ///
    /// # Errors
    /// [`Leaked`] lists the goroutines still alive after the grace period.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let tracker = hoare::leak::track();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// let _g = hoare::go(async move { rx.recv_async().await });
    /// let leaked = tracker.wait_none(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(leaked.goroutines().len(), 1);
    /// drop(tx);
    /// assert!(tracker.wait_none(Duration::from_secs(10)).is_ok());
    /// ```
    pub fn wait_none(&self, grace: Duration) -> Result<(), Leaked> {
        wait_for_end(self.first, grace)
    }

    /// For tests: waits up to a second for the goroutines spawned since the
    /// tracker was made to end, and panics with a readable list of those that did
    /// not (as goleak's `VerifyNone` fails a test).
    ///
    /// # Panics
    /// When goroutines are still alive after the grace period.
    ///
    /// ```
    /// let tracker = hoare::leak::track();
    /// hoare::go_blocking(|| 1 + 1).join().unwrap();
    /// tracker.verify_none();
    /// ```
    #[track_caller]
    pub fn verify_none(&self) {
        if let Err(leaked) = self.wait_none(Duration::from_secs(1)) {
            panic!("{leaked}");
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        TRACKERS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("alive", &self.check().len())
            .finish()
    }
}

/// Goroutines found alive after the grace period of [`Tracker::wait_none`].
///
/// ```
/// use std::time::Duration;
///
/// let tracker = hoare::leak::track();
/// let (tx, rx) = hoare::chan::<()>(0);
/// let g = hoare::go(async move { rx.recv_async().await });
/// let leaked = tracker.wait_none(Duration::ZERO).unwrap_err();
/// assert!(leaked.to_string().starts_with("1 goroutine leaked"));
/// drop(tx);
/// g.join().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Leaked {
    goroutines: Vec<Goroutine>,
}

impl Leaked {
    /// The goroutines still alive.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let tracker = hoare::leak::track();
    /// let (tx, rx) = hoare::chan::<()>(0);
    /// let g = hoare::go(async move { rx.recv_async().await });
    /// let leaked = tracker.wait_none(Duration::ZERO).unwrap_err();
    /// assert_eq!(leaked.goroutines().len(), 1);
    /// # drop(tx); g.join().unwrap();
    /// ```
    pub fn goroutines(&self) -> &[Goroutine] {
        &self.goroutines
    }
}

impl fmt::Display for Leaked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.goroutines.len();
        write!(f, "{n} goroutine{} leaked:", if n == 1 { "" } else { "s" })?;
        for g in &self.goroutines {
            write!(f, "\n  {g}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Leaked {}

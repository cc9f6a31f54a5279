//! `SingleFlight`: duplicate call suppression, as x/sync's `singleflight.Group`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::unwind::{panic_message, CatchUnwind};
use crate::chan::queue::{self, WaitQueue};
use crate::chan::waiter::AsyncWait;
use crate::loom::{lock, AtomicBool, AtomicUsize, Mutex};

/// Duplicate call suppression, as x/sync's `singleflight.Group`: while a call for a
/// key is in flight, other callers of the same key wait for it and share its result
/// instead of running their own.
///
/// [`run`](SingleFlight::run) (threads) and [`run_async`](SingleFlight::run_async)
/// (tasks) can share one flight. The result says whether it was
/// [`shared`](Flight::shared); a panic in the call reaches the caller and every
/// waiter as [`SingleFlightError::Panicked`]. A key is forgotten once its call
/// completes, so the next caller runs afresh; [`forget`](SingleFlight::forget) does
/// so early.
///
/// `SingleFlight` is `Send + Sync` when keys and values are `Send`; share it by
/// reference or in an `Arc`.
///
/// ```
/// use hoare::sync::SingleFlight;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let flights = SingleFlight::<&str, String>::new();
/// let calls = AtomicUsize::new(0);
/// let fetch = || {
///     calls.fetch_add(1, Ordering::Relaxed);
///     "profile of 42".to_string()
/// };
/// let got = flights.run("user:42", fetch).unwrap();
/// assert_eq!(got.value, "profile of 42");
/// assert!(!got.shared); // nobody else was asking
/// assert_eq!(calls.load(Ordering::Relaxed), 1);
/// ```
pub struct SingleFlight<K, V> {
    calls: Mutex<HashMap<K, Arc<Call<V>>>>,
}

/// What a [`SingleFlight`] call produced.
///
/// ```
/// let flights = hoare::sync::SingleFlight::<u8, u8>::new();
/// let flight: hoare::sync::Flight<u8> = flights.run(1, || 2).unwrap();
/// assert_eq!((flight.value, flight.shared), (2, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flight<V> {
    /// The call's result.
    pub value: V,
    /// Whether it went to more than one caller (Go's `shared`).
    pub shared: bool,
}

/// Why a [`SingleFlight`] call gave no value.
///
/// ```
/// use hoare::sync::{SingleFlight, SingleFlightError};
///
/// let flights = SingleFlight::<&str, u8>::new();
/// let err = flights.run("k", || panic!("backend down")).unwrap_err();
/// assert_eq!(err, SingleFlightError::Panicked("backend down".into()));
/// assert_eq!(err.to_string(), "singleflight: the call panicked: backend down");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SingleFlightError {
    /// The call panicked, with this message. Every caller that shared the call
    /// receives it.
    Panicked(String),
}

impl fmt::Display for SingleFlightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SingleFlightError::Panicked(msg) => {
                write!(f, "singleflight: the call panicked: {msg}")
            }
        }
    }
}

impl std::error::Error for SingleFlightError {}

/// One call in flight, shared by its caller and the waiters that joined it.
struct Call<V> {
    /// Set once, before `done` is raised.
    outcome: Mutex<Option<Outcome<V>>>,
    done: AtomicBool,
    /// Callers that joined instead of running.
    dups: AtomicUsize,
    waiters: WaitQueue,
}

enum Outcome<V> {
    Value(V),
    Panicked(String),
    /// The running future was dropped before it finished: each waiter tries again
    /// (one of them then runs its own call).
    Abandoned,
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    /// An empty group.
    ///
    /// ```
    /// let flights = hoare::sync::SingleFlight::<String, u64>::new();
    /// assert_eq!(flights.run("a".into(), || 1).unwrap().value, 1);
    /// ```
    pub fn new() -> Self {
        SingleFlight {
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` for `key`, unless a call for `key` is in flight: then waits for
    /// that call (blocking the thread) and returns a clone of its result, marked
    /// [`shared`](Flight::shared). In async code use
    /// [`run_async`](SingleFlight::run_async).
    ///
    /// # Errors
    /// [`SingleFlightError::Panicked`] when the call panicked, whether it was this
    /// caller's `f` or the one it waited for.
    ///
    /// ```
    /// use hoare::sync::SingleFlight;
    /// use std::sync::Arc;
    ///
    /// let flights = Arc::new(SingleFlight::<&str, u32>::new());
    /// let (started_tx, started) = hoare::chan::<()>(0);
    /// let (release, held) = hoare::chan::<()>(0);
    /// let leader = {
    ///     let flights = flights.clone();
    ///     std::thread::spawn(move || {
    ///         flights.run("config", || {
    ///             started_tx.send(()).unwrap();
    ///             let _ = held.recv(); // in flight until `release` is dropped
    ///             7
    ///         })
    ///     })
    /// };
    /// started.recv().unwrap();
    /// let follower = {
    ///     let flights = flights.clone();
    ///     std::thread::spawn(move || flights.run("config", || unreachable!()))
    /// };
    /// while flights.waiting(&"config") == 0 {
    ///     std::thread::yield_now(); // until the follower has joined
    /// }
    /// drop(release);
    /// assert_eq!(follower.join().unwrap().unwrap().value, 7);
    /// assert!(leader.join().unwrap().unwrap().shared);
    /// ```
    pub fn run<F>(&self, key: K, f: F) -> Result<Flight<V>, SingleFlightError>
    where
        F: FnOnce() -> V,
    {
        loop {
            let call = match self.join_or_lead(&key) {
                Role::Lead(call) => {
                    let leader = Leader::new(self, key, call);
                    let result = catch_unwind(AssertUnwindSafe(f));
                    return leader.settle(result.map_err(|p| panic_message(&*p)));
                }
                Role::Join(call) => call,
            };
            while !call.is_done() {
                queue::block_in(&call.waiters, || call.is_done(), None);
            }
            if let Some(result) = call.shared_result() {
                return result;
            }
            // The leader's future was abandoned: try again, perhaps as the leader.
        }
    }

    /// As [`run`](SingleFlight::run), in a task: runs the future `f` for `key`, or
    /// waits without blocking the thread for the call in flight. If the task
    /// running a call is dropped before it finishes, its waiters are not stranded:
    /// one of them runs its own `f` instead and the rest share that.
    ///
    /// # Errors
    /// [`SingleFlightError::Panicked`] when the call panicked.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::sync::SingleFlight;
    ///
    /// let flights = SingleFlight::<u32, String>::new();
    /// let (a, b) = tokio::join!(
    ///     flights.run_async(7, async {
    ///         tokio::task::yield_now().await; // still in flight when `b` asks
    ///         "seven".to_string()
    ///     }),
    ///     flights.run_async(7, async { unreachable!("joins the flight") }),
    /// );
    /// assert_eq!(a.unwrap().value, "seven");
    /// let b = b.unwrap();
    /// assert_eq!((b.value.as_str(), b.shared), ("seven", true));
    /// # }
    /// ```
    pub async fn run_async<F>(&self, key: K, f: F) -> Result<Flight<V>, SingleFlightError>
    where
        F: Future<Output = V>,
    {
        loop {
            let call = match self.join_or_lead(&key) {
                Role::Lead(call) => {
                    let leader = Leader::new(self, key, call);
                    let result = CatchUnwind { future: f }.await;
                    return leader.settle(result.map_err(|p| panic_message(&*p)));
                }
                Role::Join(call) => call,
            };
            CallWait {
                call: &call,
                wait: None,
                done: false,
            }
            .await;
            if let Some(result) = call.shared_result() {
                return result;
            }
        }
    }

    /// Forgets `key`: the call in flight for it (if any) still completes for those
    /// already waiting, but the next caller of `key` starts a new call.
    ///
    /// ```
    /// let flights = hoare::sync::SingleFlight::<&str, u8>::new();
    /// flights.forget("never called"); // nothing in flight: does nothing
    /// assert_eq!(flights.run("k", || 1).unwrap().value, 1);
    /// ```
    pub fn forget<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = lock(&self.calls).remove(key);
        drop(removed);
    }

    /// How many callers have joined the call in flight for `key` rather than run
    /// their own (zero when none is in flight). A snapshot, for tests and
    /// diagnostics.
    ///
    /// ```
    /// let flights = hoare::sync::SingleFlight::<u8, u8>::new();
    /// assert_eq!(flights.waiting(&1), 0);
    /// ```
    pub fn waiting<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        lock(&self.calls)
            .get(key)
            .map_or(0, |call| call.dups.load(Ordering::Relaxed))
    }

    /// Joins the call in flight for `key`, or registers a new one for the caller
    /// to run.
    fn join_or_lead(&self, key: &K) -> Role<V> {
        let mut calls = lock(&self.calls);
        if let Some(call) = calls.get(key) {
            // ORDERING: read by the leader under the same lock (see `settle`).
            call.dups.fetch_add(1, Ordering::Relaxed);
            return Role::Join(call.clone());
        }
        let call = Arc::new(Call {
            outcome: Mutex::new(None),
            done: AtomicBool::new(false),
            dups: AtomicUsize::new(0),
            waiters: WaitQueue::new(),
        });
        calls.insert(key.clone(), call.clone());
        Role::Lead(call)
    }
}

enum Role<V> {
    Lead(Arc<Call<V>>),
    Join(Arc<Call<V>>),
}

/// The caller running a call. Settles it exactly once: with the outcome, or as
/// abandoned if the running future is dropped first.
struct Leader<'a, K: Hash + Eq, V> {
    group: &'a SingleFlight<K, V>,
    key: K,
    call: Arc<Call<V>>,
    settled: bool,
}

impl<'a, K: Hash + Eq, V> Leader<'a, K, V> {
    fn new(group: &'a SingleFlight<K, V>, key: K, call: Arc<Call<V>>) -> Self {
        Leader {
            group,
            key,
            call,
            settled: false,
        }
    }

    /// Removes the call from the map, unless it was forgotten (and perhaps
    /// replaced by a newer call).
    fn unlist(&self) {
        let mut calls = lock(&self.group.calls);
        if calls
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &self.call))
        {
            calls.remove(&self.key);
        }
    }
}

impl<K: Hash + Eq, V: Clone> Leader<'_, K, V> {
    /// Publishes the call's result (its value, or its panic's message) to the
    /// waiters and returns the leader's own share.
    fn settle(mut self, result: Result<V, String>) -> Result<Flight<V>, SingleFlightError> {
        self.settled = true;
        // Once the key is out of the map nobody can join, so `dups` is final.
        self.unlist();
        // ORDERING: joins happen under the map's lock, which `unlist` took after
        // them, so this sees every one.
        let shared = self.call.dups.load(Ordering::Relaxed) > 0;
        if shared {
            self.call.publish(match &result {
                Ok(value) => Outcome::Value(value.clone()),
                Err(msg) => Outcome::Panicked(msg.clone()),
            });
        }
        result
            .map(|value| Flight { value, shared })
            .map_err(SingleFlightError::Panicked)
    }
}

impl<K: Hash + Eq, V> Drop for Leader<'_, K, V> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // The running future was dropped unfinished: let a waiter take over.
        self.unlist();
        self.call.publish(Outcome::Abandoned);
    }
}

impl<V> Call<V> {
    fn is_done(&self) -> bool {
        // ORDERING: SeqCst pairs with `publish` and the wait queue's SeqCst
        // registration, so a waiter either sees `done` or is woken.
        self.done.load(Ordering::SeqCst)
    }

    /// Stores the outcome, then wakes every waiter.
    fn publish(&self, outcome: Outcome<V>) {
        *lock(&self.outcome) = Some(outcome);
        self.done.store(true, Ordering::SeqCst);
        self.waiters.disconnect_all();
    }
}

impl<V: Clone> Call<V> {
    /// A waiter's share of the outcome, or `None` if the call was abandoned.
    fn shared_result(&self) -> Option<Result<Flight<V>, SingleFlightError>> {
        match lock(&self.outcome).as_ref() {
            Some(Outcome::Value(v)) => Some(Ok(Flight {
                value: v.clone(),
                shared: true,
            })),
            Some(Outcome::Panicked(msg)) => Some(Err(SingleFlightError::Panicked(msg.clone()))),
            Some(Outcome::Abandoned) | None => None,
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for SingleFlight<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleFlight")
            .field("in_flight", &lock(&self.calls).len())
            .finish()
    }
}

/// Waits in a task until a call is done.
struct CallWait<'a, V> {
    call: &'a Call<V>,
    /// Made on first need: a call that is already done never registers.
    wait: Option<AsyncWait<()>>,
    done: bool,
}

impl<V> Future for CallWait<'_, V> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out of `this`; `wait` is only used in place, and
        // `Drop` withdraws its registration before it goes away.
        let this = unsafe { self.get_unchecked_mut() };
        let call = this.call;
        loop {
            if call.is_done() {
                queue::finish(&mut this.wait, &call.waiters);
                this.done = true;
                return Poll::Ready(());
            }
            // SAFETY: `this.wait` stays in place (we are pinned) until `finish` runs
            // on it, here or in `Drop`.
            let pending =
                unsafe { queue::park(&mut this.wait, cx, &call.waiters, || call.is_done()) };
            if pending {
                return Poll::Pending;
            }
        }
    }
}

impl<V> Drop for CallWait<'_, V> {
    fn drop(&mut self) {
        if !self.done {
            queue::finish(&mut self.wait, &self.call.waiters);
        }
    }
}

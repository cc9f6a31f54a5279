//! One place for every synchronisation primitive the crate uses, so that
//! `RUSTFLAGS="--cfg loom"` swaps all of them for loom's models at once.
//!
//! Code elsewhere imports atomics, `Mutex`, `UnsafeCell` and thread functions from
//! here, never from `std` directly.

#[cfg(loom)]
pub(crate) use loom::{
    cell::UnsafeCell,
    sync::{
        atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize},
        Mutex, MutexGuard,
    },
    thread::yield_now,
};

#[cfg(loom)]
pub(crate) use parker::{current, park, Thread};

/// Thread parking for loom models, built on loom's `Mutex` and `Condvar`.
///
/// loom 0.7's own `Thread::unpark` also wakes a thread that is blocked acquiring a
/// mutex, which then fails loom's internal "expected to be able to acquire lock"
/// check. A select is exactly that case: it can be selected through one channel
/// while it is still registering with another. Real parking keeps an unpark token
/// instead, which is what this does.
#[cfg(loom)]
mod parker {
    use loom::sync::{Arc, Condvar, Mutex};

    /// A handle to unpark one thread.
    #[derive(Clone)]
    pub(crate) struct Thread(Arc<(Mutex<bool>, Condvar)>);

    loom::thread_local! {
        static CURRENT: Thread = Thread(Arc::new((Mutex::new(false), Condvar::new())));
    }

    /// The calling thread's handle.
    pub(crate) fn current() -> Thread {
        CURRENT.with(Thread::clone)
    }

    /// Blocks until the calling thread's token is set, then consumes it.
    pub(crate) fn park() {
        let me = current();
        let (token, cond) = &*me.0;
        let mut set = token.lock().unwrap();
        while !*set {
            set = cond.wait(set).unwrap();
        }
        *set = false;
    }

    impl Thread {
        /// Sets the token and wakes the thread if it is parked.
        pub(crate) fn unpark(&self) {
            let (token, cond) = &*self.0;
            *token.lock().unwrap() = true;
            cond.notify_one();
        }
    }
}

#[cfg(not(loom))]
use std::sync::atomic::Ordering;

#[cfg(not(loom))]
pub(crate) use std::{
    sync::{
        atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize},
        Mutex, MutexGuard,
    },
    thread::{current, park, park_timeout, yield_now, Thread},
};

/// A small number that stays the same for the calling thread and differs from
/// those of all other live threads, for picking a per-thread shard. A thread's
/// number is freed when it exits and the lowest free number is handed out next, so
/// the live threads hold the lowest numbers: with no more threads than shards, no
/// two share one.
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_index() -> usize {
    /// The calling thread's number; gives it back when the thread exits.
    struct Index(usize);

    /// Numbers given back by exited threads, and the next never-used number.
    static FREE: Mutex<(Vec<usize>, usize)> = Mutex::new((Vec::new(), 0));

    impl Index {
        fn claim() -> Index {
            let mut free = lock(&FREE);
            let lowest = (0..free.0.len()).min_by_key(|&i| free.0[i]);
            Index(match lowest {
                Some(i) => free.0.swap_remove(i),
                None => {
                    free.1 += 1;
                    free.1 - 1
                }
            })
        }
    }

    impl Drop for Index {
        fn drop(&mut self) {
            lock(&FREE).0.push(self.0);
        }
    }

    thread_local! {
        static INDEX: Index = Index::claim();
    }
    // While the thread's locals are being destroyed there is no number left; any
    // shard will do for what little runs then.
    INDEX.try_with(|index| index.0).unwrap_or(0)
}

/// Under loom each modelled thread gets its own number, in the order threads first
/// ask. loom resets its statics for every execution it explores, so a model sees
/// the same numbering each time it replays a schedule.
#[cfg(loom)]
pub(crate) fn thread_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::Ordering;

    loom::lazy_static! {
        static ref NEXT: AtomicUsize = AtomicUsize::new(0);
    }
    loom::thread_local! {
        static INDEX: Cell<usize> = Cell::new(usize::MAX);
    }
    INDEX.with(|index| {
        if index.get() == usize::MAX {
            index.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        index.get()
    })
}

/// loom has no timed park; models never use deadlines, so a plain park stands in.
#[cfg(loom)]
pub(crate) fn park_timeout(_: std::time::Duration) {
    park();
}

/// `std::cell::UnsafeCell` with loom's closure-based access API, so both builds
/// share one spelling.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks `mutex`, ignoring poisoning: every critical section in this crate leaves
/// its data consistent before it can panic (it only moves values and pointers), so a
/// poisoned lock carries no broken invariant and must not turn into a panic here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A lock for short critical sections that never block or run user code (the
/// unbuffered channel's state; a context's children, where at most a vector grows
/// or a child node is allocated): test-and-set, then backing off (spinning, then
/// yielding) while it is held.
///
/// Uncontended, it costs one compare-and-swap to lock and one plain store to
/// unlock, where `std::sync::Mutex` pays a second read-modify-write on unlock (to
/// learn whether to wake a sleeper) and two poisoning checks. crossbeam-channel's
/// and kanal's rendezvous channels lock the same way. It does not poison: as for
/// [`lock`], every critical section leaves its data consistent.
///
/// Under loom it is loom's `Mutex`, so the models check the protocols built on it.
/// `repr(C)`: the lock word comes first, so it shares a cache line with the start
/// of the value (the unbuffered channel keeps its hottest fields there).
#[cfg(not(loom))]
#[repr(C)]
pub(crate) struct SpinLock<T> {
    /// True while a guard exists.
    locked: std::sync::atomic::AtomicBool,
    /// Guarded by `locked`.
    value: std::cell::UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time, so sharing
// it only needs the value to be sendable between threads.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for SpinLock<T> {}

#[cfg(not(loom))]
impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            locked: std::sync::atomic::AtomicBool::new(false),
            value: std::cell::UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        // ORDERING: Acquire pairs with the Release in `SpinGuard::drop`: this
        // critical section sees everything the previous one did.
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut backoff = Backoff::new();
        loop {
            // ORDERING: Relaxed while waiting; the CAS below acquires.
            while self.locked.load(Ordering::Relaxed) {
                backoff.snooze();
            }
            // ORDERING: as in `lock`.
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Access to a [`SpinLock`]'s value; unlocks when dropped.
#[cfg(not(loom))]
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

#[cfg(not(loom))]
impl<T> std::ops::Deref for SpinGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard exists, so this thread holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

#[cfg(not(loom))]
impl<T> std::ops::DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists, so this thread holds the lock, and `&mut self`
        // makes this the only reference through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

#[cfg(not(loom))]
impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // ORDERING: Release publishes this critical section to the next `lock`.
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// Under loom, a [`SpinLock`] is loom's `Mutex`.
#[cfg(loom)]
pub(crate) struct SpinLock<T>(Mutex<T>);

#[cfg(loom)]
pub(crate) type SpinGuard<'a, T> = MutexGuard<'a, T>;

#[cfg(loom)]
impl<T> SpinLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        lock(&self.0)
    }
}

/// Exponential backoff for contended retries: a few rounds of `spin_loop`, then
/// `yield_now`. Under loom every step is a `yield_now`, so models stay finite.
pub(crate) struct Backoff {
    step: u32,
}

const SPIN_LIMIT: u32 = 6;
/// See [`Backoff::spin_for_task`].
const TASK_SPIN_STEPS: u32 = 4;
const YIELD_LIMIT: u32 = 10;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { step: 0 }
    }

    /// Backs off after a lost race on an atomic (another thread made progress).
    #[inline]
    pub(crate) fn spin(&mut self) {
        #[cfg(loom)]
        yield_now();
        #[cfg(not(loom))]
        for _ in 0..1u32 << self.step.min(SPIN_LIMIT) {
            std::hint::spin_loop();
        }
        if self.step <= SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// Backs off while waiting for another thread to finish a step (e.g. a slot
    /// being written): spins first, then yields the CPU.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        #[cfg(loom)]
        yield_now();
        #[cfg(not(loom))]
        if self.step <= SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
        } else {
            yield_now();
        }
        if self.step <= YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// For a task that found its channel not ready: spins briefly and returns true
    /// (try again), or returns false once the short spin a task may afford is over
    /// (then register and return `Pending`).
    ///
    /// A task's spin is much shorter than a thread's: a task that spins holds up
    /// every other task of its executor thread. Four rounds (1 + 2 + 4 + 8 spin
    /// hints) were measured best on the `select4` and `mpsc` benchmarks: shorter
    /// spins leave the other side too little time to free a slot, longer ones
    /// starve the tasks that would free it. A thread blocked on a buffered
    /// channel spins as briefly before it registers (`spin_before_registering` in
    /// `chan/array.rs`).
    #[inline]
    pub(crate) fn spin_for_task(&mut self) -> bool {
        if self.step >= TASK_SPIN_STEPS {
            return false;
        }
        self.spin();
        true
    }

    /// True once backing off has gone on long enough that blocking is better.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// 64 random bits, for select's fair choice. Under loom they are always zero (the
/// first case is tried first), since a model must run the same way every time it
/// is replayed; loom still explores every interleaving around it.
#[cfg(not(loom))]
#[inline]
pub(crate) fn random_u64() -> u64 {
    fastrand::u64(..)
}

#[cfg(loom)]
pub(crate) fn random_u64() -> u64 {
    0
}

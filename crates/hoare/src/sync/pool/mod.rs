//! `Pool<T>`: a cache of reusable objects with per-thread slots, as Go's `sync.Pool`.

mod slot;

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use crossbeam_utils::CachePadded;

use self::slot::Slot;
use crate::loom::{self, AtomicUsize, Mutex};

/// How many spare objects a pool made with [`Pool::new`] keeps beyond its
/// per-thread slots.
///
/// ```
/// use hoare::sync::{Pool, DEFAULT_MAX_IDLE};
///
/// let pool = Pool::new(Vec::<u8>::new);
/// // Take more objects than the pool can keep idle, then give them all back.
/// let taken: Vec<_> = (0..4 * DEFAULT_MAX_IDLE).map(|_| pool.get()).collect();
/// drop(taken);
/// let idle = pool.idle(); // this thread's slot, and the spares
/// assert!(DEFAULT_MAX_IDLE <= idle && idle < 4 * DEFAULT_MAX_IDLE, "{idle}");
/// ```
pub const DEFAULT_MAX_IDLE: usize = 32;

/// A cache of interchangeable objects that are expensive to make, as Go's
/// `sync.Pool`: [`get`](Pool::get) hands out an idle object (or makes one), and the
/// returned guard puts it back when dropped.
///
/// Objects are kept per thread: each thread has a slot of its own, from which an
/// object is lent with one compare-and-swap and returned with one plain store, so
/// threads that take and return objects do not contend. A
/// thread whose slot is empty takes from a bounded list of spares, then from other
/// threads' slots, and only then calls the constructor.
///
/// # What an idle pool keeps
/// Go empties its pools at every garbage collection. Rust has none, so hoare's rule
/// is a bound instead: a pool keeps at most one object per slot (one slot per CPU,
/// rounded up to a power of two) plus `max_idle` spares ([`DEFAULT_MAX_IDLE`] with
/// [`Pool::new`], chosen with [`Pool::with_max_idle`]). An object returned to a full
/// pool is dropped. [`clear`](Pool::clear) drops every idle object now, for code
/// that wants Go's behaviour at a moment of its choosing (e.g. on a
/// [`time::tick`](crate::time::tick)); dropping the pool drops them all.
///
/// As in Go, an object from `get` may be fresh or used: reset what must be reset
/// before use, and pool only objects that are alike.
///
/// ```
/// use hoare::sync::Pool;
///
/// let pool = Pool::new(|| Vec::<u8>::with_capacity(1 << 16));
/// {
///     let mut buf = pool.get(); // made by the constructor
///     buf.clear();
///     buf.extend_from_slice(b"request");
/// } // back in the pool
/// let buf = pool.get(); // the same buffer, capacity kept
/// assert!(buf.capacity() >= 1 << 16);
/// ```
pub struct Pool<T> {
    make: Box<dyn Fn() -> T + Send + Sync>,
    shards: Box<[CachePadded<Shard<T>>]>,
    /// `shards.len() - 1`; the length is a power of two.
    mask: usize,
    /// The most spares kept over all shards.
    max_idle: usize,
    /// Spares currently kept over all shards (may briefly count one in transit).
    idle: AtomicUsize,
}

/// One thread's corner of the pool.
struct Shard<T> {
    /// The object this thread takes and returns most of the time.
    slot: Slot<T>,
    /// Objects returned while the slot was taken.
    spare: Mutex<Vec<Box<T>>>,
}

// SAFETY: a pool hands its objects from thread to thread, so it is `Send` and `Sync`
// when `T` is `Send`; the slots' cells are only touched under their state machine
// (see `Slot`), never by two threads at once.
unsafe impl<T: Send> Send for Pool<T> {}
// SAFETY: as above; `&Pool` gives no shared access to an object, only loans.
unsafe impl<T: Send> Sync for Pool<T> {}

/// The constructor of a [`Pool`] panicked in [`Pool::try_get`].
///
/// ```
/// use hoare::sync::Pool;
///
/// let pool = Pool::new(|| -> u32 { panic!("no connection") });
/// let err = pool.try_get().unwrap_err();
/// assert_eq!(err.message(), "no connection");
/// assert_eq!(err.to_string(), "sync: pool constructor panicked: no connection");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolError {
    message: String,
}

impl PoolError {
    /// The panic's message (its payload when that is a string).
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(|| -> u8 { panic!("down") });
    /// assert_eq!(pool.try_get().unwrap_err().message(), "down");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sync: pool constructor panicked: {}", self.message)
    }
}

impl std::error::Error for PoolError {}

impl<T> Pool<T> {
    /// A pool that calls `make` when it has no idle object to hand out, and keeps
    /// up to [`DEFAULT_MAX_IDLE`] spares beyond its per-thread slots.
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(String::new);
    /// assert_eq!(*pool.get(), "");
    /// ```
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self::with_max_idle(make, DEFAULT_MAX_IDLE)
    }

    /// A pool that keeps at most `max_idle` spares beyond its per-thread slots.
    /// With `max_idle == 0` it keeps nothing at all (not even in the slots): every
    /// `get` calls `make` and every return drops the object.
    ///
    /// ```
    /// use hoare::sync::Pool;
    ///
    /// let pool = Pool::with_max_idle(|| 0u64, 0);
    /// drop(pool.get());
    /// assert_eq!(pool.idle(), 0);
    /// ```
    pub fn with_max_idle(make: impl Fn() -> T + Send + Sync + 'static, max_idle: usize) -> Self {
        let shards = shard_count();
        Pool {
            make: Box::new(make),
            shards: (0..shards)
                .map(|_| {
                    CachePadded::new(Shard {
                        slot: Slot::new(),
                        spare: Mutex::new(Vec::new()),
                    })
                })
                .collect(),
            mask: shards - 1,
            max_idle,
            idle: AtomicUsize::new(0),
        }
    }

    /// Takes an idle object, or makes one with the constructor when there is none.
    /// The guard derefs to the object and returns it to the pool when dropped;
    /// [`Pooled::take`] keeps it instead.
    ///
    /// # Panics
    /// Only if the constructor panics: the panic reaches the caller as if it had
    /// called the constructor itself, and the pool stays usable. Use
    /// [`try_get`](Pool::try_get) to receive it as an error.
    ///
    /// ```
    /// use hoare::sync::Pool;
    ///
    /// let pool = Pool::new(|| vec![0u8; 4]);
    /// let mut a = pool.get();
    /// a[0] = 7;
    /// drop(a);
    /// assert_eq!(pool.get()[0], 7); // the same object came back
    /// ```
    #[inline]
    pub fn get(&self) -> Pooled<'_, T> {
        let home = loom::thread_index() & self.mask;
        if let Some(object) = self.shards[home].slot.borrow() {
            return Pooled::lent(self, object, home);
        }
        self.find_idle(home)
            .unwrap_or_else(|| Pooled::owned(self, Box::new((self.make)()), home))
    }

    /// As [`get`](Pool::get), but a panicking constructor gives an error instead of
    /// unwinding into the caller.
    ///
    /// # Errors
    /// [`PoolError`] with the panic's message when the constructor panicked.
    ///
    /// ```
    /// use hoare::sync::Pool;
    ///
    /// let pool = Pool::new(|| 42);
    /// assert_eq!(*pool.try_get().unwrap(), 42);
    /// ```
    pub fn try_get(&self) -> Result<Pooled<'_, T>, PoolError> {
        let home = loom::thread_index() & self.mask;
        if let Some(object) = self.shards[home].slot.borrow() {
            return Ok(Pooled::lent(self, object, home));
        }
        if let Some(found) = self.find_idle(home) {
            return Ok(found);
        }
        match panic::catch_unwind(AssertUnwindSafe(|| (self.make)())) {
            Ok(made) => Ok(Pooled::owned(self, Box::new(made), home)),
            Err(payload) => Err(PoolError {
                message: super::unwind::panic_message(&*payload),
            }),
        }
    }

    /// Adds `value` to the pool (Go's `Put`), e.g. to warm it up before use; it is
    /// dropped if the pool is full.
    ///
    /// ```
    /// use hoare::sync::Pool;
    ///
    /// let pool = Pool::new(|| -> String { unreachable!("warm pool") });
    /// pool.put("ready".to_string());
    /// assert_eq!(*pool.get(), "ready");
    /// ```
    pub fn put(&self, value: T) {
        self.give_back(loom::thread_index() & self.mask, Box::new(value));
    }

    /// How many idle objects the pool holds now (a snapshot: other threads may be
    /// taking and returning objects meanwhile).
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(|| 1);
    /// assert_eq!(pool.idle(), 0);
    /// drop(pool.get());
    /// assert_eq!(pool.idle(), 1);
    /// ```
    pub fn idle(&self) -> usize {
        let in_slots = self
            .shards
            .iter()
            .filter(|shard| shard.slot.is_full())
            .count();
        let spares: usize = self
            .shards
            .iter()
            .map(|shard| loom::lock(&shard.spare).len())
            .sum();
        in_slots + spares
    }

    /// Drops every idle object now (what Go's garbage collector does to a pool).
    /// Objects that are out on loan are not affected and return as usual.
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(|| [0u8; 1024]);
    /// drop(pool.get());
    /// pool.clear();
    /// assert_eq!(pool.idle(), 0);
    /// ```
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            drop(shard.slot.take());
            let spares = std::mem::take(&mut *loom::lock(&shard.spare));
            // ORDERING: the count is a bound, not a synchronisation point.
            self.idle.fetch_sub(spares.len(), Ordering::Relaxed);
            drop(spares); // outside the lock: a destructor may be slow
        }
    }

    /// An idle object from anywhere but the slot of shard `home` (the caller's,
    /// found empty): its spares, then other shards' slots and spares.
    #[cold]
    fn find_idle(&self, home: usize) -> Option<Pooled<'_, T>> {
        if let Some(object) = self.pop_spare(&self.shards[home], true) {
            return Some(Pooled::owned(self, object, home));
        }
        (1..self.shards.len()).find_map(|step| {
            let other = (home + step) & self.mask;
            if let Some(object) = self.shards[other].slot.borrow_if_full() {
                return Some(Pooled::lent(self, object, other));
            }
            let object = self.pop_spare(&self.shards[other], false)?;
            Some(Pooled::owned(self, object, home))
        })
    }

    /// Pops a spare from `shard`; `wait` says whether to wait for its lock (the
    /// caller's own shard) or give up when it is busy (another thread's).
    fn pop_spare(&self, shard: &Shard<T>, wait: bool) -> Option<Box<T>> {
        // ORDERING: a hint; a stale zero only means one more `make`.
        if self.idle.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut spare = if wait {
            loom::lock(&shard.spare)
        } else {
            shard.spare.try_lock().ok()?
        };
        let object = spare.pop()?;
        drop(spare);
        // ORDERING: see `clear`.
        self.idle.fetch_sub(1, Ordering::Relaxed);
        Some(object)
    }

    /// Keeps `object` in the slot of shard `home` if it is empty, or among its
    /// spares, or drops it when the pool is full.
    fn give_back(&self, home: usize, object: Box<T>) {
        if self.max_idle == 0 {
            return;
        }
        let home = &self.shards[home];
        let Err(object) = home.slot.fill(object) else {
            return;
        };
        // ORDERING: see `clear`.
        if self.idle.fetch_add(1, Ordering::Relaxed) < self.max_idle {
            loom::lock(&home.spare).push(object);
        } else {
            self.idle.fetch_sub(1, Ordering::Relaxed);
            drop(object); // full: Go's GC would have dropped it too
        }
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.idle())
            .field("slots", &self.shards.len())
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

/// One slot per CPU, rounded up to a power of two so a thread's slot is a mask
/// away. Two under loom, so models exercise taking from another thread's slot.
fn shard_count() -> usize {
    if cfg!(loom) {
        return 2;
    }
    std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .clamp(1, 64)
        .next_power_of_two()
}

/// An object on loan from a [`Pool`]: derefs to it, and returns it to the pool
/// when dropped.
///
/// ```
/// use hoare::sync::{Pool, Pooled};
///
/// let pool = Pool::new(|| String::from("conn"));
/// let conn: Pooled<'_, String> = pool.get();
/// assert_eq!(conn.len(), 4);
/// ```
pub struct Pooled<'a, T> {
    pool: &'a Pool<T>,
    /// The object, exclusively ours while the guard lives: either the object of a
    /// slot we hold the loan of, or a box we own (see `from`).
    object: NonNull<T>,
    from: Origin,
}

/// Where a [`Pooled`] object came from, which says how it goes back.
#[derive(Clone, Copy, Debug)]
enum Origin {
    /// Lent by the slot of this shard: returning it is ending the loan.
    Slot(usize),
    /// Owned (a spare, or newly made): it goes back to this shard, the taker's.
    Owned(usize),
}

// SAFETY: the guard owns its object exclusively (see `object`), like a `Box<T>`, and
// its pool reference is `Send` when `T` is.
unsafe impl<T: Send> Send for Pooled<'_, T> {}
// SAFETY: `&Pooled` only gives `&T`, like `&Box<T>`.
unsafe impl<T: Sync> Sync for Pooled<'_, T> {}

impl<'a, T> Pooled<'a, T> {
    /// A guard for the object lent by the slot of shard `shard`.
    fn lent(pool: &'a Pool<T>, object: NonNull<T>, shard: usize) -> Self {
        Pooled {
            pool,
            object,
            from: Origin::Slot(shard),
        }
    }

    /// A guard for an object we own, to go back to shard `home`.
    fn owned(pool: &'a Pool<T>, object: Box<T>, home: usize) -> Self {
        Pooled {
            pool,
            // SAFETY: `Box::into_raw` never returns null.
            object: unsafe { NonNull::new_unchecked(Box::into_raw(object)) },
            from: Origin::Owned(home),
        }
    }

    /// Keeps the object instead of returning it to the pool.
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(|| vec![1, 2, 3]);
    /// let v: Vec<i32> = hoare::sync::Pooled::take(pool.get());
    /// assert_eq!(v, [1, 2, 3]);
    /// assert_eq!(pool.idle(), 0);
    /// ```
    pub fn take(this: Self) -> T {
        let this = ManuallyDrop::new(this);
        let boxed = match this.from {
            // SAFETY: we hold that slot's loan, of this very object.
            Origin::Slot(shard) => unsafe { this.pool.shards[shard].slot.keep(this.object) },
            // SAFETY: an owned object's pointer came from `Box::into_raw` and is ours;
            // the guard's destructor will not run (ManuallyDrop), so it is freed once.
            Origin::Owned(_) => unsafe { Box::from_raw(this.object.as_ptr()) },
        };
        *boxed
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the object is live and exclusively the guard's (see `object`).
        unsafe { self.object.as_ref() }
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { self.object.as_mut() }
    }
}

impl<T> Drop for Pooled<'_, T> {
    #[inline]
    fn drop(&mut self) {
        match self.from {
            // SAFETY: we hold that slot's loan; ending it is the guard's last act.
            Origin::Slot(shard) => unsafe { self.pool.shards[shard].slot.give_back() },
            Origin::Owned(home) => {
                // SAFETY: an owned object's pointer came from `Box::into_raw` and is
                // ours; the guard is being destroyed, so this is its only release.
                let object = unsafe { Box::from_raw(self.object.as_ptr()) };
                self.pool.give_back(home, object);
            }
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&**self).finish()
    }
}

/// Small cases of the unsafe slot hand-off, sized to run under miri as well.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A value that counts its drops.
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    type Count = Arc<std::sync::atomic::AtomicUsize>;

    /// A pool of `Counted`, with its drop count and its make count.
    fn counted(max_idle: usize) -> (Pool<Counted>, Count, Count) {
        let (drops, made) = (Count::default(), Count::default());
        let (d, m) = (drops.clone(), made.clone());
        let make = move || {
            m.fetch_add(1, Ordering::Relaxed);
            Counted(d.clone())
        };
        (Pool::with_max_idle(make, max_idle), drops, made)
    }

    #[test]
    fn slot_and_spares_round_trip_and_drop_once() {
        let (pool, drops, made) = counted(2);
        let held: Vec<_> = (0..5).map(|_| pool.get()).collect();
        drop(held); // one to the slot, two spares, two dropped
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        let again: Vec<_> = (0..3).map(|_| pool.get()).collect();
        assert_eq!(pool.idle(), 0);
        drop(again);
        let taken = Pooled::take(pool.get());
        pool.clear();
        drop(taken);
        drop(pool);
        assert_eq!(made.load(Ordering::Relaxed), 5);
        assert_eq!(drops.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn objects_cross_threads_and_drop_once() {
        let (pool, drops, made) = counted(4);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let a = pool.get();
                        let b = pool.get();
                        drop(a);
                        pool.put(Pooled::take(b));
                    }
                });
            }
        });
        drop(pool);
        let made = made.load(Ordering::Relaxed);
        assert!(made >= 2, "two threads held two each at once");
        assert_eq!(
            drops.load(Ordering::Relaxed),
            made,
            "each dropped exactly once"
        );
    }

    #[test]
    fn zero_sized_objects_are_pooled() {
        let pool = Pool::new(|| ());
        drop(pool.get());
        assert_eq!(pool.idle(), 1);
        let _keep = pool.get();
        assert_eq!(pool.idle(), 0);
    }
}

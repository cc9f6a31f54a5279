//! `Pool<T>`: a cache of reusable objects with per-thread slots, as Go's `sync.Pool`.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering;

use crossbeam_utils::CachePadded;

use crate::loom::{self, AtomicPtr, AtomicUsize, Mutex};

/// How many spare objects a pool made with [`Pool::new`] keeps beyond its
/// per-thread slots.
pub const DEFAULT_MAX_IDLE: usize = 32;

/// A cache of interchangeable objects that are expensive to make, as Go's
/// `sync.Pool`: [`get`](Pool::get) hands out an idle object (or makes one), and the
/// returned guard puts it back when dropped.
///
/// Objects are kept per thread: each thread has a slot of its own, reached with
/// one atomic swap, so threads that take and return objects do not contend. A
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
    /// Invariant: null, or a pointer from `Box::into_raw` that this shard owns.
    /// Whoever swaps a non-null pointer out owns that box from then on.
    slot: AtomicPtr<T>,
    /// Objects returned while the slot was full.
    spare: Mutex<Vec<Box<T>>>,
}

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
                        slot: AtomicPtr::new(ptr::null_mut()),
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
    pub fn get(&self) -> Pooled<'_, T> {
        let home = loom::thread_index() & self.mask;
        let object = match self.take_idle(home) {
            Some(object) => object,
            None => Box::new((self.make)()),
        };
        Pooled {
            pool: self,
            home,
            object: ManuallyDrop::new(object),
        }
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
        let object = match self.take_idle(home) {
            Some(object) => object,
            None => match panic::catch_unwind(AssertUnwindSafe(|| (self.make)())) {
                Ok(made) => Box::new(made),
                Err(payload) => {
                    return Err(PoolError {
                        message: super::unwind::panic_message(&*payload),
                    })
                }
            },
        };
        Ok(Pooled {
            pool: self,
            home,
            object: ManuallyDrop::new(object),
        })
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
            .filter(|shard| !shard.slot.load(Ordering::Acquire).is_null())
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
            drop(shard.take_slot());
            let spares = std::mem::take(&mut *loom::lock(&shard.spare));
            // ORDERING: the count is a bound, not a synchronisation point.
            self.idle.fetch_sub(spares.len(), Ordering::Relaxed);
            drop(spares); // outside the lock: a destructor may be slow
        }
    }

    /// An idle object: from the slot and spares of shard `home` (the caller's),
    /// or from another shard.
    fn take_idle(&self, home: usize) -> Option<Box<T>> {
        if let Some(object) = self.shards[home].take_slot() {
            return Some(object);
        }
        if self.idle.load(Ordering::Relaxed) > 0 {
            if let Some(object) = self.pop_spare(&self.shards[home], true) {
                return Some(object);
            }
        }
        (1..self.shards.len()).find_map(|step| {
            let other = &self.shards[(home + step) & self.mask];
            other.take_slot_if_full().or_else(|| {
                // ORDERING: a hint; a stale zero only means one more `make`.
                (self.idle.load(Ordering::Relaxed) > 0)
                    .then(|| self.pop_spare(other, false))
                    .flatten()
            })
        })
    }

    /// Pops a spare from `shard`; `wait` says whether to wait for its lock (the
    /// caller's own shard) or give up when it is busy (another thread's).
    fn pop_spare(&self, shard: &Shard<T>, wait: bool) -> Option<Box<T>> {
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

    /// Returns `object` to the slot of shard `home`, or to its spares, or drops it.
    fn give_back(&self, home: usize, object: Box<T>) {
        if self.max_idle == 0 {
            return;
        }
        let home = &self.shards[home];
        let raw = Box::into_raw(object);
        // ORDERING: Release publishes the object's contents to whoever swaps it out
        // (with Acquire); AcqRel because the pointer swapped in may be another's.
        let previous = home.slot.swap(raw, Ordering::AcqRel);
        if previous.is_null() {
            return;
        }
        // SAFETY: `previous` came out of the slot, so by the slot's invariant it is
        // a `Box::into_raw` pointer and we are now its only owner.
        let displaced = unsafe { Box::from_raw(previous) };
        // ORDERING: see `clear`.
        if self.idle.fetch_add(1, Ordering::Relaxed) < self.max_idle {
            loom::lock(&home.spare).push(displaced);
        } else {
            self.idle.fetch_sub(1, Ordering::Relaxed);
            drop(displaced); // full: Go's GC would have dropped it too
        }
    }
}

impl<T> Shard<T> {
    /// Takes the slot's object, if any.
    fn take_slot(&self) -> Option<Box<T>> {
        // ORDERING: Acquire pairs with the Release of `give_back`'s swap.
        let raw = self.slot.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null pointer out of the slot is a `Box::into_raw` pointer
        // (the slot's invariant) that the swap made ours alone.
        (!raw.is_null()).then(|| unsafe { Box::from_raw(raw) })
    }

    /// As `take_slot`, but does not write to a slot that is empty, so scanning
    /// other threads' slots does not steal their cache lines for nothing.
    fn take_slot_if_full(&self) -> Option<Box<T>> {
        if self.slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        self.take_slot()
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        for shard in self.shards.iter() {
            drop(shard.take_slot());
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
    /// The shard it was taken from (the taking thread's), where it goes back.
    home: usize,
    /// Always present until `take` or `drop` moves it out (both consume the guard).
    object: ManuallyDrop<Box<T>>,
}

impl<T> Pooled<'_, T> {
    /// Keeps the object instead of returning it to the pool.
    ///
    /// ```
    /// let pool = hoare::sync::Pool::new(|| vec![1, 2, 3]);
    /// let v: Vec<i32> = hoare::sync::Pooled::take(pool.get());
    /// assert_eq!(v, [1, 2, 3]);
    /// assert_eq!(pool.idle(), 0);
    /// ```
    pub fn take(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used again and its destructor does not run
        // (ManuallyDrop), so the object is moved out exactly once.
        *unsafe { ManuallyDrop::take(&mut this.object) }
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.object
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard is being destroyed; the object is moved out once here
        // (`take` skips this destructor).
        let object = unsafe { ManuallyDrop::take(&mut self.object) };
        self.pool.give_back(self.home, object);
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&**self).finish()
    }
}

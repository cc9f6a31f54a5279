//! Go's `sync` package ([`WaitGroup`], [`Cond`], [`Pool`]) and x/sync's weighted
//! [`Semaphore`], [`ErrGroup`] and [`SingleFlight`], usable from threads and tasks.
//!
//! `Mutex`, `RwLock` and `Once` are std's ([`std::sync::Mutex`],
//! [`std::sync::RwLock`], [`std::sync::Once`]); hoare does not wrap them.
//!
//! The waiting types block on the same wait queues as hoare's channels, so a wake-up is
//! never lost between a waiter's last check and its sleep, and the same value can be
//! waited on from a thread ([`WaitGroup::wait`], [`Cond::wait`]) and from a task
//! ([`WaitGroup::wait_async`], [`Cond::wait_async`]) at once.
//!
//! | Go | hoare |
//! |---|---|
//! | `var wg sync.WaitGroup` | `let wg = WaitGroup::new();` |
//! | `wg.Add(n)` | `wg.add(n)?` |
//! | `wg.Done()` | `wg.done()?` |
//! | `wg.Wait()` | `wg.wait()` / `wg.wait_async().await` |
//! | `wg.Go(f)` | `wg.go(f)?` / `wg.go_async(fut)?` |
//! | `c := sync.NewCond(&mu)` | `let c = Cond::new();` (the mutex is passed to `wait`) |
//! | `for !ok { c.Wait() }` | `while !ok { guard = c.wait(&mu, guard) }` / `c.wait_until_async(&mu, \|g\| ok).await` |
//! | `c.Signal()` / `c.Broadcast()` | `c.signal()` / `c.broadcast()` |
//! | `semaphore.NewWeighted(n)` | `Semaphore::new(n)` |
//! | `s.Acquire(ctx, n)` / `s.TryAcquire(n)` / `s.Release(n)` | `s.acquire_ctx(&ctx, n)?` (or `acquire`, `acquire_async`, `acquire_ctx_async`) / `s.try_acquire(n)` / `s.release(n)?` |
//! | `g, ctx := errgroup.WithContext(ctx)`; `g.Go(f)`; `g.Wait()` | [`ErrGroup`]: `let (g, ctx) = ErrGroup::with_context(&ctx);` `g.go(f)` / `g.go_async(fut)`; `g.wait()?` |
//! | `p := &sync.Pool{New: f}` | `let p = Pool::new(f);` |
//! | `x := p.Get()`; `defer p.Put(x)` | `let x = p.get();` (returns to the pool on drop) |
//! | `p.Put(x)` | `p.put(x)` |
//! | `var g singleflight.Group`; `v, err, shared := g.Do(key, f)` | `let g = SingleFlight::new();` `let Flight { value, shared } = g.run(key, f)?;` (or `run_async`) |
//! | `g.Forget(key)` | `g.forget(&key)` |
//!
//! ```
//! use hoare::sync::WaitGroup;
//!
//! let wg = WaitGroup::new();
//! let (tx, rx) = hoare::chan::<u32>(3);
//! for i in 0..3 {
//!     let tx = tx.clone();
//!     let _ = wg.go(move || tx.send(i).unwrap()).unwrap(); // detached: the group waits
//! }
//! wg.wait();
//! drop(tx);
//! let mut got: Vec<u32> = rx.into_iter().collect();
//! got.sort();
//! assert_eq!(got, [0, 1, 2]);
//! ```

mod cond;
mod errgroup;
mod pool;
mod semaphore;
mod singleflight;
pub(crate) mod unwind;
mod waitgroup;

pub use cond::{Cond, CondWait, CondWaitUntil, Locker};
pub use errgroup::{ErrGroup, ErrGroupError, GroupError};
pub use pool::{Pool, PoolError, Pooled, DEFAULT_MAX_IDLE};
pub use semaphore::{Semaphore, SemaphoreAcquire, SemaphoreError};
pub use singleflight::{Flight, SingleFlight, SingleFlightError};
pub use waitgroup::{WaitGroup, WaitGroupError, WaitGroupWait};

//! # hoare
//!
//! Go's concurrency model for Rust, from plain threads and from async tasks alike.
//!
//! hoare brings the building blocks of Go, and the patterns of the book
//! *Concurrency in Go*, to Rust without giving up Rust's safety. It starts where Go
//! starts: with channels.
//!
//! ## Channels
//!
//! [`chan::<T>(n)`](chan()) makes a channel; `n == 0` is unbuffered (a rendezvous).
//! The same channel works from threads (blocking calls) and from tasks (futures on
//! any executor), in any mix:
//!
//! ```
//! use hoare::chan;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (tx, rx) = chan::<String>(0);
//! let worker = std::thread::spawn(move || {
//!     for word in ["ping", "pong"] {
//!         tx.send(word.to_string()).unwrap(); // a thread sends...
//!     }
//! });
//! while let Some(word) = rx.recv_async().await { // ...a task receives
//!     println!("{word}");
//! }
//! worker.join().unwrap();
//! # }
//! ```
//!
//! Go's runtime panics become errors you can handle (`send` on a closed channel
//! returns the value back), and dropping the last sender or receiver closes the
//! channel, so a goroutine blocked on a channel nobody uses cannot leak. See
//! [`chan`](mod@chan) for the full table of channel states.
//!
//! ## Select
//!
//! [`select!`] waits on several operations and takes exactly one, as Go's `select`
//! does; [`select_async!`] is the same for tasks, and [`select::Select`] takes cases
//! known only at run time. Timers from [`time`] are ordinary cases:
//!
//! ```
//! use std::time::Duration;
//! use hoare::{chan, select, time};
//!
//! let (tx, rx) = chan::<i32>(1);
//! tx.send(1).unwrap();
//! let got = select! {
//!     recv(&rx) -> v => v,
//!     recv(time::after(Duration::from_secs(1))) -> _ => None,
//! };
//! assert_eq!(got, Some(1));
//! ```
//!
//! ## Goroutines and contexts
//!
//! [`go`](go()) spawns a goroutine (a tokio task, on a default runtime when there is
//! none), [`context`] carries cancellation and deadlines down a tree of calls, and
//! [`leak`] checks in tests that no goroutine outlived its work:
//!
//! ```
//! use hoare::context::Context;
//! use hoare::{go, leak, select_async};
//!
//! let tracker = leak::track();
//! let (ctx, cancel) = Context::background().with_cancel();
//! let worker = go(async move {
//!     let (_tx, jobs) = hoare::chan::<u32>(0);
//!     select_async! {
//!         recv(&jobs) -> _ => "job",
//!         recv(ctx.done()) -> _ => "canceled",
//!     }
//! });
//! drop(cancel); // dropping the guard cancels, as `defer cancel()` would
//! assert_eq!(worker.join(), Ok("canceled"));
//! tracker.verify_none();
//! ```
//!
//! ## Go → hoare
//!
//! | Go | hoare |
//! |---|---|
//! | `make(chan T, n)` | `chan::<T>(n)` |
//! | `ch <- v` | `tx.send(v)` / `tx.send_async(v).await` |
//! | `v, ok := <-ch` | `rx.recv()` / `rx.recv_async().await` |
//! | `for v := range ch` | `for v in &rx` / `rx.stream()` |
//! | `close(ch)` | `tx.close()` |
//! | `var ch chan T` | `chan::nil()` / `chan::never()` |
//! | `select { … }` | [`select!`] / [`select_async!`] |
//! | `reflect.Select` | [`select::Select`] |
//! | `time.After(d)` / `time.Tick(d)` | [`time::after`] / [`time::tick`] |
//! | `go f()` | [`go`](go()) / [`go_blocking`] |
//! | `context.WithCancel(ctx)` | [`ctx.with_cancel()`](context::Context::with_cancel) |
//! | `sync.WaitGroup`, `sync.Cond`, `sync.Pool`, x/sync | [`sync`] |
//! | the book's generator, or-done, tee, bridge, fan-in, pipelines | [`pattern`] |
//! | `rate.NewLimiter(r, b)`; `lim.Wait(ctx)` | [`rate::Limiter::new(r, b)`](rate::Limiter::new); [`lim.wait(&ctx)`](rate::Limiter::wait) |
//! | the book's heartbeats and stewards | [`supervise`] |
//! | the book's replicated requests; hedged requests | [`hedge`] |
//! | the book's `MyError`, `wrapError` and CLI `handleError` | [`report`] |
//!
//! `Mutex`, `RwLock` and `Once` are std's ([`std::sync`]); hoare does not wrap them.

#![warn(missing_docs, missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod chan;
pub mod context;
mod go;
pub mod hedge;
pub mod leak;
mod loom;
pub mod pattern;
pub mod rate;
pub mod report;
pub mod select;
pub mod supervise;
pub mod sync;
pub mod time;

pub use chan::chan;
pub use go::{go, go_blocking, JoinError, JoinHandle};

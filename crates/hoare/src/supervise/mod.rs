//! Supervision from chapter 5 of *Concurrency in Go*: heartbeats, and stewards
//! that heal goroutines whose heartbeat stops.
//!
//! A **heartbeat** is a worker's "I am alive". There are two kinds:
//!
//! - per unit of work ([`heartbeat()`]): one pulse as each unit starts, which makes
//!   tests of concurrent code deterministic (wait for the first pulse, not for a
//!   guessed timeout);
//! - on an interval ([`interval_heartbeat`]): pulses every interval while the
//!   worker waits for input or is blocked on output, so a watcher can tell a slow
//!   worker from a stuck one.
//!
//! Pulses never block the worker: one that nobody takes is dropped.
//!
//! A **steward** ([`Steward`]) starts a ward, watches its heartbeat, and when the
//! heartbeat is silent past a timeout cancels the ward and starts a new one,
//! within a restart budget.
//!
//! **Timeouts and cancellation**: [`timeout()`] bounds an operation;
//! [`checkpoint`] and [`preemptible`] make long work stop where it can. Work is
//! cancellable only where it looks at its context: the book's
//! `reallyLongCalculation` checks `done` between two `longCalculation`s and is
//! still stuck inside each, so preemption has to reach the smallest atomic steps.
//! Two points from the book that no helper can make for you:
//!
//! - **Rollback.** Keep the state a cancelled operation leaves behind small:
//!   `write_tally(add(1..=9))` once rather than `write_tally` after each partial
//!   sum, so cancellation either happens before the one write or not at all, and
//!   only that write needs to know how to undo itself.
//! - **Duplicate messages.** A stage cancelled after its input was taken but
//!   before its output was sent may leave the next stage a value that is then
//!   sent again on a retry. hoare's channel operations are all-or-nothing when a
//!   future is dropped (a value is sent once or not at all), but a retry above
//!   them is yours: make receivers idempotent, or have the producer wait for the
//!   consumer's heartbeat ([`heartbeat()`]) before it commits.
//!
//! | The book | hoare |
//! |---|---|
//! | `heartbeat := make(chan interface{}, 1)` + `select { case heartbeat <- struct{}{}: default: }` | [`heartbeat()`](heartbeat), [`Heartbeat::beat`] |
//! | `pulse := time.Tick(interval)` and `case <-pulse: sendPulse()` in every select | [`interval_heartbeat(interval)`](interval_heartbeat), [`IntervalHeartbeat::pulsing`] |
//! | `reallyLongCalculation(done, v)` checking `done` between steps | [`checkpoint(&ctx)?`](checkpoint), [`preemptible(&ctx, steps)`](preemptible) |
//! | `select { case <-done: case <-time.After(d): case r := <-work: }` | [`timeout(&ctx, d, work)`](timeout()) |
//! | `newSteward(timeout, startGoroutine)(done, pulseInterval)` | [`Steward::new(timeout, start)`](Steward::new)`.start(&ctx, pulse_interval)` |
//!
//! ```
//! use hoare::{chan, context::Context, supervise::heartbeat};
//!
//! // The book's TestDoWork_GeneratesAllNumbers: wait for the first pulse, not a timeout.
//! let (heart, pulses) = heartbeat();
//! let (tx, results) = chan::<i32>(0);
//! let input = vec![0, 1, 2, 3, 5];
//! let nums = input.clone();
//! let worker = std::thread::spawn(move || {
//!     for n in nums {
//!         heart.beat();
//!         if tx.send(n).is_err() {
//!             return;
//!         }
//!     }
//! });
//! pulses.recv(); // the worker has begun
//! assert_eq!(results.iter().collect::<Vec<_>>(), input);
//! worker.join().unwrap();
//! ```

#![forbid(unsafe_code)]

mod heartbeat;
mod steward;
mod timeout;

pub use heartbeat::{heartbeat, interval_heartbeat, Heartbeat, HeartbeatError, IntervalHeartbeat};
pub use steward::{Steward, StewardError, StewardEvent};
pub use timeout::{checkpoint, preemptible, timeout, Preemptible, TimeoutError};

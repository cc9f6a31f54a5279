//! The concurrency patterns of chapter 4 of *Concurrency in Go*: stream sources,
//! adapters, fan-out and fan-in, the or-channel, and pipelines whose stages report
//! the figures of Little's law.
//!
//! Every pattern takes a [`Context`](crate::context::Context) where the book takes
//! a `done` channel, and returns a hoare [`Receiver`](crate::chan::Receiver), so
//! the patterns compose with each other, with `for v in &rx`, and with
//! [`select!`](crate::select!). [`or_done`], [`take`], [`bridge`] and [`fan_in`]
//! need no goroutine: they are receivers that read their sources directly (in
//! `select!` too, and shared by clones). The others run on goroutines
//! ([`go`](crate::go())), which end when their input is closed, their context is
//! done, or every receiver of their output is dropped: none outlives its work,
//! and [`leak::verify_none`](crate::leak::verify_none) sees them go. Such a
//! goroutine registers with its context once, for its whole life, rather than
//! selecting on `done` at every hand-over as the book's do: when the context is
//! done, the goroutine is dropped at the wait it is in, which withdraws that
//! send or receive (it happened or it did not), so its hand-overs cost what bare
//! channel operations cost.
//!
//! | Go (the book) | hoare |
//! |---|---|
//! | `generator(done, 1, 2, 3)` | [`generator(&ctx, [1, 2, 3])`](generator) |
//! | `repeat(done, 1, 2)`, `repeatFn(done, f)` | [`repeat(&ctx, [1, 2])`](repeat), [`repeat_fn(&ctx, f)`](repeat_fn) |
//! | `take(done, s, n)` | [`take(&ctx, s, n)`](take) |
//! | `for v := range orDone(done, c)` | [`for v in or_done(&ctx, c)`](or_done) |
//! | `out1, out2 := tee(done, in)` | [`let (out1, out2) = tee(&ctx, input);`](tee) |
//! | `bridge(done, chanStream)` | [`bridge(&ctx, streams)`](bridge) |
//! | `fanIn(done, finders...)` | [`fan_in(&ctx, finders)`](fan_in) |
//! | `finders[i] = primeFinder(done, in)` for each CPU | [`fan_out(&ctx, input, n, f)`](fan_out) |
//! | `<-or(sig(2*time.Hour), sig(time.Second))` | [`or([after(2 * HOUR), after(SECOND)]).recv()`](or) |
//! | `multiply(done, add(done, multiply(done, ints, 2), 1), 2)` | [`Pipeline`]`::new(&ctx, ints).stage("multiply", 1, ..)..` |
//!
//! ```
//! use hoare::{context::Context, pattern};
//!
//! // The book's channel pipeline: generator → multiply(2) → add(1) → multiply(2).
//! let (ctx, _cancel) = Context::background().with_cancel();
//! let p = pattern::Pipeline::new(&ctx, [1, 2, 3, 4])
//!     .stage("multiply", 1, |v: i64| v * 2)
//!     .stage("add", 1, |v| v + 1)
//!     .stage("multiply", 1, |v| v * 2);
//! let out: Vec<i64> = p.output().into_iter().map(Result::unwrap).collect();
//! assert_eq!(out, [6, 10, 14, 18]);
//! ```

mod adapt;
mod fan;
mod pipeline;
pub(crate) mod source;
mod stats;

pub use adapt::{bridge, or_done, take, tee};
pub use fan::{fan_in, fan_out, or};
pub use pipeline::{Pipeline, PipelineError};
pub use source::{generator, repeat, repeat_fn};
pub use stats::StageStats;

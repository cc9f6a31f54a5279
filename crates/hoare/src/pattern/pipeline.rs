//! `Pipeline`: stages of closures joined by bounded channels, with errors carried
//! as values and per-stage counters.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use super::source::{recv_or_done, send_or_done, stream, until_done};
use super::stats::{tick, StageCounters, StageStats};
use crate::chan::{chan, Receiver, Sender, TryRecvError, TrySendError};
use crate::context::{CancelGuard, Context};
use crate::sync::unwind::{panic_message, CatchUnwind};

/// Why an item of a [`Pipeline`] carries no value: it flows to the consumer in
/// place of the value, which decides what to do (the book's Error Handling
/// section).
///
/// ```
/// use hoare::{context::Context, pattern::{Pipeline, PipelineError}};
///
/// let ctx = Context::background();
/// let p = Pipeline::new(&ctx, ["1", "x", "3"])
///     .try_stage("parse", 1, |s: &str| s.parse::<i32>());
/// let got: Vec<_> = p.output().into_iter().collect();
/// assert_eq!(got[0].as_ref().unwrap(), &1);
/// match &got[1] {
///     Err(PipelineError::Stage { stage, source }) => {
///         assert_eq!(stage, "parse");
///         assert_eq!(source.to_string(), "invalid digit found in string");
///     }
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(got[2].as_ref().unwrap(), &3);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PipelineError {
    /// A [`try_stage`](Pipeline::try_stage) closure returned this error; the
    /// pipeline goes on with the next item.
    Stage {
        /// The stage's name.
        stage: String,
        /// The closure's error.
        source: Box<dyn Error + Send + Sync>,
    },
    /// A stage closure panicked. The panic's stage then stops taking input, so
    /// the pipeline winds down: the stages before it stop, the ones after it
    /// finish what they hold, and the output closes after this error.
    Panicked {
        /// The stage's name.
        stage: String,
        /// The panic's message.
        message: String,
    },
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Stage { stage, source } => write!(f, "stage {stage:?}: {source}"),
            PipelineError::Panicked { stage, message } => {
                write!(f, "stage {stage:?} panicked: {message}")
            }
        }
    }
}

impl Error for PipelineError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PipelineError::Stage { source, .. } => Some(&**source),
            PipelineError::Panicked { .. } => None,
        }
    }
}

/// An item flowing between stages.
type Item<T> = Result<T, PipelineError>;

/// A pipeline (the book's Pipelines section): a source, then stages added one at
/// a time, each a closure run by one or more workers (goroutines), joined by
/// bounded channels; errors travel as values to the consumer.
///
/// Each stage counts its items and times them, and [`stats`](Pipeline::stats)
/// reads off throughput λ, mean time in the stage W, and mean occupancy L for
/// each stage, so the bottleneck and Little's law L = λW can be seen on a running
/// pipeline (the book's Queuing section).
///
/// The pipeline runs under a child of the context it was built with; cancelling
/// that context or calling [`cancel`](Pipeline::cancel) stops every stage.
/// Otherwise the stages run until the source is exhausted or every receiver of
/// the [`output`](Pipeline::output) is dropped (each stage then ends at its next
/// hand-over); dropping the `Pipeline` itself only gives up its statistics.
///
/// ```
/// use hoare::{context::Context, pattern::Pipeline};
///
/// let ctx = Context::background();
/// let p = Pipeline::new(&ctx, 1..=4)
///     .stage("multiply", 1, |v: i64| v * 2)
///     .stage("add", 1, |v| v + 1)
///     .stage("multiply", 1, |v| v * 2);
/// let out: Vec<i64> = p.output().into_iter().map(Result::unwrap).collect();
/// assert_eq!(out, [6, 10, 14, 18]);
/// assert_eq!(p.stats().len(), 3);
/// ```
pub struct Pipeline<T> {
    ctx: Context,
    cancel: Arc<CancelGuard>,
    output: Receiver<Item<T>>,
    stages: Vec<Arc<StageCounters>>,
    started: Instant,
    buffer: usize,
    /// Whether stages added from now on count (see [`Pipeline::without_counters`]).
    counting: bool,
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline whose source sends `items` (the book's `generator`).
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, vec!["a", "b"]);
    /// assert_eq!(p.output().recv().unwrap().unwrap(), "a");
    /// ```
    #[track_caller]
    pub fn new<I>(ctx: &Context, items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        let (pctx, cancel) = ctx.with_cancel();
        let cancel = Arc::new(cancel);
        let (c, guard, items) = (pctx.clone(), cancel.clone(), items.into_iter());
        let output = stream(&pctx, move |tx| async move {
            let _guard = guard;
            for v in items {
                if !send_or_done(&c, &tx, Ok(v)).await {
                    return;
                }
            }
        });
        Self::start(pctx, cancel, output)
    }

    /// A pipeline whose source is the stream `rx`.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::from_receiver(&ctx, hoare::pattern::generator(&ctx, [7]))
    ///     .stage("inc", 1, |v: i32| v + 1);
    /// assert_eq!(p.output().recv().unwrap().unwrap(), 8);
    /// ```
    #[track_caller]
    pub fn from_receiver(ctx: &Context, rx: Receiver<T>) -> Self {
        let (pctx, cancel) = ctx.with_cancel();
        let cancel = Arc::new(cancel);
        let (c, guard) = (pctx.clone(), cancel.clone());
        let output = stream(&pctx, move |tx| async move {
            let _guard = guard;
            while let Some(v) = recv_or_done(&c, &rx).await {
                if !send_or_done(&c, &tx, Ok(v)).await {
                    return;
                }
            }
        });
        Self::start(pctx, cancel, output)
    }

    fn start(ctx: Context, cancel: Arc<CancelGuard>, output: Receiver<Item<T>>) -> Self {
        Pipeline {
            ctx,
            cancel,
            output,
            stages: Vec::new(),
            started: Instant::now(),
            buffer: 0,
            counting: true,
        }
    }

    /// Sets the capacity of the queues that stages added from now on send into
    /// (0, the default, is unbuffered as in the book: each stage hands over
    /// directly).
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, 0..10).buffer(4).stage("id", 1, |v: u8| v);
    /// assert_eq!(p.output().into_iter().count(), 10);
    /// ```
    pub fn buffer(mut self, capacity: usize) -> Self {
        self.buffer = capacity;
        self
    }

    /// Stages added from now on keep no counters: their [`stats`](Pipeline::stats)
    /// read zero (apart from the name and the number of workers). Counting costs
    /// two or three readings of the CPU's time-stamp counter and a few plain
    /// stores per item and stage; this is for pipelines whose stages are so short
    /// that even that shows.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, 0..10)
    ///     .without_counters()
    ///     .stage("id", 1, |v: u8| v);
    /// assert_eq!(p.output().into_iter().count(), 10);
    /// assert_eq!(p.stats()[0].items_out, 0);
    /// ```
    pub fn without_counters(mut self) -> Self {
        self.counting = false;
        self
    }

    /// Adds a stage that maps each value with `f`, run by `workers` goroutines (0
    /// is taken as 1; with more than one, output order is not kept). Error values
    /// from earlier stages pass through untouched. `f` runs on tasks: keep
    /// blocking calls out of it.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, [3]).stage("square", 2, |v: u32| v * v);
    /// assert_eq!(p.output().recv().unwrap().unwrap(), 9);
    /// ```
    #[track_caller]
    pub fn stage<U, F>(self, name: impl Into<String>, workers: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.add(name.into(), workers, move |v| {
            std::future::ready(Ok::<U, PipelineError>(f(v)))
        })
    }

    /// Adds a stage whose closure can fail: an `Err` becomes a
    /// [`PipelineError::Stage`] item, and the stage goes on with the next value.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, [4, 0])
    ///     .try_stage("invert", 1, |v: i32| 100i32.checked_div(v).ok_or("division by zero"));
    /// let got: Vec<_> = p.output().into_iter().collect();
    /// assert_eq!(*got[0].as_ref().unwrap(), 25);
    /// assert_eq!(got[1].as_ref().unwrap_err().to_string(), "stage \"invert\": division by zero");
    /// ```
    #[track_caller]
    pub fn try_stage<U, E, F>(self, name: impl Into<String>, workers: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>,
        F: Fn(T) -> Result<U, E> + Send + Sync + 'static,
    {
        let name = name.into();
        let stage = name.clone();
        self.add(name, workers, move |v| {
            std::future::ready(f(v).map_err(|e| PipelineError::Stage {
                stage: stage.clone(),
                source: e.into(),
            }))
        })
    }

    /// Adds a stage whose closure is async: `f(value)` is awaited by one of
    /// `workers` goroutines (0 is taken as 1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, ["a"])
    ///     .stage_async("fetch", 4, |k: &str| async move { format!("value of {k}") });
    /// assert_eq!(p.output().recv_async().await.unwrap().unwrap(), "value of a");
    /// # }
    /// ```
    #[track_caller]
    pub fn stage_async<U, F, Fut>(
        self,
        name: impl Into<String>,
        workers: usize,
        f: F,
    ) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.add(name.into(), workers, move |v| {
            let fut = f(v);
            async move { Ok::<U, PipelineError>(fut.await) }
        })
    }

    /// The pipeline's output: each item is a value or the error that replaced it.
    /// The stream closes when the source is exhausted and every stage is done, or
    /// when the pipeline is cancelled. Clones share the items.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, [1, 2]);
    /// let sum: i32 = p.output().into_iter().map(Result::unwrap).sum();
    /// assert_eq!(sum, 3);
    /// ```
    pub fn output(&self) -> Receiver<Result<T, PipelineError>> {
        self.output.clone()
    }

    /// A snapshot of every stage's counters, in stage order.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, 0..5).stage("id", 1, |v: u8| v);
    /// p.output().into_iter().for_each(drop);
    /// assert_eq!(p.stats()[0].items_out, 5);
    /// ```
    pub fn stats(&self) -> Vec<StageStats> {
        self.stages
            .iter()
            .map(|s| s.snapshot(self.started))
            .collect()
    }

    /// Stops every stage now; the output closes once they have.
    ///
    /// ```
    /// let ctx = hoare::context::Context::background();
    /// let p = hoare::pattern::Pipeline::new(&ctx, 0..).stage("id", 1, |v: u64| v);
    /// let out = p.output();
    /// assert!(out.recv().is_some());
    /// p.cancel();
    /// while out.recv().is_some() {} // drains what was in flight, then closes
    /// ```
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The generic stage: `work` turns a value into a future of its result.
    #[track_caller]
    fn add<U, W, Fut>(self, name: String, workers: usize, work: W) -> Pipeline<U>
    where
        U: Send + 'static,
        W: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Item<U>> + Send + 'static,
    {
        let workers = workers.max(1);
        let counters = Arc::new(StageCounters::new(name, workers));
        let (stage_ctx, stop) = self.ctx.with_cancel();
        let stop = Arc::new(stop);
        let work = Arc::new(work);
        let (tx, output) = chan::<Item<U>>(self.buffer);
        for index in 0..workers {
            let worker = Worker {
                _pipeline: self.cancel.clone(),
                stage_ctx: stage_ctx.clone(),
                stop: stop.clone(),
                input: self.output.clone(),
                output: tx.clone(),
                counters: counters.clone(),
                index,
                counting: self.counting,
            };
            let (stage_ctx, run) = (stage_ctx.clone(), worker.run(work.clone()));
            drop(crate::go(async move { until_done(&stage_ctx, run).await }));
        }
        let mut stages = self.stages;
        stages.push(counters);
        Pipeline {
            ctx: self.ctx,
            cancel: self.cancel,
            output,
            stages,
            started: self.started,
            buffer: self.buffer,
            counting: self.counting,
        }
    }
}

/// One goroutine of a stage.
struct Worker<T, U> {
    /// Keeps the pipeline's context alive (uncancelled) while any stage runs.
    _pipeline: Arc<CancelGuard>,
    /// The stage's own context, cancelled when one of its workers panics.
    stage_ctx: Context,
    stop: Arc<CancelGuard>,
    input: Receiver<Item<T>>,
    output: Sender<Item<U>>,
    counters: Arc<StageCounters>,
    /// This worker's slot in `counters`.
    index: usize,
    /// Whether the worker counts (see [`Pipeline::without_counters`]).
    counting: bool,
}

impl<T: Send + 'static, U: Send + 'static> Worker<T, U> {
    async fn run<W, Fut>(self, work: Arc<W>)
    where
        W: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Item<U>> + Send + 'static,
    {
        let c = self.counting.then(|| self.counters.worker(self.index));
        let mut waiting_since = c.map(|_| tick());
        // The worker runs under `until_done(stage_ctx)`: a cancelled pipeline, or a
        // sibling's panic (which cancels `stage_ctx`), drops it at its next wait. The
        // check after each receive stops a worker that never has to wait.
        loop {
            // An item ready now needs no future, and its wait is nil: it counts as
            // received when the last one was handed on, with no clock reading.
            let (item, waited) = match self.input.try_recv() {
                Ok(item) => (item, false),
                Err(TryRecvError::Closed) => return,
                Err(TryRecvError::Empty) => match self.input.recv_async().await {
                    Some(item) => (item, true),
                    None => return,
                },
            };
            if self.stage_ctx.is_done() {
                return;
            }
            let received = waiting_since.map(|since| {
                let at = if waited { tick() } else { since };
                c.inspect(|c| c.received(since, at));
                at
            });
            let mut panicked = false;
            let out = match item {
                Err(e) => Err(e),
                Ok(v) => match (CatchUnwind {
                    future: async { work(v).await },
                })
                .await
                {
                    Ok(out) => out,
                    Err(payload) => {
                        panicked = true;
                        Err(PipelineError::Panicked {
                            stage: self.counters.name.clone(),
                            message: panic_message(&*payload),
                        })
                    }
                },
            };
            // Hand over at once if the next stage is waiting; otherwise wait for it
            // (and count the wait).
            let (sent, produced) = match self.output.try_send(out) {
                Ok(()) => (true, None),
                Err(TrySendError::Closed(_)) => (false, None),
                Err(TrySendError::Full(out)) => {
                    let produced = received.map(|_| tick());
                    (self.output.send_async(out).await.is_ok(), produced)
                }
            };
            if let (Some(c), Some(received)) = (c, received) {
                let at = tick();
                c.handed_on(sent, received, produced, at);
                waiting_since = Some(at);
            }
            if !sent || panicked {
                if panicked {
                    self.stop.cancel(); // the stage's other workers stop too
                }
                return;
            }
        }
    }
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "stages",
                &self.stages.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("buffer", &self.buffer)
            .finish_non_exhaustive()
    }
}

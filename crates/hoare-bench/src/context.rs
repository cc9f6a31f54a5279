//! The context family: `cancel_tree` (how long a cancel takes to reach 10,000 children) and
//! `ctx_child` (the cost of making and dropping a cancelable child), hoare's `context` beside
//! tokio-util's `CancellationToken` and Go's `context`.
//!
//! `cancel_tree` is measured by whole trees: a repetition of `n` ops (one op = one child) runs
//! `n / 10,000` trees (rounded, at least 1) and reports the time per child actually canceled
//! (see [`batches`] and [`scale`]). Building a tree (and its waiters) is not timed; each
//! repetition builds fresh ones, and its time counts only if its check passes: no waiter saw
//! its child done before the cancel, and every child reports canceled afterwards.
//!
//! - async: 10,000 tasks, one per child, each awaiting its child's done and then decrementing
//!   a shared counter; the one that brings it to 0 wakes the timing task (a tokio `Notify`,
//!   the same for both Rust implementations). The clock starts, once every waiter has started,
//!   just before the root's cancel, and stops when the timing task is woken.
//! - blocking: no waiters (10,000 threads would measure the OS): the children's done handles
//!   are taken before the cancel, and the thread that cancels then sweeps them with
//!   non-blocking checks until every one is seen done.
//!
//! `ctx_child` runs on one thread, blocking mode only: there is no waiting in it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoare::chan::{Receiver, TryRecvError};
use hoare::context::{CancelGuard, Context, Error};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::channels::{join_task, runtime};
use crate::harness::{Case, Mode, Rep, Scenario};

/// Family name: results go to `bench/results/context.{md,svg}`.
pub const FAMILY: &str = "context";

/// Children of the root in `cancel_tree`.
const TREE: usize = 10_000;

/// Variant names of the tokio-util `ctx_child` cases.
const TU_CANCEL: &str = "cancel() + drop";
const TU_DROP: &str = "drop only";

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "cancel_tree",
            family: FAMILY,
            description: "1 root, 10,000 direct children: from the root's cancel until every \
                          child's done is observed (async: one task per child awaits its done, then \
                          counts down, the last waking the timer; blocking: the cancelling thread \
                          sweeps the children's done handles with non-blocking checks); building the \
                          tree is not timed",
            unit: "child",
            cases: tree_cases,
        },
        Scenario {
            name: "ctx_child",
            family: FAMILY,
            description: "make and drop one cancelable child of a live root, on one thread \
                          (hoare: with_cancel, drop guard and context; Go: WithCancel, cancel())",
            unit: "child",
            cases: child_cases,
        },
    ]
}

fn tree_cases() -> Vec<Case> {
    fn blocking<C: Tree>(note: &'static str) -> Case {
        Case::new(Mode::Blocking, C::NAME, note, || -> Rep {
            Box::new(tree_blocking::<C>)
        })
    }
    vec![
        blocking::<HoareCtx>("done().try_recv()"),
        blocking::<TokioUtil>("is_cancelled()"),
        async_case(
            HoareCtx::NAME,
            "done().recv_async().await",
            tree_async::<HoareCtx>,
        ),
        async_case(
            TokioUtil::NAME,
            "cancelled().await",
            tree_async::<TokioUtil>,
        ),
    ]
}

fn child_cases() -> Vec<Case> {
    fn blocking(imp: &'static str, run: fn(u64) -> Result<Duration, String>) -> Case {
        Case::new(Mode::Blocking, imp, "", move || -> Rep { Box::new(run) })
    }
    vec![
        blocking(HoareCtx::NAME, child_hoare),
        blocking(TokioUtil::NAME, child_tokio_util_cancel).variant(TU_CANCEL),
        blocking(TokioUtil::NAME, child_tokio_util_drop).variant(TU_DROP),
    ]
}

/// An async case: each repetition runs `run(n)` as a task on the measurement's runtime
/// (multi-thread, 2 workers), so it spawns and wakes from a worker thread.
pub(crate) fn async_case<F>(imp: &'static str, note: &'static str, run: fn(u64) -> F) -> Case
where
    F: Future<Output = Result<Duration, String>> + Send + 'static,
{
    Case::new(Mode::Async, imp, note, move || -> Rep {
        let rt = runtime();
        Box::new(move |n| rt.block_on(async move { join_task(tokio::spawn(run(n))).await? }))
    })
}

/// The number of whole batches of `size` ops that a repetition of `n` ops runs: `n / size`,
/// rounded to the nearest, at least 1.
pub(crate) fn batches(n: u64, size: u64) -> u64 {
    ((n + size / 2) / size).max(1)
}

/// `elapsed`, measured over `ran` ops, scaled to the `n` ops the harness asked for, so that the
/// harness's figure (time / `n`) is the time per op actually run.
pub(crate) fn scale(elapsed: Duration, n: u64, ran: u64) -> Duration {
    let ns = elapsed.as_nanos() * u128::from(n) / u128::from(ran.max(1));
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// cancel_tree

/// A cancellation tree: hoare's contexts or tokio-util's tokens, so the scenario is written once.
trait Tree: 'static {
    /// Implementation name as reported.
    const NAME: &'static str;
    /// The root, and what cancels it.
    type Root;
    /// A child, as its waiter holds it.
    type Child: Clone + Send + 'static;
    /// What must live for the child to stay live (hoare: its guard).
    type Guard;
    /// What a non-blocking observer checks (hoare: the done channel).
    type Done;
    /// A live, cancelable root.
    fn root() -> Self::Root;
    /// A cancelable child of `root`.
    fn child(root: &Self::Root) -> (Self::Child, Self::Guard);
    /// Cancels `root` and so its children.
    fn cancel(root: &Self::Root);
    /// The handle [`is_done`](Tree::is_done) checks, taken before the cancel.
    fn done(child: &Self::Child) -> Self::Done;
    /// Whether `done` shows the child done, without blocking.
    fn is_done(done: &Self::Done) -> bool;
    /// Waits until the child is done.
    fn wait(child: Self::Child) -> impl Future<Output = ()> + Send;
    /// Whether the child reports canceled (the check after the timed part).
    fn canceled(child: &Self::Child) -> bool;
}

/// hoare's `context`: `with_cancel`, `done()`.
struct HoareCtx;

impl Tree for HoareCtx {
    const NAME: &'static str = "hoare";
    type Root = (Context, CancelGuard);
    type Child = Context;
    type Guard = CancelGuard;
    type Done = Receiver<()>;
    fn root() -> Self::Root {
        Context::background().with_cancel()
    }
    fn child(root: &Self::Root) -> (Context, CancelGuard) {
        root.0.with_cancel()
    }
    fn cancel(root: &Self::Root) {
        root.1.cancel();
    }
    fn done(child: &Context) -> Receiver<()> {
        child.done()
    }
    fn is_done(done: &Receiver<()>) -> bool {
        done.try_recv() == Err(TryRecvError::Closed)
    }
    async fn wait(child: Context) {
        let done = child.done();
        let _ = done.recv_async().await;
    }
    fn canceled(child: &Context) -> bool {
        child.err() == Some(Error::Canceled)
    }
}

/// tokio-util's `CancellationToken`: `child_token`, `cancelled()`, `is_cancelled()`.
struct TokioUtil;

impl Tree for TokioUtil {
    const NAME: &'static str = "tokio-util";
    type Root = CancellationToken;
    type Child = CancellationToken;
    type Guard = ();
    type Done = CancellationToken;
    fn root() -> CancellationToken {
        CancellationToken::new()
    }
    fn child(root: &CancellationToken) -> (CancellationToken, ()) {
        (root.child_token(), ())
    }
    fn cancel(root: &CancellationToken) {
        root.cancel();
    }
    fn done(child: &CancellationToken) -> CancellationToken {
        child.clone()
    }
    fn is_done(done: &CancellationToken) -> bool {
        done.is_cancelled()
    }
    async fn wait(child: CancellationToken) {
        child.cancelled().await;
    }
    fn canceled(child: &CancellationToken) -> bool {
        child.is_cancelled()
    }
}

/// Checks, after the timed part, that every child reports canceled.
fn check_canceled<C: Tree>(children: &[(C::Child, C::Guard)]) -> Result<(), String> {
    match children.iter().filter(|(c, _)| !C::canceled(c)).count() {
        0 => Ok(()),
        live => Err(format!(
            "check failed: {live} of {TREE} children are not canceled after the root's cancel"
        )),
    }
}

/// Whole blocking trees for `n` ops; see [`tree_blocking_once`].
fn tree_blocking<C: Tree>(n: u64) -> Result<Duration, String> {
    let trees = batches(n, TREE as u64);
    let mut total = Duration::ZERO;
    for _ in 0..trees {
        total += tree_blocking_once::<C>()?;
    }
    Ok(scale(total, n, trees * TREE as u64))
}

/// One tree, no waiters: cancel the root, then sweep the children's done handles until all
/// are seen done.
fn tree_blocking_once<C: Tree>() -> Result<Duration, String> {
    let root = C::root();
    let children: Vec<(C::Child, C::Guard)> = (0..TREE).map(|_| C::child(&root)).collect();
    let mut dones: Vec<C::Done> = children.iter().map(|(c, _)| C::done(c)).collect();
    if dones.iter().any(C::is_done) {
        return Err("check failed: a child is done before the root's cancel".into());
    }
    let start = Instant::now();
    C::cancel(&root);
    while !dones.is_empty() {
        dones.retain(|d| !C::is_done(d));
    }
    let elapsed = start.elapsed();
    check_canceled::<C>(&children)?;
    Ok(elapsed)
}

/// Whole async trees for `n` ops; see [`tree_async_once`].
async fn tree_async<C: Tree>(n: u64) -> Result<Duration, String> {
    let trees = batches(n, TREE as u64);
    let mut total = Duration::ZERO;
    for _ in 0..trees {
        total += tree_async_once::<C>().await?;
    }
    Ok(scale(total, n, trees * TREE as u64))
}

/// What the waiters of one async tree share with the timing task.
struct Gate {
    /// Waiters that have started (and are about to wait).
    started: AtomicUsize,
    /// Waiters that have not yet seen their child done.
    left: AtomicUsize,
    /// Notified by the last waiter to start.
    all_started: Notify,
    /// Notified by the last waiter to see its child done.
    all_done: Notify,
}

/// One tree with one waiting task per child; the time from the root's cancel until the last
/// waiter has seen its child done.
async fn tree_async_once<C: Tree>() -> Result<Duration, String> {
    let root = C::root();
    let gate = Arc::new(Gate {
        started: AtomicUsize::new(0),
        left: AtomicUsize::new(TREE),
        all_started: Notify::new(),
        all_done: Notify::new(),
    });
    let mut children = Vec::with_capacity(TREE);
    for _ in 0..TREE {
        let (child, guard) = C::child(&root);
        let (waiter, gate) = (child.clone(), gate.clone());
        // Detached: the task ends once it has seen its child done (a lost one hangs the
        // repetition, which the watchdog reports).
        drop(tokio::spawn(async move {
            if gate.started.fetch_add(1, Ordering::AcqRel) + 1 == TREE {
                gate.all_started.notify_one();
            }
            C::wait(waiter).await;
            if gate.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                gate.all_done.notify_one();
            }
        }));
        children.push((child, guard));
    }
    gate.all_started.notified().await;
    if gate.left.load(Ordering::Acquire) != TREE {
        return Err("check failed: a waiter saw its child done before the root's cancel".into());
    }
    let start = Instant::now();
    C::cancel(&root);
    gate.all_done.notified().await;
    let elapsed = start.elapsed();
    check_canceled::<C>(&children)?;
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// ctx_child

fn child_hoare(n: u64) -> Result<Duration, String> {
    let (root, _root_guard) = Context::background().with_cancel();
    let start = Instant::now();
    for _ in 0..n {
        let (c, g) = root.with_cancel();
        drop(g);
        drop(c);
    }
    let elapsed = start.elapsed();
    if root.err().is_some() {
        return Err("check failed: the root is done".into());
    }
    match root.__children() {
        0 => Ok(elapsed),
        k => Err(format!(
            "check failed: the root still lists {k} live children"
        )),
    }
}

fn child_tokio_util_cancel(n: u64) -> Result<Duration, String> {
    let root = CancellationToken::new();
    let start = Instant::now();
    for _ in 0..n {
        let c = root.child_token();
        c.cancel();
        drop(c);
    }
    let elapsed = start.elapsed();
    if root.is_cancelled() {
        return Err("check failed: the root is cancelled".into());
    }
    Ok(elapsed)
}

fn child_tokio_util_drop(n: u64) -> Result<Duration, String> {
    let root = CancellationToken::new();
    let start = Instant::now();
    for _ in 0..n {
        let c = root.child_token();
        drop(c);
    }
    let elapsed = start.elapsed();
    if root.is_cancelled() {
        return Err("check failed: the root is cancelled".into());
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_all(keep: impl Fn(&Case) -> bool) {
        crate::harness::run_every_case(scenarios(), keep);
    }

    #[test]
    fn every_peer_case_runs_and_checks() {
        run_all(|c| c.imp != "hoare");
    }

    #[test]
    fn every_hoare_case_runs_and_checks() {
        run_all(|c| c.imp == "hoare");
    }

    #[test]
    fn whole_batches_and_scaling() {
        assert_eq!(batches(1024, 10_000), 1);
        assert_eq!(batches(14_999, 10_000), 1);
        assert_eq!(batches(15_000, 10_000), 2);
        assert_eq!(batches(1_000_000, 10_000), 100);
        // 1 tree of 10,000 children in 1 ms is 100 ns per child, whatever n the harness asked.
        let t = scale(Duration::from_millis(1), 1024, 10_000);
        assert_eq!(t.as_nanos() / 1024, 100);
    }
}

//! The sync family: `waitgroup` (a wait group's add/done/wait cycle across two threads) and
//! `semaphore` (contended acquire/release of a semaphore of size 1 by two tasks), hoare's `sync`
//! beside crossbeam-utils' `WaitGroup`, tokio's `Semaphore` and Go's `sync.WaitGroup`.
//!
//! - `waitgroup`, blocking mode only: one long-lived worker thread per repetition. Each cycle
//!   the main thread makes a fresh group counting 1 (hoare: `new` + `add(1)`; crossbeam-utils:
//!   `new` + `clone`, a clone being an add), hands a handle of it to the worker over a std
//!   `sync_channel(1)`, and waits; the worker marks it done (hoare: `done()`; crossbeam-utils:
//!   drops the handle). The worker counts the handles it got; the repetition counts only if
//!   that is the number of cycles.
//! - `semaphore`, async mode only: 2 tasks on the 2-worker runtime share a semaphore of size 1
//!   and each runs `n / 2` acquire(1)/release(1) pairs. Inside each pair a shared atomic counts
//!   the holders; the repetition counts only if it never exceeded 1 and every pair ran.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::channels::join_task;
use crate::context::async_case;
use crate::harness::{Case, Mode, Rep, Scenario};

/// Family name: results go to `bench/results/sync.{md,svg}`.
pub const FAMILY: &str = "sync";

/// The scenarios of this family, in report order.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "waitgroup",
            family: FAMILY,
            description: "2 threads; per cycle the main thread makes a group counting 1, hands a \
                          handle to a long-lived worker over a channel of capacity 1 and waits, \
                          the worker marks it done (crossbeam-utils: clone = add, drop = done)",
            unit: "cycle",
            cases: waitgroup_cases,
        },
        Scenario {
            name: "semaphore",
            family: FAMILY,
            description: "2 tasks on the 2-worker runtime share a semaphore of size 1 and each \
                          loops acquire(1), release(1) (contended); an atomic checks at most one \
                          holder",
            unit: "acquire+release",
            cases: semaphore_cases,
        },
    ]
}

fn waitgroup_cases() -> Vec<Case> {
    fn blocking<G: Group>(note: &'static str) -> Case {
        Case::new(Mode::Blocking, G::NAME, note, || -> Rep {
            Box::new(waitgroup::<G>)
        })
    }
    vec![
        blocking::<HoareWg>("new, add(1), done(), wait()"),
        blocking::<CrossbeamWg>("new, clone, drop, wait()"),
    ]
}

fn semaphore_cases() -> Vec<Case> {
    vec![
        async_case(
            HoareSem::NAME,
            "acquire_async(1).await, release(1)",
            semaphore::<HoareSem>,
        ),
        async_case(
            TokioSem::NAME,
            "acquire().await, drop permit",
            semaphore::<TokioSem>,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// waitgroup

/// A wait group as the `waitgroup` scenario uses it, so the scenario is written once.
trait Group: 'static {
    /// Implementation name as reported.
    const NAME: &'static str;
    /// What the main thread keeps and waits on.
    type Main;
    /// What the worker gets and marks done.
    type Handle: Send + 'static;
    /// A fresh group counting 1, and the handle that will bring it to 0.
    fn start() -> Result<(Self::Main, Self::Handle), String>;
    /// Marks the handle's work done.
    fn done(h: Self::Handle) -> Result<(), String>;
    /// Blocks until the group's count is 0.
    fn wait(m: Self::Main);
}

/// `hoare::sync::WaitGroup`.
struct HoareWg;

impl Group for HoareWg {
    const NAME: &'static str = "hoare";
    type Main = hoare::sync::WaitGroup;
    type Handle = hoare::sync::WaitGroup;
    fn start() -> Result<(Self::Main, Self::Handle), String> {
        let wg = hoare::sync::WaitGroup::new();
        wg.add(1).map_err(|e| e.to_string())?;
        Ok((wg.clone(), wg))
    }
    fn done(h: Self::Handle) -> Result<(), String> {
        h.done().map_err(|e| e.to_string())
    }
    fn wait(m: Self::Main) {
        m.wait();
    }
}

/// `crossbeam_utils::sync::WaitGroup`: a clone adds 1, a drop is a done, `wait` consumes.
struct CrossbeamWg;

impl Group for CrossbeamWg {
    const NAME: &'static str = "crossbeam";
    type Main = crossbeam_utils::sync::WaitGroup;
    type Handle = crossbeam_utils::sync::WaitGroup;
    fn start() -> Result<(Self::Main, Self::Handle), String> {
        let wg = crossbeam_utils::sync::WaitGroup::new();
        Ok((wg.clone(), wg))
    }
    fn done(h: Self::Handle) -> Result<(), String> {
        drop(h);
        Ok(())
    }
    fn wait(m: Self::Main) {
        m.wait();
    }
}

/// `n` add/done/wait cycles between the main thread and one worker thread.
fn waitgroup<G: Group>(n: u64) -> Result<Duration, String> {
    let (tx, rx) = sync_channel::<G::Handle>(1);
    let worker = thread::spawn(move || -> Result<u64, String> {
        let mut count = 0;
        while let Ok(h) = rx.recv() {
            G::done(h)?;
            count += 1;
        }
        Ok(count)
    });
    let start = Instant::now();
    for _ in 0..n {
        let (main, handle) = G::start()?;
        if tx.send(handle).is_err() {
            break; // the worker failed: its error is reported below
        }
        G::wait(main);
    }
    let elapsed = start.elapsed();
    drop(tx);
    let count = worker
        .join()
        .map_err(|_| "the worker thread panicked".to_string())??;
    if count != n {
        return Err(format!(
            "check failed: {count} of {n} cycles were marked done"
        ));
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// semaphore

/// A counting semaphore as the `semaphore` scenario uses it, so the scenario is written once.
trait Sem: Send + Sync + 'static {
    /// Implementation name as reported.
    const NAME: &'static str;
    /// What a holder keeps until it releases (tokio: the permit).
    type Permit<'a>: Send
    where
        Self: 'a;
    /// A semaphore of size 1.
    fn one() -> Self;
    /// Acquires 1.
    fn take(&self) -> impl Future<Output = Result<Self::Permit<'_>, String>> + Send;
    /// Releases 1.
    fn give(&self, p: Self::Permit<'_>) -> Result<(), String>;
}

/// `hoare::sync::Semaphore`.
struct HoareSem(hoare::sync::Semaphore);

impl Sem for HoareSem {
    const NAME: &'static str = "hoare";
    type Permit<'a> = ();
    fn one() -> Self {
        HoareSem(hoare::sync::Semaphore::new(1))
    }
    async fn take(&self) -> Result<(), String> {
        self.0.acquire_async(1).await.map_err(|e| e.to_string())
    }
    fn give(&self, (): ()) -> Result<(), String> {
        self.0.release(1).map_err(|e| e.to_string())
    }
}

/// `tokio::sync::Semaphore`: the permit releases on drop.
struct TokioSem(tokio::sync::Semaphore);

impl Sem for TokioSem {
    const NAME: &'static str = "tokio";
    type Permit<'a> = tokio::sync::SemaphorePermit<'a>;
    fn one() -> Self {
        TokioSem(tokio::sync::Semaphore::new(1))
    }
    async fn take(&self) -> Result<tokio::sync::SemaphorePermit<'_>, String> {
        self.0.acquire().await.map_err(|e| e.to_string())
    }
    fn give(&self, p: tokio::sync::SemaphorePermit<'_>) -> Result<(), String> {
        drop(p);
        Ok(())
    }
}

/// What the two tasks share besides the semaphore.
#[derive(Default)]
struct Holders {
    /// Tasks between their acquire and their release.
    inside: AtomicU64,
    /// The most ever seen inside at once.
    most: AtomicU64,
}

/// `pairs` acquire/release pairs; returns how many ran.
async fn holder<S: Sem>(sem: Arc<S>, holders: Arc<Holders>, pairs: u64) -> Result<u64, String> {
    for _ in 0..pairs {
        let permit = sem.take().await?;
        let now = holders.inside.fetch_add(1, Ordering::SeqCst) + 1;
        holders.most.fetch_max(now, Ordering::Relaxed);
        holders.inside.fetch_sub(1, Ordering::SeqCst);
        sem.give(permit)?;
    }
    Ok(pairs)
}

/// `n` acquire/release pairs, `n / 2` by each of 2 tasks contending for 1 permit.
async fn semaphore<S: Sem>(n: u64) -> Result<Duration, String> {
    let sem = Arc::new(S::one());
    let holders = Arc::new(Holders::default());
    let per = n / 2;
    let start = Instant::now();
    let a = tokio::spawn(holder(sem.clone(), holders.clone(), per));
    let b = tokio::spawn(holder(sem, holders.clone(), n - per));
    let done = join_task(a).await?? + join_task(b).await??;
    let elapsed = start.elapsed();
    let most = holders.most.load(Ordering::Relaxed);
    if most > 1 {
        return Err(format!(
            "check failed: {most} holders at once of a semaphore of size 1"
        ));
    }
    if done != n {
        return Err(format!("check failed: {done} of {n} pairs ran"));
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_runs_and_checks() {
        crate::harness::run_every_case(scenarios(), |_| true);
    }
}

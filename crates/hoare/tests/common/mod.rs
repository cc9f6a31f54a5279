//! What the test files share: running one stress test at a time on a 2-worker
//! runtime, participants that are threads or tasks, a seeded random source, and a
//! watchdog that turns a lost wake-up into a failure instead of a hang.
#![allow(dead_code)] // each test binary uses its own part of it

pub mod receivers;

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// Runs one stress test on a 2-worker multi-thread runtime (what
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` builds), one
/// test at a time: each already keeps both cores busy, and running two at once
/// on a 2-core machine makes every spin and yield several times slower.
pub fn serial<F: Future>(test: F) -> F::Output {
    let _one = one_at_a_time();
    runtime().block_on(test)
}

/// Holds off the test binary's other tests that take it: for stress tests, and
/// for tests ending with a leak check (which counts every goroutine of the
/// process).
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `test` on a current-thread runtime with a paused clock (timers fire as
/// soon as every task waits), one test at a time, then checks that no goroutine
/// outlived it.
pub fn paused<F: Future>(test: F) -> F::Output {
    let _one = one_at_a_time();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let out = rt.block_on(test);
    drop(rt);
    hoare::leak::verify_none();
    out
}

/// Whether a participant is a thread (blocking calls) or a task (async calls).
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Thread,
    Task,
}

/// A participant, joined the same way whichever it is.
pub enum Handle<T> {
    Thread(thread::JoinHandle<T>),
    Task(tokio::task::JoinHandle<T>),
}

impl<T: Send + 'static> Handle<T> {
    pub async fn join(self) -> T {
        match self {
            Handle::Thread(h) => tokio::task::spawn_blocking(move || h.join().unwrap())
                .await
                .unwrap(),
            Handle::Task(h) => h.await.unwrap(),
        }
    }
}

/// xorshift64: a fixed seed per participant; schedules vary, invariants don't.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    pub fn tiny(&mut self) -> Duration {
        Duration::from_micros(self.below(50))
    }
}

/// Runs `f` on a thread and fails if it does not finish within 60 seconds: a
/// watchdog, so a lost wake-up fails the test instead of hanging it.
pub fn within<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("deadlock: a wake-up was lost")
}

/// A multi-thread runtime with 2 workers and its timers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

//! Goroutines (`go`, `go_blocking`) and the leak checker, with the seed's
//! "Preventing Goroutine Leaks" examples written with hoare.
//!
//! Every test holds `SERIAL`: a leak tracker sees goroutines spawned by any
//! thread, so tests that spawn must not overlap with one that checks.

use std::sync::Mutex;
use std::time::Duration;

use hoare::context::Context;
use hoare::{chan, go, go_blocking, leak, select_async, JoinError};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn go_works_from_plain_threads_on_the_default_runtime() {
    let _s = serial();
    let tracker = leak::track();
    let (tx, rx) = chan::<u32>(0);
    let producer = go(async move {
        for i in 0..3 {
            tx.send_async(i).await.unwrap();
        }
    });
    let got: Vec<u32> = rx.iter().collect();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(producer.join(), Ok(()));
    tracker.verify_none();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn go_spawns_on_the_current_runtime() {
    let _s = serial();
    runtime().block_on(async {
        let here = tokio::runtime::Handle::current().id();
        let there = go(async { tokio::runtime::Handle::current().id() }).await;
        assert_eq!(there, Ok(here));
    });
}

#[test]
fn a_panic_comes_back_as_an_error() {
    let _s = serial();
    let err = go(async { panic!("lost in Go, found here") }).join();
    assert_eq!(
        err,
        Err(JoinError::Panicked("lost in Go, found here".to_string()))
    );
    let err = go_blocking(|| panic!("{} too", "blocking")).join();
    assert_eq!(err, Err(JoinError::Panicked("blocking too".to_string())));
}

#[test]
fn abort_cancels_a_goroutine() {
    let _s = serial();
    let tracker = leak::track();
    runtime().block_on(async {
        let h = go(std::future::pending::<()>());
        h.abort();
        assert_eq!(h.await, Err(JoinError::Canceled));
    });
    assert!(tracker.wait_none(Duration::from_secs(10)).is_ok());
}

/// A goroutine that never ends is reported, with the place it was spawned.
#[test]
fn the_tracker_reports_a_live_goroutine_with_its_location() {
    let _s = serial();
    let tracker = leak::track();
    let (release, wait) = chan::<()>(0);
    let line = line!() + 1;
    let stuck = go(async move { wait.recv_async().await });
    let leaked = tracker.wait_none(Duration::from_millis(20)).unwrap_err();
    assert_eq!(leaked.goroutines().len(), 1);
    let g = &leaked.goroutines()[0];
    assert!(g.location().file().ends_with("go_leak.rs"), "{g}");
    assert_eq!(g.location().line(), line);
    let report = leaked.to_string();
    assert!(report.starts_with("1 goroutine leaked:"), "{report}");
    assert!(report.contains(&format!("go_leak.rs:{line}")), "{report}");
    drop(release);
    assert_eq!(stuck.join(), Ok(None));
    tracker.verify_none();
}

/// `verify_none` fails the test (panics) with the list.
#[test]
fn verify_none_panics_with_the_list() {
    let _s = serial();
    let tracker = leak::track();
    let (release, wait) = chan::<()>(0);
    let stuck = go(async move { wait.recv_async().await });
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tracker.verify_none()))
        .expect_err("a goroutine is alive");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("1 goroutine leaked"), "{msg}");
    drop(release);
    stuck.join().unwrap();
}

/// The seed's first leak: `doWork(nil)` waits forever on a nil channel. With a
/// done signal (a context here) the parent ends it, and nothing leaks.
#[test]
fn do_work_on_a_nil_channel_ends_when_canceled() {
    let _s = serial();
    let tracker = leak::track();
    fn do_work(ctx: Context, strings: Option<chan::Receiver<String>>) -> chan::Receiver<()> {
        let (terminated_tx, terminated) = chan::<()>(0);
        // Detached, as Go's goroutine: `terminated` tells when it ends.
        drop(go(async move {
            let _terminated = terminated_tx; // closes `terminated` when this ends
            loop {
                select_async! {
                    recv(&strings) -> s => if let Some(s) = s { let _ = s; },
                    recv(ctx.done()) -> _ => return,
                }
            }
        }));
        terminated
    }
    let (ctx, cancel) = Context::background().with_cancel();
    let terminated = do_work(ctx, None);
    cancel.cancel(); // "Canceling doWork goroutine..."
    assert_eq!(terminated.recv(), None); // <-terminated
    tracker.verify_none();
}

/// The seed's second leak: `newRandStream` produces until told to stop. With a
/// done signal it stops after the consumer took three values; in hoare it would
/// also stop when the consumer drops its receiver, done or not.
#[test]
fn rand_stream_ends_when_done_or_when_its_reader_goes() {
    let _s = serial();
    let tracker = leak::track();
    fn new_rand_stream(ctx: Option<Context>) -> chan::Receiver<u64> {
        let (tx, rx) = chan::<u64>(0);
        drop(go(async move {
            let mut x = 0x2545_f491_4f6c_dd1d_u64;
            let done = ctx.map(|c| c.done());
            loop {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                select_async! {
                    send(&tx, x) -> res => if res.is_err() { return },
                    recv(&done) -> _ => return,
                }
            }
        }));
        rx
    }
    let (ctx, cancel) = Context::background().with_cancel();
    let stream = new_rand_stream(Some(ctx));
    let three: Vec<u64> = (0..3).map(|_| stream.recv().unwrap()).collect();
    assert_eq!(three.len(), 3);
    cancel.cancel();
    tracker.verify_none();
    drop(stream);

    // No done signal at all: dropping the reader ends the producer.
    let stream = new_rand_stream(None);
    assert!(stream.recv().is_some());
    drop(stream);
    tracker.verify_none();
}

#[test]
fn goroutines_are_counted() {
    let _s = serial();
    let (release, wait) = chan::<()>(0);
    let before = leak::live();
    let h = go(async move { wait.recv_async().await });
    assert!(leak::live() > before);
    drop(release);
    h.join().unwrap();
}

//! Behaviours of Go's `src/context/context_test.go`, ported to `hoare::context`:
//! background and todo, parent/child cancellation, a child leaving its parent when
//! canceled, children of a canceled parent, deadlines and timeouts (on tokio's
//! paused clock), values, cause, and `without_cancel`. Go's checks that "a channel
//! is not closed" use a non-blocking receive; so do these (`try_recv`, a `select!`
//! with `default`).

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use hoare::chan::TryRecvError;
use hoare::context::{self, Context, Error, Key};
use hoare::{select, select_async};

fn is_closed_now(ctx: &Context) -> bool {
    ctx.done().try_recv() == Err(TryRecvError::Closed)
}

#[test]
fn background_and_todo_are_never_done() {
    for ctx in [Context::background(), Context::todo()] {
        assert_eq!(ctx.err(), None);
        assert!(ctx.cause().is_none());
        assert!(ctx.deadline().is_none());
        assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Empty));
        let got = select! {
            recv(ctx.done()) -> _ => "done",
            default => "not done",
        };
        assert_eq!(got, "not done");
    }
    assert!(format!("{:?}", Context::todo()).contains("todo"));
}

/// Go's TestWithCancel: canceling a parent closes its children's done channels,
/// and the children's errors are `Canceled`.
#[test]
fn canceling_the_parent_cancels_every_child() {
    let (c1, cancel) = Context::background().with_cancel();
    let (c2, _cancel2) = c1.with_cancel();
    let (c3, _cancel3) = c2.with_timeout(Duration::from_secs(3600));
    static K: Key<u8> = Key::new("k");
    let c4 = c3.with_value(&K, 1);
    for c in [&c1, &c2, &c3, &c4] {
        assert_eq!(c.err(), None);
        assert!(!is_closed_now(c));
    }
    cancel.cancel();
    for c in [&c1, &c2, &c3, &c4] {
        assert!(is_closed_now(c), "{c:?} should be done");
        assert_eq!(c.err(), Some(Error::Canceled));
    }
}

/// Go's TestChildFinishesFirst: a child canceled first leaves the parent live, and
/// leaves the parent's list of children (Go's TestCancelRemoves).
#[test]
fn canceling_a_child_leaves_the_parent_live_and_removes_the_child() {
    let (parent, _cancel) = Context::background().with_cancel();
    assert_eq!(parent.__children(), 0);
    let (child, cancel_child) = parent.with_cancel();
    let (_timer_child, cancel_timer) = parent.with_timeout(Duration::from_secs(3600));
    assert_eq!(parent.__children(), 2);
    cancel_child.cancel();
    assert_eq!(child.err(), Some(Error::Canceled));
    assert_eq!(parent.err(), None);
    assert_eq!(parent.__children(), 1);
    drop(cancel_timer);
    assert_eq!(parent.__children(), 0);
}

/// A long-lived parent does not grow: children come and go, the slots are reused.
#[test]
fn a_long_lived_parent_does_not_grow() {
    let (parent, _cancel) = Context::background().with_cancel();
    for _ in 0..10_000 {
        let (_child, cancel) = parent.with_cancel();
        drop(cancel);
    }
    assert_eq!(parent.__children(), 0);
}

/// Go's TestWithCancelCanceledParent: a child of a canceled parent is canceled at
/// once, with the parent's error and cause.
#[test]
fn a_child_of_a_canceled_parent_is_canceled_at_birth() {
    let (parent, cancel) = Context::background().with_cancel_cause();
    cancel.cancel_with_cause(std::io::Error::other("gone"));
    let (child, _c) = parent.with_cancel();
    assert_eq!(child.err(), Some(Error::Canceled));
    assert_eq!(child.cause().unwrap().to_string(), "gone");
    assert!(is_closed_now(&child));
}

/// Go's TestCause: the cause given when canceling, else the error; a parent's
/// cause reaches its children; a later cancel does not change it.
#[test]
fn cause_is_the_first_reason_given() {
    let (ctx, cancel) = Context::background().with_cancel_cause();
    let (child, _c) = ctx.with_cancel();
    assert!(ctx.cause().is_none());
    cancel.cancel_with_cause(std::io::Error::other("first"));
    cancel.cancel_with_cause(std::io::Error::other("second"));
    cancel.cancel();
    assert_eq!(ctx.cause().unwrap().to_string(), "first");
    assert_eq!(child.cause().unwrap().to_string(), "first");

    let (plain, cancel) = Context::background().with_cancel();
    cancel.cancel();
    assert_eq!(
        plain.cause().unwrap().to_string(),
        Error::Canceled.to_string()
    );
}

/// Go's TestValues: values are found up the chain, the nearest wins, a missing key
/// is `None`, and cancelable contexts in between pass values through.
#[test]
fn values_are_found_up_the_chain() {
    static K1: Key<&str> = Key::new("k1");
    static K2: Key<&str> = Key::new("k2");
    static K3: Key<&str> = Key::new("k3");
    let c0 = Context::background();
    assert_eq!(c0.value(&K1), None);
    let c1 = c0.with_value(&K1, "c1k1");
    let c2 = c1.with_value(&K2, "c2k2");
    let c3 = c2.with_value(&K3, "c3k3");
    let c4 = c3.with_value(&K1, "c4k1");
    let (c5, _cancel) = c4.with_cancel();
    assert_eq!(c1.value(&K1), Some(&"c1k1"));
    assert_eq!(c1.value(&K2), None);
    assert_eq!(c3.value(&K2), Some(&"c2k2"));
    assert_eq!(c4.value(&K1), Some(&"c4k1"));
    assert_eq!(c5.value(&K1), Some(&"c4k1"));
    assert_eq!(c5.value(&K3), Some(&"c3k3"));
}

/// Go's TestWithoutCancel: values pass, cancellation and deadline do not.
#[test]
fn without_cancel_keeps_values_and_drops_cancellation() {
    static K: Key<u32> = Key::new("k");
    let (ctx, cancel) = Context::background()
        .with_value(&K, 5)
        .with_timeout(Duration::from_secs(3600));
    let detached = ctx.without_cancel();
    assert_eq!(detached.value(&K), Some(&5));
    assert!(detached.deadline().is_none());
    cancel.cancel();
    assert_eq!(ctx.err(), Some(Error::Canceled));
    assert_eq!(detached.err(), None);
    assert!(!is_closed_now(&detached));
}

/// A deadline or timeout already past gives a context that is done at once.
#[test]
fn a_past_deadline_or_zero_timeout_is_done_at_once() {
    let (ctx, _c) = Context::background().with_timeout(Duration::ZERO);
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert!(is_closed_now(&ctx));
    let past = hoare_now() - Duration::from_millis(1);
    let (ctx, _c) = Context::background().with_deadline(past);
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert!(ctx.err().unwrap().is_timeout());
}

fn hoare_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Go's TestDeadline and TestTimeout, on the paused clock: done at the deadline,
/// with `DeadlineExceeded`; a child's deadline is never later than its parent's.
#[tokio::test(start_paused = true)]
async fn deadline_and_timeout_expire_on_time() {
    let start = tokio::time::Instant::now();
    let (ctx, _c) = Context::background().with_timeout(Duration::from_millis(50));
    let (child, _cc) = ctx.with_timeout(Duration::from_secs(3600));
    assert_eq!(child.deadline(), ctx.deadline());
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.done().recv_async().await, None);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
}

/// A parent's deadline reaches a child waiting in a select, without any thread.
#[tokio::test(start_paused = true)]
async fn a_parent_deadline_wakes_a_child_select() {
    let (ctx, _c) = Context::background().with_timeout(Duration::from_millis(100));
    let (child, _cc) = ctx.with_cancel();
    let (_tx, rx) = hoare::chan::<u32>(0);
    let got = select_async! {
        recv(&rx) -> v => Ok(v),
        recv(child.done()) -> _ => Err(child.err()),
    };
    assert_eq!(got, Err(Some(Error::DeadlineExceeded)));
}

/// A canceled timeout context reports `Canceled`, not `DeadlineExceeded` (Go's
/// TestCanceledTimeout).
#[tokio::test(start_paused = true)]
async fn canceling_before_the_deadline_reports_canceled() {
    let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(1));
    let (child, _c) = ctx.with_cancel();
    cancel.cancel();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(child.err(), Some(Error::Canceled));
}

/// A thread blocked on `done().recv()` and one blocked in a `select!` are woken by
/// a cancel from another thread (Go's TestSimultaneousCancels, in small).
#[test]
fn blocked_threads_are_woken_by_cancel() {
    let (root, cancel) = Context::background().with_cancel();
    let start = Arc::new(Barrier::new(9));
    let mut waiters = Vec::new();
    for i in 0..8 {
        let (ctx, guard) = root.with_cancel();
        let start = start.clone();
        waiters.push(thread::spawn(move || {
            let _guard = guard;
            start.wait();
            if i % 2 == 0 {
                assert_eq!(ctx.done().recv(), None);
            } else {
                let (_tx, never) = hoare::chan::<u8>(0);
                select! {
                    recv(&never) -> _ => unreachable!(),
                    recv(ctx.done()) -> _ => {}
                }
            }
            ctx.err()
        }));
    }
    start.wait();
    cancel.cancel();
    for w in waiters {
        assert_eq!(w.join().unwrap(), Some(Error::Canceled));
    }
}

/// Canceling a deep chain does not overflow the stack (cancellation walks the tree
/// with a heap stack, not recursion).
#[test]
fn a_deep_chain_cancels_without_recursion() {
    let (root, cancel) = Context::background().with_cancel();
    let mut leaf = root.clone();
    let mut guards = Vec::new();
    for _ in 0..100_000 {
        let (next, guard) = leaf.with_cancel();
        guards.push(guard);
        leaf = next;
    }
    cancel.cancel();
    assert_eq!(leaf.err(), Some(Error::Canceled));
    // Dropping the chain must not recurse either.
    drop(guards);
    drop(leaf);
}

/// The seed's greeting/farewell program: genGreeting gives locale one second,
/// locale needs a minute, so the greeting fails with DeadlineExceeded, which
/// cancels the shared context, and the farewell sees Canceled.
#[tokio::test(start_paused = true)]
async fn greeting_times_out_and_cancels_farewell() {
    async fn locale(ctx: &Context) -> Result<&'static str, Error> {
        select_async! {
            recv(ctx.done()) -> _ => Err(ctx.err().expect("done means an error")),
            recv(hoare::time::after(Duration::from_secs(60))) -> _ => Ok("EN/US"),
        }
    }
    async fn gen_greeting(ctx: &Context) -> Result<&'static str, Error> {
        let (ctx, _cancel) = ctx.with_timeout(Duration::from_secs(1));
        match locale(&ctx).await? {
            "EN/US" => Ok("hello"),
            _ => unreachable!("unsupported locale"),
        }
    }
    async fn gen_farewell(ctx: &Context) -> Result<&'static str, Error> {
        match locale(ctx).await? {
            "EN/US" => Ok("goodbye"),
            _ => unreachable!("unsupported locale"),
        }
    }

    let (ctx, cancel) = Context::background().with_cancel();
    let greeting = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let r = gen_greeting(&ctx).await.map(|g| format!("{g} world!"));
            if r.is_err() {
                cancel.cancel(); // "cannot print greeting" cancels the farewell
            }
            r
        })
    };
    let farewell =
        tokio::spawn(async move { gen_farewell(&ctx).await.map(|f| format!("{f} world!")) });
    assert_eq!(greeting.await.unwrap(), Err(Error::DeadlineExceeded));
    assert_eq!(farewell.await.unwrap(), Err(Error::Canceled));
    assert_eq!(
        format!("cannot print greeting: {}", Error::DeadlineExceeded),
        "cannot print greeting: context deadline exceeded"
    );
}

/// The seed's second `locale`: with a deadline closer than the minute it needs,
/// it gives up at once with DeadlineExceeded, without waiting.
#[tokio::test(start_paused = true)]
async fn locale_checks_the_deadline_before_waiting() {
    fn locale(ctx: &Context) -> Result<&'static str, Error> {
        if let Some(deadline) = ctx.deadline() {
            let needed = tokio::time::Instant::now().into_std() + Duration::from_secs(60);
            if deadline <= needed {
                return Err(Error::DeadlineExceeded);
            }
        }
        Ok("EN/US")
    }
    let start = tokio::time::Instant::now();
    let (ctx, _c) = Context::background().with_timeout(Duration::from_secs(1));
    assert_eq!(locale(&ctx), Err(Error::DeadlineExceeded));
    assert_eq!(start.elapsed(), Duration::ZERO);
    let (roomy, _c) = Context::background().with_timeout(Duration::from_secs(120));
    assert_eq!(locale(&roomy), Ok("EN/US"));
}

#[test]
fn contexts_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Context>();
    assert_send_sync::<hoare::context::CancelGuard>();
    assert_eq!(std::mem::size_of::<Context>(), std::mem::size_of::<usize>());
}

/// Go's TestAfterFuncCalledAfterCancel and TestAfterFuncNotCalledAfterStop: the
/// function runs once, in its own goroutine, after the cancel; a stopped one never
/// runs; `stop` reports whether it prevented the run.
#[test]
fn after_func_runs_once_after_cancel_unless_stopped() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (ran_tx, ran) = hoare::chan::<&str>(4);
    let tx = ran_tx.clone();
    let kept = context::after_func(&ctx, move || tx.send("kept").unwrap());
    let tx = ran_tx.clone();
    let stopped = context::after_func(&ctx, move || tx.send("stopped").unwrap());
    assert!(stopped.stop());
    assert!(!stopped.stop());
    drop(ran_tx);
    assert_eq!(ran.try_recv(), Err(TryRecvError::Empty)); // nothing before the cancel
    cancel.cancel();
    cancel.cancel();
    assert_eq!(ran.recv(), Some("kept"));
    // Both closures are gone now (one ran, one was dropped): the channel closes,
    // and nothing else was sent.
    assert_eq!(ran.recv(), None);
    assert!(!kept.stop(), "it already ran");
}

/// Go's TestAfterFuncCalledImmediately: a context already done runs it at once.
#[test]
fn after_func_on_a_done_context_runs_at_once() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let (tx, rx) = hoare::chan::<u8>(1);
    let handle = context::after_func(&ctx, move || tx.send(1).unwrap());
    assert_eq!(rx.recv(), Some(1));
    assert!(!handle.stop());
}

/// A context that is never done never runs it; stopping it reports success.
#[test]
fn after_func_on_background_never_runs() {
    let handle = context::after_func(&Context::background(), || unreachable!());
    assert!(handle.stop());
}

/// A deadline runs it at the deadline even if nothing else looks at the context
/// (paused clock: the runtime's timer drives it).
#[tokio::test(start_paused = true)]
async fn after_func_runs_at_the_deadline() {
    let start = tokio::time::Instant::now();
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(5));
    let (tx, rx) = hoare::chan::<tokio::time::Instant>(1);
    let _handle = context::after_func(&ctx, move || {
        tx.send(tokio::time::Instant::now()).unwrap();
    });
    let at = rx.recv_async().await.expect("ran");
    assert!(at - start >= Duration::from_secs(5), "{:?}", at - start);
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
}

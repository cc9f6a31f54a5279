//! `hoare::sync::{WaitGroup, Cond}`: the seed's two `Cond` examples (the queue capped
//! at two with `Signal`, the button click with `Broadcast`), and `WaitGroup` from
//! threads and tasks, its misuse errors and `go`.
//!
//! No test sleeps to synchronise: every "later" of the originals is a handshake.
//! Each scenario runs under a watchdog, so a lost wake-up fails instead of hanging.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use hoare::sync::{Cond, WaitGroup, WaitGroupError};
use hoare::{chan, JoinError};

mod common;
use common::{runtime, within};

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

// ---------------------------------------------------------------------------
// Cond: the seed's queue capped at two, with Signal.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Queue {
    items: Vec<usize>,
    pushed: usize,
    removed: usize,
    /// The adder is inside `c.wait` (set under the lock, so the lock's next holder
    /// knows the adder is queued on the Cond); cleared by the remover that will
    /// signal it.
    adder_waiting: bool,
    waits: usize,
    max_len: usize,
}

/// ```go
/// c := sync.NewCond(&sync.Mutex{})
/// queue := make([]interface{}, 0, 10)
/// removeFromQueue := func(delay time.Duration) {
///     time.Sleep(delay)
///     c.L.Lock(); queue = queue[1:]; c.L.Unlock()
///     c.Signal()
/// }
/// for i := 0; i < 10; i++ {
///     c.L.Lock()
///     for len(queue) == 2 { c.Wait() }
///     queue = append(queue, struct{}{})
///     go removeFromQueue(1 * time.Second)
///     c.L.Unlock()
/// }
/// ```
///
/// The one-second delay becomes a tick from a driver that lets one remover run
/// only once the adder is waiting on the full queue (or all items are in), and the
/// previous removal is done. So the adder waits exactly at items 2 to 9.
#[test]
fn cond_signal_queue_capped_at_two() {
    let q = within(|| {
        let state = Arc::new((Mutex::new(Queue::default()), Cond::new(), Cond::new()));
        let (tick_tx, tick_rx) = chan::<()>(0);
        let removers = WaitGroup::new();

        let driver = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                let (m, _, progress) = &*state;
                for k in 0..10 {
                    let mut g = m.lock().unwrap();
                    while !(g.removed == k && (g.adder_waiting || g.pushed == 10)) {
                        g = progress.wait(m, g);
                    }
                    drop(g);
                    tick_tx.send(()).unwrap(); // "the delay is over" for one remover
                }
            })
        };

        let (m, c, progress) = &*state;
        for i in 0..10 {
            let mut g = m.lock().unwrap();
            while g.items.len() == 2 {
                g.adder_waiting = true;
                g.waits += 1;
                progress.signal();
                g = c.wait(m, g);
            }
            g.items.push(i);
            g.pushed += 1;
            g.max_len = g.max_len.max(g.items.len());
            let (state, tick_rx) = (Arc::clone(&state), tick_rx.clone());
            drop(
                removers
                    .go(move || {
                        tick_rx.recv().unwrap();
                        let (m, c, progress) = &*state;
                        let mut g = m.lock().unwrap();
                        g.items.remove(0);
                        g.removed += 1;
                        g.adder_waiting = false; // the signal below is for it
                        drop(g);
                        c.signal();
                        progress.signal();
                    })
                    .unwrap(),
            );
            progress.signal();
            drop(g);
        }
        removers.wait();
        driver.join().unwrap();
        let g = m.lock().unwrap();
        (g.items.len(), g.pushed, g.removed, g.waits, g.max_len)
    });
    let (left, pushed, removed, waits, max_len) = q;
    assert_eq!((left, pushed, removed, max_len), (0, 10, 10, 2));
    // Items 2..=9 each found the queue full; spurious wake-ups may add loops.
    assert!(waits >= 8, "the adder waited {waits} times");
}

// ---------------------------------------------------------------------------
// Cond: the book's button click, with Broadcast.
// ---------------------------------------------------------------------------

struct Button {
    clicked: Mutex<bool>,
    cond: Cond,
}

/// ```go
/// subscribe := func(c *sync.Cond, fn func()) {
///     var goroutineRunning sync.WaitGroup
///     goroutineRunning.Add(1)
///     go func() {
///         goroutineRunning.Done()
///         c.L.Lock(); defer c.L.Unlock()
///         c.Wait()
///         fn()
///     }()
///     goroutineRunning.Wait()
/// }
/// var clickRegistered sync.WaitGroup
/// clickRegistered.Add(3)
/// subscribe(button.Clicked, func() { fmt.Println("Maximizing window."); clickRegistered.Done() })
/// subscribe(button.Clicked, func() { fmt.Println("Displaying annoying dialog box!"); clickRegistered.Done() })
/// subscribe(button.Clicked, func() { fmt.Println("Mouse clicked."); clickRegistered.Done() })
/// button.Clicked.Broadcast()
/// clickRegistered.Wait()
/// ```
///
/// The book's handlers report "running" before they lock, so its broadcast can come
/// before a handler waits. Here a handler reports while holding the lock, and the
/// click takes the lock: every handler is queued on the Cond before the broadcast.
#[test]
fn cond_broadcast_button_click_wakes_every_handler() {
    let mut got = within(|| {
        let button = Arc::new(Button {
            clicked: Mutex::new(false),
            cond: Cond::new(),
        });
        let (out_tx, out_rx) = chan::<&'static str>(3);
        let click_registered = WaitGroup::new();
        click_registered.add(3).unwrap();

        let subscribe = |handler: Box<dyn FnOnce() + Send>| {
            let running = WaitGroup::new();
            running.add(1).unwrap();
            let (button, r) = (Arc::clone(&button), running.clone());
            drop(hoare::go_blocking(move || {
                let mut clicked = button.clicked.lock().unwrap();
                r.done().unwrap(); // running, and holding the lock
                while !*clicked {
                    clicked = button.cond.wait(&button.clicked, clicked);
                }
                drop(clicked);
                handler();
            }));
            running.wait();
        };
        for msg in [
            "Maximizing window.",
            "Displaying annoying dialog box!",
            "Mouse clicked.",
        ] {
            let (out, done) = (out_tx.clone(), click_registered.clone());
            subscribe(Box::new(move || {
                out.send(msg).unwrap();
                done.done().unwrap();
            }));
        }

        *button.clicked.lock().unwrap() = true;
        button.cond.broadcast();
        click_registered.wait();
        drop(out_tx);
        out_rx.iter().collect::<Vec<_>>()
    });
    got.sort();
    assert_eq!(
        got,
        [
            "Displaying annoying dialog box!",
            "Maximizing window.",
            "Mouse clicked."
        ]
    );
}

/// The button click with handlers that are tasks (`wait_async`), mixed with one
/// that is a thread.
#[test]
fn cond_broadcast_wakes_tasks_and_threads() {
    let rt = runtime();
    let handle = rt.handle().clone();
    let ran = within(move || {
        let _enter = handle.enter();
        let button = Arc::new(Button {
            clicked: Mutex::new(false),
            cond: Cond::new(),
        });
        let handlers = WaitGroup::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let running = WaitGroup::new();
            running.add(1).unwrap();
            let (button, r, ran) = (Arc::clone(&button), running.clone(), Arc::clone(&ran));
            drop(
                handlers
                    .go_async(async move {
                        // The condition first runs with the lock held: report
                        // "running" there, so the click comes after we are queued.
                        let mut running = Some(r);
                        let clicked = button
                            .cond
                            .wait_until_async(&button.clicked, |clicked| {
                                if let Some(r) = running.take() {
                                    r.done().unwrap();
                                }
                                **clicked
                            })
                            .await;
                        drop(clicked);
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap(),
            );
            running.wait();
        }
        {
            let running = WaitGroup::new();
            running.add(1).unwrap();
            let (button, r, ran) = (Arc::clone(&button), running.clone(), Arc::clone(&ran));
            drop(
                handlers
                    .go(move || {
                        let mut clicked = button.clicked.lock().unwrap();
                        r.done().unwrap();
                        while !*clicked {
                            clicked = button.cond.wait(&button.clicked, clicked);
                        }
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap(),
            );
            running.wait();
        }
        *button.clicked.lock().unwrap() = true;
        button.cond.broadcast();
        handlers.wait();
        ran.load(Ordering::SeqCst)
    });
    assert_eq!(ran, 4);
}

/// A signal sent after `wait_async` released the lock but before its future was
/// first polled is not lost.
#[test]
fn cond_signal_before_first_poll_is_kept() {
    let (m, cond) = (Mutex::new(()), Cond::new());
    let mut wait = pin!(cond.wait_async(&m, m.lock().unwrap()));
    cond.signal();
    assert!(poll_once(wait.as_mut()).is_ready());
}

/// A task waiter that was signalled and then dropped passes the signal on.
#[test]
fn cond_dropped_async_waiter_passes_its_signal_on() {
    let (m, cond) = (Mutex::new(()), Cond::new());
    let mut first = Box::pin(cond.wait_async(&m, m.lock().unwrap()));
    assert!(poll_once(first.as_mut()).is_pending()); // queued
    let mut second = pin!(cond.wait_async(&m, m.lock().unwrap()));
    assert!(poll_once(second.as_mut()).is_pending()); // queued behind it
    cond.signal(); // reaches `first`
    drop(first);
    assert!(poll_once(second.as_mut()).is_ready());
}

#[test]
fn cond_signal_and_broadcast_without_waiters_are_no_ops() {
    let cond = Cond::default();
    cond.signal();
    cond.broadcast();
    assert!(format!("{cond:?}").starts_with("Cond"));
}

/// A poisoned mutex is relocked, not turned into a panic.
#[test]
fn cond_relocks_a_poisoned_mutex() {
    let state = Arc::new((Mutex::new(0u32), Cond::new()));
    let s = Arc::clone(&state);
    let _ = std::thread::spawn(move || {
        let _g = s.0.lock().unwrap();
        panic!("poison");
    })
    .join();
    assert!(state.0.is_poisoned());
    let (m, cond) = &*state;
    let guard = m.lock().unwrap_or_else(|p| p.into_inner());
    let mut wait = pin!(cond.wait_async(m, guard));
    cond.signal();
    let Poll::Ready(guard) = poll_once(wait.as_mut()) else {
        panic!("not woken");
    };
    assert_eq!(*guard, 0);
}

// ---------------------------------------------------------------------------
// WaitGroup.
// ---------------------------------------------------------------------------

/// Threads, blocking goroutines and tasks all count in one group; a thread and a
/// task wait on it together.
#[test]
fn waitgroup_many_goroutines_from_threads_and_tasks() {
    const EACH: usize = 50;
    let rt = runtime();
    let handle = rt.handle().clone();
    let total = within(move || {
        let _enter = handle.enter();
        let wg = WaitGroup::new();
        let count = Arc::new(AtomicUsize::new(0));
        let async_waiter = {
            let (wg, count) = (wg.clone(), Arc::clone(&count));
            wg.add(1).unwrap(); // so the waiters cannot see zero too early
            let gate = wg.clone();
            let waiter = hoare::go(async move {
                wg.wait_async().await;
                count.load(Ordering::SeqCst)
            });
            (waiter, gate)
        };
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (wg, count) = (wg.clone(), Arc::clone(&count));
                wg.add(EACH).unwrap();
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        count.fetch_add(1, Ordering::SeqCst);
                        wg.done().unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..EACH {
            let c = Arc::clone(&count);
            drop(wg.go(move || c.fetch_add(1, Ordering::SeqCst)).unwrap());
            let c = Arc::clone(&count);
            drop(
                wg.go_async(async move {
                    tokio::task::yield_now().await;
                    c.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap(),
            );
        }
        let thread_waiter = {
            let (wg, count) = (wg.clone(), Arc::clone(&count));
            std::thread::spawn(move || {
                wg.wait();
                count.load(Ordering::SeqCst)
            })
        };
        let (async_waiter, gate) = async_waiter;
        gate.done().unwrap();
        wg.wait();
        let mine = count.load(Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }
        let by_thread = thread_waiter.join().unwrap();
        let by_task = async_waiter.join().unwrap();
        [mine, by_thread, by_task]
    });
    assert_eq!(total, [6 * EACH; 3]);
}

#[test]
fn waitgroup_negative_count_is_an_error() {
    let wg = WaitGroup::new();
    assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    wg.add(2).unwrap();
    assert_eq!(wg.done(), Ok(()));
    assert_eq!(wg.done(), Ok(()));
    assert_eq!(wg.done(), Err(WaitGroupError::Negative));
    // The counter stayed at zero and the group still works.
    wg.wait();
    wg.add(1).unwrap();
    wg.done().unwrap();
    wg.wait();
    assert_eq!(
        WaitGroupError::Negative.to_string(),
        "sync: negative WaitGroup counter"
    );
}

#[test]
fn waitgroup_overflow_is_an_error_and_changes_nothing() {
    let wg = WaitGroup::new();
    wg.add(usize::MAX).unwrap();
    assert_eq!(wg.add(1), Err(WaitGroupError::Overflow));
    let r = wg.go(|| ());
    assert!(matches!(r, Err(WaitGroupError::Overflow)));
    for _ in 0..3 {
        wg.done().unwrap();
    }
    assert!(format!("{wg:?}").contains(&(usize::MAX - 3).to_string()));
}

#[test]
fn waitgroup_wait_on_zero_returns_at_once() {
    let wg = WaitGroup::new();
    wg.wait();
    let mut fut = pin!(wg.wait_async());
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(()));
}

#[test]
fn waitgroup_async_wait_is_woken_and_can_be_dropped() {
    let wg = WaitGroup::new();
    wg.add(1).unwrap();
    {
        let mut abandoned = pin!(wg.wait_async());
        assert!(poll_once(abandoned.as_mut()).is_pending());
    } // dropped while queued: withdrawn
    let mut fut = pin!(wg.wait_async());
    assert!(poll_once(fut.as_mut()).is_pending());
    wg.done().unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(()));
}

#[test]
fn waitgroup_go_surfaces_a_panic_and_still_calls_done() {
    let rt = runtime();
    let handle = rt.handle().clone();
    let (blocking, task) = within(move || {
        let _enter = handle.enter();
        let wg = WaitGroup::new();
        let blocking = wg.go(|| -> u32 { panic!("boom") }).unwrap();
        let task = wg
            .go_async(async {
                tokio::task::yield_now().await;
                panic!("task boom")
            })
            .unwrap();
        wg.wait(); // both ended: `done` ran during the unwinding
        assert_eq!(wg.done(), Err(WaitGroupError::Negative));
        (blocking.join(), task.join())
    });
    assert_eq!(blocking, Err(JoinError::Panicked("boom".into())));
    assert_eq!(task, Err::<(), _>(JoinError::Panicked("task boom".into())));
}

#[test]
fn waitgroup_go_async_aborted_still_calls_done() {
    let rt = runtime();
    let handle = rt.handle().clone();
    let r = within(move || {
        let _enter = handle.enter();
        let wg = WaitGroup::new();
        let h = wg.go_async(std::future::pending::<()>()).unwrap();
        h.abort();
        wg.wait();
        h.join()
    });
    assert_eq!(r, Err(JoinError::Canceled));
}

/// The group's types can be shared and sent as Go's can.
#[test]
fn sync_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<WaitGroup>();
    assert_send_sync::<Cond>();
    let (wg, m, cond) = (WaitGroup::new(), Mutex::new(()), Cond::new());
    assert_send(&wg.wait_async());
    assert_send(&cond.wait_async(&m, m.lock().unwrap()));
}

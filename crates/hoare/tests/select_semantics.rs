//! Go's select semantics in `select!`, `select_async!` and the dynamic `Select`:
//! fairness, exactly one case takes effect (an unchosen send sends nothing, an
//! unchosen receive takes nothing), `None` operands, closed channels, `default`,
//! a select never meets itself, dropped async selects lose no value, blocking and
//! async selects meet, timers (`after`, `tick`, `never`), and `Select`'s waits.
//!
//! "Would block" is shown deterministically: with a `default` arm, `try_wait`, or
//! by polling the async form once with a no-op waker. A polled, pending async select
//! is a registered waiter, so the channel's non-blocking operations
//! (`try_send`/`try_recv`) pair with it; that drives the exactly-once checks step
//! by step. Timers run on tokio's paused clock, or in real time with generous
//! bounds. Nothing sleeps to synchronise.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use hoare::chan::{
    self, Receiver, RecvTimeoutError, SendError, Sender, TryRecvError, TrySendError,
};
use hoare::select::{Select, SelectTimeoutError, TrySelectError};
use hoare::{select, select_async, time};

/// Upper bound for anything that must happen (guards against hangs).
const GUARD: Duration = Duration::from_secs(20);

/// One poll with a waker that does nothing.
fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// A value that counts its drops, to tell "delivered" from "dropped".
#[derive(Debug)]
struct Tracked {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(id: u32) -> (Tracked, Arc<AtomicUsize>) {
        let drops = Arc::new(AtomicUsize::new(0));
        (
            Tracked {
                id,
                drops: drops.clone(),
            },
            drops,
        )
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

const NIL_RX: Option<&Receiver<u32>> = None;
const NIL_TX: Option<&Sender<u32>> = None;

// ------------------------------------------------------------- fairness ---

/// Selects per fairness run.
const SELECTS: usize = 100_000;

/// `count` is `share` of `SELECTS`, within 1.5 percentage points. (The binomial
/// standard deviation at 50% is 0.16 points: a fair select fails this with
/// negligible probability; a biased one, such as "first ready case in a rotated
/// order", is off by 16 points.)
fn assert_share(count: usize, share: f64, what: &str) {
    let got = count as f64 / SELECTS as f64;
    assert!(
        (got - share).abs() <= 0.015,
        "{what}: chosen {:.2}% of the time, expected {:.2}% ± 1.5",
        got * 100.0,
        share * 100.0
    );
}

/// Two buffered channels that always hold a value: the select takes one, puts
/// it back. Returns how often each case was chosen.
fn ready_pair() -> [(Sender<u32>, Receiver<u32>); 2] {
    let pair = [chan::chan::<u32>(1), chan::chan::<u32>(1)];
    for (i, (tx, _)) in pair.iter().enumerate() {
        tx.send(i as u32).unwrap();
    }
    pair
}

#[test]
fn fairness_two_ready_receive_cases() {
    let [(tx0, rx0), (tx1, rx1)] = ready_pair();
    let mut counts = [0; 2];
    for _ in 0..SELECTS {
        let i = select! {
            recv(&rx0) -> v => { tx0.try_send(v.unwrap()).unwrap(); 0 },
            recv(&rx1) -> v => { tx1.try_send(v.unwrap()).unwrap(); 1 },
        };
        counts[i] += 1;
    }
    assert_share(counts[0], 0.5, "case 0");
    assert_share(counts[1], 0.5, "case 1");
}

#[test]
fn fairness_two_ready_send_cases() {
    let (tx0, rx0) = chan::chan::<u32>(1);
    let (tx1, rx1) = chan::chan::<u32>(1);
    let mut counts = [0; 2];
    for _ in 0..SELECTS {
        select! {
            send(&tx0, 0) -> r => r.unwrap(),
            send(&tx1, 1) -> r => r.unwrap(),
        }
        // Exactly one of the two sends took effect.
        match (rx0.try_recv(), rx1.try_recv()) {
            (Ok(0), Err(TryRecvError::Empty)) => counts[0] += 1,
            (Err(TryRecvError::Empty), Ok(1)) => counts[1] += 1,
            other => panic!("not exactly one send took effect: {other:?}"),
        }
    }
    assert_share(counts[0], 0.5, "case 0");
    assert_share(counts[1], 0.5, "case 1");
}

#[test]
fn fairness_two_ready_receive_cases_async() {
    futures_util::FutureExt::now_or_never(async {
        let [(tx0, rx0), (tx1, rx1)] = ready_pair();
        let mut counts = [0; 2];
        for _ in 0..SELECTS {
            let i = select_async! {
                recv(&rx0) -> v => { tx0.try_send(v.unwrap()).unwrap(); 0 },
                recv(&rx1) -> v => { tx1.try_send(v.unwrap()).unwrap(); 1 },
            };
            counts[i] += 1;
        }
        assert_share(counts[0], 0.5, "case 0");
        assert_share(counts[1], 0.5, "case 1");
    })
    .expect("every select had a ready case");
}

#[test]
fn fairness_two_ready_receive_cases_dynamic() {
    let [(tx0, rx0), (tx1, rx1)] = ready_pair();
    let mut sel = Select::new();
    let c0 = sel.recv(&rx0, |v| v.unwrap());
    let c1 = sel.recv(&rx1, |v| v.unwrap());
    assert_eq!((c0, c1), (0, 1));
    let mut counts = [0; 2];
    for _ in 0..SELECTS {
        let (i, v) = sel.wait();
        assert_eq!(i as u32, v, "case {i} got another channel's value");
        [&tx0, &tx1][i].try_send(v).unwrap();
        counts[i] += 1;
    }
    assert_share(counts[0], 0.5, "case 0");
    assert_share(counts[1], 0.5, "case 1");
}

/// Three cases, the middle one never ready: the two ready ones share evenly (a
/// select that scans from a random start would give the case after the idle one
/// two thirds).
#[test]
fn fairness_three_cases_two_ready() {
    let [(tx0, rx0), (tx2, rx2)] = ready_pair();
    let (_idle_tx, idle_rx) = chan::chan::<u32>(1);
    let mut counts = [0; 3];
    for _ in 0..SELECTS {
        let i = select! {
            recv(&rx0) -> v => { tx0.try_send(v.unwrap()).unwrap(); 0 },
            recv(&idle_rx) -> _ => 1,
            recv(&rx2) -> v => { tx2.try_send(v.unwrap()).unwrap(); 2 },
        };
        counts[i] += 1;
    }
    assert_eq!(counts[1], 0, "the idle case fired");
    assert_share(counts[0], 0.5, "case 0");
    assert_share(counts[2], 0.5, "case 2");
}

#[test]
fn fairness_three_cases_two_ready_async() {
    futures_util::FutureExt::now_or_never(async {
        let [(tx0, rx0), (tx2, rx2)] = ready_pair();
        let (idle_tx, idle_rx) = chan::chan::<u32>(0); // nobody receives
        let mut counts = [0; 3];
        for _ in 0..SELECTS {
            let i = select_async! {
                recv(&rx0) -> v => { tx0.try_send(v.unwrap()).unwrap(); 0 },
                send(&idle_tx, 9) -> _ => 1,
                recv(&rx2) -> v => { tx2.try_send(v.unwrap()).unwrap(); 2 },
            };
            counts[i] += 1;
        }
        assert_eq!(counts[1], 0, "the idle case fired");
        assert_share(counts[0], 0.5, "case 0");
        assert_share(counts[2], 0.5, "case 2");
        drop(idle_rx);
    })
    .expect("every select had a ready case");
}

#[test]
fn fairness_three_cases_two_ready_dynamic() {
    let [(tx0, rx0), (tx2, rx2)] = ready_pair();
    let (_idle_tx, idle_rx) = chan::chan::<u32>(1);
    let mut sel = Select::new();
    sel.recv(&rx0, |v| v);
    sel.recv(&idle_rx, |v| v);
    sel.recv(&rx2, |v| v);
    let mut counts = [0; 3];
    for _ in 0..SELECTS {
        let (i, v) = sel.wait();
        match i {
            0 => tx0.try_send(v.unwrap()).unwrap(),
            2 => tx2.try_send(v.unwrap()).unwrap(),
            _ => panic!("the idle case fired"),
        }
        counts[i] += 1;
    }
    assert_share(counts[0], 0.5, "case 0");
    assert_share(counts[2], 0.5, "case 2");
}

// ------------------------------------------- exactly one case takes effect ---

#[test]
fn unchosen_send_case_sends_nothing_and_drops_its_value() {
    // Both ready: a send with room, a receive with a value.
    let (tx_a, rx_a) = chan::chan::<Tracked>(1);
    let (tx_b, rx_b) = chan::chan::<u32>(1);
    let mut chosen = [0; 2];
    for id in 0..1_000 {
        tx_b.try_send(id).unwrap();
        let (item, drops) = Tracked::new(id);
        let sent = select! {
            send(&tx_a, item) -> r => { r.unwrap(); true },
            recv(&rx_b) -> v => { assert_eq!(v, Some(id)); false },
        };
        if sent {
            chosen[0] += 1;
            assert_eq!(drops.load(SeqCst), 0, "a sent value was dropped");
            let got = rx_a.try_recv().expect("sent, so it is in the channel");
            assert_eq!(got.id, id);
            assert_eq!(rx_b.try_recv(), Ok(id), "the receive case took it anyway");
        } else {
            chosen[1] += 1;
            // Dropped (by the time the select is over), once, and not sent.
            assert_eq!(drops.load(SeqCst), 1, "the unsent value is dropped, once");
            assert!(rx_a.is_empty(), "the send case sent anyway");
        }
        assert!(rx_a.is_empty() && rx_b.is_empty());
    }
    assert!(chosen[0] > 0 && chosen[1] > 0, "{chosen:?}");
}

#[test]
fn unchosen_send_case_of_a_pending_async_select_sends_nothing() {
    // Unbuffered, nobody there: the select waits on both cases.
    let (tx_a, rx_a) = chan::chan::<Tracked>(0);
    let (tx_b, rx_b) = chan::chan::<u32>(0);
    let (item, drops) = Tracked::new(1);
    let mut fut = pin!(async {
        select_async! {
            send(&tx_a, item) -> r => format!("sent {}", r.is_ok()),
            recv(&rx_b) -> v => format!("received {v:?}"),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    // The pending select is a waiting receiver on b: a non-blocking send pairs with it.
    assert_eq!(tx_b.try_send(7), Ok(()));
    // Now it is no longer a waiting sender on a.
    assert!(matches!(rx_a.try_recv(), Err(TryRecvError::Empty)));
    assert_eq!(
        poll_once(fut.as_mut()),
        Poll::Ready("received Some(7)".into())
    );
    assert_eq!(drops.load(SeqCst), 1, "the unsent value is dropped, once");
    assert!(matches!(rx_a.try_recv(), Err(TryRecvError::Empty)));
}

#[test]
fn chosen_send_case_of_a_pending_async_select_stops_its_receive_case() {
    let (tx_a, rx_a) = chan::chan::<Tracked>(0);
    let (tx_b, rx_b) = chan::chan::<u32>(0);
    let (item, drops) = Tracked::new(1);
    let mut fut = pin!(async {
        select_async! {
            send(&tx_a, item) -> r => format!("sent {}", r.is_ok()),
            recv(&rx_b) -> v => format!("received {v:?}"),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    // The pending select is a waiting sender on a.
    let got = rx_a.try_recv().expect("the select offers its value");
    assert_eq!(got.id, 1);
    // Now its receive case must not take anything.
    assert_eq!(tx_b.try_send(7), Err(TrySendError::Full(7)));
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready("sent true".into()));
    assert_eq!(drops.load(SeqCst), 0, "delivered, not dropped");
    drop(got);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn unchosen_send_case_of_a_blocked_select_sends_nothing() {
    for _ in 0..100 {
        let (tx_a, rx_a) = chan::chan::<Tracked>(0);
        let (tx_b, rx_b) = chan::chan::<u32>(0);
        let (item, drops) = Tracked::new(1);
        let h = thread::spawn(move || {
            select! {
                send(&tx_a, item) -> _ => "sent",
                recv(&rx_b) -> _ => "received",
            }
        });
        // Only b has a partner: this send completes with the select's receive case.
        assert_eq!(tx_b.send_timeout(7, GUARD), Ok(()));
        assert_eq!(h.join().unwrap(), "received");
        assert_eq!(drops.load(SeqCst), 1, "the unsent value is dropped, once");
        assert!(matches!(rx_a.try_recv(), Err(TryRecvError::Closed)));
    }
}

#[test]
fn unchosen_receive_case_takes_nothing() {
    let (tx_a, rx_a) = chan::chan::<u32>(4);
    let (tx_b, rx_b) = chan::chan::<u32>(4);
    let mut chosen = [0; 2];
    for round in 0..1_000 {
        while tx_a.try_send(round).is_ok() {}
        while tx_b.try_send(round + 10_000).is_ok() {}
        let i = select! {
            recv(&rx_a) -> v => { assert!(v.is_some()); 0 },
            recv(&rx_b) -> v => { assert!(v.is_some()); 1 },
        };
        chosen[i] += 1;
        let lens = (rx_a.len(), rx_b.len());
        assert_eq!(lens, if i == 0 { (3, 4) } else { (4, 3) }, "round {round}");
        rx_a.try_iter().for_each(drop);
        rx_b.try_iter().for_each(drop);
    }
    assert!(chosen[0] > 0 && chosen[1] > 0, "{chosen:?}");
}

#[test]
fn unchosen_receive_case_of_a_pending_async_select_takes_nothing() {
    let (tx_a, rx_a) = chan::chan::<u32>(0);
    let (tx_b, rx_b) = chan::chan::<u32>(0);
    let mut fut = pin!(async {
        select_async! {
            recv(&rx_a) -> v => (0, v),
            recv(&rx_b) -> v => (1, v),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(tx_a.try_send(1), Ok(()), "the select is a waiting receiver");
    assert_eq!(
        tx_b.try_send(2),
        Err(TrySendError::Full(2)),
        "the select already took a value"
    );
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready((0, Some(1))));
    assert_eq!(tx_b.try_send(3), Err(TrySendError::Full(3)));
}

#[test]
fn pending_async_select_on_buffered_channels_takes_one_value_only() {
    for _ in 0..100 {
        let (tx_a, rx_a) = chan::chan::<u32>(1);
        let (tx_b, rx_b) = chan::chan::<u32>(1);
        let mut fut = pin!(async {
            select_async! {
                recv(&rx_a) -> v => (0, v),
                recv(&rx_b) -> v => (1, v),
            }
        });
        assert!(poll_once(fut.as_mut()).is_pending());
        tx_a.try_send(1).unwrap();
        tx_b.try_send(2).unwrap();
        let Poll::Ready((i, v)) = poll_once(fut.as_mut()) else {
            panic!("a value is ready");
        };
        // The other value is still in its channel.
        match i {
            0 => assert_eq!((v, rx_a.len(), rx_b.try_recv()), (Some(1), 0, Ok(2))),
            _ => assert_eq!((v, rx_b.len(), rx_a.try_recv()), (Some(2), 0, Ok(1))),
        }
    }
}

// ---------------------------------------------------------- None operands ---

#[test]
fn none_operands_disable_their_cases() {
    let (tx, rx) = chan::chan::<u32>(1);
    let some_rx: Option<&Receiver<u32>> = Some(&rx);
    let some_tx: Option<&Sender<u32>> = Some(&tx);
    // Only None cases: the default.
    let r = select! {
        recv(NIL_RX) -> _ => "recv",
        send(NIL_TX, 1) -> _ => "send",
        default => "default",
    };
    assert_eq!(r, "default");
    // A ready case among None cases is always the one.
    for i in 0..1_000 {
        let r = select! {
            recv(NIL_RX) -> _ => "nil recv",
            send(some_tx, i) -> res => { res.unwrap(); "send" },
            send(NIL_TX, i) -> _ => "nil send",
        };
        assert_eq!(r, "send");
        let r = select! {
            send(NIL_TX, i) -> _ => "nil send",
            recv(some_rx) -> v => { assert_eq!(v, Some(i)); "recv" },
            recv(NIL_RX) -> _ => "nil recv",
        };
        assert_eq!(r, "recv");
    }
    // The same with the dynamic Select.
    let mut sel = Select::new();
    sel.recv(NIL_RX, |_| "nil recv");
    sel.send(NIL_TX, 1, |_| "nil send");
    assert_eq!(sel.try_wait(), Err(TrySelectError));
    let i = sel.send(some_tx, 5, |_| "send");
    assert_eq!(sel.try_wait(), Ok((i, "send")));
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn send_value_of_a_none_case_is_evaluated_once_and_dropped() {
    let evaluated = AtomicUsize::new(0);
    let make = |id| {
        evaluated.fetch_add(1, SeqCst);
        Tracked::new(id)
    };
    let nil: Option<&Sender<Tracked>> = None;
    let (item, drops) = make(1);
    let r = select! {
        send(nil, item) -> _ => "send",
        default => "default",
    };
    assert_eq!(r, "default");
    assert_eq!(drops.load(SeqCst), 1, "dropped once, never delivered");

    // The value expression itself runs once, when the select starts (as in Go).
    let drops2;
    let r = select! {
        send(nil, { let (t, d) = make(2); drops2 = d; t }) -> _ => "send",
        default => "default",
    };
    assert_eq!(r, "default");
    assert_eq!(evaluated.load(SeqCst), 2);
    assert_eq!(drops2.load(SeqCst), 1);
}

// ------------------------------------------------------- closed channels ---

#[test]
fn closed_channel_cases_fire_without_panicking() {
    let (tx, rx) = chan::chan::<u32>(2);
    tx.send(1).unwrap();
    tx.close().unwrap();
    // Buffered values first, then None, every time.
    for want in [Some(1), None, None] {
        select! {
            recv(&rx) -> v => assert_eq!(v, want),
        }
    }
    for _ in 0..3 {
        select! {
            send(&tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
        }
    }
    // Closed by dropping the other side.
    let (tx, rx) = chan::chan::<Tracked>(0);
    drop(rx);
    let (item, drops) = Tracked::new(3);
    select! {
        send(&tx, item) -> r => {
            let SendError(back) = r.expect_err("no receiver left");
            assert_eq!(back.id, 3, "the value comes back");
            assert_eq!(drops.load(SeqCst), 0);
        },
    }
    let (tx, rx) = chan::chan::<u32>(0);
    drop(tx);
    select! {
        recv(&rx) -> v => assert_eq!(v, None),
    }
}

#[test]
fn closed_channel_cases_fire_without_panicking_async_and_dynamic() {
    let (tx, rx) = chan::chan::<u32>(0);
    tx.close().unwrap();
    futures_util::FutureExt::now_or_never(async {
        select_async! {
            recv(&rx) -> v => assert_eq!(v, None),
        }
        select_async! {
            send(&tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
        }
    })
    .expect("a closed channel is ready");
    let mut sel = Select::new();
    sel.recv(&rx, |v| format!("{v:?}"));
    assert_eq!(sel.wait(), (0, "None".to_string()));
    assert_eq!(sel.wait(), (0, "None".to_string()), "and stays ready");
    let mut sel = Select::new();
    sel.send(&tx, 7, |r| format!("{:?}", r.map_err(|e| e.0)));
    assert_eq!(sel.wait(), (0, "Err(7)".to_string()));
}

#[test]
fn close_wakes_a_pending_async_select() {
    let (tx, rx) = chan::chan::<u32>(0);
    let (tx2, rx2) = chan::chan::<u32>(0);
    let mut fut = pin!(async {
        select_async! {
            recv(&rx) -> v => (0, v),
            recv(&rx2) -> v => (1, v),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    tx.close().unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready((0, None)));
    drop(tx2);
}

#[test]
fn close_wakes_a_blocked_select() {
    let (tx, rx) = chan::chan::<u32>(0);
    let (_tx2, rx2) = chan::chan::<u32>(0);
    let (out_tx, out_rx) = chan::chan::<Tracked>(0);
    let (item, drops) = Tracked::new(5);
    let h = thread::spawn(move || {
        select! {
            recv(&rx) -> v => format!("recv {v:?}"),
            recv(&rx2) -> v => format!("recv2 {v:?}"),
            send(&out_tx, item) -> r => format!("send {:?}", r.map_err(|e| e.0.id)),
        }
    });
    tx.close().unwrap();
    assert_eq!(h.join().unwrap(), "recv None");
    assert_eq!(drops.load(SeqCst), 1);
    assert!(matches!(out_rx.try_recv(), Err(TryRecvError::Closed)));
}

// --------------------------------------------------------------- default ---

#[test]
fn default_is_taken_when_nothing_is_ready_and_changes_nothing() {
    let (tx0, rx0) = chan::chan::<u32>(0); // no partner
    let (_tx1, rx1) = chan::chan::<u32>(1); // empty
    let (tx2, rx2) = chan::chan::<u32>(1); // full
    tx2.send(42).unwrap();
    for _ in 0..1_000 {
        let r = select! {
            send(&tx0, 1) -> _ => "send unbuffered",
            recv(&rx0) -> _ => "recv unbuffered",
            recv(&rx1) -> _ => "recv empty",
            send(&tx2, 2) -> _ => "send full",
            default => "default",
        };
        assert_eq!(r, "default");
    }
    assert_eq!(rx2.len(), 1);
    assert_eq!(rx2.try_recv(), Ok(42));
    assert!(rx1.is_empty());
    assert_eq!(rx0.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn default_is_not_taken_when_a_case_is_ready() {
    let (tx, rx) = chan::chan::<u32>(1);
    for i in 0..1_000 {
        let r = select! {
            send(&tx, i) -> r => { r.unwrap(); "send" },
            default => "default",
        };
        assert_eq!(r, "send");
        let r = select! {
            recv(&rx) -> v => { assert_eq!(v, Some(i)); "recv" },
            default => "default",
        };
        assert_eq!(r, "recv");
    }
}

#[tokio::test]
async fn default_is_taken_when_nothing_is_ready_async() {
    let (tx, rx) = chan::chan::<u32>(0);
    let r = select_async! {
        send(&tx, 1) -> _ => "send",
        recv(&rx) -> _ => "recv",
        default => "default",
    };
    assert_eq!(r, "default");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

// ------------------------------------------ a select never meets itself ---

#[test]
fn select_with_send_and_receive_on_one_unbuffered_channel_needs_a_partner() {
    let (tx, rx) = chan::chan::<u32>(0);
    let r = select! {
        send(&tx, 1) -> _ => "send",
        recv(&rx) -> _ => "recv",
        default => "default",
    };
    assert_eq!(r, "default");

    // Pending until a partner comes: a receiver first, then a sender.
    let mut fut = pin!(async {
        select_async! {
            send(&tx, 1) -> r => format!("sent {r:?}"),
            recv(&rx) -> v => format!("received {v:?}"),
        }
    });
    for _ in 0..3 {
        assert!(poll_once(fut.as_mut()).is_pending(), "matched itself");
    }
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready("sent Ok(())".into()));

    let mut fut = pin!(async {
        select_async! {
            send(&tx, 1) -> r => format!("sent {r:?}"),
            recv(&rx) -> v => format!("received {v:?}"),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending(), "matched itself");
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(
        poll_once(fut.as_mut()),
        Poll::Ready("received Some(2)".into())
    );

    let mut sel = Select::new();
    sel.send(&tx, 1, |_| ());
    sel.recv(&rx, |_| ());
    assert_eq!(
        sel.wait_timeout(Duration::ZERO),
        Err(SelectTimeoutError),
        "matched itself"
    );
}

/// Two threads, each selecting send-or-receive on the same unbuffered channel:
/// every round they meet each other, one sending and the other receiving.
#[test]
fn two_selects_on_one_unbuffered_channel_meet_each_other() {
    const ROUNDS: usize = 2_000;
    let (tx, rx) = chan::chan::<usize>(0);
    let run = |me: usize| {
        let (tx, rx) = (tx.clone(), rx.clone());
        thread::spawn(move || {
            let mut log = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                log.push(select! {
                    send(&tx, me) -> r => { r.unwrap(); None },
                    recv(&rx) -> v => Some(v.unwrap()),
                });
            }
            log
        })
    };
    let (a, b) = (run(0), run(1));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    for (round, pair) in a.iter().zip(&b).enumerate() {
        match pair {
            (None, Some(0)) | (Some(1), None) => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
}

// ------------------------------------------- dropped async selects lose nothing ---

#[test]
fn dropped_select_async_passes_on_a_value_it_was_handed() {
    for cap in [0, 1] {
        let (tx_a, rx_a) = chan::chan::<Tracked>(cap);
        let (_tx_b, rx_b) = chan::chan::<Tracked>(cap);
        let (item, drops) = Tracked::new(9);
        {
            let mut fut = pin!(async {
                select_async! {
                    recv(&rx_a) -> v => v,
                    recv(&rx_b) -> v => v,
                }
            });
            assert!(poll_once(fut.as_mut()).is_pending());
            // Handed over to the pending select (unbuffered), or buffered for it.
            assert!(tx_a.try_send(item).is_ok());
            // Dropped without being polled again.
        }
        assert_eq!(drops.load(SeqCst), 0, "cap {cap}: the value was dropped");
        let got = rx_a.try_recv().expect("the value went to someone else");
        assert_eq!(got.id, 9);
        assert!(matches!(rx_b.try_recv(), Err(TryRecvError::Empty)));
    }
}

#[test]
fn dropped_select_async_passes_on_a_value_from_a_blocked_sender() {
    let (tx, rx) = chan::chan::<u32>(0);
    let (_tx2, rx2) = chan::chan::<u32>(0);
    for i in 0..100 {
        let mut fut = Box::pin(async {
            select_async! {
                recv(&rx) -> v => v,
                recv(&rx2) -> v => v,
            }
        });
        assert!(poll_once(fut.as_mut()).is_pending());
        // A thread's blocking send completes with the pending select (the only
        // receiver there is).
        let tx = tx.clone();
        let sender = thread::spawn(move || tx.send(i));
        assert_eq!(sender.join().unwrap(), Ok(()));
        drop(fut);
        assert_eq!(rx.try_recv(), Ok(i), "round {i}: the value was lost");
    }
}

#[test]
fn dropped_select_async_sends_nothing_or_exactly_once() {
    let (tx, rx) = chan::chan::<Tracked>(0);
    let (_tx2, rx2) = chan::chan::<u32>(0);
    // Dropped before anyone received: not sent, dropped once.
    let (item, drops) = Tracked::new(1);
    {
        let mut fut = pin!(async {
            select_async! {
                send(&tx, item) -> r => r.is_ok(),
                recv(&rx2) -> _ => false,
            }
        });
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(drops.load(SeqCst), 1);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    // Dropped after a receiver took the value: received once, not dropped again.
    let (item, drops) = Tracked::new(2);
    let got = {
        let mut fut = pin!(async {
            select_async! {
                send(&tx, item) -> r => r.is_ok(),
                recv(&rx2) -> _ => false,
            }
        });
        assert!(poll_once(fut.as_mut()).is_pending());
        rx.try_recv().expect("the pending select offers its value")
    };
    assert_eq!((got.id, drops.load(SeqCst)), (2, 0));
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    drop(got);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn dropped_select_wait_async_passes_on_a_value_it_was_handed() {
    let (tx, rx) = chan::chan::<u32>(0);
    let (_tx2, rx2) = chan::chan::<u32>(0);
    let mut sel = Select::new();
    sel.recv(&rx, |v| v);
    sel.recv(&rx2, |v| v);
    {
        let mut fut = pin!(sel.wait_async());
        assert!(poll_once(fut.as_mut()).is_pending());
        assert_eq!(tx.try_send(4), Ok(()));
    }
    drop(sel);
    assert_eq!(rx.try_recv(), Ok(4));
}

// ---------------------------------------- blocking meets async select ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_select_meets_async_select_on_unbuffered_channel() {
    const N: u64 = 10_000;
    let (tx, rx) = chan::chan::<u64>(0);
    // Extra cases that never fire: nobody sends on `quiet`, nobody receives on `deaf`.
    let (_quiet_tx, quiet) = chan::chan::<u64>(0);
    let (deaf, _deaf_rx) = chan::chan::<u64>(0);
    // Thread sends with select!, task receives with select_async!.
    let sender = {
        let (tx, quiet, deaf) = (tx.clone(), quiet.clone(), deaf.clone());
        thread::spawn(move || {
            for i in 0..N {
                select! {
                    send(&tx, i) -> r => r.unwrap(),
                    recv(&quiet) -> _ => unreachable!(),
                    send(&deaf, 0) -> _ => unreachable!(),
                }
            }
        })
    };
    for i in 0..N {
        let v = select_async! {
            recv(&rx) -> v => v,
            recv(&quiet) -> _ => unreachable!(),
            send(&deaf, 0) -> _ => unreachable!(),
        };
        assert_eq!(v, Some(i));
    }
    tokio::task::spawn_blocking(move || sender.join().unwrap())
        .await
        .unwrap();
    // Task sends with select_async!, thread receives with select!.
    let receiver = {
        let (rx, quiet, deaf) = (rx.clone(), quiet.clone(), deaf.clone());
        thread::spawn(move || {
            for i in 0..N {
                let v = select! {
                    recv(&rx) -> v => v,
                    recv(&quiet) -> _ => unreachable!(),
                    send(&deaf, 0) -> _ => unreachable!(),
                };
                assert_eq!(v, Some(i));
            }
        })
    };
    for i in 0..N {
        select_async! {
            send(&tx, i) -> r => r.unwrap(),
            recv(&quiet) -> _ => unreachable!(),
            send(&deaf, 0) -> _ => unreachable!(),
        }
    }
    tokio::task::spawn_blocking(move || receiver.join().unwrap())
        .await
        .unwrap();
}

// ---------------------------------------------------------------- timers ---

#[test]
fn after_fires_once_then_is_closed() {
    let d = Duration::from_millis(20);
    let start = Instant::now();
    let timer = time::after(d);
    let due = timer.recv().expect("fires once");
    assert!(due >= start + d, "fired early");
    assert!(Instant::now() >= due);
    assert_eq!(timer.recv(), None, "then closed");
    assert_eq!(timer.try_recv(), Err(TryRecvError::Closed));

    // In a select: fires once, then its case fires with None.
    let timer = time::after(Duration::from_millis(1));
    let (_tx, rx) = chan::chan::<u32>(0);
    for want_some in [true, false, false] {
        let got = select! {
            recv(&rx) -> _ => unreachable!(),
            recv(&timer) -> v => v,
        };
        assert_eq!(got.is_some(), want_some);
    }
}

#[test]
fn after_is_not_ready_before_it_is_due() {
    let timer = time::after(Duration::from_secs(3600));
    assert_eq!(timer.try_recv(), Err(TryRecvError::Empty));
    let r = select! {
        recv(&timer) -> _ => "fired",
        default => "default",
    };
    assert_eq!(r, "default");
    assert_eq!(
        timer.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[tokio::test(start_paused = true)]
async fn after_fires_at_its_due_instant_on_the_paused_clock() {
    let d = Duration::from_secs(3600);
    let start = tokio::time::Instant::now();
    let timer = time::after(d);
    let (_tx, rx) = chan::chan::<u32>(0);
    let due = select_async! {
        recv(&rx) -> _ => unreachable!(),
        recv(&timer) -> v => v.expect("fires once"),
    };
    assert_eq!(due, (start + d).into_std(), "the value is the due instant");
    assert!(tokio::time::Instant::now() >= start + d);
    assert_eq!(timer.recv_async().await, None, "then closed");
}

#[tokio::test(start_paused = true)]
async fn owned_after_operand_times_out_a_select() {
    let (_tx, rx) = chan::chan::<u32>(0);
    let start = tokio::time::Instant::now();
    let mut timeouts = 0;
    for _ in 0..3 {
        select_async! {
            recv(&rx) -> _ => unreachable!(),
            recv(time::after(Duration::from_secs(1))) -> v => {
                assert!(v.is_some());
                timeouts += 1;
            },
        }
    }
    assert_eq!(timeouts, 3);
    assert!(start.elapsed() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn tick_does_not_burst_after_a_slow_receiver() {
    let period = Duration::from_millis(10);
    let start = tokio::time::Instant::now().into_std();
    let ticks = time::tick(period);
    assert_eq!(ticks.try_recv(), Err(TryRecvError::Empty), "not due yet");
    assert_eq!(ticks.recv_async().await, Some(start + period));

    // A slow receiver: five more periods (and a half) pass.
    tokio::time::sleep(period * 11 / 2).await;
    let now = tokio::time::Instant::now().into_std();
    assert!(now >= start + period * 13 / 2 && now < start + period * 7);
    // One stale tick at once, then nothing: no burst.
    let stale = ticks.try_recv().expect("one stale tick");
    assert!(stale > start + period && stale <= now, "{stale:?}");
    assert_eq!(ticks.try_recv(), Err(TryRecvError::Empty), "a burst");
    // The next at the next period boundary, then every period.
    for k in [7, 8, 9] {
        let due = select_async! {
            recv(&ticks) -> v => v.expect("a tick channel stays open"),
        };
        assert_eq!(due, start + period * k);
        // Woken when due (tokio's timer has millisecond granularity).
        let now = tokio::time::Instant::now().into_std();
        assert!(
            now >= due && now < due + Duration::from_millis(2),
            "{:?}",
            now - due
        );
    }
}

#[tokio::test(start_paused = true)]
async fn never_and_zero_tick_never_fire() {
    let never = time::never();
    let zero = time::tick(Duration::ZERO);
    assert_eq!(never.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(zero.try_recv(), Err(TryRecvError::Empty));
    let start = tokio::time::Instant::now();
    let r = select_async! {
        recv(&never) -> _ => "never",
        recv(&zero) -> _ => "zero tick",
        recv(time::after(Duration::from_secs(3600))) -> _ => "after",
    };
    assert_eq!(r, "after");
    assert!(start.elapsed() >= Duration::from_secs(3600));
}

// -------------------------------------------------------- dynamic Select ---

#[test]
fn select_wait_returns_the_fired_case_and_its_mapped_result() {
    let (tx0, rx0) = chan::chan::<u32>(1);
    let (_tx1, rx1) = chan::chan::<&str>(1);
    let mut sel = Select::new();
    let a = sel.recv(&rx0, |v| format!("a {v:?}"));
    let b = sel.recv(&rx1, |v| format!("b {v:?}"));
    assert_eq!((a, b, sel.len()), (0, 1, 2));
    tx0.send(3).unwrap();
    assert_eq!(sel.wait(), (a, "a Some(3)".to_string()));
    let h = thread::spawn(move || tx0.send(4));
    assert_eq!(sel.wait(), (a, "a Some(4)".to_string()));
    h.join().unwrap().unwrap();
    assert_eq!(sel.wait(), (a, "a None".to_string()), "closed: None");
}

#[test]
fn select_try_wait_and_zero_timeout_are_default_like() {
    let (tx0, rx0) = chan::chan::<u32>(0); // nobody on the other side
    let (tx1, rx1) = chan::chan::<u32>(1); // empty
    let (full_tx, full_rx) = chan::chan::<u32>(1); // full
    full_tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx0, |v| format!("recv0 {v:?}"));
    sel.send(&tx0, 7, |r| format!("send0 {r:?}"));
    sel.recv(&rx1, |v| format!("recv1 {v:?}"));
    sel.send(&full_tx, 2, |r| format!("send full {r:?}"));
    for _ in 0..100 {
        assert_eq!(sel.try_wait(), Err(TrySelectError));
        assert_eq!(sel.wait_timeout(Duration::ZERO), Err(SelectTimeoutError));
    }
    // Nothing changed.
    assert_eq!(full_rx.len(), 1);
    assert!(rx1.is_empty());
    assert_eq!(rx0.try_recv(), Err(TryRecvError::Empty));
    // A ready case fires, with either.
    tx1.send(5).unwrap();
    assert_eq!(
        sel.wait_timeout(Duration::ZERO),
        Ok((2, "recv1 Some(5)".to_string()))
    );
    assert_eq!(full_rx.try_recv(), Ok(1));
    assert_eq!(sel.try_wait(), Ok((3, "send full Ok(())".to_string())));
    assert_eq!(full_rx.try_recv(), Ok(2));
    assert_eq!(sel.try_wait(), Err(TrySelectError));
}

#[test]
fn select_wait_timeout_waits_then_gives_up() {
    let (_tx, rx) = chan::chan::<u32>(0);
    let mut sel = Select::new();
    sel.recv(&rx, |v| v);
    let start = Instant::now();
    let d = Duration::from_millis(30);
    assert_eq!(sel.wait_timeout(d), Err(SelectTimeoutError));
    assert!(start.elapsed() >= d, "gave up early");
}

#[test]
fn select_send_case_is_spent_after_it_fires() {
    let (tx, rx) = chan::chan::<u32>(4);
    let mut sel = Select::new();
    let s = sel.send(&tx, 5, |r| r.is_ok());
    assert_eq!(sel.wait(), (s, true));
    assert_eq!(sel.try_wait(), Err(TrySelectError), "sent twice");
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn select_remove_disables_a_case_and_keeps_the_other_indices() {
    let chans: Vec<_> = (0..3).map(|_| chan::chan::<u32>(1)).collect();
    let mut sel = Select::new();
    for (_, rx) in &chans {
        sel.recv(rx, |v| v);
    }
    chans[1].0.send(10).unwrap();
    assert!(sel.remove(1));
    assert!(!sel.remove(3), "no such case");
    assert_eq!(sel.try_wait(), Err(TrySelectError), "a removed case fired");
    assert_eq!(chans[1].1.len(), 1, "a removed case took a value");
    chans[2].0.send(20).unwrap();
    assert_eq!(sel.wait(), (2, Some(20)));
    chans[0].0.send(0).unwrap();
    assert_eq!(sel.wait(), (0, Some(0)));
}

/// Go's reflect.Select fan-in: wait on every open channel, remove each as it
/// closes, until none is left.
#[test]
fn select_fan_in_removing_closed_channels() {
    const CHANNELS: u64 = 8;
    const PER: u64 = 500;
    let mut rxs = Vec::new();
    let mut producers = Vec::new();
    for c in 0..CHANNELS {
        let (tx, rx) = chan::chan::<u64>(c as usize % 3); // 0, 1 and 2 buffers
        rxs.push(rx);
        producers.push(thread::spawn(move || {
            for v in 0..PER {
                tx.send(c * PER + v).unwrap();
            }
        }));
    }
    let mut sel = Select::new();
    for rx in &rxs {
        sel.recv(rx, |v| v);
    }
    let (mut open, mut count, mut sum) = (CHANNELS, 0, 0);
    let mut next = [0; CHANNELS as usize];
    while open > 0 {
        match sel.wait() {
            (i, Some(v)) => {
                assert_eq!(v, i as u64 * PER + next[i], "channel {i} out of order");
                next[i] += 1;
                count += 1;
                sum += v;
            }
            (i, None) => {
                assert!(sel.remove(i));
                open -= 1;
            }
        }
    }
    let n = CHANNELS * PER;
    assert_eq!((count, sum), (n, n * (n - 1) / 2));
    for p in producers {
        p.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_wait_async_meets_senders() {
    let (tx0, rx0) = chan::chan::<u32>(0);
    let (tx1, rx1) = chan::chan::<u32>(0);
    let feeder = thread::spawn(move || {
        for i in 0..1_000 {
            [&tx0, &tx1][i as usize % 2].send(i).unwrap();
        }
    });
    let mut sel = Select::new();
    sel.recv(&rx0, |v| v);
    sel.recv(&rx1, |v| v);
    let mut got = Vec::new();
    for _ in 0..1_000 {
        let (i, v) = sel.wait_async().await;
        let v = v.unwrap();
        assert_eq!(v as usize % 2, i);
        got.push(v);
    }
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    drop(sel);
    tokio::task::spawn_blocking(move || feeder.join().unwrap())
        .await
        .unwrap();
}

#[test]
fn select_async_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (tx, rx) = chan::chan::<u32>(0);
    let fut = async {
        select_async! {
            recv(&rx) -> v => v,
            send(&tx, 1) -> _ => None,
        }
    };
    assert_send(&fut);
}

/// A dynamic select whose async wait was dropped still honours the timeout of its
/// next wait (the driver forgets what it knew of the old wait's timers).
#[tokio::test(start_paused = true)]
async fn dynamic_select_timeout_works_after_a_dropped_wait() {
    let (_tx, rx) = chan::chan::<u32>(0);
    let mut sel = Select::new();
    sel.recv(&rx, |v| v);
    {
        let mut wait = std::pin::pin!(sel.wait_async());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
    }
    let outcome = tokio::time::timeout(
        Duration::from_secs(3600),
        sel.wait_async_timeout(Duration::from_millis(20)),
    )
    .await;
    assert_eq!(outcome, Ok(Err(SelectTimeoutError)));
}

/// A select waiting on an `after` timer whose value another clone took sees the
/// timer closed, as a blocking select does.
#[tokio::test(start_paused = true)]
async fn async_select_sees_a_timer_closed_by_a_clone() {
    let timer = time::after(Duration::from_millis(30));
    let clone = timer.clone();
    let mut fut = pin!(async {
        select_async! {
            recv(&timer) -> v => v,
        }
    });
    // Registered, with this task's waker, on a timer not yet due.
    assert!(futures_util::poll!(fut.as_mut()).is_pending());
    tokio::time::advance(Duration::from_millis(50)).await;
    // The clone takes the value: the timer is now closed.
    assert!(clone.try_recv().is_ok());
    let outcome = tokio::time::timeout(Duration::from_secs(3600), fut).await;
    assert_eq!(outcome, Ok(None), "the select must see the close");
}

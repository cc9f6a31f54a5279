//! Ways of reading a receiver to its end that the adapter receivers' tests share:
//! by several readers at once, as a stream, in a select beside another channel,
//! and with receives abandoned midway.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context as TaskContext, Poll, Waker};

use futures_core::Stream;
use hoare::chan::Receiver;
use hoare::select;

/// Reads `rx` to its end with two tasks (on a 2-worker runtime) and a thread at
/// once; what they got, sorted.
pub fn drain_with_tasks_and_a_thread<T: Ord + Send + 'static>(rx: Receiver<T>) -> Vec<T> {
    let rt = super::runtime();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv_async().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    let thread = std::thread::spawn(move || rx.iter().collect::<Vec<T>>());
    let mut all = thread.join().unwrap();
    for t in tasks {
        all.extend(rt.block_on(t).unwrap());
    }
    all.sort_unstable();
    all
}

/// Reads `rx` to its end as a `stream()` (one wait state for every receive), on a
/// 2-worker runtime.
pub fn collect_stream<T: Send + 'static>(rx: &Receiver<T>) -> Vec<T> {
    super::runtime().block_on(async {
        let mut stream = rx.stream();
        let mut got = Vec::new();
        while let Some(v) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            got.push(v);
        }
        got
    })
}

/// Reads `rx` to its end in a `select!` beside another channel that a thread
/// fills with `ticks` values; what `rx` gave, and how many ticks arrived.
pub fn select_beside_ticks<T>(rx: &Receiver<T>, ticks: u32) -> (Vec<T>, u32) {
    let (tick_tx, tick_rx) = hoare::chan::chan::<u32>(0);
    let ticker = std::thread::spawn(move || (0..ticks).for_each(|i| tick_tx.send(i).unwrap()));
    let (mut values, mut tick_count, mut open) = (Vec::new(), 0, (true, true));
    while open.0 || open.1 {
        select! {
            recv(open.0.then_some(rx)) -> v => match v {
                Some(v) => values.push(v),
                None => open.0 = false,
            },
            recv(open.1.then_some(&tick_rx)) -> t => match t {
                Some(_) => tick_count += 1,
                None => open.1 = false,
            },
        }
    }
    ticker.join().unwrap();
    (values, tick_count)
}

/// Reads `rx` to its end round after round: a `recv_async` polled once and
/// dropped, then a `select_async!` polled once and dropped, then a blocking
/// `recv`. Some of the dropped ones were handed a value (on an unbuffered
/// channel) before they went: the value must not be lost.
pub fn drain_abandoning_receives<T>(rx: &Receiver<T>) -> Vec<T> {
    let mut cx = TaskContext::from_waker(Waker::noop());
    let mut got = Vec::new();
    for round in 0.. {
        let polled = match round % 3 {
            0 => pin!(rx.recv_async()).as_mut().poll(&mut cx),
            1 => pin!(async {
                hoare::select_async! { recv(rx) -> v => v }
            })
            .as_mut()
            .poll(&mut cx),
            _ => Poll::Ready(rx.recv()),
        };
        match polled {
            Poll::Ready(Some(v)) => got.push(v),
            Poll::Ready(None) => break,
            Poll::Pending => std::thread::yield_now(),
        }
    }
    got
}

//! `pattern::bridge` is a receiver flavor, not a goroutine: these tests check it
//! behaves as a receiver everywhere one can be used (blocking, async, with a
//! timeout, in `select!` and the dynamic `Select`, shared by clones), that a
//! cancel ends every kind of wait it has, and that abandoned receives lose
//! nothing.

use std::thread::JoinHandle;
use std::time::Duration;

use hoare::chan::{self, Receiver, RecvTimeoutError, TryRecvError};
use hoare::context::Context;
use hoare::pattern::bridge;
use hoare::select::Select;

mod common;
use common::receivers::{
    collect_stream, drain_abandoning_receives, drain_with_tasks_and_a_thread, select_beside_ticks,
};

/// `streams` unbuffered streams of `per` values each (`s * per + i`), every
/// stream fed by a thread of its own over an unbuffered channel; the stream of
/// streams is unbuffered too. Returns the stream of streams and the feeding thread.
fn unbuffered_streams(streams: u64, per: u64) -> (Receiver<Receiver<u64>>, JoinHandle<()>) {
    let (tx, rx) = chan::chan::<Receiver<u64>>(0);
    let feeder = std::thread::spawn(move || {
        let mut senders = Vec::new();
        for s in 0..streams {
            let (vtx, vrx) = chan::chan::<u64>(0);
            senders.push(std::thread::spawn(move || {
                for i in 0..per {
                    vtx.send(s * per + i).unwrap();
                }
            }));
            if tx.send(vrx).is_err() {
                break;
            }
        }
        for s in senders {
            s.join().unwrap();
        }
    });
    (rx, feeder)
}

/// A stream whose values are all buffered already, and closed.
fn filled(values: impl IntoIterator<Item = u64>) -> Receiver<u64> {
    let values: Vec<u64> = values.into_iter().collect();
    let (tx, rx) = chan::chan(values.len());
    for v in values {
        tx.send(v).unwrap();
    }
    rx
}

#[test]
fn values_come_stream_after_stream_in_order() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(20, 50);
    let got: Vec<u64> = bridge(&ctx, streams).into_iter().collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    feeder.join().unwrap();
}

#[test]
fn clones_share_the_streams_and_get_each_value_once_in_order() {
    let ctx = Context::background();
    let (tx, streams) = chan::chan::<Receiver<u64>>(0);
    let bridged = bridge(&ctx, streams);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let rx = bridged.clone();
            std::thread::spawn(move || rx.iter().collect::<Vec<u64>>())
        })
        .collect();
    drop(bridged);
    // Buffered streams, and unbuffered ones fed by threads, alternately.
    let mut feeders = Vec::new();
    for s in 0..200u64 {
        let range = s * 10..s * 10 + 10;
        if s % 2 == 0 {
            tx.send(filled(range)).unwrap();
        } else {
            let (vtx, vrx) = chan::chan::<u64>(0);
            feeders.push(std::thread::spawn(move || {
                range.for_each(|v| vtx.send(v).unwrap())
            }));
            tx.send(vrx).unwrap();
        }
    }
    drop(tx);
    let mut all = Vec::new();
    for r in readers {
        let got = r.join().unwrap();
        // A reader takes the streams in order, and each stream's values in order.
        assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
        all.extend(got);
    }
    feeders.into_iter().for_each(|f| f.join().unwrap());
    all.sort_unstable();
    assert_eq!(all, (0..2000).collect::<Vec<_>>());
}

#[test]
fn tasks_and_threads_read_one_bridge_together() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(40, 25);
    let all = drain_with_tasks_and_a_thread(bridge(&ctx, streams));
    feeder.join().unwrap();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
}

#[test]
fn a_cancel_ends_a_wait_on_a_stream_on_the_streams_and_on_the_pull() {
    let (ctx, cancel) = Context::background().with_cancel();
    // On a stream: its sender stays, silent.
    let (_vtx, vrx) = chan::chan::<u64>(0);
    let on_stream = bridge(&ctx, chan::never::<Receiver<u64>>());
    let (stx, streams) = chan::chan::<Receiver<u64>>(1);
    stx.send(vrx).unwrap();
    let on_a_stream = bridge(&ctx, streams);
    // On the stream of streams, by two clones: one pulls, the other waits for it.
    let (_silent_tx, silent) = chan::chan::<Receiver<u64>>(0);
    let pulled = bridge(&ctx, silent);
    let waiters: Vec<_> = [on_stream, on_a_stream, pulled.clone(), pulled]
        .into_iter()
        .map(|rx| std::thread::spawn(move || rx.recv()))
        .collect();
    cancel.cancel();
    for w in waiters {
        assert_eq!(w.join().unwrap(), None);
    }
}

#[test]
fn async_waits_end_on_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_silent_tx, silent) = chan::chan::<Receiver<u64>>(0);
    let bridged = bridge(&ctx, silent);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let a = bridged.clone();
        let first = tokio::spawn(async move { a.recv_async().await });
        let b = bridged.clone();
        let second = tokio::spawn(async move { b.recv_async().await });
        tokio::task::yield_now().await; // both wait now: one pulls, one waits on it
        cancel.cancel();
        assert_eq!(first.await.unwrap(), None);
        assert_eq!(second.await.unwrap(), None);
    });
    assert!(bridged.is_closed());
    assert_eq!(bridged.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn recv_timeout_times_out_then_values_still_come() {
    let ctx = Context::background();
    let (tx, streams) = chan::chan::<Receiver<u64>>(0);
    let bridged = bridge(&ctx, streams);
    assert_eq!(
        bridged.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    let (vtx, vrx) = chan::chan::<u64>(0);
    let feeder = std::thread::spawn(move || {
        tx.send(vrx).unwrap();
        vtx.send(7).unwrap();
    });
    assert_eq!(bridged.recv_timeout(Duration::from_secs(60)), Ok(7));
    feeder.join().unwrap();
    assert_eq!(bridged.recv(), None);
}

#[test]
fn select_with_a_bridge_and_another_channel_loses_nothing() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(30, 20);
    let (values, ticks) = select_beside_ticks(&bridge(&ctx, streams), 300);
    feeder.join().unwrap();
    assert_eq!(values, (0..600).collect::<Vec<_>>());
    assert_eq!(ticks, 300);
}

#[test]
fn the_dynamic_select_reads_a_bridge() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(10, 10);
    let bridged = bridge(&ctx, streams);
    let mut got = Vec::new();
    loop {
        let mut sel = Select::new();
        sel.recv(Some(&bridged), |v| v);
        match sel.wait().1 {
            Some(v) => got.push(v),
            None => break,
        }
    }
    feeder.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

/// Receives polled once and dropped, some after a stream or a value was handed
/// to them (the stream of streams and the streams are unbuffered): every value
/// still arrives, in order.
#[test]
fn abandoned_receives_and_selects_lose_nothing() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(25, 8);
    let got = drain_abandoning_receives(&bridge(&ctx, streams));
    feeder.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

#[test]
fn len_capacity_and_closed() {
    let ctx = Context::background();
    let (tx, streams) = chan::chan::<Receiver<u64>>(2);
    tx.send(filled([1, 2, 3])).unwrap();
    let bridged = bridge(&ctx, streams);
    assert_eq!(bridged.capacity(), 0);
    assert_eq!(
        bridged.len(),
        0,
        "no stream is read before the first receive"
    );
    assert_eq!(bridged.try_recv(), Ok(1));
    assert_eq!(bridged.len(), 2);
    assert!(!bridged.is_closed());
    drop(tx);
    assert_eq!(bridged.iter().collect::<Vec<_>>(), [2, 3]);
    assert!(bridged.is_closed());
    assert!(format!("{bridged:?}").contains("bridge"));
}

/// A stream reuses one wait state for every receive, across streams.
#[test]
fn as_a_stream() {
    let ctx = Context::background();
    let (streams, feeder) = unbuffered_streams(12, 25);
    let got = collect_stream(&bridge(&ctx, streams));
    feeder.join().unwrap();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
}

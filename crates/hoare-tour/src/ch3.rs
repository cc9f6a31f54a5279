//! Chapter 3, Go's concurrency building blocks: channels.

use std::io::{self, Write};
use std::thread;
use std::time::Duration;

use hoare::chan;
use hoare::chan::{Receiver, TrySendError};

use crate::Example;

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "channel-owner",
            chapter: 3,
            summary:
                "a goroutine owns a channel: makes it, writes, closes, exposes the reading end",
            run: channel_owner,
        },
        Example {
            name: "channel-states",
            chapter: 3,
            summary: "the channel state table, each row from a live operation",
            run: channel_states,
        },
        Example {
            name: "channel-unbuffered",
            chapter: 3,
            summary: "an unbuffered send waits for its receiver; a buffered one does not",
            run: channel_unbuffered,
        },
    ]
}

/// The book's `chanOwner`: the owner makes the channel, writes, and closes it by
/// returning (dropping the sender); the consumer only ever sees a `Receiver`.
fn channel_owner(out: &mut dyn Write) -> io::Result<()> {
    fn chan_owner() -> Receiver<i32> {
        let (results, stream) = chan::<i32>(5);
        thread::spawn(move || {
            for i in 0..=5 {
                // Cannot fail: the consumer holds the receiver until the channel closes.
                let _ = results.send(i);
            }
            // `results` dropped here: the channel closes, as `defer close(resultStream)`.
        });
        stream
    }

    for result in &chan_owner() {
        writeln!(out, "Received: {result}")?;
    }
    writeln!(out, "Done receiving!")
}

/// Prints Go's channel state table, running each operation for real.
fn channel_states(out: &mut dyn Write) -> io::Result<()> {
    const SHORT: Duration = Duration::from_millis(20);
    let mut row =
        |op: &str, state: &str, result: String| writeln!(out, "| {op:<5} | {state:<18} | {result}");
    row("Op", "Channel state", "hoare result".into())?;

    let (nil_tx, nil_rx) = chan::nil::<i32>();
    row(
        "Read",
        "nil",
        format!("blocks (recv_timeout: {:?})", nil_rx.recv_timeout(SHORT)),
    )?;
    let (tx, rx) = chan::<i32>(1);
    tx.send(1).unwrap_or(());
    row("Read", "open and not empty", format!("{:?}", rx.recv()))?;
    row(
        "Read",
        "open and empty",
        format!("blocks (try_recv: {:?})", rx.try_recv()),
    )?;
    tx.close().unwrap_or(());
    row("Read", "closed", format!("{:?}", rx.recv()))?;
    row(
        "Read",
        "write only",
        "compile error: Sender has no recv".into(),
    )?;

    row(
        "Write",
        "nil",
        match nil_tx.send_timeout(1, SHORT) {
            Ok(()) => "sent?!".into(),
            Err(e) => format!(
                "blocks (send_timeout: \"{e}\", value {} returned)",
                e.into_inner()
            ),
        },
    )?;
    let (tx, _rx) = chan::<i32>(1);
    row(
        "Write",
        "open and not full",
        format!("{:?}", tx.try_send(1)),
    )?;
    let full = tx.try_send(2);
    row(
        "Write",
        "open and full",
        format!("blocks (try_send: {})", describe(full)),
    )?;
    tx.close().unwrap_or(());
    row(
        "Write",
        "closed",
        format!(
            "Err: {} (Go panics)",
            describe(tx.send(3).map_err(TrySendError::from))
        ),
    )?;
    row(
        "Write",
        "receive only",
        "compile error: Receiver has no send".into(),
    )?;

    row("Close", "nil", format!("{:?} (Go panics)", nil_tx.close()))?;
    let (tx, rx2) = chan::<i32>(2);
    tx.send(1).unwrap_or(());
    let closed = tx.close();
    let drained: Vec<i32> = rx2.iter().collect();
    row(
        "Close",
        "open and not empty",
        format!("{closed:?}; reads {drained:?}, then {:?}", rx2.recv()),
    )?;
    let (tx, rx3) = chan::<i32>(0);
    row(
        "Close",
        "open and empty",
        format!("{:?}; read {:?}", tx.close(), rx3.recv()),
    )?;
    row("Close", "closed", format!("{:?} (Go panics)", tx.close()))?;
    row(
        "Close",
        "receive only",
        "compile error: Receiver has no close".into(),
    )?;
    Ok(())
}

/// An unbuffered send completes only when a receiver takes the value.
fn channel_unbuffered(out: &mut dyn Write) -> io::Result<()> {
    let (tx, rx) = chan::<&str>(0);
    let (done_tx, done_rx) = chan::<()>(0);
    let sender = thread::spawn(move || {
        tx.send("hello").unwrap_or(());
        done_tx.send(()).unwrap_or(());
    });
    writeln!(
        out,
        "unbuffered: sender finished before anyone received? {}",
        done_rx.recv_timeout(Duration::from_millis(50)).is_ok()
    )?;
    writeln!(out, "receiver got {:?}", rx.recv())?;
    done_rx.recv();
    sender.join().unwrap_or(());

    let (tx, rx) = chan::<&str>(1);
    tx.send("buffered").unwrap_or(());
    writeln!(
        out,
        "buffered: send returned at once, {} value waiting; got {:?}",
        rx.len(),
        rx.recv()
    )
}

/// A send result as the tour prints it: the error and the value it gave back.
fn describe(r: Result<(), TrySendError<i32>>) -> String {
    match r {
        Ok(()) => "Ok(())".into(),
        Err(e) => format!("\"{e}\", value {} returned", e.into_inner()),
    }
}

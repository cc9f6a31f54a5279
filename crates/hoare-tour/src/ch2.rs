//! Chapter 2: channels or mutexes? The book's decision tree, one example of each
//! branch.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use hoare::chan;
use hoare::sync::WaitGroup;

use crate::Example;

pub fn examples() -> Vec<Example> {
    vec![Example {
        name: "mutex-or-channel",
        chapter: 2,
        summary: "guarding a struct's state: a mutex; handing data over: a channel",
        run: mutex_or_channel,
    }]
}

/// The book's `Counter` (internal state: a mutex), then a producer handing its
/// results to a consumer (ownership transfer: a channel).
fn mutex_or_channel(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Are you trying to guard internal state of a struct? Use a mutex:"
    )?;
    #[derive(Default)]
    struct Counter {
        value: Mutex<u64>,
    }
    impl Counter {
        fn increment(&self) {
            *self.value.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }
    let counter = Arc::new(Counter::default());
    let wg = WaitGroup::new();
    for _ in 0..4 {
        let counter = counter.clone();
        drop(wg.go(move || (0..1000).for_each(|_| counter.increment())));
    }
    wg.wait();
    let value = *counter.value.lock().unwrap_or_else(|p| p.into_inner());
    writeln!(out, "  4 goroutines x 1000 increments: value = {value}")?;

    writeln!(
        out,
        "Are you trying to transfer ownership of data? Use a channel:"
    )?;
    let (results, rx) = chan::<Vec<u64>>(2); // a buffered channel: a cheap queue
    drop(wg.go(move || {
        for batch in 0..3u64 {
            let data: Vec<u64> = (batch * 3..batch * 3 + 3).collect();
            // Sending moves the vector: the producer cannot touch it afterwards.
            if results.send(data).is_err() {
                return;
            }
        }
    }));
    for data in &rx {
        writeln!(out, "  consumer now owns {data:?}")?;
    }
    Ok(())
}

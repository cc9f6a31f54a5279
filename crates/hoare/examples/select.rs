//! `select!` in threads and `select_async!` in tasks: a worker that takes jobs until
//! told to quit, reports progress on a ticker, and gives up on a silent channel
//! after a timeout.
//!
//! Run with `cargo run -p hoare --example select`.

use std::thread;
use std::time::Duration;

use hoare::{chan, select, select_async, time};

fn main() {
    let (jobs, job_rx) = chan::<u32>(4);
    let (quit, quit_rx) = chan::<()>(0);

    // A thread worker: jobs, a progress ticker, and a quit signal in one select.
    let worker = thread::spawn(move || {
        let ticker = time::tick(Duration::from_millis(5));
        let mut done = 0;
        loop {
            select! {
                recv(&job_rx) -> job => match job {
                    Some(n) => done += n,
                    None => break,
                },
                recv(&ticker) -> _ => println!("worker: {done} so far"),
                recv(&quit_rx) -> _ => break,
            }
        }
        done
    });
    for n in 1..=10 {
        jobs.send(n).unwrap();
    }
    drop(jobs); // closing the job channel ends the worker's loop
    println!("worker finished with {}", worker.join().unwrap());
    drop(quit);

    // A task: a timeout on a channel nobody sends on.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_silent_tx, silent) = chan::<u32>(0);
        let outcome = select_async! {
            recv(&silent) -> v => format!("got {v:?}"),
            recv(time::after(Duration::from_millis(20))) -> _ => "timed out".to_string(),
        };
        println!("task: {outcome}");
    });
}

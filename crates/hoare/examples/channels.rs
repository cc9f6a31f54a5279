//! Channels between threads and tasks: an async producer feeds a pool of worker
//! threads over an unbuffered channel; the workers send results back over a buffered
//! one, which the producer's task reads as a stream.
//!
//! Run with `cargo run -p hoare --example channels`.

use futures_util::StreamExt;
use hoare::chan;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (jobs, job_rx) = chan::<u64>(0);
    let (results, result_rx) = chan::<(u64, u64)>(16);

    // Three worker threads share one receiver: each job goes to exactly one of them.
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (job_rx, results) = (job_rx.clone(), results.clone());
            std::thread::spawn(move || {
                for n in &job_rx {
                    let _ = results.send((n, n * n));
                }
            })
        })
        .collect();
    drop((job_rx, results)); // only the workers hold these now

    // The task sends the jobs; each send waits for a worker to take the job.
    for n in 1..=6 {
        jobs.send_async(n).await.expect("the workers are alive");
    }
    jobs.close().expect("closed once"); // the workers' loops end

    // The results end when the last worker drops its sender.
    let mut squares: Vec<(u64, u64)> = result_rx.stream().collect().await;
    squares.sort();
    for (n, sq) in &squares {
        println!("{n}² = {sq}");
    }
    for w in workers {
        w.join().expect("worker panicked");
    }
}

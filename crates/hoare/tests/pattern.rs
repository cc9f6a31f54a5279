//! The chapter-4 examples of the seed notes, written with `hoare::pattern`, each
//! asserting the output the book shows, plus the patterns' bad-input cases. Every
//! test ends with `leak::verify_none()`: no pattern leaves a goroutine behind.
//!
//! The leak check counts every goroutine of the process, so these tests run one
//! at a time.

use std::time::Duration;

use hoare::chan::{self, TryRecvError};
use hoare::context::Context;
use hoare::pattern::{self, Pipeline, PipelineError};
use hoare::{leak, time};

mod common;
use common::{one_at_a_time, paused};

/// The book's channel pipeline: generator → multiply(2) → add(1) → multiply(2)
/// over 1, 2, 3, 4 prints 6, 10, 14, 18.
#[test]
fn channel_pipeline_gives_6_10_14_18() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    let p = Pipeline::new(&ctx, [1, 2, 3, 4])
        .stage("multiply", 1, |v: i32| v * 2)
        .stage("add", 1, |v| v + 1)
        .stage("multiply", 1, |v| v * 2);
    let got: Vec<i32> = p.output().into_iter().map(Result::unwrap).collect();
    assert_eq!(got, [6, 10, 14, 18]);
    let names: Vec<_> = p
        .stats()
        .into_iter()
        .map(|s| (s.name, s.items_out))
        .collect();
    assert_eq!(
        names,
        [
            ("multiply".to_string(), 4),
            ("add".to_string(), 4),
            ("multiply".to_string(), 4)
        ]
    );
    drop(cancel);
    leak::verify_none();
}

/// The or-channel over sig(2h), sig(5m), sig(1s), sig(1h), sig(1m) returns
/// after about one second (on tokio's paused clock).
#[test]
fn or_channel_returns_after_the_first_signal() {
    let took = paused(async {
        let start = tokio::time::Instant::now();
        let sig = |d: Duration| time::after(d);
        let done = pattern::or([
            sig(Duration::from_secs(2 * 3600)),
            sig(Duration::from_secs(5 * 60)),
            sig(Duration::from_secs(1)),
            sig(Duration::from_secs(3600)),
            sig(Duration::from_secs(60)),
        ]);
        assert_eq!(done.recv_async().await, None, "fires by closing");
        start.elapsed()
    });
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "done after {took:?}"
    );
}

/// An `or` of nothing never fires (the book returns a nil channel).
#[test]
fn or_of_no_signals_never_fires() {
    let _serial = one_at_a_time();
    let never = pattern::or(Vec::<chan::Receiver<()>>::new());
    assert_eq!(never.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(never.recv_timeout(Duration::from_millis(5)).ok(), None);
    leak::verify_none();
}

/// or-done: a plain loop over the adapter ends when the context is cancelled,
/// although the channel it reads is still open.
#[test]
fn or_done_ends_the_loop_on_cancel() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, my_chan) = chan::chan::<u32>(0);
    let producer = std::thread::spawn(move || {
        let mut sent = 0;
        while tx.send(sent).is_ok() {
            sent += 1;
        }
        sent
    });
    let mut seen = Vec::new();
    for v in pattern::or_done(&ctx, my_chan) {
        seen.push(v);
        if seen.len() == 3 {
            cancel.cancel();
        }
    }
    assert_eq!(&seen[..3], [0, 1, 2]);
    assert!(seen.len() <= 4, "at most one value in flight after cancel");
    leak::verify_none(); // the adapter dropped its receiver, so the producer ends
    assert!(producer.join().unwrap() >= 3);
}

/// The book's tee over take(repeat(1, 2), 4): pairs (1,1), (2,2), (1,1), (2,2).
#[test]
fn tee_of_take_of_repeat_gives_pairs() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    let (out1, out2) = pattern::tee(&ctx, pattern::take(&ctx, pattern::repeat(&ctx, [1, 2]), 4));
    let pairs: Vec<(i32, Option<i32>)> = out1.iter().map(|v1| (v1, out2.recv())).collect();
    assert_eq!(
        pairs,
        [(1, Some(1)), (2, Some(2)), (1, Some(1)), (2, Some(2))]
    );
    assert_eq!(out2.recv(), None);
    cancel.cancel(); // stops the endless repeat
    leak::verify_none();
}

/// The book's bridge over genVals: 0 1 2 … 9, in order.
#[test]
fn bridge_over_gen_vals_gives_0_to_9_in_order() {
    let _serial = one_at_a_time();
    let gen_vals = || {
        let (tx, chan_stream) = chan::chan::<chan::Receiver<i32>>(0);
        std::thread::spawn(move || {
            for i in 0..10 {
                let (stx, stream) = chan::chan(1);
                stx.send(i).unwrap();
                drop(stx); // close(stream)
                tx.send(stream).unwrap();
            }
        });
        chan_stream
    };
    let got: Vec<i32> = pattern::bridge(&Context::background(), gen_vals())
        .into_iter()
        .collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    leak::verify_none();
}

/// The checkStatus loop of the Error Handling section: results carry their
/// errors to the consumer, which stops after three.
#[test]
fn check_status_stops_after_three_errors() {
    let _serial = one_at_a_time();
    // A stand-in for `http.Get` that knows one host.
    fn get(url: &str) -> Result<&'static str, String> {
        if url == "https://www.google.com" {
            Ok("200 OK")
        } else {
            Err(format!("Get \"{url}\": unsupported protocol scheme \"\""))
        }
    }
    let (ctx, cancel) = Context::background().with_cancel();
    let urls = ["a", "https://www.google.com", "b", "c", "d"];
    let check_status = Pipeline::new(&ctx, urls).try_stage("check", 1, get);
    let mut printed = Vec::new();
    let mut err_count = 0;
    for result in check_status.output() {
        match result {
            Err(e) => {
                let PipelineError::Stage { source, .. } = &e else {
                    panic!("unexpected {e}")
                };
                printed.push(format!("error: {source}"));
                err_count += 1;
                if err_count >= 3 {
                    printed.push("Too many errors, breaking!".to_string());
                    break;
                }
            }
            Ok(status) => printed.push(format!("Response: {status}")),
        }
    }
    assert_eq!(
        printed,
        [
            "error: Get \"a\": unsupported protocol scheme \"\"",
            "Response: 200 OK",
            "error: Get \"b\": unsupported protocol scheme \"\"",
            "error: Get \"c\": unsupported protocol scheme \"\"",
            "Too many errors, breaking!",
        ]
    );
    cancel.cancel(); // the book's `defer close(done)`
    leak::verify_none();
}

/// Lexical confinement: only the owner can write to the channel it returns;
/// the consumer prints Received: 0 … 5, then Done receiving!
#[test]
fn lexical_confinement_chan_owner() {
    let _serial = one_at_a_time();
    let chan_owner = || {
        let (results, rx) = chan::chan::<i32>(5);
        drop(hoare::go(async move {
            for i in 0..=5 {
                results.send_async(i).await.unwrap();
            }
        }));
        rx // only the receiving end leaves the owner
    };
    let consumer = |results: chan::Receiver<i32>| {
        let mut lines: Vec<String> = results.iter().map(|r| format!("Received: {r}")).collect();
        lines.push("Done receiving!".to_string());
        lines
    };
    let lines = consumer(chan_owner());
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], "Received: 0");
    assert_eq!(lines[5], "Received: 5");
    assert_eq!(lines[6], "Done receiving!");
    leak::verify_none();
}

/// Ad hoc confinement: by convention only `loop_data` reads `data`; in Rust the
/// convention is enforced by moving `data` into the goroutine.
#[test]
fn ad_hoc_confinement_loop_data() {
    let _serial = one_at_a_time();
    let data = vec![1, 2, 3, 4];
    let (handle_data, rx) = chan::chan::<i32>(0);
    drop(hoare::go_blocking(move || {
        for d in data {
            handle_data.send(d).unwrap();
        }
    }));
    assert_eq!(rx.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
    leak::verify_none();
}

/// newRandStream with a done signal: three random ints, then cancellation ends
/// the generator ("newRandStream closure exited.").
#[test]
fn rand_stream_exits_on_cancel() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    let rand_stream = pattern::repeat_fn(&ctx, fastrand_u64);
    let three: Vec<u64> = (0..3).filter_map(|_| rand_stream.recv()).collect();
    assert_eq!(three.len(), 3);
    cancel.cancel();
    leak::verify_none();
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

/// Fan-out, fan-in: the book's prime finder, its slow stage fanned out to one
/// worker per core, the first ten primes found are primes.
#[test]
fn fan_out_fan_in_prime_finder() {
    let _serial = one_at_a_time();
    fn is_prime(n: u64) -> bool {
        n >= 2 && (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }
    let (ctx, cancel) = Context::background().with_cancel();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let rand_ints = pattern::repeat_fn(&ctx, move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 50_000_000
    });
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let finders = pattern::fan_out(&ctx, rand_ints, cores, |n| is_prime(n).then_some(n));
    assert_eq!(finders.len(), cores);
    let primes: Vec<u64> = pattern::take(
        &ctx,
        pattern::fan_in(&ctx, finders),
        usize::MAX, // all of them; `take` below counts primes only
    )
    .iter()
    .flatten()
    .take(10)
    .collect();
    assert_eq!(primes.len(), 10);
    assert!(primes.iter().all(|&p| is_prime(p)));
    cancel.cancel();
    leak::verify_none();
}

/// Bad input: `take(0)`, `fan_out` with no workers and `fan_in` of nothing give
/// closed (or no) streams at once, and nothing hangs.
#[test]
fn degenerate_arguments_close_at_once() {
    let _serial = one_at_a_time();
    let ctx = Context::background();
    assert_eq!(
        pattern::take(&ctx, pattern::generator(&ctx, [1]), 0).recv(),
        None
    );
    assert!(pattern::fan_out(&ctx, pattern::generator(&ctx, [1]), 0, |v: i32| v).is_empty());
    assert_eq!(
        pattern::fan_in(&ctx, Vec::<chan::Receiver<u8>>::new()).recv(),
        None
    );
    assert_eq!(pattern::repeat(&ctx, Vec::<u8>::new()).recv(), None);
    leak::verify_none();
}

/// A stage closure that panics: its error reaches the consumer as a value, and
/// the pipeline winds down (the output closes, no goroutine is left) although
/// the source is endless.
#[test]
fn a_panicking_stage_becomes_an_error_and_the_pipeline_winds_down() {
    let _serial = one_at_a_time();
    let ctx = Context::background();
    let p = Pipeline::new(&ctx, 0u64..)
        .stage("check", 2, |v: u64| {
            assert!(v != 5, "bad value {v}");
            v
        })
        .stage("pass", 1, |v| v);
    let items: Vec<_> = p.output().into_iter().collect();
    let errors: Vec<_> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{items:?}");
    assert_eq!(
        errors[0].to_string(),
        "stage \"check\" panicked: bad value 5"
    );
    drop(p);
    leak::verify_none();
}

/// Stats: counts per stage and Little's law as an identity of the counters.
#[test]
fn stats_count_every_item_and_obey_littles_law() {
    let _serial = one_at_a_time();
    let ctx = Context::background();
    let p = Pipeline::new(&ctx, 0..1000u32)
        .buffer(8)
        .stage("double", 2, |v| v * 2)
        .try_stage("odd fails", 1, |v: u32| {
            if v % 4 == 0 {
                Ok(v)
            } else {
                Err("not a multiple of 4")
            }
        });
    let (ok, err) = p.output().into_iter().fold((0, 0), |(ok, err), r| {
        if r.is_ok() {
            (ok + 1, err)
        } else {
            (ok, err + 1)
        }
    });
    assert_eq!((ok, err), (500, 500));
    for s in p.stats() {
        assert_eq!((s.items_in, s.items_out), (1000, 1000), "{s}");
        let lambda_w = s.throughput() * s.mean_time_in_stage().as_secs_f64();
        let l = s.mean_occupancy();
        assert!(
            (l - lambda_w).abs() <= 1e-6 + 1e-2 * l,
            "L = {l}, λW = {lambda_w}"
        );
        assert!(l <= s.workers as f64 + 1e-9, "{s}");
    }
    leak::verify_none();
}

/// Cancelling the pipeline's context stops an endless pipeline.
#[test]
fn cancel_stops_an_endless_pipeline() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    let p = Pipeline::new(&ctx, 0u64..).stage("id", 3, |v| v);
    let out = p.output();
    assert!(out.recv().is_some());
    cancel.cancel();
    while out.recv().is_some() {}
    drop((p, out));
    leak::verify_none();
}

/// tee: when one reader leaves, the other still gets every value; and a tee
/// whose readers both stop reading ends when its context is cancelled.
#[test]
fn tee_serves_the_remaining_reader_and_ends_on_cancel() {
    let _serial = one_at_a_time();
    let ctx = Context::background();
    let (a, b) = pattern::tee(&ctx, pattern::generator(&ctx, 0..100));
    drop(b);
    assert_eq!(a.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());

    let (ctx, cancel) = Context::background().with_cancel();
    let (a, b) = pattern::tee(&ctx, pattern::repeat(&ctx, [1]));
    assert_eq!(a.recv(), Some(1)); // the tee now waits for `b` to take its copy
    cancel.cancel();
    while a.recv().is_some() {}
    assert!(b.iter().count() <= 1);
    leak::verify_none();
}

/// Every pattern that runs goroutines ends them once its context is cancelled,
/// whether they wait on their input (its sender is alive but silent) or on their
/// output (nobody reads it, but the receiver is still held).
#[test]
fn goroutines_end_on_cancel_wherever_they_wait() {
    let _serial = one_at_a_time();
    let (ctx, cancel) = Context::background().with_cancel();
    // Waiting on input: the senders stay alive, the receivers are held.
    let (silent_tx, silent) = chan::chan::<u64>(0);
    let (streams_tx, streams) = chan::chan::<chan::Receiver<u64>>(0);
    let waiting_on_input = (
        pattern::take(&ctx, silent.clone(), 3),
        pattern::tee(&ctx, silent.clone()),
        pattern::bridge(&ctx, streams),
        pattern::fan_out(&ctx, silent.clone(), 2, |v| v),
        Pipeline::from_receiver(&ctx, silent).stage("id", 2, |v| v),
    );
    // Waiting on output: each output gives one value (so its goroutines run),
    // then nobody takes the next.
    let take = pattern::take(&ctx, pattern::repeat(&ctx, [1u64]), 3);
    let (tee_a, tee_b) = pattern::tee(&ctx, pattern::repeat(&ctx, [1u64]));
    let bridged = pattern::bridge(
        &ctx,
        pattern::generator(&ctx, [pattern::repeat(&ctx, [1u64])]),
    );
    let fanned = pattern::fan_out(&ctx, pattern::repeat(&ctx, [1u64]), 2, |v| v);
    let p = Pipeline::new(&ctx, 0u64..).stage("id", 2, |v| v);
    for rx in [&take, &tee_a, &tee_b, &bridged, &fanned[0], &fanned[1]] {
        assert_eq!(rx.recv(), Some(1));
    }
    assert!(p.output().recv().unwrap().is_ok());
    let waiting_on_output = (take, tee_a, tee_b, bridged, fanned, p);
    cancel.cancel();
    leak::verify_none();
    drop((silent_tx, streams_tx, waiting_on_input, waiting_on_output));
}

/// A goroutine waiting to hand over a value ends when its context's deadline
/// passes, though nobody cancels and its reader is still there (paused clock).
#[test]
fn goroutines_end_at_the_deadline() {
    paused(async {
        let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(1));
        let ones = pattern::repeat(&ctx, [1]);
        assert_eq!(ones.recv_async().await, Some(1));
        // The repeat now waits to hand over the next 1; at the deadline it ends.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(ones.recv_async().await, None, "the stream closed");
    });
}

//! Port of Go's test/chan/sieve1.go: the concurrent prime sieve. A generator sends
//! 2, 3, 4, ... down a chain of filters, one per prime found so far; the first 25
//! primes (those below 100) must come out in order.
//!
//! Adapted:
//! - Goroutines are threads (and, in a second test, tokio tasks), on unbuffered
//!   hoare channels as in Go.
//! - Go's program simply exits with the generator and filters still blocked. In
//!   hoare a send whose receivers are all gone fails, so when the test drops its
//!   receiver the whole chain shuts down (sieve, then each filter, then the
//!   generator), and the test joins every thread/task: the sieve must not leak.

use std::thread;

use hoare::chan::{self, Receiver, Sender};

const PRIMES: [u64; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// Sends 2, 3, 4, ... to `ch` until nobody receives.
fn generate(ch: Sender<u64>) {
    for i in 2.. {
        if ch.send(i).is_err() {
            return;
        }
    }
}

/// Copies `inp` to `out`, removing multiples of `prime`, until nobody receives.
fn filter(inp: Receiver<u64>, out: Sender<u64>, prime: u64) {
    for i in &inp {
        if i % prime != 0 && out.send(i).is_err() {
            return;
        }
    }
}

/// Daisy-chains filters; returns the handles of everything it started.
fn sieve(primes: Sender<u64>) -> Vec<thread::JoinHandle<()>> {
    let (tx, mut ch) = chan::chan::<u64>(0);
    let mut started = vec![thread::spawn(move || generate(tx))];
    loop {
        let prime = ch.recv().expect("the generator never stops on its own");
        if primes.send(prime).is_err() {
            return started; // dropping `ch` stops the last filter, and so on
        }
        let (tx1, ch1) = chan::chan::<u64>(0);
        started.push(thread::spawn(move || filter(ch, tx1, prime)));
        ch = ch1;
    }
}

#[test]
fn sieve1_threads() {
    let (primes_tx, primes) = chan::chan::<u64>(0);
    let sieve = thread::spawn(move || sieve(primes_tx));
    for want in PRIMES {
        assert_eq!(primes.recv(), Some(want));
    }
    drop(primes);
    for h in sieve.join().unwrap() {
        h.join().unwrap();
    }
}

async fn generate_async(ch: Sender<u64>) {
    for i in 2.. {
        if ch.send_async(i).await.is_err() {
            return;
        }
    }
}

async fn filter_async(inp: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Some(i) = inp.recv_async().await {
        if i % prime != 0 && out.send_async(i).await.is_err() {
            return;
        }
    }
}

async fn sieve_async(primes: Sender<u64>) -> Vec<tokio::task::JoinHandle<()>> {
    let (tx, mut ch) = chan::chan::<u64>(0);
    let mut started = vec![tokio::spawn(generate_async(tx))];
    loop {
        let prime = ch.recv_async().await.expect("the generator never stops");
        if primes.send_async(prime).await.is_err() {
            return started;
        }
        let (tx1, ch1) = chan::chan::<u64>(0);
        started.push(tokio::spawn(filter_async(ch, tx1, prime)));
        ch = ch1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sieve1_tasks() {
    let (primes_tx, primes) = chan::chan::<u64>(0);
    let sieve = tokio::spawn(sieve_async(primes_tx));
    for want in PRIMES {
        assert_eq!(primes.recv_async().await, Some(want));
    }
    drop(primes);
    for t in sieve.await.unwrap() {
        t.await.unwrap();
    }
}

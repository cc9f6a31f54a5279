//! Ports of x/time/rate's `rate_test.go` (the `Allow`, `Reserve`, `Cancel`,
//! `SetLimit`/`SetBurst` and zero/infinite-limit cases), with explicit instants; a
//! differential test against a direct transcription of x/time/rate's algorithm; and
//! the limiter's answers to bad input.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hoare::rate::{per, Limit, Limiter, MultiLimiter, RateLimiter, Reservation, WaitError};

const D: Duration = Duration::from_millis(100);

/// `t0 + i·d`, as the Go test's `t0`..`t9`.
fn at(t0: Instant, i: u32) -> Instant {
    t0 + D * i
}

/// One step of the Go test's `run`: the tokens at `t`, then `AllowN(t, n)`.
struct Allow {
    t: u32,
    toks: f64,
    n: usize,
    ok: bool,
}

fn run(lim: &Limiter, t0: Instant, steps: &[Allow]) {
    for (i, s) in steps.iter().enumerate() {
        let toks = lim.tokens_at(at(t0, s.t));
        assert_eq!(toks, s.toks, "step {i}: tokens_at(t{})", s.t);
        let ok = lim.allow_n(at(t0, s.t), s.n);
        assert_eq!(ok, s.ok, "step {i}: allow_n(t{}, {})", s.t, s.n);
    }
}

fn a(t: u32, toks: f64, n: usize, ok: bool) -> Allow {
    Allow { t, toks, n, ok }
}

/// The Go test's `dSince`: multiples of d since t0, rounded to the nearest.
fn d_since(t0: Instant, t: Instant) -> i64 {
    let nanos = if t >= t0 {
        (t - t0).as_nanos() as i64
    } else {
        -((t0 - t).as_nanos() as i64)
    };
    let d = D.as_nanos() as i64;
    (nanos + d / 2).div_euclid(d)
}

/// The Go test's `runReserveMax`: reserve `n` at `t`, expect `ok` and, if ok, to act
/// at `act` (in multiples of d).
fn reserve<'a>(
    lim: &'a Limiter,
    t0: Instant,
    t: u32,
    n: usize,
    act: u32,
    ok: bool,
) -> Reservation<'a> {
    let r = lim.reserve_n(at(t0, t), n);
    check(&r, t0, t, n, act, ok);
    r
}

fn check(r: &Reservation<'_>, t0: Instant, t: u32, n: usize, act: u32, ok: bool) {
    assert_eq!(r.ok(), ok, "reserve_n(t{t}, {n}).ok()");
    if ok {
        let got = d_since(t0, r.time_to_act().unwrap());
        assert_eq!(
            got,
            i64::from(act),
            "reserve_n(t{t}, {n}) acts at t{got}, want t{act}"
        );
    } else {
        assert_eq!(r.time_to_act(), None);
        assert_eq!(r.delay_from(at(t0, t)), Duration::MAX);
    }
}

#[test]
fn limit_and_every() {
    assert_eq!(Limit::from(10.0).as_f64(), 10.0);
    for (interval, want) in [
        (Duration::ZERO, f64::INFINITY),
        (Duration::from_nanos(1), 1e9),
        (Duration::from_micros(1), 1e6),
        (Duration::from_millis(1), 1e3),
        (Duration::from_millis(10), 100.0),
        (Duration::from_millis(100), 10.0),
        (Duration::from_secs(1), 1.0),
        (Duration::from_secs(2), 0.5),
        (Duration::from_millis(2500), 0.4),
        (Duration::from_secs(4), 0.25),
        (Duration::from_secs(10), 0.1),
    ] {
        let got = Limit::every(interval).as_f64();
        assert!(
            got == want || (got - want).abs() / want < 1e-9,
            "every({interval:?}) = {got}, want {want}"
        );
    }
    assert_eq!(per(2, Duration::from_secs(1)), Limit::from(2.0));
    assert_eq!(
        per(10, Duration::from_secs(60)),
        Limit::every(Duration::from_secs(6))
    );
}

#[test]
fn burst_1() {
    let t0 = Instant::now();
    run(
        &Limiter::new(10.0.into(), 1),
        t0,
        &[
            a(0, 1.0, 1, true),
            a(0, 0.0, 1, false),
            a(0, 0.0, 1, false),
            a(1, 1.0, 1, true),
            a(1, 0.0, 1, false),
            a(1, 0.0, 1, false),
            a(2, 1.0, 2, false), // burst size is 1, so n=2 always fails
            a(2, 1.0, 1, true),
            a(2, 0.0, 1, false),
        ],
    );
}

#[test]
fn burst_3() {
    let t0 = Instant::now();
    run(
        &Limiter::new(10.0.into(), 3),
        t0,
        &[
            a(0, 3.0, 2, true),
            a(0, 1.0, 2, false),
            a(0, 1.0, 1, true),
            a(0, 0.0, 1, false),
            a(1, 1.0, 4, false),
            a(2, 2.0, 1, true),
            a(3, 2.0, 1, true),
            a(4, 2.0, 1, true),
            a(4, 1.0, 1, true),
            a(4, 0.0, 1, false),
            a(4, 0.0, 1, false),
            a(9, 3.0, 3, true),
            a(9, 0.0, 0, true),
        ],
    );
}

#[test]
fn jump_backwards() {
    let t0 = Instant::now();
    run(
        &Limiter::new(10.0.into(), 3),
        t0,
        &[
            a(1, 3.0, 1, true), // start at t1
            a(0, 2.0, 1, true), // jump back to t0, two tokens remain
            a(0, 1.0, 1, true),
            a(0, 0.0, 1, false),
            a(0, 0.0, 1, false),
            a(1, 1.0, 1, true), // got a token
            a(1, 0.0, 1, false),
            a(1, 0.0, 1, false),
            a(2, 1.0, 1, true), // got another token
            a(2, 0.0, 1, false),
            a(2, 0.0, 1, false),
        ],
    );
}

/// golang.org/issues/34861: no truncation error for a limit that is not a round
/// number.
#[test]
fn no_truncation_errors() {
    assert!(Limiter::new(0.769_230_769_230_769_3.into(), 1).allow());
}

#[test]
fn simultaneous_requests() {
    const BURST: usize = 5;
    const REQUESTS: usize = 15;
    let lim = Arc::new(Limiter::new(1.0.into(), BURST)); // very slow refill
    let allowed = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(REQUESTS));
    let threads: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let (lim, allowed, start) = (lim.clone(), allowed.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                if lim.allow() {
                    allowed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(allowed.load(Ordering::Relaxed), BURST);
}

#[test]
fn long_running_qps() {
    const LIMIT: f64 = 100.0;
    const BURST: usize = 100;
    let lim = Limiter::new(LIMIT.into(), BURST);
    let start = Instant::now();
    let end = start + Duration::from_secs(5);
    let mut now = start;
    let mut allowed = 0;
    while now < end {
        if lim.allow_n(now, 1) {
            allowed += 1;
        }
        now += Duration::from_millis(2); // offers ~500 requests per second
    }
    let elapsed = (now - start).as_secs_f64();
    let ideal = BURST as f64 + LIMIT * elapsed;
    assert!(
        allowed <= (ideal + 1.0) as i32,
        "allowed {allowed}, ideal {ideal}"
    );
    assert!(
        allowed >= (0.999 * ideal) as i32,
        "allowed {allowed}, ideal {ideal}"
    );
}

#[test]
fn simple_reserve() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    reserve(&lim, t0, 0, 2, 2, true);
    reserve(&lim, t0, 3, 2, 4, true);
}

#[test]
fn mix() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 3, 1, false); // n > burst
    reserve(&lim, t0, 0, 2, 0, true);
    run(&lim, t0, &[a(1, 1.0, 2, false)]); // not enough tokens
    reserve(&lim, t0, 1, 2, 2, true);
    run(&lim, t0, &[a(1, -1.0, 1, false)]); // negative tokens
    run(&lim, t0, &[a(3, 1.0, 1, true)]);
}

#[test]
fn cancel_invalid() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 3, 3, false);
    r.cancel_at(at(t0, 0)); // no effect
    reserve(&lim, t0, 0, 2, 2, true); // no extra tokens
}

#[test]
fn cancel_last() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 2, 2, true);
    r.cancel_at(at(t0, 1)); // 2 tokens back
    reserve(&lim, t0, 1, 2, 2, true);
}

#[test]
fn cancel_too_late() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 2, 2, true);
    r.cancel_at(at(t0, 3)); // too late: no effect
    reserve(&lim, t0, 3, 2, 4, true);
}

#[test]
fn cancel_0_tokens() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 1, 1, true);
    reserve(&lim, t0, 0, 1, 2, true);
    r.cancel_at(at(t0, 0)); // 0 tokens back
    reserve(&lim, t0, 0, 1, 3, true);
}

#[test]
fn cancel_1_token() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 2, 2, true);
    reserve(&lim, t0, 0, 1, 3, true);
    r.cancel_at(at(t0, 2)); // 1 token back
    reserve(&lim, t0, 2, 2, 4, true);
}

#[test]
fn cancel_multi() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 4);
    reserve(&lim, t0, 0, 4, 0, true);
    let ra = reserve(&lim, t0, 0, 3, 3, true);
    reserve(&lim, t0, 0, 1, 4, true);
    let rc = reserve(&lim, t0, 0, 1, 5, true);
    rc.cancel_at(at(t0, 1)); // 1 token back
    ra.cancel_at(at(t0, 1)); // 2 tokens back, as if C was never reserved
    reserve(&lim, t0, 1, 3, 5, true);
}

#[test]
fn reserve_jump_back() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 1, 2, 1, true); // start at t1
    reserve(&lim, t0, 0, 1, 1, true); // should violate Limit, Burst
    reserve(&lim, t0, 2, 2, 3, true);
    // n above the burst fails and changes nothing
    reserve(&lim, t0, 0, 3, 0, false);
    reserve(&lim, t0, 2, 1, 4, true);
}

#[test]
fn reserve_jump_back_cancel() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 2);
    reserve(&lim, t0, 1, 2, 1, true); // start at t1
    let r = reserve(&lim, t0, 1, 2, 3, true);
    reserve(&lim, t0, 1, 1, 4, true);
    r.cancel_at(at(t0, 0)); // cancel at t0, 1 token back
    reserve(&lim, t0, 1, 2, 4, true); // should violate Limit, Burst
}

#[test]
fn reserve_set_limit() {
    let t0 = Instant::now();
    let lim = Limiter::new(5.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    reserve(&lim, t0, 0, 2, 4, true);
    lim.set_limit_at(at(t0, 2), 10.0.into());
    reserve(&lim, t0, 2, 1, 4, true); // violates Limit and Burst
}

#[test]
fn reserve_set_burst() {
    let t0 = Instant::now();
    let lim = Limiter::new(5.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    reserve(&lim, t0, 0, 2, 4, true);
    lim.set_burst_at(at(t0, 3), 4);
    reserve(&lim, t0, 0, 4, 9, true); // violates Limit and Burst
}

#[test]
fn reserve_set_limit_cancel() {
    let t0 = Instant::now();
    let lim = Limiter::new(5.0.into(), 2);
    reserve(&lim, t0, 0, 2, 0, true);
    let r = reserve(&lim, t0, 0, 2, 4, true);
    lim.set_limit_at(at(t0, 2), 10.0.into());
    r.cancel_at(at(t0, 2)); // 2 tokens back
    reserve(&lim, t0, 2, 2, 3, true);
}

#[test]
fn zero_limit() {
    let lim = Limiter::new(Limit::ZERO, 1);
    assert!(lim.allow(), "the initial burst");
    assert!(!lim.allow(), "no refill");
}

#[test]
fn infinite_limit_ignores_the_burst() {
    let lim = Limiter::new(Limit::INF, 0);
    let t0 = Instant::now();
    assert!(lim.allow_n(t0, 1_000_000));
    assert_eq!(lim.reserve_n(t0, 3).delay_from(t0), Duration::ZERO);
}

#[test]
fn set_limit_to_and_from_infinity() {
    let t0 = Instant::now();
    let lim = Limiter::new(10.0.into(), 1);
    assert!(lim.allow_n(t0, 1));
    assert!(!lim.allow_n(t0, 1));
    lim.set_limit_at(t0, Limit::INF);
    assert!(lim.allow_n(t0, 5));
    lim.set_limit_at(t0, 10.0.into());
    // Back from infinity the bucket is full (x/time/rate 0.3 computes 0 * Inf =
    // NaN tokens there, and allows everything from then on).
    assert_eq!(lim.tokens_at(t0), 1.0);
    assert!(lim.allow_n(t0, 1));
    assert!(!lim.allow_n(t0, 1));
    assert!(lim.allow_n(at(t0, 1), 1));
}

#[test]
fn bad_input_is_defined() {
    let t0 = Instant::now();
    // A burst of zero allows nothing at a finite limit.
    let lim = Limiter::new(10.0.into(), 0);
    assert!(!lim.allow_n(t0, 1));
    assert!(lim.allow_n(t0, 0), "zero events are always allowed");
    // Negative and NaN limits are zero limits: the burst, then nothing.
    for bad in [-1.0, f64::NAN, f64::NEG_INFINITY] {
        let lim = Limiter::new(bad.into(), 1);
        assert_eq!(lim.limit(), Limit::ZERO);
        assert!(lim.allow_n(t0, 1));
        assert!(!lim.allow_n(at(t0, 100), 1));
    }
    // n above the burst: never allowed, reserved or waited for.
    let lim = Limiter::new(10.0.into(), 2);
    assert!(!lim.allow_n(t0, 3));
    assert!(!lim.reserve_n(t0, usize::MAX).ok());
    assert_eq!(
        lim.wait_n(&hoare::context::Context::background(), 3),
        Err(WaitError::ExceedsBurst { n: 3, burst: 2 })
    );
    assert_eq!(lim.tokens_at(t0), 2.0, "the failed calls took nothing");
    // An instant far in the past or future does not overflow.
    let far = t0 + Duration::from_secs(100 * 365 * 24 * 3600);
    assert!(lim.allow_n(far, 2));
    assert!(lim.allow_n(t0, 0));
    // A delay too long for Go's Duration saturates.
    let slow = Limiter::new(1e-300.into(), 2);
    assert_eq!(
        slow.reserve_n(t0, 2).delay_from(t0),
        Duration::from_nanos(i64::MAX as u64)
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Limiter>();
    send_sync::<Limit>();
    send_sync::<Reservation<'static>>();
    send_sync::<MultiLimiter>();
    send_sync::<WaitError>();
    send_sync::<Arc<dyn RateLimiter>>();
}

/// x/time/rate's algorithm transcribed as plainly as possible (a struct under one
/// lock), to check the limiter's fast path against, bit for bit.
mod reference {
    pub const NEVER: i64 = i64::MIN;

    pub struct Lim {
        pub limit: f64,
        pub burst: usize,
        pub tokens: f64,
        pub last: i64,
        pub last_event: i64,
    }

    pub struct Res {
        pub ok: bool,
        pub tokens: usize,
        pub time_to_act: i64,
        pub limit: f64,
    }

    fn seconds(ns: i64) -> f64 {
        (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
    }
    fn tokens_from(limit: f64, ns: i64) -> f64 {
        if limit <= 0.0 {
            0.0
        } else {
            seconds(ns) * limit
        }
    }
    fn duration_from(limit: f64, tokens: f64) -> i64 {
        if limit <= 0.0 {
            i64::MAX
        } else {
            (1e9 * (tokens / limit)) as i64
        }
    }

    impl Lim {
        pub fn new(limit: f64, burst: usize) -> Lim {
            Lim {
                limit,
                burst,
                tokens: 0.0,
                last: NEVER,
                last_event: NEVER,
            }
        }
        pub fn advance(&self, t: i64) -> (i64, f64) {
            let last = self.last.min(t);
            let tokens = self.tokens + tokens_from(self.limit, t.saturating_sub(last));
            (t, tokens.min(self.burst as f64))
        }
        pub fn reserve(&mut self, t: i64, n: usize, max: i64) -> Res {
            if self.limit == f64::INFINITY {
                return Res {
                    ok: true,
                    tokens: n,
                    time_to_act: t,
                    limit: 0.0,
                };
            }
            let (t, tokens) = self.advance(t);
            let tokens = tokens - n as f64;
            let wait = if tokens < 0.0 {
                duration_from(self.limit, -tokens)
            } else {
                0
            };
            let ok = n <= self.burst && wait <= max;
            if !ok {
                return Res {
                    ok,
                    tokens: 0,
                    time_to_act: NEVER,
                    limit: self.limit,
                };
            }
            let time_to_act = t.saturating_add(wait);
            self.last = t;
            self.tokens = tokens;
            self.last_event = time_to_act;
            Res {
                ok,
                tokens: n,
                time_to_act,
                limit: self.limit,
            }
        }
        pub fn cancel(&mut self, r: &Res, t: i64) {
            if !r.ok || self.limit == f64::INFINITY || r.tokens == 0 || r.time_to_act < t {
                return;
            }
            let restore = r.tokens as f64
                - tokens_from(r.limit, self.last_event.saturating_sub(r.time_to_act));
            if restore <= 0.0 {
                return;
            }
            let (t, tokens) = self.advance(t);
            self.last = t;
            self.tokens = (tokens + restore).min(self.burst as f64);
            if r.time_to_act == self.last_event {
                let prev = r
                    .time_to_act
                    .saturating_add(duration_from(r.limit, -(r.tokens as f64)));
                if prev >= t {
                    self.last_event = prev;
                }
            }
        }
        pub fn set(&mut self, t: i64, limit: Option<f64>, burst: Option<usize>) {
            let (t, tokens) = self.advance(t);
            self.last = t;
            self.tokens = tokens;
            if let Some(l) = limit {
                self.limit = l;
            }
            if let Some(b) = burst {
                self.burst = b;
            }
        }
    }
}

/// Random operations at random (mostly increasing) instants, on the limiter and on
/// the reference: every answer and every token count must be the same, to the bit.
#[test]
fn same_answers_as_x_time_rate() {
    let t0 = Instant::now();
    let ns = |t: i64| t0 + Duration::from_nanos(t as u64);
    for seed in 0..if cfg!(miri) { 2 } else { 60 } {
        let mut rng = fastrand::Rng::with_seed(seed);
        let limits = [1.0, 3.0, 10.0, 0.7692307692307693, 1e3, 1e9, 123.456];
        let limit = limits[rng.usize(..limits.len())];
        let burst = rng.usize(1..20);
        let lim = Limiter::new(limit.into(), burst);
        let mut reference = reference::Lim::new(limit, burst);
        let mut t: i64 = 1_000_000_000;
        let mut held: Vec<(Reservation<'_>, reference::Res)> = Vec::new();
        for step in 0..2000 {
            t += match rng.u8(..10) {
                0 => -(rng.i64(0..200_000_000)),
                1..=4 => 0,
                _ => rng.i64(0..(2e9 / limit) as i64 + 2),
            };
            t = t.max(0);
            let n = rng.usize(0..burst + 2);
            let what = format!("seed {seed} step {step} at {t}ns n {n}");
            match rng.u8(..20) {
                0..=9 => {
                    let want = reference.reserve(t, n, 0).ok;
                    assert_eq!(lim.allow_n(ns(t), n), want, "allow_n: {what}");
                }
                10..=14 => {
                    let want = reference.reserve(t, n, i64::MAX);
                    let got = lim.reserve_n(ns(t), n);
                    assert_eq!(got.ok(), want.ok, "reserve_n: {what}");
                    if want.ok {
                        assert_eq!(got.time_to_act(), Some(ns(want.time_to_act)), "{what}");
                        held.push((got, want));
                    }
                }
                15..=16 if !held.is_empty() => {
                    let (r, want) = held.swap_remove(rng.usize(..held.len()));
                    reference.cancel(&want, t);
                    r.cancel_at(ns(t));
                }
                17 => {
                    let l = limits[rng.usize(..limits.len())];
                    reference.set(t, Some(l), None);
                    lim.set_limit_at(ns(t), l.into());
                }
                18 => {
                    let b = rng.usize(1..20);
                    reference.set(t, None, Some(b));
                    lim.set_burst_at(ns(t), b);
                }
                _ => {}
            }
            let (_, want) = reference.advance(t);
            assert_eq!(
                lim.tokens_at(ns(t)).to_bits(),
                want.to_bits(),
                "tokens_at: {what}"
            );
        }
    }
}

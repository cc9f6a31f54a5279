//! The token bucket behind [`Limiter`](super::Limiter): x/time/rate's algorithm,
//! kept exactly (the same `f64` token counts, the same nanosecond arithmetic), with
//! a lock-free fast path for its most common state.
//!
//! # The state
//!
//! x/time/rate's limiter is `(limit, burst, tokens, last, lastEvent)` under a mutex.
//! The bucket keeps those fields in [`Slow`], under `slow`, and adds `word`: one
//! `AtomicU64` that can hold the whole state when it has a common shape, *the
//! bucket holds `burst - k` tokens for a small whole `k`, and the last event was the
//! last update*. That is the state after any reservation made on a bucket that had
//! refilled to full, which is what a limiter that is not at its limit sees on every
//! call. In that state a reservation is a load, a little float arithmetic, and one
//! compare-and-swap, with no lock.
//!
//! `word`'s bits:
//!
//! | bits | field | meaning |
//! |---|---|---|
//! | 63 | `SLOW` | set: the state is in [`Slow`] (under `slow`); the other fields but `gen` mean nothing |
//! | 56..=62 | `gen` | bumped each time a slow operation hands the state back to `word` |
//! | 12..=55 | `off` | `last - base`, in nanoseconds (`base` is in `cfg`) |
//! | 0..=11 | `k` | `tokens = burst - k` |
//!
//! With `SLOW` clear, `lastEvent == last`.
//!
//! # Invariants
//!
//! 1. `cfg` (limit, burst, base) is written only by a thread that holds `slow` and
//!    has set `SLOW` in `word`; it is published by the `Release` store that clears
//!    `SLOW`. So a thread that loaded `word` with `SLOW` clear (`Acquire`) reads the
//!    configuration that goes with it, unless a slow operation has started since,
//!    in which case `word` has changed (it is `SLOW`, or clear again with another
//!    `gen`) and that thread's compare-and-swap fails.
//! 2. `Slow`'s `tokens`, `last` and `last_event` are the truth only while `SLOW` is
//!    set; a slow operation that finds `SLOW` clear first copies `word` into them,
//!    and sets `SLOW` with a compare-and-swap from the very word it copied.
//! 3. Only the fast path changes `word` while `SLOW` is clear, and only with a
//!    compare-and-swap from the word its computation started from, so every update
//!    is computed from the state it replaces: updates are linearizable, as under
//!    x/time/rate's mutex.
//!
//! `gen` has 7 bits: a fast reservation could act on a stale configuration only if
//! it were held up between its load and its compare-and-swap for a multiple of 128
//! configuration hand-backs that all restored the very same word.
//!
//! Anything outside the fast shape (a reservation that has to wait, a denied
//! reservation, a time before `last`, cancel, `set_limit`, `set_burst`, a zero limit)
//! takes `slow` and runs x/time/rate's code on [`Slow`]; it hands the state back to
//! `word` when the result has the fast shape again.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crossbeam_utils::CachePadded;

use super::clock::{self, NEVER};
use super::limit::Limit;
use crate::loom::{lock, AtomicU64, Mutex};

const SLOW: u64 = 1 << 63;
const GEN_SHIFT: u32 = 56;
const GEN_MASK: u64 = 0x7f << GEN_SHIFT;
const OFF_SHIFT: u32 = 12;
/// `off` must be below this (2^44 ns, about 4.9 hours); past it the next update
/// goes through the slow path, which takes a new `base`.
const OFF_LIMIT: u64 = 1 << 44;
const K_MASK: u64 = (1 << OFF_SHIFT) - 1;
/// Bursts above this are not represented in `word` (tokens must be exact in f64).
const BURST_LIMIT: usize = 1 << 53;

/// x/time/rate's fields, the truth while `word` has `SLOW` set.
#[derive(Debug)]
pub(crate) struct Slow {
    pub(crate) limit: Limit,
    pub(crate) burst: usize,
    pub(crate) tokens: f64,
    /// Nanoseconds from the clock's anchor; [`NEVER`] before the first update.
    pub(crate) last: i64,
    pub(crate) last_event: i64,
}

/// The outcome of a reservation: x/time/rate's `Reservation` without its limiter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Reserved {
    pub(crate) ok: bool,
    pub(crate) tokens: usize,
    pub(crate) time_to_act: i64,
    /// The limit when the reservation was made.
    pub(crate) limit: Limit,
}

impl Reserved {
    fn denied(limit: Limit) -> Reserved {
        Reserved {
            ok: false,
            tokens: 0,
            time_to_act: NEVER,
            limit,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Bucket {
    /// The packed state; see the module docs. Alone on its cache line: it is the
    /// only field that every reservation writes.
    word: CachePadded<AtomicU64>,
    /// `cfg`: the limit (`f64` bits), written under `slow` while `SLOW` is set.
    limit: AtomicU64,
    /// `cfg`: the burst, written under `slow` while `SLOW` is set.
    burst: AtomicU64,
    /// `cfg`: the instant `off` counts from (an `i64` of nanoseconds, as bits),
    /// written under `slow` while `SLOW` is set.
    base: AtomicU64,
    /// `cfg`: nanoseconds per token, rounded up with a margin (see `next_k`),
    /// written under `slow` while `SLOW` is set.
    refill_ns: AtomicU64,
    /// x/time/rate's mutex and fields; also serializes every slow operation.
    slow: Mutex<Slow>,
    /// A copy of the clock's anchor, read on every `allow()`: kept in the limiter
    /// itself, next to the configuration, so that reading the clock touches no
    /// other memory (a global would also need its initialization checked).
    anchor: clock::Anchor,
}

impl Bucket {
    pub(crate) fn new(limit: Limit, burst: usize) -> Bucket {
        Bucket {
            // The first update goes through the slow path: a new limiter has no
            // `last` yet (Go's zero time), which `word` cannot express.
            word: CachePadded::new(AtomicU64::new(SLOW)),
            limit: AtomicU64::new(limit.as_f64().to_bits()),
            burst: AtomicU64::new(burst as u64),
            base: AtomicU64::new(0),
            refill_ns: AtomicU64::new(u64::MAX),
            slow: Mutex::new(Slow {
                limit,
                burst,
                tokens: 0.0,
                last: NEVER,
                last_event: NEVER,
            }),
            anchor: clock::anchor().clone(),
        }
    }

    /// Now, on the limiters' clock.
    #[inline]
    pub(crate) fn now(&self) -> i64 {
        clock::now_from(&self.anchor)
    }

    #[inline]
    pub(crate) fn limit(&self) -> Limit {
        // ORDERING: a lone read of a value that is replaced whole; nothing else is
        // read on the strength of it.
        Limit::from(f64::from_bits(self.limit.load(Relaxed)))
    }

    pub(crate) fn burst(&self) -> usize {
        // ORDERING: as in `limit`.
        self.burst.load(Relaxed) as usize
    }

    /// x/time/rate's `reserveN(t, n, maxFutureReserve)`.
    #[inline]
    pub(crate) fn reserve(&self, t: i64, n: usize, max_wait: i64) -> Reserved {
        if let Some(done) = self.reserve_fast(t, n, max_wait) {
            return done;
        }
        // ORDERING: as in `limit`. (`word` never holds the state of an infinite
        // limit, so the fast path needs no such check.)
        if self.limit.load(Relaxed) == f64::INFINITY.to_bits() {
            // As x/time/rate: allowed at once, whatever the burst, and the state is
            // not touched. (Its reservation carries a zero limit.)
            return Reserved {
                ok: true,
                tokens: n,
                time_to_act: t,
                limit: Limit::ZERO,
            };
        }
        self.with_slow(|st| reserve_slow(st, t, n, max_wait))
    }

    /// The lock-free path: `Some` when `word` held the state and the outcome is
    /// decided without the slow path.
    #[inline]
    fn reserve_fast(&self, t: i64, n: usize, max_wait: i64) -> Option<Reserved> {
        let mut word = self.word.load(Acquire);
        loop {
            if word & SLOW != 0 {
                return None;
            }
            // ORDERING: the `Acquire` load (or failed exchange) of `word` above made
            // the configuration published with it visible (invariant 1); a newer
            // one read here means `word` has changed and the exchange below fails.
            let limit = f64::from_bits(self.limit.load(Relaxed));
            let burst = self.burst.load(Relaxed);
            let base = self.base.load(Relaxed) as i64;
            let refill_ns = self.refill_ns.load(Relaxed);
            if n as u64 > burst {
                // x/time/rate: `ok = n <= burst && ...`, and nothing changes.
                return Some(Reserved::denied(Limit::from(limit)));
            }
            if max_wait < 0 {
                // The wait is never negative, so it never fits.
                return Some(Reserved::denied(Limit::from(limit)));
            }
            // `None`: the slow path decides.
            let k = next_k(word, limit, burst, base, refill_ns, t, n)?;
            // `t - base` as a wrapped u64: a negative difference is out of range too.
            let off = t.wrapping_sub(base) as u64;
            if off >= OFF_LIMIT {
                return None;
            }
            let next = (word & GEN_MASK) | off << OFF_SHIFT | k;
            // ORDERING: `AcqRel` keeps this update in the release sequence of the
            // store that published the configuration, and orders it with the
            // previous update; `Acquire` on failure, as for the load above.
            match self.word.compare_exchange_weak(word, next, AcqRel, Acquire) {
                Ok(_) => {
                    return Some(Reserved {
                        ok: true,
                        tokens: n,
                        time_to_act: t,
                        limit: Limit::from(limit),
                    })
                }
                Err(now) => word = now,
            }
        }
    }

    /// Runs `f` on x/time/rate's fields under the mutex, having taken the state out
    /// of `word`; then hands it back to `word` if it has the fast shape.
    pub(crate) fn with_slow<R>(&self, f: impl FnOnce(&mut Slow) -> R) -> R {
        let mut st = lock(&self.slow);
        let mut word = self.word.load(Acquire);
        while word & SLOW == 0 {
            // Invariant 2: copy the word, then claim it with an exchange from it.
            let base = self.base.load(Relaxed) as i64;
            st.last = base.saturating_add(((word & !GEN_MASK) >> OFF_SHIFT) as i64);
            st.tokens = st.burst as f64 - (word & K_MASK) as f64;
            st.last_event = st.last;
            // ORDERING: `Acquire` pairs with the fast path's `AcqRel` exchanges, so
            // the state copied is the one replaced; `Release` is not needed since
            // nothing but the flag is published.
            match self
                .word
                .compare_exchange(word, (word & GEN_MASK) | SLOW, Acquire, Acquire)
            {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        let out = f(&mut st);
        self.hand_back(&st, word & GEN_MASK);
        out
    }

    /// Publishes the configuration, and the state too when `word` can hold it.
    fn hand_back(&self, st: &Slow, gen: u64) {
        // ORDERING: these stores happen while `SLOW` is set; the `Release` store
        // below publishes them with the state (invariant 1). A store that stays
        // `SLOW` publishes nothing: readers then go through the mutex.
        self.limit.store(st.limit.as_f64().to_bits(), Relaxed);
        self.burst.store(st.burst as u64, Relaxed);
        let limit = st.limit.as_f64();
        let fast_config = limit > 0.0 && limit.is_finite() && st.burst <= BURST_LIMIT;
        // `base` (= `last`) within ±2^62 keeps the fast path's arithmetic exact.
        let base_fits = st.last.unsigned_abs() < 1 << 62;
        if !fast_config || !base_fits || st.last_event != st.last {
            return;
        }
        let k = st.burst as f64 - st.tokens;
        if !(0.0..=K_MASK as f64).contains(&k)
            || k.fract() != 0.0
            || st.burst as f64 - k != st.tokens
        {
            return;
        }
        self.base.store(st.last as u64, Relaxed);
        self.refill_ns.store(refill_ns(limit), Relaxed);
        let gen = (gen + (1 << GEN_SHIFT)) & GEN_MASK;
        self.word.store(gen | k as u64, Release);
    }

    /// x/time/rate's `TokensAt(t)`.
    pub(crate) fn tokens_at(&self, t: i64) -> f64 {
        let st = lock(&self.slow);
        // The configuration cannot change while `slow` is held; read one word.
        let word = self.word.load(Acquire);
        if word & SLOW != 0 {
            return advance(&st, t).1;
        }
        let base = self.base.load(Relaxed) as i64;
        let view = Slow {
            limit: st.limit,
            burst: st.burst,
            tokens: st.burst as f64 - (word & K_MASK) as f64,
            last: base.saturating_add(((word & !GEN_MASK) >> OFF_SHIFT) as i64),
            last_event: NEVER,
        };
        advance(&view, t).1
    }
}

/// The fast path's arithmetic: x/time/rate's `advance(t)` and `tokens -= n` on the
/// state in `word` (`tokens = burst - k`, `last = base + off`), returning the `k` of
/// the result, or `None` when the result must wait or has no fast shape.
///
/// Two common cases skip the float arithmetic, with the same result:
/// - refilled: when `elapsed >= k · refill_ns`, the tokens accrued (`elapsed · limit`,
///   rounded) are at least `k`, since `refill_ns` exceeds the time per token by a
///   margin (10^-8) far above the rounding errors (10^-16) of either computation; then
///   x/time/rate's `tokens` is `burst` exactly (`(burst - k) + x >= burst` for any
///   `x >= k`, rounding being monotonic), so the result is `burst - n`;
/// - `t` at or before `last`: nothing accrues, so the result is `burst - (k + n)`.
#[inline]
fn next_k(
    word: u64,
    limit: f64,
    burst: u64,
    base: i64,
    refill_ns: u64,
    t: i64,
    n: usize,
) -> Option<u64> {
    let k = word & K_MASK;
    let n = n as u64;
    // No overflow: `base` is within ±2^62 and `off` below 2^44.
    let last = base + ((word & !GEN_MASK) >> OFF_SHIFT) as i64;
    // `t - min(last, t)` is in [0, 2^64): exact as a wrapped u64.
    let elapsed = t.wrapping_sub(last.min(t)) as u64;
    let refilled = elapsed >= k.saturating_mul(refill_ns);
    let next = if refilled {
        n
    } else if elapsed == 0 {
        k + n
    } else {
        // The general case, computed as x/time/rate does.
        let burst_tokens = burst as f64;
        let elapsed = i64::try_from(elapsed).unwrap_or(i64::MAX); // Go's Duration saturates
        let tokens = ((burst_tokens - k as f64) + Limit::from(limit).tokens_from_nanos(elapsed))
            .min(burst_tokens);
        let after = tokens - n as f64;
        let next = burst_tokens - after;
        let whole = next as u64;
        if after < 0.0 || whole as f64 != next || burst_tokens - whole as f64 != after {
            return None;
        }
        whole
    };
    (next <= K_MASK && next <= burst).then_some(next)
}

/// Nanoseconds per token at `limit` (finite, positive), rounded up after adding a
/// relative margin of 10^-8; `u64::MAX` if that does not fit.
fn refill_ns(limit: f64) -> u64 {
    let ns = (1e9 / limit * (1.0 + 1e-8)).ceil();
    if ns < u64::MAX as f64 {
        ns as u64
    } else {
        u64::MAX
    }
}

/// x/time/rate's `advance`: the time and the tokens at `t`, without changing `st`.
/// A `t` before `last` accrues nothing (and becomes the new `last` when stored).
pub(crate) fn advance(st: &Slow, t: i64) -> (i64, f64) {
    let last = st.last.min(t);
    let elapsed = clock::sub(t, last);
    let tokens = st.tokens + st.limit.tokens_from_nanos(elapsed);
    (t, tokens.min(st.burst as f64))
}

/// x/time/rate's `reserveN` under its mutex.
pub(crate) fn reserve_slow(st: &mut Slow, t: i64, n: usize, max_wait: i64) -> Reserved {
    if st.limit.is_inf() {
        return Reserved {
            ok: true,
            tokens: n,
            time_to_act: t,
            limit: Limit::ZERO,
        };
    }
    if st.limit.as_f64() == 0.0 {
        // x/time/rate: with no refill, the burst itself is spent.
        let ok = st.burst >= n;
        if ok {
            st.burst -= n;
        }
        return Reserved {
            ok,
            tokens: st.burst,
            time_to_act: t,
            limit: Limit::ZERO,
        };
    }
    let (t, tokens) = advance(st, t);
    let tokens = tokens - n as f64;
    let wait = if tokens < 0.0 {
        st.limit.nanos_from_tokens(-tokens)
    } else {
        0
    };
    if n > st.burst || wait > max_wait {
        return Reserved::denied(st.limit);
    }
    let time_to_act = t.saturating_add(wait);
    st.last = t;
    st.tokens = tokens;
    st.last_event = time_to_act;
    Reserved {
        ok: true,
        tokens: n,
        time_to_act,
        limit: st.limit,
    }
}

/// x/time/rate's `CancelAt(t)` under its mutex: gives back the tokens of `r` that
/// later reservations have not already counted on.
pub(crate) fn cancel_slow(st: &mut Slow, r: &Reserved, t: i64) {
    if st.limit.is_inf() || r.tokens == 0 || r.time_to_act < t {
        return;
    }
    let restore = r.tokens as f64
        - r.limit
            .tokens_from_nanos(clock::sub(st.last_event, r.time_to_act));
    if restore <= 0.0 {
        return;
    }
    let (t, tokens) = advance(st, t);
    st.last = t;
    st.tokens = (tokens + restore).min(st.burst as f64);
    if r.time_to_act == st.last_event {
        let prev = r
            .time_to_act
            .saturating_add(r.limit.nanos_from_tokens(-(r.tokens as f64)));
        if prev >= t {
            st.last_event = prev;
        }
    }
}

//! Running a select: try every case in random order, and if none can fire, register
//! one waiter with every case's channel and wait until a party selects it.
//!
//! # One round
//! 1. **Try.** The case that was last told it may proceed goes first (so a
//!    notification is not wasted), then every case in a fresh random order (a lazy
//!    Fisher–Yates shuffle, so each ready case is equally likely, as in Go). The
//!    first that fires ends the select.
//! 2. **Default.** With a `default` case, or once the deadline has passed, end.
//! 3. **Register** the waiter, case by case, with [`Operation::case(i)`]. A case may
//!    answer that it could fire now (a partner is waiting, a value arrived, a timer
//!    is due); then the waiter aborts itself and the round starts over.
//! 4. **Wait** until the waiter's state leaves `WAITING`. Exactly one party wins
//!    that compare-and-swap (see `chan/waiter.rs`), so exactly one case takes
//!    effect. Then **unregister** every case, and finish the selected one.
//!
//! The fast path (a case is ready) allocates nothing and touches only the ready
//! channel. Blocking allocates nothing either: the waiter and the packets of
//! unbuffered cases live on the caller's stack (threads) or inside the select's
//! future (tasks); a queue entry may need to grow its channel's wait queue.

use std::fmt;
use std::task::{Context, Poll};
use std::time::Instant;

use super::case::Case;
use crate::chan::waiter::{AsyncWait, Operation, Waiter, ABORTED, DISCONNECTED, WAITING};
use crate::loom::Backoff;
use crate::time::TimerWait;

/// A select's cases, indexable: a slice of [`CaseRef`] for `select!`, boxed cases
/// for the dynamic [`Select`](super::Select).
pub(crate) trait CaseList {
    fn len(&self) -> usize;
    fn case(&mut self, i: usize) -> &mut dyn Case;
}

/// A case of a `select!`, borrowed for one run.
pub struct CaseRef<'a>(&'a mut (dyn Case + 'a));

impl fmt::Debug for CaseRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaseRef")
    }
}

impl<'a> CaseRef<'a> {
    /// Borrows a receive case.
    pub fn recv<T>(case: &'a mut super::case::RecvCase<'_, T>) -> Self {
        CaseRef(case)
    }

    /// Borrows a send case.
    pub fn send<T>(case: &'a mut super::case::SendCase<'_, T>) -> Self {
        CaseRef(case)
    }
}

impl CaseList for [CaseRef<'_>] {
    fn len(&self) -> usize {
        <[CaseRef<'_>]>::len(self)
    }

    fn case(&mut self, i: usize) -> &mut dyn Case {
        &mut *self[i].0
    }
}

/// Tries the cases: `first` if given, then all in random order. Returns the index
/// of the case that fired.
fn try_all<L: CaseList + ?Sized>(cases: &mut L, first: Option<usize>) -> Option<usize> {
    if let Some(i) = first {
        if cases.case(i).try_fire() {
            return Some(i);
        }
    }
    let n = cases.len();
    if n <= SMALL {
        let mut order = IDENTITY;
        try_shuffled(cases, &mut order[..n])
    } else {
        let mut order: Vec<usize> = (0..n).collect();
        try_shuffled(cases, &mut order)
    }
}

/// Tries the cases, and keeps trying for a short while before the caller registers:
/// a channel is often empty or full only for a moment, and registering with every
/// case, parking and unregistering costs far more than a few rounds of tries.
/// Threads spin and then yield (as a blocked channel operation does); tasks only
/// spin briefly (see `Backoff::spin_for_task`). A select
/// with a `default` case does not wait at all.
fn try_for_a_while<L: CaseList + ?Sized>(
    cases: &mut L,
    mut first: Option<usize>,
    has_default: bool,
    thread: bool,
) -> Option<usize> {
    let mut backoff = Backoff::new();
    loop {
        if let Some(i) = try_all(cases, first.take()) {
            return Some(i);
        }
        // Under loom, every retry would multiply the interleavings to explore.
        if has_default || cfg!(loom) {
            return None;
        }
        if thread {
            if backoff.is_completed() {
                return None;
            }
            backoff.snooze();
        } else if !backoff.spin_for_task() {
            return None;
        }
    }
}

/// Up to this many cases, the random order lives on the stack.
const SMALL: usize = 64;

/// `[0, 1, …, SMALL - 1]`: the order a shuffle starts from.
const IDENTITY: [u8; SMALL] = {
    let mut order = [0u8; SMALL];
    let mut i = 0;
    while i < SMALL {
        order[i] = i as u8;
        i += 1;
    }
    order
};

fn try_shuffled<L, I>(cases: &mut L, order: &mut [I]) -> Option<usize>
where
    L: CaseList + ?Sized,
    I: Copy + Into<usize>,
{
    let n = order.len();
    // One random draw gives two steps of the shuffle (32 bits each).
    let mut bits = 0u64;
    for k in 0..n {
        // Fisher–Yates, one step at a time: stop as soon as a case fires.
        if k + 1 < n {
            if k % 2 == 0 {
                bits = crate::loom::random_u64();
            }
            let j = k + pick(bits as u32, n - k);
            bits >>= 32;
            order.swap(k, j);
        }
        let i = order[k].into();
        if cases.case(i).try_fire() {
            return Some(i);
        }
    }
    None
}

/// A number below `n` from 32 random bits (multiply-shift; its bias, under
/// n / 2³², is far below anything a select could show).
#[inline]
fn pick(bits: u32, n: usize) -> usize {
    ((u64::from(bits) * n as u64) >> 32) as usize
}

fn unregister<L: CaseList + ?Sized>(cases: &mut L, waiter: &Waiter, count: usize) {
    for i in 0..count {
        cases.case(i).unregister(waiter, Operation::case(i));
    }
}

/// The earliest instant a timer case (or the deadline) is due.
fn earliest<L: CaseList + ?Sized>(cases: &mut L, deadline: Option<Instant>) -> Option<Instant> {
    (0..cases.len())
        .filter_map(|i| cases.case(i).due())
        .chain(deadline)
        .min()
}

/// After the waiter settled in `state` and every case is unregistered: finish the
/// selected case. `Ok(i)` when case `i` fired, `Err(first)` to try again (with the
/// case to try first, if one was told it may proceed).
fn dispatch<L: CaseList + ?Sized>(cases: &mut L, state: usize) -> Result<usize, Option<usize>> {
    match state {
        ABORTED | DISCONNECTED => Err(None),
        s => {
            let i = s - Operation::case(0).id();
            if cases.case(i).on_selected() {
                Ok(i)
            } else {
                Err(Some(i))
            }
        }
    }
}

/// A round's registrations: unregistered on every way out (also by a panic), so no
/// queue keeps an address into the caller's frame.
struct Registered<'c, L: CaseList + ?Sized> {
    cases: &'c mut L,
    waiter: &'c Waiter,
    count: usize,
}

impl<L: CaseList + ?Sized> Registered<'_, L> {
    /// Registers every case; true when one said it could fire now (registration
    /// stops there).
    fn register_all(&mut self) -> bool {
        for i in 0..self.cases.len() {
            self.count = i + 1;
            // SAFETY: `Drop` unregisters before the cases or the waiter can move.
            if unsafe { self.cases.case(i).register(self.waiter, Operation::case(i)) } {
                return true;
            }
        }
        false
    }
}

impl<L: CaseList + ?Sized> Drop for Registered<'_, L> {
    fn drop(&mut self) {
        if self.waiter.state() == WAITING && !self.waiter.try_abort() {
            self.waiter.settled(self.waiter.state());
        }
        unregister(self.cases, self.waiter, self.count);
    }
}

/// Runs a select from a thread. Returns the index of the case that fired, or `None`
/// for the default case (`has_default`) or when `deadline` passed.
pub(crate) fn run_blocking<L: CaseList + ?Sized>(
    cases: &mut L,
    has_default: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    let mut first = None;
    let mut slot: Option<Waiter> = None;
    loop {
        // Past the deadline, a last try is all that is left (a zero timeout behaves
        // as `default`).
        let expired = deadline.is_some_and(|d| crate::time::now() >= d);
        if let Some(i) = try_for_a_while(cases, first.take(), has_default || expired, true) {
            return Some(i);
        }
        if has_default || expired || deadline.is_some_and(|d| crate::time::now() >= d) {
            return None;
        }
        let wake_at = earliest(cases, deadline);
        // A fresh waiter each round: a selector takes the waiter's unparker. It is
        // made on first need, so a select that finds a ready case never makes one.
        let waiter = &*slot.insert(Waiter::for_thread());
        let mut round = Registered {
            cases: &mut *cases,
            waiter,
            count: 0,
        };
        let state = if round.register_all() {
            if waiter.try_abort() {
                ABORTED
            } else {
                waiter.settled(waiter.state())
            }
        } else {
            waiter.wait_until(wake_at)
        };
        drop(round);
        match dispatch(cases, state) {
            Ok(i) => return Some(i),
            Err(next) => first = next,
        }
    }
}

/// Polls the timer cases (each with its wait in `timers`, made on first need) and
/// the deadline (with `deadline_wait`); true when one is due.
fn poll_timers<L: CaseList + ?Sized>(
    cx: &mut Context<'_>,
    cases: &mut L,
    deadline: Option<Instant>,
    timers: &mut Vec<(usize, TimerWait)>,
    deadline_wait: &mut TimerWait,
) -> bool {
    let mut due = false;
    for i in 0..cases.len() {
        let Some(at) = cases.case(i).due() else {
            continue;
        };
        let k = match timers.iter().position(|(j, _)| *j == i) {
            Some(k) => k,
            None => {
                timers.push((i, TimerWait::default()));
                timers.len() - 1
            }
        };
        due |= timers[k].1.poll_until(cx, at).is_ready();
    }
    if let Some(d) = deadline {
        due |= deadline_wait.poll_until(cx, d).is_ready();
    }
    due
}

/// The state of an async select between polls. It must stay in place while
/// registered (queues hold its waiter's address), and [`Driver::cancel`] must run
/// before it is dropped or moved.
#[derive(Default)]
pub(crate) struct Driver {
    wait: AsyncWait<()>,
    /// How many cases are registered (0: none).
    registered: usize,
    /// The case to try first in the next round.
    first: Option<usize>,
    /// The waits of the timer cases, by case index.
    timers: Vec<(usize, TimerWait)>,
    /// The wait for the select's own deadline, if it has one.
    deadline_wait: TimerWait,
    /// Whether the select has timer cases or a deadline (learnt at its first
    /// registration): only then are timers polled and cleared.
    timed: Option<bool>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// One poll of the select over `cases`. `Ready(Some(i))`: case `i` fired;
    /// `Ready(None)`: the default case, or the deadline passed.
    ///
    /// # Safety
    /// `self` and the cases stay in place until [`Driver::cancel`] has run, unless
    /// this returns `Ready`.
    pub(crate) unsafe fn poll<L: CaseList + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        cases: &mut L,
        has_default: bool,
        deadline: Option<Instant>,
    ) -> Poll<Option<usize>> {
        loop {
            if self.registered > 0 {
                let waiter = &self.wait.waiter;
                let state = waiter.state();
                let state = if state != WAITING {
                    waiter.settled(state)
                } else {
                    let due = self.timed == Some(true)
                        && poll_timers(
                            cx,
                            cases,
                            deadline,
                            &mut self.timers,
                            &mut self.deadline_wait,
                        );
                    if !due && self.wait.same_waker(cx.waker()) {
                        return Poll::Pending;
                    }
                    // A timer is due or the waker changed: withdraw and start over.
                    if waiter.try_abort() {
                        ABORTED
                    } else {
                        waiter.settled(waiter.state())
                    }
                };
                unregister(cases, &self.wait.waiter, self.registered);
                self.registered = 0;
                match dispatch(cases, state) {
                    Ok(i) => return self.ready(Some(i)),
                    Err(next) => self.first = next,
                }
            }
            if let Some(i) = try_for_a_while(cases, self.first.take(), has_default, false) {
                return self.ready(Some(i));
            }
            if has_default || deadline.is_some_and(|d| crate::time::now() >= d) {
                return self.ready(None);
            }
            // SAFETY: nothing of ours is registered, so no selector is at the waiter.
            unsafe { self.wait.arm(cx.waker()) };
            let mut ready = false;
            for i in 0..cases.len() {
                self.registered = i + 1;
                // SAFETY: the caller keeps `self` and the cases in place until
                // `cancel` has run.
                if unsafe {
                    cases
                        .case(i)
                        .register(&self.wait.waiter, Operation::case(i))
                } {
                    ready = true;
                    break;
                }
            }
            let timed = *self.timed.get_or_insert_with(|| {
                deadline.is_some() || (0..cases.len()).any(|i| cases.case(i).due().is_some())
            });
            let due = timed
                && poll_timers(
                    cx,
                    cases,
                    deadline,
                    &mut self.timers,
                    &mut self.deadline_wait,
                );
            if !ready && !due {
                return Poll::Pending;
            }
            // Something is ready already: withdraw (the top of the loop does it).
            if self.wait.waiter.try_abort() {
                unregister(cases, &self.wait.waiter, self.registered);
                self.registered = 0;
            }
        }
    }

    fn ready(&mut self, r: Option<usize>) -> Poll<Option<usize>> {
        self.forget_timers();
        Poll::Ready(r)
    }

    /// Drops the timer waits, and what was learnt about the select's timers.
    fn forget_timers(&mut self) {
        if self.timed.take() == Some(true) {
            self.timers.clear();
            self.deadline_wait = TimerWait::default();
        }
    }

    /// The select ends unfinished (its future is dropped): withdraw every
    /// registration; if a case was selected meanwhile, hand on what it received.
    pub(crate) fn cancel<L: CaseList + ?Sized>(&mut self, cases: &mut L) {
        // What was learnt about timers belongs to this select: a dynamic `Select`
        // reuses the driver with other cases or another deadline.
        self.forget_timers();
        if self.registered == 0 {
            return;
        }
        let waiter = &self.wait.waiter;
        let state = if waiter.try_abort() {
            ABORTED
        } else {
            waiter.settled(waiter.state())
        };
        unregister(cases, waiter, self.registered);
        self.registered = 0;
        if state >= Operation::case(0).id() {
            cases.case(state - Operation::case(0).id()).abandon();
        }
    }
}

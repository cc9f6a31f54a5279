//! Chapter 1: why concurrency is hard — a race, a deadlock, a livelock, and
//! starvation, each run for real.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use hoare::context::Context;
use hoare::sync::{Cond, WaitGroup};
use hoare::time;

use crate::{book, book_secs, Example};

pub fn examples() -> Vec<Example> {
    vec![
        Example {
            name: "race",
            chapter: 1,
            summary:
                "data++ against `if data == 0`: three outcomes; Rust refuses the unsynchronised one",
            run: race,
        },
        Example {
            name: "deadlock",
            chapter: 1,
            summary: "printSum locks a then b, and b then a: the wait-for cycle is found and shown",
            run: deadlock,
        },
        Example {
            name: "livelock",
            chapter: 1,
            summary: "two people in a hallway step aside in lockstep and never pass",
            run: livelock,
        },
        Example {
            name: "starvation",
            chapter: 1,
            summary: "a greedy worker holds the lock longer and gets more done than a polite one",
            run: starvation,
        },
    ]
}

/// The book's race: a goroutine increments `data` while main checks it. In Go the
/// unsynchronised version compiles; in Rust sharing `&mut data` with a thread is a
/// compile error (E0373/E0499), so it is shown with an atomic: still a race
/// (ordering is not controlled), but no longer undefined behaviour.
fn race(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Rust rejects `thread::spawn(|| data += 1)` next to a read of `data`:"
    )?;
    writeln!(
        out,
        "  error[E0373]: closure may outlive the current function, but it borrows `data`"
    )?;
    let mut outcomes: HashMap<&str, u32> = HashMap::new();
    for _ in 0..1000 {
        let data = Arc::new(AtomicI32::new(0));
        let writer = {
            let data = data.clone();
            thread::spawn(move || data.fetch_add(1, Ordering::Relaxed))
        };
        let outcome = if data.load(Ordering::Relaxed) == 0 {
            // The goroutine may run between the check and the print.
            match data.load(Ordering::Relaxed) {
                0 => "the value is 0.",
                _ => "the value is 1.",
            }
        } else {
            "(nothing printed)"
        };
        *outcomes.entry(outcome).or_default() += 1;
        let _ = writer.join();
    }
    let mut outcomes: Vec<_> = outcomes.into_iter().collect();
    outcomes.sort();
    writeln!(out, "1000 runs of the book's race, with an atomic:")?;
    for (outcome, n) in outcomes {
        writeln!(out, "  {n:>4} x {outcome}")?;
    }
    Ok(())
}

/// A mutex that records who holds it and who waits for it, so a wait-for cycle
/// can be found, and whose waiters give up when a context is cancelled.
struct Tracked {
    name: &'static str,
    holder: Mutex<Option<ThreadId>>,
    freed: Condvar,
}

/// Who waits for which lock.
type Waits = Mutex<HashMap<ThreadId, (&'static str, &'static str)>>;

impl Tracked {
    fn new(name: &'static str) -> Self {
        Tracked {
            name,
            holder: Mutex::new(None),
            freed: Condvar::new(),
        }
    }

    /// Locks, unless `ctx` is done first; `who` names the caller in the wait-for
    /// table `waits`.
    fn lock(&self, ctx: &Context, who: &'static str, waits: &Waits) -> bool {
        let me = thread::current().id();
        let mut holder = self.holder.lock().unwrap_or_else(|p| p.into_inner());
        while holder.is_some() {
            if ctx.err().is_some() {
                waits.lock().unwrap_or_else(|p| p.into_inner()).remove(&me);
                return false;
            }
            waits
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(me, (who, self.name));
            holder = self
                .freed
                .wait_timeout(holder, Duration::from_millis(5))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        waits.lock().unwrap_or_else(|p| p.into_inner()).remove(&me);
        *holder = Some(me);
        true
    }

    fn unlock(&self) {
        *self.holder.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.freed.notify_all();
    }

    fn holder(&self) -> Option<ThreadId> {
        *self.holder.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The book's printSum(&a, &b) and printSum(&b, &a): each takes its first lock,
/// sleeps, then wants the other's. Go would hang ("all goroutines are asleep");
/// here a watcher finds the cycle in the wait-for graph, prints it, and cancels
/// the two so the tour goes on.
fn deadlock(out: &mut dyn Write) -> io::Result<()> {
    let (a, b) = (Arc::new(Tracked::new("a")), Arc::new(Tracked::new("b")));
    let waits: Arc<Waits> = Arc::default();
    let (ctx, cancel) = Context::background().with_cancel();
    let wg = WaitGroup::new();
    let both_hold_one = Arc::new(std::sync::Barrier::new(2));
    let print_sum = |who: &'static str, v1: Arc<Tracked>, v2: Arc<Tracked>| {
        let (ctx, waits, both_hold_one) = (ctx.clone(), waits.clone(), both_hold_one.clone());
        move || {
            if !v1.lock(&ctx, who, &waits) {
                return format!("{who}: gave up on {}", v1.name);
            }
            // The book sleeps 2 s here so that both hold their first lock; a
            // barrier makes that certain.
            both_hold_one.wait();
            let got = v2.lock(&ctx, who, &waits);
            if got {
                v2.unlock();
            }
            v1.unlock();
            if got {
                format!("{who}: sum=0")
            } else {
                format!(
                    "{who}: holding {}, gave up waiting for {}",
                    v1.name, v2.name
                )
            }
        }
    };
    let first = wg.go(print_sum("printSum(a, b)", a.clone(), b.clone()));
    let second = wg.go(print_sum("printSum(b, a)", b.clone(), a.clone()));
    let (first, second) = match (first, second) {
        (Ok(f), Ok(s)) => (f, s),
        _ => return Err(io::Error::other("cannot start the goroutines")),
    };
    // The watcher: look for a cycle of two waits, each for the other's lock.
    let start = Instant::now();
    let cycle = loop {
        let snapshot = waits.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let found = snapshot.iter().find_map(|(t1, (w1, l1))| {
            let holder1 = [&a, &b].into_iter().find(|m| m.name == *l1)?.holder()?;
            let (w2, l2) = snapshot.get(&holder1)?;
            let holder2 = [&a, &b].into_iter().find(|m| m.name == *l2)?.holder()?;
            (holder2 == *t1).then(|| {
                format!("{w1} waits for {l1}, held by {w2}, which waits for {l2}, held by {w1}")
            })
        });
        if let Some(cycle) = found {
            break Some(cycle);
        }
        if start.elapsed() > Duration::from_secs(10) {
            break None;
        }
        thread::sleep(Duration::from_millis(1));
    };
    match cycle {
        Some(cycle) => writeln!(out, "deadlock detected: {cycle}")?,
        None => writeln!(out, "no deadlock this time (the sleeps did not overlap)")?,
    }
    cancel.cancel(); // break the cycle
    wg.wait();
    for handle in [first, second] {
        if let Ok(line) = handle.join() {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The book's hallway: Alice and Barbara each try left, then right, in step with a
/// cadence that a ticker broadcasts; both move the same way each time, so neither
/// passes, and after five tries each gives up.
fn livelock(out: &mut dyn Write) -> io::Result<()> {
    let cadence = Arc::new((Mutex::new(()), Cond::new()));
    let (ctx, stop_ticker) = Context::background().with_cancel();
    let ticker = {
        let (cadence, ctx) = (cadence.clone(), ctx.clone());
        thread::spawn(move || {
            let tick = time::tick(book(Duration::from_millis(1)).max(Duration::from_micros(200)));
            while ctx.err().is_none() {
                if tick.recv_timeout(Duration::from_millis(50)).is_ok() {
                    cadence.1.broadcast();
                }
            }
        })
    };
    let take_step = {
        let cadence = cadence.clone();
        move || {
            let guard = cadence.0.lock().unwrap_or_else(|p| p.into_inner());
            drop(cadence.1.wait(&cadence.0, guard));
        }
    };
    let (left, right) = (Arc::new(AtomicI32::new(0)), Arc::new(AtomicI32::new(0)));
    let try_dir = {
        let take_step = take_step.clone();
        move |name: &str, dir: &AtomicI32, said: &mut String| {
            said.push_str(&format!(" {name}"));
            dir.fetch_add(1, Ordering::SeqCst);
            take_step();
            if dir.load(Ordering::SeqCst) == 1 {
                said.push_str(". Success!");
                return true;
            }
            take_step();
            dir.fetch_add(-1, Ordering::SeqCst);
            false
        }
    };
    let walk = |name: &'static str| {
        let (try_dir, left, right) = (try_dir.clone(), left.clone(), right.clone());
        thread::spawn(move || {
            let mut said = format!("{name} is trying to scoot:");
            for _ in 0..5 {
                if try_dir("left", &left, &mut said) || try_dir("right", &right, &mut said) {
                    return said;
                }
            }
            said.push_str(&format!("\n{name} tosses her hands up in exasperation!"));
            said
        })
    };
    let (alice, barbara) = (walk("Alice"), walk("Barbara"));
    for person in [alice, barbara] {
        if let Ok(said) = person.join() {
            writeln!(out, "{said}")?;
        }
    }
    stop_ticker.cancel();
    let _ = ticker.join();
    Ok(())
}

/// The book's greedy and polite workers share one lock for the same span; the
/// greedy one holds it for its whole work, the polite one only for each third.
fn starvation(out: &mut dyn Write) -> io::Result<()> {
    let shared = Arc::new(Mutex::new(()));
    let span = book_secs(1.0);
    let work = |hold: Duration| {
        // `sleep` stands for work done under the lock (the book sleeps 1-3 ns).
        let spin_until = Instant::now() + hold;
        while Instant::now() < spin_until {
            std::hint::spin_loop();
        }
    };
    let greedy = {
        let shared = shared.clone();
        thread::spawn(move || {
            let count = AtomicU64::new(0);
            let begin = Instant::now();
            while begin.elapsed() <= span {
                let _g = shared.lock().unwrap_or_else(|p| p.into_inner());
                work(Duration::from_nanos(3_000));
                count.fetch_add(1, Ordering::Relaxed);
            }
            count.load(Ordering::Relaxed)
        })
    };
    let polite = {
        let shared = shared.clone();
        thread::spawn(move || {
            let mut count = 0u64;
            let begin = Instant::now();
            while begin.elapsed() <= span {
                for _ in 0..3 {
                    let _g = shared.lock().unwrap_or_else(|p| p.into_inner());
                    work(Duration::from_nanos(1_000));
                }
                count += 1;
            }
            count
        })
    };
    let greedy = greedy.join().unwrap_or(0);
    let polite = polite.join().unwrap_or(0);
    writeln!(out, "Greedy worker was able to execute {greedy} work loops")?;
    writeln!(
        out,
        "Polite worker was able to execute {polite} work loops."
    )
}

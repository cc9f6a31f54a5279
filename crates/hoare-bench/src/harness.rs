//! The measuring harness: scenario registry types, the timing method and the results.
//!
//! Method (the same as `shared/ANCHORS.md`): for each (scenario, mode, impl) the op count is
//! calibrated once, then 1 untimed warm-up repetition and `reps` timed repetitions run with
//! that fixed op count; the reported figure is the median ns/op over the timed repetitions.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// How the code under test runs: OS threads that block, or tokio tasks that await.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// OS threads using the blocking API.
    Blocking,
    /// Tokio tasks on a multi-thread runtime with 2 workers, using the async API.
    Async,
    /// Two OS threads hammering one shared object with the non-blocking API (a pool's
    /// get/put), for primitives whose question is contention rather than waiting.
    Contended,
}

impl Mode {
    /// Every mode, in report order.
    pub const ALL: [Mode; 3] = [Mode::Blocking, Mode::Async, Mode::Contended];

    /// The name used on the command line, in tables and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Blocking => "blocking",
            Mode::Async => "async",
            Mode::Contended => "contended",
        }
    }
}

/// One repetition: given an op count, runs it on fresh channels and threads/tasks and returns
/// the wall time, or an error when the result check failed (so a broken channel can't score).
pub type Rep = Box<dyn FnMut(u64) -> Result<Duration, String>>;

/// One measurable implementation of a scenario in one mode.
pub struct Case {
    /// Mode the case runs in.
    pub mode: Mode,
    /// Implementation name: `hoare`, `crossbeam`, `flume`, `kanal`, `std`, `tokio`, `async-channel`.
    pub imp: &'static str,
    /// Free-form note for the table, e.g. a capacity substitution.
    pub note: String,
    /// Variant name when an implementation is measured several ways (e.g. a crate's select
    /// macro and its dynamic selector); empty otherwise. See [`Case::variant`].
    pub variant: &'static str,
    /// Builds the repetition closure (and, for async cases, its runtime); called once per
    /// measurement, so the runtime lives for the warm-up and all timed repetitions.
    pub setup: Box<dyn Fn() -> Rep>,
}

impl Case {
    /// A case with the given mode, implementation name, note and setup function.
    pub fn new(
        mode: Mode,
        imp: &'static str,
        note: impl Into<String>,
        setup: impl Fn() -> Rep + 'static,
    ) -> Case {
        Case {
            mode,
            imp,
            note: note.into(),
            variant: "",
            setup: Box::new(setup),
        }
    }

    /// Marks the case as one variant of its implementation: every variant of an
    /// implementation is measured, and only the fastest is reported under the implementation's
    /// name, its note naming the variant (see `report::fastest_variants`).
    pub fn variant(mut self, name: &'static str) -> Case {
        self.variant = name;
        self
    }
}

/// A benchmark scenario: a name, the family (output file) it belongs to, and its cases.
pub struct Scenario {
    /// Name used by `--scenario`, in tables and in JSON (also the Go program's scenario name).
    pub name: &'static str,
    /// Family, one per module; names the output files `bench/results/<family>.{md,svg}`.
    pub family: &'static str,
    /// One-line description for the tables.
    pub description: &'static str,
    /// What one op is, e.g. "round trip" or "message".
    pub unit: &'static str,
    /// Builds the cases (all modes, all implementations).
    pub cases: fn() -> Vec<Case>,
}

/// Repetition count and the wall time a repetition should take.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Number of timed repetitions.
    pub reps: usize,
    /// Target wall time of one repetition; the op count is calibrated to it.
    pub target: Duration,
}

impl Settings {
    /// The default run: 7 timed repetitions of about 200 ms.
    pub fn full() -> Settings {
        Settings {
            reps: 7,
            target: Duration::from_millis(200),
        }
    }

    /// `--quick`: 3 timed repetitions of about 30 ms.
    pub fn quick() -> Settings {
        Settings {
            reps: 3,
            target: Duration::from_millis(30),
        }
    }
}

/// The statistics of one measurement, in ns per op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median over the timed repetitions.
    pub median: f64,
    /// Fastest timed repetition.
    pub min: f64,
    /// Slowest timed repetition.
    pub max: f64,
    /// Op count of each repetition.
    pub ops: u64,
    /// Number of timed repetitions.
    pub reps: usize,
}

/// One line of results: a (scenario, mode, impl) and its statistics.
#[derive(Clone, Debug)]
pub struct Record {
    /// Scenario name.
    pub scenario: String,
    /// Family of the scenario (output file name).
    pub family: String,
    /// Mode.
    pub mode: Mode,
    /// Implementation name.
    pub imp: String,
    /// Note for the table.
    pub note: String,
    /// Measured statistics.
    pub stats: Stats,
}

/// Op counts are multiples of this, so they split evenly over producers.
const OP_QUANTUM: u64 = 64;

/// Calibrates the op count of one case and runs its warm-up; returns the op count to use
/// for its timed repetitions.
pub fn calibrate(settings: Settings, label: &str, rep: &mut Rep) -> Result<u64, String> {
    // Calibration: grow the op count until one repetition takes at least a tenth of the target.
    let goal = settings.target.as_secs_f64() / 10.0;
    let mut n: u64 = 1024;
    // The very first repetition runs cold (thread and runtime start-up, page faults): discard it.
    watch(label, "calibration");
    rep(n)?;
    let per_op = loop {
        watch(label, "calibration");
        let t = rep(n)?.as_secs_f64();
        if t >= goal || n >= 1 << 40 {
            break t / n as f64;
        }
        let grow = if t > 0.0 { goal / t * 1.5 } else { 100.0 };
        n = (n as f64 * grow.clamp(2.0, 100.0)) as u64;
    };
    let ops_for = |per_op: f64| {
        ((settings.target.as_secs_f64() / per_op) as u64 / OP_QUANTUM).max(1) * OP_QUANTUM
    };
    let mut n = ops_for(per_op);
    // Warm-up at full length; if it shows the calibration was off by more than 1.5x either
    // way, adjust the op count once and warm up again.
    for round in 0..2 {
        watch(label, "warm-up");
        let t = rep(n)?.as_secs_f64();
        let ratio = t / settings.target.as_secs_f64();
        if round == 1 || (1.0 / 1.5..=1.5).contains(&ratio) {
            break;
        }
        n = ops_for(t / n as f64);
    }
    unwatch();
    Ok(n)
}

/// One timed repetition of `n` ops; returns ns per op.
pub fn sample(label: &str, rep: &mut Rep, n: u64, i: usize) -> Result<f64, String> {
    watch(label, &format!("repetition {}", i + 1));
    let t = rep(n)?;
    unwatch();
    Ok(t.as_nanos() as f64 / n as f64)
}

/// Median, min and max of `samples` (ns/op) measured with `ops` ops per repetition.
pub fn stats(samples: &[f64], ops: u64) -> Stats {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let len = s.len();
    let median = match len {
        0 => f64::NAN,
        _ if len % 2 == 1 => s[len / 2],
        _ => (s[len / 2 - 1] + s[len / 2]) / 2.0,
    };
    Stats {
        median,
        min: s.first().copied().unwrap_or(f64::NAN),
        max: s.last().copied().unwrap_or(f64::NAN),
        ops,
        reps: len,
    }
}

/// What is running now and since when, for the watchdog.
static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn watch(label: &str, phase: &str) {
    let mut cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    *cur = Some((format!("{label} ({phase})"), Instant::now()));
}

fn unwatch() {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Starts a thread that ends the process (exit code 3) when one repetition runs longer than
/// `limit`: a deadlocked channel then fails the run instead of hanging it.
pub fn start_watchdog(limit: Duration) {
    thread::spawn(move || loop {
        thread::sleep(Duration::from_millis(500));
        let cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((what, since)) = cur.as_ref() {
            if since.elapsed() > limit {
                eprintln!(
                    "\nhoare-bench: {what} has run for more than {} s: stuck (deadlock?), giving up",
                    limit.as_secs()
                );
                std::process::exit(3);
            }
        }
    });
}

/// For the families' unit tests: runs every case of `scenarios` that `keep`
/// selects once with a small op count, and asserts that each passes its checks.
#[cfg(test)]
pub fn run_every_case(scenarios: Vec<Scenario>, keep: impl Fn(&Case) -> bool) {
    for s in scenarios {
        for case in (s.cases)().into_iter().filter(&keep) {
            let mut rep = (case.setup)();
            let t = rep(2048);
            assert!(
                t.is_ok(),
                "{} {} {} {}: {t:?}",
                s.name,
                case.mode.as_str(),
                case.imp,
                case.variant
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(stats(&[3.0, 1.0, 2.0], 1).median, 2.0);
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0], 1).median, 2.5);
        let s = stats(&[5.0, 1.0, 9.0], 64);
        assert_eq!((s.min, s.max, s.ops, s.reps), (1.0, 9.0, 64, 3));
    }

    #[test]
    fn calibrate_reaches_the_target_and_sample_measures() {
        let mut rep: Rep = Box::new(|n| Ok(Duration::from_nanos(n * 10)));
        let n = calibrate(Settings::quick(), "test", &mut rep).unwrap();
        assert_eq!(n % OP_QUANTUM, 0);
        assert!(n > 2_000_000 && n < 4_000_000, "{n}");
        let x = sample("test", &mut rep, n, 0).unwrap();
        assert!((x - 10.0).abs() < 1e-9);
    }

    #[test]
    fn check_failures_propagate() {
        let mut rep: Rep = Box::new(|_| Err("lost a message".into()));
        assert!(calibrate(Settings::quick(), "test", &mut rep).is_err());
        assert!(sample("test", &mut rep, 64, 0).is_err());
    }
}

//! `hoare-tour`: the examples of *Concurrency in Go*, written with hoare and run live.
//!
//! `hoare-tour` runs every example in order; `hoare-tour list` lists them;
//! `hoare-tour run NAME...` runs the chosen ones; `--chapter N` keeps one chapter;
//! `--speed F` runs the book's sleeps and intervals F times faster; `--json` prints
//! one event per line for machines.

mod ch1;
mod ch2;
mod ch3;
mod ch3_goroutines;
mod ch3_select;
mod ch3_sync;
mod ch4_context;
mod ch4_patterns;
mod ch5;
mod ch5_more;
mod ch5_rate;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// One runnable example of the book.
pub struct Example {
    /// The name used with `hoare-tour run`.
    pub name: &'static str,
    /// The book's chapter.
    pub chapter: u8,
    /// One line saying what it shows.
    pub summary: &'static str,
    /// Runs it, printing to `out`.
    pub run: fn(&mut dyn Write) -> io::Result<()>,
}

/// Every example, in the book's order.
fn examples() -> Vec<Example> {
    let mut all = ch1::examples();
    all.extend(ch2::examples());
    all.extend(ch3_goroutines::examples());
    all.extend(ch3::examples());
    all.extend(ch3_sync::examples());
    all.extend(ch3_select::examples());
    all.extend(ch4_patterns::examples());
    all.extend(ch4_context::examples());
    // Chapter 5 in the book's order: rate limiting comes before the steward.
    let mut ch5 = ch5::examples();
    ch5.splice(1..1, ch5_more::examples()); // after error propagation
    let steward = ch5
        .iter()
        .position(|e| e.name == "steward")
        .unwrap_or(ch5.len());
    ch5.splice(steward..steward, ch5_rate::examples());
    if let Some(i) = ch5.iter().position(|e| e.name == "steward-bridge") {
        let bridged = ch5.remove(i);
        ch5.push(bridged); // after the irresponsible ward, as in the book
    }
    all.extend(ch5);
    all
}

/// The speed-up of the book's durations, as `f64` bits (1.0: the book's own).
static SPEED: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

/// Sets how many times faster than the book the examples run.
fn set_speed(speed: f64) {
    SPEED.store(speed.to_bits(), Ordering::Relaxed);
}

/// A duration of the book (a sleep, a timeout, an interval), scaled by `--speed`.
pub fn book(d: Duration) -> Duration {
    d.div_f64(f64::from_bits(SPEED.load(Ordering::Relaxed)))
}

/// How many of the book's seconds `d` of real time stands for (`--speed` times
/// more).
pub fn book_seconds_of(d: Duration) -> f64 {
    d.as_secs_f64() * f64::from_bits(SPEED.load(Ordering::Relaxed))
}

/// `book` for a number of the book's seconds.
pub fn book_secs(secs: f64) -> Duration {
    book(Duration::from_secs_f64(secs))
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The examples of Concurrency in Go, run live with hoare"
)]
struct Cli {
    /// Only the examples of this chapter.
    #[arg(long, global = true)]
    chapter: Option<u8>,
    /// Run the book's sleeps and intervals this many times faster (e.g. 100).
    #[arg(long, global = true, default_value = "1", value_parser = parse_speed)]
    speed: f64,
    /// Print one JSON object per line (start, output line, end of each example).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the examples with a one-line summary each.
    List,
    /// Run the named examples.
    Run {
        /// Example names, as `list` shows them.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    set_speed(cli.speed);
    if let Some(c) = cli.chapter {
        let mut chapters: Vec<u8> = examples().iter().map(|e| e.chapter).collect();
        chapters.dedup();
        if !chapters.contains(&c) {
            let list: Vec<String> = chapters.iter().map(u8::to_string).collect();
            eprintln!(
                "hoare-tour: there is no chapter {c}; the chapters are {}",
                list.join(", ")
            );
            return ExitCode::FAILURE;
        }
    }
    let all: Vec<Example> = examples()
        .into_iter()
        .filter(|e| cli.chapter.is_none_or(|c| e.chapter == c))
        .collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let style = if cli.json { Style::Json } else { Style::Text };
    let result = match cli.command {
        Some(Command::List) => list(&all, &mut out),
        None => run_all(all.iter(), &mut out, style),
        Some(Command::Run { names }) => {
            let unknown: Vec<&String> = names
                .iter()
                .filter(|n| !all.iter().any(|e| &e.name == n))
                .collect();
            if !unknown.is_empty() {
                let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
                eprintln!(
                    "unknown example(s): {}; the examples are:",
                    names.join(", ")
                );
                let _ = list(&all, &mut io::stderr());
                return ExitCode::FAILURE;
            }
            run_all(
                all.iter().filter(|e| names.iter().any(|n| n == e.name)),
                &mut out,
                style,
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hoare-tour: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list(all: &[Example], out: &mut dyn Write) -> io::Result<()> {
    for e in all {
        writeln!(out, "ch{}  {:<24} {}", e.chapter, e.name, e.summary)?;
    }
    Ok(())
}

/// How `run_all` prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    /// Headings and the examples' output, for people; progress on stderr.
    Text,
    /// One JSON object per line.
    Json,
}

fn run_all<'a>(
    examples: impl Iterator<Item = &'a Example>,
    out: &mut dyn Write,
    style: Style,
) -> io::Result<()> {
    let mut chapter = None;
    for e in examples {
        match style {
            Style::Text => {
                if chapter != Some(e.chapter) {
                    chapter = Some(e.chapter);
                    writeln!(out, "\n==== Chapter {} ====", e.chapter)?;
                }
                writeln!(out, "\n--- {}: {} ---", e.name, e.summary)?;
                let progress = Progress::start(e.name);
                let result = (e.run)(out);
                progress.stop();
                result?;
            }
            Style::Json => {
                let event = |kind: &str, extra: serde_json::Value| {
                    let mut v = serde_json::json!({
                        "event": kind,
                        "example": e.name,
                        "chapter": e.chapter,
                    });
                    if let (Some(map), serde_json::Value::Object(more)) = (v.as_object_mut(), extra)
                    {
                        map.extend(more);
                    }
                    v
                };
                writeln!(
                    out,
                    "{}",
                    event("start", serde_json::json!({"summary": e.summary}))
                )?;
                let start = Instant::now();
                let mut buf = Vec::new();
                let result = (e.run)(&mut buf);
                for line in String::from_utf8_lossy(&buf).lines() {
                    writeln!(out, "{}", event("line", serde_json::json!({"text": line})))?;
                }
                let end = serde_json::json!({
                    "ok": result.is_ok(),
                    "elapsed_ms": start.elapsed().as_secs_f64() * 1e3,
                    "error": result.as_ref().err().map(|e| e.to_string()),
                });
                writeln!(out, "{}", event("end", end))?;
                result?;
            }
        }
    }
    Ok(())
}

/// Notes on stderr, every few seconds, that a long example is still running.
struct Progress {
    stop: hoare::chan::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(name: &'static str) -> Progress {
        let (stop, stopped) = hoare::chan::<()>(0);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            while stopped.recv_timeout(Duration::from_secs(3)).is_err() && !stopped.is_closed() {
                eprintln!("  ... {name} is still running ({:.0?})", start.elapsed());
            }
        });
        Progress { stop, thread }
    }

    fn stop(self) {
        drop(self.stop); // closes the channel: the thread's wait ends
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one example (the book's durations 200 times faster) and returns what it
    /// printed.
    fn output_of(name: &str) -> String {
        set_speed(200.0);
        let example = examples()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no example {name}"));
        let mut out = Vec::new();
        (example.run)(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_example_runs() {
        set_speed(200.0);
        let mut out = Vec::new();
        run_all(examples().iter(), &mut out, Style::Text).unwrap();
        assert!(!out.is_empty());
    }

    #[test]
    fn json_style_prints_one_event_per_line() {
        set_speed(200.0);
        let all = examples();
        let pipeline = all.iter().filter(|e| e.name == "pipeline");
        let mut out = Vec::new();
        run_all(pipeline, &mut out, Style::Json).unwrap();
        let events: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["start", "line", "line", "line", "line", "end"]);
        assert_eq!(events[1]["text"], "6");
        assert_eq!(events[5]["ok"], true);
    }

    #[test]
    fn speed_must_be_a_positive_number() {
        assert_eq!(parse_speed("100"), Ok(100.0));
        for bad in ["0", "-2", "NaN", "inf", "fast"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chapter_1_examples_show_the_books_hazards() {
        let deadlock = output_of("deadlock");
        assert!(deadlock.starts_with("deadlock detected: "), "{deadlock}");
        assert!(
            deadlock.contains("waits for b, held by printSum(b, a)"),
            "{deadlock}"
        );
        let starvation = output_of("starvation");
        assert!(starvation.contains("Greedy worker was able to execute"));
        assert!(starvation.contains("Polite worker was able to execute"));
    }

    #[test]
    fn chapter_5_rate_limits_space_the_calls() {
        let times = |name: &str| -> Vec<f64> {
            output_of(name)
                .lines()
                .filter_map(|l| l.trim().split('s').next()?.parse().ok())
                .collect()
        };
        // 10 per minute with a burst of 10: the last of 20 calls cannot come before
        // 60 s of the book's time; the tenth comes long before that.
        let multi = times("rate-multi");
        assert_eq!(multi.len(), 20);
        assert!(multi[19] >= 59.0, "{multi:?}");
        assert!(multi[9] < multi[19] - 20.0, "{multi:?}");
        // 1 per second: 20 calls take at least 19 s.
        let single = times("rate-single");
        assert_eq!(single.len(), 20);
        assert!(single[19] >= 18.9, "{single:?}");
    }

    #[test]
    fn chapter_5_examples_print_the_books_output() {
        let errors = output_of("error-propagation");
        assert!(
            errors.contains("[1] There was an unexpected issue; please report this as a bug."),
            "{errors}"
        );
        assert!(
            errors.contains("[1] cannot run job \"1\": requisite binaries not available"),
            "{errors}"
        );
        let steward = output_of("steward");
        // On the real clock (sped up) a loaded machine may fit one restart fewer or
        // more into the nine seconds; every restart starts a new ward.
        let restarts = steward
            .matches("steward: ward unhealthy; restarting")
            .count();
        assert!(restarts >= 1, "{steward}");
        let wards = steward.matches("ward: Hello, I'm irresponsible!").count();
        assert!(wards == restarts || wards == restarts + 1, "{steward}");
        assert!(
            steward.contains("main: halting steward and ward."),
            "{steward}"
        );
        assert!(output_of("timeout-preemptible").contains("context deadline exceeded"));
        let per_unit = output_of("heartbeat-per-unit");
        // A pulse is dropped, never waited for, when the last one is still unread.
        assert!(
            (1..=10).contains(&per_unit.matches("pulse").count()),
            "{per_unit}"
        );
        assert_eq!(per_unit.matches("results").count(), 10, "{per_unit}");
        let unhealthy = output_of("heartbeat-unhealthy");
        assert!(
            unhealthy.ends_with("worker goroutine is not healthy!\n"),
            "{unhealthy}"
        );
        // The book's output is 1 2 1 2 1 2: each ward sends 1, 2, then stops at
        // -1. On a loaded machine a ward may miss a (sped-up) heartbeat while it
        // waits to hand over a value and be restarted early; then its stream ends
        // after the 1. Either way every ward's stream is a prefix of 1 2.
        let bridged = output_of("steward-bridge");
        let received: Vec<&str> = bridged
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("Received: "))
            .map(|l| l.split(' ').collect())
            .unwrap_or_default();
        assert_eq!(received.len(), 6, "{bridged}");
        let prefixes_of_1_2 = received
            .iter()
            .enumerate()
            .all(|(i, v)| *v == "1" || (*v == "2" && i > 0 && received[i - 1] == "1"));
        assert!(prefixes_of_1_2, "{bridged}");
        let replicas = output_of("replicated-requests");
        assert!(replicas.contains("Received an answer from #"), "{replicas}");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = examples().iter().map(|e| e.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn chapter_4_examples_print_the_books_output() {
        assert_eq!(output_of("pipeline"), "6\n10\n14\n18\n");
        assert_eq!(output_of("bridge"), "0 1 2 3 4 5 6 7 8 9\n");
        assert_eq!(
            output_of("tee"),
            "out1: 1, out2: 1\nout1: 2, out2: 2\nout1: 1, out2: 1\nout1: 2, out2: 2\n"
        );
        let errors = output_of("error-handling");
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), 7, "{errors}");
        assert_eq!(lines[0], "Response: 200 OK");
        assert!(
            lines[1].starts_with("error: Get \"http://127.0.0.1:9/\""),
            "{errors}"
        );
        assert_eq!(lines[3], "Response: 200 OK");
        assert_eq!(lines[6], "Too many errors, breaking!");
    }

    #[test]
    fn chapter_3_sync_examples_print_the_books_output() {
        let queue = output_of("cond-queue");
        assert_eq!(queue.matches("Adding to queue").count(), 10);
        assert_eq!(queue.matches("Removed from queue").count(), 10);
        let said = output_of("cond-broadcast");
        let mut clicks: Vec<&str> = said.lines().collect();
        clicks.sort_unstable();
        assert_eq!(
            clicks,
            [
                "Displaying annoying dialog box!",
                "Maximizing window.",
                "Mouse clicked."
            ]
        );
    }
}

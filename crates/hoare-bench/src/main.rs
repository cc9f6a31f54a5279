//! `hoare-bench`: measures hoare's channels, select, contexts, goroutines and sync primitives
//! side by side with peer crates and Go.
//!
//! `cargo run --release -p hoare-bench [-- --quick] [--json] [--scenario a,b] [--impl a,b]`
//! prints a table (or JSON lines) on stdout, progress on stderr, and writes
//! `bench/results/<family>.md` and `<family>.svg` in the workspace.
//!
//! Scenarios live in one module per family (`channels`, `select`, `context`, `spawn`, `sync`,
//! whose pool and singleflight scenarios are in `pool`, `pattern` in `patterns`, `scale` in
//! `scale`);
//! add a family by writing a module with a `scenarios()` function and listing it in
//! [`registry`].
#![warn(missing_docs)]

mod channels;
mod chart;
mod context;
mod go;
mod harness;
mod patterns;
mod peers;
mod pool;
mod rate;
mod report;
mod scale;
mod select;
mod spawn;
mod sync;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use harness::{Mode, Record, Scenario, Settings};
use report::ScenarioInfo;

/// Every scenario of every family, in report order.
pub fn registry() -> Vec<Scenario> {
    let mut all = Vec::new();
    all.extend(channels::scenarios());
    all.extend(select::scenarios());
    all.extend(context::scenarios());
    all.extend(spawn::scenarios());
    all.extend(sync::scenarios());
    all.extend(pool::scenarios());
    all.extend(patterns::scenarios());
    all.extend(rate::scenarios());
    all.extend(scale::scenarios());
    all
}

/// Implementation names that are not cases of a scenario but a separate program.
const GO: &str = "go";

/// Command line.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "Benchmarks hoare side by side with crossbeam, flume, kanal, std, tokio, async-channel, \
             tokio-util, crossbeam-utils, object-pool, lockfree-object-pool and Go"
)]
struct Cli {
    /// Short run: 3 timed repetitions of ~30 ms each (default: 7 of ~200 ms).
    #[arg(long)]
    quick: bool,
    /// Timed repetitions per case (default: 3 with --quick, 7 otherwise). The cases of a
    /// scenario take turns, so more repetitions give steadier ratios on a busy machine.
    #[arg(long)]
    reps: Option<usize>,
    /// Print one JSON object per line on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Only these scenarios, comma-separated (see --list).
    #[arg(long, value_delimiter = ',')]
    scenario: Vec<String>,
    /// Only these implementations, comma-separated (see --list); hoare is measured only if listed.
    #[arg(long = "impl", value_delimiter = ',')]
    imp: Vec<String>,
    /// Only these modes, comma-separated: blocking, async.
    #[arg(long, value_delimiter = ',')]
    mode: Vec<String>,
    /// Directory for the markdown and SVG results (default: `<workspace>/bench/results`).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Do not write the markdown and SVG results.
    #[arg(long)]
    no_write: bool,
    /// List the scenarios and implementations, then exit.
    #[arg(long)]
    list: bool,
}

/// `bench/results` of the workspace this crate was compiled in.
fn default_out_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .join("bench")
        .join("results")
}

/// Checks that every name in `given` is in `known`.
fn check_names(what: &str, given: &[String], known: &BTreeSet<String>) -> Result<(), String> {
    match given.iter().find(|g| !known.contains(*g)) {
        Some(bad) => Err(format!(
            "unknown {what} {bad:?}; known: {}",
            known.iter().cloned().collect::<Vec<_>>().join(", ")
        )),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hoare-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when some measurement failed its check.
fn run(cli: Cli) -> Result<bool, String> {
    let registry = registry();
    let mut cases: Vec<(&Scenario, harness::Case)> = registry
        .iter()
        .flat_map(|s| (s.cases)().into_iter().map(move |c| (s, c)))
        .collect();
    let scenario_names: BTreeSet<String> = registry.iter().map(|s| s.name.to_string()).collect();
    let mut imp_names: BTreeSet<String> = cases.iter().map(|(_, c)| c.imp.to_string()).collect();
    imp_names.insert(GO.into());
    let mode_names: BTreeSet<String> = Mode::ALL.iter().map(|m| m.as_str().into()).collect();
    if cli.list {
        for s in &registry {
            println!("{:<12} {} (ns per {})", s.name, s.description, s.unit);
        }
        println!(
            "impls: {}",
            imp_names.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        return Ok(true);
    }
    check_names("scenario", &cli.scenario, &scenario_names)?;
    check_names("impl", &cli.imp, &imp_names)?;
    check_names("mode", &cli.mode, &mode_names)?;
    let wanted = |list: &[String], name: &str| list.is_empty() || list.iter().any(|l| l == name);
    let modes: Vec<Mode> = Mode::ALL
        .into_iter()
        .filter(|m| wanted(&cli.mode, m.as_str()))
        .collect();
    let selected: Vec<&Scenario> = registry
        .iter()
        .filter(|s| wanted(&cli.scenario, s.name))
        .collect();
    cases.retain(|(s, c)| {
        wanted(&cli.scenario, s.name) && wanted(&cli.imp, c.imp) && modes.contains(&c.mode)
    });
    // Report order: scenario, then mode, then the registry's impl order.
    cases.sort_by_key(|(s, c)| (registry.iter().position(|r| r.name == s.name), c.mode));

    let mut settings = if cli.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(reps) = cli.reps {
        settings.reps = reps.max(1);
    }
    harness::start_watchdog(Duration::from_secs(if cli.quick { 60 } else { 180 }));
    let go_version = go::version();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let header = format!(
        "hoare-bench {}: median of {} timed repetitions of ~{} ms after 1 warm-up; {} CPUs; \
         async = tokio multi-thread runtime, 2 workers; Go: {}",
        if cli.quick { "--quick" } else { "full run" },
        settings.reps,
        settings.target.as_millis(),
        cpus,
        go_version.as_deref().unwrap_or("not installed")
    );
    eprintln!("{header}");

    let mut records: Vec<Record> = Vec::new();
    let mut ok = true;
    let total = cases.len();
    // The cases of one scenario and mode are measured together: each is calibrated and
    // warmed up, then their timed repetitions take turns (round-robin), so a change in the
    // machine's state during the run affects every implementation alike.
    let mut start = 0;
    while start < cases.len() {
        let (s0, c0) = &cases[start];
        let end = start
            + cases[start..]
                .iter()
                .take_while(|(s, c)| s.name == s0.name && c.mode == c0.mode)
                .count();
        let group = &cases[start..end];
        let mut live: Vec<(usize, String, harness::Rep, u64, Vec<f64>)> = Vec::new();
        for (i, (s, case)) in group.iter().enumerate() {
            let mut label = format!("{} [{}] {}", s.name, case.mode.as_str(), case.imp);
            if !case.variant.is_empty() {
                label = format!("{label} ({})", case.variant);
            }
            eprintln!("[{:>2}/{total}] {label:<48} calibrating", start + i + 1);
            let mut rep = (case.setup)();
            match harness::calibrate(settings, &label, &mut rep) {
                Ok(n) => live.push((i, label, rep, n, Vec::with_capacity(settings.reps))),
                Err(e) => {
                    eprintln!("FAILED: {e}");
                    ok = false;
                }
            }
        }
        for r in 0..settings.reps {
            eprintln!(
                "      {} [{}]: repetition {}/{}",
                s0.name,
                c0.mode.as_str(),
                r + 1,
                settings.reps
            );
            live.retain_mut(|(_, label, rep, n, samples)| {
                match harness::sample(label, rep, *n, r) {
                    Ok(x) => {
                        samples.push(x);
                        true
                    }
                    Err(e) => {
                        eprintln!("FAILED: {label}: {e}");
                        ok = false;
                        false
                    }
                }
            });
        }
        let mut measured: Vec<(Record, &str)> = Vec::new();
        for (i, label, _, n, samples) in live {
            let (s, case) = &group[i];
            let stats = harness::stats(&samples, n);
            eprintln!(
                "      {label:<48} {:>9} ns/op  ({} reps x {} ops, min {} max {})",
                report::fmt_ns(stats.median),
                stats.reps,
                stats.ops,
                report::fmt_ns(stats.min),
                report::fmt_ns(stats.max)
            );
            let record = Record {
                scenario: s.name.into(),
                family: s.family.into(),
                mode: case.mode,
                imp: case.imp.into(),
                note: case.note.clone(),
                stats,
            };
            measured.push((record, case.variant));
        }
        // An implementation measured as several variants is reported once, as its fastest.
        for record in report::fastest_variants(measured) {
            if cli.json {
                println!("{}", report::json_line(&record));
            }
            records.push(record);
        }
        start = end;
    }

    if wanted(&cli.imp, GO) && !selected.is_empty() && !modes.is_empty() {
        match &go_version {
            None => eprintln!("note: `go` is not on PATH: skipping the Go peer"),
            Some(v) => {
                eprintln!("Go peer ({v}, GOMAXPROCS=2):");
                let names: Vec<(&str, &str)> =
                    selected.iter().map(|s| (s.name, s.family)).collect();
                match go::run(&names, &modes, settings) {
                    Ok(go_records) => {
                        if cli.json {
                            go_records
                                .iter()
                                .for_each(|r| println!("{}", report::json_line(r)));
                        }
                        records.extend(go_records);
                    }
                    Err(e) => {
                        eprintln!("Go peer FAILED: {e}");
                        ok = false;
                    }
                }
            }
        }
    }

    let infos: Vec<ScenarioInfo> = selected
        .iter()
        .map(|s| ScenarioInfo {
            name: s.name.into(),
            description: s.description.into(),
            unit: s.unit.into(),
        })
        .collect();
    if !cli.json {
        print!(
            "{}",
            report::text(&report::blocks(&infos, &records), &header)
        );
    }
    if !cli.no_write {
        let dir = cli.out_dir.unwrap_or_else(default_out_dir);
        write_results(&dir, &infos, &records, &header)?;
    }
    Ok(ok)
}

/// Writes `<family>.md` and `<family>.svg` into `dir` for every family with results.
fn write_results(
    dir: &Path,
    infos: &[ScenarioInfo],
    records: &[Record],
    header: &str,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let families: BTreeSet<&str> = records.iter().map(|r| r.family.as_str()).collect();
    for family in families {
        let recs: Vec<Record> = records
            .iter()
            .filter(|r| r.family == family)
            .cloned()
            .collect();
        let blocks = report::blocks(infos, &recs);
        let title = format!("hoare-bench: {family}");
        let md = dir.join(format!("{family}.md"));
        let mut text = report::markdown(&blocks, &title, header);
        if family == scale::FAMILY {
            text.extend(scale::hedge_section());
        }
        std::fs::write(&md, text).map_err(|e| format!("write {}: {e}", md.display()))?;
        let svg = dir.join(format!("{family}.svg"));
        chart::write_svg(
            &svg,
            &format!("hoare vs peers: {family}, median ns/op (log scale, lower is better)"),
            &blocks,
        )?;
        eprintln!("wrote {} and {}", md.display(), svg.display());
    }
    Ok(())
}

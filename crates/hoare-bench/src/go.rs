//! The Go peer: builds and runs `go/main.go` (goroutines, Go channels and `context`, stdlib only)
//! when `go` is on PATH. Go has one mode; each Go figure is reported under both `blocking` and
//! `async`, unless the Go program tags it with a `mode` (a scenario whose Go case differs by
//! mode, as `cancel_tree`'s, or that has one mode only).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::harness::{Mode, Record, Settings, Stats};

/// The Go program's source, embedded so the binary does not depend on the source tree.
const SOURCE: &str = include_str!("../go/main.go");

/// The rate family's Go peer, built only when x/time/rate is on a GOPATH (see [`x_time_gopath`]).
const RATE_SOURCE: &str = include_str!("../go/rate.go");

/// A GOPATH holding `golang.org/x/time/rate`: `$GOPATH` if it has it, else Debian's
/// (`golang-golang-x-time-dev`).
fn x_time_gopath() -> Option<PathBuf> {
    let has = |p: &PathBuf| p.join("src/golang.org/x/time/rate/rate.go").is_file();
    std::env::var_os("GOPATH")
        .into_iter()
        .flat_map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/share/gocode")])
        .find(has)
}

/// The output of `go version`, or `None` when Go is not installed.
pub fn version() -> Option<String> {
    let out = Command::new("go").arg("version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Where the Go program is built: next to this executable (the cargo target dir), else a temp dir.
fn build_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("hoare-bench-go")))
        .unwrap_or_else(|| std::env::temp_dir().join("hoare-bench-go"))
}

/// Builds the Go program and returns the path of the executable.
fn build() -> Result<PathBuf, String> {
    let dir = build_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let src = dir.join("main.go");
    std::fs::write(&src, SOURCE).map_err(|e| format!("write {}: {e}", src.display()))?;
    let exe = dir.join("chanbench");
    let mut cmd = Command::new("go");
    cmd.arg("build").arg("-o").arg(&exe).arg(&src);
    let rate_src = dir.join("rate.go");
    match x_time_gopath() {
        Some(gopath) => {
            std::fs::write(&rate_src, RATE_SOURCE)
                .map_err(|e| format!("write {}: {e}", rate_src.display()))?;
            cmd.arg(&rate_src).env("GOPATH", gopath);
        }
        None => eprintln!(
            "note: golang.org/x/time/rate is not on a GOPATH (apt-get install \
             golang-golang-x-time-dev): no Go figures for the rate family"
        ),
    }
    cmd.env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .stdout(Stdio::null());
    if std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", dir.join("gocache"));
    }
    let out = cmd.output().map_err(|e| format!("run go build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(exe)
}

/// Builds and runs the Go program for `scenarios` (names it doesn't know are ignored) and
/// returns one record per scenario and mode (only the tagged mode for a result tagged with
/// one). Progress goes to stderr.
pub fn run(
    scenarios: &[(&str, &str)],
    modes: &[Mode],
    settings: Settings,
) -> Result<Vec<Record>, String> {
    let exe = build()?;
    let names: Vec<&str> = scenarios.iter().map(|(name, _)| *name).collect();
    let mode_names: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
    let out = Command::new(&exe)
        .arg("-scenarios")
        .arg(names.join(","))
        .arg("-modes")
        .arg(mode_names.join(","))
        .arg("-reps")
        .arg(settings.reps.to_string())
        .arg("-target-ms")
        .arg(settings.target.as_millis().to_string())
        .env("GOMAXPROCS", "2")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("run {}: {e}", exe.display()))?;
    let mut records = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("bad Go output {line:?}: {e}"))?;
        let Some(&(name, family)) = v["scenario"]
            .as_str()
            .and_then(|s| scenarios.iter().find(|(n, _)| *n == s))
        else {
            continue;
        };
        let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let stats = Stats {
            median: num("ns_per_op"),
            min: num("min"),
            max: num("max"),
            ops: v["ops"].as_u64().unwrap_or(0),
            reps: v["reps"].as_u64().unwrap_or(0) as usize,
        };
        let only = v["mode"].as_str();
        for &mode in modes {
            // An untagged figure stands for the blocking and async modes only.
            let skip = match only {
                Some(m) => m != mode.as_str(),
                None => mode == Mode::Contended,
            };
            if skip {
                continue;
            }
            records.push(Record {
                scenario: name.to_string(),
                family: family.to_string(),
                mode,
                imp: "go".to_string(),
                note: v["note"].as_str().unwrap_or("goroutines").to_string(),
                stats,
            });
        }
    }
    if !out.status.success() {
        eprintln!("hoare-bench: the Go program exited with {}", out.status);
    }
    Ok(records)
}

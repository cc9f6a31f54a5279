//! Output: the text table (stdout), the markdown table and the JSON lines.
//!
//! Results are grouped in blocks, one per (scenario, mode), rows sorted fastest first, each with
//! its ratio to hoare (impl / hoare: above 1 means slower than hoare). A summary gives, per
//! scenario and mode, hoare's ratio to the fastest peer (below 1 means hoare is faster).

use std::fmt::Write as _;

use crate::harness::{Mode, Record};

/// What the report needs to know about a scenario.
#[derive(Clone, Debug)]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// What one op is ("round trip", "message").
    pub unit: String,
}

/// One (scenario, mode) block of the report.
pub struct Block<'a> {
    /// The scenario.
    pub scenario: &'a ScenarioInfo,
    /// The mode.
    pub mode: Mode,
    /// Rows, fastest first.
    pub rows: Vec<&'a Record>,
    /// hoare's median, when hoare was measured.
    pub hoare: Option<f64>,
}

impl Block<'_> {
    /// The fastest Rust peer: the fastest row that is neither hoare nor Go (Go's runtime
    /// schedules goroutines, not threads or tokio tasks, so it is reported beside the
    /// peers as a reference).
    pub fn fastest_peer(&self) -> Option<&Record> {
        self.rows
            .iter()
            .copied()
            .find(|r| r.imp != "hoare" && r.imp != "go")
    }

    /// The Go row, when Go was measured.
    pub fn go(&self) -> Option<&Record> {
        self.rows.iter().copied().find(|r| r.imp == "go")
    }
}

/// Groups `records` into blocks in scenario order, then mode order; empty blocks are left out.
pub fn blocks<'a>(scenarios: &'a [ScenarioInfo], records: &'a [Record]) -> Vec<Block<'a>> {
    let mut out = Vec::new();
    for s in scenarios {
        for mode in Mode::ALL {
            let mut rows: Vec<&Record> = records
                .iter()
                .filter(|r| r.scenario == s.name && r.mode == mode)
                .collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by(|a, b| a.stats.median.total_cmp(&b.stats.median));
            let hoare = rows
                .iter()
                .find(|r| r.imp == "hoare")
                .map(|r| r.stats.median);
            out.push(Block {
                scenario: s,
                mode,
                rows,
                hoare,
            });
        }
    }
    out
}

/// Formats ns/op with 3 significant digits, thousands separated: `6.07`, `30.6`, `908`, `54,601`.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "-".into();
    }
    if ns >= 1000.0 {
        let digits = format!("{:.0}", ns);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if ns >= 100.0 {
        format!("{ns:.0}")
    } else if ns >= 10.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.2}")
    }
}

/// `value / base` with 2 decimals, or `-` when there is no base.
fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 && value.is_finite() => format!("{:.2}", value / b),
        _ => "-".into(),
    }
}

/// The summary line of one block: hoare's ratio to the fastest Rust peer, and to Go.
fn summary(b: &Block) -> String {
    let mut s = match (b.hoare, b.fastest_peer()) {
        (Some(h), Some(p)) => format!(
            "{:.2} (hoare {} vs {} {})",
            h / p.stats.median,
            fmt_ns(h),
            p.imp,
            fmt_ns(p.stats.median)
        ),
        (None, _) => "hoare not measured".into(),
        (_, None) => "no peer measured".into(),
    };
    if let (Some(h), Some(g)) = (b.hoare, b.go()) {
        let _ = write!(s, " [vs go {:.2}]", h / g.stats.median);
    }
    s
}

/// The plain-text table printed on stdout.
pub fn text(blocks: &[Block], header: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{header}\n");
    for b in blocks {
        let _ = writeln!(
            s,
            "{} [{}]: {}; ns per {}",
            b.scenario.name,
            b.mode.as_str(),
            b.scenario.description,
            b.scenario.unit
        );
        let _ = writeln!(
            s,
            "  {:<14} {:>12} {:>9}  note",
            "impl", "median ns/op", "x hoare"
        );
        for r in &b.rows {
            let _ = writeln!(
                s,
                "  {:<14} {:>12} {:>9}  {}",
                r.imp,
                fmt_ns(r.stats.median),
                ratio(r.stats.median, b.hoare),
                r.note
            );
            s.truncate(s.trim_end().len());
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Summary: hoare ns/op / fastest Rust peer ns/op (below 1.00 = hoare faster); [vs go]: hoare / Go"
    );
    let mut last = "";
    for b in blocks {
        if b.scenario.name != last {
            if !last.is_empty() {
                s.push('\n');
            }
            let _ = write!(s, "  {:<12}", b.scenario.name);
            last = &b.scenario.name;
        }
        let _ = write!(s, "  {}: {}", b.mode.as_str(), summary(b));
    }
    if !last.is_empty() {
        s.push('\n');
    }
    s
}

/// The same report as markdown, for `bench/results/<family>.md` and the README.
pub fn markdown(blocks: &[Block], title: &str, header: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {title}\n\n{header}\n");
    let _ = writeln!(
        s,
        "Median ns/op, lower is better; **x hoare** = impl / hoare (above 1: slower than hoare).\n"
    );
    for b in blocks {
        let _ = writeln!(
            s,
            "## {} ({})\n\n{}; ns per {}.\n",
            b.scenario.name,
            b.mode.as_str(),
            b.scenario.description,
            b.scenario.unit
        );
        let _ = writeln!(
            s,
            "| impl | median ns/op | x hoare | note |\n|---|---:|---:|---|"
        );
        for r in &b.rows {
            let name = if r.imp == "hoare" {
                "**hoare**".to_string()
            } else {
                r.imp.clone()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                name,
                fmt_ns(r.stats.median),
                ratio(r.stats.median, b.hoare),
                r.note
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "## Summary\n\nhoare ns/op / fastest Rust peer ns/op (below 1.00: hoare is faster), and hoare / Go.\n"
    );
    let _ = writeln!(
        s,
        "| scenario | mode | hoare ns/op | fastest Rust peer | peer ns/op | hoare / peer | hoare / go |\n|---|---|---:|---|---:|---:|---:|"
    );
    for b in blocks {
        let peer = b.fastest_peer();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            b.scenario.name,
            b.mode.as_str(),
            b.hoare.map_or("-".into(), fmt_ns),
            peer.map_or("-", |p| p.imp.as_str()),
            peer.map_or("-".into(), |p| fmt_ns(p.stats.median)),
            peer.map_or("-".into(), |p| ratio(
                b.hoare.unwrap_or(f64::NAN),
                Some(p.stats.median)
            )),
            b.go().map_or("-".into(), |g| ratio(
                b.hoare.unwrap_or(f64::NAN),
                Some(g.stats.median)
            ))
        );
    }
    s
}

/// Keeps, for each implementation measured as several variants (see `Case::variant`), only
/// its fastest variant; the kept record's note names it and gives the others' medians, e.g.
/// `select! macro (dynamic Select: 61.2)`. Records without a variant pass through; the order
/// of first appearance is kept.
pub fn fastest_variants(measured: Vec<(Record, &str)>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut imps: Vec<&str> = Vec::new();
    for (r, _) in &measured {
        if !imps.contains(&r.imp.as_str()) {
            imps.push(&r.imp);
        }
    }
    for imp in imps {
        let all: Vec<&(Record, &str)> = measured.iter().filter(|(r, _)| r.imp == imp).collect();
        if let [(r, "")] = all.as_slice() {
            out.push(r.clone());
            continue;
        }
        let Some((best, best_variant)) = all
            .iter()
            .copied()
            .min_by(|a, b| a.0.stats.median.total_cmp(&b.0.stats.median))
        else {
            continue;
        };
        let others: Vec<String> = all
            .iter()
            .filter(|(r, _)| !std::ptr::eq(r, best))
            .map(|(r, v)| format!("{v}: {}", fmt_ns(r.stats.median)))
            .collect();
        let mut note = best.note.clone();
        if !note.is_empty() {
            note.push_str("; ");
        }
        note.push_str(best_variant);
        if !others.is_empty() {
            let _ = write!(note, " ({})", others.join(", "));
        }
        out.push(Record {
            note,
            ..best.clone()
        });
    }
    out
}

/// One JSON object (a single line) for `--json`, keys in this order:
/// `{"scenario", "mode", "impl", "ns_per_op", "note"}`; `ns_per_op` is the median.
pub fn json_line(r: &Record) -> String {
    let s = |v: &str| serde_json::Value::from(v).to_string();
    let ns = serde_json::Value::from(r.stats.median); // NaN becomes null
    format!(
        "{{\"scenario\": {}, \"mode\": {}, \"impl\": {}, \"ns_per_op\": {}, \"note\": {}}}",
        s(&r.scenario),
        s(r.mode.as_str()),
        s(&r.imp),
        ns,
        s(&r.note)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Stats;

    fn rec(imp: &str, mode: Mode, median: f64) -> Record {
        Record {
            scenario: "spsc1024".into(),
            family: "channels".into(),
            mode,
            imp: imp.into(),
            note: String::new(),
            stats: Stats {
                median,
                min: median,
                max: median,
                ops: 64,
                reps: 3,
            },
        }
    }

    #[test]
    fn formats_like_the_anchors() {
        assert_eq!(fmt_ns(6.071), "6.07");
        assert_eq!(fmt_ns(30.61), "30.6");
        assert_eq!(fmt_ns(908.2), "908");
        assert_eq!(fmt_ns(54601.0), "54,601");
        assert_eq!(fmt_ns(1234567.0), "1,234,567");
    }

    #[test]
    fn only_the_fastest_variant_is_kept() {
        let recs = vec![
            (rec("hoare", Mode::Blocking, 20.0), ""),
            (rec("crossbeam", Mode::Blocking, 30.0), "select! macro"),
            (rec("crossbeam", Mode::Blocking, 25.0), "dynamic Select"),
            (rec("flume", Mode::Blocking, 40.0), ""),
        ];
        let kept = fastest_variants(recs);
        let imps: Vec<&str> = kept.iter().map(|r| r.imp.as_str()).collect();
        assert_eq!(imps, ["hoare", "crossbeam", "flume"]);
        assert_eq!(kept[1].stats.median, 25.0);
        assert_eq!(kept[1].note, "dynamic Select (select! macro: 30.0)");
        assert_eq!(kept[0].note, "");
    }

    #[test]
    fn blocks_sort_and_ratio() {
        let info = vec![ScenarioInfo {
            name: "spsc1024".into(),
            description: "d".into(),
            unit: "message".into(),
        }];
        let recs = vec![
            rec("hoare", Mode::Blocking, 20.0),
            rec("kanal", Mode::Blocking, 40.0),
            rec("crossbeam", Mode::Blocking, 10.0),
            rec("kanal", Mode::Async, 5.0),
        ];
        let b = blocks(&info, &recs);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].rows[0].imp, "crossbeam");
        assert_eq!(b[0].fastest_peer().unwrap().imp, "crossbeam");
        assert_eq!(summary(&b[0]), "2.00 (hoare 20.0 vs crossbeam 10.0)");
        assert_eq!(summary(&b[1]), "hoare not measured");
        let t = text(&b, "h");
        assert!(t.contains("kanal                  40.0      2.00"), "{t}");
        let md = markdown(&b, "t", "h");
        assert!(md.contains("| **hoare** | 20.0 | 1.00 |  |"), "{md}");
        let j: serde_json::Value = serde_json::from_str(&json_line(&recs[0])).unwrap();
        assert_eq!(j["impl"], "hoare");
        assert_eq!(j["mode"], "blocking");
        assert_eq!(j["ns_per_op"], 20.0);
        assert!(json_line(&recs[0])
            .starts_with(r#"{"scenario": "spsc1024", "mode": "blocking", "impl": "hoare""#));
    }
}

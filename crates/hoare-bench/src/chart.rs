//! The SVG chart: grouped bars, one group per (scenario, mode), one bar per implementation,
//! log-scale ns/op. plotters' SVG backend only: text is written as SVG `<text>`, so no font
//! library or fontconfig is needed.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{fmt_ns, Block};

/// Implementations in legend and bar order, with their colours.
const PALETTE: [(&str, RGBColor); 9] = [
    ("hoare", RGBColor(214, 39, 40)),
    ("go", RGBColor(23, 190, 207)),
    ("crossbeam", RGBColor(31, 119, 180)),
    ("std", RGBColor(127, 127, 127)),
    ("kanal", RGBColor(44, 160, 44)),
    ("flume", RGBColor(255, 127, 14)),
    ("tokio", RGBColor(148, 103, 189)),
    ("async-channel", RGBColor(140, 86, 75)),
    ("tokio-util", RGBColor(188, 189, 34)),
];

/// Colour of an implementation (unknown names, from later scenarios, get a dark grey).
fn color(imp: &str) -> RGBColor {
    PALETTE
        .iter()
        .find(|(name, _)| *name == imp)
        .map_or(RGBColor(60, 60, 60), |(_, c)| *c)
}

/// Position of an implementation in bar order.
fn order(imp: &str) -> usize {
    PALETTE
        .iter()
        .position(|(name, _)| *name == imp)
        .unwrap_or(PALETTE.len())
}

/// A y-axis label: whole numbers with thousands separators, fractions as they are.
fn axis_label(y: f64) -> String {
    if y >= 1000.0 {
        fmt_ns(y)
    } else if y >= 1.0 {
        format!("{:.0}", y)
    } else {
        format!("{y}")
    }
}

/// Writes the chart of `blocks` to `path`.
pub fn write_svg(path: &Path, title: &str, blocks: &[Block]) -> Result<(), String> {
    draw(path, title, blocks).map_err(|e| format!("draw {}: {e}", path.display()))
}

fn draw(path: &Path, title: &str, blocks: &[Block]) -> Result<(), Box<dyn std::error::Error>> {
    let values: Vec<f64> = blocks
        .iter()
        .flat_map(|b| b.rows.iter().map(|r| r.stats.median))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if values.is_empty() {
        return Err("nothing to draw".into());
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    // A whole decade at the bottom; headroom above the tallest bar for its value label.
    let lo = 10f64.powf((min * 0.8).log10().floor());
    let hi = max * 3.0;

    let groups = blocks.len();
    let width = (160 * groups as u32 + 160).max(900);
    let root = SVGBackend::new(path, (width, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(70);

    // Title and legend.
    top.draw(&Text::new(
        title.to_string(),
        (20, 8),
        ("sans-serif", 20).into_font().style(FontStyle::Bold),
    ))?;
    let mut imps: Vec<&str> = blocks
        .iter()
        .flat_map(|b| b.rows.iter().map(|r| r.imp.as_str()))
        .collect();
    imps.sort_by_key(|i| (order(i), i.to_string()));
    imps.dedup();
    let mut x = 20;
    for imp in &imps {
        top.draw(&Rectangle::new(
            [(x, 42), (x + 14, 56)],
            color(imp).filled(),
        ))?;
        top.draw(&Text::new(
            imp.to_string(),
            (x + 19, 42),
            ("sans-serif", 14),
        ))?;
        x += 34 + 8 * imp.len() as i32;
    }
    top.draw(&Text::new(
        "go: goroutines (a figure without a mode is shown in both);  * = capacity 1 (no capacity 0)",
        (x + 20, 43),
        ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
    ))?;

    let labels: Vec<String> = blocks
        .iter()
        .map(|b| format!("{} ({})", b.scenario.name, b.mode.as_str()))
        .collect();
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..groups as f64, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        // Ticks every 0.5: integers separate the groups (unlabelled), halves name them.
        .x_labels(2 * groups + 1)
        .x_label_formatter(&|x| {
            if (x - x.floor() - 0.5).abs() < 1e-6 {
                labels.get(x.floor() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_style(("sans-serif", 14))
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|y| axis_label(*y))
        .y_desc("median ns/op (log scale, lower is better)")
        .axis_desc_style(("sans-serif", 14))
        .draw()?;

    let value_style = TextStyle::from(
        ("sans-serif", 11)
            .into_font()
            .transform(FontTransform::Rotate270),
    )
    .pos(Pos::new(HPos::Left, VPos::Center));
    for (g, b) in blocks.iter().enumerate() {
        let mut rows = b.rows.clone();
        rows.sort_by_key(|r| (order(&r.imp), r.imp.clone()));
        let slot = 0.84 / rows.len() as f64;
        for (j, r) in rows.iter().enumerate() {
            let v = r.stats.median;
            if !(v.is_finite() && v > 0.0) {
                continue;
            }
            let x0 = g as f64 + 0.08 + j as f64 * slot;
            let x1 = x0 + slot * 0.85;
            let c = color(&r.imp);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, lo), (x1, v)],
                c.filled(),
            )))?;
            if r.imp == "hoare" {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, lo), (x1, v)],
                    BLACK.stroke_width(2),
                )))?;
            }
            let star = if r.note.starts_with("cap 1") { "*" } else { "" };
            chart.draw_series(std::iter::once(Text::new(
                format!("{}{star}", fmt_ns(v)),
                ((x0 + x1) / 2.0, v * 1.08),
                value_style.clone(),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}

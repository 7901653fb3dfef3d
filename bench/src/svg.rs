//! Hand-written SVG bar charts: one group of bars per transport and size, one bar per
//! implementation (its median), a whisker for the min–max spread; linear from zero when the
//! values span a small range, log by decades when they span a wide one.
//!
//! `latency.svg` and `throughput.svg` compare the libraries; the spooled zocket variants get
//! their own `spool.svg`, beside plain zocket, so that the main charts stay readable.

use crate::report::{Summary, fmt_rate};
use crate::spec::{Impl, Test, Transport, size_label};
use std::fmt::Write as _;

/// Bar colours, in the order of [`Impl::ALL`].
const COLOURS: [&str; 13] = [
    "#d62728", "#8c564b", "#ff7f0e", "#e377c2", "#bcbd22", "#1f77b4", "#2ca02c", "#ff9896", "#9467bd",
    "#c5b0d5", "#7f7f7f", "#17becf", "#393b79",
];

const BAR_W: f64 = 16.0;
const GROUP_GAP: f64 = 22.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 60.0;
const PLOT_H: f64 = 320.0;
const BOTTOM: f64 = 70.0;
/// Room above the highest value for its rotated label.
const LABEL_ROOM: f64 = 50.0;

/// The chart of one test (`lat` or `thr`) over every transport and size in `rows`, for every
/// implementation but the spooled zocket variants.
pub fn chart(test: Test, rows: &[Summary]) -> String {
    let impls = present(test, rows, |i| i.spooling().is_none());
    let title = match test {
        Test::Lat => "One-way latency, REQ/REP ping-pong (lower is better)",
        Test::Thr => "Throughput, PUSH → PULL (higher is better)",
    };
    bars(test, rows, &impls, title, None)
}

/// The throughput chart of plain zocket and its spooled variants, or `None` when `rows` has no
/// spooled variant.
pub fn spool_chart(rows: &[Summary]) -> Option<String> {
    let impls = present(Test::Thr, rows, |i| {
        matches!(i, Impl::Zocket | Impl::ZocketSpool(_))
    });
    impls.iter().any(|i| i.spooling().is_some()).then(|| {
        bars(
            Test::Thr,
            rows,
            &impls,
            "Throughput with a spool, PUSH → PULL (higher is better)",
            Some(
                "zocket: no spool. always / 100ms / never: FileSpool with that fsync policy; \
                 mem: MemorySpool; +receipts: 100ms, and the PULL keeps FileReceipts. Spooled \
                 rows send fewer messages (see the table).",
            ),
        )
    })
}

/// The implementations in [`Impl::ALL`] order that have `test` rows in `rows` and pass `keep`.
fn present(test: Test, rows: &[Summary], keep: impl Fn(Impl) -> bool) -> Vec<Impl> {
    Impl::ALL
        .into_iter()
        .filter(|&i| keep(i))
        .filter(|&i| {
            rows.iter()
                .any(|r| r.result.cell.imp == i && r.result.cell.test == test)
        })
        .collect()
}

/// A bar chart of `test` for `impls`, with a title and an optional second footnote line.
fn bars(test: Test, rows: &[Summary], impls: &[Impl], title: &str, note: Option<&str>) -> String {
    let groups: Vec<(Transport, usize)> = Transport::ALL
        .into_iter()
        .flat_map(|t| test.sizes().iter().map(move |&s| (t, s)))
        .collect();
    let find = |imp: Impl, (transport, size): (Transport, usize)| {
        rows.iter().find(|r| {
            let c = r.result.cell;
            (c.imp, c.test, c.transport, c.size) == (imp, test, transport, size)
        })
    };
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| r.result.cell.test == test && impls.contains(&r.result.cell.imp))
        .filter_map(|r| r.stats)
        .flat_map(|s| [s.min, s.max])
        .filter(|v| *v > 0.0)
        .collect();
    let scale = Scale::fit(&values);
    let y = |v: f64| scale.y(v);

    let group_w = impls.len() as f64 * BAR_W + GROUP_GAP;
    let width = LEFT + groups.len() as f64 * group_w + 20.0;
    let height = TOP + PLOT_H + BOTTOM + if note.is_some() { 14.0 } else { 0.0 };
    let unit = match test {
        Test::Lat => "µs",
        Test::Thr => "msg/s",
    };
    let axis = match scale {
        Scale::Linear { .. } => unit.to_string(),
        Scale::Log { .. } => format!("{unit} (log scale)"),
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{title}</text>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="14" y="{:.0}" transform="rotate(-90 14 {:.0})" text-anchor="middle">{axis}</text>"#,
        TOP + PLOT_H / 2.0,
        TOP + PLOT_H / 2.0
    );
    // Grid lines and their labels.
    for v in scale.ticks() {
        let yy = y(v);
        let label = fmt_tick(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{label}</text>"##,
            width - 10.0,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    // Legend: each entry as wide as its name needs.
    let mut x = LEFT;
    for imp in impls {
        let colour = colour(*imp);
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.0}" y="34" width="10" height="10" fill="{colour}"/><text x="{:.0}" y="43">{}</text>"#,
            x + 14.0,
            imp.label()
        );
        x += (14.0 + 6.5 * imp.label().len() as f64 + 16.0).max(90.0);
    }
    // Bars.
    let base = TOP + PLOT_H;
    for (g, &group) in groups.iter().enumerate() {
        let gx = LEFT + GROUP_GAP / 2.0 + g as f64 * group_w;
        for (i, &imp) in impls.iter().enumerate() {
            let x = gx + i as f64 * BAR_W;
            let cx = x + BAR_W / 2.0;
            match find(imp, group).and_then(|r| r.stats) {
                Some(s) => {
                    let top = y(s.median);
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                        x + 1.0,
                        BAR_W - 2.0,
                        (base - top).max(0.0),
                        colour(imp),
                        imp.label(),
                        group_label(group),
                        value_label(test, s.median)
                    );
                    let (y_min, y_max) = (y(s.min), y(s.max));
                    let _ = writeln!(
                        svg,
                        r#"<path d="M{cx:.1} {y_min:.1}V{y_max:.1}M{:.1} {y_min:.1}h6M{:.1} {y_max:.1}h6" stroke="black" fill="none"/>"#,
                        cx - 3.0,
                        cx - 3.0
                    );
                    let ly = y_max.min(top) - 4.0;
                    let _ = writeln!(
                        svg,
                        r#"<text x="{cx:.1}" y="{ly:.1}" font-size="9" transform="rotate(-90 {cx:.1} {ly:.1})">{}</text>"#,
                        value_label(test, s.median)
                    );
                }
                None => {
                    let ly = base - 4.0;
                    let _ = writeln!(
                        svg,
                        r##"<text x="{cx:.1}" y="{ly:.1}" font-size="9" fill="#999" transform="rotate(-90 {cx:.1} {ly:.1})">n/a</text>"##
                    );
                }
            }
        }
        let label_x = gx + impls.len() as f64 * BAR_W / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{label_x:.1}" y="{:.0}" text-anchor="middle">{}</text><text x="{label_x:.1}" y="{:.0}" text-anchor="middle">{}</text>"#,
            base + 16.0,
            group.0.key(),
            base + 30.0,
            size_label(group.1)
        );
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{base}" x2="{:.1}" y2="{base}" stroke="black"/>"#,
        width - 10.0
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="{:.0}" fill="#555">Bars: median of the repetitions; whiskers: min–max.</text>"##,
        base + BOTTOM - 14.0
    );
    if let Some(note) = note {
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="{:.0}" fill="#555">{note}</text>"##,
            base + BOTTOM
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// How values map to heights: linear from zero when they span little, else log by decades.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    /// From 0 to `max`, with grid lines every `step`.
    Linear { max: f64, step: f64 },
    /// From 10^`lo` to 10^`hi`.
    Log { lo: f64, hi: f64 },
}

impl Scale {
    /// The scale for a set of positive values.
    fn fit(values: &[f64]) -> Scale {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(0.0, f64::max);
        if values.is_empty() {
            return Scale::Linear { max: 1.0, step: 0.2 };
        }
        if hi / lo <= 30.0 {
            let step = nice_step(hi / 5.0);
            Scale::Linear {
                max: (hi / step).ceil() * step,
                step,
            }
        } else {
            let lo = lo.log10().floor();
            Scale::Log {
                lo,
                hi: hi.log10().ceil().max(lo + 1.0),
            }
        }
    }

    /// The y coordinate of `v`; the top of the scale sits [`LABEL_ROOM`] below the plot's top.
    fn y(self, v: f64) -> f64 {
        let frac = match self {
            Scale::Linear { max, .. } => v / max,
            Scale::Log { lo, hi } => (v.max(1e-12).log10() - lo) / (hi - lo),
        };
        TOP + PLOT_H - (PLOT_H - LABEL_ROOM) * frac.clamp(0.0, 1.0)
    }

    /// The values that get a grid line.
    fn ticks(self) -> Vec<f64> {
        match self {
            Scale::Linear { max, step } => (0..)
                .map(|i| i as f64 * step)
                .take_while(|v| *v <= max * 1.0001)
                .collect(),
            Scale::Log { lo, hi } => (lo as i32..=hi as i32).map(|d| 10f64.powi(d)).collect(),
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1e-12).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
}

/// A grid label: `0.5`, `20`, `100k`, `10M`.
fn fmt_tick(v: f64) -> String {
    let (scaled, suffix) = match v {
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    let digits = if scaled.fract().abs() < 1e-9 { 0 } else { 1 };
    format!("{scaled:.digits$}{suffix}")
}

fn colour(imp: Impl) -> &'static str {
    let i = Impl::ALL.iter().position(|&x| x == imp).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

fn group_label((transport, size): (Transport, usize)) -> String {
    format!("{} {}", transport.key(), size_label(size))
}

fn value_label(test: Test, v: f64) -> String {
    match test {
        Test::Lat => format!("{v:.1} µs"),
        Test::Thr => fmt_rate(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales() {
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(
            Scale::fit(&[5.0, 60.0]),
            Scale::Linear {
                max: 60.0,
                step: 20.0
            }
        );
        assert_eq!(Scale::fit(&[20e3, 9e6]), Scale::Log { lo: 4.0, hi: 7.0 });
        assert_eq!(fmt_tick(1e7), "10M");
        assert_eq!(fmt_tick(2.5), "2.5");
    }
}

//! Turns the measurements into one summary per measurement (median, spread, ratios), and
//! renders them as the text table, `results.json` and `results.csv`.

use crate::orchestrate::{CellResult, Plan};
use crate::spec::{Impl, Spooling, Test, size_label};
use std::fmt::Write as _;

/// Facts about the run, printed above the table and stored in the JSON.
#[derive(Clone, Debug)]
pub struct Meta {
    /// When the run started, UTC, ISO 8601.
    pub started: String,
    /// Wall time of the whole run, seconds.
    pub wall_secs: f64,
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Repetitions per measurement.
    pub reps: usize,
    /// CPU model, cores and kernel.
    pub machine: String,
}

/// One measurement's repetitions, summarised.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The raw repetitions.
    pub result: CellResult,
    /// Median, minimum and maximum of the repetitions; `None` when n/a.
    pub stats: Option<Stats>,
    /// Median over libzmq's median for the same test, transport and size (for the CURVE
    /// rows, over libzmq+curve's).
    pub vs_libzmq: Option<f64>,
    /// Median over the raw baseline's median for the same test, transport and size.
    pub vs_raw: Option<f64>,
    /// Spooled rows only: each repetition over unspooled zocket's in the same repetition
    /// (same test, transport and size). The two ran minutes apart at most, so a machine that
    /// speeds up and slows down moves this less than a ratio of medians.
    pub vs_zocket_paired: Option<Stats>,
    /// Largest peak RSS of the server process over the repetitions, KiB.
    pub server_kib: Option<u64>,
    /// Largest peak RSS of the client process over the repetitions, KiB.
    pub client_kib: Option<u64>,
}

/// Median and spread of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The median (mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of `values`, or `None` if there are none.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Stats {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// Summarises every measurement and works out the ratios to libzmq and the raw baseline.
pub fn summarise(results: &[CellResult]) -> Vec<Summary> {
    let stats_of = |r: &CellResult| match r.failure {
        Some(_) => None,
        None => Stats::of(&r.samples.iter().map(|s| s.value).collect::<Vec<_>>()),
    };
    let median_of = |imp: Impl, r: &CellResult| {
        let cell = r.cell;
        results
            .iter()
            .find(|o| {
                o.cell.imp == imp
                    && (o.cell.test, o.cell.transport, o.cell.size) == (cell.test, cell.transport, cell.size)
            })
            .and_then(stats_of)
            .map(|s| s.median)
    };
    // Pairs by index: a measurement's samples are its repetitions in order, and one that
    // failed has none counted (its later repetitions are skipped).
    let paired = |r: &CellResult| {
        r.cell.imp.spooling()?;
        let cell = r.cell;
        let unspooled = results.iter().find(|o| {
            o.cell.imp == Impl::Zocket
                && (o.cell.test, o.cell.transport, o.cell.size) == (cell.test, cell.transport, cell.size)
        })?;
        if r.failure.is_some() || unspooled.failure.is_some() || r.samples.len() != unspooled.samples.len() {
            return None;
        }
        let ratios: Vec<f64> = r
            .samples
            .iter()
            .zip(&unspooled.samples)
            .map(|(a, b)| a.value / b.value)
            .collect();
        Stats::of(&ratios)
    };
    results
        .iter()
        .map(|r| {
            let stats = stats_of(r);
            let ratio = |imp| Some(stats?.median / median_of(imp, r)?);
            Summary {
                result: r.clone(),
                stats,
                vs_libzmq: ratio(r.cell.imp.libzmq_peer()),
                vs_raw: ratio(Impl::Raw),
                vs_zocket_paired: paired(r),
                server_kib: r.samples.iter().filter_map(|s| s.server_kib).max(),
                client_kib: r.samples.iter().filter_map(|s| s.client_kib).max(),
            }
        })
        .collect()
}

/// Megabytes (10^6 bytes) per second for a message rate at a message size.
pub fn mb_per_s(msgs_per_s: f64, size: usize) -> f64 {
    msgs_per_s * size as f64 / 1e6
}

/// A value in the unit of its test: `23.4 us` or `1.23M`.
fn fmt_value(test: Test, v: f64) -> String {
    match test {
        Test::Lat => format!("{v:.1} us"),
        Test::Thr => fmt_rate(v),
    }
}

/// A message rate with an SI suffix: `950k`, `1.23M`, `4.8k`.
pub fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A spread as `min–max` in the unit of the test (without the unit).
fn fmt_spread(test: Test, s: Stats) -> String {
    match test {
        Test::Lat => format!("{:.1}–{:.1}", s.min, s.max),
        Test::Thr => format!("{}–{}", fmt_rate(s.min), fmt_rate(s.max)),
    }
}

/// A ratio with two decimals, or four below 0.01 (a spool with fsync=always against libzmq).
fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        None => "-".into(),
        Some(r) if r < 0.01 => format!("{r:.4}"),
        Some(r) => format!("{r:.2}"),
    }
}

fn fmt_mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// The one text table of the run, with its heading and notes.
pub fn table(meta: &Meta, plan: &Plan, rows: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "zocket-bench ({} run, {} rep(s) per row, median shown) — {} — {}",
        meta.mode, meta.reps, meta.started, meta.machine
    );
    // The implementation column is as wide as its longest name (spooled variants are long).
    let w = rows
        .iter()
        .map(|r| r.result.cell.imp.label().len())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        out,
        "{:<4} {:<3} {:>6} {:<w$} {:>11} {:>15} {:>7} {:>6} {:>9} {:>13}  count",
        "test", "tp", "size", "impl", "median", "min–max", "×libzmq", "×raw", "MB/s", "RSS srv/cli"
    );
    let mut last_group = None;
    for row in rows {
        let cell = row.result.cell;
        let group = (cell.test, cell.transport, cell.size);
        if last_group.is_some_and(|g| g != group) {
            out.push('\n');
        }
        last_group = Some(group);
        let head = format!(
            "{:<4} {:<3} {:>6} {:<w$}",
            cell.test.key(),
            cell.transport.key(),
            size_label(cell.size),
            cell.imp.label()
        );
        match (&row.stats, &row.result.failure) {
            (Some(s), None) => {
                let mbs = match cell.test {
                    Test::Lat => "-".to_string(),
                    Test::Thr => format!("{:.1}", mb_per_s(s.median, cell.size)),
                };
                let rss = format!("{}/{}", fmt_mib(row.server_kib), fmt_mib(row.client_kib));
                let _ = writeln!(
                    out,
                    "{head} {:>11} {:>15} {:>7} {:>6} {:>9} {:>13}  {}",
                    fmt_value(cell.test, s.median),
                    fmt_spread(cell.test, *s),
                    fmt_ratio(row.vs_libzmq),
                    fmt_ratio(row.vs_raw),
                    mbs,
                    rss,
                    row.result.count
                );
            }
            (_, failure) => {
                let reason = failure.as_deref().unwrap_or("no samples");
                let reason: String = reason.chars().take(90).collect();
                let _ = writeln!(out, "{head} {:>11}   {reason}", "n/a");
            }
        }
    }
    let paired: Vec<&Summary> = rows.iter().filter(|r| r.vs_zocket_paired.is_some()).collect();
    if !paired.is_empty() {
        let _ = writeln!(
            out,
            "\nSpooled rows against unspooled zocket, paired by repetition (median, min–max):"
        );
    }
    for row in paired {
        let (cell, p) = (row.result.cell, row.vs_zocket_paired.expect("filtered"));
        let _ = writeln!(
            out,
            "{:<4} {:<3} {:>6} {:<w$} {:>5} {:>11}",
            cell.test.key(),
            cell.transport.key(),
            size_label(cell.size),
            cell.imp.label(),
            fmt_ratio(Some(p.median)),
            format!("{}–{}", fmt_ratio(Some(p.min)), fmt_ratio(Some(p.max))),
        );
    }
    let _ = write!(
        out,
        "\nNotes:
- lat = one-way latency of a REQ/REP ping-pong (round trip / 2), microseconds, lower is better;
  {} warm-up round trips are not timed. raw = write size bytes, read size bytes back.
- thr = PUSH -> PULL, messages per second counted by the receiver from its first message to its
  last (M = 10^6, k = 10^3), higher is better; MB/s = msg/s x size / 10^6.
- raw = blocking std TcpStream/UnixStream with no framing (TCP_NODELAY on); in thr its sender makes
  one write() per message, so at small sizes it pays a system call per message while the
  libraries batch messages into larger writes: a library can beat the raw baseline there.
- ×libzmq, ×raw = this median / that median. For lat below 1 is faster; for thr above 1 is faster.
- RSS srv/cli = peak resident memory (VmHWM) of the server and client processes in MiB, the
  largest over the repetitions. thr: server = PULL receiver, client = PUSH sender.
- Every row runs its two peers as two processes; HWM 1000 each way where the library has one
  (zmq.rs has none); async libraries on a multi-threaded tokio runtime with default workers.
- count = timed round trips or messages per repetition.\n",
        plan.warmup(Test::Lat)
    );
    if rows.iter().any(|r| r.result.cell.imp.spooling().is_some()) {
        out.push_str(&spool_notes(plan));
    }
    if rows.iter().any(|r| r.result.cell.imp.curve()) || !plan.notes.is_empty() {
        out.push_str(CURVE_NOTES);
    }
    for note in &plan.notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}

/// The notes on the CURVE rows.
const CURVE_NOTES: &str =
    "- zocket+curve, libzmq+curve = the same tests with CURVE security (every message encrypted
  and authenticated, Curve25519/XSalsa20/Poly1305), at 64 B (lat, thr) and 64 KiB (thr) over tcp
  and ipc: the bound side (REP, PULL) is the CURVE server, both peers use fixed test keys, no
  ZAP handler. libzmq+curve is the libzmq that pyzmq bundles (built with libsodium; the zmq
  crate's own libzmq has no CURVE), loaded at run time and driven from Rust with the same calls
  as the libzmq rows. Their ×libzmq is against libzmq+curve, not plain libzmq; compare a +curve
  row with the plain row of the same group for the cost of CURVE.
";

/// The notes on the spooled zocket rows.
fn spool_notes(plan: &Plan) -> String {
    let (cap, always) = (plan.spool_cap(Spooling::Never), plan.spool_cap(Spooling::Always));
    let counts = match always < cap {
        true => format!(
            "at most {cap} messages per repetition, zocket+spool(always) at most {always}
  (an fsync per message: more would take too long)"
        ),
        false => format!("at most {cap} messages per repetition"),
    };
    format!(
        "- zocket+spool(...) = zocket with a spool on the PUSH side (thr only; the receiver is the
  plain zocket PULL). Every send() appends the message to the spool before returning: for
  always/100ms/never a FileSpool, each append a store into a shared mapping of its segment
  file, with fsync after every append (one per group of concurrent appends) and
  acknowledgement (always), at most every 100 ms (100ms) or never (never); mem = MemorySpool,
  no file. Delivery drains the spool to the receiver, which acknowledges the messages it hands
  to the application (ZACK, every 2 ms while a stream flows); an acknowledgement frees them
  from the spool. The sender then closes (linger 60 s: closing waits for every
  acknowledgement) and, for a file spool, checks that it holds no unacknowledged message.
  Each run uses a fresh spool directory under {}, removed afterwards.
- spooled rows send {counts},
  so their count differs from the other rows'. Compare them with the zocket row (no spool) of
  the same group for the cost of the spool.\n",
        std::env::temp_dir().display(),
    )
}

/// Escapes a string for JSON.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number, or `null` for none or a non-finite value.
fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => "null".into(),
    }
}

/// The name of a test's unit in JSON and CSV.
fn unit(test: Test) -> &'static str {
    match test {
        Test::Lat => "us_one_way",
        Test::Thr => "msg_per_s",
    }
}

/// `results.json`: the run's facts and every measurement with its raw repetitions.
pub fn json(meta: &Meta, rows: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{{\n  \"meta\": {{");
    let _ = writeln!(out, "    \"started\": {},", json_str(&meta.started));
    let _ = writeln!(out, "    \"wall_secs\": {:.1},", meta.wall_secs);
    let _ = writeln!(out, "    \"mode\": {},", json_str(meta.mode));
    let _ = writeln!(out, "    \"reps\": {},", meta.reps);
    let _ = writeln!(out, "    \"machine\": {}", json_str(&meta.machine));
    let _ = writeln!(out, "  }},\n  \"results\": [");
    for (i, row) in rows.iter().enumerate() {
        let cell = row.result.cell;
        let samples: Vec<String> = row
            .result
            .samples
            .iter()
            .map(|s| json_num(Some(s.value)))
            .collect();
        let mbs = match cell.test {
            Test::Thr => row.stats.map(|s| mb_per_s(s.median, cell.size)),
            Test::Lat => None,
        };
        let fields = [
            ("test", json_str(cell.test.key())),
            ("transport", json_str(cell.transport.key())),
            ("size", cell.size.to_string()),
            ("impl", json_str(cell.imp.label())),
            ("unit", json_str(unit(cell.test))),
            ("status", json_str(if row.stats.is_some() { "ok" } else { "n/a" })),
            (
                "reason",
                row.result.failure.as_deref().map_or("null".into(), json_str),
            ),
            ("count", row.result.count.to_string()),
            ("samples", format!("[{}]", samples.join(", "))),
            ("median", json_num(row.stats.map(|s| s.median))),
            ("min", json_num(row.stats.map(|s| s.min))),
            ("max", json_num(row.stats.map(|s| s.max))),
            ("mb_per_s", json_num(mbs)),
            ("vs_libzmq", json_num(row.vs_libzmq)),
            ("vs_raw", json_num(row.vs_raw)),
            (
                "vs_zocket_paired",
                json_num(row.vs_zocket_paired.map(|p| p.median)),
            ),
            ("server_vmhwm_kib", json_num(row.server_kib.map(|k| k as f64))),
            ("client_vmhwm_kib", json_num(row.client_kib.map(|k| k as f64))),
        ];
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}: {v}", json_str(k)))
            .collect();
        let comma = if i + 1 < rows.len() { "," } else { "" };
        let _ = writeln!(out, "    {{{}}}{comma}", body.join(", "));
    }
    out.push_str("  ]\n}\n");
    out
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `results.csv`: one line per measurement.
pub fn csv(rows: &[Summary]) -> String {
    let mut out = String::from(
        "test,transport,size,impl,status,unit,median,min,max,mb_per_s,vs_libzmq,vs_raw,reps,count,\
         server_vmhwm_kib,client_vmhwm_kib,reason\n",
    );
    let num = |v: Option<f64>| {
        v.filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!("{v}"))
    };
    for row in rows {
        let cell = row.result.cell;
        let mbs = match cell.test {
            Test::Thr => row.stats.map(|s| mb_per_s(s.median, cell.size)),
            Test::Lat => None,
        };
        let fields = [
            cell.test.key().to_string(),
            cell.transport.key().to_string(),
            cell.size.to_string(),
            cell.imp.label().to_string(),
            if row.stats.is_some() { "ok" } else { "n/a" }.to_string(),
            unit(cell.test).to_string(),
            num(row.stats.map(|s| s.median)),
            num(row.stats.map(|s| s.min)),
            num(row.stats.map(|s| s.max)),
            num(mbs),
            num(row.vs_libzmq),
            num(row.vs_raw),
            row.result.samples.len().to_string(),
            row.result.count.to_string(),
            row.server_kib.map_or(String::new(), |k| k.to_string()),
            row.client_kib.map_or(String::new(), |k| k.to_string()),
            csv_field(row.result.failure.as_deref().unwrap_or("")),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_and_spread() {
        assert_eq!(
            Stats::of(&[3.0, 1.0, 2.0]),
            Some(Stats {
                median: 2.0,
                min: 1.0,
                max: 3.0
            })
        );
        assert_eq!(Stats::of(&[4.0, 1.0]).unwrap().median, 2.5);
        assert_eq!(Stats::of(&[]), None);
    }

    /// A spooled row is compared with unspooled zocket repetition by repetition; a
    /// measurement with a failed repetition gets no paired ratio, and other rows none at all.
    #[test]
    fn spooled_rows_pair_with_unspooled_by_repetition() {
        use crate::orchestrate::{Cell, Sample};
        use crate::spec::{Spooling, Transport};
        let result = |imp, values: &[f64], failure: Option<&str>| CellResult {
            cell: Cell {
                imp,
                test: Test::Thr,
                transport: Transport::Tcp,
                size: 64,
            },
            count: 10,
            samples: values
                .iter()
                .map(|&value| Sample {
                    value,
                    server_kib: None,
                    client_kib: None,
                })
                .collect(),
            failure: failure.map(String::from),
        };
        let never = Impl::ZocketSpool(Spooling::Never);
        let rows = summarise(&[
            result(Impl::Zocket, &[100.0, 200.0, 400.0], None),
            result(never, &[50.0, 60.0, 300.0], None),
        ]);
        let paired = rows[1].vs_zocket_paired.expect("a spooled row");
        assert_eq!((paired.median, paired.min, paired.max), (0.5, 0.3, 0.75));
        assert_eq!(rows[0].vs_zocket_paired, None, "not a spooled row");
        assert!(table_has_pairs(&rows));
        let rows = summarise(&[
            result(Impl::Zocket, &[100.0], Some("peer died")),
            result(never, &[50.0, 60.0], None),
        ]);
        assert_eq!(rows[1].vs_zocket_paired, None, "unspooled failed");
    }

    fn table_has_pairs(rows: &[Summary]) -> bool {
        let meta = Meta {
            started: String::new(),
            wall_secs: 0.0,
            mode: "quick",
            reps: 3,
            machine: String::new(),
        };
        let plan = crate::orchestrate::Plan {
            quick: true,
            reps: 3,
            impls: Vec::new(),
            transports: Vec::new(),
            timeout: std::time::Duration::from_secs(1),
            libzmq_curve: None,
            notes: Vec::new(),
        };
        table(&meta, &plan, rows).contains("paired by repetition")
    }

    #[test]
    fn escaping() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(csv_field("x, \"y\""), "\"x, \"\"y\"\"\"");
        assert_eq!(fmt_rate(1_234_567.0), "1.23M");
        assert_eq!(fmt_rate(95_000.0), "95k");
        assert_eq!(fmt_rate(4_840.0), "4.8k");
        assert_eq!(fmt_ratio(Some(0.000_375)), "0.0004");
        assert_eq!(fmt_ratio(Some(1.234)), "1.23");
    }
}

//! zocket-bench: measures zocket, libzmq, zmq.rs, rzmq and a raw-socket baseline side by side
//! (REQ/REP latency and PUSH/PULL throughput, over TCP and IPC), each measurement with its two
//! peers in two processes, and prints one table with ratios; and zocket and libzmq with CURVE.
//!
//! ```text
//! cargo run --release -p zocket-bench -- [--quick] [--out DIR] [--reps N]
//!                                        [--impl zocket,libzmq,...] [--timeout SECS]
//! ```
//!
//! The same executable is also the peer: `zocket-bench peer --impl ... --role ...` (started by
//! the harness itself, see [`peer`]).

mod impls;
mod orchestrate;
mod peer;
mod report;
mod spec;
mod svg;

use orchestrate::Plan;
use spec::{Impl, Test};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str =
    "usage: zocket-bench [--quick] [--out DIR] [--reps N] [--impl LIST] [--transport LIST] [--timeout SECS]

  --quick         small counts, 2 repetitions (about a minute)
  --out DIR       where results.json, results.csv, table.txt and the charts go
                  (default: bench/results)
  --reps N        repetitions per measurement (default 5, or 2 with --quick)
  --impl LIST     comma-separated subset of: zocket, zocket(2io), zocket+spool(always),
                  zocket+spool(100ms), zocket+spool(never), zocket+spool(mem),
                  zocket+spool+receipts, zocket+curve, libzmq, libzmq+curve, zmqrs, rzmq,
                  raw (default: all);
                  zocket+spool = the five spooled ones, which are measured for throughput
                  only (quote the parentheses in a shell);
                  zocket+curve, libzmq+curve = CURVE security, measured for latency at 64 B
                  and throughput at 64 B and 64 KiB over tcp and ipc; libzmq+curve loads
                  pyzmq's bundled libzmq (or $ZOCKET_BENCH_LIBZMQ) and is skipped without it
  --transport LIST  comma-separated subset of: tcp, ipc, inproc (default: all); inproc rows
                  run both roles in one process and exist for zocket and libzmq only
  --timeout SECS  how long one measurement may take before its peers are killed
                  (default 20 with --quick, 60 otherwise)";

/// The harness's command line.
struct Args {
    plan: Plan,
    out: PathBuf,
}

/// Parses the harness's arguments; `Ok(None)` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut quick = false;
    let mut out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/results"));
    let mut reps = None;
    let mut impls = Impl::ALL.to_vec();
    let mut timeout = None;
    let mut transports = spec::Transport::ALL.to_vec();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => quick = true,
            "--out" => out = PathBuf::from(value()?),
            "--reps" => {
                reps = Some(
                    value()?
                        .parse::<usize>()
                        .map_err(|e| format!("--reps: {e}"))?
                        .max(1),
                )
            }
            "--impl" => {
                impls = Impl::parse_list(value()?)?;
            }
            "--transport" => {
                transports = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<spec::Transport>, String>>()?;
            }
            "--timeout" => timeout = Some(value()?.parse::<u64>().map_err(|e| format!("--timeout: {e}"))?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let plan = Plan {
        quick,
        reps: reps.unwrap_or(if quick { 2 } else { 5 }),
        impls,
        transports,
        timeout: Duration::from_secs(timeout.unwrap_or(if quick { 20 } else { 60 })),
        libzmq_curve: None,
        notes: Vec::new(),
    };
    Ok(Some(Args { plan, out }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("peer") {
        return peer::main(&args[1..]);
    }
    let outcome = match parse_args(&args) {
        Ok(Some(args)) => run(&args),
        Ok(None) => {
            println!("{USAGE}");
            Ok(())
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// Runs every measurement, prints the table and writes the result files.
fn run(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let started = utc_now();
    let clock = Instant::now();
    let mut plan = args.plan.clone();
    plan.notes.push(measured_commit());
    plan.find_libzmq_curve();
    let plan = &plan;
    let results = orchestrate::run_all(plan, &exe);
    let meta = report::Meta {
        started,
        wall_secs: clock.elapsed().as_secs_f64(),
        mode: if plan.quick { "quick" } else { "full" },
        reps: plan.reps,
        machine: machine(),
    };
    let rows = report::summarise(&results);
    let table = report::table(&meta, plan, &rows);
    println!("\n{table}");
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let files = [
        ("results.json", report::json(&meta, &rows)),
        ("results.csv", report::csv(&rows)),
        ("table.txt", table),
        ("latency.svg", svg::chart(Test::Lat, &rows)),
        ("throughput.svg", svg::chart(Test::Thr, &rows)),
    ];
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // The spooled variants' chart; a stale one from an earlier run is removed.
    let spool_svg = out.join("spool.svg");
    match svg::spool_chart(&rows) {
        Some(text) => std::fs::write(&spool_svg, text)
            .map_err(|e| format!("cannot write {}: {e}", spool_svg.display()))?,
        None => {
            let _ = std::fs::remove_file(&spool_svg);
        }
    }
    println!("wall time {:.1} s; results in {}", meta.wall_secs, out.display());
    Ok(())
}

/// CPU model, core count and kernel release, from /proc.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The Gregorian date `days` days after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Count in 400-year eras starting on 0000-03-01, so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A note naming the commit of the tree this run measured (the bench is run from a checkout),
/// and whether the tree had changes not committed.
fn measured_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match (
        git(&["rev-parse", "--short=12", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(commit), Some(changes)) if changes.is_empty() => format!("measured commit {commit}"),
        (Some(commit), Some(_)) => format!("measured commit {commit} with changes not committed"),
        _ => "measured commit unknown (not run from a git checkout)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}

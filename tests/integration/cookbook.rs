//! The `patterns/` cookbook, and the example that mixes a blocking thread with an async
//! task: runs each one's binary with `--short` and checks the counts on its `SUMMARY` line
//! (never its timings).

#[path = "../common/examples.rs"]
mod examples;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RECIPES: [&str; 10] = [
    "pipeline",
    "pubsub_fanout",
    "reqrep_broker",
    "lazy_pirate",
    "lbbroker",
    "mixed_peers",
    "reliable_pipeline",
    "exactly_once_pipeline",
    "transfer_with_checkback",
    "blocking_and_async",
];

/// A recipe's source, from the repository's root.
fn source_of(name: &str) -> String {
    match name {
        "blocking_and_async" => "examples/tokio/blocking_and_async.rs".into(),
        recipe => format!("patterns/{recipe}.rs"),
    }
}
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A recipe's binary, next to the test binaries (built first if need be, see
/// `common/examples.rs`).
fn example(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let names: Vec<String> = RECIPES.iter().map(|r| r.to_string()).collect();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        examples::built_examples(env!("CARGO_PKG_NAME"), env!("CARGO_MANIFEST_DIR"), &names, |r| {
            vec![root.join(source_of(r))]
        })
    });
    dir.join(name)
}

/// Runs a recipe with `--short` (killed after TIME_LIMIT) and returns its SUMMARY fields.
fn run(name: &str) -> HashMap<String, String> {
    let mut child = Command::new(example(name))
        .arg("--short")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{name} still running after {TIME_LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap().unwrap();
    assert!(status.success(), "{name} failed ({status}); output:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("SUMMARY ")).collect();
    assert_eq!(lines.len(), 1, "{name}: expected one SUMMARY line in:\n{text}");
    let mut words = lines[0].split_whitespace().skip(1);
    assert_eq!(words.next(), Some(name), "{}", lines[0]);
    words
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w.to_string(), String::new()), // e.g. "skipped"
        })
        .collect()
}

fn num(s: &HashMap<String, String>, key: &str) -> u64 {
    let v = s.get(key).unwrap_or_else(|| panic!("no {key} in {s:?}"));
    v.parse().unwrap_or_else(|_| panic!("{key}={v} is not a number"))
}

fn nums(s: &HashMap<String, String>, key: &str) -> Vec<u64> {
    let v = s.get(key).unwrap_or_else(|| panic!("no {key} in {s:?}"));
    v.split(',').map(|n| n.parse().unwrap()).collect()
}

/// "got/want" pairs, comma-separated.
fn fractions(s: &HashMap<String, String>, key: &str) -> Vec<(u64, u64)> {
    let v = s.get(key).unwrap_or_else(|| panic!("no {key} in {s:?}"));
    v.split(',')
        .map(|f| {
            let (got, want) = f.split_once('/').unwrap();
            (got.parse().unwrap(), want.parse().unwrap())
        })
        .collect()
}

#[test]
fn pipeline_does_every_task_with_1_2_and_4_workers() {
    let s = run("pipeline");
    let tasks = num(&s, "tasks");
    assert!(tasks > 0);
    assert_eq!(nums(&s, "done"), vec![tasks; 3], "{s:?}");
    assert_eq!(s["sum_ok"], "true", "{s:?}");
}

#[test]
fn pubsub_fast_subscribers_get_all_the_slow_one_fewer() {
    let s = run("pubsub_fanout");
    let published = num(&s, "published");
    let fast = fractions(&s, "fast");
    assert_eq!(fast.len(), 2, "{s:?}");
    for (got, want) in &fast {
        assert!(*want > 0 && got == want, "a fast subscriber lost messages: {s:?}");
    }
    assert_eq!(fast.iter().map(|f| f.1).sum::<u64>(), published, "{s:?}");
    let [(slow, slow_of)] = fractions(&s, "slow")[..] else {
        panic!("{s:?}")
    };
    assert_eq!(slow_of, published);
    assert!(slow > 0 && slow < published, "the slow subscriber: {s:?}");
}

#[test]
fn reqrep_broker_answers_all_and_every_worker_serves() {
    assert_broker_answers_all("reqrep_broker");
}

/// A broker recipe answered every request, and every worker served some.
fn assert_broker_answers_all(recipe: &str) {
    let s = run(recipe);
    let requests = num(&s, "requests");
    assert_eq!(num(&s, "replies"), requests, "{s:?}");
    let per_worker = nums(&s, "per_worker");
    assert_eq!(per_worker.len() as u64, num(&s, "workers"), "{s:?}");
    assert!(per_worker.iter().all(|&n| n > 0), "an idle worker: {s:?}");
    assert_eq!(per_worker.iter().sum::<u64>(), requests, "{s:?}");
}

#[test]
fn lazy_pirate_gets_every_request_answered_despite_crashes() {
    let s = run("lazy_pirate");
    let requests = num(&s, "requests");
    assert!(requests > 0);
    assert_eq!(num(&s, "answered"), requests, "{s:?}");
    assert_eq!(num(&s, "abandoned"), 0, "{s:?}");
    assert!(num(&s, "crashes") > 0, "the server never crashed: {s:?}");
    assert!(num(&s, "retries") >= num(&s, "crashes"), "{s:?}");
}

#[test]
fn lbbroker_answers_all_and_every_worker_serves() {
    assert_broker_answers_all("lbbroker");
}

#[test]
fn mixed_peers_completes_or_is_skipped() {
    let s = run("mixed_peers");
    if s.contains_key("skipped") {
        assert!(s.contains_key("reason"), "{s:?}");
        eprintln!("mixed_peers skipped: {}", s["reason"]);
        return;
    }
    let tasks = num(&s, "tasks");
    assert!(tasks > 0);
    assert_eq!(num(&s, "done"), tasks, "{s:?}");
    assert_eq!(s["sum_ok"], "true", "{s:?}");
    let per_worker = nums(&s, "per_worker");
    assert_eq!(per_worker.len() as u64, num(&s, "workers"), "{s:?}");
    assert_eq!(per_worker.iter().sum::<u64>(), tasks, "{s:?}");
    assert_eq!(num(&s, "exited_cleanly"), num(&s, "workers"), "{s:?}");
}

#[test]
fn reliable_pipeline_loses_nothing_when_stages_are_killed() {
    let s = run("reliable_pipeline");
    let tasks = num(&s, "tasks");
    assert!(tasks > 0);
    assert_eq!(num(&s, "received"), tasks, "{s:?}");
    assert_eq!(num(&s, "missing"), 0, "{s:?}");
    assert!(num(&s, "kills") >= 1, "no stage was killed: {s:?}");
    num(&s, "duplicates"); // present and a number; any count is allowed
}

#[test]
fn exactly_once_pipeline_does_every_task_once_when_stages_are_killed() {
    let s = run("exactly_once_pipeline");
    let tasks = num(&s, "tasks");
    assert!(tasks > 0 && num(&s, "kills") > 0, "{s:?}");
    assert_eq!(num(&s, "processed"), tasks, "{s:?}");
    assert_eq!(num(&s, "duplicates"), 0, "{s:?}");
}

#[test]
fn transfer_with_checkback_balances_every_debit_with_one_credit() {
    let s = run("transfer_with_checkback");
    let transfers = num(&s, "transfers");
    assert!(transfers > 0 && num(&s, "kills") > 0, "{s:?}");
    assert_eq!(num(&s, "debits"), transfers, "{s:?}");
    assert_eq!(num(&s, "credits"), transfers, "{s:?}");
    assert_eq!(num(&s, "duplicates"), 0, "{s:?}");
    assert_eq!(s["balanced"], "true", "{s:?}");
}

#[test]
fn a_blocking_thread_and_an_async_task_share_a_context() {
    let s = run("blocking_and_async");
    let round_trips = num(&s, "round_trips");
    assert!(round_trips > 0);
    assert_eq!(num(&s, "replies_ok"), round_trips, "{s:?}");
    // The runtime has one thread: its ticker ran only because waiting never blocked it.
    assert!(num(&s, "ticks") > 0, "{s:?}");
}

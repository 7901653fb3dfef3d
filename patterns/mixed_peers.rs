//! Mixed peers: the pipeline of `pipeline.rs` with its worker stage in another language.
//! zocket and libzmq speak the same wire protocol (ZMTP 3), so the Rust ventilator and sink
//! talk to Python (pyzmq) workers running in their own processes.
//!
//! ```text
//!        ventilator  PUSH (bind)        ─ this Rust process ─
//!           /                 \
//!   ┌──── PULL ────┐   ┌──── PULL ────┐
//!   │ python3      │   │ python3      │  patterns/mixed_peers_worker.py (pyzmq)
//!   │ worker py0   │   │ worker py1   │  separate processes
//!   └──── PUSH ────┘   └──── PUSH ────┘
//!           \                 /
//!        sink  PULL (bind)   +  PUB (bind) "KILL" ──> SUB in each Python worker
//! ```
//!
//! Without `python3` or its `zmq` module the recipe says so, prints a
//! `SUMMARY mixed_peers skipped reason=...` line and exits with success.
//!
//! Run: `cargo run --release --example mixed_peers [-- --short]` (`pip install pyzmq` first)

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, POLLIN, PollItem, SocketType, poll};

/// The Python worker, run with `python3 -c` (its arguments keep their places in `sys.argv`).
const SCRIPT: &str = include_str!("mixed_peers_worker.py");

/// Why the Python side cannot run here, if it cannot.
fn python_missing() -> Option<&'static str> {
    match Command::new("python3")
        .args(["-c", "import zmq"])
        .stderr(Stdio::null())
        .status()
    {
        Err(_) => Some("python3_not_found"),
        Ok(status) if !status.success() => Some("python_zmq_module_missing"),
        Ok(_) => None,
    }
}

/// Whether a child exited successfully by now; one still running is killed.
fn reap(child: &mut Child) -> bool {
    if let Ok(Some(status)) = child.try_wait() {
        return status.success();
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let short = std::env::args().any(|a| a == "--short");
    let (tasks, workers, work_ms) = if short { (40u64, 2, 5) } else { (200, 2, 5) };
    if let Some(reason) = python_missing() {
        println!("mixed_peers: needs python3 with pyzmq (pip install pyzmq); skipping ({reason})");
        println!("SUMMARY mixed_peers skipped reason={reason}");
        return Ok(());
    }
    let ctx = Context::new();
    let ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind("tcp://127.0.0.1:0")?;
    let sink = ctx.socket(SocketType::Pull)?;
    sink.bind("tcp://127.0.0.1:0")?;
    let kill = ctx.socket(SocketType::Pub)?;
    kill.bind("tcp://127.0.0.1:0")?;
    let eps = [
        ventilator.last_endpoint()?,
        sink.last_endpoint()?,
        kill.last_endpoint()?,
    ];
    let mut children = (0..workers)
        .map(|id| {
            Command::new("python3")
                .args(["-c", SCRIPT])
                .arg(format!("py{id}"))
                .args(&eps)
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Probe until every Python worker has answered (Python takes a moment to start).
    let mut ready = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ready.len() < workers && Instant::now() < deadline {
        if children.iter_mut().any(|c| matches!(c.try_wait(), Ok(Some(_)))) {
            break; // a worker died (its error is on stderr)
        }
        ventilator.send("probe", DONTWAIT).ok(); // nobody connected yet: try again later
        poll(
            &mut [PollItem::new(&sink, POLLIN)],
            Some(Duration::from_millis(20)),
        )?;
        while let Ok(msg) = sink.recv_bytes(DONTWAIT) {
            if let Some(name) = msg.strip_prefix(b"ready ") {
                ready.insert(name.to_vec());
            }
        }
    }
    if ready.len() < workers {
        children.iter_mut().for_each(|c| _ = reap(c));
        return Err(format!("only {} of {workers} Python workers came up", ready.len()).into());
    }

    let start = Instant::now();
    sink.set_rcvtimeo(Some(Duration::from_secs(10)))?; // a stuck worker must not hang us
    let (mut done, mut sum, mut per_worker) = (0, 0, BTreeMap::new());
    let collected = std::thread::scope(|s| -> zocket::Result<()> {
        s.spawn(|| (0..tasks).try_for_each(|n| ventilator.send(format!("task {n} {work_ms}"), 0)));
        while done < tasks {
            let msg = String::from_utf8_lossy(&sink.recv_bytes(0)?).into_owned();
            if let ["result", name, square] = msg.split_whitespace().collect::<Vec<_>>()[..] {
                done += 1;
                sum += square.parse::<u64>().unwrap_or(0);
                *per_worker.entry(name.to_string()).or_insert(0) += 1;
            }
        }
        Ok(())
    });
    if let Err(e) = collected {
        children.iter_mut().for_each(|c| _ = reap(c));
        return Err(e.into());
    }
    let ms = start.elapsed().as_millis();

    // Repeat KILL until every worker has exited (each needs its subscription through).
    let deadline = Instant::now() + Duration::from_secs(10);
    while children.iter_mut().any(|c| matches!(c.try_wait(), Ok(None))) && Instant::now() < deadline {
        kill.send("KILL", 0)?;
        std::thread::sleep(Duration::from_millis(10));
    }
    let clean = children.iter_mut().map(reap).filter(|&ok| ok).count();
    let sum_ok = sum == (0..tasks).map(|n| n * n).sum::<u64>();
    for (name, n) in &per_worker {
        println!("python worker {name} did {n} tasks");
    }
    let counts: Vec<String> = per_worker.values().map(|n| n.to_string()).collect();
    println!(
        "SUMMARY mixed_peers tasks={tasks} workers={workers} done={done} sum_ok={sum_ok} per_worker={} \
         exited_cleanly={clean} ms={ms}",
        counts.join(",")
    );
    Ok(())
}

//! Pipeline (divide and conquer): a ventilator hands out tasks, workers process them in
//! parallel, a sink collects the results and then tells the workers to stop.
//!
//! ```text
//!                 ventilator  PUSH (bind)
//!                /     |     \          tasks, round-robin
//!           PULL      PULL      PULL
//!          worker    worker    worker   (each: sleeps to simulate work)
//!           PUSH      PUSH      PUSH
//!                \     |     /          results, fair-queued
//!                    PULL (bind)  sink  ── PUB (bind) "KILL" ──> SUB in every worker
//! ```
//!
//! The same batch runs with 1, 2 and 4 workers, so the speed-up shows. Before a batch starts
//! the ventilator sends probe tasks until every worker has answered one: otherwise the first
//! worker to connect would get the whole batch.
//!
//! Run: `cargo run --release --example pipeline [-- --short]`

use std::collections::HashSet;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, POLLIN, PollItem, SocketType, poll};

/// The simulated work per task.
const WORK: Duration = Duration::from_millis(5);

/// One worker: tasks in, results out, until the sink publishes KILL.
fn worker(ctx: &Context, id: usize, tasks_ep: &str, results_ep: &str, kill_ep: &str) -> zocket::Result<()> {
    let tasks = ctx.socket(SocketType::Pull)?;
    tasks.connect(tasks_ep)?;
    let results = ctx.socket(SocketType::Push)?;
    results.connect(results_ep)?;
    let kill = ctx.socket(SocketType::Sub)?;
    kill.set_subscribe(b"KILL")?;
    kill.connect(kill_ep)?;
    loop {
        let mut items = [PollItem::new(&tasks, POLLIN), PollItem::new(&kill, POLLIN)];
        poll(&mut items, None)?;
        if items[1].is_readable() {
            return Ok(());
        }
        let task = String::from_utf8_lossy(&tasks.recv_bytes(0)?).into_owned();
        let reply = match task.split_whitespace().collect::<Vec<_>>()[..] {
            ["probe"] => format!("ready {id}"),
            ["task", n, ms] => {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                let n: u64 = n.parse().unwrap_or(0);
                format!("result {id} {}", n * n)
            }
            _ => continue,
        };
        results.send(reply, 0)?;
    }
}

/// Runs one batch with `workers` workers; returns (tasks done, sum of results, wall time).
fn run(workers: usize, tasks: u64) -> zocket::Result<(u64, u64, Duration)> {
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
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|id| {
                let (ctx, eps) = (&ctx, &eps);
                s.spawn(move || worker(ctx, id, &eps[0], &eps[1], &eps[2]))
            })
            .collect();
        // Probe until every worker is connected (each answers "ready <id>" via the sink).
        let mut ready = HashSet::new();
        while ready.len() < workers {
            ventilator.send("probe", 0)?;
            poll(
                &mut [PollItem::new(&sink, POLLIN)],
                Some(Duration::from_millis(5)),
            )?;
            while let Ok(msg) = sink.recv_bytes(DONTWAIT) {
                if let Some(id) = msg.strip_prefix(b"ready ") {
                    ready.insert(id.to_vec());
                }
            }
        }
        let start = Instant::now();
        let vent = s.spawn(|| -> zocket::Result<()> {
            for n in 0..tasks {
                ventilator.send(format!("task {n} {}", WORK.as_millis()), 0)?;
            }
            Ok(())
        });
        let (mut done, mut sum) = (0, 0);
        while done < tasks {
            let msg = String::from_utf8_lossy(&sink.recv_bytes(0)?).into_owned();
            if let ["result", _worker, square] = msg.split_whitespace().collect::<Vec<_>>()[..] {
                done += 1;
                sum += square.parse::<u64>().unwrap_or(0);
            } // late "ready" answers to surplus probes are ignored
        }
        let elapsed = start.elapsed();
        vent.join().expect("ventilator thread")?;
        // Workers may not have their KILL subscription through yet: repeat until all exit.
        while !handles.iter().all(|h| h.is_finished()) {
            kill.send("KILL", 0)?;
            std::thread::sleep(Duration::from_millis(5));
        }
        for h in handles {
            h.join().expect("worker thread")?;
        }
        Ok((done, sum, elapsed))
    })
}

fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let tasks = if short { 40 } else { 200 };
    let expected: u64 = (0..tasks).map(|n| n * n).sum();
    let (mut done, mut ms, mut speedup) = (vec![], vec![], vec![]);
    let mut sum_ok = true;
    let mut base = None;
    for workers in [1, 2, 4] {
        let (d, sum, elapsed) = run(workers, tasks)?;
        let base = *base.get_or_insert(elapsed);
        println!("{workers} worker(s): {d} tasks in {} ms", elapsed.as_millis());
        sum_ok &= sum == expected;
        done.push(d.to_string());
        ms.push(elapsed.as_millis().to_string());
        speedup.push(format!("{:.2}", base.as_secs_f64() / elapsed.as_secs_f64()));
    }
    println!(
        "SUMMARY pipeline tasks={tasks} workers=1,2,4 done={} sum_ok={sum_ok} ms={} speedup={}",
        done.join(","),
        ms.join(","),
        speedup.join(",")
    );
    Ok(())
}

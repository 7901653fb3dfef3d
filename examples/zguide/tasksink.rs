//! Task sink of the parallel pipeline: binds a PULL socket on tcp://*:5558, waits for the
//! ventilator's start-of-batch message, then collects the 100 workers' results and prints how
//! long the batch took.
//!
//! Run: `cargo run --example zguide_tasksink [-- --short] [--port-base N]`, then workers
//! (`zguide_taskwork`) and the ventilator (`zguide_taskvent`).
//!
//! `--short`: expects 20 results (the ventilator's short batch), prints `READY` once bound and
//! `SUMMARY tasksink results=N`. `--port-base N`: the guide's port 5558 becomes N + 3.

use zocket as zmq;

use std::io::Write;
use std::time::Instant;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // zocket: socket types are an enum (zmq::SocketType::Pull), not rust-zmq's zmq::PULL.
    let receiver = context.socket(zmq::SocketType::Pull)?;
    receiver.bind(&args.tcp_bind(5558))?;
    args.ready();

    let tasks = if args.short { 20 } else { 100 };
    let mut results = 0;
    let collected = collect(&receiver, tasks, &mut results);
    interrupt::ok_if_terminated(collected)?;
    args.summary("tasksink", format_args!("results={results}"));
    Ok(())
}

/// Waits for the start of the batch, then for `tasks` results.
fn collect(receiver: &zmq::Socket, tasks: u32, results: &mut u32) -> zmq::Result<()> {
    receiver.recv_msg(0)?; // the start of batch
    let start = Instant::now(); // start our clock now
    for task_nbr in 0..tasks {
        receiver.recv_msg(0)?;
        *results += 1;
        print!("{}", if task_nbr.is_multiple_of(10) { ":" } else { "." });
        std::io::stdout().flush().ok();
    }
    println!("\nTotal elapsed time: {} msec", start.elapsed().as_millis());
    Ok(())
}

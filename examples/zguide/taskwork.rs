//! Task worker of the parallel pipeline: connects a PULL socket to the ventilator
//! (tcp://localhost:5557) for tasks, and a PUSH socket to the sink (tcp://localhost:5558) for
//! results. Each task is a workload in milliseconds: the worker sleeps that long, then sends
//! an empty result to the sink. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_taskwork [-- --short] [--port-base N]`, as many as you
//! like, with `zguide_tasksink` and `zguide_taskvent`.
//!
//! `--short`: prints `READY` once connected, and `SUMMARY taskwork tasks=N` when stopped by
//! Ctrl-C (SIGINT). `--port-base N`: the guide's ports 5557 and 5558 become N + 2 and N + 3.

use zocket as zmq;

use std::io::Write;
use std::time::Duration;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Socket to receive messages on.
    // zocket: socket types are an enum (zmq::SocketType::Pull), not rust-zmq's zmq::PULL.
    let receiver = context.socket(zmq::SocketType::Pull)?;
    receiver.connect(&args.tcp_connect(5557))?;
    // Socket to send messages to.
    let sender = context.socket(zmq::SocketType::Push)?;
    sender.connect(&args.tcp_connect(5558))?;
    args.ready();

    let mut tasks = 0;
    let worked = work(&receiver, &sender, &mut tasks);
    interrupt::ok_if_terminated(worked)?;
    println!();
    args.summary("taskwork", format_args!("tasks={tasks}"));
    Ok(())
}

/// Processes tasks forever (until the context is shut down).
fn work(receiver: &zmq::Socket, sender: &zmq::Socket, tasks: &mut u32) -> zmq::Result<()> {
    loop {
        let task = receiver.recv_string(0)?.unwrap_or_default();
        print!("{task}."); // show progress
        std::io::stdout().flush().ok();
        let workload = task.parse().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(workload)); // do the work
        sender.send("", 0)?; // send the result to the sink
        *tasks += 1;
    }
}

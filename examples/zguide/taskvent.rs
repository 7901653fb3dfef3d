//! Task ventilator of the parallel pipeline: binds a PUSH socket on tcp://*:5557 to send tasks
//! to the workers (`zguide_taskwork`), and connects a PUSH socket to the sink
//! (`zguide_tasksink`, tcp://localhost:5558) to tell it the batch has started. Waits for Enter
//! (so that the workers can connect first), then sends 100 tasks, each a workload in
//! milliseconds.
//!
//! Run: start the sink and some workers, then
//! `cargo run --example zguide_taskvent [-- --short] [--port-base N]`.
//!
//! `--short`: does not wait for Enter, sends 20 tasks of 1 to 5 ms and prints
//! `SUMMARY taskvent tasks=N`. `--port-base N`: the guide's ports 5557 and 5558 become N + 2
//! and N + 3.

use zocket as zmq;

use std::time::Duration;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;
use zhelpers::randof;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Socket to send messages on.
    // zocket: socket types are an enum (zmq::SocketType::Push), not rust-zmq's zmq::PUSH.
    let sender = context.socket(zmq::SocketType::Push)?;
    sender.bind(&args.tcp_bind(5557))?;
    // Socket to send the start of batch message on.
    let sink = context.socket(zmq::SocketType::Push)?;
    sink.connect(&args.tcp_connect(5558))?;

    if !args.short && !wait_for_enter()? {
        return Ok(()); // Ctrl-C
    }
    println!("Sending tasks to workers...");

    let (tasks, max_workload) = if args.short { (20, 5) } else { (100, 100) };
    let mut sent = 0;
    let ventilated = ventilate(&sender, &sink, tasks, max_workload, &mut sent);
    interrupt::ok_if_terminated(ventilated)?;
    // The guide sleeps a second here to let the messages go out; zocket's sockets deliver what
    // they queued when they are closed (for up to their linger period, 2 s by default).
    args.summary("taskvent", format_args!("tasks={sent}"));
    Ok(())
}

/// Waits until Enter is pressed: `Ok(false)` if Ctrl-C comes first. A plain read of stdin
/// would not return on Ctrl-C (the handler is installed), so stdin is polled, as zmq::poll
/// can with `PollItem::from_fd`, a tenth of a second at a time.
fn wait_for_enter() -> zmq::Result<bool> {
    println!("Press Enter when the workers are ready: ");
    while !interrupt::interrupted() {
        let mut items = [zmq::PollItem::from_fd(0, zmq::POLLIN)];
        // zocket: the timeout is an Option<Duration>, not rust-zmq's i64 milliseconds.
        zmq::poll(&mut items, Some(Duration::from_millis(100)))?;
        if items[0].is_readable() {
            std::io::stdin().read_line(&mut String::new())?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Signals the start of the batch, then sends `tasks` random workloads.
fn ventilate(
    sender: &zmq::Socket,
    sink: &zmq::Socket,
    tasks: u32,
    max_workload: u32,
    sent: &mut u32,
) -> zmq::Result<()> {
    // The first message is "0" and signals the start of the batch.
    sink.send("0", 0)?;
    let mut total_msec = 0;
    for _ in 0..tasks {
        // A random workload from 1 to max_workload msecs.
        let workload = randof(max_workload) + 1;
        total_msec += workload;
        // Blocks until a worker is connected: a PUSH socket never drops a message.
        sender.send(workload.to_string(), 0)?;
        *sent += 1;
    }
    println!("Total expected cost: {total_msec} msec");
    Ok(())
}

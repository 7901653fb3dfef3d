//! Reading from two sockets at once, the right way: connects a PULL socket to the task
//! ventilator (`zguide_taskvent`, tcp://localhost:5557) and a SUB socket to the weather server
//! (`zguide_wuserver`, tcp://localhost:5556, zip code 10001), and waits on both with
//! `zmq::poll`. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_mspoller [-- --short] [--port-base N]`, with the weather
//! server and the ventilator running.
//!
//! `--short`: stops once it has the ventilator's whole short batch (20 tasks) and at least 5
//! weather updates, and prints `SUMMARY mspoller tasks=N updates=M`. `--port-base N`: the
//! guide's ports 5556 and 5557 become N + 1 and N + 2.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

/// What short mode waits for.
const SHORT_TASKS: u32 = 20;
const SHORT_UPDATES: u32 = 5;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Connect to the task ventilator.
    // zocket: socket types are an enum (zmq::SocketType::Pull), not rust-zmq's zmq::PULL.
    let receiver = context.socket(zmq::SocketType::Pull)?;
    receiver.connect(&args.tcp_connect(5557))?;
    // Connect to the weather server.
    let subscriber = context.socket(zmq::SocketType::Sub)?;
    subscriber.connect(&args.tcp_connect(5556))?;
    subscriber.set_subscribe(b"10001 ")?;

    let (mut tasks, mut updates) = (0, 0);
    let polled = poll_both(&receiver, &subscriber, &args, &mut tasks, &mut updates);
    interrupt::ok_if_terminated(polled)?;
    println!("Processed {tasks} tasks and {updates} weather updates");
    args.summary("mspoller", format_args!("tasks={tasks} updates={updates}"));
    Ok(())
}

/// Processes messages from both sockets as they arrive.
fn poll_both(
    receiver: &zmq::Socket,
    subscriber: &zmq::Socket,
    args: &zhelpers::Args,
    tasks: &mut u32,
    updates: &mut u32,
) -> zmq::Result<()> {
    while !(args.short && *tasks >= SHORT_TASKS && *updates >= SHORT_UPDATES) {
        let mut items = [
            receiver.as_poll_item(zmq::POLLIN),
            subscriber.as_poll_item(zmq::POLLIN),
        ];
        // zocket: the timeout is an Option<Duration> (None: wait forever), not rust-zmq's
        // i64 milliseconds with -1 for forever.
        zmq::poll(&mut items, None)?;
        if items[0].is_readable() {
            receiver.recv_msg(0)?;
            *tasks += 1; // process task
        }
        if items[1].is_readable() {
            subscriber.recv_msg(0)?;
            *updates += 1; // process weather update
        }
    }
    Ok(())
}

//! Reading from two sockets at once, the simple way: connects a PULL socket to the task
//! ventilator (`zguide_taskvent`, tcp://localhost:5557) and a SUB socket to the weather server
//! (`zguide_wuserver`, tcp://localhost:5556, zip code 10001), and alternates non-blocking
//! reads on them, napping a millisecond when neither has anything. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_msreader [-- --short] [--port-base N]`, with the weather
//! server and the ventilator running.
//!
//! `--short`: stops once it has the ventilator's whole short batch (20 tasks) and at least 5
//! weather updates, and prints `SUMMARY msreader tasks=N updates=M`. `--port-base N`: the
//! guide's ports 5556 and 5557 become N + 1 and N + 2.

use zocket as zmq;

use std::time::Duration;

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
    let read = read_both(&receiver, &subscriber, &args, &mut tasks, &mut updates);
    interrupt::ok_if_terminated(read)?;
    println!("Processed {tasks} tasks and {updates} weather updates");
    args.summary("msreader", format_args!("tasks={tasks} updates={updates}"));
    Ok(())
}

/// Processes messages from both sockets, tasks first.
fn read_both(
    receiver: &zmq::Socket,
    subscriber: &zmq::Socket,
    args: &zhelpers::Args,
    tasks: &mut u32,
    updates: &mut u32,
) -> zmq::Result<()> {
    while !(args.short && *tasks >= SHORT_TASKS && *updates >= SHORT_UPDATES) {
        let mut got_any = false;
        // Process any waiting tasks.
        while let Some(_task) = try_recv(receiver)? {
            *tasks += 1; // process task
            got_any = true;
        }
        // Process any waiting weather updates.
        while let Some(_update) = try_recv(subscriber)? {
            *updates += 1; // process weather update
            got_any = true;
        }
        if !got_any {
            std::thread::sleep(Duration::from_millis(1)); // no activity, so sleep for 1 msec
        }
    }
    Ok(())
}

/// A message if one is waiting; `None` if not. zocket: with zmq::DONTWAIT an empty socket
/// gives `Err(zmq::Error::WouldBlock)`, rust-zmq's `Err(zmq::Error::EAGAIN)`.
fn try_recv(socket: &zmq::Socket) -> zmq::Result<Option<zmq::Message>> {
    match socket.recv_msg(zmq::DONTWAIT) {
        Ok(msg) => Ok(Some(msg)),
        Err(zmq::Error::WouldBlock) => Ok(None),
        Err(e) => Err(e),
    }
}

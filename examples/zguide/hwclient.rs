//! Hello World client: connects a REQ socket to tcp://localhost:5555, sends "Hello" ten times
//! and waits for each "World".
//!
//! Run: `cargo run --example zguide_hwclient [-- --short] [--port-base N]`, with
//! `zguide_hwserver` running (it may also start later: the client reconnects).
//!
//! `--short`: prints `SUMMARY hwclient replies=N` at the end. `--port-base N`: port N instead
//! of 5555.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    println!("Connecting to hello world server...");
    // zocket: socket types are an enum (zmq::SocketType::Req), not rust-zmq's zmq::REQ.
    let requester = context.socket(zmq::SocketType::Req)?;
    requester.connect(&args.tcp_connect(5555))?;

    let mut replies = 0;
    let asked = ask(&requester, &mut replies);
    interrupt::ok_if_terminated(asked)?;
    args.summary("hwclient", format_args!("replies={replies}"));
    Ok(())
}

/// Sends ten requests, one at a time, counting the replies.
fn ask(requester: &zmq::Socket, replies: &mut u32) -> zmq::Result<()> {
    for request_nbr in 0..10 {
        println!("Sending Hello {request_nbr}...");
        requester.send("Hello", 0)?;
        let reply = requester.recv_msg(0)?;
        println!(
            "Received {} {request_nbr}",
            reply.as_str().unwrap_or("(not text)")
        );
        if &reply[..] == b"World" {
            *replies += 1;
        }
    }
    Ok(())
}

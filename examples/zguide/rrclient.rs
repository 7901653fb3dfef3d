//! Request-reply client: connects a REQ socket to the broker's frontend
//! (`zguide_rrbroker` or `zguide_msgqueue`, tcp://localhost:5559) and sends ten "Hello"
//! requests, each answered by some worker.
//!
//! Run: `cargo run --example zguide_rrclient [-- --short] [--port-base N]`, with a broker and
//! some workers running (the client may start first: it reconnects).
//!
//! `--short`: prints `SUMMARY rrclient replies=N` at the end. `--port-base N`: the guide's
//! port 5559 becomes N + 4.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Socket to talk to the broker.
    // zocket: socket types are an enum (zmq::SocketType::Req), not rust-zmq's zmq::REQ.
    let requester = context.socket(zmq::SocketType::Req)?;
    requester.connect(&args.tcp_connect(5559))?;

    let mut replies = 0;
    let asked = ask(&requester, &mut replies);
    interrupt::ok_if_terminated(asked)?;
    args.summary("rrclient", format_args!("replies={replies}"));
    Ok(())
}

/// Ten requests, one at a time, counting the "World" replies.
fn ask(requester: &zmq::Socket, replies: &mut u32) -> zmq::Result<()> {
    for request_nbr in 0..10 {
        requester.send("Hello", 0)?;
        let reply = requester.recv_string(0)?.unwrap_or_default();
        println!("Received reply {request_nbr} [{reply}]");
        if reply == "World" {
            *replies += 1;
        }
    }
    Ok(())
}

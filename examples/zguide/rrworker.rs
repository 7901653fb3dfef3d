//! Request-reply worker: connects a REP socket to the broker's backend (`zguide_rrbroker` or
//! `zguide_msgqueue`, tcp://localhost:5560), and answers each "Hello" with "World" after a
//! second of (simulated) work. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_rrworker [-- --short] [--port-base N]`, as many as you
//! like, with a broker running.
//!
//! `--short`: 1 ms of work per request, `READY` once connected, and
//! `SUMMARY rrworker requests=N` when stopped by Ctrl-C (SIGINT). `--port-base N`: the guide's
//! port 5560 becomes N + 5.

use zocket as zmq;

use std::time::Duration;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Socket to talk to the broker.
    // zocket: socket types are an enum (zmq::SocketType::Rep), not rust-zmq's zmq::REP.
    let responder = context.socket(zmq::SocketType::Rep)?;
    responder.connect(&args.tcp_connect(5560))?;
    args.ready();

    let work = if args.short {
        Duration::from_millis(1)
    } else {
        Duration::from_secs(1)
    };
    let mut requests = 0;
    let served = serve(&responder, work, &mut requests);
    interrupt::ok_if_terminated(served)?;
    args.summary("rrworker", format_args!("requests={requests}"));
    Ok(())
}

/// Answers requests until the context is shut down.
fn serve(responder: &zmq::Socket, work: Duration, requests: &mut u32) -> zmq::Result<()> {
    loop {
        // Wait for the next request from a client.
        let request = responder.recv_string(0)?.unwrap_or_default();
        println!("Received request: [{request}]");
        std::thread::sleep(work); // do some 'work'
        responder.send("World", 0)?; // send the reply back to the client
        *requests += 1;
    }
}

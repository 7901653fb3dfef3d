//! Hello World server: binds a REP socket on tcp://*:5555 and answers each "Hello" with
//! "World", after a second of (simulated) work. Ctrl-C stops it cleanly.
//!
//! Run: `cargo run --example zguide_hwserver [-- --short] [--port-base N]`, then
//! `zguide_hwclient` in another terminal.
//!
//! `--short`: no simulated work, stops after 10 requests, prints `READY` once bound and
//! `SUMMARY hwserver requests=N`. `--port-base N`: port N instead of 5555.

use zocket as zmq;

use std::time::Duration;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

/// Requests served in short mode.
const SHORT_REQUESTS: u32 = 10;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // zocket: socket types are an enum (zmq::SocketType::Rep), not rust-zmq's zmq::REP.
    let responder = context.socket(zmq::SocketType::Rep)?;
    responder.bind(&args.tcp_bind(5555))?;
    args.ready();

    let mut requests = 0;
    let served = serve(&responder, &args, &mut requests);
    interrupt::ok_if_terminated(served)?;
    args.summary("hwserver", format_args!("requests={requests}"));
    Ok(())
}

/// Answers requests until `--short`'s count is reached or the context is shut down.
fn serve(responder: &zmq::Socket, args: &zhelpers::Args, requests: &mut u32) -> zmq::Result<()> {
    while !(args.short && *requests == SHORT_REQUESTS) {
        let request = responder.recv_msg(0)?;
        println!("Received {}", request.as_str().unwrap_or("(not text)"));
        if !args.short {
            std::thread::sleep(Duration::from_secs(1)); // do some 'work'
        }
        responder.send("World", 0)?;
        *requests += 1;
    }
    Ok(())
}

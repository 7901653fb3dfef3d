//! Message queue broker: the same broker as `zguide_rrbroker` (a ROUTER socket on
//! tcp://*:5559 for clients, a DEALER socket on tcp://*:5560 for workers), with the loop
//! replaced by `zmq::proxy`. Runs until Ctrl-C, which makes the proxy return
//! `Err(zmq::Error::Terminated)`.
//!
//! Run: `cargo run --example zguide_msgqueue [-- --short] [--port-base N]`, then
//! `zguide_rrworker`s and `zguide_rrclient`s.
//!
//! `--short`: prints `READY` once bound, and `SUMMARY msgqueue stopped=1` when stopped by
//! Ctrl-C (SIGINT); the proxy keeps no counts, the clients' summaries have them.
//! `--port-base N`: the guide's ports 5559 and 5560 become N + 4 and N + 5.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Socket facing clients.
    // zocket: socket types are an enum (zmq::SocketType::Router), not rust-zmq's zmq::ROUTER.
    let frontend = context.socket(zmq::SocketType::Router)?;
    frontend.bind(&args.tcp_bind(5559))?;
    // Socket facing services.
    let backend = context.socket(zmq::SocketType::Dealer)?;
    backend.bind(&args.tcp_bind(5560))?;
    args.ready();

    // Start the proxy: it runs until the context is shut down.
    // zocket: proxy takes the capture socket as a third argument (rust-zmq has proxy and
    // proxy_with_capture).
    let proxied = zmq::proxy(&frontend, &backend, None);
    interrupt::ok_if_terminated(proxied)?;
    args.summary("msgqueue", format_args!("stopped=1"));
    Ok(())
}

//! Request-reply broker: a ROUTER socket on tcp://*:5559 for clients (`zguide_rrclient`) and a
//! DEALER socket on tcp://*:5560 for services (`zguide_rrworker`), and a loop that polls both
//! and moves each message across, frame by frame. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_rrbroker [-- --short] [--port-base N]`, then workers and
//! clients in other terminals.
//!
//! `--short`: prints `READY` once bound, and `SUMMARY rrbroker requests=N replies=M` (whole
//! messages moved each way) when stopped by Ctrl-C (SIGINT). `--port-base N`: the guide's
//! ports 5559 and 5560 become N + 4 and N + 5.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Prepare our sockets.
    // zocket: socket types are an enum (zmq::SocketType::Router), not rust-zmq's zmq::ROUTER.
    let frontend = context.socket(zmq::SocketType::Router)?;
    let backend = context.socket(zmq::SocketType::Dealer)?;
    frontend.bind(&args.tcp_bind(5559))?;
    backend.bind(&args.tcp_bind(5560))?;
    args.ready();

    let (mut requests, mut replies) = (0, 0);
    let brokered = broker(&frontend, &backend, &mut requests, &mut replies);
    interrupt::ok_if_terminated(brokered)?;
    args.summary("rrbroker", format_args!("requests={requests} replies={replies}"));
    Ok(())
}

/// Switches messages between the sockets until the context is shut down.
fn broker(
    frontend: &zmq::Socket,
    backend: &zmq::Socket,
    requests: &mut u64,
    replies: &mut u64,
) -> zmq::Result<()> {
    loop {
        let mut items = [
            frontend.as_poll_item(zmq::POLLIN),
            backend.as_poll_item(zmq::POLLIN),
        ];
        // zocket: the timeout is an Option<Duration> (None: forever), not rust-zmq's -1.
        zmq::poll(&mut items, None)?;
        if items[0].is_readable() {
            forward(frontend, backend)?;
            *requests += 1;
        }
        if items[1].is_readable() {
            forward(backend, frontend)?;
            *replies += 1;
        }
    }
}

/// Moves one whole message, frame by frame.
fn forward(from: &zmq::Socket, to: &zmq::Socket) -> zmq::Result<()> {
    loop {
        let frame = from.recv_msg(0)?;
        // zocket: Message::more(), rust-zmq's Message::get_more().
        let more = frame.more();
        to.send(frame, if more { zmq::SNDMORE } else { 0 })?;
        if !more {
            return Ok(());
        }
    }
}

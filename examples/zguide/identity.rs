//! Identities and routing ids: a ROUTER socket receives from two REQ peers over
//! inproc://example and dumps each message. The first peer sets no identity, so the ROUTER
//! makes one up (5 bytes, a zero byte first, as libzmq does); the second sets "PEER2", and the
//! ROUTER sees that instead.
//!
//! Run: `cargo run --example zguide_identity [-- --short]` (no ports: everything is inproc,
//! so `--port-base` is accepted and ignored).
//!
//! `--short`: also prints `SUMMARY identity messages=2 anonymous=<hex> named=PEER2`.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // zocket: socket types are an enum (zmq::SocketType::Router), not rust-zmq's zmq::ROUTER.
    let sink = context.socket(zmq::SocketType::Router)?;
    sink.bind("inproc://example")?;

    // First allow 0MQ to set the identity.
    let anonymous = context.socket(zmq::SocketType::Req)?;
    anonymous.connect("inproc://example")?;
    anonymous.send("ROUTER uses a generated 5 byte identity", 0)?;
    let first = zhelpers::dump(&sink)?;

    // Then set the identity ourselves.
    let identified = context.socket(zmq::SocketType::Req)?;
    // zocket: set_routing_id (libzmq's ZMQ_ROUTING_ID), rust-zmq's set_identity.
    identified.set_routing_id(b"PEER2")?;
    identified.connect("inproc://example")?;
    identified.send("ROUTER socket uses REQ's socket identity", 0)?;
    let second = zhelpers::dump(&sink)?;

    // Each message is [identity, empty delimiter, body].
    let anonymous_id = zhelpers::hex(&first[0]);
    let named_id = String::from_utf8_lossy(&second[0]);
    args.summary(
        "identity",
        format_args!("messages=2 anonymous={anonymous_id} named={named_id}"),
    );
    Ok(())
}

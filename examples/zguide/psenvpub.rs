//! Pub-sub envelopes, the publisher: binds a PUB socket on tcp://*:5563 and, every second,
//! publishes two messages whose first frame is the key, "A" then "B", and whose second frame
//! is the content. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_psenvpub [-- --short] [--port-base N]`, then
//! `zguide_psenvsub` in another terminal.
//!
//! `--short`: a pair every 10 ms, `READY` once bound, and `SUMMARY psenvpub pairs=N` when
//! stopped by Ctrl-C (SIGINT). `--port-base N`: the guide's port 5563 becomes N + 8.

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

    // Prepare our publisher.
    // zocket: socket types are an enum (zmq::SocketType::Pub), not rust-zmq's zmq::PUB.
    let publisher = context.socket(zmq::SocketType::Pub)?;
    publisher.bind(&args.tcp_bind(5563))?;
    args.ready();

    let every = if args.short {
        Duration::from_millis(10)
    } else {
        Duration::from_secs(1)
    };
    let mut pairs = 0;
    let published = publish(&publisher, every, &mut pairs);
    interrupt::ok_if_terminated(published)?;
    args.summary("psenvpub", format_args!("pairs={pairs}"));
    Ok(())
}

/// Publishes an "A" and a "B" envelope every `every`, until the context is shut down.
fn publish(publisher: &zmq::Socket, every: Duration, pairs: &mut u64) -> zmq::Result<()> {
    loop {
        // Write two messages, each with an envelope and content.
        publisher.send("A", zmq::SNDMORE)?;
        publisher.send("We don't want to see this", 0)?;
        publisher.send("B", zmq::SNDMORE)?;
        publisher.send("We would like to see this", 0)?;
        *pairs += 1;
        std::thread::sleep(every);
    }
}

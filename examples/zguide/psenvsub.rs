//! Pub-sub envelopes, the subscriber: connects a SUB socket to tcp://localhost:5563,
//! subscribes to the key "B" only, and prints each message as "[key] content". Subscriptions
//! match the first frame, so the key travels in a frame of its own. Runs until Ctrl-C.
//!
//! Run: `cargo run --example zguide_psenvsub [-- --short] [--port-base N]`, with
//! `zguide_psenvpub` running.
//!
//! `--short`: stops after 5 messages and prints `SUMMARY psenvsub received=N b=M other=K`
//! (messages with key "B", and with any other key). `--port-base N`: the guide's port 5563
//! becomes N + 8.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Prepare our subscriber.
    // zocket: socket types are an enum (zmq::SocketType::Sub), not rust-zmq's zmq::SUB.
    let subscriber = context.socket(zmq::SocketType::Sub)?;
    subscriber.connect(&args.tcp_connect(5563))?;
    subscriber.set_subscribe(b"B")?;

    let wanted = if args.short { Some(5) } else { None };
    let (mut b, mut other) = (0, 0);
    let received = receive(&subscriber, wanted, &mut b, &mut other);
    interrupt::ok_if_terminated(received)?;
    let total = b + other;
    args.summary("psenvsub", format_args!("received={total} b={b} other={other}"));
    Ok(())
}

/// Prints messages (all of them, or `wanted`), counting them by key.
fn receive(subscriber: &zmq::Socket, wanted: Option<u32>, b: &mut u32, other: &mut u32) -> zmq::Result<()> {
    while wanted.is_none_or(|wanted| *b + *other < wanted) {
        // Read the envelope with the address, then the message contents.
        let address = subscriber.recv_string(0)?.unwrap_or_default();
        let contents = subscriber.recv_string(0)?.unwrap_or_default();
        println!("[{address}] {contents}");
        match address.as_str() {
            "B" => *b += 1,
            _ => *other += 1,
        }
    }
    Ok(())
}

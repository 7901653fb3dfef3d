//! Weather update server: binds a PUB socket on tcp://*:5556 and publishes random weather
//! updates, "<zipcode> <temperature> <relative humidity>", as fast as it can, until Ctrl-C.
//!
//! Run: `cargo run --example zguide_wuserver [-- --short] [--port-base N]`, then
//! `zguide_wuclient` in another terminal.
//!
//! `--short`: zip codes from 10000 to 10009 only (so that a subscriber to one of them gets its
//! updates quickly), a breath of 1 ms every 100 updates, `READY` once bound, and
//! `SUMMARY wuserver published=N` when stopped by Ctrl-C (SIGINT). `--port-base N`: the
//! guide's port 5556 becomes N + 1.

use zocket as zmq;

use std::time::Duration;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;
use zhelpers::randof;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // zocket: socket types are an enum (zmq::SocketType::Pub), not rust-zmq's zmq::PUB.
    let publisher = context.socket(zmq::SocketType::Pub)?;
    publisher.bind(&args.tcp_bind(5556))?;
    args.ready();

    let mut published: u64 = 0;
    let sent = publish(&publisher, &args, &mut published);
    interrupt::ok_if_terminated(sent)?;
    args.summary("wuserver", format_args!("published={published}"));
    Ok(())
}

/// Publishes updates until the context is shut down.
fn publish(publisher: &zmq::Socket, args: &zhelpers::Args, published: &mut u64) -> zmq::Result<()> {
    loop {
        // Get values that will fool the boss.
        let zipcode = match args.short {
            true => 10000 + randof(10),
            false => randof(100_000),
        };
        let temperature = randof(215) as i32 - 80;
        let relhumidity = randof(50) + 10;
        publisher.send(format!("{zipcode:05} {temperature} {relhumidity}"), 0)?;
        *published += 1;
        if args.short && published.is_multiple_of(100) {
            std::thread::sleep(Duration::from_millis(1)); // leave the test machine some CPU
        }
    }
}

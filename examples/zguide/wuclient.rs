//! Weather update client: connects a SUB socket to tcp://localhost:5556, subscribes to one
//! zip code (the first argument, 10001 by default), collects 100 updates for it and prints
//! the average temperature.
//!
//! Run: `cargo run --example zguide_wuclient [-- --short] [--port-base N] [zipcode]`, with
//! `zguide_wuserver` running.
//!
//! `--short`: 10 updates, then `SUMMARY wuclient zip=Z updates=N average_ok=true|false`
//! (whether the average is a possible temperature). `--port-base N`: the guide's port 5556
//! becomes N + 1.

use zocket as zmq;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    println!("Collecting updates from weather server...");
    // zocket: socket types are an enum (zmq::SocketType::Sub), not rust-zmq's zmq::SUB.
    let subscriber = context.socket(zmq::SocketType::Sub)?;
    subscriber.connect(&args.tcp_connect(5556))?;

    // Subscribe to one zip code; the trailing space keeps 10001 from matching 100010.
    let zip = args.rest.first().map_or("10001", String::as_str);
    let filter = format!("{zip} ");
    subscriber.set_subscribe(filter.as_bytes())?;

    let wanted = if args.short { 10 } else { 100 };
    let mut temperatures = Vec::new();
    let collected = collect(&subscriber, wanted, &mut temperatures);
    interrupt::ok_if_terminated(collected)?;
    if temperatures.is_empty() {
        return Ok(()); // interrupted before the first update
    }
    let average = temperatures.iter().sum::<i64>() / temperatures.len() as i64;
    println!("Average temperature for zipcode '{zip}' was {average}F");
    let average_ok = (-80..=134).contains(&average);
    let updates = temperatures.len();
    args.summary(
        "wuclient",
        format_args!("zip={zip} updates={updates} average_ok={average_ok}"),
    );
    Ok(())
}

/// Receives `wanted` updates, keeping their temperatures.
fn collect(subscriber: &zmq::Socket, wanted: usize, temperatures: &mut Vec<i64>) -> zmq::Result<()> {
    while temperatures.len() < wanted {
        let update = subscriber.recv_string(0)?.unwrap_or_default();
        let mut fields = update.split_whitespace().skip(1); // zipcode temperature relhumidity
        if let Some(temperature) = fields.next().and_then(|t| t.parse().ok()) {
            temperatures.push(temperature);
        }
    }
    Ok(())
}

//! Latency test, measuring side (libzmq's `remote_lat`): connects a REQ socket, sends
//! `roundtrip-count` requests of `message-size` bytes, and prints the average one-way latency
//! in libzmq's format.
//!
//! ```text
//! cargo run --release --example remote_lat -- <connect-to> <message-size> <roundtrip-count>
//! ```

use std::time::Instant;
use zocket::{Context, SocketType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: remote_lat <connect-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    if let Err(e) = run(&args[1], &args[2], &args[3]) {
        eprintln!("remote_lat: {e}");
        std::process::exit(1);
    }
}

fn run(connect_to: &str, size: &str, count: &str) -> Result<(), Box<dyn std::error::Error>> {
    let size: usize = size.parse()?;
    let count: u64 = count.parse()?;
    if count == 0 {
        return Err("roundtrip-count must be positive".into());
    }
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req)?;
    req.connect(connect_to)?;
    let payload = vec![0u8; size];
    let start = Instant::now();
    for _ in 0..count {
        req.send(&payload[..], 0)?;
        let reply = req.recv_msg(0)?;
        if reply.len() != size {
            return Err(format!("message of wrong size: {} instead of {size}", reply.len()).into());
        }
    }
    let elapsed_us = start.elapsed().as_secs_f64() * 1e6;
    let latency = elapsed_us / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}

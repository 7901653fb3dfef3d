//! Throughput test, sending side (libzmq's `remote_thr`): connects a PUSH socket and sends
//! `message-count` messages of `message-size` bytes as fast as it can.
//!
//! ```text
//! cargo run --release --example remote_thr -- <connect-to> <message-size> <message-count>
//! ```

use std::time::Duration;
use zocket::{Context, SocketType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: remote_thr <connect-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    if let Err(e) = run(&args[1], &args[2], &args[3]) {
        eprintln!("remote_thr: {e}");
        std::process::exit(1);
    }
}

fn run(connect_to: &str, size: &str, count: &str) -> Result<(), Box<dyn std::error::Error>> {
    let size: usize = size.parse()?;
    let count: u64 = count.parse()?;
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    // Like libzmq's tool: wait until everything is delivered before exiting.
    push.set_linger(Some(Duration::from_secs(60)))?;
    push.connect(connect_to)?;
    // Like libzmq's tool, each message is its own buffer: small ones are copied into the
    // socket's arena, large ones share one allocation (no copy).
    let payload = vec![0u8; size];
    let shared = bytes::Bytes::from(payload.clone());
    for _ in 0..count {
        if size <= 256 {
            push.send(&payload[..], 0)?;
        } else {
            push.send(shared.clone(), 0)?;
        }
    }
    Ok(())
}

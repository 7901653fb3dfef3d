//! Throughput test, receiving side (libzmq's `local_thr`): binds a PULL socket, receives
//! `message-count` messages of `message-size` bytes, and prints the throughput in libzmq's
//! format. The clock starts at the first message.
//!
//! ```text
//! cargo run --release --example local_thr -- <bind-to> <message-size> <message-count>
//! ```
//! The real endpoint (useful with port 0) is printed on stderr.

use std::time::Instant;
use zocket::{Context, SocketType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_thr <bind-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    if let Err(e) = run(&args[1], &args[2], &args[3]) {
        eprintln!("local_thr: {e}");
        std::process::exit(1);
    }
}

fn run(bind_to: &str, size: &str, count: &str) -> Result<(), Box<dyn std::error::Error>> {
    let size: usize = size.parse()?;
    let count: u64 = count.parse()?;
    if count == 0 {
        return Err("message-count must be positive".into());
    }
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    pull.bind(bind_to)?;
    eprintln!("bound to {}", pull.last_endpoint()?);
    let check = |len: usize| {
        if len == size {
            Ok(())
        } else {
            Err(format!("message of wrong size: {len} instead of {size}"))
        }
    };
    check(pull.recv_msg(0)?.len())?;
    let start = Instant::now();
    for _ in 1..count {
        check(pull.recv_msg(0)?.len())?;
    }
    let elapsed_us = (start.elapsed().as_secs_f64() * 1e6).max(1.0);
    let throughput = count as f64 * 1e6 / elapsed_us;
    let megabits = throughput * size as f64 * 8.0 / 1e6;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}

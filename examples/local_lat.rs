//! Latency test, echo side (libzmq's `local_lat`): binds a REP socket and echoes
//! `roundtrip-count` messages of `message-size` bytes.
//!
//! ```text
//! cargo run --release --example local_lat -- <bind-to> <message-size> <roundtrip-count>
//! ```
//! The real endpoint (useful with port 0) is printed on stderr.

use zocket::{Context, SocketType};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_lat <bind-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    if let Err(e) = run(&args[1], &args[2], &args[3]) {
        eprintln!("local_lat: {e}");
        std::process::exit(1);
    }
}

fn run(bind_to: &str, size: &str, count: &str) -> Result<(), Box<dyn std::error::Error>> {
    let size: usize = size.parse()?;
    let count: u64 = count.parse()?;
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep)?;
    rep.bind(bind_to)?;
    eprintln!("bound to {}", rep.last_endpoint()?);
    for _ in 0..count {
        let msg = rep.recv_msg(0)?;
        if msg.len() != size {
            return Err(format!("message of wrong size: {} instead of {size}", msg.len()).into());
        }
        rep.send(msg, 0)?;
    }
    Ok(())
}

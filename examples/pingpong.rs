//! Ping-pong latency demo over loopback: one thread answers, the main thread asks and times
//! each round trip, then prints round trips per second and latency percentiles.
//!
//! ```text
//! cargo run --release --example pingpong [-- [--pattern reqrep|pair] [--transport tcp|ipc|inproc]
//!                                           [--size BYTES] [--count N]]
//! ```

use std::time::{Duration, Instant};
use zocket::{Context, SocketType};

struct Args {
    pattern: String,
    transport: String,
    size: usize,
    count: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        pattern: "reqrep".into(),
        transport: "tcp".into(),
        size: 64,
        count: 20_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--pattern" => args.pattern = value()?,
            "--transport" => args.transport = value()?,
            "--size" => args.size = value()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let (client_type, server_type) = match args.pattern.as_str() {
        "reqrep" => (SocketType::Req, SocketType::Rep),
        "pair" => (SocketType::Pair, SocketType::Pair),
        other => return Err(format!("unknown pattern {other} (reqrep or pair)").into()),
    };
    let endpoint = match args.transport.as_str() {
        "tcp" => "tcp://127.0.0.1:0".to_string(),
        "ipc" => format!(
            "ipc://{}/zocket-pingpong-{}.sock",
            std::env::temp_dir().display(),
            std::process::id()
        ),
        "inproc" => "inproc://pingpong".to_string(),
        other => return Err(format!("unknown transport {other} (tcp, ipc or inproc)").into()),
    };
    let ctx = Context::new();
    let server = ctx.socket(server_type)?;
    server.bind(&endpoint)?;
    let endpoint = server.last_endpoint()?;
    let total = args.count + args.count / 10; // the first tenth warms up
    let echo = std::thread::spawn(move || -> zocket::Result<()> {
        for _ in 0..total {
            let msg = server.recv_msg(0)?;
            server.send(msg, 0)?;
        }
        Ok(())
    });
    let client = ctx.socket(client_type)?;
    client.set_rcvtimeo(Some(Duration::from_secs(10)))?;
    client.connect(&endpoint)?;
    let payload = vec![0xA5u8; args.size];
    let mut samples = Vec::with_capacity(args.count);
    let start_all = Instant::now();
    let mut measured_from = start_all;
    for i in 0..total {
        if i == args.count / 10 {
            measured_from = Instant::now();
        }
        let start = Instant::now();
        client.send(&payload[..], 0)?;
        let reply = client.recv_msg(0)?;
        if reply.len() != args.size {
            return Err(format!("reply of {} bytes, expected {}", reply.len(), args.size).into());
        }
        if i >= args.count / 10 {
            samples.push(start.elapsed());
        }
    }
    let elapsed = measured_from.elapsed();
    echo.join().map_err(|_| "echo thread panicked")??;
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "pingpong {} over {} ({} B x {}): {:.0} round trips/s; round trip p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us",
        args.pattern,
        endpoint,
        args.size,
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64(),
        us(pct(0.50)),
        us(pct(0.99)),
        us(pct(0.999)),
    );
    Ok(())
}

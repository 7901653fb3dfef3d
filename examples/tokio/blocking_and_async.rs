//! A blocking thread and an async task on one context: the thread serves requests with
//! plain blocking calls (REP), a tokio task sends them (REQ, through
//! `zocket::tokio::AsyncSocket`) and awaits each reply, while a second task ticks. The
//! runtime has a single thread, so the ticks prove that awaiting a reply never blocks it.
//!
//! ```text
//! cargo run -p zocket-integration --example blocking_and_async [-- --short]
//! ```
//!
//! Prints a `SUMMARY` line: round trips made, replies that matched, ticks seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zocket::tokio::AsyncSocket;
use zocket::{Context, SocketType};

#[tokio::main(flavor = "current_thread")]
async fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let round_trips: u64 = if short { 200 } else { 20_000 };
    let ctx = Context::new();

    // The blocking side: an ordinary thread, an ordinary socket.
    let rep = ctx.socket(SocketType::Rep)?;
    rep.bind("tcp://127.0.0.1:0")?;
    let endpoint = rep.last_endpoint()?;
    let server = std::thread::spawn(move || -> zocket::Result<()> {
        for _ in 0..round_trips {
            let request = rep.recv_bytes(0)?;
            // Slow enough that the requester really waits for each reply.
            std::thread::sleep(Duration::from_micros(200));
            rep.send(&request[..], 0)?;
        }
        Ok(())
    });

    // The async side: a ticker, and the requester.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            loop {
                tokio::task::yield_now().await;
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let req = AsyncSocket::new(ctx.socket(SocketType::Req)?)?;
    req.get_ref().connect(&endpoint)?;
    let started = Instant::now();
    let mut replies_ok = 0;
    for n in 0..round_trips {
        let request = n.to_string();
        req.send(request.as_str()).await?;
        if req.recv().await?.as_str() == Some(request.as_str()) {
            replies_ok += 1;
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    server.join().expect("the server thread")?;
    println!(
        "{round_trips} round trips in {elapsed:?}, {} ticks meanwhile",
        ticks.load(Ordering::Relaxed)
    );
    println!(
        "SUMMARY blocking_and_async round_trips={round_trips} replies_ok={replies_ok} ticks={}",
        ticks.load(Ordering::Relaxed)
    );
    Ok(())
}

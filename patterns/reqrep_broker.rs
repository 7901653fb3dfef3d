//! Request/reply through a broker: REQ clients and REP workers both connect to a shared
//! queue built with `zocket::proxy`, so either side can grow without the other knowing.
//!
//! ```text
//!      REQ client   REQ client   REQ client   REQ client
//!               \        |           |        /
//!                ROUTER (bind)  frontend
//!                    zocket::proxy              (forwards both ways, keeps envelopes)
//!                DEALER (bind)  backend
//!                  /          |          \
//!            REP worker   REP worker   REP worker      round-robin: the load spreads
//! ```
//!
//! The ROUTER prefixes each request with the client's routing id and the DEALER passes the
//! envelope through, so each reply finds its way back to the client that asked. A probe
//! client asks until every worker has answered once, so all take part from the start.
//!
//! Run: `cargo run --release --example reqrep_broker [-- --short]`

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use zocket::{Context, SocketType};

/// One REP worker: answers "<request> by w<id>" until `stop`; returns how many it served.
fn worker(ctx: &Context, id: usize, backend: &str, stop: &AtomicBool) -> zocket::Result<usize> {
    let rep = ctx.socket(SocketType::Rep)?;
    rep.set_rcvtimeo(Some(Duration::from_millis(50)))?; // to notice `stop`
    rep.connect(backend)?;
    let mut served = 0;
    while !stop.load(Ordering::Relaxed) {
        let request = match rep.recv_bytes(0) {
            Ok(request) => request,
            Err(zocket::Error::WouldBlock) => continue,
            Err(e) => return Err(e),
        };
        if request != b"probe" {
            served += 1;
            std::thread::sleep(Duration::from_millis(1)); // the "work"
        }
        rep.send([&request[..], format!(" by w{id}").as_bytes()].concat(), 0)?;
    }
    Ok(served)
}

/// One REQ client: `n` requests, each checked against its reply; returns the good replies.
fn client(ctx: &Context, id: usize, frontend: &str, n: usize) -> zocket::Result<usize> {
    let req = ctx.socket(SocketType::Req)?;
    req.connect(frontend)?;
    let mut good = 0;
    for k in 0..n {
        let request = format!("c{id}-{k}");
        req.send(request.as_str(), 0)?;
        let reply = String::from_utf8_lossy(&req.recv_bytes(0)?).into_owned();
        good += usize::from(reply.starts_with(&format!("{request} by w")));
    }
    Ok(good)
}

fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let (clients, workers, per_client) = if short { (4, 3, 25) } else { (8, 4, 250) };
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:0")?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("tcp://127.0.0.1:0")?;
    let (front_ep, back_ep) = (frontend.last_endpoint()?, backend.last_endpoint()?);
    // The proxy runs until the process ends, as zmq_proxy does (proxy_steerable can stop).
    std::thread::spawn(move || zocket::proxy(&frontend, &backend, None));

    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let served: Vec<_> = (0..workers)
            .map(|id| {
                let (ctx, back_ep, stop) = (&ctx, &back_ep, &stop);
                s.spawn(move || worker(ctx, id, back_ep, stop))
            })
            .collect();
        // Probe until each worker has answered once.
        let probe = ctx.socket(SocketType::Req)?;
        probe.connect(&front_ep)?;
        let mut seen = HashSet::new();
        while seen.len() < workers {
            probe.send("probe", 0)?;
            seen.insert(probe.recv_bytes(0)?);
        }
        let start = Instant::now();
        let replies: usize = (0..clients)
            .map(|id| {
                let (ctx, front_ep) = (&ctx, &front_ep);
                s.spawn(move || client(ctx, id, front_ep, per_client))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .sum::<zocket::Result<usize>>()?;
        let ms = start.elapsed().as_millis();
        stop.store(true, Ordering::Relaxed);
        let served = served
            .into_iter()
            .map(|w| w.join().expect("worker thread"))
            .collect::<zocket::Result<Vec<_>>>()?;
        for (id, n) in served.iter().enumerate() {
            println!(
                "worker w{id} served {n:4} {}",
                "#".repeat(n * 40 / (clients * per_client))
            );
        }
        let per_worker: Vec<String> = served.iter().map(|n| n.to_string()).collect();
        println!(
            "SUMMARY reqrep_broker clients={clients} workers={workers} requests={} replies={replies} \
             per_worker={} ms={ms}",
            clients * per_client,
            per_worker.join(",")
        );
        Ok(())
    })
}

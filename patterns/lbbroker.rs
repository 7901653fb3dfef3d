//! Load-balancing broker: workers say when they are ready, and the broker hands each request
//! to the worker that has waited longest (a least-recently-used queue). Unlike round-robin,
//! a slow worker is never handed work it cannot start yet.
//!
//! ```text
//!      REQ client  REQ client  REQ client ...
//!              \        |        /
//!           ROUTER (bind)  frontend     polled only while a worker is ready
//!                  broker: LRU queue of ready workers  [w2, w0, ...]
//!           ROUTER (bind)  backend      always polled
//!              /        |        \
//!      REQ worker  REQ worker  REQ worker   each sends "READY" first, then a reply per job;
//!      (w0: 1 ms)  (w1: 2 ms)  (w2: 3 ms)   faster workers come back sooner and get more
//! ```
//!
//! Envelopes: a client request reaches the broker as [client, "", request]; the broker sends
//! [worker, "", client, "", request] to the backend, the worker's REQ sees [client, "", request]
//! and answers [client, "", reply], which comes back as [worker, "", client, "", reply].
//!
//! Run: `cargo run --release --example lbbroker [-- --short]`

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use zocket::{Context, POLLIN, PollItem, SocketType, poll};

fn worker(ctx: &Context, id: usize, backend: &str) -> zocket::Result<()> {
    let req = ctx.socket(SocketType::Req)?;
    req.set_routing_id(format!("w{id}").as_bytes())?;
    req.connect(backend)?;
    req.send("READY", 0)?;
    loop {
        let mut msg = req.recv_multipart(0)?; // [client, "", request] or ["STOP"]
        if msg.len() != 3 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1 + id as u64)); // the work: w0 is fastest
        msg[2].extend_from_slice(format!(" done by w{id}").as_bytes());
        req.send_multipart(msg, 0)?;
    }
}

/// One REQ client: `n` requests; returns the replies that answered the right request.
fn client(ctx: &Context, id: usize, frontend: &str, n: usize) -> zocket::Result<usize> {
    let req = ctx.socket(SocketType::Req)?;
    req.connect(frontend)?;
    let mut good = 0;
    for k in 0..n {
        let request = format!("c{id}-{k}");
        req.send(request.as_str(), 0)?;
        good += usize::from(
            req.recv_bytes(0)?
                .starts_with(format!("{request} done").as_bytes()),
        );
    }
    Ok(good)
}

fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let (clients, workers, per_client) = if short { (5, 3, 10) } else { (10, 3, 100) };
    let total = clients * per_client;
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:0")?;
    let backend = ctx.socket(SocketType::Router)?;
    backend.bind("tcp://127.0.0.1:0")?;
    let (front_ep, back_ep) = (frontend.last_endpoint()?, backend.last_endpoint()?);
    let start = Instant::now();
    std::thread::scope(|s| {
        let worker_threads: Vec<_> = (0..workers)
            .map(|id| {
                let (ctx, back_ep) = (&ctx, &back_ep);
                s.spawn(move || worker(ctx, id, back_ep))
            })
            .collect();
        let client_threads: Vec<_> = (0..clients)
            .map(|id| {
                let (ctx, front_ep) = (&ctx, &front_ep);
                s.spawn(move || client(ctx, id, front_ep, per_client))
            })
            .collect();

        let mut ready: VecDeque<Vec<u8>> = VecDeque::new(); // least recently used first
        let mut served: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut routed = 0;
        while routed < total {
            let mut items = [PollItem::new(&backend, POLLIN), PollItem::new(&frontend, POLLIN)];
            let watched = if ready.is_empty() { 1 } else { 2 }; // no worker: leave clients waiting
            poll(&mut items[..watched], None)?;
            if items[0].is_readable() {
                let mut msg = backend.recv_multipart(0)?;
                let worker = msg.remove(0); // then "", and "READY" or client, "", reply
                if msg.len() == 4 {
                    frontend.send_multipart(msg.split_off(1), 0)?;
                    *served.entry(worker.clone()).or_default() += 1;
                    routed += 1;
                }
                ready.push_back(worker);
            }
            if watched == 2 && items[1].is_readable() {
                let request = frontend.recv_multipart(0)?; // [client, "", request]
                let worker = ready.pop_front().expect("a ready worker");
                backend.send_multipart([worker, vec![]].into_iter().chain(request), 0)?;
            }
        }
        let good = client_threads
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .sum::<zocket::Result<usize>>()?;
        // Shut down: once every worker is back in the queue, tell each to stop.
        while ready.len() < workers {
            ready.push_back(backend.recv_multipart(0)?.remove(0));
        }
        for worker in ready {
            backend.send_multipart([worker, vec![], b"STOP".to_vec()], 0)?;
        }
        for w in worker_threads {
            w.join().expect("worker thread")?;
        }
        let per_worker: Vec<usize> = (0..workers)
            .map(|id| served.get(format!("w{id}").as_bytes()).copied().unwrap_or(0))
            .collect();
        for (id, n) in per_worker.iter().enumerate() {
            println!(
                "w{id} ({} ms per job) served {n:4} {}",
                1 + id,
                "#".repeat(n * 40 / total)
            );
        }
        let per_worker: Vec<String> = per_worker.iter().map(|n| n.to_string()).collect();
        println!(
            "SUMMARY lbbroker clients={clients} workers={workers} requests={total} replies={good} per_worker={} ms={}",
            per_worker.join(","),
            start.elapsed().as_millis()
        );
        Ok(())
    })
}

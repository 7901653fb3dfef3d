//! Load-balancing broker: client threads (REQ) and worker threads (REQ) in one process, with a
//! broker between them: a ROUTER frontend on ipc://frontend.ipc for clients and a ROUTER
//! backend on ipc://backend.ipc for workers. A worker says "READY" when it starts and then
//! returns each reply; the broker keeps a queue of ready workers and hands each client request
//! to the one that has waited longest. It stops when every client has been answered.
//!
//! Envelopes: a request reaches the frontend as [client, "", request] and goes to the backend
//! as [worker, "", client, "", request]; the worker's REQ strips [worker, ""] and answers
//! [client, "", reply], which the backend receives as [worker, "", client, "", reply].
//!
//! Run: `cargo run --example zguide_lbbroker [-- --short]` (the .ipc files are made in the
//! current directory; `--port-base` is accepted and ignored).
//!
//! `--short`: the same bounded run (10 clients, 3 workers), then
//! `SUMMARY lbbroker clients=10 replies=N workers=3 served=M`.

use zocket as zmq;

use std::collections::VecDeque;

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;

const NBR_CLIENTS: usize = 10;
const NBR_WORKERS: usize = 3;
const FRONTEND: &str = "ipc://frontend.ipc";
const BACKEND: &str = "ipc://backend.ipc";

/// Basic request-reply client: one "HELLO", one reply. Returns whether the reply was "OK".
fn client_task(context: zmq::Context) -> zmq::Result<bool> {
    // zocket: socket types are an enum (zmq::SocketType::Req), not rust-zmq's zmq::REQ.
    let client = context.socket(zmq::SocketType::Req)?;
    // zocket: set_routing_id, rust-zmq's set_identity.
    client.set_routing_id(zhelpers::random_id().as_bytes())?;
    client.connect(FRONTEND)?;

    // Send request, get reply.
    client.send("HELLO", 0)?;
    let reply = client.recv_string(0)?.unwrap_or_default();
    println!("Client: {reply}");
    Ok(reply == "OK")
}

/// Worker: says it is ready, then answers requests until the context is shut down. Returns
/// how many it answered.
fn worker_task(context: zmq::Context) -> zmq::Result<u32> {
    let worker = context.socket(zmq::SocketType::Req)?;
    worker.set_routing_id(zhelpers::random_id().as_bytes())?;
    worker.connect(BACKEND)?;

    // Tell the broker we're ready for work.
    worker.send("READY", 0)?;
    let mut served = 0;
    loop {
        // Read and save all frames until we get an empty frame; here it's just one:
        // [client, "", request].
        let request = match worker.recv_multipart(0) {
            Ok(request) => request,
            // zocket: zmq::Error::Terminated, rust-zmq's zmq::Error::ETERM.
            Err(zmq::Error::Terminated) => return Ok(served),
            Err(e) => return Err(e),
        };
        let [client, empty, body] = &request[..] else {
            continue; // not what the broker sends
        };
        assert!(empty.is_empty());
        println!("Worker: {}", String::from_utf8_lossy(body));
        worker.send_multipart([client.as_slice(), b"", b"OK"], 0)?;
        served += 1;
    }
}

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    // Prepare our sockets.
    // zocket: socket types are an enum (zmq::SocketType::Router), not rust-zmq's zmq::ROUTER.
    let frontend = context.socket(zmq::SocketType::Router)?;
    let backend = context.socket(zmq::SocketType::Router)?;
    frontend.bind(FRONTEND)?;
    backend.bind(BACKEND)?;

    let clients: Vec<_> = (0..NBR_CLIENTS)
        .map(|_| {
            let context = context.clone();
            std::thread::spawn(move || client_task(context))
        })
        .collect();
    let workers: Vec<_> = (0..NBR_WORKERS)
        .map(|_| {
            let context = context.clone();
            std::thread::spawn(move || worker_task(context))
        })
        .collect();

    let brokered = broker(&frontend, &backend);
    interrupt::ok_if_terminated(brokered)?;

    // Every client has its reply (unless interrupted); then stop the workers.
    let mut replies = 0;
    for client in clients {
        replies += match client.join().expect("client thread") {
            Ok(got_ok) => usize::from(got_ok),
            Err(zmq::Error::Terminated) => 0,
            Err(e) => return Err(e),
        };
    }
    // zocket: Context::shutdown (zmq_ctx_shutdown), which rust-zmq does not have: the
    // workers' recv returns Err(zmq::Error::Terminated).
    context.shutdown();
    let mut served = 0;
    for worker in workers {
        served += worker.join().expect("worker thread")?;
    }
    args.summary(
        "lbbroker",
        format_args!("clients={NBR_CLIENTS} replies={replies} workers={NBR_WORKERS} served={served}"),
    );
    Ok(())
}

/// The load-balancing loop, until every client has been answered.
fn broker(frontend: &zmq::Socket, backend: &zmq::Socket) -> zmq::Result<()> {
    // Queue of available workers.
    let mut worker_queue = VecDeque::new();
    let mut client_nbr = NBR_CLIENTS;
    while client_nbr > 0 {
        let mut items = [
            backend.as_poll_item(zmq::POLLIN),
            frontend.as_poll_item(zmq::POLLIN),
        ];
        // Poll the frontend only if we have available workers.
        let polled = if worker_queue.is_empty() { 1 } else { 2 };
        // zocket: the timeout is an Option<Duration> (None: forever), not rust-zmq's -1.
        zmq::poll(&mut items[..polled], None)?;

        // Handle worker activity on the backend.
        if items[0].is_readable() {
            // Queue the worker's identity for load-balancing.
            let mut message = backend.recv_multipart(0)?;
            let worker_id = message.remove(0);
            worker_queue.push_back(worker_id);
            // Second frame is empty; third is "READY" or else a client reply identity.
            if message.len() == 4 {
                // [_, client, "", reply]
                let reply = message.split_off(1);
                frontend.send_multipart(reply, 0)?;
                client_nbr -= 1;
            }
        }
        // Here is how we handle a client request.
        if polled == 2 && items[1].is_readable() {
            // Now get the next client request, route to the last-used worker.
            let request = frontend.recv_multipart(0)?; // [client, "", request]
            let worker_id = worker_queue.pop_front().expect("a ready worker");
            let mut routed = vec![worker_id, Vec::new()];
            routed.extend(request);
            backend.send_multipart(routed, 0)?;
        }
    }
    Ok(())
}

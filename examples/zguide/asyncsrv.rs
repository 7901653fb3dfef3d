//! Asynchronous client/server: three client threads, each a DEALER socket with a random
//! identity connected to tcp://localhost:5570, send a request every second and print
//! whatever replies arrive meanwhile (polling 10 ms at a time). The server thread binds a
//! ROUTER frontend on tcp://*:5570 and a DEALER backend on inproc://backend, starts five
//! worker threads (DEALER sockets connected to the backend) and proxies between the two.
//! Each worker answers a request [identity, content] with 0 to 4 replies, sleeping a random
//! while before each. Everything runs in one process for 5 seconds (or until Ctrl-C).
//!
//! Run: `cargo run --example zguide_asyncsrv [-- --short] [--port-base N]`.
//!
//! `--short`: each client sends 3 requests, 50 ms apart, and waits until each has been
//! answered; workers answer 1 to 4 times after 1 to 10 ms; then
//! `SUMMARY asyncsrv clients=3 requests=N answered=M replies=K`. `--port-base N`: the
//! guide's port 5570 becomes N + 15.

use zocket as zmq;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[path = "interrupt.rs"]
mod interrupt;
#[path = "zhelpers.rs"]
mod zhelpers;
use zhelpers::randof;

const NBR_CLIENTS: usize = 3;
const NBR_WORKERS: usize = 5;
const SHORT_REQUESTS: u32 = 3;

/// What a client did: requests sent, requests answered at least once, replies received.
#[derive(Default)]
struct ClientCounts {
    requests: u32,
    answered: u32,
    replies: u32,
}

/// A client: sends a request every 100 ticks of 10 ms (5 in short mode) and prints replies.
/// In short mode it stops once its requests have all been answered.
fn client_task(context: zmq::Context, endpoint: String, short: bool) -> zmq::Result<ClientCounts> {
    // zocket: socket types are an enum (zmq::SocketType::Dealer), not rust-zmq's zmq::DEALER.
    let client = context.socket(zmq::SocketType::Dealer)?;
    // Set a random identity to make tracing easier.
    let identity = zhelpers::random_id();
    // zocket: set_routing_id, rust-zmq's set_identity.
    client.set_routing_id(identity.as_bytes())?;
    client.connect(&endpoint)?;

    let ticks = if short { 5 } else { 100 };
    let mut counts = ClientCounts::default();
    let mut unanswered = BTreeSet::new();
    loop {
        // Tick once per centisecond, pulling in arriving messages.
        for _ in 0..ticks {
            let mut items = [client.as_poll_item(zmq::POLLIN)];
            // zocket: the timeout is an Option<Duration>, not rust-zmq's i64 milliseconds.
            zmq::poll(&mut items, Some(Duration::from_millis(10)))?;
            if items[0].is_readable() {
                let reply = client.recv_string(0)?.unwrap_or_default();
                println!("{identity}: {reply}");
                if unanswered.remove(&reply) {
                    counts.answered += 1; // its first reply
                }
                counts.replies += 1;
            }
        }
        if short && counts.requests == SHORT_REQUESTS {
            if unanswered.is_empty() {
                return Ok(counts);
            }
            continue; // no more requests: wait for the missing replies
        }
        counts.requests += 1;
        let request = format!("request #{}", counts.requests);
        client.send(request.as_str(), 0)?;
        unanswered.insert(request);
    }
}

/// The server: a ROUTER frontend for clients, a DEALER backend for workers, a pool of worker
/// threads, and a proxy between frontend and backend until the context is shut down.
fn server_task(context: zmq::Context, endpoint: String, short: bool) -> zmq::Result<()> {
    let frontend = context.socket(zmq::SocketType::Router)?;
    frontend.bind(&endpoint)?;
    let backend = context.socket(zmq::SocketType::Dealer)?;
    backend.bind("inproc://backend")?;

    // Launch a pool of worker threads; their number is not critical.
    let workers: Vec<_> = (0..NBR_WORKERS)
        .map(|_| {
            let context = context.clone();
            std::thread::spawn(move || server_worker(context, short))
        })
        .collect();

    // Connect the backend to the frontend via a proxy.
    // zocket: proxy takes the capture socket as a third argument.
    let proxied = zmq::proxy(&frontend, &backend, None);
    for worker in workers {
        interrupt::ok_if_terminated(worker.join().expect("worker thread"))?;
    }
    proxied
}

/// Each worker works on one request at a time and sends a random number of replies back,
/// with random delays between them. The DEALER receives [identity, content] and sends the
/// same envelope back.
fn server_worker(context: zmq::Context, short: bool) -> zmq::Result<()> {
    let worker = context.socket(zmq::SocketType::Dealer)?;
    worker.connect("inproc://backend")?;
    loop {
        let message = worker.recv_multipart(0)?;
        let [identity, content] = &message[..] else {
            continue;
        };
        // Send 0..4 replies back (1..4 in short mode, so that every request is answered).
        let replies = if short { randof(4) + 1 } else { randof(5) };
        for _ in 0..replies {
            // Sleep for some fraction of a second.
            let pause = if short { randof(10) + 1 } else { randof(1000) + 1 };
            std::thread::sleep(Duration::from_millis(u64::from(pause)));
            worker.send_multipart([identity, content], 0)?;
        }
    }
}

fn main() -> zmq::Result<()> {
    let args = zhelpers::Args::parse();
    let context = zmq::Context::new();
    let _interrupt = interrupt::shutdown_on_ctrl_c(&context);

    let clients: Vec<_> = (0..NBR_CLIENTS)
        .map(|_| {
            let (context, endpoint) = (context.clone(), args.tcp_connect(5570));
            std::thread::spawn(move || client_task(context, endpoint, args.short))
        })
        .collect();
    let server = {
        let (context, endpoint) = (context.clone(), args.tcp_bind(5570));
        std::thread::spawn(move || server_task(context, endpoint, args.short))
    };

    if !args.short {
        // Run for 5 seconds then quit (sooner on Ctrl-C).
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) && !interrupt::interrupted() {
            std::thread::sleep(Duration::from_millis(50));
        }
        context.shutdown();
    }
    let mut total = ClientCounts::default();
    for client in clients {
        match client.join().expect("client thread") {
            Ok(counts) => {
                total.requests += counts.requests;
                total.answered += counts.answered;
                total.replies += counts.replies;
            }
            Err(zmq::Error::Terminated) => {} // zocket: rust-zmq's zmq::Error::ETERM
            Err(e) => return Err(e),
        }
    }
    // zocket: Context::shutdown (zmq_ctx_shutdown), which rust-zmq does not have.
    context.shutdown(); // stops the server and its workers
    interrupt::ok_if_terminated(server.join().expect("server thread"))?;
    let ClientCounts {
        requests,
        answered,
        replies,
    } = total;
    args.summary(
        "asyncsrv",
        format_args!("clients={NBR_CLIENTS} requests={requests} answered={answered} replies={replies}"),
    );
    Ok(())
}

//! Lazy Pirate: reliable request/reply from the client side alone. The client waits for
//! each reply with a timeout; when none comes it closes its REQ socket (a REQ that sent and
//! got no answer is stuck), opens a new one, reconnects and sends the request again.
//!
//! ```text
//!    REQ client ──────── tcp://127.0.0.1:<port> ────────> REP server (bind, rebind)
//!    wait TIMEOUT for the reply                           by a seeded PRNG, per request:
//!    none? close REQ, open a new one,                       - "crash": close, pause, rebind
//!          connect, send again (up to MAX_RETRIES)          - answer slowly (> TIMEOUT)
//!                                                           - answer at once (echo)
//! ```
//!
//! The server first binds port 0, then rebinds the port it got after each crash, so the
//! client can keep its endpoint; the client's reconnect logic brings it back. (zocket also
//! has `set_req_relaxed` + `set_req_correlate`, which let one REQ resend without reopening;
//! this recipe shows the classic version, which works against any REQ implementation.)
//!
//! Run: `cargo run --release --example lazy_pirate [-- --short]`

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};
use zocket::{Context, Error, Socket, SocketType};

const MAX_RETRIES: usize = 10;

/// A tiny xorshift64 PRNG, seeded, so each run takes the same path.
struct XorShift(u64);
impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn bind_rep(ctx: &Context, ep: &str) -> zocket::Result<Socket> {
    let rep = ctx.socket(SocketType::Rep)?;
    rep.set_rcvtimeo(Some(Duration::from_millis(20)))?; // to notice `stop`
    rep.set_linger(Some(Duration::ZERO))?;
    for _ in 0..100 {
        // The old listener closes on the I/O thread: until it has, the port is in use.
        match rep.bind(ep) {
            Err(Error::AddrInUse(_)) => std::thread::sleep(Duration::from_millis(10)),
            other => return other.map(|()| rep),
        }
    }
    Err(Error::AddrInUse(ep.to_string())) // someone else took the port meanwhile
}

/// Echoes requests until `stop`, crashing or stalling at random; returns (crashes, slow).
fn server(
    ctx: &Context,
    mut rep: Socket,
    timeout: Duration,
    stop: &AtomicBool,
) -> zocket::Result<(usize, usize)> {
    let ep = rep.last_endpoint()?; // the real port: rebinding uses it again
    let (mut crashes, mut slow) = (0, 0);
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    while !stop.load(Relaxed) {
        let request = match rep.recv_bytes(0) {
            Ok(request) => request,
            Err(Error::WouldBlock) => continue,
            Err(e) => return Err(e),
        };
        match rng.below(8) {
            0 => {
                crashes += 1;
                drop(rep); // "crash": the request is lost, the port goes away for a while
                std::thread::sleep(timeout * 2);
                rep = bind_rep(ctx, &ep)?;
                continue;
            }
            1 => {
                slow += 1;
                std::thread::sleep(timeout * 2); // the client gives up before this reply
            }
            _ => {}
        }
        rep.send(request, 0)?;
    }
    Ok((crashes, slow))
}

fn new_req(ctx: &Context, ep: &str, timeout: Duration) -> zocket::Result<Socket> {
    let req = ctx.socket(SocketType::Req)?;
    req.set_rcvtimeo(Some(timeout))?;
    req.set_linger(Some(Duration::ZERO))?; // closing drops the unanswered request
    req.connect(ep)?;
    Ok(req)
}

/// Returns (answered, retries, abandoned).
fn client(
    ctx: &Context,
    ep: &str,
    requests: usize,
    timeout: Duration,
) -> zocket::Result<(usize, usize, usize)> {
    let (mut answered, mut retries, mut abandoned) = (0, 0, 0);
    let mut req = new_req(ctx, ep, timeout)?;
    for seq in 1..=requests {
        let request = seq.to_string();
        req.send(request.as_str(), 0)?;
        let mut tries = 0;
        loop {
            let reply = match req.recv_bytes(0) {
                Ok(reply) => Some(reply),
                Err(Error::WouldBlock) => None,
                Err(e) => return Err(e),
            };
            if reply.as_deref() == Some(request.as_bytes()) {
                answered += 1;
                break;
            }
            if let Some(reply) = reply {
                println!(
                    "request {seq}: malformed reply {:?}",
                    String::from_utf8_lossy(&reply)
                );
            }
            req = new_req(ctx, ep, timeout)?; // a REQ without its reply is stuck: replace it
            if tries == MAX_RETRIES {
                println!("request {seq}: server seems offline, abandoning");
                abandoned += 1;
                break;
            }
            tries += 1;
            retries += 1;
            println!("request {seq}: no reply, retrying ({tries})");
            req.send(request.as_str(), 0)?;
        }
    }
    Ok((answered, retries, abandoned))
}

fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let (requests, timeout) = if short { (20, 100) } else { (40, 200) };
    let timeout = Duration::from_millis(timeout);
    let ctx = Context::new();
    let rep = bind_rep(&ctx, "tcp://127.0.0.1:0")?;
    let ep = rep.last_endpoint()?;
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let ((answered, retries, abandoned), (crashes, slow)) = std::thread::scope(|s| {
        let server = s.spawn(|| server(&ctx, rep, timeout, &stop));
        let result = client(&ctx, &ep, requests, timeout);
        stop.store(true, Relaxed);
        Ok::<_, Error>((result?, server.join().expect("server thread")?))
    })?;
    println!(
        "SUMMARY lazy_pirate requests={requests} answered={answered} retries={retries} abandoned={abandoned} \
         crashes={crashes} slow={slow} ms={}",
        start.elapsed().as_millis()
    );
    Ok(())
}

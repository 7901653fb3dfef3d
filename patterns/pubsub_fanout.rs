//! Publish/subscribe fan-out: one publisher, subscribers with different topic filters, and a
//! slow subscriber whose high-water mark makes the publisher drop *its* messages only.
//!
//! ```text
//!                publisher  PUB (bound twice: SNDHWM 0, then SNDHWM 20)
//!          weather.* sports.* news.*  + CTRL hello / CTRL end
//!             /                  |                      \
//!    SUB "weather."     SUB "sports." "news."     SUB "" (everything), slow reader
//!    fast: SNDHWM 0      fast: SNDHWM 0            pipe SNDHWM 20, RCVHWM 20
//!    (gets all)          (gets all)                (the publisher drops what does not fit)
//! ```
//!
//! A PUB socket never blocks: when a subscriber's queue is at its high-water mark, the
//! message is dropped for that subscriber and nobody else. As in libzmq, a listener keeps
//! the options the socket had when it was bound, and its peers' pipes take their SNDHWM from
//! them: so the publisher binds once with "unlimited", for the fast subscribers, and once
//! more with a small limit, for the slow one. Each subscriber reports
//! ready when its first "CTRL hello" arrives; the publisher repeats hellos until all have.
//!
//! Run: `cargo run --release --example pubsub_fanout [-- --short]`

use std::sync::mpsc;
use std::time::{Duration, Instant};
use zocket::{Context, SocketType};

const TOPICS: [&str; 3] = ["weather.", "sports.", "news."];

/// One subscriber: counts its data messages until "CTRL end"; a slow one naps 1 ms on each.
fn subscriber(ctx: &Context, ep: &str, filters: &[&str], slow: bool, ready: mpsc::Sender<()>) -> usize {
    let run = || -> zocket::Result<usize> {
        let sub = ctx.socket(SocketType::Sub)?;
        if slow {
            sub.set_rcvhwm(20)?;
        }
        for f in filters.iter().chain(&["CTRL"]) {
            sub.set_subscribe(f.as_bytes())?;
        }
        sub.connect(ep)?;
        let (mut count, mut said_ready) = (0, false);
        loop {
            let msg = sub.recv_bytes(0)?;
            match &msg[..] {
                b"CTRL hello" if !said_ready => {
                    said_ready = true;
                    let _ = ready.send(());
                }
                b"CTRL end" => return Ok(count),
                m if !m.starts_with(b"CTRL") => {
                    count += 1;
                    if slow {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                _ => {}
            }
        }
    };
    let count = run();
    let _ = ready.send(()); // "done" (also on failure, so that the publisher stops waiting)
    count.expect("subscriber")
}

/// Publishes "CTRL <what>" until `n` signals arrive on `rx`.
fn repeat_until(
    publisher: &zocket::Socket,
    what: &str,
    rx: &mpsc::Receiver<()>,
    n: usize,
) -> zocket::Result<()> {
    let mut seen = 0;
    while seen < n {
        publisher.send(format!("CTRL {what}"), 0)?;
        while rx.recv_timeout(Duration::from_millis(10)).is_ok() {
            seen += 1;
        }
    }
    Ok(())
}

fn main() -> zocket::Result<()> {
    let short = std::env::args().any(|a| a == "--short");
    let (updates, payload) = if short { (3_000, 4096) } else { (30_000, 4096) };
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.set_sndhwm(0)?; // no limit for the peers of this bind
    publisher.bind("tcp://127.0.0.1:0")?;
    let ep = publisher.last_endpoint()?;
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let fast: Vec<_> = [0..1, 1..3] // which of TOPICS each fast subscriber wants
            .into_iter()
            .map(|topics| {
                let (ctx, ep, tx, filters) = (&ctx, &ep, tx.clone(), &TOPICS[topics.clone()]);
                (topics, s.spawn(move || subscriber(ctx, ep, filters, false, tx)))
            })
            .collect();
        repeat_until(&publisher, "hello", &rx, 2)?;
        publisher.set_sndhwm(20)?; // only the peers of the next bind get this limit
        publisher.bind("tcp://127.0.0.1:0")?;
        let slow_ep = publisher.last_endpoint()?;
        let (ctx, slow_tx) = (&ctx, tx.clone());
        let slow = s.spawn(move || subscriber(ctx, &slow_ep, &[""], true, slow_tx));
        repeat_until(&publisher, "hello", &rx, 1)?;

        let start = Instant::now();
        let mut sent = [0usize; 3];
        let padding = "x".repeat(payload);
        for n in 0..updates {
            let t = n % TOPICS.len();
            publisher.send(format!("{}{n} {padding}", TOPICS[t]), 0)?;
            sent[t] += 1;
            if n % 100 == 99 {
                std::thread::sleep(Duration::from_millis(1)); // a feed of ~100 updates per ms
            }
        }
        let publish_ms = start.elapsed().as_millis();
        repeat_until(&publisher, "end", &rx, 3)?; // each subscriber says "done"
        let mut fast_ok = true;
        let mut report = Vec::new();
        for (topics, handle) in fast {
            let got = handle.join().expect("fast subscriber");
            let want: usize = sent[topics.clone()].iter().sum();
            println!("fast subscriber {:?}: {got} of {want}", &TOPICS[topics]);
            fast_ok &= got == want;
            report.push(format!("{got}/{want}"));
        }
        let slow_got = slow.join().expect("slow subscriber");
        println!("slow subscriber [\"\"]: {slow_got} of {updates}");
        println!(
            "SUMMARY pubsub_fanout published={updates} fast={} fast_all={fast_ok} slow={slow_got}/{updates} \
             slow_fewer={} publish_ms={publish_ms}",
            report.join(","),
            slow_got < updates
        );
        Ok(())
    })
}

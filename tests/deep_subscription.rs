//! A subscription as long as a peer likes must not crash a publisher. A raw SUB completes the
//! handshake, sends one SUBSCRIBE with a 300 KB topic and hangs up: the subscription trie used
//! to recurse once per byte when the connection went (dropping that subscriber's trie), and the
//! I/O thread overflowed its stack, aborting the process.
//!
//! An abort would take the test runner down with it, so the publisher under attack runs in a
//! child process: this test binary again, running only the ignored `victim_publisher` with
//! `VICTIM_ENV` set.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zocket::{Context, SocketType};

const VICTIM_ENV: &str = "ZOCKET_DEEP_SUBSCRIPTION_VICTIM";
const ENDPOINT_LINE: &str = "victim endpoint: ";

/// The publisher under attack (only when started by the test below): binds a PUB, prints its
/// endpoint, and publishes `good <n>` every few milliseconds until its stdin closes.
#[test]
#[ignore = "the victim process of a_300_kb_subscription_does_not_crash_the_publisher"]
fn victim_publisher() {
    if std::env::var_os(VICTIM_ENV).is_none() {
        return;
    }
    std::thread::spawn(|| {
        // The parent holds our stdin: EOF means it is done (or gone).
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let ctx = Context::new();
    let (publisher, endpoint) = bound(&ctx, SocketType::Pub);
    println!("{ENDPOINT_LINE}{endpoint}");
    for n in 0u64.. {
        publisher.send(format!("good {n}").as_str(), 0).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills the child when the test ends, whatever way it ends.
struct Victim(Child);

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Victim {
    fn start() -> (Victim, String) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "victim_publisher", "--nocapture", "--ignored"])
            .env(VICTIM_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let victim = Victim(child);
        let endpoint = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix(ENDPOINT_LINE).map(str::to_string))
            .expect("the victim did not print its endpoint");
        (victim, endpoint)
    }

    fn assert_alive(&mut self, when: &str) {
        if let Some(status) = self.0.try_wait().unwrap() {
            panic!("{when}: the publisher process died ({status})");
        }
    }
}

#[test]
fn a_300_kb_subscription_does_not_crash_the_publisher() {
    let (mut victim, endpoint) = Victim::start();

    let mut raw = RawPeer::handshaken(&endpoint, "SUB", 1);
    raw.send_command("SUBSCRIBE", &vec![b'x'; 300_000]);
    raw.shutdown_write();
    // The publisher closes its side only after it has forgotten the subscriber (the moment
    // the old trie blew the stack), or the kernel does it for a dead process.
    assert!(
        raw.wait_closed(DEADLINE),
        "the publisher kept the connection open after the subscriber hung up"
    );

    let ctx = Context::new();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_subscribe(b"good").unwrap();
    sub.connect(&endpoint).unwrap();
    let deadline = Instant::now() + DEADLINE;
    for _ in 0..3 {
        let got = sub.recv_bytes(0).unwrap_or_else(|e| {
            victim.assert_alive("after the long subscription");
            panic!("a good subscriber got nothing from the publisher: {e}")
        });
        assert!(got.starts_with(b"good "), "unexpected message {got:?}");
        assert!(Instant::now() < deadline);
    }
    victim.assert_alive("after serving a good subscriber");
}

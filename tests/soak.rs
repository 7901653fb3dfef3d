//! A soak: PUSH/PULL with spooled senders, REQ/REP and PUB/SUB run together while child
//! processes are killed (SIGKILL) and restarted at random. The test process holds the
//! long-lived side of each pattern (a PULL, a bound REQ, a PUB); the children are two spooled
//! PUSHes, two REPs and two SUBs (`soak/children.rs`). Checks:
//! - zero loss for spooled streams: every message a PUSH accepted reaches the PULL;
//! - no duplicate reaches an application while it lives (the PULL, each SUB);
//! - every request is answered in the end (REQ_RELAXED and REQ_CORRELATE, retried);
//! - the test process's fd count and resident memory stay flat.
//!
//! `soak` runs for `ZOCKET_SOAK_SECS` seconds (20 by default); `soak_long` (ignored) for
//! `ZOCKET_SOAK_LONG_SECS` (300 by default). Kill times come from a seed that is printed.

mod common;

#[path = "soak/children.rs"]
mod children;

use common::child::ChildProcess;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

const DEADLINE: Duration = Duration::from_secs(30);
/// A request unanswered this long is sent again.
const REQUEST_RETRY: Duration = Duration::from_millis(500);
/// How much the test process's resident memory may grow over a soak.
const RSS_BOUND: u64 = 32 << 20;
/// How many more fds than after the warm-up the test process may hold at the end.
const FD_SLACK: usize = 4;

#[test]
fn soak() {
    run_soak(seconds_from_env("ZOCKET_SOAK_SECS", 20));
}

#[test]
#[ignore = "long: several minutes (ZOCKET_SOAK_LONG_SECS, 300 by default)"]
fn soak_long() {
    run_soak(seconds_from_env("ZOCKET_SOAK_LONG_SECS", 300));
}

/// The children's entry point; does nothing in a normal run.
#[test]
#[ignore = "a child process of the soak; does nothing when run alone"]
fn soak_child() {
    if let Some(role) = common::child::role(children::ROLE_ENV) {
        children::run(&role);
    }
}

fn seconds_from_env(var: &str, default: u64) -> Duration {
    let secs = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_secs(secs)
}

/// One child slot: what it runs, and the process running it now.
struct Slot {
    role: &'static str,
    args: String,
    process: ChildProcess,
    /// A SUB child reported its first message (it is subscribed and served).
    served: bool,
}

impl Slot {
    fn start(role: &'static str, args: String) -> Slot {
        let process = spawn(role, &args);
        Slot {
            role,
            args,
            process,
            served: false,
        }
    }

    fn restart(&mut self) {
        self.process.kill();
        self.process = spawn(self.role, &self.args);
        self.served = false;
    }
}

fn spawn(role: &str, args: &str) -> ChildProcess {
    ChildProcess::spawn(
        "soak_child",
        &format!("soak child {role} {args}"),
        &[
            (children::ROLE_ENV, role.to_string()),
            (children::ARGS_ENV, args.to_string()),
        ],
    )
}

/// What the PULL received of one spooled stream.
#[derive(Default)]
struct Stream {
    /// Every message up to here arrived.
    contiguous: u64,
    /// Arrived, above a gap.
    ahead: BTreeSet<u64>,
    received: u64,
}

impl Stream {
    fn accept(&mut self, id: u32, n: u64) {
        assert!(
            n > self.contiguous && self.ahead.insert(n),
            "stream {id}: message {n} reached the application twice"
        );
        self.received += 1;
        while self.ahead.remove(&(self.contiguous + 1)) {
            self.contiguous += 1;
        }
    }
}

/// The REQ's request in flight.
struct Request {
    number: u64,
    first_sent: Instant,
    last_sent: Instant,
}

struct Soak {
    _ctx: Context,
    pull: Socket,
    req: Socket,
    publisher: Socket,
    slots: Vec<Slot>,
    dirs: Vec<PathBuf>,
    streams: HashMap<u32, Stream>,
    request: Option<Request>,
    answered: u64,
    longest_answer: Duration,
    published: u64,
    rng: u64,
    /// Kills so far, by role.
    kills: HashMap<&'static str, u32>,
}

fn bound(ctx: &Context, socket_type: SocketType) -> (Socket, String) {
    let s = ctx.socket(socket_type).unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.last_endpoint().unwrap();
    (s, endpoint)
}

impl Soak {
    fn start(seed: u64) -> Soak {
        let ctx = Context::new();
        let (pull, pull_endpoint) = bound(&ctx, SocketType::Pull);
        pull.set_rcvtimeo(Some(Duration::from_millis(2))).unwrap();
        let (req, req_endpoint) = bound(&ctx, SocketType::Req);
        req.set_req_relaxed(true).unwrap();
        req.set_req_correlate(true).unwrap();
        let (publisher, pub_endpoint) = bound(&ctx, SocketType::Pub);
        let mut slots = Vec::new();
        let mut dirs = Vec::new();
        for id in 1..=2u32 {
            let dir = std::env::temp_dir().join(format!("zocket-soak-{}-{id}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            slots.push(Slot::start(
                "push",
                format!("{} {pull_endpoint} {id}", dir.display()),
            ));
            dirs.push(dir);
        }
        for _ in 0..2 {
            slots.push(Slot::start("rep", req_endpoint.clone()));
            slots.push(Slot::start("sub", pub_endpoint.clone()));
        }
        Soak {
            _ctx: ctx,
            pull,
            req,
            publisher,
            slots,
            dirs,
            streams: HashMap::new(),
            request: None,
            answered: 0,
            longest_answer: Duration::ZERO,
            published: 0,
            rng: seed | 1,
            kills: HashMap::new(),
        }
    }

    fn random(&mut self, below: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below
    }

    /// One turn of every pattern: receive, request, publish, and watch the children.
    fn turn(&mut self) {
        self.receive_spooled();
        self.request_step();
        self.published += 1;
        let _ = self.publisher.send(self.published.to_be_bytes(), DONTWAIT);
        self.watch_children();
    }

    fn receive_spooled(&mut self) {
        let mut flags = 0; // the first receive paces the loop
        while let Ok(m) = self.pull.recv_bytes(flags) {
            let id = u32::from_be_bytes(m[..4].try_into().unwrap());
            let n = u64::from_be_bytes(m[4..12].try_into().unwrap());
            self.streams.entry(id).or_default().accept(id, n);
            flags = DONTWAIT;
        }
    }

    fn request_step(&mut self) {
        let now = Instant::now();
        let Some(request) = &mut self.request else {
            let number = self.answered + 1;
            if self.req.send(format!("q{number}"), DONTWAIT).is_ok() {
                self.request = Some(Request {
                    number,
                    first_sent: now,
                    last_sent: now,
                });
            }
            return;
        };
        let expected = format!("re:q{}", request.number);
        match self.req.recv_bytes(DONTWAIT) {
            Ok(reply) => {
                assert_eq!(
                    String::from_utf8_lossy(&reply),
                    expected,
                    "the REQ took another request's reply"
                );
                self.longest_answer = self.longest_answer.max(request.first_sent.elapsed());
                self.answered += 1;
                self.request = None;
            }
            Err(Error::WouldBlock) => {
                let waited = request.first_sent.elapsed();
                assert!(
                    waited < DEADLINE,
                    "request {} unanswered for {waited:?}",
                    request.number
                );
                if request.last_sent.elapsed() >= REQUEST_RETRY
                    && self.req.send(format!("q{}", request.number), DONTWAIT).is_ok()
                {
                    request.last_sent = now;
                }
            }
            Err(e) => panic!("REQ recv: {e}"),
        }
    }

    /// Fails on a child that died unasked or saw a duplicate; notes served SUBs.
    fn watch_children(&mut self) {
        for slot in &mut self.slots {
            slot.process.assert_alive("without being killed");
            for line in slot.process.lines_now() {
                assert!(!line.starts_with("dup"), "{}: {line}", slot.process.what);
                if line.starts_with("first") {
                    slot.served = true;
                }
            }
        }
    }

    fn kill_one(&mut self) {
        let index = self.random(self.slots.len() as u64) as usize;
        self.slots[index].restart();
        *self.kills.entry(self.slots[index].role).or_default() += 1;
    }

    /// Whether every pattern is served now: each stream delivered, a request answered since
    /// `answered_before`, each SUB child got a message.
    fn all_served(&self, answered_before: u64) -> bool {
        self.streams.len() == 2
            && self.answered > answered_before
            && self.slots.iter().filter(|s| s.role == "sub").all(|s| s.served)
    }

    /// Turns until every pattern is served.
    fn until_all_served(&mut self, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        let answered = self.answered;
        while !self.all_served(answered) {
            assert!(Instant::now() < deadline, "{what}: not every pattern was served");
            self.turn();
        }
    }
}

fn process_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

fn process_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn run_soak(duration: Duration) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id());
    eprintln!("soak: {duration:?}, seed {seed}");
    let mut soak = Soak::start(seed);
    soak.until_all_served("warm-up");
    let (fds_before, rss_before) = (process_fds(), process_rss());

    let end = Instant::now() + duration;
    let mut next_kill = Instant::now();
    while Instant::now() < end {
        soak.turn();
        if Instant::now() >= next_kill {
            soak.kill_one();
            next_kill = Instant::now() + Duration::from_millis(300 + soak.random(1000));
        }
    }

    soak.until_all_served("after the last kill");
    let deadline = Instant::now() + DEADLINE;
    while process_fds() > fds_before + FD_SLACK {
        assert!(
            Instant::now() < deadline,
            "the test process holds {} fds, {fds_before} after the warm-up",
            process_fds()
        );
        soak.turn();
    }
    let rss_after = process_rss();
    assert!(
        rss_after <= rss_before + RSS_BOUND,
        "resident memory grew from {rss_before} to {rss_after} bytes"
    );
    finish(&mut soak);
    eprintln!(
        "soak: kills {:?}; spooled {:?} received; {} requests answered (longest {:?}); {} published; \
         fds {fds_before} → {}; RSS {:.1} → {:.1} MiB",
        soak.kills,
        soak.streams
            .iter()
            .map(|(id, s)| (*id, s.received))
            .collect::<Vec<_>>(),
        soak.answered,
        soak.longest_answer,
        soak.published,
        process_fds(),
        rss_before as f64 / (1 << 20) as f64,
        rss_after as f64 / (1 << 20) as f64,
    );
    for dir in &soak.dirs {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Stops the children: every spooled stream must then be complete, with nothing twice.
fn finish(soak: &mut Soak) {
    let mut totals = HashMap::new();
    for slot in soak.slots.iter_mut().filter(|s| s.role == "push") {
        slot.process.close_stdin();
        let id: u32 = slot.args.rsplit(' ').next().unwrap().parse().unwrap();
        let sent: u64 = slot.process.expect_line("sent", DEADLINE).parse().unwrap();
        totals.insert(id, sent);
    }
    let deadline = Instant::now() + DEADLINE;
    while totals
        .iter()
        .any(|(id, &sent)| soak.streams[id].contiguous < sent)
    {
        assert!(
            Instant::now() < deadline,
            "spooled messages lost: sent {totals:?}, received without a gap up to {:?}",
            soak.streams
                .iter()
                .map(|(id, s)| (*id, s.contiguous))
                .collect::<Vec<_>>()
        );
        soak.receive_spooled();
    }
    for (id, stream) in &soak.streams {
        assert!(
            stream.ahead.is_empty(),
            "stream {id}: messages beyond what was sent"
        );
    }
    for slot in &mut soak.slots {
        slot.process.finish_ok(DEADLINE);
        for line in slot.process.lines_now() {
            assert!(!line.starts_with("dup"), "{}: {line}", slot.process.what);
        }
    }
}

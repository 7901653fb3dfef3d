//! The zguide's chapter 1-3 programs (examples/zguide): runs them together as the guide does,
//! each with `--short` and a port base of its own, and checks the counts on their `SUMMARY`
//! lines (never timings). Servers print `READY` once set up; clients are started after that,
//! and servers that run until Ctrl-C are sent SIGINT once their clients are done, which also
//! checks that they stop cleanly then.

#[path = "common/examples.rs"]
mod examples;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const PROGRAMS: [&str; 18] = [
    "hwserver", "hwclient", "wuserver", "wuclient", "taskvent", "taskwork", "tasksink", "msreader",
    "mspoller", "rrbroker", "rrclient", "rrworker", "msgqueue", "identity", "psenvpub", "psenvsub",
    "lbbroker", "asyncsrv",
];
/// The modules every program includes.
const SHARED: [&str; 2] = ["interrupt", "zhelpers"];
/// How long any one program may run.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Ports used by one group of programs: the guide's 5555 to 5570 (asyncsrv's).
const PORTS_PER_GROUP: u32 = 16;

/// A program's binary, next to the test binaries (built first if need be, see
/// `common/examples.rs`).
fn example(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let source = |n: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/zguide/{n}.rs"));
        let names: Vec<String> = PROGRAMS.iter().map(|p| format!("zguide_{p}")).collect();
        examples::built_examples(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_MANIFEST_DIR"),
            &names,
            |name| {
                let program = name.trim_start_matches("zguide_");
                let mut inputs = SHARED.map(source).to_vec();
                inputs.push(source(program));
                inputs
            },
        )
    });
    dir.join(format!("zguide_{name}"))
}

/// A running program: its stdout, line by line, and a deadline. Killed if dropped running.
struct Program {
    name: &'static str,
    child: Child,
    lines: Receiver<String>,
    output: Vec<String>,
    deadline: Instant,
}

/// A `SUMMARY` line's fields.
type Summary = HashMap<String, String>;

/// Starts `zguide_<name> --short args...`, in `dir` if given.
fn start(name: &'static str, args: &[&str], dir: Option<&Path>) -> Program {
    let mut cmd = Command::new(example(name));
    cmd.arg("--short").args(args).stdout(Stdio::piped());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.split(b'\n').map_while(Result::ok) {
            if tx.send(String::from_utf8_lossy(&line).into_owned()).is_err() {
                break;
            }
        }
    });
    let (output, deadline) = (Vec::new(), Instant::now() + TIME_LIMIT);
    Program {
        name,
        child,
        lines,
        output,
        deadline,
    }
}

impl Program {
    /// The next line of output; `None` at its end (the program exited). Kills the program and
    /// fails past the deadline.
    fn next_line(&mut self) -> Option<String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.output.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                self.child.kill().ok();
                self.fail(&format!("still running after {TIME_LIMIT:?}: killed"));
            }
        }
    }

    /// Waits until the program prints `READY`.
    fn wait_ready(&mut self) {
        while !self.output.iter().any(|line| line == "READY") {
            if self.next_line().is_none() {
                self.fail("exited before READY");
            }
        }
    }

    /// Sends SIGINT (Ctrl-C) once the program is ready, then waits for it to finish.
    fn interrupt(&mut self) -> Summary {
        self.wait_ready();
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: a plain kill(2) of our own child, which has not been waited for yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "kill {}", self.name);
        self.finish()
    }

    /// Waits for the program to exit successfully, and returns its SUMMARY fields.
    fn finish(&mut self) -> Summary {
        while self.next_line().is_some() {}
        let status = self.child.wait().unwrap(); // its stdout is closed: it has exited
        if !status.success() {
            self.fail(&format!("failed ({status})"));
        }
        let summaries: Vec<&String> = self.output.iter().filter(|l| l.starts_with("SUMMARY ")).collect();
        let [summary] = summaries[..] else {
            self.fail("expected one SUMMARY line")
        };
        let mut words = summary.split_whitespace().skip(1);
        assert_eq!(words.next(), Some(self.name), "{summary}");
        let field = |w: &str| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()));
        words
            .map(|w| field(w).unwrap_or_else(|| panic!("{w} in {summary}")))
            .collect()
    }

    fn fail(&self, why: &str) -> ! {
        panic!("{} {why}; its output:\n{}", self.name, self.output.join("\n"))
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// The `--port-base` of one test's programs: PORTS_PER_GROUP consecutive free ports, below
/// the kernel's ephemeral range (32768 and up on Linux) so that no connection's own port can
/// take one meanwhile, and never twice in one run.
struct Ports(String);

impl Ports {
    fn new() -> Ports {
        const FIRST: u32 = 20_000;
        const GROUPS: u32 = (32_000 - FIRST) / PORTS_PER_GROUP;
        static TAKEN: AtomicU32 = AtomicU32::new(0);
        let start = std::process::id() % GROUPS; // concurrent runs start apart
        loop {
            let n = TAKEN.fetch_add(1, Ordering::Relaxed);
            assert!(n < GROUPS, "no {PORTS_PER_GROUP} free ports in a row");
            let base = FIRST + (start + n) % GROUPS * PORTS_PER_GROUP;
            let free = |port: u32| std::net::TcpListener::bind(("0.0.0.0", port as u16)).is_ok();
            if (base..base + PORTS_PER_GROUP).all(free) {
                return Ports(base.to_string());
            }
        }
    }

    /// Starts `zguide_<name> --short --port-base N args...`.
    fn start(&self, name: &'static str, args: &[&str]) -> Program {
        start(name, &[&["--port-base", self.0.as_str()], args].concat(), None)
    }

    /// Starts `N` copies of a server, and waits until each is ready.
    fn start_ready<const N: usize>(&self, name: &'static str) -> [Program; N] {
        [(); N].map(|_| {
            let mut program = self.start(name, &[]);
            program.wait_ready();
            program
        })
    }
}

fn num(s: &Summary, key: &str) -> u64 {
    let v = s.get(key).unwrap_or_else(|| panic!("no {key} in {s:?}"));
    v.parse().unwrap_or_else(|_| panic!("{key}={v} is not a number"))
}

fn nums(s: &Summary, keys: &[&str]) -> Vec<u64> {
    keys.iter().map(|key| num(s, key)).collect()
}

#[test]
fn hwclient_gets_ten_replies_from_hwserver() {
    let ports = Ports::new();
    let [mut server] = ports.start_ready("hwserver");
    let client = ports.start("hwclient", &[]).finish();
    assert_eq!(num(&client, "replies"), 10, "{client:?}");
    assert_eq!(num(&server.finish(), "requests"), 10);
}

#[test]
fn wuclient_averages_updates_for_its_zip_code() {
    let ports = Ports::new();
    let [mut server] = ports.start_ready("wuserver");
    let client = ports.start("wuclient", &["10007"]).finish();
    assert_eq!(num(&client, "updates"), 10, "{client:?}");
    assert_eq!((&*client["zip"], &*client["average_ok"]), ("10007", "true"));
    assert!(num(&server.interrupt(), "published") >= 10);
}

#[test]
fn pipeline_sink_collects_every_task() {
    let ports = Ports::new();
    let [mut sink] = ports.start_ready("tasksink");
    let mut workers: [_; 2] = ports.start_ready("taskwork");
    let tasks = num(&ports.start("taskvent", &[]).finish(), "tasks");
    assert_eq!(tasks, 20);
    assert_eq!(num(&sink.finish(), "results"), tasks);
    let done: u64 = workers.iter_mut().map(|w| num(&w.interrupt(), "tasks")).sum();
    assert_eq!(done, tasks, "the workers did every task once");
}

/// msreader or mspoller, reading tasks from the ventilator and updates from the weather server.
fn reads_from_both_sockets(reader: &'static str) {
    let ports = Ports::new();
    let [mut weather] = ports.start_ready("wuserver");
    let mut reader = ports.start(reader, &[]);
    let vent = ports.start("taskvent", &[]).finish();
    let read = reader.finish();
    assert_eq!(num(&read, "tasks"), num(&vent, "tasks"), "{read:?}");
    assert!(num(&read, "updates") >= 5, "{read:?}");
    weather.interrupt();
}

#[test]
fn msreader_reads_from_both_sockets() {
    reads_from_both_sockets("msreader");
}

#[test]
fn mspoller_reads_from_both_sockets() {
    reads_from_both_sockets("mspoller");
}

/// Two rrclients and two rrworkers through `broker`; returns the broker's summary.
fn relays_every_request_and_reply(broker: &'static str) -> Summary {
    let ports = Ports::new();
    let [mut broker] = ports.start_ready(broker);
    let mut workers: [_; 2] = ports.start_ready("rrworker");
    let mut clients = [(); 2].map(|_| ports.start("rrclient", &[]));
    for client in &mut clients {
        assert_eq!(num(&client.finish(), "replies"), 10);
    }
    let served: u64 = workers.iter_mut().map(|w| num(&w.interrupt(), "requests")).sum();
    assert_eq!(served, 20);
    broker.interrupt()
}

#[test]
fn rrclient_gets_all_replies_through_rrbroker() {
    let s = relays_every_request_and_reply("rrbroker");
    assert_eq!(nums(&s, &["requests", "replies"]), [20, 20], "{s:?}");
}

#[test]
fn rrclient_gets_all_replies_through_msgqueue() {
    let s = relays_every_request_and_reply("msgqueue");
    assert_eq!(num(&s, "stopped"), 1, "{s:?}");
}

#[test]
fn identity_shows_the_anonymous_and_the_named_peer() {
    let s = start("identity", &[], None).finish();
    assert_eq!((num(&s, "messages"), &*s["named"]), (2, "PEER2"), "{s:?}");
    // A made-up id: 5 bytes, the first zero (in hex).
    let anonymous = &s["anonymous"];
    assert!(anonymous.len() == 10 && anonymous.starts_with("00"), "{s:?}");
}

#[test]
fn psenvsub_gets_only_b_envelopes() {
    let ports = Ports::new();
    let [mut publisher] = ports.start_ready("psenvpub");
    let s = ports.start("psenvsub", &[]).finish();
    assert_eq!(nums(&s, &["received", "b", "other"]), [5, 5, 0], "{s:?}");
    assert!(num(&publisher.interrupt(), "pairs") >= 5);
}

#[test]
fn lbbroker_clients_get_every_reply() {
    // Its ipc:// endpoints are files in the current directory: a fresh one.
    let dir = std::env::temp_dir().join(format!("zocket-zguide-lbbroker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = start("lbbroker", &[], Some(&dir)).finish();
    std::fs::remove_dir_all(&dir).ok();
    let clients = num(&s, "clients");
    assert!(clients > 0);
    assert_eq!(nums(&s, &["replies", "served"]), [clients, clients], "{s:?}");
}

#[test]
fn asyncsrv_clients_get_replies_to_every_request() {
    let s = Ports::new().start("asyncsrv", &[]).finish();
    let requests = num(&s, "requests");
    assert_eq!(requests, 3 * num(&s, "clients"), "{s:?}");
    assert_eq!(num(&s, "answered"), requests, "{s:?}");
    assert!(num(&s, "replies") >= requests, "{s:?}");
}

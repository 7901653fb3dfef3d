//! Process orchestration: starts the two peers of each measurement as child processes of
//! this same executable, relays the server's endpoint to the client, collects what both
//! report, and kills whatever does not finish in time.

use crate::spec::{Impl, Job, Measured, Role, Spooling, Test, Transport, size_label};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long peers get to exit after they are released, before they are killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// Most messages per repetition of a spooled throughput row, (quick, full).
/// The full cap is the unspooled rows' count, so that a spooled row and the unspooled one it
/// is compared with send as many messages.
pub const SPOOL_CAP: (u64, u64) = (20_000, 2_000_000);

/// The same for the fsync=always spool, (quick, full): it makes an fsync per message, some
/// 5k per second on the machine this was written on when its disk is quiet but down to about
/// 1k when other work writes to it, so 100k messages would take 20 s to well over a minute.
pub const SPOOL_ALWAYS_CAP: (u64, u64) = (10_000, 30_000);

/// How a whole run is sized.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Small counts and few repetitions.
    pub quick: bool,
    /// Repetitions of every measurement.
    pub reps: usize,
    /// The implementations to measure.
    pub impls: Vec<Impl>,
    /// The transports to measure them over.
    pub transports: Vec<Transport>,
    /// How long one measurement (both processes) may take before it is killed.
    pub timeout: Duration,
    /// The libzmq with CURVE that the `libzmq+curve` peers load (see [`Plan::find_libzmq_curve`]).
    pub libzmq_curve: Option<PathBuf>,
    /// Lines for the table's notes about how this run was set up (what was skipped, which
    /// library was loaded).
    pub notes: Vec<String>,
}

/// How many times more messages an inproc throughput row sends than a TCP or IPC one.
const INPROC_SCALE: u64 = 4;

impl Plan {
    /// Measured round trips (latency) or messages (throughput) for one repetition of `imp`.
    pub fn count(&self, imp: Impl, test: Test, transport: Transport, size: usize) -> u64 {
        let (lat, mut thr_max, mut thr_min, mut thr_bytes) = if self.quick {
            (3_000, 200_000, 1_000, 64 << 20)
        } else {
            (10_000, 2_000_000, 4_000, 256 << 20)
        };
        if transport == Transport::Inproc {
            // Several times faster than over a socket: the same counts ended within 40 ms at
            // 64 KiB, too short for a steady state, and medians swung by 2x between runs.
            (thr_max, thr_min, thr_bytes) = (
                thr_max * INPROC_SCALE,
                thr_min * INPROC_SCALE,
                thr_bytes * INPROC_SCALE,
            );
        }
        let count = match test {
            Test::Lat => lat,
            Test::Thr => (thr_bytes / size as u64).clamp(thr_min, thr_max),
        };
        match imp.spooling() {
            Some(spooling) => count.min(self.spool_cap(spooling)),
            None => count,
        }
    }

    /// Most messages per repetition for a spooled sender: a spool with fsync=always makes
    /// (at least) one fsync per message, far slower than the in-memory path.
    pub fn spool_cap(&self, spooling: Spooling) -> u64 {
        match (spooling, self.quick) {
            (Spooling::Always, true) => SPOOL_ALWAYS_CAP.0,
            (Spooling::Always, false) => SPOOL_ALWAYS_CAP.1,
            (_, true) => SPOOL_CAP.0,
            (_, false) => SPOOL_CAP.1,
        }
    }

    /// Unmeasured round trips before the latency clock starts.
    pub fn warmup(&self, test: Test) -> u64 {
        match test {
            Test::Lat if self.quick => 200,
            Test::Lat => 1_000,
            Test::Thr => 0,
        }
    }

    /// For a plan with `libzmq+curve`: finds the libzmq it loads (pyzmq's), or takes the row
    /// out of the plan with a note why (a machine without pyzmq skips it, it does not fail).
    pub fn find_libzmq_curve(&mut self) {
        if !self.impls.contains(&Impl::LibzmqCurve) {
            return;
        }
        match crate::impls::libzmq_curve::locate() {
            Ok((path, version)) => {
                self.notes.push(format!(
                    "libzmq+curve loads libzmq {version} from {}",
                    path.display()
                ));
                self.libzmq_curve = Some(path);
            }
            Err(reason) => {
                eprintln!("skipping libzmq+curve: {reason}");
                self.notes.push(format!("libzmq+curve was skipped: {reason}"));
                self.impls.retain(|&i| i != Impl::LibzmqCurve);
            }
        }
    }

    /// Every measurement of the run, in table order.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for test in Test::ALL {
            for &transport in &self.transports {
                for &size in test.sizes() {
                    let runs = |i: &&Impl| i.measures(test, size) && i.runs_over(transport);
                    for &imp in self.impls.iter().filter(runs) {
                        cells.push(Cell {
                            imp,
                            test,
                            transport,
                            size,
                        });
                    }
                }
            }
        }
        cells
    }
}

/// One measurement: an implementation, a test, a transport and a message size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// The implementation.
    pub imp: Impl,
    /// Latency or throughput.
    pub test: Test,
    /// TCP or IPC.
    pub transport: Transport,
    /// Message size in bytes.
    pub size: usize,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (test, transport) = (self.test.key(), self.transport.key());
        write!(
            f,
            "{test} {transport} {} {}",
            size_label(self.size),
            self.imp.label()
        )
    }
}

/// What one repetition of a measurement gave.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// One-way latency in microseconds (latency), or messages per second (throughput).
    pub value: f64,
    /// Peak resident memory of the server process, KiB.
    pub server_kib: Option<u64>,
    /// Peak resident memory of the client process, KiB.
    pub client_kib: Option<u64>,
}

/// Every repetition of one measurement, or why it could not be made.
#[derive(Clone, Debug)]
pub struct CellResult {
    /// Which measurement.
    pub cell: Cell,
    /// Round trips or messages per repetition.
    pub count: u64,
    /// One per successful repetition.
    pub samples: Vec<Sample>,
    /// Why the measurement is n/a (the first failure; later repetitions are skipped).
    pub failure: Option<String>,
}

/// Runs every measurement of `plan` `plan.reps` times, repetition by repetition so that
/// slow drifts of the machine spread over all implementations alike.
pub fn run_all(plan: &Plan, exe: &Path) -> Vec<CellResult> {
    let cells = plan.cells();
    let mut results: Vec<CellResult> = cells
        .iter()
        .map(|&cell| CellResult {
            cell,
            count: plan.count(cell.imp, cell.test, cell.transport, cell.size),
            samples: Vec::new(),
            failure: None,
        })
        .collect();
    let mut seq = 0;
    for rep in 1..=plan.reps {
        for (i, result) in results.iter_mut().enumerate() {
            if result.failure.is_some() {
                continue;
            }
            seq += 1;
            let cell = result.cell;
            let progress = format!(
                "[rep {rep}/{} {:>3}/{}] {cell:<41}",
                plan.reps,
                i + 1,
                cells.len()
            );
            match run_once(plan, exe, cell, seq) {
                Ok(sample) => {
                    eprintln!("{progress} {}", value_text(cell.test, sample.value));
                    result.samples.push(sample);
                }
                Err(reason) => {
                    eprintln!("{progress} n/a: {reason}");
                    result.failure = Some(reason);
                }
            }
        }
    }
    results
}

/// A value with its unit, for progress lines.
fn value_text(test: Test, value: f64) -> String {
    match test {
        Test::Lat => format!("{value:.1} us"),
        Test::Thr => format!("{value:.0} msg/s"),
    }
}

/// Runs one repetition of `cell`: server and client in two processes.
pub fn run_once(plan: &Plan, exe: &Path, cell: Cell, seq: usize) -> Result<Sample, String> {
    let ipc_path = PathBuf::from(format!("/tmp/zocket-bench-{}-{seq}.sock", std::process::id()));
    let bind_endpoint = match cell.transport {
        Transport::Tcp => "tcp://127.0.0.1:0".to_string(),
        Transport::Ipc => format!("ipc://{}", ipc_path.display()),
        Transport::Inproc => "inproc://zocket-bench".to_string(),
    };
    // A fresh directory for a file spool, unique to this run (the sender creates it).
    let spool_dir = cell
        .imp
        .spooling()
        .filter(|s| s.on_disk())
        .map(|_| std::env::temp_dir().join(format!("zocket-bench-spool-{}-{seq}", std::process::id())));
    if let Some(dir) = &spool_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let job = Job {
        imp: cell.imp,
        role: Role::Server,
        test: cell.test,
        transport: cell.transport,
        size: cell.size,
        count: plan.count(cell.imp, cell.test, cell.transport, cell.size),
        warmup: plan.warmup(cell.test),
        endpoint: bind_endpoint,
        spool_dir: spool_dir.clone(),
        libzmq: match cell.imp {
            Impl::LibzmqCurve => plan.libzmq_curve.clone(),
            _ => None,
        },
    };
    let outcome = Session::new(exe, plan.timeout).run(job);
    let _ = std::fs::remove_file(&ipc_path);
    // The sender removes its spool itself; this is for a sender that failed or was killed.
    if let Some(dir) = &spool_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    outcome
}

/// A line from a peer's stdout, or `None` when its stdout closed.
type Event = (Role, Option<String>);

/// What a peer has said so far.
#[derive(Default)]
struct PeerState {
    endpoint: Option<String>,
    result: Option<Measured>,
    vmhwm: Option<u64>,
    done: bool,
}

/// The two peer processes of one repetition and the channel their output arrives on.
struct Session<'a> {
    exe: &'a Path,
    deadline: Instant,
    timeout: Duration,
    events: Receiver<Event>,
    sender: Sender<Event>,
    server: PeerState,
    client: PeerState,
}

impl<'a> Session<'a> {
    fn new(exe: &'a Path, timeout: Duration) -> Session<'a> {
        let (sender, events) = mpsc::channel();
        Session {
            exe,
            deadline: Instant::now() + timeout,
            timeout,
            events,
            sender,
            server: PeerState::default(),
            client: PeerState::default(),
        }
    }

    /// Starts the server for `job`, then the client on its endpoint, and waits for both.
    fn run(mut self, job: Job) -> Result<Sample, String> {
        if job.transport == Transport::Inproc {
            return self.run_in_one_process(job);
        }
        let test = job.test;
        let mut server = PeerProcess::spawn(self.exe, &job, self.sender.clone())?;
        self.wait_until(&server, None, |s| s.server.endpoint.is_some())?;
        let client_job = Job {
            role: Role::Client,
            endpoint: self.server.endpoint.clone().unwrap_or_default(),
            ..job
        };
        let mut client = PeerProcess::spawn(self.exe, &client_job, self.sender.clone())?;
        self.wait_until(&server, Some(&client), |s| s.server.done && s.client.done)?;
        server.release();
        client.release();
        let measured = match test {
            Test::Lat => self.client.result,
            Test::Thr => self.server.result,
        }
        .ok_or("the measuring peer reported no result")?;
        let value = match test {
            Test::Lat => measured.secs / measured.units / 2.0 * 1e6,
            Test::Thr => measured.units / measured.secs,
        };
        server.wait_exit(EXIT_GRACE);
        client.wait_exit(EXIT_GRACE);
        Ok(Sample {
            value,
            server_kib: self.server.vmhwm,
            client_kib: self.client.vmhwm,
        })
    }

    /// inproc: one process plays both roles on two threads and reports the measurement.
    fn run_in_one_process(mut self, job: Job) -> Result<Sample, String> {
        let test = job.test;
        let mut process = PeerProcess::spawn(self.exe, &job, self.sender.clone())?;
        self.wait_until(&process, None, |s| s.server.done)?;
        process.release();
        let measured = self.server.result.ok_or("the peer reported no result")?;
        let value = match test {
            Test::Lat => measured.secs / measured.units / 2.0 * 1e6,
            Test::Thr => measured.units / measured.secs,
        };
        process.wait_exit(EXIT_GRACE);
        Ok(Sample {
            value,
            server_kib: self.server.vmhwm,
            client_kib: None,
        })
    }

    /// Handles peer output until `cond` holds, a peer fails, or the deadline passes.
    fn wait_until(
        &mut self,
        server: &PeerProcess,
        client: Option<&PeerProcess>,
        cond: impl Fn(&Self) -> bool,
    ) -> Result<(), String> {
        while !cond(self) {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let (role, line) = match self.events.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    let waiting = match (self.server.done, self.client.done) {
                        (false, false) => "both peers",
                        (false, true) => "the server",
                        _ => "the client",
                    };
                    return Err(format!(
                        "timed out after {} s waiting for {waiting}",
                        self.timeout.as_secs()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => return Err("lost the peers' output".into()),
            };
            let (state, process) = match role {
                Role::Server => (&mut self.server, Some(server)),
                Role::Client => (&mut self.client, client),
            };
            let Some(line) = line else {
                if state.done {
                    continue;
                }
                let stderr = process.map(PeerProcess::stderr_tail).unwrap_or_default();
                return Err(format!("{} exited early: {stderr}", role.key()));
            };
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "endpoint" => state.endpoint = Some(rest.to_string()),
                "result" => state.result = Some(rest.parse()?),
                "vmhwm" => state.vmhwm = rest.parse().ok(),
                "done" => state.done = true,
                "error" => return Err(format!("{}: {rest}", role.key())),
                _ => {} // a library's own chatter on stdout
            }
        }
        Ok(())
    }
}

/// One peer child process; killed when dropped if it is still running.
struct PeerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
}

impl PeerProcess {
    /// Starts `exe peer <job args>` and forwards its stdout lines to `events`.
    fn spawn(exe: &Path, job: &Job, events: Sender<Event>) -> Result<PeerProcess, String> {
        let mut child = Command::new(exe)
            .arg("peer")
            .args(job.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start peer: {e}"))?;
        let role = job.role;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if events.send((role, Some(line))).is_err() {
                    return;
                }
            }
            let _ = events.send((role, None));
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().ok_or("no stderr pipe")?;
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            *sink.lock().unwrap_or_else(|e| e.into_inner()) = text;
        });
        let stdin = child.stdin.take();
        Ok(PeerProcess { child, stdin, stderr })
    }

    /// Lets the peer exit, by closing its stdin.
    fn release(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `grace` for the peer to exit; [`Drop`] kills it otherwise.
    fn wait_exit(&mut self, grace: Duration) {
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The gist of what the peer wrote to stderr (after a short wait for it to arrive): its
    /// last two lines, leaving out Rust's "note: run with RUST_BACKTRACE" hint.
    fn stderr_tail(&self) -> String {
        std::thread::sleep(Duration::from_millis(100));
        let text = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note:"))
            .collect();
        let tail = lines[lines.len().saturating_sub(2)..].join(" ");
        match tail.is_empty() {
            true => "no message on stderr".into(),
            false => tail.chars().take(200).collect(),
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_rows_are_throughput_only_and_capped() {
        let plan = |quick| Plan {
            quick,
            reps: 1,
            impls: vec![Impl::Zocket, Impl::ZocketSpool(Spooling::Always)],
            transports: Transport::ALL.to_vec(),
            timeout: Duration::from_secs(1),
            libzmq_curve: None,
            notes: Vec::new(),
        };
        let (quick, full) = (plan(true), plan(false));
        let spooled = |c: &Cell| c.imp.spooling().is_some();
        assert!(
            quick
                .cells()
                .iter()
                .filter(|c| spooled(c))
                .all(|c| c.test == Test::Thr)
        );
        assert_eq!(
            quick.cells().iter().filter(|c| spooled(c)).count(),
            8,
            "TCP and IPC only"
        );
        assert_eq!(
            quick
                .cells()
                .iter()
                .filter(|c| c.transport == Transport::Inproc)
                .count(),
            7,
            "zocket's latency and throughput sizes over inproc"
        );
        let always = Impl::ZocketSpool(Spooling::Always);
        let never = Impl::ZocketSpool(Spooling::Never);
        assert_eq!(quick.count(Impl::Zocket, Test::Thr, Transport::Tcp, 1), 200_000);
        assert_eq!(
            full.count(Impl::Libzmq, Test::Thr, Transport::Inproc, 65536),
            INPROC_SCALE * full.count(Impl::Libzmq, Test::Thr, Transport::Tcp, 65536)
        );
        assert_eq!(quick.count(never, Test::Thr, Transport::Tcp, 1), SPOOL_CAP.0);
        assert_eq!(
            quick.count(always, Test::Thr, Transport::Tcp, 1),
            SPOOL_ALWAYS_CAP.0
        );
        assert_eq!(full.count(never, Test::Thr, Transport::Tcp, 1), SPOOL_CAP.1);
        assert_eq!(
            full.count(always, Test::Thr, Transport::Tcp, 1),
            SPOOL_ALWAYS_CAP.1
        );
        assert_eq!(
            full.count(never, Test::Thr, Transport::Tcp, 65536),
            full.count(Impl::Zocket, Test::Thr, Transport::Tcp, 65536)
        );
    }

    #[test]
    fn curve_rows() {
        let plan = Plan {
            quick: true,
            reps: 1,
            impls: vec![Impl::ZocketCurve, Impl::LibzmqCurve],
            transports: Transport::ALL.to_vec(),
            timeout: Duration::from_secs(1),
            libzmq_curve: None,
            notes: Vec::new(),
        };
        let cells: Vec<(Test, Transport, usize)> = plan
            .cells()
            .iter()
            .filter(|c| c.imp == Impl::ZocketCurve)
            .map(|c| (c.test, c.transport, c.size))
            .collect();
        assert_eq!(
            cells,
            [
                (Test::Lat, Transport::Tcp, 64),
                (Test::Lat, Transport::Ipc, 64),
                (Test::Thr, Transport::Tcp, 64),
                (Test::Thr, Transport::Tcp, 65536),
                (Test::Thr, Transport::Ipc, 64),
                (Test::Thr, Transport::Ipc, 65536),
            ],
            "64 B latency, 64 B and 64 KiB throughput, no inproc"
        );
        assert_eq!(plan.cells().len(), 12);
    }
}

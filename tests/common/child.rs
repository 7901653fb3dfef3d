//! Child processes for tests whose subject may crash or must be killed: the test binary runs
//! itself again to play one role (chosen by an environment variable), the two talk in lines
//! over the child's stdin and stdout, and the parent watches the child's memory and file
//! descriptors through /proc (Linux).
//!
//! The child's entry point is an `#[ignore]`d test that does nothing unless its environment
//! variable is set, so `cargo test -- --ignored` runs it harmlessly.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Marks the lines a child writes for its parent (libtest writes its own lines on stdout too).
const MARK: &str = "@@ ";
/// How much of a child's stderr a failure message shows.
const STDERR_TAIL: usize = 4000;

// ---------------------------------------------------------------------------------------------
// The parent's side.

/// A child process running one role of this test binary. Killed (SIGKILL) when dropped.
pub struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// What the child is, for failure messages.
    pub what: String,
}

impl ChildProcess {
    /// Runs the test named `entry` of this binary with `envs` set (one of them selects the
    /// role), stdin and stdout piped, stderr collected for failure messages.
    pub fn spawn(entry: &str, what: &str, envs: &[(&str, String)]) -> ChildProcess {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args(["--exact", entry, "--nocapture", "--ignored", "--test-threads=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may have written "test name ... " on the same line first.
                if let Some(at) = line.find(MARK)
                    && tx.send(line[at + MARK.len()..].to_string()).is_err()
                {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let stdin = child.stdin.take();
        ChildProcess {
            child,
            stdin,
            lines,
            stderr,
            what: what.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line; false if the child no longer reads.
    pub fn send(&mut self, line: &str) -> bool {
        match &mut self.stdin {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|()| stdin.flush()).is_ok(),
            None => false,
        }
    }

    /// The rest of the next line starting with `prefix` (lines before it are skipped), or
    /// `None` if none came within `within`.
    pub fn wait_line(&mut self, prefix: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Some(rest.trim_start().to_string());
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Every line that arrived so far and was not consumed yet, without waiting.
    pub fn lines_now(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Like [`wait_line`](Self::wait_line), failing the test (with the child's state) if the
    /// line does not come.
    pub fn expect_line(&mut self, prefix: &str, within: Duration) -> String {
        match self.wait_line(prefix, within) {
            Some(rest) => rest,
            None => {
                let state = self.describe();
                panic!("{}: no `{prefix}` line within {within:?}; {state}", self.what)
            }
        }
    }

    /// Whether the child still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether the child exits within `within` (one that is dying resets its connections a
    /// moment before it is gone).
    pub fn exits_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.alive() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Fails the test if the child exited (an abort, a panic, a stack overflow).
    pub fn assert_alive(&mut self, when: &str) {
        if !self.alive() {
            let state = self.describe();
            panic!("{} died {when}; {state}", self.what);
        }
    }

    /// The exit status (if any) and the end of stderr, for failure messages.
    pub fn describe(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited: {status}"),
            Ok(None) => "still running".to_string(),
            Err(e) => format!("status unknown: {e}"),
        };
        let stderr = self.stderr.lock().unwrap();
        let text = String::from_utf8_lossy(&stderr);
        let tail: String = {
            let skip = text.chars().count().saturating_sub(STDERR_TAIL);
            text.chars().skip(skip).collect()
        };
        format!("{status}; stderr ends with:\n{tail}")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        self.status_kib("VmHWM:").map_or(0, |kib| kib * 1024)
    }

    /// Resident memory now (VmRSS), in bytes.
    pub fn rss(&self) -> u64 {
        self.status_kib("VmRSS:").map_or(0, |kib| kib * 1024)
    }

    /// Open file descriptors now.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes the child's stdin (its signal to finish) without waiting for it to exit.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes the child's stdin (its signal to finish) and waits up to `within` for it to
    /// exit; kills it and fails the test if it does not.
    pub fn finish(&mut self, within: Duration) -> ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() >= deadline {
                let state = self.describe();
                self.kill();
                panic!("{} did not exit within {within:?}; {state}", self.what);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Like [`finish`](Self::finish), failing the test unless the child exited successfully.
    pub fn finish_ok(&mut self, within: Duration) {
        let status = self.finish(within);
        if !status.success() {
            let state = self.describe();
            panic!("{} failed; {state}", self.what);
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// The child's side.

/// In a child: the value of `env_var`, which selects its role; `None` in a normal test run.
pub fn role(env_var: &str) -> Option<String> {
    std::env::var(env_var).ok()
}

/// In a child: writes one line for the parent.
pub fn report(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{line}");
    let _ = out.flush();
}

/// In a child: the parent's command lines. The channel disconnects when the parent closes
/// stdin (or dies): the child's signal to finish.
pub fn commands() -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

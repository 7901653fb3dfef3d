//! The parent's side of a hostile case: starts a victim in a child process with a good zocket
//! peer connected to it, and checks that the victim lives, that the good peer is served, and
//! how much memory and how many file descriptors the victim holds.

use crate::common::child::ChildProcess;
use crate::victim::{OPTS_ENV, ROLE_ENV};
use std::time::{Duration, Instant};
use zocket::{Context, Socket, SocketType};

/// How long anything a case waits for may take.
pub const DEADLINE: Duration = Duration::from_secs(10);
pub const MIB: u64 = 1 << 20;

/// A victim process and the good peer it must keep serving.
pub struct Victim {
    pub process: ChildProcess,
    pub endpoint: String,
    role: &'static str,
    good: Socket,
    _ctx: Context,
    probes: u32,
    /// Peak resident memory once the good peer was first served.
    pub baseline_peak: u64,
    /// Open file descriptors at the same moment.
    pub baseline_fds: usize,
}

impl Victim {
    /// Starts a victim (`pull`, `router`, `pub` or `xpub`, see `victim.rs`) with `opts`, and
    /// checks that a good peer is served once.
    pub fn start(role: &'static str, opts: &str) -> Victim {
        let mut process = ChildProcess::spawn(
            "victim",
            &format!("victim {role} [{opts}]"),
            &[(ROLE_ENV, role.to_string()), (OPTS_ENV, opts.to_string())],
        );
        let endpoint = process.expect_line("endpoint", DEADLINE);
        let ctx = Context::new();
        let good = ctx.socket(good_peer_type(role)).unwrap();
        good.set_linger(Some(Duration::ZERO)).unwrap();
        good.set_sndtimeo(Some(DEADLINE)).unwrap();
        good.set_rcvtimeo(Some(Duration::from_millis(50))).unwrap();
        good.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
        if good.socket_type() == SocketType::Sub {
            good.set_subscribe(b"").unwrap();
        }
        good.connect(&endpoint).unwrap();
        let mut victim = Victim {
            process,
            endpoint,
            role,
            good,
            _ctx: ctx,
            probes: 0,
            baseline_peak: 0,
            baseline_fds: 0,
        };
        victim.assert_serves("at start");
        victim.baseline_peak = victim.process.peak_rss();
        victim.baseline_fds = victim.process.fd_count();
        victim
    }

    /// Fails the test unless the victim is alive and its good peer is served now.
    pub fn assert_serves(&mut self, when: &str) {
        self.process.assert_alive(when);
        self.probes += 1;
        let served = match self.role {
            "pull" => self.pull_serves(),
            "router" => self.router_serves(),
            _ => self.publisher_serves(),
        };
        if let Err(what) = served {
            self.process.assert_alive(when);
            panic!(
                "{} {when}: the good peer was not served: {what}",
                self.process.what
            );
        }
    }

    fn pull_serves(&mut self) -> Result<(), String> {
        let probe = format!("probe-{}.", self.probes);
        self.good
            .send(probe.as_str(), 0)
            .map_err(|e| format!("send: {e}"))?;
        match self.process.wait_line(&format!("got {probe}"), DEADLINE) {
            Some(_) => Ok(()),
            None => Err(format!("{probe} not received within {DEADLINE:?}")),
        }
    }

    fn router_serves(&mut self) -> Result<(), String> {
        let probe = format!("probe-{}.", self.probes);
        self.good
            .send(probe.as_str(), 0)
            .map_err(|e| format!("send: {e}"))?;
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            if let Ok(echo) = self.good.recv_bytes(0)
                && echo == probe.as_bytes()
            {
                return Ok(());
            }
        }
        Err(format!("no echo of {probe} within {DEADLINE:?}"))
    }

    /// A probe published after this check began reaches the good subscriber.
    fn publisher_serves(&mut self) -> Result<(), String> {
        if !self.process.send("mark") {
            return Err("the victim no longer reads commands".into());
        }
        let mark: u64 = self
            .process
            .wait_line("mark", DEADLINE)
            .ok_or("no answer to `mark`")?
            .parse()
            .map_err(|e| format!("mark: {e}"))?;
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            let Ok(msg) = self.good.recv_bytes(0) else {
                continue;
            };
            let number = msg
                .strip_prefix(b"probe-")
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok());
            if number.is_some_and(|n| n >= mark) {
                return Ok(());
            }
        }
        Err(format!("no probe numbered {mark} or more within {DEADLINE:?}"))
    }

    /// Peak resident memory gained since the start; fails the test beyond `bound`.
    pub fn assert_peak_growth_within(&mut self, bound: u64, what: &str) {
        let peak = self.process.peak_rss();
        let growth = peak.saturating_sub(self.baseline_peak);
        eprintln!(
            "{what}: victim peak RSS {:.1} MiB, {:.1} MiB over its baseline (bound {} MiB)",
            peak as f64 / MIB as f64,
            growth as f64 / MIB as f64,
            bound / MIB
        );
        if growth > bound {
            self.process.assert_alive(what);
            panic!(
                "{} {what}: peak RSS grew by {:.1} MiB, beyond the bound of {} MiB",
                self.process.what,
                growth as f64 / MIB as f64,
                bound / MIB
            );
        }
    }

    /// Waits until the victim's fd count is back within `slack` of its baseline.
    pub fn assert_fds_return(&mut self, slack: usize, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        let mut fds = self.process.fd_count();
        while fds > self.baseline_fds + slack {
            if Instant::now() >= deadline {
                self.process.assert_alive(what);
                panic!(
                    "{} {what}: {fds} fds open after {DEADLINE:?}, {} at the start",
                    self.process.what, self.baseline_fds
                );
            }
            std::thread::sleep(Duration::from_millis(10));
            fds = self.process.fd_count();
        }
    }

    /// Waits until the victim holds at least `fds` file descriptors.
    pub fn wait_fds_at_least(&mut self, fds: usize, what: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.process.fd_count() < fds {
            self.process.assert_alive(what);
            assert!(
                Instant::now() < deadline,
                "{} {what}: {} fds after {DEADLINE:?}, expected at least {fds}",
                self.process.what,
                self.process.fd_count()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The number of non-probe messages the victim received (or subscriptions it read).
    pub fn others_received(&mut self) -> u64 {
        self.process.send("count");
        self.process
            .expect_line("count", DEADLINE)
            .parse()
            .expect("a count")
    }

    /// Serves once more, then stops the victim and checks that it exits cleanly.
    pub fn finish(mut self) {
        self.assert_serves("at the end");
        self.process.finish_ok(DEADLINE);
    }
}

fn good_peer_type(role: &str) -> SocketType {
    match role {
        "pull" => SocketType::Push,
        "router" => SocketType::Dealer,
        "pub" | "xpub" => SocketType::Sub,
        other => panic!("unknown victim role {other}"),
    }
}

//! The peer side: one process playing one role of one measurement.
//!
//! A peer talks to the harness through lines on stdout:
//!
//! ```text
//! endpoint tcp://127.0.0.1:40123   the server, once bound
//! result 0.0123 10000              the measuring side: seconds, then round trips or messages
//! error <text>                     anything that went wrong
//! vmhwm 4312                       peak resident memory in KiB (VmHWM), when the work is done
//! done
//! ```
//!
//! After `done` the peer keeps its sockets open until the harness closes its stdin, so that
//! nothing still queued is lost to an early exit (which some libraries would allow).

use crate::impls;
use crate::spec::{Job, Measured, Role, Test};
use std::io::{Read, Write};
use std::process::ExitCode;

/// The error type of the implementations' peer functions.
pub type PeerError = Box<dyn std::error::Error + Send + Sync>;

/// The result type of the implementations' peer functions.
pub type PeerResult = Result<(), PeerError>;

/// Runs a peer process from its arguments (those after the `peer` word) and exits.
pub fn main(args: &[String]) -> ExitCode {
    let job = match Job::parse(args) {
        Ok(job) => job,
        Err(e) => {
            line(&format!("error {e}"));
            return ExitCode::from(2);
        }
    };
    let outcome = run(&job);
    let code = match outcome {
        Ok(()) => 0,
        Err(e) => {
            line(&format!("error {}", e.to_string().replace('\n', " ")));
            print_vmhwm();
            1
        }
    };
    // Exit here, without running destructors: a library's context teardown must not
    // decide how long the harness waits.
    std::process::exit(code)
}

/// Dispatches the job to its implementation's function for this test and role.
fn run(job: &Job) -> PeerResult {
    let imp = impls::get(job.imp);
    if job.transport == crate::spec::Transport::Inproc {
        return imp.inproc(job);
    }
    match (job.test, job.role) {
        (Test::Lat, Role::Server) => imp.lat_server(job),
        (Test::Lat, Role::Client) => imp.lat_client(job),
        (Test::Thr, Role::Server) => imp.thr_receiver(job),
        (Test::Thr, Role::Client) => imp.thr_sender(job),
    }
}

/// Writes one protocol line and flushes it.
fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    // A harness that went away cannot be told anything more.
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Tells the harness where the server is bound.
pub fn announce(endpoint: &str) {
    line(&format!("endpoint {endpoint}"));
}

/// Tells the harness what the measuring side timed.
pub fn report(measured: Measured) {
    line(&format!("result {measured}"));
}

/// Reports peak memory and `done`, then blocks until the harness closes stdin.
///
/// Implementations call this at the end of each role while their sockets are still open.
/// It blocks the calling thread; async implementations run it on a blocking thread.
pub fn finish() {
    print_vmhwm();
    line("done");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

fn print_vmhwm() {
    if let Some(kib) = vmhwm_kib() {
        line(&format!("vmhwm {kib}"));
    }
}

/// Peak resident set size of this process in KiB, from `/proc/self/status`.
pub fn vmhwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Checks that a received message has the size that was sent.
pub fn check_size(got: usize, want: usize) -> PeerResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("received {got} bytes, expected {want}").into())
    }
}

/// Times `count` measured round trips after `warmup` unmeasured ones, and reports them.
///
/// `round_trip` sends one request and waits for its reply.
pub fn time_round_trips(job: &Job, mut round_trip: impl FnMut() -> PeerResult) -> PeerResult {
    for _ in 0..job.warmup {
        round_trip()?;
    }
    let start = std::time::Instant::now();
    for _ in 0..job.count {
        round_trip()?;
    }
    report(Measured {
        secs: start.elapsed().as_secs_f64(),
        units: job.count as f64,
    });
    Ok(())
}

/// Receives `job.count` messages, timing from the first to the last, and reports them.
///
/// `recv` waits for one message and returns its size.
pub fn time_receive(job: &Job, mut recv: impl FnMut() -> Result<usize, PeerError>) -> PeerResult {
    check_size(recv()?, job.size)?;
    let start = std::time::Instant::now();
    for _ in 1..job.count {
        check_size(recv()?, job.size)?;
    }
    report(Measured {
        secs: start.elapsed().as_secs_f64(),
        units: (job.count - 1) as f64,
    });
    Ok(())
}

/// [`time_round_trips`] for async implementations.
pub async fn time_round_trips_async(
    job: &Job,
    mut round_trip: impl AsyncFnMut() -> PeerResult,
) -> PeerResult {
    for _ in 0..job.warmup {
        round_trip().await?;
    }
    let start = std::time::Instant::now();
    for _ in 0..job.count {
        round_trip().await?;
    }
    report(Measured {
        secs: start.elapsed().as_secs_f64(),
        units: job.count as f64,
    });
    Ok(())
}

/// [`time_receive`] for async implementations.
pub async fn time_receive_async(
    job: &Job,
    mut recv: impl AsyncFnMut() -> Result<usize, PeerError>,
) -> PeerResult {
    check_size(recv().await?, job.size)?;
    let start = std::time::Instant::now();
    for _ in 1..job.count {
        check_size(recv().await?, job.size)?;
    }
    report(Measured {
        secs: start.elapsed().as_secs_f64(),
        units: (job.count - 1) as f64,
    });
    Ok(())
}

/// [`finish`] for async implementations: waits on a blocking thread, so the runtime keeps
/// driving the sockets' connections meanwhile.
pub async fn finish_async() -> PeerResult {
    tokio::task::spawn_blocking(finish).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_vmhwm() {
        assert!(super::vmhwm_kib().unwrap() > 0);
    }
}

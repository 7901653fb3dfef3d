//! Reliable pipeline: source → worker → sink, each stage its own OS process with its own
//! on-disk spool. A random stage is killed with SIGKILL a few times and restarted with the
//! same arguments, and still every task reaches the sink.
//!
//! ```text
//!  orchestrator (the binary run without a role): starts the three stages, SIGKILLs one at
//!  random moments, restarts it with the same arguments, counts the sink's journal at the end
//!
//!  ┌─ source ───────────────┐       ┌─ worker ───────────────┐         ┌─ sink ─────────────────┐
//!  │ PUSH + FileSpool       │ tasks │ PULL bind worker.sock  │         │                        │
//!  │ T/source ── connect ───┼──────>│                        │ results │                        │
//!  │                        │       │ PUSH + FileSpool       │         │                        │
//!  │                        │       │ T/worker ── connect ───┼────────>│ PULL bind sink.sock    │
//!  │                        │       └────────────────────────┘         │ journal T/sink/received│
//!  │ PULL bind repair.sock <┼───── missing task ranges: "send again" ──┼─ PUSH connect          │
//!  └────────────────────────┘                                          └────────────────────────┘
//! ```
//!
//! Receivers bind and senders connect, over `ipc://` paths in one temporary directory T, so a
//! restarted stage binds the same path again (a stale socket file is replaced) and its peers'
//! reconnect logic finds it.
//!
//! What "delivered" means, hop by hop. A spooled `send` returns once the message is written
//! to the spool file: it is in the kernel then, so killing the process loses nothing (the
//! default fsync policy leaves at most ~100 ms of it to a power failure, which this recipe does
//! not simulate). The spool keeps each message until the receiving zocket socket acknowledges
//! that its *application* read it (`recv` returned it). A restarted sender re-sends everything
//! unacknowledged; what a killed receiver had not read goes to the next process on that
//! endpoint; a receiver that stays up drops copies it already delivered (same spool stream,
//! same sequence number). The source numbers tasks 1..=N and task n is record n of its spool,
//! so on restart it resumes at `Spool::next_seq()` (a torn last record is cut off on open and
//! that task is simply generated again).
//!
//! The window the spools cannot close. The acknowledgement goes out as soon as `recv` returns,
//! before the application has done anything with the message. A worker killed after `recv`
//! returned a task and before the spooled `send` of its result returned loses that task: the
//! source forgot it, no result was spooled. The same holds for the sink between `recv` and its
//! journal write. The worker keeps this window to one task (it spools each result before it
//! reads the next task), and the pipeline closes it end to end: the sink knows which task
//! numbers it lacks, and after `QUIET` without a new one it sends the source the missing
//! ranges; the source sends again every missing task that has left its spool (acknowledged by
//! the worker, which it learns through a thin `Spool` wrapper) and ignores the rest, which the
//! spools still deliver. Requests are repeated, so a lost request or a lost re-send is retried.
//! Being end to end, this also covers any other gap in the hop-by-hop acknowledgements.
//!
//! Guaranteed: every task 1..=N reaches the sink's journal, whichever stage dies when. Not
//! guaranteed: exactly once. The sink deduplicates by task number and counts duplicates: tasks
//! a restarted worker did again and results a restarted sink read again (the sender's spool had
//! not recorded their acknowledgement: not received yet, or not yet in its `acked` file, which
//! is rewritten once per fsync interval), and re-sends of tasks that were only late (e.g. still
//! in a killed worker's spool). Out of scope: losing the disk, two copies of one stage at
//! once, and power failure inside the fsync interval.
//!
//! Run: `cargo run --release --example reliable_pipeline [-- [--short] [--seed S]]`
//! (one stage by hand: `reliable_pipeline stage worker --dir D --work-us 100 --in ipc://… --out
//! ipc://…`)

use bytes::Bytes;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, FileSpoolConfig, Spool, SpoolError};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The sink asks for missing tasks after this long without a new one.
const QUIET: Duration = Duration::from_millis(400);
/// Receive/send timeout of the stages, so that they notice when the orchestrator is gone.
const TICK: Duration = Duration::from_millis(50);
/// Stages retry connecting this often (a restarted peer is found within this).
const RECONNECT: Duration = Duration::from_millis(10);
/// Most ranges in one repair request.
const MAX_RANGES: usize = 512;

/// A tiny xorshift64 PRNG: the same seed gives the same kill schedule.
struct XorShift(u64);
impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// splitmix64's finaliser: the tasks' payload and the worker's "computation".
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Task n: its number and a payload derived from it.
fn task(n: u64) -> Vec<u8> {
    let mut t = (n as u32).to_be_bytes().to_vec();
    t.extend_from_slice(&mix(n).to_be_bytes());
    t
}

/// The worker's job: a result computed from the task's payload, tagged with its number.
fn compute(task: &[u8]) -> Option<Vec<u8>> {
    let payload: [u8; 8] = task.get(4..12)?.try_into().ok()?;
    let mut r = task[..4].to_vec();
    r.extend_from_slice(&mix(u64::from_be_bytes(payload) ^ 0x5EED).to_be_bytes());
    Some(r)
}

/// The task number of a result, if the result is right.
fn check(result: &[u8], tasks: u64) -> Option<u64> {
    let n = u64::from(u32::from_be_bytes(result.get(..4)?.try_into().ok()?));
    let value = u64::from_be_bytes(result.get(4..12)?.try_into().ok()?);
    (result.len() == 12 && (1..=tasks).contains(&n) && value == mix(mix(n) ^ 0x5EED)).then_some(n)
}

/// Spool settings of the source and the worker: small segments and a quota, so that a stage
/// whose consumer is down blocks (back-pressure) instead of filling the disk.
fn spool_config() -> FileSpoolConfig {
    FileSpoolConfig {
        segment_size: 32 << 10,
        quota: Some(256 << 10),
        ..FileSpoolConfig::default()
    }
}

/// A `FileSpool` that publishes its acknowledgement mark: the source learns from it which tasks
/// the worker has taken (those below the mark), as the socket owns the spool itself.
struct Watched {
    inner: FileSpool,
    first_unacked: Arc<AtomicU64>,
}

impl Spool for Watched {
    fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
        self.inner.append(frames)
    }
    fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        self.inner.read(seq)
    }
    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        let done = self.inner.ack(seq);
        self.first_unacked
            .store(self.inner.first_unacked(), Ordering::Release);
        done
    }
    fn sync(&mut self) -> Result<(), SpoolError> {
        self.inner.sync()
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn first_unacked(&self) -> u64 {
        self.inner.first_unacked()
    }
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }
    fn stream_id(&self) -> u64 {
        self.inner.stream_id()
    }
}

/// Stage arguments: `--key value` pairs.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(words: &[String]) -> Res<Args> {
        let mut map = HashMap::new();
        for pair in words.chunks(2) {
            match pair {
                [key, value] if key.starts_with("--") => {
                    map.insert(key[2..].to_string(), value.clone());
                }
                _ => return Err(format!("expected `--key value` pairs, got {pair:?}").into()),
            }
        }
        Ok(Args(map))
    }
    fn get(&self, key: &str) -> Res<&str> {
        Ok(self.0.get(key).ok_or_else(|| format!("missing --{key}"))?)
    }
    fn num(&self, key: &str) -> Res<u64> {
        Ok(self.get(key)?.parse()?)
    }
}

/// A stage exits when the orchestrator is gone (reparented), so none is left behind.
fn exit_if_orphaned(parent: u32) {
    if std::os::unix::process::parent_id() != parent {
        std::process::exit(0);
    }
}

/// A spooled send that waits while the spool is at its quota, watching the parent meanwhile.
/// A send that fails on the quota appended nothing, so trying again cannot duplicate.
fn send_patiently(socket: &Socket, msg: &[u8], parent: u32) -> zocket::Result<()> {
    loop {
        match socket.send(msg, 0) {
            Err(Error::Spool(SpoolError::Full { .. }) | Error::WouldBlock) => exit_if_orphaned(parent),
            other => return other,
        }
    }
}

/// Waits for the next message, watching the parent while none comes.
fn recv_patiently(socket: &Socket, parent: u32) -> zocket::Result<Vec<u8>> {
    loop {
        match socket.recv_bytes(0) {
            Err(Error::WouldBlock) => exit_if_orphaned(parent),
            other => return other,
        }
    }
}

/// The source: tasks 1..=N into its spool, then re-sends what the sink reports missing.
fn source(a: &Args, parent: u32) -> Res<()> {
    let tasks = a.num("tasks")?;
    let dir = PathBuf::from(a.get("dir")?);
    let spool = FileSpool::open_with(dir.join("spool"), spool_config())?;
    // Task n is record n: resume after the last one an earlier run got accepted.
    let first_new = spool.next_seq();
    let taken = Arc::new(AtomicU64::new(spool.first_unacked()));
    eprintln!(
        "source[{}]: {} task(s) accepted before, {} of them not yet taken by the worker",
        std::process::id(),
        first_new - 1,
        spool.next_seq() - spool.first_unacked()
    );
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    push.set_spool(Watched {
        inner: spool,
        first_unacked: Arc::clone(&taken),
    })?;
    push.set_reconnect_ivl(RECONNECT)?;
    push.set_sndtimeo(Some(TICK))?;
    push.connect(a.get("out")?)?;
    let repair = ctx.socket(SocketType::Pull)?;
    repair.set_rcvtimeo(Some(TICK))?;
    repair.bind(a.get("repair")?)?;

    let mut next_record = first_new;
    for n in first_new..=tasks {
        send_patiently(&push, &task(n), parent)?;
        next_record += 1;
    }
    // Only now serve repairs, so that records 1..=N stay tasks 1..=N; re-sends come after.
    let mut resent_as: HashMap<u64, u64> = HashMap::new(); // task -> record of its last re-send
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("resent"))?;
    loop {
        let mut request = recv_patiently(&repair, parent)?;
        while let Ok(newer) = repair.recv_bytes(DONTWAIT) {
            request = newer; // requests queued while we were down: the newest is enough
        }
        let taken = taken.load(Ordering::Acquire);
        for range in request.chunks_exact(8) {
            let lo = u64::from(u32::from_be_bytes(range[..4].try_into()?));
            let hi = u64::from(u32::from_be_bytes(range[4..].try_into()?));
            for t in lo.max(1)..=hi.min(tasks) {
                // Still in our spool (first send or an earlier re-send): the spool delivers it.
                if t >= taken || resent_as.get(&t).is_some_and(|&r| r >= taken) {
                    continue;
                }
                send_patiently(&push, &task(t), parent)?;
                resent_as.insert(t, next_record);
                next_record += 1;
                writeln!(log, "{t}")?;
            }
        }
    }
}

/// The worker: a task in, its result spooled out, and only then the next task.
fn worker(a: &Args, parent: u32) -> Res<()> {
    let work = Duration::from_micros(a.num("work-us")?);
    let spool = FileSpool::open_with(Path::new(a.get("dir")?).join("spool"), spool_config())?;
    eprintln!(
        "worker[{}]: {} result(s) of earlier runs still to deliver",
        std::process::id(),
        spool.next_seq() - spool.first_unacked()
    );
    let ctx = Context::new();
    let results = ctx.socket(SocketType::Push)?;
    results.set_spool(spool)?;
    results.set_reconnect_ivl(RECONNECT)?;
    results.set_sndtimeo(Some(TICK))?;
    results.connect(a.get("out")?)?;
    let tasks = ctx.socket(SocketType::Pull)?;
    tasks.set_rcvtimeo(Some(TICK))?;
    tasks.bind(a.get("in")?)?;
    loop {
        let task = recv_patiently(&tasks, parent)?;
        // The task may be acknowledged to the source from now on: until `send` below returns,
        // it may exist only in this process (the window the sink's repair requests close).
        std::thread::sleep(work);
        let result = compute(&task).ok_or("malformed task")?;
        send_patiently(&results, &result, parent)?;
    }
}

/// The sink's journal: every result read, as a u32 task number, duplicates included.
fn journal_path(dir: &Path) -> PathBuf {
    dir.join("received")
}

/// The task numbers 1..=tasks in a journal (a torn last entry is ignored).
fn read_journal(path: &Path, tasks: u64) -> Vec<u64> {
    let bytes = fs::read(path).unwrap_or_default();
    bytes
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_le_bytes(c.try_into().expect("4 bytes"))))
        .filter(|n| (1..=tasks).contains(n))
        .collect()
}

/// Missing task numbers of `seen` (index = task number) as `lo,hi` ranges, u32 BE.
fn missing_ranges(seen: &[bool]) -> (Vec<u8>, u64) {
    let (mut out, mut count, mut ranges) = (Vec::new(), 0, 0);
    let mut n = 1;
    while n < seen.len() && ranges < MAX_RANGES {
        if seen[n] {
            n += 1;
            continue;
        }
        let lo = n;
        while n < seen.len() && !seen[n] {
            n += 1;
        }
        out.extend_from_slice(&(lo as u32).to_be_bytes());
        out.extend_from_slice(&((n - 1) as u32).to_be_bytes());
        count += (n - lo) as u64;
        ranges += 1;
    }
    (out, count)
}

/// The sink: results in, journaled, deduplicated; asks for what is missing; exits with all N.
fn sink(a: &Args, parent: u32) -> Res<()> {
    let tasks = a.num("tasks")?;
    let dir = PathBuf::from(a.get("dir")?);
    fs::create_dir_all(&dir)?;
    let path = journal_path(&dir);
    let mut seen = vec![false; tasks as usize + 1];
    let (mut distinct, mut duplicates) = (0, 0);
    for n in read_journal(&path, tasks) {
        if seen[n as usize] {
            duplicates += 1;
        } else {
            seen[n as usize] = true;
            distinct += 1;
        }
    }
    let mut journal = OpenOptions::new().create(true).append(true).open(&path)?;
    let len = journal.metadata()?.len();
    journal.set_len(len - len % 4)?; // a torn entry of a killed run
    eprintln!(
        "sink[{}]: {distinct} of {tasks} task(s) journaled before",
        std::process::id()
    );
    let ctx = Context::new();
    let results = ctx.socket(SocketType::Pull)?;
    results.set_rcvtimeo(Some(TICK))?;
    results.bind(a.get("in")?)?;
    let repair = ctx.socket(SocketType::Push)?;
    repair.set_linger(Some(Duration::ZERO))?;
    repair.set_reconnect_ivl(RECONNECT)?;
    repair.connect(a.get("repair")?)?;
    let (mut last_new, mut last_ask, mut last_count) = (Instant::now(), None::<Instant>, 0);
    while distinct < tasks {
        match results.recv_bytes(0) {
            Ok(result) => {
                let n = check(&result, tasks).ok_or_else(|| format!("wrong result {result:?}"))?;
                // Acknowledged to the worker already: journal it before anything else.
                journal.write_all(&(n as u32).to_le_bytes())?;
                if seen[n as usize] {
                    duplicates += 1;
                } else {
                    seen[n as usize] = true;
                    distinct += 1;
                    last_new = Instant::now();
                }
            }
            Err(Error::WouldBlock) => exit_if_orphaned(parent),
            Err(e) => return Err(e.into()),
        }
        if distinct < tasks && last_new.elapsed() >= QUIET && last_ask.is_none_or(|t| t.elapsed() >= QUIET) {
            let (request, count) = missing_ranges(&seen);
            if count != last_count {
                eprintln!(
                    "sink[{}]: nothing new for {} ms, asking the source for {count} missing task(s)",
                    std::process::id(),
                    last_new.elapsed().as_millis()
                );
                last_count = count;
            }
            let _ = repair.send(request, DONTWAIT); // queue full: the next ask goes through
            last_ask = Some(Instant::now());
        }
    }
    eprintln!(
        "sink[{}]: all {tasks} tasks in, {duplicates} duplicate(s) dropped",
        std::process::id()
    );
    Ok(())
}

/// One stage process of the orchestrator, with the arguments it is (re)started with.
struct Stage {
    role: &'static str,
    args: Vec<String>,
    child: Option<Child>,
}

impl Stage {
    /// Starts the stage; its stderr goes to the shared log (stdout carries only our lines).
    fn start(&mut self, log: &File) -> Res<u32> {
        let child = Command::new(std::env::current_exe()?)
            .args(["stage", self.role])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log.try_clone()?)
            .spawn()?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// SIGKILL (`Child::kill`), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        self.kill();
    }
}

fn arg_list(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

fn orchestrate(short: bool, seed: Option<u64>) -> Res<()> {
    let (tasks, kills, work_us): (u64, usize, u64) = if short { (2_000, 3, 100) } else { (20_000, 8, 100) };
    let seed = seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        mix(nanos ^ u64::from(std::process::id()))
    }) | 1;
    println!("reliable_pipeline: seed {seed} (run again with --seed {seed} for the same kill schedule)");
    let mut rng = XorShift(seed);
    let tmp = std::env::temp_dir().join(format!(
        "zocket-reliable-pipeline-{}-{:x}",
        std::process::id(),
        seed & 0xffff_ffff
    ));
    fs::create_dir_all(&tmp)?;
    // One timeline of what happened: the stages' stderr and our kills, printed at the end.
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(tmp.join("stages.log"))?;
    let ipc = |name: &str| format!("ipc://{}", tmp.join(name).display());
    let dir = |name: &str| tmp.join(name).display().to_string();
    let (n, work) = (tasks.to_string(), work_us.to_string());
    let mut stages = [
        (
            "source",
            vec![
                ("dir", dir("source")),
                ("tasks", n.clone()),
                ("out", ipc("worker.sock")),
                ("repair", ipc("repair.sock")),
            ],
        ),
        (
            "worker",
            vec![
                ("dir", dir("worker")),
                ("work-us", work),
                ("in", ipc("worker.sock")),
                ("out", ipc("sink.sock")),
            ],
        ),
        (
            "sink",
            vec![
                ("dir", dir("sink")),
                ("tasks", n),
                ("in", ipc("sink.sock")),
                ("repair", ipc("repair.sock")),
            ],
        ),
    ]
    .map(|(role, pairs)| Stage {
        role,
        args: arg_list(&pairs),
        child: None,
    });
    const SINK: usize = 2;
    let journal = journal_path(&tmp.join("sink"));
    // Kill when the sink's journal passes these counts: all kills land while work is going on.
    let mut kill_at: Vec<u64> = (0..kills)
        .map(|_| tasks / 20 + rng.below(tasks * 17 / 20))
        .collect();
    kill_at.sort_unstable();

    let start = Instant::now();
    for stage in &mut stages {
        stage.start(&log)?;
    }
    let limit = if short {
        Duration::from_secs(40)
    } else {
        Duration::from_secs(240)
    };
    let (mut killed, mut per_stage) = (0, [0; 3]);
    let outcome: Result<(), String> = 'run: loop {
        for (i, stage) in stages.iter_mut().enumerate() {
            let Some(child) = stage.child.as_mut() else {
                continue;
            };
            if let Some(status) = child.try_wait()? {
                if i == SINK && status.success() {
                    break 'run Ok(());
                }
                break 'run Err(format!("{} exited on its own ({status})", stage.role));
            }
        }
        if start.elapsed() > limit {
            break Err(format!("not done after {limit:?}"));
        }
        let progress = fs::metadata(&journal).map_or(0, |m| m.len() / 4);
        if killed < kills && progress >= kill_at[killed] {
            let i = rng.below(3) as usize;
            let pid = stages[i].child.as_ref().map_or(0, Child::id);
            killed += 1;
            per_stage[i] += 1;
            writeln!(
                log,
                "kill {killed}/{kills}: SIGKILL {}[{pid}] at {progress} results journaled, restart it",
                stages[i].role
            )?;
            stages[i].kill();
            std::thread::sleep(Duration::from_millis(rng.below(30))); // down for a moment
            stages[i].start(&log)?;
            continue;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let ms = start.elapsed().as_millis();
    drop(stages); // the source and the worker wait for work forever: SIGKILL them too

    // The count comes from the sink's journal, not from any process's memory.
    let mut seen = vec![false; tasks as usize + 1];
    let (mut received, mut duplicates) = (0u64, 0u64);
    for n in read_journal(&journal, tasks) {
        if std::mem::replace(&mut seen[n as usize], true) {
            duplicates += 1;
        } else {
            received += 1;
        }
    }
    for line in fs::read_to_string(tmp.join("stages.log"))?.lines() {
        println!("  {line}");
    }
    let resent = fs::read_to_string(tmp.join("source/resent")).map_or(0, |s| s.lines().count());
    println!(
        "kills per stage: source={} worker={} sink={}; tasks re-sent on the sink's request: {resent}",
        per_stage[0], per_stage[1], per_stage[2]
    );
    println!(
        "SUMMARY reliable_pipeline tasks={tasks} received={received} missing={} duplicates={duplicates} \
         kills={killed} resent={resent} ms={ms}",
        tasks - received
    );
    match outcome {
        Ok(()) if received == tasks => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(())
        }
        Ok(()) => Err(format!(
            "the sink finished with {received} of {tasks}; see {}",
            tmp.display()
        )
        .into()),
        Err(e) => Err(format!("{e}; spools and journal left in {}", tmp.display()).into()),
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [stage, role, rest @ ..] = &args[..]
        && stage == "stage"
    {
        let parent = std::os::unix::process::parent_id();
        let parsed = Args::parse(rest)?;
        let run = match role.as_str() {
            "source" => source(&parsed, parent),
            "worker" => worker(&parsed, parent),
            "sink" => sink(&parsed, parent),
            other => Err(format!("unknown role {other}").into()),
        };
        if let Err(e) = &run {
            eprintln!("{role}[{}]: {e}", std::process::id());
        }
        return run;
    }
    let short = args.iter().any(|a| a == "--short");
    let seed = match args.iter().position(|a| a == "--seed") {
        Some(i) => Some(args.get(i + 1).ok_or("--seed needs a number")?.parse()?),
        None => None,
    };
    orchestrate(short, seed)
}

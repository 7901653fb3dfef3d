//! Exactly-once pipeline: a source sends numbered tasks through a spooled PUSH; a sink does
//! each task's work in a SQLite transaction and keeps its zocket receipt in the *same*
//! transaction. Both are separate processes, killed with SIGKILL at random moments and
//! restarted; at the end every task's work is in the database exactly once.
//!
//! ```text
//!  orchestrator: starts both, SIGKILLs one at random, restarts it, checks the database
//!
//!  ┌─ source ─────────────────┐  tasks   ┌─ sink ───────────────────────────────────┐
//!  │ PUSH + FileSpool T/spool ├─────────>│ PULL bind T/sink.sock                     │
//!  │ connect T/sink.sock      │  ZACK    │ receipts: SqliteReceipts(T/sink.db)       │
//!  │                          │<─────────┤ work: INSERT INTO done, same transaction  │
//!  └──────────────────────────┘          └───────────────────────────────────────────┘
//! ```
//!
//! Why exactly once. The sink's work for a message and its receipt (the stream's highest
//! sequence number finished) commit together: after a crash, either both are in the database
//! or neither is. The sink acknowledges a message to the source only after that commit, so the
//! source's spool forgets only what the database holds; what it sends again after a crash of
//! either side is either above the receipt (never done: done now) or at or below it (done:
//! dropped by the socket before the application sees it). zocket calls `commit` when the
//! application asks for the next message, so the work of one message goes in one transaction.
//!
//! Run: `cargo run --release --example exactly_once_pipeline [-- [--short] [--seed S]]`

use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, Receipts, Spool, SpoolError};
use zocket::{Context, SocketType};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Receipts in the sink's database, committed with the open transaction of work.
struct SqliteReceipts {
    db: Arc<Mutex<Connection>>,
}

fn db_error(e: rusqlite::Error) -> SpoolError {
    SpoolError::Io {
        path: "sink.db".into(),
        source: std::io::Error::other(e),
    }
}

impl Receipts for SqliteReceipts {
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let mark = db
            .query_row(
                "SELECT seq FROM receipts WHERE stream = ?1",
                params![stream as i64],
                |row| row.get::<_, i64>(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                e => Err(e),
            })
            .map_err(db_error)?;
        Ok(mark as u64)
    }

    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if db.is_autocommit() {
            db.execute_batch("BEGIN").map_err(db_error)?;
        }
        db.execute(
            "INSERT INTO receipts (stream, seq) VALUES (?1, ?2)
             ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq",
            params![stream as i64, seq as i64],
        )
        .map_err(db_error)?;
        db.execute_batch("COMMIT").map_err(db_error)
    }
}

fn open_db(path: &Path) -> Res<Connection> {
    let db = Connection::open(path)?;
    // WAL with NORMAL sync: a commit survives a crash of the process (this recipe's failure).
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS done (task INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS receipts (stream INTEGER PRIMARY KEY, seq INTEGER NOT NULL);",
    )?;
    Ok(db)
}

/// The sink: receives tasks and does each one's work in the open transaction; the receipt
/// commits it (see the module documentation). Runs until killed.
fn sink(dir: &Path) -> Res<()> {
    let db = Arc::new(Mutex::new(open_db(&dir.join("sink.db"))?));
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    pull.set_receipts(SqliteReceipts { db: Arc::clone(&db) })?;
    pull.bind(&endpoint(dir))?;
    loop {
        let msg = pull.recv_msg(0)?; // commits the previous task's transaction first
        let task = u64::from_be_bytes(msg[..].try_into()?);
        let db = db.lock().unwrap_or_else(|e| e.into_inner());
        if db.is_autocommit() {
            db.execute_batch("BEGIN")?;
        }
        db.execute("INSERT INTO done (task) VALUES (?1)", params![task as i64])?;
    }
}

/// The source: sends tasks 1..=`tasks` through its spool, resuming after a restart where the
/// spool left off (task n is record n), and exits once every task is acknowledged.
fn source(dir: &Path, tasks: u64) -> Res<()> {
    let spool = FileSpool::open(dir.join("spool"))?;
    let first = spool.next_seq();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    push.set_spool(spool)?;
    push.set_linger(None)?; // closing waits for every acknowledgement
    push.set_reconnect_ivl(Duration::from_millis(10))?;
    push.connect(&endpoint(dir))?;
    for n in first..=tasks {
        push.send(n.to_be_bytes(), 0)?;
    }
    Ok(())
}

fn endpoint(dir: &Path) -> String {
    format!("ipc://{}", dir.join("sink.sock").display())
}

fn spawn(args: &[&str]) -> Res<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::null())
        .spawn()?)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A tiny xorshift64 PRNG: the same seed gives the same kill schedule.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn orchestrate(short: bool, seed: u64) -> Res<()> {
    let tasks: u64 = if short { 20_000 } else { 200_000 };
    let kills = if short { 6 } else { 20 };
    let dir: PathBuf = std::env::temp_dir().join(format!("zocket-exactly-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let d = dir.to_str().ok_or("temporary path is not UTF-8")?;
    let count = tasks.to_string();
    let sink_args = ["sink", d];
    let source_args = ["source", d, &count];
    let mut sink = spawn(&sink_args)?;
    let mut source = spawn(&source_args)?;
    let mut rng = seed | 1;
    let started = Instant::now();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(50 + next(&mut rng) % 250));
        if next(&mut rng).is_multiple_of(2) {
            kill(&mut sink);
            sink = spawn(&sink_args)?;
        } else if source.try_wait()?.is_none() {
            kill(&mut source);
            source = spawn(&source_args)?;
        }
    }
    while source.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            kill(&mut source);
            kill(&mut sink);
            return Err("the source never finished".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(&mut sink);
    let db = open_db(&dir.join("sink.db"))?;
    let processed: i64 = db.query_row("SELECT COUNT(DISTINCT task) FROM done", [], |r| r.get(0))?;
    let rows: i64 = db.query_row("SELECT COUNT(*) FROM done", [], |r| r.get(0))?;
    println!(
        "SUMMARY exactly_once_pipeline tasks={tasks} processed={processed} duplicates={} kills={kills} seed={seed}",
        rows - processed
    );
    drop(db);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sink") => sink(Path::new(&args[1])),
        Some("source") => source(Path::new(&args[1]), args[2].parse()?),
        _ => {
            let short = args.iter().any(|a| a == "--short");
            let seed = args
                .iter()
                .position(|a| a == "--seed")
                .and_then(|i| args.get(i + 1))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |d| d.as_nanos() as u64)
                });
            orchestrate(short, seed)
        }
    }
}

//! Transfer with check-back: a transactional message between two services, without a broker.
//! The payer debits an account in its own SQLite database and sends the matching credit as a
//! prepared batch, committed only once its local transaction committed; after a crash, the
//! check-back asks the payer's database what happened. The payee credits with receipts kept
//! in its database's transaction. Both are killed with SIGKILL at random moments; at the end,
//! every debit has exactly one credit and no credit lacks its debit.
//!
//! ```text
//!  ┌─ payer ───────────────────────────────┐  credits  ┌─ payee ──────────────────────────┐
//!  │ 1. tx.send(credit t); id = prepare()  ├──────────>│ PULL + SqliteReceipts            │
//!  │ 2. SQLite: debit t, remember id; COMMIT│          │ credit t and receipt: one COMMIT │
//!  │ 3. commit_prepared(id)                │           └──────────────────────────────────┘
//!  │ check-back(id): is id in my database? │
//!  └───────────────────────────────────────┘
//! ```
//!
//! A crash between 1 and 2 leaves a prepared batch whose debit never happened: the check-back
//! finds no record and rolls it back. A crash between 2 and 3 leaves a debit whose credit is
//! prepared: the check-back finds the record and commits it. The credit is then delivered
//! (the spool), processed once (the payee's receipts).
//!
//! Run: `cargo run --release --example transfer_with_checkback [-- [--short] [--seed S]]`

use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, Receipts, SpoolError};
use zocket::{BatchId, Checkback, Context, SocketType};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn open_db(path: &Path, schema: &str) -> Res<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; {schema}"
    ))?;
    Ok(db)
}

const PAYER_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS debits (t INTEGER PRIMARY KEY, batch TEXT NOT NULL, amount INTEGER NOT NULL);";
const PAYEE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS credits (t INTEGER NOT NULL, amount INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS receipts (stream INTEGER PRIMARY KEY, seq INTEGER NOT NULL);";

fn amount(t: u64) -> i64 {
    (t % 97 + 1) as i64
}

/// The payer: transfers 1..=`transfers`, resuming after its last recorded debit.
fn payer(dir: &Path, transfers: u64) -> Res<()> {
    let db = open_db(&dir.join("payer.db"), PAYER_SCHEMA)?;
    let next = db.query_row("SELECT COALESCE(MAX(t), 0) + 1 FROM debits", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    let checkback_db = Mutex::new(open_db(&dir.join("payer.db"), PAYER_SCHEMA)?);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    push.set_checkback(move |id: BatchId| {
        let db = checkback_db.lock().unwrap_or_else(|e| e.into_inner());
        let found = db
            .query_row(
                "SELECT 1 FROM debits WHERE batch = ?1",
                params![id.to_string()],
                |_| Ok(()),
            )
            .optional();
        match found {
            Ok(Some(())) => Checkback::Commit,
            Ok(None) => Checkback::Rollback, // the debit never committed
            Err(_) => Checkback::Unknown,    // ask again later
        }
    })?;
    push.set_spool(FileSpool::open(dir.join("spool"))?)?;
    push.set_linger(None)?;
    push.set_reconnect_ivl(Duration::from_millis(10))?;
    push.connect(&endpoint(dir))?;
    for t in next..=transfers {
        let mut tx = push.begin()?;
        tx.send(format!("{t} {}", amount(t)), 0)?;
        let id = tx.prepare()?;
        db.execute(
            "INSERT INTO debits (t, batch, amount) VALUES (?1, ?2, ?3)",
            params![t as i64, id.to_string(), amount(t)],
        )?;
        push.commit_prepared(id)?;
    }
    Ok(())
}

/// Receipts in the payee's database, committed with the open transaction of credits.
struct SqliteReceipts(Arc<Mutex<Connection>>);

fn db_error(e: rusqlite::Error) -> SpoolError {
    SpoolError::Io {
        path: "payee.db".into(),
        source: std::io::Error::other(e),
    }
}

impl Receipts for SqliteReceipts {
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
        let db = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mark = db
            .query_row(
                "SELECT seq FROM receipts WHERE stream = ?1",
                params![stream as i64],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(db_error)?;
        Ok(mark.unwrap_or(0) as u64)
    }

    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
        let db = self.0.lock().unwrap_or_else(|e| e.into_inner());
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

/// The payee: credits each transfer in the open transaction; the receipt commits it.
fn payee(dir: &Path) -> Res<()> {
    let db = Arc::new(Mutex::new(open_db(&dir.join("payee.db"), PAYEE_SCHEMA)?));
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    pull.set_receipts(SqliteReceipts(Arc::clone(&db)))?;
    pull.bind(&endpoint(dir))?;
    loop {
        let msg = pull.recv_msg(0)?;
        let text = msg.as_str().ok_or("not text")?;
        let (t, amount) = text.split_once(' ').ok_or("malformed credit")?;
        let db = db.lock().unwrap_or_else(|e| e.into_inner());
        if db.is_autocommit() {
            db.execute_batch("BEGIN")?;
        }
        db.execute(
            "INSERT INTO credits (t, amount) VALUES (?1, ?2)",
            params![t.parse::<i64>()?, amount.parse::<i64>()?],
        )?;
    }
}

fn endpoint(dir: &Path) -> String {
    format!("ipc://{}", dir.join("payee.sock").display())
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

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn orchestrate(short: bool, seed: u64) -> Res<()> {
    let transfers: u64 = if short { 2_000 } else { 20_000 };
    let kills = if short { 8 } else { 30 };
    let dir: PathBuf = std::env::temp_dir().join(format!("zocket-transfer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let d = dir.to_str().ok_or("temporary path is not UTF-8")?;
    let count = transfers.to_string();
    let payee_args = ["payee", d];
    let payer_args = ["payer", d, &count];
    let mut payee_proc = spawn(&payee_args)?;
    let mut payer_proc = spawn(&payer_args)?;
    let mut rng = seed | 1;
    let started = Instant::now();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(30 + next(&mut rng) % 200));
        if next(&mut rng).is_multiple_of(2) {
            kill(&mut payee_proc);
            payee_proc = spawn(&payee_args)?;
        } else if payer_proc.try_wait()?.is_none() {
            kill(&mut payer_proc);
            payer_proc = spawn(&payer_args)?;
        }
    }
    while payer_proc.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            kill(&mut payer_proc);
            kill(&mut payee_proc);
            return Err("the payer never finished".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(&mut payee_proc);
    let payer_db = open_db(&dir.join("payer.db"), PAYER_SCHEMA)?;
    let payee_db = open_db(&dir.join("payee.db"), PAYEE_SCHEMA)?;
    let debits: i64 = payer_db.query_row("SELECT COUNT(*) FROM debits", [], |r| r.get(0))?;
    let debited: i64 = payer_db.query_row("SELECT COALESCE(SUM(amount), 0) FROM debits", [], |r| r.get(0))?;
    let credits: i64 = payee_db.query_row("SELECT COUNT(*) FROM credits", [], |r| r.get(0))?;
    let distinct: i64 = payee_db.query_row("SELECT COUNT(DISTINCT t) FROM credits", [], |r| r.get(0))?;
    let credited: i64 =
        payee_db.query_row("SELECT COALESCE(SUM(amount), 0) FROM credits", [], |r| r.get(0))?;
    println!(
        "SUMMARY transfer_with_checkback transfers={transfers} debits={debits} credits={credits} \
         duplicates={} balanced={} kills={kills} seed={seed}",
        credits - distinct,
        debited == credited
    );
    drop((payer_db, payee_db));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("payee") => payee(Path::new(&args[1])),
        Some("payer") => payer(Path::new(&args[1]), args[2].parse()?),
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

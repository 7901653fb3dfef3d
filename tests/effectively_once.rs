//! Effectively-once delivery, attacked: a spooled sender and a receiver with receipts, each
//! killed with SIGKILL at random points, alone and together, several times, while 100,000
//! numbered messages go through. The receiver's own record of what it processed (kept with
//! its receipts) must show every number exactly once.
//!
//! Kill points come from a seed printed at the start; `ZOCKET_ONCE_SEED` replays one.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zocket::spool::{FileReceipts, FileSpool, Receipts, Spool, SpoolError};
use zocket::{Context, SocketType};

const TOTAL: u64 = 100_000;
const ROLE_ENV: &str = "ZOCKET_ONCE_ROLE";
/// How long a whole run may take before the test gives up.
const DEADLINE: Duration = Duration::from_secs(240);

/// The receiver's store: the application's record of processed messages and its receipts, in
/// one file, each commit one `write` of one line `stream seq n…` (the numbers processed since
/// the last commit). A torn last line (a crash inside the write) is ignored, as its commit
/// never returned. This is what an application does with its own database.
struct RecordReceipts {
    file: File,
    marks: HashMap<u64, u64>,
    /// Numbers processed since the last commit, shared with the receiving loop.
    processed: Arc<Mutex<Vec<u64>>>,
}

impl RecordReceipts {
    fn open(path: &Path, processed: Arc<Mutex<Vec<u64>>>) -> RecordReceipts {
        let lines = read_lines(path);
        let mut marks = HashMap::new();
        for (stream, seq, _) in &lines {
            let mark = marks.entry(*stream).or_insert(0);
            *mark = (*seq).max(*mark);
        }
        // Cut a torn tail so the next line starts clean.
        let good: usize = lines_len(path);
        let file = OpenOptions::new().create(true).append(true).open(path).unwrap();
        file.set_len(good as u64).unwrap();
        RecordReceipts {
            file,
            marks,
            processed,
        }
    }
}

impl Receipts for RecordReceipts {
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
        Ok(self.marks.get(&stream).copied().unwrap_or(0))
    }
    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
        let numbers = std::mem::take(&mut *self.processed.lock().unwrap());
        let mut line = format!("{stream:x} {seq}");
        for n in numbers {
            line.push_str(&format!(" {n}"));
        }
        line.push('\n');
        self.file.write_all(line.as_bytes()).unwrap();
        self.marks.insert(stream, seq);
        Ok(())
    }
}

/// The complete lines of a record: (stream, seq, numbers).
fn read_lines(path: &Path) -> Vec<(u64, u64, Vec<u64>)> {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        f.read_to_string(&mut text).unwrap();
    }
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let stream = u64::from_str_radix(words.next().unwrap(), 16).unwrap();
            let seq = words.next().unwrap().parse().unwrap();
            (stream, seq, words.map(|w| w.parse().unwrap()).collect())
        })
        .collect()
}

fn lines_len(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap_or_default();
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |end| end + 1)
}

/// Which sockets carry the stream.
#[derive(Clone, Copy, Debug)]
enum Kind {
    PushPull,
    DealerRouter,
}

/// Where the receiver keeps its receipts.
#[derive(Clone, Copy, Debug)]
enum Store {
    /// With its record, in one write: exactly once.
    Record,
    /// In a `FileReceipts`, its record apart: a crash between processing a message and its
    /// receipt processes it again, so at most one duplicate per receiver crash.
    File,
}

struct Paths {
    root: PathBuf,
}

impl Paths {
    fn new(name: &str) -> Paths {
        let root = std::env::temp_dir().join(format!("zocket-once-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        Paths { root }
    }
    fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }
    fn receipts(&self) -> PathBuf {
        self.root.join("receipts")
    }
    fn record(&self) -> PathBuf {
        self.root.join("record")
    }
    fn endpoint(&self) -> String {
        format!("ipc://{}", self.root.join("sock").display())
    }
}

/// The child processes: a role in `ROLE_ENV` (`send|kind|root` or `recv|kind|store|root`).
/// Does nothing when run alone.
#[test]
fn once_child() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let parts: Vec<&str> = role.split('|').collect();
    let kind = match parts[1] {
        "PushPull" => Kind::PushPull,
        _ => Kind::DealerRouter,
    };
    match parts[0] {
        "send" => run_sender(
            kind,
            &Paths {
                root: parts[2].into(),
            },
        ),
        _ => {
            let store = if parts[2] == "Record" {
                Store::Record
            } else {
                Store::File
            };
            run_receiver(
                kind,
                store,
                &Paths {
                    root: parts[3].into(),
                },
            )
        }
    }
}

/// Sends `TOTAL` numbered messages through a file spool, continuing after what an earlier
/// (killed) run accepted: message n is the spool's record n. Exits once all are confirmed.
fn run_sender(kind: Kind, paths: &Paths) {
    let spool = FileSpool::open(paths.spool()).expect("open spool");
    let first = spool.next_seq();
    let ctx = Context::new();
    let socket_type = match kind {
        Kind::PushPull => SocketType::Push,
        Kind::DealerRouter => SocketType::Dealer,
    };
    let sender = ctx.socket(socket_type).unwrap();
    sender.set_spool(spool).unwrap();
    sender.set_linger(Some(Duration::from_secs(200))).unwrap();
    sender.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    sender.connect(&paths.endpoint()).unwrap();
    for n in first..=TOTAL {
        sender.send(n.to_be_bytes(), 0).unwrap();
    }
    // Dropping the socket lingers until the receiver confirmed everything.
}

/// Receives forever, recording each number processed with the receipts.
fn run_receiver(kind: Kind, store: Store, paths: &Paths) {
    let ctx = Context::new();
    let socket_type = match kind {
        Kind::PushPull => SocketType::Pull,
        Kind::DealerRouter => SocketType::Router,
    };
    let receiver = ctx.socket(socket_type).unwrap();
    let processed = Arc::new(Mutex::new(Vec::new()));
    let mut record = None;
    match store {
        Store::Record => {
            let receipts = RecordReceipts::open(&paths.record(), Arc::clone(&processed));
            receiver.set_receipts(receipts).unwrap();
        }
        Store::File => {
            receiver
                .set_receipts(FileReceipts::open(paths.receipts()).unwrap())
                .unwrap();
            record = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(paths.record())
                    .unwrap(),
            );
        }
    }
    receiver.bind(&paths.endpoint()).unwrap();
    loop {
        let first = receiver.recv_msg(0).unwrap();
        let delivery = first.delivery().expect("from a spooled sender");
        let payload = match kind {
            Kind::PushPull => first,
            Kind::DealerRouter => receiver.recv_msg(0).unwrap(),
        };
        let n = u64::from_be_bytes(payload[..].try_into().unwrap());
        assert_eq!(n, delivery.seq, "message n is record n of the sender's spool");
        match &mut record {
            None => processed.lock().unwrap().push(n),
            Some(file) => file
                .write_all(format!("{:x} {} {n}\n", delivery.stream, delivery.seq).as_bytes())
                .unwrap(),
        }
    }
}

/// A child process, killed when dropped (a failing test leaves none behind).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        kill(&mut self.0);
    }
}

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

fn spawn(role: String) -> Guard {
    Guard(
        Command::new(std::env::current_exe().unwrap())
            .args(["once_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
}

/// Numbers processed so far (complete lines of the record).
fn processed_count(path: &Path) -> usize {
    read_lines(path).iter().map(|(_, _, ns)| ns.len()).sum()
}

/// A xorshift generator from a printed seed.
fn rng() -> impl FnMut() -> u64 {
    let seed = std::env::var("ZOCKET_ONCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            nanos as u64 ^ u64::from(std::process::id())
        });
    eprintln!("effectively-once: seed {seed} (ZOCKET_ONCE_SEED replays it)");
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Runs the stream with kills of the sender, the receiver and both (three of each, in a
/// shuffled order) at random points of progress, then checks the record.
fn crash_matrix(kind: Kind, store: Store) {
    let paths = Paths::new(&format!("{kind:?}-{store:?}"));
    let mut rand = rng();
    let send_role = format!("send|{kind:?}|{}", paths.root.display());
    let recv_role = format!("recv|{kind:?}|{store:?}|{}", paths.root.display());
    let mut victims = ["sender", "receiver", "both"].repeat(3);
    for i in (1..victims.len()).rev() {
        victims.swap(i, (rand() % (i as u64 + 1)) as usize);
    }
    let mut points: Vec<u64> = victims
        .iter()
        .map(|_| 1_000 + rand() % (TOTAL - 10_000))
        .collect();
    points.sort_unstable();
    eprintln!(
        "{kind:?}, {store:?}: kills {:?}",
        victims.iter().zip(&points).collect::<Vec<_>>()
    );
    let mut receiver = spawn(recv_role.clone());
    let mut sender = spawn(send_role.clone());
    let started = Instant::now();
    let mut receiver_kills = 0;
    for (victim, &at) in victims.iter().zip(&points) {
        while (processed_count(&paths.record()) as u64) < at {
            assert!(started.elapsed() < DEADLINE, "stuck before {at} processed");
            if let Some(status) = sender.try_wait().unwrap() {
                panic!("the sender ended early: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if *victim != "receiver" {
            kill(&mut sender);
        }
        if *victim != "sender" {
            kill(&mut receiver);
            receiver_kills += 1;
            receiver = spawn(recv_role.clone());
        }
        if *victim != "receiver" {
            sender = spawn(send_role.clone());
        }
    }
    // The last sender exits once everything is confirmed, which the receiver does only
    // after each receipt is committed.
    loop {
        if let Some(status) = sender.try_wait().unwrap() {
            assert!(status.success(), "the last sender failed: {status}");
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the sender never drained its spool");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(&mut receiver);
    eprintln!("{kind:?}, {store:?}: done in {:?}", started.elapsed());
    let mut seen = vec![0u32; TOTAL as usize + 1];
    for (_, _, numbers) in read_lines(&paths.record()) {
        for n in numbers {
            seen[n as usize] += 1;
        }
    }
    let lost: Vec<u64> = (1..=TOTAL).filter(|&n| seen[n as usize] == 0).collect();
    let twice: Vec<u64> = (1..=TOTAL).filter(|&n| seen[n as usize] > 1).collect();
    assert!(
        lost.is_empty(),
        "{} lost, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    match store {
        Store::Record => assert!(
            twice.is_empty(),
            "{} processed twice: {:?}",
            twice.len(),
            &twice[..twice.len().min(10)]
        ),
        Store::File => assert!(
            twice.len() <= receiver_kills,
            "{} processed twice, more than the {receiver_kills} receiver crashes: {:?}",
            twice.len(),
            &twice[..twice.len().min(10)]
        ),
    }
    fs::remove_dir_all(&paths.root).ok();
}

#[test]
fn push_to_pull_with_receipts_kept_with_the_work_is_exactly_once_across_kills() {
    crash_matrix(Kind::PushPull, Store::Record);
}

#[test]
fn dealer_to_router_with_receipts_kept_with_the_work_is_exactly_once_across_kills() {
    crash_matrix(Kind::DealerRouter, Store::Record);
}

#[test]
fn push_to_pull_with_file_receipts_loses_nothing_across_kills() {
    crash_matrix(Kind::PushPull, Store::File);
}

//! Atomic and prepared batches: the spool's records, the socket's API, and a sender killed
//! with SIGKILL at random points inside batches and between `prepare` and its decision.

use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, Spool};
use zocket::{BatchId, Checkback, Context, DONTWAIT, Error, SocketType};

const DEADLINE: Duration = Duration::from_secs(20);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zocket-batches-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Opens the spool in `dir`, waiting while it is locked: the crash test in this binary forks
/// children, and a child holds the parent's descriptors (and with them a just-closed spool's
/// lock) between its fork and its exec.
fn open(dir: &Path) -> FileSpool {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match FileSpool::open(dir) {
            Err(zocket::spool::SpoolError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other.unwrap(),
        }
    }
}

fn msg(text: &str) -> Vec<Bytes> {
    vec![Bytes::copy_from_slice(text.as_bytes())]
}

fn newest_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

/// A batch torn by a crash (its last record missing) is cut whole on open: its first
/// records, though valid, were never accepted.
#[test]
fn a_torn_batch_is_cut_whole_and_a_whole_one_is_kept() {
    let dir = temp_dir("torn");
    let mut spool = open(&dir);
    spool.append(&msg("alone")).unwrap();
    let batch = vec![msg("a"), msg("b"), msg("c")];
    assert_eq!(spool.append_batch(&batch, None).unwrap(), 2);
    drop(spool);
    let spool = open(&dir);
    assert_eq!(spool.next_seq(), 5, "the whole batch is kept");
    drop(spool);
    // Cut into the batch's last record, as a crash in the middle of its write would.
    let seg = newest_segment(&dir);
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let mut spool = open(&dir);
    assert_eq!(spool.next_seq(), 2, "none of the torn batch");
    assert_eq!(spool.read(1).unwrap(), Some(msg("alone")));
    assert_eq!(spool.read(2).unwrap(), None);
    fs::remove_dir_all(&dir).unwrap();
}

/// A batch cut by a crash at any point of its write (inside any of its records, or between
/// two of them) is cut whole on open.
#[test]
fn a_batch_cut_anywhere_is_cut_whole() {
    let dir = temp_dir("cut-anywhere");
    let mut spool = open(&dir);
    spool.append(&msg("before")).unwrap();
    drop(spool);
    let seg = newest_segment(&dir);
    let start = fs::metadata(&seg).unwrap().len();
    let mut spool = open(&dir);
    let batch: Vec<Vec<Bytes>> = (0..5).map(|i| msg(&format!("part {i}"))).collect();
    spool.append_batch(&batch, None).unwrap();
    drop(spool);
    let whole = fs::read(&seg).unwrap();
    for cut in (start + 1..whole.len() as u64).step_by(7) {
        fs::write(&seg, &whole[..cut as usize]).unwrap();
        let mut spool = open(&dir);
        assert_eq!(
            spool.next_seq(),
            2,
            "cut at byte {cut}: part of the batch was kept"
        );
        assert_eq!(spool.read(1).unwrap(), Some(msg("before")));
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// Prepared batches survive reopening; one whose commit reached the segments is gone on
/// open even if the crash came before it was forgotten (it is never appended twice).
#[test]
fn prepared_batches_survive_and_a_committed_one_is_never_appended_twice() {
    let dir = temp_dir("prepared");
    let mut spool = open(&dir);
    spool.prepare(7, &[msg("x"), msg("y")]).unwrap();
    spool.prepare(8, &[msg("z")]).unwrap();
    drop(spool);
    let mut spool = open(&dir);
    assert_eq!(spool.prepared().unwrap(), [7, 8]);
    assert_eq!(spool.read_prepared(7).unwrap(), Some(vec![msg("x"), msg("y")]));
    // Commit 7 but "crash" before forgetting it.
    let first = spool.append_batch(&[msg("x"), msg("y")], Some(7)).unwrap();
    drop(spool);
    let mut spool = open(&dir);
    assert_eq!(spool.prepared().unwrap(), [8], "7 was committed");
    assert_eq!(spool.read(first).unwrap(), Some(msg("x")));
    spool.forget_prepared(8).unwrap();
    assert!(spool.prepared().unwrap().is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

fn pull_for(ctx: &Context, endpoint: &str) -> zocket::Socket {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.connect(endpoint).unwrap();
    pull
}

#[test]
fn commit_rollback_and_prepared_batches_through_a_socket() {
    let ctx = Context::new();
    let dir = temp_dir("socket");
    let push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(push.begin(), Err(Error::WrongState(_))), "no spool");
    push.set_spool(open(&dir)).unwrap();
    assert!(matches!(
        push.set_checkback(|_| Checkback::Commit),
        Err(Error::WrongState(_))
    ));
    push.bind("tcp://127.0.0.1:0").unwrap();
    let pull = pull_for(&ctx, &push.last_endpoint().unwrap());

    let mut tx = push.begin().unwrap();
    tx.send("one", 0).unwrap();
    tx.send("two-a", zocket::SNDMORE).unwrap();
    tx.send("two-b", 0).unwrap();
    assert_eq!(
        push.spool_stats().unwrap().messages,
        0,
        "nothing before the commit"
    );
    tx.commit().unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"one");
    assert_eq!(
        pull.recv_multipart(0).unwrap(),
        [b"two-a".to_vec(), b"two-b".to_vec()]
    );

    let mut tx = push.begin().unwrap();
    tx.send("rolled back", 0).unwrap();
    tx.rollback().unwrap();
    let mut tx = push.begin().unwrap();
    tx.send("dropped", 0).unwrap();
    drop(tx);
    let mut tx = push.begin().unwrap();
    tx.send("unfinished", zocket::SNDMORE).unwrap();
    assert!(matches!(tx.commit(), Err(Error::WrongState(_))));

    let mut tx = push.begin().unwrap();
    tx.send("prepared", 0).unwrap();
    let id = tx.prepare().unwrap();
    let mut tx = push.begin().unwrap();
    tx.send("never", 0).unwrap();
    let never = tx.prepare().unwrap();
    push.rollback_prepared(never).unwrap();
    push.commit_prepared(id).unwrap();
    assert!(matches!(push.commit_prepared(id), Err(Error::WrongState(_))));
    assert!(matches!(push.rollback_prepared(never), Err(Error::WrongState(_))));
    push.send("after", 0).unwrap();
    // From one spool, in order: what was rolled back, dropped or left unfinished would come
    // before these.
    assert_eq!(pull.recv_bytes(0).unwrap(), b"prepared");
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after");
    drop((pull, push));
    drop(ctx); // with every socket gone, waits for the spool threads: the directory is closed
    fs::remove_dir_all(&dir).unwrap();
}

/// After a restart, the check-back decides each prepared batch left over, during
/// `set_spool`; one it does not know yet is asked about again.
#[test]
fn the_checkback_decides_leftover_batches_and_is_asked_again_when_unsure() {
    let ctx = Context::new();
    let dir = temp_dir("checkback");
    let ids: Vec<BatchId> = {
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_spool(open(&dir)).unwrap();
        ["commit me", "roll me back", "ask me later"]
            .iter()
            .map(|text| {
                let mut tx = push.begin().unwrap();
                tx.send(*text, 0).unwrap();
                tx.prepare().unwrap()
            })
            .collect()
    };
    let (commit, rollback, later) = (ids[0], ids[1], ids[2]);
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&asked);
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_checkback(move |id| {
        let mut log = log.lock().unwrap();
        log.push(id);
        let times_asked = log.iter().filter(|&&a| a == id).count();
        match id {
            _ if id == commit => Checkback::Commit,
            _ if id == rollback => Checkback::Rollback,
            _ if times_asked < 2 => Checkback::Unknown,
            _ => Checkback::Commit,
        }
    })
    .unwrap();
    push.set_spool(open(&dir)).unwrap();
    {
        let asked = asked.lock().unwrap();
        let set: BTreeSet<_> = asked.iter().copied().collect();
        assert_eq!(
            set,
            BTreeSet::from([commit, rollback, later]),
            "each asked during set_spool"
        );
    }
    push.bind("tcp://127.0.0.1:0").unwrap();
    let pull = pull_for(&ctx, &push.last_endpoint().unwrap());
    assert_eq!(pull.recv_bytes(0).unwrap(), b"commit me");
    assert_eq!(
        pull.recv_bytes(0).unwrap(),
        b"ask me later",
        "asked again, then committed"
    );
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    drop((pull, push));
    drop(ctx); // with every socket gone, waits for the spool threads: the directory is closed
    fs::remove_dir_all(&dir).unwrap();
}

/// Found by review: the check-back ran under the socket's lock, so one that used the socket
/// deadlocked `set_spool`.
#[test]
fn a_checkback_may_use_its_socket() {
    let ctx = Context::new();
    let dir = temp_dir("checkback-uses-socket");
    {
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_spool(open(&dir)).unwrap();
        let mut tx = push.begin().unwrap();
        tx.send("left over", 0).unwrap();
        tx.prepare().unwrap();
    }
    let push = std::sync::Arc::new(ctx.socket(SocketType::Push).unwrap());
    let weak = std::sync::Arc::downgrade(&push);
    push.set_checkback(move |_| {
        if let Some(push) = weak.upgrade() {
            push.spool_stats().unwrap();
        }
        Checkback::Commit
    })
    .unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let opener = std::sync::Arc::clone(&push);
    let spool_dir = dir.clone();
    std::thread::spawn(move || {
        opener.set_spool(open(&spool_dir)).unwrap();
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(DEADLINE).is_ok(),
        "set_spool deadlocked in the check-back"
    );
    assert_eq!(
        push.spool_stats().unwrap().messages,
        1,
        "committed by the check-back"
    );
    drop(push);
    drop(ctx); // waits for the spool threads, so the directory is closed
    fs::remove_dir_all(&dir).unwrap();
}

// ---- the crash test ----

const ROLE_ENV: &str = "ZOCKET_BATCH_CHILD";
const BATCHES: u64 = 3_000;

/// Batch b: 1 + b % 7 messages, each (b, index, size). Every fifth is prepared first, and
/// its "local transaction" decides it: even batches commit, odd ones roll back.
fn batch_size(b: u64) -> u64 {
    1 + b % 7
}

fn prepared_kind(b: u64) -> bool {
    b.is_multiple_of(5)
}

/// The application's log, one line per fact, each line one write: `S b` (about to send batch
/// b), `C b` (committed), `P id b` (prepared), `D id` (decided), `K id` (check-back asked).
fn log_line(dir: &Path, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))
        .unwrap();
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

fn read_log(dir: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(dir.join("log")).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete
        .lines()
        .map(|l| l.split(' ').map(String::from).collect())
        .collect()
}

/// The sending child: continues after the last batch its log says it started.
#[test]
fn batch_child() {
    let Ok(args) = std::env::var(ROLE_ENV) else {
        return;
    };
    let (dir, endpoint) = args.split_once('|').unwrap();
    let dir = Path::new(dir);
    let log = read_log(dir);
    let prepared: BTreeMap<u64, u64> = log
        .iter()
        .filter(|l| l[0] == "P")
        .map(|l| (u64::from_str_radix(&l[1], 16).unwrap(), l[2].parse().unwrap()))
        .collect();
    let next = log
        .iter()
        .filter(|l| l[0] == "S")
        .map(|l| l[1].parse::<u64>().unwrap() + 1)
        .max()
        .unwrap_or(0);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    let checkback_dir = dir.to_path_buf();
    push.set_checkback(move |id: BatchId| {
        log_line(&checkback_dir, &format!("K {id}"));
        // The local transaction: known and even commits; unknown (killed before it was
        // recorded) never happened.
        match prepared.get(&id.0) {
            Some(b) if b % 2 == 0 => Checkback::Commit,
            _ => Checkback::Rollback,
        }
    })
    .unwrap();
    push.set_spool(FileSpool::open(dir.join("spool")).unwrap())
        .unwrap();
    push.set_linger(Some(Duration::from_secs(60))).unwrap();
    push.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    push.connect(endpoint).unwrap();
    for b in next..BATCHES {
        log_line(dir, &format!("S {b}"));
        let mut tx = push.begin().unwrap();
        for i in 0..batch_size(b) {
            let mut m = b.to_be_bytes().to_vec();
            m.extend_from_slice(&i.to_be_bytes());
            tx.send(m, 0).unwrap();
        }
        if prepared_kind(b) {
            let id = tx.prepare().unwrap();
            log_line(dir, &format!("P {id} {b}"));
            if b % 2 == 0 {
                push.commit_prepared(id).unwrap();
            } else {
                push.rollback_prepared(id).unwrap();
            }
            log_line(dir, &format!("D {id}"));
        } else {
            tx.commit().unwrap();
            log_line(dir, &format!("C {b}"));
        }
    }
}

fn spawn_child(dir: &Path, endpoint: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["batch_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, format!("{}|{endpoint}", dir.display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILL at random points of a stream of batches: each batch reaches the receiver whole or
/// not at all, every batch the sender saw committed arrives, no rolled-back batch does, and
/// after the last restart no prepared batch is left undecided (the check-back decided each).
#[test]
fn batches_are_all_or_nothing_across_kills() {
    let dir = temp_dir("crash");
    fs::create_dir_all(&dir).unwrap();
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(Duration::from_millis(100))).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Kill points in batches the sender started (its log), so that kills land while it works.
    let mut kills: Vec<u64> = (0..6).map(|_| 100 + next() % (BATCHES - 500)).collect();
    kills.sort_unstable();
    eprintln!("batches: kills after {kills:?} batches started (seed {seed})");
    let mut got: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut received = 0u64;
    let mut child = spawn_child(&dir, &endpoint);
    let started = Instant::now();
    let mut kills = kills.into_iter().peekable();
    let started_batches = || read_log(&dir).iter().filter(|l| l[0] == "S").count() as u64;
    let mut looked = Instant::now();
    let receive = |got: &mut BTreeMap<u64, BTreeSet<u64>>, received: &mut u64| {
        if let Ok(m) = pull.recv_bytes(0) {
            let b = u64::from_be_bytes(m[..8].try_into().unwrap());
            let i = u64::from_be_bytes(m[8..16].try_into().unwrap());
            let seen = got.entry(b).or_default();
            assert_eq!(
                i,
                seen.len() as u64,
                "batch {b}: message {i} out of order, or twice"
            );
            seen.insert(i);
            *received += 1;
        }
    };
    loop {
        assert!(started.elapsed() < Duration::from_secs(120), "stuck");
        let due = looked.elapsed() > Duration::from_millis(5)
            && kills.peek().is_some_and(|&k| {
                looked = Instant::now();
                started_batches() >= k
            });
        if due {
            kills.next();
            let _ = child.kill();
            child.wait().unwrap();
            child = spawn_child(&dir, &endpoint);
        }
        if kills.peek().is_none() && child.try_wait().unwrap().is_some() {
            break;
        }
        receive(&mut got, &mut received);
    }
    assert!(
        matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "more after the sender drained its spool"
    );
    assert!(child.wait().unwrap().success());
    let log = read_log(&dir);
    let mut committed = BTreeSet::new();
    let mut prepared_batch = BTreeMap::new();
    for line in &log {
        match line[0].as_str() {
            "C" => {
                committed.insert(line[1].parse::<u64>().unwrap());
            }
            "P" => {
                prepared_batch.insert(line[1].clone(), line[2].parse::<u64>().unwrap());
            }
            "D" => {
                let b = prepared_batch[&line[1]];
                if b % 2 == 0 {
                    committed.insert(b);
                }
            }
            _ => {}
        }
    }
    for (b, indices) in &got {
        assert_eq!(
            indices.len() as u64,
            batch_size(*b),
            "batch {b} arrived in part: {indices:?}"
        );
        assert!(
            !(prepared_kind(*b) && b % 2 == 1),
            "rolled-back batch {b} was delivered"
        );
    }
    for b in &committed {
        assert!(got.contains_key(b), "committed batch {b} never arrived");
    }
    let mut spool = open(&dir.join("spool"));
    assert!(
        spool.prepared().unwrap().is_empty(),
        "prepared batches left undecided"
    );
    eprintln!(
        "batches: {} delivered, {} committed by the log, {} check-backs",
        got.len(),
        committed.len(),
        log.iter().filter(|l| l[0] == "K").count()
    );
    drop(spool);
    fs::remove_dir_all(&dir).unwrap();
}

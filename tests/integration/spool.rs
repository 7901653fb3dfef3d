//! Spooled sending: an absent receiver, a sender killed with SIGKILL and restarted, libzmq
//! receivers, and the quota.

#[path = "../common/slow_spool.rs"]
mod slow_spool;

use slow_spool::SlowSpool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, FileSpoolConfig, MemorySpool, Spool, SpoolError};
use zocket::{Context, DONTWAIT, Error, SocketType};

const TIMEOUT: Duration = Duration::from_secs(20);

fn unique(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("zocket-spooltest-{}-{n}-{name}", std::process::id()))
}

fn ipc(path: &Path) -> String {
    format!("ipc://{}", path.display())
}

/// A socket of `socket_type` sending through a file spool in `dir`, connected to `sock`.
fn spooled(ctx: &Context, socket_type: SocketType, dir: &Path, sock: &Path) -> zocket::Socket {
    let s = ctx.socket(socket_type).unwrap();
    s.set_spool(FileSpool::open(dir).unwrap()).unwrap();
    s.set_reconnect_ivl(Duration::from_millis(20)).unwrap();
    s.connect(&ipc(sock)).unwrap();
    s
}

#[test]
fn receiver_down_for_a_while_gets_everything() {
    let dir = unique("absent");
    let sock = unique("absent.sock");
    let ctx = Context::new();
    let push = spooled(&ctx, SocketType::Push, &dir, &sock);
    // Far past the high-water mark: the spool takes it all, nothing blocks.
    for i in 0..5000u32 {
        push.send(i.to_be_bytes(), DONTWAIT).unwrap();
    }
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind(&ipc(&sock)).unwrap();
    for i in 0..5000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes(), "message {i}");
    }
    assert!(
        matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "no duplicates"
    );
    drop((push, pull));
    drop(ctx); // joins the I/O thread, which closes the spool
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spooled_push_to_a_libzmq_pull_that_starts_late() {
    let dir = unique("libzmq");
    let sock = unique("libzmq.sock");
    let ctx = Context::new();
    let push = spooled(&ctx, SocketType::Push, &dir, &sock);
    for i in 0..3000u32 {
        push.send(i.to_be_bytes(), 0).unwrap();
    }
    let zctx = zmq::Context::new();
    let pull = zctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(20_000).unwrap();
    pull.bind(&ipc(&sock)).unwrap();
    for i in 0..3000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
    }
    drop(push);
    drop(ctx); // joins the I/O thread, which closes the spool
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quota_refuses_without_dropping_anything_accepted() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(Some(1000))).unwrap();
    let sock = unique("quota.sock");
    push.connect(&ipc(&sock)).unwrap();
    let mut accepted = 0u32;
    loop {
        match push.send(vec![accepted as u8; 100], DONTWAIT) {
            Ok(()) => accepted += 1,
            Err(Error::Spool(SpoolError::Full { .. })) => break,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(accepted, 10);
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind(&ipc(&sock)).unwrap();
    for i in 0..accepted {
        assert_eq!(pull.recv_bytes(0).unwrap(), vec![i as u8; 100]);
    }
    // Deliveries free room: a blocking send goes through again.
    push.set_sndtimeo(Some(TIMEOUT)).unwrap();
    push.send("after", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after");
}

#[test]
fn spool_is_only_for_outgoing_types_and_before_connecting() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    assert!(matches!(
        sub.set_spool(MemorySpool::new(None)),
        Err(Error::NotSupported(_))
    ));
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ipc(&unique("late.sock"))).unwrap();
    assert!(matches!(
        push.set_spool(MemorySpool::new(None)),
        Err(Error::WrongState(_))
    ));
}

const CRASH_TOTAL: u64 = 100_000;
const CHILD_ENV: &str = "ZOCKET_SPOOL_CRASH_CHILD";

/// The child side of the crash test: sends CRASH_TOTAL numbered messages through a file spool,
/// continuing after what an earlier (killed) run had accepted. Runs only when re-executed.
#[test]
fn crash_child() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, endpoint) = args.split_once('|').expect("dir|endpoint");
    let spool = FileSpool::open_with(dir, FileSpoolConfig::default()).expect("open spool");
    let first = spool.next_seq();
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(spool).unwrap();
    push.set_linger(Some(Duration::from_secs(60))).unwrap();
    push.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
    push.connect(endpoint).unwrap();
    for n in first..=CRASH_TOTAL {
        push.send(n.to_be_bytes(), 0).unwrap(); // message n is the spool's record n
    }
    // Dropping the socket lingers until the receiver acknowledged everything.
}

/// Receives the numbered messages `*expected..=last`, failing on any gap or duplicate.
fn receive_in_order(pull: &zocket::Socket, expected: &mut u64, last: u64, what: &str) {
    while *expected <= last {
        let m = pull
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("waiting for {expected}: {e}"));
        assert_eq!(u64::from_be_bytes(m[..].try_into().unwrap()), *expected, "{what}");
        *expected += 1;
    }
}

fn spawn_child(dir: &Path, endpoint: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{endpoint}", dir.display()))
        .spawn()
        .unwrap()
}

#[test]
fn sigkilled_sender_resumes_without_gaps_or_duplicates() {
    let dir = unique("crash");
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    // Kill points drawn from the clock; printed so a failure can be replayed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seed = nanos as u64 ^ u64::from(std::process::id());
    let mut rng = seed | 1;
    let mut next_kill = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        1_000 + rng % 40_000
    };
    let kills = [next_kill(), 45_000 + next_kill()];
    eprintln!("crash test: kills after {kills:?} received messages (seed {seed})");
    let mut child = spawn_child(&dir, &endpoint);
    let mut expected = 1u64;
    for (round, &kill_at) in kills.iter().enumerate() {
        receive_in_order(&pull, &mut expected, kill_at, &format!("round {round}"));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = spawn_child(&dir, &endpoint);
    }
    receive_in_order(&pull, &mut expected, CRASH_TOTAL, "gap or duplicate");
    assert!(
        child.wait().unwrap().success(),
        "the last run finished and drained its spool"
    );
    assert!(
        matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "no duplicates at the end"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spooled_dealer_to_router_is_acknowledged_end_to_end() {
    let dir = unique("dealer");
    let sock = unique("dealer.sock");
    let ctx = Context::new();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"d1").unwrap();
    dealer.set_spool(FileSpool::open(&dir).unwrap()).unwrap();
    dealer.connect(&ipc(&sock)).unwrap();
    for i in 0..2000u32 {
        dealer
            .send_multipart([&b"job"[..], &i.to_be_bytes()[..]], 0)
            .unwrap();
    }
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    router.bind(&ipc(&sock)).unwrap();
    for i in 0..2000u32 {
        let parts = router.recv_multipart(0).unwrap();
        assert_eq!(
            parts,
            vec![b"d1".to_vec(), b"job".to_vec(), i.to_be_bytes().to_vec()]
        );
    }
    // Replies flow back on the same connection (the ROUTER side has no spool).
    router.send_multipart([&b"d1"[..], &b"done"[..]], 0).unwrap();
    dealer.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"done");
    // Everything was read by the ROUTER's application, so the spool drains: a reopened
    // spool has nothing left to deliver.
    drop((dealer, router));
    drop(ctx);
    let reopened = FileSpool::open(&dir).unwrap();
    assert_eq!(
        reopened.first_unacked(),
        reopened.next_seq(),
        "all 2000 acknowledged"
    );
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unread_messages_of_a_dead_connection_come_again_instead_of_being_acknowledged() {
    let dir = unique("unread");
    let sock = unique("unread.sock");
    let rctx = Context::new();
    let pull = rctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    pull.bind(&ipc(&sock)).unwrap();
    {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_linger(Some(Duration::ZERO)).unwrap();
        push.set_spool(FileSpool::open(&dir).unwrap()).unwrap();
        push.connect(&ipc(&sock)).unwrap();
        for i in 1..=100u32 {
            push.send(i.to_be_bytes(), 0).unwrap();
        }
        for i in 1..=10u32 {
            assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
        }
    } // the sender goes away with 90 messages read by nobody
    // They were never acknowledged, so they are dropped here and come again from the spool.
    let deadline = Instant::now() + TIMEOUT;
    while pull.can_recv() {
        assert!(
            Instant::now() < deadline,
            "unread messages of the dead connection were kept"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(FileSpool::open(&dir).unwrap()).unwrap();
    push.connect(&ipc(&sock)).unwrap();
    for i in 11..=100u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes(), "resent in order");
    }
    assert!(
        matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)),
        "no duplicates"
    );
    drop(push);
    drop(ctx);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn frames(parts: &[&[u8]]) -> Vec<bytes::Bytes> {
    parts.iter().map(|p| bytes::Bytes::copy_from_slice(p)).collect()
}

#[test]
fn a_message_too_big_for_the_cache_is_read_back_from_disk_not_from_the_next_cache_entry() {
    let dir = unique("cache-gap");
    let config = FileSpoolConfig {
        cache_bytes: 1000,
        ..FileSpoolConfig::default()
    };
    let mut spool = FileSpool::open_with(&dir, config).unwrap();
    let big = vec![b'2'; 5000];
    assert_eq!(spool.append(&frames(&[b"one"])).unwrap(), 1);
    assert_eq!(spool.append(&frames(&[&big])).unwrap(), 2);
    assert_eq!(spool.append(&frames(&[b"three"])).unwrap(), 3);
    assert_eq!(spool.read(2).unwrap(), Some(frames(&[&big])));
    assert_eq!(spool.read(3).unwrap(), Some(frames(&[b"three"])));
    assert_eq!(spool.read(1).unwrap(), Some(frames(&[b"one"])));
    drop(spool);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn newest_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

fn append_to_file(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_zero_filled_or_garbage_tail_is_cut_like_a_torn_record() {
    let tails: [&[u8]; 3] = [&[0; 4096], b"\x40\x00\x00\x00 stale block", &[0x55; 7]];
    for (i, tail) in tails.into_iter().enumerate() {
        let dir = unique("crash-tail");
        let mut spool = FileSpool::open(&dir).unwrap();
        for n in 1..=3u8 {
            spool.append(&frames(&[&[n; 10]])).unwrap();
        }
        drop(spool);
        append_to_file(&newest_segment(&dir), tail); // what a power loss can leave
        let mut spool = FileSpool::open(&dir).unwrap_or_else(|e| panic!("tail {i}: {e}"));
        assert!(spool.corruptions().is_empty(), "tail {i}");
        assert_eq!(spool.next_seq(), 4, "tail {i}");
        assert_eq!(spool.read(3).unwrap(), Some(frames(&[&[3; 10]])));
        assert_eq!(spool.append(&frames(&[b"four"])).unwrap(), 4);
        drop(spool);
        let mut spool = FileSpool::open(&dir).unwrap();
        assert_eq!(spool.read(4).unwrap(), Some(frames(&[b"four"])), "tail {i}");
        drop(spool);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn damage_before_valid_records_of_the_newest_segment_is_corruption() {
    let dir = unique("damaged-length");
    let mut spool = FileSpool::open(&dir).unwrap();
    for n in 1..=5u8 {
        spool.append(&frames(&[&[n; 10]])).unwrap();
    }
    drop(spool);
    let path = newest_segment(&dir);
    let mut data = std::fs::read(&path).unwrap();
    data[2] = 0x10; // the first record's length now reaches past the end of the file
    std::fs::write(&path, &data).unwrap();
    match FileSpool::open(&dir) {
        Err(SpoolError::Corrupt { offset: 0, .. }) => {}
        Err(e) => panic!("unexpected {e}"),
        Ok(s) => panic!(
            "records 2..=5 silently cut as a torn tail (next_seq {})",
            s.next_seq()
        ),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_open_of_a_spool_directory_fails_and_names_it() {
    let dir = unique("locked");
    let first = FileSpool::open(&dir).unwrap();
    match FileSpool::open(&dir) {
        Err(e @ SpoolError::Locked { .. }) => {
            assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
        }
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("two spools on one directory"),
    }
    drop(first);
    drop(FileSpool::open(&dir).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_message_that_can_never_fit_the_quota_is_refused_and_a_drained_spool_makes_room() {
    let dir = unique("never-fits");
    let config = FileSpoolConfig {
        quota: Some(1000),
        ..FileSpoolConfig::default() // segments far larger than the quota
    };
    let mut spool = FileSpool::open_with(&dir, config).unwrap();
    assert!(matches!(
        spool.append(&frames(&[&[0; 1000]])),
        Err(SpoolError::TooLarge { limit: 1000, .. })
    ));
    let mut accepted = 0;
    while spool.append(&frames(&[&[1; 300]])).is_ok() {
        accepted += 1;
    }
    assert!(matches!(
        spool.append(&frames(&[&[1; 300]])),
        Err(SpoolError::Full { .. })
    ));
    spool.ack(accepted).unwrap();
    assert_eq!(
        spool.append(&frames(&[&[2; 900]])).unwrap(),
        accepted + 1,
        "everything acknowledged: the quota is free again"
    );
    drop(spool);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `send` on another thread: it must return within the deadline (a hang fails the test
/// instead of the test runner).
fn send_returns(send: impl FnOnce() -> zocket::Result<()> + Send + 'static) -> zocket::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(send());
    });
    rx.recv_timeout(TIMEOUT).expect("send blocked")
}

#[test]
fn send_fails_at_once_with_a_message_the_spool_can_never_take() {
    let ctx = Context::new();
    let sock = unique("never.sock");
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(Some(1000))).unwrap();
    push.connect(&ipc(&sock)).unwrap();
    let result = send_returns(move || push.send(vec![0u8; 1001], 0));
    assert!(
        matches!(result, Err(Error::Spool(SpoolError::TooLarge { .. }))),
        "{result:?}"
    );

    let dir = unique("never-file");
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(FileSpool::open(&dir).unwrap()).unwrap();
    push.connect(&ipc(&sock)).unwrap();
    // 1.2 GiB for the record format's 1 GiB: zero-filled, so untouched address space only.
    let half = bytes::Bytes::from(vec![0u8; 600 << 20]);
    let result = send_returns(move || {
        push.send_multipart([half.clone(), half], 0)?;
        Ok(())
    });
    assert!(
        matches!(
            result,
            Err(Error::Spool(SpoolError::TooLarge {
                bound: "the record format",
                ..
            }))
        ),
        "{result:?}"
    );
    drop(ctx);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_idle_spool_records_its_acknowledgements_within_the_fsync_period() {
    let dir = unique("idle-ack");
    let config = FileSpoolConfig {
        fsync: zocket::spool::FsyncPolicy::Every(Duration::from_millis(20)),
        ..FileSpoolConfig::default()
    };
    let mut spool = FileSpool::open_with(&dir, config).unwrap();
    spool.append(&frames(&[b"one"])).unwrap();
    spool.ack(1).unwrap();
    // No more calls: only the spool's own timer can write the mark.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mark = std::fs::read(dir.join("acked")).unwrap_or_default();
        if mark.get(..8) == Some(&1u64.to_le_bytes()[..]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the acknowledgement was never recorded"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(spool);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file spool whose acknowledgements are slow (a loaded disk): confirmations pile up on the
/// spool thread while the socket closes, and every one must still reach the spool.
#[test]
fn confirmations_that_arrive_as_the_socket_closes_are_not_lost() {
    let dir = unique("slow-acks");
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"d1").unwrap();
    dealer
        .set_spool(SlowSpool {
            inner: FileSpool::open(&dir).unwrap(),
            read_delay: Duration::ZERO,
            ack_delay: Duration::from_millis(30),
        })
        .unwrap();
    dealer.connect(&router.last_endpoint().unwrap()).unwrap();
    for i in 0..500u32 {
        dealer.send(i.to_be_bytes(), 0).unwrap();
    }
    for i in 0..500u32 {
        let parts = router.recv_multipart(0).unwrap();
        assert_eq!(parts[1], i.to_be_bytes());
    }
    // The acknowledgement of the last messages travels just ahead of this reply.
    router.send_multipart([&b"d1"[..], &b"done"[..]], 0).unwrap();
    dealer.set_rcvtimeo(Some(TIMEOUT)).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"done");
    drop((dealer, router));
    drop(ctx); // waits for the spool thread, which closes the spool
    let reopened = FileSpool::open(&dir).unwrap();
    assert_eq!(
        reopened.first_unacked(),
        reopened.next_seq(),
        "all 500 acknowledged"
    );
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A spooled socket's connections attach under the socket's lock; when one closes, its
/// inbound pipe must be marked closed, or the next connection's messages wait behind it for
/// ever: a spooled DEALER got no reply after its ROUTER restarted.
#[test]
fn a_spooled_dealer_receives_after_its_router_restarts() {
    let ctx = Context::new();
    let timeout = Some(Duration::from_secs(5));
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_rcvtimeo(timeout).unwrap();
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.last_endpoint().unwrap();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer.set_routing_id(b"dealer").unwrap();
    dealer.set_rcvtimeo(timeout).unwrap();
    dealer.set_spool(MemorySpool::new(None)).unwrap();
    dealer.connect(&endpoint).unwrap();
    dealer.send("one", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), [&b"dealer"[..], b"one"]);
    router.send_multipart([&b"dealer"[..], b"reply one"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"reply one");

    drop(router);
    let router = ctx.socket(SocketType::Router).unwrap();
    router.set_rcvtimeo(timeout).unwrap();
    router.bind(&endpoint).unwrap();
    dealer.send("two", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), [&b"dealer"[..], b"two"]);
    router.send_multipart([&b"dealer"[..], b"reply two"], 0).unwrap();
    assert_eq!(
        dealer.recv_bytes(0).expect("the reply after the restart"),
        b"reply two"
    );
}

/// A spooled socket that binds delivers what it accepted before any peer came to the first
/// peer that connects, with no further call from the application: the spool thread attaches
/// the new connection and routes to it.
#[test]
fn a_bound_spooled_push_delivers_to_a_late_peer_without_another_call() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    for i in 0..50u32 {
        push.send(i.to_be_bytes(), 0).unwrap();
    }
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
    pull.connect(&push.last_endpoint().unwrap()).unwrap();
    for i in 0..50u32 {
        let got = pull.recv_bytes(0).expect("spooled messages reach the late peer");
        assert_eq!(got, i.to_be_bytes());
    }
}

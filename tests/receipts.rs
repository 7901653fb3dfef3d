//! Receipts and manual acknowledgement, in one process: what is acknowledged to a spooled
//! sender and when, what comes again to a restarted receiver, and misuse.

mod common;

use common::RawPeer;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zocket::spool::{MemorySpool, Receipts, SpoolError};
use zocket::{Context, DONTWAIT, Error, Socket, SocketType};

const DEADLINE: Duration = Duration::from_secs(10);

/// Receipts in memory, shared with the test (and with the next receiver, as a store on disk
/// would be), counting commits.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Store>>);

#[derive(Default)]
struct Store {
    marks: HashMap<u64, u64>,
    commits: Vec<u64>,
}

impl Shared {
    fn commits(&self) -> Vec<u64> {
        self.0.lock().unwrap().commits.clone()
    }
}

impl Receipts for Shared {
    fn load(&mut self, stream: u64) -> Result<u64, SpoolError> {
        Ok(self.0.lock().unwrap().marks.get(&stream).copied().unwrap_or(0))
    }
    fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
        let mut store = self.0.lock().unwrap();
        let mark = store.marks.entry(stream).or_insert(0);
        assert!(seq > *mark, "receipts committed out of order: {seq} after {mark}");
        *mark = seq;
        if stream != 0 {
            store.commits.push(seq); // stream 0 holds the receiver's identity
        }
        Ok(())
    }
}

/// A spooled PUSH bound on TCP, with ten numbered messages sent.
fn sender(ctx: &Context) -> (Socket, String) {
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = push.last_endpoint().unwrap();
    for n in 1..=10u8 {
        push.send([n], 0).unwrap();
    }
    (push, endpoint)
}

fn receiver(ctx: &Context, endpoint: &str, receipts: &Shared, manual: bool) -> Socket {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_receipts(receipts.clone()).unwrap();
    pull.set_manual_ack(manual).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.connect(endpoint).unwrap();
    pull
}

/// Manual acknowledgement: nothing is committed until acknowledged, receipts follow the
/// stream's order whatever the order of the acknowledgements, and what was never
/// acknowledged comes again to the next receiver, while what was does not.
#[test]
fn manual_acknowledgements_commit_in_stream_order_and_the_rest_comes_again() {
    let ctx = Context::new();
    let (_push, endpoint) = sender(&ctx);
    let receipts = Shared::default();
    let pull = receiver(&ctx, &endpoint, &receipts, true);
    let msgs: Vec<_> = (1..=10u8).map(|_| pull.recv_msg(0).unwrap()).collect();
    for (n, msg) in (1..=10u8).zip(&msgs) {
        assert_eq!(msg[..], [n]);
        assert_eq!(msg.delivery().map(|d| d.seq), Some(u64::from(n)));
    }
    assert!(
        receipts.commits().is_empty(),
        "committed before any acknowledgement"
    );
    pull.ack(&msgs[2]).unwrap();
    assert!(
        receipts.commits().is_empty(),
        "3 committed while 1 and 2 are not finished"
    );
    pull.ack(&msgs[0]).unwrap();
    pull.ack(&msgs[1]).unwrap();
    pull.ack(&msgs[4]).unwrap();
    assert_eq!(receipts.commits(), [1, 2, 3]);
    assert!(
        matches!(pull.ack(&msgs[0]), Err(Error::WrongState(_))),
        "acknowledged twice"
    );
    drop(pull);
    // 4 was never acknowledged: 4 and everything after it comes again; 5 was acknowledged
    // but held back by 4, so it comes again too.
    let pull = receiver(&ctx, &endpoint, &receipts, true);
    for n in 4..=10u8 {
        let msg = pull
            .recv_msg(0)
            .unwrap_or_else(|e| panic!("waiting for {n}: {e}"));
        assert_eq!(msg[..], [n]);
        pull.ack(&msg).unwrap();
    }
    assert_eq!(receipts.commits(), (1..=10).collect::<Vec<u64>>());
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

/// Automatic acknowledgement: receiving finishes the message before. The last message
/// received was not finished, so a restarted receiver gets it again, and nothing else.
#[test]
fn automatic_acknowledgement_finishes_at_the_next_receive() {
    let ctx = Context::new();
    let (push, endpoint) = sender(&ctx);
    let receipts = Shared::default();
    let pull = receiver(&ctx, &endpoint, &receipts, false);
    for n in 1..=10u8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), [n]);
    }
    assert_eq!(receipts.commits(), (1..=9).collect::<Vec<u64>>());
    drop(pull);
    let pull = receiver(&ctx, &endpoint, &receipts, false);
    assert_eq!(
        pull.recv_bytes(0).unwrap(),
        [10],
        "the unfinished one comes again"
    );
    push.send([11u8], 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), [11], "and nothing before it");
    assert_eq!(receipts.commits(), (1..=10).collect::<Vec<u64>>());
}

/// Messages not from a spooled sender carry no delivery and cannot be acknowledged, and
/// receipts are for receiving socket types only.
#[test]
fn misuse_is_refused() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(
        push.set_receipts(Shared::default()),
        Err(Error::NotSupported(_))
    ));
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_receipts(Shared::default()).unwrap();
    assert!(matches!(
        pull.set_receipts(Shared::default()),
        Err(Error::WrongState(_))
    ));
    let late = ctx.socket(SocketType::Pull).unwrap();
    late.bind("tcp://127.0.0.1:0").unwrap();
    assert!(
        matches!(late.set_receipts(Shared::default()), Err(Error::WrongState(_))),
        "receipts are announced at bind and connect: set them before"
    );
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let plain = ctx.socket(SocketType::Push).unwrap();
    plain.connect(&pull.last_endpoint().unwrap()).unwrap();
    plain.send("plain", 0).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!(msg.delivery(), None);
    assert!(matches!(pull.ack(&msg), Err(Error::WrongState(_))));
}

/// A receipt store that fails: the receive reports it, the message stays unacknowledged, and
/// the commit is tried again on the next call.
#[test]
fn a_failing_commit_is_reported_and_retried() {
    #[derive(Clone, Default)]
    struct Flaky(Arc<Mutex<(bool, Vec<u64>)>>);
    impl Receipts for Flaky {
        fn load(&mut self, _: u64) -> Result<u64, SpoolError> {
            Ok(0)
        }
        fn commit(&mut self, stream: u64, seq: u64) -> Result<(), SpoolError> {
            if stream == 0 {
                return Ok(()); // the receiver's identity
            }
            let mut state = self.0.lock().unwrap();
            if std::mem::take(&mut state.0) {
                return Err(SpoolError::Io {
                    path: "flaky".into(),
                    source: std::io::Error::other("disk full"),
                });
            }
            state.1.push(seq);
            Ok(())
        }
    }
    let ctx = Context::new();
    let (push, endpoint) = sender(&ctx);
    let flaky = Flaky::default();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_receipts(flaky.clone()).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.connect(&endpoint).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), [1]);
    flaky.0.lock().unwrap().0 = true;
    assert!(matches!(pull.recv_bytes(0), Err(Error::Spool(_))));
    assert_eq!(pull.recv_bytes(0).unwrap(), [2], "retried, then received");
    assert_eq!(flaky.0.lock().unwrap().1, [1]);
    drop(push);
}

/// A raw spooled sender of stream `stream` (announces the stream, sends tagged messages).
fn raw_sender(endpoint: &str, stream: &[u8]) -> RawPeer {
    let mut peer = RawPeer::connect(endpoint);
    peer.handshake(1, &[("Socket-Type", b"PUSH"), ("X-Zocket-Stream", stream)]);
    peer
}

fn send_tagged(peer: &mut RawPeer, seq: u64) {
    let mut zseq = seq.to_be_bytes().to_vec();
    zseq.extend_from_slice(&0u64.to_be_bytes());
    peer.send_command("ZSEQ", &zseq);
    peer.send_message(&[&seq.to_be_bytes()]);
}

/// Found by review: with two connections of one stream at once (a sender that reconnected
/// while its old connection lingers), fair queuing interleaves them, and a receipt was
/// committed for a message while lower numbers of the stream were still queued unread: after
/// a crash they would have been dropped as duplicates, lost. Receipts must only be committed
/// over numbers all finished.
#[test]
fn a_receipt_never_passes_a_lower_number_still_unread() {
    let ctx = Context::new();
    let receipts = Shared::default();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_receipts(receipts.clone()).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let mut old = raw_sender(&endpoint, b"00000000000000cc");
    for seq in 1..=5 {
        send_tagged(&mut old, seq);
    }
    // The receiver takes the first connection's messages into its queue (a call syncs).
    let deadline = Instant::now() + DEADLINE;
    while pull.events() & zocket::POLLIN == 0 {
        assert!(Instant::now() < deadline, "the first messages never arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut new = raw_sender(&endpoint, b"00000000000000cc");
    for seq in 6..=10 {
        send_tagged(&mut new, seq);
    }
    // Its answer to a ping comes after it decoded what came before: the second connection's
    // messages are waiting too, and the receives alternate between the two.
    new.send_ping(0, b"");
    new.read_command("PONG");
    let mut received = BTreeSet::new();
    for _ in 0..10 {
        let msg = pull.recv_msg(0).unwrap();
        for c in receipts.commits() {
            assert!(
                (1..=c).all(|n| received.contains(&n)),
                "receipt {c} committed before {:?} was received",
                (1..=c).find(|n| !received.contains(n))
            );
        }
        received.insert(msg.delivery().unwrap().seq);
    }
    pull.recv_msg(DONTWAIT).ok(); // finishes the last one
    assert_eq!(receipts.commits(), (1..=10).collect::<Vec<u64>>());
}

/// A connection that sends one sequence number twice is closed. (Copies are held while their
/// original is pending, so copies on one connection would otherwise grow memory without
/// bound.) What it sent and the application did not read goes with it, unacknowledged: the
/// sender sends it again on its next connection, where it is delivered once.
#[test]
fn one_number_twice_on_one_connection_closes_it() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let mut peer = raw_sender(&pull.last_endpoint().unwrap(), b"00000000000000dd");
    send_tagged(&mut peer, 1);
    send_tagged(&mut peer, 1);
    let deadline = Instant::now() + DEADLINE;
    while !peer.wait_closed(Duration::from_millis(10)) {
        assert!(Instant::now() < deadline, "still open");
        pull.can_recv(); // the socket reads its pipes on its calls
    }
    let mut again = raw_sender(&pull.last_endpoint().unwrap(), b"00000000000000dd");
    send_tagged(&mut again, 1);
    assert_eq!(pull.recv_bytes(0).unwrap(), 1u64.to_be_bytes());
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

/// With ZMQ_IMMEDIATE, a connecting spooled PUSH whose peer goes for good moves what that peer
/// left unconfirmed to the live peer. (Only a connecting sender whose peer keeps receipts
/// holds such messages back for the same peer's next connection, to keep its stream in
/// order; without IMMEDIATE, messages queued for a disconnected peer wait for it, as in
/// libzmq.)
#[test]
fn a_connecting_spooled_push_moves_a_dead_peers_messages_to_the_live_one() {
    let ctx = Context::new();
    let live = ctx.socket(SocketType::Pull).unwrap();
    live.set_rcvtimeo(Some(DEADLINE)).unwrap();
    live.bind("tcp://127.0.0.1:0").unwrap();
    let dying = ctx.socket(SocketType::Pull).unwrap();
    dying.bind("tcp://127.0.0.1:0").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.set_immediate(true).unwrap(); // nothing is queued for a peer that is not connected
    push.connect(&dying.last_endpoint().unwrap()).unwrap();
    let deadline = Instant::now() + DEADLINE;
    while push.events() & zocket::POLLOUT == 0 {
        assert!(Instant::now() < deadline, "never connected");
        std::thread::sleep(Duration::from_millis(2));
    }
    for n in 0..50u32 {
        push.send(n.to_be_bytes(), 0).unwrap();
    }
    // The first peer takes nothing and goes for good; the second comes.
    let deadline = Instant::now() + DEADLINE;
    while dying.events() & zocket::POLLIN == 0 {
        assert!(Instant::now() < deadline, "nothing reached the first peer");
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(dying);
    push.connect(&live.last_endpoint().unwrap()).unwrap();
    let mut got: Vec<u32> = (0..50)
        .map(|_| {
            let m = live.recv_bytes(0).expect("a message the dead peer left");
            u32::from_be_bytes(m[..].try_into().unwrap())
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..50).collect::<Vec<u32>>());
}

/// Random churn against a plain model: a spooled PUSH sends numbered messages while the
/// receiver disconnects and reconnects (its old connection's unread messages come again, on a
/// new connection, while copies may still be queued) or is dropped and replaced by a new socket
/// with the same receipt store, which connects while the old socket's connection still closes
/// (a restart, with overlapping connections). Found by this test before the fix: the sender
/// routed newer messages to the new connection before the old one's unconfirmed came back, and
/// receipts were committed out of order, which loses messages; now a receiver that connects
/// again retires its older connection at the sender, which sends everything in flight again,
/// lowest first. The receipt store sees every number committed
/// exactly once, in order; the application sees each number at least once, and twice only for
/// a message it had taken when its socket went (at most one per restart, with automatic
/// acknowledgement). `ZOCKET_RECEIPTS_SEED` replays a run.
#[test]
fn receipts_hold_under_random_reconnects_and_restarts() {
    let seed = std::env::var("ZOCKET_RECEIPTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("receipts churn: seed {seed} (ZOCKET_RECEIPTS_SEED replays it)");
    let mut rng = seed | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    const TOTAL: u64 = 3_000;
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = push.last_endpoint().unwrap();
    let receipts = Shared::default();
    let mut pull = receiver(&ctx, &endpoint, &receipts, false);
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let (mut sent, mut restarts) = (0u64, 0u32);
    let deadline = Instant::now() + Duration::from_secs(60);
    while receipts.commits().len() < TOTAL as usize {
        assert!(
            Instant::now() < deadline,
            "stuck at {} commits",
            receipts.commits().len()
        );
        let burst = (next(40) + 1).min(TOTAL - sent);
        for _ in 0..burst {
            sent += 1;
            push.send(sent.to_be_bytes(), 0).unwrap();
        }
        for _ in 0..next(50) {
            match pull.recv_bytes(DONTWAIT) {
                Ok(m) => {
                    *seen
                        .entry(u64::from_be_bytes(m[..].try_into().unwrap()))
                        .or_default() += 1
                }
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
        match next(20) {
            0 => {
                pull.disconnect(&endpoint).unwrap();
                pull.connect(&endpoint).unwrap();
            }
            1 => {
                // The new socket connects while the old one's connection still closes.
                restarts += 1;
                pull = receiver(&ctx, &endpoint, &receipts, false);
            }
            _ => {}
        }
        if sent == TOTAL {
            // Drain: each receive also finishes the message before it.
            match pull.recv_bytes(DONTWAIT) {
                Ok(m) => {
                    *seen
                        .entry(u64::from_be_bytes(m[..].try_into().unwrap()))
                        .or_default() += 1
                }
                Err(Error::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert_eq!(
        receipts.commits(),
        (1..=TOTAL).collect::<Vec<u64>>(),
        "each committed once, in order"
    );
    assert!(
        (1..=TOTAL).all(|n| seen.contains_key(&n)),
        "a message never reached the application"
    );
    let twice = seen.values().filter(|&&c| c > 1).count();
    eprintln!("receipts churn: {restarts} restarts, {twice} messages seen twice");
    assert!(
        twice <= restarts as usize,
        "{twice} messages seen twice, more than the {restarts} restarts"
    );
}

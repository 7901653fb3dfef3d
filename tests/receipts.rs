//! Receipts and manual acknowledgement, in one process: what is acknowledged to a spooled
//! sender and when, what comes again to a restarted receiver, and misuse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
        store.commits.push(seq);
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
        fn commit(&mut self, _: u64, seq: u64) -> Result<(), SpoolError> {
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

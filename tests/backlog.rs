//! The visible backlog: `Socket::spool_stats` and `zocket::spool::inspect`.

use bytes::Bytes;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zocket::spool::{FileSpool, MemorySpool, Spool};
use zocket::{Context, Error, SocketType};

const DEADLINE: Duration = Duration::from_secs(10);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zocket-backlog-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn spool_stats_count_what_waits_and_what_went() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    assert!(matches!(push.spool_stats(), Err(Error::WrongState(_))));
    push.set_spool(MemorySpool::new(None)).unwrap();
    push.bind("tcp://127.0.0.1:0").unwrap();
    for n in 0..100u32 {
        push.send(n.to_be_bytes(), 0).unwrap();
    }
    let waiting = push.spool_stats().unwrap();
    assert_eq!(waiting.messages, 100, "no peer: all wait");
    assert!(waiting.bytes >= 400, "{} bytes", waiting.bytes);
    assert!(waiting.oldest_age.is_some());
    assert!(waiting.in_rate > 0.0 && waiting.out_rate == 0.0, "{waiting:?}");
    std::thread::sleep(Duration::from_millis(20));
    let older = push.spool_stats().unwrap().oldest_age.unwrap();
    assert!(
        older >= waiting.oldest_age.unwrap() + Duration::from_millis(20),
        "the age grows"
    );

    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
    pull.connect(&push.last_endpoint().unwrap()).unwrap();
    for _ in 0..100 {
        pull.recv_bytes(0).unwrap();
    }
    let deadline = Instant::now() + DEADLINE;
    let drained = loop {
        let stats = push.spool_stats().unwrap();
        if stats.messages == 0 {
            break stats;
        }
        assert!(Instant::now() < deadline, "never drained: {stats:?}");
        pull.can_recv(); // lets the receiver acknowledge what it took
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(drained.oldest_age, None);
    assert!(drained.out_rate > 0.0, "{drained:?}");
}

fn frame(n: u8) -> [Bytes; 1] {
    [Bytes::copy_from_slice(&[n; 16])]
}

#[test]
fn inspect_reports_records_the_mark_and_damage_without_the_lock() {
    let dir = temp_dir("inspect");
    let mut spool = FileSpool::open(&dir).unwrap();
    for n in 1..=10 {
        spool.append(&frame(n)).unwrap();
    }
    spool.ack(4).unwrap();
    spool.sync().unwrap(); // the mark's file is written per the fsync policy
    // The spool stays open (locked): inspecting needs no lock.
    let report = zocket::spool::inspect(&dir).unwrap();
    assert_eq!(report.stream_id, Some(spool.stream_id()));
    assert_eq!(report.acked, Some(4));
    assert_eq!(report.segments.len(), 1);
    let seg = &report.segments[0];
    assert_eq!((seg.records, seg.last_seq, seg.unacked), (10, Some(10), 6));
    assert!(!report.damaged());
    assert!(
        seg.preallocated > 0,
        "the open spool's segment has room ahead: {seg:?}"
    );
    drop(spool);
    assert_eq!(
        zocket::spool::inspect(&dir).unwrap().segments[0].preallocated,
        0,
        "cut on close"
    );

    // A byte flipped in the third record's body: damage there, and the records after it are
    // still found.
    let path = seg.path.clone();
    let mut bytes = std::fs::read(&path).unwrap();
    let record_len = bytes.len() / 10;
    bytes[2 * record_len + 12] ^= 0xFF;
    bytes.extend_from_slice(&[0xAB; 7]); // and a torn tail
    std::fs::write(&path, &bytes).unwrap();
    let report = zocket::spool::inspect(&dir).unwrap();
    let seg = &report.segments[0];
    assert_eq!(seg.records, 9, "all but the damaged one");
    assert_eq!(seg.damage.len(), 2, "{:?}", seg.damage);
    assert_eq!(seg.damage[0].0, 2 * record_len as u64);
    assert_eq!(seg.damage[1].0, 10 * record_len as u64);
    assert!(report.damaged());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The monitor hears when the backlog reaches a limit (messages or bytes), and when it is
/// back to half of each, once per crossing.
#[test]
fn backlog_alerts_reach_the_monitor_at_each_crossing() {
    use zocket::spool::BacklogAlert;
    use zocket::{MonitorEvent, SocketEvent};
    let next = |events: &zocket::Monitor| -> MonitorEvent {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let e = events.recv_timeout(left).expect("a backlog event");
            if matches!(e.event, SocketEvent::BacklogHigh | SocketEvent::BacklogNormal) {
                return e;
            }
        }
    };
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    assert!(push.set_backlog_alert(None).is_err(), "no spool yet");
    push.set_spool(zocket::spool::MemorySpool::new(None)).unwrap();
    let events = push.monitor_events().unwrap();
    push.set_backlog_alert(Some(BacklogAlert {
        messages: Some(10),
        bytes: Some(1_000_000),
    }))
    .unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    drop(pull); // the port stays known; nobody listens
    push.connect(&endpoint).unwrap();
    for n in 0..9u32 {
        push.send(n.to_be_bytes(), 0).unwrap();
    }
    assert!(!matches!(events.try_recv(), Ok(e) if e.event == SocketEvent::BacklogHigh));
    push.send(9u32.to_be_bytes(), 0).unwrap();
    let high = next(&events);
    assert_eq!((high.event, high.value), (SocketEvent::BacklogHigh, 10));
    for n in 10..30u32 {
        push.send(n.to_be_bytes(), 0).unwrap(); // still high: no report
    }
    // A receiver drains it: normal again once at most 5 messages are held.
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(&endpoint).unwrap();
    for n in 0..30u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), n.to_be_bytes());
    }
    let normal = next(&events);
    assert_eq!(normal.event, SocketEvent::BacklogNormal);
    assert!(normal.value <= 5, "{normal:?}");
    let later = events.try_recv();
    assert!(
        !matches!(later, Ok(e) if matches!(e.event, SocketEvent::BacklogHigh | SocketEvent::BacklogNormal))
    );
    // The byte limit alone: one large message reaches it.
    push.set_backlog_alert(Some(BacklogAlert {
        messages: None,
        bytes: Some(64 * 1024),
    }))
    .unwrap();
    drop(pull);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !push.stats().peers.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the receiver never went");
        std::thread::sleep(Duration::from_millis(2));
    }
    push.send(vec![0u8; 100 * 1024], 0).unwrap();
    assert_eq!(next(&events).event, SocketEvent::BacklogHigh);
}

use super::*;
use proptest::prelude::*;

fn small(runs_per_stream: usize, runs: usize, streams: usize) -> Dedup {
    Dedup::with_limits(DedupLimits {
        runs_per_stream,
        runs,
        streams,
    })
}

#[test]
fn dedup_by_stream_and_window() {
    let mut dd = Dedup::default();
    assert_eq!(dd.accept(1, 5, 0), Ok(true));
    assert_eq!(dd.accept(1, 5, 0), Ok(false));
    assert_eq!(dd.accept(2, 5, 0), Ok(true), "another stream");
    assert_eq!(dd.accept(1, 3, 0), Ok(true), "out of order is fine");
    assert_eq!(dd.accept(1, 2, 4), Ok(false), "below the sender's low-water mark");
    assert!(dd.is_duplicate(1, 5));
    assert_eq!(dd.accept(1, 6, 5), Ok(true));
    assert_eq!(dd.streams[&1].runs.len(), 1);
    dd.forget(1, 6);
    assert!(!dd.is_duplicate(1, 6));
    assert_eq!(dd.runs, 1, "stream 2's run");
}

#[test]
fn consecutive_numbers_are_one_run() {
    let mut dd = Dedup::default();
    for seq in (1..=1000).rev().step_by(2).chain((1..=1000).step_by(2)) {
        assert_eq!(dd.accept(9, seq, 0), Ok(true));
    }
    assert_eq!(dd.streams[&9].runs.len(), 1);
    assert_eq!(dd.runs, 1);
    dd.forget(9, 500);
    assert_eq!(dd.runs, 2);
    assert!(dd.is_duplicate(9, 499) && !dd.is_duplicate(9, 500) && dd.is_duplicate(9, 501));
    assert_eq!(dd.accept(9, 2000, 600), Ok(true));
    assert_eq!(dd.runs, 2, "601..=1000 and 2000");
    assert!(dd.is_duplicate(9, 42));
}

#[test]
fn extreme_marks_and_numbers_do_not_overflow() {
    let mut dd = Dedup::default();
    assert_eq!(dd.accept(1, u64::MAX, 0), Ok(true));
    assert_eq!(dd.accept(1, u64::MAX - 1, 0), Ok(true));
    assert_eq!(dd.runs, 1);
    dd.forget(1, u64::MAX);
    assert_eq!(dd.accept(1, 7, u64::MAX), Ok(false));
    assert_eq!(dd.runs, 0);
    assert_eq!(dd.accept(1, 0, 0), Ok(false), "numbers start at 1");
}

#[test]
fn a_window_past_its_bound_closes_the_connection_and_is_forgotten() {
    let mut dd = small(3, 100, 10);
    dd.attach(1).unwrap();
    for seq in [2, 4, 6] {
        assert_eq!(dd.accept(1, seq, 0), Ok(true));
    }
    assert_eq!(dd.accept(1, 5, 0), Ok(true), "joins two runs");
    assert_eq!(dd.accept(1, 9, 0), Ok(true));
    assert_eq!(
        dd.accept(1, 11, 0),
        Err(DedupFull::Window { stream: 1, limit: 3 })
    );
    assert!(!dd.is_duplicate(1, 2), "forgotten");
    assert_eq!(dd.runs, 0);
    dd.detach(1); // the closing connection
    assert!(dd.streams.is_empty());
}

/// Found by the long soak: the application read message 1, the sender announced mark 1 with
/// message 2, and the connection died before 2 was read (so 2 is forgotten, to come again).
/// The restarted sender had not yet recorded its acknowledgement of 1 and sent 1 again: the
/// stream must still be remembered, mark included.
#[test]
fn a_disconnected_stream_keeps_its_mark() {
    let mut dd = small(10, 100, 2);
    dd.attach(1).unwrap();
    assert_eq!(dd.accept(1, 1, 0), Ok(true));
    assert_eq!(dd.accept(1, 2, 1), Ok(true));
    dd.forget(1, 2); // unread when the connection died
    dd.detach(1);
    dd.attach(1).unwrap();
    assert_eq!(dd.accept(1, 1, 0), Ok(false), "1 was delivered: a duplicate");
    assert_eq!(dd.accept(1, 2, 0), Ok(true), "2 was never read: delivered now");
}

#[test]
fn idle_streams_are_kept_until_room_is_needed() {
    let mut dd = small(10, 100, 2);
    dd.attach(1).unwrap();
    dd.accept(1, 1, 0).unwrap();
    dd.accept(1, 2, 2).unwrap(); // everything delivered is under the mark
    dd.detach(1);
    assert!(dd.is_duplicate(1, 2), "the mark is remembered");
    dd.attach(9).unwrap();
    dd.attach(8).unwrap(); // full: stream 1, idle, goes
    assert!(!dd.is_duplicate(1, 2));
    dd.detach(9);
    dd.detach(8);
    dd.drop_stream(9);
    dd.drop_stream(8);

    dd.attach(2).unwrap();
    dd.accept(2, 5, 0).unwrap();
    dd.detach(2); // 5 is in doubt: kept for when the sender comes back
    dd.attach(3).unwrap();
    dd.accept(3, 5, 0).unwrap();
    dd.detach(3);
    dd.attach(2).unwrap();
    assert!(dd.is_duplicate(2, 5), "came back and is remembered");
    dd.attach(4).unwrap(); // full: stream 3, idle, goes
    assert!(!dd.is_duplicate(3, 5) && dd.is_duplicate(2, 5));
    assert_eq!(
        dd.attach(5),
        Err(DedupFull::Streams { limit: 2 }),
        "all connected"
    );
    dd.detach(5); // the refused connection closes: no effect
    assert_eq!(dd.streams.len(), 2);
}

#[test]
fn all_windows_together_are_bounded() {
    let mut dd = small(10, 4, 10);
    dd.attach(1).unwrap();
    dd.attach(2).unwrap();
    for seq in [1, 3] {
        dd.accept(1, seq, 0).unwrap();
        dd.accept(2, seq, 0).unwrap();
    }
    assert_eq!(dd.accept(2, 5, 0), Err(DedupFull::AllWindows { limit: 4 }));
    assert!(dd.is_duplicate(1, 3) && !dd.is_duplicate(2, 3));
    assert_eq!(dd.runs, 2);
    // An idle stream's runs are given up before a connected one is refused.
    dd.detach(1);
    dd.attach(3).unwrap();
    for seq in [1, 3, 5, 7] {
        assert_eq!(dd.accept(3, seq, 0), Ok(true));
    }
    assert!(!dd.streams.contains_key(&1));
}

proptest! {
    /// Whatever sequence numbers, marks and forgets arrive, the dedup agrees with a plain set,
    /// and its run count is the sum over its windows.
    #[test]
    fn agrees_with_a_plain_set(ops in proptest::collection::vec(
        (0u8..3, 1u64..4, 1u64..60, 0u64..30), 0..80)) {
        let mut dd = Dedup::default();
        let mut model: std::collections::HashMap<u64, (u64, std::collections::BTreeSet<u64>)> =
            Default::default();
        for (op, stream, seq, low) in ops {
            match op {
                0 | 1 => {
                    let (mark, seen) = model.entry(stream).or_default();
                    *mark = (*mark).max(low);
                    let fresh = seq > *mark && seen.insert(seq);
                    prop_assert_eq!(dd.accept(stream, seq, low), Ok(fresh));
                }
                _ => {
                    if let Some((_, seen)) = model.get_mut(&stream) {
                        seen.remove(&seq);
                    }
                    dd.forget(stream, seq);
                }
            }
            for probe in 1..62 {
                let expected = model
                    .get(&stream)
                    .is_some_and(|(mark, seen)| probe <= *mark || seen.contains(&probe));
                prop_assert_eq!(dd.is_duplicate(stream, probe), expected);
            }
            let total: usize = dd.streams.values().map(|w| w.runs.len()).sum();
            prop_assert_eq!(dd.runs, total);
        }
    }
}

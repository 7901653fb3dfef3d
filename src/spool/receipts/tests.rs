//! Model-based tests of `FileReceipts`: random commits, reopenings, torn tails and rewrites
//! against a plain map of marks.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Commit(u64, u64),
    /// Closes and opens again (what a restart sees).
    Reopen,
    /// A crash in the middle of a commit: part of a record at the end of the log.
    Tear(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..5u64, 0..60u64).prop_map(|(stream, seq)| Op::Commit(stream, seq)),
        1 => Just(Op::Reopen),
        1 => (1..RECORD_LEN).prop_map(Op::Tear),
    ]
}

fn dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("zocket-receipts-{name}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn open_small(dir: &Path) -> FileReceipts {
    let mut receipts = FileReceipts::open(dir).unwrap();
    receipts.slack = 3; // rewrite often
    receipts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Marks only grow, survive reopening and rewrites, and a torn tail loses nothing
    /// committed.
    #[test]
    fn receipts_follow_the_model(ops in prop::collection::vec(op(), 1..120)) {
        let dir = dir("model");
        let mut receipts = open_small(&dir);
        let mut model: HashMap<u64, u64> = HashMap::new();
        for op in ops {
            match op {
                Op::Commit(stream, seq) => {
                    let before = model.get(&stream).copied().unwrap_or(0);
                    receipts.commit(stream, seq).unwrap();
                    model.insert(stream, before.max(seq));
                }
                Op::Reopen => {
                    drop(receipts);
                    receipts = open_small(&dir);
                }
                Op::Tear(len) => {
                    drop(receipts);
                    let mut log = OpenOptions::new().append(true).open(dir.join(LOG)).unwrap();
                    log.write_all(&vec![0xA5; len]).unwrap();
                    drop(log);
                    receipts = open_small(&dir);
                }
            }
            for stream in 1..5 {
                let want = model.get(&stream).copied().unwrap_or(0);
                prop_assert_eq!(receipts.load(stream).unwrap(), want, "stream {}", stream);
            }
        }
        drop(receipts);
        fs::remove_dir_all(&dir).ok();
    }
}

/// Found by review: one damaged record in the middle truncated every valid record after it,
/// so marks went back. Damage before valid records is corruption, not a torn tail.
#[test]
fn damage_before_valid_records_is_corruption_not_a_torn_tail() {
    let dir = dir("damage");
    let mut receipts = FileReceipts::open(&dir).unwrap();
    for seq in 1..=3 {
        receipts.commit(9, seq).unwrap();
    }
    drop(receipts);
    let path = dir.join(LOG);
    let mut bytes = fs::read(&path).unwrap();
    bytes[RECORD_LEN + 3] ^= 0x10; // the second of three records
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        FileReceipts::open(&dir),
        Err(SpoolError::Corrupt { .. })
    ));
    bytes[RECORD_LEN + 3] ^= 0x10;
    bytes[2 * RECORD_LEN + 3] ^= 0x10; // the last one: a torn tail, dropped
    fs::write(&path, &bytes).unwrap();
    assert_eq!(FileReceipts::open(&dir).unwrap().load(9).unwrap(), 2);
}

#[test]
fn a_second_opener_is_refused() {
    let dir = dir("lock");
    let _first = FileReceipts::open(&dir).unwrap();
    assert!(matches!(FileReceipts::open(&dir), Err(SpoolError::Locked { .. })));
}

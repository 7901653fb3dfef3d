//! Unit tests of the file spool: reopen, recovery, the quota, the cache, the lock and the
//! sync thread.

use super::dir::{list_segments, store_acked};
use super::*;
use std::time::Duration;
use std::time::Instant;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zocket-spool-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn msg(i: u32) -> Vec<Bytes> {
    vec![
        Bytes::copy_from_slice(&i.to_be_bytes()),
        Bytes::from(vec![b'x'; (i % 50) as usize]),
    ]
}

fn small_segments() -> FileSpoolConfig {
    FileSpoolConfig {
        segment_size: 1024,
        ..FileSpoolConfig::default()
    }
}

#[test]
fn append_read_ack_reopen() {
    let dir = temp_dir("basic");
    {
        let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
        for i in 1..=200 {
            assert_eq!(s.append(&msg(i)).unwrap(), u64::from(i));
        }
        s.ack(120).unwrap();
        assert_eq!(s.read(120).unwrap(), None);
        assert_eq!(s.read(121).unwrap(), Some(msg(121)));
    }
    let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
    assert_eq!(s.first_unacked(), 121);
    assert_eq!(s.next_seq(), 201);
    for i in 121..=200 {
        assert_eq!(
            s.read(u64::from(i)).unwrap(),
            Some(msg(i)),
            "record {i} after reopen"
        );
    }
    let segments_before = list_segments(&dir).unwrap().len();
    s.ack(200).unwrap();
    assert!(
        list_segments(&dir).unwrap().len() < segments_before,
        "acked segments deleted"
    );
    assert_eq!(s.append(&msg(201)).unwrap(), 201);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_lagging_acknowledgement_file_never_strands_the_mark() {
    // A crash between deleting acknowledged segments and recording the mark: simulate it
    // by putting back an old acknowledgement file.
    let dir = temp_dir("lag");
    {
        let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
        for i in 1..=200 {
            s.append(&msg(i)).unwrap();
        }
    }
    store_acked(&dir, 0, false).unwrap();
    {
        let mut s = FileSpool::open_with(&dir, small_segments()).unwrap();
        s.ack(150).unwrap();
    }
    store_acked(&dir, 3, false).unwrap();
    let s = FileSpool::open_with(&dir, small_segments()).unwrap();
    let first_on_disk = list_segments(&dir).unwrap()[0].0;
    assert!(first_on_disk > 4, "acknowledged segments were deleted");
    assert_eq!(
        s.first_unacked(),
        first_on_disk,
        "the mark starts at the oldest record left"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn torn_tail_is_cut() {
    let dir = temp_dir("torn");
    {
        let mut s = FileSpool::open(&dir).unwrap();
        for i in 1..=10 {
            s.append(&msg(i)).unwrap();
        }
    }
    let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
    let len = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let mut s = FileSpool::open(&dir).unwrap();
    assert_eq!(s.next_seq(), 10, "the torn 10th record is gone");
    assert_eq!(s.read(9).unwrap(), Some(msg(9)));
    assert_eq!(s.append(&msg(10)).unwrap(), 10);
    drop(s);
    let mut s = FileSpool::open(&dir).unwrap();
    assert_eq!(s.read(10).unwrap(), Some(msg(10)));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flipped_byte_is_reported_or_skipped() {
    let dir = temp_dir("flip");
    {
        let mut s = FileSpool::open(&dir).unwrap();
        for i in 1..=10 {
            s.append(&msg(i)).unwrap();
        }
    }
    let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
    let mut data = fs::read(&path).unwrap();
    let mut offset = 0;
    for _ in 0..4 {
        offset += 8 + u32::from_le_bytes(data[offset..offset + 4].try_into().unwrap()) as usize;
    }
    data[offset + 20] ^= 0x01; // inside the 5th record's body
    fs::write(&path, &data).unwrap();
    match FileSpool::open(&dir) {
        Err(SpoolError::Corrupt {
            offset: at, reason, ..
        }) => {
            assert_eq!(at, offset as u64);
            assert_eq!(reason, "checksum mismatch");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a flipped byte went unnoticed"),
    }
    let config = FileSpoolConfig {
        on_corruption: OnCorruption::Skip,
        ..FileSpoolConfig::default()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    assert_eq!(s.corruptions().len(), 1);
    assert_eq!(s.read(4).unwrap(), Some(msg(4)));
    assert_eq!(
        s.read(5).unwrap(),
        None,
        "the damaged record is skipped, and reported"
    );
    assert_eq!(s.read(6).unwrap(), Some(msg(6)));
    assert_eq!(s.next_seq(), 11);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_length_is_reported() {
    let dir = temp_dir("len");
    {
        let mut s = FileSpool::open(&dir).unwrap();
        for i in 1..=3 {
            s.append(&msg(i)).unwrap();
        }
        s.append(&msg(4)).unwrap();
    }
    let (_, path) = list_segments(&dir).unwrap().pop().unwrap();
    let mut data = fs::read(&path).unwrap();
    data[3] = 0x50; // first record's length now absurd
    fs::write(&path, &data).unwrap();
    assert!(matches!(
        FileSpool::open(&dir),
        Err(SpoolError::Corrupt { offset: 0, .. })
    ));
    let config = FileSpoolConfig {
        on_corruption: OnCorruption::Skip,
        ..FileSpoolConfig::default()
    };
    let s = FileSpool::open_with(&dir, config).unwrap();
    assert_eq!(
        s.corruptions().len(),
        1,
        "the rest of the segment is reported lost"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quota_refuses_and_keeps_everything_accepted() {
    let dir = temp_dir("quota");
    let config = FileSpoolConfig {
        quota: Some(300),
        segment_size: 100,
        ..FileSpoolConfig::default()
    };
    let mut s = FileSpool::open_with(&dir, config.clone()).unwrap();
    let mut accepted = 0;
    loop {
        match s.append(&msg(accepted + 1)) {
            Ok(_) => accepted += 1,
            Err(SpoolError::Full { .. }) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(accepted > 0);
    for i in 1..=accepted {
        assert_eq!(s.read(u64::from(i)).unwrap(), Some(msg(i)));
    }
    s.ack(u64::from(accepted)).unwrap();
    assert!(s.append(&msg(accepted + 1)).is_ok(), "acknowledging frees room");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_directory_is_a_clear_error() {
    let file = temp_dir("not-a-dir");
    fs::write(&file, b"x").unwrap();
    match FileSpool::open(file.join("sub")) {
        Err(SpoolError::Io { path, .. }) => assert!(path.starts_with(&file)),
        other => panic!("expected an I/O error, got {:?}", other.err()),
    }
    fs::remove_file(&file).unwrap();
}

#[test]
fn reading_back_from_disk_after_the_cache() {
    let dir = temp_dir("cache");
    let config = FileSpoolConfig {
        cache_bytes: 200,
        segment_size: 500,
        ..FileSpoolConfig::default()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    for i in 1..=100 {
        s.append(&msg(i)).unwrap();
    }
    for i in 1..=100 {
        assert_eq!(s.read(u64::from(i)).unwrap(), Some(msg(i)));
    }
    assert_eq!(
        s.read(37).unwrap(),
        Some(msg(37)),
        "random access goes back in the file"
    );
    fs::remove_dir_all(&dir).unwrap();
}

fn newest_segment(dir: &Path) -> PathBuf {
    list_segments(dir).unwrap().pop().unwrap().1
}

fn append_to(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn never_synced() -> FileSpoolConfig {
    FileSpoolConfig {
        fsync: FsyncPolicy::Never,
        ..small_segments()
    }
}

#[test]
fn zeros_or_garbage_after_the_last_record_are_cut_from_the_file() {
    let dir = temp_dir("tails");
    let mut valid_len = 0;
    for (round, tail) in [vec![0u8; 4096], b"\x13\x00\x00\x00garbage".repeat(50)]
        .into_iter()
        .enumerate()
    {
        let round = round as u32;
        {
            let mut s = FileSpool::open_with(&dir, never_synced()).unwrap();
            assert_eq!(s.next_seq(), u64::from(round * 3 + 1));
            for i in 1..=3 {
                s.append(&msg(round * 3 + i)).unwrap();
            }
        }
        let path = newest_segment(&dir);
        valid_len = fs::metadata(&path).unwrap().len();
        append_to(&path, &tail);
    }
    let mut s = FileSpool::open(&dir).unwrap();
    assert_eq!(s.next_seq(), 7);
    assert!(s.corruptions().is_empty());
    assert_eq!(s.read(6).unwrap(), Some(msg(6)));
    drop(s); // the open spool preallocates past its records; closing cuts that
    assert_eq!(fs::metadata(newest_segment(&dir)).unwrap().len(), valid_len);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_in_an_older_segment_is_corruption_even_at_its_end() {
    let dir = temp_dir("older");
    {
        let mut s = FileSpool::open_with(&dir, never_synced()).unwrap();
        for i in 1..=100 {
            s.append(&msg(i)).unwrap();
        }
    }
    let segments = list_segments(&dir).unwrap();
    assert!(segments.len() > 2);
    let (_, older) = &segments[0];
    let len = fs::metadata(older).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(older)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    assert!(
        matches!(
            FileSpool::open_with(&dir, never_synced()),
            Err(SpoolError::Corrupt { .. })
        ),
        "the next segment proves the cut record existed"
    );
    // Once those records are acknowledged, the same damage loses nothing.
    let last_of_first = segments[1].0 - 1;
    store_acked(&dir, last_of_first, false).unwrap();
    let s = FileSpool::open_with(&dir, never_synced()).unwrap();
    assert_eq!(s.first_unacked(), last_of_first + 1);
    assert!(s.corruptions().is_empty());
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn skipped_damage_is_jumped_over_when_reading_back() {
    let dir = temp_dir("hole");
    let config = FileSpoolConfig {
        on_corruption: OnCorruption::Skip,
        cache_bytes: 0,
        ..never_synced()
    };
    {
        let mut s = FileSpool::open_with(
            &dir,
            FileSpoolConfig {
                segment_size: 1 << 20,
                ..config.clone()
            },
        )
        .unwrap();
        for i in 1..=10 {
            s.append(&msg(i)).unwrap();
        }
    }
    let path = newest_segment(&dir);
    let mut data = fs::read(&path).unwrap();
    let mut offset = 0;
    for _ in 0..3 {
        offset += 8 + u32::from_le_bytes(data[offset..offset + 4].try_into().unwrap()) as usize;
    }
    data[offset + 2] = 0x7F; // the 4th record's length now runs past the end of the file
    fs::write(&path, &data).unwrap();
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    assert_eq!(s.corruptions().len(), 1, "one damaged record, not a crash tail");
    assert_eq!(s.next_seq(), 11, "the records after it are kept");
    for i in [3, 5, 10, 4, 6] {
        let expected = (i != 4).then(|| msg(i));
        assert_eq!(s.read(u64::from(i)).unwrap(), expected, "record {i}");
    }
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_message_too_large_for_the_record_format_is_refused_before_it_is_written() {
    let dir = temp_dir("format");
    let mut s = FileSpool::open_with(&dir, never_synced()).unwrap();
    // Zero-filled allocations are not touched until read: 1.2 GiB of address space only.
    let half = Bytes::from(vec![0u8; 600 << 20]);
    match s.append(&[half.clone(), half]) {
        Err(SpoolError::TooLarge { bound, limit, .. }) => {
            assert_eq!((bound, limit), ("the record format", record::MAX_RECORD));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!((s.next_seq(), s.size()), (1, 0), "nothing written");
    assert_eq!(s.append(&msg(1)).unwrap(), 1);
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_open_fails_until_the_first_is_dropped() {
    let dir = temp_dir("lock");
    let first = FileSpool::open_with(&dir, never_synced()).unwrap();
    match FileSpool::open_with(&dir, never_synced()) {
        Err(SpoolError::Locked { dir: locked }) => assert_eq!(locked, dir),
        other => panic!("expected Locked, got {:?}", other.err()),
    }
    drop(first);
    FileSpool::open_with(&dir, never_synced()).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_idle_spool_is_synced_by_its_thread() {
    let dir = temp_dir("idle");
    let config = FileSpoolConfig {
        fsync: FsyncPolicy::Every(Duration::from_millis(20)),
        ..small_segments()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    s.append(&msg(1)).unwrap();
    // No call into the spool from here on: only the thread can flush.
    assert!(
        s.durability().wait_until_flushed(deadline),
        "appended data left idle was never synced"
    );
    s.ack(1).unwrap();
    assert!(
        s.durability().wait_until_flushed(deadline),
        "an idle acknowledgement was never recorded"
    );
    assert_eq!(
        dir::load_acked(&dir, OnCorruption::Fail, &mut Vec::new()).unwrap(),
        1
    );
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn always_flushes_before_the_call_returns_and_dropping_stops_a_sleeping_thread() {
    let dir = temp_dir("always");
    let always = FileSpoolConfig {
        fsync: FsyncPolicy::Always,
        ..small_segments()
    };
    let mut s = FileSpool::open_with(&dir, always).unwrap();
    s.append(&msg(1)).unwrap();
    assert!(
        s.durability().wait_until_flushed(Instant::now()),
        "synced in the append"
    );
    s.ack(1).unwrap();
    assert!(
        s.durability().wait_until_flushed(Instant::now()),
        "synced in the ack"
    );
    drop(s);
    // A period too long for the clock: the thread sleeps without a deadline, and the drop
    // must still wake and join it.
    let forever = FileSpoolConfig {
        fsync: FsyncPolicy::Every(Duration::MAX),
        ..small_segments()
    };
    let mut s = FileSpool::open_with(&dir, forever).unwrap();
    s.append(&msg(2)).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(s);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("dropping the spool did not stop its sync thread");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_directory_is_synced_after_a_segment_is_created_or_deleted_and_acked_is_replaced() {
    let dir = temp_dir("dirsync");
    let config = FileSpoolConfig {
        fsync: FsyncPolicy::Always,
        segment_size: 200,
        ..FileSpoolConfig::default()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    let syncs = |s: &FileSpool| s.durability().syncs().1;
    s.append(&msg(1)).unwrap();
    assert_eq!(syncs(&s), 1, "the segment created by open");
    s.append(&msg(2)).unwrap();
    assert_eq!(syncs(&s), 1, "no directory change");
    let mut i = 3;
    while list_segments(&dir).unwrap().len() == 1 {
        s.append(&msg(i)).unwrap();
        i += 1;
    }
    assert_eq!(syncs(&s), 2, "the rolled segment");
    s.ack(u64::from(i) - 2).unwrap();
    assert_eq!(
        list_segments(&dir).unwrap().len(),
        1,
        "the first segment is deleted"
    );
    assert_eq!(syncs(&s), 3, "the deletion and the new acked file");
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reopening_with_a_smaller_quota_frees_an_acknowledged_full_segment() {
    let dir = temp_dir("requota");
    {
        let mut s = FileSpool::open_with(&dir, never_synced()).unwrap();
        s.append(&[Bytes::from(vec![1; 2000])]).unwrap(); // fills the segment on its own
        s.ack(1).unwrap();
    }
    let config = FileSpoolConfig {
        quota: Some(600),
        ..never_synced()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    assert_eq!(s.size(), 0, "the acknowledged segment is deleted on open");
    assert_eq!(s.append(&msg(2)).unwrap(), 2);
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_explicit_sync_under_never_syncs_what_an_acknowledgement_flush_left() {
    let dir = temp_dir("never-sync");
    let mut s = FileSpool::open_with(&dir, never_synced()).unwrap();
    s.append(&msg(1)).unwrap();
    s.append(&msg(2)).unwrap();
    // Under Never the mark is still written, without syncing, once 100 ms have passed since
    // the first unflushed change: let them pass, so that this ack writes it.
    std::thread::sleep(Duration::from_millis(110));
    s.ack(1).unwrap();
    assert_eq!(
        dir::load_acked(&dir, OnCorruption::Fail, &mut Vec::new()).unwrap(),
        1
    );
    assert_eq!(s.durability().syncs(), (0, 0), "Never syncs nothing by itself");
    s.sync().unwrap();
    assert_eq!(
        s.durability().syncs(),
        (1, 1),
        "the appends and the new segment are still synced"
    );
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

/// Group commit under `Always`: appends made while another sender syncs share the next sync,
/// and each `sync_through` returns only once its append is durable.
#[test]
fn concurrent_appends_share_syncs_under_always() {
    use std::sync::{Arc, Mutex};
    let dir = temp_dir("group");
    let config = FileSpoolConfig {
        fsync: FsyncPolicy::Always,
        ..FileSpoolConfig::default()
    };
    let mut s = FileSpool::open_with(&dir, config).unwrap();
    let group = s.group_sync().expect("Always syncs in groups");
    let spool = Arc::new(Mutex::new(s));
    let senders: Vec<_> = (0..4u32)
        .map(|t| {
            let (spool, group) = (Arc::clone(&spool), Arc::clone(&group));
            std::thread::spawn(move || {
                for i in 0..200 {
                    let mark = {
                        let mut s = spool.lock().unwrap();
                        s.append(&msg(t * 1000 + i)).unwrap();
                        group.mark()
                    };
                    group.sync_through(mark).unwrap();
                    let s = spool.lock().unwrap();
                    assert!(s.durability().flushed_at_least(mark), "returned before its sync");
                }
            })
        })
        .collect();
    senders.into_iter().for_each(|t| t.join().unwrap());
    let s = spool.lock().unwrap();
    let (data_syncs, _) = s.durability().syncs();
    assert!(
        data_syncs < 800,
        "{data_syncs} syncs for 800 appends: none shared"
    );
    assert_eq!(s.next_seq(), 801);
    eprintln!("group commit: {data_syncs} data syncs for 800 appends from 4 threads");
    drop(s);
    fs::remove_dir_all(&dir).unwrap();
}

//! Single-thread tests of the pipe: operation sequences against a `VecDeque` model, drops,
//! chunk reuse, and the auto traits of the halves.

use super::chunk::CHUNKS_ALLOCATED;
use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::Mutex;

/// An item that logs its drop, to check that every item is dropped exactly once.
#[derive(Debug)]
struct Tracked {
    id: u32,
    log: Arc<Mutex<Vec<u32>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(self.id);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Tracked) -> bool {
        self.id == other.id
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write { more: bool },
    Flush,
    Read,
    Rollback,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|more| Op::Write { more }),
        2 => Just(Op::Flush),
        4 => Just(Op::Read),
        1 => Just(Op::Rollback),
    ]
}

/// What the pipe should do, computed the obvious way.
#[derive(Default)]
struct Model {
    /// Frames of the message being written.
    unfinished: Vec<(u32, bool)>,
    /// Frames of complete messages not yet flushed.
    unflushed: VecDeque<(u32, bool)>,
    /// Frames the reader can read.
    visible: VecDeque<(u32, bool)>,
    reader_asleep: bool,
    /// Frames the reader knows are published (fetched when it ran out), not yet read.
    known: usize,
    messages_written: usize,
    messages_read: usize,
    /// The read count as the writer sees it: the reader reports in batches.
    reported: usize,
    hwm: usize,
    /// The writer found the pipe full and waits to drain to the resume level.
    blocked: bool,
    waiting: bool,
}

impl Model {
    /// Whether a write that starts a message is accepted.
    fn accepts_message(&mut self) -> bool {
        let queued = self.messages_written - self.reported;
        if self.blocked && queued <= resume_level(self.hwm) {
            self.blocked = false;
        }
        if self.hwm == 0 || (!self.blocked && queued < self.hwm) {
            return true;
        }
        self.blocked = true;
        self.waiting = true;
        false
    }

    fn flush(&mut self) -> Wake {
        if self.unflushed.is_empty() {
            return Wake::None;
        }
        self.visible.extend(self.unflushed.drain(..));
        if std::mem::take(&mut self.reader_asleep) {
            Wake::Reader
        } else {
            Wake::None
        }
    }

    /// The read the pipe should give, as (id, more, wake), or None for Empty.
    fn read(&mut self) -> Option<(u32, bool, Wake)> {
        if self.known == 0 {
            self.known = self.visible.len();
        }
        let Some((id, more)) = self.visible.pop_front() else {
            self.reader_asleep = true;
            return None;
        };
        self.known -= 1;
        let mut wake = Wake::None;
        if !more {
            self.messages_read += 1;
            let caught_up = self.known == 0;
            let every = if self.hwm == 0 {
                64
            } else {
                (self.hwm / 8).clamp(1, 64)
            };
            if caught_up || self.waiting || self.messages_read - self.reported >= every {
                self.reported = self.messages_read;
                let queued = self.messages_written - self.messages_read;
                if self.waiting && queued <= resume_level(self.hwm) {
                    self.waiting = false;
                    wake = Wake::Writer;
                }
            }
        }
        Some((id, more, wake))
    }
}

fn check_read<const N: usize>(reader: &mut Reader<Tracked, N>, model: &mut Model) {
    match (reader.read(), model.read()) {
        (Read::Frame { item, more, wake }, Some((id, model_more, model_wake))) => {
            assert_eq!((item.id, more, wake), (id, model_more, model_wake));
        }
        (Read::Empty, None) => {}
        (got, want) => panic!("read gave {got:?}, the model {want:?}"),
    }
}

fn run(ops: &[Op], hwm: usize, close: bool, drop_reader_first: bool) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (mut writer, mut reader) = with_chunk_len::<Tracked, 4>(hwm);
    let mut model = Model {
        hwm,
        ..Model::default()
    };
    let mut next_id = 0;
    for op in ops {
        match *op {
            Op::Write { more } => {
                let item = Tracked {
                    id: next_id,
                    log: log.clone(),
                };
                next_id += 1;
                let accepted = !model.unfinished.is_empty() || model.accepts_message();
                match writer.write(item, more) {
                    Ok(()) => {
                        assert!(accepted, "a write past the high-water mark was accepted");
                        model.unfinished.push((next_id - 1, more));
                        if !more {
                            model.unflushed.extend(model.unfinished.drain(..));
                            model.messages_written += 1;
                        }
                    }
                    Err(back) => {
                        assert!(!accepted, "a write was refused below the high-water mark");
                        assert_eq!(back.id, next_id - 1, "a refused write returns its item");
                    }
                }
            }
            Op::Flush => assert_eq!(writer.flush(), model.flush()),
            Op::Read => check_read(&mut reader, &mut model),
            Op::Rollback => {
                writer.rollback();
                model.unfinished.clear();
            }
        }
    }
    if close {
        model.unfinished.clear();
        let expected = if model.reader_asleep {
            Wake::Reader
        } else {
            Wake::None
        };
        model.visible.extend(model.unflushed.drain(..));
        assert_eq!(writer.close(), expected);
        while !model.visible.is_empty() {
            check_read(&mut reader, &mut model);
        }
        assert_eq!(reader.read(), Read::Closed);
        assert_eq!(reader.read(), Read::Closed);
        assert!(!reader.check_read());
        drop(reader);
    } else if drop_reader_first {
        drop(reader);
        drop(writer);
    } else {
        drop(writer);
        drop(reader);
    }
    let mut dropped = log.lock().unwrap().clone();
    dropped.sort_unstable();
    assert_eq!(
        dropped,
        (0..next_id).collect::<Vec<_>>(),
        "each item dropped once"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn behaves_as_the_model(
        ops in proptest::collection::vec(op(), 0..200),
        hwm in 0usize..6,
        close: bool,
        drop_reader_first: bool,
    ) {
        run(&ops, hwm, close, drop_reader_first);
    }
}

#[test]
fn a_multipart_message_appears_whole() {
    let (mut writer, mut reader) = channel::<u32>(0);
    writer.write(1, true).unwrap();
    writer.write(2, true).unwrap();
    assert_eq!(writer.flush(), Wake::None, "nothing complete to publish");
    assert_eq!(reader.read(), Read::Empty);
    writer.write(3, false).unwrap();
    assert_eq!(writer.flush(), Wake::Reader, "the reader slept");
    let frames: Vec<_> = (0..3).map(|_| reader.read()).collect();
    assert_eq!(
        frames,
        [
            Read::Frame {
                item: 1,
                more: true,
                wake: Wake::None
            },
            Read::Frame {
                item: 2,
                more: true,
                wake: Wake::None
            },
            Read::Frame {
                item: 3,
                more: false,
                wake: Wake::None
            },
        ]
    );
}

#[test]
fn one_wake_per_sleep() {
    let (mut writer, mut reader) = channel::<u32>(0);
    writer.write(1, false).unwrap();
    assert_eq!(writer.flush(), Wake::None, "the reader starts awake");
    assert!(reader.check_read());
    assert!(matches!(reader.read(), Read::Frame { item: 1, .. }));
    assert_eq!(reader.read(), Read::Empty);
    assert_eq!(reader.read(), Read::Empty, "asleep already: still asleep");
    assert_eq!(writer.flush(), Wake::None, "nothing to publish wakes nobody");
    writer.write(2, false).unwrap();
    assert_eq!(writer.flush(), Wake::Reader);
    writer.write(3, false).unwrap();
    assert_eq!(writer.flush(), Wake::None, "awake since the last wake-up");
}

#[test]
fn the_writer_waits_at_hwm_and_resumes_at_lwm() {
    let hwm = 4;
    let (mut writer, mut reader) = channel::<u32>(hwm);
    for i in 0..4 {
        writer.write(i, false).unwrap();
    }
    assert_eq!(writer.write(4, false), Err(4), "full at hwm: the item comes back");
    assert_eq!(writer.write(4, false), Err(4), "still waiting");
    let _ = writer.flush();
    // lwm = (4 + 1) / 2 = 2: the reader reports once two messages are left.
    assert!(matches!(reader.read(), Read::Frame { wake: Wake::None, .. }));
    assert_eq!(writer.write(4, false), Err(4), "three left: not yet");
    assert!(matches!(
        reader.read(),
        Read::Frame {
            wake: Wake::Writer,
            ..
        }
    ));
    writer.write(4, false).unwrap();
    assert!(matches!(reader.read(), Read::Frame { wake: Wake::None, .. }));
}

#[test]
fn a_pipe_of_one_message_resumes_when_empty() {
    let (mut writer, mut reader) = channel::<u32>(1);
    writer.write(0, false).unwrap();
    assert_eq!(writer.write(1, false), Err(1));
    let _ = writer.flush();
    assert!(matches!(
        reader.read(),
        Read::Frame {
            wake: Wake::Writer,
            ..
        }
    ));
    writer.write(1, false).unwrap();
}

#[test]
fn steady_traffic_reuses_chunks() {
    let (mut writer, mut reader) = with_chunk_len::<u64, 8>(0);
    let before = CHUNKS_ALLOCATED.with(|count| count.get());
    for round in 0..1000u64 {
        for i in 0..5 {
            writer.write(round * 5 + i, false).unwrap();
        }
        let _ = writer.flush();
        for i in 0..5 {
            assert!(matches!(reader.read(), Read::Frame { item, .. } if item == round * 5 + i));
        }
    }
    let allocated = CHUNKS_ALLOCATED.with(|count| count.get()) - before;
    // The first chunk, and one more while the spare is not yet back.
    assert!(allocated <= 2, "{allocated} chunks for 5000 items");
}

/// A queue that swings by several chunks (filled, then drained, as a receiver that lags and
/// catches up does) reuses them too: with a single spare it allocated at most turns.
#[test]
fn a_queue_swinging_by_several_chunks_reuses_them() {
    let (mut writer, mut reader) = with_chunk_len::<u64, 8>(0);
    let before = CHUNKS_ALLOCATED.with(|count| count.get());
    for round in 0..100u64 {
        for i in 0..32 {
            writer.write(round * 32 + i, false).unwrap();
        }
        let _ = writer.flush();
        for i in 0..32 {
            match reader.read() {
                Read::Frame { item, .. } => assert_eq!(item, round * 32 + i),
                _ => panic!("item {i} of round {round} missing"),
            }
        }
    }
    let allocated = CHUNKS_ALLOCATED.with(|count| count.get()) - before;
    // The four chunks the queue spans, plus one for the swing.
    assert!(allocated <= 5, "{allocated} chunks for 100 swings of 4 chunks");
}

/// Compiles only if `X` does not implement the trait chosen by the marker (the call is
/// ambiguous otherwise): the "assert not impl" trick.
trait AmbiguousIfImpl<Marker> {
    fn check() {}
}
impl<X: ?Sized> AmbiguousIfImpl<()> for X {}
struct IsSync;
impl<X: ?Sized + Sync> AmbiguousIfImpl<IsSync> for X {}
struct IsClone;
impl<X: Clone> AmbiguousIfImpl<IsClone> for X {}

#[test]
fn halves_are_send_but_not_sync_nor_clone() {
    fn send<X: Send>() {}
    send::<Writer<String>>();
    send::<Reader<String>>();
    let _ = <Writer<String> as AmbiguousIfImpl<_>>::check;
    let _ = <Reader<String> as AmbiguousIfImpl<_>>::check;
}

#[test]
fn peek_never_puts_the_reader_to_sleep() {
    let (mut writer, mut reader) = channel::<u32>(0);
    assert!(!reader.peek());
    writer.write(1, false).unwrap();
    assert!(!reader.peek(), "not flushed yet");
    assert_eq!(writer.flush(), Wake::None, "peeking did not sleep");
    assert!(reader.peek());
    assert!(matches!(reader.read(), Read::Frame { item: 1, .. }));
    assert_eq!(reader.read(), Read::Empty);
    writer.write(2, false).unwrap();
    assert!(!reader.peek(), "asleep: a peek sees nothing until the wake-up");
    assert_eq!(writer.flush(), Wake::Reader);
    assert!(reader.peek());
}

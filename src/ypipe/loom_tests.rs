//! loom models of the pipe: every interleaving of a few operations, with at most 3 threads,
//! 4 items and a preemption bound of 2. A lost wake-up shows as a deadlock (the sleeper waits
//! forever on its doorbell), a doubled one as a ring left over or a wake-up with nothing to do.

use super::doorbell::Doorbell;
use super::*;
use crate::sync::{AtomicUsize, Ordering, thread};

/// Checks `body` under every interleaving with at most two preemptions.
pub(crate) fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(body);
}

/// Reads `count` items, sleeping on `bell` when the pipe is empty and ringing `wake_writer`
/// when a read asks for it. Returns the items with their `more` flags.
fn read_items<const N: usize>(
    reader: &mut Reader<u32, N>,
    count: usize,
    bell: &Doorbell,
    wake_writer: &Doorbell,
) -> Vec<(u32, bool)> {
    let mut items = Vec::new();
    while items.len() < count {
        match reader.read() {
            Read::Frame { item, more, wake } => {
                items.push((item, more));
                if wake == Wake::Writer {
                    wake_writer.ring();
                }
            }
            Read::Empty => {
                // A multipart message is published whole: never empty in the middle of one.
                assert!(items.last().is_none_or(|(_, more)| !more), "half a message");
                bell.wait();
                assert!(reader.check_read(), "woken with nothing to read");
            }
            Read::Closed => panic!("closed early"),
        }
    }
    items
}

#[test]
fn loom_flush_races_reader_sleep() {
    model(|| {
        let (mut writer, mut reader) = with_chunk_len::<u32, 2>(0);
        let bell = Arc::new(Doorbell::new());
        let producer = {
            let bell = bell.clone();
            thread::spawn(move || {
                for i in 0..2 {
                    writer.write(i, false).unwrap();
                    if writer.flush() == Wake::Reader {
                        bell.ring();
                    }
                }
            })
        };
        let unused = Doorbell::new();
        let items = read_items(&mut reader, 2, &bell, &unused);
        producer.join().unwrap();
        assert_eq!(items, [(0, false), (1, false)]);
        assert_eq!(bell.pending(), 0, "a wake-up nobody slept for");
    });
}

#[test]
fn loom_reader_crosses_lwm_while_writer_sleeps() {
    model(|| {
        // hwm 2: the writer waits at 2 queued messages and resumes at 1.
        let (mut writer, mut reader) = with_chunk_len::<u32, 2>(2);
        let wake_reader = Arc::new(Doorbell::new());
        let wake_writer = Arc::new(Doorbell::new());
        let producer = {
            let (wake_reader, wake_writer) = (wake_reader.clone(), wake_writer.clone());
            thread::spawn(move || {
                // Each message is flushed at once, so the reader can drain while the
                // writer finds the pipe full and goes to sleep.
                for i in 0..3 {
                    let mut item = i;
                    let mut woken = false;
                    while let Err(back) = writer.write(item, false) {
                        assert!(!woken, "a write failed right after a wake-up");
                        item = back;
                        wake_writer.wait();
                        woken = true;
                    }
                    if writer.flush() == Wake::Reader {
                        wake_reader.ring();
                    }
                }
            })
        };
        let items = read_items(&mut reader, 3, &wake_reader, &wake_writer);
        producer.join().unwrap();
        assert_eq!(items, [(0, false), (1, false), (2, false)]);
        assert_eq!(wake_reader.pending(), 0, "a reader wake-up nobody slept for");
        assert_eq!(wake_writer.pending(), 0, "a writer wake-up nobody waited for");
    });
}

#[test]
fn loom_multipart_never_half_visible() {
    model(|| {
        let (mut writer, mut reader) = with_chunk_len::<u32, 2>(0);
        let bell = Arc::new(Doorbell::new());
        let producer = {
            let bell = bell.clone();
            thread::spawn(move || {
                // Message [0, 1, 2] across a chunk boundary, flushed after every frame.
                for (item, more) in [(0, true), (1, true), (2, false)] {
                    writer.write(item, more).unwrap();
                    if writer.flush() == Wake::Reader {
                        bell.ring();
                    }
                }
            })
        };
        let unused = Doorbell::new();
        let items = read_items(&mut reader, 3, &bell, &unused);
        producer.join().unwrap();
        assert_eq!(items, [(0, true), (1, true), (2, false)]);
        assert_eq!(bell.pending(), 0);
    });
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: read after the threads are joined.
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn loom_drop_in_flight_frees_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut writer, mut reader) = with_chunk_len::<Counted, 2>(0);
        let producer = {
            let drops = drops.clone();
            thread::spawn(move || {
                // Two messages published, then half a message, then the writer goes away.
                for more in [false, false, true] {
                    assert!(writer.write(Counted(drops.clone()), more).is_ok());
                    let _ = writer.flush();
                }
            })
        };
        let consumer = thread::spawn(move || {
            if let Read::Frame { item, .. } = reader.read() {
                drop(item);
            }
        });
        producer.join().unwrap();
        consumer.join().unwrap();
        // Relaxed: the threads are joined.
        assert_eq!(drops.load(Ordering::Relaxed), 3, "each item dropped exactly once");
    });
}

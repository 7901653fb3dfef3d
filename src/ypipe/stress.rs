//! Two threads through one pipe: a stress test that checks order and wake-ups, and an ignored
//! throughput benchmark against `std::sync::mpsc::sync_channel`.

use super::doorbell::Doorbell;
use super::*;
use crate::sync::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

/// What each side saw, for the checks at the end.
#[derive(Default)]
struct Tally {
    reader_wakes: AtomicUsize,
    writer_wakes: AtomicUsize,
}

/// Streams `items` numbered items in messages of 1 to 3 frames through a pipe of `hwm`
/// messages, flushing every `flush_every` messages. Every wake-up a call asks for is rung on
/// a doorbell, and the woken side checks that it can then make progress: a lost wake-up
/// times out, a doubled one is left pending at the end.
fn stream<const N: usize>(items: u64, hwm: usize, flush_every: u64) -> Tally {
    let (mut writer, mut reader) = with_chunk_len::<u64, N>(hwm);
    let wake_reader = Arc::new(Doorbell::new());
    let wake_writer = Arc::new(Doorbell::new());
    let tally = Arc::new(Tally::default());
    let producer = {
        let (wake_reader, wake_writer, tally) = (wake_reader.clone(), wake_writer.clone(), tally.clone());
        thread::spawn(move || {
            let ring_reader = |wake: Wake| {
                if wake == Wake::Reader {
                    wake_reader.ring();
                }
            };
            let mut next = 0;
            let mut messages = 0;
            while next < items {
                let frames = (1 + next % 3).min(items - next);
                for frame in 0..frames {
                    let mut item = next;
                    let mut woken = false;
                    loop {
                        match writer.write(item, frame + 1 < frames) {
                            Ok(()) => break,
                            Err(back) => {
                                assert!(!woken, "a write failed right after a wake-up");
                                item = back;
                                ring_reader(writer.flush());
                                wake_writer.wait();
                                // Relaxed: counts read after the join.
                                tally.writer_wakes.fetch_add(1, Ordering::Relaxed);
                                woken = true;
                            }
                        }
                    }
                    next += 1;
                }
                messages += 1;
                if messages % flush_every == 0 {
                    ring_reader(writer.flush());
                }
            }
            ring_reader(writer.close());
        })
    };
    let mut expected = 0;
    loop {
        match reader.read() {
            Read::Frame { item, more, wake } => {
                assert_eq!(item, expected, "items arrive in order");
                expected += 1;
                if wake == Wake::Writer {
                    wake_writer.ring();
                }
                let _ = more;
            }
            Read::Empty => {
                wake_reader.wait();
                // Relaxed: counts read after the join.
                tally.reader_wakes.fetch_add(1, Ordering::Relaxed);
                assert!(reader.check_read(), "woken with nothing to read");
            }
            Read::Closed => break,
        }
    }
    producer.join().unwrap();
    assert_eq!(expected, items);
    assert_eq!(wake_reader.pending(), 0, "a reader wake-up was not used");
    assert_eq!(wake_writer.pending(), 0, "a writer wake-up was not used");
    Arc::try_unwrap(tally).ok().unwrap()
}

#[test]
fn two_threads_stream_a_million_items_in_order() {
    let tally = stream::<16>(1_000_000, 64, 3);
    // Both sides must have slept at least once, or the test checked no wake-up. Relaxed: the
    // threads are joined.
    assert!(tally.reader_wakes.load(Ordering::Relaxed) > 0);
    assert!(tally.writer_wakes.load(Ordering::Relaxed) > 0);
}

#[test]
fn two_threads_with_a_pipe_of_one_message() {
    stream::<2>(20_000, 1, 1);
}

/// Run with `cargo test --release --lib ypipe::stress::bench -- --ignored --nocapture`.
/// Each line is the median of five runs (with the slowest and fastest): on a shared 2-core
/// machine a run depends much on whether the two threads get a core each.
#[test]
#[ignore = "benchmark"]
fn bench_ten_million_items() {
    const ITEMS: u64 = 10_000_000;
    const HWM: usize = 1000;
    let report = |name: &str, run: &dyn Fn()| {
        let mut rates: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                run();
                ITEMS as f64 / start.elapsed().as_secs_f64() / 1e6
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "{name:<52} {:6.1} M items/s ({:.1} to {:.1})",
            rates[2], rates[0], rates[4]
        );
    };
    for (flush_every, spins) in [(1, 0), (64, 0), (1, 200), (64, 200)] {
        report(
            &format!("ypipe, flush every {flush_every} item(s), {spins} spins"),
            &|| bench_pipe(ITEMS, HWM, flush_every, spins),
        );
    }
    report(&format!("std sync_channel({HWM}) (spins, then parks)"), &|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(HWM);
        let producer = thread::spawn(move || {
            for i in 0..ITEMS {
                tx.send(i).unwrap();
            }
        });
        let sum = rx.iter().fold(0u64, u64::wrapping_add);
        producer.join().unwrap();
        assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    });
}

/// The streaming loop of the benchmark: single-frame messages, no per-item checks but a sum.
/// The reader peeks `spins` times before it lets a read put it to sleep.
fn bench_pipe(items: u64, hwm: usize, flush_every: u64, spins: u32) {
    let (mut writer, mut reader) = channel::<u64>(hwm);
    let wake_reader = Arc::new(Doorbell::new());
    let wake_writer = Arc::new(Doorbell::new());
    let producer = {
        let (wake_reader, wake_writer) = (wake_reader.clone(), wake_writer.clone());
        thread::spawn(move || {
            for i in 0..items {
                let mut item = i;
                while let Err(back) = writer.write(item, false) {
                    item = back;
                    if writer.flush() == Wake::Reader {
                        wake_reader.ring();
                    }
                    wake_writer.wait();
                }
                if (i + 1) % flush_every == 0 && writer.flush() == Wake::Reader {
                    wake_reader.ring();
                }
            }
            if writer.close() == Wake::Reader {
                wake_reader.ring();
            }
        })
    };
    let mut sum = 0u64;
    loop {
        for _ in 0..spins {
            if reader.peek() {
                break;
            }
            std::hint::spin_loop();
        }
        match reader.read() {
            Read::Frame { item, wake, .. } => {
                sum = sum.wrapping_add(item);
                if wake == Wake::Writer {
                    wake_writer.ring();
                }
            }
            Read::Empty => wake_reader.wait(),
            Read::Closed => break,
        }
    }
    producer.join().unwrap();
    assert_eq!(sum, items * (items - 1) / 2);
}

//! Model-based tests of the spools: random sequences of appends (empty, small, around the
//! cache size, over the segment size, multipart), reads of any number, acknowledgements,
//! reopening with other settings and crash-shaped tails, applied to a `FileSpool` and a
//! `MemorySpool` and checked against a plain model (`spool_model/model.rs`).
//!
//! `cargo test` runs a few thousand cases; `ZOCKET_SPOOL_MODEL_CASES=n` changes the count, and
//! the ignored `long_*` tests run 50,000 each.

#[path = "spool_model/model.rs"]
mod model;

use model::{Config, Frame, Harness, Op, Tail};
use proptest::prelude::*;
use std::time::Duration;
use zocket::spool::FsyncPolicy;

const CACHE_SIZES: [usize; 4] = [0, 100, 1000, 1 << 20];

/// Settings to (re)open with. Fsync costs real disk time, so most runs use `Never`, which
/// changes no answer the model can check; `with_fsync` mixes in the other policies (the sync
/// thread, flushes in the call).
fn config(with_fsync: bool) -> impl Strategy<Value = Config> {
    let durable = u32::from(with_fsync);
    let fsync = prop_oneof![
        4 => Just(FsyncPolicy::Never),
        2 * durable => Just(FsyncPolicy::Every(Duration::from_millis(1))),
        durable => Just(FsyncPolicy::Every(Duration::from_secs(3600))),
        durable => Just(FsyncPolicy::Always),
    ];
    (
        prop::sample::select(vec![64u64, 256, 1024, 4096]),
        prop::sample::select(CACHE_SIZES.to_vec()),
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(600u64)),
            1 => Just(Some(3000)),
            1 => Just(Some(20_000)),
        ],
        fsync,
    )
        .prop_map(|(segment_size, cache_bytes, quota, fsync)| Config {
            segment_size,
            cache_bytes,
            quota,
            fsync,
        })
}

/// Frame lengths: empty, small, around the cache sizes (a cached message costs its payload
/// plus 64 bytes), and over the segment sizes.
fn frame() -> impl Strategy<Value = Frame> {
    let len = prop_oneof![
        3 => Just(0usize),
        4 => 1usize..16,
        1 => 30usize..40,
        1 => 930usize..945,
        1 => 4090usize..4100,
        1 => 5000usize..9000,
    ];
    (len, any::<u8>()).prop_map(|(len, fill)| Frame { len, fill })
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        (1u64..200).prop_map(Tail::Truncate),
        (1usize..5000).prop_map(Tail::Zeros),
        prop::collection::vec(any::<u8>(), 1..300).prop_map(Tail::Garbage),
        (1u64..200, 1usize..600).prop_map(|(n, m)| Tail::TruncateThenZeros(n, m)),
    ]
}

fn op(with_fsync: bool) -> impl Strategy<Value = Op> {
    let durable = u32::from(with_fsync);
    let seq = prop_oneof![9 => 0u64..64, 1 => any::<u64>()];
    prop_oneof![
        8 => prop_oneof![
            8 => prop::collection::vec(frame(), 1..2),
            3 => prop::collection::vec(frame(), 2..5),
            1 => Just(Vec::new()),
        ]
        .prop_map(Op::Append),
        6 => seq.clone().prop_map(Op::Read),
        3 => seq.prop_map(Op::Ack),
        durable => Just(Op::Sync),
        1 => config(with_fsync).prop_map(Op::Reopen),
        1 => tail().prop_map(Op::CrashTail),
    ]
}

fn cases(default: u32) -> u32 {
    std::env::var("ZOCKET_SPOOL_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn run(harness: fn(Config) -> Harness, with_fsync: bool, cases: u32) {
    let runner = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(runner, |(start in config(with_fsync),
                        ops in prop::collection::vec(op(with_fsync), 1..40))| {
        let mut h = harness(start);
        for op in &ops {
            h.apply(op);
        }
    });
}

#[test]
fn file_spool_matches_the_model() {
    run(Harness::file, false, cases(1000));
}

#[test]
fn file_spool_matches_the_model_under_every_fsync_policy() {
    run(Harness::file, true, cases(1000) / 20);
}

#[test]
fn memory_spool_matches_the_model() {
    run(Harness::memory, false, cases(2000));
}

#[test]
#[ignore = "long: 50,000 cases"]
fn long_file_spool_matches_the_model() {
    run(Harness::file, false, 50_000);
}

#[test]
#[ignore = "long: 5,000 cases that wait for the disk"]
fn long_file_spool_matches_the_model_under_every_fsync_policy() {
    run(Harness::file, true, 5_000);
}

#[test]
#[ignore = "long: 50,000 cases"]
fn long_memory_spool_matches_the_model() {
    run(Harness::memory, false, 50_000);
}

//! Sequences of spool operations decoded from the input (appends of every size, reads of any
//! number, acknowledgements, syncs, reopening with other settings, crash-shaped tails), applied
//! to a `FileSpool` or a `MemorySpool` and checked against the plain model that the proptest
//! suite uses (`tests/spool_model/model.rs`): any difference or panic is a finding.
//!
//! The spool directories go to the temporary directory: point `TMPDIR` at a tmpfs (e.g.
//! `/dev/shm`) for speed.
#![no_main]

#[path = "../../tests/spool_model/model.rs"]
#[allow(dead_code)]
mod model;

use libfuzzer_sys::fuzz_target;
use model::{Config, Frame, Harness, Op, Tail};
use zocket::spool::FsyncPolicy;

/// Most operations per input: enough to roll segments and reopen several times.
const MAX_OPS: usize = 64;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte()?;
        }
        Some(u64::from_le_bytes(b))
    }

    /// Segment size, cache size and quota from one byte; no fsync (it changes no answer the
    /// model checks, and costs the fuzzer its speed).
    fn config(&mut self) -> Option<Config> {
        let b = self.byte()?;
        Some(Config {
            segment_size: [64, 256, 1024, 4096][usize::from(b & 3)],
            cache_bytes: [0, 100, 1000, 1 << 20][usize::from((b >> 2) & 3)],
            quota: [None, Some(600), Some(3000), Some(20_000)][usize::from((b >> 4) & 3)],
            fsync: FsyncPolicy::Never,
        })
    }

    /// Lengths by class: empty, small, around the cache sizes, around and over the segment
    /// sizes.
    fn frame(&mut self) -> Option<Frame> {
        let class = self.byte()?;
        let offset = usize::from(self.byte()?);
        let len = match class % 6 {
            0 => 0,
            1 => 1 + offset % 16,
            2 => 30 + offset % 10,
            3 => 930 + offset % 15,
            4 => 4090 + offset % 10,
            _ => 5000 + offset * 16,
        };
        Some(Frame {
            len,
            fill: self.byte()?,
        })
    }

    fn seq(&mut self, wide: bool) -> Option<u64> {
        if wide {
            self.u64()
        } else {
            self.byte().map(u64::from)
        }
    }

    fn op(&mut self) -> Option<Op> {
        let tag = self.byte()?;
        Some(match tag % 8 {
            0..=2 => {
                let count = usize::from(tag >> 3) % 5;
                Op::Append((0..count).map(|_| self.frame()).collect::<Option<_>>()?)
            }
            3 => Op::Read(self.seq(tag & 0x80 != 0)?),
            4 => Op::Ack(self.seq(tag & 0x80 != 0)?),
            5 => Op::Sync,
            6 => Op::Reopen(self.config()?),
            _ => {
                let n = self.u16()?;
                Op::CrashTail(match (tag >> 3) % 4 {
                    0 => Tail::Truncate(u64::from(n % 512) + 1),
                    1 => Tail::Zeros(usize::from(n % 8192) + 1),
                    2 => {
                        let len = usize::from(n % 64) + 1;
                        Tail::Garbage((0..len).map(|_| self.byte()).collect::<Option<_>>()?)
                    }
                    _ => Tail::TruncateThenZeros(u64::from(n % 256) + 1, usize::from(n >> 8) + 1),
                })
            }
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(kind) = input.byte() else {
        return;
    };
    let Some(config) = input.config() else {
        return;
    };
    let mut harness = if kind & 1 == 0 {
        Harness::file(config)
    } else {
        Harness::memory(config)
    };
    for _ in 0..MAX_OPS {
        let Some(op) = input.op() else {
            break;
        };
        harness.apply(&op);
    }
});

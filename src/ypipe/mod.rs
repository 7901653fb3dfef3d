//! A bounded single-producer/single-consumer pipe of message frames that wakes only a side
//! that went to sleep: the idea of libzmq's `ypipe_t`/`yqueue_t` (`src/ypipe.hpp`,
//! `src/yqueue.hpp`) and its message-counted flow control (`src/pipe.cpp`), written anew.
//!
//! # Algorithm
//!
//! Items live in a forward-linked list of chunks of `N` slots ([`CHUNK_LEN`] by default). The
//! writer fills slots at the tail and links a chunk when one is full, reusing a *spare*: a
//! chunk the reader emptied, handed back through a few atomic pointers (four), so that steady
//! traffic, and a queue that swings by up to four chunks, are allocation-free.
//!
//! One atomic word, `published`, holds the number of items the reader may read, and a flag
//! bit that says "the reader is asleep":
//! - [`Writer::flush`] compare-exchanges the word from the count it published last to the end
//!   of the last complete message. That fails only if the reader set the flag; the writer then
//!   stores the new count (clearing the flag) and returns [`Wake::Reader`].
//! - [`Reader::check_read`] first uses the items it already knows of. When none are left it
//!   compare-exchanges the word from its own read count to the same count with the flag set:
//!   success means nothing new was published and the reader is now asleep; failure hands it
//!   the new count, so one atomic operation fetches a whole batch.
//!
//! Frames of a multipart message are written with `more` and published only with the last
//! one, so the reader never sees half a message. [`Writer::close`] appends a delimiter entry
//! after the last message: termination travels in order with the data.
//!
//! Flow control counts whole messages. A second word, `flow`, holds the number of messages
//! read and a flag "writer waiting". A writer that finds `hwm` messages queued computes the
//! count at which it may resume (`lwm` = (hwm+1)/2 messages left, at most hwm-1), stores it,
//! and sets the flag with a compare-exchange against the count it checked (so it re-checks).
//! The reader updates the count every hwm/8 messages (1 to 64), after each message while the
//! flag is set,
//! and whenever it has read everything published (so always before it sleeps); not after
//! each message otherwise: that would bounce the
//! word's cache line between the cores once per message. When the flag is set and the count
//! has reached that mark, it clears the flag and its [`Read::Frame`] carries [`Wake::Writer`].
//! The writer writes no more until the queue is down to `lwm`, so the two threads do not
//! wake each other once per message (libzmq's `compute_lwm` explains that choice).
//!
//! # Who owns what
//!
//! | field | owner | the other side |
//! |---|---|---|
//! | `tail`, `written`, `complete`, `completed`, `flushed` (writer state) | writer | never |
//! | `messages`, `peer_read`, `hwm`, `resume_at`, `blocked` (writer state) | writer | never |
//! | `head`, `read`, `limit`, `messages`, `closed` (reader state) | reader | never |
//! | slots | writer until published, then reader until the chunk is spare | via `published` |
//! | chunk links | writer | read by the reader after the next chunk's items are published |
//! | `published` | writer moves the count, reader sets the asleep flag | compare-exchange both ways |
//! | `flow.word` | reader moves the count, writer sets the waiting flag | compare-exchange both ways |
//! | `flow.wake_at` | writer, while the flag is clear | reader, while it is set |
//! | `spares` | reader puts into an empty slot, writer takes | compare-exchange from null / swap |
//!
//! The two halves keep their own state in their own cache-padded struct; the shared words
//! sit on separate cache lines too.
//!
//! # Wake-up invariant
//!
//! Because "asleep" and "published up to here" are one word that both sides change only by
//! read-modify-write, a reader going to sleep and a concurrent flush are ordered, so exactly
//! one of them sees the other: the flush that follows a sleep returns [`Wake::Reader`] once,
//! and no flush while the reader is awake does (the same holds for the writer's wait, the
//! `flow` word and [`Wake::Writer`]).
//!
//! # Checked by
//!
//! loom models in `loom_tests.rs` (`--cfg loom`, preemption bound 2):
//! `loom_flush_races_reader_sleep`, `loom_reader_crosses_lwm_while_writer_sleeps`,
//! `loom_multipart_never_half_visible`, `loom_drop_in_flight_frees_once`. Measured with
//! `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 cargo test --lib
//! --release loom` on the 2-core development machine: these four and the mailbox's model run
//! in 0.1 s together (building for loom from clean takes under 3 minutes). The std build has
//! a property test against a `VecDeque` model and a two-thread stress of a million items
//! (`tests.rs`, `stress.rs`), and an ignored benchmark (`stress.rs`).

mod chunk;
mod outbox;
mod reader;
mod shared;
mod writer;

#[cfg(test)]
mod doorbell;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod stress;
#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
pub(crate) use loom_tests::model as loom_model;
pub(crate) use outbox::Outbox;
pub(crate) use reader::Reader;
pub(crate) use writer::Writer;

use crate::sync::Arc;
use chunk::Chunk;
use shared::Shared;

/// Slots per chunk by default, as libzmq uses for messages.
pub(crate) const CHUNK_LEN: usize = 256;

/// Which side, if any, the owner of the half that returned this must wake.
#[must_use = "a sleeping side that is not woken sleeps forever"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nobody is waiting on this call.
    None,
    /// From [`Writer::flush`]: the reader slept on an empty pipe and now has data.
    Reader,
    /// From [`Reader::read`]: the writer waits for room and the queue is down to its
    /// low-water mark.
    Writer,
}

/// The outcome of [`Reader::read`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<T> {
    /// A frame; `more`: further frames of the same message follow (and are already visible).
    /// `wake` is [`Wake::Writer`] when this read let a waiting writer resume.
    Frame { item: T, more: bool, wake: Wake },
    /// Nothing is published: the reader is now asleep, and the flush that publishes the next
    /// message returns [`Wake::Reader`].
    Empty,
    /// The writer closed the pipe and every message before the close has been read.
    Closed,
}

/// A pipe of `hwm` messages at most (0: no limit), with chunks of [`CHUNK_LEN`] slots.
///
/// The reader starts awake: a reader that wants the first flush to signal it calls
/// [`Reader::check_read`] once first.
pub(crate) fn channel<T>(hwm: usize) -> (Writer<T>, Reader<T>) {
    with_chunk_len(hwm)
}

/// [`channel`] with chunks of `N` slots (small chunks exercise chunk changes in tests; 16 suits
/// rare commands).
pub(crate) fn with_chunk_len<T, const N: usize>(hwm: usize) -> (Writer<T, N>, Reader<T, N>) {
    let shared = Arc::new(Shared::new());
    let first = Chunk::alloc();
    (
        Writer::new(shared.clone(), first, hwm),
        Reader::new(shared, first),
    )
}

/// The number of queued messages at or below which a writer that hit `hwm` resumes: libzmq's
/// low-water mark (hwm+1)/2, kept below `hwm` so that a pipe of one message works.
fn resume_level(hwm: usize) -> usize {
    hwm.div_ceil(2).min(hwm.saturating_sub(1))
}

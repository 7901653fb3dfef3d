//! Messages from spooled zocket senders, on the socket's side: they arrive through the same
//! lock-free pipe as any other, each with a first frame carrying its sequence number
//! (`engine::acks::tag_frame`). As the socket moves them into its queue it strips that frame,
//! drops duplicates of what it delivered already (`Dedup`), and records each message's
//! position on its connection; as the application takes them, the count of handled positions
//! is published for the connection to acknowledge (`pipe::RxAcks`). A connection that goes
//! takes with it what the application did not read: it was not acknowledged, and comes again.

use super::from_io::Sequenced;
use super::shared::SocketState;
use crate::engine::acks::read_tag;
use crate::message::Parts;
use crate::pipe::{ConnId, IoWake, PipeId};
use crate::ypipe::Read;

/// Why a spooled sender's connection is closed when the receiver cannot follow its stream.
const PAST_BOUNDS: &str = "a spooled sender went past what the receiver remembers";

impl SocketState {
    /// Before a spooled sender's connection is attached: false if its stream cannot be
    /// followed (the connection is then refused).
    pub(super) fn admit_sequenced(&mut self, conn: ConnId, sequenced: &Sequenced) -> bool {
        if let Err(e) = self.dedup.attach(sequenced.stream) {
            log::warn!("refusing a spooled sender's connection: {e}");
            self.pipes.wakes.push(IoWake::Refused(conn, PAST_BOUNDS));
            return false;
        }
        true
    }

    /// A spooled sender's connection now serves pipe `id`: positions count from the start.
    pub(super) fn attach_sequenced(&mut self, id: PipeId, sequenced: Sequenced) {
        self.acked_senders = true;
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.rx
                .get_or_insert_with(Default::default)
                .start_generation(sequenced.handled);
        }
    }

    /// A spooled sender's connection `conn` to pipe `id` is gone: what it wrote and the
    /// application did not take is dropped, and forgotten as delivered, as it comes again.
    pub(super) fn detach_sequenced(&mut self, id: PipeId, conn: ConnId, current: bool) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let Some(at) = pipe.wire.iter().position(|w| w.conn == conn) else {
            return;
        };
        let Some(stream) = pipe.wire[at].sequenced.as_ref().map(|s| s.stream) else {
            return;
        };
        if let Some(mut wire) = pipe.wire.remove(at) {
            while let Read::Frame { .. } = wire.rx.read() {}
        }
        if current && let Some(rx) = &mut pipe.rx {
            rx.end_generation();
            for seq in rx.drop_unread(&mut pipe.inbound) {
                self.dedup.forget(stream, seq);
            }
        }
        self.dedup.detach(stream);
    }

    /// Takes a message read from pipe `id`'s front connection, a spooled sender's: strips
    /// its tag, and returns it unless it is a duplicate. Its position is recorded when the
    /// caller queues it (`queued_sequenced`). A stream past the receiver's bounds refuses
    /// the connection.
    pub(super) fn take_sequenced(
        &mut self,
        id: PipeId,
        mut msg: Parts,
    ) -> Option<(Parts, Option<(u64, u64)>)> {
        let pipe = self.pipes.get_mut(id)?;
        let wire = pipe.wire.front_mut()?;
        let (conn, seq_state) = (wire.conn, wire.sequenced.as_mut()?);
        if msg.is_empty() {
            return None; // never written so by a connection
        }
        let Some((seq, low)) = read_tag(&msg.remove(0)) else {
            return Some((msg, None)); // sent without a sequence number
        };
        seq_state.position += 1;
        let (stream, position) = (seq_state.stream, seq_state.position);
        if self.dedup.is_duplicate(stream, seq) {
            self.ghost(id, position);
            return None;
        }
        if let Err(e) = self.dedup.accept(stream, seq, low) {
            log::warn!("closing a spooled sender's connection: {e}");
            self.pipes.wakes.push(IoWake::Refused(conn, PAST_BOUNDS));
        }
        Some((msg, Some((position, seq))))
    }

    /// Queues what [`take_sequenced`](Self::take_sequenced) returned, recording where it
    /// came from. Through a pattern that looks at incoming messages (none of the types a
    /// spooled sender talks to), it counts as handled at once.
    pub(super) fn queue_sequenced(
        &mut self,
        id: PipeId,
        (msg, tag): (Parts, Option<(u64, u64)>),
        through_pattern: bool,
    ) {
        if through_pattern {
            let _ = self.pattern.incoming(id, msg, &mut self.pipes);
            if let Some((position, _)) = tag {
                self.ghost(id, position);
            }
            return;
        }
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.inbound.push_back(msg);
        if let (Some((position, seq)), Some(rx)) = (tag, &mut pipe.rx) {
            rx.positions.push_back((rx.generation, position, seq));
        }
    }

    fn ghost(&mut self, id: PipeId, position: u64) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let empty = pipe.inbound.is_empty();
        if pipe.rx.as_mut().is_some_and(|rx| rx.ghost(position, empty))
            && let Some(conn) = pipe.conn
        {
            self.pipes.wakes.push(IoWake::Flush(conn));
        }
    }
}

//! Messages from spooled zocket senders, on the socket's side: they arrive through the same
//! lock-free pipe as any other, each with a last frame carrying its sequence number
//! (`pipe::tag_frame`). As the socket moves them into its queue it strips that frame, drops
//! duplicates of what it is done with (`Dedup`), holds back copies of what is still pending
//! (`finishing`), and records each message's position on its connection, which is
//! acknowledged once the receiver is done with it (`pipe::RxAcks`). A connection that goes
//! takes with it what the application did not read: it was not acknowledged, and comes again.

use super::finishing::PAST_BOUNDS;
use super::from_io::Sequenced;
use super::shared::SocketState;
use crate::message::Parts;
use crate::pipe::{ConnId, IoWake, Origin, PipeId, RxAcks, read_tag};
use crate::ypipe::Read;

impl SocketState {
    /// Before a spooled sender's connection is attached: false if its stream cannot be
    /// followed (the connection is then refused).
    pub(super) fn admit_sequenced(&mut self, conn: ConnId, sequenced: &Sequenced) -> bool {
        if let Err(e) = self.dedup.attach(sequenced.stream) {
            log::warn!("refusing a spooled sender's connection: {e}");
            self.pipes.wakes.push(IoWake::Refused(conn, PAST_BOUNDS));
            return false;
        }
        if let Err(e) = self.load_receipt(sequenced.stream) {
            log::error!("refusing a spooled sender's connection: its receipt cannot be read: {e}");
            self.dedup.detach(sequenced.stream);
            self.pipes
                .wakes
                .push(IoWake::Refused(conn, "the receipt store failed"));
            return false;
        }
        true
    }

    /// A spooled sender's connection `conn` now serves pipe `id`: positions count from the
    /// start, in a new generation.
    pub(super) fn attach_sequenced(&mut self, id: PipeId, conn: ConnId, sequenced: Sequenced) {
        self.acked_senders = true;
        self.pipes.track_pops = true;
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let queued = pipe.inbound.len();
        let rx = pipe.rx.get_or_insert_with(|| {
            // Messages queued before acknowledged delivery began come from nowhere.
            let mut rx = RxAcks::default();
            (0..queued).for_each(|_| rx.record(None));
            rx
        });
        rx.start_generation(sequenced.handled);
        let generation = rx.generation;
        if let Some(wire) = pipe.wire.iter_mut().rev().find(|w| w.conn == conn)
            && let Some(seq) = &mut wire.sequenced
        {
            seq.generation = generation;
        }
    }

    /// A spooled sender's connection `conn` to pipe `id` is gone: what it wrote and the
    /// application did not take is dropped (a copy held back is queued instead), as it comes
    /// again. A pipe already detached (`disconnect`) goes once that leaves it empty.
    pub(super) fn detach_sequenced(&mut self, id: PipeId, conn: ConnId) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let Some(at) = pipe.wire.iter().position(|w| w.conn == conn) else {
            return;
        };
        let Some((stream, generation)) = pipe.wire[at].sequenced.as_ref().map(|s| (s.stream, s.generation))
        else {
            return;
        };
        if let Some(mut wire) = pipe.wire.remove(at) {
            while let Read::Frame { .. } = wire.rx.read() {}
        }
        // Prefetched ones are older than those still queued.
        let inbox = std::sync::Arc::clone(&self.inbox);
        let mut dropped = inbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drop_prefetched(id, generation);
        if let Some(rx) = pipe.rx.as_mut().filter(|rx| rx.generation == generation) {
            rx.end_generation();
            dropped.extend(rx.drop_unread(&mut pipe.inbound));
        }
        self.dropped_unread(id, generation, &dropped);
        self.dedup.detach(stream);
        self.pipes.forget_if_done(id);
    }

    /// Takes a message read from pipe `id`'s front connection, a spooled sender's: strips
    /// its tag, and returns it with its origin unless it is a duplicate or a copy held back
    /// (see `finishing`).
    pub(super) fn take_sequenced(&mut self, id: PipeId, mut msg: Parts) -> Option<(Parts, Option<Origin>)> {
        let pipe = self.pipes.get_mut(id)?;
        let wire = pipe.wire.front_mut()?;
        let conn = wire.conn;
        let seq_state = wire.sequenced.as_mut()?;
        if msg.len() < 2 || seq_state.refused {
            return None; // never written so by a connection; or refused, and going
        }
        let Some((seq, low)) = msg.pop().and_then(|tag| read_tag(&tag)) else {
            return Some((msg, None)); // sent without a sequence number
        };
        seq_state.position += 1;
        let origin = Origin {
            generation: seq_state.generation,
            position: seq_state.position,
            stream: seq_state.stream,
            seq,
        };
        let noted = std::mem::replace(&mut seq_state.noted_low, low);
        self.note_sender_low(origin.stream, low, noted);
        let msg = self.admit_copy(id, conn, origin, msg)?;
        Some((msg, Some(origin)))
    }

    /// Queues what [`take_sequenced`](Self::take_sequenced) returned, recording where it
    /// came from. Through a pattern that looks at incoming messages (none of the types a
    /// spooled sender talks to), it is done at once.
    pub(super) fn queue_sequenced(
        &mut self,
        id: PipeId,
        (msg, origin): (Parts, Option<Origin>),
        through_pattern: bool,
    ) {
        if through_pattern {
            let _ = self.pattern.incoming(id, msg, &mut self.pipes);
            if let Some(origin) = origin {
                self.done(id, origin);
            }
            return;
        }
        match self.pipes.get_mut(id) {
            Some(pipe) => pipe.push_inbound(msg, origin),
            None => self.dropped_unread(id, 0, &Vec::from_iter(origin)),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::spool::MemorySpool;
    use crate::{Context, SocketType};
    use std::time::{Duration, Instant};

    /// A spooled sender of type `sender` bound, and a receiver of type `receiver` connected.
    fn spooled_pair(
        ctx: &Context,
        sender: SocketType,
        receiver: SocketType,
    ) -> (crate::Socket, crate::Socket, String) {
        let sender = ctx.socket(sender).unwrap();
        sender.set_spool(MemorySpool::new(None)).unwrap();
        sender.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = sender.last_endpoint().unwrap();
        let receiver = ctx.socket(receiver).unwrap();
        receiver.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
        receiver.connect(&endpoint).unwrap();
        (sender, receiver, endpoint)
    }

    /// Messages from spooled senders sitting in `socket`'s queues.
    fn queued(socket: &crate::Socket) -> usize {
        // Through `locked`, like every call: the wake-ups the sync owes (acknowledgements due)
        // go out when it drops.
        let mut st = socket.locked();
        st.sync_polled();
        let st = &*st;
        let prefetched = st.inbox.lock().unwrap().prefetched_len();
        let queued: usize = st
            .pipes
            .polled
            .iter()
            .filter_map(|&id| st.pipes.get(id))
            .map(|p| p.inbound.len())
            .sum();
        queued + prefetched
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A receiver that disconnects from a spooled sender with messages queued and unread:
    /// they were not acknowledged, so they come again on the next connection and are
    /// acknowledged only as the application takes them. Before the fix, the queued ones
    /// stayed marked as delivered: their new copies were acknowledged on arrival as
    /// duplicates, while the originals waited in the dead pipe (lost in a crash).
    #[test]
    fn unread_messages_come_again_after_a_disconnect() {
        let ctx = Context::new();
        let (sender, receiver, endpoint) = spooled_pair(&ctx, SocketType::Push, SocketType::Pull);
        send_ten_and_wait_until_queued(&sender, &receiver);
        for n in 1..=3u8 {
            assert_eq!(receiver.recv_bytes(0).unwrap(), [n]);
        }
        assert_eq!(prefetched(&receiver), 7, "the first receive prefetched the rest");
        receiver.disconnect(&endpoint).unwrap();
        receiver.connect(&endpoint).unwrap();
        wait_until("the seven come again", || {
            assert!(
                sender.shared().lock().spool_pending(),
                "acknowledged before the application read them"
            );
            queued(&receiver) == 7
        });
        for n in 4..=10u8 {
            let got = receiver
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("waiting for {n}: {e}"));
            assert_eq!(got, [n]);
        }
        // The receiver's calls apply what its connections told it (the old one's end, the
        // new one's copies, duplicates now): it must get none of them.
        wait_until("all are acknowledged", || {
            let got = receiver.recv_bytes(crate::DONTWAIT);
            assert!(
                matches!(got, Err(crate::Error::WouldBlock)),
                "a duplicate: {got:?}"
            );
            !sender.shared().lock().spool_pending()
        });
    }

    /// Prefetched messages of a spooled sender's connection that ends are taken back, not
    /// handed out: the sender sends them again, here to another receiver, which must be the
    /// only one to get them. Before the fix the first receiver handed them out too.
    #[test]
    fn prefetched_messages_of_an_ended_connection_reach_only_the_next_receiver() {
        let ctx = Context::new();
        let (sender, first, endpoint) = spooled_pair(&ctx, SocketType::Push, SocketType::Pull);
        send_ten_and_wait_until_queued(&sender, &first);
        assert_eq!(first.recv_bytes(0).unwrap(), [1]);
        assert_eq!(prefetched(&first), 9, "the first receive prefetched the rest");
        let second = ctx.socket(SocketType::Pull).unwrap();
        second.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
        second.connect(&endpoint).unwrap();
        first.disconnect(&endpoint).unwrap();
        for n in 2..=10u8 {
            assert_eq!(second.recv_bytes(0).unwrap(), [n], "sent again, in order");
        }
        let got = first.recv_bytes(crate::DONTWAIT);
        assert!(
            matches!(got, Err(crate::Error::WouldBlock)),
            "the first receiver handed out a message the second got: {got:?}"
        );
        wait_until("all are acknowledged", || !sender.shared().lock().spool_pending());
    }

    /// A receiver that took every prefetched message and makes no further call has
    /// acknowledged them all: the batch's last settles the batch.
    #[test]
    fn a_prefetched_batch_is_acknowledged_when_its_last_message_is_taken() {
        let ctx = Context::new();
        let (sender, receiver, _) = spooled_pair(&ctx, SocketType::Push, SocketType::Pull);
        send_ten_and_wait_until_queued(&sender, &receiver);
        for n in 1..=10u8 {
            assert_eq!(receiver.recv_bytes(0).unwrap(), [n]);
            assert_eq!(prefetched(&receiver), 10 - usize::from(n));
        }
        wait_until("all are acknowledged", || !sender.shared().lock().spool_pending());
    }

    /// Sends messages 1 to 10 and waits until `receiver` queued them all, so that its
    /// first receive prefetches the rest.
    fn send_ten_and_wait_until_queued(sender: &crate::Socket, receiver: &crate::Socket) {
        for n in 1..=10u8 {
            sender.send([n], 0).unwrap();
        }
        wait_until("ten messages are queued", || queued(receiver) == 10);
    }

    /// A receiver dropped with prefetched messages taken and not yet settled settles them
    /// as it closes: the next receiver gets only the ones it never took.
    #[test]
    fn a_receiver_dropped_mid_batch_acknowledges_what_it_took() {
        let ctx = Context::new();
        let (sender, receiver, endpoint) = spooled_pair(&ctx, SocketType::Push, SocketType::Pull);
        send_ten_and_wait_until_queued(&sender, &receiver);
        for n in 1..=3u8 {
            assert_eq!(receiver.recv_bytes(0).unwrap(), [n]);
        }
        drop(receiver);
        let next = ctx.socket(SocketType::Pull).unwrap();
        next.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
        next.connect(&endpoint).unwrap();
        for n in 4..=10u8 {
            assert_eq!(next.recv_bytes(0).unwrap(), [n], "only what the first never took");
        }
    }

    /// Messages `socket` prefetched and the application has not taken.
    fn prefetched(socket: &crate::Socket) -> usize {
        socket.lock_inbox().prefetched_len()
    }

    /// A PAIR that disconnects from a spooled PAIR with nothing left to read pairs again.
    /// Before the fix, the dead pipe was never removed and refused every new peer.
    #[test]
    fn a_pair_pairs_again_after_disconnecting_from_a_spooled_pair() {
        let ctx = Context::new();
        let (sender, receiver, endpoint) = spooled_pair(&ctx, SocketType::Pair, SocketType::Pair);
        sender.send("one", 0).unwrap();
        assert_eq!(receiver.recv_bytes(0).unwrap(), b"one");
        receiver.disconnect(&endpoint).unwrap();
        receiver.connect(&endpoint).unwrap();
        sender.send("two", 0).unwrap();
        assert_eq!(receiver.recv_bytes(0).unwrap(), b"two");
    }
}

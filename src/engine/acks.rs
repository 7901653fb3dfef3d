//! Per-connection bookkeeping of spooled delivery.
//!
//! Sender side: which spooled messages this connection carried and how far each got. With a
//! zocket peer that announced `X-Zocket-Ack`, a message is confirmed when the peer says it
//! handed it to its application (ZACK); with any other peer, when its last byte was written to
//! the kernel. Whatever is unconfirmed when the connection dies is re-queued.
//!
//! Receiver side: the sequence number announced (ZSEQ) for the next message, and the count of
//! sequenced messages received, which is what ZACK counts.
//!
//! A ZSEQ holds for the messages after it too, each numbered one more than the last, until
//! the next ZSEQ; one numbered 0 ends the numbering (the messages after it are not spooled).
//! A sender announces only what the receiver cannot infer: a gap, the end of the numbering,
//! or a low-water mark that moved, at most every [`LOW_EVERY`] messages. In a stream sent in
//! order that is one command per [`LOW_EVERY`] messages instead of one per message.

use crate::message::Parts;
pub(crate) use crate::options::ReceiverId;
use crate::pipe::{AckShare, Outgoing};
use crate::zmtp::command::Command;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Metadata property: this peer confirms delivery of sequenced messages.
pub(crate) const PROP_ACK: &str = "X-Zocket-Ack";
/// Metadata property: this peer sends from a spool; the value is its stream id in hex.
pub(crate) const PROP_STREAM: &str = "X-Zocket-Stream";
/// Metadata property: this peer keeps receipts (high-water marks per stream), so each
/// stream must reach it in order: what a lost connection left unconfirmed goes first on the
/// next one. The value is the receiver's durable identity in hex: a newer connection of the
/// same receiver retires the older ones.
pub(crate) const PROP_RECEIPTS: &str = "X-Zocket-Receipts";

#[derive(Default)]
pub(super) struct SenderAcks {
    /// The peer confirms delivery itself (ZACK).
    pub by_peer: bool,
    /// The peer keeps receipts and the connection serves a persistent pipe: unconfirmed
    /// messages are kept, for the connector's next connection to send first.
    pub keep_messages: bool,
    /// Peer-confirmed mode: the numbers of the messages sent here, oldest first, not yet
    /// confirmed.
    unconfirmed: VecDeque<u64>,
    /// With `keep_messages`, the messages of `unconfirmed` themselves, so that a connector
    /// sends them again first on its next connection. Apart, so that the common case moves
    /// 8 bytes per message, not a whole message's slot.
    kept: VecDeque<Outgoing>,
    /// How many sequenced messages the peer has confirmed on this connection.
    confirmed: u64,
    /// Kernel mode: (stream offset where the message ends, sequence number).
    marks: VecDeque<(u64, u64)>,
    /// Peer mode: what the receiver infers for the next message: (sequence number,
    /// low-water mark, messages since the last ZSEQ), or `None` (it counts no numbers).
    inferred: Option<(u64, u64, u32)>,
}

/// Messages a moved low-water mark waits, at most, to be announced with a ZSEQ.
pub(super) const LOW_EVERY: u32 = 64;

impl SenderAcks {
    /// The ZSEQ to send before message `seq` (0: not spooled) with the low-water mark `low`,
    /// if the receiver cannot infer it (see the module documentation).
    pub fn announce(&mut self, seq: u64, low: u64) -> Option<Command> {
        let inferred = self.inferred.take();
        if seq == 0 {
            return inferred.map(|(_, low, _)| Command::Seq { seq: 0, low });
        }
        let next = seq.checked_add(1).map(|next| (next, low, 0));
        match inferred {
            Some((expected, known, since)) if expected == seq && (known == low || since + 1 < LOW_EVERY) => {
                self.inferred = seq.checked_add(1).map(|next| (next, known, since + 1));
                None
            }
            _ => {
                self.inferred = next;
                Some(Command::Seq { seq, low })
            }
        }
    }

    /// A spooled message was encoded; it ends at `stream_end` bytes into the connection.
    pub fn sent(&mut self, seq: u64, stream_end: u64, msg: &Parts) {
        if self.by_peer {
            self.unconfirmed.push_back(seq);
            if self.keep_messages {
                self.kept.push_back((seq, msg.clone()));
            }
        } else {
            self.marks.push_back((stream_end, seq));
        }
    }

    /// Kernel mode: what the bytes written so far confirm.
    pub fn written(&mut self, written: u64, confirmed: &mut Vec<u64>) {
        while self.marks.front().is_some_and(|&(end, _)| end <= written) {
            confirmed.extend(self.marks.pop_front().map(|(_, seq)| seq));
        }
    }

    /// Peer mode: the peer confirmed its first `count` messages of this connection.
    pub fn peer_confirmed(&mut self, count: u64, confirmed: &mut Vec<u64>) {
        let newly = count.saturating_sub(self.confirmed);
        self.confirmed = self.confirmed.max(count);
        for _ in 0..newly {
            let Some(seq) = self.unconfirmed.pop_front() else {
                break;
            };
            confirmed.push(seq);
            if self.kept.front().is_some_and(|&(kept, _)| kept == seq) {
                self.kept.pop_front();
            }
        }
    }

    /// Everything not confirmed, as the connection dies: the messages a peer did not
    /// confirm, oldest first (their frames only with `keep_messages`), and the sequence
    /// numbers of those written to a peer that does not confirm.
    pub fn take_unconfirmed(&mut self) -> (VecDeque<Outgoing>, Vec<u64>) {
        let written = self.marks.drain(..).map(|(_, seq)| seq).collect();
        let mut kept = std::mem::take(&mut self.kept);
        let unconfirmed = self
            .unconfirmed
            .drain(..)
            .map(|seq| match kept.front().is_some_and(|&(k, _)| k == seq) {
                true => kept.pop_front().expect("front"),
                false => (seq, Parts::new()),
            })
            .collect();
        (unconfirmed, written)
    }
}

#[derive(Default)]
pub(super) struct ReceiverAcks {
    /// The peer's stream id, when it is a spooled zocket sender.
    pub stream: Option<u64>,
    /// (sequence number, sender's low-water mark) of the next message: announced (ZSEQ), or
    /// inferred from the last one.
    pub next_tag: Option<(u64, u64)>,
    /// How many sequenced messages of this connection the application has taken (or that
    /// were duplicates): the socket raises it, the connection acknowledges it (ZACK).
    pub handled: Option<Arc<AckShare>>,
    /// The count last acknowledged.
    pub sent: u64,
    /// When the acknowledgement timer fires, if it runs (see [`AckShare`]).
    pub timer: Option<Instant>,
    /// Sequenced messages came since the timer last fired.
    fresh: bool,
    /// The timer fired and its acknowledgement is not sent yet.
    fired: bool,
}

/// How long a received sequenced message waits, at most, before the connection looks at
/// what the application is done with. At 1M messages per second that is one ZACK per
/// some 2,000 messages; per batch the application drained, it was one per 300 or so.
pub(super) const ACK_DELAY: Duration = Duration::from_millis(2);

impl ReceiverAcks {
    /// A ZSEQ came: it numbers the next messages (0: none, see the module documentation).
    pub fn announced(&mut self, seq: u64, low: u64) {
        self.next_tag = (seq != 0).then_some((seq, low));
    }

    /// The tag of the message that just came; the next one is numbered one more.
    pub fn take_tag(&mut self) -> Option<(u64, u64)> {
        let tag = self.next_tag;
        self.next_tag = tag.and_then(|(seq, low)| Some((seq.checked_add(1)?, low)));
        tag
    }

    /// A sequenced message came: the timer starts, unless it runs.
    pub fn start_timer(&mut self) {
        self.fresh = true;
        if let (None, Some(share)) = (self.timer, &self.handled) {
            share.start_timer();
            self.timer = Some(Instant::now() + ACK_DELAY);
        }
    }

    /// Whether the timer fired by `now`; the caller then looks at what is
    /// [`due`](Self::due). It runs on while messages keep coming, so that a stream is
    /// acknowledged at the timer's pace with no wake-up from the socket; a period without
    /// any stops it, and the socket wakes the connection for what it finishes after that.
    pub fn timer_fired(&mut self, now: Instant) -> bool {
        if self.timer.is_none_or(|at| at > now) {
            return false;
        }
        self.fired = true;
        if std::mem::take(&mut self.fresh) {
            self.timer = Some(now + ACK_DELAY);
        } else {
            self.timer = None;
            if let Some(share) = &self.handled {
                share.stop_timer();
            }
        }
        true
    }

    /// The next write sends the acknowledgement due, timer or not (the connection closes).
    pub fn send_now(&mut self) {
        self.fired = true;
    }

    /// Whether the application took more since the last acknowledgement.
    pub fn pending(&self) -> bool {
        self.handled
            .as_ref()
            .is_some_and(|share| share.handled() > self.sent)
    }

    /// The acknowledgement due, if the application took more since the last one. While the
    /// timer runs, only when it fired: writes for other reasons send none in between.
    pub fn due(&mut self) -> Option<u64> {
        if self.timer.is_some() && !std::mem::take(&mut self.fired) {
            return None;
        }
        let handled = self.handled.as_ref()?.handled();
        (handled > self.sent).then(|| {
            self.sent = handled;
            handled
        })
    }
}

/// Parses the hex stream id of `X-Zocket-Stream` (0 is no stream: receipt stores keep the
/// receiver's identity there).
pub(super) fn parse_stream_id(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_mode_confirms_by_bytes_written() {
        let mut a = SenderAcks::default();
        a.sent(5, 100, &Parts::new());
        a.sent(6, 200, &Parts::new());
        let mut done = Vec::new();
        a.written(150, &mut done);
        assert_eq!(done, [5]);
        assert_eq!(a.take_unconfirmed().1, [6]);
    }

    /// Both ends of the inferred numbering: what the sender leaves out, the receiver infers,
    /// for random streams of gaps, unspooled messages and moving marks.
    #[test]
    fn the_receiver_infers_every_number_the_sender_leaves_out() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut tx, mut rx) = (SenderAcks::default(), ReceiverAcks::default());
        let (mut seq, mut low, mut commands) = (0u64, 0u64, 0);
        for _ in 0..100_000 {
            let sent = match next() % 100 {
                0 => 0,                                     // not spooled
                1 => seq.saturating_add(2 + next() % 1000), // a gap (re-sent or skipped)
                2 => next() % seq.max(1),                   // an older one again
                3 => u64::MAX,                              // the end of the numbers
                _ => seq.wrapping_add(1).max(1),            // in order
            };
            if next() % 10 == 0 {
                low += next() % 5;
            }
            if let Some(Command::Seq { seq, low }) = tx.announce(sent, low) {
                rx.announced(seq, low);
                commands += 1;
            }
            let tag = rx.take_tag();
            assert_eq!(tag.map(|(s, _)| s), (sent != 0).then_some(sent));
            if let Some((_, seen)) = tag {
                assert!(seen <= low, "a mark from the future");
            }
            if sent != 0 {
                seq = sent;
            }
        }
        assert!(commands < 20_000, "one ZSEQ per message or so: {commands}");
    }

    #[test]
    fn a_moved_mark_is_announced_within_low_every_messages() {
        let mut tx = SenderAcks::default();
        assert!(tx.announce(1, 0).is_some());
        let announced = (2..200u64).find(|&seq| tx.announce(seq, 7).is_some());
        assert_eq!(announced, Some(1 + u64::from(LOW_EVERY)));
        assert!(tx.announce(1 + u64::from(LOW_EVERY) + 1, 7).is_none());
    }

    #[test]
    fn peer_mode_confirms_by_count() {
        let mut a = SenderAcks {
            by_peer: true,
            ..SenderAcks::default()
        };
        for seq in [3, 1, 4, 2] {
            a.sent(seq, 0, &Parts::new());
        }
        let mut done = Vec::new();
        a.peer_confirmed(2, &mut done);
        a.peer_confirmed(2, &mut done);
        assert_eq!(done, [3, 1]);
        let left: Vec<u64> = a.take_unconfirmed().0.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(left, [4, 2]);
        assert_eq!(parse_stream_id(b"00ff"), Some(255));
        assert_eq!(parse_stream_id(b"0"), None, "stream 0 is the receiver's identity");
        let id = ReceiverId {
            durable: 7,
            socket: u64::MAX,
        };
        assert_eq!(ReceiverId::parse(id.encode().as_bytes()), Some(id));
        assert_eq!(ReceiverId::parse(b"1"), None);
    }

    /// The acknowledgement timer's hand-over with the socket: while it runs, a count the
    /// socket publishes asks for no wake-up and goes out when the timer fires (writes for
    /// other reasons send none in between); a period without messages stops it, and from
    /// then on a published count wakes the connection, which sends it at its next write.
    #[test]
    fn the_timer_acknowledges_a_stream_and_hands_back_to_wake_ups_when_it_stops() {
        let share = Arc::new(AckShare::default());
        let mut rx = ReceiverAcks {
            handled: Some(Arc::clone(&share)),
            ..ReceiverAcks::default()
        };
        assert!(share.publish(1), "no timer yet: wake the connection");
        assert_eq!(rx.due(), Some(1));
        rx.start_timer();
        let first = rx.timer.expect("running");
        assert!(!share.publish(5), "the timer will send it");
        assert_eq!(rx.due(), None, "not before the timer fires");
        assert!(!rx.timer_fired(first - ACK_DELAY / 2));
        rx.start_timer(); // more messages in this period
        assert!(rx.timer_fired(first));
        assert_eq!(rx.due(), Some(5));
        let second = rx.timer.expect("messages came: it runs on");
        assert!(!share.publish(9), "still running");
        assert!(rx.timer_fired(second));
        assert!(rx.timer.is_none(), "a quiet period stops it");
        assert!(rx.pending());
        assert_eq!(rx.due(), Some(9));
        assert!(share.publish(10), "stopped: wake the connection");
        assert_eq!(rx.due(), Some(10));
        assert!(!rx.pending());
    }
}

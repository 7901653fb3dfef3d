//! What the application threads took from a socket and not yet handed out: the rest of a
//! multipart message read frame by frame, and prefetched messages (see `recv`).

use crate::Delivery;
use crate::message::{Frame, Parts, Properties};
use crate::pipe::PipeId;
use std::sync::Arc;

/// The properties of the connection a message came on (see `Message::gets`).
pub(super) type Source = Option<Arc<Properties>>;

/// Where a prefetched message from a spooled sender came from.
type Origin = Option<(PipeId, crate::pipe::Origin)>;

/// Application-side receive state (see `Socket::next_message`).
#[derive(Default)]
pub(super) struct Inbox {
    pub(super) partial: std::collections::VecDeque<Frame>,
    /// The properties of the message `partial` belongs to.
    pub(super) partial_source: Source,
    /// Each with where it came from: 1 + its index in `sources`, or 0 for nowhere known; and
    /// its origin if a spooled sender sent it.
    pub(super) prefetched: std::collections::VecDeque<(Parts, usize, Origin)>,
    /// The properties of the connections the prefetched messages came on, each once per
    /// run of messages from it (messages carry an index, not a reference count).
    pub(super) sources: Vec<Arc<Properties>>,
    /// Prefetched messages from spooled senders that the application has taken: done (and
    /// acknowledged) at the socket's next look, at the latest when the prefetched ones run
    /// out (see `Socket::settle_taken`).
    pub(super) taken: Vec<(PipeId, crate::pipe::Origin)>,
}

/// A message handed to the application: its frames, where it came from, and its place in a
/// spooled sender's stream.
pub(super) type Received = (Parts, Option<Delivery>, Source);

impl Inbox {
    /// The next prefetched message, with its source if `want_source`.
    pub(super) fn pop_prefetched(&mut self, want_source: bool) -> Option<Received> {
        let (parts, index, origin) = self.prefetched.pop_front()?;
        let source = match index {
            0 => None,
            _ if !want_source => None,
            i => self.sources.get(i - 1).cloned(),
        };
        let delivery = origin.map(|(pipe, origin)| {
            self.taken.push((pipe, origin));
            Delivery {
                stream: origin.stream,
                seq: origin.seq,
            }
        });
        Some((parts, delivery, source))
    }

    /// Records a prefetched message taken from the pipe whose properties are `source`.
    pub(super) fn push_prefetched(&mut self, parts: Parts, source: Option<&Arc<Properties>>, origin: Origin) {
        let index = match source {
            None => 0,
            Some(s) if self.sources.last().is_some_and(|last| Arc::ptr_eq(last, s)) => self.sources.len(),
            Some(s) => {
                self.sources.push(Arc::clone(s));
                self.sources.len()
            }
        };
        self.prefetched.push_back((parts, index, origin));
    }
}

impl Inbox {
    /// Takes out the prefetched messages that came on `pipe`'s connection `generation` (it
    /// ended) and gives back their origins, oldest first.
    pub(super) fn drop_prefetched(&mut self, pipe: PipeId, generation: u64) -> Vec<crate::pipe::Origin> {
        let mut dropped = Vec::new();
        self.prefetched.retain(|(_, _, origin)| match origin {
            Some((p, o)) if *p == pipe && o.generation == generation => {
                dropped.push(*o);
                false
            }
            _ => true,
        });
        dropped
    }

    /// Whether no prefetched message the application took waits to be settled.
    pub(super) fn taken_is_empty(&self) -> bool {
        self.taken.is_empty()
    }

    /// Messages prefetched and not taken.
    #[cfg(test)]
    pub(super) fn prefetched_len(&self) -> usize {
        self.prefetched.len()
    }

    /// Whether a frame or a message is waiting here.
    pub(super) fn has_any(&self) -> bool {
        !self.partial.is_empty() || !self.prefetched.is_empty()
    }
}

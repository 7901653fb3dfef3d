//! Fair queuing: round-robin over the pipes that have a message waiting.

use super::ring::Ring;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct FairQueue {
    ring: Ring,
}

impl FairQueue {
    pub fn add(&mut self, id: PipeId) {
        self.ring.add(id);
    }

    pub fn remove(&mut self, id: PipeId) {
        self.ring.remove(id);
    }

    /// The next message and the pipe it came from.
    pub fn pop(&mut self, pipes: &mut Pipes) -> Option<(PipeId, Parts)> {
        // Popping is the readiness test: one pipe lookup per message, not two.
        let mut msg = None;
        let id = self.ring.next(|id| {
            msg = pipes.pop_in(id);
            msg.is_some()
        })?;
        msg.map(|m| (id, m))
    }

    pub fn has_message(&self, pipes: &Pipes) -> bool {
        self.ring.any(|&id| pipes.has_inbound(id))
    }
}

//! Load balancing: round-robin over the pipes that have room.

use super::SendError;
use super::ring::Ring;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct LoadBalancer {
    ring: Ring,
}

impl LoadBalancer {
    pub fn add(&mut self, id: PipeId) {
        self.ring.add(id);
    }

    pub fn remove(&mut self, id: PipeId) {
        self.ring.remove(id);
    }

    /// The next pipe with room, advancing the round-robin turn past it.
    pub fn pick(&mut self, pipes: &Pipes) -> Option<PipeId> {
        self.ring.next(|id| pipes.can_write(id))
    }

    /// Queues `msg` on the next pipe with room, or hands it back.
    pub fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        match self.pick(pipes) {
            Some(id) => {
                pipes.push_out(id, msg);
                Ok(())
            }
            None => Err(SendError::WouldBlock(msg)),
        }
    }

    pub fn has_room(&self, pipes: &Pipes) -> bool {
        self.ring.any(|&id| pipes.can_write(id))
    }
}

//! Load balancing: round-robin over the pipes that have room.

use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct LoadBalancer {
    peers: Vec<PipeId>,
    next: usize,
}

impl LoadBalancer {
    pub fn add(&mut self, id: PipeId) {
        self.peers.push(id);
    }

    pub fn remove(&mut self, id: PipeId) {
        if let Some(pos) = self.peers.iter().position(|&p| p == id) {
            self.peers.remove(pos);
            if self.next > pos {
                self.next -= 1;
            }
        }
    }

    /// The next pipe with room, advancing the round-robin cursor past it.
    pub fn pick(&mut self, pipes: &Pipes) -> Option<PipeId> {
        let n = self.peers.len();
        for i in 0..n {
            let idx = (self.next + i) % n;
            let id = self.peers[idx];
            if pipes.can_write(id) {
                self.next = (idx + 1) % n;
                return Some(id);
            }
        }
        None
    }

    pub fn has_room(&self, pipes: &Pipes) -> bool {
        self.peers.iter().any(|&id| pipes.can_write(id))
    }
}

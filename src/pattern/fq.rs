//! Fair queuing: round-robin over the pipes that have a message waiting.

use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct FairQueue {
    peers: Vec<PipeId>,
    next: usize,
}

impl FairQueue {
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

    /// The next message and the pipe it came from.
    pub fn pop(&mut self, pipes: &mut Pipes) -> Option<(PipeId, Parts)> {
        let n = self.peers.len();
        for i in 0..n {
            let idx = (self.next + i) % n;
            let id = self.peers[idx];
            if pipes.has_inbound(id) {
                self.next = (idx + 1) % n;
                return pipes.pop_in(id).map(|m| (id, m));
            }
        }
        None
    }

    pub fn has_message(&self, pipes: &Pipes) -> bool {
        self.peers.iter().any(|&id| pipes.has_inbound(id))
    }
}

//! A round-robin ring of pipes: the shared core of load balancing and fair queuing.

use crate::pipe::PipeId;

#[derive(Default)]
pub(crate) struct Ring {
    peers: Vec<PipeId>,
    next: usize,
}

impl Ring {
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

    /// The next pipe, in turn, for which `ready` holds; the turn moves past it.
    pub fn next(&mut self, mut ready: impl FnMut(PipeId) -> bool) -> Option<PipeId> {
        let n = self.peers.len();
        // Wrapping by comparison, not `%`: a division per send showed in the profile.
        let mut idx = if self.next < n { self.next } else { 0 };
        for _ in 0..n {
            let id = self.peers[idx];
            idx = if idx + 1 == n { 0 } else { idx + 1 };
            if ready(id) {
                self.next = idx;
                return Some(id);
            }
        }
        None
    }

    /// Whether `ready` holds for any pipe.
    pub fn any(&self, ready: impl FnMut(&PipeId) -> bool) -> bool {
        self.peers.iter().any(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_turns_and_survives_removal() {
        let mut ring = Ring::default();
        for id in 1..=3 {
            ring.add(id);
        }
        let order: Vec<_> = (0..4).map(|_| ring.next(|_| true).unwrap()).collect();
        assert_eq!(order, [1, 2, 3, 1]);
        ring.remove(1);
        assert_eq!(ring.next(|_| true), Some(2));
        assert_eq!(ring.next(|id| id == 2), Some(2), "skips pipes that are not ready");
        assert_eq!(ring.next(|_| false), None);
    }
}

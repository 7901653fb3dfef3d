//! PAIR: exactly one peer; a second one is refused.

use super::{Pattern, SendError};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Pair {
    peer: Option<PipeId>,
}

impl Pattern for Pair {
    fn attach(&mut self, id: PipeId, _pipes: &mut Pipes) -> bool {
        if self.peer.is_some() {
            return false;
        }
        self.peer = Some(id);
        true
    }
    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        if self.peer == Some(id) {
            self.peer = None;
        }
    }
    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        match self.peer {
            Some(id) if pipes.can_write(id) => {
                pipes.push_out(id, msg);
                Ok(())
            }
            _ => Err(SendError::WouldBlock(msg)),
        }
    }
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Ok(self.peer.and_then(|id| pipes.pop_in(id)))
    }
    fn can_send(&self, pipes: &Pipes) -> bool {
        self.peer.is_some_and(|id| pipes.can_write(id))
    }
    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.peer.is_some_and(|id| pipes.has_inbound(id))
    }
}

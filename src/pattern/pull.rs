//! PULL: fair-queues from pushers; never sends.

use super::fq::FairQueue;
use super::{Pattern, SendError};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Pull {
    fq: FairQueue,
}

impl Pattern for Pull {
    fn attach(&mut self, id: PipeId, _pipes: &mut Pipes) -> bool {
        self.fq.add(id);
        true
    }
    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.fq.remove(id);
    }
    fn send(&mut self, _msg: Parts, _pipes: &mut Pipes) -> Result<(), SendError> {
        Err(SendError::Fatal(Error::NotSupported("PULL sockets cannot send")))
    }
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Ok(self.fq.pop(pipes).map(|(_, m)| m))
    }
    fn can_send(&self, _pipes: &Pipes) -> bool {
        false
    }
    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.fq.has_message(pipes)
    }
}

//! DEALER: round-robins out, fair-queues in, no envelope handling.

use super::fq::FairQueue;
use super::lb::LoadBalancer;
use super::{Pattern, SendError};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Dealer {
    lb: LoadBalancer,
    fq: FairQueue,
}

impl Pattern for Dealer {
    fn attach(&mut self, id: PipeId, _pipes: &mut Pipes) -> bool {
        self.lb.add(id);
        self.fq.add(id);
        true
    }
    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.lb.remove(id);
        self.fq.remove(id);
    }
    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        self.lb.send(msg, pipes)
    }
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Ok(self.fq.pop(pipes).map(|(_, m)| m))
    }
    fn can_send(&self, pipes: &Pipes) -> bool {
        self.lb.has_room(pipes)
    }
    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.fq.has_message(pipes)
    }
}

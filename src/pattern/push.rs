//! PUSH: round-robin to pullers with room; never receives.

use super::lb::LoadBalancer;
use super::{Pattern, SendError};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, id: PipeId, _pipes: &mut Pipes) -> bool {
        self.lb.add(id);
        true
    }
    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.lb.remove(id);
    }
    fn inspects_incoming(&self) -> bool {
        true
    }

    fn incoming(&mut self, _id: PipeId, _msg: Parts, _pipes: &mut Pipes) -> Result<(), Parts> {
        Ok(()) // a PULL peer never sends data; drop anything that arrives
    }
    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        self.lb.send(msg, pipes)
    }
    fn recv(&mut self, _pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Err(Error::NotSupported("PUSH sockets cannot receive"))
    }
    fn can_send(&self, pipes: &Pipes) -> bool {
        self.lb.has_room(pipes)
    }
    fn can_recv(&self, _pipes: &Pipes) -> bool {
        false
    }
}

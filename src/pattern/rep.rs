//! REP: receive a request (fair-queued), then send the reply back to whoever asked.

use super::fq::FairQueue;
use super::{Pattern, SendError};
use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Rep {
    fq: FairQueue,
    /// The pipe and envelope (routing frames up to the empty delimiter) of the request being
    /// answered.
    pending: Option<(PipeId, Parts)>,
}

impl Pattern for Rep {
    fn attach(&mut self, id: PipeId, _pipes: &mut Pipes) -> bool {
        self.fq.add(id);
        true
    }

    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.fq.remove(id);
    }

    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        let Some((id, mut envelope)) = self.pending.take() else {
            return Err(SendError::Fatal(Error::WrongState(
                "REP must receive a request before sending a reply",
            )));
        };
        if pipes.can_write(id) {
            envelope.extend(msg);
            pipes.push_out(id, envelope);
        }
        Ok(()) // the requester is gone or full: the reply is dropped, as libzmq does
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        if self.pending.is_some() {
            return Err(Error::WrongState(
                "REP must send the reply before receiving again",
            ));
        }
        while let Some((id, mut msg)) = self.fq.pop(pipes) {
            let Some(delimiter) = msg.iter().position(|f| f.is_empty()) else {
                continue; // no envelope: not a request, dropped
            };
            let body: Parts = msg.drain(delimiter + 1..).collect();
            self.pending = Some((id, msg));
            return Ok(Some(body));
        }
        Ok(None)
    }

    fn can_send(&self, _pipes: &Pipes) -> bool {
        self.pending.is_some()
    }

    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.pending.is_none() && self.fq.has_message(pipes)
    }
}

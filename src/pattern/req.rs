//! REQ: send a request to one REP (load-balanced), then receive its reply, strictly in turn.

use super::lb::LoadBalancer;
use super::{Pattern, PatternOption, SendError, queue_inbound};
use crate::error::Error;
use crate::message::{Frame, Parts};
use crate::pipe::{PipeId, Pipes};

#[derive(Default)]
pub(crate) struct Req {
    lb: LoadBalancer,
    /// The pipe the outstanding request went to, while a reply is awaited.
    awaiting: Option<PipeId>,
    request_id: u32,
    relaxed: bool,
    correlate: bool,
}

impl Req {
    /// Strips and checks the reply envelope; `None` for a reply that is not ours.
    fn unwrap_reply(&self, mut msg: Parts) -> Option<Parts> {
        if self.correlate {
            if msg.is_empty() || msg[0][..] != self.request_id.to_be_bytes() {
                return None;
            }
            msg.remove(0);
        }
        if msg.is_empty() || !msg[0].is_empty() {
            return None;
        }
        msg.remove(0);
        Some(msg)
    }
}

impl Pattern for Req {
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

    fn incoming(&mut self, id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
        if self.awaiting != Some(id) {
            return Ok(()); // not the peer we asked: drop, as libzmq does
        }
        queue_inbound(id, msg, pipes)
    }

    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        if self.awaiting.is_some() && !self.relaxed {
            return Err(SendError::Fatal(Error::WrongState(
                "REQ must receive the reply before sending another request",
            )));
        }
        let Some(id) = self.lb.pick(pipes) else {
            return Err(SendError::WouldBlock(msg));
        };
        if let Some(old) = self.awaiting.take() {
            // REQ_RELAXED: whatever the previous peer still sends is stale.
            pipes.clear_inbound(old);
        }
        self.request_id = self.request_id.wrapping_add(1);
        let mut out = Parts::with_capacity(msg.len() + 2);
        if self.correlate {
            out.push(Frame::copy_from_slice(&self.request_id.to_be_bytes()));
        }
        out.push(Frame::new());
        out.extend(msg);
        pipes.push_out(id, out);
        self.awaiting = Some(id);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        let Some(id) = self.awaiting else {
            return Err(Error::WrongState("REQ must send a request before receiving"));
        };
        while let Some(msg) = pipes.pop_in(id) {
            if let Some(reply) = self.unwrap_reply(msg) {
                self.awaiting = None;
                return Ok(Some(reply));
            }
        }
        Ok(None)
    }

    fn can_send(&self, pipes: &Pipes) -> bool {
        (self.awaiting.is_none() || self.relaxed) && self.lb.has_room(pipes)
    }

    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.awaiting.is_some_and(|id| pipes.has_inbound(id))
    }

    fn set_option(&mut self, option: PatternOption, _pipes: &mut Pipes) -> Result<(), Error> {
        match option {
            PatternOption::ReqRelaxed(on) => self.relaxed = on,
            PatternOption::ReqCorrelate(on) => self.correlate = on,
            other => return Err(Error::InvalidOption(format!("{other:?} does not apply to REQ"))),
        }
        Ok(())
    }
}

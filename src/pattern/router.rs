//! ROUTER: prefixes each received message with the sender's routing id, and routes each sent
//! message by its first frame.

use super::fq::FairQueue;
use super::{Pattern, PatternOption, SendError};
use crate::error::Error;
use crate::message::{Frame, Parts};
use crate::pipe::{PipeId, Pipes};
use std::collections::HashMap;

pub(crate) struct Router {
    fq: FairQueue,
    by_id: HashMap<Frame, PipeId>,
    next_generated: u32,
    mandatory: bool,
    handover: bool,
}

impl Default for Router {
    fn default() -> Router {
        Router {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            // libzmq starts its generated ids at a random value; any start works.
            next_generated: std::process::id().wrapping_mul(2_654_435_761),
            mandatory: false,
            handover: false,
        }
    }
}

impl Router {
    /// libzmq's generated routing id: a zero byte, then a 32-bit big-endian counter.
    fn generate_id(&mut self) -> Frame {
        loop {
            self.next_generated = self.next_generated.wrapping_add(1);
            let mut id = [0; 5];
            id[1..].copy_from_slice(&self.next_generated.to_be_bytes());
            let id = Frame::copy_from_slice(&id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool {
        let Some(pipe) = pipes.get(id) else {
            return false;
        };
        let mut routing_id = pipe.routing_id.clone();
        if routing_id.is_empty() {
            routing_id = self.generate_id();
        } else if let Some(old) = self.by_id.get(&routing_id).copied() {
            if !self.handover {
                return false;
            }
            // The newcomer takes the id over; the old pipe stays reachable by nobody.
            if let Some(p) = pipes.get_mut(old) {
                p.routing_id = Frame::new();
            }
        }
        if let Some(pipe) = pipes.get_mut(id) {
            pipe.routing_id = routing_id.clone();
        }
        self.by_id.insert(routing_id, id);
        self.fq.add(id);
        true
    }

    fn detach(&mut self, id: PipeId, _pipes: &mut Pipes) {
        self.by_id.retain(|_, p| *p != id);
        self.fq.remove(id);
    }

    fn send(&mut self, mut msg: Parts, pipes: &mut Pipes) -> Result<(), SendError> {
        if msg.len() < 2 {
            // Only a routing id, no body: nothing to route (libzmq drops it too).
            return Ok(());
        }
        let target = self.by_id.get(&msg[0][..]).copied();
        match target {
            Some(id) if pipes.can_write(id) => {
                msg.remove(0);
                pipes.push_out(id, msg);
                Ok(())
            }
            Some(_) if self.mandatory => Err(SendError::WouldBlock(msg)),
            None if self.mandatory => Err(SendError::Fatal(Error::HostUnreachable)),
            _ => {
                pipes.dropped += 1; // unroutable or full: dropped, as libzmq does
                Ok(())
            }
        }
    }

    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error> {
        Ok(self.fq.pop(pipes).map(|(id, mut msg)| {
            let routing_id = pipes
                .get(id)
                .map(|p| p.routing_id.clone())
                .or_else(|| {
                    self.by_id
                        .iter()
                        .find(|(_, p)| **p == id)
                        .map(|(rid, _)| rid.clone())
                })
                .unwrap_or_default();
            msg.insert(0, routing_id);
            msg
        }))
    }

    fn can_send(&self, _pipes: &Pipes) -> bool {
        true
    }

    fn can_recv(&self, pipes: &Pipes) -> bool {
        self.fq.has_message(pipes)
    }

    fn set_option(&mut self, option: PatternOption, _pipes: &mut Pipes) -> Result<(), Error> {
        match option {
            PatternOption::RouterMandatory(on) => self.mandatory = on,
            PatternOption::RouterHandover(on) => self.handover = on,
            other => {
                return Err(Error::InvalidOption(format!(
                    "{other:?} does not apply to ROUTER"
                )));
            }
        }
        Ok(())
    }
}

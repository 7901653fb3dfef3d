//! What a socket says and hears as peers come and go, per libzmq's options: PROBE_ROUTER and
//! HELLO_MSG to a new peer, ROUTER_NOTIFY's empty messages, DISCONNECT_MSG and HICCUP_MSG
//! to the application.

use super::shared::SocketState;
use crate::message::{Frame, Parts};
use crate::pipe::PipeId;
use crate::socket_type::SocketType;

/// ROUTER_NOTIFY: an empty message from each peer as it connects (libzmq
/// `ZMQ_NOTIFY_CONNECT`); see [`crate::Socket::set_router_notify`].
pub const NOTIFY_CONNECT: i32 = 1;
/// ROUTER_NOTIFY: an empty message from each peer as it disconnects (libzmq
/// `ZMQ_NOTIFY_DISCONNECT`).
pub const NOTIFY_DISCONNECT: i32 = 2;

fn one_frame(frame: Frame) -> Parts {
    let mut parts = Parts::new();
    parts.push(frame);
    parts
}

impl SocketState {
    /// A peer's pipe joined (or its connection came back): a notifying ROUTER hears of it,
    /// and an inproc peer gets the probe and the hello (a TCP or IPC connection sends them
    /// itself at its handshake, from the options taken at `bind` or `connect`).
    pub(crate) fn greet(&mut self, id: PipeId) {
        let lifecycle = self.opts.lifecycle.clone();
        let router = self.socket_type == SocketType::Router;
        let inproc = self.pipes.get(id).is_some_and(|p| p.inproc.is_some());
        if inproc && lifecycle.probe_router {
            self.pipes.push_out(id, one_frame(Frame::new()));
        }
        if let Some(hello) = lifecycle.hello.as_ref().filter(|_| inproc) {
            self.pipes.push_out(id, one_frame(Frame::from(hello.clone())));
        }
        if router && i32::from(lifecycle.router_notify) & NOTIFY_CONNECT != 0 {
            self.hear(id, Frame::new());
        }
    }

    /// A peer's pipe is going: a notifying ROUTER, or one with a DISCONNECT_MSG, hears it as
    /// the last message from that peer.
    pub(crate) fn farewell(&mut self, id: PipeId) {
        let lifecycle = self.opts.lifecycle.clone();
        if self.socket_type == SocketType::Router
            && i32::from(lifecycle.router_notify) & NOTIFY_DISCONNECT != 0
        {
            self.hear(id, Frame::new());
        }
        if let Some(msg) = lifecycle.disconnect.clone() {
            self.hear(id, Frame::from(msg));
        }
    }

    /// A connection made by `connect` came back after an interruption (HICCUP_MSG).
    pub(crate) fn hiccup(&mut self, id: PipeId) {
        if let Some(msg) = self.opts.lifecycle.hiccup.clone() {
            self.hear(id, Frame::from(msg));
        }
    }

    /// Queues `frame` as a message from pipe `id`, past its high-water mark if need be.
    fn hear(&mut self, id: PipeId, frame: Frame) {
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.push_inbound(one_frame(frame), None);
        }
    }
}

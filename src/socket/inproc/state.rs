//! The socket-side bookkeeping of inproc connections, under the socket's lock: attaching an
//! end, and its part of the sync every call runs first (confirm spooled deliveries, notice a
//! peer that left, retry writes, move received messages into the pattern's queues).

use crate::inproc::{InprocEnd, PeerWake};
use crate::message::Frame;
use crate::pipe::PipeId;
use crate::socket::shared::SocketState;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Messages moved from one inproc pipe into the socket's queue per sync at most, so that one
/// busy peer does not hold the caller.
const MOVE_BATCH: usize = 256;

impl SocketState {
    /// Adds an inproc end as a pipe whose peer is known as `routing_id`; false if the socket
    /// is closed or the pattern refused it (the peer is then told, through `peer_wakes`).
    pub fn attach_inproc(&mut self, mut end: InprocEnd, routing_id: Bytes, me: Arc<dyn PeerWake>) -> bool {
        end.attach(me, self.spool.is_some());
        if self.closed {
            let (peer, _) = end.leave();
            self.pipes.peer_wakes.extend(peer);
            return false;
        }
        if end.peer_counted() {
            self.acked_senders = true;
            self.counted_inproc = true;
        }
        self.attention.store(true, Ordering::SeqCst);
        let mut pipe = self.new_pipe();
        pipe.routing_id = Frame::from(routing_id);
        pipe.inproc = Some(Box::new(end));
        let attached = self.attach_pipe(pipe).is_some();
        self.sync_polled();
        self.dispatch_spool(); // a new peer may take what the spool holds
        attached
    }

    /// Syncs one inproc pipe; true if it needs another look that no wake-up will ask for.
    pub(in crate::socket) fn sync_inproc_pipe(&mut self, id: PipeId) -> bool {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return false;
        };
        let detached = pipe.detached;
        let Some(end) = pipe.inproc.as_mut() else {
            return false;
        };
        let confirmed = end.take_confirmed();
        let unconfirmed = end.has_unconfirmed();
        let peer_gone = end.peer_gone();
        let wake = end.refresh_room().then(|| end.peer()).flatten();
        let counted = end.peer_counted();
        self.pipes.peer_wakes.extend(wake);
        self.acked_senders |= counted;
        self.counted_inproc |= counted;
        if !confirmed.is_empty()
            && let Some(spool) = self.spool_link()
        {
            spool.confirm(&confirmed);
        }
        if peer_gone && !detached {
            self.detach_pipe(id, None);
        }
        let unread = if self.pattern.inspects_incoming() {
            self.move_through_pattern(id)
        } else {
            self.move_to_queue(id)
        };
        unread || unconfirmed
    }

    /// What to do after reading the peer's close: forget the pipe once drained.
    fn peer_closed(&mut self, id: PipeId) {
        if self.pipes.forget_if_done(id) {
            return;
        }
        if self.pipes.get(id).is_some_and(|p| !p.detached) {
            self.detach_pipe(id, None);
        }
    }

    /// Moves what the peer sent straight into the pipe's queue (the pattern only queues),
    /// once the queue is empty, up to a batch or the queue's mark. True if data may be left.
    fn move_to_queue(&mut self, id: PipeId) -> bool {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return false;
        };
        // CONFLATE: read everything waiting (up to a bound), each message replacing the last.
        let conflate = pipe.conflate && pipe.rx.is_none();
        if !pipe.inbound.is_empty() && !conflate {
            return true;
        }
        let room = match pipe.rcvhwm {
            _ if conflate => super::super::polled::CONFLATE_BATCH,
            0 => MOVE_BATCH,
            hwm => hwm.min(MOVE_BATCH),
        };
        let Some(end) = pipe.inproc.as_mut() else {
            return false;
        };
        let mut wake_peer = false;
        let mut outcome = Ok(Some(()));
        for _ in 0..room {
            outcome = match end.read() {
                Ok(Some((msg, wake))) => {
                    wake_peer |= wake;
                    if pipe.conflate && pipe.rx.is_none() {
                        pipe.inbound.clear();
                    }
                    pipe.inbound.push_back(msg);
                    if let Some(rx) = &mut pipe.rx {
                        rx.record(None); // acknowledged delivery is for connections
                    }
                    Ok(Some(()))
                }
                Ok(None) => Ok(None), // asleep: the peer's next flush wakes us
                Err(()) => Err(()),
            };
            if !matches!(outcome, Ok(Some(()))) {
                break;
            }
        }
        let wake = wake_peer.then(|| end.peer()).flatten();
        self.pipes.peer_wakes.extend(wake);
        match outcome {
            Ok(Some(())) => true,
            Ok(None) => false,
            Err(()) => {
                self.peer_closed(id);
                false
            }
        }
    }

    /// Moves what the peer sent into the pipe's queue through the pattern (which filters,
    /// takes subscriptions, or queues), once the queue is empty. True if data may be left.
    fn move_through_pattern(&mut self, id: PipeId) -> bool {
        for _ in 0..MOVE_BATCH {
            let Some(pipe) = self.pipes.get_mut(id) else {
                return false;
            };
            if !pipe.inbound.is_empty() {
                return true;
            }
            let Some(end) = pipe.inproc.as_mut() else {
                return false;
            };
            let (msg, wake_peer) = match end.read() {
                Ok(Some(got)) => got,
                Ok(None) => return false,
                Err(()) => {
                    self.peer_closed(id);
                    return false;
                }
            };
            let wake = wake_peer.then(|| end.peer()).flatten();
            self.pipes.peer_wakes.extend(wake);
            match self.pattern.incoming(id, msg, &mut self.pipes) {
                Ok(()) => {
                    let Some(pipe) = self.pipes.get_mut(id) else {
                        return false;
                    };
                    if pipe.inbound.is_empty()
                        && let Some(end) = &pipe.inproc
                        && end.consumed_one(true)
                    {
                        // Taken by the pattern, not queued: counted now.
                        let wake = end.peer();
                        self.pipes.peer_wakes.extend(wake);
                    }
                }
                Err(msg) => {
                    if let Some(end) = self.pipes.get_mut(id).and_then(|p| p.inproc.as_mut()) {
                        end.hold(msg);
                    }
                    return true;
                }
            }
        }
        true
    }

    /// Leaves every inproc connection (the socket is closing); the peers are woken when the
    /// lock is released.
    pub fn close_inproc(&mut self) {
        self.closed = true;
        let ids: Vec<PipeId> = self.pipes.polled.clone();
        for id in ids {
            self.pipes.leave_inproc(id);
        }
        self.pipes.lost_seqs.clear();
    }

    /// Detaches the inproc pipes of `endpoint` on the connecting (`connecting`) or binding
    /// side: `disconnect` and `unbind`.
    pub fn drop_inproc_endpoint(&mut self, endpoint: &str, connecting: bool) {
        self.attention.store(true, Ordering::SeqCst);
        let ids: Vec<PipeId> = self.pipes.polled.clone();
        for id in ids {
            let matches = self
                .pipes
                .get(id)
                .and_then(|p| p.inproc.as_ref())
                .is_some_and(|e| e.is_connecting() == connecting && &*e.endpoint == endpoint);
            if matches {
                self.detach_pipe(id, None);
            }
        }
    }
}

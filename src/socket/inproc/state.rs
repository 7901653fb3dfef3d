//! The socket-side bookkeeping of inproc connections, under the socket's lock: attaching an
//! end, and the sync every call runs first (confirm spooled deliveries, notice a peer that
//! left, retry writes, move received messages into the pattern's queues).

use crate::inproc::{InprocEnd, PeerWake};
use crate::pipe::PipeId;
use crate::socket::shared::SocketState;
use bytes::Bytes;
use std::sync::Arc;

/// Messages moved from one inproc pipe into the socket's queue per sync at most, so that one
/// busy peer does not hold the caller.
const MOVE_BATCH: usize = 256;

impl SocketState {
    /// Adds an inproc end as a pipe whose peer is known as `routing_id`; false if the socket
    /// is closed or the pattern refused it (the peer is then told, through `peer_wakes`).
    pub fn attach_inproc(&mut self, mut end: InprocEnd, routing_id: Bytes, me: Arc<dyn PeerWake>) -> bool {
        end.attach(me, self.delivery.is_some());
        if self.closed {
            let (peer, _) = end.leave();
            self.pipes.peer_wakes.extend(peer);
            return false;
        }
        if end.peer_counted() {
            self.acked_senders = true;
        }
        let mut pipe = self.new_pipe();
        pipe.routing_id = routing_id;
        pipe.inproc = Some(Box::new(end));
        let attached = self.attach_pipe(pipe).is_some();
        self.sync_inproc();
        self.dispatch_spool(); // a new peer may take what the spool holds
        attached
    }

    /// Brings the inproc pipes up to date; every call on the socket runs it first.
    pub fn sync_inproc(&mut self) {
        if self.pipes.inproc.is_empty() {
            return;
        }
        let ids: smallvec::SmallVec<[PipeId; 4]> = self.pipes.inproc.iter().copied().collect();
        for id in ids {
            self.sync_pipe(id);
        }
        self.reap();
    }

    fn sync_pipe(&mut self, id: PipeId) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let detached = pipe.detached;
        let Some(end) = pipe.inproc.as_mut() else {
            return;
        };
        let confirmed = end.take_confirmed();
        let peer_gone = end.peer_gone();
        let wake = end.refresh_room().then(|| end.peer()).flatten();
        let counted = end.peer_counted();
        self.pipes.peer_wakes.extend(wake);
        self.acked_senders |= counted;
        if !confirmed.is_empty()
            && let Some(delivery) = &mut self.delivery
        {
            delivery.confirm(confirmed);
        }
        if peer_gone && !detached {
            self.detach_pipe(id);
        }
        self.move_received(id);
    }

    /// Moves what the peer sent into the pipe's queue, through the pattern (which filters,
    /// takes subscriptions, or queues), once the queue is empty.
    fn move_received(&mut self, id: PipeId) {
        for _ in 0..MOVE_BATCH {
            let Some(pipe) = self.pipes.get_mut(id) else {
                return;
            };
            if !pipe.inbound.is_empty() {
                return;
            }
            let detached = pipe.detached;
            let Some(end) = pipe.inproc.as_mut() else {
                return;
            };
            let (msg, wake_peer) = match end.read() {
                Ok(Some(got)) => got,
                Ok(None) => return,
                Err(()) => {
                    // The peer closed and everything it sent was read.
                    if detached {
                        if self.pipes.get(id).is_some_and(|p| p.drained()) {
                            self.pipes.remove(id);
                            self.pipes.dead.push(id);
                        }
                    } else {
                        self.detach_pipe(id);
                    }
                    return;
                }
            };
            let wake = wake_peer.then(|| end.peer()).flatten();
            self.pipes.peer_wakes.extend(wake);
            match self.pattern.incoming(id, msg, &mut self.pipes) {
                Ok(()) => {
                    let Some(pipe) = self.pipes.get_mut(id) else {
                        return;
                    };
                    if pipe.inbound.is_empty()
                        && let Some(end) = &pipe.inproc
                    {
                        end.consumed_one(); // taken by the pattern, not queued
                    }
                }
                Err(msg) => {
                    if let Some(end) = self.pipes.get_mut(id).and_then(|p| p.inproc.as_mut()) {
                        end.hold(msg);
                    }
                    return;
                }
            }
        }
    }

    /// Leaves every inproc connection (the socket is closing); the peers are woken when the
    /// lock is released.
    pub fn close_inproc(&mut self) {
        self.closed = true;
        let ids: Vec<PipeId> = self.pipes.inproc.clone();
        for id in ids {
            self.pipes.leave_inproc(id);
        }
        self.pipes.lost_seqs.clear();
    }

    /// Detaches the inproc pipes of `endpoint` on the connecting (`connecting`) or binding
    /// side: `disconnect` and `unbind`.
    pub fn drop_inproc_endpoint(&mut self, endpoint: &str, connecting: bool) {
        let ids: Vec<PipeId> = self.pipes.inproc.clone();
        for id in ids {
            let matches = self
                .pipes
                .get(id)
                .and_then(|p| p.inproc.as_ref())
                .is_some_and(|e| e.is_connecting() == connecting && &*e.endpoint == endpoint);
            if matches {
                self.detach_pipe(id);
            }
        }
    }
}

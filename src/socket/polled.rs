//! The sync every call on a socket runs first: the pipes whose messages arrive without the
//! socket's lock (inproc ends, and connections that hand messages over directly) are read
//! into the pattern's queues, under the lock, by the calling thread.

use super::shared::SocketState;
use crate::pipe::{IoWake, PipeId};
use crate::ypipe::{Read, Wake};
use std::sync::atomic::Ordering;

/// Messages moved from one connection's pipe into the socket's queue per sync at most.
const MOVE_BATCH: usize = 256;
/// Messages a conflating pipe reads at most in one sync (it keeps only the last).
pub(super) const CONFLATE_BATCH: usize = 64 * 1024;

impl SocketState {
    /// Brings the polled pipes up to date. It does nothing unless something may have changed:
    /// a writer woke the socket (data after its pipe slept, room, leaving), a pipe was
    /// attached or detached, or the last sync left something that no wake-up will announce
    /// (unread data, unconfirmed spooled messages).
    pub fn sync_polled(&mut self) {
        // A load first: most calls find the flag down, and a read-modify-write per call would
        // take the flag's cache line from the thread that raises it. Missing a flag raised
        // just after the load loses nothing: the next sync sees it, and a caller about to
        // sleep checks it with its own read-modify-write (see `attention`).
        // SeqCst: ordered with the writers' stores and the waiters count (see the field).
        let woken = self.attention.load(Ordering::SeqCst) && self.attention.swap(false, Ordering::SeqCst);
        if woken {
            self.apply_from_io(); // connections attached or detached
            if !self.pipes.out_blocked.is_empty() {
                self.pipes.refresh_blocked(); // a connection drained an outbound pipe
            }
        }
        if !(woken || std::mem::take(&mut self.resync)) || self.pipes.polled.is_empty() {
            return;
        }
        let ids: smallvec::SmallVec<[PipeId; 4]> = self.pipes.polled.iter().copied().collect();
        let mut again = false;
        for id in ids {
            let Some(pipe) = self.pipes.get(id) else {
                continue;
            };
            let (inproc, wire) = (pipe.inproc.is_some(), !pipe.wire.is_empty());
            if inproc {
                again |= self.sync_inproc_pipe(id);
            }
            if wire {
                again |= self.move_wire(id);
            }
        }
        self.resync = again;
        self.reap();
    }

    /// Moves what connections wrote into pipe `id`'s queue, through the pattern if it looks at
    /// incoming messages, until the queue holds a batch or reaches its mark. A connection
    /// that waited for room is resumed, and a closed one forgotten once read. True if data may
    /// be left that no wake-up will announce.
    fn move_wire(&mut self, id: PipeId) -> bool {
        let through_pattern = self.pattern.inspects_incoming();
        let mut resume = None;
        let mut more = true; // unless the pipes ran dry, a batch may leave data behind
        let mut moved = 0;
        // Duplicates from a spooled sender are dropped here and do not count: a batch of
        // them would leave the caller nothing to read and no wake-up to come.
        // CONFLATE: everything waiting is read (up to a bound), each message replacing the
        // last, so that the newest is what the application gets.
        let conflate = self.pipes.get(id).is_some_and(|p| p.conflate && p.rx.is_none());
        let batch = if conflate { CONFLATE_BATCH } else { MOVE_BATCH };
        while moved < batch {
            let Some(pipe) = self.pipes.get_mut(id) else {
                return false;
            };
            let room = match pipe.rcvhwm {
                0 => MOVE_BATCH,
                hwm => hwm.min(MOVE_BATCH),
            };
            if !conflate && pipe.inbound.len() + pipe.held_copies >= room {
                break;
            }
            let Some(front) = pipe.wire.front_mut() else {
                more = false;
                break;
            };
            let sequenced = front.sequenced.is_some();
            let msg = match front.held.take() {
                Some(msg) => msg,
                None if sequenced => match front.rx.read() {
                    Read::Frame { item, wake, .. } => {
                        if wake == Wake::Writer {
                            resume = Some(front.conn);
                        }
                        if let Some(taken) = self.take_sequenced(id, item) {
                            self.queue_sequenced(id, taken, through_pattern);
                            moved += 1;
                        }
                        continue;
                    }
                    // Its connection closed: what is left is dropped at the detach.
                    Read::Empty | Read::Closed => {
                        more = false;
                        break;
                    }
                },
                None => match front.rx.read() {
                    Read::Frame { item, wake, .. } => {
                        if wake == Wake::Writer {
                            resume = Some(front.conn);
                        }
                        if let Some(in_flight) = &front.in_flight {
                            let len = crate::zmtp::subscription::subscribed_bytes(&item);
                            in_flight.fetch_sub(len, Ordering::Relaxed);
                        }
                        item
                    }
                    // The connection wrote everything before it said it closed (`closed`).
                    Read::Empty | Read::Closed if front.closed => match front.tail.pop_front() {
                        Some(msg) => msg,
                        None => {
                            pipe.wire.pop_front(); // read to its end: the next connection's, if any
                            continue;
                        }
                    },
                    Read::Empty | Read::Closed => {
                        more = false; // asleep: the next flush wakes us
                        break;
                    }
                },
            };
            moved += 1;
            // From a connection before the one serving the pipe now: it keeps its properties.
            pipe.queuing_old = pipe.wire.front().is_some_and(|w| Some(w.conn) != pipe.conn);
            if !through_pattern {
                pipe.push_inbound(msg, None);
                pipe.queuing_old = false;
                continue;
            }
            let queued = self.pattern.incoming(id, msg, &mut self.pipes);
            if let Some(pipe) = self.pipes.get_mut(id) {
                pipe.queuing_old = false;
            }
            if let Err(msg) = queued {
                if let Some(front) = self.pipes.get_mut(id).and_then(|p| p.wire.front_mut()) {
                    front.held = Some(msg);
                }
                break;
            }
        }
        if let Some(conn) = resume {
            self.pipes.wakes.push(IoWake::Resume(conn));
        }
        if self.pipes.forget_if_done(id) {
            return false;
        }
        more
    }
}

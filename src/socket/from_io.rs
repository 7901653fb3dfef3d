//! What the I/O threads tell a socket without taking its lock: a connection finished its
//! handshake (attach its pipes), or it closed (detach them). The I/O threads queue these
//! commands; the socket applies them on the application side when a call syncs, before it
//! reads the pipes (see `polled`). Connections whose messages must be checked as they arrive
//! (from a spooled zocket sender) and the connections of a socket that sends from a spool
//! still attach under the lock.
//!
//! The queue is a ypipe whose writing end the I/O threads share behind a mutex that only they
//! take; the socket alone reads it, under its own lock, which the I/O threads do not take for
//! this. A command raises the socket's attention flag, which makes the next call sync.

use super::shared::{SocketShared, SocketState};
use crate::message::Parts;
use crate::pipe::{ConnId, DirectWrite, IoWake, Pipe, PipeId};
use crate::ypipe::{self, Outbox, Read};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Slots per chunk of the command pipe.
const CHUNK_LEN: usize = 16;

/// A command from an I/O thread to a socket.
pub(crate) enum FromIo {
    Attach(Box<Attach>),
    Detach(Detach),
}

/// A connection finished its handshake: here are its pipes.
pub(crate) struct Attach {
    pub conn: ConnId,
    /// The pipe made at `connect` that this connection serves, if any; otherwise the socket
    /// makes a new one (and the pattern may refuse it).
    pub persistent: Option<PipeId>,
    /// A persistent pipe's connection came back after a reconnect.
    pub reconnection: bool,
    /// The peer's routing id (ROUTER), for a new pipe.
    pub routing_id: Bytes,
    pub sndhwm: usize,
    pub rcvhwm: usize,
    /// The messages the connection decodes.
    pub inbound: ypipe::Reader<Parts>,
    /// Their bytes in flight, when the pattern bounds them.
    pub in_flight: Option<Arc<AtomicUsize>>,
    /// For a new pipe: the writing end of the connection's outbound pipe.
    pub outbound: Option<ypipe::Writer<crate::pipe::Outgoing>>,
    /// The connection's direct-write path, if it has one.
    pub fast: Option<Arc<dyn DirectWrite>>,
}

/// A connection closed: nothing more will come on its inbound pipe but `leftover`, what it
/// decoded and could not write there.
pub(crate) struct Detach {
    pub conn: ConnId,
    pub persistent: Option<PipeId>,
    pub leftover: VecDeque<Parts>,
    /// For a pipe of its own, its outbound reading end, with what it did not take.
    pub unsent: Option<Box<ypipe::Reader<crate::pipe::Outgoing>>>,
}

/// The I/O threads' end of a socket's command queue.
pub(crate) struct FromIoSender {
    writer: Mutex<ypipe::Writer<FromIo, CHUNK_LEN>>,
}

/// The socket's end.
pub(crate) type FromIoReader = ypipe::Reader<FromIo, CHUNK_LEN>;

/// A new command queue.
pub(crate) fn queue() -> (FromIoSender, FromIoReader) {
    let (writer, reader) = ypipe::with_chunk_len(0); // commands are never refused
    let sender = FromIoSender {
        writer: Mutex::new(writer),
    };
    (sender, reader)
}

impl SocketShared {
    /// Queues `command` for the socket and wakes it (a thread blocked on it, or a watcher).
    pub fn tell(&self, command: FromIo) {
        {
            let mut writer = self.from_io.writer.lock().unwrap_or_else(|e| e.into_inner());
            // No high-water mark: the write always succeeds.
            let _ = writer.write(command, false);
            let _ = writer.flush();
        }
        self.announce(&self.attention);
    }
}

impl SocketState {
    /// Applies what the I/O threads queued (on the application's calls; on an I/O thread only
    /// once the socket is closed).
    pub(crate) fn apply_from_io(&mut self) {
        loop {
            match self.from_io.read() {
                Read::Frame { item, .. } => match item {
                    FromIo::Attach(attach) => self.attach_conn(*attach),
                    FromIo::Detach(detach) => self.detach_conn(detach),
                },
                Read::Empty | Read::Closed => return,
            }
        }
    }

    fn attach_conn(&mut self, attach: Attach) {
        let Attach {
            conn,
            persistent,
            reconnection,
            routing_id,
            sndhwm,
            rcvhwm,
            inbound,
            in_flight,
            outbound,
            fast,
        } = attach;
        // The stream goes back to the I/O thread, which the Flush below makes write what
        // waits in the pipe (queued before this, and what the pattern queues now) before it
        // lets a direct write go again.
        if let Some(fast) = &fast {
            fast.hand_to_io();
        }
        let id = match persistent {
            Some(id) => {
                let Some(pipe) = self.pipes.get_mut(id).filter(|p| !p.detached) else {
                    // Disconnected meanwhile: the connection goes too.
                    self.pipes.wakes.push(IoWake::Refused(conn, "disconnected"));
                    return;
                };
                pipe.conn = Some(conn);
                pipe.fast = fast;
                pipe.read_paused = false;
                if reconnection {
                    self.pattern.reconnected(id, &mut self.pipes);
                }
                id
            }
            None => {
                let mut pipe = Pipe::new(sndhwm, rcvhwm);
                pipe.wire_out = outbound.map(Outbox::new);
                pipe.routing_id = routing_id;
                pipe.conn = Some(conn);
                pipe.fast = fast;
                match self.attach_pipe(pipe) {
                    Some(id) => id,
                    None => {
                        let reason = "refused by the socket (PAIR already paired, or routing id in use)";
                        self.pipes.wakes.push(IoWake::Refused(conn, reason));
                        return;
                    }
                }
            }
        };
        self.pipes.add_wire(id, inbound, conn, in_flight);
        self.pipes.by_conn.insert(conn, id);
        self.dispatch_spool(); // a new peer may take spooled messages
        // A message queued before this, with no connection known to wake, may wait unseen.
        self.pipes.wakes.push(IoWake::Flush(conn));
    }

    fn detach_conn(&mut self, detach: Detach) {
        let Detach {
            conn,
            persistent,
            leftover,
            mut unsent,
        } = detach;
        let Some(id) = self.pipes.by_conn.remove(&conn).or(persistent) else {
            return; // refused at the attach, or never attached
        };
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        if let Some(wire) = pipe.wire.iter_mut().rev().find(|w| w.conn == conn) {
            wire.closed = true;
            wire.tail = leftover;
        }
        if pipe.conn != Some(conn) {
            return; // a later connection serves it already
        }
        pipe.conn = None;
        pipe.fast = None;
        if persistent.is_some() {
            pipe.read_paused = false;
        } else {
            self.detach_pipe(id, unsent.as_deref_mut());
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{Context, SocketType};
    use std::time::Duration;

    /// A connection attaches to, and detaches from, a socket whose lock an application thread
    /// holds (a slow call), and the I/O thread serves everything else meanwhile: here a PAIR
    /// exchange on the same context. When the handshake took that lock, the I/O thread
    /// stopped at it, and the exchange with it.
    #[test]
    fn connections_come_and_go_while_the_socket_lock_is_held() {
        let ctx = Context::new();
        let timeout = Some(Duration::from_secs(5));
        let (left, right) = (
            ctx.socket(SocketType::Pair).unwrap(),
            ctx.socket(SocketType::Pair).unwrap(),
        );
        left.bind("tcp://127.0.0.1:0").unwrap();
        right.connect(&left.last_endpoint().unwrap()).unwrap();
        left.set_rcvtimeo(timeout).unwrap();
        right.send("ready", 0).unwrap();
        assert_eq!(left.recv_bytes(0).unwrap(), b"ready");

        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        pull.set_rcvtimeo(timeout).unwrap();
        let endpoint = pull.last_endpoint().unwrap();
        let held = pull.shared().lock();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("held", 0).unwrap();
        drop(push); // it connects, hands its message over and closes, all on the I/O thread
        for i in 0..200u32 {
            right.send(i.to_be_bytes().to_vec(), 0).unwrap();
            let got = left
                .recv_bytes(0)
                .expect("the I/O thread stopped at the held lock");
            assert_eq!(got, i.to_be_bytes());
        }
        drop(held);
        assert_eq!(pull.recv_bytes(0).unwrap(), b"held");
    }
}

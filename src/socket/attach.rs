//! Applying what the I/O threads told a socket (`from_io`): attaching a connection's pipes to
//! the socket and its pattern, and detaching them when the connection closes.

use super::from_io::{Attach, Detach, FromIo};
use super::shared::SocketState;
use crate::pipe::{IoWake, Pipe, PipeId, REFUSED_AT_ATTACH};

/// Why a spooled socket closes an older connection of a receiver that connected again.
const SUPERSEDED: &str = "superseded by a newer connection of the same receiver";
use crate::ypipe::{Outbox, Read};

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
            properties,
            sndhwm,
            rcvhwm,
            inbound,
            in_flight,
            outbound,
            fast,
            sequenced,
            receiver,
        } = attach;
        // The stream goes back to the I/O thread, which the Flush below makes write what
        // waits in the pipe (queued before this, and what the pattern queues now) before it
        // lets a direct write go again.
        if let Some(fast) = &fast {
            fast.hand_to_io();
        }
        if let Some(sequenced) = &sequenced
            && !self.admit_sequenced(conn, sequenced)
        {
            return;
        }
        let stream = sequenced.as_ref().map(|s| s.stream);
        let id = match persistent {
            Some(id) => {
                let Some(pipe) = self.pipes.get_mut(id).filter(|p| !p.detached) else {
                    // Disconnected meanwhile: the connection goes too.
                    self.pipes.wakes.push(IoWake::Refused(conn, "disconnected"));
                    self.dedup.detach_if(stream);
                    return;
                };
                pipe.conn = Some(conn);
                pipe.fast = fast;
                // What the previous connection sent and the application has not read keeps
                // that connection's properties (`old_queued`, and what its wire still holds).
                pipe.old_queued = pipe.inbound.len();
                pipe.old_properties = pipe.properties.replace(properties);
                if reconnection {
                    self.pattern.reconnected(id, &mut self.pipes);
                    self.greet(id);
                    self.hiccup(id);
                }
                id
            }
            None => {
                let mut pipe = Pipe::new(sndhwm, rcvhwm);
                pipe.conflate = self.opts.conflate;
                pipe.wire_out = outbound.map(Outbox::new);
                pipe.routing_id = routing_id;
                pipe.properties = Some(properties);
                pipe.conn = Some(conn);
                pipe.fast = fast;
                match self.attach_pipe(pipe) {
                    Some(id) => id,
                    None => {
                        self.pipes.wakes.push(IoWake::Refused(conn, REFUSED_AT_ATTACH));
                        self.dedup.detach_if(stream);
                        return;
                    }
                }
            }
        };
        self.pipes.add_wire(id, inbound, conn, in_flight, stream);
        self.pipes.by_conn.insert(conn, id);
        if let Some(receiver) = receiver {
            self.retire_older_connections(id, receiver);
        }
        if let Some(sequenced) = sequenced {
            self.attach_sequenced(id, conn, sequenced);
        }
        self.dispatch_spool(); // a new peer may take spooled messages
        // A message queued before this, with no connection known to wake, may wait unseen.
        self.pipes.wakes.push(IoWake::Flush(conn));
    }

    /// A spooled socket's peer that keeps receipts connected again as pipe `id` while an
    /// older connection of the same receiver lingers (half-open after a host failure, or a
    /// receiver replaced in-process): the older ones are closed and everything in flight is
    /// sent again, lowest first, before anything newer goes to the new connection. Otherwise
    /// newer messages could reach the receiver first, and its receipt (a high-water mark) would
    /// then drop the older ones as duplicates.
    ///
    /// Only pipes of a connection's own (a bound sender's) are concerned: a connecting
    /// sender's connector has one connection at a time and re-sends in order itself. Another
    /// connection of the same receiver *socket* (it connected twice) is not retired: only one
    /// of an older socket of the same receiver (restarted, or replaced).
    fn retire_older_connections(&mut self, id: PipeId, receiver: crate::options::ReceiverId) {
        let older: Vec<(PipeId, Option<crate::pipe::ConnId>)> = self
            .pipes
            .ids()
            .filter(|&other| other != id)
            .filter_map(|other| self.pipes.get(other).map(|p| (other, p)))
            .filter(|(_, p)| !p.detached && p.connector.is_none())
            .filter(|(_, p)| {
                p.receiver
                    .is_some_and(|r| r.durable == receiver.durable && r.socket != receiver.socket)
            })
            .map(|(other, p)| (other, p.conn))
            .collect();
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.receiver = Some(receiver);
        }
        if older.is_empty() {
            return;
        }
        for (other, conn) in older {
            log::debug!("a receiver connected again: its older connection is closed");
            if let Some(conn) = conn {
                self.pipes.wakes.push(IoWake::Refused(conn, SUPERSEDED));
            }
            self.detach_pipe(other, None);
        }
        if let Some(spool) = self.spool_link() {
            spool.requeue_in_flight();
        }
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
        self.detach_sequenced(id, conn);
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
        if persistent.is_none() {
            self.detach_pipe(id, unsent.as_deref_mut());
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::message::Parts;
    use crate::pipe::{ConnId, Outgoing};
    use crate::socket::from_io::{Attach, Detach, FromIo};
    use crate::spool::MemorySpool;
    use crate::ypipe::{self, Read};
    use crate::{Context, Socket, SocketType};
    use std::time::{Duration, Instant};

    /// A connection as `engine::connection::attach` makes one, without a stream: its id is
    /// one no I/O thread knows, so wake-ups for it go nowhere.
    struct FakeConnection {
        id: ConnId,
        out: ypipe::Reader<Outgoing>,
        _inbound: ypipe::Writer<Parts>,
    }

    fn attach_fake(socket: &Socket, n: usize) -> FakeConnection {
        let (out_tx, out) = ypipe::channel::<Outgoing>(1000);
        let (in_tx, inbound) = ypipe::channel::<Parts>(1000);
        let id = ((1 << 40) + n) << 8;
        socket.shared().tell(FromIo::Attach(Box::new(Attach {
            conn: id,
            persistent: None,
            reconnection: false,
            routing_id: crate::message::Frame::new(),
            properties: Default::default(),
            sndhwm: 1000,
            rcvhwm: 1000,
            inbound,
            in_flight: None,
            outbound: Some(out_tx),
            fast: None,
            sequenced: None,
            receiver: None,
        })));
        FakeConnection {
            id,
            out,
            _inbound: in_tx,
        }
    }

    /// A spooled PUSH's connection closes with its share still in its pipe. The messages
    /// reach the other peer with no further call from the application and nothing else
    /// asking the spool thread to route: the close itself must make the spool thread apply
    /// the detach (before, they waited for the application's next call).
    #[test]
    fn a_closed_connections_spooled_share_goes_to_another_peer_unprompted() {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_spool(MemorySpool::new(None)).unwrap();
        let mut a = attach_fake(&push, 1);
        let mut b = attach_fake(&push, 2);
        assert!(push.can_send(), "both attached");
        for i in 0..10u32 {
            push.send(i.to_be_bytes(), 0).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = std::collections::BTreeSet::new();
        let mut take = |b: &mut FakeConnection| {
            while let Read::Frame { item: (seq, _), .. } = b.out.read() {
                got.insert(seq);
            }
            got.len()
        };
        while take(&mut b) < 5 || !a.out.peek() {
            assert!(Instant::now() < deadline, "the spool thread routed to both");
        }
        let detach = Detach {
            conn: a.id,
            persistent: None,
            leftover: Default::default(),
            unsent: Some(Box::new(a.out)),
        };
        let link = push.shared().lock().spool_link().cloned();
        push.shared().connection_gone(detach, Vec::new(), link.as_deref());
        while take(&mut b) < 10 {
            assert!(Instant::now() < deadline, "A's share stayed in its detach");
        }
    }

    /// A PAIR exchange on `ctx`, to show the I/O thread serving it.
    fn pair_exchange(ctx: &Context) -> (Socket, Socket) {
        let (left, right) = (
            ctx.socket(SocketType::Pair).unwrap(),
            ctx.socket(SocketType::Pair).unwrap(),
        );
        left.bind("tcp://127.0.0.1:0").unwrap();
        right.connect(&left.last_endpoint().unwrap()).unwrap();
        left.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
        (left, right)
    }

    /// 200 round trips through the exchange, each within the receive timeout.
    fn exchange_goes_on(left: &Socket, right: &Socket) {
        for i in 0..200u32 {
            right.send(i.to_be_bytes().to_vec(), 0).unwrap();
            let got = left
                .recv_bytes(0)
                .expect("the I/O thread stopped at the held lock");
            assert_eq!(got, i.to_be_bytes());
        }
    }

    /// A PULL bound over TCP, and its endpoint.
    fn bound_pull(ctx: &Context) -> (Socket, String) {
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        pull.set_rcvtimeo(Some(Duration::from_secs(5))).unwrap();
        let endpoint = pull.last_endpoint().unwrap();
        (pull, endpoint)
    }

    /// A connection attaches to, and detaches from, a socket whose lock an application thread
    /// holds (a slow call), and the I/O thread serves everything else meanwhile: here a PAIR
    /// exchange on the same context. When the handshake took that lock, the I/O thread
    /// stopped at it, and the exchange with it.
    #[test]
    fn connections_come_and_go_while_the_socket_lock_is_held() {
        let ctx = Context::new();
        let (left, right) = pair_exchange(&ctx);
        let (pull, endpoint) = bound_pull(&ctx);
        let held = pull.shared().lock();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("held", 0).unwrap();
        drop(push); // it connects, hands its message over and closes, all on the I/O thread
        exchange_goes_on(&left, &right);
        drop(held);
        assert_eq!(pull.recv_bytes(0).unwrap(), b"held");
    }

    /// The same with a spooled sender, whose connection checks duplicates and counts what
    /// the application took for its acknowledgements: all of that waits for the socket's
    /// next call, and the I/O thread goes on. Until its messages moved into the pipes, the
    /// exchange stopped at the handshake.
    #[test]
    fn a_spooled_senders_connection_comes_and_goes_while_the_lock_is_held() {
        let ctx = Context::new();
        let (left, right) = pair_exchange(&ctx);
        let (pull, endpoint) = bound_pull(&ctx);
        let held = pull.shared().lock();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_spool(MemorySpool::new(None)).unwrap();
        push.connect(&endpoint).unwrap();
        for n in 0..10u8 {
            push.send([n], 0).unwrap();
        }
        exchange_goes_on(&left, &right);
        drop(held);
        for n in 0..10u8 {
            assert_eq!(pull.recv_bytes(0).unwrap(), [n]);
        }
        // Acknowledged: the sender's spool empties, and its close does not linger.
        let deadline = Instant::now() + Duration::from_secs(5);
        while push.shared().lock().spool_pending() {
            assert!(Instant::now() < deadline, "the receiver never acknowledged");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

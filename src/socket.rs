//! The public socket handle: bind/connect, send/recv, options.

use crate::context::ContextInner;
use crate::core::{EndpointRecord, Locked, SocketShared};
use crate::engine::{Command, IoThread};
use crate::error::{Error, Result};
use crate::message::{IntoFrame, Message, Parts};
use crate::pattern::{PatternOption, SendError};
use crate::socket_type::SocketType;
use crate::transport::{Endpoint, Listener, PeerAddr};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages taken from the pipes at once by one receive, for types that allow it.
const PREFETCH: usize = 64;

/// Application-side receive state (see [`Socket::next_message`]).
#[derive(Default)]
struct Inbox {
    partial: std::collections::VecDeque<Bytes>,
    prefetched: std::collections::VecDeque<Parts>,
}

/// Flag: do not block; return [`Error::WouldBlock`] instead (libzmq `ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = 1;
/// Flag: more frames of this message follow (libzmq `ZMQ_SNDMORE`).
pub const SNDMORE: i32 = 2;

/// A messaging socket. Safe to share between threads (calls are serialised internally);
/// dropping it closes it, delivering what it queued for at most its linger period.
pub struct Socket {
    shared: Arc<SocketShared>,
    /// What the application threads took from the socket and not yet handed out: the rest of
    /// a multipart message read frame by frame, and prefetched messages.
    inbox: std::sync::Mutex<Inbox>,
    /// Whether this type's receive is a plain pop that may be batched.
    prefetches: bool,
    readiness: std::sync::OnceLock<Arc<crate::poller::ReadinessFd>>,
    io: Arc<IoThread>,
    // Keeps the context (and its I/O thread) alive while the socket lives.
    ctx: Arc<ContextInner>,
}

impl Socket {
    pub(crate) fn new(shared: Arc<SocketShared>, io: Arc<IoThread>, ctx: Arc<ContextInner>) -> Socket {
        let socket_type = shared.socket_type;
        Socket {
            shared,
            io,
            ctx,
            readiness: std::sync::OnceLock::new(),
            inbox: Default::default(),
            prefetches: matches!(
                socket_type,
                SocketType::Pull | SocketType::Sub | SocketType::XSub | SocketType::Pair | SocketType::Dealer
            ),
        }
    }

    /// This socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    /// Binds to an endpoint (`tcp://host:port`, `tcp://*:0`, `ipc:///path`) and starts
    /// accepting peers. The real endpoint is then readable with [`Socket::last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.io.check()?;
        let parsed = Endpoint::parse(endpoint)?;
        let (listener, resolved) = Listener::bind(endpoint, &parsed)?;
        {
            let mut st = self.shared.lock();
            st.endpoints.push(EndpointRecord {
                given: endpoint.to_string(),
                resolved: resolved.clone(),
                bound: true,
            });
            st.last_endpoint = Some(resolved.clone());
        }
        self.io.send(Command::Bind {
            socket: Arc::clone(&self.shared),
            listener,
            endpoint: resolved,
        });
        Ok(())
    }

    /// Connects to an endpoint. The peer need not be there yet: the socket reconnects with
    /// back-off until it is, and (except ROUTER, or with `immediate`) messages sent meanwhile
    /// wait in the pipe, up to the high-water mark.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.io.check()?;
        let parsed = Endpoint::parse(endpoint)?;
        let addr = PeerAddr::resolve(endpoint, &parsed)?;
        let (pipe, routing_id) = {
            let mut guard = self.locked();
            // A new pipe can unblock a sender waiting for a peer.
            guard.notify_on_drop();
            let st = &mut *guard;
            st.endpoints.push(EndpointRecord {
                given: endpoint.to_string(),
                resolved: endpoint.to_string(),
                bound: false,
            });
            st.last_endpoint = Some(endpoint.to_string());
            let routing_id = st.opts.connect_routing_id.take();
            let keeps_pipe = !st.opts.immediate && self.shared.socket_type != SocketType::Router;
            let pipe = if keeps_pipe {
                let mut pipe = st.new_pipe();
                if let Some(id) = &routing_id {
                    pipe.routing_id = id.clone();
                }
                st.attach_pipe(pipe)
            } else {
                None
            };
            (pipe, routing_id)
        };
        self.io.send(Command::Connect {
            socket: Arc::clone(&self.shared),
            endpoint: endpoint.to_string(),
            addr,
            pipe,
            routing_id,
        });
        Ok(())
    }

    fn forget_endpoint(&self, endpoint: &str, bound: bool) -> Result<String> {
        let mut st = self.shared.lock();
        let pos = st
            .endpoints
            .iter()
            .position(|e| e.bound == bound && (e.given == endpoint || e.resolved == endpoint))
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_string()))?;
        Ok(st.endpoints.remove(pos).resolved)
    }

    /// Stops listening on an endpoint given to [`Socket::bind`] (as given, or as resolved) and
    /// closes the connections accepted there. When it returns, the address can be bound again.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        let resolved = self.forget_endpoint(endpoint, true)?;
        let (done, finished) = crate::engine::done_channel();
        self.io.send(Command::Unbind {
            socket_id: self.shared.id,
            endpoint: resolved,
            done,
        });
        crate::engine::wait_done(finished); // the address is free when unbind returns
        Ok(())
    }

    /// Stops connecting to an endpoint given to [`Socket::connect`]; what was queued for it
    /// is dropped.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        let resolved = self.forget_endpoint(endpoint, false)?;
        self.io.send(Command::Disconnect {
            socket_id: self.shared.id,
            endpoint: resolved,
        });
        Ok(())
    }

    /// The endpoint last bound or connected, with the real port after binding port 0.
    pub fn last_endpoint(&self) -> Result<String> {
        self.shared
            .lock()
            .last_endpoint
            .clone()
            .ok_or_else(|| Error::InvalidOption("the socket was never bound or connected".into()))
    }

    /// Sends one frame. With [`SNDMORE`] the frame waits for the rest of its message, which
    /// goes out atomically with the last frame. With [`DONTWAIT`], returns
    /// [`Error::WouldBlock`] instead of blocking when no peer has room.
    pub fn send(&self, msg: impl IntoFrame, flags: i32) -> Result<()> {
        let mut guard = self.locked();
        let frame = msg.into_frame(&mut guard.arena);
        guard.send_partial.push(frame);
        if flags & SNDMORE != 0 {
            return Ok(());
        }
        let parts = std::mem::take(&mut guard.send_partial);
        self.send_locked(guard, parts, flags)
    }

    /// Sends a whole multipart message atomically.
    pub fn send_multipart<I, M>(&self, parts: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: IntoFrame,
    {
        let mut guard = self.locked();
        let st = &mut *guard;
        let parts: Parts = parts.into_iter().map(|m| m.into_frame(&mut st.arena)).collect();
        if parts.is_empty() {
            return Err(Error::InvalidOption("a message needs at least one frame".into()));
        }
        self.send_locked(guard, parts, flags & !SNDMORE)
    }

    fn send_locked(&self, mut guard: Locked<'_>, mut parts: Parts, flags: i32) -> Result<()> {
        self.io.check()?;
        let deadline = crate::deadline::from_now(guard.opts.sndtimeo);
        if guard.delivery.is_some() {
            return self.send_spooled(guard, parts, flags, deadline);
        }
        loop {
            let st = &mut *guard;
            st.reap();
            match st.pattern.send(parts, &mut st.pipes) {
                Ok(()) => {
                    st.run_fast_path();
                    return Ok(());
                }
                Err(SendError::Fatal(e)) => return Err(e),
                Err(SendError::WouldBlock(back)) => {
                    parts = back;
                    self.wait(&mut guard, flags, deadline)?;
                }
            }
        }
    }

    /// With a spool, `send` appends (waiting while the quota is reached) and returns; delivery
    /// drains the spool into the pipes as they have room.
    fn send_spooled(
        &self,
        mut guard: Locked<'_>,
        parts: Parts,
        flags: i32,
        deadline: Option<Instant>,
    ) -> Result<()> {
        loop {
            let Some(delivery) = guard.delivery.as_mut() else {
                return Err(Error::WrongState("the spool was removed"));
            };
            match delivery.append(&parts) {
                Ok(_) => break,
                Err(full @ crate::spool::SpoolError::Full { .. }) => {
                    self.wait(&mut guard, flags, deadline).map_err(|e| match e {
                        Error::WouldBlock => Error::Spool(full),
                        other => other,
                    })?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        guard.dispatch_spool();
        Ok(())
    }

    /// Sends through `spool` from now on: `send` appends each message to it before returning,
    /// and delivery drains it to peers as they have room, so nothing accepted is lost to a
    /// crash, an absent peer or a full queue. Messages left in the spool by an earlier run are
    /// delivered first. PUSH, DEALER and PAIR only; set it before `bind`/`connect`.
    ///
    /// "Delivered" means: to a zocket peer (which announces support in its handshake), handed
    /// to the receiving application, which acknowledges it; to any other peer, written to the
    /// kernel's socket buffer. Until then a message stays in the spool and is re-sent after a
    /// reconnect or restart, so delivery is at-least-once; zocket receivers drop the duplicates.
    pub fn set_spool(&self, spool: impl crate::spool::Spool + 'static) -> Result<()> {
        if !matches!(
            self.shared.socket_type,
            SocketType::Push | SocketType::Dealer | SocketType::Pair
        ) {
            return Err(Error::NotSupported("a spool needs a PUSH, DEALER or PAIR socket"));
        }
        let mut st = self.shared.lock();
        if !st.endpoints.is_empty() {
            return Err(Error::WrongState("set the spool before bind or connect"));
        }
        st.delivery = Some(crate::spool::delivery::Delivery::new(Box::new(spool)));
        Ok(())
    }

    /// Waits on the socket's condition variable, or fails with `WouldBlock` when the caller
    /// asked not to block or the deadline passed.
    fn wait(&self, guard: &mut Locked<'_>, flags: i32, deadline: Option<Instant>) -> Result<()> {
        if flags & DONTWAIT != 0 {
            return Err(Error::WouldBlock);
        }
        // Checked under the lock: a thread that dies later wakes this wait (IoThread::fail).
        self.io.check()?;
        match deadline {
            None => guard.wait(None),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::WouldBlock);
                }
                guard.wait(Some(deadline - now));
            }
        }
        self.io.check()
    }

    /// Locks the socket's state from this application thread (see [`Locked`]).
    fn locked(&self) -> Locked<'_> {
        self.shared.lock_app(&self.io)
    }

    /// Takes the next whole message, waiting per `flags` and the receive timeout. Returns with
    /// the lock still held, so callers finish their bookkeeping in the same critical section.
    fn recv_locked<'a>(&'a self, mut guard: Locked<'a>, flags: i32) -> Result<(Locked<'a>, Parts)> {
        self.io.check()?;
        let deadline = crate::deadline::from_now(guard.opts.rcvtimeo);
        loop {
            let st = &mut *guard;
            let got = st.pattern.recv(&mut st.pipes);
            st.reap();
            if let Some(parts) = got? {
                guard.fast_credit = true;
                return Ok((guard, parts));
            }
            self.wait(&mut guard, flags, deadline)?;
        }
    }

    /// The next whole message: from the prefetched ones, or from the pattern (waiting per
    /// `flags`). Types whose receive is a plain fair-queued pop take a batch at once, so the
    /// application thread touches the state it shares with the I/O thread once per batch
    /// rather than once per message (what libzmq's pipes do too). Not when a spooled sender
    /// is attached: its messages are acknowledged as they are taken.
    fn next_message(&self, flags: i32) -> Result<Parts> {
        if let Some(parts) = self.lock_inbox().prefetched.pop_front() {
            return Ok(parts);
        }
        let (mut guard, parts) = self.recv_locked(self.locked(), flags)?;
        if self.prefetches && !guard.acked_senders {
            let mut inbox = self.lock_inbox();
            let st = &mut *guard;
            while inbox.prefetched.len() < PREFETCH {
                match st.pattern.recv(&mut st.pipes) {
                    Ok(Some(more)) => inbox.prefetched.push_back(more),
                    _ => break,
                }
            }
            st.reap();
        }
        Ok(parts)
    }

    fn lock_inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives one frame; [`Message::more`] tells whether more frames of the same message
    /// follow (they are already here: messages arrive whole).
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        {
            let mut inbox = self.lock_inbox();
            if let Some(frame) = inbox.partial.pop_front() {
                let more = !inbox.partial.is_empty();
                return Ok(Message::with_more(frame, more));
            }
        }
        let mut parts = self.next_message(flags)?;
        if parts.len() == 1 {
            return Ok(Message::with_more(parts.pop().unwrap_or_default(), false));
        }
        let mut parts = parts.into_iter();
        let first = parts.next().unwrap_or_default();
        self.lock_inbox().partial.extend(parts);
        Ok(Message::with_more(first, true))
    }

    /// Receives one frame as a `Vec<u8>`.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Receives one frame as a UTF-8 string; `Ok(Err(bytes))` if it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags)
            .map(|b| String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives a whole multipart message (the rest of it, if `recv_msg` took some frames).
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        Ok(self.recv_frames(flags)?.iter().map(|b| b.to_vec()).collect())
    }

    /// Receives a whole multipart message as `Bytes` frames, without copying.
    pub fn recv_frames(&self, flags: i32) -> Result<Vec<Bytes>> {
        {
            let mut inbox = self.lock_inbox();
            if !inbox.partial.is_empty() {
                return Ok(inbox.partial.drain(..).collect());
            }
        }
        Ok(self.next_message(flags)?.into_vec())
    }

    /// Whether the last frame received by [`Socket::recv_msg`] has more frames after it.
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(!self.lock_inbox().partial.is_empty())
    }

    /// Whether a `send` would not block now.
    pub fn can_send(&self) -> bool {
        let st = self.shared.lock();
        st.pattern.can_send(&st.pipes)
    }

    /// Whether a `recv` would return a message now.
    pub fn can_recv(&self) -> bool {
        {
            let inbox = self.lock_inbox();
            if !inbox.partial.is_empty() || !inbox.prefetched.is_empty() {
                return true;
            }
        }
        let st = self.shared.lock();
        st.pattern.can_recv(&st.pipes)
    }

    /// The events ready now: [`crate::POLLIN`] and/or [`crate::POLLOUT`] (libzmq
    /// `ZMQ_EVENTS`). Also consumes the signal of [`Socket::readiness_fd`].
    pub fn events(&self) -> i16 {
        if let Some(fd) = self.readiness.get() {
            fd.clear();
        }
        let mut events = 0;
        if self.can_recv() {
            events |= crate::poller::POLLIN;
        }
        if self.can_send() {
            events |= crate::poller::POLLOUT;
        }
        events
    }

    /// A file descriptor for another event loop (libzmq `ZMQ_FD`): it becomes readable when
    /// this socket's readiness may have changed.
    ///
    /// The contract is libzmq's, edge-triggered:
    /// - The fd is readable right after this first call, so that messages that arrived before
    ///   anyone watched are not missed: start by calling [`Socket::events`].
    /// - It is a signal, not a level. After it fires, call [`Socket::events`] (which resets
    ///   it), then receive (or send) until [`Error::WouldBlock`]; only then wait on the fd
    ///   again. Waiting while `events()` still reports `POLLIN` may wait forever.
    /// - Wake-ups can be spurious: `events()` may report nothing new.
    ///
    /// The fd belongs to the socket: do not read from or close it.
    pub fn readiness_fd(&self) -> Result<std::os::fd::RawFd> {
        if let Some(fd) = self.readiness.get() {
            return Ok(fd.raw_fd());
        }
        let fd = Arc::new(crate::poller::ReadinessFd::new()?);
        let fd = self.readiness.get_or_init(|| fd);
        crate::poller::watch_with_fd(&self.shared, fd);
        Ok(fd.raw_fd())
    }

    /// `Ok` while the socket's I/O thread runs.
    pub(crate) fn check_io(&self) -> Result<()> {
        self.io.check()
    }

    #[cfg(test)]
    pub(crate) fn io(&self) -> &Arc<IoThread> {
        &self.io
    }

    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    fn set_pattern_option(&self, option: PatternOption) -> Result<()> {
        let mut guard = self.locked();
        let st = &mut *guard;
        st.pattern.set_option(option, &mut st.pipes)
    }

    fn with_options<T>(&self, f: impl FnOnce(&mut crate::options::Options) -> T) -> T {
        f(&mut self.shared.lock().opts)
    }
}

/// Typed options. Each setter documents the libzmq option it mirrors.
impl Socket {
    /// Send high-water mark: messages queued per peer before `send` blocks (or drops, on
    /// PUB); 0 = no limit. Applies to peers attached afterwards (libzmq `ZMQ_SNDHWM`).
    pub fn set_sndhwm(&self, hwm: usize) -> Result<()> {
        self.with_options(|o| o.sndhwm = hwm);
        Ok(())
    }
    /// The send high-water mark.
    pub fn sndhwm(&self) -> usize {
        self.with_options(|o| o.sndhwm)
    }
    /// Receive high-water mark: messages queued per peer before reading from it pauses
    /// (libzmq `ZMQ_RCVHWM`).
    pub fn set_rcvhwm(&self, hwm: usize) -> Result<()> {
        self.with_options(|o| o.rcvhwm = hwm);
        Ok(())
    }
    /// The receive high-water mark.
    pub fn rcvhwm(&self) -> usize {
        self.with_options(|o| o.rcvhwm)
    }
    /// How long closing waits to deliver queued messages; `None` = forever
    /// (libzmq `ZMQ_LINGER`; zocket's default is 2 s, see [`crate::DEFAULT_LINGER`]).
    pub fn set_linger(&self, linger: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.linger = linger);
        Ok(())
    }
    /// The linger period.
    pub fn linger(&self) -> Option<Duration> {
        self.with_options(|o| o.linger)
    }
    /// Send timeout: `None` blocks forever (libzmq `ZMQ_SNDTIMEO`).
    pub fn set_sndtimeo(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.sndtimeo = timeout);
        Ok(())
    }
    /// Receive timeout: `None` blocks forever (libzmq `ZMQ_RCVTIMEO`).
    pub fn set_rcvtimeo(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.rcvtimeo = timeout);
        Ok(())
    }
    /// First reconnection interval (libzmq `ZMQ_RECONNECT_IVL`, default 100 ms).
    pub fn set_reconnect_ivl(&self, ivl: Duration) -> Result<()> {
        if ivl.is_zero() {
            return Err(Error::InvalidOption("reconnect interval must be positive".into()));
        }
        self.with_options(|o| o.reconnect_ivl = ivl);
        Ok(())
    }
    /// Upper bound of the exponential back-off; zero keeps the interval constant
    /// (libzmq `ZMQ_RECONNECT_IVL_MAX`).
    pub fn set_reconnect_ivl_max(&self, ivl: Duration) -> Result<()> {
        self.with_options(|o| o.reconnect_ivl_max = ivl);
        Ok(())
    }
    /// Time allowed for the ZMTP handshake; `None` = no limit (libzmq `ZMQ_HANDSHAKE_IVL`,
    /// default 30 s).
    pub fn set_handshake_ivl(&self, ivl: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.handshake_ivl = ivl);
        Ok(())
    }
    /// Largest message accepted from a peer, in bytes; a peer that sends more is
    /// disconnected. `None` = no limit (libzmq `ZMQ_MAXMSGSIZE`).
    pub fn set_maxmsgsize(&self, size: Option<u64>) -> Result<()> {
        self.with_options(|o| o.max_msg_size = size);
        Ok(())
    }
    /// This socket's routing id, announced to peers (libzmq `ZMQ_ROUTING_ID`): 1 to 255
    /// bytes, not starting with a zero byte.
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 || id[0] == 0 {
            return Err(Error::InvalidOption(
                "a routing id is 1-255 bytes, not starting with 0".into(),
            ));
        }
        self.with_options(|o| o.routing_id = Bytes::copy_from_slice(id));
        Ok(())
    }
    /// The routing id this socket announces.
    pub fn routing_id(&self) -> Vec<u8> {
        self.with_options(|o| o.routing_id.to_vec())
    }
    /// The routing id to give the peer of the next `connect` (libzmq
    /// `ZMQ_CONNECT_ROUTING_ID`), for ROUTER sockets addressing peers they connect to.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption("a routing id is 1-255 bytes".into()));
        }
        self.with_options(|o| o.connect_routing_id = Some(Bytes::copy_from_slice(id)));
        Ok(())
    }
    /// Queue messages only to peers whose connection is complete (libzmq `ZMQ_IMMEDIATE`).
    pub fn set_immediate(&self, on: bool) -> Result<()> {
        self.with_options(|o| o.immediate = on);
        Ok(())
    }
    /// Send a ZMTP PING on each connection at this interval, and drop a connection whose peer
    /// sends nothing at all for the heartbeat timeout after a PING (libzmq
    /// `ZMQ_HEARTBEAT_IVL`; `None`, the default, sends none). Applies to new connections.
    pub fn set_heartbeat_ivl(&self, ivl: Option<Duration>) -> Result<()> {
        if ivl.is_some_and(|d| d.is_zero()) {
            return Err(Error::InvalidOption("heartbeat interval must be positive".into()));
        }
        self.with_options(|o| o.heartbeat_ivl = ivl);
        Ok(())
    }
    /// How long to wait for any traffic after a PING before dropping the connection
    /// (libzmq `ZMQ_HEARTBEAT_TIMEOUT`; default: the heartbeat interval).
    pub fn set_heartbeat_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.with_options(|o| o.heartbeat_timeout = timeout);
        Ok(())
    }
    /// The time-to-live announced in our PINGs: the peer drops the connection if it hears
    /// nothing from us for that long (libzmq `ZMQ_HEARTBEAT_TTL`, tenths of a second on the
    /// wire, at most 6553.5 s).
    pub fn set_heartbeat_ttl(&self, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some_and(|d| d > Duration::from_millis(6_553_500)) {
            return Err(Error::InvalidOption("heartbeat TTL is at most 6553.5 s".into()));
        }
        self.with_options(|o| o.heartbeat_ttl = ttl);
        Ok(())
    }
    /// SUB: receive messages starting with `prefix` (empty = everything).
    pub fn set_subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Subscribe(Bytes::copy_from_slice(prefix)))
    }
    /// SUB: remove one subscription to `prefix`.
    pub fn set_unsubscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Unsubscribe(Bytes::copy_from_slice(prefix)))
    }
    /// REQ: allow a new request before the reply came (libzmq `ZMQ_REQ_RELAXED`).
    pub fn set_req_relaxed(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::ReqRelaxed(on))
    }
    /// REQ: tag requests with an id and drop replies that do not match
    /// (libzmq `ZMQ_REQ_CORRELATE`).
    pub fn set_req_correlate(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::ReqCorrelate(on))
    }
    /// ROUTER: fail with `HostUnreachable` on unknown routing ids, and block (or
    /// `WouldBlock`) on full peers, instead of dropping (libzmq `ZMQ_ROUTER_MANDATORY`).
    pub fn set_router_mandatory(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::RouterMandatory(on))
    }
    /// ROUTER: a new peer with a routing id in use takes it over (libzmq
    /// `ZMQ_ROUTER_HANDOVER`); otherwise the newcomer is refused.
    pub fn set_router_handover(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::RouterHandover(on))
    }
    /// XPUB: pass every subscription to the application, not only new ones
    /// (libzmq `ZMQ_XPUB_VERBOSE`).
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubVerbose(on))
    }
    /// XPUB: pass every subscription and unsubscription (libzmq `ZMQ_XPUB_VERBOSER`).
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubVerboser(on))
    }
    /// XPUB: the application decides subscriptions with `set_subscribe` after reading each
    /// request (libzmq `ZMQ_XPUB_MANUAL`).
    pub fn set_xpub_manual(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubManual(on))
    }
    /// XPUB: a message sent to each new subscriber (libzmq `ZMQ_XPUB_WELCOME_MSG`).
    pub fn set_xpub_welcome_msg(&self, msg: Option<&[u8]>) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubWelcomeMsg(msg.map(Bytes::copy_from_slice)))
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let bound = {
            let mut st = self.shared.lock();
            st.closed = true;
            st.endpoints.iter().any(|e| e.bound)
        };
        // A bound socket waits until its listeners are closed, so that the address can be
        // bound again right away (lingering deliveries go on in the background).
        let (done, finished) = if bound {
            let (done, finished) = crate::engine::done_channel();
            (done, Some(finished))
        } else {
            (None, None)
        };
        self.io.send(Command::Close {
            socket_id: self.shared.id,
            done,
        });
        if let Some(finished) = finished {
            crate::engine::wait_done(finished);
        }
        self.ctx.socket_closed();
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.shared.socket_type)
            .finish()
    }
}

//! The event loop: accepts, connects, reads, writes, runs timers and commands.

mod closing;
mod listening;

use super::config::ConnConfig;
use super::connection::{Attachment, Connection, EINPROGRESS, Origin};
use super::connector::Connector;
use super::{Command, IoThreads, WAKER};
use crate::SocketEvent;
use crate::pipe::IoWake;
use crate::socket::shared::SocketShared;
use crate::transport::{Listener, Stream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct ListenerEntry {
    socket_id: u64,
    endpoint: Arc<str>,
    listener: Listener,
    config: Arc<ConnConfig>,
}

struct SocketEntry {
    shared: Arc<SocketShared>,
    /// Set once the application closed the socket: when lingering ends (None: never).
    linger_until: Option<Option<Instant>>,
}

pub(super) struct Reactor {
    poll: Poll,
    /// This thread's index among the context's I/O threads.
    index: usize,
    io: Arc<IoThreads>,
    sockets: HashMap<u64, SocketEntry>,
    conns: HashMap<Token, Connection>,
    listeners: HashMap<Token, ListenerEntry>,
    connectors: HashMap<u64, Connector>,
    next_token: usize,
    shutting_down: bool,
    wakes: Vec<IoWake>,
}

impl Reactor {
    pub fn new(poll: Poll, index: usize, io: Arc<IoThreads>) -> Reactor {
        Reactor {
            poll,
            index,
            io,
            sockets: HashMap::new(),
            conns: HashMap::new(),
            listeners: HashMap::new(),
            connectors: HashMap::new(),
            next_token: 1,
            shutting_down: false,
            wakes: Vec::new(),
        }
    }

    /// Runs until the context shuts down (`Ok`) or polling fails (`Err`, the reason).
    pub fn run(mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        let mut commands = Vec::new();
        loop {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                return Err(format!("polling failed: {e}"));
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {
                        self.io.thread(self.index).take_commands(&mut commands);
                        for cmd in commands.drain(..) {
                            self.command(cmd);
                        }
                    }
                    token if self.listeners.contains_key(&token) => self.accept(token),
                    token => self.conn_event(token, event.is_read_closed() || event.is_error()),
                }
            }
            self.run_timers();
            self.finish_closing_sockets();
            self.run_wakes();
            if self.shutting_down && self.sockets.is_empty() {
                return Ok(());
            }
        }
    }

    fn token(&mut self) -> Token {
        let t = Token(self.next_token);
        self.next_token += 1;
        t
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Bind {
                socket,
                listener,
                endpoint,
                config,
            } => self.listen(socket, listener, endpoint, config),
            Command::Connect {
                key,
                socket,
                endpoint,
                addr,
                pipe,
                out_reader,
                routing_id,
                config,
            } => {
                let socket_id = socket.id;
                self.socket_entry(socket);
                let id = super::split_conn_id(key).1.0 as u64;
                self.connectors.insert(
                    id,
                    Connector::new(
                        socket_id,
                        endpoint,
                        addr,
                        pipe,
                        out_reader.map(|reader| *reader),
                        routing_id,
                        config,
                    ),
                );
                self.start_connect(id);
            }
            Command::Unbind {
                socket_id,
                endpoint,
                done,
            } => {
                self.unbind(socket_id, &endpoint);
                signal(done);
            }
            Command::Disconnect { socket_id, endpoint } => {
                let found: Vec<u64> = self
                    .connectors
                    .iter()
                    .filter(|(_, c)| c.socket_id == socket_id && c.endpoint == endpoint)
                    .map(|(id, _)| *id)
                    .collect();
                for id in found {
                    self.remove_connector(id);
                }
            }
            Command::Adopt {
                socket,
                stream,
                endpoint,
                config,
            } => {
                self.socket_entry(Arc::clone(&socket));
                let origin = Origin::Listener(endpoint);
                let _ = self.add_conn(socket, config, origin, stream, false, unattached());
            }
            Command::Wake(IoWake::Flush(conn)) => {
                let (_, token) = super::split_conn_id(conn);
                self.with_conn(token, |c| c.write())
            }
            Command::Wake(IoWake::Resume(conn)) => {
                let (_, token) = super::split_conn_id(conn);
                self.with_conn(token, |c| c.resume())
            }
            Command::Wake(IoWake::FlushConnector(key)) => {
                let id = super::split_conn_id(key).1.0 as u64;
                if let Some(token) = self.connectors.get(&id).and_then(|c| c.conn) {
                    self.with_conn(token, |c| c.write())
                }
            }
            Command::Wake(IoWake::Refused(conn, reason)) => {
                let (_, token) = super::split_conn_id(conn);
                if self.conns.contains_key(&token) {
                    self.close_conn(token, reason);
                }
            }
            Command::Close {
                socket_id,
                linger,
                done,
            } => {
                self.close_socket(socket_id, linger);
                signal(done);
            }
            Command::LookedUp { id, result } => self.looked_up(id, result),
            Command::ZapReply { conn, ticket, reply } => {
                let (_, token) = super::split_conn_id(conn);
                self.with_conn(token, |c| c.on_zap_answer(Some(ticket), Some(reply)));
            }
            Command::Shutdown => self.shutting_down = true,
            #[cfg(test)]
            Command::Crash => panic!("crash requested by a test"),
        }
    }

    fn socket_entry(&mut self, shared: Arc<SocketShared>) {
        self.sockets.entry(shared.id).or_insert(SocketEntry {
            shared,
            linger_until: None,
        });
    }

    /// Runs `f` on a connection and closes it if `f` fails.
    fn with_conn(&mut self, token: Token, f: impl FnOnce(&mut Connection) -> Result<(), String>) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if let Err(reason) = f(conn) {
            self.close_conn(token, &reason);
            return;
        }
        self.ask_zap(token);
    }

    /// Puts a connection's ZAP question to the context's ZAP client, whose answer comes back
    /// as [`Command::ZapReply`]; without a handler, answers it at once.
    fn ask_zap(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let Some((config, _)) = conn.take_zap_query() else {
            return;
        };
        let Some(zap) = config.zap.as_ref().filter(|z| z.handler_bound()) else {
            return self.with_conn(token, |c| c.on_zap_answer(None, None));
        };
        let ticket = conn.zap_sent();
        let conn_id = conn.id();
        let frames = |id: &[u8]| conn.zap_frames(id);
        let (io, thread) = (Arc::downgrade(&self.io), self.index);
        zap.request(
            frames,
            Box::new(move |reply| {
                if let Some(io) = io.upgrade() {
                    let reply = Command::ZapReply {
                        conn: conn_id,
                        ticket,
                        reply,
                    };
                    io.send_to(thread, reply);
                }
            }),
        );
    }

    /// Readiness on a connection; `drain` asks to read until the socket would block (the peer
    /// closed, or an error is pending), otherwise a short read ends the reading.
    fn conn_event(&mut self, token: Token, drain: bool) {
        self.with_conn(token, |c| c.on_event(drain));
    }

    /// Wake-ups produced on this thread (e.g. a pattern queued on another pipe).
    /// Wake-ups produced on this thread: run here, or sent to the thread that owns the
    /// connection (a socket's connections can be on several threads).
    fn run_wakes(&mut self) {
        while let Some(wake) = self.wakes.pop() {
            let (thread, _) = super::split_conn_id(wake.conn());
            if thread == self.index {
                self.command(Command::Wake(wake));
            } else {
                self.io.send_to(thread, Command::Wake(wake));
            }
        }
    }

    fn add_conn(
        &mut self,
        socket: Arc<SocketShared>,
        config: Arc<ConnConfig>,
        origin: Origin,
        mut stream: crate::transport::Stream,
        connecting: bool,
        attachment: Attachment,
    ) -> Result<Token, Attachment> {
        let token = self.token();
        if let Err(e) =
            self.poll
                .registry()
                .register(stream.source(), token, Interest::READABLE | Interest::WRITABLE)
        {
            log::warn!("cannot watch a connection: {e}");
            return Err(attachment); // what it lent comes back
        }
        let id = super::conn_id(self.index, token);
        let conn = Connection::new(id, socket, config, origin, stream, connecting, attachment);
        self.conns.insert(token, conn);
        // Send the greeting at once and read whatever is already there.
        self.conn_event(token, true);
        Ok(token)
    }

    fn start_connect(&mut self, id: u64) {
        let Some(c) = self.connectors.get_mut(&id) else {
            return;
        };
        c.retry_at = None;
        let Some(socket) = self.sockets.get(&c.socket_id).map(|s| Arc::clone(&s.shared)) else {
            return;
        };
        if let Some((host, port)) = c.addr.name()
            && c.looked_up.is_none()
        {
            // Looked up anew at each attempt, off this thread; the answer comes back as a
            // command and starts the attempt.
            if !c.looking_up {
                let io = Arc::downgrade(&self.io);
                c.looking_up = super::connector::spawn_lookup(io, self.index, id, host, port);
                if !c.looking_up {
                    self.retry_later(id, "no thread to look the host up");
                }
            }
            return;
        }
        let config = Arc::clone(&c.config);
        match c.addr.connect(c.looked_up.take(), &config.tcp) {
            Ok(stream) => {
                let attachment = Attachment {
                    persistent_pipe: c.pipe,
                    reconnection: c.was_connected,
                    routing_id: c.routing_id.clone(),
                    out_reader: c.out_reader.take().map(Box::new),
                    resend: std::mem::take(&mut c.resend),
                };
                if matches!(stream, Stream::Tcp(_)) {
                    // A non-blocking TCP connect is always in progress at first.
                    let event = SocketEvent::ConnectDelayed;
                    socket.monitor.emit(event, EINPROGRESS, &c.endpoint, || None);
                }
                let origin = Origin::Connector(id, c.endpoint.as_str().into());
                let added = self.add_conn(socket, config, origin, stream, true, attachment);
                let token = match added {
                    Ok(token) => Some(token),
                    Err(attachment) => {
                        if let Some(c) = self.connectors.get_mut(&id) {
                            c.out_reader = attachment.out_reader.map(|reader| *reader);
                            c.resend = attachment.resend;
                        }
                        None
                    }
                };
                if let Some(c) = self.connectors.get_mut(&id) {
                    if c.conn.is_none() && token.is_some_and(|t| self.conns.contains_key(&t)) {
                        c.conn = token;
                    } else if c.conn.is_none() && c.retry_at.is_none() {
                        self.retry_later(id, "the connection could not be watched");
                    }
                }
            }
            Err(e) => self.retry_later(id, &format!("connect failed: {e}")),
        }
    }

    /// A named peer's lookup finished: connect to what it found, or try again later.
    fn looked_up(&mut self, id: u64, result: Result<std::net::SocketAddr, String>) {
        let Some(c) = self.connectors.get_mut(&id) else {
            return; // disconnected meanwhile
        };
        c.looking_up = false;
        match result {
            Ok(addr) => {
                c.looked_up = Some(addr);
                self.start_connect(id);
            }
            Err(e) => {
                let host = c.addr.name().map_or("", |(host, _)| host).to_string();
                self.retry_later(id, &format!("cannot resolve {host}: {e}"));
            }
        }
    }

    /// Schedules the connector's next attempt after a failure (`why`), and tells the
    /// monitors when. The log hears of it once per back-off step, not at every attempt.
    fn retry_later(&mut self, id: u64, why: &str) {
        let Some(c) = self.connectors.get_mut(&id) else {
            return;
        };
        let (base, max) = (c.config.reconnect_ivl, c.config.reconnect_ivl_max);
        let ivl = c.schedule_retry(Instant::now(), base, max);
        if let Some(socket) = self.sockets.get(&c.socket_id) {
            if c.logged_ivl != Some(ivl) {
                c.logged_ivl = Some(ivl);
                let kind = socket.shared.socket_type;
                log::debug!("{kind} {}: {why}; retrying every {ivl:?}", c.endpoint);
            }
            let ms = ivl.as_millis() as u64;
            socket
                .shared
                .monitor
                .emit(SocketEvent::ConnectRetried, ms, &c.endpoint, || None);
        }
    }

    fn remove_connector(&mut self, id: u64) {
        // The socket detached the pipe itself (`disconnect`), or is closed. Its connection
        // gives the outbound reader back to the connector as it goes.
        if let Some(token) = self.connectors.get(&id).and_then(|c| c.conn) {
            self.close_conn(token, "disconnected");
        }
        let Some(mut c) = self.connectors.remove(&id) else {
            return;
        };
        // The socket no longer writes into it: spooled messages it still holds go again.
        if let Some(spool) = &c.config.spool {
            spool.requeue(c.resend.drain(..).map(|(seq, _)| seq));
            if let Some(rx) = &mut c.out_reader {
                spool.requeue(crate::pipe::unsent_seqs(rx));
            }
        }
    }

    fn close_conn(&mut self, token: Token, reason: &str) {
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        conn.report_closed(reason);
        conn.flush_acks();
        let _ = self.poll.registry().deregister(conn.stream.source());
        conn.release();
        if let Origin::Connector(id, _) = conn.origin {
            let Some(c) = self.connectors.get_mut(&id) else {
                return;
            };
            if let Some(reader) = conn.take_out_reader() {
                c.out_reader = Some(reader); // what it did not take waits for the next one
            }
            let resend = conn.take_resend();
            if !resend.is_empty() {
                c.resend = resend;
            }
            if c.conn == Some(token) {
                c.conn = None;
                if !conn.connecting && conn.handshake_deadline.is_none() {
                    c.was_connected = true;
                    c.reset_backoff();
                }
                self.retry_later(id, reason);
            } else if c.conn.is_none() && c.retry_at.is_none() {
                // Failed while `start_connect` was still opening it.
                self.retry_later(id, reason);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let handshakes = self.conns.values().filter_map(|c| c.timer_deadline());
        let retries = self.connectors.values().filter_map(|c| c.retry_at);
        let lingers = self.sockets.values().filter_map(|s| s.linger_until.flatten());
        let closing = self
            .sockets
            .values()
            .any(|s| s.linger_until.is_some())
            .then(|| Instant::now() + Duration::from_millis(10));
        handshakes.chain(retries).chain(lingers).chain(closing).min()
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        let due_conns: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| c.timer_deadline().is_some_and(|d| d <= now))
            .map(|(t, _)| *t)
            .collect();
        for token in due_conns {
            self.with_conn(token, |c| c.on_timer(now));
        }
        let due: Vec<u64> = self
            .connectors
            .iter()
            .filter(|(_, c)| c.conn.is_none() && c.retry_at.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.start_connect(id);
        }
    }
}

/// How an accepted connection attaches: with a pipe of its own.
fn unattached() -> Attachment {
    Attachment {
        persistent_pipe: None,
        reconnection: false,
        routing_id: None,
        out_reader: None,
        resend: Default::default(),
    }
}

fn signal(done: super::Done) {
    if let Some(tx) = done {
        let _ = tx.try_send(());
    }
}

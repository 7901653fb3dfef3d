//! The public socket handle: bind/connect, waiting, readiness and closing. Sending,
//! receiving and the typed options have their own files.

mod attach;
pub(crate) mod attention;
mod backlog;
mod batch;
mod behaviour_options;
pub use batch::{Batch, BatchId, Checkback};
pub(crate) mod dedup;
pub(crate) mod delivery;
mod finishing;
pub(crate) mod from_io;
mod inbox;
pub(crate) mod inproc;
mod lifecycle;
pub use lifecycle::{NOTIFY_CONNECT, NOTIFY_DISCONNECT};
mod monitoring;
mod options;
mod ordered_map;
mod polled;
mod readiness;
mod readiness_api;
mod receipts;
mod recv;
mod security_options;
mod send;
mod sequenced;
pub(crate) mod shared;
pub(crate) mod sleepers;
pub(crate) mod spool_link;
pub use security_options::Mechanism;
mod tcp_options;
mod unrouted;

use crate::context::shared::ContextInner;
use crate::engine::config::ConnConfig;
use crate::engine::{Command, IoThreads};
use crate::error::{Error, Result};
use crate::message::Frame;
use crate::pattern::PatternOption;
use crate::socket_type::SocketType;
use crate::transport::{Endpoint, Listener, PeerAddr};
use shared::{EndpointRecord, Locked, SocketShared};
use std::sync::Arc;
use std::time::Instant;

/// Flag: do not block; return [`Error::WouldBlock`] instead (libzmq `ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = 1;
/// Flag: more frames of this message follow (libzmq `ZMQ_SNDMORE`).
pub const SNDMORE: i32 = 2;
/// Event flag: a message can be received (libzmq `ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Event flag: a message can be sent (libzmq `ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;

/// A messaging socket. Safe to share between threads (calls are serialised internally);
/// dropping it closes it, delivering what it queued for at most its linger period.
///
/// # Examples
///
/// ```
/// use zocket::{Context, SocketType};
///
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("tcp://127.0.0.1:0")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect(&pull.last_endpoint()?)?;
/// std::thread::scope(|s| {
///     s.spawn(|| push.send("from another thread", 0)); // sockets are Send + Sync
/// });
/// assert_eq!(pull.recv_bytes(0)?, b"from another thread");
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct Socket {
    shared: Arc<SocketShared>,
    /// What the application threads took from the socket and not yet handed out: the rest of
    /// a multipart message read frame by frame, and prefetched messages.
    inbox: Arc<std::sync::Mutex<inbox::Inbox>>,
    /// Whether this type's receive is a plain pop that may be batched.
    prefetches: bool,
    /// The descriptor another event loop waits on (`readiness_fd`, `AsFd`), made with the
    /// socket and watching it from the first time it is handed out.
    readiness: Arc<readiness::ReadinessFd>,
    readiness_watched: std::sync::Once,
    io: Arc<IoThreads>,
    // Keeps the context (and its I/O thread) alive while the socket lives.
    ctx: Arc<ContextInner>,
}

impl Socket {
    pub(crate) fn new(
        shared: Arc<SocketShared>,
        io: Arc<IoThreads>,
        ctx: Arc<ContextInner>,
    ) -> Result<Socket> {
        let socket_type = shared.socket_type;
        let inbox = Arc::clone(&shared.lock().inbox);
        Ok(Socket {
            shared,
            io,
            ctx,
            readiness: Arc::new(readiness::ReadinessFd::new()?),
            readiness_watched: std::sync::Once::new(),
            inbox,
            prefetches: socket_type.batches_receives(),
        })
    }

    /// This socket's type.
    #[doc(alias = "get_socket_type")]
    pub fn socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    /// Binds to an endpoint (`tcp://host:port`, `tcp://*:0`, `ipc:///path`) and starts
    /// accepting peers. The real endpoint is then readable with [`Socket::last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.io.check()?;
        if let Some(name) = inproc::name_of(endpoint) {
            return self.ctx.inproc.bind(&self.io, &self.shared, endpoint, name?);
        }
        let parsed = Endpoint::parse(endpoint)?;
        self.with_options(|o| o.security.check())?;
        let tuning = self.with_options(|o| o.tcp.clone());
        let (mut listener, resolved) = match Listener::bind(endpoint, &parsed, &tuning) {
            Ok(bound) => bound,
            Err(e) => {
                let errno = e.errno() as u64;
                log::info!(
                    "{} socket: bind to {endpoint} failed: {e}",
                    self.shared.socket_type
                );
                let event = crate::SocketEvent::BindFailed;
                self.shared.monitor.emit(event, errno, endpoint, || None);
                return Err(e);
            }
        };
        log::info!("{} socket: listening on {resolved}", self.shared.socket_type);
        let event = crate::SocketEvent::Listening;
        let fd = listener.raw_fd();
        self.shared.monitor.emit(event, fd, &resolved, || None);
        let config = {
            let mut st = self.shared.lock();
            st.endpoints.push(EndpointRecord {
                given: endpoint.to_string(),
                resolved: resolved.clone(),
                bound: true,
                pipe: None,
            });
            st.last_endpoint = Some(resolved.clone());
            ConnConfig::snapshot(self.shared.socket_type, &st, self.ctx.zap_client())
        };
        self.io.send_to(
            self.io.next_index(),
            Command::Bind {
                socket: Arc::clone(&self.shared),
                listener,
                endpoint: resolved,
                config,
            },
        );
        Ok(())
    }

    /// Connects to an endpoint. The peer need not be there yet: the socket reconnects with
    /// back-off until it is, and (except ROUTER, or with `immediate`) messages sent meanwhile
    /// wait in the pipe, up to the high-water mark.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.io.check()?;
        if let Some(name) = inproc::name_of(endpoint) {
            return self.ctx.inproc.connect(&self.io, &self.shared, endpoint, name?);
        }
        let parsed = Endpoint::parse(endpoint)?;
        let addr = PeerAddr::for_connect(endpoint, &parsed)?;
        self.with_options(|o| o.security.check())?;
        log::info!("{} socket: connecting to {endpoint}", self.shared.socket_type);
        let key = self.io.new_connector();
        let (pipe, out_reader, routing_id, config) = {
            let mut guard = self.locked();
            // A new pipe can unblock a sender waiting for a peer.
            guard.notify_on_drop();
            let st = &mut *guard;
            st.last_endpoint = Some(endpoint.to_string());
            let routing_id = st.opts.connect_routing_id.take();
            let keeps_pipe = !st.opts.immediate && self.shared.socket_type != SocketType::Router;
            let (pipe, out_reader) = if keeps_pipe {
                let (mut pipe, out_reader) = st.new_wire_pipe();
                pipe.connector = Some(key);
                if let Some(id) = &routing_id {
                    pipe.routing_id = Frame::from(id);
                }
                (st.attach_pipe(pipe), Some(out_reader))
            } else {
                (None, None)
            };
            st.endpoints.push(EndpointRecord {
                given: endpoint.to_string(),
                resolved: endpoint.to_string(),
                bound: false,
                pipe,
            });
            (
                pipe,
                out_reader,
                routing_id,
                ConnConfig::snapshot(self.shared.socket_type, st, self.ctx.zap_client()),
            )
        };
        self.io.send_to(
            crate::engine::split_conn_id(key).0,
            Command::Connect {
                key,
                socket: Arc::clone(&self.shared),
                endpoint: endpoint.to_string(),
                addr,
                pipe,
                out_reader: out_reader.map(Box::new),
                routing_id,
                config,
            },
        );
        Ok(())
    }

    /// Forgets an endpoint bound or connected to. A pipe made at `connect` is detached here:
    /// its messages are dropped, and what its peer sent stays readable.
    fn forget_endpoint(&self, endpoint: &str, bound: bool) -> Result<String> {
        let mut guard = self.locked();
        let st = &mut *guard;
        let pos = st
            .endpoints
            .iter()
            .position(|e| e.bound == bound && (e.given == endpoint || e.resolved == endpoint))
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_string()))?;
        let record = st.endpoints.remove(pos);
        if let Some(pipe) = record.pipe {
            st.detach_pipe(pipe, None); // its connector requeues what it holds
        }
        Ok(record.resolved)
    }

    /// Stops listening on an endpoint given to [`Socket::bind`] (as given, or as resolved) and
    /// closes the connections accepted there. When it returns, the address can be bound again.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        let resolved = self.forget_endpoint(endpoint, true)?;
        if let Some(Ok(name)) = inproc::name_of(&resolved) {
            self.ctx.inproc.unbind(&self.io, &self.shared, &resolved, name);
            return Ok(());
        }
        // The address is free when unbind returns.
        crate::engine::broadcast_and_wait(&self.io, |done| Command::Unbind {
            socket_id: self.shared.id,
            endpoint: resolved.clone(),
            done,
        });
        Ok(())
    }

    /// Stops connecting to an endpoint given to [`Socket::connect`]; what was queued for it
    /// is dropped.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        let resolved = self.forget_endpoint(endpoint, false)?;
        if let Some(Ok(name)) = inproc::name_of(&resolved) {
            self.ctx
                .inproc
                .disconnect(&self.io, &self.shared, &resolved, name);
            return Ok(());
        }
        self.io.broadcast(|_| Command::Disconnect {
            socket_id: self.shared.id,
            endpoint: resolved.clone(),
        });
        Ok(())
    }

    /// The endpoint last bound or connected, with the real port after binding port 0.
    #[doc(alias = "get_last_endpoint")]
    pub fn last_endpoint(&self) -> Result<String> {
        self.shared
            .lock()
            .last_endpoint
            .clone()
            .ok_or_else(|| Error::InvalidOption("the socket was never bound or connected".into()))
    }

    /// Parks until the socket may have changed (see `sleepers`), or fails with `WouldBlock`
    /// when the caller asked not to block or the deadline passed.
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
        self.shared.lock_app(&*self.io)
    }

    /// Whether a `send` would not block now.
    pub fn can_send(&self) -> bool {
        let mut st = self.locked();
        st.sync_polled();
        st.pattern.can_send(&st.pipes)
    }

    /// Whether a `recv` would return a message now.
    pub fn can_recv(&self) -> bool {
        {
            if self.refreshed(self.lock_inbox()).has_any() {
                return true;
            }
        }
        let mut st = self.locked();
        st.sync_polled();
        st.pattern.can_recv(&st.pipes)
    }

    /// `Ok` while the socket's I/O thread runs.
    pub(crate) fn check_io(&self) -> Result<()> {
        self.io.check()
    }

    #[cfg(test)]
    pub(crate) fn io(&self) -> &Arc<IoThreads> {
        &self.io
    }

    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    fn set_pattern_option(&self, option: PatternOption) -> Result<()> {
        let mut guard = self.locked();
        let st = &mut *guard;
        st.sync_polled(); // pipes attached meanwhile get the change (a subscription) too
        st.pattern.set_option(option, &mut st.pipes)
    }

    fn with_options<T>(&self, f: impl FnOnce(&mut crate::options::Options) -> T) -> T {
        f(&mut self.shared.lock().opts)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Prefetched messages the application took are acknowledged with the close.
        if !self.lock_inbox().taken_is_empty() {
            self.settle_taken(&mut self.locked());
        }
        self.shared.monitor.stop();
        // Its PAIR holds the context: gone before this socket's close, as libzmq's is.
        self.shared.monitor.join_forwarder();
        self.ctx.inproc.close(&self.io, &self.shared);
        let (bound, linger) = {
            let st = self.shared.lock();
            (st.endpoints.iter().any(|e| e.bound), st.opts.linger)
        };
        // A bound socket waits until its listeners are closed, so that the address can be
        // bound again right away (lingering deliveries go on in the background).
        let socket_id = self.shared.id;
        if bound {
            crate::engine::broadcast_and_wait(&self.io, |done| Command::Close {
                socket_id,
                linger,
                done,
            });
        } else {
            self.io.broadcast(|_| Command::Close {
                socket_id,
                linger,
                done: None,
            });
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

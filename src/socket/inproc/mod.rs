//! inproc endpoints: the context's registry of bound names, and joining two sockets.
//!
//! `connect` before `bind` works, as in libzmq 4: the connection is made at once and parked
//! under the name; the connecting socket can queue messages (up to its high-water mark),
//! and the bind attaches the parked ends. There is no reconnect: a connection ends when
//! either side unbinds, disconnects or closes, and a later bind of the name does not bring
//! it back (libzmq behaves the same).
//!
//! Locks are taken in one order: the registry, then one socket at a time, never two.

mod state;

use super::shared::{EndpointRecord, SocketShared};
use crate::engine::IoThreads;
use crate::error::{Error, Result};
use crate::inproc::{self, InprocEnd, PeerWake};
use crate::socket_type::SocketType;
use crate::sync::{AtomicBool, Ordering};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The scheme prefix of inproc endpoints.
pub(crate) const SCHEME: &str = "inproc://";

/// The names bound in one context, and the connections waiting for a bind.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    bound: HashMap<String, Weak<SocketShared>>,
    parked: HashMap<String, Vec<Parked>>,
}

/// A connection made before its name was bound.
struct Parked {
    connector: Weak<SocketShared>,
    connector_type: SocketType,
    connector_identity: Bytes,
    /// The connecting socket's marks, to size the pipes once the binding socket's are known.
    connector_hwm: (usize, usize),
    /// The binding side's end, attached at the bind.
    binding_end: InprocEnd,
    /// The connecting side's end, when the connecting socket could not take it yet (a
    /// ROUTER, or `immediate`): attached at the bind too.
    connecting_end: Option<InprocEnd>,
    /// The routing id the connecting socket gives the binding one (CONNECT_ROUTING_ID).
    connect_routing_id: Option<Bytes>,
}

/// What the other side needs to know about a socket to join it.
struct Profile {
    socket_type: SocketType,
    identity: Bytes,
    sndhwm: usize,
    rcvhwm: usize,
    closed: bool,
}

fn profile(socket: &SocketShared) -> Profile {
    let st = socket.lock();
    Profile {
        socket_type: socket.socket_type,
        identity: st.opts.routing_id.clone(),
        sndhwm: st.opts.sndhwm,
        rcvhwm: st.opts.rcvhwm,
        closed: st.closed,
    }
}

/// The name of an inproc endpoint, if `endpoint` is one.
pub(crate) fn name_of(endpoint: &str) -> Option<Result<&str>> {
    let name = endpoint.strip_prefix(SCHEME)?;
    if name.is_empty() {
        return Some(Err(Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: "empty inproc name".to_string(),
        }));
    }
    Some(Ok(name))
}

fn incompatible(endpoint: &str, ours: SocketType, theirs: SocketType) -> Error {
    Error::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        reason: format!(
            "a {} socket cannot talk to a {} socket",
            ours.name(),
            theirs.name()
        ),
    }
}

/// How an inproc peer wakes a socket: it flags the socket's inproc pipes for a sync, and
/// notifies blocked callers and watchers if there are any. A socket that sends from a spool
/// also has its spool thread sync and route (the room or the confirmations it waited for may
/// have come; no other thread would do it).
struct Waker {
    socket: Weak<SocketShared>,
    attention: Arc<AtomicBool>,
    /// The socket's spool delivery, when it sends from a spool.
    spool: Option<Arc<crate::socket::spool_link::SpoolLink>>,
}

impl PeerWake for Waker {
    fn wake(&self) {
        let Some(socket) = self.socket.upgrade() else {
            return;
        };
        if let Some(spool) = &self.spool {
            // Its thread syncs the pipes (confirmations, room) and routes; the flag is raised
            // first so that its sync reads them.
            self.attention.store(true, Ordering::SeqCst);
            spool.route();
        }
        socket.announce(&self.attention);
    }
}

/// Attaches `end` to `socket`, whose peer is known as `routing_id`.
fn attach(io: &Arc<IoThreads>, socket: &Arc<SocketShared>, end: InprocEnd, routing_id: Bytes) {
    // A new pipe can unblock a sender waiting for a peer; the guard wakes inproc peers too.
    let mut guard = socket.lock_app(&**io);
    let waker: Arc<dyn PeerWake> = Arc::new(Waker {
        socket: Arc::downgrade(socket),
        attention: Arc::clone(&guard.attention),
        spool: guard.spool_link().cloned(),
    });
    guard.notify_on_drop();
    guard.attach_inproc(end, routing_id, waker);
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Names> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a live socket has bound `name` (a ZAP handler, for instance).
    pub fn is_bound(&self, name: &str) -> bool {
        let names = self.lock();
        names
            .bound
            .get(name)
            .and_then(Weak::upgrade)
            .is_some_and(|socket| !socket.lock().closed)
    }

    /// Binds `name` (from `endpoint`) to `socket` and attaches the connections parked there.
    pub fn bind(
        &self,
        io: &Arc<IoThreads>,
        socket: &Arc<SocketShared>,
        endpoint: &str,
        name: &str,
    ) -> Result<()> {
        let mut names = self.lock();
        if let Some(bound) = names.bound.get(name).and_then(Weak::upgrade)
            && !bound.lock().closed
        {
            return Err(Error::AddrInUse(endpoint.to_string()));
        }
        names.bound.insert(name.to_string(), Arc::downgrade(socket));
        record(socket, endpoint, true);
        let ours = profile(socket);
        for parked in names.parked.remove(name).unwrap_or_default() {
            let Some(connector) = parked.connector.upgrade() else {
                continue; // its end was dropped with it
            };
            if !ours.socket_type.compatible_with(parked.connector_type) {
                log::warn!(
                    "{endpoint}: a {} socket connected before the bind cannot talk to this {} socket; its connection is dropped",
                    parked.connector_type.name(),
                    ours.socket_type.name()
                );
                continue; // dropping the ends tells the connecting side
            }
            // The connection guessed our marks: the sum rule with the real ones.
            let (their_snd, their_rcv) = parked.connector_hwm;
            let mut binding_end = parked.binding_end;
            binding_end.set_hwm(inproc::sum_hwm(ours.sndhwm, their_rcv));
            binding_end.correct_peer_hwm(inproc::sum_hwm(their_snd, ours.rcvhwm));
            if let Some(end) = parked.connecting_end {
                let routing_id = parked.connect_routing_id.unwrap_or_else(|| ours.identity.clone());
                attach(io, &connector, end, routing_id);
            }
            attach(io, socket, binding_end, parked.connector_identity);
        }
        Ok(())
    }

    /// Connects `socket` to `name`: joined at once if bound, else parked until the bind.
    pub fn connect(
        &self,
        io: &Arc<IoThreads>,
        socket: &Arc<SocketShared>,
        endpoint: &str,
        name: &str,
    ) -> Result<()> {
        let mut names = self.lock();
        let binder = names.bound.get(name).and_then(Weak::upgrade);
        let theirs = binder.as_deref().map(profile).filter(|p| !p.closed);
        let ours = profile(socket);
        if let Some(theirs) = &theirs
            && !ours.socket_type.compatible_with(theirs.socket_type)
        {
            return Err(incompatible(endpoint, ours.socket_type, theirs.socket_type));
        }
        let connect_routing_id = socket.lock().opts.connect_routing_id.take();
        record(socket, endpoint, false);
        let (their_rcv, their_snd) = match &theirs {
            Some(t) => (t.rcvhwm, t.sndhwm),
            None => (ours.rcvhwm, ours.sndhwm), // unknown until the bind: as libzmq, ours
        };
        let hwm = [
            inproc::sum_hwm(ours.sndhwm, their_rcv),
            inproc::sum_hwm(their_snd, ours.rcvhwm),
        ];
        let (connecting_end, binding_end) = inproc::pair(endpoint, hwm);
        match (binder, theirs) {
            (Some(binder), Some(theirs)) => {
                let routing_id = connect_routing_id.unwrap_or(theirs.identity);
                attach(io, socket, connecting_end, routing_id);
                attach(io, &binder, binding_end, ours.identity);
            }
            _ => {
                let immediate = socket.lock().opts.immediate;
                let keeps_pipe = !immediate && ours.socket_type != SocketType::Router;
                let connecting_end = if keeps_pipe {
                    let routing_id = connect_routing_id.clone().unwrap_or_default();
                    attach(io, socket, connecting_end, routing_id);
                    None
                } else {
                    Some(connecting_end)
                };
                names.parked.entry(name.to_string()).or_default().push(Parked {
                    connector: Arc::downgrade(socket),
                    connector_type: ours.socket_type,
                    connector_identity: ours.identity,
                    connector_hwm: (ours.sndhwm, ours.rcvhwm),
                    binding_end,
                    connecting_end,
                    connect_routing_id,
                });
            }
        }
        Ok(())
    }

    /// Releases `name` if `socket` holds it, and ends the connections made through it.
    pub fn unbind(&self, io: &IoThreads, socket: &Arc<SocketShared>, endpoint: &str, name: &str) {
        let mut names = self.lock();
        if names
            .bound
            .get(name)
            .is_some_and(|s| std::ptr::eq(s.as_ptr(), Arc::as_ptr(socket)))
        {
            names.bound.remove(name);
        }
        drop(names);
        end_connections(io, socket, endpoint, false);
    }

    /// Ends `socket`'s connections to `endpoint`, parked ones included.
    pub fn disconnect(&self, io: &IoThreads, socket: &Arc<SocketShared>, endpoint: &str, name: &str) {
        let mut names = self.lock();
        if let Some(parked) = names.parked.get_mut(name) {
            parked.retain(|p| !std::ptr::eq(p.connector.as_ptr(), Arc::as_ptr(socket)));
        }
        drop(names);
        end_connections(io, socket, endpoint, true);
    }

    /// The socket is closing: its names are released, its parked connections dropped, and
    /// its peers told.
    pub fn close(&self, io: &IoThreads, socket: &Arc<SocketShared>) {
        let mut names = self.lock();
        let me = Arc::as_ptr(socket);
        names.bound.retain(|_, s| !std::ptr::eq(s.as_ptr(), me));
        for parked in names.parked.values_mut() {
            parked.retain(|p| !std::ptr::eq(p.connector.as_ptr(), me));
        }
        names.parked.retain(|_, list| !list.is_empty());
        drop(names);
        socket.lock_app(io).close_inproc();
    }
}

fn end_connections(io: &IoThreads, socket: &SocketShared, endpoint: &str, connecting: bool) {
    let mut guard = socket.lock_app(io);
    guard.notify_on_drop();
    guard.drop_inproc_endpoint(endpoint, connecting);
}

fn record(socket: &SocketShared, endpoint: &str, bound: bool) {
    let mut st = socket.lock();
    st.endpoints.push(EndpointRecord {
        pipe: None,
        given: endpoint.to_string(),
        resolved: endpoint.to_string(),
        bound,
    });
    st.last_endpoint = Some(endpoint.to_string());
}

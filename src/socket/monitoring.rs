//! Watching a socket: its monitors and its counters.

use super::Socket;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::monitor::{Monitor, SocketStats};
use std::sync::Arc;

impl Socket {
    /// Publishes this socket's events as libzmq does (`zmq_socket_monitor`): a PAIR socket
    /// bound at `endpoint` (an `inproc://` one, on this socket's context) sends each event in
    /// `events` (`EVENT_*` bits) as two frames: the event number (u16) and value (u32),
    /// native-endian, then the endpoint. Tools written for libzmq's monitor read them
    /// (pyzmq's `parse_monitor_message`, or [`crate::MonitorEvent::from_libzmq_frames`]).
    ///
    /// Connect a PAIR to `endpoint` before binding or connecting this socket: as with
    /// libzmq, events wait while no reader is connected, up to a bound. A second call
    /// replaces the first monitor (which gets [`crate::EVENT_MONITOR_STOPPED`]); an empty
    /// `endpoint` only stops it. When this socket closes, the last event is
    /// `EVENT_MONITOR_STOPPED`.
    ///
    /// zocket's own events (heartbeat timeouts, drops) and the peer behind an event are only
    /// in the typed form, [`Socket::monitor_events`].
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedTransport`] for an endpoint other than `inproc://`; the errors
    /// of [`Socket::bind`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zocket::{Context, MonitorEvent, SocketEvent, SocketType, EVENT_ALL};
    ///
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull)?;
    /// pull.monitor("inproc://pull.events", EVENT_ALL)?;
    /// let reader = ctx.socket(SocketType::Pair)?;
    /// reader.connect("inproc://pull.events")?;
    /// pull.bind("tcp://127.0.0.1:0")?;
    /// let frames = reader.recv_multipart(0)?;
    /// let event = MonitorEvent::from_libzmq_frames(&frames[0], &frames[1]).unwrap();
    /// assert_eq!(event.event, SocketEvent::Listening);
    /// # Ok::<(), zocket::Error>(())
    /// ```
    #[doc(alias = "zmq_socket_monitor")]
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        self.io.check()?;
        let weak = Arc::downgrade(&self.ctx);
        if endpoint.is_empty() {
            // Subscribing anew with nothing wanted stops the old one; the new one is dropped.
            drop(self.shared.monitor.subscribe(0, true, weak));
            self.shared.monitor.join_forwarder();
            return Ok(());
        }
        if !(0..=crate::EVENT_ALL).contains(&events) {
            return Err(Error::InvalidOption(format!(
                "monitor events {events:#x}: libzmq's events are the low 16 bits"
            )));
        }
        if !endpoint.starts_with("inproc://") {
            return Err(Error::UnsupportedTransport(endpoint.to_string()));
        }
        let ctx = Context::from_inner(Arc::clone(&self.ctx));
        let monitor = self.shared.monitor.subscribe(events as u32, true, weak);
        // The one it replaces is gone (its PAIR too) before the new PAIR binds: it may use
        // the same endpoint.
        self.shared.monitor.join_forwarder();
        let thread = crate::monitor::start_forwarder(ctx, endpoint, monitor)?;
        self.shared.monitor.set_forwarder(thread);
        Ok(())
    }

    /// This socket's events as values, each naming the peer it concerns (its address and,
    /// for a ROUTER, its routing id), including zocket's own: a peer's heartbeats timed out,
    /// messages dropped at the high-water mark. Any number of monitors may watch a socket;
    /// each gets every event from its creation on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use zocket::{Context, SocketEvent, SocketType};
    ///
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("tcp://127.0.0.1:0")?;
    /// let push = ctx.socket(SocketType::Push)?;
    /// let events = push.monitor_events()?;
    /// push.connect(&pull.last_endpoint()?)?;
    /// let wait = Duration::from_secs(5);
    /// let event = loop {
    ///     let event = events.recv_timeout(wait)?;
    ///     if event.event == SocketEvent::HandshakeSucceeded {
    ///         break event;
    ///     }
    /// };
    /// assert!(event.peer.unwrap().address.unwrap().starts_with("tcp://127.0.0.1:"));
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn monitor_events(&self) -> Result<Monitor> {
        self.io.check()?;
        Ok(self
            .shared
            .monitor
            .subscribe(u32::MAX >> 1, false, Arc::downgrade(&self.ctx)))
    }

    /// Counters: messages and bytes in and out, per connection and in total, messages
    /// dropped, reconnections.
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
    /// push.send("hello", 0)?;
    /// pull.recv_bytes(0)?;
    /// assert_eq!((pull.stats().messages_in, pull.stats().bytes_in), (1, 5));
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn stats(&self) -> SocketStats {
        self.shared.counters.snapshot()
    }
}

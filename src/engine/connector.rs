//! A connector: keeps one outgoing connection alive, reconnecting with exponential back-off.

use crate::pipe::{Outgoing, PipeId};
use crate::transport::PeerAddr;
use crate::ypipe;
use std::time::{Duration, Instant};

pub(super) struct Connector {
    pub socket_id: u64,
    pub endpoint: String,
    pub addr: PeerAddr,
    /// The pipe that outlives reconnections, if the socket type keeps one.
    pub pipe: Option<PipeId>,
    /// Its outbound reading end while no connection holds it: messages queued while
    /// disconnected wait here for the next connection.
    pub out_reader: Option<ypipe::Reader<Outgoing>>,
    /// Spooled messages its last connection sent and its peer did not confirm, for the next
    /// connection to send first.
    pub resend: std::collections::VecDeque<Outgoing>,
    /// The routing id to give the peer (CONNECT_ROUTING_ID).
    pub routing_id: Option<bytes::Bytes>,
    /// The socket's options at `connect`.
    pub config: std::sync::Arc<super::config::ConnConfig>,
    /// The connection currently open (connecting, handshaking or active).
    pub conn: Option<mio::Token>,
    /// When to try again, while there is no connection.
    pub retry_at: Option<Instant>,
    /// The next back-off interval.
    pub backoff: Duration,
    /// Whether a handshake ever completed (the next one is a reconnection).
    pub was_connected: bool,
    /// The retry interval the log last announced (see `Reactor::retry_later`).
    pub logged_ivl: Option<Duration>,
    /// The peer's address, looked up for the next attempt (a named peer).
    pub looked_up: Option<std::net::SocketAddr>,
    /// A lookup is under way.
    pub looking_up: bool,
}

impl Connector {
    /// A connector for `endpoint` of socket `socket_id`, not yet connecting.
    pub fn new(
        socket_id: u64,
        endpoint: String,
        addr: PeerAddr,
        pipe: Option<PipeId>,
        out_reader: Option<ypipe::Reader<Outgoing>>,
        routing_id: Option<bytes::Bytes>,
        config: std::sync::Arc<super::config::ConnConfig>,
    ) -> Connector {
        Connector {
            socket_id,
            endpoint,
            addr,
            pipe,
            out_reader,
            resend: Default::default(),
            routing_id,
            config,
            conn: None,
            retry_at: None,
            backoff: Duration::ZERO,
            was_connected: false,
            logged_ivl: None,
            looked_up: None,
            looking_up: false,
        }
    }

    /// Schedules the next attempt after a failure and grows the back-off (doubling up to
    /// `max`; a `max` of zero keeps the interval constant, as libzmq does).
    /// Returns the interval until the next attempt.
    pub fn schedule_retry(&mut self, now: Instant, base: Duration, max: Duration) -> Duration {
        if self.backoff.is_zero() {
            self.backoff = base;
        }
        let ivl = self.backoff;
        self.retry_at = crate::deadline::after(now, ivl);
        if max > base {
            self.backoff = self.backoff.saturating_mul(2).min(max);
        }
        ivl
    }

    /// A handshake succeeded: start the back-off from the base interval again.
    pub fn reset_backoff(&mut self) {
        self.backoff = Duration::ZERO;
        self.logged_ivl = None;
    }
}

/// Looks `host` up on a thread of its own (the lookup blocks, for seconds when DNS is slow)
/// and hands the answer to I/O thread `thread` as [`super::Command::LookedUp`] for
/// connector `id`. False if no thread could be started.
pub(super) fn spawn_lookup(
    io: std::sync::Weak<super::IoThreads>,
    thread: usize,
    id: u64,
    host: &str,
    port: u16,
) -> bool {
    let host = host.to_string();
    std::thread::Builder::new()
        .name("zocket-lookup".into())
        .spawn(move || {
            let result = crate::transport::lookup(&host, port).map_err(|e| e.to_string());
            if let Some(io) = io.upgrade() {
                io.send_to(thread, super::Command::LookedUp { id, result });
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let config = std::sync::Arc::new(crate::engine::config::ConnConfig::new(
            crate::socket_type::SocketType::Dealer,
            &crate::options::Options::default(),
            None,
        ));
        let addr = PeerAddr::Ipc("/nonexistent".into());
        let mut c = Connector::new(1, String::new(), addr, None, None, None, config);
        let now = Instant::now();
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(350);
        let mut delays = Vec::new();
        for _ in 0..4 {
            c.schedule_retry(now, base, max);
            delays.push(c.retry_at.unwrap() - now);
        }
        assert_eq!(delays, [100, 200, 350, 350].map(Duration::from_millis));
        c.reset_backoff();
        c.schedule_retry(now, base, Duration::ZERO);
        c.schedule_retry(now, base, Duration::ZERO);
        assert_eq!(c.retry_at.unwrap() - now, base);
    }
}

/// Named peers over real sockets, with names the tests resolve themselves
/// (`transport::test_names`): looked up at each attempt, so a peer found again on a new
/// address, and a name that does not resolve yet retried rather than refused.
#[cfg(all(test, not(loom)))]
mod lookup_tests {
    use crate::transport::test_names;
    use crate::{Context, SocketEvent, SocketType};
    use std::net::IpAddr;
    use std::time::{Duration, Instant};

    const DEADLINE: Duration = Duration::from_secs(5);

    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    fn wait_for(events: &crate::Monitor, kind: SocketEvent) -> crate::MonitorEvent {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(left) {
                Ok(e) if e.event == kind => return e,
                Ok(_) => {}
                Err(e) => panic!("no {kind:?}: {e}"),
            }
        }
    }

    #[test]
    fn a_name_that_does_not_resolve_yet_is_retried_until_it_does() {
        let name = "later.zocket-test";
        test_names::set(name, None);
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
        let events = push.monitor_events().unwrap();
        let port = free_port();
        push.connect(&format!("tcp://{name}:{port}"))
            .expect("connect succeeds at once");
        let retried = wait_for(&events, SocketEvent::ConnectRetried);
        assert_eq!(retried.value, 10);
        wait_for(&events, SocketEvent::ConnectRetried); // and again
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind(&format!("tcp://127.0.0.1:{port}")).unwrap();
        test_names::set(name, Some(IpAddr::from([127, 0, 0, 1])));
        push.send("found", 0).unwrap();
        pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"found");
    }

    #[test]
    fn a_peer_back_on_a_new_address_is_found() {
        let name = "moving.zocket-test";
        test_names::set(name, Some(IpAddr::from([127, 0, 0, 1])));
        let port = free_port();
        let ctx = Context::new();
        let first = ctx.socket(SocketType::Pull).unwrap();
        first.bind(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_reconnect_ivl(Duration::from_millis(10)).unwrap();
        let events = push.monitor_events().unwrap();
        push.connect(&format!("tcp://{name}:{port}")).unwrap();
        wait_for(&events, SocketEvent::HandshakeSucceeded);
        // The peer moves: gone from 127.0.0.1, back on 127.0.0.2 under the same name.
        drop(first);
        wait_for(&events, SocketEvent::Disconnected);
        test_names::set(name, Some(IpAddr::from([127, 0, 0, 2])));
        let second = ctx.socket(SocketType::Pull).unwrap();
        second.bind(&format!("tcp://127.0.0.2:{port}")).unwrap();
        let connected = wait_for(&events, SocketEvent::Connected);
        let address = connected.peer.unwrap().address.unwrap();
        assert_eq!(address, format!("tcp://127.0.0.2:{port}"));
        push.send("moved", 0).unwrap();
        second.set_rcvtimeo(Some(DEADLINE)).unwrap();
        assert_eq!(second.recv_bytes(0).unwrap(), b"moved");
    }

    #[test]
    fn a_source_address_is_bound_before_connecting() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        let events = pull.monitor_events().unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let target = pull.last_endpoint().unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        let target = target.trim_start_matches("tcp://");
        push.connect(&format!("tcp://127.0.0.3;{target}")).unwrap();
        let accepted = wait_for(&events, SocketEvent::Accepted);
        let from = accepted.peer.unwrap().address.unwrap();
        assert!(from.starts_with("tcp://127.0.0.3:"), "came from {from}");
        assert!(
            push.bind("tcp://127.0.0.3;127.0.0.1:5").is_err(),
            "not for binding"
        );
    }

    #[test]
    fn binding_by_interface_name() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.bind("tcp://lo:0").unwrap();
        let endpoint = pull.last_endpoint().unwrap();
        assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("via lo", 0).unwrap();
        pull.set_rcvtimeo(Some(DEADLINE)).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"via lo");
        assert!(pull.bind("tcp://no-such-interface.invalid:0").is_err());
    }
}

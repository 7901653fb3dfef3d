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
}

impl Connector {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mut c = Connector {
            socket_id: 1,
            endpoint: String::new(),
            addr: PeerAddr::Ipc("/nonexistent".into()),
            pipe: None,
            out_reader: None,
            resend: Default::default(),
            routing_id: None,
            config: std::sync::Arc::new(crate::engine::config::ConnConfig::new(
                crate::socket_type::SocketType::Dealer,
                &crate::options::Options::default(),
                None,
            )),
            conn: None,
            retry_at: None,
            backoff: Duration::ZERO,
            was_connected: false,
            logged_ivl: None,
        };
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

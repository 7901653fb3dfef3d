//! ZMTP heartbeats for one connection: PING every interval, drop the connection when a PING
//! goes unanswered (no traffic at all) for the timeout, or when the peer's own PING asked for
//! traffic within a time-to-live and none came (RFC 37; libzmq's ZMQ_HEARTBEAT_* options).

use crate::deadline::after;
use std::time::{Duration, Instant};

/// The heartbeat settings of a socket.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HeartbeatConfig {
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub ttl: Option<Duration>,
}

/// What the timer asks the connection to do.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    Nothing,
    /// Send a PING with this TTL (in tenths of a second).
    Ping(u16),
    /// The peer is silent for too long: close.
    Expired,
}

#[derive(Default)]
pub(super) struct Heartbeat {
    config: HeartbeatConfig,
    next_ping: Option<Instant>,
    /// A PING went out: traffic must arrive before this.
    answer_by: Option<Instant>,
    /// The peer's PING carried a TTL: traffic must arrive before this.
    peer_ttl_by: Option<Instant>,
}

impl Heartbeat {
    /// Starts heartbeats once the handshake is done.
    pub fn start(config: HeartbeatConfig, now: Instant) -> Heartbeat {
        Heartbeat {
            config,
            next_ping: config.interval.and_then(|i| after(now, i)),
            answer_by: None,
            peer_ttl_by: None,
        }
    }

    /// Anything arrived from the peer: it is alive.
    pub fn on_traffic(&mut self) {
        self.answer_by = None;
        self.peer_ttl_by = None;
    }

    /// The peer's PING asked for traffic within `ttl_deciseconds`.
    pub fn on_peer_ttl(&mut self, ttl_deciseconds: u16, now: Instant) {
        self.peer_ttl_by = after(now, Duration::from_millis(u64::from(ttl_deciseconds) * 100));
    }

    /// The earliest moment the timer needs attention.
    pub fn deadline(&self) -> Option<Instant> {
        [self.next_ping, self.answer_by, self.peer_ttl_by]
            .into_iter()
            .flatten()
            .min()
    }

    /// What is due at `now`.
    pub fn poll(&mut self, now: Instant) -> Due {
        if self.answer_by.is_some_and(|d| d <= now) || self.peer_ttl_by.is_some_and(|d| d <= now) {
            return Due::Expired;
        }
        match (self.next_ping, self.config.interval) {
            (Some(at), Some(interval)) if at <= now => {
                self.next_ping = after(now, interval);
                if self.answer_by.is_none() {
                    self.answer_by = after(now, self.config.timeout.unwrap_or(interval));
                }
                let ttl = self
                    .config
                    .ttl
                    .map_or(0, |t| (t.as_millis() / 100).min(u128::from(u16::MAX)) as u16);
                Due::Ping(ttl)
            }
            _ => Due::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_then_expires_without_traffic() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let config = HeartbeatConfig {
            interval: Some(ms(100)),
            timeout: Some(ms(250)),
            ttl: Some(ms(1000)),
        };
        let mut hb = Heartbeat::start(config, t0);
        assert_eq!(hb.poll(t0 + ms(50)), Due::Nothing);
        assert_eq!(hb.poll(t0 + ms(100)), Due::Ping(10));
        assert_eq!(hb.poll(t0 + ms(200)), Due::Ping(10));
        hb.on_traffic();
        assert_eq!(hb.poll(t0 + ms(300)), Due::Ping(10)); // answer_by re-armed at 300 + 250
        assert_eq!(hb.poll(t0 + ms(560)), Due::Expired);
    }

    #[test]
    fn the_peers_ttl_is_honoured() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::start(HeartbeatConfig::default(), t0);
        assert_eq!(hb.deadline(), None, "no heartbeats configured");
        hb.on_peer_ttl(5, t0);
        assert_eq!(hb.deadline(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(hb.poll(t0 + Duration::from_millis(600)), Due::Expired);
    }
}

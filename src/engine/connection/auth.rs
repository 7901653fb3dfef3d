//! A server connection's ZAP question: put to the context's ZAP client (never waited on
//! here), answered later through [`super::super::Command::ZapReply`].

use super::*;
use crate::zmtp::ProtocolError;
use crate::zmtp::mechanism::ZapReply;
use crate::zmtp::protocol::ZapQuery;
use std::sync::atomic::{AtomicU64, Ordering};

/// Tickets tell a reply meant for this connection from one meant for an earlier connection
/// that had the same token.
static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// A question waiting for the reactor, or for the handler's answer.
pub(crate) struct ZapWait {
    pub query: ZapQuery,
    /// Set once the request is on its way.
    pub ticket: Option<u64>,
}

impl Connection {
    /// The id pipes and replies know this connection by.
    pub fn id(&self) -> crate::pipe::ConnId {
        self.id
    }

    /// The ZAP question the handshake asked, if the reactor has not sent it yet.
    pub fn take_zap_query(&mut self) -> Option<(Arc<ConnConfig>, &ZapQuery)> {
        let wait = self.zap.as_ref().filter(|w| w.ticket.is_none())?;
        Some((Arc::clone(&self.config), &wait.query))
    }

    /// The request's frames, for a handler asked with request id `id`: our ZAP domain, the
    /// peer's IP address, our routing id, then the mechanism's credentials.
    pub fn zap_frames(&self, id: &[u8]) -> Vec<Bytes> {
        let Some(wait) = &self.zap else {
            return Vec::new();
        };
        let address = self.peer.address.as_deref().map_or("", peer_ip);
        let local = &self.config.local;
        wait.query
            .request
            .frames(id, &local.zap_domain, address, &local.identity)
    }

    /// Marks the question as sent; returns its ticket.
    pub fn zap_sent(&mut self) -> u64 {
        let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
        if let Some(wait) = &mut self.zap {
            wait.ticket = Some(ticket);
        }
        ticket
    }

    /// The handler's answer (`None`: no handler is bound); the handshake goes on or fails.
    pub fn on_zap_answer(
        &mut self,
        ticket: Option<u64>,
        answer: Option<Result<ZapReply, ProtocolError>>,
    ) -> Result<(), CloseReason> {
        let Some(wait) = self.zap.take_if(|w| w.ticket == ticket) else {
            return Ok(()); // meant for another connection
        };
        let result = match answer {
            None => self.proto.zap_unavailable(&wait.query, &mut self.out),
            // A refusal is logged with the connection's other failures (`report_closed`).
            Some(Ok(reply)) => self.proto.zap_reply(&reply, &mut self.out),
            Some(Err(e)) => Err(e),
        };
        if let Err(e) = result {
            return Err(self.fail_handshake(e));
        }
        self.decode()?;
        self.write()
    }

    /// Ends the handshake with a protocol error: flushes an ERROR if one was queued, and
    /// records what a monitor reports.
    pub(super) fn fail_handshake(&mut self, e: ProtocolError) -> CloseReason {
        let _ = self.write();
        self.ending = Some(Ending::Protocol(e.handshake_event()));
        e.to_string()
    }
}

/// The IP address in a peer endpoint (`tcp://1.2.3.4:5` gives `1.2.3.4`, `tcp://[::1]:5`
/// gives `::1`); empty for IPC, as libzmq sends it.
fn peer_ip(endpoint: &str) -> &str {
    let Some(rest) = endpoint.strip_prefix("tcp://") else {
        return "";
    };
    let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peer_address_is_its_ip() {
        assert_eq!(super::peer_ip("tcp://10.0.0.7:5555"), "10.0.0.7");
        assert_eq!(super::peer_ip("tcp://[::1]:80"), "::1");
        assert_eq!(super::peer_ip("ipc:///tmp/x"), "");
    }
}

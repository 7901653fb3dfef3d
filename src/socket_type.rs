//! The socket types and which of them may talk to each other.

use std::fmt;

/// The messaging pattern of a socket, as in ZeroMQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair: one peer, messages both ways.
    Pair,
    /// Publisher: fans messages out to subscribers whose prefixes match.
    Pub,
    /// Subscriber: receives what matches its subscriptions.
    Sub,
    /// Requester: strict send/receive alternation, load-balanced over REP peers.
    Req,
    /// Replier: strict receive/send alternation, each reply to the requester.
    Rep,
    /// Asynchronous requester: round-robins out, fair-queues in.
    Dealer,
    /// Asynchronous replier: addresses peers by routing id.
    Router,
    /// Pipeline sink: fair-queues from pushers.
    Pull,
    /// Pipeline source: round-robins to pullers.
    Push,
    /// Publisher that also hands subscriptions to the application.
    XPub,
    /// Subscriber whose subscriptions are sent as messages by the application.
    XSub,
}

impl SocketType {
    /// The name used in the ZMTP `Socket-Type` property.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a `Socket-Type` property value (exact, upper case, as on the wire).
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        Some(match name {
            b"PAIR" => SocketType::Pair,
            b"PUB" => SocketType::Pub,
            b"SUB" => SocketType::Sub,
            b"REQ" => SocketType::Req,
            b"REP" => SocketType::Rep,
            b"DEALER" => SocketType::Dealer,
            b"ROUTER" => SocketType::Router,
            b"PULL" => SocketType::Pull,
            b"PUSH" => SocketType::Push,
            b"XPUB" => SocketType::XPub,
            b"XSUB" => SocketType::XSub,
            _ => return None,
        })
    }

    /// Whether a socket of this type may talk to a peer of type `peer` (RFC 37).
    pub fn compatible_with(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
        }
    }

    /// Whether this type announces an `Identity` property in READY (libzmq does for these).
    pub(crate) fn sends_identity(self) -> bool {
        matches!(self, SocketType::Req | SocketType::Dealer | SocketType::Router)
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_is_symmetric() {
        use SocketType::*;
        let all = [Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub];
        for a in all {
            assert_eq!(SocketType::from_name(a.name().as_bytes()), Some(a));
            for b in all {
                assert_eq!(a.compatible_with(b), b.compatible_with(a), "{a} {b}");
            }
        }
        assert!(!Push.compatible_with(Push));
        assert!(Req.compatible_with(Router));
    }
}

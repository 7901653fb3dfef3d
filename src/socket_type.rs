//! The socket types and which of them may talk to each other.

use std::fmt;

/// The messaging pattern of a socket, as in ZeroMQ.
///
/// # Examples
///
/// ```
/// use zocket::SocketType;
/// assert_eq!(SocketType::Dealer.to_string(), "DEALER");
/// let ctx = zocket::Context::new();
/// assert_eq!(ctx.socket(SocketType::Dealer)?.socket_type(), SocketType::Dealer);
/// # Ok::<(), zocket::Error>(())
/// ```
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

/// What distinguishes one socket type from another outside its pattern logic: one row per
/// type, so that a new property is added in one place.
struct Traits {
    name: &'static str,
    /// The peer types it may talk to.
    peers: &'static [SocketType],
    /// Announces its routing id (the Identity property) in READY.
    sends_identity: bool,
    /// May send through a spool (`Socket::set_spool`).
    may_spool: bool,
    /// Receives from spooled senders, acknowledging what the application takes.
    acknowledges_spools: bool,
    /// Receiving is a plain fair-queued pop, so a receive may take a batch at once.
    batches_receives: bool,
}

impl SocketType {
    /// Every socket type.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    fn traits(self) -> Traits {
        use SocketType::*;
        let row = |name, peers, sends_identity, may_spool, acknowledges_spools, batches_receives| Traits {
            name,
            peers,
            sends_identity,
            may_spool,
            acknowledges_spools,
            batches_receives,
        };
        match self {
            // row(name, peers, sends identity, may spool, acknowledges spools, batches receives)
            Pair => row("PAIR", &[Pair], false, true, true, true),
            Pub => row("PUB", &[Sub, XSub], false, false, false, false),
            Sub => row("SUB", &[Pub, XPub], false, false, false, true),
            Req => row("REQ", &[Rep, Router], true, false, false, false),
            Rep => row("REP", &[Req, Dealer], false, false, true, false),
            Dealer => row("DEALER", &[Rep, Dealer, Router], true, true, true, true),
            Router => row("ROUTER", &[Req, Dealer, Router], true, false, true, false),
            Pull => row("PULL", &[Push], false, false, true, true),
            Push => row("PUSH", &[Pull], false, true, false, false),
            XPub => row("XPUB", &[Sub, XSub], false, false, false, false),
            XSub => row("XSUB", &[Pub, XPub], false, false, false, true),
        }
    }

    /// The name used on the wire (the Socket-Type property) and by libzmq.
    pub fn name(self) -> &'static str {
        self.traits().name
    }

    /// The type whose wire name is `name`.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL.into_iter().find(|t| t.name().as_bytes() == name)
    }

    /// Whether a peer of type `peer` may connect to this one (ZMTP's compatibility table).
    pub fn compatible_with(self, peer: SocketType) -> bool {
        self.traits().peers.contains(&peer)
    }

    pub(crate) fn sends_identity(self) -> bool {
        self.traits().sends_identity
    }

    pub(crate) fn may_spool(self) -> bool {
        self.traits().may_spool
    }

    pub(crate) fn acknowledges_spools(self) -> bool {
        self.traits().acknowledges_spools
    }

    pub(crate) fn batches_receives(self) -> bool {
        self.traits().batches_receives
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
        for a in SocketType::ALL {
            assert_eq!(SocketType::from_name(a.name().as_bytes()), Some(a));
            for b in SocketType::ALL {
                assert_eq!(a.compatible_with(b), b.compatible_with(a), "{a} {b}");
            }
        }
        assert!(!Push.compatible_with(Push));
        assert!(Req.compatible_with(Router));
    }
}

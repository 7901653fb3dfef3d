//! Pattern logic: how each socket type routes messages among its pipes. Pattern code never
//! touches I/O; it sees peers as pipes and decides where a message goes or comes from.

mod dealer;
mod fq;
mod lb;
mod pair;
mod peer_subs;
mod pubsub;
mod pull;
mod push;
mod rep;
mod req;
mod ring;
mod router;
pub(crate) mod trie;

use crate::error::Error;
use crate::message::Parts;
use crate::pipe::{PipeId, Pipes};
use crate::socket_type::SocketType;
use bytes::Bytes;

/// An option that only some patterns understand.
#[derive(Clone, Debug)]
pub(crate) enum PatternOption {
    Subscribe(Bytes),
    Unsubscribe(Bytes),
    ReqRelaxed(bool),
    ReqCorrelate(bool),
    RouterMandatory(bool),
    RouterHandover(bool),
    XpubVerbose(bool),
    XpubVerboser(bool),
    XpubManual(bool),
    XpubWelcomeMsg(Option<Bytes>),
    XpubNodrop(bool),
    XpubManualLastValue(bool),
    InvertMatching(bool),
    XsubVerboseUnsubscribe(bool),
    OnlyFirstSubscribe(bool),
}

/// Why a send did not happen.
pub(crate) enum SendError {
    /// No peer has room now; the message is handed back to retry.
    WouldBlock(Parts),
    /// The send is refused for good.
    Fatal(Error),
}

/// The routing behaviour of one socket type.
pub(crate) trait Pattern: Send {
    /// A peer's pipe is ready. Returning false refuses it (the connection is closed).
    fn attach(&mut self, id: PipeId, pipes: &mut Pipes) -> bool;

    /// A persistent pipe's connection came back after a reconnect.
    fn reconnected(&mut self, _id: PipeId, _pipes: &mut Pipes) {}

    /// A pipe is gone and drained; forget it.
    fn detach(&mut self, id: PipeId, pipes: &mut Pipes);

    /// Whether [`Pattern::incoming`] does more than queue the message (filters, takes
    /// subscriptions); if not, messages from lock-free pipes go into the queue directly.
    fn inspects_incoming(&self) -> bool {
        false
    }

    /// The most bytes of subscriptions one peer may have on their way to
    /// [`Pattern::incoming`] (decoded by its connection, not yet applied by the socket): a
    /// publisher bounds what it keeps per peer, and this bounds what waits to be applied.
    /// Past it the connection closes. `None`: subscriptions are not counted.
    fn incoming_byte_bound(&self) -> Option<usize> {
        None
    }

    /// A message arrived on pipe `id`: the socket read it from a connection's lock-free pipe or
    /// an inproc peer (or, from a spooled zocket sender, the I/O thread delivers it). The default queues it on the
    /// pipe, or hands it back when the pipe's inbound queue is full.
    fn incoming(&mut self, id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
        queue_inbound(id, msg, pipes)
    }

    /// Routes one whole message out.
    fn send(&mut self, msg: Parts, pipes: &mut Pipes) -> Result<(), SendError>;

    /// Takes the next whole message for the application, if one is ready.
    fn recv(&mut self, pipes: &mut Pipes) -> Result<Option<Parts>, Error>;

    /// Whether `send` would not block now.
    fn can_send(&self, pipes: &Pipes) -> bool;

    /// Whether `recv` would return a message now.
    fn can_recv(&self, pipes: &Pipes) -> bool;

    /// Sets a pattern-specific option.
    fn set_option(&mut self, option: PatternOption, _pipes: &mut Pipes) -> Result<(), Error> {
        Err(Error::InvalidOption(format!(
            "{option:?} does not apply to this socket type"
        )))
    }
}

/// Queues a message on its pipe for the application, or hands it back when the pipe's inbound
/// queue is full (the I/O thread then stops reading from that peer).
pub(crate) fn queue_inbound(id: PipeId, msg: Parts, pipes: &mut Pipes) -> Result<(), Parts> {
    match pipes.get_mut(id) {
        Some(pipe) if pipe.inbound_full() && !pipe.conflate => Err(msg),
        Some(pipe) => {
            pipe.push_inbound(msg, None);
            Ok(())
        }
        None => Ok(()),
    }
}

/// The pattern object for a socket type.
pub(crate) fn for_type(socket_type: SocketType) -> Box<dyn Pattern> {
    match socket_type {
        SocketType::Push => Box::new(push::Push::default()),
        SocketType::Pull => Box::new(pull::Pull::default()),
        SocketType::Pair => Box::new(pair::Pair::default()),
        SocketType::Dealer => Box::new(dealer::Dealer::default()),
        SocketType::Router => Box::new(router::Router::default()),
        SocketType::Req => Box::new(req::Req::default()),
        SocketType::Rep => Box::new(rep::Rep::default()),
        SocketType::Pub => Box::new(pubsub::Publisher::new(false)),
        SocketType::XPub => Box::new(pubsub::Publisher::new(true)),
        SocketType::Sub => Box::new(pubsub::Subscriber::new(false)),
        SocketType::XSub => Box::new(pubsub::Subscriber::new(true)),
    }
}

//! libzmq's options that change a pattern's behaviour or what is said as peers come and go:
//! CONFLATE, PROBE_ROUTER, ROUTER_NOTIFY, INVERT_MATCHING, XPUB_NODROP,
//! XPUB_MANUAL_LAST_VALUE, XSUB_VERBOSE_UNSUBSCRIBE, ONLY_FIRST_SUBSCRIBE, HELLO_MSG,
//! DISCONNECT_MSG and HICCUP_MSG.

use super::Socket;
use super::lifecycle::{NOTIFY_CONNECT, NOTIFY_DISCONNECT};
use crate::error::{Error, Result};
use crate::pattern::PatternOption;
use crate::socket_type::SocketType;
use bytes::Bytes;

impl Socket {
    /// Keep only the newest message from each peer (libzmq `ZMQ_CONFLATE`), for state that
    /// only matters at its latest (a SUB reading prices). Takes effect for peers that connect
    /// later. zocket conflates on receiving only: a sender keeps its queue (use a high-water
    /// mark of 1 there). Not with a spool or receipts, whose messages are all accounted for.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let sub = ctx.socket(zocket::SocketType::Sub)?;
    /// sub.set_conflate(true)?;
    /// assert!(sub.conflate());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_conflate(&self, on: bool) -> Result<()> {
        self.with_options(|o| o.conflate = on);
        Ok(())
    }
    /// See [`Socket::set_conflate`].
    #[doc(alias = "get_conflate")]
    #[doc(alias = "is_conflate")]
    pub fn conflate(&self) -> bool {
        self.with_options(|o| o.conflate)
    }

    /// Send an empty message to each new peer, so that a ROUTER on the other side learns its
    /// routing id at once (libzmq `ZMQ_PROBE_ROUTER`; ROUTER, DEALER and REQ).
    pub fn set_probe_router(&self, on: bool) -> Result<()> {
        self.for_types(
            &[SocketType::Router, SocketType::Dealer, SocketType::Req],
            "PROBE_ROUTER",
        )?;
        self.with_options(|o| o.lifecycle.probe_router = on);
        Ok(())
    }
    /// See [`Socket::set_probe_router`].
    #[doc(alias = "is_probe_router")]
    pub fn probe_router(&self) -> bool {
        self.with_options(|o| o.lifecycle.probe_router)
    }

    /// A ROUTER receives `[routing id, empty frame]` as each peer connects and/or
    /// disconnects (libzmq `ZMQ_ROUTER_NOTIFY`): `flags` is [`NOTIFY_CONNECT`],
    /// [`NOTIFY_DISCONNECT`], both or 0.
    pub fn set_router_notify(&self, flags: i32) -> Result<()> {
        self.for_types(&[SocketType::Router], "ROUTER_NOTIFY")?;
        if flags & !(NOTIFY_CONNECT | NOTIFY_DISCONNECT) != 0 {
            return Err(Error::InvalidOption(format!("ROUTER_NOTIFY flags {flags:#x}")));
        }
        self.with_options(|o| o.lifecycle.router_notify = flags as u8);
        Ok(())
    }
    /// See [`Socket::set_router_notify`].
    #[doc(alias = "get_router_notify")]
    pub fn router_notify(&self) -> i32 {
        self.with_options(|o| i32::from(o.lifecycle.router_notify))
    }

    /// Invert the subscription filter (libzmq `ZMQ_INVERT_MATCHING`): a SUB receives what
    /// matches none of its subscriptions, a PUB/XPUB sends to the subscribers whose
    /// subscriptions do not match. Set it on both sides, as in libzmq.
    pub fn set_invert_matching(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::InvertMatching(on))?;
        self.with_options(|o| o.pattern.invert_matching = on);
        Ok(())
    }
    /// See [`Socket::set_invert_matching`].
    #[doc(alias = "get_invert_matching")]
    pub fn invert_matching(&self) -> bool {
        self.with_options(|o| o.pattern.invert_matching)
    }

    /// A PUB/XPUB send that a matching subscriber has no room for waits (or fails with
    /// [`Error::WouldBlock`] under `DONTWAIT`) instead of dropping it for that subscriber
    /// (libzmq `ZMQ_XPUB_NODROP`).
    pub fn set_xpub_nodrop(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubNodrop(on))?;
        self.with_options(|o| o.pattern.xpub_nodrop = on);
        Ok(())
    }
    /// See [`Socket::set_xpub_nodrop`].
    #[doc(alias = "get_xpub_nodrop")]
    pub fn xpub_nodrop(&self) -> bool {
        self.with_options(|o| o.pattern.xpub_nodrop)
    }

    /// XPUB_MANUAL, and after the application subscribes the peer it received a
    /// subscription from, the next send goes to that peer only: a last-value cache hands a
    /// newcomer the current value (libzmq `ZMQ_XPUB_MANUAL_LAST_VALUE`).
    pub fn set_xpub_manual_last_value(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XpubManualLastValue(on))?;
        self.with_options(|o| o.pattern.xpub_manual_last_value = on);
        Ok(())
    }
    /// See [`Socket::set_xpub_manual_last_value`].
    #[doc(alias = "get_xpub_manual_last_value")]
    pub fn xpub_manual_last_value(&self) -> bool {
        self.with_options(|o| o.pattern.xpub_manual_last_value)
    }

    /// An XSUB forwards every unsubscription upstream, not only the last one for a prefix
    /// (libzmq `ZMQ_XSUB_VERBOSE_UNSUBSCRIBE`).
    pub fn set_xsub_verbose_unsubscribe(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::XsubVerboseUnsubscribe(on))?;
        self.with_options(|o| o.pattern.xsub_verbose_unsubscribe = on);
        Ok(())
    }
    /// See [`Socket::set_xsub_verbose_unsubscribe`].
    #[doc(alias = "get_xsub_verbose_unsubscribe")]
    pub fn xsub_verbose_unsubscribe(&self) -> bool {
        self.with_options(|o| o.pattern.xsub_verbose_unsubscribe)
    }

    /// XPUB/XSUB: in a multipart message, the first frame may be a subscription and the
    /// rest is data that travels with it (libzmq `ZMQ_ONLY_FIRST_SUBSCRIBE`).
    pub fn set_only_first_subscribe(&self, on: bool) -> Result<()> {
        self.set_pattern_option(PatternOption::OnlyFirstSubscribe(on))?;
        self.with_options(|o| o.pattern.only_first_subscribe = on);
        Ok(())
    }
    /// See [`Socket::set_only_first_subscribe`].
    #[doc(alias = "get_only_first_subscribe")]
    pub fn only_first_subscribe(&self) -> bool {
        self.with_options(|o| o.pattern.only_first_subscribe)
    }

    /// A message sent to each new peer, and again after each reconnection (libzmq
    /// `ZMQ_HELLO_MSG`); `None` to stop.
    pub fn set_hello_msg(&self, msg: Option<&[u8]>) -> Result<()> {
        self.with_options(|o| o.lifecycle.hello = msg.map(Bytes::copy_from_slice));
        Ok(())
    }
    /// See [`Socket::set_hello_msg`].
    #[doc(alias = "get_hello_msg")]
    pub fn hello_msg(&self) -> Option<Vec<u8>> {
        self.with_options(|o| o.lifecycle.hello.as_ref().map(|m| m.to_vec()))
    }

    /// A message a ROUTER receives from a peer as it disconnects, after the peer's routing
    /// id (libzmq `ZMQ_DISCONNECT_MSG`; ROUTER only).
    pub fn set_disconnect_msg(&self, msg: Option<&[u8]>) -> Result<()> {
        self.for_types(&[SocketType::Router], "DISCONNECT_MSG")?;
        self.with_options(|o| o.lifecycle.disconnect = msg.map(Bytes::copy_from_slice));
        Ok(())
    }
    /// See [`Socket::set_disconnect_msg`].
    #[doc(alias = "get_disconnect_msg")]
    pub fn disconnect_msg(&self) -> Option<Vec<u8>> {
        self.with_options(|o| o.lifecycle.disconnect.as_ref().map(|m| m.to_vec()))
    }

    /// A message a DEALER receives when a connection made with `connect` comes back after an
    /// interruption (libzmq `ZMQ_HICCUP_MSG`), so that it can resend state (DEALER only).
    pub fn set_hiccup_msg(&self, msg: Option<&[u8]>) -> Result<()> {
        self.for_types(&[SocketType::Dealer], "HICCUP_MSG")?;
        self.with_options(|o| o.lifecycle.hiccup = msg.map(Bytes::copy_from_slice));
        Ok(())
    }
    /// See [`Socket::set_hiccup_msg`].
    #[doc(alias = "get_hiccup_msg")]
    pub fn hiccup_msg(&self) -> Option<Vec<u8>> {
        self.with_options(|o| o.lifecycle.hiccup.as_ref().map(|m| m.to_vec()))
    }

    fn for_types(&self, types: &[SocketType], option: &str) -> Result<()> {
        match types.contains(&self.socket_type()) {
            true => Ok(()),
            false => Err(Error::InvalidOption(format!(
                "{option} does not apply to {}",
                self.socket_type()
            ))),
        }
    }
}

//! The receiving side of effectively-once delivery: receipts, and manual acknowledgement.

use super::Socket;
use crate::SocketType;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::spool::Receipts;

impl Socket {
    /// Keeps receipts of what this socket finished with from spooled zocket senders in
    /// `receipts`, so that messages they send again after a crash of either side (or a lost
    /// connection) reach the application once: a message is acknowledged to its sender only
    /// once its receipt is committed, and one at or below a stream's committed mark is
    /// dropped as a duplicate, also after a restart.
    ///
    /// A message is finished at the next receive, or at [`Socket::ack`] with
    /// [`Socket::set_manual_ack`]. For PULL, DEALER, ROUTER and PAIR sockets. Receipts are
    /// high-water marks per stream, which holds when each spooled sender's stream goes to one
    /// receiver at a time (the README's spool section says what is and is not covered).
    /// Set before `bind` or `connect`: the socket announces it to its peers, with a durable
    /// identity the store keeps under stream 0 (a spooled sender then re-sends a lost
    /// connection's messages in order, and retires an older connection of the same receiver
    /// when it connects again).
    ///
    /// Acknowledge through [`Socket::recv_msg`]: with [`Socket::set_manual_ack`], a message
    /// received whole (`recv_multipart`, `recv_frames`, a proxy) carries no
    /// [`Message::delivery`] and cannot be acknowledged.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("zocket-doc-set-receipts-{}", std::process::id()));
    /// let pull = zocket::Context::new().socket(zocket::SocketType::Pull)?;
    /// pull.set_receipts(zocket::spool::FileReceipts::open(&dir)?)?;
    /// # drop(pull);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_receipts(&self, receipts: impl Receipts + 'static) -> Result<()> {
        use SocketType::*;
        if !matches!(self.socket_type(), Pull | Dealer | Router | Pair) {
            return Err(Error::NotSupported(
                "receipts need a PULL, DEALER, ROUTER or PAIR socket",
            ));
        }
        let mut guard = self.locked();
        if guard.finishing.receipts.is_some() {
            return Err(Error::WrongState("the socket already has receipts"));
        }
        if !guard.endpoints.is_empty() {
            return Err(Error::WrongState("set receipts before bind or connect"));
        }
        guard.set_receipts(Box::new(receipts))
    }

    /// With `true`, a message from a spooled sender is finished only when the application
    /// says so with [`Socket::ack`], not at the next receive: what was received but not
    /// acknowledged before a crash is delivered again. Messages are acknowledged to their
    /// sender in order, so one never acknowledged holds back those after it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pull = zocket::Context::new().socket(zocket::SocketType::Pull)?;
    /// pull.set_manual_ack(true)?;
    /// assert!(pull.manual_ack());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_manual_ack(&self, manual: bool) -> Result<()> {
        self.locked().finishing.manual = manual;
        Ok(())
    }

    /// Whether messages are acknowledged by [`Socket::ack`] only.
    pub fn manual_ack(&self) -> bool {
        self.locked().finishing.manual
    }

    /// Acknowledges `msg` (the first frame of a message received from a spooled sender): its
    /// receipt is committed, and its sender told. With automatic acknowledgement it finishes
    /// the message before the next receive would.
    ///
    /// # Errors
    /// [`Error::WrongState`] if `msg` did not come from a spooled sender, or was acknowledged
    /// already; [`Error::Spool`] if the receipt could not be committed (the message stays
    /// unacknowledged: try again).
    ///
    /// # Examples
    ///
    /// ```
    /// let pull = zocket::Context::new().socket(zocket::SocketType::Pull)?;
    /// let not_spooled = zocket::Message::from("x");
    /// assert!(pull.ack(&not_spooled).is_err());
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn ack(&self, msg: &Message) -> Result<()> {
        let Some(delivery) = msg.delivery() else {
            return Err(Error::WrongState("not a message from a spooled sender"));
        };
        self.locked().finish(delivery)
    }
}

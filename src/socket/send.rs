//! Sending: whole messages through the pattern, or appended to the spool.

use super::shared::Locked;
use super::{DONTWAIT, SNDMORE, Socket};
use crate::error::{Error, Result};
use crate::message::{IntoFrame, Parts};
use crate::pattern::SendError;
use std::time::Instant;

impl Socket {
    /// Sends one frame. With [`SNDMORE`] the frame waits for the rest of its message, which
    /// goes out atomically with the last frame. With [`DONTWAIT`], returns
    /// [`Error::WouldBlock`] instead of blocking when no peer has room.
    pub fn send(&self, msg: impl IntoFrame, flags: i32) -> Result<()> {
        let mut guard = self.locked();
        let frame = msg.into_frame(&mut guard.arena);
        guard.send_partial.push(frame);
        if flags & SNDMORE != 0 {
            return Ok(());
        }
        let parts = std::mem::take(&mut guard.send_partial);
        self.send_locked(guard, parts, flags)
    }

    /// Sends a whole multipart message atomically.
    pub fn send_multipart<I, M>(&self, parts: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: IntoFrame,
    {
        let mut guard = self.locked();
        let st = &mut *guard;
        let parts: Parts = parts.into_iter().map(|m| m.into_frame(&mut st.arena)).collect();
        self.send_parts_locked(guard, parts, flags)
    }

    /// Sends a whole message as it travels (what the proxy moves).
    pub(crate) fn send_parts(&self, parts: Parts, flags: i32) -> Result<()> {
        self.send_parts_locked(self.locked(), parts, flags)
    }

    fn send_parts_locked(&self, guard: Locked<'_>, parts: Parts, flags: i32) -> Result<()> {
        if parts.is_empty() {
            return Err(Error::InvalidOption("a message needs at least one frame".into()));
        }
        self.send_locked(guard, parts, flags & !SNDMORE)
    }

    fn send_locked(&self, mut guard: Locked<'_>, mut parts: Parts, flags: i32) -> Result<()> {
        self.io.check()?;
        let deadline = crate::deadline::from_now(guard.opts.sndtimeo);
        if guard.spool.is_some() {
            return self.send_spooled(guard, parts, flags, deadline);
        }
        loop {
            let st = &mut *guard;
            st.sync_polled();
            match st.pattern.send(parts, &mut st.pipes) {
                Ok(()) => return Ok(()),
                Err(SendError::Fatal(e)) => return Err(e),
                Err(SendError::WouldBlock(back)) => {
                    parts = back;
                    self.wait(&mut guard, flags, deadline)?;
                }
            }
        }
    }

    /// With a spool, `send` appends (waiting while the quota is reached) and returns. When
    /// nothing older waits and a pipe has room, the message is routed at once, as an
    /// unspooled one; otherwise the socket's spool thread routes it as pipes have room. A
    /// sender that waits on the quota, or whose spool syncs every append as a group, releases
    /// the socket's lock first: that wait holds only the spool's own lock.
    fn send_spooled(
        &self,
        mut guard: Locked<'_>,
        parts: Parts,
        flags: i32,
        deadline: Option<Instant>,
    ) -> Result<()> {
        guard.sync_polled(); // inproc confirmations
        let Some(link) = guard.spool_link().cloned() else {
            return Err(Error::WrongState("the spool was removed"));
        };
        let parts = match link.routes_appends() {
            true => match link.append_routed(&mut guard, parts)? {
                None => return Ok(()),
                Some(full) => full, // the quota is reached: wait below, without the lock
            },
            false => parts,
        };
        drop(guard);
        let wait = (flags & DONTWAIT == 0).then_some(deadline);
        link.append(&parts, wait, || self.io.check())
    }

    /// Sends through `spool` from now on: `send` appends each message to it before returning,
    /// and delivery drains it to peers as they have room, so nothing accepted is lost to a
    /// crash, an absent peer or a full queue. Messages left in the spool by an earlier run are
    /// delivered first. PUSH, DEALER and PAIR only; set it before `bind`/`connect`.
    ///
    /// "Delivered" means: to a zocket peer (which announces support in its handshake), handed
    /// to the receiving application, which acknowledges it; to any other peer, written to the
    /// kernel's socket buffer. Until then a message stays in the spool and is re-sent after a
    /// reconnect or restart, so delivery is at-least-once; zocket receivers drop the duplicates.
    pub fn set_spool(&self, spool: impl crate::spool::Spool + 'static) -> Result<()> {
        if !self.shared.socket_type.may_spool() {
            return Err(Error::NotSupported("a spool needs a PUSH, DEALER or PAIR socket"));
        }
        let mut st = self.shared.lock();
        if !st.endpoints.is_empty() {
            return Err(Error::WrongState("set the spool before bind or connect"));
        }
        if st.spool.is_some() {
            return Err(Error::WrongState("the socket already has a spool"));
        }
        let io = std::sync::Arc::downgrade(&self.io);
        let live = self.io.spool_thread_started();
        let checkback = st.checkback.take();
        let thread =
            super::spool_link::SpoolThread::start(Box::new(spool), checkback, &self.shared, io, live)?;
        let link = std::sync::Arc::clone(&thread.link);
        st.spool = Some(thread);
        drop(st);
        // The check-back decides what an earlier run prepared, now, without the socket's
        // lock: it may use the socket.
        link.check_back_all();
        Ok(())
    }

    /// What the socket's spool holds (messages and bytes not yet confirmed delivered, the
    /// oldest one's age) and how fast messages go in and out: the backlog to watch. See
    /// [`crate::spool::SpoolStats`] for an example.
    ///
    /// # Errors
    /// [`Error::WrongState`] if the socket has no spool.
    pub fn spool_stats(&self) -> Result<crate::spool::SpoolStats> {
        let link = self.shared.lock().spool_link().cloned();
        let link = link.ok_or(Error::WrongState("the socket has no spool"))?;
        Ok(link.stats())
    }

    /// Reports to this socket's monitors ([`Socket::monitor_events`]) when its spool's
    /// backlog crosses `alert`'s limits (`None`: no more reports). See
    /// [`crate::spool::BacklogAlert`] for an example. The events carry no endpoint.
    ///
    /// # Errors
    /// [`Error::WrongState`] if the socket has no spool (set it first).
    pub fn set_backlog_alert(&self, alert: Option<crate::spool::BacklogAlert>) -> Result<()> {
        let link = self.shared.lock().spool_link().cloned();
        let link = link.ok_or(Error::WrongState("the socket has no spool"))?;
        let hub = std::sync::Arc::clone(&self.shared.monitor);
        link.set_alert(alert.map(|limits| super::backlog::Alert {
            limits,
            hub,
            high: false,
        }));
        Ok(())
    }
}

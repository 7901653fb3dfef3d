//! Receiving: whole messages from the pattern, prefetched in batches where the type allows,
//! handed out frame by frame or whole.

use super::Socket;
use super::inbox::{Inbox, Received, Source};
use super::shared::Locked;
use crate::Delivery;
use crate::error::Result;
use crate::message::{Frame, Message, Parts};
use bytes::Bytes;

/// Messages taken from the pipes at once by one receive, for types that allow it.
const PREFETCH: usize = 64;

impl Socket {
    /// Takes the next whole message, waiting per `flags` and the receive timeout. Returns with
    /// the lock still held, so callers finish their bookkeeping in the same critical section.
    fn recv_locked<'a>(
        &'a self,
        mut guard: Locked<'a>,
        flags: i32,
        want_source: bool,
    ) -> Result<(Locked<'a>, Parts, Option<Delivery>, Source)> {
        self.io.check()?;
        self.settle_taken(&mut guard);
        if guard.finishing.has_taken() && !guard.finishing.manual {
            guard.finish_taken()?; // automatic acknowledgement: the last message is done
        }
        let deadline = crate::deadline::from_now(guard.opts.rcvtimeo);
        loop {
            let st = &mut *guard;
            st.sync_polled();
            st.pipes.source_taken = false;
            let got = st.pattern.recv(&mut st.pipes);
            let delivery = match st.pipes.popped.is_empty() {
                true => None,
                false => st.after_take(matches!(got, Ok(Some(_)))),
            };
            st.reap();
            if let Some(parts) = got? {
                guard.pipes.fast_credit = true;
                let taken = want_source && guard.pipes.source_taken;
                let source = taken.then(|| guard.pipes.source.clone()).flatten();
                return Ok((guard, parts, delivery, source));
            }
            self.wait(&mut guard, flags, deadline)?;
        }
    }

    /// The next whole message: from the prefetched ones, or from the pattern (waiting per
    /// `flags`), with its connection's properties if `want_source`. Types whose receive is a
    /// plain fair-queued pop take a batch at once, so the application thread touches the
    /// state it shares with the I/O thread once per batch rather than once per message (what
    /// libzmq's pipes do too). Messages from spooled senders are acknowledged when the
    /// socket is next looked at after the application took them, at the latest when the
    /// batch runs out; with receipts or manual acknowledgement they are taken one at a time.
    fn next_message(&self, flags: i32, want_source: bool) -> Result<Received> {
        if let Some(received) = self.pop_prefetched(want_source) {
            return Ok(received);
        }
        let (mut guard, parts, delivery, source) = self.recv_locked(self.locked(), flags, want_source)?;
        // A conflating socket takes one message at a time: a newer one may replace the next.
        // Messages from spooled senders only where they are done as the application takes
        // them (no receipts, no manual acknowledgement): a prefetched message is done, and
        // acknowledged, once the application has taken it (`Socket::settle_taken`).
        // Not from spooled inproc senders: those count a message consumed as it leaves the
        // pipe.
        let one_at_a_time =
            guard.acked_senders && (guard.counted_inproc || !guard.finishing.done_when_taken());
        if self.prefetches && !one_at_a_time && !guard.opts.conflate {
            let mut inbox = self.lock_inbox();
            if inbox.prefetched.is_empty() {
                inbox.sources.clear();
            }
            let st = &mut *guard;
            while inbox.prefetched.len() < PREFETCH {
                st.pipes.source_taken = false;
                let got = st.pattern.recv(&mut st.pipes);
                let returned = matches!(got, Ok(Some(_)));
                let origin = match st.pipes.popped.is_empty() {
                    true => None,
                    false => st.take_popped(returned),
                };
                let Ok(Some(more)) = got else { break };
                let source = st.pipes.source.as_ref().filter(|_| st.pipes.source_taken);
                inbox.push_prefetched(more, source, origin);
            }
            st.reap();
        }
        Ok((parts, delivery, source))
    }

    /// The next prefetched message, if any. When the last one is taken, those from spooled
    /// senders are settled at once: a receiver that stops receiving then leaves none of
    /// its messages unacknowledged.
    fn pop_prefetched(&self, want_source: bool) -> Option<Received> {
        self.pop_prefetched_from(self.lock_inbox(), want_source)
    }

    /// [`Socket::pop_prefetched`] with the inbox locked already.
    fn pop_prefetched_from<'a>(
        &'a self,
        inbox: std::sync::MutexGuard<'a, Inbox>,
        want_source: bool,
    ) -> Option<Received> {
        let mut inbox = self.refreshed(inbox);
        let received = inbox.pop_prefetched(want_source)?;
        let settle = inbox.prefetched.is_empty() && !inbox.taken.is_empty();
        drop(inbox);
        if settle {
            self.settle_taken(&mut self.locked());
        }
        Some(received)
    }

    /// `inbox`, once a spooled sender's connection that may have ended meanwhile is known:
    /// its end, applied, takes back its prefetched messages (they come again, maybe to
    /// another receiver), as it drops those still queued.
    pub(super) fn refreshed<'a>(
        &'a self,
        inbox: std::sync::MutexGuard<'a, Inbox>,
    ) -> std::sync::MutexGuard<'a, Inbox> {
        let spooled = inbox
            .prefetched
            .front()
            .is_some_and(|(_, _, origin)| origin.is_some());
        if !(spooled && self.shared.attention.load(std::sync::atomic::Ordering::SeqCst)) {
            return inbox;
        }
        drop(inbox);
        self.locked().sync_polled();
        self.lock_inbox()
    }

    /// Prefetched messages from spooled senders that the application took are done (or, if
    /// receipts were set since, taken until finished). The caller holds the socket's lock,
    /// which comes before the inbox's.
    pub(super) fn settle_taken(&self, guard: &mut Locked<'_>) {
        // Drained in place, so that the list keeps its room for the next batch.
        let mut inbox = self.lock_inbox();
        for (pipe, origin) in inbox.taken.drain(..) {
            guard.taken_by_application(pipe, origin);
        }
    }

    pub(super) fn lock_inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives one frame; [`Message::more`] tells whether more frames of the same message
    /// follow (they are already here: messages arrive whole).
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.recv_frame(flags, true)
    }

    /// One frame, with its connection's properties if `want_source`.
    fn recv_frame(&self, flags: i32, want_source: bool) -> Result<Message> {
        // One look at the inbox: the rest of a multipart message, or a prefetched message.
        let mut inbox = self.lock_inbox();
        if let Some(frame) = inbox.partial.pop_front() {
            let more = !inbox.partial.is_empty();
            let source = match more {
                true => inbox.partial_source.clone(),
                false => inbox.partial_source.take(),
            };
            return Ok(Message::from_frame(frame, more).with_properties(source));
        }
        let (mut parts, delivery, source) = match self.pop_prefetched_from(inbox, want_source) {
            Some(received) => received,
            None => self.next_message(flags, want_source)?,
        };
        if parts.len() == 1 {
            let msg = Message::from_frame(parts.pop().unwrap_or_default(), false);
            return Ok(msg.with_delivery(delivery).with_properties(source));
        }
        let mut parts = parts.into_iter();
        let first = parts.next().unwrap_or_default();
        let mut inbox = self.lock_inbox();
        inbox.partial.extend(parts);
        inbox.partial_source = source.clone();
        let msg = Message::from_frame(first, true).with_delivery(delivery);
        Ok(msg.with_properties(source))
    }

    /// Receives one frame as a `Vec<u8>`.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_frame(flags, false).map(|m| m.to_vec())
    }

    /// Receives one frame into `buf` (libzmq's `zmq_recv`): copies as much as fits and
    /// returns the frame's whole size, which is larger than `buf` when the frame was cut.
    /// [`Socket::get_rcvmore`] tells whether more frames of the message follow.
    ///
    /// # Examples
    ///
    /// ```
    /// let ctx = zocket::Context::new();
    /// let pull = ctx.socket(zocket::SocketType::Pull)?;
    /// pull.bind("inproc://recv-into")?;
    /// let push = ctx.socket(zocket::SocketType::Push)?;
    /// push.connect("inproc://recv-into")?;
    /// push.send("hello world", 0)?;
    /// let mut buf = [0u8; 5];
    /// assert_eq!(pull.recv_into(&mut buf, 0)?, 11);
    /// assert_eq!(&buf, b"hello");
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let frame = self.recv_frame(flags, false)?;
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        Ok(frame.len())
    }

    /// Receives one frame as a UTF-8 string; `Ok(Err(bytes))` if it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags)
            .map(|b| String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives a whole multipart message (the rest of it, if `recv_msg` took some frames).
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        Ok(self.recv_frames(flags)?.iter().map(|b| b.to_vec()).collect())
    }

    /// Receives a whole multipart message as `Bytes` frames: large frames without copying,
    /// small ones (up to 23 bytes, which travel inline) copied into a `Bytes` each.
    pub fn recv_frames(&self, flags: i32) -> Result<Vec<Bytes>> {
        Ok(self
            .recv_parts(flags)?
            .into_iter()
            .map(Frame::into_bytes)
            .collect())
    }

    /// A whole message as it travels, small frames inline (what the proxy moves): the rest of
    /// the one `recv_msg` began, or the next.
    pub(crate) fn recv_parts(&self, flags: i32) -> Result<Parts> {
        {
            let mut inbox = self.lock_inbox();
            if !inbox.partial.is_empty() {
                inbox.partial_source = None;
                return Ok(inbox.partial.drain(..).collect());
            }
        }
        self.next_message(flags, false).map(|(parts, _, _)| parts)
    }

    /// Whether the last frame received by [`Socket::recv_msg`] has more frames after it.
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(!self.lock_inbox().partial.is_empty())
    }
}

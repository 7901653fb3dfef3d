//! The writing end of a pipe as a socket uses it: whole messages, one item each; messages
//! pushed past the high-water mark (subscriptions, a REQ's request) wait in an overflow queue,
//! in order; and whether another message may be written is kept, so that the pattern can ask
//! without touching the pipe's shared words.

use super::{Wake, Writer};
use std::collections::VecDeque;

pub(crate) struct Outbox<T> {
    tx: Writer<T>,
    /// Messages the pipe refused, written as room appears, before anything newer.
    overflow: VecDeque<T>,
    /// Whether a new message may be written (refreshed after each write and each refresh).
    room: bool,
}

impl<T> Outbox<T> {
    pub fn new(tx: Writer<T>) -> Outbox<T> {
        Outbox {
            tx,
            overflow: VecDeque::new(),
            room: true,
        }
    }

    /// Whether a message may be written now without going past the mark.
    pub fn can_write(&self) -> bool {
        self.room
    }

    /// Writes one message, past the mark if need be (it then waits in the overflow queue).
    /// True when the reader slept on the empty pipe and must be woken.
    #[inline]
    pub fn write(&mut self, msg: T) -> bool {
        if !self.overflow.is_empty() {
            self.overflow.push_back(msg);
            return false;
        }
        if let Err(msg) = self.tx.write(msg, false) {
            self.overflow.push_back(msg);
        }
        let wake = self.tx.flush() == Wake::Reader;
        self.room = self.overflow.is_empty() && self.tx.has_room();
        wake
    }

    /// Moves refused messages into the pipe as room appears and refreshes whether there is
    /// room (a full pipe leaves the writer waiting: the reader's drain reports it). True
    /// when the reader must be woken.
    pub fn refresh(&mut self) -> bool {
        let mut wrote = false;
        while let Some(msg) = self.overflow.pop_front() {
            if let Err(msg) = self.tx.write(msg, false) {
                self.overflow.push_front(msg);
                break;
            }
            wrote = true;
        }
        let wake = wrote && self.tx.flush() == Wake::Reader;
        self.room = self.overflow.is_empty() && self.tx.has_room();
        wake
    }

    /// Ends the pipe (the reader sees what it holds, then the end) and returns what never
    /// entered it.
    pub fn into_overflow(self) -> VecDeque<T> {
        let _ = self.tx.close();
        self.overflow
    }

    /// Whether refused messages still wait to enter the pipe.
    pub fn has_overflow(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Changes the high-water mark for the messages written from now on.
    pub fn set_hwm(&mut self, hwm: usize) {
        self.tx.set_hwm(hwm);
        self.room = self.overflow.is_empty() && self.tx.has_room();
    }

    /// Ends the pipe after what it holds (refused messages are dropped). True when the
    /// reader must be woken to see the end.
    pub fn close(self) -> bool {
        self.tx.close() == Wake::Reader
    }
}

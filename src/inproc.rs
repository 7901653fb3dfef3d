//! inproc: two sockets of one context joined by a pair of [`ypipe`](crate::ypipe)s, one per
//! direction. No I/O thread, no encoding, no copy: the `Bytes` a sender hands over is the one
//! the receiver gets (frames of up to 23 bytes travel inline instead).
//!
//! Each socket keeps its end inside its pipe (behind its own lock); the ends share only the
//! two pipes and a [`Link`]. A side that must be told something (data after it slept on an
//! empty pipe, room after it waited on a full one, or that its peer left) is woken through
//! [`PeerWake`], after the waking side released its own lock, so that no thread ever holds
//! two sockets' locks.
//!
//! The high-water mark of a direction is the sum of the sender's send and the receiver's
//! receive marks, libzmq's rule: the pipe holds the sender's share plus the receiver's, and
//! the receiver moves messages into its own queue only when that queue is empty.

use crate::message::Parts;
use crate::ypipe::{self, Outbox, Read, Wake};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A receiver wakes a spooled sender to confirm deliveries at least every this many messages.
const CONFIRM_BATCH: u64 = 32;

/// Something an inproc end wakes: the socket at the other end. It must not own the socket
/// (the socket owns the end: that would be a cycle).
pub(crate) trait PeerWake: Send + Sync {
    /// The pipe changed in a way the socket may wait on: data, room, or the end.
    fn wake(&self);
}

/// What the two ends share besides the pipes. Index 0 is the connecting side, 1 the binding.
struct Link {
    /// Each side's socket, set when that end is attached (a connection made before the bind
    /// has no binding socket yet).
    sockets: [OnceLock<Arc<dyn PeerWake>>; 2],
    /// Set by a side when it leaves: the other stops writing and drains what is left.
    gone: [AtomicBool; 2],
    /// Set by a side that sends from a spool: its receiver counts what the application took,
    /// so that the sender confirms deliveries only then.
    counted: [AtomicBool; 2],
    /// Messages sent by each side that the receiving application took (when counted).
    consumed: [AtomicU64; 2],
    /// A corrected high-water mark for each side's pipe, or [`NO_CHANGE`]: a connection made
    /// before the bind guessed the binding side's marks, and the bind corrects the guess.
    hwm: [AtomicUsize; 2],
}

/// No new high-water mark (see `Link::hwm`).
const NO_CHANGE: usize = usize::MAX;

/// One socket's end of an inproc connection.
pub(crate) struct InprocEnd {
    side: usize,
    link: Arc<Link>,
    tx: Option<Outbox<Parts>>,
    rx: ypipe::Reader<Parts>,
    /// The peer's close was read: nothing more will come.
    rx_closed: bool,
    /// A message read from the pipe that the receiving queue had no room for.
    held: Option<Parts>,
    /// Messages handed to the pipe so far (overflow included), and the spool sequence numbers
    /// of those not yet confirmed consumed, by position.
    written: u64,
    in_flight: VecDeque<(u64, u64)>,
    /// The endpoint as given, for `unbind` and `disconnect`.
    pub endpoint: Arc<str>,
}

/// A new connection: the connecting side's end and the binding side's. `hwm[d]` bounds the
/// messages in the pipe from side `d` (0: none).
pub(crate) fn pair(endpoint: &str, hwm: [usize; 2]) -> (InprocEnd, InprocEnd) {
    let link = Arc::new(Link {
        sockets: Default::default(),
        gone: Default::default(),
        counted: Default::default(),
        consumed: Default::default(),
        hwm: [AtomicUsize::new(NO_CHANGE), AtomicUsize::new(NO_CHANGE)],
    });
    let endpoint: Arc<str> = Arc::from(endpoint);
    let (tx0, rx0) = ypipe::channel(hwm[0]);
    let (tx1, rx1) = ypipe::channel(hwm[1]);
    let end = |side, tx, rx| InprocEnd {
        side,
        link: Arc::clone(&link),
        tx: Some(Outbox::new(tx)),
        rx,
        rx_closed: false,
        held: None,
        written: 0,
        in_flight: VecDeque::new(),
        endpoint: Arc::clone(&endpoint),
    };
    (end(0, tx0, rx1), end(1, tx1, rx0))
}

/// The sum of a sender's and a receiver's marks, where 0 (no limit) wins.
pub(crate) fn sum_hwm(send: usize, recv: usize) -> usize {
    if send == 0 || recv == 0 {
        0
    } else {
        send.saturating_add(recv)
    }
}

impl InprocEnd {
    /// The connecting end (true) or the binding one.
    pub fn is_connecting(&self) -> bool {
        self.side == 0
    }

    /// Attaches this end to its socket; `spooled`: the socket sends from a spool.
    pub fn attach(&mut self, socket: Arc<dyn PeerWake>, spooled: bool) {
        let _ = self.link.sockets[self.side].set(socket);
        self.link.counted[self.side].store(spooled, Ordering::Release);
    }

    /// The socket at the other end, to wake (None before it is attached).
    pub fn peer(&self) -> Option<Arc<dyn PeerWake>> {
        self.link.sockets[1 - self.side].get().cloned()
    }

    /// Whether the peer sends from a spool (its messages must be counted as consumed).
    pub fn peer_counted(&self) -> bool {
        self.link.counted[1 - self.side].load(Ordering::Acquire)
    }

    /// The peer left: no more writing (what it sent is still read to the end).
    pub fn peer_gone(&self) -> bool {
        self.link.gone[1 - self.side].load(Ordering::Acquire)
    }

    /// Sets the high-water mark of this end's pipe (an end not attached yet: the bind's).
    pub fn set_hwm(&mut self, hwm: usize) {
        if let Some(tx) = &mut self.tx {
            tx.set_hwm(hwm);
        }
    }

    /// Corrects the high-water mark of the other end's pipe, which may be writing already:
    /// it applies the mark at its next write.
    pub fn correct_peer_hwm(&self, hwm: usize) {
        self.link.hwm[1 - self.side].store(hwm, Ordering::Release);
    }

    /// Applies a corrected high-water mark, if the bind sent one.
    fn apply_hwm(&mut self) {
        let link = &self.link.hwm[self.side];
        if link.load(Ordering::Relaxed) == NO_CHANGE {
            return;
        }
        let hwm = link.swap(NO_CHANGE, Ordering::Acquire);
        if let (Some(tx), true) = (self.tx.as_mut(), hwm != NO_CHANGE) {
            tx.set_hwm(hwm);
        }
    }

    /// Whether a message may be written now.
    pub fn can_write(&self) -> bool {
        self.tx.as_ref().is_some_and(Outbox::can_write)
    }

    /// Writes one message (`seq`: its spool sequence number, 0 if none), past the mark if
    /// need be. True when the peer must be woken.
    pub fn write(&mut self, msg: Parts, seq: u64) -> bool {
        self.apply_hwm();
        let Some(tx) = self.tx.as_mut() else {
            return false;
        };
        self.written += 1;
        if seq != 0 {
            self.in_flight.push_back((self.written, seq));
        }
        tx.write(msg)
    }

    /// Moves refused messages into the pipe as room appears and refreshes whether there is
    /// room (a full pipe leaves the writer waiting: the reader's drain wakes us). True when
    /// the peer must be woken.
    pub fn refresh_room(&mut self) -> bool {
        self.apply_hwm();
        self.tx.as_mut().is_some_and(Outbox::refresh)
    }

    /// The next message from the peer: `Ok(Some((msg, wake_peer)))`, `Ok(None)` when the pipe
    /// is empty (the peer's next flush wakes us), `Err(())` once the peer's close was read.
    pub fn read(&mut self) -> Result<Option<(Parts, bool)>, ()> {
        if let Some(msg) = self.held.take() {
            return Ok(Some((msg, false)));
        }
        if self.rx_closed {
            return Err(());
        }
        match self.rx.read() {
            Read::Frame { item, wake, .. } => Ok(Some((item, wake == Wake::Writer))),
            Read::Empty => Ok(None),
            Read::Closed => {
                self.rx_closed = true;
                Err(())
            }
        }
    }

    /// Puts back a message the receiving queue had no room for.
    pub fn hold(&mut self, msg: Parts) {
        self.held = Some(msg);
    }

    /// Whether everything the peer sent was read (its close included).
    pub fn rx_done(&self) -> bool {
        self.rx_closed && self.held.is_none()
    }

    /// Counts one message of the peer's as consumed, if the peer wants to know. True when
    /// the peer should be woken to confirm its spool: every [`CONFIRM_BATCH`] messages, and
    /// when the receiving queue is `drained`.
    pub fn consumed_one(&self, drained: bool) -> bool {
        if !self.peer_counted() {
            return false;
        }
        let before = self.link.consumed[1 - self.side].fetch_add(1, Ordering::Release);
        drained || (before + 1).is_multiple_of(CONFIRM_BATCH)
    }

    /// The spool sequence numbers whose messages the peer's application took since the
    /// last call.
    pub fn take_confirmed(&mut self) -> Vec<u64> {
        if self.in_flight.is_empty() {
            return Vec::new();
        }
        let consumed = self.link.consumed[self.side].load(Ordering::Acquire);
        let mut done = Vec::new();
        while let Some(&(position, seq)) = self.in_flight.front() {
            if position > consumed {
                break;
            }
            done.push(seq);
            self.in_flight.pop_front();
        }
        done
    }

    /// Whether spooled messages wait for the peer's application to take them.
    pub fn has_unconfirmed(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Leaves the connection: no more writing, the peer is told (its socket is returned, to
    /// wake once no lock is held). Spool sequence numbers not confirmed consumed are returned
    /// for re-sending. What the peer sent stays readable.
    pub fn leave(&mut self) -> (Option<Arc<dyn PeerWake>>, Vec<u64>) {
        let unconfirmed = self.in_flight.drain(..).map(|(_, seq)| seq).collect();
        let Some(tx) = self.tx.take() else {
            return (None, unconfirmed);
        };
        let _ = tx.close();
        self.link.gone[self.side].store(true, Ordering::Release);
        (self.peer(), unconfirmed)
    }
}

impl Drop for InprocEnd {
    fn drop(&mut self) {
        // The socket's state is going away: the peer must not wait for us. Its socket was
        // woken when ours closed (see `Socket`'s drop); this only covers the unattached ends
        // of a connection that never completed.
        if let Some(tx) = self.tx.take() {
            let _ = tx.close();
            self.link.gone[self.side].store(true, Ordering::Release);
        }
    }
}

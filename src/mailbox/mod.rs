//! A mailbox: the commands that cross threads to one receiver (a socket, an I/O thread), with
//! a wake-up the receiver can block on or hand to an event loop. libzmq's `mailbox_t` and
//! `signaler_t` (`src/mailbox.cpp`, `src/signaler.cpp`) are the model.
//!
//! # Algorithm
//!
//! The commands travel in a [`ypipe`](crate::ypipe) without a high-water mark. Any number of
//! [`MailboxSender`]s share its writer behind a mutex that covers only write and flush; the
//! signal is raised after unlocking, and only when the flush returned
//! [`Wake::Reader`](crate::ypipe::Wake::Reader), that is when the receiver had found the pipe
//! empty and gone to sleep. The receiver starts asleep, so the first command always signals.
//! While commands keep coming, the receiver reads them with no system call; once it finds the
//! pipe empty it waits for the signal, consumes it, and reads again.
//!
//! # Wake-up invariant
//!
//! One signal per sleep: the pipe's flush reports a sleep to exactly one sender, and the
//! receiver consumes exactly one signal before it reads (and so before it can sleep) again.
//! Debug builds assert both counts; the loom model `loom_two_senders_one_signal_per_sleep`
//! checks them under every interleaving with a preemption bound of 2 (run with the ypipe
//! models, 0.1 s for all five; see `crate::ypipe` for the command).
//!
//! # Notes
//!
//! - Commands are not bounded: a mailbox carries commands the crate generates itself (attach,
//!   activate, terminate), never data a peer controls, and a command must never be refused.
//! - Once the [`Mailbox`] is dropped, [`MailboxSender::send`] returns the command. A command
//!   sent while it is being dropped is dropped with the pipe.
//! - Blocking in [`Mailbox::recv`] with no timeout waits for a command even if no sender is
//!   left; owners keep a sender, or use a timeout.

pub(crate) mod signal;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;

use crate::sync::{Arc, AtomicBool, Mutex, Ordering};
use crate::ypipe::{self, Read, Wake};
use std::io;
use std::time::Duration;

/// Slots per chunk of the command pipe, as libzmq uses for commands.
const COMMAND_CHUNK_LEN: usize = 16;

type CommandWriter<C> = ypipe::Writer<C, COMMAND_CHUNK_LEN>;
type CommandReader<C> = ypipe::Reader<C, COMMAND_CHUNK_LEN>;

/// A new mailbox: any number of senders (clone the one returned), one receiver.
///
/// # Errors
/// Creating the signal's descriptors failed (the process is out of file descriptors).
pub(crate) fn mailbox<C>() -> io::Result<(MailboxSender<C>, Mailbox<C>)> {
    let (writer, mut reader) = ypipe::with_chunk_len::<C, COMMAND_CHUNK_LEN>(0);
    // Go to sleep, so that the first command signals.
    let asleep = !reader.check_read();
    debug_assert!(asleep);
    let (signal, wait) = signal::new()?;
    let shared = Arc::new(Senders {
        writer: Mutex::new(writer),
        signal,
        receiver_gone: AtomicBool::new(false),
    });
    let receiver = Mailbox {
        reader,
        wait,
        active: false,
        shared: shared.clone(),
        #[cfg(test)]
        sleeps: 1,
    };
    Ok((MailboxSender { shared }, receiver))
}

struct Senders<C> {
    writer: Mutex<CommandWriter<C>>,
    signal: signal::Signal,
    receiver_gone: AtomicBool,
}

/// The sending side of a [`Mailbox`]; clone it for each sending thread.
pub(crate) struct MailboxSender<C> {
    shared: Arc<Senders<C>>,
}

impl<C> Clone for MailboxSender<C> {
    fn clone(&self) -> Self {
        MailboxSender {
            shared: self.shared.clone(),
        }
    }
}

/// Why [`MailboxSender::send`] failed.
#[derive(Debug)]
pub(crate) enum SendError<C> {
    /// The receiver is gone; here is the command back.
    Closed(C),
    /// The command is queued, but raising the signal failed: the receiver may not wake.
    Signal(io::Error),
}

impl<C> MailboxSender<C> {
    /// Queues `command` and wakes the receiver if it was asleep. Never blocks but on the
    /// senders' mutex, which covers only the queueing.
    ///
    /// # Errors
    /// [`SendError::Closed`] when the [`Mailbox`] was dropped; [`SendError::Signal`] when the
    /// wake-up could not be written (a broken descriptor).
    pub(crate) fn send(&self, command: C) -> Result<(), SendError<C>> {
        // Relaxed: the flag carries no data; it only stops sending to a receiver that is
        // gone, and a command that slips past is freed with the pipe.
        if self.shared.receiver_gone.load(Ordering::Relaxed) {
            return Err(SendError::Closed(command));
        }
        let wake = {
            let mut writer = self
                .shared
                .writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // The command pipe has no high-water mark, so the write always succeeds.
            if let Err(command) = writer.write(command, false) {
                return Err(SendError::Closed(command));
            }
            writer.flush()
        };
        match wake {
            Wake::Reader => self.shared.signal.raise().map_err(SendError::Signal),
            Wake::None | Wake::Writer => Ok(()),
        }
    }
}

/// The receiving side: one per socket or I/O thread.
pub(crate) struct Mailbox<C> {
    reader: CommandReader<C>,
    wait: signal::Wait,
    /// Reading without waiting: the last read found a command. When false the pipe's reader
    /// is asleep and a signal is on its way or will come with the next command.
    active: bool,
    shared: Arc<Senders<C>>,
    /// Times the pipe's reader went to sleep, for the tests.
    #[cfg(test)]
    sleeps: usize,
}

impl<C> Mailbox<C> {
    /// The next command, waiting for one up to `timeout` (`None`: no limit, `Some(ZERO)`:
    /// do not wait). Returns `Ok(None)` when the time ran out.
    ///
    /// # Errors
    /// Waiting on the descriptor failed (the std build's `epoll_wait`, other than `EINTR`).
    pub(crate) fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<C>> {
        if self.active {
            match self.reader.read() {
                Read::Frame { item, .. } => return Ok(Some(item)),
                Read::Empty => {
                    self.active = false;
                    #[cfg(test)]
                    {
                        self.sleeps += 1;
                    }
                }
                Read::Closed => {
                    debug_assert!(false, "the command pipe is never closed");
                    return Ok(None);
                }
            }
        }
        if !self.wait.wait(&self.shared.signal, timeout)? {
            return Ok(None);
        }
        self.active = true;
        match self.reader.read() {
            Read::Frame { item, .. } => Ok(Some(item)),
            Read::Empty | Read::Closed => {
                debug_assert!(false, "a signal without a command");
                self.active = false;
                Ok(None)
            }
        }
    }

    /// The next command if one is there; never blocks.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub(crate) fn try_recv(&mut self) -> io::Result<Option<C>> {
        self.recv(Some(Duration::ZERO))
    }

    /// Signals raised since the start, how many are not consumed yet, and how many times the
    /// receiver went to sleep.
    #[cfg(test)]
    fn signal_counts(&self) -> (usize, usize, usize) {
        let (raised, unconsumed) = self.shared.signal.counts();
        (raised, unconsumed, self.sleeps)
    }

    /// The descriptor to poll for readability: it becomes readable when a command arrives
    /// while the mailbox is asleep (after a `recv` found it empty), and stops being readable
    /// once `recv` consumed that wake-up.
    ///
    /// # Notes
    /// - It is an edge, not a level: while the receiver is awake, new commands do not make it
    ///   readable. After it turns readable, drain with [`try_recv`](Self::try_recv) until it
    ///   returns `None`; only then does the next command signal again.
    /// - Wake-ups may be spurious from the caller's view (a `recv` may have taken the command
    ///   meanwhile); a readable descriptor means "call `try_recv`", nothing more.
    /// - The descriptor lives as long as the mailbox. In the std build it is an epoll
    ///   descriptor that watches an eventfd (see `signal.rs`), pollable by `poll(2)`, `epoll`
    ///   or any event loop.
    #[cfg(not(all(test, loom)))]
    pub(crate) fn readiness_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.wait.fd()
    }
}

impl<C> Drop for Mailbox<C> {
    fn drop(&mut self) {
        // Relaxed: see `MailboxSender::send`.
        self.shared.receiver_gone.store(true, Ordering::Relaxed);
    }
}

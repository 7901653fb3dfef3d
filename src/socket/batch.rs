//! Atomic batches on a spooled socket, and prepared batches decided later or by a check-back
//! after a restart (the brokerless form of a transactional "half message").
//!
//! A batch is gathered in memory and appended to the spool in one go at `commit`: after a
//! crash, either every message of it is in the spool, and so delivered, or none is. `prepare`
//! keeps it in the spool's prepared store instead: durable, not delivered, until
//! `commit_prepared` appends it (with its id, so that it is never appended twice) or
//! `rollback_prepared` forgets it. After a restart, the check-back decides each prepared batch
//! left over; one it does not know yet is asked about again every second.

use super::Socket;
use super::spool_link::SpoolLink;
use crate::error::{Error, Result};
use crate::message::{FrameArena, IntoFrame};
use crate::spool::SpoolError;
use bytes::Bytes;

/// Identifies a prepared batch (see [`Batch::prepare`]).
///
/// # Examples
///
/// ```
/// let id = zocket::BatchId(0x2a);
/// assert_eq!(id.to_string(), "000000000000002a");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub u64);

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What the check-back says of a prepared batch found after a restart.
///
/// # Examples
///
/// ```
/// use zocket::{BatchId, Checkback};
/// // A check-back that asks the application's own records about each batch.
/// let committed_in_my_db = |id: BatchId| id.0 % 2 == 0;
/// let decide = move |id: BatchId| match committed_in_my_db(id) {
///     true => Checkback::Commit,
///     false => Checkback::Rollback,
/// };
/// assert_eq!(decide(BatchId(4)), Checkback::Commit);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkback {
    /// Deliver it.
    Commit,
    /// Forget it.
    Rollback,
    /// Not decided yet: ask again later.
    Unknown,
}

/// Frames up to this size are copied out of the arena (see `Batch::send`).
const SMALL: usize = 256;
/// A prepared batch decided by another thread while a commit waited for room.
const DECIDED_MEANWHILE: &str = "a prepared batch decided meanwhile";

/// The check-back, as the socket keeps it.
pub(crate) type CheckbackFn = Box<dyn FnMut(BatchId) -> Checkback + Send>;

/// Messages sent as one atomic batch on a spooled socket: nothing reaches the spool until
/// [`Batch::commit`], and then all of it does, or none if the process crashes. Dropping an
/// uncommitted batch rolls it back.
///
/// The receiver gets the batch's messages in order, as ordinary messages: a receiver is not
/// told where a batch begins or ends, and one that crashes in the middle of a batch has the
/// rest delivered after its restart, as for any message (see the README's spool section).
///
/// # Examples
///
/// ```
/// let push = zocket::Context::new().socket(zocket::SocketType::Push)?;
/// push.set_spool(zocket::spool::MemorySpool::new(None))?;
/// let mut tx = push.begin()?;
/// tx.send("debit A", 0)?;
/// tx.send("credit B", 0)?;
/// tx.commit()?; // both, or (after a crash) neither
/// assert_eq!(push.spool_stats()?.messages, 2);
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct Batch<'a> {
    socket: &'a Socket,
    messages: Vec<Vec<Bytes>>,
    /// Frames of the message being sent with `SNDMORE`.
    partial: Vec<Bytes>,
    arena: FrameArena,
}

impl Batch<'_> {
    /// Adds a frame to the batch; with [`crate::SNDMORE`], more frames of the same message
    /// follow.
    pub fn send(&mut self, data: impl IntoFrame, flags: i32) -> Result<()> {
        let frame = data.into_frame(&mut self.arena);
        // A small frame copied into the arena would keep its whole chunk alive in the spool's
        // cache: it gets a buffer of its own.
        let bytes = match frame.len() <= SMALL {
            true => Bytes::copy_from_slice(&frame),
            false => frame.into_bytes(),
        };
        self.partial.push(bytes);
        if flags & crate::SNDMORE == 0 {
            self.messages.push(std::mem::take(&mut self.partial));
        }
        Ok(())
    }

    /// Appends the whole batch to the spool, atomically, waiting for room under the quota
    /// as `send` does (per the send timeout).
    ///
    /// # Errors
    /// [`Error::WrongState`] if a message was left unfinished (`SNDMORE` on its last frame);
    /// [`Error::Spool`] as for `send` (nothing of the batch was appended).
    pub fn commit(mut self) -> Result<()> {
        let messages = self.finished()?;
        self.socket.append_batch(&messages, None)
    }

    /// Forgets the batch: nothing of it was appended.
    pub fn rollback(mut self) -> Result<()> {
        self.messages.clear();
        Ok(())
    }

    /// Keeps the batch durably as a prepared batch, delivered only once decided with
    /// [`Socket::commit_prepared`] (or by the check-back after a restart, see
    /// [`Socket::set_checkback`]), and forgotten with [`Socket::rollback_prepared`].
    ///
    /// # Errors
    /// As [`Batch::commit`]; [`Error::Spool`] with `SpoolError::Unsupported` for a custom
    /// spool without prepared batches.
    pub fn prepare(mut self) -> Result<BatchId> {
        let messages = self.finished()?;
        let id = BatchId(crate::spool::new_stream_id());
        self.socket.link()?.prepare(id.0, &messages)?;
        Ok(id)
    }

    fn finished(&mut self) -> Result<Vec<Vec<Bytes>>> {
        if !self.partial.is_empty() {
            return Err(Error::WrongState(
                "the batch's last message is unfinished (SNDMORE)",
            ));
        }
        Ok(std::mem::take(&mut self.messages))
    }
}

impl Socket {
    /// Starts an atomic batch of messages (see [`Batch`]). The socket must have a spool.
    ///
    /// # Errors
    /// [`Error::WrongState`] without a spool.
    pub fn begin(&self) -> Result<Batch<'_>> {
        self.link()?;
        Ok(Batch {
            socket: self,
            messages: Vec::new(),
            partial: Vec::new(),
            arena: FrameArena::default(),
        })
    }

    /// Delivers prepared batch `id`: appends its messages to the spool, atomically.
    ///
    /// # Errors
    /// [`Error::WrongState`] if no such batch is prepared (decided already, or never);
    /// [`Error::Spool`] if the spool cannot take it now (e.g. `SpoolError::Full`: try
    /// again).
    ///
    /// # Examples
    ///
    /// ```
    /// let push = zocket::Context::new().socket(zocket::SocketType::Push)?;
    /// push.set_spool(zocket::spool::MemorySpool::new(None))?;
    /// let mut tx = push.begin()?;
    /// tx.send("reserve seat 12", 0)?;
    /// let id = tx.prepare()?;            // durable, not delivered
    /// // ... the application's own transaction commits ...
    /// push.commit_prepared(id)?;         // now delivered
    /// assert!(push.commit_prepared(id).is_err(), "decided once");
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn commit_prepared(&self, id: BatchId) -> Result<()> {
        let link = self.link()?;
        let timeout = self.shared.lock().opts.sndtimeo;
        let deadline = Some(crate::deadline::from_now(timeout));
        link.commit_prepared(id.0, deadline, || self.io.check())
    }

    /// Forgets prepared batch `id`: it is never delivered.
    ///
    /// # Errors
    /// [`Error::WrongState`] if no such batch is prepared.
    pub fn rollback_prepared(&self, id: BatchId) -> Result<()> {
        self.link()?.rollback_prepared(id.0)
    }

    /// Decides, after a restart, each prepared batch an earlier run left undecided:
    /// `checkback` is called with its id when [`Socket::set_spool`] recovers the spool (so set
    /// it before), and again every second for a batch it answers [`Checkback::Unknown`].
    ///
    /// # Errors
    /// [`Error::WrongState`] once the socket has a spool.
    ///
    /// # Examples
    ///
    /// ```
    /// use zocket::Checkback;
    /// let push = zocket::Context::new().socket(zocket::SocketType::Push)?;
    /// push.set_checkback(|id| {
    ///     // Look the batch up in the application's own records.
    ///     let _ = id;
    ///     Checkback::Rollback
    /// })?;
    /// push.set_spool(zocket::spool::MemorySpool::new(None))?;
    /// # Ok::<(), zocket::Error>(())
    /// ```
    pub fn set_checkback(&self, checkback: impl FnMut(BatchId) -> Checkback + Send + 'static) -> Result<()> {
        let mut st = self.shared.lock();
        if st.spool.is_some() {
            return Err(Error::WrongState("set the check-back before the spool"));
        }
        st.checkback = Some(Box::new(checkback));
        Ok(())
    }

    fn link(&self) -> Result<std::sync::Arc<SpoolLink>> {
        let link = self.shared.lock().spool_link().cloned();
        link.ok_or(Error::WrongState("batches need a spool (set_spool)"))
    }

    fn append_batch(&self, messages: &[Vec<Bytes>], commits: Option<u64>) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let link = self.link()?;
        let timeout = self.shared.lock().opts.sndtimeo;
        let deadline = Some(crate::deadline::from_now(timeout));
        link.append_batch(messages, commits, deadline, || self.io.check())
    }
}

impl SpoolLink {
    /// Keeps `messages` as prepared batch `id`.
    pub fn prepare(&self, id: u64, messages: &[Vec<Bytes>]) -> Result<()> {
        self.lock().spool().prepare(id, messages)?;
        Ok(())
    }

    /// Appends prepared batch `id` (atomically, carrying its id) and forgets it, waiting
    /// for room under the quota as `deadline` allows (see [`SpoolLink::append`]).
    pub fn commit_prepared(
        &self,
        id: u64,
        deadline: Option<Option<std::time::Instant>>,
        alive: impl Fn() -> Result<()>,
    ) -> Result<()> {
        let Some(messages) = self.lock().spool().read_prepared(id)? else {
            return Err(Error::WrongState("no prepared batch with this id"));
        };
        // The append carries the id: once it is in, the batch is committed, whatever the
        // forgetting below does (the spool no longer lists it; a restart forgets its file).
        self.append_waiting(deadline, alive, |delivery| {
            if delivery.spool().read_prepared(id)?.is_none() {
                return Err(SpoolError::Unsupported(DECIDED_MEANWHILE));
            }
            delivery.append_batch(&messages, Some(id))
        })
        .map_err(|e| match e {
            Error::Spool(SpoolError::Unsupported(DECIDED_MEANWHILE)) => {
                Error::WrongState("no prepared batch with this id")
            }
            e => e,
        })?;
        if let Err(e) = self.lock().spool().forget_prepared(id) {
            log::error!(
                "prepared batch {}: committed, but its file stays: {e}",
                BatchId(id)
            );
        }
        Ok(())
    }

    /// Forgets prepared batch `id`.
    pub fn rollback_prepared(&self, id: u64) -> Result<()> {
        let mut delivery = self.lock();
        if !delivery.spool().prepared()?.contains(&id) {
            return Err(Error::WrongState("no prepared batch with this id"));
        }
        delivery.spool().forget_prepared(id)?;
        Ok(())
    }

    /// Whether prepared batches wait for the check-back to know them.
    pub fn has_undecided(&self) -> bool {
        !self
            .undecided
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Asks the check-back about every prepared batch (on recovery); without one, says that
    /// prepared batches wait.
    pub fn check_back_all(&self) {
        let ids = match self.lock().spool().prepared() {
            Ok(ids) => ids,
            Err(e) => {
                log::error!("listing prepared batches failed: {e}");
                return;
            }
        };
        if ids.is_empty() {
            return;
        }
        if self.checkback.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            log::warn!(
                "{} prepared batch(es) left by an earlier run wait for a decision: set a \
                 check-back before the spool, or commit or roll them back by id",
                ids.len()
            );
            return;
        }
        *self.undecided.lock().unwrap_or_else(|e| e.into_inner()) = ids;
        self.check_back();
    }

    /// Asks the check-back about the prepared batches not decided yet, and applies its
    /// answers. No lock is held while it runs (it may use the socket).
    pub fn check_back(&self) {
        let ids = std::mem::take(&mut *self.undecided.lock().unwrap_or_else(|e| e.into_inner()));
        let mut still = Vec::new();
        for id in ids {
            let answer = {
                let mut checkback = self.checkback.lock().unwrap_or_else(|e| e.into_inner());
                match checkback.as_mut() {
                    Some(checkback) => checkback(BatchId(id)),
                    None => Checkback::Unknown,
                }
            };
            let done = match answer {
                // The spool thread frees room under the quota: never wait for it here.
                Checkback::Commit => self.commit_prepared(id, None, || Ok(())),
                Checkback::Rollback => self.rollback_prepared(id),
                Checkback::Unknown => Err(Error::WrongState("undecided")),
            };
            match done {
                Ok(()) => {}
                Err(Error::WrongState("no prepared batch with this id")) => {} // decided meanwhile
                Err(Error::WrongState(_)) => still.push(id),
                Err(e) => {
                    log::error!(
                        "prepared batch {}: applying the check-back failed: {e}",
                        BatchId(id)
                    );
                    still.push(id);
                }
            }
        }
        self.undecided
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(still);
        let next = std::time::Instant::now() + super::spool_link::RECHECK;
        *self.next_recheck.lock().unwrap_or_else(|e| e.into_inner()) = next;
    }
}

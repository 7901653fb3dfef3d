//! When appended data, the acknowledgement mark and the directory's entries reach stable
//! storage, per the [`FsyncPolicy`].
//!
//! A *flush* syncs the active segment's data, replaces the `acked` file (its data synced
//! before the rename), then syncs the directory, which makes created segments, the rename and
//! deleted segments durable. Who flushes:
//! - `Always`: the caller, after every append and acknowledgement;
//! - `Every(d)`: a background thread owned by the spool (`zocket-spool-sync`), `d` after the
//!   oldest change not yet flushed, whether or not the spool is called again; it sleeps while
//!   nothing changes, and is stopped and joined when the spool is dropped. The caller never
//!   waits for an fsync, except when a segment is rolled (it is synced before the next one is
//!   created, so that unsynced data is only ever at the end of the newest segment);
//! - `Never`: nobody syncs; the caller still replaces `acked` (unsynced) at most every
//!   100 ms of calls, so that a restart does not resend everything.
//!
//! The first failure is kept, and every later call returns it: after a failed fsync the
//! kernel may have dropped the dirty pages, so a retry could report success for lost data.

use super::super::SpoolError;
use super::FsyncPolicy;
use super::barrier::SplitFence;
use super::dir::{fsync_dir, io_err, store_acked};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often `Never` still records the acknowledgement mark.
const ACK_FILE_INTERVAL: Duration = Duration::from_millis(100);
/// Appends between two looks at the clock for it (see [`Durability::after_append`]).
const ACK_CHECK_EVERY: u64 = 64;

/// A spool's durability state, and its sync thread under `Every`.
pub(super) struct Durability {
    shared: Arc<Shared>,
    policy: FsyncPolicy,
    thread: Option<JoinHandle<()>>,
    /// Under `Always`: appends leave the sync to `GroupSync::sync_through`.
    grouped: bool,
    /// Appends made, counted for [`ACK_CHECK_EVERY`].
    appends: std::cell::Cell<u64>,
}

/// The group commit of a spool under `Always` (see `Spool::group_sync`).
pub(super) struct Grouped(Arc<Shared>);

impl super::super::GroupSync for Grouped {
    fn mark(&self) -> u64 {
        self.0.lock().changes
    }

    fn sync_through(&self, mark: u64) -> Result<(), SpoolError> {
        self.0.flush_through(Some(mark))
    }
}

struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    /// Signalled when a change makes the state dirty, on stop, and after each flush.
    changed: Condvar,
    /// Held for a whole flush: one writer of `acked.tmp` at a time.
    flushing: Mutex<()>,
    /// Whether `State::failure` is set: read per append without the lock.
    failed: AtomicBool,
    /// Whether `State::data_dirty` is set, stored under the lock; cleared before a flush's
    /// data sync begins. An append that finds it set after its store has nothing to record:
    /// the sync that will clear it has not begun, so it covers the store. Under `Every` the
    /// fence that orders the store before that look is split (`fence`): the sync thread pays
    /// for it, not each append.
    dirty_hint: AtomicBool,
    /// Orders an append's store before its look at `dirty_hint`, against the sync thread.
    fence: SplitFence,
}

struct State {
    active: Arc<File>,
    active_path: PathBuf,
    data_dirty: bool,
    dir_dirty: bool,
    acked: u64,
    acked_persisted: u64,
    /// When the oldest change not yet flushed was made.
    dirty_since: Option<Instant>,
    failure: Option<Failure>,
    /// Changes made, and how many of them the last successful flush covered.
    changes: u64,
    flushed: u64,
    /// Data and directory syncs done (observed by tests).
    data_syncs: u64,
    dir_syncs: u64,
    stop: bool,
}

struct Failure {
    path: PathBuf,
    kind: std::io::ErrorKind,
    message: String,
}

impl Failure {
    fn to_error(&self) -> SpoolError {
        SpoolError::Io {
            path: self.path.clone(),
            source: std::io::Error::new(self.kind, self.message.clone()),
        }
    }
}

impl Durability {
    /// Starts tracking `active` (the segment appended to) with the mark `acked` on disk;
    /// under `Every`, starts the sync thread.
    pub fn start(
        dir: &Path,
        policy: FsyncPolicy,
        active: Arc<File>,
        active_path: PathBuf,
        acked: u64,
    ) -> Result<Durability, SpoolError> {
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                active,
                active_path,
                data_dirty: false,
                dir_dirty: false,
                acked,
                acked_persisted: acked,
                dirty_since: None,
                failure: None,
                changes: 0,
                flushed: 0,
                data_syncs: 0,
                dir_syncs: 0,
                stop: false,
            }),
            changed: Condvar::new(),
            flushing: Mutex::new(()),
            failed: AtomicBool::new(false),
            dirty_hint: AtomicBool::new(false),
            // Only `Every` has appends racing a sync thread; the others order by fences.
            fence: match policy {
                FsyncPolicy::Every(_) => SplitFence::new(),
                FsyncPolicy::Always | FsyncPolicy::Never => SplitFence::plain(),
            },
        });
        let thread = match policy {
            FsyncPolicy::Every(period) => {
                let shared = Arc::clone(&shared);
                let handle = std::thread::Builder::new()
                    .name("zocket-spool-sync".into())
                    .spawn(move || sync_thread(&shared, period))
                    .map_err(io_err(dir))?;
                Some(handle)
            }
            FsyncPolicy::Always | FsyncPolicy::Never => None,
        };
        Ok(Durability {
            shared,
            policy,
            thread,
            grouped: false,
            appends: std::cell::Cell::new(0),
        })
    }

    /// Whether flushes sync (every policy but `Never`).
    pub fn durable(&self) -> bool {
        self.policy != FsyncPolicy::Never
    }

    /// Data was appended to the active segment.
    pub fn appended(&self) {
        self.change(|st| st.data_dirty = true);
    }

    /// The acknowledgement mark moved to `seq`.
    pub fn acked(&self, seq: u64) {
        self.change(|st| st.acked = seq);
    }

    /// A file was created in or deleted from the directory.
    pub fn dir_changed(&self) {
        self.change(|st| st.dir_dirty = true);
    }

    /// Appends go to `file` from now on (the previous active segment is already synced).
    pub fn set_active(&self, file: Arc<File>, path: PathBuf) {
        let mut st = self.shared.lock();
        st.active = file;
        st.active_path = path;
    }

    fn change(&self, apply: impl FnOnce(&mut State)) {
        let mut st = self.shared.lock();
        apply(&mut st);
        st.changes += 1;
        if st.dirty_since.is_none() {
            st.dirty_since = Some(Instant::now());
            if self.thread.is_some() {
                self.shared.changed.notify_all();
            }
        }
    }

    /// Data was appended to the active segment: [`Durability::appended`] and
    /// [`Durability::after_change`], as appends come by the million: under one lock, and
    /// without it while the data is known dirty (`Every`, `Never`). Under `Never` the age of
    /// the `acked` file is looked at every [`ACK_CHECK_EVERY`] appends only (acknowledgements
    /// look at it each time).
    pub fn after_append(&self) -> Result<(), SpoolError> {
        let appends = self.appends.get() + 1;
        self.appends.set(appends);
        if self.policy != FsyncPolicy::Always {
            // The record's store is ordered before the look at the flag (see `dirty_hint`).
            // Only the sync thread (`Every`) clears the flag while appends run; without it,
            // program order is enough, and the fence would cost some 10 ns per append.
            if self.thread.is_some() {
                self.shared.fence.light();
            }
            if !appends.is_multiple_of(ACK_CHECK_EVERY)
                && self.shared.dirty_hint.load(Ordering::SeqCst)
                && !self.shared.failed.load(Ordering::Acquire)
            {
                return Ok(());
            }
        }
        let due = {
            let mut st = self.shared.lock();
            if let Some(f) = &st.failure {
                return Err(f.to_error());
            }
            st.data_dirty = true;
            self.shared.dirty_hint.store(true, Ordering::SeqCst);
            st.changes += 1;
            let since = *st.dirty_since.get_or_insert_with(|| {
                if self.thread.is_some() {
                    self.shared.changed.notify_all();
                }
                Instant::now()
            });
            match self.policy {
                FsyncPolicy::Every(_) => false,
                FsyncPolicy::Always => !self.grouped,
                FsyncPolicy::Never => st.acked != st.acked_persisted && since.elapsed() >= ACK_FILE_INTERVAL,
            }
        };
        if due {
            self.flush()?;
        }
        Ok(())
    }

    /// Applies the caller's side of the policy after a change, and reports an earlier
    /// failure (of this call or of the sync thread).
    pub fn after_change(&self) -> Result<(), SpoolError> {
        let due = {
            let st = self.shared.lock();
            if let Some(f) = &st.failure {
                return Err(f.to_error());
            }
            match (self.policy, st.dirty_since) {
                (_, None) | (FsyncPolicy::Every(_), _) => false,
                (FsyncPolicy::Always, Some(_)) => true,
                (FsyncPolicy::Never, Some(since)) => {
                    st.acked != st.acked_persisted && since.elapsed() >= ACK_FILE_INTERVAL
                }
            }
        };
        if due {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes now, per the policy (`Never`: records the mark without syncing).
    pub fn flush(&self) -> Result<(), SpoolError> {
        self.shared.flush(self.durable())
    }

    /// Under `Always`: appends stop syncing; the returned handle syncs them in groups.
    pub fn group(&mut self) -> Option<Grouped> {
        (self.policy == FsyncPolicy::Always).then(|| {
            self.grouped = true;
            Grouped(Arc::clone(&self.shared))
        })
    }

    /// Whether appends leave their sync to the group commit.
    pub fn grouped(&self) -> bool {
        self.grouped
    }

    /// Flushes now and syncs, whatever the policy (an explicit [`Spool::sync`]).
    ///
    /// [`Spool::sync`]: super::super::Spool::sync
    pub fn flush_durably(&self) -> Result<(), SpoolError> {
        self.shared.flush(true)
    }

    /// The failure kept from an earlier flush, if any.
    pub fn check(&self) -> Result<(), SpoolError> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &self.shared.lock().failure {
            Some(f) => Err(f.to_error()),
            None => Ok(()),
        }
    }

    /// Records a failure that leaves the spool unusable (see the module documentation).
    pub fn fail(&self, err: &SpoolError) {
        let mut st = self.shared.lock();
        if st.failure.is_none() {
            st.failure = Some(failure_of(err));
            self.shared.failed.store(true, Ordering::Release);
        }
    }

    /// Data syncs of the active segment by a flush, and directory syncs, done so far.
    #[cfg(test)]
    pub fn syncs(&self) -> (u64, u64) {
        let st = self.shared.lock();
        (st.data_syncs, st.dir_syncs)
    }

    /// Whether a flush covered the changes up to `mark`.
    #[cfg(test)]
    pub fn flushed_at_least(&self, mark: u64) -> bool {
        self.shared.lock().flushed >= mark
    }

    /// Waits (until `deadline`) for a flush that covers every change made so far; false if
    /// none came.
    #[cfg(test)]
    pub fn wait_until_flushed(&self, deadline: Instant) -> bool {
        let mut st = self.shared.lock();
        let target = st.changes;
        while st.flushed < target {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        st.flushed >= target
    }
}

impl Drop for Durability {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("spool {}: the sync thread panicked", self.shared.dir.display());
        }
    }
}

fn failure_of(err: &SpoolError) -> Failure {
    match err {
        SpoolError::Io { path, source } => Failure {
            path: path.clone(),
            kind: source.kind(),
            message: source.to_string(),
        },
        other => Failure {
            path: PathBuf::new(),
            kind: std::io::ErrorKind::Other,
            message: other.to_string(),
        },
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flush(&self, durable: bool) -> Result<(), SpoolError> {
        self.flush_covering(durable, None)
    }

    /// A durable flush, unless one that began after `mark` was reached already covered it.
    fn flush_through(&self, mark: Option<u64>) -> Result<(), SpoolError> {
        self.flush_covering(true, mark)
    }

    fn flush_covering(&self, durable: bool, mark: Option<u64>) -> Result<(), SpoolError> {
        if mark.is_some_and(|m| self.lock().flushed >= m) {
            return Ok(());
        }
        let _serial = self.flushing.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, path, data, dir, acked, changes) = {
            let mut st = self.lock();
            if let Some(f) = &st.failure {
                return Err(f.to_error());
            }
            if mark.is_some_and(|m| st.flushed >= m) {
                return Ok(()); // the flush we waited for covered us: the group commit
            }
            st.dirty_since = None;
            let acked = (st.acked != st.acked_persisted).then_some(st.acked);
            // Without syncing, the data and the directory stay dirty for a later sync.
            let data = durable && std::mem::take(&mut st.data_dirty);
            if data {
                self.dirty_hint.store(false, Ordering::SeqCst);
            }
            let dir = durable && std::mem::take(&mut st.dir_dirty);
            let changes = st.changes;
            (
                Arc::clone(&st.active),
                st.active_path.clone(),
                data,
                dir,
                acked,
                changes,
            )
        };
        if data && !self.fence.heavy() {
            // An append running meanwhile may have missed this sync: the next one covers it.
            let mut st = self.lock();
            st.data_dirty = true;
            st.dirty_since.get_or_insert_with(Instant::now);
            self.dirty_hint.store(true, Ordering::SeqCst);
        }
        let result = (|| {
            if durable && data {
                file.sync_data().map_err(io_err(&path))?;
            }
            if let Some(seq) = acked {
                store_acked(&self.dir, seq, durable)?;
            }
            let sync_dir = durable && (dir || acked.is_some());
            if sync_dir {
                fsync_dir(&self.dir)?;
            }
            Ok((data, sync_dir))
        })();
        let mut st = self.lock();
        match &result {
            Ok((synced_data, synced_dir)) => {
                if let Some(seq) = acked {
                    st.acked_persisted = st.acked_persisted.max(seq);
                }
                st.flushed = st.flushed.max(changes);
                st.data_syncs += u64::from(*synced_data);
                st.dir_syncs += u64::from(*synced_dir);
            }
            Err(e) => {
                st.failure = Some(failure_of(e));
                self.failed.store(true, Ordering::Release);
            }
        }
        drop(st);
        self.changed.notify_all();
        result.map(|_| ())
    }
}

/// The `Every(period)` thread: flushes `period` after the oldest unflushed change.
fn sync_thread(shared: &Shared, period: Duration) {
    let mut st = shared.lock();
    loop {
        if st.stop {
            return;
        }
        let due = match st.dirty_since {
            Some(_) if st.failure.is_some() => {
                st.dirty_since = None; // reported by the next call; retrying proves nothing
                continue;
            }
            Some(since) => since.checked_add(period),
            None => None,
        };
        let now = Instant::now();
        st = match due {
            Some(due) if due <= now => {
                drop(st);
                if let Err(e) = shared.flush(true) {
                    log::error!("spool {}: background sync failed: {e}", shared.dir.display());
                }
                shared.lock()
            }
            Some(due) => {
                shared
                    .changed
                    .wait_timeout(st, due - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            // Clean, or a period beyond the clock's range: wait for a change or the stop.
            None => shared.changed.wait(st).unwrap_or_else(PoisonError::into_inner),
        };
    }
}

//! A `FileSpool`'s settings: durability, segment size, quota, what to do with damage.

use std::time::Duration;

/// When appended data and acknowledgements are forced to stable storage. Every policy but
/// `Never` also syncs the directory after a segment is created or deleted and after the
/// `acked` file is replaced, so that the files themselves survive a power failure.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zocket::spool::{FileSpoolConfig, FsyncPolicy};
/// let config = FileSpoolConfig { fsync: FsyncPolicy::Every(Duration::from_millis(10)), ..Default::default() };
/// assert_ne!(config.fsync, FsyncPolicy::Always);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every append and acknowledgement, before the call returns: nothing accepted is
    /// lost even on power failure; slow.
    Always,
    /// At most this long after a change, by a background thread that the spool owns (so an
    /// idle sender is covered too): a power failure can lose that window; a process crash
    /// loses nothing (the data is in the kernel). Appends do not wait for the disk, except
    /// when a full segment is synced before the next one is started.
    Every(Duration),
    /// Never: the operating system writes back when it likes.
    Never,
}

/// What to do when a damaged record is found.
///
/// # Examples
///
/// ```
/// use zocket::spool::{FileSpoolConfig, OnCorruption};
/// let lenient = FileSpoolConfig { on_corruption: OnCorruption::Skip, ..Default::default() };
/// assert_eq!(lenient.on_corruption, OnCorruption::Skip);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCorruption {
    /// Refuse to open (or to read), naming the file and offset.
    Fail,
    /// Skip the damaged record(s), report them in [`FileSpool::corruptions`](crate::spool::FileSpool::corruptions) and the log.
    Skip,
}

/// Settings of a [`FileSpool`](crate::spool::FileSpool).
///
/// # Examples
///
/// ```
/// use zocket::spool::{FileSpool, FileSpoolConfig};
/// let dir = std::env::temp_dir().join(format!("zocket-doc-config-{}", std::process::id()));
/// let config = FileSpoolConfig { quota: Some(64 << 20), segment_size: 8 << 20, ..Default::default() };
/// let spool = FileSpool::open_with(&dir, config)?;
/// # drop(spool);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), zocket::spool::SpoolError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileSpoolConfig {
    /// A segment is rolled when it would grow past this many bytes (default 64 MiB).
    pub segment_size: u64,
    /// Durability policy (default: every 100 ms).
    pub fsync: FsyncPolicy,
    /// Most bytes held on disk, records' framing included; an append beyond it fails with
    /// [`SpoolError::Full`](crate::spool::SpoolError::Full) until acknowledgements free room, and a message that could never
    /// fit with [`SpoolError::TooLarge`](crate::spool::SpoolError::TooLarge) (default: no quota).
    pub quota: Option<u64>,
    /// Damaged records: fail or skip (default: fail).
    pub on_corruption: OnCorruption,
    /// Recently appended messages of 512 bytes or more kept in memory too, so that
    /// delivering them does not read them back (default 8 MiB). Smaller ones are read back
    /// in order, 256 KiB of the segment at a time, which costs less than keeping them.
    pub cache_bytes: usize,
}

impl Default for FileSpoolConfig {
    fn default() -> FileSpoolConfig {
        FileSpoolConfig {
            segment_size: 64 << 20,
            fsync: FsyncPolicy::Every(Duration::from_millis(100)),
            quota: None,
            on_corruption: OnCorruption::Fail,
            cache_bytes: 8 << 20,
        }
    }
}

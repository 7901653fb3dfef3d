//! zocket with a spool on the PUSH side: every `send` appends the message to the spool before
//! returning, delivery drains the spool to the peer, and the zocket PULL acknowledges each
//! message it hands to the application, which frees it from the spool. Throughput only; the
//! receiver is the plain zocket PULL, or, for the receipts variant, a PULL that keeps
//! `FileReceipts` (each message's receipt is written before it is acknowledged).

use super::{HWM, Peer, zocket::Zocket};
use crate::peer::{self, PeerError, PeerResult};
use crate::spec::{Job, Spooling};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zocket::spool::{FileReceipts, FileSpool, FileSpoolConfig, FsyncPolicy, MemorySpool, Spool};
use zocket::{Context, SocketType};

/// How long the closed PUSH socket may take to have every spooled message confirmed.
const LINGER: Duration = Duration::from_secs(60);

/// The spooled zocket peer roles, one value per spool.
pub struct ZocketSpool(pub Spooling);

impl Peer for ZocketSpool {
    fn lat_server(&self, _job: &Job) -> PeerResult {
        Err("the spooled zocket variants are measured for throughput only".into())
    }

    fn lat_client(&self, _job: &Job) -> PeerResult {
        Err("the spooled zocket variants are measured for throughput only".into())
    }

    fn thr_receiver(&self, job: &Job) -> PeerResult {
        if self.0 != Spooling::Receipts {
            return Zocket::plain(1).thr_receiver(job);
        }
        let dir = std::env::temp_dir().join(format!("zocket-bench-receipts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull)?;
        pull.set_rcvhwm(HWM)?;
        pull.set_receipts(FileReceipts::open(&dir)?)?;
        pull.bind(&job.endpoint)?;
        peer::announce(&pull.last_endpoint()?);
        let received = peer::time_receive(job, || Ok(pull.recv_msg(0)?.len()));
        // The last message is finished (its receipt committed) by one more receive.
        let _ = pull.recv_msg(zocket::DONTWAIT);
        drop(pull);
        let _ = std::fs::remove_dir_all(&dir);
        received?;
        peer::finish();
        Ok(())
    }

    fn thr_sender(&self, job: &Job) -> PeerResult {
        let dir = match self.0.on_disk() {
            true => Some(SpoolDir::create(job)?),
            false => None,
        };
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push)?;
        push.set_sndhwm(HWM)?;
        push.set_linger(Some(LINGER))?;
        match (file_policy(self.0), &dir) {
            (Some(fsync), Some(dir)) => {
                let config = FileSpoolConfig {
                    fsync,
                    ..FileSpoolConfig::default()
                };
                push.set_spool(FileSpool::open_with(&dir.0, config)?)?;
            }
            _ => push.set_spool(MemorySpool::new(None))?,
        }
        push.connect(&job.endpoint)?;
        let payload = vec![0xA5u8; job.size];
        for _ in 0..job.count {
            push.send(&payload[..], 0)?;
        }
        // Closing the socket, then the context, waits until the receiver has confirmed every
        // message, or the linger period is over.
        let closing = Instant::now();
        drop(push);
        drop(ctx);
        if closing.elapsed() >= LINGER {
            return Err(format!("closing took the whole linger period ({} s)", LINGER.as_secs()).into());
        }
        if let Some(dir) = dir {
            dir.check_drained(job.count)?;
            dir.remove()?;
        }
        peer::finish();
        Ok(())
    }
}

/// The fsync policy of a file spool; `None` for the memory spool.
fn file_policy(spooling: Spooling) -> Option<FsyncPolicy> {
    match spooling {
        Spooling::Always => Some(FsyncPolicy::Always),
        Spooling::Every100ms | Spooling::Receipts => Some(FsyncPolicy::Every(Duration::from_millis(100))),
        Spooling::Never => Some(FsyncPolicy::Never),
        Spooling::Memory => None,
    }
}

/// A spool directory made for one run; removed when dropped (after a failure too).
struct SpoolDir(PathBuf);

impl SpoolDir {
    /// Creates the job's spool directory, which must not exist yet (each run starts empty).
    fn create(job: &Job) -> Result<SpoolDir, PeerError> {
        let path = job.spool_dir.clone().ok_or("a file spool needs --spool-dir")?;
        std::fs::create_dir(&path)
            .map_err(|e| format!("cannot create spool directory {}: {e}", path.display()))?;
        Ok(SpoolDir(path))
    }

    /// Reopens the closed socket's spool and fails unless it holds `count` messages, all
    /// acknowledged (the spool writes its acknowledgement mark when the socket drops it).
    fn check_drained(&self, count: u64) -> PeerResult {
        let config = FileSpoolConfig {
            fsync: FsyncPolicy::Never,
            ..FileSpoolConfig::default()
        };
        let spool = FileSpool::open_with(&self.0, config)?;
        let (appended, acked) = (spool.next_seq() - 1, spool.first_unacked() - 1);
        if (appended, acked) == (count, count) {
            Ok(())
        } else {
            Err(format!(
                "spool not drained after closing: {appended} of {count} messages appended, \
                 {acked} acknowledged"
            )
            .into())
        }
    }

    /// Removes the directory, reporting a failure.
    fn remove(self) -> PeerResult {
        std::fs::remove_dir_all(&self.0)
            .map_err(|e| format!("cannot remove spool directory {}: {e}", self.0.display()).into())
    }
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        // Already gone after a successful `remove`.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

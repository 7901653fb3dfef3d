//! Prepared batches of a [`super::FileSpool`]: durable, undeliverable until decided. Each is
//! one file `prepared/<id>.batch` of ordinary records (written to a temporary name, synced per
//! the policy, then renamed: it exists whole or not at all). Committing appends the batch to
//! the segments with its id in the last record, then deletes the file; if a crash comes in
//! between, the open finds the id in the segments and deletes the file then, so a batch is
//! never committed twice.

use super::super::SpoolError;
use super::super::record::{self, Decoded};
use super::dir::{fsync_dir, io_err};
use bytes::{Bytes, BytesMut};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(super) struct PreparedStore {
    dir: PathBuf,
    durable: bool,
}

impl PreparedStore {
    /// Opens the store in `spool_dir`, forgetting the batches whose commit the segments hold
    /// (`committed`) and temporary files a crash left.
    pub fn open(spool_dir: &Path, durable: bool, committed: &[u64]) -> Result<PreparedStore, SpoolError> {
        let dir = spool_dir.join("prepared");
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            if durable {
                fsync_dir(spool_dir)?; // its entry, or a power failure forgets every file in it
            }
        }
        let store = PreparedStore { dir, durable };
        let mut changed = false;
        for entry in fs::read_dir(&store.dir).map_err(io_err(&store.dir))? {
            let path = entry.map_err(io_err(&store.dir))?.path();
            let stale = match parse_name(&path) {
                Some(id) => committed.contains(&id),
                None => path.extension().is_some_and(|e| e == "tmp"),
            };
            if stale {
                fs::remove_file(&path).map_err(io_err(&path))?;
                changed = true;
            }
        }
        if changed && durable {
            fsync_dir(&store.dir)?;
        }
        Ok(store)
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:016x}.batch"))
    }

    pub fn save(&self, id: u64, messages: &[Vec<Bytes>]) -> Result<(), SpoolError> {
        let mut buf = BytesMut::new();
        for (i, frames) in messages.iter().enumerate() {
            if record::encoded_len(frames) > record::MAX_RECORD {
                return Err(SpoolError::TooLarge {
                    size: record::encoded_len(frames),
                    limit: record::MAX_RECORD,
                    bound: "the record format",
                });
            }
            record::encode(i as u64 + 1, frames, &mut buf);
        }
        let path = self.path(id);
        let tmp = path.with_extension("tmp");
        let mut file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(&buf).map_err(io_err(&tmp))?;
        if self.durable {
            file.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        if self.durable {
            fsync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The prepared batches, oldest first (by file time, then id).
    pub fn ids(&self) -> Result<Vec<u64>, SpoolError> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            if let Some(id) = parse_name(&entry.path()) {
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                found.push((modified, id));
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    pub fn load(&self, id: u64) -> Result<Option<Vec<Vec<Bytes>>>, SpoolError> {
        let path = self.path(id);
        let data = match fs::read(&path) {
            Ok(data) => Bytes::from(data),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let mut messages = Vec::new();
        let mut offset = 0;
        while offset < data.len() {
            match record::decode(&data.slice(offset..)) {
                Decoded::Record { frames, len, .. } => {
                    messages.push(frames);
                    offset += len;
                }
                Decoded::Incomplete | Decoded::Corrupt(_) => {
                    return Err(SpoolError::Corrupt {
                        path,
                        offset: offset as u64,
                        reason: "damaged prepared batch",
                    });
                }
            }
        }
        Ok(Some(messages))
    }

    /// Forgets batch `id`; false if it was not kept.
    pub fn remove(&self, id: u64) -> Result<bool, SpoolError> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(&path)(e)),
        }
        if self.durable {
            fsync_dir(&self.dir)?;
        }
        Ok(true)
    }
}

fn parse_name(path: &Path) -> Option<u64> {
    if path.extension()? != "batch" {
        return None;
    }
    u64::from_str_radix(path.file_stem()?.to_str()?, 16).ok()
}

//! A spool in memory: no persistence, an optional quota.

use super::{Spool, SpoolError, new_stream_id};
use bytes::Bytes;
use std::collections::VecDeque;

/// Keeps messages in memory until acknowledged. Survives nothing, but bounds memory with a
/// quota and lets a socket spill past its high-water mark. The quota counts payload bytes; a
/// message larger than the quota is refused with [`SpoolError::TooLarge`].
///
/// # Examples
///
/// ```
/// use zocket::{Context, SocketType, spool::MemorySpool};
/// let ctx = Context::new();
/// let push = ctx.socket(SocketType::Push)?;
/// push.set_spool(MemorySpool::new(Some(16 << 20)))?; // up to 16 MiB past the HWM
/// push.send("waits in memory until a peer takes it", 0)?;
/// # Ok::<(), zocket::Error>(())
/// ```
pub struct MemorySpool {
    messages: VecDeque<Vec<Bytes>>,
    /// Prepared batches, oldest first.
    prepared: Vec<(u64, Vec<Vec<Bytes>>)>,
    first_seq: u64,
    size: u64,
    quota: Option<u64>,
    stream_id: u64,
}

impl MemorySpool {
    /// An empty spool holding at most `quota` bytes of payload (`None`: no limit).
    pub fn new(quota: Option<u64>) -> MemorySpool {
        MemorySpool {
            messages: VecDeque::new(),
            prepared: Vec::new(),
            first_seq: 1,
            size: 0,
            quota,
            stream_id: new_stream_id(),
        }
    }
}

impl MemorySpool {
    /// Refuses `len` more bytes past the quota.
    fn check_room(&self, len: u64) -> Result<(), SpoolError> {
        if let Some(limit) = self.quota
            && len > limit
        {
            return Err(SpoolError::TooLarge {
                size: len,
                limit,
                bound: "the quota",
            });
        }
        if let Some(limit) = self.quota
            && self.size + len > limit
        {
            return Err(SpoolError::Full {
                size: self.size,
                limit,
            });
        }
        Ok(())
    }
}

fn bytes_of(frames: &[Bytes]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

impl Spool for MemorySpool {
    fn append(&mut self, frames: &[Bytes]) -> Result<u64, SpoolError> {
        let len = bytes_of(frames);
        self.check_room(len)?;
        self.messages.push_back(frames.to_vec());
        self.size += len;
        Ok(self.first_seq + self.messages.len() as u64 - 1)
    }

    fn append_batch(&mut self, messages: &[Vec<Bytes>], _commits: Option<u64>) -> Result<u64, SpoolError> {
        let len = messages.iter().map(|m| bytes_of(m)).sum();
        self.check_room(len)?;
        let first = self.next_seq();
        self.messages.extend(messages.iter().cloned());
        self.size += len;
        Ok(first)
    }

    fn prepare(&mut self, id: u64, messages: &[Vec<Bytes>]) -> Result<(), SpoolError> {
        let len: u64 = messages.iter().map(|m| bytes_of(m)).sum();
        if let Some(limit) = self.quota.filter(|&limit| len > limit) {
            return Err(SpoolError::TooLarge {
                size: len,
                limit,
                bound: "the quota",
            });
        }
        self.prepared.push((id, messages.to_vec()));
        Ok(())
    }

    fn prepared(&mut self) -> Result<Vec<u64>, SpoolError> {
        Ok(self.prepared.iter().map(|(id, _)| *id).collect())
    }

    fn read_prepared(&mut self, id: u64) -> Result<Option<Vec<Vec<Bytes>>>, SpoolError> {
        Ok(self
            .prepared
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, m)| m.clone()))
    }

    fn forget_prepared(&mut self, id: u64) -> Result<(), SpoolError> {
        self.prepared.retain(|(p, _)| *p != id);
        Ok(())
    }

    fn read(&mut self, seq: u64) -> Result<Option<Vec<Bytes>>, SpoolError> {
        let Some(index) = seq.checked_sub(self.first_seq) else {
            return Ok(None);
        };
        Ok(self.messages.get(index as usize).cloned())
    }

    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        while self.first_seq <= seq {
            let Some(m) = self.messages.pop_front() else { break };
            self.size -= m.iter().map(|f| f.len() as u64).sum::<u64>();
            self.first_seq += 1;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), SpoolError> {
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn first_unacked(&self) -> u64 {
        self.first_seq
    }

    fn next_seq(&self) -> u64 {
        self.first_seq + self.messages.len() as u64
    }

    fn stream_id(&self) -> u64 {
        self.stream_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_ack_and_quota() {
        let mut s = MemorySpool::new(Some(10));
        assert_eq!(s.append(&[Bytes::from_static(b"abcd")]).unwrap(), 1);
        assert_eq!(
            s.append(&[Bytes::from_static(b"ef"), Bytes::from_static(b"gh")])
                .unwrap(),
            2
        );
        assert!(matches!(
            s.append(&[Bytes::from_static(b"xxxxx")]),
            Err(SpoolError::Full { .. })
        ));
        assert!(matches!(
            s.append(&[Bytes::from_static(b"0123456789x")]),
            Err(SpoolError::TooLarge {
                size: 11,
                limit: 10,
                ..
            })
        ));
        assert_eq!(s.read(2).unwrap().unwrap().len(), 2);
        s.ack(1).unwrap();
        assert_eq!(s.read(1).unwrap(), None);
        assert_eq!((s.first_unacked(), s.next_seq(), s.size()), (2, 3, 4));
    }
}

//! A spool whose reads and acknowledgements take long, as on a loaded disk: for tests of who
//! waits for the disk.

use std::time::Duration;
use zocket::spool::{Spool, SpoolError};

/// `inner`, with every read taking `read_delay` and every acknowledgement `ack_delay` longer.
pub struct SlowSpool<S> {
    pub inner: S,
    pub read_delay: Duration,
    pub ack_delay: Duration,
}

impl<S: Spool> Spool for SlowSpool<S> {
    fn append(&mut self, frames: &[bytes::Bytes]) -> Result<u64, SpoolError> {
        self.inner.append(frames)
    }
    fn read(&mut self, seq: u64) -> Result<Option<Vec<bytes::Bytes>>, SpoolError> {
        std::thread::sleep(self.read_delay);
        self.inner.read(seq)
    }
    fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        std::thread::sleep(self.ack_delay);
        self.inner.ack(seq)
    }
    fn sync(&mut self) -> Result<(), SpoolError> {
        self.inner.sync()
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn first_unacked(&self) -> u64 {
        self.inner.first_unacked()
    }
    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }
    fn stream_id(&self) -> u64 {
        self.inner.stream_id()
    }
}
